import { randomInt } from 'node:crypto';
import { inject } from 'vitest';
import { JiraEmulatorAdmin, type AdminDelivery } from '../../../../emulators/jira/admin-client.js';
import { defaultJiraSeed, type JiraSeed } from '../../../../emulators/jira/seed.js';
import { SlackEmulatorAdmin, type InspectedMessage } from '../../../../emulators/slack/admin-client.js';
import { computeJiraSignature } from '../../../../src/integrations/jira/signature.js';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo, slackMessagesRepo, type AuditRow } from '../../../../src/platform/db/repositories.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';

export const CHANNEL = 'C0TICKETS';
export const BOT_ACCOUNT = '712020:threadline-bot';

/** The sandbox's two projects under keys of this test file's own (`OPSQXZA`, `SUPQXZA`). */
export interface Projects {
  ops: string;
  sup: string;
}

/**
 * The real stack for a ticket test file, with Jira project keys unique to the file: issue keys
 * restart at 1 in every emulator, while the workflow ids (`ticket:<KEY>`) and the database rows
 * they name are shared by every stack of the test run. `rules` (sync rules as JSON) default to
 * the sandbox's: both projects to #tickets.
 */
export async function startTicketsStack(
  env: Record<string, string> = {},
  rules: (p: Projects) => Record<string, unknown>[] = (p) => [
    { id: 'ops', project: p.ops, channel: CHANNEL },
    { id: 'sup', project: p.sup, channel: CHANNEL },
  ],
): Promise<{ stack: TestStack; projects: Projects }> {
  const tag = Array.from({ length: 4 }, () => String.fromCharCode(65 + randomInt(26))).join('');
  const projects = { ops: `OPS${tag}`, sup: `SUP${tag}` };
  const rename: Record<string, string> = { OPS: projects.ops, SUP: projects.sup };
  const jiraSeed: JiraSeed = {
    ...defaultJiraSeed,
    projects: defaultJiraSeed.projects.map((p) => ({ ...p, key: rename[p.key] ?? p.key })),
  };
  // Assignment routing (src/flows/assignment) is off here: these files count the threads' own replies and writes.
  const stack = await startTestStack(
    { TICKET_SYNC: JSON.stringify({ rules: rules(projects) }), THREADLINE_FLAGS: 'assignment=off', ...env },
    { jiraSeed },
  );
  return { stack, projects };
}

/** What a person sees of a message (text plus blocks). */
export const seen = (m: InspectedMessage) => `${m.text} ${JSON.stringify(m.blocks ?? [])}`;

export interface TicketView {
  key: string;
  sync: string;
  source: string;
  issue: { summary: string | null; status: { name: string; category: string } | null; priority: string | null };
  slack: { channel: string; ts: string } | null;
  ledger: { comments: number; transitions: number; posted: number };
}

/**
 * The ticket flow through its real entry points: the Jira emulator acting as people (its
 * webhooks reach POST /webhooks/jira), the Slack emulator acting as people (its events reach the
 * ingress), and what both emulators, the API and Postgres hold afterwards.
 */
