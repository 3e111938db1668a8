import type { AuditEntry } from './contract.js';
import type { AuditLogRepo } from '../db/repositories.js';

/** `recordAudit`: append one audit row; idempotent by `idempotencyKey`. */
export function createAuditActivities(deps: { audit: AuditLogRepo }) {
  return {
    async recordAudit(entry: AuditEntry): Promise<boolean> {
      return deps.audit.append(entry);
    },
  };
}
