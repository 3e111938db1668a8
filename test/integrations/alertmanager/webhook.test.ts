import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyAlertmanagerAuth } from '../../../src/integrations/alertmanager/auth.js';
import { alertmanagerOccurrenceId, alertmanagerWebhookSchema } from '../../../src/integrations/alertmanager/webhook.js';

const sample = JSON.parse(
  readFileSync(new URL('../../fixtures/alertmanager/firing.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

describe('Alertmanager webhook v4 (wire schema)', () => {
  it('accepts the real payload sample', () => {
    const r = alertmanagerWebhookSchema.safeParse(sample);
    expect(r.success).toBe(true);
    const a = r.data!.alerts[0]!;
    expect(a).toMatchObject({ status: 'firing', fingerprint: '5b3c2a4f9e1d7a60', endsAt: '0001-01-01T00:00:00Z' });
    expect(alertmanagerOccurrenceId(a)).toBe('5b3c2a4f9e1d7a60@2026-11-30T08:12:41.512Z');
  });
  it('names the offending field', () => {
    const bad = (patch: (b: Record<string, unknown> & { alerts: Record<string, unknown>[] }) => void) => {
      const b = structuredClone(sample) as Record<string, unknown> & { alerts: Record<string, unknown>[] };
      patch(b);
      const r = alertmanagerWebhookSchema.safeParse(b);
      expect(r.success).toBe(false);
      return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad((b) => (b.version = '3'))).toMatch(/^version: only webhook version "4"/);
    expect(bad((b) => (b.alerts[0]!.fingerprint = 'zz'))).toMatch(/^alerts\.0\.fingerprint: a hex fingerprint/);
    expect(bad((b) => (b.alerts[0]!.startsAt = 'yesterday'))).toMatch(/^alerts\.0\.startsAt/);
    expect(bad((b) => (b.alerts[0]!.status = 'pending'))).toMatch(/^alerts\.0\.status/);
    expect(bad((b) => (b.alerts = []))).toMatch(/^alerts: at least one alert/);
    expect(bad((b) => ((b.alerts[0]!.labels as Record<string, string>)['bad-name'] = 'x'))).toMatch(
      /alerts\.0\.labels/,
    );
  });
});

describe('Alertmanager http_config authentication', () => {
  const token = 'tl_sandbox_alerts';
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  it('accepts authorization.credentials (Bearer) and basic_auth (the password is the token)', () => {
    expect(verifyAlertmanagerAuth({ authorization: `Bearer ${token}`, token })).toEqual({ ok: true, scheme: 'bearer' });
    expect(verifyAlertmanagerAuth({ authorization: `bearer ${token}`, token })).toEqual({ ok: true, scheme: 'bearer' });
    expect(verifyAlertmanagerAuth({ authorization: basic('alertmanager', token), token })).toEqual({
      ok: true,
      scheme: 'basic',
    });
    expect(verifyAlertmanagerAuth({ authorization: basic('', `${token}`), token })).toEqual({
      ok: true,
      scheme: 'basic',
    });
  });
  it('refuses missing, malformed and wrong credentials', () => {
    expect(verifyAlertmanagerAuth({ authorization: undefined, token })).toEqual({
      ok: false,
      reason: 'missing_credentials',
    });
    expect(verifyAlertmanagerAuth({ authorization: 'Token abc', token })).toEqual({
      ok: false,
      reason: 'malformed_credentials',
    });
    expect(
      verifyAlertmanagerAuth({ authorization: `Basic ${Buffer.from('nocolon').toString('base64')}`, token }),
    ).toEqual({ ok: false, reason: 'malformed_credentials' });
    expect(verifyAlertmanagerAuth({ authorization: 'Bearer tl_sandbox_alertz', token })).toEqual({
      ok: false,
      reason: 'bad_credentials',
    });
    expect(verifyAlertmanagerAuth({ authorization: basic(token, 'x'), token })).toEqual({
      ok: false,
      reason: 'bad_credentials',
    });
  });
});
