import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { RunningApi } from '../../../src/api/server.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../src/platform/db/repositories.js';
import { startApiOnly } from '../../helpers/api-only.js';

/** GET /v1/audit against real Postgres: rows written through the audit repository, read through the API. */
describe('GET /v1/audit', () => {
  let api: RunningApi;
  let auth: { authorization: string };
  let pool: Pool;
  const tag = randomUUID().slice(0, 8);
  const subject = `ticket:AUD${tag.toUpperCase().replace(/[^A-Z]/g, 'X')}-1`;
  const t0 = Date.parse('2026-11-30T10:00:00Z');
  const at = (min: number) => new Date(t0 + min * 60_000).toISOString();

  beforeAll(async () => {
    ({ api, auth } = await startApiOnly({ sandbox: false }));
    pool = createPool(inject('databaseUrl'));
    const repo = auditLogRepo(pool);
    const rows = [
      { action: 'assignment.routed', min: 0, actor: 'assignment-workflow', correlationId: `${tag}:d1` },
      { action: 'assignment.declined', min: 1, actor: 'U0BOB', correlationId: `${tag}:d1` },
      { action: 'assignment.routed', min: 2, actor: 'assignment-workflow', correlationId: `${tag}:d2` },
      { action: 'assignment.accepted', min: 3, actor: 'U0CAROL', correlationId: `${tag}:d2` },
      { action: 'assignment.repaired', min: 5, actor: 'assignment-reconcile', category: 'maintenance' as const },
      { action: 'ticket.change_mirrored', min: 6, actor: '712020:dave' },
    ];
    // Written out of time order: the API answers in the trail's order, not insertion order.
    for (const [i, r] of [...rows.entries()].reverse())
      await repo.append({
        subject,
        action: r.action,
        actor: { kind: r.actor.startsWith('U0') ? 'slack_user' : 'system', id: r.actor },
        ruleId: 'ops',
        ruleVersion: 'r-000000000000',
        details: { n: i, text: 'has, a comma and "quotes"' },
        idempotencyKey: `${subject}:${i}`,
        occurredAt: at(r.min),
        ...(r.correlationId ? { correlationId: r.correlationId } : {}),
        ...(r.category ? { category: r.category } : {}),
      });
  });
  afterAll(async () => {
    await pool?.end();
    await api?.close();
  });

  const get = (query: Record<string, string>, headers: Record<string, string> = auth) =>
    fetch(`${api.url}/v1/audit?${new URLSearchParams(query).toString()}`, { headers });
  const entries = async (query: Record<string, string>) => {
    const res = await get(query);
    expect(res.status).toBe(200);
    return (await res.json()) as { entries: { action: string; details: { n: number } }[]; nextCursor: string | null };
  };

  it('needs the API key', async () => {
    expect((await get({ subject }, {})).status).toBe(401);
    expect((await get({ subject }, { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('returns one subject’s trail in order, with rule, version, correlation id and category', async () => {
    const page = await entries({ subject });
    expect(page.entries.map((e) => e.details.n)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(page.nextCursor).toBeNull();
    expect(page.entries[0]).toMatchObject({
      subject,
      action: 'assignment.routed',
      ruleId: 'ops',
      ruleVersion: 'r-000000000000',
      correlationId: `${tag}:d1`,
      category: 'business',
    });
    expect(page.entries[0]).not.toHaveProperty('idempotencyKey');
  });

  it('pages with a cursor: every row once, in order, whatever the page size', async () => {
    for (const limit of ['1', '2', '4']) {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof entries>> = await entries({
          subject,
          limit,
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...page.entries.map((e) => e.details.n));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  it('filters by action (or prefix), actor, category, correlation id and time range', async () => {
    const ns = async (q: Record<string, string>) => (await entries({ subject, ...q })).entries.map((e) => e.details.n);
    expect(await ns({ action: 'assignment.routed' })).toEqual([0, 2]);
    expect(await ns({ action: 'assignment.*' })).toEqual([0, 1, 2, 3, 4]);
    expect(await ns({ actor: 'U0CAROL' })).toEqual([3]);
    expect(await ns({ category: 'maintenance' })).toEqual([4]);
    expect(await ns({ correlationId: `${tag}:d2` })).toEqual([2, 3]);
    expect(await ns({ from: at(1), to: at(5) })).toEqual([1, 2, 3]);
  });

  it('exports CSV with the same rows and the next cursor in a header', async () => {
    const res = await get({ subject, format: 'csv', limit: '5' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('x-next-cursor')).toBeTruthy();
    const records = parse<Record<string, string>>(await res.text(), { columns: true });
    expect(records).toHaveLength(5);
    expect(records[0]).toMatchObject({
      subject,
      action: 'assignment.routed',
      ruleVersion: 'r-000000000000',
      category: 'business',
    });
    expect(JSON.parse(records[0]!.details!)).toEqual({ n: 0, text: 'has, a comma and "quotes"' });
  });

  it('refuses bad queries with a 400 naming the field', async () => {
    const bad = async (q: Record<string, string>, field: string) => {
      const res = await get(q);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain(field);
    };
    await bad({ limit: '0' }, 'limit');
    await bad({ limit: '5000' }, 'limit');
    await bad({ from: 'yesterday' }, 'from');
    await bad({ format: 'xml' }, 'format');
    await bad({ action: 'DROP TABLE' }, 'action');
    await bad({ cursor: 'bm9wZQ' }, 'cursor');
    await bad({ from: at(5), to: at(1) }, 'to');
    await bad({ subjct: subject }, 'subjct');
  });
});
