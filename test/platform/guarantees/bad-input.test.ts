import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JiraEmulatorAdmin } from '../../../emulators/jira/admin-client.js';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import {
  UNICODE_IDS,
  jiraSigner,
  jsonBattery,
  razorpaySigner,
  sendAll,
  slackSigner,
  type BadRequest,
} from '../../helpers/bad-input.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';

/**
 * The bad-input battery: thousands of generated requests against every inbound endpoint of the
 * real stack. Every one is answered 4xx (413 when oversized, read in full before the connection
 * closes), none 5xx; afterwards nothing reached Slack, Jira, Temporal or the database, and the
 * API is still ready. Every generated identifier carries this run's marker, so the database is
 * searched for it (other test files share the database).
 */
describe('bad-input battery', () => {
  let stack: TestStack;
  let pool: Pool;
  let connection: Connection;
  let client: Client;
  const run = `bad${randomUUID().replace(/-/g, '').slice(0, 12)}`;

  beforeAll(async () => {
    stack = await startTestStack();
    pool = createPool(inject('databaseUrl'));
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter() });
  });
  afterAll(async () => {
    await pool?.end();
    await connection?.close();
    await stack?.stop();
  });

  function battery(): BadRequest[] {
    const { config } = stack;
    const slack = slackSigner(config.slack.signingSecret);
    const key = { authorization: `Bearer ${config.apiKeys[0]!}` };
    let seq = 0;
    const id = (p: string) => `${p}${run}x${++seq}`;
    const now = Math.floor(Date.now() / 1000);
    const out: BadRequest[] = [];

    out.push(
      ...jsonBattery({
        endpoint: 'POST /slack/events',
        path: '/slack/events',
        signer: slack,
        limit: 1024 * 1024,
        base: {
          type: 'event_callback',
          team_id: 'T0THREADLN',
          api_app_id: 'A0THREADLN',
          event_id: `Ev${run}`,
          event_time: now,
          event: {
            type: 'message',
            channel: 'C0PAYMENTS',
            user: 'U0ALICE',
            text: 'hi',
            ts: `${now}.000200`,
            thread_ts: `${now}.000100`,
          },
        },
        fresh: (b) => ({ ...(b as object), event_id: id('Ev') }),
        validated: [['type'], ['event_id'], ['event_time'], ['event'], ['event', 'type']],
        // Slack documents no format for its ids (event_id, trigger_id): a signed request carrying
        // an odd one is Slack's, and is answered like any other (not ours → 200, no effect).
        ids: [],
      }),
    );

    const form = (json: string) => ({
      body: Buffer.from(new URLSearchParams({ payload: json }).toString()),
      contentType: 'application/x-www-form-urlencoded',
    });
    out.push(
      ...jsonBattery({
        endpoint: 'POST /slack/interactions',
        path: '/slack/interactions',
        signer: slack,
        limit: 1024 * 1024,
        encode: form,
        base: {
          type: 'block_actions',
          user: { id: 'U0ALICE' },
          trigger_id: `trig${run}`,
          response_url: 'https://hooks.slack.com/actions/T0/1/x',
          channel: { id: 'C0PAYMENTS' },
          actions: [{ action_id: 'tl:payment.acknowledge', value: `payment:${run}`, action_ts: `${now}.1` }],
        },
        fresh: (b) => ({ ...(b as object), trigger_id: id('trig') }),
        validated: [['type'], ['user'], ['user', 'id'], ['trigger_id'], ['actions'], ['actions', 0, 'action_id']],
        ids: [],
      }),
    );

    // Slash commands are a form, not JSON: their battery is built here.
    const command = (over: Record<string, string | undefined> = {}) => {
      const fields: Record<string, string | undefined> = {
        command: '/threadline',
        text: 'status',
        user_id: 'U0ALICE',
        channel_id: 'C0PAYMENTS',
        team_id: 'T0THREADLN',
        response_url: 'https://hooks.slack.com/commands/T0/1/x',
        trigger_id: id('cmd'),
        ...over,
      };
      return Buffer.from(
        new URLSearchParams(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined)).toString(),
      );
    };
    const cmd = (kind: string, body: Buffer, headers: Record<string, string>, expect: 413 | '4xx' = '4xx') =>
      out.push({
        endpoint: 'POST /slack/commands',
        kind,
        method: 'POST',
        path: '/slack/commands',
        body,
        headers,
        expect,
      });
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const f of ['command', 'user_id', 'channel_id', 'response_url', 'trigger_id']) {
      for (const v of [undefined, '']) {
        const b = command({ [f]: v });
        cmd('missing_field', b, { ...formType, ...slack.sign(b) });
      }
    }
    for (const ct of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/xml']) {
      const b = command();
      cmd('wrong_content_type', b, { 'content-type': ct, ...slack.sign(b) });
    }
    {
      const b = command();
      cmd('unsigned', b, formType);
      for (const h of slack.forged(b)) cmd('wrongly_signed', b, { ...formType, ...h });
      for (const h of slack.replayed(b)) cmd('replayed', b, { ...formType, ...h });
      for (const h of slack.stale!(b)) cmd('stale', b, { ...formType, ...h });
      // Cut before response_url and trigger_id (the last fields): a form cut later is still a whole form.
      const required = b.indexOf('&response_url=');
      for (let cut = 1; cut < 10; cut++) {
        const t = b.subarray(0, Math.floor((required * cut) / 10));
        cmd('truncated', t, { ...formType, ...slack.sign(t) });
      }
    }
    for (let i = 0; i < 30; i++) {
      const b = randomBytes(8 + i * 41);
      cmd('malformed', b, { ...formType, ...slack.sign(b) });
    }
    for (const size of [1024 * 1024 + 1, 4 * 1024 * 1024]) {
      const b = command({ text: 'x'.repeat(size) });
      cmd('oversized', b, { ...formType, ...slack.sign(b) }, 413);
    }

    const payments = flowConfigOf(stack.config, paymentsFlow);
    const rzp = razorpaySigner(payments.razorpayWebhookSecret!);
    const payment = (orderId: string) => ({
      entity: 'event',
      account_id: 'acc_bad',
      event: 'payment.captured',
      contains: ['payment'],
      created_at: now,
      payload: {
        payment: {
          entity: {
            id: `pay_${orderId}`,
            entity: 'payment',
            amount: 1000,
            currency: 'INR',
            status: 'captured',
            order_id: `order_${orderId}`,
            method: 'upi',
            created_at: now,
          },
        },
      },
    });
    out.push(
      ...jsonBattery({
        endpoint: 'POST /webhooks/razorpay',
        path: '/webhooks/razorpay',
        signer: rzp,
        limit: 1024 * 1024,
        base: payment(run),
        fresh: () => payment(id('')),
        validated: [
          ['event'],
          ['payload'],
          ['payload', 'payment'],
          ['payload', 'payment', 'entity'],
          ['payload', 'payment', 'entity', 'id'],
          ['payload', 'payment', 'entity', 'amount'],
          ['payload', 'payment', 'entity', 'currency'],
        ],
        ids: [['payload', 'payment', 'entity', 'id']],
      }),
    );

    const jiraSecret = stack.config.jira!.webhookSecret!;
    const jiraBody = (issueId: string) => ({
      timestamp: Date.now(),
      webhookEvent: 'jira:issue_updated',
      issue: { id: issueId, key: 'BAD-1', fields: { project: { key: 'BAD' }, summary: 'x' } },
      changelog: { id: '1', items: [] },
    });
    out.push(
      ...jsonBattery({
        endpoint: 'POST /webhooks/jira',
        path: '/webhooks/jira',
        signer: jiraSigner(jiraSecret, () => id('jira')),
        limit: 1024 * 1024,
        base: jiraBody(run),
        fresh: () => jiraBody(id('')),
        validated: [
          ['timestamp'],
          ['webhookEvent'],
          ['issue'],
          ['issue', 'key'],
          ['issue', 'fields'],
          ['issue', 'fields', 'project'],
        ],
        ids: [['issue', 'key']],
      }),
    );

    const v1 = (
      endpoint: string,
      path: string,
      base: Record<string, unknown>,
      validated: (string | number)[][],
      ids: (string | number)[][],
      optional: string[],
    ) =>
      jsonBattery({
        endpoint,
        path,
        auth: { ...key },
        limit: 1024 * 1024,
        base: base as never,
        validated,
        optional,
        ids,
      }).map((r) => ({ ...r, headers: { ...r.headers, 'idempotency-key': id('idem') } }));
    out.push(
      ...v1(
        'POST /v1/payments',
        '/v1/payments',
        {
          orderId: `order_${run}`,
          payerName: 'Payer',
          amount: 1000,
          currency: 'INR',
          paymentType: 'full',
          owner: 'erin@example.com',
        },
        [['orderId'], ['payerName'], ['amount'], ['currency'], ['paymentType'], ['owner']],
        [['orderId'], ['owner'], ['currency']],
        ['owner'], // defaults to the routing rule's owner
      ),
      ...v1(
        'POST /v1/approvals',
        '/v1/approvals',
        { title: `Deploy ${run}`, requester: 'alice@example.com', approvers: ['U0BOB'], channel: 'C0APPROVAL' },
        [['title'], ['requester'], ['approvers'], ['approvers', 0], ['channel']],
        [['requester'], ['approvers', 0], ['channel']],
        ['channel'], // defaults to APPROVAL_CHANNEL
      ),
    );
    // The answers of a `/v1` POST with a valid key and body but a bad Idempotency-Key header.
    for (const k of ['', ' ', 'a'.repeat(10_000), 'id\u00e9latin1']) {
      const body = Buffer.from(
        JSON.stringify({
          orderId: `order_${id('')}`,
          payerName: 'P',
          amount: 1,
          currency: 'INR',
          paymentType: 'full',
          owner: 'erin@example.com',
          amountx: 'bad',
        }),
      );
      out.push({
        endpoint: 'POST /v1/payments',
        kind: 'bad_idempotency_key',
        method: 'POST',
        path: '/v1/payments',
        headers: { 'content-type': 'application/json', ...key, 'idempotency-key': k },
        body,
        expect: '4xx',
      });
    }

    // Reads and deletes: bad ids and bad credentials.
    const gets = ['/v1/payments/', '/v1/approvals/', '/v1/approvals/%s/decision', '/v1/tickets/'];
    // A lone surrogate has no UTF-8 form: it goes as the bytes of its CESU-8 encoding.
    const enc = (v: string) => (/[\ud800-\udfff]/.test(v) ? '%ED%A0%80' : encodeURIComponent(v));
    const badIds = [...UNICODE_IDS.map(enc), '%', '%zz', '..%2F..%2Fetc', 'x'.repeat(3_000), '%00'];
    for (const g of gets) {
      for (const b of badIds) {
        const path = g.includes('%s') ? g.replace('%s', b) : `${g}${b}`;
        out.push({ endpoint: `GET ${g}:id`, kind: 'bad_id', method: 'GET', path, headers: { ...key }, expect: '4xx' });
      }
      for (const h of [{}, { authorization: 'Bearer nope-nope' }, { authorization: 'Basic eDp5' }] as Record<
        string,
        string
      >[]) {
        const path = g.includes('%s') ? g.replace('%s', `approval_${run}`) : `${g}x_${run}`;
        out.push({ endpoint: `GET ${g}:id`, kind: 'unauthenticated', method: 'GET', path, headers: h, expect: '4xx' });
      }
    }
    for (const b of badIds) {
      out.push({
        endpoint: 'DELETE /v1/approvals/:id',
        kind: 'bad_id',
        method: 'DELETE',
        path: `/v1/approvals/${b}`,
        headers: { ...key },
        expect: '4xx',
      });
    }
    for (const h of [
      {},
      { authorization: 'Bearer nope-nope' },
      { authorization: `Bearer ${'x'.repeat(9000)}` },
    ] as Record<string, string>[]) {
      out.push({
        endpoint: 'POST /v1/system/ping',
        kind: 'unauthenticated',
        method: 'POST',
        path: '/v1/system/ping',
        headers: h,
        expect: '4xx',
      });
      out.push({
        endpoint: 'POST /codec/decode',
        kind: 'unauthenticated',
        method: 'POST',
        path: '/codec/decode',
        headers: { 'content-type': 'application/json', ...h },
        body: Buffer.from('{"payloads":[]}'),
        expect: '4xx',
      });
    }
    return out;
  }

  it('answers ≥ 2,000 bad requests 4xx (413 when oversized), none 5xx, with no side effect, and stays ready', async () => {
    const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    const jira = new JiraEmulatorAdmin(stack.urls.jiraEmulator!);
    const slackCallsBefore = (await slack.calls()).length;
    const jiraCallsBefore = (await jira.calls()).length;
    const requests = battery();
    expect(requests.length).toBeGreaterThanOrEqual(2_000);

    const results = await sendAll(stack.urls.api, requests);

    const table = new Map<string, Map<string, number>>();
    const wrong: string[] = [];
    results.forEach((res, i) => {
      const r = requests[i]!;
      const row = table.get(r.endpoint) ?? new Map<string, number>();
      row.set(String(res.status), (row.get(String(res.status)) ?? 0) + 1);
      table.set(r.endpoint, row);
      const ok = r.expect === 413 ? res.status === 413 : res.status >= 400 && res.status < 500;
      if (!ok)
        wrong.push(
          `${r.endpoint} ${r.kind}: ${res.status} ${'error' in res ? res.error : res.body.slice(0, 160)} ← ${r.body?.subarray(0, 120).toString('utf8') ?? r.path.slice(0, 120)}`,
        );
    });
    const lines = [...table].map(
      ([endpoint, row]) => `${endpoint.padEnd(34)} ${[...row].map(([s, n]) => `${s}×${n}`).join('  ')}`,
    );
    console.log(`[bad-input] ${requests.length} requests\n${lines.join('\n')}`);
    if (process.env.BAD_INPUT_DUMP) await writeFile(process.env.BAD_INPUT_DUMP, wrong.join('\n'));
    expect(wrong, wrong.slice(0, 40).join('\n')).toEqual([]);

    // No side effect anywhere: the emulators received no call, Temporal started nothing on this
    // stack's queue, and no row carries this run's marker.
    expect((await slack.calls()).slice(slackCallsBefore)).toEqual([]);
    expect((await jira.calls()).slice(jiraCallsBefore)).toEqual([]);
    const started = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` }))
      started.push(wf.workflowId);
    expect(started).toEqual([]);
    const rows = await pool.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM inbound_events WHERE event_id LIKE $1 OR subject LIKE $1)
            + (SELECT count(*) FROM audit_log WHERE subject LIKE $1)
            + (SELECT count(*) FROM idempotency_keys WHERE key LIKE $1) AS n`,
      [`%${run}%`],
    );
    expect(Number(rows.rows[0]!.n)).toBe(0);
    const ready = await fetch(`${stack.urls.api}/readyz`);
    expect(ready.status).toBe(200);
  }, 300_000);
});
