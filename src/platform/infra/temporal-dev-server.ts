import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../temporal/workflow/search-attributes.js';
import { spawnEngine } from './engine-process.js';
import type { Log } from './temporal-cli.js';

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file; omit for an in-memory server (tests). */
  dbFile?: string;
  port: number;
  uiPort: number;
  headless?: boolean;
  namespace: string;
  log: Log;
  /** Records the running server (see engine-process.ts); a leftover from a crash is stopped first. */
  pidFile?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string | undefined;
  /** The server's pid (tests check it is gone after a crash). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` as a child process and waits until its frontend answers.
 * SQLite runs in WAL mode; retention and search attributes are applied by `ensureNamespace`.
 */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--namespace',
    opts.namespace,
    '--log-level',
    'error',
    '--log-format',
    'json',
  ];
  if (opts.dbFile) {
    await mkdir(dirname(opts.dbFile), { recursive: true });
    args.push(
      '--db-filename',
      opts.dbFile,
      '--sqlite-pragma',
      'journal_mode=wal',
      '--sqlite-pragma',
      'synchronous=normal',
    );
  }
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort));
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const engine = await spawnEngine({
    name: 'Temporal dev server',
    command: opts.cliPath,
    args,
    stopSignal: 'SIGTERM',
    graceMs: 10_000,
    pidFile: opts.pidFile,
    log: opts.log,
  });

  const address = `127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const exited = engine.exited();
    if (exited !== undefined) {
      await engine.stop();
      throw new Error(`Temporal dev server exited (${exited}) during start-up:\n${engine.output().slice(-2000)}`);
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: opts.namespace });
      } finally {
        await conn.close();
      }
      // Answering, and still ours: not another server that answered on the port while ours failed.
      if (engine.exited() === undefined) break;
    } catch (err) {
      if (Date.now() > deadline) {
        await engine.stop();
        throw new Error(
          `Temporal dev server did not become ready in 60s: ${String(err)}\n${engine.output().slice(-2000)}`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  opts.log(`Temporal dev server ready on ${address}${opts.dbFile ? ` (SQLite ${opts.dbFile})` : ' (in memory)'}`);
  return {
    address,
    uiUrl: opts.headless ? undefined : `http://127.0.0.1:${opts.uiPort}`,
    pid: engine.child.pid!,
    stop: () => engine.stop(),
  };
}
