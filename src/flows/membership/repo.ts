import type { Pool, PoolClient } from 'pg';
import type { AuditEntry } from '../../platform/audit/contract.js';
import { auditLogRepo } from '../../platform/db/repositories.js';
import { memberSubject } from './contract.js';
import type { AccountKind, DirectoryStatus, MemberState } from './domain/lifecycle.js';

/** A directory member with the account of their email in one sync. */
export interface MemberWithAccount {
  member_id: string;
  status: DirectoryStatus;
  state: MemberState;
  slack_user: string | null;
  user_id: string | null;
  kind: AccountKind | null;
  /** What admins were last asked for this person, and whether that was within the reminder interval. */
  requested_action: string | null;
  recently_requested: boolean;
}

export interface DirectoryMember {
  memberId: string;
  email: string;
  name: string | null;
  status: DirectoryStatus;
  state: MemberState;
  slackUser: string | null;
  requestedAt: string | null;
  requestedAction: string | null;
  inviteError: string | null;
  version: number;
  updatedAt: string;
}

const mapMember = (r: Record<string, unknown>): DirectoryMember => ({
  memberId: r.member_id as string,
  email: r.email as string,
  name: (r.name as string | null) ?? null,
  status: r.status as DirectoryStatus,
  state: r.state as MemberState,
  slackUser: (r.slack_user as string | null) ?? null,
  requestedAt: r.requested_at ? (r.requested_at as Date).toISOString() : null,
  requestedAction: (r.requested_action as string | null) ?? null,
  inviteError: (r.invite_error as string | null) ?? null,
  version: r.version as number,
  updatedAt: (r.updated_at as Date).toISOString(),
});

