import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import {
  FailureType,
  NON_RETRYABLE_FAILURE_TYPES,
  type FailureDetails,
} from '../../platform/temporal/failure-types.js';
import { createAuditor, createTolerant } from '../../platform/temporal/workflow/lifecycle.js';
import { DB_ACTIVITY_OPTIONS, SLACK_ACTIVITY_OPTIONS } from '../../platform/temporal/workflow/presets.js';
import type { MembershipActivities } from './activities.js';
import {
  ADMIN_REQUEST_BATCH,
  type MembershipSyncInput,
  type MembershipSyncResult,
  type ReconcileMembersResult,
} from './contract.js';
import { ADMIN_API_UNUSABLE } from './domain/lifecycle.js';

/**
 * One `users.list` page: Tier 2 (about 20 a minute), so a 429 waits exactly Retry-After (the
 * activity's nextRetryDelay) and only that page is asked again. Bound: 30 minutes for a page.
 */
const PAGE_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
};

const pages = proxyActivities<Pick<MembershipActivities, 'membershipAccountsPage'>>(PAGE_OPTIONS);
const store = proxyActivities<ReturnType<typeof createAuditActivities>>(DB_ACTIVITY_OPTIONS);
/**
 * The reconciliation: one transaction over the whole directory (a thousand people take seconds,
 * not milliseconds), exactly once per sync (a retried attempt answers the stored result).
 */
const reconciler = proxyActivities<Pick<MembershipActivities, 'reconcileMembers'>>({
  ...DB_ACTIVITY_OPTIONS,
  startToCloseTimeout: '5 minutes',
});
const slack =
  proxyActivities<Pick<MembershipActivities, 'requestAdminAction' | 'inviteMember' | 'removeMember'>>(
    SLACK_ACTIVITY_OPTIONS,
  );

/** A failed invite that says the Admin API cannot work at all now (token, settings), not just for this person. */
function adminApiUnusable(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure)) return false;
  if (cause.type === FailureType.AuthRevoked) return true;
  const error = (cause.details?.[0] as FailureDetails | undefined)?.error;
  return error !== undefined && ADMIN_API_UNUSABLE.has(error);
}

/** Pages one sync reads at most (200 accounts a page: 400,000 accounts). */
const MAX_PAGES = 2000;

/**
 * One directory sync, started by the `membersync` schedule (overlap SKIP) or on demand:
 * 1. every `users.list` page (cursor pagination, one activity a page), accounts stored by id
 *    with their kind (member, guest, pending invite, deactivated; bots left out);
 * 2. the directory reconciled against them: each person's state moves (audited) and the people
 *    admins must act on are listed;
 * 3. with the Admin API configured, each person to invite is invited through
 *    `admin.users.invite` (one activity each: a 429 retries that person only); an invite that
 *    fails for good is reported loudly and the person is asked for in the channel instead, and
 *    an error that means the API cannot work (token, settings) stops the API for this sync;
 * 4. one request per 100 people posted to the admins channel (invite, deactivate, reactivate),
 *    each posted once, for people not already asked within the reminder interval. A request
 *    that will not post is reported loudly and the sync goes on.
 * A page that cannot be read ends the sync loudly (failed run); nothing is reconciled from a
 * partial list, which would otherwise look like accounts gone.
 */
export async function membershipSyncWorkflow(input: MembershipSyncInput = {}): Promise<MembershipSyncResult> {
  // The run id, not the workflow id alone: a schedule names its runs by the whole second
  // (temporalio/temporal#3614), so two runs started in one second share a workflow id, and the
  // second would answer the first one's stored reconciliation and posts.
  const info = workflowInfo();
  const syncId = input.syncId ?? `${info.workflowId}:${info.runId}`;
  const audit = createAuditor(store.recordAudit, { actorId: 'membership-sync' });
  const tolerant = createTolerant(audit, 'membership');

  let cursor: string | undefined;
  let accounts = 0;
  let bots = 0;
  let n = 0;
  do {
    const page = await pages.membershipAccountsPage({ syncId, ...(cursor ? { cursor } : {}) });
    accounts += page.stored;
    bots += page.bots;
    cursor = page.nextCursor;
    n++;
  } while (cursor && n < MAX_PAGES);

  const plan = await reconciler.reconcileMembers({ syncId });
  const invited = { invited: 0, already_invited: 0, already_in_team: 0, failed: 0 };
  const ask: Pick<ReconcileMembersResult, 'invite' | 'deactivate' | 'reactivate'> = {
    invite: plan.invite,
    deactivate: plan.deactivate,
    reactivate: plan.reactivate,
  };
  /**
   * One Admin API call per person, in order: an answer counts its outcome; a failure for good is
   * reported (tolerant) and the person is asked for in the channel instead; an error that means
   * the API cannot work stops the calls, and everyone left is asked for in the channel.
   */
  async function throughAdminApi<O extends string>(
    step: string,
    ids: string[],
    call: (memberId: string) => Promise<{ outcome: O }>,
    notDelivered: string,
    counts: Record<O | 'failed', number>,
  ): Promise<string[]> {
    const left: string[] = [];
    let usable = true;
    for (const memberId of ids) {
      if (!usable) {
        left.push(memberId);
        continue;
      }
      const r = await tolerant(
        `${step}:${memberId}`,
        () =>
          call(memberId).catch((err: unknown) => {
            if (adminApiUnusable(err)) usable = false;
            throw err;
          }),
        notDelivered,
      );
      if (r) counts[r.outcome]++;
      else {
        counts.failed++;
        left.push(memberId);
      }
    }
    return left;
  }
  if (plan.inviteVia === 'api')
    ask.invite = await throughAdminApi(
      'invite',
      plan.invite,
      (memberId) => slack.inviteMember({ syncId, memberId }),
      'an invite to the workspace through admin.users.invite (admins are asked in the channel instead)',
      invited,
    );
  // Unenrolled people removed through admin.users.remove (MEMBERSHIP_UNENROLLED=remove), the same way.
  const removed = plan.deactivateVia === 'api' ? { removed: 0, already_gone: 0, failed: 0 } : undefined;
  if (removed)
    ask.deactivate = await throughAdminApi(
      'remove',
      plan.deactivate,
      (memberId) => slack.removeMember({ syncId, memberId }),
      'a removal from the workspace through admin.users.remove (admins are asked in the channel instead)',
      removed,
    );
  const requested = { invite: 0, deactivate: 0, reactivate: 0 };
  for (const action of ['invite', 'deactivate', 'reactivate'] as const) {
    const ids = ask[action];
    for (let i = 0; i < ids.length; i += ADMIN_REQUEST_BATCH) {
      const part = i / ADMIN_REQUEST_BATCH;
      const batch = ids.slice(i, i + ADMIN_REQUEST_BATCH);
      const posted = await tolerant(
        `request:${action}:${part}`,
        () => slack.requestAdminAction({ syncId, action, memberIds: batch, part }),
        `a request to workspace admins (${action}, ${batch.length} people)`,
      );
      if (posted) requested[action] += batch.length;
    }
  }
  const result: MembershipSyncResult = {
    syncId,
    accounts,
    bots,
    pages: n,
    states: plan.states,
    transitions: plan.transitions,
    requested,
    alreadyAsked: plan.alreadyAsked ?? 0,
    invited,
    ...(removed ? { removed } : {}),
  };
  // Keyed by run: two runs under one workflow id (one second) are two syncs.
  await audit('membership.synced', `synced:${info.runId}`, { targetSystem: 'slack', details: { ...result } });
  return result;
}
