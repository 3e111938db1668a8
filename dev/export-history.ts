import { writeFile } from 'node:fs/promises';
import { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { loadConfig } from '../src/config.js';
import { createPayloadCodec, decodePayloadsIn } from '../src/platform/temporal/codec.js';
import { connectClient } from '../src/platform/temporal/connection.js';

/**
 * `npx tsx dev/export-history.ts <workflowId> <out.json>`: saves a workflow's history as JSON for
 * the replay tests (test/fixtures/histories/), in the canonical proto-JSON form replay reads, with
 * every payload **decoded** (THREADLINE_PAYLOAD_KEYS, the sandbox key when unset): committed
 * fixtures stay readable and replay without keys. Record sandbox data only: a fixture is plain
 * text. Env: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE.
 */
const [workflowId, out] = process.argv.slice(2);
if (!workflowId || !out) {
  console.error('usage: tsx dev/export-history.ts <workflowId> <out.json>');
  process.exit(2);
}
const config = loadConfig();
const connection = await connectClient(config.temporal, config.temporal.address ?? '127.0.0.1:7233');
try {
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const decoded = await decodePayloadsIn(history, createPayloadCodec({ keys: config.temporal.payloadKeys }));
  // Canonical proto JSON (same as `temporal workflow show --output json`), which replay accepts.
  await writeFile(out, historyToJSON(decoded));
  console.log(`wrote ${history.events?.length ?? 0} events to ${out}`);
} finally {
  await connection.close();
}
