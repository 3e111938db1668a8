import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  slackThreadEventSignal,
  slackThreadEventsSignal,
  type SlackThreadEvent,
} from '../../../../src/platform/slack/contract.js';
import {
  ticketEventSignal,
  ticketStateQuery,
  type TicketEvent,
  type TicketThreadState,
  type TicketWorkflowInput,
} from '../../../../src/flows/tickets/contract.js';
import type { CommentDraft, DoneTransition } from '../../../../src/flows/tickets/tracker.js';
import type { ticketWorkflow } from '../../../../src/flows/tickets/workflow.js';
import { sharedBundle } from '../../../helpers/bundle.js';
import { memoryPlatformActivities, startMemoryWorker } from '../../../helpers/memory-worker.js';

const FIXTURE = fileURLToPath(new URL('../../../fixtures/histories/ticket-thread-v1.json', import.meta.url));
/** The recording with `ticket-lean-bookkeeping` (snapshot, audit rows and person lookups as local activities). */
const NEXT_FIXTURE = fileURLToPath(new URL('../../../fixtures/histories/ticket-thread-v2.json', import.meta.url));
/** A thread whose replies came as one batch signal (the relay's `slackThreadEvents`). */
const BATCH_FIXTURE = fileURLToPath(
  new URL('../../../fixtures/histories/ticket-thread-batch-v1.json', import.meta.url),
);
const SELF = '712020:threadline-bot';
const IN = {
  state: 'in' as const,
  ruleId: 'ops',
  channel: 'C0TICKETS',
  fields: ['status', 'assignee', 'priority', 'summary', 'issuetype', 'comments'] as const,
};

/**
 * The ticket workflow against the real Temporal dev server with in-memory activities: ordering
 * and merging inside the window, the write ledger on its own (the actor filter blinded), a forced
 * continue-as-new that carries the thread ts and the ledger, and a replay of the recorded history.
 */
