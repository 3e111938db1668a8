import type { WebClient } from '@slack/web-api';
import type { AuditLogRepo, SlackMessagesRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { createAuditActivities } from './audit.js';
import { createSlackActivities } from './slack.js';

export interface ActivityDeps {
  audit: AuditLogRepo;
  slack: WebClient;
  slackMessages: SlackMessagesRepo;
  metrics?: Metrics;
}

/** Every activity the worker registers, composed from their factories. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createAuditActivities(deps),
    ...createSlackActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
