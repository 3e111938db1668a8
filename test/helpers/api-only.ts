import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { startApi, type RunningApi } from '../../src/api/server.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { createMetrics } from '../../src/platform/observability/metrics.js';
import './provided.js';

/** Credentials that switch the sandbox off (no emulator is started; nothing here calls Slack). */
const PRODUCTION_LIKE_ENV = {
  THREADLINE_SANDBOX: 'false',
  SLACK_BOT_TOKEN: 'xoxb-test-not-a-real-token',
  SLACK_SIGNING_SECRET: 'test-signing-secret',
  SLACK_CHANNEL_PAYMENTS: 'C0PAYMENTS',
  SLACK_CHANNEL_PART_PAYMENTS: 'C0PARTPAY',
  SLACK_CHANNEL_APPROVALS: 'C0APPROVAL',
  SLACK_CHANNEL_ESCALATIONS: 'C0ESCALATE',
  SLACK_CHANNEL_OPS: 'C0OPSALERT',
  THREADLINE_API_KEYS: 'tl_test_api_key_0001',
  // Payload encryption keys are required outside the sandbox once the codec is in (ignored before).
  THREADLINE_PAYLOAD_KEYS: `test:${Buffer.alloc(32, 7).toString('base64')}`,
};

/**
 * The API alone (no worker, no emulators) against the shared Temporal and Postgres, for claims
 * about what routes answer before any workflow work: e.g. a flow whose secret is not configured.
 * `sandbox: false` starts from a production-like config; `env` overrides it.
 */
export async function startApiOnly(
  opts: { sandbox?: boolean; env?: Record<string, string> } = {},
): Promise<{ api: RunningApi; config: Config; auth: { authorization: string } }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
    ...(opts.sandbox === false ? PRODUCTION_LIKE_ENV : { THREADLINE_SANDBOX: 'true' }),
    ...opts.env,
  });
  const api = await startApi({
    config,
    databaseUrl: inject('databaseUrl'),
    temporalAddress: inject('temporalAddress'),
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(),
    port: 0,
  });
  return { api, config, auth: { authorization: `Bearer ${config.apiKeys[0]!}` } };
}
