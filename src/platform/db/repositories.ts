import type { AuditEntry } from '../audit/contract.js';
import type { Pool } from './pool.js';

export type InboundClaim = 'new' | 'pending' | 'handed_off' | 'ignored';

/**
 * The dedup ledger for every webhook source. A delivery is `claim`ed before the hand-off to
 * Temporal and marked `handed_off` after it. A repeat of a handed-off delivery is acked without
 * work; a repeat of one still `pending` (we crashed between ledger and hand-off) is handed off
 * again, which is safe because workflows ignore event ids they have processed.
 */
export function inboundEventsRepo(pool: Pool) {
  return {
    async claim(source: string, eventId: string, payloadHash: string): Promise<InboundClaim> {
      const ins = await pool.query(
        `INSERT INTO inbound_events (source, event_id, payload_hash) VALUES ($1, $2, $3)
         ON CONFLICT (source, event_id) DO NOTHING RETURNING status`,
        [source, eventId, payloadHash],
      );
      if (ins.rowCount === 1) return 'new';
      const { rows } = await pool.query<{ status: string }>(
        'SELECT status FROM inbound_events WHERE source = $1 AND event_id = $2',
        [source, eventId],
      );
      const s = rows[0]?.status;
      return s === 'handed_off' ? 'handed_off' : s === 'ignored' ? 'ignored' : 'pending';
    },
    async markHandedOff(source: string, eventId: string, subject: string, workflowId: string): Promise<void> {
      await pool.query(
        `UPDATE inbound_events SET status = 'handed_off', subject = $3, workflow_id = $4
         WHERE source = $1 AND event_id = $2`,
        [source, eventId, subject, workflowId],
      );
    },
    async markIgnored(source: string, eventId: string): Promise<void> {
      await pool.query(`UPDATE inbound_events SET status = 'ignored' WHERE source = $1 AND event_id = $2`, [
        source,
        eventId,
      ]);
    },
    async get(source: string, eventId: string) {
      const { rows } = await pool.query<{ status: string; subject: string | null; workflow_id: string | null }>(
        'SELECT status, subject, workflow_id FROM inbound_events WHERE source = $1 AND event_id = $2',
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
    async subjectFor(channel: string, ts: string): Promise<string | undefined> {
      const { rows } = await pool.query<{ subject: string }>(
        `SELECT subject FROM slack_messages WHERE channel = $1 AND (ts = $2 OR thread_ts = $2)
         ORDER BY id LIMIT 1`,
        [channel, ts],
      );
      return rows[0]?.subject;
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

/** Append-only; a trigger in the schema rejects UPDATE/DELETE/TRUNCATE. */
export function auditLogRepo(pool: Pool) {
  return {
    /** Returns true if the row was written, false if this idempotency key was already recorded. */
    async append(e: AuditEntry): Promise<boolean> {
      const res = await pool.query(
        `INSERT INTO audit_log (occurred_at, subject, action, actor_kind, actor_id, source_system, target_system,
           before, after, rule_id, rule_version, workflow_id, run_id, outcome, details, idempotency_key)
         VALUES (COALESCE($1::timestamptz, now()), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
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
        ],
      );
      return res.rowCount === 1;
    },
    async bySubject(subject: string): Promise<AuditRow[]> {
      const { rows } = await pool.query(
        `SELECT id::text, occurred_at, subject, action, actor_kind, actor_id, source_system, target_system, before, after,
                rule_id, rule_version, workflow_id, run_id, outcome, details, idempotency_key
         FROM audit_log WHERE subject = $1 ORDER BY occurred_at, id`,
        [subject],
      );
      return rows.map((r: Record<string, unknown>) => ({
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
      }));
    },
  };
}
export type AuditLogRepo = ReturnType<typeof auditLogRepo>;
