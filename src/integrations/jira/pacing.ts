import axios, { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import type { Pool } from '../../platform/db/pool.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { createSlotSchedule, sleepInActivity } from '../../platform/pacing/slot-schedule.js';
import { retryAfterSeconds } from './errors.js';

/**
 * Default spacing of writes to one Jira issue. Jira Cloud enforces a per-issue write limit
 * (`RateLimit-Reason: jira-per-issue-on-write`, "space out writes to that issue":
 * https://developer.atlassian.com/cloud/jira/platform/build-an-app-that-respects-rate-limits/);
 * the number is not published, so this stays well inside the emulator's 10/s.
 */
export const JIRA_ISSUE_WRITE_INTERVAL_MS = 250;
/**
 * The longest one Jira call waits for its slot or for a hold to end: Jira activities run with a
 * 30 s start-to-close and may make a few calls. Longer, and the call is answered as a 429 of our
 * own (`X-Threadline-Paced`) without leaving the process, so the activity retries after it.
 */
export const JIRA_MAX_SLOT_WAIT_MS = 5_000;

/** The header on a 429 that Threadline made up itself (the request never reached Jira). */
export const PACED_HEADER = 'x-threadline-paced';

export interface JiraPacingDeps {
  pool: Pool;
  metrics?: Metrics | undefined;
  /** The Jira site (JIRA_HOST): schedules and holds are per site. */
  host: string;
  /** Spacing of writes to one issue (`0` turns the spacing off; 429 holds still apply). */
  issueWriteIntervalMs?: number;
  maxWaitMs?: number;
}

const WRITE_METHODS = new Set(['post', 'put', 'delete', 'patch']);

/** What a request touches: its endpoint (method + path with ids blanked) and the issue it writes, if any. */
export function jiraTargetOf(method: string, path: string): { endpoint: string; writesIssue?: string } {
  const m = method.toLowerCase();
  const endpoint = `${m.toUpperCase()} ${path.replace(/\/issue\/[^/]+/, '/issue/{issue}').replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
  const issue = /^\/rest\/api\/[23]\/issue\/([^/]+)(?:\/|$)/.exec(path)?.[1];
  const writesIssue =
    WRITE_METHODS.has(m) && issue && issue !== 'bulk' && issue !== 'createmeta' ? decodeURIComponent(issue) : undefined;
  return writesIssue ? { endpoint, writesIssue } : { endpoint };
}

/**
 * Jira's three limits (see the guide above) answered as it asks, for every worker process at once
 * through the shared Postgres schedule (`outbound_pacing`, src/platform/pacing):
 * - writes to one issue are spaced `issueWriteIntervalMs` apart (a slot per write, claimed like a
 *   Slack channel's);
 * - a 429 holds what its `RateLimit-Reason` names for its `Retry-After`: the issue
 *   (`jira-per-issue-on-write`), the endpoint (`jira-burst-based`: one method on one path), or the
 *   whole site (anything else, e.g. a quota); every call to a held target waits or defers.
 * An axios adapter around the default one, so every call made through the client is covered,
 * whichever adapter code makes it. A call that would wait longer than `maxWaitMs` is answered as
 * a 429 with `Retry-After` without reaching Jira; the error table classifies it as rate limited.
 */
export function jiraPacingAdapter(deps: JiraPacingDeps): AxiosAdapter {
  const send = axios.getAdapter(axios.defaults.adapter);
  const maxWaitMs = deps.maxWaitMs ?? JIRA_MAX_SLOT_WAIT_MS;
  const intervalMs = deps.issueWriteIntervalMs ?? JIRA_ISSUE_WRITE_INTERVAL_MS;
  const schedule = createSlotSchedule({ pool: deps.pool, intervalMs: Math.max(intervalMs, 1), maxWaitMs });
  const site = new URL(deps.host).host;
  const key = (what: string) => `jira ${site} ${what}`;
  const deferred = (target: string) => deps.metrics?.jiraPacingDeferrals.inc({ target });

  return async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const path = new URL(config.url ?? '', config.baseURL ?? deps.host).pathname;
    const target = jiraTargetOf(config.method ?? 'get', path);
    const holds = [key('*'), key(target.endpoint), ...(target.writesIssue ? [key(`issue ${target.writesIssue}`)] : [])];

    const heldMs = await heldFor(deps.pool, holds);
    if (heldMs > maxWaitMs) {
      deferred('hold');
      throw pacedAnswer(config, heldMs);
    }
    if (heldMs > 0) await sleepInActivity(heldMs);
    if (target.writesIssue && intervalMs > 0) {
      const slot = await schedule.claim(key(`issue ${target.writesIssue}`));
      if ('deferred' in slot) {
        deferred('issue');
        throw pacedAnswer(config, slot.retryInMs);
      }
      if (slot.waitMs > 0) await sleepInActivity(slot.waitMs);
    }

    try {
      return await send(config);
    } catch (err) {
      const res = err instanceof AxiosError ? err.response : undefined;
      if (res?.status === 429) {
        const reason = headerOf(res.headers, 'ratelimit-reason');
        const what =
          reason === 'jira-per-issue-on-write' && target.writesIssue
            ? `issue ${target.writesIssue}`
            : reason === 'jira-burst-based'
              ? target.endpoint
              : '*';
        await schedule.hold(key(what), retryAfterSeconds(res.headers, Date.now()));
      }
      throw err;
    }
  };
}

/** The longest remaining hold or booking among `keys`, in ms. */
async function heldFor(pool: Pool, keys: string[]): Promise<number> {
  const r = await pool.query<{ wait_ms: number | null }>(
    `SELECT GREATEST(0, EXTRACT(EPOCH FROM (max(next_slot_at) - now())) * 1000) AS wait_ms
       FROM outbound_pacing WHERE key = ANY($1)`,
    [keys],
  );
  return Number(r.rows[0]?.wait_ms ?? 0);
}

/** A 429 of our own: nothing was sent, Retry-After says when the target is within one wait again. */
function pacedAnswer(config: InternalAxiosRequestConfig, waitMs: number): AxiosError {
  const response: AxiosResponse = {
    status: 429,
    statusText: 'Too Many Requests',
    headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))), [PACED_HEADER]: 'true' },
    config,
    data: { errorMessages: ['paced by Threadline: not sent'], errors: {} },
  };
  return new AxiosError('paced by Threadline', AxiosError.ERR_BAD_REQUEST, config, undefined, response);
}

function headerOf(headers: unknown, name: string): string | undefined {
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  const v = typeof h?.get === 'function' ? h.get(name) : h?.[name];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}
