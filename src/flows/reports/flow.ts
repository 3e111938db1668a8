import { defineFlow } from '../../platform/flow.js';
import { reportsConfig } from './config.js';

/** Scheduled reports: digests of a dataset's window on Temporal Schedules (docs/operations.md). */
export const reportsFlow = defineFlow({
  name: 'reports',
  kinds: ['report'],
  config: reportsConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).reportRoutes }),
  worker: async () => ({ activities: (await import('./activities.js')).reportActivities }),
});
