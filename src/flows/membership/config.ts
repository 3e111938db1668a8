import { z } from 'zod';
import { optionalString } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';

export interface MembershipConfig {
  /** Where requests to workspace admins go (invites to send, accounts to deactivate or reactivate). */
  adminsChannel: string;
  /** Cron (UTC) of the sync's Temporal Schedule `membersync`. */
  syncCron: string;
}

export const membershipConfig = defineFlowConfig(
  {
    MEMBERSHIP_ADMINS_CHANNEL: optionalString,
    MEMBERSHIP_SYNC_CRON: z
      .string()
      .trim()
      .refine((c) => c.split(/\s+/).length === 5, 'a 5-field cron expression like "0 */6 * * *"')
      .default('0 */6 * * *'),
  },
  (e, ctx): MembershipConfig => ({
    adminsChannel: ctx.require(
      'MEMBERSHIP_ADMINS_CHANNEL',
      e.MEMBERSHIP_ADMINS_CHANNEL,
      'C0OPSALERT',
      'a Slack channel id',
    ),
    syncCron: e.MEMBERSHIP_SYNC_CRON,
  }),
);
