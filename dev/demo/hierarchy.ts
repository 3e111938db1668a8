import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';
import { demoApi } from './lib/api.js';

const BOT = 'U0TLBOT';

/**
 * A call summary that reaches an agent and their whole reporting chain (the seed's case): Alice
 * heads support, Bob leads Carol's team, Dave leads another. A summary of Carol's call lands in
 * her private channel with Carol, Bob and Alice in it. Carol moves to Dave's team; the next
 * summary finds Bob removed and Dave invited before it is posted. Sending the same summary again
 * posts nothing.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const call = demoApi(ctx);
  const run = randomUUID().slice(0, 4);
  const id = (name: string) => `${name}_${run}`;
  const people = [
    { person: id('alice'), name: 'Alice', slackUser: 'U0ALICE', manager: null },
    { person: id('bob'), name: 'Bob', slackUser: 'U0BOB', manager: id('alice') },
    { person: id('dave'), name: 'Dave', slackUser: 'U0DAVE', manager: id('alice') },
    { person: id('carol'), name: 'Carol', slackUser: 'U0CAROL', manager: id('bob') },
  ];
  for (const p of people)
    await call('PUT', `/v1/org/people/${p.person}`, { name: p.name, slackUser: p.slackUser, manager: p.manager });
  ctx.log(`API: org chart ${id('alice')} ← {${id('bob')} ← ${id('carol')}, ${id('dave')}}`);

  const members = async (channel: string) => {
    const ch = (await slack.channels()).find((c) => c.id === channel) as
      { name: string; members: string[]; is_private: boolean } | undefined;
    return { name: ch?.name, private: ch?.is_private, members: (ch?.members ?? []).filter((u) => u !== BOT).sort() };
  };
  const deliver = async (notificationId: string, text: string) => {
    await call('POST', '/v1/notifications', {
      notificationId,
      audience: { person: id('carol'), includeReportingChain: true },
      title: 'Call summary',
      text,
      fields: [
        { label: 'Customer', value: 'ACME Corp' },
        { label: 'Outcome', value: 'Refund approved' },
      ],
    });
    return slack.waitFor(async () => {
      const n = await call<{ status: string; channel: string | null }>('GET', `/v1/notifications/${notificationId}`);
      return n.status === 'delivered' ? n : undefined;
    }, 60_000);
  };

  const first = await deliver(id('call_1'), 'Customer asked about a double charge; refund approved.');
  const ch1 = await members(first.channel!);
  ctx.log(`Slack: #${ch1.name} (private: ${ch1.private}) members ${ch1.members.join(', ')} ← first summary posted`);

  await call('PUT', `/v1/org/people/${id('carol')}`, { name: 'Carol', slackUser: 'U0CAROL', manager: id('dave') });
  ctx.log(`API: Carol now reports to Dave`);
  await deliver(id('call_2'), 'Follow-up call: refund received, customer satisfied.');
  const ch2 = await members(first.channel!);
  ctx.log(`Slack: #${ch2.name} members ${ch2.members.join(', ')} ← reconciled before the second summary`);

  await call('POST', '/v1/notifications', {
    notificationId: id('call_2'),
    audience: { person: id('carol'), includeReportingChain: true },
    title: 'Call summary',
    text: 'Follow-up call: refund received, customer satisfied.',
    fields: [
      { label: 'Customer', value: 'ACME Corp' },
      { label: 'Outcome', value: 'Refund approved' },
    ],
  });
  const posts = (await slack.channelMessages(first.channel!)).filter((m) => m.metadata);
  ctx.log(`API: the second summary sent again → still ${posts.length} summaries in #${ch2.name}`);
}
