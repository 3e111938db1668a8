import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/processes/worker.ts', import.meta.url));
const API_SCRIPT = fileURLToPath(new URL('../fixtures/processes/api.ts', import.meta.url));

/** A worker running in its own OS process (test/fixtures/processes/worker.ts). */
export interface WorkerProcess {
  child: ChildProcess;
  /** SIGKILL: no drain, no shutdown hooks; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (a drained shutdown); resolves once the process is gone. */
  stop(): Promise<void>;
  /** The stdout line that said `ready` (a script may print its URL on it). */
  readyLine: string;
  /** The last 16,000 characters the process printed on stdout. */
  stdout(): string;
}

/**
 * Starts a worker process with `env` (merged over this process's) and resolves once it polls.
 * One Node process (`node --import tsx`), so a signal reaches the worker itself, not a wrapper.
 */
export async function spawnWorker(env: Record<string, string>, timeoutMs = 90_000): Promise<WorkerProcess> {
  return spawnScript(SCRIPT, env, timeoutMs);
}

/** The API in its own OS process (test/fixtures/processes/api.ts), on `PORT` from `env`. */
export async function spawnApi(env: Record<string, string>, timeoutMs = 90_000): Promise<WorkerProcess> {
  return spawnScript(API_SCRIPT, env, timeoutMs);
}

/** Any script run the same way (`node --import tsx`): resolves once it prints a line with `ready`. */
export async function spawnScript(
  script: string,
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The tail only (a worker logs for as long as it runs); the ready line is kept apart.
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString('utf8')).slice(-16_000)));
  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    const untilReady = () => {
      const line = stdout.split('\n').find((l) => l.includes('ready'));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout.off('data', untilReady);
      resolve(line);
    };
    child.stdout.on('data', untilReady);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, kill9: () => end('SIGKILL'), stop: () => end('SIGTERM'), readyLine, stdout: () => stdout };
}
