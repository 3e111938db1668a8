import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../../src/config.js';
import type { AlertsConfig } from '../../../../src/flows/alerts/config.js';

const alerts = (env: Record<string, string>) =>
  loadConfig({ THREADLINE_SANDBOX: 'true', ...env }).flows.alerts as AlertsConfig;
const problems = (env: Record<string, string>) => {
  try {
    loadConfig({ THREADLINE_SANDBOX: 'true', ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('alerts config (ALERTS_CONFIG validated by zod at start-up)', () => {
  it('sandbox defaults: the documented token, #ops-alerts, a paging policy over the primary rotation', () => {
    const c = alerts({});
    expect(c.alertmanagerToken).toBe('tl_sandbox_alerts');
    expect(c.settings.default.channel).toBe('C0OPSALERT');
    expect(c.settings.routes[0]).toMatchObject({ name: 'critical', policy: 'default' });
    expect(c.settings.schedules.primary?.timeZone).toBe('Europe/London');
  });
  it('outside the sandbox the token is unset (webhook answers 503) and the default channel is required', () => {
    const base = {
      THREADLINE_SANDBOX: 'false',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SLACK_CHANNEL_OPS: 'C0OPS',
      THREADLINE_PAYLOAD_KEYS: 'k:dGhyZWFkbGluZS1zYW5kYm94LXBheWxvYWQta2V5ISE=',
      THREADLINE_API_KEYS: 'production-key-1',
    };
    // Not using alerts (no token, no ALERTS_CONFIG) needs no alert channel; using them does.
    expect(problems(base)).not.toContain('SLACK_CHANNEL_OPS_ALERTS');
    expect(problems({ ...base, ALERTMANAGER_WEBHOOK_TOKEN: 'am-token-1' })).toContain(
      'SLACK_CHANNEL_OPS_ALERTS: required',
    );
  });
  it('names every bad path and cross-reference at once', () => {
    const cfg = {
      routes: [{ name: 'r1', match: { severity: ['critical'] }, channel: 'C0OPSALERT', policy: 'nope' }],
      teams: { data: { webhook: 'missing' } },
      policies: {
        p: { steps: [{ delay: '5x', targets: [{ schedule: 'ghost' }] }] },
        q: { steps: [{ delay: '5m', targets: [{ schedule: 'ghost' }] }] },
      },
      schedules: {
        s: { timeZone: 'Mars/Olympus', rotations: [{ people: ['U0BOB'], start: '2026-02-30T09:00', length: '1w' }] },
      },
      actions: { a: { description: 'x', url: 'http://example.com/hook' } },
    };
    const p = problems({ ALERTS_CONFIG: JSON.stringify(cfg) });
    expect(p).toContain('ALERTS_CONFIG: policies.p.steps.0.delay: a duration like');
    expect(p).toContain('ALERTS_CONFIG: schedules.s.timeZone: an IANA time zone');
    expect(p).toContain('ALERTS_CONFIG: schedules.s.rotations.0.start');
    const p2 = problems({
      ALERTS_CONFIG: JSON.stringify({ ...cfg, policies: { q: cfg.policies.q }, schedules: {} }),
    });
    expect(p2).toContain('routes.0.policy: no policy "nope"');
    expect(p2).toContain('teams.data.webhook: no incoming webhook "missing"');
    expect(p2).toContain('policies.q.steps.0.targets.0.schedule: no schedule "ghost"');
    expect(p2).toContain('actions.a.url: must be https');
    expect(p2).toContain('actions.a: needs people or groups');
    expect(problems({ ALERTS_CONFIG: '{oops' })).toContain('ALERTS_CONFIG: not valid JSON');
  });
  it('incoming-webhook URLs are secrets: a bad entry is named, never echoed', () => {
    const p = problems({ ALERTS_INCOMING_WEBHOOK_SECRETS: 'data=ftp://hooks.example.com/T/B/secretpart' });
    expect(p).toContain('ALERTS_INCOMING_WEBHOOK_SECRETS: "data" is not an https URL');
    expect(p).not.toContain('secretpart');
    const ok = alerts({ ALERTS_INCOMING_WEBHOOK_SECRETS: 'data=https://hooks.slack.com/services/T/B/x' });
    expect(ok.incomingWebhooks).toEqual({ data: 'https://hooks.slack.com/services/T/B/x' });
  });
});
