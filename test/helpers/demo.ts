import { spawn } from 'node:child_process';
import type { TestStack } from './stack.js';

/**
 * Runs `dev/demo.ts [scenario…]` as a person runs it (`npm run demo`), against a started test
 * stack; answers its exit code and everything it printed.
 */
export function runDemo(stack: TestStack, scenarios: string[] = []): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/demo.ts', ...scenarios], {
      env: {
        ...process.env,
        THREADLINE_URL: stack.urls.api,
        SLACK_EMULATOR_URL: stack.urls.slackEmulator!,
        JIRA_EMULATOR_URL: stack.urls.jiraEmulator!,
        THREADLINE_API_KEY: stack.config.apiKeys[0]!,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, out: text }));
  });
}
