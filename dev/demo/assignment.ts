import { randomUUID } from 'node:crypto';
import { JiraEmulatorAdmin } from '../../emulators/jira/admin-client.js';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';

interface Entry {
  action: string;
  ruleId?: string;
  ruleVersion?: string;
  actor: { kind: string; id?: string };
  after?: Record<string, unknown> | null;
  details?: Record<string, unknown>;
}
const SLACK: Record<string, string> = { bob: 'U0BOB', carol: 'U0CAROL', dave: 'U0DAVE' };

/**
 * Assignment routing against the running sandbox: Alice files an unassigned OPS bug; the rules
 * route it to the least-loaded of Bob, Carol and Dave, who gets a DM; they pass it on with a
 * reason (the modal); the next person accepts; Jira shows them as assignee. The audit trail
 * (GET /v1/audit) is printed at the end: it explains each step.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const jira = new JiraEmulatorAdmin(ctx.jiraUrl);
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const trail = async (subject: string): Promise<Entry[]> => {
    const res = await fetch(
      `${ctx.apiUrl}/v1/audit?${new URLSearchParams({ subject, action: 'assignment.*' }).toString()}`,
      {
        headers: auth,
      },
    );
    return res.ok ? ((await res.json()) as { entries: Entry[] }).entries : [];
  };
  const routed = (key: string, n: number) =>
    slack.waitFor(
      async () => (await trail(`ticket:${key}`)).filter((e) => e.action === 'assignment.routed')[n - 1],
      60_000,
    );

  const created = await jira.createIssue({
    as: 'alice@example.com',
    project: 'OPS',
    summary: `Payout batch stuck ${randomUUID().slice(0, 4)}`,
    issuetype: 'Bug',
    priority: 'High',
  });
  const key = created.key;
  ctx.log(`Jira: alice files ${key} (Bug, High, nobody assigned)`);

  const first = await routed(key, 1);
  const who = String(first.after?.person);
  const dm = first.details?.dmRef as { channel: string; ts: string };
  ctx.log(`Threadline: rule ${first.ruleId} (${first.ruleVersion}) routes it to ${who}; DM ${dm.channel} ${dm.ts}`);
  for (const c of first.details?.candidates as { person: string; reasons: string[] }[])
    ctx.log(`  ${c.person}: ${c.reasons.join('; ')}`);

  await slack.clickButton({ user: SLACK[who]!, channel: dm.channel, ts: dm.ts, action_id: 'tl:assignment.reassign' });
  await slack.waitFor(
    async () => (await slack.views()).find((v) => JSON.stringify(v).includes(`assignment:${key}|1`)),
    60_000,
  );
  await slack.submitView({ user: SLACK[who]!, values: { reason: { reason: 'on call for payments this week' } } });
  ctx.log(`Slack: ${who} clicks Reassign: "on call for payments this week"`);

  const second = await routed(key, 2);
  const next = String(second.after?.person);
  const dm2 = second.details?.dmRef as { channel: string; ts: string };
  ctx.log(`Threadline: the next candidate is ${next} (${who} excluded)`);
  await slack.clickButton({ user: SLACK[next]!, channel: dm2.channel, ts: dm2.ts, action_id: 'tl:assignment.accept' });
  const assignee = await jira.waitFor(async () => {
    const a = (await jira.issue(key)).fields.assignee as { displayName?: string } | null;
    return a?.displayName;
  }, 60_000);
  ctx.log(`Slack: ${next} clicks Accept → Jira assignee: ${assignee}`);

  ctx.log(`GET /v1/audit?subject=ticket:${key}:`);
  for (const e of await trail(`ticket:${key}`))
    ctx.log(
      `  ${e.action} by ${e.actor.kind}${e.actor.id ? ` ${e.actor.id}` : ''}${e.after ? ` → ${JSON.stringify(e.after)}` : ''}`,
    );
}
