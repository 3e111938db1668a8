/** One attempt to deliver an outbound webhook from an emulator to the app. */
export interface DeliveryAttempt {
  attempt: number; // 0 = first delivery, 1.. = retries
  at: string;
  status: number | null; // null: timeout / connection error
  error?: string;
  durationMs: number;
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
    const started = Date.now();
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: opts.headers(attempt, lastError),
        body: opts.body,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const text = await res.text();
      rec.attempts.push({
        attempt,
        at: new Date(started).toISOString(),
        status: res.status,
        durationMs: Date.now() - started,
        responseBody: text.slice(0, 4000),
      });
      if (!retryOn(res.status)) {
        rec.delivered = res.status >= 200 && res.status < 300;
        if (text && res.headers.get('content-type')?.includes('application/json')) {
          try {
            rec.response = JSON.parse(text);
          } catch {
            rec.response = text;
          }
        }
        return rec;
      }
      lastError = 'http_error';
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      lastError = timedOut ? 'http_timeout' : 'connection_failed';
      rec.attempts.push({
        attempt,
        at: new Date(started).toISOString(),
        status: null,
        error: lastError,
        durationMs: Date.now() - started,
      });
    }
  }
  return rec;
}
