import { ConfigError, loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { redactDatabaseUrl, startStack } from './stack.js';

/** `npm start`: the whole stack with embedded defaults, until Ctrl-C. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const log = (msg: string) => console.log(`[threadline] ${msg}`);
  log(`Starting Threadline (${config.sandbox ? 'sandbox: Slack and Jira emulators' : 'real Slack/Jira'})…`);
  const stack = await startStack({ config, logger, log });
  const u = stack.urls;
  const line = '─'.repeat(72);
  console.log(
    [
      line,
      ' Threadline is running. Ctrl-C to stop.',
      line,
      ` API             ${u.api}   (GET /readyz, /metrics)`,
      ` Temporal        ${u.temporal}${config.temporal.address ? ' (external)' : ' (embedded dev server)'}`,
      ` Temporal UI     ${u.temporalUi ?? '(external: see your cluster)'}`,
      ` Postgres        ${redactDatabaseUrl(u.databaseUrl)}${config.databaseUrl ? '' : ' (embedded)'}`,
      ...(u.slackEmulator ? [` Slack emulator  ${u.slackEmulator}   (admin: /_admin/…, Web API: /api/…)`] : []),
      ...(u.jiraEmulator ? [` Jira emulator   ${u.jiraEmulator}   (admin: /_admin/…, REST: /rest/api/3/…)`] : []),
      ` Data directory  ${u.dataDir}`,
      ...(config.sandbox ? [` API key         ${config.apiKeys[0] ?? '(none)'} (sandbox default)`] : []),
      line,
    ].join('\n'),
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      log('Second signal: exiting immediately');
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: shutting down (API stops accepting, worker drains, servers stop)…`);
    stack.stop().then(
      () => {
        log('Stopped cleanly.');
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
