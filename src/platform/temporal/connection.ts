import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/index.js';
import { payloadDataConverter } from './codec.js';

type TemporalConfig = Config['temporal'];

function connectionOptions(t: TemporalConfig, address: string) {
  // Temporal Cloud: API key (implies TLS) or mTLS client certificate.
  const tls = t.tls
    ? { clientCertPair: { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) } }
    : t.apiKey
      ? true
      : undefined;
  return { address, tls, apiKey: t.apiKey };
}

export function connectClient(t: TemporalConfig, address: string): Promise<Connection> {
  return Connection.connect({ ...connectionOptions(t, address), connectTimeout: 10_000 });
}

export function connectWorker(t: TemporalConfig, address: string): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(t, address));
}

/**
 * The data converter every Threadline client and worker uses: payloads encrypted with the
 * configured keys, failure messages and stack traces encoded (no secrets or PII in history).
 */
export function dataConverterFor(t: TemporalConfig): DataConverter {
  return payloadDataConverter(t.payloadKeys);
}

/** A client on `connection` in the configured namespace, with Threadline's data converter. */
export function temporalClient(t: TemporalConfig, connection: Connection): Client {
  return new Client({ connection, namespace: t.namespace, dataConverter: dataConverterFor(t) });
}
