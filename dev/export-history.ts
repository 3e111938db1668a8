import { writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

/**
 * `npx tsx dev/export-history.ts <workflowId> <out.json>`: saves a workflow's history as JSON for
 * the replay tests (test/fixtures/histories/), in the canonical proto-JSON form replay reads. Env: TEMPORAL_ADDRESS (default 127.0.0.1:7233).
 */
const [workflowId, out] = process.argv.slice(2);
if (!workflowId || !out) {
  console.error('usage: tsx dev/export-history.ts <workflowId> <out.json>');
  process.exit(2);
}
const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
// Canonical proto JSON (same as `temporal workflow show --output json`), which replay accepts.
await writeFile(out, historyToJSON(history));
await connection.close();
console.log(`wrote ${history.events?.length ?? 0} events to ${out}`);
