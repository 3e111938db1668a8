import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadiness } from '../../../src/api/readiness.js';
import { flows } from '../../../src/flows/index.js';
import { migrationDirs } from '../../../src/platform/db/migrate.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { freePort } from '../../helpers/ports.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { dedicatedApp, hostPort, startTcpProxy, temporalClient, waitUntil, type TcpProxy } from './ingress-helpers.js';

const KEY_A = 'tl_key_alpha_123';
const KEY_B = 'tl_key_bravo_456';

/** Issue 18: /readyz says which dependency is missing; Idempotency-Key's documented answers hold. */
describe('API: readiness and Idempotency-Key', () => {
  let stack: TestStack;
  let pool: Pool;
  let tc: Awaited<ReturnType<typeof temporalClient>>;
  let temporal: Client;

  beforeAll(async () => {
    stack = await startTestStack({ THREADLINE_API_KEYS: `${KEY_A},${KEY_B}` });
    pool = createPool(stack.urls.databaseUrl);
    tc = await temporalClient(stack.urls.temporal);
    temporal = tc.client;
  });
  const closeLater: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closeLater) await close();
    await tc?.close();
    await pool?.end();
    await stack?.stop();
  });

  describe('/readyz', () => {
    const readiness = (o: { client?: Client; pool?: Pool; taskQueue?: string }) =>
      createReadiness({
        client: o.client ?? temporal,
        pool: o.pool ?? pool,
        namespace: stack.config.temporal.namespace,
        taskQueue: o.taskQueue ?? stack.taskQueue,
        migrationDirs: migrationDirs(flows),
      });
    const readyz = async (r: ReturnType<typeof readiness>) => {
      const a = await dedicatedApp(stack, { readiness: r });
      try {
        const res = await fetch(`${a.url}/readyz`);
        return {
          status: res.status,
          body: (await res.json()) as { status: string; failing?: string[]; checks: object },
        };
      } finally {
        await a.close();
      }
    };

    it('is ready when Postgres, Temporal, the migrations and a worker are there', async () => {
      const res = await fetch(`${stack.urls.api}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ready', checks: { worker: { ok: true } } });
    });

    it('503 naming postgres when Postgres is missing', async () => {
      const dead = createPool(`postgres://threadline@127.0.0.1:${await freePort()}/threadline`, {
        onError: () => undefined,
      });
      try {
        const r = await readyz(readiness({ pool: dead }));
        expect(r.status).toBe(503);
        expect(r.body.status).toBe('not_ready');
        expect(r.body.failing).toContain('postgres');
        expect(r.body.failing).not.toContain('temporal');
        expect(r.body.checks).toMatchObject({
          postgres: { ok: false, error: expect.any(String) },
          temporal: { ok: true },
        });
      } finally {
        await dead.end();
      }
    });

    it('503 naming temporal when Temporal is missing (and it answers within its bound when Temporal hangs)', async () => {
      const proxy: TcpProxy = await startTcpProxy(hostPort(stack.urls.temporal));
      // No gRPC retry interceptor: the SDK's retries of what the check abandoned would fire on a
      // timer after the file closed the connection ("Channel has been shut down", uncaught).
      const conn = await Connection.connect({ address: proxy.address, interceptors: [] });
      // Closed at the end of the file.
      closeLater.push(async () => {
        await conn.close();
        await proxy.close();
      });
      try {
        proxy.stall();
        const started = Date.now();
        const r = await readyz(readiness({ client: new Client({ connection: conn }) }));
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(r.status).toBe(503);
        expect(r.body.failing).toEqual(expect.arrayContaining(['temporal', 'worker']));
        expect(r.body.failing).not.toContain('postgres');
      } finally {
        proxy.pass();
      }
    });

    it('503 naming worker when no worker polls the task queue', async () => {
      const r = await readyz(readiness({ taskQueue: `nobody-${randomUUID()}` }));
      expect(r.status).toBe(503);
      expect(r.body.failing).toEqual(['worker']);
      expect(r.body.checks).toMatchObject({ worker: { ok: false, error: expect.stringContaining('no worker') } });
    });
  });

  describe('Idempotency-Key', () => {
    const payment = (orderId: string) => ({
      orderId,
      payerName: 'Idem Potent',
      amount: 5000,
      currency: 'INR',
      paymentType: 'full',
    });
    const post = (base: string, path: string, apiKey: string, key: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': key },
        body: JSON.stringify(body),
      });
    const order = () => `order_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

    it('409 (Retry-After) while the first request with the key is still in flight; then the stored answer is replayed', async () => {
      const proxy = await startTcpProxy(hostPort(stack.urls.temporal));
      const slow = await dedicatedApp(stack, { temporalAddress: proxy.address });
      try {
        const key = `k-${randomUUID()}`;
        const body = payment(order());
        proxy.delay(1_000); // the first request's Temporal call takes ~2 s
        const first = post(slow.url, '/v1/payments', KEY_A, key, body);
        await waitUntil(async () => {
          const r = await pool.query(`SELECT 1 FROM idempotency_keys WHERE key LIKE $1 AND status_code IS NULL`, [
            `%:${key}`,
          ]);
          return r.rowCount! > 0;
        });
        const second = await post(slow.url, '/v1/payments', KEY_A, key, body);
        expect(second.status).toBe(409);
        expect(second.headers.get('retry-after')).toBe('1');
        expect(await second.json()).toMatchObject({ error: 'idempotency_key_in_progress' });
        const firstRes = await first;
        expect(firstRes.status).toBe(202);
        const firstBody = await firstRes.json();
        proxy.pass();

        const replay = await post(stack.urls.api, '/v1/payments', KEY_A, key, body);
        expect(replay.status).toBe(202);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(await replay.json()).toEqual(firstBody);
      } finally {
        proxy.pass();
        closeLater.push(async () => {
          await slow.close();
          await proxy.close();
        });
      }
    });

    it('422 when the key is reused with a different body', async () => {
      const key = `k-${randomUUID()}`;
      expect((await post(stack.urls.api, '/v1/payments', KEY_A, key, payment(order()))).status).toBe(202);
      const reused = await post(stack.urls.api, '/v1/payments', KEY_A, key, payment(order()));
      expect(reused.status).toBe(422);
      expect(await reused.json()).toMatchObject({ error: 'idempotency_key_reused' });
    });

    it('keys are scoped per caller: two API keys using the same key do not collide', async () => {
      const key = `shared-${randomUUID()}`;
      const [a, b] = [order(), order()];
      const ra = await post(stack.urls.api, '/v1/payments', KEY_A, key, payment(a));
      const rb = await post(stack.urls.api, '/v1/payments', KEY_B, key, payment(b));
      expect([ra.status, rb.status]).toEqual([202, 202]);
      expect(rb.headers.get('idempotent-replayed')).toBeNull();
      expect(((await ra.json()) as { lifecycleId: string }).lifecycleId).toBe(a);
      expect(((await rb.json()) as { lifecycleId: string }).lifecycleId).toBe(b);
    });

    it('keys are scoped per route: the same key on payments and approvals runs both', async () => {
      const key = `route-${randomUUID()}`;
      const rp = await post(stack.urls.api, '/v1/payments', KEY_A, key, payment(order()));
      const ra = await post(stack.urls.api, '/v1/approvals', KEY_A, key, {
        title: 'Same key, other route',
        requester: 'U0ALICE',
        approvers: ['U0BOB'],
        channel: 'C0APPROVAL',
      });
      expect(rp.status).toBe(202);
      expect(ra.status, await ra.clone().text()).toBe(201);
      expect(ra.headers.get('idempotent-replayed')).toBeNull();
    });
  });
});
