import { defineFlow } from '../../platform/flow.js';
import { ticketsConfig } from './config.js';
import { ISSUE_KEY_PATTERN, TICKET_SYNC_FLAG } from './contract.js';
import { ticketsSlack } from './slack.js';

/** Jira ⇄ Slack ticket threads: one live thread per synced issue (docs/tickets.md). */
export const ticketsFlow = defineFlow({
  name: 'tickets',
  kinds: ['ticket'],
  config: ticketsConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).ticketsApi }),
  worker: async () => ({ activities: (await import('./activities.js')).ticketActivities }),
  slack: ticketsSlack,
  flags: [{ name: TICKET_SYNC_FLAG, describe: 'mirror Jira issues into Slack threads', default: true }],
  status: {
    describe: 'a Jira issue key',
    candidates: (q) => {
      if (q.startsWith('ticket:')) return [q];
      const key = q.toUpperCase();
      return ISSUE_KEY_PATTERN.test(key) ? [`ticket:${key}`] : [];
    },
  },
});
