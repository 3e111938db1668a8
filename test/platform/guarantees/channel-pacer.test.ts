import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createChannelPacer } from '../../../src/platform/pacing/channel-pacer.js';
import { FailureType } from '../../../src/platform/temporal/failure-types.js';

/**
 * The schedule itself, against real Postgres, with two pacers on two pools (two processes' worth
 * of connections): claims never share a slot, a slot beyond the wait bound defers without being
 * claimed, Retry-After holds the channel for both, and the deferred/admitted record decides
 * whether a retry must look Slack up.
 */
describe('channel pacer (Postgres schedule)', () => {
  let pools: Pool[];
  const scope = `test-${randomUUID()}`;
  const pacers = () => pools.map((pool) => createChannelPacer({ pool, scope, intervalMs: 200, maxWaitMs: 1_000 }));

  beforeAll(() => {
    pools = [createPool(inject('databaseUrl')), createPool(inject('databaseUrl'))];
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  const slots = async (pool: Pool, channel: string, teamId = '-') =>
    (
      await pool.query<{ next_slot_at: Date }>('SELECT next_slot_at FROM outbound_pacing WHERE key = $1', [
        `slack ${scope} ${teamId} ${channel}`,
      ])
    ).rows[0]?.next_slot_at;

  it('two pacers posting to one channel get distinct slots, one interval apart', async () => {
    const [a, b] = pacers();
    const started = Date.now();
    const done: number[] = [];
    // Five claims at once from both "processes" (inside the 1 s bound): slots 0, 200, …, 800 ms.
    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        (i % 2 ? a! : b!).admit({ channel: 'C1', idempotencyKey: `${scope}:k${i}` }).then(() => done.push(Date.now())),
      ),
    );
    done.sort((x, y) => x - y);
    // The last one cannot have gone before four intervals had passed (one clock: Postgres's).
    expect(done[4]! - started).toBeGreaterThanOrEqual(4 * 200 - 50);
    const next = await slots(pools[0]!, 'C1');
    expect(next).toBeInstanceOf(Date);
  });

  it('a slot beyond the wait bound is not claimed: the attempt is deferred, the record says so', async () => {
    const [a] = pacers();
    // Five claims (within a's 1 s bound) put the schedule ~1 s out; a pacer bounded at 500 ms must defer.
    const strict = createChannelPacer({ pool: pools[1]!, scope, intervalMs: 200, maxWaitMs: 500 });
    const started = Date.now();
    const claims = Array.from({ length: 5 }, (_, i) =>
      a!.admit({ channel: 'C2', idempotencyKey: `${scope}:fill${i}` }),
    );
    // The observable point: all five slots are claimed (each claim records its admission right after).
    const fills = Array.from({ length: 5 }, (_, i) => `${scope}:fill${i}`);
    const admitted = async () =>
      Number(
        (
          await pools[0]!.query<{ n: string }>(
            `SELECT count(*) AS n FROM slack_pacing_admissions WHERE idempotency_key = ANY($1) AND state = 'admitted'`,
            [fills],
          )
        ).rows[0]?.n,
      );
    for (let i = 0; i < 6_000 && (await admitted()) < 5; i++) await new Promise((r) => setTimeout(r, 10));
    const before = await slots(pools[0]!, 'C2');
    expect(before!.getTime()).toBeGreaterThanOrEqual(started + 5 * 200 - 50);
    const deferred = await strict.admit({ channel: 'C2', idempotencyKey: `${scope}:late` }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(deferred).toBeInstanceOf(ApplicationFailure);
    expect((deferred as ApplicationFailure).type).toBe(FailureType.RateLimited);
    expect((deferred as ApplicationFailure).nextRetryDelay).toBeDefined();
    // Not claimed: the schedule did not move.
    expect((await slots(pools[0]!, 'C2'))?.getTime()).toBe(before?.getTime());
    expect(await a!.mayHavePosted(`${scope}:late`)).toBe(false);
    await Promise.all(claims);
    expect(await a!.mayHavePosted(`${scope}:fill0`)).toBe(true);
    // No record at all (an attempt from before pacing): maybe posted, so the retry looks it up.
    expect(await a!.mayHavePosted(`${scope}:never-seen`)).toBe(true);
    await a!.settled(`${scope}:fill0`);
    expect(await a!.mayHavePosted(`${scope}:fill0`)).toBe(true);
  });

  it('an admitted post is never downgraded by a later deferral', async () => {
    const [a, b] = pacers();
    await a!.admit({ channel: 'C3', idempotencyKey: `${scope}:once` });
    await b!.holdOff({ channel: 'C3', retryAfterSec: 5 });
    await expect(b!.admit({ channel: 'C3', idempotencyKey: `${scope}:once` })).rejects.toBeInstanceOf(
      ApplicationFailure,
    );
    expect(await b!.mayHavePosted(`${scope}:once`)).toBe(true);
  });

  it('two workspaces with the same channel id have a schedule each', async () => {
    // One slot a minute and no waiting: a second claim on a schedule defers, so no timing is involved.
    const [a, b] = pools.map((pool) => createChannelPacer({ pool, scope, intervalMs: 60_000, maxWaitMs: 0 }));
    const deferred = (p: Promise<void>) =>
      p.then(
        () => false,
        (err: unknown) => err instanceof ApplicationFailure && err.type === FailureType.RateLimited,
      );
    expect(await deferred(a!.admit({ channel: 'C5', teamId: 'T1', idempotencyKey: `${scope}:t1` }))).toBe(false);
    // The same workspace's channel is taken, from either process…
    expect(await deferred(b!.admit({ channel: 'C5', teamId: 'T1', idempotencyKey: `${scope}:t1-again` }))).toBe(true);
    // …another workspace's C5 is not.
    expect(await deferred(b!.admit({ channel: 'C5', teamId: 'T2', idempotencyKey: `${scope}:t2` }))).toBe(false);
    // A Retry-After in one workspace does not hold the other's channel of the same id.
    await a!.holdOff({ channel: 'C6', teamId: 'T1', retryAfterSec: 30 });
    expect(await deferred(b!.admit({ channel: 'C6', teamId: 'T2', idempotencyKey: `${scope}:t2-c6` }))).toBe(false);
    expect(await deferred(b!.admit({ channel: 'C6', teamId: 'T1', idempotencyKey: `${scope}:t1-c6` }))).toBe(true);
    expect(await slots(pools[0]!, 'C5', 'T1')).toBeInstanceOf(Date);
    expect(await slots(pools[0]!, 'C5', 'T2')).toBeInstanceOf(Date);
  });

  it('a Retry-After holds the channel for every pacer', async () => {
    const [a, b] = pacers();
    await a!.holdOff({ channel: 'C4', retryAfterSec: 3 });
    // b's next claim would be ≥ 3 s out: beyond its 1 s bound, so it defers rather than post.
    const err = await b!.admit({ channel: 'C4', idempotencyKey: `${scope}:held` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(Number((err as ApplicationFailure).nextRetryDelay)).toBeGreaterThanOrEqual(1_000);
  });
});
