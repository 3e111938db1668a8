import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { classifiedFailure } from '../../platform/temporal/failure-types.js';
import type { ReportWindow } from './contract.js';
import { pullPageSchema, type DatasetRecord } from './schema.js';

/** Headers of a pull request: the unix time it was signed at, and the signature. */
export const PULL_TIMESTAMP_HEADER = 'x-threadline-timestamp';
export const PULL_SIGNATURE_HEADER = 'x-threadline-signature';

/** Largest page body read from a customer's endpoint. */
const MAX_PAGE_BYTES = 10 * 1024 * 1024;

/**
 * `v1=<hex HMAC-SHA256(secret, "v1:<timestamp>:<body>")>`: the timestamp is signed with the body so
 * a receiver can refuse replays (we recommend ±5 minutes, as Slack does for its own requests).
 */
export function signPullRequest(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`v1:${timestamp}:${body}`, 'utf8').digest('hex')}`;
}

/** The JSON body of one pull request (also what the signature covers, byte for byte). */
export interface PullRequestBody {
  reportId: string;
  window: ReportWindow;
  cursor: string | null;
}

export interface PullDeps {
  secret: string;
  allowHttp: boolean;
  timeoutMs: number;
  maxPages: number;
  maxRecords: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** Counted per page: `report_pull` calls by outcome. */
  count?: (outcome: string) => void;
}

const fail = (error: string, kind: 'permanent' | 'transient', message?: string): ApplicationFailure =>
  classifiedFailure(
    { system: 'report_pull', method: 'POST', label: `report pull${message ? ` (${message})` : ''}` },
    kind === 'permanent' ? { kind, error } : { kind, error, ambiguous: false },
  );

/** Retry-After in seconds or as an HTTP date; bounded to 10 minutes. */
function retryAfterSec(h: string | null, nowMs: number): number {
  if (!h) return 5;
  const n = Number(h);
  if (Number.isFinite(n)) return Math.min(600, Math.max(1, Math.ceil(n)));
  const at = Date.parse(h);
  return Number.isFinite(at) ? Math.min(600, Math.max(1, Math.ceil((at - nowMs) / 1000))) : 5;
}

async function readBounded(res: Response): Promise<string> {
  const reader: ReadableStreamDefaultReader<Uint8Array> | undefined = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_PAGE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw fail('page_too_large', 'permanent', `a page is larger than ${MAX_PAGE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads a window's records from a customer's endpoint: signed POSTs with `{reportId, window,
 * cursor}`, following `nextCursor` until it is empty. Failures are classified like every external
 * call: network errors, 408 and 5xx are transient (the activity retries), 429 waits for
 * Retry-After, any other answer, a malformed page or more than `maxRecords` records is permanent
 * (the run is reported in the ops channel instead of posting a partial digest).
 */
export async function pullRecords(
  deps: PullDeps,
  input: { url: string; reportId: string; window: ReportWindow },
): Promise<DatasetRecord[]> {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw fail('invalid_url', 'permanent');
  }
  if (url.protocol !== 'https:' && !(deps.allowHttp && url.protocol === 'http:'))
    throw fail('https_required', 'permanent', 'pull endpoints must be https outside the sandbox');
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const records: DatasetRecord[] = [];
  let cursor: string | null = null;
  for (let page = 0; ; page++) {
    if (page >= deps.maxPages) throw fail('too_many_pages', 'permanent', `more than ${deps.maxPages} pages`);
    const body = JSON.stringify({ reportId: input.reportId, window: input.window, cursor } satisfies PullRequestBody);
    const ts = Math.floor(now() / 1000);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Threadline-Reports/1',
          [PULL_TIMESTAMP_HEADER]: String(ts),
          [PULL_SIGNATURE_HEADER]: signPullRequest(deps.secret, ts, body),
        },
        body,
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
    } catch (err) {
      deps.count?.('transient');
      throw fail('network_error', 'transient', err instanceof Error ? err.name : 'network');
    }
    if (res.status === 429) {
      deps.count?.('rate_limited');
      await res.body?.cancel().catch(() => undefined);
      throw classifiedFailure(
        { system: 'report_pull', method: 'POST', label: 'report pull' },
        {
          kind: 'rate_limited',
          error: 'http_429',
          retryAfterSec: retryAfterSec(res.headers.get('retry-after'), now()),
        },
      );
    }
    if (res.status === 408 || res.status >= 500) {
      deps.count?.('transient');
      await res.body?.cancel().catch(() => undefined);
      throw fail(`http_${res.status}`, 'transient');
    }
    if (res.status < 200 || res.status >= 300) {
      deps.count?.('permanent');
      await res.body?.cancel().catch(() => undefined);
      throw fail(`http_${res.status}`, 'permanent', res.status < 400 ? 'redirects are not followed' : undefined);
    }
    let parsed;
    try {
      parsed = pullPageSchema.safeParse(JSON.parse(await readBounded(res)));
    } catch (err) {
      deps.count?.('permanent');
      if (err instanceof ApplicationFailure) throw err;
      throw fail('invalid_json', 'permanent', 'the endpoint did not answer JSON');
    }
    if (!parsed.success) {
      deps.count?.('permanent');
      const issue = parsed.error.issues[0];
      throw fail('invalid_page', 'permanent', `${issue?.path.join('.') ?? 'page'}: ${issue?.message ?? 'invalid'}`);
    }
    deps.count?.('ok');
    records.push(...parsed.data.records.map((r) => ({ id: r.id, timestamp: r.timestamp, data: r.data })));
    if (records.length > deps.maxRecords)
      throw fail('too_many_records', 'permanent', `more than ${deps.maxRecords} records`);
    cursor = parsed.data.nextCursor || null;
    if (!cursor) return records;
  }
}
