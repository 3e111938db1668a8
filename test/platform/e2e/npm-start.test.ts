import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WATCHDOG_MARKER } from '../../../src/platform/infra/engine-process.js';
import { freePort } from '../../helpers/ports.js';

/**
 * `npm start` as a person runs it, in a child process with its own ports and DATA_DIR (defect
 * 10): its embedded engines die with it, a leftover from a crashed run is stopped by the next
 * start, a port somebody else holds is named with its variable, and one Ctrl-C (even delivered
 * twice, even followed by the terminal's hang-up) is one ordered shutdown. Each child runs in
 * its own process group, as a terminal's foreground job does, so signals go to the whole group.
 */
const START = [process.execPath, '--import', 'tsx', 'dev/start.ts'];

interface App {
  child: ChildProcess;
  out(): string;
  /** Resolves when the app's output pipe closes: every process holding it has exited. */
  closed: Promise<number | null>;
}

function launch(env: Record<string, string>, via: 'node' | 'npm' = 'node'): App {
  const [cmd, ...args] = via === 'npm' ? ['npm', 'start'] : START;
  const child = spawn(cmd!, args, {
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, out: () => out, closed };
}

/** Polls `check` until it returns a value; fails with `what` and the app's output after `ms`. */
async function until<T>(what: string, check: () => T | undefined | false, ms: number, app?: App): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${app?.out() ?? ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function liveProcesses(): string[] {
  return readdirSync('/proc').filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  });
}

/** The engines started on `dataDir`, found by their command lines (no use of our pid files). */
function enginesOf(dataDir: string): { temporal?: number; postgres?: number } {
  const found: { temporal?: number; postgres?: number } = {};
  for (const pid of liveProcesses()) {
    const c = cmdline(pid);
    if (c.includes(`--db-filename ${join(dataDir, 'temporal.db')}`)) found.temporal = Number(pid);
    if (c.includes(`-D ${join(dataDir, 'postgres')} `)) found.postgres = Number(pid);
  }
  return found;
}

