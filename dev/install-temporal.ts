import { ensureTemporalCli } from '../src/platform/infra/temporal-cli.js';

/** `npm run temporal:install` (also run before `npm test`): find or build the Temporal CLI once per machine. */
if (process.env.TEMPORAL_ADDRESS) {
  console.log('[threadline] TEMPORAL_ADDRESS is set: not building the Temporal CLI');
} else {
  const path = await ensureTemporalCli((m) => console.log(`[threadline] ${m}`)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
  console.log(`[threadline] Temporal CLI: ${path}`);
}
