import { describe, expect, it } from 'vitest';
import type { TicketEvent, TicketThreadState } from '../../../../src/flows/tickets/contract.js';
import { SANDBOX_SYNC_CONFIG, syncConfigSchema } from '../../../../src/flows/tickets/config.js';
import { buildRootMessage } from '../../../../src/flows/tickets/domain/blocks.js';
import {
  buildCreateTicketModal,
  parseCreateSubmission,
  parseTicketCommand,
} from '../../../../src/flows/tickets/domain/create.js';
import { rulesForChannel, scopeOf } from '../../../../src/flows/tickets/domain/sync-rules.js';
import { quoteForSlack, slackToPlain } from '../../../../src/flows/tickets/domain/text.js';
import {
  applySnapshot,
  echoOf,
  initialTicketState,
  planTrackerBatch,
  recordCommentDeleted,
  recordCommentWrite,
  recordMirror,
  recordTransition,
} from '../../../../src/flows/tickets/domain/thread.js';

const config = syncConfigSchema.parse({
  rules: [
    { id: 'ops', project: 'OPS', channel: 'C0TICKETS' },
    { id: 'sup-bugs', project: 'SUP', channel: 'C0SUPPORT', issueTypes: ['Bug'], priorities: ['High', 'Highest'] },
    { id: 'pay', project: 'PAY', channel: 'C0PAY', labels: ['refund'], components: ['Payments'] },
    { id: 'off', project: 'OLD', channel: 'C0OLD', enabled: false },
  ],
});
const issue = (project: string, over: Record<string, unknown> = {}) => ({
  key: `${project}-1`,
  id: '1',
  project,
  type: 'Bug',
  priority: 'High',
  labels: ['refund'],
  components: ['Payments'],
  ...over,
});

describe('sync rules', () => {
  it('a project maps to its channel; filters narrow it; a switched-off or unknown project is out', () => {
    expect(scopeOf(config, issue('OPS'), true)).toMatchObject({ state: 'in', ruleId: 'ops', channel: 'C0TICKETS' });
    expect(scopeOf(config, issue('SUP'), true)).toMatchObject({ state: 'in', ruleId: 'sup-bugs' });
    expect(scopeOf(config, issue('SUP', { type: 'Task' }), true)).toEqual({
      state: 'out',
      reason: 'it no longer matches the sync rules for SUP',
    });
    expect(scopeOf(config, issue('SUP', { priority: 'Low' }), true).state).toBe('out');
    expect(scopeOf(config, issue('PAY', { labels: ['other', 'Refund'] }), true).state).toBe('in'); // any label, any case
    expect(scopeOf(config, issue('PAY', { components: [] }), true).state).toBe('out');
    expect(scopeOf(config, issue('OLD'), true)).toEqual({
      state: 'out',
      reason: 'sync for project OLD is switched off',
    });
    expect(scopeOf(config, issue('HR'), true)).toEqual({ state: 'out', reason: 'project HR is not synced' });
  });

  it('a comment event’s trimmed issue cannot decide a label or component filter: unknown, not out', () => {
    expect(scopeOf(config, issue('PAY', { labels: undefined, components: undefined }), false)).toEqual({
      state: 'unknown',
    });
    expect(scopeOf(config, issue('OPS', { labels: undefined }), false).state).toBe('in');
    expect(scopeOf(config, issue('SUP', { type: undefined }), false)).toEqual({ state: 'unknown' });
  });

  it('the sandbox maps OPS and SUP to #tickets; /ticket knows a channel’s rules', () => {
    expect(rulesForChannel(SANDBOX_SYNC_CONFIG, 'C0TICKETS').map((r) => r.project)).toEqual(['OPS', 'SUP']);
    expect(rulesForChannel(config, 'C0OLD')).toEqual([]);
  });
});

