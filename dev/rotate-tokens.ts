import { ConfigError, loadConfig } from '../src/config.js';
import { createPool } from '../src/platform/db/pool.js';
import { installationsRepo } from '../src/platform/installations/store.js';
import { createTokenCipher } from '../src/platform/installations/token-cipher.js';

/**
 * `npm run tokens:rotate`: after a new key was put first in THREADLINE_TOKEN_KEYS (the old one
 * kept after it), re-encrypts every stored Slack token with the new key, row by row under a lock
 * (safe while the app runs). Once it reports 0 left, the old key can be removed. Prints counts
 * only, never a token.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.databaseUrl) throw new ConfigError(['DATABASE_URL: required (the database holding the installations)']);
  const pool = createPool(config.databaseUrl);
  try {
    const repo = installationsRepo(pool, createTokenCipher({ keys: config.slack.tokenKeys }));
    const done = await repo.reencrypt();
    console.log(
      `re-encrypted with key ${config.slack.tokenKeys[0]!.id}: ${done.installations} installation(s), ${done.userTokens} user token(s)`,
    );
    if (done.unreadable.length > 0) {
      console.error(
        `${done.unreadable.length} sealed with a key no longer in THREADLINE_TOKEN_KEYS (reinstall there): ${done.unreadable.join(', ')}`,
      );
      process.exitCode = 2;
    }
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
