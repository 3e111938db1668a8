import { LogLevel, WebClient, type Logger, type WebClientOptions } from '@slack/web-api';

/**
 * Options of every Web API client: it never retries or sleeps by itself (under Temporal the
 * activity retry policy owns retries, and a 429 must surface at once with its Retry-After, see
 * errors.ts).
 */
export function quietClientOptions(apiUrl: string, timeoutMs = 10_000): WebClientOptions {
  return {
    slackApiUrl: apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: timeoutMs,
    // The SDK would warn on each failed request through its own console logger (outside pino);
    // every failure reaches us as a thrown error, which the activities classify, count and report.
    logLevel: LogLevel.ERROR,
  };
}

/** A client for one token (single-workspace tools, tests). */
export function createSlackClient(opts: { token: string; apiUrl: string; timeoutMs?: number }): WebClient {
  return new WebClient(opts.token, quietClientOptions(opts.apiUrl, opts.timeoutMs));
}

/**
 * The Slack SDKs' logger interface (web-api, oauth, socket-mode) over ours: warnings and errors
 * only, bounded. Their debug and info lines print whole payloads (response URLs, message text),
 * which must not reach the logs.
 */
export function sdkLogger(sink: { warn(msg: string): void; error(msg: string): void }): Logger {
  const line = (msg: unknown[]) => msg.map(String).join(' ').slice(0, 300);
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => sink.warn(line(msg)),
    error: (...msg: unknown[]) => sink.error(line(msg)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.WARN,
    setName: () => undefined,
  };
}
