import { defineFlow } from '../../platform/flow.js';
import { paymentsConfig } from './config.js';

/** Payment lifecycle threads: one Slack thread per payment (docs/payments.md). */
export const paymentsFlow = defineFlow({
  name: 'payments',
  kinds: ['payment'],
  config: paymentsConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).paymentsApi }),
  worker: async () => ({ activities: (await import('./activities.js')).paymentActivities }),
  status: {
    describe: 'a payment order id',
    candidates: (q) => (q.startsWith('payment:') ? [q] : /^[A-Za-z0-9_.:-]{1,64}$/.test(q) ? [`payment:${q}`] : []),
  },
});