function alive(pid: number): boolean {
  return liveProcesses().includes(String(pid));
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function allPortsFree(ports: number[]): Promise<boolean> {
  for (const p of ports) if (!(await portFree(p))) return false;
  return true;
}

describe('npm start: engines live and die with it', () => {
  const dirs: string[] = [];
  const apps: App[] = [];
  const servers: Server[] = [];
  afterAll(async () => {
    for (const a of apps) {
      try {
        process.kill(-a.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const s of servers) s.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function environment() {
    const dataDir = await mkdtemp(join(tmpdir(), 'threadline-npmstart-'));
    dirs.push(dataDir);
    const ports = {
      PORT: await freePort(),
      TEMPORAL_DEV_PORT: await freePort(),
      TEMPORAL_UI_PORT: await freePort(),
      EMBEDDED_POSTGRES_PORT: await freePort(),
      SLACK_EMULATOR_PORT: await freePort(),
      JIRA_EMULATOR_PORT: await freePort(),
    };
    const env: Record<string, string> = {
      THREADLINE_SANDBOX: 'true',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    return { dataDir, ports, env };
  }

  async function started(env: Record<string, string>, via: 'node' | 'npm' = 'node'): Promise<App> {
    const app = launch(env, via);
    apps.push(app);
    await until('the banner', () => app.out().includes('Threadline is running'), 150_000, app);
    return app;
  }

  it('kill -9 of the app: its Temporal and Postgres are gone within seconds, their ports free', async () => {
    const { dataDir, ports, env } = await environment();
    const app = await started(env);
    // The banner names the two sandbox views, and they answer there.
    for (const [name, port] of [
      ['Sandbox Slack', ports.SLACK_EMULATOR_PORT],
      ['Sandbox Jira ', ports.JIRA_EMULATOR_PORT],
    ] as const) {
      expect(app.out()).toContain(`${name}   http://127.0.0.1:${port}/ `);
      expect((await fetch(`http://127.0.0.1:${port}/`)).headers.get('content-type')).toBe('text/html; charset=utf-8');
    }
    // …and so does the console: its login page, nothing behind it without a session.
    expect(app.out()).toContain(`Console         http://127.0.0.1:${ports.PORT}/console `);
    const login = await fetch(`http://127.0.0.1:${ports.PORT}/console`);
    expect([login.url.endsWith('/console/login?next=%2Fconsole'), login.status]).toEqual([true, 200]);
    const engines = enginesOf(dataDir);
    expect(engines.temporal, app.out()).toBeTypeOf('number');
    expect(engines.postgres, app.out()).toBeTypeOf('number');

    process.kill(app.child.pid!, 'SIGKILL');
    await until('the engines to die', () => !alive(engines.temporal!) && !alive(engines.postgres!), 30_000, app);
    expect(await allPortsFree([ports.TEMPORAL_DEV_PORT, ports.EMBEDDED_POSTGRES_PORT, ports.TEMPORAL_UI_PORT])).toBe(
      true,
    );
  }, 240_000);

  describe('a crashed run whose watchdogs died too, then the next start', () => {
    let env: Record<string, string>;
    let ports: Record<string, number>;
    let dataDir: string;
    let second: App;

    it('the next start stops the leftover engines it finds through their pid files', async () => {
      ({ dataDir, ports, env } = await environment());
      const first = await started(env);
      const old = enginesOf(dataDir);
      // What a crash that takes the watchdogs too leaves (an OOM kill, `kill -9` of everything).
      const watchdogs = liveProcesses().filter((p) => {
        const c = cmdline(p);
        return c.includes(WATCHDOG_MARKER) && (c.includes(` ${old.temporal} `) || c.includes(` ${old.postgres} `));
      });
      expect(watchdogs).toHaveLength(2);
      for (const w of watchdogs) process.kill(Number(w), 'SIGKILL');
      process.kill(first.child.pid!, 'SIGKILL');
      await first.closed;
      expect(alive(old.temporal!) && alive(old.postgres!)).toBe(true);

      second = await started(env, 'npm');
      expect(second.out()).toContain(`Stopping a leftover Temporal dev server (pid ${old.temporal})`);
      expect(second.out()).toContain(`Stopping a leftover PostgreSQL (pid ${old.postgres})`);
      expect(alive(old.temporal!) || alive(old.postgres!)).toBe(false);
      const now = enginesOf(dataDir);
      expect(now.temporal).not.toBe(old.temporal);
      expect(now.postgres).not.toBe(old.postgres);
      const ready = await fetch(`http://127.0.0.1:${ports.PORT}/readyz`);
      expect(ready.status).toBe(200);
    }, 300_000);

    it('Ctrl-C (to the whole group, relayed again by npm) then the terminal hang-up: one ordered shutdown, engines stopped', async () => {
      expect(second, 'the previous test started the stack').toBeDefined();
      const engines = enginesOf(dataDir);
      process.kill(-second.child.pid!, 'SIGINT');
      process.kill(-second.child.pid!, 'SIGHUP');
      await until('a clean stop', () => second.out().includes('Stopped cleanly.'), 90_000, second);
      await second.closed;
      const out = second.out();
      expect(out.match(/shutting down in order/g), out).toHaveLength(1);
      expect(out).not.toContain('Second signal');
      const order = ['api stopped', 'worker stopped', 'slack emulator stopped', 'postgres stopped', 'temporal stopped'];
      const at = order.map((l) => out.indexOf(`[threadline] ${l}`));
      expect(
        at.every((i) => i >= 0),
        out,
      ).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      expect(alive(engines.temporal!) || alive(engines.postgres!)).toBe(false);
      expect(await allPortsFree(Object.values(ports))).toBe(true);
    }, 120_000);
  });

  it('ports held by other processes: a message naming each port and its variable, a non-zero exit, nothing left running', async () => {
    const { dataDir, ports, env } = await environment();
    const held = ['TEMPORAL_DEV_PORT', 'EMBEDDED_POSTGRES_PORT', 'PORT'] as const;
    for (const variable of held) {
      const foreign = createServer();
      servers.push(foreign);
      await new Promise<void>((r) => foreign.listen(ports[variable], '127.0.0.1', r));
    }
    const app = launch(env);
    apps.push(app);
    const code = await app.closed;
    expect(code, app.out()).not.toBe(0);
    for (const variable of held) {
      expect(app.out()).toMatch(
        new RegExp(
          `Port ${ports[variable]} \\(${variable}, [^)]+\\) is already in use by pid ${process.pid} .*set ${variable} to a free port`,
        ),
      );
    }
    expect(enginesOf(dataDir)).toEqual({});
  }, 120_000);
});
