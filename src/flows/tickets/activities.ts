import type { WebClient } from '@slack/web-api';
import type { Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../platform/temporal/failure-types.js';
import { currentAttempt } from '../../platform/temporal/attempt.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { classifySlackError, toActivityFailure } from '../../integrations/slack/errors.js';
import { createJiraClient } from '../../integrations/jira/client.js';
import { createJiraTracker } from '../../integrations/jira/tracker.js';
import type { TicketsConfig } from './config.js';
import {
  ticketFiledSignal,
  type TicketFiledNotice,
  type TicketSlackPerson,
  type TicketSnapshot,
  type TicketThreadState,
} from './contract.js';
import { ticketThreadsRepo, type TicketThreadsRepo } from './repo.js';
import { ticketStartOptions } from './start.js';
import type {
  CommentDraft,
  CommentOrigin,
  DoneTransition,
  NewTicket,
  TrackerClient,
  WrittenComment,
} from './tracker.js';
import type { ticketWorkflow } from './workflow.js';

export interface TicketActivityDeps {
  tracker: TrackerClient;
  slack: WebClient;
  threads: TicketThreadsRepo;
  /** Hands a ticket filed from Slack to its thread (signalWithStart `ticket:<KEY>`). */
  handToThread: (notice: TicketFiledNotice) => Promise<void>;
  metrics?: Metrics;
}

/** The classified failure's details (`ApplicationFailure.details[0]`), when the tracker adapter set them. */
const failureKind = (err: unknown): string | undefined => {
  const f = err instanceof ActivityFailure ? err.cause : err;
  const d = f instanceof ApplicationFailure ? (f.details?.[0] as { kind?: string } | undefined) : undefined;
  return d?.kind;
};

/**
 * Ticket thread activities: tracker calls through the adapter (`TrackerClient`, Jira today),
 * the person lookups loop prevention and attribution need, and the DB snapshot. Writes that are
 * not idempotent in the tracker (adding a comment, filing an issue) look for what an ambiguous
 * earlier attempt may have written before writing again.
 */
export function createTicketActivities(deps: TicketActivityDeps) {
  let self: Promise<{ accountId: string }> | undefined;
  return {
    /** Our own tracker account (cached for the worker's life; a failure is not cached). */
    async resolveTicketTrackerSelf(): Promise<{ accountId: string }> {
      self ??= deps.tracker.self().then(
        (p) => ({ accountId: p.id }),
        (err: unknown) => {
          self = undefined;
          throw err;
        },
      );
      return self;
    },

    /**
     * A Slack person's name and team, and their tracker account matched by email. The email is
     * used here and never returned (workflow history holds no emails).
     */
    async resolveTicketSlackPerson(input: { user: string }): Promise<TicketSlackPerson> {
      let info;
      try {
        info = await deps.slack.users.info({ user: input.user });
        deps.metrics?.externalCalls.inc({ system: 'slack', method: 'users.info', outcome: 'ok' });
      } catch (err) {
        const c = classifySlackError(err);
        deps.metrics?.externalCalls.inc({ system: 'slack', method: 'users.info', outcome: c.kind });
        if (c.kind === 'permanent' || c.kind === 'already_done') return { user: input.user, name: input.user };
        throw toActivityFailure('users.info', c);
      }
      const u = info.user;
      const name = u?.real_name || u?.profile?.real_name || u?.profile?.display_name || u?.name || input.user;
      const email = u?.profile?.email;
      let trackerAccountId: string | undefined;
      if (email) {
        try {
          trackerAccountId = (await deps.tracker.findPersonByEmail(email))?.id;
        } catch (err) {
          // Attribution by name still works; only a rate limit is worth waiting for.
          if (failureKind(err) === 'rate_limited') throw err;
        }
      }
      return { user: input.user, name, teamId: u?.team_id, trackerAccountId };
    },

    async addTicketComment(input: {
      key: string;
      draft: CommentDraft;
      origin: CommentOrigin;
    }): Promise<WrittenComment> {
      if (currentAttempt() > 1) {
        // An earlier attempt may have written it before its answer was lost: the origin property finds it.
        const found = await deps.tracker.findCommentByOrigin({ key: input.key, origin: input.origin });
        if (found) return found;
      }
      return deps.tracker.addComment(input);
    },

    async updateTicketComment(input: { key: string; commentId: string; draft: CommentDraft }): Promise<WrittenComment> {
      return deps.tracker.updateComment(input);
    },

    /** Deleting a comment that is already gone is success (`alreadyGone`). */
    async deleteTicketComment(input: { key: string; commentId: string }): Promise<{ alreadyGone: boolean }> {
      try {
        await deps.tracker.deleteComment(input);
        return { alreadyGone: false };
      } catch (err) {
        if (failureKind(err) === 'not_found') return { alreadyGone: true };
        throw err;
      }
    },

    /** `afterRetry`: an earlier attempt's answer was lost, so "already done" is most likely our own transition. */
    async transitionTicketToDone(input: { key: string }): Promise<DoneTransition & { afterRetry: boolean }> {
      return { ...(await deps.tracker.transitionToDone(input)), afterRetry: currentAttempt() > 1 };
    },

    async fileTrackerTicket(input: NewTicket): Promise<TicketSnapshot> {
      if (currentAttempt() > 1) {
        const found = await deps.tracker.findIssueByRequest({ project: input.project, requestId: input.requestId });
        if (found) return found;
      }
      return deps.tracker.createIssue(input);
    },

    async handTicketToThread(notice: TicketFiledNotice): Promise<void> {
      try {
        await deps.handToThread(notice);
      } catch (err) {
        throw ApplicationFailure.create({
          type: FailureType.Transient,
          message: `could not hand ${notice.issue.key} to its thread: ${err instanceof Error ? err.message.slice(0, 200) : 'error'}`,
        });
      }
    },

    async saveTicketThread(state: TicketThreadState): Promise<void> {
      await deps.threads.save(state);
    },

    async loadTicketThread(input: { key: string }): Promise<TicketThreadState | undefined> {
      return deps.threads.get(input.key);
    },
  };
}
export type TicketActivities = ReturnType<typeof createTicketActivities>;

/** Starts or joins the ticket's thread with the filed notice (one Temporal call; the workflow dedups by request id). */
export function handToThreadWith(
  temporal: Client,
  opts: { taskQueue: string; cfg: TicketsConfig; opsChannel: string },
) {
  return async (notice: TicketFiledNotice): Promise<void> => {
    await temporal.workflow.signalWithStart<typeof ticketWorkflow, [TicketFiledNotice]>('ticketWorkflow', {
      ...ticketStartOptions({ ...opts, key: notice.issue.key }),
      signal: ticketFiledSignal,
      signalArgs: [notice],
    });
  };
}

/**
 * The worker's factory (flow.ts): Jira as the tracker, from the platform's Jira settings. Without
 * Jira settings the ticket flow registers no activities (its webhook answers 503).
 */
export function ticketActivities(ctx: FlowWorkerContext<TicketsConfig>) {
  const jira = ctx.config.jira;
  if (!jira) return {};
  const tracker = createJiraTracker({
    client: createJiraClient({
      ...jira,
      pacing: { pool: ctx.pool, metrics: ctx.metrics, issueWriteIntervalMs: jira.issueWriteIntervalMs },
    }),
    metrics: ctx.metrics,
  });
  return createTicketActivities({
    tracker,
    slack: ctx.slack,
    threads: ticketThreadsRepo(ctx.pool),
    handToThread: handToThreadWith(ctx.temporal, {
      taskQueue: ctx.config.temporal.taskQueue,
      cfg: ctx.flowConfig,
      opsChannel: ctx.config.slack.opsChannel,
    }),
    metrics: ctx.metrics,
  });
}
