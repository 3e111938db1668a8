import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../platform/config/index.js';
import {
  evaluateFlag,
  mergeSettings,
  type FlagDecision,
  type FlagSetting,
  type FlagSpec,
} from '../platform/flags/evaluate.js';
import { flagsRepo } from '../platform/flags/repo.js';

/** One Slack installation as the console shows it: ids, status, scopes and dates; never a token, sealed or not. */
export interface InstallationRow {
  installationId: string;
  teamId: string | undefined;
  enterpriseId: string | undefined;
  teamName: string | undefined;
  status: string;
  scopes: string[];
  installedAt: Date;
  revokedAt: Date | undefined;
  revokedReason: string | undefined;
}

/** One declared flag: its settings (config and run time) and what it decides for the configured workspace. */
export interface FlagRow {
  spec: FlagSpec;
  settings: FlagSetting[];
  workspace: string | undefined;
  decision: FlagDecision;
}

/** One Temporal Schedule of this app (its action starts workflows on this app's task queue). */
export interface ScheduleRow {
  scheduleId: string;
  workflowType: string;
  paused: boolean;
  note: string | undefined;
  timezone: string | undefined;
  nextRuns: Date[];
  lastRun: Date | undefined;
}

/** How many installations / schedules a page lists. */
export const SETTINGS_LIMIT = 200;

/**
 * The console's read-only pages about how the app is set up: installations (Postgres,
 * `slack_installations`: only the columns that are not credentials are selected), feature flags
 * (declared by the flows, switched in config and through the API) and Temporal Schedules (reports,
 * membership syncs…: every schedule whose action starts a workflow on this app's task queue).
 */
export function consoleSettings(deps: { pool: Pool; temporal: Client; config: Config }) {
  const flags = flagsRepo(deps.pool);
  return {
    async installations(): Promise<InstallationRow[]> {
      const { rows } = await deps.pool.query<{
        installation_id: string;
        team_id: string | null;
        enterprise_id: string | null;
        team_name: string | null;
        status: string;
        bot_scopes: string[] | null;
        installed_at: Date;
        revoked_at: Date | null;
        revoked_reason: string | null;
      }>(
        `SELECT installation_id, team_id, enterprise_id, team_name, status, bot_scopes, installed_at, revoked_at,
                revoked_reason
           FROM slack_installations ORDER BY installed_at DESC, installation_id LIMIT ${SETTINGS_LIMIT}`,
      );
      return rows.map((r) => ({
        installationId: r.installation_id,
        teamId: r.team_id ?? undefined,
        enterpriseId: r.enterprise_id ?? undefined,
        teamName: r.team_name ?? undefined,
        status: r.status,
        scopes: r.bot_scopes ?? [],
        installedAt: r.installed_at,
        revokedAt: r.revoked_at ?? undefined,
        revokedReason: r.revoked_reason ?? undefined,
      }));
    },

    async flags(): Promise<FlagRow[]> {
      const { specs, settings: configured, workspace } = deps.config.flags;
      const stored = await flags.list();
      return specs.map((spec) => {
        const settings = mergeSettings(
          configured.filter((s) => s.flag === spec.name),
          stored.filter((s) => s.flag === spec.name),
        );
        return { spec, settings, workspace, decision: evaluateFlag(spec, settings, { workspace }) };
      });
    },

    async schedules(): Promise<ScheduleRow[]> {
      const out: ScheduleRow[] = [];
      let seen = 0;
      for await (const s of deps.temporal.schedule.list({ pageSize: 100 })) {
        if (++seen > SETTINGS_LIMIT) break;
        // The summary does not say which task queue the action uses; the description does.
        const d = await deps.temporal.schedule
          .getHandle(s.scheduleId)
          .describe()
          .catch(() => undefined);
        if (!d || d.action.taskQueue !== deps.config.temporal.taskQueue) continue;
        const recent = d.info.recentActions;
        out.push({
          scheduleId: s.scheduleId,
          workflowType: d.action.workflowType,
          paused: d.state.paused,
          note: d.state.note || undefined,
          timezone: d.spec.timezone,
          nextRuns: d.info.nextActionTimes.slice(0, 3),
          lastRun: recent.length ? recent[recent.length - 1]!.takenAt : undefined,
        });
      }
      return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    },
  };
}
