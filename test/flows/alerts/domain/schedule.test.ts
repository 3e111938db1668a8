import { describe, expect, it } from 'vitest';
import type { ScheduleSpec } from '../../../../src/flows/alerts/contract.js';
import {
  handoffAt,
  localToInstant,
  onCallAt,
  parseLocalDateTime,
  whoIsOnCall,
} from '../../../../src/flows/alerts/domain/schedule.js';

const at = (iso: string) => Date.parse(iso);
const naive = (s: string) => parseLocalDateTime(s)!;

/** Weekly Monday 09:00 Berlin rotation, Bob then Carol, starting the week of the spring DST change. */
const berlin: ScheduleSpec = {
  name: 'primary',
  timeZone: 'Europe/Berlin',
  rotations: [{ people: ['U0BOB', 'U0CAROL'], start: '2026-03-23T09:00', shift: { unit: 'week', count: 1 } }],
  overrides: [],
};

describe('on-call schedules (pure, IANA zones through Intl)', () => {
  it('maps local wall times to instants across DST: gaps move forward, overlaps take the first', () => {
    // 2026-03-29 02:00 → 03:00 in Berlin: 02:30 does not exist, it happens at 03:30 CEST (01:30Z).
    expect(new Date(localToInstant('Europe/Berlin', naive('2026-03-29T02:30'))).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
    // 2026-10-25 03:00 → 02:00: 02:30 happens twice; the first (CEST, 00:30Z) is chosen.
    expect(new Date(localToInstant('Europe/Berlin', naive('2026-10-25T02:30'))).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
    expect(new Date(localToInstant('Europe/Berlin', naive('2026-01-10T09:00'))).toISOString()).toBe(
      '2026-01-10T08:00:00.000Z',
    );
    expect(new Date(localToInstant('America/New_York', naive('2026-03-08T02:15'))).toISOString()).toBe(
      '2026-03-08T07:15:00.000Z',
    );
    expect(new Date(localToInstant('Asia/Kolkata', naive('2026-06-01T09:00'))).toISOString()).toBe(
      '2026-06-01T03:30:00.000Z',
    );
  });

  it('a weekly handoff stays at 09:00 local across the spring change (the shift spanning it is 167 h)', () => {
    const h0 = handoffAt('Europe/Berlin', berlin.rotations[0]!, 0);
    const h1 = handoffAt('Europe/Berlin', berlin.rotations[0]!, 1);
    expect(new Date(h0).toISOString()).toBe('2026-03-23T08:00:00.000Z'); // 09:00 CET
    expect(new Date(h1).toISOString()).toBe('2026-03-30T07:00:00.000Z'); // 09:00 CEST
    expect((h1 - h0) / 3_600_000).toBe(167);
    // Bob until Monday 09:00 CEST, Carol from then: one minute either side of the handoff.
    expect(onCallAt(berlin, at('2026-03-30T06:59:00Z')).user).toBe('U0BOB');
    expect(onCallAt(berlin, at('2026-03-30T07:00:00Z')).user).toBe('U0CAROL');
    expect(onCallAt(berlin, at('2026-03-30T07:00:00Z')).until).toBe(at('2026-04-06T07:00:00Z'));
    // Sunday 02:30 local does not exist; the on-call person does not change at the DST jump.
    expect(onCallAt(berlin, at('2026-03-29T01:00:00Z')).user).toBe('U0BOB');
  });

  it('a 12 h rotation hands off at 09:00 and 21:00 local on both sides of the autumn change (one 13 h shift)', () => {
    const s: ScheduleSpec = {
      name: 'follow-the-sun',
      timeZone: 'Europe/Berlin',
      rotations: [{ people: ['U0BOB', 'U0CAROL'], start: '2026-10-24T09:00', shift: { unit: 'hour', count: 12 } }],
      overrides: [],
    };
    const r = s.rotations[0]!;
    const handoffs = [0, 1, 2, 3].map((k) => new Date(handoffAt('Europe/Berlin', r, k)).toISOString());
    expect(handoffs).toEqual([
      '2026-10-24T07:00:00.000Z', // 09:00 CEST
      '2026-10-24T19:00:00.000Z', // 21:00 CEST
      '2026-10-25T08:00:00.000Z', // 09:00 CET (the night shift spanning the change is 13 h)
      '2026-10-25T20:00:00.000Z', // 21:00 CET
    ]);
    expect(onCallAt(s, at('2026-10-25T01:30:00Z')).user).toBe('U0CAROL'); // inside the repeated hour
    expect(onCallAt(s, at('2026-10-25T08:00:00Z')).user).toBe('U0BOB');
  });

  it('nobody before the rotation starts; overrides win, later layers win over earlier ones', () => {
    expect(onCallAt(berlin, at('2026-03-01T12:00:00Z'))).toEqual({ until: at('2026-03-23T08:00:00Z') });
    const layered: ScheduleSpec = {
      ...berlin,
      rotations: [
        ...berlin.rotations,
        { people: ['U0ERIN'], start: '2026-04-04T00:00', shift: { unit: 'day', count: 2 } }, // a weekend layer from 4 April
      ],
      overrides: [{ user: 'U0DAVE', fromMs: at('2026-04-01T10:00:00Z'), toMs: at('2026-04-01T14:00:00Z') }],
    };
    expect(onCallAt(layered, at('2026-04-01T09:59:00Z')).user).toBe('U0CAROL');
    expect(onCallAt(layered, at('2026-04-01T10:00:00Z'))).toMatchObject({
      user: 'U0DAVE',
      via: 'override 1',
      until: at('2026-04-01T14:00:00Z'),
    });
    expect(onCallAt(layered, at('2026-04-01T14:00:00Z')).user).toBe('U0CAROL');
    expect(onCallAt(layered, at('2026-04-04T12:00:00Z'))).toMatchObject({ user: 'U0ERIN', via: 'rotation 2' });
  });

  it('whoIsOnCall names the next different person and when they take over', () => {
    const a = whoIsOnCall(berlin, at('2026-04-01T12:00:00Z'));
    expect(a.now.user).toBe('U0CAROL');
    expect(a.next).toEqual({ user: 'U0BOB', from: at('2026-04-06T07:00:00Z'), until: at('2026-04-13T07:00:00Z') });
    const solo: ScheduleSpec = { ...berlin, rotations: [{ ...berlin.rotations[0]!, people: ['U0BOB'] }] };
    expect(whoIsOnCall(solo, at('2026-04-01T12:00:00Z')).next).toBeUndefined(); // always Bob: no "next"
  });

  it('parses only real local times', () => {
    expect(parseLocalDateTime('2026-02-30T09:00')).toBeUndefined();
    expect(parseLocalDateTime('2026-02-01T24:00')).toBeUndefined();
    expect(parseLocalDateTime('2026-02-01 09:00')).toBeUndefined();
    expect(parseLocalDateTime('2026-02-01T09:00')).toBe(Date.UTC(2026, 1, 1, 9));
  });
});