const KEY = 'OPS-1';
let clock = 1_000_000;
const ev = (over: Partial<TicketEvent> & Pick<TicketEvent, 'eventId' | 'kind'>): TicketEvent => ({
  tracker: 'jira',
  occurredAtMs: (clock += 1000),
  actor: { id: 'dave', name: 'Dave' },
  issue: { key: KEY, id: '1', project: 'OPS', summary: 'Broken', status: { name: 'To Do', category: 'new' } },
  complete: true,
  changes: [],
  sourceType: 'test',
  scope: { state: 'in', ruleId: 'ops', channel: 'C0TICKETS', fields: ['status', 'priority', 'comments'] },
  ...over,
});
const change = (field: 'status' | 'priority' | 'assignee', from: string | null, to: string | null, toId?: string) => ({
  field,
  from,
  to,
  ...(toId ? { toId } : {}),
});
const withRoot = (s: TicketThreadState): TicketThreadState => ({
  ...s,
  root: { channel: 'C0TICKETS', ts: '1.0' },
  selfAccountId: 'bot',
});
const replies = (r: ReturnType<typeof planTrackerBatch>) =>
  r.effects.flatMap((f) => (f.kind === 'reply' || f.kind === 'update_reply' ? [f.message.text] : []));

describe('planning a batch of tracker events', () => {
  it('orders by event time, collapses duplicates, merges one person’s burst, keeps comments apart', () => {
    const a = ev({ eventId: 'a', kind: 'issue_updated', changes: [change('status', 'To Do', 'In Progress')] });
    const b = ev({
      eventId: 'b',
      kind: 'issue_updated',
      changes: [change('status', 'In Progress', 'Done'), change('priority', 'Low', 'High')],
    });
    const c = ev({
      eventId: 'c',
      kind: 'comment_created',
      comment: { id: '9', body: 'hi <script>', author: { id: 'bob', name: 'Bob' } },
    });
    const d = ev({
      eventId: 'd',
      kind: 'issue_updated',
      actor: { id: 'carol', name: 'Carol' },
      changes: [change('priority', 'High', 'Low')],
    });
    const r = planTrackerBatch(withRoot(initialTicketState(KEY)), [d, c, b, a, c, a]);
    expect(replies(r)).toEqual([
      ':arrows_counterclockwise: *Dave* updated OPS-1:\n• status: To Do → *Done*\n• priority: Low → *High*',
      ':speech_balloon: *Bob* commented in Jira:\n>hi &lt;script&gt;',
      ':arrows_counterclockwise: *Carol* changed priority: High → *Low*',
    ]);
    expect(r.effects.filter((f) => f.kind === 'reply').map((f) => (f.kind === 'reply' ? f.step : ''))).toEqual([
      'change:a',
      'comment:9',
      'change:d',
    ]);
    expect(r.state.seenEventIds).toEqual(['a', 'b', 'c', 'd']);
    // Seen ids stay seen: the same batch again says nothing.
    expect(planTrackerBatch(r.state, [a, b, c, d]).effects).toEqual([]);
  });

  it('a late, older event gets a reply marked late and never overwrites newer root state', () => {
    const newer = ev({
      eventId: 'n',
      kind: 'issue_updated',
      changes: [change('status', 'In Progress', 'Done')],
      issue: { key: KEY, id: '1', project: 'OPS', status: { name: 'Done', category: 'done' } },
    });
    const older = {
      ...ev({
        eventId: 'o',
        kind: 'issue_updated',
        changes: [change('status', 'To Do', 'In Progress')],
        issue: { key: KEY, id: '1', project: 'OPS', status: { name: 'In Progress', category: 'indeterminate' } },
      }),
      occurredAtMs: newer.occurredAtMs - 5000,
    };
    const first = planTrackerBatch(withRoot(initialTicketState(KEY)), [newer]);
    const second = planTrackerBatch(first.state, [older]);
    expect(second.state.issue.status?.name).toBe('Done');
    const f = second.effects[0];
    expect(f?.kind === 'reply' && JSON.stringify(f.message.blocks)).toContain('shown late');
    expect(applySnapshot(first.state, older.issue, older.occurredAtMs)).toBe(first.state);
  });

  it('fields the rule does not mirror say nothing; comments can be switched off', () => {
    const s = withRoot(initialTicketState(KEY));
    const assignee = ev({ eventId: 'x', kind: 'issue_updated', changes: [change('assignee', null, 'Carol')] });
    expect(replies(planTrackerBatch(s, [assignee]))).toEqual([]);
    const quiet = ev({
      eventId: 'y',
      kind: 'comment_created',
      comment: { id: '3', body: 'x' },
      scope: { state: 'in', ruleId: 'ops', channel: 'C', fields: ['status'] },
    });
    expect(replies(planTrackerBatch(s, [quiet]))).toEqual([]);
  });

  it('echoes: our account (layer 1), or a write in the ledger (layer 2): comment, edit stamp, deletion, transition', () => {
    let s = withRoot(initialTicketState(KEY));
    s = recordCommentWrite(s, { id: '50', slackTs: '2.0', updated: 'T1' });
    s = recordTransition(s, { toStatusId: '10002', toStatus: 'Done', atMs: clock });
    const stranger = { id: 'not-known-as-ours', name: 'Bot' };
    expect(
      echoOf(
        s,
        ev({
          eventId: 'e1',
          kind: 'issue_updated',
          actor: { id: 'bot', name: 'Bot' },
          changes: [change('priority', 'a', 'b')],
        }),
      ),
    ).toBe('actor');
    expect(
      echoOf(s, ev({ eventId: 'e2', kind: 'comment_created', actor: stranger, comment: { id: '50', body: '' } })),
    ).toBe('ledger');
    expect(
      echoOf(
        s,
        ev({ eventId: 'e3', kind: 'comment_updated', actor: stranger, comment: { id: '50', body: '', updated: 'T1' } }),
      ),
    ).toBe('ledger');
    // A person editing our comment later is not an echo.
    expect(
      echoOf(
        s,
        ev({ eventId: 'e4', kind: 'comment_updated', actor: stranger, comment: { id: '50', body: '', updated: 'T9' } }),
      ),
    ).toBeUndefined();
    expect(
      echoOf(s, ev({ eventId: 'e5', kind: 'comment_deleted', actor: stranger, comment: { id: '50', body: '' } })),
    ).toBeUndefined();
    expect(
      echoOf(
        recordCommentDeleted(s, '50'),
        ev({ eventId: 'e6', kind: 'comment_deleted', actor: stranger, comment: { id: '50', body: '' } }),
      ),
    ).toBe('ledger');
    const done = ev({
      eventId: 'e7',
      kind: 'issue_updated',
      actor: stranger,
      changes: [change('status', 'To Do', 'Done', '10002')],
      changeId: '700',
    });
    expect(echoOf(s, done)).toBe('ledger');
    // The transition's echo is matched once: a later, different change to the same status is a person's.
    const after = planTrackerBatch(s, [done]);
    expect(after.effects.map((f) => f.kind)).toEqual(['audit']);
    const again = ev({
      eventId: 'e8',
      kind: 'issue_updated',
      actor: stranger,
      changes: [change('status', 'To Do', 'Done', '10002')],
      changeId: '701',
    });
    expect(echoOf(after.state, again)).toBeUndefined();
    // A change long before our transition cannot be its echo.
    expect(echoOf(s, { ...done, occurredAtMs: clock - 3_600_000 })).toBeUndefined();
  });

  it('an edited or deleted comment we mirrored updates that reply in place', () => {
    const s = recordMirror(withRoot(initialTicketState(KEY)), '9', '5.0');
    const r = planTrackerBatch(s, [
      ev({
        eventId: 'u',
        kind: 'comment_updated',
        comment: { id: '9', body: 'fixed typo', author: { id: 'bob', name: 'Bob' } },
      }),
      ev({ eventId: 'x', kind: 'comment_deleted', comment: { id: '9', body: '', author: { id: 'bob', name: 'Bob' } } }),
    ]);
    expect(r.effects.map((f) => (f.kind === 'update_reply' ? f.ts : f.kind))).toEqual(['5.0', '5.0']);
    expect(replies(r)[1]).toContain('deleted in Jira');
  });

  it('deletion and leaving the scope say so once and end the thread; nothing after them is said', () => {
    const s = withRoot(initialTicketState(KEY));
    const gone = planTrackerBatch(s, [
      ev({ eventId: 'del', kind: 'issue_deleted' }),
      ev({ eventId: 'after', kind: 'issue_updated', changes: [change('status', 'a', 'b')] }),
    ]);
    expect(gone.effects.map((f) => f.kind)).toEqual(['reply', 'end']);
    expect(gone.state.sync).toBe('deleted');
    const out = planTrackerBatch(s, [
      ev({
        eventId: 'o',
        kind: 'issue_updated',
        scope: { state: 'out', reason: 'moved' },
        changes: [change('status', 'a', 'b')],
      }),
    ]);
    expect(out.state).toMatchObject({ sync: 'out_of_scope', syncNote: 'moved' });
    expect(replies(out)).toEqual([':no_entry_sign: OPS-1 left the synced scope (moved). This thread no longer syncs.']);
    expect(buildRootMessage(out.state).blocks.at(-1)).toMatchObject({
      elements: [{ text: expect.stringContaining('Sync stopped: moved') }],
    });
  });
});

