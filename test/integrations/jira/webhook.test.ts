import { describe, expect, it } from 'vitest';
import { jiraWebhookAdapter } from '../../../src/integrations/jira/adapter.js';
import { parseJiraWebhook } from '../../../src/integrations/jira/webhook.js';

/** Bodies modelled on Jira Cloud's v2 webhook payloads (emails included, as Jira sends them). */
const userOf = (id: string, name: string) => ({
  self: `https://acme.atlassian.net/rest/api/2/user?accountId=${id}`,
  accountId: id,
  emailAddress: `${name.split(' ')[0]!.toLowerCase()}@acme.example`,
  displayName: name,
  active: true,
  accountType: 'atlassian',
});
const DAVE = userOf('712020:dave', 'Dave Developer');
const BOB = userOf('712020:bob', 'Bob Banker');
const issue = (over: Record<string, unknown> = {}) => ({
  id: '10001',
  self: 'https://acme.atlassian.net/rest/api/2/issue/10001',
  key: 'OPS-7',
  fields: {
    issuetype: { id: '10002', name: 'Bug', subtask: false },
    project: { id: '10000', key: 'OPS', name: 'Operations' },
    priority: { id: '2', name: 'High' },
    labels: ['payments'],
    components: [{ id: '10000', name: 'Payments' }],
    assignee: DAVE,
    status: { id: '10001', name: 'In Progress', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
    summary: 'Refund stuck',
    description: 'Customer charged twice',
    updated: '2024-05-01T10:00:00.000+0000',
    ...over,
  },
});
const comment = (over: Record<string, unknown> = {}) => ({
  self: 'https://acme.atlassian.net/rest/api/2/issue/10001/comment/10100',
  id: '10100',
  author: BOB,
  body: 'Looking into it',
  updateAuthor: BOB,
  created: '2024-05-01T10:05:00.000+0000',
  updated: '2024-05-01T10:05:00.000+0000',
  jsdPublic: true,
  ...over,
});
const trimmed = () => {
  const i = issue();
  const { summary, issuetype, project, assignee, priority, status } = i.fields;
  return { ...i, fields: { summary, issuetype, project, assignee, priority, status } };
};

/** The `jira:issue_updated` twin Jira sends with every comment change. */
const twinOf = (typeName: string, user: ReturnType<typeof userOf>, timestamp: number) => ({
  timestamp,
  webhookEvent: 'jira:issue_updated',
  issue_event_type_name: typeName,
  user,
  issue: issue(),
  comment: comment(),
});

const parsed = (body: unknown) => {
  const r = parseJiraWebhook(body);
  if (r.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(r)}`);
  return r.event;
};

describe('Jira webhook bodies → TicketEvent', () => {
  it('a transition: changelog items in words, the actor, the full snapshot with a browse URL; unmirrored fields dropped; no emails', () => {
    const e = parsed({
      timestamp: 1714557600000,
      webhookEvent: 'jira:issue_updated',
      issue_event_type_name: 'issue_generic',
      user: DAVE,
      issue: issue(),
      changelog: {
        id: '10500',
        items: [
          { field: 'resolution', fieldtype: 'jira', from: null, fromString: null, to: '10000', toString: 'Done' },
          {
            field: 'status',
            fieldtype: 'jira',
            fieldId: 'status',
            from: '10000',
            fromString: 'To Do',
            to: '10001',
            toString: 'In Progress',
          },
          {
            field: 'Component',
            fieldtype: 'jira',
            fieldId: 'components',
            from: null,
            fromString: null,
            to: '10000',
            toString: 'Payments',
          },
        ],
      },
    });
    expect(e).toMatchObject({
      eventId: 'jira:changelog:10500',
      kind: 'issue_updated',
      occurredAtMs: 1714557600000,
      actor: { id: '712020:dave', name: 'Dave Developer' },
      changeId: '10500',
      complete: true,
      sourceType: 'jira:issue_updated/issue_generic',
      issue: {
        key: 'OPS-7',
        id: '10001',
        project: 'OPS',
        url: 'https://acme.atlassian.net/browse/OPS-7',
        summary: 'Refund stuck',
        type: 'Bug',
        priority: 'High',
        status: { id: '10001', name: 'In Progress', category: 'indeterminate' },
        assignee: { id: '712020:dave', name: 'Dave Developer' },
        labels: ['payments'],
        components: ['Payments'],
      },
      changes: [
        { field: 'status', from: 'To Do', to: 'In Progress', fromId: '10000', toId: '10001' },
        { field: 'components', from: null, to: 'Payments' },
      ],
    });
    expect(JSON.stringify(e)).not.toMatch(/@acme\.example|Customer charged twice/);
  });

  it('a comment arrives twice, as comment_created and as issue_updated/issue_commented: one identity', () => {
    const a = parsed({ timestamp: 1, webhookEvent: 'comment_created', comment: comment(), issue: trimmed() });
    const b = parsed(twinOf('issue_commented', BOB, 2));
    expect(a.eventId).toBe('jira:comment:10100:created');
    expect(b.eventId).toBe(a.eventId);
    expect([a.kind, b.kind]).toEqual(['comment_created', 'comment_created']);
    expect(a.actor).toEqual({ id: '712020:bob', name: 'Bob Banker' }); // comment events have no top-level user
    expect(a.comment).toMatchObject({ id: '10100', body: 'Looking into it', author: { name: 'Bob Banker' } });
    expect([a.complete, b.complete]).toEqual([false, true]); // the trimmed issue has no labels/components
  });

  it('edits are told apart by their updated stamp; a deletion names its deleter only through the twin', () => {
    const edit = (updated: string) =>
      parsed({
        timestamp: 3,
        webhookEvent: 'comment_updated',
        comment: comment({ updated, body: 'Fixed' }),
        issue: trimmed(),
      });
    expect(edit('2024-05-01T10:06:00.000+0000').eventId).not.toBe(edit('2024-05-01T10:07:00.000+0000').eventId);
    const del = parsed({ timestamp: 4, webhookEvent: 'comment_deleted', comment: comment(), issue: trimmed() });
    const twin = parsed(twinOf('issue_comment_deleted', DAVE, 4));
    expect(del.eventId).toBe('jira:comment:10100:deleted');
    expect(twin.eventId).toBe(del.eventId);
    expect(del.actor).toBeUndefined();
    expect(twin.actor?.id).toBe('712020:dave');
  });

  it('creation and deletion of an issue; an update with neither changelog nor comment only refreshes the root', () => {
    expect(
      parsed({
        timestamp: 5,
        webhookEvent: 'jira:issue_created',
        issue_event_type_name: 'issue_created',
        user: DAVE,
        issue: issue(),
      }),
    ).toMatchObject({
      eventId: 'jira:issue:10001:created',
      kind: 'issue_created',
    });
    expect(
      parsed({
        timestamp: 6,
        webhookEvent: 'jira:issue_deleted',
        issue_event_type_name: 'issue_deleted',
        user: DAVE,
        issue: issue(),
      }),
    ).toMatchObject({
      eventId: 'jira:issue:10001:deleted',
      kind: 'issue_deleted',
    });
    expect(
      parsed({
        timestamp: 7,
        webhookEvent: 'jira:issue_updated',
        issue_event_type_name: 'issue_updated',
        user: DAVE,
        issue: issue(),
      }),
    ).toMatchObject({
      eventId: 'jira:issue:10001:updated:7',
      changes: [],
    });
  });

  it('long comments are trimmed; unassigned and priority-less issues stay explicit nulls', () => {
    const e = parsed({
      timestamp: 8,
      webhookEvent: 'comment_created',
      comment: comment({ body: 'x'.repeat(5000) }),
      issue: { ...trimmed(), fields: { ...trimmed().fields, assignee: null, priority: null } },
    });
    expect(e.comment!.body.length).toBe(3001);
    expect(e.issue.assignee).toBeNull();
    expect(e.issue.priority).toBeNull();
  });

  it('unknown events are ignored; malformed bodies name the field', () => {
    expect(parseJiraWebhook({ timestamp: 1, webhookEvent: 'jira:version_released', version: {} })).toEqual({
      kind: 'ignored',
      sourceType: 'jira:version_released',
    });
    const invalid = (body: unknown) => {
      const r = parseJiraWebhook(body);
      return r.kind === 'invalid' ? r.message : `not invalid: ${r.kind}`;
    };
    expect(invalid('[]')).toMatch(/\(body\)/);
    expect(invalid({ webhookEvent: 'jira:issue_created' })).toMatch(/^timestamp:/);
    expect(invalid({ timestamp: -1, webhookEvent: 'x' })).toMatch(/timestamp/);
    expect(invalid({ timestamp: 1, webhookEvent: 'jira:issue_created' })).toMatch(/^issue:/);
    expect(invalid({ timestamp: 1, webhookEvent: 'jira:issue_created', issue: { ...issue(), key: 'ops-7' } })).toMatch(
      /issue\.key: an issue key/,
    );
    expect(
      invalid({ timestamp: 1, webhookEvent: 'jira:issue_created', issue: { ...issue(), fields: { summary: 'x' } } }),
    ).toMatch(/issue\.fields\.project/);
    expect(invalid({ timestamp: 1, webhookEvent: 'comment_created', issue: trimmed(), comment: { id: '1' } })).toMatch(
      /comment\.body/,
    );
    expect(
      invalid({
        timestamp: 1,
        webhookEvent: 'jira:issue_updated',
        issue_event_type_name: 'issue_commented',
        issue: issue(),
      }),
    ).toBe('comment: required for issue_commented');
  });

  it('the adapter names deliveries by X-Atlassian-Webhook-Identifier and refuses odd ones', () => {
    expect(jiraWebhookAdapter.deliveryId({ 'x-atlassian-webhook-identifier': '7c1a-44' })).toBe('7c1a-44');
    expect(jiraWebhookAdapter.deliveryId({})).toBeUndefined();
    expect(jiraWebhookAdapter.deliveryId({ 'x-atlassian-webhook-identifier': 'a b' })).toBeUndefined();
    expect(jiraWebhookAdapter.deliveryId({ 'x-atlassian-webhook-identifier': 'x'.repeat(129) })).toBeUndefined();
  });
});
