import type { WebClient } from '@slack/web-api';
import { ApplicationFailure } from '@temporalio/common';
import { createSlackClient } from '../../integrations/slack/client.js';
import { FailureType, type FailureDetails } from '../../platform/temporal/failure-types.js';
import type { AuditEntry } from '../../platform/audit/contract.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import { createSlackPoster, type SlackPoster } from '../../platform/slack/activities.js';
import { header, packBlocks, sections } from '../../platform/slack/domain/block-kit.js';
import type { MembershipAdminApi, MembershipConfig } from './config.js';
import {
  memberSubject,
  type AccountsPageInput,
  type AccountsPageResult,
  type AdminRequestInput,
  type InviteMemberInput,
  type InviteMemberResult,
  type ReconcileMembersResult,
  type RemoveMemberInput,
  type RemoveMemberResult,
} from './contract.js';
import {
  ADMIN_API_UNUSABLE,
  accountKind,
  decideMember,
  inviteOutcome,
  removeOutcome,
  type MemberState,
} from './domain/lifecycle.js';
import { membershipRepo, type MembershipRepo } from './repo.js';

export interface MembershipActivityDeps {
  slack: WebClient;
  repo: MembershipRepo;
  adminsChannel: string;
  /** How long a request to admins stands before the same person is asked about again (ms). */
  reminderIntervalMs: number;
  /** With the Admin API: the org admin's client and where invites go; absent: invites are requested in the channel. */
  admin?: { client: WebClient; api: Omit<MembershipAdminApi, 'token'> };
  metrics?: Metrics;
  poster?: SlackPoster;
}

/** The Slack error code a classified activity failure carries (details[0], see failure-types.ts). */
function slackErrorOf(err: unknown): string | undefined {
  if (!(err instanceof ApplicationFailure)) return undefined;
  return (err.details?.[0] as FailureDetails | undefined)?.error;
}

/** `users.list` pages: Slack caps them at 200 and asks for at most that (Tier 2: about 20 a minute). */
const PAGE_SIZE = 200;

const REQUEST_TEXT = {
  invite: 'Please invite these enrolled people to the workspace (they have no account yet)',
  deactivate: 'Please deactivate these accounts: the people are no longer enrolled',
  reactivate: 'Please reactivate these accounts: the people are enrolled again',
} as const;

/**
 * Membership activities: one `users.list` page per call (so a 429 retries that page only, after
 * Retry-After), the reconciliation of the directory with the accounts seen (every transition
 * audited), and requests to the admins channel for what only an admin can do.
 */
