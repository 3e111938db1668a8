import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_JIRA_EMULATOR_PORT, SANDBOX_DEFAULTS } from '../shared/defaults.js';
import { jiraSeedSchema } from './seed.js';
import { startJiraEmulator } from './server.js';

/** Standalone Jira Cloud emulator: `npm run emulator:jira`. */
const env = process.env;
const appUrl = (env.THREADLINE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
const seed = env.JIRA_EMULATOR_SEED
  ? jiraSeedSchema.parse(JSON.parse(readFileSync(env.JIRA_EMULATOR_SEED, 'utf8')))
  : undefined;
const logger = {
  info: (...a: unknown[]) => console.log(...a),
  warn: (...a: unknown[]) => console.warn(...a),
};

const emulator = await startJiraEmulator({
  port: env.JIRA_EMULATOR_PORT ? Number(env.JIRA_EMULATOR_PORT) : DEFAULT_JIRA_EMULATOR_PORT,
  email: env.JIRA_EMAIL || SANDBOX_DEFAULTS.JIRA_EMAIL,
  apiToken: env.JIRA_API_TOKEN || SANDBOX_DEFAULTS.JIRA_API_TOKEN,
  webhookSecret: env.JIRA_WEBHOOK_SECRET || SANDBOX_DEFAULTS.JIRA_WEBHOOK_SECRET,
  webhookUrls: [`${appUrl}/webhooks/jira`],
  rateLimits: env.JIRA_EMULATOR_RATE_LIMITS !== 'false',
  ...(seed ? { seed } : {}),
  ...(env.DATA_DIR ? { snapshotPath: join(env.DATA_DIR, 'jira-emulator.json') } : {}),
  logger,
});
console.log(`Jira emulator: ${emulator.url} (webhooks -> ${appUrl}/webhooks/jira, admin: ${emulator.url}/_admin)`);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`Jira emulator: ${signal}, stopping`);
  emulator.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
