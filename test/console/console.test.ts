import { describe, expect, it } from 'vitest';
import {
  consoleSessions,
  LOGIN_ATTEMPTS,
  LOGIN_WINDOW_MS,
  loginThrottle,
  SESSION_TTL_MS,
} from '../../src/console/session.js';
import { lifecycleFilter, slackThreadUrl, visibilityQuery } from '../../src/console/lifecycles.js';
import { auditCsv, auditFilter, type FailureRow } from '../../src/console/audit.js';
import { retryability } from '../../src/console/retry.js';
import { html } from '../../src/console/html.js';

const KEY = 'tl_key_one_0123456789';
const OTHER = 'tl_key_two_9876543210';

describe('console sessions (signed with the API key that opened them)', () => {
  it('a session opened with a valid key verifies, carries no key, and has a form token of its own', () => {
    const s = consoleSessions([OTHER, KEY]);
    expect(s.keyMatching(KEY)).toBe(KEY);
    expect(s.keyMatching('tl_key_one_012345678')).toBeUndefined();
    const a = s.open(KEY);
    const b = s.open(KEY);
    expect(a.cookie).not.toContain(KEY);
    expect(s.verify(a.cookie)).toEqual(a.session);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(s.csrfValid(a.session, a.session.csrf)).toBe(true);
    expect(s.csrfValid(a.session, b.session.csrf)).toBe(false);
    expect(s.csrfValid(a.session, undefined)).toBe(false);
  });

  it('tampered, expired, malformed cookies and those of a removed key are no session', () => {
    let now = 1_000_000;
    const s = consoleSessions([KEY], () => now);
    const { cookie } = s.open(KEY);
    const parts = cookie.split('.');
    const later = [...parts.slice(0, 2), String(Number(parts[2]) + 3600_000), ...parts.slice(3)].join('.');
    expect(s.verify(later)).toBeUndefined();
    expect(s.verify(cookie.slice(0, -1) + (cookie.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(s.verify('')).toBeUndefined();
    expect(s.verify(undefined)).toBeUndefined();
    expect(s.verify(`${cookie}.x`)).toBeUndefined();
    expect(consoleSessions([OTHER], () => now).verify(cookie)).toBeUndefined();
    now += SESSION_TTL_MS - 1;
    expect(s.verify(cookie)).toBeDefined();
    now += 1;
    expect(s.verify(cookie)).toBeUndefined();
  });
});

describe('console lifecycle list', () => {
  it('builds the visibility query for its own task queue, and refuses filter values that could change it', () => {
    const f = lifecycleFilter.parse({ kind: 'payment', status: 'pending', q: 'payment:order_1' });
    expect(visibilityQuery('tq-1', f)).toBe(
      "TaskQueue = 'tq-1' AND ThreadlineKind IS NOT NULL AND ThreadlineKind = 'payment' AND " +
        "ThreadlineStatus = 'pending' AND ThreadlineSubject STARTS_WITH 'payment:order_1'",
    );
    expect(visibilityQuery('tq-1', lifecycleFilter.parse({ kind: '', q: '  ' }))).toBe(
      "TaskQueue = 'tq-1' AND ThreadlineKind IS NOT NULL",
    );
    for (const bad of [{ q: "x' OR 1=1" }, { kind: 'Payment' }, { status: 'a b' }, { q: 'x'.repeat(121) }])
      expect(lifecycleFilter.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('links a thread to Slack itself or to the sandbox view, by the API base URL', () => {
    expect(slackThreadUrl('https://slack.com/api/', 'C0PAY', '1700000000.000100')).toBe(
      'https://slack.com/archives/C0PAY/p1700000000000100?thread_ts=1700000000.000100&cid=C0PAY',
    );
    expect(slackThreadUrl('http://127.0.0.1:3101/api/', 'C0PAY', '1700000000.000100')).toBe(
      'http://127.0.0.1:3101/archives/C0PAY/p1700000000000100?thread_ts=1700000000.000100&cid=C0PAY',
    );
  });
});

describe('console audit export and markup', () => {
  it('writes RFC 4180 CSV, JSON columns, and neutralises spreadsheet formulas', () => {
    const csv = auditCsv([
      {
        id: '1',
        occurredAt: '2026-12-01T10:00:00.000Z',
        subject: 'payment:o1',
        action: 'payment.slack_failed',
        actor: { kind: 'system' },
        outcome: 'failed',
        details: { error: 'channel_not_found', note: 'a "quoted", comma' },
        idempotencyKey: 'k',
      },
      {
        id: '2',
        occurredAt: '2026-12-01T10:00:01.000Z',
        subject: 'payment:o1',
        action: 'payment.note',
        actor: { kind: 'slack_user', id: '=HYPERLINK("x")' },
        outcome: 'ok',
        idempotencyKey: 'k2',
      },
    ]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(
      'occurred_at,action,actor_kind,actor_id,outcome,source_system,target_system,workflow_id,run_id,before,after,details',
    );
    expect(lines[1]).toBe(
      '2026-12-01T10:00:00.000Z,payment.slack_failed,system,,failed,,,,,,,"{""error"":""channel_not_found"",""note"":""a \\""quoted\\"", comma""}"',
    );
    expect(lines[2]).toContain(`,slack_user,"'=HYPERLINK(""x"")",ok,`);
    expect(lines[3]).toBe('');
  });

  it('refuses audit filters it does not know, and escapes whatever it renders', () => {
    expect(auditFilter.safeParse({ outcome: 'weird' }).success).toBe(false);
    expect(auditFilter.parse({ action: ' slack_failed ', outcome: '' })).toEqual({
      action: 'slack_failed',
      outcome: undefined,
    });
    expect(html`<td title="${'"><script>'}">${'<b>&'}</td>`.value).toBe(
      '<td title="&quot;&gt;&lt;script&gt;">&lt;b&gt;&amp;</td>',
    );
  });
});

describe('console login throttle', () => {
  it('after the allowed failures a client waits out the window; other clients are not affected', () => {
    let now = 5_000_000;
    const t = loginThrottle(() => now);
    for (let i = 0; i < LOGIN_ATTEMPTS - 1; i++) t.failed('10.0.0.1');
    expect(t.blockedFor('10.0.0.1')).toBe(0);
    t.failed('10.0.0.1');
    expect(t.blockedFor('10.0.0.1')).toBe(LOGIN_WINDOW_MS);
    expect(t.blockedFor('10.0.0.2')).toBe(0);
    now += LOGIN_WINDOW_MS - 1;
    expect(t.blockedFor('10.0.0.1')).toBe(1);
    now += 1;
    expect(t.blockedFor('10.0.0.1')).toBe(0);
  });
});

describe('console Retry: which failed deliveries can run again', () => {
  const row = (over: Partial<FailureRow> = {}): FailureRow => ({
    id: '7',
    occurredAt: '2026-12-01T10:00:00.000Z',
    subject: 'payment:o1',
    action: 'payment.slack_failed',
    targetSystem: 'slack',
    step: 'event:evt_1',
    error: 'is_archived',
    reason: 'permanent',
    message: undefined,
    runId: 'run-1',
    retry: undefined,
    ...over,
  });

  it('a step of the open run that failed is retryable, also after a retry that failed again', () => {
    expect(retryability(row(), 'run-1')).toEqual({ kind: 'retryable' });
    expect(retryability(row({ retry: { outcome: 'failed', at: '2026-12-01T10:05:00.000Z' } }), 'run-1').kind).toBe(
      'retryable',
    );
  });

  it('says why not: retried already, closed, an earlier run, not a step (alerts that could not be sent, other rows)', () => {
    expect(retryability(row({ retry: { outcome: 'ok', at: '2026-12-01T10:05:00.000Z' } }), 'run-1')).toEqual({
      kind: 'retried',
      at: '2026-12-01T10:05:00.000Z',
    });
    const why = (r: FailureRow, open: string | undefined) => {
      const a = retryability(r, open);
      return a.kind === 'not_retryable' ? a.why : a.kind;
    };
    expect(why(row(), undefined)).toMatch(/lifecycle is closed/);
    expect(why(row(), 'run-2')).toMatch(/new run since/);
    expect(why(row({ action: 'ops.alert_failed' }), 'run-1')).toMatch(/ops alert that could not be sent/);
    expect(why(row({ action: 'payment.ops_alert_failed' }), 'run-1')).toMatch(/ops alert/);
    expect(why(row({ step: undefined }), 'run-1')).toMatch(/Only a lifecycle step/);
    expect(why(row({ action: 'report.collect_failed' }), 'run-1')).toMatch(/Only a lifecycle step/);
  });
});
