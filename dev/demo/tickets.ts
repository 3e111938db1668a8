import { randomUUID } from 'node:crypto';
import { JiraEmulatorAdmin } from '../../emulators/jira/admin-client.js';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';

interface Ticket {
  key: string;
  sync: string;
  issue: { summary: string | null; status: { name: string } | null; priority: string | null };
  slack: { channel: string; ts: string } | null;
}

type Adf = { type: string; text?: string; attrs?: Record<string, unknown>; content?: Adf[] };
const adfText = (n: Adf): string =>
  n.type === 'text'
    ? (n.text ?? '')
    : n.type === 'mention'
      ? typeof n.attrs?.text === 'string'
        ? n.attrs.text
        : ''
      : (n.content ?? []).map(adfText).join(n.type === 'doc' ? ' / ' : '');
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * Jira ⇄ Slack ticket threads against the running sandbox: Alice files a bug in the Jira
 * emulator; its thread appears in #tickets; Dave starts it in Jira (one reply); Bob answers in
 * Slack (one Jira comment, attributed to him); Carol reacts ✅ (one transition to Done, one
 * note). Both sides are printed at the end.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const jira = new JiraEmulatorAdmin(ctx.jiraUrl);
  const auth = { authorization: `Bearer ${ctx.apiKey}` };
  const order = randomUUID().slice(0, 4);
  const ticket = async (key: string): Promise<Ticket | undefined> => {
    const res = await fetch(`${ctx.apiUrl}/v1/tickets/${key}`, { headers: auth });
    return res.ok ? ((await res.json()) as Ticket) : undefined;
  };
  const thread = async (t: { channel: string; ts: string }) => slack.message(t.channel, t.ts);
  const reply = async (t: { channel: string; ts: string }, pred: (m: InspectedMessage) => boolean) =>
    slack.waitFor(async () => ((await thread(t)).replies ?? []).find(pred), 60_000);

  const created = await jira.createIssue({
    as: 'alice@example.com',
    project: 'OPS',
    summary: `Refund stuck for order ${order}`,
    description: 'Customer was charged twice.',
    issuetype: 'Bug',
    priority: 'High',
    assignee: 'dave@example.com',
  });
  const key = created.key;
  ctx.log(`Jira: alice files ${key} "Refund stuck for order ${order}" (Bug, High, assigned to Dave)`);
  const root = await slack.waitFor(async () => (await ticket(key))?.slack ?? undefined, 60_000);
  ctx.log(`Slack: ${key}'s thread starts in #tickets (${root.channel} ${root.ts}):`);
  ctx.log(`  ┌ ${oneLine((await thread(root)).text)}`);

  await jira.transitionIssue(key, 'dave@example.com', 'In Progress');
  const started = await reply(root, (m) => m.text.includes('In Progress'));
  ctx.log(`Jira: dave moves it to In Progress → Slack reply: ${oneLine(started.text)}`);

  const bobSays = 'Refund re-issued; the customer has been told.';
  await slack.postMessage({ user: 'U0BOB', channel: root.channel, thread_ts: root.ts, text: bobSays });
  const comment = await jira.waitFor(
    async () => (await jira.issue(key)).comments.find((c) => adfText(c.body as Adf).includes(bobSays)),
    60_000,
  );
  ctx.log(`Slack: bob replies "${bobSays}" → Jira comment ${comment.id}: ${oneLine(adfText(comment.body as Adf))}`);
  ctx.log(`  origin property: ${JSON.stringify(comment.properties.find((p) => p.key === 'threadline.origin')?.value)}`);

  await slack.addReaction({ user: 'U0CAROL', channel: root.channel, ts: root.ts, name: 'white_check_mark' });
  const done = await jira.waitFor(async () => {
    const i = await jira.issue(key);
    return i.fields.status.name === 'Done' ? i : undefined;
  }, 60_000);
  const note = await reply(root, (m) => m.text.includes('moved'));
  ctx.log(
    `Slack: carol reacts ✅ on the root → Jira ${key} is ${done.fields.status.name}; thread note: ${oneLine(note.text)}`,
  );

  // Let the echoes of our own writes come back (they must not add anything) before showing both sides.
  await jira.waitFor(async () => (await jira.deliveries()).every((d) => !d.pending), 60_000, 50);
  await slack.waitFor(async () => (await ticket(key))?.issue.status?.name === 'Done', 60_000);
  const final = await thread(root);
  ctx.log(`\nSlack #tickets, ${key}'s thread:`);
  ctx.log(`  ┌ ${oneLine(final.text)}`);
  for (const r of final.replies ?? []) ctx.log(`  │ ↳ ${r.bot ? '' : `<${r.user}> `}${oneLine(r.text)}`);
  ctx.log('  └');
  const issue = await jira.issue(key);
  ctx.log(`Jira ${key}: status ${issue.fields.status.name}, ${issue.comments.length} comment(s):`);
  for (const c of issue.comments) ctx.log(`  • ${c.author?.accountId ?? '?'}: ${oneLine(adfText(c.body as Adf))}`);
  const state = await ticket(key);
  ctx.log(
    `GET /v1/tickets/${key} → ${JSON.stringify({ sync: state?.sync, status: state?.issue.status?.name, slack: state?.slack })}`,
  );
}
