import { randomUUID } from 'node:crypto';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import type { DemoContext } from '../demo.js';
import { demoApi } from './lib/api.js';

interface Member {
  memberId: string;
  state: string;
  requestedAt: string | null;
}

/**
 * A workspace whose members follow enrollment (the seed's case): three students are enrolled,
 * one of them already has an account, one has a pending invite, one has none; Erin (a member)
 * is no longer enrolled. A sync pages through users.list, moves each person's state and asks the
 * admins (the sandbox's admins channel is #ops-alerts) to invite the new student and
 * deactivate Erin. The new student then accepts an invite; the next sync marks them ACCEPTED.
 */
export async function run(ctx: DemoContext): Promise<void> {
  const slack = new SlackEmulatorAdmin(ctx.slackUrl);
  const call = demoApi(ctx);
  const tag = randomUUID().slice(0, 4);
  const people = [
    { id: `student_a_${tag}`, email: `student.a.${tag}@school.example`, status: 'enrolled' },
    { id: `student_b_${tag}`, email: `student.b.${tag}@school.example`, status: 'enrolled' },
    { id: `student_c_${tag}`, email: `student.c.${tag}@school.example`, status: 'enrolled' },
    { id: `leaver_${tag}`, email: `leaver.${tag}@school.example`, status: 'unenrolled' },
  ];
  await slack.addUsers({
    users: [
      { email: people[0]!.email, real_name: 'Student A' },
      { email: people[3]!.email, real_name: 'Former student' },
    ],
  });
  await slack.invite({ email: people[1]!.email, channel_ids: ['C0PAYMENTS'] });
  for (const p of people) await call('PUT', `/v1/members/${p.id}`, { email: p.email, name: p.id, status: p.status });
  ctx.log(
    `API: directory of ${people.length}: A (has an account), B (invite pending), C (none), a former student (unenrolled, still a member)`,
  );

  const member = (id: string) => call<Member>('GET', `/v1/members/${id}`);
  await call('POST', '/v1/members/sync', {});
  // Done once the admins were asked about C (invite) and the former student (deactivate).
  const states = await slack.waitFor(async () => {
    const all = await Promise.all(people.map((p) => member(p.id)));
    return all[2]!.requestedAt && all[3]!.requestedAt ? all : undefined;
  }, 60_000);
  ctx.log(`Temporal: sync → ${states.map((m) => `${m.memberId} ${m.state}`).join(', ')}`);
  const requests = (await slack.channelMessages('C0OPSALERT')).filter((m) =>
    String((m.metadata?.event_payload as { subject?: string } | undefined)?.subject ?? '').startsWith('membersync:'),
  );
  for (const m of requests.filter((r) => JSON.stringify(r.blocks).includes(tag)))
    ctx.log(`Slack #ops-alerts (admins): ${m.text}`);

  // A sync requested while one is still running is skipped (overlap SKIP): wait for it to close.
  await slack.waitFor(
    async () => ((await call<{ running: number }>('GET', '/v1/members/sync')).running === 0 ? true : undefined),
    60_000,
  );
  await slack.invite({ email: people[2]!.email, channel_ids: ['C0PAYMENTS'] });
  await slack.acceptInvite(people[2]!.email, 'Student C');
  ctx.log('Slack: an admin invites C, who accepts');
  // A Schedule names the run it starts `<id>-<start time in whole seconds>`, and the sync keys its
  // work by that id: a trigger within the second of the previous run is that run again (its stored
  // result, C still PENDING; temporalio/temporal#3614). Seen when the demo ran fast: trigger a second later.
  await nextSecond();
  await call('POST', '/v1/members/sync', {});
  const c = await slack.waitFor(async () => {
    const m = await member(people[2]!.id);
    return m.state === 'ACCEPTED' ? m : undefined;
  }, 60_000);
  ctx.log(`Temporal: next sync → ${c.memberId} is ${c.state}`);
}

/** Waits until the wall clock is in the next whole second (and a little past it). */
function nextSecond(): Promise<void> {
  return new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));
}
