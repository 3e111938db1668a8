import { describe, expect, it } from 'vitest';
import {
  ADMIN_API_UNUSABLE,
  accountKind,
  decideMember,
  inviteOutcome,
} from '../../../../src/flows/membership/domain/lifecycle.js';

describe('membership lifecycle (domain)', () => {
  it('classifies accounts by their flags; bots and Slackbot are left out', () => {
    expect(accountKind({ id: 'U1' })).toBe('member');
    expect(accountKind({ id: 'U1', is_restricted: true })).toBe('guest');
    expect(accountKind({ id: 'U1', is_ultra_restricted: true })).toBe('guest');
    expect(accountKind({ id: 'U1', is_invited_user: true })).toBe('invited');
    expect(accountKind({ id: 'U1', deleted: true, is_invited_user: true })).toBe('deactivated');
    expect(accountKind({ id: 'B1', is_bot: true })).toBeUndefined();
    expect(accountKind({ id: 'USLACKBOT' })).toBeUndefined();
  });

  it('moves enrolled people PENDING → INVITED → ACCEPTED, and unenrolled ones to DEACTIVATED once their account is', () => {
    expect(decideMember('enrolled', undefined)).toEqual({ state: 'PENDING', action: 'invite' });
    expect(decideMember('enrolled', 'invited')).toEqual({ state: 'INVITED' });
    expect(decideMember('enrolled', 'member')).toEqual({ state: 'ACCEPTED' });
    expect(decideMember('enrolled', 'guest')).toEqual({ state: 'ACCEPTED' });
    expect(decideMember('enrolled', 'deactivated')).toEqual({ state: 'DEACTIVATED', action: 'reactivate' });
    expect(decideMember('unenrolled', 'member')).toEqual({ state: 'ACCEPTED', action: 'deactivate' });
    expect(decideMember('unenrolled', 'invited')).toEqual({ state: 'INVITED', action: 'deactivate' });
    expect(decideMember('unenrolled', 'deactivated')).toEqual({ state: 'DEACTIVATED' });
    expect(decideMember('unenrolled', undefined)).toEqual({ state: 'DEACTIVATED' });
  });

  it('reads admin.users.invite answers: pending or joined settle the state, other errors are failures', () => {
    expect(inviteOutcome(undefined)).toEqual({ outcome: 'invited', state: 'INVITED' });
    expect(inviteOutcome('already_in_team_invited_user')).toEqual({ outcome: 'already_invited', state: 'INVITED' });
    expect(inviteOutcome('already_in_team')).toEqual({ outcome: 'already_in_team', state: 'ACCEPTED' });
    expect(inviteOutcome('invalid_email')).toBeUndefined();
    expect(inviteOutcome('not_allowed_token_type')).toBeUndefined();
    // The token or the settings: no further invite can work; one person's address: only theirs.
    for (const code of ['not_allowed_token_type', 'feature_not_enabled', 'failed_to_validate_caller', 'token_revoked'])
      expect(ADMIN_API_UNUSABLE.has(code)).toBe(true);
    for (const code of ['invalid_email', 'user_disabled', 'ratelimited'])
      expect(ADMIN_API_UNUSABLE.has(code)).toBe(false);
  });
});
