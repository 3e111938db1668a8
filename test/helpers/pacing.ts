import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { SlackEmulatorAdmin } from '../../emulators/slack/admin-client.js';
import { flows } from '../../src/flows/index.js';
import type { AnyFlow } from '../../src/platform/flow.js';
import { bundleWorkflows } from '../../src/worker/worker.js';
import type { PacingProbeInput } from '../fixtures/workflows/pacing-probe.js';
import { eventsOf } from './history.js';

/** The registry's workflows plus the pacing probe, written to `dir` for worker processes (WORKFLOW_BUNDLE_PATH). */
export async function writeProbeBundle(dir: string): Promise<string> {
  const probe = { name: 'pacing-probe', workflows: new URL('../fixtures/workflows/pacing-probe.js', import.meta.url) };
  const bundle = await bundleWorkflows([...flows, probe as unknown as AnyFlow]);
  const path = join(dir, 'pacing-bundle.js');
  await writeFile(path, bundle.code);
  return path;
}

/** A burst: `threads` probe threads of `perThread` messages each, all in `channel`, started at once. */
export interface PacingBurst {
  channel: string;
  threads: number;
  perThread: number;
}

export interface PacingOutcome {
  sent: number;
  seen: number;
  lost: number;
  duplicated: number;
  /** Threads whose replies Slack holds in another order than the workflow posted them. */
  outOfOrder: number;
  /** HTTP 429 answers the emulator gave during the run (every method). */
  rateLimited: number;
  elapsedMs: number;
  /** 1 message/s/channel: the busiest channel's messages minus one, in ms. */
  theoreticalMs: number;
  /** Worker identities that ran posts (two processes → two identities). */
  workers: string[];
  /**
   * Where the time went, from the emulator's call log: start → first accepted post, the busiest
   * channel's first → last accepted post (its minimum is `theoreticalMs`), last post → all results in.
   */
  phases: { firstPostMs: number; busiestSpanMs: number; tailMs: number };
  /** 429 answers by Slack method, and post attempts after the first by their failure's cause. */
  rateLimitedBy: Record<string, number>;
  retriesBy: Record<string, number>;
  /** Up to three duplicated messages: when each copy was accepted, relative to the run's start (ms). */
  duplicateSamples: {
    text: string;
    acceptedAtMs: number[];
    attempts?: number;
    lastFailure?: string;
    /** The emulator's log of this post's calls and of lookups in its channel around it: `<ms> <method> <status> <error>`. */
    calls?: string[];
  }[];
}

/**
 * Starts every burst at once on `taskQueue`, waits for all probes to finish, then counts what the
 * emulator holds against what was sent: per thread, the root and replies in posting order.
 */
