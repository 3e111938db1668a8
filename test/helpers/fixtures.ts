import type { temporal } from '@temporalio/proto';
import { writeHistoryFixture } from '../../dev/export-history.js';
import { testCodec } from './temporal.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * Records a scenario's history as a replay fixture when asked to:
 * `THREADLINE_RECORD_HISTORIES=<name>[,<name>…]` (or `*`) records those names; a name that is
 * already committed makes the test fail (fixtures are never overwritten) unless
 * `THREADLINE_RECORD_NEW_VERSION=1`, which adds `<name>-v<N+1>.json` beside it. A normal run
 * records nothing. Payloads are decoded with the stack's (sandbox) codec.
 */
export async function recordFixture(name: string, events: HistoryEvent[]): Promise<void> {
  const wanted = (process.env.THREADLINE_RECORD_HISTORIES ?? '').split(',').map((s) => s.trim());
  if (!wanted.includes(name) && !wanted.includes('*')) return;
  const path = await writeHistoryFixture({
    history: { events },
    name,
    codec: testCodec(),
    newVersion: process.env.THREADLINE_RECORD_NEW_VERSION === '1',
  });
  console.log(`recorded ${events.length} events to ${path}`);
}
