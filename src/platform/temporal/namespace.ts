import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';

// CommonJS package: named ESM imports fail under plain node (tsx hides that).
const { temporal } = proto;
import { SEARCH_ATTRIBUTES } from './workflow/search-attributes.js';
import type { Log } from '../infra/temporal-cli.js';

const RETENTION_SECONDS = 30 * 24 * 3600;
const TYPES = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
} as const;

/**
 * Makes the namespace ready for Threadline: raises retention to 30 days (the dev server creates
 * namespaces with 24 h, and closed lifecycles must stay queryable for a month) and registers the
 * search attributes the workflows upsert. `start-dev --search-attribute` only applies on first
 * creation, so an existing SQLite file gets new attributes from here. Idempotent.
 */
export async function ensureNamespace(
  connection: Connection,
  namespace: string,
  log: Log,
  opts: { setRetention: boolean },
): Promise<void> {
  const desc = await connection.workflowService.describeNamespace({ namespace });
  const current = Number(desc.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
  if (opts.setRetention && current < RETENTION_SECONDS) {
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: msToTs(RETENTION_SECONDS * 1000) },
    });
    log(`Namespace ${namespace}: retention raised to 30 days`);
  }
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, TYPES[type]])),
      });
      log(`Namespace ${namespace}: registered search attributes ${missing.map(([n]) => n).join(', ')}`);
    } catch (err) {
      // Temporal Cloud manages search attributes through its own control plane: say what to do.
      throw new Error(
        `Could not register search attributes ${missing.map(([n]) => n).join(', ')} in namespace ${namespace}: ` +
          `${err instanceof Error ? err.message : String(err)}. Register them (type Keyword) with ` +
          '`temporal operator search-attribute create` or in Temporal Cloud, then restart.',
        { cause: err },
      );
    }
  }
}
