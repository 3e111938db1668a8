import { spawn } from 'node:child_process';
import { describe, expect, inject, it } from 'vitest';
import '../../helpers/provided.js';

/**
 * A red run never reads as green: each deliberately failing fixture in test/fixtures/red-runs/
 * runs in a child vitest with our summary reporter, and its closing lines and exit status are
 * asserted. Before the reporter counted files, suites and unhandled errors, a failed beforeAll,
 * a file that could not load and an unhandled rejection each closed with "0 failed".
 */
interface Run {
  code: number | null;
  out: string;
  closing: string | undefined;
  detail: string | undefined;
  failures: string[];
}

function runFixtures(files: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/red-runs/vitest.config.ts'],
      {
        env: {
          ...process.env,
          FIXTURES: files.map((f) => `${f}.fixture.ts`).join(','),
          FIXTURE_PROVIDE: JSON.stringify({
            temporalAddress: inject('temporalAddress'),
            databaseUrl: inject('databaseUrl'),
            workflowBundlePath: inject('workflowBundlePath'),
          }),
          NO_COLOR: '1',
          FORCE_COLOR: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = out.split('\n');
      const at = lines.findLastIndex((l) => /^vitest: \d+ passed, \d+ failed, \d+ skipped$/.test(l));
      const start = lines.indexOf('vitest failures:');
      resolve({
        code,
        out,
        closing: lines[at],
        detail: lines[at + 1],
        failures: start < 0 ? [] : lines.slice(start + 1).filter((l) => /^ {2}(FAIL|UNHANDLED) /.test(l)),
      });
    });
  });
}

describe('summary reporter: a red run never looks green', () => {
  it('a green run: counts, no failure list, exit 0', async () => {
    const r = await runFixtures(['passing']);
    expect(r.closing, r.out).toBe('vitest: 1 passed, 0 failed, 1 skipped');
    expect(r.detail).toMatch(/0 files of 1 failed .*0 unhandled errors; run ended: passed$/);
    expect(r.failures).toEqual([]);
    expect(r.code).toBe(0);
  });

  it.each([
    [
      'before-all-fails',
      'vitest: 0 passed, 2 failed, 0 skipped',
      /1 file of 1 failed .*1 suite failed, 0 tests failed, 2 tests not run/,
      /FAIL before-all-fails.fixture.ts > a stack that does not start: Error: fixture: the stack did not start/,
    ],
    [
      'load-fails',
      'vitest: 0 passed, 1 failed, 0 skipped',
      /1 file of 1 failed \(1 did not load\)/,
      /FAIL load-fails.fixture.ts: Error: fixture: this file cannot load/,
    ],
    [
      'after-all-fails',
      'vitest: 1 passed, 1 failed, 0 skipped',
      /1 file of 1 failed/,
      /FAIL after-all-fails.fixture.ts: Error: fixture: teardown failed/,
    ],
    [
      'unhandled',
      'vitest: 1 passed, 1 failed, 0 skipped',
      /1 unhandled error; run ended: failed \(unhandled errors\)$/,
      /UNHANDLED Error: fixture: unhandled rejection/,
    ],
    [
      'failing',
      'vitest: 0 passed, 1 failed, 0 skipped',
      /1 test failed/,
      /FAIL failing.fixture.ts > fails an assertion: AssertionError/,
    ],
  ])('%s: counted as failed, listed, exit non-zero', async (fixture, closing, detail, failure) => {
    const r = await runFixtures([fixture]);
    expect(r.closing, r.out).toBe(closing);
    expect(r.detail).toMatch(detail);
    expect(r.failures.join('\n')).toMatch(failure);
    expect(r.code).not.toBe(0);
  });

  it('a worker that crashes mid-file fails its file through the stack teardown', async () => {
    const r = await runFixtures(['worker-crash']);
    expect(r.closing, r.out).toBe('vitest: 1 passed, 1 failed, 0 skipped');
    expect(r.failures.join('\n')).toMatch(
      /FAIL worker-crash.fixture.ts: StackStopError: stopping the stack failed: worker: fixture: worker crashed/,
    );
    expect(r.code).not.toBe(0);
  });

  it('all of them in one run: every failure listed, one closing line with the totals', async () => {
    const r = await runFixtures([
      'passing',
      'before-all-fails',
      'load-fails',
      'after-all-fails',
      'unhandled',
      'failing',
    ]);
    expect(r.closing, r.out).toBe('vitest: 3 passed, 6 failed, 1 skipped');
    expect(r.detail).toMatch(
      /^vitest: 4 files of 6 failed \(1 did not load\), 1 suite failed, 1 test failed, 2 tests not run because their file or suite failed, 1 unhandled error; run ended: failed$/,
    );
    expect(r.failures).toHaveLength(5);
    expect(r.code).not.toBe(0);
  });
});
