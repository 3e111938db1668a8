import { randomUUID } from 'node:crypto';
import type { Deadline } from '../http/budget.js';
import { queryWithin, type Pool } from '../db/pool.js';
import { auditLogRepo } from '../db/repositories.js';
import type { FlagsConfig } from './config.js';
import {
  evaluateFlag,
  mergeSettings,
  scopeName,
  type FlagContext,
  type FlagDecision,
  type FlagSetting,
  type ScopeKind,
} from './evaluate.js';

interface Row {
  flag: string;
  scope_kind: ScopeKind;
  scope_id: string;
  enabled: boolean;
  reason: string | null;
  updated_by: string;
  updated_at: Date;
}

const settingOf = (r: Row): FlagSetting => ({
  flag: r.flag,
  scope: { kind: r.scope_kind, id: r.scope_id },
  enabled: r.enabled,
  source: 'api',
  ...(r.reason ? { reason: r.reason } : {}),
  updatedBy: r.updated_by,
  updatedAt: r.updated_at.toISOString(),
});

const COLUMNS = 'flag, scope_kind, scope_id, enabled, reason, updated_by, updated_at';

/** Audit subject of a flag's switches. */
export const flagSubject = (flag: string): string => `flag:${flag}`;

/** `feature_flags`: run-time switches. Every change writes its audit row in the same transaction. */
export function flagsRepo(pool: Pool) {
  return {
    async list(flag?: string, within?: Deadline): Promise<FlagSetting[]> {
      const text = `SELECT ${COLUMNS} FROM feature_flags ${flag ? 'WHERE flag = $1' : ''} ORDER BY flag, scope_kind, scope_id`;
      const values = flag ? [flag] : [];
      const { rows } = within
        ? await queryWithin<Row>(pool, within, 'flags lookup', text, values)
        : await pool.query<Row>(text, values);
      return rows.map(settingOf);
    },

    /**
     * Switches a flag for one scope (`enabled` undefined: removes the run-time setting, so config
     * or the default applies again) and audits it: before, after, who and why. A switch to the
     * value it already has writes nothing.
     */
    async change(input: {
      flag: string;
      scope: { kind: ScopeKind; id: string };
      enabled: boolean | undefined;
      reason: string;
      by: string;
    }): Promise<{ changed: boolean; before?: FlagSetting; after?: FlagSetting }> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const key = [input.flag, input.scope.kind, input.scope.id];
        const prior = await client.query<Row>(
          `SELECT ${COLUMNS} FROM feature_flags WHERE flag = $1 AND scope_kind = $2 AND scope_id = $3 FOR UPDATE`,
          key,
        );
        const before = prior.rows[0] ? settingOf(prior.rows[0]) : undefined;
        if (before?.enabled === input.enabled) {
          await client.query('ROLLBACK');
          return { changed: false, before, after: before };
        }
        let after: FlagSetting | undefined;
        if (input.enabled === undefined) {
          await client.query('DELETE FROM feature_flags WHERE flag = $1 AND scope_kind = $2 AND scope_id = $3', key);
        } else {
          const { rows } = await client.query<Row>(
            `INSERT INTO feature_flags (flag, scope_kind, scope_id, enabled, reason, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (flag, scope_kind, scope_id) DO UPDATE SET
               enabled = EXCLUDED.enabled, reason = EXCLUDED.reason, updated_by = EXCLUDED.updated_by, updated_at = now()
             RETURNING ${COLUMNS}`,
            [...key, input.enabled, input.reason, input.by],
          );
          after = settingOf(rows[0]!);
        }
        await auditLogRepo(client).append({
          subject: flagSubject(input.flag),
          action: input.enabled === undefined ? 'flag.cleared' : 'flag.switched',
          actor: { kind: 'api_client', id: input.by },
          sourceSystem: 'api',
          targetSystem: 'threadline',
          before: before ? { scope: scopeName(before.scope), enabled: before.enabled } : null,
          after: after ? { scope: scopeName(after.scope), enabled: after.enabled } : null,
          details: { flag: input.flag, scope: scopeName(input.scope), reason: input.reason },
          idempotencyKey: `${flagSubject(input.flag)}:${scopeName(input.scope)}:${randomUUID()}`,
        });
        await client.query('COMMIT');
        return { changed: true, before, after };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
export type FlagsRepo = ReturnType<typeof flagsRepo>;

/**
 * The flag reader every flow uses: config settings, run-time switches (read fresh each time, so
 * a switch applies to the next decision) and the declared defaults. The workspace scope falls
 * back to THREADLINE_WORKSPACE_ID when the caller has none.
 */
export function createFlags(deps: { pool: Pool; config: FlagsConfig }) {
  const repo = flagsRepo(deps.pool);
  return {
    async evaluate(flag: string, ctx: FlagContext, opts: { within?: Deadline } = {}): Promise<FlagDecision> {
      const spec = deps.config.specs.find((s) => s.name === flag);
      if (!spec) throw new Error(`unknown flag ${flag}`);
      const settings = mergeSettings(
        deps.config.settings.filter((s) => s.flag === flag),
        await repo.list(flag, opts.within),
      );
      return evaluateFlag(spec, settings, { ...ctx, workspace: ctx.workspace ?? deps.config.workspace });
    },
  };
}
export type Flags = ReturnType<typeof createFlags>;