describe('text between the two systems', () => {
  it('Slack mrkdwn becomes plain text for Jira: mentions by name, links with their label, entities decoded', () => {
    const names = (u: string) => (u === 'U0BOB' ? 'Bob Banker' : undefined);
    expect(
      slackToPlain(
        '<@U0BOB> and <@U0X|xavier> see <https://x.io/a|the doc> &amp; <https://y.io> in <#C1|ops> <!here>',
        names,
      ),
    ).toBe('@Bob Banker and @xavier see the doc (https://x.io/a) & https://y.io in #ops @here');
  });
  it('Jira text becomes a quoted, escaped Slack reply', () => {
    expect(quoteForSlack('a < b\n[~accountid:712020:x] said & left')).toBe('>a &lt; b\n>@someone said &amp; left');
    expect(quoteForSlack('x'.repeat(3000)).length).toBeLessThan(2600);
  });
  it('the root escapes what people typed and stays within Block Kit limits', () => {
    const s: TicketThreadState = {
      ...initialTicketState(KEY),
      issue: { key: KEY, id: '1', project: 'OPS', summary: '<b>&</b>', url: 'https://a/browse/OPS-1', assignee: null },
    };
    const m = buildRootMessage(s);
    expect(JSON.stringify(m.blocks)).toContain('&lt;b&gt;&amp;&lt;/b&gt;');
    expect(JSON.stringify(m.blocks)).toContain('Unassigned');
    expect(m.blocks.length).toBeLessThanOrEqual(50);
  });
});

