import { LogLevel, WebClient, type Logger } from '@slack/web-api';

const noop = () => undefined;
/**
 * The SDK would log each failed request through its own console logger (outside pino and its
 * redaction). Every failure reaches us as a thrown error instead, which the activities classify,
 * count and, when final, report: its own log lines add nothing.
 */
const silent: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  setLevel: noop,
  getLevel: () => LogLevel.ERROR,
  setName: noop,
};

/**
 * A Web API client that never retries or sleeps by itself: under Temporal the activity retry
 * policy owns retries, and a 429 must surface at once with its Retry-After (see errors.ts).
 */
export function createSlackClient(opts: { token: string; apiUrl: string; timeoutMs?: number }): WebClient {
  return new WebClient(opts.token, {
    slackApiUrl: opts.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: opts.timeoutMs ?? 10_000,
    logger: silent,
  });
}
