import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { expect } from 'vitest';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import { approvalWorkflowId } from '../../../../src/flows/approvals/contract.js';
import {
  postsFor,
  scheduledActivities,
  tally,
  waitForIdle,
  type EmulatorPost,
  type ScheduledActivity,
} from '../../../helpers/effects.js';
import type { TestStack } from '../../../helpers/stack.js';

export interface ApprovalView {
  approvalId: string;
  status: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
  votes: { user: string; decision: string; level: number }[];
  escalated: boolean;
  reminded: boolean;
  currentLevel: number;
  callback: { status: string; attempts?: number; error?: string } | null;
  slack: { channel: string; ts: string; purpose: string; user?: string }[];
  timeline: { kind: string; summary: string; actor?: string }[];
}

/** What a request did, read once its workflow was idle or closed. */
export interface SettledApproval {
  /** Every post in Slack for the request (channel post, DMs, thread replies, notices), with its idempotency key. */
  posts: EmulatorPost[];
  /** Activities the latest run scheduled (retries are attempts of one, not new ones). */
  activities: ScheduledActivity[];
}

/**
 * Shared helpers for the approval e2e files: real HTTP in, the Slack emulator acting as people.
 * `temporal` (needed by `settled`) reads workflow state and history: idle detection, scheduled activities.
 */
export function approvalsHarness(stack: TestStack, temporal?: Client) {
  const reader = () => {
    if (!temporal) throw new Error('approvalsHarness: pass a Temporal client to count effects after idle');
    return temporal;
  };
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const api = stack.urls.api;
  const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };

  /** Polls until `predicate` is truthy; the timeout is generous because several suites share two cores. */
  const waitFor = <T>(predicate: () => T | Promise<T>, timeoutMs = 30_000) => slack.waitFor(predicate, timeoutMs);

  const create = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    fetch(`${api}/v1/approvals`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  async function created(body: Record<string, unknown>): Promise<string> {
    const res = await create(body);
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { approvalId: string }).approvalId;
  }

  async function get(id: string): Promise<ApprovalView> {
    const res = await fetch(`${api}/v1/approvals/${id}`, { headers: auth });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as ApprovalView;
  }

  /** Waits until the request's messages are posted (channel and/or DMs); returns them. */
  async function posted(id: string, n: number, timeoutMs = 30_000) {
    return slack.waitFor(async () => {
      const v = await get(id);
      return v.slack.length >= n ? v.slack : undefined;
    }, timeoutMs);
  }

  async function waitStatus(id: string, status: string, timeoutMs = 30_000) {
    return slack.waitFor(async () => {
      const v = await get(id);
      return v.status === status ? v : undefined;
    }, timeoutMs);
  }

  const click = (user: string, m: { channel: string; ts: string }, verb: 'approve' | 'reject') =>
    slack.clickButton({ user, channel: m.channel, ts: m.ts, action_id: `tl:approval.${verb}` });

  /** The ephemeral answer sent through a click's response_url. */
  async function responseTo(clickResponseUrl: string | undefined, timeoutMs = 30_000): Promise<string> {
    const post = await slack.waitFor(async () => {
      const posts = await slack.responseUrlPosts();
      return posts.find((p) => clickResponseUrl?.endsWith(`/${p.id}`));
    }, timeoutMs);
    return JSON.stringify(post.body);
  }

  /** Waits until the posted message shows the outcome (buttons gone). */
  async function locked(m: { channel: string; ts: string }, timeoutMs = 30_000): Promise<InspectedMessage> {
    return slack.waitFor(async () => {
      const msg = await slack.message(m.channel, m.ts);
      return seen(msg).includes('approval_outcome') ? msg : undefined;
    }, timeoutMs);
  }

  /**
   * Waits until the request's workflow is idle (waiting only on a timer: the SLA, or the decided
   * grace) or closed, then counts what it did. Call it once every click and API call of the
   * scenario has been answered: the counts are then final until the next timer fires.
   */
  async function settled(id: string, timeoutMs = 30_000): Promise<SettledApproval> {
    const workflowId = approvalWorkflowId(id);
    await waitForIdle(reader(), workflowId, timeoutMs);
    return {
      posts: await postsFor(slack, workflowId),
      activities: await scheduledActivities(reader(), workflowId),
    };
  }

  /** Exactly once: no idempotency key posted twice in Slack, and no post decided twice by the workflow. */
  function expectEachPostOnce(s: SettledApproval) {
    expect(tally(s.posts.map((p) => p.key)).repeated, 'keys posted more than once in Slack').toEqual([]);
    const scheduled = s.activities
      .filter((a) => a.type === 'postSlackMessage')
      .map((a) => String(a.input.idempotencyKey));
    expect(tally(scheduled).repeated, 'posts scheduled more than once by the workflow').toEqual([]);
  }

  /** Posts of one kind: the key's step after `approval:<id>:` (e.g. `decision`, `notify:requester`, `post:dm`). */
  const postsOfStep = (s: SettledApproval, step: string) =>
    s.posts.filter((p) => p.key.split(':').slice(2).join(':').startsWith(step));

  /** How many `chat.update`s the workflow scheduled for one message (each copy is locked once). */
  const updatesOf = (s: SettledApproval, m: { channel: string; ts: string }) =>
    s.activities.filter((a) => a.type === 'updateSlackMessage' && a.input.channel === m.channel && a.input.ts === m.ts)
      .length;

  const body = (over: Record<string, unknown> = {}) => ({
    title: `Deploy ${Math.random().toString(36).slice(2, 8)} to production`,
    description: 'Release 1.2.3, change ticket OPS-42',
    fields: { Service: 'checkout', Risk: 'low' },
    requester: 'alice@example.com',
    approvers: ['U0BOB', 'carol@example.com'],
    channel: 'C0APPROVAL',
    ...over,
  });

  return {
    slack,
    waitFor,
    api,
    auth,
    create,
    created,
    get,
    posted,
    waitStatus,
    click,
    responseTo,
    locked,
    settled,
    expectEachPostOnce,
    postsOfStep,
    updatesOf,
    body,
  };
}

type ScriptedResponse = { status: number; headers?: Record<string, string> };

/** One scripted answer of a callback receiver: a status (with headers, or computed when hit), or a dropped connection. */
export type ReceiverAnswer = number | ScriptedResponse | (() => ScriptedResponse) | 'drop';

export interface ReceiverHit {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A decision-callback receiver run by the test: answers the scripted answers in order, then 200. */
export async function callbackReceiver(answers: ReceiverAnswer[]) {
  const hits: ReceiverHit[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hits.push({ at: Date.now(), path: req.url ?? '', headers: req.headers, body });
      const a = answers.shift() ?? 200;
      if (a === 'drop') {
        req.socket.destroy();
        return;
      }
      const { status, headers } = typeof a === 'number' ? { status: a } : typeof a === 'function' ? a() : a;
      res.writeHead(status, headers);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    url: `${base}/hooks/approval?token=abc`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What a person sees of a message (text plus blocks). */
export const seen = (m: InspectedMessage) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`;
export const hasButtons = (m: InspectedMessage) => seen(m).includes('tl:approval.approve');
