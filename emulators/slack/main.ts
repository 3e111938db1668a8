import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SLACK_EMULATOR_PORT, SANDBOX_DEFAULTS } from '../shared/defaults.js';
import { ADMIN_USER_SCOPES, SANDBOX_ADMIN_USER_TOKEN, slackSeedSchema } from './seed.js';
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
    // The sandbox admin's user token (admin.users.invite) exists only in the built-in workspace.
    ...(seed
      ? {}
      : {
          userTokens: [
            {
              token: env.SLACK_ADMIN_USER_TOKEN || SANDBOX_ADMIN_USER_TOKEN,
              user: 'U0ALICE',
              scopes: ADMIN_USER_SCOPES,
            },
          ],
        }),
    ...(env.SLACK_APP_TOKEN ? { appToken: env.SLACK_APP_TOKEN } : {}),
    // An app-level token means the app will connect over Socket Mode, unless told otherwise.
    socketMode:
      env.SLACK_EMULATOR_SOCKET_MODE === 'true' ||
      (!!env.SLACK_APP_TOKEN && env.SLACK_EMULATOR_SOCKET_MODE !== 'false'),
    oauth: {
      ...(env.SLACK_CLIENT_ID ? { clientId: env.SLACK_CLIENT_ID } : {}),
      ...(env.SLACK_CLIENT_SECRET ? { clientSecret: env.SLACK_CLIENT_SECRET } : {}),
      redirectUris: [`${appBase}/slack/oauth_redirect`],
      tokenRotation: env.SLACK_EMULATOR_TOKEN_ROTATION === 'true',
    },
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
