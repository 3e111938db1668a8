import type { WebClient } from '@slack/web-api';
import type { PaymentsRepo } from '../flows/payments/repo.js';
import type { AuditLogRepo, SlackMessagesRepo } from '../platform/db/repositories.js';
import type { Metrics } from '../platform/observability/metrics.js';
import { createApprovalActivities } from '../flows/approvals/activities.js';
import { createAuditActivities } from '../platform/audit/activities.js';
import { createPaymentActivities } from '../flows/payments/activities.js';
import { createSlackResponseActivities, type SlackResponseDeps } from '../platform/slack/response-activities.js';
import { createSlackActivities } from '../platform/slack/activities.js';

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
