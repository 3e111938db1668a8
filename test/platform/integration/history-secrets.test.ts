import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { paymentsHarness } from '../../flows/payments/e2e/helpers.js';
import { signalsIn } from '../../helpers/slack.js';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { decodedHistory } from '../../helpers/temporal.js';

type History = temporal.api.history.v1.IHistory;

/** A secret-looking value unique to this run, so a match can only come from this run's data. */
const unique = (prefix: string) => `${prefix}${randomBytes(9).toString('hex')}`;

/** The configured secrets: every one set explicitly so the needles are this run's own. */
const SECRETS = {
  SLACK_BOT_TOKEN: unique('xoxb-history-'),
  SLACK_SIGNING_SECRET: unique('signing-'),
  RAZORPAY_WEBHOOK_SECRET: unique('razorpay-'),
  JIRA_API_TOKEN: unique('jira-token-'),
  JIRA_WEBHOOK_SECRET: unique('jira-hook-'),
  THREADLINE_API_KEYS: unique('tl_history_'),
  APPROVAL_CALLBACK_SECRET: unique('callback-secret-'),
  THREADLINE_PAYLOAD_KEYS: `history-key:${randomBytes(32).toString('base64')}`,
};

/**
 * Everything a history holds, as text: the canonical proto JSON (what `temporal workflow show
 * --output json` prints) plus every string and every bytes field read as UTF-8, so a value inside
 * a (base64) payload is found just as a plain-text failure message is. Walks own fields itself:
 * proto messages' toJSON() would turn bytes into base64 first.
 */
function haystack(history: History): string {
  const parts: string[] = [historyToJSON(history)];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v);
    else if (v instanceof Uint8Array) parts.push(Buffer.from(v).toString('utf8'));
    else if (v && typeof v === 'object') for (const child of Object.values(v)) walk(child);
  };
  walk(history);
  return parts.join('\n');
}

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

/** A decision-callback receiver that fails its first delivery (so a failure is recorded), then accepts. */
async function callbackReceiver() {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push(body);
      res.statusCode = hits.length === 1 ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const token = unique('cbtoken');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/approval?token=${token}`;
  return { url, token, hits, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * Issue 9, defect 6: no secret or personal data in Temporal history. Real flows through the real
 * stack carry a payer name, metadata with an email, an approval callback URL with a token, a slash
 * command's response_url, a click's response_url and a thread reply's text; then every history
 * the stack's task queue produced is read RAW (a client without the codec) and searched.
 */
describe('Temporal history holds no secrets or personal data (payload codec)', () => {
  let stack: TestStack;
  let hook: Awaited<ReturnType<typeof callbackReceiver>>;
  let needles: Record<string, string>;
  let workflowIds: string[];
  let raw: Map<string, History>;

  beforeAll(async () => {
    stack = await startTestStack(SECRETS);
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

    // A person's reply in the payment's thread.
    const replyText = unique('the customer called back about ');
    await slack.postMessage({ user: 'U0CAROL', channel: root.channel, text: replyText, thread_ts: root.ts });
    await slack.waitFor(async () => {
      const s = (await signalsIn(
        stack.urls.temporal,
        `payment:${orderId}`,
        'slackThreadEvent',
        stack.config.temporal,
      )) as { text?: string }[];
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
