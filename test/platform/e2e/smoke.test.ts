import { WebClient } from '@slack/web-api';
import { Version3Client } from 'jira.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../src/platform/db/repositories.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';

/** Stack up through the real entry points: /readyz ready, a workflow round trip through Temporal and Postgres. */
describe('smoke: the whole stack', () => {
  let stack: TestStack;
  let pool: Pool;
  beforeAll(async () => {
    stack = await startTestStack();
    pool = createPool(stack.urls.databaseUrl);
  });
  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });

  it('is ready: Temporal, Postgres, migrations and a polling worker', async () => {
    let body: { status: string; checks: Record<string, { ok: boolean }> } | undefined;
    // The worker registers its poller within moments of starting; wait for the server to see it.
    for (let i = 0; i < 40 && body?.status !== 'ready'; i++) {
      const res = await fetch(`${stack.urls.api}/readyz`);
      body = (await res.json()) as typeof body;
      if (body?.status !== 'ready') await new Promise((r) => setTimeout(r, 250));
    }
    expect(body).toMatchObject({
      status: 'ready',
      checks: { temporal: { ok: true }, postgres: { ok: true }, migrations: { ok: true }, worker: { ok: true } },
    });
    expect((await fetch(`${stack.urls.api}/healthz`)).status).toBe(200);
  });

  it('runs a workflow round trip that writes to Postgres', async () => {
    const res = await fetch(`${stack.urls.api}/v1/system/ping`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.config.apiKeys[0]}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; auditWritten: boolean; auditRows: number };
    expect(body).toMatchObject({ auditWritten: true, auditRows: 1 });
    const rows = await auditLogRepo(pool).bySubject(`ping:${body.id}`);
    expect(rows.map((r) => r.action)).toEqual(['ping']);
  });

  it('rejects our API without a valid key, with a 401 that says why', async () => {
    const none = await fetch(`${stack.urls.api}/v1/system/ping`, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'missing_api_key' });
    const wrong = await fetch(`${stack.urls.api}/v1/system/ping`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-the-key' },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_api_key' });
  });

  it('serves Prometheus metrics including request latency', async () => {
    const text = await (await fetch(`${stack.urls.api}/metrics`)).text();
    expect(text).toContain('threadline_http_request_duration_seconds_bucket');
    expect(text).toContain('route="/v1/system/ping"');
  });

  it('points the app at the emulators in sandbox mode, with the configured credentials', async () => {
    const slack = new WebClient(stack.config.slack.botToken, { slackApiUrl: stack.config.slack.apiUrl });
    const auth = await slack.auth.test();
    expect(auth).toMatchObject({ ok: true, team_id: 'T0THREADLN', user_id: 'U0TLBOT' });
    const jira = new Version3Client({
      host: stack.config.jira!.host,
      authentication: { basic: { email: stack.config.jira!.email, apiToken: stack.config.jira!.apiToken } },
    });
    expect((await jira.myself.getCurrentUser()).emailAddress).toBe('threadline-bot@example.com');
  });

  it('answers unknown routes with a JSON 404 and malformed JSON with a 400 naming the problem', async () => {
    const nf = await fetch(`${stack.urls.api}/nope`);
    expect(nf.status).toBe(404);
    const bad = await fetch(`${stack.urls.api}/v1/system/ping`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.config.apiKeys[0]}`, 'content-type': 'application/json' },
      body: '{"broken":',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_json' });
  });
});
