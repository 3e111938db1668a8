import type { FlowSlack } from '../../platform/flow.js';
import type { AssignmentConfig } from './config.js';
import { ASSIGNMENT_VERBS } from './contract.js';

/**
 * The assignment in Slack: Accept and Reassign on the DM, and the reason modal Reassign opens,
 * all through the workflow's Update (its validator refuses anyone but the person asked, and an
 * answer for an attempt that is over).
 */
export const assignmentSlack: FlowSlack<AssignmentConfig> = {
  actions: {
    [ASSIGNMENT_VERBS.accept]: { mode: 'update' },
    [ASSIGNMENT_VERBS.reassign]: { mode: 'update' },
    [ASSIGNMENT_VERBS.reassignReason]: {
      mode: 'update',
      requiredFields: [{ blockId: 'reason', actionId: 'reason', message: 'Please say why you are passing it on.' }],
    },
  },
};
