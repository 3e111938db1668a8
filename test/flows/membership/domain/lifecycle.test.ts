import { describe, expect, it } from 'vitest';
import { accountKind, decideMember } from '../../../../src/flows/membership/domain/lifecycle.js';

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
});
