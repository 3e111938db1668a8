import { LogLevel, WebClient } from '@slack/web-api';

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
    // The SDK would warn on each failed request through its own console logger (outside pino);
    // every failure reaches us as a thrown error, which the activities classify, count and report.
    logLevel: LogLevel.ERROR,
  });
}
