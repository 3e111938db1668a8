import { flows } from './flows/index.js';
import { loadConfigFor, type Config } from './platform/config/index.js';

export * from './platform/config/index.js';

/** The platform's and every registered flow's config, from the env (entry points and tests only). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return loadConfigFor(flows, env);
}
