import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import '../../helpers/provided.js';

/**
 * The production entry points exactly as deployed: `npm run build`, then `node dist/worker/main.js`
 * and `node dist/api/main.js` configured only by env vars against an external Temporal and Postgres
 * (here: the shared test servers). Catches what tsx hides (ESM/CJS interop, missing assets).
 */
describe('production entry points (node dist/…)', () => {
  const procs: { name: string; child: ChildProcess; out: string[] }[] = [];
  let port: number;
  let workerMetricsPort: number;
  const taskQueue = `prod-${randomUUID()}`;

  const start = (name: string, entry: string, env: Record<string, string>) => {
    const out: string[] = [];
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => out.push(d.toString()));
    procs.push({ name, child, out });
    return child;
  };
  const exited = (c: ChildProcess) =>
    new Promise<number | null>((r) => (c.exitCode !== null ? r(c.exitCode) : c.once('exit', (code) => r(code))));

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build'], { encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    port = await freePort();
    workerMetricsPort = await freePort();
    const env = {
      WORKER_METRICS_PORT: String(workerMetricsPort),
      TEMPORAL_METRICS_PORT: String(await freePort()),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      PORT: String(port),
      HOST: '127.0.0.1',
      THREADLINE_SANDBOX: 'true',
      LOG_LEVEL: 'info',
    };
    start('worker', 'dist/worker/main.js', env);
    start('api', 'dist/api/main.js', env);
  }, 180_000);

  afterAll(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  });

  it('become ready, run a workflow round trip, and stop cleanly on SIGTERM', async () => {
    const base = `http://127.0.0.1:${port}`;
    let ready: { status: string } | undefined;
    for (let i = 0; i < 120 && ready?.status !== 'ready'; i++) {
      ready = await fetch(`${base}/readyz`)
        .then((r) => r.json() as Promise<{ status: string }>)
        .catch(() => undefined);
      if (ready?.status !== 'ready') await new Promise((r) => setTimeout(r, 250));
    }
    expect(ready, procs.map((p) => `${p.name}: ${p.out.join('')}`).join('\n')).toMatchObject({ status: 'ready' });

    const ping = await fetch(`${base}/v1/system/ping`, {
      method: 'POST',
      headers: { authorization: 'Bearer tl_sandbox_key' },
    });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toMatchObject({ auditWritten: true, auditRows: 1 });

    // The worker's /metrics: our families and the Temporal SDK's, in one page. The SDK's counters
    // appear once the worker has completed a workflow task (the ping's).
    let page = '';
    for (let i = 0; i < 80 && !/^temporal_workflow_completed_total/m.test(page); i++) {
      page = await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`).then((r) => r.text());
      if (!/^temporal_workflow_completed_total/m.test(page)) await new Promise((r) => setTimeout(r, 250));
    }
    expect(page).toMatch(/^threadline_temporal_metrics_up 1$/m);
    expect(page).toMatch(/^threadline_process_cpu_seconds_total /m);
    expect(page).toMatch(/^temporal_workflow_completed_total\{/m);
    expect(page).toMatch(/^# TYPE threadline_slack_pacing_queue_depth gauge$/m);

    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => exited(p.child)));
    expect(codes).toEqual([0, 0]);
    expect(procs[0]!.out.join('')).toContain('worker stopped');
  });

  it('fail at start-up with a message naming a bad variable', () => {
    const res = spawnSync(process.execPath, ['dist/api/main.js'], {
      env: { ...process.env, PORT: 'eighty', TEMPORAL_ADDRESS: 'x:1', DATABASE_URL: inject('databaseUrl') },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/PORT: .*\(got "eighty"\)/);
    const missing = spawnSync(process.execPath, ['dist/worker/main.js'], {
      env: { ...process.env, TEMPORAL_ADDRESS: '', DATABASE_URL: '' },
      encoding: 'utf8',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('TEMPORAL_ADDRESS: required');
  });
});
