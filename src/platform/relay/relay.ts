import type pg from 'pg';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { makeCall, type CallSealer, type RelayCall, type RelayEnvelope } from './call.js';

/** The Postgres channel the ledger's trigger notifies when a delivery is queued (migration 080). */
export const RELAY_CHANNEL = 'threadline_inbound';
/** First key of the relay's per-subject advisory locks (the two-key space; the migrator uses the one-key space). */
export const SUBJECT_LOCK_CLASS = 80;
/** Back-off after a failed hand-off: 250 ms doubling, at most this (Temporal down: retry soon after it is back). */
const MAX_BACKOFF_MS = 10_000;
/** The gRPC status a call can never succeed with as made. */
const GRPC_INVALID_ARGUMENT = 3;
/** At most this many rows in one batch signal, and this many bytes of their arguments (JSON): far below Temporal's 2 MB payload limit. */
const BATCH_MAX = 50;
const BATCH_MAX_BYTES = 256 * 1024;

export interface RelayOptions {
  /** Polling fallback: how often the relay looks for work without a notification (RELAY_POLL_INTERVAL). */
  pollIntervalMs: number;
  /** Rows claimed per round (RELAY_BATCH_SIZE). */
  batchSize: number;
  /** Bound on one Temporal call (gRPC deadline). */
  callTimeoutMs: number;
}

/** The backlog of one lane, as `/readyz` and the gauges report it. */
export interface RelayStats {
  backlog: number;
  /** Age of the oldest delivery not yet handed off, ms (0 with no backlog). */
  oldestMs: number;
}

interface QueuedRow {
  source: string;
  event_id: string;
  subject: string;
  call_key_id: string | null;
  call_sealed: Buffer | null;
  relay_attempts: number;
}

/** What a Temporal call did. */
type Outcome =
  | { kind: 'handed_off' | 'ignored' }
  | { kind: 'failed'; error: string }
  | { kind: 'retry'; error: string; delayMs: number };
/** What became of one row: its call's outcome, with the row's type label. */
type Sent = Outcome & { type: string };

/**
 * The relay: hands deliveries the ack path recorded (`inbound_events` rows `queued` in this lane)
 * to Temporal, and marks them `handed_off` (or `ignored`: the lifecycle has ended; `failed`: the
 * call can never succeed, reported loudly). Every API replica runs one.
 * - Woken by `LISTEN threadline_inbound` (the ledger's trigger, at the ack's commit), with polling
 *   every `pollIntervalMs` as the fallback (a lost notification, a listener reconnecting).
 * - In order per subject: a round claims whole subjects with a transaction-scoped advisory lock
 *   (`pg_try_advisory_xact_lock`, skipping subjects another relay holds: several relays never
 *   send one row, nor one subject's rows out of order), then sends each subject's rows oldest
 *   first, subjects concurrently. The rows are marked in one statement and the transaction commits:
 *   a relay that dies mid-round releases its locks with its connection, and the next round sends
 *   those rows again (workflows drop event ids they have processed, so a repeat changes nothing).
 * - Batches: one claim and one mark per round of up to `batchSize` rows; subjects' calls run
 *   concurrently. Temporal's client has no multi-signal call, so a subject's backlog of calls that
 *   name a `batchSignal` goes as one signal carrying them all (in order): a relay that falls behind
 *   sends fewer, larger signals, and Temporal and the worker do one workflow task per batch.
 * - Temporal down or slow: the row backs off (250 ms doubling, ≤ 10 s) and its subject's later rows
 *   wait behind it; the ack path is not affected.
 */
