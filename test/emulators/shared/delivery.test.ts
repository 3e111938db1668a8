import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackReport, attemptDelivery, deliverWithRetries } from '../../../emulators/shared/delivery.js';

/** The emulators' delivery record tells, per attempt, whether and how fast the app acknowledged it. */
describe('webhook delivery records (emulators/shared/delivery.ts)', () => {
  let server: Server;
  let base: string;
  let flaky = 0;
  const hanging = new Set<() => void>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      if (req.url === '/refuse') return res.writeHead(400, { 'x-slack-no-retry': '1' }).end('bad');
      if (req.url === '/flaky') return flaky++ === 0 ? res.writeHead(503).end() : res.writeHead(200).end();
      // /hang: never answers until the test ends (the delivery's timeout must cut it).
      hanging.add(() => res.writeHead(200).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const answer of hanging) answer();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const post = (path: string, timeoutMs = 3_000) =>
    attemptDelivery({
      url: `${base}${path}`,
      body: '{}',
      headers: { 'content-type': 'application/json' },
      timeoutMs,
      attempt: 0,
    });

  it('an answered 2xx is acked, with its ack latency (headers) no later than its full duration', async () => {
    const { record } = await post('/ok');
    expect(record).toMatchObject({ attempt: 0, status: 200, acked: true });
    expect(record.latencyMs).toBeGreaterThanOrEqual(0);
    expect(record.latencyMs!).toBeLessThanOrEqual(record.durationMs);
  });

  it('a 4xx is not acked and records x-slack-no-retry', async () => {
    const { record } = await post('/refuse');
    expect(record).toMatchObject({ status: 400, acked: false, noRetry: true });
  });

  it('no answer within the timeout is a failed attempt without a status', async () => {
    const { record } = await post('/hang', 200);
    expect(record).toMatchObject({ status: null, acked: false, error: 'http_timeout' });
    expect(record.latencyMs).toBeUndefined();
  });

  it('ackReport: first deliveries acked in time vs. those that needed a retry or never got one', async () => {
    flaky = 0;
    const del = (id: string, path: string, retryDelaysMs: number[], timeoutMs = 3_000) =>
      deliverWithRetries({
        id,
        url: `${base}${path}`,
        kind: 'event',
        body: '{}',
        headers: () => ({ 'content-type': 'application/json' }),
        timeoutMs,
        retryDelaysMs,
      });
    const records = [await del('a', '/ok', [10]), await del('b', '/flaky', [10]), await del('c', '/hang', [], 200)];
    expect(records.map((r) => r.delivered)).toEqual([true, true, false]);
    expect(records[1]!.attempts.map((a) => [a.status, a.acked])).toEqual([
      [503, false],
      [200, true],
    ]);
    const report = ackReport(records);
    expect(report).toMatchObject({ deliveries: 3, firstAcked: 1, retries: 1 });
    expect(report.notAckedFirst).toEqual([
      { id: 'b', kind: 'event', status: 503, latencyMs: expect.any(Number) },
      { id: 'c', kind: 'event', status: null, error: 'http_timeout' },
    ]);
    expect(report.slowestFirstAckMs).toBeGreaterThanOrEqual(0);
  });
});
