import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` needs no servers (domain rules, integrations' wire formats, emulators,
 * config, the workflow sandbox bundle);
 * `integration` shares one Temporal dev server and one embedded Postgres started by globalSetup
 * (test/platform/infra/ also starts engines and `npm start` of its own, on free ports).
 * test/browser/ drives Debian's Chromium through playwright-core against that same stack.
 * test/fixtures/ holds deliberately red files that only infra tests run, in a child vitest.
 */
export default defineConfig({
  test: {
    // Three test files at a time on 2 cores: a clean-clone CI run with two used 0.9–1.0 cores on
    // average (the files mostly wait on Temporal timers, emulators and child processes), so a
    // third overlaps those waits. Each may run a Temporal worker: keep the number small.
    maxWorkers: Number(process.env.VITEST_MAX_WORKERS ?? 3),
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'test/**/domain/**/*.test.ts',
            'test/platform/unit/**/*.test.ts',
            'test/integrations/**/*.test.ts',
            'test/emulators/**/*.test.ts',
            // test/console/e2e/ runs with the integration project (real stack).
            'test/console/*.test.ts',
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'test/**/workflow/**/*.test.ts',
            'test/**/e2e/**/*.test.ts',
            'test/platform/integration/**/*.test.ts',
            'test/platform/infra/**/*.test.ts',
            // Real Chromium against the real stack (Debian's package, installed on first use).
            'test/browser/**/*.test.ts',
            'test/platform/guarantees/**/*.test.ts',
          ],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
