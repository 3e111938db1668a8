import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';

interface Approval {
  status: string;
  decidedBy: string | null;
  decidedAt: string | null;
  slack: { channel: string; ts: string; purpose: string; user?: string }[];
  timeline: { at: string; kind: string; summary: string }[];
}

/**
 * Approval flow against the running sandbox: a deployment pipeline asks for approval through the
 * API and long-polls for the decision; a stranger's click is refused; Bob approves in Slack (the
 * emulator clicks as him); the message locks and the pipeline's wait returns.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const u = randomUUID().slice(0, 8);
  const body = {
    title: `Deploy checkout v2.${u.slice(0, 2)} to production`,
    description: 'Pipeline #1234 passed; change ticket OPS-42.',
    fields: { Service: 'checkout', Commit: u, Risk: 'low' },
    requester: 'alice@example.com',
    approvers: ['U0BOB', 'carol@example.com'],
    channel: 'C0APPROVAL',
    sla: { remindAfter: '30m', expireAfter: '4h' },
  };
  ctx.log(`POST /v1/approvals  "${body.title}" requester alice, approvers bob + carol, #approvals`);
  const res = await fetch(`${ctx.apiUrl}/v1/approvals`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `demo-${u}` },
    body: JSON.stringify(body),
  });
  const createdText = await res.text();
  ctx.log(`  → ${res.status} ${createdText}`);
  if (res.status !== 201) throw new Error('request was not created');
  const { approvalId } = JSON.parse(createdText) as { approvalId: string };
  const get = async () =>
    (await (await fetch(`${ctx.apiUrl}/v1/approvals/${approvalId}`, { headers: auth })).json()) as Approval;

  const posted = await slack.waitFor(async () => {
    const a = await get();
    return a.slack.length >= 3 ? a.slack : undefined;
  }, 60_000);
  const root = posted.find((m) => m.purpose === 'channel')!;
  ctx.log(`posted to #approvals (${root.channel} ${root.ts}) and DMed ${posted.length - 1} approvers`);

  ctx.log(`GET /v1/approvals/${approvalId}/decision?wait=60s  (the pipeline blocks here)`);
  const poll = fetch(`${ctx.apiUrl}/v1/approvals/${approvalId}/decision?wait=60s`, { headers: auth }).then((r) =>
    r.text(),
  );

  const dave = await slack.clickButton({
    user: 'U0DAVE',
    channel: root.channel,
    ts: root.ts,
    action_id: 'tl:approval.approve',
  });
  const refusal = await slack.waitFor(async () =>
    (await slack.responseUrlPosts()).find((p) => dave.response_url?.endsWith(`/${p.id}`)),
  );
  ctx.log(`dave clicks Approve → ephemeral: ${(refusal.body as { text?: string }).text ?? ''}`);

  const t0 = Date.now();
  await slack.clickButton({ user: 'U0BOB', channel: root.channel, ts: root.ts, action_id: 'tl:approval.approve' });
  const locked = await slack.waitFor(async () => {
    const m = await slack.message(root.channel, root.ts);
    return JSON.stringify(m.blocks ?? []).includes('approval_outcome') ? m : undefined;
  }, 60_000);
  ctx.log(`bob clicks Approve → message locked after ${Date.now() - t0} ms:`);
  ctx.log(`  ┌ ${locked.text.replace(/\s+/g, ' ')}`);
  ctx.log(`  │ buttons left: ${JSON.stringify(locked.blocks ?? []).includes('tl:approval') ? 'yes' : 'none'}`);
  for (const r of await slack.threadReplies(root.channel, root.ts)) ctx.log(`  │ ↳ ${r.text.replace(/\s+/g, ' ')}`);
  ctx.log('  └');
  ctx.log(`the pipeline's wait returned: ${await poll}`);

  const a = await get();
  ctx.log(`GET /v1/approvals/${approvalId} → ${a.status} by ${a.decidedBy} at ${a.decidedAt}`);
  for (const t of a.timeline) ctx.log(`  ${t.at}  ${t.kind.padEnd(14)} ${t.summary}`);
}
