import type pg from 'pg';
import type { AuditEntry } from '../audit/contract.js';
import type { Deadline } from '../http/budget.js';
import { queryWithin, type Pool } from './pool.js';

/**
 * - `new`: first sight of this delivery, and this request holds it.
 * - `pending`: seen before but never handed off (a request failed or died): this request holds it now.
 * - `in_flight`: another request holds it right now (a concurrent duplicate): wait for its outcome.
 * - `handed_off` / `ignored`: done; acknowledge without work.
 */
export type InboundClaim = 'new' | 'pending' | 'in_flight' | 'handed_off' | 'ignored';

/** Who holds a claim and until when (the holding request's deadline, epoch ms). */
export interface InboundLease {
  token: string;
  untilMs: number;
}

/** Statements on a webhook's ack path take the request's deadline; others run under the pool's caps. */
function runner(pool: Pool) {
  return <R extends pg.QueryResultRow = pg.QueryResultRow>(
    step: string,
    text: string,
    values: unknown[],
    within: Deadline | undefined,
  ): Promise<pg.QueryResult<R>> =>
    within ? queryWithin<R>(pool, within, step, text, values) : pool.query<R>(text, values);
}

/**
 * The dedup ledger for every webhook source. A delivery is `claim`ed before the hand-off to
 * Temporal and marked `handed_off` after it. A repeat of a handed-off delivery is acked without
 * work; a repeat of one still `pending` (we crashed between ledger and hand-off) is handed off
 * again, which is safe because workflows ignore event ids they have processed. A claim taken with
 * a lease is held until the request's deadline: a concurrent duplicate sees `in_flight`.
 */
export function inboundEventsRepo(pool: Pool) {
  const run = runner(pool);
  return {
    async claim(
      source: string,
      eventId: string,
      payloadHash: string,
      opts: { lease?: InboundLease; within?: Deadline } = {},
    ): Promise<InboundClaim> {
      const until = opts.lease ? new Date(opts.lease.untilMs) : null;
      // Take the row when it is new, or when it was never handed off and nobody holds it (lease
      // released or past its holder's deadline). The app's clock sets and checks leases alike.
      const ins = await run<{ inserted: boolean }>(
        'ledger claim',
        `INSERT INTO inbound_events (source, event_id, payload_hash, lease_until, lease_token)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source, event_id) DO UPDATE
           SET lease_until = EXCLUDED.lease_until, lease_token = EXCLUDED.lease_token,
               claims = inbound_events.claims + 1
           WHERE inbound_events.status = 'received'
             AND (inbound_events.lease_until IS NULL OR inbound_events.lease_until <= $6)
         RETURNING (xmax = 0) AS inserted`,
        [source, eventId, payloadHash, until, opts.lease?.token ?? null, new Date()],
        opts.within,
      );
      if (ins.rows[0]) return ins.rows[0].inserted ? 'new' : 'pending';
      const { rows } = await run<{ status: string }>(
        'ledger claim',
        'SELECT status FROM inbound_events WHERE source = $1 AND event_id = $2',
        [source, eventId],
        opts.within,
      );
      const s = rows[0]?.status;
      return s === 'handed_off' ? 'handed_off' : s === 'ignored' ? 'ignored' : 'in_flight';
    },
    /** Gives a claim up after a failed hand-off, so the platform's retry can take it at once. */
    async release(source: string, eventId: string, token: string, within?: Deadline): Promise<void> {
      await run(
        'ledger release',
        `UPDATE inbound_events SET lease_until = NULL, lease_token = NULL
         WHERE source = $1 AND event_id = $2 AND lease_token = $3 AND status = 'received'`,
        [source, eventId, token],
        within,
      );
    },
    async markHandedOff(
      source: string,
      eventId: string,
      subject: string,
      workflowId: string,
      within?: Deadline,
    ): Promise<void> {
      await run(
        'ledger mark',
        `UPDATE inbound_events SET status = 'handed_off', subject = $3, workflow_id = $4, lease_until = NULL, lease_token = NULL
         WHERE source = $1 AND event_id = $2`,
        [source, eventId, subject, workflowId],
        within,
      );
    },
    async markIgnored(source: string, eventId: string, within?: Deadline): Promise<void> {
      await run(
        'ledger mark',
        `UPDATE inbound_events SET status = 'ignored', lease_until = NULL, lease_token = NULL
         WHERE source = $1 AND event_id = $2`,
        [source, eventId],
        within,
      );
    },
    async get(source: string, eventId: string) {
      const { rows } = await pool.query<{
        status: string;
        subject: string | null;
        workflow_id: string | null;
        claims: number;
        held: boolean;
      }>(
        `SELECT status, subject, workflow_id, claims, (lease_until IS NOT NULL AND lease_until > now()) AS held
         FROM inbound_events WHERE source = $1 AND event_id = $2`,
        [source, eventId],
      );
      return rows[0];
    },
  };
}
export type InboundEventsRepo = ReturnType<typeof inboundEventsRepo>;

export interface SlackMessageRow {
  subject: string;
  channel: string;
  ts: string;
  threadTs: string | null;
  purpose: string;
  idempotencyKey: string;
}

