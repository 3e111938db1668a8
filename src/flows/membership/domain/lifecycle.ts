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
