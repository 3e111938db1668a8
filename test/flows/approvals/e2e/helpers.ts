import { expect } from 'vitest';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
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

/** Shared helpers for the approval e2e files: real HTTP in, the Slack emulator acting as people. */
export function approvalsHarness(stack: TestStack) {
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const api = stack.urls.api;
  const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };

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
  async function posted(id: string, n: number, timeoutMs = 15_000) {
    return slack.waitFor(async () => {
      const v = await get(id);
      return v.slack.length >= n ? v.slack : undefined;
    }, timeoutMs);
  }

  async function waitStatus(id: string, status: string, timeoutMs = 15_000) {
    return slack.waitFor(async () => {
      const v = await get(id);
      return v.status === status ? v : undefined;
    }, timeoutMs);
  }

  const click = (user: string, m: { channel: string; ts: string }, verb: 'approve' | 'reject') =>
    slack.clickButton({ user, channel: m.channel, ts: m.ts, action_id: `tl:approval.${verb}` });

  /** The ephemeral answer sent through a click's response_url. */
  async function responseTo(clickResponseUrl: string | undefined, timeoutMs = 10_000): Promise<string> {
    const post = await slack.waitFor(async () => {
      const posts = await slack.responseUrlPosts();
      return posts.find((p) => clickResponseUrl?.endsWith(`/${p.id}`));
    }, timeoutMs);
    return JSON.stringify(post.body);
  }

  /** Waits until the posted message shows the outcome (buttons gone). */
  async function locked(m: { channel: string; ts: string }, timeoutMs = 15_000): Promise<InspectedMessage> {
    return slack.waitFor(async () => {
      const msg = await slack.message(m.channel, m.ts);
      return seen(msg).includes('approval_outcome') ? msg : undefined;
    }, timeoutMs);
  }

  const body = (over: Record<string, unknown> = {}) => ({
    title: `Deploy ${Math.random().toString(36).slice(2, 8)} to production`,
    description: 'Release 1.2.3, change ticket OPS-42',
    fields: { Service: 'checkout', Risk: 'low' },
    requester: 'alice@example.com',
    approvers: ['U0BOB', 'carol@example.com'],
    channel: 'C0APPROVAL',
    ...over,
  });

  return { slack, api, auth, create, created, get, posted, waitStatus, click, responseTo, locked, body };
}

/** What a person sees of a message (text plus blocks). */
export const seen = (m: InspectedMessage) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`;
export const hasButtons = (m: InspectedMessage) => seen(m).includes('tl:approval.approve');
