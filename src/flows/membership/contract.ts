/**
 * The membership flow's wire contract: one sync workflow per run of the `membersync` schedule
 * (or per on-demand trigger). Accounts and emails stay in activities and Postgres; history
 * carries ids, cursors and counts only.
 */

export interface MembershipSyncInput {
  /** Unset: the run's workflow id and run id (unique per run, also for two runs in one second). */
  syncId?: string;
}

export interface AccountsPageInput {
  syncId: string;
  cursor?: string;
}
export interface AccountsPageResult {
  nextCursor?: string;
  stored: number;
  bots: number;
}

export interface ReconcileMembersResult {
  /** People per state after the sync. */
  states: Record<string, number>;
  /** Transitions made (each audited). */
  transitions: number;
  /**
   * Directory member ids per request to admins (or, for `invite` with the Admin API, per call of
   * `admin.users.invite`). People already asked for the same thing within the reminder interval
   * are left out.
   */
  invite: string[];
  deactivate: string[];
  reactivate: string[];
  /** People still waiting for an answer admins were already asked for (not asked again yet). */
  alreadyAsked?: number;
  /** `api`: invites go through `admin.users.invite`; `admins` (or absent, in older results): the admins channel. */
  inviteVia?: 'api' | 'admins';
  /** `api`: unenrolled people are removed through `admin.users.remove`; `admins` (or absent): requested in the channel. */
  deactivateVia?: 'api' | 'admins';
}

export interface RemoveMemberInput {
  syncId: string;
  memberId: string;
}
export interface RemoveMemberResult {
  outcome: 'removed' | 'already_gone';
}

export interface InviteMemberInput {
  syncId: string;
  memberId: string;
}
export interface InviteMemberResult {
  outcome: 'invited' | 'already_invited' | 'already_in_team';
}

export interface AdminRequestInput {
  syncId: string;
  action: 'invite' | 'deactivate' | 'reactivate';
  memberIds: string[];
  /** Part of the request (one message per part), for the post's idempotency key. */
  part: number;
}

export interface MembershipSyncResult {
  syncId: string;
  accounts: number;
  bots: number;
  pages: number;
  states: Record<string, number>;
  transitions: number;
  requested: { invite: number; deactivate: number; reactivate: number };
  /** People admins were already asked about within the reminder interval (not asked again). */
  alreadyAsked: number;
  /** Outcomes of `admin.users.invite` (all zero without the Admin API). */
  invited: { invited: number; already_invited: number; already_in_team: number; failed: number };
  /** Outcomes of `admin.users.remove` (absent or zero unless `MEMBERSHIP_UNENROLLED=remove`). */
  removed?: { removed: number; already_gone: number; failed: number };
}

/**
 * Schedule id of the sync, one per task queue: deployments (or test stacks) sharing a namespace
 * each sync their own workspace. History and the schedule store it: never change the format.
 */
export const membershipScheduleId = (taskQueue: string): string => `membersync:${taskQueue}`;
/** The audit subject of a directory member. */
export const memberSubject = (memberId: string): string => `member:${memberId}`;
/** People listed in one admins-channel request message. */
export const ADMIN_REQUEST_BATCH = 100;
