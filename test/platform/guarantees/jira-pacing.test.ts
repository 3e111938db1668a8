import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Version3Client } from 'jira.js';
import { createJiraClient } from '../../../src/integrations/jira/client.js';
import { classifyJiraError } from '../../../src/integrations/jira/errors.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createMetrics } from '../../../src/platform/observability/metrics.js';
import { EMAIL, TOKEN, adf, start, type Started } from '../../emulators/jira/helpers.js';

/**
 * Jira write pacing (src/integrations/jira/pacing.ts) against the Jira emulator with its rate
 * limits ON, from two clients on two pools (two worker processes' worth of connections) sharing
 * the Postgres schedule: writes to one issue are spaced so Jira's per-issue write limit never
 * answers 429, and a 429's Retry-After holds its target for both clients.
 */
describe('Jira pacing (emulator limits on, two clients sharing the schedule)', () => {
  let s: Started;
  let pools: Pool[];
  const metrics = createMetrics();
  /** Two "processes": each its own pool and client; one schedule (Postgres). */
  const clients = (pacing: { issueWriteIntervalMs: number; maxWaitMs?: number }) =>
    pools.map((pool) =>
      createJiraClient({ host: s.emu.url, email: EMAIL, apiToken: TOKEN, pacing: { pool, metrics, ...pacing } }),
    );
  const comment = (c: Version3Client, key: string, text: string) =>
    c.issueComments.addComment({ issueIdOrKey: key, comment: adf(text) });
  const newIssue = async () =>
    (await s.admin.createIssue({ as: 'alice@example.com', project: 'OPS', summary: 'paced', issuetype: 'Task' })).key;
  const statusesOf = async (key: string) => {
    const issueCalls = (await s.admin.calls()).filter(
      (c) => c.routeKey === 'POST /rest/api/3/issue/{issueIdOrKey}/comment' && c.path.includes(`/issue/${key}/`),
    );
    return issueCalls.map((c) => c.status);
  };

  beforeAll(async () => {
    s = await start({ rateLimits: true });
    pools = [createPool(inject('databaseUrl')), createPool(inject('databaseUrl'))];
  });
  afterAll(async () => {
    await s.emu.stop();
    await Promise.all(pools.map((p) => p.end()));
  });
  beforeEach(async () => {
    // Jira's per-issue write limit, tightened so a small burst exceeds it: 2 writes/s, burst 2.
    await s.admin.setRateLimits({ enabled: true, issueWritePerSec: 2, issueWriteBurst: 2 });
  });

  it('unpaced, a burst of writes to one issue is refused by the per-issue limit (the limit is on)', async () => {
    const key = await newIssue();
    const [a, b] = clients({ issueWriteIntervalMs: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => comment(i % 2 ? a! : b!, key, `unpaced ${i}`)),
    );
    expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThan(0);
    expect(await statusesOf(key)).toContain(429);
  });

  it('paced, the same burst from both clients lands whole with no 429 (the spacing keeps under the limit)', async () => {
    const key = await newIssue();
    const [a, b] = clients({ issueWriteIntervalMs: 600, maxWaitMs: 10_000 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => comment(i % 2 ? a! : b!, key, `paced ${i}`)));
    const statuses = await statusesOf(key);
    expect(statuses).toHaveLength(6);
    expect(statuses.every((st) => st === 201)).toBe(true);
    const issue = await s.admin.issue(key);
    expect(issue.comments).toHaveLength(6);
  });

  it("a 429's Retry-After holds the endpoint for the other client: it is answered without reaching Jira", async () => {
    const key = await newIssue();
    const [a, b] = clients({ issueWriteIntervalMs: 0, maxWaitMs: 0 });
    // Jira's burst limit on the comment endpoint (RateLimit-Reason: jira-burst-based), Retry-After 30 s.
    await s.admin.injectFault({
      method: 'POST /rest/api/3/issue/{issueIdOrKey}/comment',
      kind: 'ratelimit',
      retryAfter: 30,
      count: 1,
    });
    const first = await comment(a!, key, 'refused').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyJiraError(first)).toMatchObject({ kind: 'rate_limited', retryAfterSec: 30 });
    const callsBefore = (await s.admin.calls()).length;
    // The other process: the endpoint is held, so its call is a rate-limited answer of our own.
    const second = await comment(b!, key, 'held').then(
      () => undefined,
      (e: unknown) => e,
    );
    const c = classifyJiraError(second);
    expect(c.kind).toBe('rate_limited');
    expect(c).toMatchObject({ error: expect.stringContaining('paced by Threadline') });
    expect(c.kind === 'rate_limited' && c.retryAfterSec).toBeGreaterThanOrEqual(25);
    // Nothing reached the emulator for it, and nothing was written.
    expect((await s.admin.calls()).length).toBe(callsBefore);
    expect((await s.admin.issue(key)).comments).toHaveLength(0);
    // Reads of other endpoints are not held by an endpoint's burst limit.
    await expect(b!.issues.getIssue({ issueIdOrKey: key, fields: ['summary'] })).resolves.toMatchObject({ key });
  });
});
