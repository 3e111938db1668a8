import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/index.js';

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
