/** One attempt to deliver an outbound webhook from an emulator to the app. */
export interface DeliveryAttempt {
  attempt: number; // 0 = first delivery, 1.. = retries
  at: string;
  status: number | null; // null: timeout / connection error
  error?: string;
  /** Until the whole answer was read. */
  durationMs: number;
  /** Until the status line and headers arrived: the app's ack latency as the platform sees it. */
  latencyMs?: number;
  /** Answered 2xx within the platform's timeout: this attempt acknowledged the delivery. */
  acked: boolean;
  /** The answer asked not to be retried (Slack's `x-slack-no-retry: 1`). */
  noRetry?: boolean;
  responseBody?: string;
  /** Socket Mode attempts: the envelope sent and the connection it went to. */
  envelope_id?: string;
  connection?: string;
}

export interface DeliveryRecord {
  id: string;
  url: string;
  kind: string;
  body: string;
  attempts: DeliveryAttempt[];
  delivered: boolean;
  /** Parsed JSON response of the successful attempt when it was JSON (Slack view_submission answers). */
  response?: unknown;
}

export interface DeliverOptions {
  id: string;
  url: string;
  kind: string;
  body: string;
  /** Headers for attempt n (0-based): lets Slack add x-slack-retry-num and re-sign with a fresh timestamp. */
  headers: (attempt: number, lastError: string | undefined) => Record<string, string>;
  timeoutMs: number;
  /** Delay before each retry; its length is the number of retries. */
  retryDelaysMs: number[];
  /** Should this status be retried? Defaults to any non-2xx. */
  retryOn?: (status: number) => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One POST with the platform's timeout, recorded the way every emulator reports attempts; the
 * answer's text and headers are returned for the caller's retry decision. Never throws.
 */
export async function attemptDelivery(o: {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  attempt: number;
}): Promise<{ record: DeliveryAttempt; text?: string; headers?: Headers }> {
  const started = performance.now();
  const record: DeliveryAttempt = {
    attempt: o.attempt,
    at: new Date().toISOString(),
    status: null,
    durationMs: 0,
    acked: false,
  };
  try {
    const res = await fetch(o.url, {
      method: 'POST',
      headers: o.headers,
      body: o.body,
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    record.latencyMs = Math.round(performance.now() - started);
    const text = await res.text();
    record.status = res.status;
    record.durationMs = Math.round(performance.now() - started);
    record.acked = res.status >= 200 && res.status < 300;
    if (res.headers.get('x-slack-no-retry') === '1') record.noRetry = true;
    record.responseBody = text.slice(0, 4000);
    return { record, text, headers: res.headers };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    record.error = timedOut ? 'http_timeout' : 'connection_failed';
    record.durationMs = Math.round(performance.now() - started);
    return { record };
  }
}

/**
 * Delivers a webhook the way the platforms do: POST with a timeout, retry on failure after
 * the configured delays. Resolves when delivered or when retries are exhausted; never throws.
 */
export async function deliverWithRetries(opts: DeliverOptions, record?: DeliveryRecord): Promise<DeliveryRecord> {
  const rec: DeliveryRecord = record ?? {
    id: opts.id,
    url: opts.url,
    kind: opts.kind,
    body: opts.body,
    attempts: [],
    delivered: false,
  };
  const retryOn = opts.retryOn ?? ((s: number) => s < 200 || s >= 300);
  let lastError: string | undefined;
  for (let attempt = 0; attempt <= opts.retryDelaysMs.length; attempt++) {
    if (attempt > 0) await sleep(opts.retryDelaysMs[attempt - 1]!);
    const a = await attemptDelivery({
      url: opts.url,
      body: opts.body,
      headers: opts.headers(attempt, lastError),
      timeoutMs: opts.timeoutMs,
      attempt,
    });
    rec.attempts.push(a.record);
    const status = a.record.status;
    if (status === null) {
      lastError = a.record.error;
      continue;
    }
    if (!retryOn(status)) {
      rec.delivered = a.record.acked;
      if (a.text && a.headers?.get('content-type')?.includes('application/json')) {
        try {
          rec.response = JSON.parse(a.text);
        } catch {
          rec.response = a.text;
        }
      }
      return rec;
    }
    lastError = 'http_error';
  }
  return rec;
}

/** How the app acknowledged a set of deliveries: what "every first delivery was acked in time" is checked against. */
export interface AckReport {
  deliveries: number;
  /** Deliveries whose first attempt was answered 2xx within the timeout. */
  firstAcked: number;
  /** Deliveries that needed a retry, or were never acknowledged. */
  notAckedFirst: { id: string; kind: string; status: number | null; error?: string; latencyMs?: number }[];
  /** Slowest first-attempt ack latency (ms). */
  slowestFirstAckMs: number;
  retries: number;
}

export function ackReport(records: readonly DeliveryRecord[]): AckReport {
  const report: AckReport = { deliveries: 0, firstAcked: 0, notAckedFirst: [], slowestFirstAckMs: 0, retries: 0 };
  for (const r of records) {
    const first = r.attempts[0];
    if (!first) continue;
    report.deliveries++;
    report.retries += r.attempts.length - 1;
    if (first.acked) {
      report.firstAcked++;
      report.slowestFirstAckMs = Math.max(report.slowestFirstAckMs, first.latencyMs ?? first.durationMs);
    } else {
      report.notAckedFirst.push({
        id: r.id,
        kind: r.kind,
        status: first.status,
        ...(first.error ? { error: first.error } : {}),
        ...(first.latencyMs !== undefined ? { latencyMs: first.latencyMs } : {}),
      });
    }
  }
  return report;
}
