import { readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { loadConfig } from '../src/config.js';
import { createPayloadCodec, decodePayloadsIn } from '../src/platform/temporal/codec.js';
import { connectClient } from '../src/platform/temporal/connection.js';

type History = temporal.api.history.v1.IHistory;

/** Where committed replay fixtures live (replayed by test/platform/integration/replay.test.ts). */
export const FIXTURE_DIR = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

/** The checkout's absolute path: recorded stack traces name it, and the project names no machine paths. */
const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * The one place a fetched history becomes fixture text: every payload **decoded** through the
 * codec (committed fixtures stay readable and replay without keys; record sandbox data only, a
 * fixture is plain text), the checkout path removed from recorded stack traces (also inside
 * decoded failure attributes), then canonical proto JSON (what `temporal workflow show --output
 * json` prints and replay reads), pretty-printed for review.
 */
export async function historyFixtureJSON(history: History, codec: PayloadCodec): Promise<string> {
  const decoded = await decodePayloadsIn(history, codec);
  const text = JSON.stringify(JSON.parse(historyToJSON(decoded)), null, 2);
  return `${withoutCheckoutPath(text)}\n`;
}

/** Removes the checkout path, also from base64 payload data (decoded failure attributes hold stack traces). */
function withoutCheckoutPath(json: string): string {
  const strip = (s: string) => s.split(REPO_ROOT).join('');
  const visit = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(visit);
    if (v === null || typeof v !== 'object') return typeof v === 'string' ? strip(v) : v;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(v)) {
      const isData = k === 'data' && typeof child === 'string';
      out[k] = isData
        ? Buffer.from(strip(Buffer.from(child, 'base64').toString('utf8'))).toString('base64')
        : visit(child);
    }
    return out;
  };
  return JSON.stringify(visit(JSON.parse(json)), null, 2);
}

/** Versions already committed for fixture `name` (`<name>-v<N>.json`), ascending. */
export async function fixtureVersions(name: string, dir = FIXTURE_DIR): Promise<number[]> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-v(\\d+)\\.json$`);
  return (await readdir(dir))
    .flatMap((f) => {
      const m = pattern.exec(f);
      return m ? [Number(m[1])] : [];
    })
    .sort((a, b) => a - b);
}

/** Raised instead of overwriting a committed fixture. */
export class FixtureExistsError extends Error {}

/**
 * Writes `history` as fixture `<name>-v<N>.json` and answers its path. A committed fixture is never
 * overwritten: histories recorded from older code are what proves running workflows still replay.
 * The first recording of a name is v1; recording a name that exists fails unless `newVersion` is
 * set, which adds the next version beside the old ones. The write itself refuses an existing file
 * (`wx`), so two recorders racing cannot clobber each other either.
 */
export async function writeHistoryFixture(opts: {
  history: History;
  name: string;
  /** Decodes the payloads (the keys the history was written with). */
  codec: PayloadCodec;
  newVersion?: boolean;
  dir?: string;
}): Promise<string> {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(opts.name))
    throw new Error(`fixture name ${JSON.stringify(opts.name)}: use lower-case words joined by "-"`);
  const dir = opts.dir ?? FIXTURE_DIR;
  const versions = await fixtureVersions(opts.name, dir);
  const latest = versions.at(-1);
  if (latest !== undefined && !opts.newVersion)
    throw new FixtureExistsError(
      `${opts.name}-v${latest}.json is committed and is never overwritten; record it as a new version ` +
        `(--new-version, or THREADLINE_RECORD_NEW_VERSION=1 in tests) to add ${opts.name}-v${latest + 1}.json`,
    );
  const path = join(dir, `${opts.name}-v${(latest ?? 0) + 1}.json`);
  try {
    await writeFile(path, await historyFixtureJSON(opts.history, opts.codec), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new FixtureExistsError(`${path} already exists`);
    throw err;
  }
  return path;
}

const USAGE = `usage: tsx dev/export-history.ts <workflowId> <fixture-name | out.json> [--run-id <id>] [--new-version] [--dir <dir>]
  Saves one run's history, payloads decoded, as <dir>/<fixture-name>-v<N>.json (default dir:
  test/fixtures/histories). Refuses to overwrite; --new-version adds the next version instead.
  Env: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, THREADLINE_PAYLOAD_KEYS
  (the sandbox key when unset).`;

async function main(argv: string[]): Promise<void> {
  const positional: string[] = [];
  let runId: string | undefined;
  let dir: string | undefined;
  let newVersion = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--new-version') newVersion = true;
    else if (a === '--run-id') runId = argv[++i];
    else if (a === '--dir') dir = argv[++i] && resolve(argv[i]!);
    else positional.push(a);
  }
  const [workflowId, name] = positional;
  if (!workflowId || !name || positional.length > 2) {
    console.error(USAGE);
    process.exit(2);
  }
  const config = loadConfig();
  const connection = await connectClient(config.temporal, config.temporal.address ?? '127.0.0.1:7233');
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const codec = createPayloadCodec({ keys: config.temporal.payloadKeys });
    // An explicit `<out>.json` path is written as given, but never over an existing file either.
    const path = name.endsWith('.json')
      ? await writeFile(resolve(name), await historyFixtureJSON(history, codec), { flag: 'wx' }).then(() =>
          resolve(name),
        )
      : await writeHistoryFixture({ history, name, codec, newVersion, dir });
    console.log(`wrote ${history.events?.length ?? 0} events to ${path}`);
  } finally {
    await connection.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
