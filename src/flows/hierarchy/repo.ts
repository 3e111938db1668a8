import type { Pool } from 'pg';
import type { NotificationOutcome, ResolvedAudience } from './contract.js';

export interface OrgPerson {
  personId: string;
  name: string | null;
  managerId: string | null;
  slackUser: string | null;
  active: boolean;
  version: number;
  updatedAt: string;
}

export interface ChainLink {
  personId: string;
  name: string | null;
  slackUser: string | null;
  active: boolean;
  depth: number;
}

export type PutPersonResult =
  | { ok: true; created: boolean; before: OrgPerson | undefined; after: OrgPerson }
  | { ok: false; reason: 'unknown_manager' }
  | { ok: false; reason: 'cycle'; path: string[] };

/** Arbitrary constant for pg_advisory_xact_lock: hierarchy writes are serialized (two moves cannot form a cycle together). */
const HIERARCHY_LOCK = 7_215_004_041;

const mapPerson = (r: Record<string, unknown>): OrgPerson => ({
  personId: r.person_id as string,
  name: (r.name as string | null) ?? null,
  managerId: (r.manager_id as string | null) ?? null,
  slackUser: (r.slack_user as string | null) ?? null,
  active: r.active as boolean,
  version: r.version as number,
  updatedAt: (r.updated_at as Date).toISOString(),
});

