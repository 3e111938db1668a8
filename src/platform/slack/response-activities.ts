import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { WebClient } from '@slack/web-api';
import { FailureType } from '../temporal/failure-types.js';
import { subjectStatusQuery, type SubjectStatus } from './contract.js';
import type { AuditLogRepo, SlackMessagesRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { classifySlackError, toActivityFailure } from '../../integrations/slack/errors.js';
import { inTeam, type SlackPosterDeps } from './activities.js';

/** A status query waits for a worker to answer it; past this, the audit trail answers instead. */
const STATUS_QUERY_TIMEOUT_MS = 5_000;
/** conversations.members page size (Slack allows up to 1000). */
const MEMBERS_PAGE = 1_000;

export interface SlackResponseDeps {
  temporal: Client;
  audit: AuditLogRepo;
  /** Where a subject's messages were posted: their channels' members may see its status. */
  slackMessages: SlackMessagesRepo;
  /** For `conversations.members` (is the person asking in the channel?). */
  slack: WebClient;
  /** URL prefixes a response_url may have (Slack's hooks host; the emulator in sandbox mode). */
  responseUrlPrefixes: string[];
  metrics?: Metrics;
  /** Many workspaces: members are asked of the workspace of each conversation. */
  scope?: SlackPosterDeps['scope'];
  fetch?: typeof fetch;
  /** Workflow ids to try for what a person typed after `/threadline status` (from the flows). */
  statusCandidates: (query: string) => string[];
}

/** Activities behind `slackResponseWorkflow`: answers that come after the 3-second ack. */
export function createSlackResponseActivities(deps: SlackResponseDeps) {
  const doFetch = deps.fetch ?? fetch;
  const activities = {
    /**
     * POSTs to a response_url (works up to 5 times within 30 min). 404/410: expired → permanent;
     * 429 → retry after Retry-After; 5xx/network → retried by policy.
     */
    async respondToSlack(input: {
      responseUrl: string;
      text: string;
      responseType?: 'ephemeral' | 'in_channel';
      replaceOriginal?: boolean;
    }): Promise<void> {
      if (!deps.responseUrlPrefixes.some((p) => input.responseUrl.startsWith(p))) {
        throw ApplicationFailure.nonRetryable('response_url is not a Slack URL', FailureType.Permanent);
      }
      const res = await doFetch(input.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          text: input.text,
          response_type: input.responseType ?? 'ephemeral',
          replace_original: input.replaceOriginal ?? false,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const outcome = res.ok
        ? 'ok'
        : res.status === 429
          ? 'rate_limited'
          : res.status >= 500
            ? 'transient'
            : 'permanent';
      deps.metrics?.externalCalls.inc({ system: 'slack', method: 'response_url', outcome });
      if (res.ok) return;
      if (res.status === 429) {
        const after = Number(res.headers.get('retry-after') ?? '1');
        throw ApplicationFailure.create({
          type: FailureType.RateLimited,
          message: 'response_url rate limited',
          nextRetryDelay: `${Math.max(1, after)}s`,
        });
      }
      if (res.status >= 500)
        throw ApplicationFailure.create({ type: FailureType.Transient, message: `response_url ${res.status}` });
      throw ApplicationFailure.nonRetryable(
        `response_url answered ${res.status} (expired or used up)`,
        FailureType.Permanent,
      );
    },

    /**
     * Where a lifecycle stands, for the person who asked (`user`), or null. The live workflow's
     * `threadlineStatus` query answers; when the workflow is gone (retention) or cannot answer,
     * its audit trail does. Either way only people entitled to the subject get it: its
     * participants (as the flow lists them), people in its audit trail, and members of the
     * conversations its messages are in (DMs count for their members). Everyone else gets null,
     * exactly as for an id that does not exist, so the answer reveals nothing about the subject.
     */
    async lookupSubjectStatus(input: { query: string; user?: string; teamId?: string }): Promise<SubjectStatus | null> {
      const count = (outcome: string) => deps.metrics?.statusLookups.inc({ outcome });
      let refused = false;
      for (const id of deps.statusCandidates(input.query.trim())) {
        const found = (await liveStatus(id)) ?? (await auditStatus(id));
        if (!found) continue;
        if (input.user && (await entitled(id, input.user, found.status.participants, input.teamId))) {
          count(found.from === 'workflow' ? 'answered' : 'answered_from_audit');
          return found.status;
        }
        refused = true;
      }
      count(refused ? 'refused' : 'not_found');
      return null;
    },
  };
  return activities;

  async function liveStatus(id: string): Promise<{ status: SubjectStatus; from: 'workflow' } | undefined> {
    try {
      const status = await deps.temporal.withDeadline(Date.now() + STATUS_QUERY_TIMEOUT_MS, () =>
        deps.temporal.workflow.getHandle(id).query(subjectStatusQuery),
      );
      return { status, from: 'workflow' };
    } catch (err) {
      // Gone (past retention: WorkflowNotFoundError), or no worker answered in time: the audit
      // trail still knows (it lives in Postgres, not in Temporal).
      if (!(err instanceof WorkflowNotFoundError)) deps.metrics?.statusLookups.inc({ outcome: 'query_failed' });
      return undefined;
    }
  }

  async function auditStatus(id: string): Promise<{ status: SubjectStatus; from: 'audit' } | undefined> {
    const last = (await deps.audit.bySubject(id)).at(-1);
    if (!last) return undefined;
    return {
      from: 'audit',
      status: {
        subject: id,
        kind: id.split(':')[0]!,
        status: last.action,
        summary: `last recorded: ${last.action}`,
        updatedAt: last.occurredAt,
      },
    };
  }

  /**
   * Participants and audit actors are user ids of the subject's own workspace; someone asking
   * from another workspace is entitled to nothing there (a user id may repeat across workspaces),
   * and members are asked of the asker's workspace only (channel ids repeat too).
   */
  async function entitled(
    subject: string,
    user: string,
    participants: readonly string[] | undefined,
    teamId: string | undefined,
  ) {
    const conversations = await deps.slackMessages.conversationsOf(subject);
    const subjectTeams = new Set(conversations.map((c) => c.teamId).filter((t): t is string => t !== null));
    if (teamId && subjectTeams.size > 0 && !subjectTeams.has(teamId)) return false;
    if (participants?.includes(user)) return true;
    if ((await deps.audit.slackActorsOf(subject)).includes(user)) return true;
    for (const c of conversations) {
      if (teamId && c.teamId !== null && c.teamId !== teamId) continue;
      if (await inTeam(deps.scope, c.teamId ?? teamId, () => isMember(c.channel, user))) return true;
    }
    return false;
  }

  /** Whether `user` is in the conversation, paging through `conversations.members`. */
  async function isMember(channel: string, user: string): Promise<boolean> {
    let cursor: string | undefined;
    do {
      let res;
      try {
        res = await deps.slack.conversations.members({ channel, limit: MEMBERS_PAGE, cursor });
        deps.metrics?.externalCalls.inc({ system: 'slack', method: 'conversations.members', outcome: 'ok' });
      } catch (err) {
        const c = classifySlackError(err);
        deps.metrics?.externalCalls.inc({ system: 'slack', method: 'conversations.members', outcome: c.kind });
        // A conversation we can no longer read (archived, bot removed) grants nobody anything.
        if (c.kind === 'permanent' || c.kind === 'already_done') return false;
        throw toActivityFailure('conversations.members', c);
      }
      if (res.members?.includes(user)) return true;
      cursor = res.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return false;
  }
}
export type SlackResponseActivities = ReturnType<typeof createSlackResponseActivities>;
