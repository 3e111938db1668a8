import type { Client } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import { createPool, type Pool } from '../../src/platform/db/pool.js';
import { temporalReader } from './effects.js';
import { testDataConverter } from './temporal.js';
import { startTestStack, type TestStack } from './stack.js';
import './provided.js';

export interface FlowSuite {
  stack: TestStack;
  /** Reads workflow state and history (idle detection, scheduled activities, start inputs). */
  temporal: Client;
  /** The shared test database (audit trail, ledger, snapshots). */
  pool: Pool;
}

/**
 * The real stack for one flow e2e file, started in `beforeAll` with `env` and stopped in
 * `afterAll`, plus a Temporal reader and a Postgres pool; faults armed in the Slack emulator are
 * cleared after each test. The fields are set once `beforeAll` ran.
 */
export function flowSuite(env: Record<string, string>, opts: Parameters<typeof startTestStack>[1] = {}): FlowSuite {
  const suite = {} as FlowSuite;
  let closeTemporal: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    suite.stack = await startTestStack(env, opts);
    const reader = await temporalReader(suite.stack.urls.temporal, testDataConverter(suite.stack.config.temporal));
    suite.temporal = reader.client;
    closeTemporal = reader.close;
    suite.pool = createPool(inject('databaseUrl'));
  });
  afterEach(async () => {
    if (suite.stack?.urls.slackEmulator) await new SlackEmulatorAdmin(suite.stack.urls.slackEmulator).clearFaults();
  });
  afterAll(async () => {
    await closeTemporal?.();
    await suite.pool?.end();
    await suite.stack?.stop();
  });
  return suite;
}

/**
 * A flow's test harness, built from the suite once its stack is up; usable at `describe` time (any
 * use before `beforeAll` ran throws).
 */
export function harnessOf<H extends object>(suite: FlowSuite, build: (stack: TestStack, temporal: Client) => H): H {
  let built: H | undefined;
  beforeAll(() => {
    built = build(suite.stack, suite.temporal);
  });
  return new Proxy({} as H, {
    get(_target, key) {
      if (!built) throw new Error('the harness is available once the suite’s beforeAll has run');
      return Reflect.get(built, key) as unknown;
    },
  });
}