describe('ticketWorkflow (in-memory activities, real Temporal) + replay', () => {
  const saved: TicketThreadState[] = [];
  const comments: { key: string; draft: CommentDraft; id: string; updated: string; kind: 'add' | 'update' }[] = [];
  let selfId = SELF;
  let commentSeq = 0;
  let mem: Awaited<ReturnType<typeof startMemoryWorker>>;
  let client: Client;
  let taskQueue: string;

  const platform = memoryPlatformActivities();
  const { posts, audits } = platform;
  const activities = {
    ...platform.activities,
    saveTicketThread: async (s: TicketThreadState) => {
      saved.push(structuredClone(s));
    },
    loadTicketThread: async () => undefined,
    handTicketToThread: async () => undefined,
    resolveTicketSlackPerson: async ({ user }: { user: string }) => ({ user, name: `Person ${user}`, teamId: 'T1' }),
    resolveTicketTrackerSelf: async () => ({ accountId: selfId }),
    addTicketComment: async (i: { key: string; draft: CommentDraft }) => {
      const c = {
        key: i.key,
        draft: i.draft,
        id: `c${++commentSeq}`,
        updated: `2024-01-01T00:00:0${commentSeq}.000+0000`,
        kind: 'add' as const,
      };
      comments.push(c);
      return { id: c.id, updated: c.updated };
    },
    updateTicketComment: async (i: { key: string; commentId: string; draft: CommentDraft }) => {
      const c = {
        key: i.key,
        draft: i.draft,
        id: i.commentId,
        updated: `2024-01-02T00:00:0${++commentSeq}.000+0000`,
        kind: 'update' as const,
      };
      comments.push(c);
      return { id: c.id, updated: c.updated };
    },
    deleteTicketComment: async () => ({ alreadyGone: false }),
    transitionTicketToDone: async (): Promise<DoneTransition & { afterRetry: boolean }> => ({
      outcome: 'transitioned',
      from: { id: '10000', name: 'To Do', category: 'new' },
      to: { id: '10002', name: 'Done', category: 'done' },
      transitionId: '31',
      afterRetry: false,
    }),
    fileTrackerTicket: async () => {
      throw new Error('not used');
    },
  };

  beforeAll(async () => {
    mem = await startMemoryWorker(activities, 'ticket-wf');
    client = mem.client;
    taskQueue = mem.taskQueue;
  });
  afterAll(() => mem?.stop());
  beforeEach(() => {
    selfId = SELF;
  });

  let keySeq = Math.floor(Math.random() * 100_000);
  const newKey = () => `WF-${++keySeq}`;
  const input = (key: string, over: Partial<TicketWorkflowInput> = {}): TicketWorkflowInput => ({
    key,
    mergeWindowMs: 200,
    slackDeleteMode: 'delete',
    opsChannel: 'C0OPS',
    ...over,
  });
  const start = (key: string, over: Partial<TicketWorkflowInput> = {}) =>
    client.workflow.start<typeof ticketWorkflow>('ticketWorkflow', {
      workflowId: `ticket:${key}`,
      taskQueue,
      args: [input(key, over)],
    });

  // Event times on the real clock: the ledger compares them with workflow time (clock-skew window).
  let t0 = Date.now();
  const ev = (key: string, over: Partial<TicketEvent> & Pick<TicketEvent, 'eventId' | 'kind'>): TicketEvent => ({
    tracker: 'jira',
    occurredAtMs: (t0 += 1000),
    actor: { id: '712020:dave', name: 'Dave Developer' },
    issue: {
      key,
      id: '1',
      project: 'WF',
      summary: 'Broken',
      type: 'Bug',
      priority: 'High',
      status: { id: '10000', name: 'To Do', category: 'new' },
      assignee: null,
    },
    complete: true,
    changes: [],
    sourceType: 'test',
    scope: { ...IN, fields: [...IN.fields] },
    ...over,
  });
  const status = (from: string, to: string, toId: string) => ({ field: 'status' as const, from, to, toId });
  const slackEv = (
    root: string,
    over: Partial<SlackThreadEvent> & Pick<SlackThreadEvent, 'kind' | 'ts'>,
  ): SlackThreadEvent => ({
    eventId: `Ev${randomUUID().slice(0, 8)}`,
    channel: 'C0TICKETS',
    threadTs: root,
    user: 'U0ALICE',
    eventTime: 1,
    ...over,
  });
  /** Waits until a saved snapshot (written at the end of each step) has seen every id. */
  const processed = async (key: string, ids: string[], timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = saved.filter((x) => x.key === key).at(-1);
      if (s && ids.every((id) => s.seenEventIds.includes(id))) return s;
      if (Date.now() > deadline) throw new Error(`not processed: ${ids.join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const threadPosts = (key: string) => posts.filter((p) => p.subject === `ticket:${key}` && p.purpose !== 'root');

  it('orders a window’s events by their own time, merges one person’s burst, collapses duplicates; the root shows the newest', async () => {
    const key = newKey();
    const created = ev(key, { eventId: 'created', kind: 'issue_created' });
    const a = ev(key, {
      eventId: 'cl-1',
      kind: 'issue_updated',
      changes: [status('To Do', 'In Progress', '10001')],
      changeId: '1',
    });
    const b = ev(key, {
      eventId: 'cl-2',
      kind: 'issue_updated',
      changes: [{ field: 'priority', from: 'High', to: 'Highest' }],
      changeId: '2',
    });
    const c = ev(key, {
      eventId: 'jira:comment:9:created',
      kind: 'comment_created',
      actor: { id: '712020:bob', name: 'Bob Banker' },
      comment: { id: '9', author: { id: '712020:bob', name: 'Bob Banker' }, body: 'on it' },
    });
    const d = ev(key, {
      eventId: 'cl-3',
      kind: 'issue_updated',
      actor: { id: '712020:carol', name: 'Carol Controller' },
      changes: [{ field: 'assignee', from: null, to: 'Carol Controller' }],
      issue: {
        ...a.issue,
        status: { id: '10001', name: 'In Progress', category: 'indeterminate' },
        priority: 'Highest',
        assignee: { id: '712020:carol', name: 'Carol Controller' },
      },
    });
    // Queued before the first batch, shuffled and duplicated: one batch, deterministic.
    const queue = [d, c, b, created, a, c, d].map((event) => ({ event, arrivedAtMs: 0 }));
    const handle = await start(key, { pending: { tracker: queue, slack: [], filed: [] } });
    await processed(key, ['cl-3', 'jira:comment:9:created']);
    const texts = threadPosts(key).map((p) => p.text);
    expect(texts).toEqual([
      expect.stringMatching(
        /\*Dave Developer\* updated WF-\d+:\n• status: To Do → \*In Progress\*\n• priority: High → \*Highest\*/,
      ),
      expect.stringContaining('*Bob Banker* commented in Jira'),
      expect.stringContaining('*Carol Controller* changed assignee: Unassigned → *Carol Controller*'),
    ]);
    const state = await handle.query(ticketStateQuery);
    expect(state.issue).toMatchObject({
      priority: 'Highest',
      status: { name: 'In Progress' },
      assignee: { name: 'Carol Controller' },
    });
    expect(state.mirrored).toEqual([{ commentId: '9', ts: expect.any(String) }]);
    await handle.terminate('test done');
  });

  it('the write ledger alone (actor filter blinded) drops the echoes of our comment, our edit and our transition', async () => {
    selfId = 'someone-else'; // layer 1 cannot recognise our account
    const key = newKey();
    const handle = await start(key);
    await handle.signal(ticketEventSignal, ev(key, { eventId: 'created', kind: 'issue_created' }));
    const s0 = await processed(key, ['created']);
    const root = s0.root!.ts;
    const reply = slackEv(root, { kind: 'message', ts: '1700000000.900001', text: 'refund done' });
    await handle.signal(slackThreadEventSignal, reply);
    await processed(key, [reply.eventId]);
    const [written] = comments.filter((c) => c.key === key);
    expect(written).toMatchObject({ id: expect.any(String), kind: 'add' });
    const edit = slackEv(root, { kind: 'message_changed', ts: reply.ts, text: 'refund done (EU)' });
    await handle.signal(slackThreadEventSignal, edit);
    await processed(key, [edit.eventId]);
    const edited = comments.filter((c) => c.key === key && c.kind === 'update').at(-1)!;
    expect(edited.id).toBe(written!.id);
    const done = slackEv(root, { kind: 'reaction_added', ts: root, reaction: 'white_check_mark' });
    await handle.signal(slackThreadEventSignal, done);
    await processed(key, [done.eventId]);
    expect(threadPosts(key).map((p) => p.purpose)).toEqual(['done_note']);

    // Their echoes, with the actor shown as some account we do not know is ours, each twice.
    const bot = { id: '712020:unknown-bot', name: 'Threadline Bot' };
    const echoes = [
      ev(key, {
        eventId: `jira:comment:${written!.id}:created`,
        kind: 'comment_created',
        actor: bot,
        comment: { id: written!.id, body: 'refund done', updated: written!.updated },
      }),
      ev(key, {
        eventId: `jira:comment:${written!.id}:updated:${edited.updated}`,
        kind: 'comment_updated',
        actor: bot,
        comment: { id: written!.id, body: 'refund done (EU)', updated: edited.updated },
      }),
      ev(key, {
        eventId: 'cl-done',
        kind: 'issue_updated',
        actor: bot,
        changes: [status('To Do', 'Done', '10002')],
        changeId: '77',
      }),
    ];
    for (const e of [...echoes, ...echoes]) await handle.signal(ticketEventSignal, e);
    // A person's change after them: the observable point.
    const person = ev(key, {
      eventId: 'cl-person',
      kind: 'issue_updated',
      changes: [{ field: 'priority', from: 'High', to: 'Low' }],
    });
    await handle.signal(ticketEventSignal, person);
    await processed(key, ['cl-person']);
    expect(threadPosts(key).map((p) => p.purpose)).toEqual(['done_note', 'tracker_change']);
    const dropped = audits.filter((a) => a.subject === `ticket:${key}` && a.action === 'ticket.echo_dropped');
    expect(dropped.map((a) => (a.details as { layer: string }).layer)).toEqual(['ledger', 'ledger', 'ledger']);
    await handle.terminate('test done');
  });

  it('a forced continue-as-new carries the thread ts and the write ledger: echoes of earlier writes stay dropped, edits still reach the same comment', async () => {
    const key = newKey();
    const handle = await start(key, { continueAsNewAfterEvents: 40 });
    const firstRunId = handle.firstExecutionRunId;
    await handle.signal(ticketEventSignal, ev(key, { eventId: 'created', kind: 'issue_created' }));
    const root = (await processed(key, ['created'])).root!.ts;
    const reply = slackEv(root, { kind: 'message', ts: '1700000001.000001', text: 'before the hand-over' });
    await handle.signal(slackThreadEventSignal, reply);
    await processed(key, [reply.eventId]);
    const written = comments.filter((c) => c.key === key)[0]!;
    // Chatter until the run hands over.
    let n = 0;
    while ((await client.workflow.getHandle(`ticket:${key}`, firstRunId).describe()).status.name === 'RUNNING') {
      const e = ev(key, {
        eventId: `cl-chat-${++n}`,
        kind: 'issue_updated',
        changes: [{ field: 'summary', from: `s${n - 1}`, to: `s${n}` }],
      });
      await handle.signal(ticketEventSignal, e);
      await processed(key, [e.eventId]);
      if (n > 40) throw new Error('never continued as new');
    }
    expect((await client.workflow.getHandle(`ticket:${key}`, firstRunId).describe()).status.name).toBe(
      'CONTINUED_AS_NEW',
    );
    const current = client.workflow.getHandle(`ticket:${key}`);
    const after = await current.query(ticketStateQuery);
    expect(after.root?.ts).toBe(root);
    expect(after.ledger.comments.map((c) => c.id)).toContain(written.id);

    const echo = ev(key, {
      eventId: `jira:comment:${written.id}:created`,
      kind: 'comment_created',
      actor: { id: SELF, name: 'Bot' },
      comment: { id: written.id, body: 'x' },
    });
    const lateEchoOtherRoute = ev(key, { ...echo, actor: undefined, sourceType: 'jira:issue_updated/issue_commented' });
    await current.signal(ticketEventSignal, echo);
    await current.signal(ticketEventSignal, lateEchoOtherRoute);
    const edit = slackEv(root, { kind: 'message_changed', ts: reply.ts, text: 'edited after the hand-over' });
    await current.signal(slackThreadEventSignal, edit);
    const marker = ev(key, {
      eventId: 'cl-marker',
      kind: 'issue_updated',
      changes: [{ field: 'priority', from: 'High', to: 'Low' }],
    });
    await current.signal(ticketEventSignal, marker);
    await processed(key, ['cl-marker', edit.eventId]);
    const update = comments.filter((c) => c.key === key && c.kind === 'update').at(-1)!;
    expect(update.id).toBe(written.id);
    expect(update.draft.text).toBe('edited after the hand-over');
    const replies = threadPosts(key);
    expect(replies.every((p) => p.threadTs === root)).toBe(true);
    expect(replies.some((p) => p.purpose === 'tracker_comment')).toBe(false);
    expect(replies.at(-1)!.text).toContain('priority: High → *Low*');
    await current.terminate('test done');
  });

  it('a batch of thread events (the relay sends a backlog as one slackThreadEvents) mirrors each, in order, and replays', async () => {
    const key = newKey();
    const handle = await start(key);
    await handle.signal(ticketEventSignal, ev(key, { eventId: 'created', kind: 'issue_created' }));
    const root = (await processed(key, ['created'])).root!.ts;
    const first = slackEv(root, { kind: 'message', ts: '1700000003.000001', text: 'first of the batch' });
    const second = slackEv(root, {
      kind: 'message',
      ts: '1700000003.000002',
      text: 'second of the batch',
      user: 'U0BOB',
    });
    await handle.signal(slackThreadEventsSignal, [first, second]);
    await processed(key, [first.eventId, second.eventId]);
    const mine = comments.filter((c) => c.key === key);
    expect(mine.map((c) => c.kind)).toEqual(['add', 'add']);
    expect(JSON.stringify(mine[0]!.draft)).toContain('first of the batch');
    expect(JSON.stringify(mine[1]!.draft)).toContain('second of the batch');
    // The same events again, one by one: already seen, nothing more is written.
    await handle.signal(slackThreadEventSignal, first);
    await handle.signal(ticketEventSignal, ev(key, { eventId: 'deleted', kind: 'issue_deleted' }));
    expect(await handle.result()).toEqual({ key, sync: 'deleted' });
    expect(comments.filter((c) => c.key === key)).toHaveLength(2);
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, history, `ticket:${key}`);
    if ((process.env.THREADLINE_RECORD_HISTORIES ?? '').split(',').includes('ticket-thread-batch')) {
      await writeFile(BATCH_FIXTURE, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`, {
        flag: 'wx',
      });
    }
  });

  it('replays the recorded history of a thread (committed fixture and a fresh run)', async () => {
    const key = newKey();
    const handle = await start(key);
    await handle.signal(ticketEventSignal, ev(key, { eventId: 'created', kind: 'issue_created' }));
    const root = (await processed(key, ['created'])).root!.ts;
    await handle.signal(
      ticketEventSignal,
      ev(key, { eventId: 'cl-r1', kind: 'issue_updated', changes: [status('To Do', 'In Progress', '10001')] }),
    );
    const reply = slackEv(root, { kind: 'message', ts: '1700000002.000001', text: 'replay me' });
    await handle.signal(slackThreadEventSignal, reply);
    const done = slackEv(root, { kind: 'reaction_added', ts: root, reaction: 'white_check_mark' });
    await handle.signal(slackThreadEventSignal, done);
    await handle.signal(ticketEventSignal, ev(key, { eventId: 'deleted', kind: 'issue_deleted' }));
    expect(await handle.result()).toEqual({ key, sync: 'deleted' });
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, history, `ticket:${key}`);
    // `THREADLINE_RECORD_HISTORIES=ticket-thread` records this run as the next version (committed
    // fixtures are never overwritten; test/platform/integration/replay.test.ts replays them all).
    if ((process.env.THREADLINE_RECORD_HISTORIES ?? '').split(',').includes('ticket-thread')) {
      await writeFile(NEXT_FIXTURE, `${JSON.stringify(JSON.parse(historyToJSON(history)), null, 2)}\n`, { flag: 'wx' });
    }
    const committed: unknown = JSON.parse(await readFile(FIXTURE, 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: await sharedBundle() }, committed, 'ticket-thread-v1');
  });
});