export function createMembershipActivities(deps: MembershipActivityDeps) {
  const poster = deps.poster ?? createSlackPoster({ slack: deps.slack, metrics: deps.metrics });
  // The Admin API's calls are counted and classified like the bot's, under the admin's token.
  const adminPoster = deps.admin && createSlackPoster({ slack: deps.admin.client, metrics: deps.metrics });

  return {
    async membershipAccountsPage(input: AccountsPageInput): Promise<AccountsPageResult> {
      const res = await poster.call('users.list', () =>
        deps.slack.users.list({ limit: PAGE_SIZE, ...(input.cursor ? { cursor: input.cursor } : {}) }),
      );
      let bots = 0;
      const accounts: { userId: string; email: string | null; kind: ReturnType<typeof accountKind> & string }[] = [];
      for (const u of res?.members ?? []) {
        const kind = accountKind(u);
        if (!kind || !u.id) {
          bots++;
          continue;
        }
        accounts.push({ userId: u.id, email: u.profile?.email ?? null, kind });
      }
      await deps.repo.storeAccounts(input.syncId, accounts);
      const next = res?.response_metadata?.next_cursor;
      return { ...(next ? { nextCursor: next } : {}), stored: accounts.length, bots };
    },

    /**
     * Applies the lifecycle to every directory member against this sync's accounts. A state
     * change is written with its audit row (keyed by sync, member and new state, so a retried
     * activity writes each once); the people admins must act on are returned by id.
     */
    async reconcileMembers(input: { syncId: string }): Promise<ReconcileMembersResult> {
      const result = await deps.repo.applySync<ReconcileMembersResult>({
        syncId: input.syncId,
        reminderIntervalMs: deps.reminderIntervalMs,
        decide: (rows) => {
          const r: ReconcileMembersResult = {
            states: {},
            transitions: 0,
            invite: [],
            deactivate: [],
            reactivate: [],
            alreadyAsked: 0,
            inviteVia: deps.admin ? 'api' : 'admins',
            deactivateVia: deps.admin?.api.removeUnenrolled ? 'api' : 'admins',
          };
          const changes: {
            memberId: string;
            state: MemberState;
            slackUser: string | null;
            requestedAction: string | null;
          }[] = [];
          const audits: AuditEntry[] = [];
          for (const row of rows) {
            const d = decideMember(row.status, row.kind ?? undefined);
            const slackUser = row.user_id ?? row.slack_user;
            // A request stands until nothing is needed for the person any more.
            const requestedAction = d.action ? row.requested_action : null;
            if (d.state !== row.state || slackUser !== row.slack_user || requestedAction !== row.requested_action)
              changes.push({ memberId: row.member_id, state: d.state, slackUser, requestedAction });
            if (d.state !== row.state) {
              r.transitions++;
              audits.push({
                subject: memberSubject(row.member_id),
                action: 'membership.transition',
                actor: { kind: 'system', id: 'membership-sync' },
                targetSystem: 'slack',
                before: { state: row.state },
                after: { state: d.state },
                details: { syncId: input.syncId, status: row.status, account: row.kind, slackUser },
                idempotencyKey: `${memberSubject(row.member_id)}:${input.syncId}:${d.state}`,
              });
            }
            r.states[d.state] = (r.states[d.state] ?? 0) + 1;
            if (!d.action) continue;
            // Asked for the same thing within the reminder interval: they are still on it.
            if (row.requested_action === d.action && row.recently_requested) r.alreadyAsked!++;
            else r[d.action].push(row.member_id);
          }
          return { changes, audits, result: r };
        },
      });
      await deps.repo.dropOtherSyncs(input.syncId);
      return result;
    },

    /** One admins-channel message asking for an action on up to ADMIN_REQUEST_BATCH people (posted once). */
    async requestAdminAction(input: AdminRequestInput): Promise<{ channel: string; ts: string }> {
      const people = await deps.repo.emails(input.memberIds);
      const lines = people.map((p) => `• ${p.email}${p.slackUser ? ` (<@${p.slackUser}>)` : ''}`);
      const blocks = [header(REQUEST_TEXT[input.action]), ...sections(lines)];
      const posted = await poster.postOnce({
        subject: `membersync:${input.syncId}`,
        channel: deps.adminsChannel,
        text: `${REQUEST_TEXT[input.action]}: ${people.length}`,
        blocks: packBlocks(blocks)[0]!,
        purpose: 'membership_request',
        idempotencyKey: `${input.syncId}:request:${input.action}:${input.part}`,
      });
      await deps.repo.markRequested(input.memberIds, input.action);
      return posted;
    },

    /**
     * Invites one person through `admin.users.invite` (Tier 2: a 429 retries this person only,
     * after Retry-After) and applies the state the answer means, audited. Failures are classified
     * like every Slack call; one that is permanent is recorded on the person and rethrown (the
     * workflow reports it loudly and asks admins in the channel instead).
     */
    async inviteMember(input: InviteMemberInput): Promise<InviteMemberResult> {
      if (!deps.admin || !adminPoster)
        throw ApplicationFailure.create({
          type: FailureType.Permanent,
          message: 'admin.users.invite is not configured (SLACK_ADMIN_USER_TOKEN)',
          details: [{ system: 'slack', method: 'admin.users.invite', error: 'not_configured', kind: 'permanent' }],
        });
      const target = await deps.repo.inviteTarget(input.memberId);
      if (!target)
        throw ApplicationFailure.create({
          type: FailureType.Permanent,
          message: 'the member is no longer in the directory',
          details: [{ system: 'slack', method: 'admin.users.invite', error: 'member_not_found', kind: 'permanent' }],
        });
      const { api, client } = deps.admin;
      let error: string | undefined;
      try {
        await adminPoster.call('admin.users.invite', () =>
          client.admin.users.invite({
            team_id: api.teamId,
            email: target.email,
            channel_ids: api.channelIds as [string, ...string[]],
            ...(target.name ? { real_name: target.name } : {}),
          }),
        );
      } catch (err) {
        error = slackErrorOf(err);
        const settled = inviteOutcome(error);
        if (!settled) {
          // About this person (not the token or the settings, which say nothing about them).
          if (err instanceof ApplicationFailure && err.nonRetryable && error && !ADMIN_API_UNUSABLE.has(error))
            await deps.repo.recordInviteError(input.memberId, error);
          throw err;
        }
      }
      const settled = inviteOutcome(error)!;
      await deps.repo.applyInvite({ syncId: input.syncId, memberId: input.memberId, ...settled });
      return { outcome: settled.outcome };
    },

    /**
     * Removes one unenrolled person from the workspace through `admin.users.remove` (Tier 2: a
     * 429 retries this person only) and records DEACTIVATED, audited. A permanent failure is
     * rethrown (the workflow reports it loudly and asks admins in the channel instead).
     */
    async removeMember(input: RemoveMemberInput): Promise<RemoveMemberResult> {
      const fail = (error: string, message: string) =>
        ApplicationFailure.create({
          type: FailureType.Permanent,
          message,
          details: [{ system: 'slack', method: 'admin.users.remove', error, kind: 'permanent' }],
        });
      if (!deps.admin || !adminPoster)
        throw fail('not_configured', 'admin.users.remove is not configured (SLACK_ADMIN_USER_TOKEN)');
      const user = await deps.repo.slackUserOf(input.memberId);
      if (!user) throw fail('member_not_found', 'the member has no Slack account on record');
      const { api, client } = deps.admin;
      let error: string | undefined;
      try {
        await adminPoster.call('admin.users.remove', () =>
          client.admin.users.remove({ team_id: api.teamId, user_id: user }),
        );
      } catch (err) {
        error = slackErrorOf(err);
        if (!removeOutcome(error)) throw err;
      }
      const outcome = removeOutcome(error)!;
      await deps.repo.applyRemoval({ syncId: input.syncId, memberId: input.memberId, outcome });
      return { outcome };
    },
  };
}
export type MembershipActivities = ReturnType<typeof createMembershipActivities>;

/** The worker's factory (flow.ts). */
export function membershipActivities(ctx: FlowWorkerContext<MembershipConfig>) {
  const adminApi = ctx.flowConfig.adminApi;
  return createMembershipActivities({
    slack: ctx.slack,
    repo: membershipRepo(ctx.pool, ctx.config.temporal.taskQueue),
    adminsChannel: ctx.flowConfig.adminsChannel ?? ctx.config.slack.opsChannel,
    reminderIntervalMs: ctx.flowConfig.reminderIntervalMs,
    ...(adminApi
      ? {
          admin: {
            client: createSlackClient({ token: adminApi.token, apiUrl: ctx.config.slack.apiUrl }),
            api: {
              teamId: adminApi.teamId,
              channelIds: adminApi.channelIds,
              removeUnenrolled: adminApi.removeUnenrolled,
            },
          },
        }
      : {}),
    metrics: ctx.metrics,
  });
}
