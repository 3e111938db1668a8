import { defineFlow } from '../../platform/flow.js';
import { hierarchyConfig } from './config.js';

/** Notifications routed through the org hierarchy into per-person private channels (docs/operations.md). */
export const hierarchyFlow = defineFlow({
  name: 'hierarchy',
  kinds: ['orgchannel'],
  config: hierarchyConfig,
  workflows: new URL('./workflow.js', import.meta.url),
  migrations: new URL('./migrations/', import.meta.url),
  api: async () => ({ routes: (await import('./api.js')).hierarchyRoutes }),
  // Private channels it creates, lists and keeps in sync (conversations.list/info/create/invite/kick/members).
  slack: { scopes: ['groups:read', 'groups:write'] },
  worker: async () => ({ activities: (await import('./activities.js')).hierarchyActivities }),
});
