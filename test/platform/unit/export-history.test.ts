import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { temporal } from '@temporalio/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testCodec } from '../../helpers/temporal.js';
import { FixtureExistsError, historyFixtureJSON, writeHistoryFixture } from '../../../dev/export-history.js';

/** A one-event history whose workflow type carries `name` (enough for the recorder). */
const history = (name: string): temporal.api.history.v1.IHistory => ({
  events: [{ workflowExecutionStartedEventAttributes: { workflowType: { name } } }],
});

const codec = testCodec();

/** The history recorder never overwrites a committed fixture; a new version is added beside it. */
describe('writeHistoryFixture', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-fixtures-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes v1, refuses to overwrite it, and adds v2 only when asked to', async () => {
    const v1 = await writeHistoryFixture({ history: history('first'), name: 'demo-flow', codec, dir });
    expect(v1).toBe(join(dir, 'demo-flow-v1.json'));
    await expect(writeHistoryFixture({ history: history('second'), name: 'demo-flow', codec, dir })).rejects.toThrow(
      FixtureExistsError,
    );
    expect(await readFile(v1, 'utf8')).toContain('first');
    const v2 = await writeHistoryFixture({
      history: history('second'),
      name: 'demo-flow',
      codec,
      dir,
      newVersion: true,
    });
    expect(v2).toBe(join(dir, 'demo-flow-v2.json'));
    expect(await readFile(v1, 'utf8')).toContain('first');
    expect(await readFile(v2, 'utf8')).toContain('second');
    // Another name is independent; a name that is not lower-case words is refused.
    await writeHistoryFixture({ history: history('x'), name: 'demo', codec, dir });
    await expect(writeHistoryFixture({ history: history('x'), name: '../escape', codec, dir })).rejects.toThrow(
      /fixture name/,
    );
    expect((await readdir(dir)).sort()).toEqual(['demo-flow-v1.json', 'demo-flow-v2.json', 'demo-v1.json']);
  });

  it('names no machine path: the checkout prefix is stripped from recorded stack traces', async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const text = await historyFixtureJSON(history(`at ${root}test/x.ts:1:2`), codec);
    expect(text).not.toContain(root);
    expect(text).toContain('at test/x.ts:1:2');
  });
});
