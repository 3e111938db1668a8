import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ensureChromium } from './chromium.js';

/** Flags that work for Debian's Chromium here: no sandbox (root), no GPU, nothing reaching the internet. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots land: `test-results/browser/<suite>/<name>.png` (not committed). */
export const SCREENSHOT_DIR = resolve('test-results', 'browser');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** One real browser for a test file: one page reused by its tests, with what went wrong on it recorded. */
export interface BrowserSession {
  page: Page;
  context: BrowserContext;
  /**
   * Console errors and uncaught exceptions since the last call, then forgets them. Tests call
   * `expectNoPageErrors` in afterEach so any error on a page fails the test that caused it.
   */
  takeErrors(): string[];
  /** Saves a full-page screenshot; answers its path. */
  screenshot(name: string): Promise<string>;
  /** axe-core's WCAG 2.1 A/AA checks (labels, names, contrast, structure) on the current page. */
  accessibility(): Promise<AxeViolation[]>;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

/**
 * Starts Chromium (installing Debian's package first when missing) with a fresh profile, opens a
 * laptop-sized page and records its console errors. `suite` names the screenshot folder.
 */
export async function openBrowser(opts: {
  suite: string;
  viewport?: { width: number; height: number };
}): Promise<BrowserSession> {
  const executablePath = await ensureChromium((m) => console.log(`[browser] ${m}`));
  const profile = await mkdtemp(join(tmpdir(), 'threadline-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: FLAGS,
    viewport: opts.viewport ?? { width: 1366, height: 800 },
    // Playwright waits on observable conditions; a slow, shared CPU gets generous bounds.
    timeout: 60_000,
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  const dir = join(SCREENSHOT_DIR, opts.suite);
  await mkdir(dir, { recursive: true });
  const axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

  return {
    page,
    context,
    takeErrors: () => errors.splice(0),
    async screenshot(name) {
      const path = join(dir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async accessibility() {
      // Evaluated through the DevTools protocol, so the page's CSP (no inline script) stays on.
      if (!(await page.evaluate<boolean>("typeof axe !== 'undefined'"))) await page.evaluate(axeSource);
      // A string, because the test project has no DOM types: this runs in the page.
      const results = await page.evaluate<AxeResults>(
        "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })",
      );
      return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')),
      }));
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

interface AxeResults {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}