export function createRelay(deps: {
  pool: Pool;
  temporal: Client;
  sealer: CallSealer;
  lane: string;
  metrics: Metrics;
  log: Pick<Logger, 'error' | 'warn' | 'info'>;
  options: RelayOptions;
}) {
  const { pool, lane, metrics, log, options } = deps;
  let running = false;
  let loop: Promise<void> | undefined;
  let listener: pg.PoolClient | undefined;
  let wakeRequested = false;
  let wake: (() => void) | undefined;
  let lastStatsAt = 0;
  let lastError: string | undefined;

  const poke = () => {
    wakeRequested = true;
    wake?.();
  };

  async function listen(): Promise<void> {
    const client = await pool.connect();
    const drop = () => {
      if (listener !== client) return;
      listener = undefined;
      client.release(true);
    };
    client.on('notification', (m) => {
      if (m.channel === RELAY_CHANNEL && m.payload === lane) poke();
    });
    // A dead connection (Postgres restarted): polling carries on, and the next round listens again.
    client.on('error', drop);
    try {
      await client.query(`LISTEN ${RELAY_CHANNEL}`);
    } catch (err) {
      client.release(true);
      throw err;
    }
    listener = client;
  }

  /** Opens a row's sealed call; a row that cannot be opened can never be sent. */
  async function open(row: QueuedRow): Promise<RelayEnvelope | Sent> {
    try {
      if (!row.call_key_id || !row.call_sealed) throw new Error('the row has no sealed call');
      return await deps.sealer.open(row.source, row.event_id, { keyId: row.call_key_id, sealed: row.call_sealed });
    } catch (err) {
      return { kind: 'failed', type: 'unknown', error: `unreadable call: ${errMsg(err)}` };
    }
  }

  /** What one call did (for every row it carries), classified: retry (Temporal unavailable, slow, anything unknown) or final. */
  async function send(call: RelayCall, head: QueuedRow): Promise<Outcome> {
    try {
      return {
        kind: await deps.temporal.withDeadline(Date.now() + options.callTimeoutMs, () => makeCall(deps.temporal, call)),
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError || grpcCode(err) === GRPC_INVALID_ARGUMENT) {
        return { kind: 'failed', error: `${errName(err)}: ${errMsg(err)}` };
      }
      const delay = Math.min(250 * 2 ** Math.min(head.relay_attempts, 16), MAX_BACKOFF_MS);
      return {
        kind: 'retry',
        error: `${errName(err)}: ${errMsg(err)}`,
        delayMs: Math.round(delay * (0.8 + Math.random() * 0.4)),
      };
    }
  }

  /**
   * Sends one subject's rows oldest first: runs of batchable signals (the same workflow and
   * `batchSignal`, one argument each) go as one batch signal of at most BATCH_MAX rows and
   * BATCH_MAX_BYTES of arguments; a retry stops the subject (its later rows wait behind it).
   */
  async function sendSubject(
    list: QueuedRow[],
    results: { row: QueuedRow; sent: Sent; atMs: number }[],
  ): Promise<void> {
    const opened: { row: QueuedRow; envelope: RelayEnvelope }[] = [];
    for (const row of list) {
      const envelope = await open(row);
      if ('kind' in envelope) {
        // Unreadable: final, and it does not hold up the rows behind it.
        results.push({ row, sent: envelope, atMs: performance.now() });
        continue;
      }
      opened.push({ row, envelope });
    }
    for (let i = 0; i < opened.length;) {
      const first = opened[i]!;
      const group = [first];
      const c = first.envelope.call;
      if (c.kind === 'signal' && c.batchSignal && c.args.length === 1) {
        let bytes = JSON.stringify(c.args[0] ?? null).length;
        for (let j = i + 1; j < opened.length && group.length < BATCH_MAX; j++) {
          const n = opened[j]!.envelope.call;
          if (n.kind !== 'signal' || n.batchSignal !== c.batchSignal || n.workflowId !== c.workflowId) break;
          if (n.args.length !== 1) break;
          bytes += JSON.stringify(n.args[0] ?? null).length;
          if (bytes > BATCH_MAX_BYTES) break;
          group.push(opened[j]!);
        }
      }
      const call: RelayCall =
        group.length === 1 || c.kind !== 'signal'
          ? c
          : {
              kind: 'signal',
              workflowId: c.workflowId,
              signal: c.batchSignal!,
              args: [group.map((g) => (g.envelope.call as { args: unknown[] }).args[0])],
            };
      const outcome = await send(call, first.row);
      metrics.relayCalls.inc({ rows: group.length === 1 ? 'one' : 'batch' });
      if (group.length > 1 && outcome.kind !== 'retry') metrics.relayBatchedRows.inc(group.length);
      const atMs = performance.now();
      for (const g of group) results.push({ row: g.row, sent: { ...outcome, type: g.envelope.type }, atMs });
      if (outcome.kind === 'retry') return;
      i += group.length;
    }
  }

  /** One round: claim subjects, send their rows in order, mark, commit. Returns how many rows were final. */
  async function round(): Promise<number> {
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      // Each subject's oldest queued row, if it is not backing off: that subject is ready.
      const heads = await client.query<{ subject: string }>(
        `SELECT subject FROM (
           SELECT DISTINCT ON (subject) subject, seq, relay_after FROM inbound_events
           WHERE status = 'queued' AND relay_lane = $1 ORDER BY subject, seq
         ) h WHERE relay_after IS NULL OR relay_after <= clock_timestamp()
         ORDER BY seq LIMIT $2`,
        [lane, options.batchSize],
      );
      const mine =
        heads.rows.length === 0
          ? []
          : (
              await client.query<{ subject: string }>(
                `SELECT s AS subject FROM unnest($1::text[]) AS s
                 WHERE pg_try_advisory_xact_lock(${SUBJECT_LOCK_CLASS}, hashtext(s))`,
                [heads.rows.map((r) => r.subject)],
              )
            ).rows.map((r) => r.subject);
      // Read after taking the locks: a relay that held a subject until now has committed its marks.
      // No row locks: the subject's advisory lock is what makes this relay the only sender, and a
      // row lock held through the calls would make the ack of a duplicate delivery (its INSERT … ON
      // CONFLICT locks the row) wait for Temporal, past its budget, exactly while Temporal is slow.
      const rows =
        mine.length === 0
          ? []
          : (
              await client.query<QueuedRow>(
                `SELECT source, event_id, subject, call_key_id, call_sealed, relay_attempts FROM inbound_events
                 WHERE status = 'queued' AND relay_lane = $1 AND subject = ANY($2::text[])
                 ORDER BY seq LIMIT $3`,
                [lane, mine, options.batchSize],
              )
            ).rows;
      const bySubject = new Map<string, QueuedRow[]>();
      for (const r of rows) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
      const results: { row: QueuedRow; sent: Sent; atMs: number }[] = [];
      await Promise.all([...bySubject.values()].map((list) => sendSubject(list, results)));
      const final = results.filter((r) => r.sent.kind !== 'retry');
      const now = performance.now();
      const retries = results.filter((r) => r.sent.kind === 'retry');
      const lags =
        final.length === 0
          ? []
          : (
              await client.query<{ source: string; lag: number }>(
                `UPDATE inbound_events e
                 SET status = u.status, handed_off_at = clock_timestamp() - u.ago * interval '1 millisecond',
                     relay_error = u.error,
                     relay_attempts = e.relay_attempts + 1, lease_until = NULL, lease_token = NULL,
                     call_sealed = CASE WHEN u.status = 'failed' THEN e.call_sealed END
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[])
                   AS u(source, event_id, status, error, ago)
                 WHERE e.source = u.source AND e.event_id = u.event_id
                 RETURNING e.source, EXTRACT(EPOCH FROM e.handed_off_at - e.received_at)::float8 AS lag`,
                [
                  final.map((r) => r.row.source),
                  final.map((r) => r.row.event_id),
                  final.map((r) => r.sent.kind),
                  final.map((r) => (r.sent.kind === 'failed' ? r.sent.error : null)),
                  // When Temporal took each call, on the database's clock (the one received_at is on).
                  final.map((r) => Math.max(0, now - r.atMs)),
                ],
              )
            ).rows;
      if (retries.length > 0) {
        await client.query(
          `UPDATE inbound_events e
           SET relay_attempts = e.relay_attempts + 1, relay_error = u.error,
               relay_after = clock_timestamp() + u.delay * interval '1 millisecond'
           FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS u(source, event_id, delay, error)
           WHERE e.source = u.source AND e.event_id = u.event_id`,
          [
            retries.map((r) => r.row.source),
            retries.map((r) => r.row.event_id),
            retries.map((r) => (r.sent.kind === 'retry' ? r.sent.delayMs : 0)),
            retries.map((r) => (r.sent.kind === 'retry' ? r.sent.error : null)),
          ],
        );
      }
      await client.query('COMMIT');
      for (const l of lags) metrics.relayLag.observe({ source: l.source }, l.lag);
      for (const { row, sent } of results) {
        metrics.relayHandOffs.inc({ source: row.source, outcome: sent.kind });
        if (sent.kind !== 'retry')
          metrics.inboundEvents.inc({ source: row.source, type: sent.type, outcome: sent.kind });
        if (sent.kind === 'failed') {
          log.error(
            { source: row.source, eventId: row.event_id, subject: row.subject, error: sent.error },
            'relay: a recorded delivery can never be handed off to its workflow (marked failed)',
          );
        }
      }
      const firstRetry = retries[0]?.sent;
      lastError = firstRetry?.kind === 'retry' ? firstRetry.error : undefined;
      return final.length;
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(failure);
    }
  }

  async function stats(): Promise<RelayStats> {
    const { rows } = await pool.query<{ backlog: number; oldest: number }>(
      `SELECT count(*)::int AS backlog,
              COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(received_at)), 0)::float8 AS oldest
       FROM inbound_events WHERE status = 'queued' AND relay_lane = $1`,
      [lane],
    );
    const s = { backlog: rows[0]?.backlog ?? 0, oldestMs: Math.round((rows[0]?.oldest ?? 0) * 1000) };
    metrics.relayBacklog.set(s.backlog);
    metrics.relayOldest.set(s.oldestMs / 1000);
    return s;
  }

  async function run(): Promise<void> {
    while (running) {
      wakeRequested = false;
      let done = 0;
      try {
        if (!listener) await listen();
        done = await round();
      } catch (err) {
        lastError = errMsg(err);
        log.warn({ error: lastError }, 'relay round failed (Postgres?): retrying at the next poll');
      }
      if (Date.now() - lastStatsAt >= options.pollIntervalMs) {
        lastStatsAt = Date.now();
        await stats().catch(() => undefined);
      }
      // A full round may have left more behind; otherwise wait for a notification or the next poll.
      if (done > 0 || wakeRequested) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollIntervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    lane,
    /** Starts relaying (idempotent). */
    start(): void {
      if (running) return;
      running = true;
      loop = run();
    },
    /** Finishes the round in progress and stops; rows it did not send stay queued for the next relay. */
    async stop(): Promise<void> {
      running = false;
      wake?.();
      await loop;
      loop = undefined;
      const l = listener;
      listener = undefined;
      l?.release();
    },
    /** Asks for a round now (tests, and the ack path of this process when it has just recorded). */
    poke,
    stats,
    /** The last failure a round met (a Temporal call, or Postgres), for `/readyz` details. */
    lastError: () => lastError,
  };
}
export type Relay = ReturnType<typeof createRelay>;

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}
function errName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error';
}
/** The gRPC status code of a Temporal client error (on it or its cause). */
function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const x = e as { code?: unknown; cause?: unknown };
    if (typeof x.code === 'number') return x.code;
    e = x.cause;
  }
  return undefined;
}