/** People, reporting lines (adjacency + closure table), person channels and notification outcomes. */
export function orgRepo(pool: Pool) {
  return {
    /**
     * Creates or updates a person. A new manager must exist and must not be the person or one of
     * their reports (a cycle); the closure rows of the person's whole subtree move with them, in
     * the same transaction, under a lock that serializes every hierarchy write.
     */
    async putPerson(p: {
      personId: string;
      name: string | null;
      managerId: string | null;
      slackUser: string | null;
      active: boolean;
    }): Promise<PutPersonResult> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [HIERARCHY_LOCK]);
        const prev = await client.query('SELECT * FROM org_people WHERE person_id = $1', [p.personId]);
        const before = prev.rows[0] ? mapPerson(prev.rows[0] as Record<string, unknown>) : undefined;
        if (p.managerId === p.personId) {
          await client.query('ROLLBACK');
          return { ok: false, reason: 'cycle', path: [p.personId, p.personId] };
        }
        if (p.managerId !== null) {
          const m = await client.query('SELECT 1 FROM org_people WHERE person_id = $1', [p.managerId]);
          if (m.rowCount === 0) {
            await client.query('ROLLBACK');
            return { ok: false, reason: 'unknown_manager' };
          }
          // The new manager reports (directly or not) to the person: the chain from the manager up
          // to the person, plus the new line, is the cycle.
          const chainUp = await client.query<{ ancestor: string }>(
            `SELECT c.ancestor FROM org_closure c
             WHERE c.descendant = $2
               AND c.depth <= (SELECT depth FROM org_closure WHERE ancestor = $1 AND descendant = $2)
             ORDER BY c.depth`,
            [p.personId, p.managerId],
          );
          if (chainUp.rowCount) {
            await client.query('ROLLBACK');
            return { ok: false, reason: 'cycle', path: [p.personId, ...chainUp.rows.map((r) => r.ancestor)] };
          }
        }
        const up = await client.query(
          `INSERT INTO org_people (person_id, name, manager_id, slack_user, active) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (person_id) DO UPDATE SET name = EXCLUDED.name, manager_id = EXCLUDED.manager_id,
             slack_user = EXCLUDED.slack_user, active = EXCLUDED.active, version = org_people.version + 1, updated_at = now()
           RETURNING *`,
          [p.personId, p.name, p.managerId, p.slackUser, p.active],
        );
        if (!before) {
          await client.query('INSERT INTO org_closure (ancestor, descendant, depth) VALUES ($1, $1, 0)', [p.personId]);
        }
        if (!before || before.managerId !== p.managerId) {
          // Detach the subtree from its old ancestors, then hang it under the new manager's.
          await client.query(
            `DELETE FROM org_closure
             WHERE descendant IN (SELECT descendant FROM org_closure WHERE ancestor = $1)
               AND ancestor IN (SELECT ancestor FROM org_closure WHERE descendant = $1 AND ancestor <> $1)`,
            [p.personId],
          );
          if (p.managerId !== null) {
            await client.query(
              `INSERT INTO org_closure (ancestor, descendant, depth)
               SELECT sup.ancestor, sub.descendant, sup.depth + sub.depth + 1
               FROM org_closure sup CROSS JOIN org_closure sub
               WHERE sup.descendant = $2 AND sub.ancestor = $1`,
              [p.personId, p.managerId],
            );
          }
        }
        await client.query('COMMIT');
        return { ok: true, created: !before, before, after: mapPerson(up.rows[0] as Record<string, unknown>) };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async getPerson(personId: string): Promise<OrgPerson | undefined> {
      const { rows } = await pool.query('SELECT * FROM org_people WHERE person_id = $1', [personId]);
      return rows[0] ? mapPerson(rows[0] as Record<string, unknown>) : undefined;
    },

    /** The person and every ancestor, nearest first: one query on the closure table. */
    async chain(personId: string): Promise<ChainLink[]> {
      const { rows } = await pool.query(
        `SELECT p.person_id, p.name, p.slack_user, p.active, c.depth
         FROM org_closure c JOIN org_people p ON p.person_id = c.ancestor
         WHERE c.descendant = $1 ORDER BY c.depth`,
        [personId],
      );
      return rows.map((r: Record<string, unknown>) => ({
        personId: r.person_id as string,
        name: (r.name as string | null) ?? null,
        slackUser: (r.slack_user as string | null) ?? null,
        active: r.active as boolean,
        depth: r.depth as number,
      }));
    },

    async list(limit: number, after?: string): Promise<OrgPerson[]> {
      const { rows } = await pool.query(
        'SELECT * FROM org_people WHERE ($2::text IS NULL OR person_id > $2) ORDER BY person_id LIMIT $1',
        [limit + 1, after ?? null],
      );
      return rows.map((r) => mapPerson(r as Record<string, unknown>));
    },

    async audience(personId: string, includeChain: boolean): Promise<ResolvedAudience> {
      const links = (await this.chain(personId)).filter((l) => includeChain || l.depth === 0);
      if (!links.some((l) => l.depth === 0)) return { personExists: false, expected: [], leftOut: [] };
      const expected: string[] = [];
      const leftOut: ResolvedAudience['leftOut'] = [];
      for (const l of links) {
        if (!l.active) leftOut.push({ personId: l.personId, reason: 'inactive' });
        else if (!l.slackUser) leftOut.push({ personId: l.personId, reason: 'no_slack_user' });
        else if (!expected.includes(l.slackUser)) expected.push(l.slackUser);
      }
      return { personExists: true, expected, leftOut };
    },

    async channelOf(personId: string): Promise<{ id: string; name: string } | undefined> {
      const { rows } = await pool.query<{ channel_id: string; name: string }>(
        'SELECT channel_id, name FROM org_channels WHERE person_id = $1',
        [personId],
      );
      return rows[0] ? { id: rows[0].channel_id, name: rows[0].name } : undefined;
    },
    async saveChannel(personId: string, id: string, name: string): Promise<void> {
      await pool.query(
        `INSERT INTO org_channels (person_id, channel_id, name) VALUES ($1, $2, $3)
         ON CONFLICT (person_id) DO UPDATE SET channel_id = EXCLUDED.channel_id, name = EXCLUDED.name, updated_at = now()`,
        [personId, id, name],
      );
    },

    /**
     * Records a notification the API accepted. `new`: first time; `same`: this id with this body
     * was accepted before (a retry); `conflict`: this id was used with another body or person.
     */
    async acceptNotification(id: string, personId: string, bodyHash: string): Promise<'new' | 'same' | 'conflict'> {
      const ins = await pool.query(
        `INSERT INTO org_notifications (notification_id, person_id, body_hash, status) VALUES ($1, $2, $3, 'accepted')
         ON CONFLICT (notification_id) DO NOTHING`,
        [id, personId, bodyHash],
      );
      if (ins.rowCount === 1) return 'new';
      const { rows } = await pool.query<{ body_hash: string }>(
        'SELECT body_hash FROM org_notifications WHERE notification_id = $1',
        [id],
      );
      return rows[0]?.body_hash === bodyHash ? 'same' : 'conflict';
    },
    async recordOutcome(o: NotificationOutcome): Promise<void> {
      // A delivered notification stays delivered (a late "undelivered" from an earlier attempt cannot undo it).
      await pool.query(
        `UPDATE org_notifications SET status = $2, channel_id = COALESCE($3, channel_id), ts = COALESCE($4, ts),
           members = COALESCE($5, members), error = $6, updated_at = now()
         WHERE notification_id = $1 AND status <> 'delivered'`,
        [o.notificationId, o.status, o.channel ?? null, o.ts ?? null, o.members ?? null, o.error ?? null],
      );
    },
    async notification(id: string) {
      const { rows } = await pool.query('SELECT * FROM org_notifications WHERE notification_id = $1', [id]);
      const r = rows[0] as Record<string, unknown> | undefined;
      return r
        ? {
            notificationId: r.notification_id as string,
            personId: r.person_id as string,
            status: r.status as string,
            channel: (r.channel_id as string | null) ?? null,
            ts: (r.ts as string | null) ?? null,
            members: (r.members as number | null) ?? null,
            error: (r.error as string | null) ?? null,
            acceptedAt: (r.accepted_at as Date).toISOString(),
            updatedAt: (r.updated_at as Date).toISOString(),
          }
        : undefined;
    },
  };
}
export type OrgRepo = ReturnType<typeof orgRepo>;
