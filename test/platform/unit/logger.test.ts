import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/platform/observability/logger.js';

/** Logs `obj` through the app's logger and returns the JSON line as written. */
function logged(obj: Record<string, unknown>): string {
  const lines: string[] = [];
  createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } }).info(obj, 'probe');
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('log redaction (issue 18: secrets redacted in logs)', () => {
  const config = loadConfig({
    THREADLINE_SANDBOX: 'true',
    SLACK_BOT_TOKEN: 'xoxb-probe-bot-token',
    SLACK_SIGNING_SECRET: 'probe-signing-secret',
    THREADLINE_API_KEYS: 'tl_probe_api_key',
    TEMPORAL_API_KEY: 'probe-temporal-cloud-key',
    DATABASE_URL: 'postgres://u:probe-db-password@db:5432/x',
    RAZORPAY_WEBHOOK_SECRET: 'probe-razorpay-secret',
    APPROVAL_CALLBACK_SECRET: 'probe-callback-secret',
    JIRA_API_TOKEN: 'probe-jira-token',
    JIRA_WEBHOOK_SECRET: 'probe-jira-webhook-secret',
  });
  const secrets = [/probe-/, /tl_probe/, /xoxb-/];

  it('a whole config logged by mistake shows no secret (nested to any depth the config has)', () => {
    const line = logged({ config });
    for (const s of secrets) expect(line).not.toMatch(s);
    expect(line).toContain('"botToken":"[redacted]"');
    expect(line).toContain('"payloadKeys":"[redacted]"');
    expect(line).toContain('"apiKeys":"[redacted]"');
    // What is not secret stays readable.
    expect(line).toContain('"namespace":"default"');
  });

  it('request headers carrying credentials or signatures are blanked, at the top or nested', () => {
    const headers = {
      authorization: 'Bearer tl_probe_api_key',
      cookie: 'session=probe-cookie',
      'x-slack-signature': 'v0=probe-slack-signature',
      'x-razorpay-signature': 'probe-razorpay-signature',
      'x-hub-signature': 'sha256=probe-hub-signature',
      'x-threadline-signature': 'sha256=probe-callback-signature',
      'stripe-signature': 't=1,v1=probe-stripe-signature',
      'content-type': 'application/json',
    };
    for (const obj of [{ headers }, { req: { headers } }, { err: { request: { headers } } }]) {
      const line = logged(obj);
      for (const s of secrets) expect(line).not.toMatch(s);
      expect(line).toContain('application/json');
    }
    // An HTTP client error carrying its request config (axios-style, capitalised header).
    const line = logged({ err: { config: { headers: { Authorization: 'Bearer xoxb-probe' } } } });
    expect(line).not.toMatch(/xoxb-/);
  });

  it('bearer capabilities (response_url, callback URLs) are blanked like secrets', () => {
    const line = logged({
      input: {
        responseUrl: 'https://hooks.slack.com/actions/T0/probe-capability',
        callbackUrl: 'https://x/?t=probe-cb',
      },
      payload: { response_url: 'https://hooks.slack.com/commands/T0/probe-capability' },
    });
    for (const s of secrets) expect(line).not.toMatch(s);
  });
});
