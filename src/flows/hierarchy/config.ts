import { z } from 'zod';
import { duration } from '../../platform/config/index.js';
import { defineFlowConfig } from '../../platform/flow.js';
import type { PersonChannelPolicy } from './contract.js';

export type HierarchyConfig = PersonChannelPolicy;

export const hierarchyConfig = defineFlowConfig(
  {
    /** `{person}` is replaced by the person id; the result is made a valid Slack channel name. */
    ORG_CHANNEL_NAME_PATTERN: z
      .string()
      .trim()
      .min(1)
      .max(60)
      .refine((p) => p.includes('{person}'), 'must contain {person}')
      .default('team-{person}'),
    ORG_NOTIFICATION_RETRY_AFTER: duration('15m'),
    ORG_CHANNEL_IDLE_CLOSE: duration('7d'),
  },
  (e): HierarchyConfig => ({
    channelNamePattern: e.ORG_CHANNEL_NAME_PATTERN,
    retryAfterMs: e.ORG_NOTIFICATION_RETRY_AFTER,
    idleCloseAfterMs: e.ORG_CHANNEL_IDLE_CLOSE,
  }),
);
