import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { deliverRazorpay, razorpayEvent } from '../../fixtures/razorpay/build.js';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { paymentsHarness } from '../../flows/payments/e2e/helpers.js';
import { callbackReceiver, searchableText, unique, uniqueSecrets } from '../../helpers/secrets.js';
import { slackRequest, threadEventsIn } from '../../helpers/slack.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { decodedHistory } from '../../helpers/temporal.js';

type History = temporal.api.history.v1.IHistory;

/** The configured secrets: every one set explicitly so the needles are this run's own. */
const SECRETS = uniqueSecrets();

/** A history as text: its canonical proto JSON (what `temporal workflow show -o json` prints) and every value in it. */
const haystack = (history: History) => `${historyToJSON(history)}\n${searchableText(history)}`;

/** Every failure object anywhere in a history (activity attempts, workflow task failures, …). */
function failuresIn(v: unknown, out: { message?: string | null; stackTrace?: string | null }[] = []) {
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    for (const [k, child] of Object.entries(v)) {
      if ((k === 'failure' || k === 'lastFailure' || k === 'cause') && child) out.push(child as never);
      failuresIn(child, out);
    }
  }
  return out;
}

/**
 * No secret or personal data in Temporal history (issue 9, defect 6) or in the logs (issue 18).
 * Real flows through the real stack carry a payer name, metadata with an email, an approval
 * callback URL with a token, a slash command's response_url, a click's response_url and a thread
 * reply's text, alongside requests with every kind of credential (good and bad API keys, Slack and
 * Razorpay signatures, the codec endpoint) and failures (a Slack 500, a failing callback). Then
 * every history the stack's task queue produced is read RAW (a client without the codec), and the
 * app's whole log output (trace level) is read, and both are searched.
 */
