import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';

interface Alert {
  status: string;
  occurrences: number;
  current: { acknowledgedBy: string | null; paged: string[]; escalation: { step: number; pass: number } | null } | null;
  slack: { root: { channel: string; ts: string } | null; copies: { channel: string; ts: string; target: string }[] };
  timeline: { at: string; kind: string; summary: string }[];
}

/**
 * Alerts against the running sandbox (default routing: critical → #ops-alerts, paging the
 * `primary` rotation): Alertmanager fires the real v4 sample; its repeat posts nothing; the
 * on-call person acknowledges from their DM; Alertmanager resolves it; it fires again (a flap,
 * same thread); `/threadline oncall` says who is on call.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const sample = JSON.parse(
    readFileSync(new URL('../../test/fixtures/alertmanager/firing.json', import.meta.url), 'utf8'),
  ) as { alerts: Record<string, unknown>[]; status: string };
  const fp = randomBytes(8).toString('hex');
  const payload = (status: 'firing' | 'resolved', startsAt?: string) => {
    const p = structuredClone(sample);
    p.status = status;
    const a = p.alerts[0]!;
    Object.assign(a, {
      status,
      fingerprint: fp,
      ...(startsAt ? { startsAt } : {}),
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
    });
    return p;
  };
  const post = async (body: unknown, label: string) => {
    const res = await fetch(`${ctx.apiUrl}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer tl_sandbox_alerts' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    ctx.log(`POST /webhooks/alertmanager (${label}) → ${res.status} ${text}`);
    if (res.status !== 200) throw new Error('the webhook was refused');
  };
  const until = (ok: (a: Alert) => boolean) =>
    slack.waitFor(async () => {
      const r = await fetch(`${ctx.apiUrl}/v1/alerts/am:${fp}`, { headers: auth });
      if (r.status !== 200) return undefined;
      const a = (await r.json()) as Alert;
      return ok(a) ? a : undefined;
    }, 60_000);
  const show = async (m: { channel: string; ts: string }, label: string) => {
    const msg = await slack.message(m.channel, m.ts);
    const blocks = JSON.stringify(msg.blocks ?? []);
    const buttons = (blocks.match(/tl:alert\.(ack|escalate|resolve)/g) ?? []).map((b) => b.slice(9));
    ctx.log(`  ┌ ${label}: ${msg.text}`);
    ctx.log(`  │ buttons: ${buttons.join(', ') || 'none'}`);
    for (const r of msg.replies ?? []) ctx.log(`  │ ↳ ${r.text.replace(/\s+/g, ' ').slice(0, 160)}`);
    ctx.log('  └');
  };

  await post(payload('firing'), 'firing');
  const fired = await until((a) => a.slack.root !== null && a.slack.copies.length > 0);
  const root = fired.slack.root!;
  const oncall = fired.current!.paged[0]!;
  ctx.log(`card posted in ${root.channel}; <@${oncall}> (on call for primary) DMed with the buttons`);
  await show(root, 'card');

  await post(payload('firing'), 'the same alert, re-sent at repeat_interval');

  const dm = fired.slack.copies.find((c) => c.target === oncall)!;
  await slack.clickButton({ user: oncall, channel: dm.channel, ts: dm.ts, action_id: 'tl:alert.ack' });
  await until((a) => a.status === 'acknowledged');
  await slack.waitFor(async () =>
    JSON.stringify((await slack.message(root.channel, root.ts)).blocks).includes('Acknowledged by'),
  );
  ctx.log(`${oncall} clicks Acknowledge in their DM → escalation stopped`);
  await show(root, 'card');

  await post(payload('resolved'), 'resolved');
  await until((a) => a.status === 'resolved');
  await slack.waitFor(async () =>
    ((await slack.message(root.channel, root.ts)).replies ?? []).some((r) => r.text.includes('Resolved')),
  );
  await show(root, 'card');

  // A new startsAt: Alertmanager's next occurrence of the same fingerprint.
  const refiredAt = new Date().toISOString();
  await post(payload('firing', refiredAt), 'firing again (a flap)');
  await until((a) => a.occurrences === 2);
  await slack.waitFor(async () =>
    ((await slack.message(root.channel, root.ts)).replies ?? []).some((r) => r.text.includes('Firing again')),
  );
  await show(root, 'same thread');
  await post(payload('resolved', refiredAt), 'resolved again');

  const cmd = await slack.runSlashCommand({
    user: 'U0DAVE',
    channel: root.channel,
    command: '/threadline',
    text: 'oncall',
  });
  ctx.log(`/threadline oncall → ${(cmd.delivery.response as { text?: string } | undefined)?.text ?? ''}`);

  // The second resolve is applied asynchronously, like every notification: wait for it.
  const a = await until((x) => x.status === 'resolved' && x.occurrences === 2);
  ctx.log(`GET /v1/alerts/am:${fp} → ${a.status}, fired ${a.occurrences} times`);
  for (const t of a.timeline) ctx.log(`  ${t.at}  ${t.kind.padEnd(13)} ${t.summary}`);
}
