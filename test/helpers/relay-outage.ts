import { createPool } from '../../src/platform/db/pool.js';
import { createLogger } from '../../src/platform/observability/logger.js';
import { createCallSealer, relayLane } from '../../src/platform/relay/call.js';
import { createRelay } from '../../src/platform/relay/relay.js';
import {
  dedicatedApp,
  hostPort,
  startTcpProxy,
  viaProxy,
  waitUntil,
  type DedicatedApp,
  type TcpProxy,
} from '../platform/e2e/ingress-helpers.js';
import type { TestStack } from './stack.js';

/** One `inbound_events` row as the outage tests read it. */
export interface LedgerRow {
  status: string;
  relay_attempts: number;
  relay_error: string | null;
  claims: number;
}

export interface OutageRig {
  /** The API instance the deliveries go to: its Temporal and its Postgres are each behind a proxy. */
  app: DedicatedApp;
  temporal: TcpProxy;
  postgres: TcpProxy;
  /**
   * The row of one delivery (its event id, or a Jira delivery identifier: the route keys by
   * `<identifier>:<event identity>`), undefined when nothing was recorded.
   */
  row(source: string, eventId: string): Promise<LedgerRow | undefined>;
  /** Waits until the relay has tried the delivery `attempts` times and failed each (it is still queued). */
  triedAndFailed(source: string, eventId: string, attempts?: number): Promise<LedgerRow>;
  /**
   * Waits until the relay is inside a round for `subject` (it holds the subject's advisory lock,
   * key class 80, through its Temporal calls): with Temporal stalled, it is then mid-call.
   */
  sending(subject: string): Promise<void>;
  /** Waits until the relay has handed the delivery off (or found nothing to hand it to: `ignored`). */
  relayed(source: string, eventId: string): Promise<LedgerRow>;
  close(): Promise<void>;
}

/**
 * A webhook outage bench for one test: an API instance whose Temporal and Postgres each sit
 * behind a TCP proxy the test stalls, and a relay of its own that reaches Temporal through the same
 * proxy (as the API process's relay would) and Postgres directly. App and relay run on a lane of
 * their own (another task queue name: the lane is `<namespace>/<task queue>`), so the stack's relay
 * leaves their rows alone. Signals still reach the stack's workflows (a signal names a workflow
 * id), and a `signalWithStart` of a running lifecycle only signals it; a lifecycle that is not
 * running would start on the lane's queue, where no worker polls: start it through the stack first.
 */
export async function outageRig(stack: TestStack, name: string): Promise<OutageRig> {
  const temporal = await startTcpProxy(hostPort(stack.urls.temporal));
  const postgres = await startTcpProxy(hostPort(stack.urls.databaseUrl));
  const config = {
    ...stack.config,
    temporal: { ...stack.config.temporal, taskQueue: `${stack.taskQueue}-${name}` },
  };
  const app = await dedicatedApp(stack, {
    temporalAddress: temporal.address,
    databaseUrl: viaProxy(stack.urls.databaseUrl, postgres),
    config,
    // A short budget: a stalled Postgres answers 503 sooner (what is proved is the bound, not its size).
    ack: { budgetMs: 1_000 },
  });
  const pool = createPool(stack.urls.databaseUrl);
  const relay = createRelay({
    pool,
    temporal: app.temporal,
    sealer: createCallSealer(config.temporal),
    lane: relayLane(config.temporal),
    metrics: app.metrics,
    log: createLogger({ level: 'silent' }),
    // A call may outlast a request's budget, as in production (5 s against 2.5 s).
    options: { pollIntervalMs: 200, batchSize: 100, callTimeoutMs: 2_000 },
  });
  relay.start();

  const row = async (source: string, eventId: string) =>
    (
      await pool.query<LedgerRow>(
        `SELECT status, relay_attempts, relay_error, claims FROM inbound_events WHERE source = $1 AND (event_id = $2 OR starts_with(event_id, $2 || ':'))`,
        [source, eventId],
      )
    ).rows[0];
  return {
    app,
    temporal,
    postgres,
    row,
    triedAndFailed: (source, eventId, attempts = 1) =>
      waitUntil(async () => {
        const r = await row(source, eventId);
        return r && r.status === 'queued' && r.relay_attempts >= attempts ? r : undefined;
      }, 60_000),
    sending: async (subject) => {
      await waitUntil(async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND classid = 80 AND objsubid = 2
             AND objid::bigint = (hashtext($1)::bigint + 4294967296) % 4294967296`,
          [subject],
        );
        return rows[0]!.n > 0;
      }, 60_000);
    },
    relayed: (source, eventId) =>
      waitUntil(async () => {
        const r = await row(source, eventId);
        return r && r.status !== 'queued' ? r : undefined;
      }, 60_000),
    async close() {
      temporal.reset();
      temporal.pass();
      postgres.reset();
      postgres.pass();
      await relay.stop();
      await app.close();
      await pool.end();
      await temporal.close();
      await postgres.close();
    },
  };
}
