/**
 * A directory member's invite lifecycle, decided from what the directory says and what Slack
 * shows for their email. Pure rules (the sync activity applies them in one transaction).
 */

export type MemberState = 'PENDING' | 'INVITED' | 'ACCEPTED' | 'DEACTIVATED';
export type DirectoryStatus = 'enrolled' | 'unenrolled';

/** How `users.list` shows an account (bots and Slackbot are never members of the directory). */
export type AccountKind = 'member' | 'guest' | 'invited' | 'deactivated';

/** What to do for one person: a new state and, when Slack must change, a request to admins. */
export interface MemberDecision {
  state: MemberState;
  /** `invite`: enrolled without an account; `deactivate`: unenrolled with a live account; `reactivate`: enrolled, account deactivated. */
  action?: 'invite' | 'deactivate' | 'reactivate';
}

/** Classifies a `users.list` member by its flags; undefined for bots (never reconciled). */
export function accountKind(u: {
  id?: string;
  deleted?: boolean;
  is_bot?: boolean;
  is_app_user?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  is_invited_user?: boolean;
}): AccountKind | undefined {
  if (u.is_bot || u.is_app_user || u.id === 'USLACKBOT') return undefined;
  if (u.deleted) return 'deactivated';
  if (u.is_invited_user) return 'invited';
  if (u.is_restricted || u.is_ultra_restricted) return 'guest';
  return 'member';
}

/**
 * The next state of a person:
 * - enrolled, no account → PENDING, invite; invited → INVITED; member or guest → ACCEPTED;
 *   deactivated → DEACTIVATED, reactivate (someone must turn the account back on);
 * - unenrolled, live account (member, guest, pending invite) → stays, deactivate; deactivated or
 *   none → DEACTIVATED.
 */
export function decideMember(status: DirectoryStatus, account: AccountKind | undefined): MemberDecision {
  if (status === 'enrolled') {
    switch (account) {
      case undefined:
        return { state: 'PENDING', action: 'invite' };
      case 'invited':
        return { state: 'INVITED' };
      case 'member':
      case 'guest':
        return { state: 'ACCEPTED' };
      case 'deactivated':
        return { state: 'DEACTIVATED', action: 'reactivate' };
    }
  }
  if (account === undefined || account === 'deactivated') return { state: 'DEACTIVATED' };
  return { state: account === 'invited' ? 'INVITED' : 'ACCEPTED', action: 'deactivate' };
}

/** What `admin.users.invite` said about one person, when the call settled their state. */
export type InviteOutcome = 'invited' | 'already_invited' | 'already_in_team';

/**
 * The state an answer of `admin.users.invite` puts a person in, or undefined when the answer
 * is a failure: `ok` and `already_in_team_invited_user` → INVITED (an invite is pending; the
 * latter also answers a retry whose first attempt reached Slack); `already_in_team` → ACCEPTED
 * (they joined since the accounts were listed).
 */
export function inviteOutcome(error: string | undefined): { outcome: InviteOutcome; state: MemberState } | undefined {
  if (error === undefined) return { outcome: 'invited', state: 'INVITED' };
  if (error === 'already_in_team_invited_user') return { outcome: 'already_invited', state: 'INVITED' };
  if (error === 'already_in_team') return { outcome: 'already_in_team', state: 'ACCEPTED' };
  return undefined;
}

/**
 * What an answer of `admin.users.remove` means: `ok` → removed; `user_not_found` → already gone
 * (deactivated since the accounts were listed, or a retry whose first attempt reached Slack);
 * anything else is a failure.
 */
export function removeOutcome(error: string | undefined): 'removed' | 'already_gone' | undefined {
  if (error === undefined) return 'removed';
  if (error === 'user_not_found') return 'already_gone';
  return undefined;
}

/**
 * `admin.users.invite` errors about the token, the workspace or the settings rather than the
 * person: every further invite would fail the same way, so a sync stops calling the API after
 * the first one (reported loudly) and asks admins in the channel for everyone left. Other
 * permanent errors (`invalid_email`, `user_disabled`, …) concern one person only.
 */
export const ADMIN_API_UNUSABLE: ReadonlySet<string> = new Set([
  'not_allowed_token_type',
  'is_bot',
  'missing_scope',
  'no_permission',
  'feature_not_enabled',
  'failed_to_validate_caller',
  'failed_to_validate_team',
  'team_not_found',
  'failed_to_validate_channels',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
]);