describe('/ticket', () => {
  const rules = syncConfigSchema.parse({
    rules: [
      { id: 'ops', project: 'OPS', channel: 'C0ONE' },
      { id: 'sup', project: 'SUP', channel: 'C0ONE', issueTypes: ['Bug'], priorities: ['High'] },
    ],
  }).rules;
  it('files in the channel’s first project, or the one named first; no text opens the form; unmapped says so', () => {
    expect(parseTicketCommand('Printer on fire', rules)).toMatchObject({
      kind: 'file',
      summary: 'Printer on fire',
      rule: { project: 'OPS' },
    });
    expect(parseTicketCommand('SUP printer on fire', rules)).toMatchObject({
      kind: 'file',
      summary: 'printer on fire',
      rule: { project: 'SUP' },
    });
    expect(parseTicketCommand('SUP', rules)).toMatchObject({ kind: 'file', summary: 'SUP', rule: { project: 'OPS' } });
    expect(parseTicketCommand('  ', rules)).toEqual({ kind: 'modal' });
    expect(parseTicketCommand('x', [])).toEqual({ kind: 'unmapped' });
    expect(parseTicketCommand('x'.repeat(256), rules)).toMatchObject({
      kind: 'invalid',
      reply: expect.stringContaining('255'),
    });
  });
  it('the form offers the channel’s projects, types and priorities; a submission is checked against the chosen rule', () => {
    const view = buildCreateTicketModal('ticket:new-abc', 'C0ONE', rules);
    expect(view).toMatchObject({
      type: 'modal',
      callback_id: 'tl:ticket.create',
      private_metadata: 'ticket:new-abc|C0ONE',
    });
    expect(JSON.stringify(view)).toContain('"block_id":"project"');
    const f = (v: Record<string, string>) => Object.fromEntries(Object.entries(v).map(([k, x]) => [`${k}.${k}`, x]));
    expect(parseCreateSubmission(f({ summary: ' Broken ', project: 'OPS', type: 'Task' }), rules)).toEqual({
      ok: true,
      rule: rules[0],
      summary: 'Broken',
      issueType: 'Task',
    });
    expect(parseCreateSubmission(f({ summary: '', project: 'SUP', type: 'Task', priority: 'Low' }), rules)).toEqual({
      ok: false,
      errors: {
        summary: 'Say what the ticket is about.',
        type: 'SUP takes Bug here.',
        priority: 'Tickets synced here are High.',
      },
    });
    expect(parseCreateSubmission(f({ summary: 'x' }), [])).toMatchObject({ ok: false });
  });
});