export async function runPacingBursts(opts: {
  client: Client;
  taskQueue: string;
  slack: SlackEmulatorAdmin;
  bursts: PacingBurst[];
  intervalMs?: number;
}): Promise<PacingOutcome> {
  const callsBefore = (await opts.slack.calls()).length;
  const started = Date.now();
  const runs = opts.bursts.flatMap((b) =>
    Array.from({ length: b.threads }, () => ({ channel: b.channel, count: b.perThread, id: `pacing:${randomUUID()}` })),
  );
  const handles = await Promise.all(
    runs.map((r) =>
      opts.client.workflow.start('pacingProbeWorkflow', {
        taskQueue: opts.taskQueue,
        workflowId: r.id,
        args: [{ channel: r.channel, count: r.count } satisfies PacingProbeInput],
      }),
    ),
  );
  await Promise.all(handles.map((h) => h.result()));
  const elapsedMs = Date.now() - started;

  const perChannel = new Map<string, number>();
  for (const b of opts.bursts) perChannel.set(b.channel, (perChannel.get(b.channel) ?? 0) + b.threads * b.perThread);
  const theoreticalMs = (Math.max(...perChannel.values()) - 1) * (opts.intervalMs ?? 1_000);

  let seen = 0;
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  for (const channel of perChannel.keys()) {
    const top = await opts.slack.channelMessages(channel);
    for (const run of runs.filter((r) => r.channel === channel)) {
      const roots = top.filter((m) => m.text === `${run.id} #0`);
      const texts = roots.flatMap((root) => [root.text, ...(root.replies ?? []).map((m) => m.text)]);
      const expected = Array.from({ length: run.count }, (_, i) => `${run.id} #${i}`);
      seen += texts.length;
      lost += expected.filter((t) => !texts.includes(t)).length;
      duplicated += texts.length - new Set(texts).size;
      if (texts.join('\n') !== expected.join('\n')) outOfOrder += 1;
    }
  }
  const calls = (await opts.slack.calls()).slice(callsBefore);
  const posts = calls.filter((c) => c.method === 'chat.postMessage' && c.ok);
  const postAt = (c: { at: string }) => Date.parse(c.at) - started;
  let busiestSpanMs = 0;
  for (const channel of perChannel.keys()) {
    const times = posts.filter((c) => c.args.channel === channel).map(postAt);
    if (times.length > 1) busiestSpanMs = Math.max(busiestSpanMs, Math.max(...times) - Math.min(...times));
  }
  const postTimes = posts.map(postAt);
  const byText = new Map<string, number[]>();
  for (const c of posts) {
    const text = typeof c.args.text === 'string' ? c.args.text : '';
    byText.set(text, [...(byText.get(text) ?? []), postAt(c)]);
  }
  const duplicateSamples: PacingOutcome['duplicateSamples'] = [...byText.entries()]
    .filter(([, at]) => at.length > 1)
    .slice(0, 3)
    .map(([text, acceptedAtMs]) => ({ text, acceptedAtMs }));
  // Which attempt of the post's activity ended it, and why the one before failed.
  for (const d of duplicateSamples) {
    const [workflowId, n] = d.text.split(' #');
    const handle = handles.find((h) => h.workflowId === workflowId);
    if (!handle) continue;
    const events = await eventsOf(handle);
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes)[Number(n)];
    const started = events.find(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId),
    )?.activityTaskStartedEventAttributes;
    d.attempts = started?.attempt ?? undefined;
    d.lastFailure = started?.lastFailure?.applicationFailureInfo?.type ?? started?.lastFailure?.message ?? undefined;
    const first = Math.min(...d.acceptedAtMs);
    const last = Math.max(...d.acceptedAtMs);
    const channel = posts.find((c) => c.args.text === d.text)?.args.channel;
    d.calls = calls
      .filter((c) => {
        const at = postAt(c);
        if (c.method === 'chat.postMessage') return c.args.text === d.text;
        return (
          c.args.channel === channel &&
          at >= first - 15_000 &&
          at <= last + 1_000 &&
          c.method.startsWith('conversations.')
        );
      })
      .map(
        (c) =>
          `${postAt(c)} ${c.method} ${c.status} ${c.error ?? ''}${typeof c.args.ts === 'string' ? ` ts=${c.args.ts}` : ''}`,
      );
  }
  const phases = {
    firstPostMs: postTimes.length ? Math.min(...postTimes) : 0,
    busiestSpanMs,
    tailMs: postTimes.length ? elapsedMs - Math.max(...postTimes) : 0,
  };
  const workers = new Set<string>();
  const retriesBy: Record<string, number> = {};
  const rateLimitedBy: Record<string, number> = {};
  for (const c of calls.filter((c) => c.status === 429)) rateLimitedBy[c.method] = (rateLimitedBy[c.method] ?? 0) + 1;
  for (const h of handles) {
    for (const e of await eventsOf(h)) {
      const started = e.activityTaskStartedEventAttributes;
      if (started?.identity) workers.add(started.identity);
      // A completed/failed activity's last failure says why its earlier attempts did not finish.
      const failure = started?.lastFailure;
      if (started && (started.attempt ?? 1) > 1) {
        const cause = failure?.timeoutFailureInfo ? 'timeout' : (failure?.applicationFailureInfo?.type ?? 'other');
        retriesBy[cause] = (retriesBy[cause] ?? 0) + (started.attempt ?? 1) - 1;
      }
    }
  }
  return {
    sent: runs.reduce((n, r) => n + r.count, 0),
    seen,
    lost,
    duplicated,
    outOfOrder,
    rateLimited: calls.filter((c) => c.status === 429).length,
    elapsedMs,
    theoreticalMs,
    workers: [...workers],
    phases,
    rateLimitedBy,
    retriesBy,
    duplicateSamples,
  };
}