/** Every message Threadline posts, keyed by its idempotency key; the way inbound Slack events find their subject. */
export function slackMessagesRepo(pool: Pool) {
  const run = runner(pool);
  const map = (r: Record<string, string | null>): SlackMessageRow => ({
    subject: r.subject!,
    channel: r.channel!,
    ts: r.ts!,
    threadTs: r.thread_ts ?? null,
    purpose: r.purpose!,
    idempotencyKey: r.idempotency_key!,
  });
  return {
    /** Idempotent: a retry with the same key keeps the first row and returns it. */
    async record(m: SlackMessageRow): Promise<SlackMessageRow> {
      const { rows } = await pool.query(
        `INSERT INTO slack_messages (subject, channel, ts, thread_ts, purpose, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = now()
         RETURNING subject, channel, ts, thread_ts, purpose, idempotency_key`,
        [m.subject, m.channel, m.ts, m.threadTs, m.purpose, m.idempotencyKey],
      );
      return map(rows[0] as Record<string, string | null>);
    },
    async byIdempotencyKey(key: string): Promise<SlackMessageRow | undefined> {
      const { rows } = await pool.query('SELECT * FROM slack_messages WHERE idempotency_key = $1', [key]);
      return rows[0] ? map(rows[0] as Record<string, string | null>) : undefined;
    },
    /** The subject owning a message or thread (by the message's ts or its thread's root ts). */
    async subjectFor(channel: string, ts: string, within?: Deadline): Promise<string | undefined> {
      const { rows } = await run<{ subject: string }>(
        'thread lookup',
        `SELECT subject FROM slack_messages WHERE channel = $1 AND (ts = $2 OR thread_ts = $2)
         ORDER BY id LIMIT 1`,
        [channel, ts],
        within,
      );
      return rows[0]?.subject;
    },
    /** Every conversation (channel or DM) where a message of this subject was posted. */
    async channelsOf(subject: string): Promise<string[]> {
      const { rows } = await pool.query<{ channel: string }>(
        'SELECT DISTINCT channel FROM slack_messages WHERE subject = $1 ORDER BY channel',
        [subject],
      );
      return rows.map((r) => r.channel);
    },
    async bySubject(subject: string): Promise<SlackMessageRow[]> {
      const { rows } = await pool.query('SELECT * FROM slack_messages WHERE subject = $1 ORDER BY id', [subject]);
      return rows.map((r) => map(r as Record<string, string | null>));
    },
  };
}
export type SlackMessagesRepo = ReturnType<typeof slackMessagesRepo>;

export interface AuditRow extends Omit<AuditEntry, 'occurredAt'> {
  id: string;
  occurredAt: string;
}

/** Append-only; a trigger in the schema rejects UPDATE/DELETE/TRUNCATE. A transaction's client works too. */
export function auditLogRepo(pool: Pick<Pool, 'query'>) {
  return {
    /** Returns true if the row was written, false if this idempotency key was already recorded. */
    async append(e: AuditEntry): Promise<boolean> {
      const res = await pool.query(
        `INSERT INTO audit_log (occurred_at, subject, action, actor_kind, actor_id, source_system, target_system,
           before, after, rule_id, rule_version, workflow_id, run_id, outcome, details, idempotency_key, category,
           correlation_id)
         VALUES (COALESCE($1::timestamptz, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
           $17, $18)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [
          e.occurredAt ?? null,
          e.subject,
          e.action,
          e.actor.kind,
          e.actor.id ?? null,
          e.sourceSystem ?? null,
          e.targetSystem ?? null,
          e.before === undefined ? null : JSON.stringify(e.before),
          e.after === undefined ? null : JSON.stringify(e.after),
          e.ruleId ?? null,
          e.ruleVersion ?? null,
          e.workflowId ?? null,
          e.runId ?? null,
          e.outcome ?? 'ok',
          e.details === undefined ? null : JSON.stringify(e.details),
          e.idempotencyKey,
          e.category ?? 'business',
          e.correlationId ?? null,
        ],
      );
      return res.rowCount === 1;
    },
    /** Slack users who acted on this subject (requested, voted, decided…), from its audit trail. */
    async slackActorsOf(subject: string): Promise<string[]> {
      const { rows } = await pool.query<{ actor_id: string }>(
        `SELECT DISTINCT actor_id FROM audit_log
         WHERE subject = $1 AND actor_kind = 'slack_user' AND actor_id IS NOT NULL ORDER BY actor_id`,
        [subject],
      );
      return rows.map((r) => r.actor_id);
    },
    async bySubject(subject: string): Promise<AuditRow[]> {
      const { rows } = await pool.query(
        `SELECT id::text, occurred_at, subject, action, actor_kind, actor_id, source_system, target_system, before, after,
                rule_id, rule_version, workflow_id, run_id, outcome, details, idempotency_key, category, correlation_id
         FROM audit_log WHERE subject = $1 ORDER BY occurred_at, id`,
        [subject],
      );
      return rows.map(auditRowOf);
    },
  };
}
export type AuditLogRepo = ReturnType<typeof auditLogRepo>;

/** One `audit_log` row (every column) as the contract's shape. */
export function auditRowOf(r: Record<string, unknown>): AuditRow {
  return {
    id: r.id as string,
    occurredAt: (r.occurred_at as Date).toISOString(),
    subject: r.subject as string,
    action: r.action as string,
    actor: { kind: r.actor_kind as AuditEntry['actor']['kind'], id: (r.actor_id as string | null) ?? undefined },
    sourceSystem: (r.source_system as string | null) ?? undefined,
    targetSystem: (r.target_system as string | null) ?? undefined,
    before: r.before ?? undefined,
    after: r.after ?? undefined,
    ruleId: (r.rule_id as string | null) ?? undefined,
    ruleVersion: (r.rule_version as string | null) ?? undefined,
    workflowId: (r.workflow_id as string | null) ?? undefined,
    runId: (r.run_id as string | null) ?? undefined,
    outcome: r.outcome as AuditEntry['outcome'],
    details: (r.details as Record<string, unknown> | null) ?? undefined,
    idempotencyKey: r.idempotency_key as string,
    category: (r.category as AuditEntry['category'] | null) ?? 'business',
    correlationId: (r.correlation_id as string | null) ?? undefined,
  };
}
