import { WebClient } from '@slack/web-api';

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
    // The SDK logs through its own console logger; errors reach us as classified failures instead.
    logLevel: undefined,
  });
}
