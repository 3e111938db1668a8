import { Version3Client } from 'jira.js';
import { jiraPacingAdapter, type JiraPacingDeps } from './pacing.js';

/**
 * A Jira Cloud REST v3 client (jira.js 5.x: 6.x needs Node ≥ 22). jira.js never retries by
 * itself, so a 429 surfaces at once with its Retry-After and the activity's retry policy owns
 * retries; the timeout bounds one attempt. With `pacing`, writes to one issue are spaced and a
 * 429's Retry-After holds its target for every worker process (pacing.ts).
 */
export function createJiraClient(opts: {
  host: string;
  email: string;
  apiToken: string;
  timeoutMs?: number;
  pacing?: Omit<JiraPacingDeps, 'host'>;
}): Version3Client {
  return new Version3Client({
    host: opts.host,
    authentication: { basic: { email: opts.email, apiToken: opts.apiToken } },
    baseRequestConfig: {
      timeout: opts.timeoutMs ?? 10_000,
      ...(opts.pacing ? { adapter: jiraPacingAdapter({ ...opts.pacing, host: opts.host }) } : {}),
    },
  });
}
