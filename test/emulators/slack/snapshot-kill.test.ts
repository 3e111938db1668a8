import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_DEFAULTS } from '../../../emulators/shared/defaults.js';
import { createSlackClient } from '../../../src/integrations/slack/client.js';
import { freePort } from '../../helpers/ports.js';

const MAIN = fileURLToPath(new URL('../../../emulators/slack/main.ts', import.meta.url));

/** The standalone emulator (`npm run emulator:slack`) in its own OS process, resolved once it listens. */
async function startEmulatorProcess(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; kill9(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString('utf8').includes('Slack emulator: http')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`emulator exited (${code}) before listening: ${err}`)));
  });
  return {
    child,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The sandbox's Slack keeps its state in a snapshot (DATA_DIR). A message whose `ts` the emulator
 * answered must survive a `kill -9` of the emulator right after the answer: the snapshot is
 * written before the answer leaves, not on a timer after it.
 */
describe('Slack emulator snapshot survives kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slack-emu-kill-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every message answered with a ts is there after kill -9 and a restart', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const env = {
      SLACK_EMULATOR_PORT: String(port),
      DATA_DIR: dir,
      SLACK_EMULATOR_RATE_LIMITS: 'false',
      THREADLINE_URL: 'http://127.0.0.1:9',
    };
    const apiUrl = `http://127.0.0.1:${port}/api/`;
    const web = createSlackClient({ token: SANDBOX_DEFAULTS.SLACK_BOT_TOKEN, apiUrl });

    const first = await startEmulatorProcess(env);
    const answered: string[] = [];
    const root = await web.chat.postMessage({ channel: 'C0PAYMENTS', text: 'root' });
    answered.push(root.ts!);
    for (let i = 0; i < 5; i++) {
      const r = await web.chat.postMessage({ channel: 'C0PAYMENTS', text: `reply ${i}`, thread_ts: root.ts! });
      answered.push(r.ts!);
    }
    // No pause: the process dies the moment the last answer is read.
    await first.kill9();

    const second = await startEmulatorProcess(env);
    try {
      const replies = await web.conversations.replies({ channel: 'C0PAYMENTS', ts: root.ts! });
      expect(replies.messages?.map((m) => m.ts)).toEqual(answered);
      expect(replies.messages?.map((m) => m.text)).toEqual([
        'root',
        ...Array.from({ length: 5 }, (_, i) => `reply ${i}`),
      ]);
    } finally {
      await second.kill9();
    }
  });
});
