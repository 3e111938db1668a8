import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SLACK_EMULATOR_PORT, SANDBOX_DEFAULTS } from '../shared/defaults.js';
import { slackSeedSchema } from './seed.js';
import { startSlackEmulator } from './server.js';

/** Standalone Slack emulator (`npm run emulator:slack`), configured from the same env names as the app. */
async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const appBase = (env.THREADLINE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const seed = env.SLACK_EMULATOR_SEED
    ? slackSeedSchema.parse(JSON.parse(readFileSync(env.SLACK_EMULATOR_SEED, 'utf8')))
    : undefined;
  const logger = { info: (...a: unknown[]) => console.log(...a), warn: (...a: unknown[]) => console.warn(...a) };
  const emulator = await startSlackEmulator({
    port: env.SLACK_EMULATOR_PORT ? Number(env.SLACK_EMULATOR_PORT) : DEFAULT_SLACK_EMULATOR_PORT,
    botToken: env.SLACK_BOT_TOKEN || SANDBOX_DEFAULTS.SLACK_BOT_TOKEN,
    signingSecret: env.SLACK_SIGNING_SECRET || SANDBOX_DEFAULTS.SLACK_SIGNING_SECRET,
    appUrls: {
      events: `${appBase}/slack/events`,
      interactivity: `${appBase}/slack/interactions`,
      commands: `${appBase}/slack/commands`,
    },
    rateLimits: env.SLACK_EMULATOR_RATE_LIMITS !== 'false',
    ...(seed ? { seed } : {}),
    ...(env.DATA_DIR ? { snapshotPath: join(env.DATA_DIR, 'slack-emulator.json') } : {}),
    logger,
  });
  console.log(`Slack emulator: ${emulator.url} (Web API ${emulator.apiUrl}, delivering to ${appBase})`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`Slack emulator: ${signal}, stopping`);
    emulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