describe('no secrets or personal data in Temporal history or logs', () => {
  let stack: TestStack;
  const logLines: string[] = [];
  /** Credentials sent in requests that were refused: they must not be logged either. */
  const refused = {
    apiKey: unique('tl_wrong_'),
    slackSignature: `v0=${unique('')}`,
    razorpaySignature: unique(''),
    alertmanagerToken: unique('am-wrong-'),
  };
  let hook: Awaited<ReturnType<typeof callbackReceiver>>;
  let needles: Record<string, string>;
  let workflowIds: string[];
  let raw: Map<string, History>;
  /** Every API answer the capture below collected: status, headers and body. */
  const answers: string[] = [];

  beforeAll(async () => {
    const logger = createLogger({ level: 'trace', destination: { write: (line: string) => logLines.push(line) } });
    // The admin token needs the channels an invite joins (not a secret, so not a needle).
    stack = await startTestStack({ ...SECRETS, MEMBERSHIP_INVITE_CHANNELS: 'C0GENERAL' }, { logger });
    hook = await callbackReceiver();
    const pay = paymentsHarness(stack);
    const appr = approvalsHarness(stack);
    const slack = pay.slack;

    // A payment: payer name, owner email, metadata with PII; then the provider's capture (which
    // carries the payer's email, phone and VPA on the wire).
    const { orderId, paymentId } = pay.ids();
    const payerName = `Asha ${unique('Verma')}`;
    const metadataEmail = `${unique('customer.')}@example.com`;
    const note = unique('private note ');
    await pay.expectAccepted(
      await pay.initiate(
        pay.initiation(orderId, { payerName, owner: 'erin@example.com', metadata: { email: metadataEmail, note } }),
      ),
    );
    await pay.webhook('payment.captured', { orderId, paymentId, amount: 123450 });
    const root = await pay.thread('C0PAYMENTS', orderId, 0);

    // Requests carrying credentials, good and refused (each refusal is observed before going on).
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
    expect((await fetch(`${stack.urls.api}/v1/payments/${orderId}`, { headers: bearer(pay.apiKey) })).status).toBe(200);
    expect((await fetch(`${stack.urls.api}/v1/payments/${orderId}`, { headers: bearer(refused.apiKey) })).status).toBe(
      401,
    );
    const event = JSON.stringify({ type: 'event_callback', event_id: 'Ev0REFUSED', event: { type: 'message' } });
    const badSlack = await slackRequest(`${stack.urls.api}/slack/events`, event, {
      secret: SECRETS.SLACK_SIGNING_SECRET,
      headers: { 'x-slack-signature': refused.slackSignature },
    });
    expect(badSlack.status).toBe(401);
    const capture = JSON.stringify(razorpayEvent('payment.captured', { orderId, paymentId, amount: 123450 }));
    const badWebhook = await deliverRazorpay(stack.urls.api, SECRETS.RAZORPAY_WEBHOOK_SECRET, capture, unique('evt_'), {
      signature: refused.razorpaySignature,
    });
    expect(badWebhook.status).toBe(401);
    // A Slack outage on the next post: the activity fails once (logged by the worker), then succeeds.
    await slack.injectFault({ method: 'chat.postMessage', kind: 'status', status: 500, count: 1 });

    // A person's reply in the payment's thread.
    const replyText = unique('the customer called back about ');
    await slack.postMessage({ user: 'U0CAROL', channel: root.channel, text: replyText, thread_ts: root.ts });
    await slack.waitFor(async () => {
      const s = (await threadEventsIn(stack.urls.temporal, `payment:${orderId}`, stack.config.temporal)) as {
        text?: string;
      }[];
      return s.some((x) => x.text === replyText);
    }, 20_000);

    // An approval with a callback URL carrying a token; a click (its response_url goes into the update).
    const title = unique('Grant prod access to ');
    const description = unique('Reason: ');
    const approvalId = await appr.created(
      appr.body({ title, description, approvers: ['U0BOB', 'carol@example.com'], callbackUrl: hook.url }),
    );
    const channelMsg = (await appr.posted(approvalId, 3)).find((m) => m.purpose === 'channel')!;
    const click = await appr.click('U0BOB', channelMsg, 'approve');
    await appr.waitStatus(approvalId, 'approved');
    await slack.waitFor(() => hook.hits.length >= 2, 20_000);
    await slack.waitFor(async () => (await appr.get(approvalId)).callback?.status === 'delivered', 20_000);

    // A slash command whose response_url the answering workflow stores.
    const command = await slack.runSlashCommand({
      user: 'U0ERIN',
      channel: 'C0PAYMENTS',
      command: '/threadline',
      text: `status ${orderId}`,
    });
    await slack.waitFor(async () => {
      const posts = await slack.responseUrlPosts();
      return posts.some((p) => command.response_url.endsWith(`/${p.id}`));
    }, 20_000);

    const codec = await fetch(`${stack.urls.api}/codec/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(pay.apiKey) },
      body: JSON.stringify({ payloads: [] }),
    });
    expect(codec.status).toBe(200);

    // API answers, good and refused, from every kind of endpoint: none may echo a secret.
    const keep = async (res: Response) =>
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    const api = stack.urls.api;
    const wrongKeys = [
      bearer(refused.apiKey),
      { authorization: `Basic ${Buffer.from(`x:${pay.apiKey}x`).toString('base64')}` },
    ];
    for (const headers of [bearer(pay.apiKey), ...wrongKeys]) {
      await keep(await fetch(`${api}/v1/payments/${orderId}`, { headers }));
      await keep(await fetch(`${api}/v1/approvals/${approvalId}`, { headers }));
      await keep(await fetch(`${api}/v1/tickets/NOPE-1`, { headers }));
      await keep(await fetch(`${api}/v1/system/ping`, { method: 'POST', headers }));
      await keep(
        await fetch(`${api}/v1/payments`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': unique('idem-') },
          body: JSON.stringify({ orderId: 'bad id', amount: 'x' }),
        }),
      );
    }
    for (const path of ['/healthz', '/readyz', '/metrics', '/nope']) await keep(await fetch(`${api}${path}`));
    await keep(
      await slackRequest(`${api}/slack/events`, event, {
        secret: SECRETS.SLACK_SIGNING_SECRET,
        headers: { 'x-slack-signature': refused.slackSignature },
      }),
    );
    await keep(await slackRequest(`${api}/slack/events`, '{"type":', { secret: SECRETS.SLACK_SIGNING_SECRET }));
    await keep(await deliverRazorpay(api, SECRETS.RAZORPAY_WEBHOOK_SECRET, '{"event":', unique('evt_')));
    await keep(
      await fetch(`${api}/webhooks/jira`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature': `sha256=${unique('')}` },
        body: '{}',
      }),
    );
    // Alertmanager with the right token (a malformed body) and with a wrong one.
    for (const token of [SECRETS.ALERTMANAGER_WEBHOOK_TOKEN, refused.alertmanagerToken])
      await keep(
        await fetch(`${api}/webhooks/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: '{"version":"4","alerts":"none"}',
        }),
      );

    needles = {
      ...SECRETS,
      'payload key material': SECRETS.THREADLINE_PAYLOAD_KEYS.split(':')[1]!,
      'the slash command response_url': command.response_url,
      "the click's response_url": click.response_url!,
      'the callback URL': hook.url,
      "the callback URL's token": hook.token,
      'the payer name': payerName,
      'an email in payment metadata': metadataEmail,
      'a note in payment metadata': note,
      "the payment owner's email": 'erin@example.com',
      "the approval requester's email": 'alice@example.com',
      "an approver's email": 'carol@example.com',
      'the thread reply text': replyText,
      'the approval title': title,
      'the approval description': description,
      'the callback failure message': 'callback receiver answered 500',
    };

    // Every workflow this stack ran (its own task queue), read by a client WITHOUT the codec.
    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      const client = new Client({ connection });
      const expected = [`payment:${orderId}`, `approval:${approvalId}`, `slack-response:${command.trigger_id}`];
      workflowIds = await slack.waitFor(async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `TaskQueue = "${stack.taskQueue}"` }))
          ids.push(w.workflowId);
        return expected.every((id) => ids.includes(id)) ? ids : undefined;
      }, 20_000);
      raw = new Map();
      for (const id of workflowIds) raw.set(id, await client.workflow.getHandle(id).fetchHistory());
    } finally {
      await connection.close();
    }
  });

  afterAll(async () => {
    await hook?.close();
    await stack?.stop();
  });

  it('no raw history contains a configured secret, a response_url, a callback URL, an email, a name or message text', () => {
    const found: string[] = [];
    for (const [id, history] of raw) {
      const text = haystack(history);
      for (const [what, needle] of Object.entries(needles)) if (text.includes(needle)) found.push(`${id}: ${what}`);
    }
    expect(found).toEqual([]);
  });

  it('failure messages and stack traces are encoded too (only "Encoded failure" in plain text)', () => {
    const failures = [...raw.values()].flatMap((h) => failuresIn(h.events));
    // The callback's failed first attempt is recorded (lastFailure) at the least.
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      expect(f.message).toBe('Encoded failure');
      expect(f.stackTrace ?? '').toBe('');
    }
  });

  it('the same histories, decoded through the codec, do hold that data (so the raw check above can fail)', async () => {
    const decoded = await Promise.all(
      workflowIds.map((id) => decodedHistory(stack.urls.temporal, id, stack.config.temporal)),
    );
    const text = decoded.map(haystack).join('\n');
    const data = Object.entries(needles).filter(([what]) => !(what in SECRETS) && what !== 'payload key material');
    const missing = data.filter(([, needle]) => !text.includes(needle)).map(([what]) => what);
    expect(missing).toEqual([]);
  });

  it("the app's log output holds none of the secrets, refused credentials or personal data", () => {
    const log = logLines.join('');
    const text = `${log}\n${searchableText(logLines.map((l) => JSON.parse(l) as unknown))}`;
    // The capture saw the activity of every layer, failures included: an empty log proves nothing.
    expect(log).toContain('"component":"api"');
    expect(log).toContain('"component":"temporal-sdk"');
    expect(log).toContain('Activity failed');
    const forLogs = {
      ...Object.fromEntries(Object.entries(needles).filter(([what]) => what !== 'the callback failure message')),
      'a refused API key': refused.apiKey,
      'a refused Slack signature': refused.slackSignature,
      'a refused Razorpay signature': refused.razorpaySignature,
      'a refused Alertmanager token': refused.alertmanagerToken,
    };
    const found = Object.entries(forLogs)
      .filter(([, needle]) => text.includes(needle))
      .map(([what]) => what);
    expect(found).toEqual([]);
  });

  it('no API answer (good, refused or malformed requests, health, metrics) holds a configured secret', () => {
    expect(answers.length).toBeGreaterThan(20);
    const secrets = {
      ...SECRETS,
      'payload key material': SECRETS.THREADLINE_PAYLOAD_KEYS.split(':')[1]!,
      'a refused API key': refused.apiKey,
      'a refused Slack signature': refused.slackSignature,
    };
    const text = answers.join('\n');
    const found = Object.entries(secrets)
      .filter(([, needle]) => text.includes(needle))
      .map(([what]) => what);
    expect(found).toEqual([]);
  });

  it('search attributes stay ids and states', () => {
    const upserts = [...raw.values()].flatMap((h) =>
      (h.events ?? []).flatMap((e) => {
        const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {};
        return Object.entries(fields).map(([k, p]) => [k, Buffer.from(p.data ?? []).toString('utf8')] as const);
      }),
    );
    expect(upserts.length).toBeGreaterThan(0);
    // Workflow ids, kinds and statuses: no spaces, no '@', nothing but id characters.
    for (const [key, json] of upserts) {
      const values = [JSON.parse(json) as unknown].flat();
      for (const v of values) expect({ key, v }).toEqual({ key, v: expect.stringMatching(/^[\w:.-]+$/) });
    }
  });
});
