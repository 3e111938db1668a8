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
      opts: { lease?: InboundLease; within?: Deadline; teamId?: string | undefined } = {},
    ): Promise<InboundClaim> {
      const until = opts.lease ? new Date(opts.lease.untilMs) : null;
      // Take the row when it is new, or when it was never handed off and nobody holds it (lease
      // released or past its holder's deadline). The app's clock sets and checks leases alike.
      const ins = await run<{ inserted: boolean }>(
        'ledger claim',
        `INSERT INTO inbound_events (source, event_id, payload_hash, lease_until, lease_token, team_id)
         VALUES ($1, $2, $3, $4, $5, $7)
         ON CONFLICT (source, event_id) DO UPDATE
           SET lease_until = EXCLUDED.lease_until, lease_token = EXCLUDED.lease_token,
               claims = inbound_events.claims + 1
           WHERE inbound_events.status = 'received'
             AND (inbound_events.lease_until IS NULL OR inbound_events.lease_until <= $6)
         RETURNING (xmax = 0) AS inserted`,
        [source, eventId, payloadHash, until, opts.lease?.token ?? null, new Date(), opts.teamId ?? null],
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
    /**
     * The outbox ack: ONE statement records the delivery with its sealed Temporal call, queued for
     * the relay (whose trigger wakes the relays at commit). 'queued': recorded now (first sight, or
     * a delivery an earlier request claimed and never handed off, whose lease has ended);
     * 'duplicate': already recorded, queued or done, or held right now by a synchronous hand-off.
     */
    async record(
      d: {
        source: string;
        eventId: string;
        payloadHash: string;
        subject: string;
        workflowId: string;
        teamId?: string | undefined;
        lane: string;
        call: { keyId: string; sealed: Buffer };
      },
      within?: Deadline,
    ): Promise<'queued' | 'duplicate'> {
      const { rowCount } = await run(
        'ledger record',
        `INSERT INTO inbound_events (source, event_id, payload_hash, subject, workflow_id, team_id, status,
                                    relay_lane, call_key_id, call_sealed)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9)
         ON CONFLICT (source, event_id) DO UPDATE
           SET status = 'queued', subject = EXCLUDED.subject, workflow_id = EXCLUDED.workflow_id,
               relay_lane = EXCLUDED.relay_lane, call_key_id = EXCLUDED.call_key_id,
               call_sealed = EXCLUDED.call_sealed, lease_until = NULL, lease_token = NULL,
               claims = inbound_events.claims + 1
           WHERE inbound_events.status = 'received'
             AND (inbound_events.lease_until IS NULL OR inbound_events.lease_until <= $10)`,
        [
          d.source,
          d.eventId,
          d.payloadHash,
          d.subject,
          d.workflowId,
          d.teamId ?? null,
          d.lane,
          d.call.keyId,
          d.call.sealed,
          new Date(),
        ],
        within,
      );
      return rowCount === 1 ? 'queued' : 'duplicate';
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
        team_id: string | null;
      }>(
        `SELECT status, subject, workflow_id, claims, (lease_until IS NOT NULL AND lease_until > now()) AS held, team_id
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
  /** The installation it was posted in; null for rows older than multi-workspace support. */
  teamId?: string | null;
  /** The person whose user token posted it; null = the bot. */
  postedAs?: string | null;
}

/** A conversation a subject posted in, with its workspace (channel ids repeat across workspaces). */
export interface SubjectConversation {
  teamId: string | null;
  channel: string;
}

/** What an inbound event's thread lookup finds. */
export interface ThreadOwner {
  subject: string;
  /** The event's own message is one Threadline posted (e.g. as a connected person): an echo. */
  ownMessage: boolean;
}

/**
 * Every message Threadline posts, keyed by its idempotency key; the way inbound Slack events find
 * their subject. Channel ids repeat across workspaces, so lookups match on the team too; rows from
 * before multi-workspace support (no team) match any team (one workspace existed then).
 */
export function slackMessagesRepo(pool: Pool) {
  const run = runner(pool);
  const map = (r: Record<string, string | null>): SlackMessageRow => ({
    subject: r.subject!,
    channel: r.channel!,
    ts: r.ts!,
    threadTs: r.thread_ts ?? null,
    purpose: r.purpose!,
    idempotencyKey: r.idempotency_key!,
    teamId: r.team_id ?? null,
    postedAs: r.posted_as ?? null,
  });
  const teamMatches = (param: string) => `(team_id = ${param} OR team_id IS NULL OR ${param}::text IS NULL)`;
  async function ownerOf(
    q: { teamId: string | undefined; channel: string; ts: string; messageTs?: string },
    within?: Deadline,
  ): Promise<ThreadOwner | undefined> {
    const { rows } = await run<{ subject: string; own: boolean }>(
      'thread lookup',
      `SELECT subject,
              EXISTS (SELECT 1 FROM slack_messages o WHERE o.channel = $1 AND o.ts = $4
                      AND (o.team_id = $3 OR o.team_id IS NULL OR $3::text IS NULL)) AS own
       FROM slack_messages WHERE channel = $1 AND (ts = $2 OR thread_ts = $2) AND ${teamMatches('$3')}
       ORDER BY (team_id IS NULL), id LIMIT 1`,
      [q.channel, q.ts, q.teamId ?? null, q.messageTs ?? null],
      within,
    );
    return rows[0] ? { subject: rows[0].subject, ownMessage: rows[0].own } : undefined;
  }
  async function conversationsOf(subject: string): Promise<SubjectConversation[]> {
    const { rows } = await pool.query<{ team_id: string | null; channel: string }>(
      'SELECT DISTINCT team_id, channel FROM slack_messages WHERE subject = $1 ORDER BY channel, team_id',
      [subject],
    );
    return rows.map((r) => ({ teamId: r.team_id, channel: r.channel }));
  }
  return {
    /** Idempotent: a retry with the same key keeps the first row and returns it. */
    async record(m: SlackMessageRow): Promise<SlackMessageRow> {
      const { rows } = await pool.query(
        `INSERT INTO slack_messages (subject, channel, ts, thread_ts, purpose, idempotency_key, team_id, posted_as)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (idempotency_key) DO UPDATE SET updated_at = now()
         RETURNING subject, channel, ts, thread_ts, purpose, idempotency_key, team_id, posted_as`,
        [m.subject, m.channel, m.ts, m.threadTs, m.purpose, m.idempotencyKey, m.teamId ?? null, m.postedAs ?? null],
      );
      return map(rows[0] as Record<string, string | null>);
    },
    async byIdempotencyKey(key: string): Promise<SlackMessageRow | undefined> {
      const { rows } = await pool.query('SELECT * FROM slack_messages WHERE idempotency_key = $1', [key]);
      return rows[0] ? map(rows[0] as Record<string, string | null>) : undefined;
    },
    /** One message we posted, found by where it is (e.g. to update it with the identity that posted it). */
    async byMessage(teamId: string | undefined, channel: string, ts: string): Promise<SlackMessageRow | undefined> {
      const { rows } = await pool.query(
        `SELECT * FROM slack_messages WHERE channel = $1 AND ts = $2 AND ${teamMatches('$3')}
         ORDER BY (team_id IS NULL), id LIMIT 1`,
        [channel, ts, teamId ?? null],
      );
      return rows[0] ? map(rows[0] as Record<string, string | null>) : undefined;
    },
    /**
     * The subject owning a thread in a workspace (by the root's ts or its thread's root ts), and
     * whether the event's own message (`messageTs`) is one we posted. An exact team match wins over
     * a row without a team; an unknown team (`undefined`) matches any.
     */
    ownerOf,
    /** The subject owning a message or thread (by the message's ts or its thread's root ts). */
    async subjectFor(channel: string, ts: string, within?: Deadline, teamId?: string): Promise<string | undefined> {
      return (await ownerOf({ teamId, channel, ts }, within))?.subject;
    },
    /** Every conversation (channel or DM) where a message of this subject was posted. */
    async channelsOf(subject: string): Promise<string[]> {
      return [...new Set((await conversationsOf(subject)).map((c) => c.channel))].sort();
    },
    /** Every conversation of this subject, with the workspace it is in. */
    conversationsOf,
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

/** Which workspace each lifecycle belongs to (`slack_subjects`). */
export function slackSubjectsRepo(pool: Pool) {
  return {
    /** Records the workspace of a subject; the first record wins (a lifecycle never moves). */
    async assign(subject: string, teamId: string, within?: Deadline): Promise<void> {
      const sql = `INSERT INTO slack_subjects (subject, team_id) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING`;
      if (within) await queryWithin(pool, within, 'subject team', sql, [subject, teamId]);
      else await pool.query(sql, [subject, teamId]);
    },
    async teamOf(subject: string): Promise<string | undefined> {
      const { rows } = await pool.query<{ team_id: string }>('SELECT team_id FROM slack_subjects WHERE subject = $1', [
        subject,
      ]);
      return rows[0]?.team_id;
    },
  };
}
export type SlackSubjectsRepo = ReturnType<typeof slackSubjectsRepo>;
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
