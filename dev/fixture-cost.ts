import { readdir, readFile } from 'node:fs/promises';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { costOf } from '../bench/cost.js';

/**
 * `npx tsx dev/fixture-cost.ts [prefix…]`: what each committed replay fixture (test/fixtures/histories)
 * cost Temporal: activities, local activities, workflow tasks and events, counted from its events
 * (bench/cost.ts). The tables in docs/payments.md and docs/approvals.md come from this.
 */
const dir = new URL('../test/fixtures/histories/', import.meta.url);
const prefixes = process.argv.slice(2);
for (const f of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
  if (prefixes.length && !prefixes.some((p) => f.startsWith(p))) continue;
  const json: unknown = JSON.parse(await readFile(new URL(f, dir), 'utf8'));
  const events = historyFromJSON(json).events ?? [];
  const c = costOf(events);
  console.log(
    `${f.replace(/\.json$/, '').padEnd(44)} activities ${String(c.activities).padStart(3)}  local ${String(c.localActivities).padStart(3)}  workflow tasks ${String(c.workflowTasks).padStart(3)}  events ${String(c.events).padStart(4)}`,
  );
}
