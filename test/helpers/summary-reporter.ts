import type { Reporter, SerializedError, TestCase, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

/**
 * Prints a plain closing line, `vitest: N passed, N failed, N skipped`, the form CI reads to tell
 * a run that tested something from one that ran no test, and on the next line what failed and
 * why the run ended. A red run must never read as green, so "failed" counts every failure, not
 * only failed tests: a test that never ran because its file or suite failed (vitest reports those
 * as skipped when a `beforeAll` throws), a file that failed to load or whose `afterAll` threw, and
 * each unhandled error (a crashed worker, a rejected promise nobody awaited). The failures are
 * listed before the closing line whenever any exist, and the exit status is then non-zero.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    const s = summarise(modules, unhandledErrors);
    const failed = s.failedTests + s.notRun + s.fileErrors + unhandledErrors.length;
    if (s.lines.length) console.log(`\nvitest failures:\n${s.lines.map((l) => `  ${l}`).join('\n')}`);
    console.log(`\nvitest: ${s.passed} passed, ${failed} failed, ${s.skipped} skipped`);
    console.log(
      `vitest: ${n(s.failedFiles, 'file')} of ${modules.length} failed (${s.unloaded} did not load), ` +
        `${n(s.failedSuites, 'suite')} failed, ${n(s.failedTests, 'test')} failed, ${n(s.notRun, 'test')} not run ` +
        `because their file or suite failed, ${n(unhandledErrors.length, 'unhandled error')}; ` +
        `run ended: ${endReason(reason, failed, unhandledErrors.length)}`,
    );
    if (failed > 0 || reason !== 'passed') process.exitCode = 1;
  }
}

interface Summary {
  passed: number;
  skipped: number;
  failedTests: number;
  /** Tests vitest reports as skipped because a hook of their file or suite failed. */
  notRun: number;
  /** Failed files or suites with no failed or not-run test to show for it (load errors, afterAll). */
  fileErrors: number;
  failedFiles: number;
  failedSuites: number;
  unloaded: number;
  lines: string[];
}

function summarise(modules: ReadonlyArray<TestModule>, unhandled: ReadonlyArray<SerializedError>): Summary {
  const s: Summary = {
    passed: 0,
    skipped: 0,
    failedTests: 0,
    notRun: 0,
    fileErrors: 0,
    failedFiles: 0,
    failedSuites: 0,
    unloaded: 0,
    lines: [],
  };
  for (const m of modules) {
    const file = m.relativeModuleId;
    const groups: (TestModule | TestSuite)[] = [m, ...m.children.allSuites()];
    let attributed = 0;
    for (const t of m.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') s.passed++;
      else if (state === 'failed') {
        s.failedTests++;
        attributed++;
        s.lines.push(`FAIL ${file} > ${t.fullName}: ${firstLine(t.result().errors?.[0])}`);
      } else if (state === 'skipped' && underFailedGroup(t)) {
        s.notRun++;
        attributed++;
      } else s.skipped++;
    }
    const moduleFailed = m.state() === 'failed' || m.errors().length > 0;
    if (moduleFailed) s.failedFiles++;
    if (m.children.size === 0 && m.errors().length > 0) s.unloaded++;
    for (const g of groups) {
      const errors = g.errors();
      if (g.type === 'suite' && g.state() === 'failed') s.failedSuites++;
      const where = g.type === 'module' ? file : `${file} > ${g.fullName}`;
      for (const e of errors) s.lines.push(`FAIL ${where}: ${firstLine(e)}`);
    }
    if (moduleFailed && attributed === 0) s.fileErrors++;
  }
  for (const e of unhandled) s.lines.push(`UNHANDLED ${firstLine(e)}`);
  return s;
}

function underFailedGroup(t: TestCase): boolean {
  for (let p: TestCase['parent'] = t.parent; ; p = p.parent) {
    if (p.state() === 'failed' || p.errors().length > 0) return true;
    if (p.type === 'module') return false;
  }
}

/** vitest says "passed" for a run whose only failures are unhandled errors (it still exits 1). */
function endReason(reason: TestRunEndReason, failed: number, unhandled: number): string {
  if (reason === 'interrupted') return 'interrupted (a signal, --bail, or a cancelled run)';
  if (reason === 'passed' && failed > 0) return unhandled > 0 ? 'failed (unhandled errors)' : 'failed';
  return reason;
}

function n(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function firstLine(e: SerializedError | undefined): string {
  if (!e) return '(no error recorded)';
  const text = `${e.name ?? 'Error'}: ${e.message}`;
  return text.split('\n')[0]!.slice(0, 300);
}
