import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JiraEmulatorAdmin } from '../../../emulators/jira/admin-client.js';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { alertsFlow } from '../../../src/flows/alerts/flow.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import {
  BAD_PATH_IDS,
  apiKeyBattery,
  fill,
  jiraSigner,
  jsonBattery,
  meets,
  razorpaySigner,
  sendAll,
  servedRoutes,
  slackSigner,
  type BadRequest,
  type ServedRoute,
} from '../../helpers/bad-input.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { testDataConverter } from '../../helpers/temporal.js';

/**
 * Routes whose answer does not depend on the request: probes, static files, the install pages
 * (they redirect to Slack's authorize page whatever the query). They get junk queries anyway and
 * must not answer 5xx.
 */
const REQUEST_FREE = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /console/style.css',
  'GET /console/login',
  'GET /slack/install',
  'GET /slack/connect',
  'OPTIONS *', // @fastify/cors's preflight route (only the codec's scope registers it)
]);
/** Routes authenticated by their platform's signature or token: each has a battery of its own below. */
const SIGNED = new Set([
  'POST /slack/events',
  'POST /slack/interactions',
  'POST /slack/commands',
  'POST /webhooks/razorpay',
  'POST /webhooks/jira',
  'POST /webhooks/alertmanager',
]);
/** API-key routes that read no body: a well-formed body they ignore is not bad input for them. */
const NO_BODY = new Set(['POST /v1/system/ping', 'POST /v1/members/sync']);
/** The filters each console page reads, with values its schema refuses (pages ignore parameters they do not read). */
const CONSOLE_FILTERS: Record<string, string[]> = {
  '/console': [
    '?kind=Payment!',
    `?status=${'x'.repeat(4000)}`,
    '?q=%00',
    '?q=a%20b',
    '?kind=%ED%A0%80',
    '?kind=a&kind=b',
  ],
  '/console/failures': ['?q=%00', `?q=${'x'.repeat(4000)}`, '?q=%3Cscript%3E', '?q=a&q=b'],
  '/console/lifecycles/:subject': [
    '?action=%00',
    '?outcome=maybe',
    `?action=${'x'.repeat(200)}`,
    '?outcome=ok&outcome=failed',
  ],
  '/console/lifecycles/:subject/audit.csv': ['?action=%00', '?outcome=maybe', `?action=${'x'.repeat(200)}`],
};
/** Body limits other than the app's 1 MiB. */
const LIMITS: Record<string, number> = { '/codec/': 16 * 1024 * 1024 };

type RouteClass = 'signed' | 'api_key' | 'session' | 'request_free' | 'oauth_redirect';
/** How a route authenticates, which decides its battery; undefined for a route nobody classified (the test fails). */
function classOf(r: ServedRoute): RouteClass | undefined {
  const key = `${r.method} ${r.url}`;
  if (SIGNED.has(key)) return 'signed';
  if (REQUEST_FREE.has(key)) return 'request_free';
  if (key === 'GET /slack/oauth_redirect') return 'oauth_redirect';
  if (r.url.startsWith('/v1/') || r.url.startsWith('/codec/')) return 'api_key';
  if (r.url === '/console' || r.url.startsWith('/console/')) return 'session';
  return undefined;
}

/**
 * The bad-input battery: thousands of generated requests against every route the running app
 * serves (listed from its Fastify route tree, so a route added later is covered by its class's
 * battery, or the test fails until someone classifies it). Every one is answered 4xx (413 when
 * oversized, read in full before the connection closes), none 5xx; afterwards nothing reached
 * Slack, Jira or Temporal, no table of the stack's own database gained or lost a row, and the
 * API is still ready.
 */