/** Runs `fn` in one transaction on one connection (rolled back when it throws). */
async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The people directory of one scope (the deployment's task queue) and the accounts each sync saw. */
export function membershipRepo(pool: Pool, scope: string) {
  return {
    /** Creates or replaces a member; `email_taken` when another member has this email. */
    async put(m: {
      memberId: string;
      email: string;
      name: string | null;
      status: DirectoryStatus;
    }): Promise<{ ok: true; created: boolean; member: DirectoryMember } | { ok: false; reason: 'email_taken' }> {
      try {
        const { rows } = await pool.query(
          `INSERT INTO directory_members (member_id, email, name, status, scope) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (scope, member_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, status = EXCLUDED.status,
             version = directory_members.version + 1, updated_at = now(),
             -- A new address is a new question: what admins or the Admin API said about the old one no longer stands.
             requested_action = CASE WHEN lower(directory_members.email) = lower(EXCLUDED.email)
               THEN directory_members.requested_action END,
             requested_at = CASE WHEN lower(directory_members.email) = lower(EXCLUDED.email)
               THEN directory_members.requested_at END,
             invite_error = CASE WHEN lower(directory_members.email) = lower(EXCLUDED.email)
               THEN directory_members.invite_error END
           RETURNING *, (xmax = 0) AS created`,
          [m.memberId, m.email, m.name, m.status, scope],
        );
        const r = rows[0] as Record<string, unknown>;
        return { ok: true, created: r.created as boolean, member: mapMember(r) };
      } catch (err) {
        if ((err as { code?: string }).code === '23505') return { ok: false, reason: 'email_taken' };
        throw err;
      }
    },
    async get(memberId: string): Promise<DirectoryMember | undefined> {
      const { rows } = await pool.query('SELECT * FROM directory_members WHERE scope = $2 AND member_id = $1', [
        memberId,
        scope,
      ]);
      return rows[0] ? mapMember(rows[0] as Record<string, unknown>) : undefined;
    },
    async list(limit: number, after?: string): Promise<DirectoryMember[]> {
      const { rows } = await pool.query(
        `SELECT * FROM directory_members WHERE scope = $3 AND ($2::text IS NULL OR member_id > $2)
         ORDER BY member_id LIMIT $1`,
        [limit + 1, after ?? null, scope],
      );
      return rows.map((r) => mapMember(r as Record<string, unknown>));
    },
    async storeAccounts(syncId: string, accounts: { userId: string; email: string | null; kind: AccountKind }[]) {
      if (!accounts.length) return;
      await pool.query(
        `INSERT INTO membership_sync_accounts (sync_id, user_id, email, kind)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
         ON CONFLICT (sync_id, user_id) DO UPDATE SET email = EXCLUDED.email, kind = EXCLUDED.kind`,
        [syncId, accounts.map((a) => a.userId), accounts.map((a) => a.email), accounts.map((a) => a.kind)],
      );
    },
    /** Every member with the account of their email in this sync (the newest account wins when several share it). */
    async membersWithAccounts(syncId: string, reminderIntervalMs: number) {
      const { rows } = await pool.query<MemberWithAccount>(
        `SELECT d.member_id, d.status, d.state, d.slack_user, a.user_id, a.kind, d.requested_action,
           coalesce(d.requested_at > now() - make_interval(secs => $3 / 1000.0), false) AS recently_requested
         FROM directory_members d
         LEFT JOIN LATERAL (
           SELECT user_id, kind FROM membership_sync_accounts s
           WHERE s.sync_id = $1 AND lower(s.email) = lower(d.email)
           ORDER BY (s.kind = 'deactivated'), s.user_id DESC LIMIT 1
         ) a ON true
         WHERE d.scope = $2
         ORDER BY d.member_id`,
        [syncId, scope, reminderIntervalMs],
      );
      return rows;
    },
    /**
     * Applies one sync's decisions exactly once: under a lock per sync, a result already stored
     * for it is answered as is; otherwise the state changes, one audit row per transition and the
     * result are written in one transaction.
     */
    async applySync<R>(input: {
      syncId: string;
      reminderIntervalMs: number;
      decide: (rows: MemberWithAccount[]) => {
        changes: {
          memberId: string;
          state: MemberState;
          slackUser: string | null;
          requestedAction: string | null;
        }[];
        audits: AuditEntry[];
        result: R;
      };
    }): Promise<R> {
      return inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`membersync:${input.syncId}`]);
        const done = await client.query<{ result: R }>('SELECT result FROM membership_syncs WHERE sync_id = $1', [
          input.syncId,
        ]);
        if (done.rows[0]) return done.rows[0].result;
        const { changes, audits, result } = input.decide(
          await this.membersWithAccounts(input.syncId, input.reminderIntervalMs),
        );
        if (changes.length)
          await client.query(
            `UPDATE directory_members d SET state = u.state, slack_user = u.slack_user,
               requested_action = u.requested_action, updated_at = now()
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(member_id, state, slack_user, requested_action)
             WHERE d.scope = $5 AND d.member_id = u.member_id`,
            [
              changes.map((c) => c.memberId),
              changes.map((c) => c.state),
              changes.map((c) => c.slackUser),
              changes.map((c) => c.requestedAction),
              scope,
            ],
          );
        // The platform's audit repo on this transaction's connection (it only issues queries).
        const audit = auditLogRepo(client);
        for (const a of audits) await audit.append(a);
        await client.query('INSERT INTO membership_syncs (sync_id, result) VALUES ($1, $2)', [
          input.syncId,
          JSON.stringify(result),
        ]);
        return result;
      });
    },
    async markRequested(memberIds: string[], action: string): Promise<void> {
      await pool.query(
        `UPDATE directory_members SET requested_at = now(), requested_action = $3
         WHERE scope = $2 AND member_id = ANY($1)`,
        [memberIds, scope, action],
      );
    },
    /**
     * What `admin.users.invite` settled for one person: the new state with its audit row (keyed
     * by sync, member and state, so a retried activity writes it once), in one transaction. A
     * person whose state moved meanwhile (a later sync) is left alone.
     */
    async applyInvite(input: { syncId: string; memberId: string; state: MemberState; outcome: string }): Promise<void> {
      await inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ state: MemberState }>(
          `SELECT state FROM directory_members WHERE scope = $1 AND member_id = $2 FOR UPDATE`,
          [scope, input.memberId],
        );
        const before = rows[0]?.state;
        if (before === 'PENDING' && input.state !== before) {
          await client.query(
            `UPDATE directory_members SET state = $3, invite_error = NULL, updated_at = now()
             WHERE scope = $1 AND member_id = $2`,
            [scope, input.memberId, input.state],
          );
          await auditLogRepo(client).append({
            subject: memberSubject(input.memberId),
            action: 'membership.transition',
            actor: { kind: 'system', id: 'membership-sync' },
            targetSystem: 'slack',
            before: { state: before },
            after: { state: input.state },
            details: { syncId: input.syncId, via: 'admin.users.invite', outcome: input.outcome },
            idempotencyKey: `${memberSubject(input.memberId)}:${input.syncId}:${input.state}`,
          });
        }
      });
    },
    /** A removal through `admin.users.remove` settled: the person is DEACTIVATED (audited once per sync). */
    async applyRemoval(input: { syncId: string; memberId: string; outcome: string }): Promise<void> {
      await inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ state: MemberState }>(
          `SELECT state FROM directory_members WHERE scope = $1 AND member_id = $2 FOR UPDATE`,
          [scope, input.memberId],
        );
        const before = rows[0]?.state;
        if (before === undefined || before === 'DEACTIVATED') return;
        await client.query(
          `UPDATE directory_members SET state = 'DEACTIVATED', requested_action = NULL, updated_at = now()
           WHERE scope = $1 AND member_id = $2`,
          [scope, input.memberId],
        );
        await auditLogRepo(client).append({
          subject: memberSubject(input.memberId),
          action: 'membership.transition',
          actor: { kind: 'system', id: 'membership-sync' },
          targetSystem: 'slack',
          before: { state: before },
          after: { state: 'DEACTIVATED' },
          details: { syncId: input.syncId, via: 'admin.users.remove', outcome: input.outcome },
          idempotencyKey: `${memberSubject(input.memberId)}:${input.syncId}:DEACTIVATED`,
        });
      });
    },
    /** The Slack user id recorded for a member (set by a sync that found their account). */
    async slackUserOf(memberId: string): Promise<string | undefined> {
      const { rows } = await pool.query<{ slack_user: string | null }>(
        'SELECT slack_user FROM directory_members WHERE scope = $1 AND member_id = $2',
        [scope, memberId],
      );
      return rows[0]?.slack_user ?? undefined;
    },
    /** The Slack error code of an invite that failed for good (shown by `GET /v1/members/:id`). */
    async recordInviteError(memberId: string, error: string): Promise<void> {
      await pool.query('UPDATE directory_members SET invite_error = $3 WHERE scope = $1 AND member_id = $2', [
        scope,
        memberId,
        error,
      ]);
    },
    async inviteTarget(memberId: string): Promise<{ email: string; name: string | null } | undefined> {
      const { rows } = await pool.query<{ email: string; name: string | null }>(
        'SELECT email, name FROM directory_members WHERE scope = $1 AND member_id = $2',
        [scope, memberId],
      );
      return rows[0];
    },
    async emails(memberIds: string[]): Promise<{ memberId: string; email: string; slackUser: string | null }[]> {
      const { rows } = await pool.query<{ member_id: string; email: string; slack_user: string | null }>(
        'SELECT member_id, email, slack_user FROM directory_members WHERE scope = $2 AND member_id = ANY($1) ORDER BY member_id',
        [memberIds, scope],
      );
      return rows.map((r) => ({ memberId: r.member_id, email: r.email, slackUser: r.slack_user }));
    },
    /** Accounts of syncs whose reconciliation is stored are no longer needed (a sync still paging keeps its own). */
    async dropOtherSyncs(syncId: string): Promise<void> {
      await pool.query(
        `DELETE FROM membership_sync_accounts
         WHERE sync_id <> $1 AND sync_id IN (SELECT sync_id FROM membership_syncs)`,
        [syncId],
      );
    },
  };
}
export type MembershipRepo = ReturnType<typeof membershipRepo>;