export function ticketsHarness(stack: TestStack, projects: Projects) {
  const slack = new SlackEmulatorAdmin(stack.urls.slackEmulator!);
  const jira = new JiraEmulatorAdmin(stack.urls.jiraEmulator!);
  const pool: Pool = createPool(inject('databaseUrl'));
  const api = stack.urls.api;
  const auth = { authorization: `Bearer ${stack.config.apiKeys[0]!}` };
  const secret = stack.config.jira!.webhookSecret!;
  const subject = (key: string) => `ticket:${key}`;

  async function state(key: string): Promise<TicketView | undefined> {
    const res = await fetch(`${api}/v1/tickets/${key}`, { headers: auth });
    return res.status === 200 ? ((await res.json()) as TicketView) : undefined;
  }

  /** The thread root in Slack, once posted. */
  async function root(key: string, timeoutMs = 20_000): Promise<InspectedMessage> {
    const row = await slack.waitFor(async () => {
      const rows = await slackMessagesRepo(pool).bySubject(subject(key));
      return rows.find((r) => r.purpose === 'root');
    }, timeoutMs);
    return slack.message(row.channel, row.ts);
  }

  const replies = async (key: string) => {
    const r = await root(key);
    return slack.threadReplies(r.channel, r.ts);
  };

  /** Waits until the thread has a reply matching `pred`; returns all replies. */
  async function replyMatching(key: string, pred: (m: InspectedMessage) => boolean, timeoutMs = 20_000) {
    return slack.waitFor(async () => {
      const all = await replies(key);
      return all.some(pred) ? all : undefined;
    }, timeoutMs);
  }

  /** Every webhook the Jira emulator is still trying to deliver has been answered. */
  const deliveriesDone = () => jira.waitFor(async () => (await jira.deliveries()).every((d) => !d.pending), 20_000, 50);

  let markers = 0;
  /**
   * An observable "everything before this is processed" point: all Jira deliveries answered,
   * then a person's marker comment, then its reply in the thread. Signals are applied in order,
   * so once the marker's reply exists every earlier event has been handled (or dropped).
   */
  async function settle(key: string): Promise<string> {
    await deliveriesDone();
    const text = `marker ${++markers} ${Date.now()}`;
    await jira.addComment(key, 'erin@example.com', text);
    await replyMatching(key, (m) => m.text.includes(text));
    return text;
  }
  const isMarker = (m: InspectedMessage) => /marker \d+ \d+/.test(m.text);

  const audit = (key: string): Promise<AuditRow[]> => auditLogRepo(pool).bySubject(subject(key));

  /**
   * Waits until the relay has handed off (or ignored: no thread to tell) what the webhook recorded
   * for a delivery identifier (the route answers once recorded); returns the row's status.
   */
  const relayed = (identifier: string): Promise<string> =>
    slack.waitFor(async () => {
      const { rows } = await pool.query<{ status: string }>(
        `SELECT status FROM inbound_events WHERE source = 'jira' AND starts_with(event_id, $1 || ':')`,
        [identifier],
      );
      return rows.length > 0 && rows.every((r) => r.status !== 'queued') ? rows[0]!.status : undefined;
    }, 60_000);

  /** Posts a Jira delivery again, byte for byte, with its original identifier and a valid signature (to `to`: another API instance). */
  const redeliverRaw = (d: Pick<AdminDelivery, 'body' | 'identifier'>, retry?: number, to = api) =>
    fetch(`${to}/webhooks/jira`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'x-atlassian-webhook-identifier': d.identifier,
        'x-hub-signature': computeJiraSignature(secret, d.body),
        ...(retry ? { 'x-atlassian-webhook-retry': String(retry) } : {}),
      },
      body: d.body,
    });

  const createIssue = async (over: Partial<Parameters<JiraEmulatorAdmin['createIssue']>[0]> = {}) => {
    const i = await jira.createIssue({
      as: 'alice@example.com',
      project: projects.ops,
      summary: `Refund stuck ${Math.random().toString(36).slice(2, 8)}`,
      issuetype: 'Bug',
      priority: 'High',
      assignee: 'dave@example.com',
      ...over,
    });
    return i.key;
  };

  /**
   * Runs `act` with the Jira emulator's webhooks going to a capture server instead of our
   * endpoint; returns the first `count` deliveries (exact bytes and identifiers) once they exist.
   */
  async function captured(count: number, act: () => Promise<void>): Promise<Captured[]> {
    const cap = await captureWebhooks();
    try {
      await jira.config({ webhookUrls: [cap.url] });
      await act();
      return await jira.waitFor(() => (cap.got.length >= count ? [...cap.got] : undefined), 20_000);
    } finally {
      await jira.config({ webhookUrls: [`${api}/webhooks/jira`] });
      await cap.close();
    }
  }

  /** A person's reply in the issue's thread, and the Jira comment it became. */
  async function slackReply(key: string, user: string, text: string) {
    const r = await root(key);
    const posted = await slack.postMessage({ user, channel: r.channel, thread_ts: r.ts, text });
    // Our comment for it carries the reply's ts in its origin property.
    const comment = await jira.waitFor(async () => {
      const c = (await jira.issue(key)).comments;
      return c.find((x) => x.properties.some((p) => (p.value as { ts?: string } | null)?.ts === posted.ts));
    }, 20_000);
    return { root: r, posted, comment };
  }

  /** The issues with this summary, once there is one. */
  const issuesWithSummary = (summary: string) =>
    jira.waitFor(async () => {
      const all = (await jira.issues()).filter((i) => i.summary === summary);
      return all.length ? all : undefined;
    }, 20_000);

  return {
    projects,
    captured,
    slackReply,
    issuesWithSummary,
    slack,
    jira,
    pool,
    api,
    auth,
    secret,
    state,
    root,
    replies,
    replyMatching,
    settle,
    isMarker,
    audit,
    deliveriesDone,
    redeliverRaw,
    relayed,
    createIssue,
    close: () => pool.end(),
  };
}

export interface Captured {
  identifier: string;
  body: string;
  event: string;
}

/**
 * A stand-in for our endpoint that keeps the Jira emulator's deliveries (exact bytes and
 * identifier) and answers 200, so a test can replay them to the real endpoint duplicated and in
 * any order. Point the emulator at `url` with `jira.config({ webhookUrls: [url] })`.
 */
export async function captureWebhooks() {
  const { createServer } = await import('node:http');
  const got: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed = JSON.parse(body) as { webhookEvent: string; issue_event_type_name?: string };
      got.push({
        identifier: String(req.headers['x-atlassian-webhook-identifier']),
        body,
        event: `${parsed.webhookEvent}/${parsed.issue_event_type_name ?? ''}`,
      });
      res.statusCode = 200;
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/webhooks/jira`,
    got,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A deterministic shuffle (the seed is printed in failures through the order it yields). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  let x = seed;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