describe('bad-input battery', () => {
  let stack: TestStack;
  let admin: Pool;
  let pool: Pool;
  let connection: Connection;
  let client: Client;
  const run = `bad${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  // Its own database: every table's row count is then this stack's alone (other files run in parallel).
  const database = `battery_${run}`;

  beforeAll(async () => {
    admin = createPool(inject('databaseUrl'));
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(inject('databaseUrl'));
    url.pathname = `/${database}`;
    stack = await startTestStack({}, { databaseUrl: url.toString() });
    pool = createPool(url.toString());
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, dataConverter: testDataConverter() });
  });
  afterAll(async () => {
    await pool?.end();
    await connection?.close();
    await stack?.stop();
    await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin?.end();
  });

  /** Row counts of every table of the stack's database. */
  async function tableCounts(): Promise<Record<string, number>> {
    const { rows } = await pool.query<{ t: string }>(
      `SELECT quote_ident(table_name) AS t FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    const counts: Record<string, number> = {};
    for (const { t } of rows) {
      const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`);
      counts[t] = Number(r.rows[0]!.n);
    }
    return counts;
  }

  /** A console session (cookie and form token), logged in with the API key as a browser would. */
  async function consoleSession(): Promise<{ cookie: string; csrf: string }> {
    const login = await fetch(`${stack.urls.api}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: stack.urls.api },
      body: new URLSearchParams({ apiKey: stack.config.apiKeys[0]! }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await (await fetch(`${stack.urls.api}/console/failures`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1];
    expect(csrf, 'the console page carries its form token').toBeDefined();
    return { cookie, csrf: csrf! };
  }

  /**
   * A console route's battery: without a session (pages redirect to the login page, forms are
   * refused), forms without or with a wrong token or from another site, and, logged in, path
   * parameters and filters no page takes. The login form gets bodies it must refuse.
   */
  function consoleBattery(route: ServedRoute, session: { cookie: string; csrf: string }): BadRequest[] {
    const endpoint = `${route.method} ${route.url}`;
    const out: BadRequest[] = [];
    const form = (fields: Record<string, string>) => Buffer.from(new URLSearchParams(fields).toString());
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    const here = { origin: stack.urls.api };
    const add = (
      kind: string,
      path: string,
      headers: Record<string, string>,
      body?: Buffer,
      expect: 'refused' | '4xx' | 413 = '4xx',
    ) => out.push({ endpoint, kind, method: route.method, path, headers, body, expect });
    const okPath = fill(route.url, `payment:x_${run}`);
    const noSession: Record<string, string>[] = [
      {},
      { cookie: 'tl_console=forged' },
      { cookie: `tl_console=${'a'.repeat(5000)}` },
    ];
    if (route.method === 'GET') {
      for (const h of noSession) add('no_session', okPath, h, undefined, 'refused');
      if (route.url.includes(':'))
        for (const bad of BAD_PATH_IDS) add('bad_id', fill(route.url, bad), { cookie: session.cookie });
      for (const q of CONSOLE_FILTERS[route.url] ?? []) add('bad_filter', okPath + q, { cookie: session.cookie });
      return out;
    }
    if (route.url === '/console/login') {
      add('cross_site', route.url, { ...formType, origin: 'https://evil.example' }, form({ apiKey: 'x' }));
      add('cross_site', route.url, { ...formType, 'sec-fetch-site': 'cross-site' }, form({ apiKey: 'x' }));
      add('missing_field', route.url, { ...formType, ...here }, form({}));
      add('missing_field', route.url, { ...formType, ...here }, form({ apiKey: '' }));
      for (const k of ['wrong-key', '\u0000', 'é'.repeat(3000)])
        add('wrong_key', route.url, { ...formType, ...here }, form({ apiKey: k }));
      add('wrong_type', route.url, { 'content-type': 'application/json', ...here }, Buffer.from('{"apiKey":5}'));
      add('malformed', route.url, { 'content-type': 'application/json', ...here }, Buffer.from('{"apiKey":'));
      add('wrong_content_type', route.url, { 'content-type': 'text/plain', ...here }, Buffer.from('apiKey=x'));
      add('oversized', route.url, { ...formType, ...here }, form({ apiKey: 'x'.repeat(1024 * 1024) }), 413);
      return out;
    }
    const withToken = (csrf: string) => form({ _csrf: csrf });
    for (const h of noSession) add('no_session', okPath, { ...formType, ...here, ...h }, withToken(session.csrf));
    add('no_form_token', okPath, { ...formType, ...here, cookie: session.cookie }, form({}));
    add('wrong_form_token', okPath, { ...formType, ...here, cookie: session.cookie }, withToken('forged'));
    add(
      'cross_site',
      okPath,
      { ...formType, origin: 'https://evil.example', cookie: session.cookie },
      withToken(session.csrf),
    );
    add(
      'oversized',
      okPath,
      { ...formType, ...here, cookie: session.cookie },
      form({ _csrf: 'x'.repeat(1024 * 1024) }),
      413,
    );
    if (route.url.includes(':'))
      for (const bad of BAD_PATH_IDS)
        add('bad_id', fill(route.url, bad), { ...formType, ...here, cookie: session.cookie }, withToken(session.csrf));
    return out;
  }

  function battery(routes: ServedRoute[], session: { cookie: string; csrf: string }): BadRequest[] {
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

    const alerts = flowConfigOf(stack.config, alertsFlow);
    const alertmanager = (fingerprint: string) => ({
      version: '4',
      groupKey: `{}:{alertname="Battery${run}"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'slack-ops',
      groupLabels: { alertname: `Battery${run}` },
      commonLabels: { alertname: `Battery${run}`, severity: 'critical' },
      commonAnnotations: { summary: 'battery' },
      externalURL: 'http://alertmanager.example.com:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: `Battery${run}`, severity: 'critical' },
          annotations: { summary: 'battery' },
          startsAt: new Date().toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example.com:9090/graph',
          fingerprint,
        },
      ],
    });
    out.push(
      ...jsonBattery({
        endpoint: 'POST /webhooks/alertmanager',
        path: '/webhooks/alertmanager',
        auth: { authorization: `Bearer ${alerts.alertmanagerToken!}` },
        limit: 1024 * 1024,
        base: alertmanager(randomBytes(8).toString('hex')),
        fresh: () => alertmanager(randomBytes(8).toString('hex')),
        validated: [
          ['version'],
          ['status'],
          ['alerts'],
          ['alerts', 0],
          ['alerts', 0, 'status'],
          ['alerts', 0, 'labels'],
          ['alerts', 0, 'startsAt'],
          ['alerts', 0, 'fingerprint'],
        ],
        ids: [['alerts', 0, 'fingerprint']],
      }),
      ...v1(
        'POST /v1/alerts',
        '/v1/alerts',
        { source: 'battery', dedupKey: `k_${run}`, severity: 'critical', summary: 'battery', status: 'firing' },
        [['source'], ['dedupKey'], ['severity'], ['summary'], ['status']],
        [['source'], ['dedupKey']],
        ['status'], // defaults to firing
      ),
    );

    // Every other route, by how it authenticates.
    const okId = `x_${run}`;
    for (const route of routes) {
      const name = `${route.method} ${route.url}`;
      const cls = classOf(route);
      if (cls === 'api_key') {
        out.push(
          ...apiKeyBattery({
            route,
            key,
            okId,
            takesBody: !NO_BODY.has(name),
            limit: Object.entries(LIMITS).find(([p]) => route.url.startsWith(p))?.[1] ?? 1024 * 1024,
            headers: () => ({ 'idempotency-key': id('idem') }),
          }),
        );
      } else if (cls === 'request_free') {
        for (const q of ['?%zz=%', `?next=${'x'.repeat(4000)}`, '?q=%00%ED%A0%80', '?a[b][c]=1&a=2'])
          out.push({
            endpoint: name,
            kind: 'junk_query',
            method: route.method,
            // A preflight of the catch-all goes to a path it covers, from an origin nobody allowed.
            path: (route.url === '*' ? '/codec/decode' : fill(route.url, 'x')) + q,
            headers:
              route.method === 'OPTIONS'
                ? { origin: 'https://evil.example', 'access-control-request-method': 'POST' }
                : {},
            expect: 'not_5xx',
          });
      } else if (cls === 'oauth_redirect') {
        for (const q of [
          '',
          '?code=abc',
          '?state=forged&code=abc',
          '?state=&code=',
          `?state=${'s'.repeat(4000)}&code=abc`,
          '?state=%ED%A0%80&code=%00',
          '?code=abc&state=v1.forged.signature',
        ])
          out.push({
            endpoint: name,
            kind: 'bad_oauth_callback',
            method: 'GET',
            path: route.url + q,
            headers: {},
            expect: '4xx',
          });
      } else if (cls === 'session') {
        out.push(...consoleBattery(route, session));
      }
    }
    return out;
  }

  it('answers ≥ 2,000 bad requests to every served route 4xx (413 when oversized), none 5xx, with no side effect, and stays ready', async () => {
    const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    const jira = new JiraEmulatorAdmin(stack.urls.jiraEmulator!);
    const routes = servedRoutes(stack.app.printRoutes({ commonPrefix: false }));
    const unclassified = routes.filter((r) => !classOf(r)).map((r) => `${r.method} ${r.url}`);
    expect(unclassified, 'every route the app serves has a battery class').toEqual([]);
    const session = await consoleSession();
    const slackCallsBefore = (await slack.calls()).length;
    const jiraCallsBefore = (await jira.calls()).length;
    const countsBefore = await tableCounts();
    const requests = battery(routes, session);
    expect(requests.length).toBeGreaterThanOrEqual(2_000);
    // Every served route got requests (a signed route without its own battery fails here).
    const targeted = new Set(requests.map((r) => r.endpoint));
    expect(routes.map((r) => `${r.method} ${r.url}`).filter((r) => !targeted.has(r))).toEqual([]);

    const started = Date.now();
    const results = await sendAll(stack.urls.api, requests);
    const wallMs = Date.now() - started;

    const table = new Map<string, Map<string, number>>();
    const wrong: string[] = [];
    results.forEach((res, i) => {
      const r = requests[i]!;
      const row = table.get(r.endpoint) ?? new Map<string, number>();
      row.set(String(res.status), (row.get(String(res.status)) ?? 0) + 1);
      table.set(r.endpoint, row);
      if (!meets(r, res))
        wrong.push(
          `${r.endpoint} ${r.kind}: ${res.status} ${'error' in res ? res.error : res.body.slice(0, 160)} ← ${r.body?.subarray(0, 120).toString('utf8') ?? r.path.slice(0, 120)}`,
        );
    });
    const lines = [...table]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([endpoint, row]) =>
          `${endpoint.padEnd(44)} ${[...row]
            .sort()
            .map(([s, n]) => `${s}×${n}`)
            .join('  ')}`,
      );
    console.log(`[bad-input] ${requests.length} requests, ${table.size} routes, ${wallMs} ms\n${lines.join('\n')}`);
    if (process.env.BAD_INPUT_DUMP) await writeFile(process.env.BAD_INPUT_DUMP, wrong.join('\n'));
    expect(wrong, wrong.slice(0, 40).join('\n')).toEqual([]);

    // No side effect anywhere: the emulators received no call, Temporal started nothing on this
    // stack's queue, and no table of the stack's own database changed its row count.
    expect((await slack.calls()).slice(slackCallsBefore)).toEqual([]);
    expect((await jira.calls()).slice(jiraCallsBefore)).toEqual([]);
    const workflows = [];
    for await (const wf of client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` }))
      workflows.push(wf.workflowId);
    expect(workflows).toEqual([]);
    // Except what the install pages are for: every visit mints one single-use OAuth state (expiring).
    const installVisits = requests.filter(
      (r) => r.endpoint === 'GET /slack/install' || r.endpoint === 'GET /slack/connect',
    );
    expect(await tableCounts()).toEqual({
      ...countsBefore,
      slack_oauth_states: countsBefore.slack_oauth_states! + installVisits.length,
    });
    const ready = await fetch(`${stack.urls.api}/readyz`);
    expect(ready.status).toBe(200);
  }, 300_000);
});
