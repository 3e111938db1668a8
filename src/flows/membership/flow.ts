import { defineFlow } from '../../platform/flow.js';
import { membershipConfig } from './config.js';

/** Workspace membership kept in step with a people directory (docs/operations.md). */
export const membershipFlow = defineFlow({
  name: 'membership',
  kinds: ['membersync'],
  config: membershipConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).membershipRoutes }),
  // users.list, with each account's email (the directory is matched by email).
  slack: { scopes: ['users:read', 'users:read.email'] },
  worker: async () => ({ activities: (await import('./activities.js')).membershipActivities }),
});
