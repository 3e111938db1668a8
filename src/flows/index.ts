import type { AnyFlow } from '../platform/flow.js';
import { alertsFlow } from './alerts/flow.js';
import { approvalsFlow } from './approvals/flow.js';
import { hierarchyFlow } from './hierarchy/flow.js';
import { membershipFlow } from './membership/flow.js';
import { assignmentFlow } from './assignment/flow.js';
import { paymentsFlow } from './payments/flow.js';
import { reportsFlow } from './reports/flow.js';
import { ticketsFlow } from './tickets/flow.js';

/**
 * The registry: every flow Threadline runs, one line each. The API, the worker, the Slack
 * ingress, the migrator and `loadConfig` iterate it; order is the order `/threadline status`
 * tries id forms in.
 */
export const flows: readonly AnyFlow[] = [
  paymentsFlow,
  approvalsFlow,
  ticketsFlow,
  alertsFlow,
  reportsFlow,
  hierarchyFlow,
  membershipFlow,
  assignmentFlow,
];
