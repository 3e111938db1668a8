import { z } from 'zod';
import { channelId } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';

export interface MembershipConfig {
  /**
   * Where requests to workspace admins go (invites to send, accounts to deactivate or
   * reactivate); unset: the ops channel.
   */
  adminsChannel: string | undefined;
  /** Cron (UTC) of the sync's Temporal Schedule `membersync`. */
  syncCron: string;
}

export const membershipConfig = defineFlowConfig(
  {
    MEMBERSHIP_ADMINS_CHANNEL: channelId.optional(),
    MEMBERSHIP_SYNC_CRON: z
      .string()
      .trim()
      .refine((c) => c.split(/\s+/).length === 5, 'a 5-field cron expression like "0 */6 * * *"')
      .default('0 */6 * * *'),
  },
  (e): MembershipConfig => ({
    adminsChannel: e.MEMBERSHIP_ADMINS_CHANNEL,
    syncCron: e.MEMBERSHIP_SYNC_CRON,
  }),
);
