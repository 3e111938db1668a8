import { z } from 'zod';
import { channelId, duration } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';

/** The Admin API identity membership invites with (`admin.users.invite`). */
export interface MembershipAdminApi {
  /**
   * An Enterprise Grid org admin's or owner's user token (`xoxp-…`) with `admin.users:write`;
   * a bot token cannot call the Admin API (`not_allowed_token_type`). Never logged (the logger
   * redacts `token` fields) and never in workflow history (activities read it from config).
   */
  token: string;
  /** The workspace (`T…`) people are invited into. */
  teamId: string;
  /** The channels an invited person joins (Slack requires at least one). */
  channelIds: string[];
  /** `MEMBERSHIP_UNENROLLED=remove`: unenrolled people are removed through `admin.users.remove` (else reported). */
  removeUnenrolled: boolean;
}

export interface MembershipConfig {
  /**
   * Where requests to workspace admins go (invites to send, accounts to deactivate or
   * reactivate); unset: the ops channel.
   */
  adminsChannel: string | undefined;
  /** Cron (UTC) of the sync's Temporal Schedule `membersync`. */
  syncCron: string;
  /** Set: invites go through `admin.users.invite`; unset: they are requested in the admins channel. */
  adminApi: MembershipAdminApi | undefined;
  /** How long a request to admins stays answered before a sync asks again for the same person (ms). */
  reminderIntervalMs: number;
}

const teamId = z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'a Slack workspace id like T0123ABCD');

export const membershipConfig = defineFlowConfig(
  {
    MEMBERSHIP_ADMINS_CHANNEL: channelId.optional(),
    MEMBERSHIP_SYNC_CRON: z
      .string()
      .trim()
      .refine((c) => c.split(/\s+/).length === 5, 'a 5-field cron expression like "0 */6 * * *"')
      .default('0 */6 * * *'),
    SLACK_ADMIN_USER_TOKEN: z
      .string()
      .trim()
      .regex(/^xoxp-[A-Za-z0-9-]+$/, "an org admin's user token (xoxp-…; the Admin API refuses bot tokens)")
      .optional(),
    MEMBERSHIP_INVITE_TEAM_ID: teamId.optional(),
    MEMBERSHIP_INVITE_CHANNELS: z
      .string()
      .trim()
      .transform((v) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      )
      .pipe(z.array(channelId).max(100))
      .optional(),
    MEMBERSHIP_REMINDER_INTERVAL: duration('7d'),
    /** What happens to unenrolled people with an account: `report` (asked for in the admins channel) or `remove` (admin.users.remove). */
    MEMBERSHIP_UNENROLLED: z.enum(['report', 'remove']).default('report'),
  },
  (e, ctx): MembershipConfig => {
    let adminApi: MembershipAdminApi | undefined;
    if (e.SLACK_ADMIN_USER_TOKEN) {
      // The sandbox workspace's id, so a sandbox with the token needs nothing else.
      const team = ctx.require(
        'MEMBERSHIP_INVITE_TEAM_ID',
        e.MEMBERSHIP_INVITE_TEAM_ID,
        'T0THREADLN',
        'the workspace admin.users.invite invites into, with SLACK_ADMIN_USER_TOKEN',
      );
      const channels = e.MEMBERSHIP_INVITE_CHANNELS ?? [];
      if (!channels.length)
        ctx.problem(
          'MEMBERSHIP_INVITE_CHANNELS: required with SLACK_ADMIN_USER_TOKEN (comma-separated channel ids an invited person joins; Slack requires one)',
        );
      adminApi = {
        token: e.SLACK_ADMIN_USER_TOKEN,
        teamId: team,
        channelIds: channels,
        removeUnenrolled: e.MEMBERSHIP_UNENROLLED === 'remove',
      };
    } else if (e.MEMBERSHIP_UNENROLLED === 'remove')
      ctx.problem(
        'MEMBERSHIP_UNENROLLED=remove: needs SLACK_ADMIN_USER_TOKEN (admin.users.remove takes an admin user token)',
      );
    return {
      adminsChannel: e.MEMBERSHIP_ADMINS_CHANNEL,
      syncCron: e.MEMBERSHIP_SYNC_CRON,
      adminApi,
      reminderIntervalMs: e.MEMBERSHIP_REMINDER_INTERVAL,
    };
  },
);
