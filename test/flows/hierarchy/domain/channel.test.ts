import { describe, expect, it } from 'vitest';
import type { OrgNotification } from '../../../../src/flows/hierarchy/contract.js';
import {
  alternativeName,
  channelName,
  membershipDiff,
  notificationMessages,
  problemKey,
} from '../../../../src/flows/hierarchy/domain/channel.js';
import { validateBlocks } from '../../../../emulators/slack/blocks.js';

const n = (over: Partial<OrgNotification> = {}): OrgNotification => ({
  notificationId: 'call_1',
  personId: 'agent_17',
  includeReportingChain: true,
  text: 'Customer called about a refund.',
  requestedBy: 'key_x',
  receivedAt: '2026-12-01T10:00:00.000Z',
  ...over,
});

describe('person channels (domain)', () => {
  it('names a channel from the pattern, valid for Slack (lowercase, hyphens, at most 80)', () => {
    expect(channelName('team-{person}', 'Agent_17')).toBe('team-agent_17');
    expect(channelName('calls {person} (EU)', 'A.B C')).toBe('calls-a-b-c-eu');
    expect(channelName('{person}', '---')).toBe('person');
    expect(channelName('team-{person}', 'x'.repeat(100))).toHaveLength(80);
    expect(alternativeName('x'.repeat(80), 2)).toMatch(/^x{78}-2$/);
  });

  it('invites the missing and removes the departed, never the bot itself', () => {
    expect(membershipDiff(['U1', 'U2', 'UBOT'], ['U2', 'U3', 'UBOT'], 'UBOT')).toEqual({
      invite: ['U1'],
      remove: ['U3'],
    });
    expect(membershipDiff([], ['UBOT'], 'UBOT')).toEqual({ invite: [], remove: [] });
    expect(problemKey({ user: 'U1', op: 'invite', error: 'user_not_found' })).toBe('U1:invite:user_not_found');
  });

  it('renders a notification as valid Block Kit: header, sections of at most 3,000 characters, ten fields a section', () => {
    const long = Array.from({ length: 130 }, (_, i) => `Line ${i} <b>&</b> ${'x'.repeat(280)}`).join('\n');
    const fields = Array.from({ length: 23 }, (_, i) => ({ label: `F${i}`, value: `v${i}` }));
    const msgs = notificationMessages(n({ title: 'Call summary', text: long, fields }));
    expect(msgs).toHaveLength(1);
    const blocks = msgs[0]!.blocks as { type: string; text?: { text: string }; fields?: unknown[] }[];
    expect(validateBlocks(blocks, 'message')).toEqual([]);
    expect(blocks[0]).toMatchObject({ type: 'header' });
    const texts = blocks.flatMap((b) => (b.text ? [b.text.text] : []));
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(3000);
    // mrkdwn control characters are escaped: a summary cannot mention @channel or fake a link.
    expect(texts.join('')).toContain('&lt;b&gt;&amp;&lt;/b&gt;');
    expect(blocks.flatMap((b) => (b.fields ? [b.fields.length] : []))).toEqual([10, 10, 3]);
    expect(msgs[0]!.text.length).toBeLessThanOrEqual(4000);
  });

  it('past 50 blocks the rest continues in further messages, numbered', () => {
    const fields = Array.from({ length: 600 }, (_, i) => ({ label: `F${i}`, value: `v${i}` }));
    const msgs = notificationMessages(n({ fields }));
    expect(msgs.length).toBe(2);
    for (const m of msgs) {
      expect(m.blocks.length).toBeLessThanOrEqual(50);
      expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    }
    expect(msgs.map((m) => m.text.slice(-5))).toEqual(['(1/2)', '(2/2)']);
  });
});
