import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SANDBOX_CREDENTIALS } from '../../../src/config.js';
import { SANDBOX_DEFAULTS } from '../../../emulators/shared/defaults.js';
import { paymentsFlow } from '../../../src/flows/payments/flow.js';
import { flowConfigOf } from '../../../src/platform/flow.js';
import { PRODUCTION_CHANNELS } from '../../helpers/production-env.js';

/** The error `fn` throws; fails the test when it does not throw. */
function captureError(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** Every routing channel (and the payload key) a non-sandbox config requires. */
const CHANNELS = PRODUCTION_CHANNELS;

describe('loadConfig', () => {
  it('defaults to sandbox mode with emulator URLs and documented credentials when nothing is set', () => {
    const c = loadConfig({});
    expect(c.sandbox).toBe(true);
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe('.data');
    expect(c.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'threadline' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.slack.apiUrl).toBe('http://127.0.0.1:3101/api/');
    expect(c.slack.botToken).toBe(SANDBOX_CREDENTIALS.SLACK_BOT_TOKEN);
    expect(c.jira?.host).toBe('http://127.0.0.1:3102');
    expect(flowConfigOf(c, paymentsFlow).channels.payments).toBe('C0PAYMENTS');
    expect(c.slack.opsChannel).toBe('C0OPSALERT');
    expect(c.apiKeys).toEqual(['tl_sandbox_key']);
  });

  it('the emulators and the app agree on the sandbox credentials', () => {
    for (const [k, v] of Object.entries(SANDBOX_DEFAULTS)) {
      expect(SANDBOX_CREDENTIALS[k as keyof typeof SANDBOX_CREDENTIALS]).toBe(v);
    }
  });

  it('sandbox mode still uses the credentials given in the env (emulators accept the same ones)', () => {
    const c = loadConfig({ THREADLINE_SANDBOX: 'true', SLACK_BOT_TOKEN: 'xoxb-mine', SLACK_SIGNING_SECRET: 'mine' });
    expect(c.sandbox).toBe(true);
    expect(c.slack.botToken).toBe('xoxb-mine');
    expect(c.slack.apiUrl).toBe('http://127.0.0.1:3101/api/');
  });

  it('real credentials switch sandbox off and then require every Slack setting, naming each variable', () => {
    const err = captureError(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-real' }));
    expect(err).toBeInstanceOf(ConfigError);
    const msg = err.message;
    expect(msg).toContain('SLACK_SIGNING_SECRET: required');
    expect(msg).toContain('SLACK_CHANNEL_PAYMENTS: required');
    expect(msg).not.toContain('xoxb-real');
  });

  it('a production config points at real Slack and the given Jira', () => {
    const c = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-real',
      SLACK_SIGNING_SECRET: 's',
      ...CHANNELS,
      JIRA_HOST: 'https://acme.atlassian.net',
      JIRA_EMAIL: 'bot@acme.com',
      JIRA_API_TOKEN: 't',
      THREADLINE_API_KEYS: 'k_12345678, k_abcdefgh',
      TEMPORAL_ADDRESS: 'temporal:7233',
      DATABASE_URL: 'postgres://u:p@db:5432/threadline',
    });
    expect(c.sandbox).toBe(false);
    expect(c.slack.apiUrl).toBe('https://slack.com/api/');
    expect(c.jira).toMatchObject({ host: 'https://acme.atlassian.net', webhookSecret: undefined });
    expect(c.apiKeys).toEqual(['k_12345678', 'k_abcdefgh']);
    expect(c.temporal.address).toBe('temporal:7233');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ THREADLINE_SANDBOX: 'maybe' }, 'THREADLINE_SANDBOX'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SLACK_CHANNEL_PAYMENTS: '#payments' }, 'SLACK_CHANNEL_PAYMENTS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ THREADLINE_API_KEYS: 'short' }, 'THREADLINE_API_KEYS'],
    [{ TEMPORAL_TLS_CERT_PATH: '/x.pem' }, 'TEMPORAL_TLS_CERT_PATH'],
  ])('rejects %j naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`${name}`));
  });

  it('parses booleans as words, not as JS truthiness ("false" is false)', () => {
    expect(
      loadConfig({
        THREADLINE_SANDBOX: 'false',
        SLACK_BOT_TOKEN: 'x',
        SLACK_SIGNING_SECRET: 's',
        ...CHANNELS,
      }).sandbox,
    ).toBe(false);
  });

  it('never echoes a secret value in an error', () => {
    expect(() => loadConfig({ DATABASE_URL: 'not a url with password hunter2' })).toThrow(/DATABASE_URL/);
    const err = captureError(() => loadConfig({ DATABASE_URL: 'not a url with password hunter2' }));
    expect(err.message).not.toContain('hunter2');
  });
});
