import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import type { Pool } from 'pg';
import { z } from 'zod';
import type { Config } from '../platform/config/index.js';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { SEARCH_ATTRIBUTES } from '../platform/temporal/workflow/search-attributes.js';

/** The workflows' search attributes, by name (checked against the list they upsert; the API imports no workflow code). */
const keyword = (name: keyof typeof SEARCH_ATTRIBUTES) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD);
const SA_SUBJECT = keyword('ThreadlineSubject');
const SA_KIND = keyword('ThreadlineKind');
const SA_STATUS = keyword('ThreadlineStatus');

/** How many lifecycles one page lists (newest first). */
export const PAGE_SIZE = 50;

/**
 * The console's filters, from the query string. Values end up in a Temporal visibility query, so
 * they are held to the characters subjects, kinds and statuses use (no quotes, no operators).
 */
export const lifecycleFilter = z.object({
  kind: z
    .string()
    .regex(/^[a-z_]{0,32}$/, 'a kind like payment, approval or ticket')
    .optional()
    .transform((v) => v || undefined),
  status: z
    .string()
    .regex(/^[a-z_]{0,40}$/, 'a status like pending or captured')
    .optional()
    .transform((v) => v || undefined),
  q: z
    .string()
    .trim()
    .regex(/^[\w:.-]{0,120}$/, 'the start of a subject, e.g. payment:order_123 or ticket:OPS-7')
    .optional()
    .transform((v) => v || undefined),
});
export type LifecycleFilter = z.infer<typeof lifecycleFilter>;

/** One row of the console's list. Ids and states only: nothing from the lifecycle's payloads. */
export interface LifecycleRow {
  subject: string;
  kind: string;
  status: string;
  /** Temporal's execution status name: RUNNING, COMPLETED, FAILED, TERMINATED… */
  execution: string;
  startedAt: Date;
  closedAt: Date | undefined;
  /** The lifecycle's Slack thread: a link into the sandbox view, or the real Slack permalink. */
  slackThread: string | undefined;
  /** The workflow in the Temporal UI, when its address is known (THREADLINE_CODEC_CORS_ORIGINS). */
  temporalUi: string | undefined;
}

const quote = (v: string) => `'${v}'`;

/** The visibility query for this app's lifecycles (its own task queue) matching the filter. */
export function visibilityQuery(taskQueue: string, f: LifecycleFilter): string {
  const parts = [`TaskQueue = ${quote(taskQueue)}`, 'ThreadlineKind IS NOT NULL'];
  if (f.kind) parts.push(`ThreadlineKind = ${quote(f.kind)}`);
  if (f.status) parts.push(`ThreadlineStatus = ${quote(f.status)}`);
  if (f.q) parts.push(`ThreadlineSubject STARTS_WITH ${quote(f.q)}`);
  return parts.join(' AND ');
}

/**
 * A Slack permalink from the API base URL: `https://slack.com/api/` gives Slack's own
 * `https://slack.com/archives/C…/p…?thread_ts=…` (Slack redirects it into the workspace), the
 * emulator's `http://127.0.0.1:3101/api/` its `/archives/…`, which opens the thread in the sandbox view.
 */
export function slackThreadUrl(apiUrl: string, channel: string, ts: string): string {
  const url = new URL(`../archives/${encodeURIComponent(channel)}/p${ts.replace('.', '')}`, apiUrl);
  // As Slack's own thread permalinks do: the thread opens beside the channel.
  url.search = new URLSearchParams({ thread_ts: ts, cid: channel }).toString();
  return url.href;
}

/** The Slack thread of each subject: its first top-level post, a channel root before any DM. */
async function threadsOf(pool: Pool, apiUrl: string, subjects: string[]): Promise<Map<string, string>> {
  if (subjects.length === 0) return new Map();
  const { rows } = await pool.query<{ subject: string; channel: string; ts: string }>(
    `SELECT DISTINCT ON (subject) subject, channel, ts FROM slack_messages
      WHERE subject = ANY($1) AND thread_ts IS NULL
      ORDER BY subject, (purpose IN ('root', 'approval_channel')) DESC, id`,
    [subjects],
  );
  return new Map(rows.map((r) => [r.subject, slackThreadUrl(apiUrl, r.channel, r.ts)]));
}

/**
 * The console's reads of lifecycles: the list from Temporal visibility (this app's task queue),
 * one lifecycle by its subject (= its workflow id), each with its Slack thread from Postgres.
 */
export function lifecycles(deps: { temporal: Client; pool: Pool; config: Config }) {
  const { temporal: t, slack } = deps.config;
  const temporalUi = t.codecCorsOrigins[0];
  const row = (
    w: Pick<
      WorkflowExecutionInfo,
      'typedSearchAttributes' | 'workflowId' | 'runId' | 'status' | 'startTime' | 'closeTime'
    >,
  ): LifecycleRow => {
    const sa = w.typedSearchAttributes;
    return {
      subject: sa.get(SA_SUBJECT) ?? w.workflowId,
      kind: sa.get(SA_KIND) ?? '',
      status: sa.get(SA_STATUS) ?? '',
      execution: w.status.name,
      startedAt: w.startTime,
      closedAt: w.closeTime,
      slackThread: undefined,
      temporalUi: temporalUi
        ? `${temporalUi}/namespaces/${encodeURIComponent(t.namespace)}/workflows/${encodeURIComponent(w.workflowId)}/${encodeURIComponent(w.runId)}/history`
        : undefined,
    };
  };
  const withThreads = async (rows: LifecycleRow[]) => {
    const threads = await threadsOf(
      deps.pool,
      slack.apiUrl,
      rows.map((r) => r.subject),
    );
    for (const r of rows) r.slackThread = threads.get(r.subject);
    return rows;
  };
  return {
    async list(f: LifecycleFilter): Promise<LifecycleRow[]> {
      const rows: LifecycleRow[] = [];
      const query = visibilityQuery(t.taskQueue, f);
      for await (const w of deps.temporal.workflow.list({ query, pageSize: PAGE_SIZE })) {
        rows.push(row(w));
        if (rows.length >= PAGE_SIZE) break;
      }
      return withThreads(rows);
    },
    /**
     * The open run of each subject that has one (subject → run id), in one visibility query: what
     * the failures page needs to say which failures can still be retried. Subjects that do not
     * look like workflow ids are left out (they cannot be quoted into the query safely).
     */
    async openRuns(subjects: string[]): Promise<Map<string, string>> {
      const ids = [...new Set(subjects)].filter((s) => /^[\w:.-]{1,200}$/.test(s));
      const open = new Map<string, string>();
      if (ids.length === 0) return open;
      const query = `WorkflowId IN (${ids.map(quote).join(', ')}) AND ExecutionStatus = 'Running'`;
      for await (const w of deps.temporal.workflow.list({ query, pageSize: PAGE_SIZE * 2 }))
        open.set(w.workflowId, w.runId);
      return open;
    },
    /** One lifecycle, or undefined when no workflow has that id. */
    async get(subject: string): Promise<LifecycleRow | undefined> {
      try {
        const w = await deps.temporal.workflow.getHandle(subject).describe();
        return (await withThreads([row(w)]))[0];
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
  };
}
