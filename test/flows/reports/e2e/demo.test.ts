import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../../emulators/slack/admin-client.js';
import { runDemo } from '../../../helpers/demo.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';

/** `npm run demo reports`, as a person runs it; what it prints is checked in Slack and the API. */
describe('npm run demo reports hierarchy membership', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it('digests a week of feedback per course channel, once per window', async () => {
    const { code, out } = await runDemo(stack, ['reports', 'hierarchy', 'membership']);
    expect(code, out).toBe(0);
    const reportId = /report (rpt_\w+)/.exec(out)?.[1];
    expect(reportId, out).toBeDefined();
    const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
    const digestsIn = async (channel: string) =>
      (await slack.channelMessages(channel)).filter(
        (m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === `report:${reportId}`,
      );
    const a = await digestsIn('C0APPROVAL');
    const b = await digestsIn('C0PAYMENTS');
    expect(JSON.stringify(a[0]!.replies)).toContain('Rated 2 or lower');
    const runs = (await (
      await fetch(`${stack.urls.api}/v1/reports/${reportId}/runs`, {
        headers: { authorization: `Bearer ${stack.config.apiKeys[0]!}` },
      })
    ).json()) as { items: { status: string; claims: number }[] };
    // The second trigger either hit the same window (claimed twice, posted once) or the next minute's.
    const posted = runs.items.filter((r) => r.status === 'posted');
    expect(runs.items.reduce((n, r) => n + r.claims, 0)).toBe(2);
    expect(a).toHaveLength(posted.length);
    expect(b).toHaveLength(posted.length);
    expect(out).toMatch(/Slack #approvals \(course-a\):\n {2}┌ .*Weekly session feedback/);

    // Hierarchy: the agent's private channel followed her move from Bob's team to Dave's.
    const team = /Slack: #(team-carol_\w+) \(private: true\) members U0ALICE, U0BOB, U0CAROL/.exec(out)?.[1];
    expect(team, out).toBeDefined();
    const channel = (await slack.channels()).find((c) => c.name === team) as { id: string; members: string[] };
    expect(channel.members.filter((u) => u !== 'U0TLBOT').sort()).toEqual(['U0ALICE', 'U0CAROL', 'U0DAVE']);
    expect((await slack.channelMessages(channel.id)).filter((m) => m.metadata)).toHaveLength(2);
    expect(out).toContain('still 2 summaries');

    // Membership: the sync decided every state, asked the admins, and followed the accepted invite.
    expect(out).toMatch(
      /sync → student_a_\w+ ACCEPTED, student_b_\w+ INVITED, student_c_\w+ PENDING, leaver_\w+ ACCEPTED/,
    );
    expect(out).toMatch(/\(admins\): Please invite these enrolled people.*: 1/);
    expect(out).toMatch(/\(admins\): Please deactivate these accounts.*: 1/);
    expect(out).toMatch(/next sync → student_c_\w+ is ACCEPTED/);
  }, 120_000);
});
