import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { createAuditActivities } from '../../platform/audit/activities.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../platform/temporal/failure-types.js';
import { createAuditor, createTolerant } from '../../platform/temporal/workflow/lifecycle.js';
import { DB_ACTIVITY_OPTIONS, SLACK_ACTIVITY_OPTIONS } from '../../platform/temporal/workflow/presets.js';
import type { MembershipActivities } from './activities.js';
import { ADMIN_REQUEST_BATCH, type MembershipSyncInput, type MembershipSyncResult } from './contract.js';

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
const slack = proxyActivities<Pick<MembershipActivities, 'requestAdminAction'>>(SLACK_ACTIVITY_OPTIONS);

/** Pages one sync reads at most (200 accounts a page: 400,000 accounts). */
const MAX_PAGES = 2000;

/**
 * One directory sync, started by the `membersync` schedule (overlap SKIP) or on demand:
 * 1. every `users.list` page (cursor pagination, one activity a page), accounts stored by id
 *    with their kind (member, guest, pending invite, deactivated; bots left out);
 * 2. the directory reconciled against them: each person's state moves (audited) and the people
 *    admins must act on are listed;
 * 3. one request per 100 people posted to the admins channel (invite, deactivate, reactivate),
 *    each posted once. A request that will not post is reported loudly and the sync goes on.
 * A page that cannot be read ends the sync loudly (failed run); nothing is reconciled from a
 * partial list, which would otherwise look like accounts gone.
 */
export async function membershipSyncWorkflow(input: MembershipSyncInput = {}): Promise<MembershipSyncResult> {
  const syncId = input.syncId ?? workflowInfo().workflowId;
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
  const requested = { invite: 0, deactivate: 0, reactivate: 0 };
  for (const action of ['invite', 'deactivate', 'reactivate'] as const) {
    const ids = plan[action];
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
  };
  await audit('membership.synced', 'synced', { targetSystem: 'slack', details: { ...result } });
  return result;
}
