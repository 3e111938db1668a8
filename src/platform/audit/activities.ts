import type { AuditEntry } from './contract.js';
import type { AuditLogRepo } from '../db/repositories.js';

/** `recordAudit`: append one audit row; `recordAudits`: a step's rows in one call. Idempotent by `idempotencyKey`. */
export function createAuditActivities(deps: { audit: AuditLogRepo }) {
  return {
    async recordAudit(entry: AuditEntry): Promise<boolean> {
      return deps.audit.append(entry);
    },
    /** In order; a retry rewrites nothing (each row's key is already recorded). How many were new. */
    async recordAudits(input: { entries: AuditEntry[] }): Promise<number> {
      let written = 0;
      for (const e of input.entries) if (await deps.audit.append(e)) written++;
      return written;
    },
  };
}
