import { defineFlow } from '../../platform/flow.js';
import { approvalsConfig } from './config.js';
import { approvalsSlack } from './slack.js';

/** Approvals that block until a Slack click (docs/approvals.md). */
export const approvalsFlow = defineFlow({
  name: 'approvals',
  kinds: ['approval'],
  config: approvalsConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).approvalRoutes }),
  worker: async () => ({ activities: (await import('./activities.js')).approvalActivities }),
  slack: approvalsSlack,
  status: {
    describe: 'an approval id',
    candidates: (q) => (q.startsWith('approval:') ? [q] : /^[\w-]{1,64}$/.test(q) ? [`approval:${q}`] : []),
  },
});
