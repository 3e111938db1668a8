import type { WebClient } from '@slack/web-api';
import type { PaymentsRepo } from '../db/payments-repo.js';
import type { AuditLogRepo, SlackMessagesRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { createApprovalActivities } from './approvals.js';
import { createAuditActivities } from './audit.js';
import { createPaymentActivities } from './payments.js';
import { createSlackResponseActivities, type SlackResponseDeps } from './slack-responses.js';
import { createSlackActivities } from './slack.js';

export interface ActivityDeps extends SlackResponseDeps {
  audit: AuditLogRepo;
  slack: WebClient;
  slackMessages: SlackMessagesRepo;
  metrics?: Metrics;
  payments: PaymentsRepo;
  /** Signs approval decision callbacks (never passed through workflow history). */
  approvalCallbackSecret?: string;
}

/** Every activity the worker registers, composed from their factories. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createAuditActivities(deps),
    ...createSlackActivities(deps),
    ...createSlackResponseActivities(deps),
    ...createPaymentActivities(deps),
    ...createApprovalActivities({ ...deps, approvalCallbackSecret: deps.approvalCallbackSecret }),
  };
}
export type Activities = ReturnType<typeof createActivities>;
