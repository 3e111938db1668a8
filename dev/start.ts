import { ConfigError, loadConfig } from '../src/config.js';
import { PortInUseError } from '../src/platform/infra/ports.js';
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
      ` Console         ${u.api}/console   (log in with an API key)`,
      ` Temporal        ${u.temporal}${config.temporal.address ? ' (external)' : ' (embedded dev server)'}`,
      ` Temporal UI     ${u.temporalUi ?? '(external: see your cluster)'}`,
      ` Postgres        ${redactDatabaseUrl(u.databaseUrl)}${config.databaseUrl ? '' : ' (embedded)'}`,
      ...(u.slackEmulator
        ? [` Sandbox Slack   ${u.slackEmulator}/   (open in a browser; admin: /_admin/…, Web API: /api/…)`]
        : []),
      ...(u.jiraEmulator
        ? [` Sandbox Jira    ${u.jiraEmulator}/   (open in a browser; admin: /_admin/…, REST: /rest/api/3/…)`]
        : []),
      ` Data directory  ${u.dataDir}`,
      ...(config.sandbox ? [` API key         ${config.apiKeys[0] ?? '(none)'} (sandbox default)`] : []),
      line,
    ].join('\n'),
  );

  let stopping = false;
  let firstSignalAt = 0;
  const stop = (why: string, code: number) => {
    stopping = true;
    firstSignalAt = Date.now();
    log(`${why}: shutting down in order (API stops accepting, worker drains, then emulators and engines)…`);
    stack.stop().then(
      () => {
        log('Stopped cleanly.');
        process.exit(code);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) return stop(signal, 0);
    // The terminal hanging up (its shell exited) is not the user asking again: keep stopping in order.
    if (signal === 'SIGHUP') return;
    // One Ctrl-C can arrive twice: the terminal signals the whole foreground group and npm also
    // forwards it to its child. Only a signal well after the first is a second request.
    if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
    log('Second signal: exiting now without waiting for the worker to drain; the engines are stopped');
    // process.exit runs the engines' exit hooks (their stop signal) and closes the watchdogs'
    // pipes, which then make sure the engines' process groups are gone.
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  stack.workerDone.catch((err: unknown) => {
    if (stopping) return;
    console.error('The worker crashed:', err);
    stop('worker crashed', 1);
  });
}

/** Signals closer together than this are one request delivered twice (terminal + npm's relay). */
const DUPLICATE_SIGNAL_MS = 1000;

// After a terminal hang-up, writes to it fail (EIO/EPIPE); an unhandled stream error would crash
// the shutdown half-way and leave the engines to their watchdogs.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError || err instanceof PortInUseError ? err.message : err);
  process.exit(1);
});
