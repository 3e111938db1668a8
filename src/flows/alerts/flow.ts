import { defineFlow } from '../../platform/flow.js';
import { alertsConfig } from './config.js';
import { alertsSlack } from './slack.js';

/** Operational alerts people act on in Slack, escalation and on-call, ChatOps (docs/alerts.md). */
export const alertsFlow = defineFlow({
  name: 'alerts',
  kinds: ['alert', 'chatops'],
  config: alertsConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).alertsApi }),
  worker: async () => ({ activities: (await import('./activities.js')).alertActivities }),
  slack: alertsSlack,
  status: {
    describe: 'an alert id (am:<fingerprint> or a dedup key)',
    candidates: (q) =>
      q.startsWith('alert:') || q.startsWith('chatops:')
        ? [q]
        : /^am:[0-9a-f]{1,64}$/i.test(q)
          ? [`alert:${q.toLowerCase()}`]
          : /^[A-Za-z0-9_.:-]{1,128}$/.test(q)
            ? [`alert:${q.startsWith('ext:') ? q : `ext:${q}`}`]
            : [],
  },
});
