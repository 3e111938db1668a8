import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { useBenchEngines } from '../../../bench/harness.js';
import { benchNames, runSuite, writeReport, type SuiteReport } from '../../../bench/run.js';
import { sharedBundle } from '../../helpers/bundle.js';

/**
 * The benchmark suite's smoke test (`BENCH_SCALE=quick`): every benchmark module loads and
 * exports `run()`, and the payments benchmark runs once, tiny, on global setup's Temporal and
 * Postgres, through the suite runner: its table, JSON and Markdown are written, and the cost of a
 * lifecycle counted from the real histories is what the lean bookkeeping promises (no timing is
 * asserted: speed is measured by `npm run bench`, not by tests).
 */
describe('the benchmark suite (BENCH_SCALE=quick)', () => {
  const scale = process.env.BENCH_SCALE;
  afterAll(() => {
    useBenchEngines(undefined);
    if (scale === undefined) delete process.env.BENCH_SCALE;
    else process.env.BENCH_SCALE = scale;
  });

  // Tiny, but it starts a stack and bundles the baseline worker: generous on a shared 2-core machine.
  it(
    'builds every benchmark, runs payments tiny, writes the table; a payment lifecycle costs 3 activities',
    { timeout: 300_000 },
    async () => {
      process.env.BENCH_SCALE = 'quick';
      const names = await benchNames();
      expect(names).toEqual(expect.arrayContaining(['alerts', 'approvals', 'payments', 'pacing', 'tickets']));
      for (const name of names) {
        const mod = (await import(`../../../bench/${name}.bench.ts`)) as { run?: unknown };
        expect(typeof mod.run, `${name}.bench.ts exports run()`).toBe('function');
      }

      useBenchEngines({
        temporalAddress: inject('temporalAddress'),
        databaseUrl: inject('databaseUrl'),
        workflowBundle: await sharedBundle(),
      });
      const report: SuiteReport = await runSuite(['payments']);
      const [payments] = report.benchmarks;
      expect(payments?.error).toBeUndefined();
      const median = (name: string) => payments!.figures.find((f) => f.name === name)?.median;
      // Root post, thread reply, root update; the start's lookup and the root's and the capture's
      // bookkeeping are local (main before the lean patch: 11 activities, 0 local).
      expect(median('payments: activities per lifecycle')).toBe(3);
      expect(median('payments: local activities per lifecycle')).toBe(3);
      expect(median('payments: throughput at 4 concurrent')).toBeGreaterThan(0);
      expect(median('payments: bare baseline throughput at 4 concurrent')).toBeGreaterThan(0);

      const dir = await mkdtemp(join(tmpdir(), 'threadline-bench-results-'));
      try {
        const out = await writeReport(report, dir);
        const json = JSON.parse(await readFile(out.json, 'utf8')) as SuiteReport;
        expect(json.machine.cores).toBeGreaterThan(0);
        expect(json.versions['@temporalio/worker']).toMatch(/^1\./);
        const md = await readFile(out.md, 'utf8');
        expect(md).toContain('| payments | payments: activities per lifecycle | 3.00 |');
        expect(md).toMatch(/load avg start → end/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
