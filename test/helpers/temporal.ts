import { Client, Connection } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { loadConfig, type Config } from '../../src/config.js';
import { createPayloadCodec, decodePayloadsIn } from '../../src/platform/temporal/codec.js';
import { dataConverterFor } from '../../src/platform/temporal/connection.js';

type TemporalConfig = Config['temporal'];
/** What every test stack and test worker uses unless a test configures its own THREADLINE_PAYLOAD_KEYS. */
const sandbox = (): TemporalConfig => loadConfig({ THREADLINE_SANDBOX: 'true' }).temporal;

/**
 * The product's data converter (payload encryption, encoded failures) for test clients and
 * workers: a client without it cannot read what the stack's worker wrote.
 */
export function testDataConverter(t: TemporalConfig = sandbox()): DataConverter {
  return dataConverterFor(t);
}

/** The payload codec alone, for tests that read history payloads. */
export function testCodec(t: TemporalConfig = sandbox()): PayloadCodec {
  return createPayloadCodec({ keys: t.payloadKeys });
}

/**
 * A workflow's history with every payload decoded (through the codec, never by hand), read by a
 * client of its own. Search attributes and ids stay as stored.
 */
export async function decodedHistory(
  temporalAddress: string,
  workflowId: string,
  t: TemporalConfig = sandbox(),
): Promise<temporal.api.history.v1.IHistory> {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const history = await new Client({ connection }).workflow.getHandle(workflowId).fetchHistory();
    return await decodePayloadsIn(history, testCodec(t));
  } finally {
    await connection.close();
  }
}
