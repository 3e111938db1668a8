import { defineFlow } from '../../platform/flow.js';
import { ISSUE_KEY_PATTERN } from '../tickets/contract.js';
import { assignmentConfig } from './config.js';
import { assignmentSlack } from './slack.js';

/**
 * Assignment routing for Jira issues that need an owner (docs/assignment.md): rules, Accept /
 * Reassign in Slack, ack-timeout escalation, manual overrides respected, audited decisions.
 */
export const assignmentFlow = defineFlow({
  name: 'assignment',
  kinds: ['assignment'],
  config: assignmentConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  worker: async () => {
    const m = await import('./activities.js');
    return { activities: m.assignmentActivities, onStart: m.assignmentOnStart };
  },
  slack: assignmentSlack,
  flags: [{ name: 'assignment', describe: 'route Jira issues that need an owner', default: true }],
  status: {
    describe: 'a Jira issue key',
    candidates: (q) => {
      if (q.startsWith('assignment:')) return [q];
      const key = q.toUpperCase();
      return ISSUE_KEY_PATTERN.test(key) ? [`assignment:${key}`] : [];
    },
  },
});
