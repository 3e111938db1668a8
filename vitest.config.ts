import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` needs no servers (pure logic, emulators, workflow sandbox bundle);
 * `integration` shares one Temporal dev server and one embedded Postgres started by globalSetup.
 */
export default defineConfig({
  test: {
    // Two cores: keep the number of test workers (each may run a Temporal worker) small.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/emulators/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'test/workflows/**/*.test.ts',
            'test/api/**/*.test.ts',
            'test/integration/**/*.test.ts',
            'test/e2e/**/*.test.ts',
          ],
          globalSetup: ['test/helpers/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
