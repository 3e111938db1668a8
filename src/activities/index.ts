import type { AuditLogRepo } from '../db/repositories.js';
import { createAuditActivities } from './audit.js';

export interface ActivityDeps {
  audit: AuditLogRepo;
}

/** Every activity the worker registers, composed from their factories. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createAuditActivities(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
