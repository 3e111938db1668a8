import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AlertsConfig } from '../../../../src/flows/alerts/config.js';
import { createPool, type Pool } from '../../../../src/platform/db/pool.js';
import { auditLogRepo } from '../../../../src/platform/db/repositories.js';
import { WebClient } from '@slack/web-api';
import { Client, Connection } from '@temporalio/client';
import { decodedHistory, testDataConverter } from '../../../helpers/temporal.js';
import { counterValue } from '../../../helpers/effects.js';
import { waitIdle } from '../../../helpers/history.js';
import { searchableText } from '../../../helpers/secrets.js';
import { freePort } from '../../../helpers/ports.js';
import { signalsIn } from '../../../helpers/slack.js';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { keyOf } from '../../../platform/e2e/helpers.js';
import {
  dedicatedApp,
  hostPort,
  startTcpProxy,
  waitUntil,
  type TcpProxy,
} from '../../../platform/e2e/ingress-helpers.js';
import { alertsHarness, amPayload, buttons, fingerprint, seen } from './helpers.js';

/** Routes by label first (a test picks its policy with a `policy` label), then severity, team, default. */
const ALERTS_CONFIG = {
  routes: [
    {
      name: 'fast',
      match: { labels: { policy: 'fast' } },
      channel: 'C0OPSALERT',
      policy: 'fast',
      entitle: { channelMembers: false },
    },
    {
      name: 'acktimeout',
      match: { labels: { policy: 'acktimeout' } },
      channel: 'C0OPSALERT',
      policy: 'acktimeout',
      entitle: { channelMembers: false },
    },
    {
      name: 'tickets',
      match: { labels: { policy: 'tickets' } },
      channel: 'C0TICKETS',
      policy: 'slow',
      entitle: { channelMembers: false },
    },
    {
      name: 'critical',
      match: { severity: ['critical'] },
      channel: 'C0OPSALERT',
      policy: 'slow',
      entitle: { channelMembers: false, groups: ['sre'] },
    },
  ],
  teams: { notify: { webhook: 'notify' } },
  default: { channel: 'C0TICKETS' },
  policies: {
    // Long delays: no timer may fire while a test clicks.
    slow: {
      steps: [
        { delay: '1h', targets: [{ schedule: 'primary' }] },
        { delay: '1h', targets: [{ user: 'U0CAROL' }] },
      ],
    },
    fast: {
      steps: [
        { delay: '1s', targets: [{ schedule: 'primary' }] },
        { delay: '1s', targets: [{ user: 'U0CAROL' }, { channel: 'C0ESCALATE' }] },
      ],
      repeat: 1,
    },
    acktimeout: { steps: [{ delay: '1h', targets: [{ user: 'U0BOB' }] }], ackTimeout: '2s' },
  },
  schedules: {
    primary: { timeZone: 'Europe/Berlin', rotations: [{ people: ['U0BOB'], start: '2020-01-06T09:00', length: '1w' }] },
  },
  groups: { sre: ['U0ERIN'] },
};

describe('alerts, end to end (Alertmanager webhook / API → Temporal → Slack emulator acting as people)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof alertsHarness>;
  let pool: Pool;
  /** The stack's worker and API reach Temporal through it: a test stalls it (Temporal down for all of them). */
  let temporalProxy: TcpProxy;

  beforeAll(async () => {
    temporalProxy = await startTcpProxy(hostPort(inject('temporalAddress')));
    stack = await startTestStack(
      {
        ALERTS_CONFIG: JSON.stringify(ALERTS_CONFIG),
        // The real URL exists only once the emulator runs (below); config validation needs the name now.
        ALERTS_INCOMING_WEBHOOK_SECRETS: 'notify=http://127.0.0.1:9/placeholder',
        ALERT_REOPEN_WINDOW: '3s',
      },
      { temporalAddress: temporalProxy.address },
    );
    h = alertsHarness(stack);
    pool = createPool(inject('databaseUrl'));
    const hook = await h.slack.createIncomingWebhook('C0PAYMENTS');
    // The API and the worker of a test stack share this config object.
    (stack.config.flows.alerts as AlertsConfig).incomingWebhooks.notify = hook.url;
  });
  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
    await temporalProxy?.close();
  });

  /** Every top-level message in the workspace (channels and DMs) whose text or blocks mention `text`. */
  const everywhere = async (text: string) => {
    const out = [];
    for (const c of await h.slack.channels())
      out.push(...(await h.slack.channelMessages(String(c.id))).filter((m) => seen(m).includes(text)));
    return out;
  };
  const ledgerRow = async (eventId: string) =>
    (
      await pool.query<{ status: string; relay_attempts: number; relay_error: string | null }>(
        `SELECT status, relay_attempts, relay_error FROM inbound_events WHERE source = 'alertmanager' AND event_id = $1`,
        [eventId],
      )
    ).rows[0];
  /** Waits until the alert's workflow has nothing left to do (every effect out), then returns its client. */
  const idle = async (fp: string) => {
    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      await waitIdle(new Client({ connection }).workflow.getHandle(`alert:am:${fp}`), 60_000);
    } finally {
      await connection.close();
    }
  };

  /** The alert's card copy DMed to `user`, once there (the webhook's 200 comes before the relay hands it off). */
  const dmTo = async (fp: string, user: string) =>
    (await h.until(`am:${fp}`, (x) => x.slack.copies.some((c) => c.target === user))).slack.copies.find(
      (c) => c.target === user,
    )!;
  const cardOf = async (alertId: string) => {
    const v = await h.until(alertId, (x) => x.slack.root !== null && x.current?.paged.length !== undefined);
    return { v, root: v.slack.root!, msg: await h.slack.message(v.slack.root!.channel, v.slack.root!.ts) };
  };

  it('firing → one card (severity, summary, labels, links, buttons) and the on-call person DMed with the buttons; repeats post nothing', async () => {
    const fp = fingerprint();
    const body = amPayload({ fp, summary: `Replica lag ${fp}` });
    const first = await h.fire(body);
    expect(first.alerts[0]).toMatchObject({ alertId: `am:${fp}`, outcome: 'queued' });
    const { v, root, msg } = await cardOf(`am:${fp}`);
    expect(root.channel).toBe('C0OPSALERT');
    expect(seen(msg)).toContain(':red_circle:');
    expect(seen(msg)).toContain(`Replica lag ${fp}`);
    expect(seen(msg)).toContain('instance=pg-replica-2:9187');
    expect(seen(msg)).toContain('https://runbooks.example.com/postgres/replication-lag');
    expect(seen(msg)).toContain('<!date^');
    expect(buttons(msg)).toEqual(['ack', 'escalate']); // Alertmanager alerts resolve from Alertmanager
    const dm = await dmTo(fp, 'U0BOB');
    expect(buttons(await h.slack.message(dm.channel, dm.ts))).toEqual(['ack', 'escalate']);
    expect(v.current?.paged).toEqual(['U0BOB']);

    // Alertmanager re-sends the group every repeat_interval: the ledger answers without work.
    const again = await h.fire(body);
    expect(again.alerts[0]!.outcome).toBe('duplicate');
    // A changed startsAt while still firing reaches the workflow, which treats it as a repeat.
    const restarted = await h.fire(amPayload({ fp, summary: `Replica lag ${fp}`, startsAt: new Date().toISOString() }));
    expect(restarted.alerts[0]!.outcome).toBe('queued');
    await h.until(`am:${fp}`, (x) => x.eventsProcessed === 2);
    const posts = (await h.slack.channelMessages('C0OPSALERT')).filter((m) => m.text.includes(`Replica lag ${fp}`));
    expect(posts).toHaveLength(1);
    expect(await h.replies(root)).toHaveLength(0);
    const bobDm = (await h.slack.channelMessages(dm.channel)).filter((m) => m.text.includes(`Replica lag ${fp}`));
    expect(bobDm).toHaveLength(1);
    // Alertmanager's credentials stop at the route: the workflow gets the alert, not the request.
    const history = searchableText(await decodedHistory(stack.urls.temporal, `alert:am:${fp}`));
    expect(history).toContain(`Replica lag ${fp}`);
    expect(history).not.toContain('tl_sandbox_alerts');
  });

  it('acknowledge: someone not entitled is refused with an ephemeral and changes nothing; the paged person stops escalation', async () => {
    const fp = fingerprint();
    await h.fire(amPayload({ fp, summary: `Ack test ${fp}` }));
    const { root } = await cardOf(`am:${fp}`);
    const dave = await h.click('U0DAVE', root, 'ack');
    expect(await h.responseTo(dave.response_url)).toContain("Only this alert's responders can do that");
    expect((await h.get(`am:${fp}`)).status).toBe('firing');
    const history = await decodedHistory(stack.urls.temporal, `alert:am:${fp}`);
    expect(history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(0);

    const bob = await h.click('U0BOB', root, 'ack');
    expect(bob.delivery.status).toBe(200);
    const v = await h.until(`am:${fp}`, (x) => x.status === 'acknowledged');
    expect(v.current).toMatchObject({ acknowledgedBy: 'U0BOB', escalation: { nextAt: null, ackTimeoutAt: null } });
    const card = await h.slack.waitFor(async () => {
      const m = await h.slack.message(root.channel, root.ts);
      return seen(m).includes('Acknowledged by <@U0BOB>') ? m : undefined;
    });
    expect(buttons(card)).toEqual(['escalate']);
    await h.replyWith(root, 'Acknowledged by <@U0BOB>; escalation stopped.');
    // Erin is in the configured `sre` group: she may escalate (to step 2 at once).
    await h.click('U0ERIN', root, 'escalate');
    await h.replyWith(root, '<@U0ERIN> escalated it: paging <@U0CAROL> (step 2 of 2).');
    await h.until(`am:${fp}`, (x) => x.status === 'firing' && x.current?.paged.includes('U0CAROL') === true);
    const audit = await auditLogRepo(pool).bySubject(`alert:am:${fp}`);
    expect(audit.filter((r) => r.action === 'alert.acknowledged')).toHaveLength(1);
    expect(audit.find((r) => r.action === 'alert.acknowledged')!.actor).toEqual({ kind: 'slack_user', id: 'U0BOB' });
  });

  it('escalation through two steps and a repeat, with short durations: every page exactly once, then it stops', async () => {
    const fp = fingerprint();
    const summary = `Escalation ${fp}`;
    await h.fire(amPayload({ fp, summary, labels: { policy: 'fast' } }));
    const { root } = await cardOf(`am:${fp}`);
    await h.replyWith(root, 'Nobody acknowledged it through the whole *fast* policy', 30_000);
    const v = await h.until(`am:${fp}`, (x) => x.current?.escalation?.nextAt === null);
    expect(v.current?.escalation).toMatchObject({ step: 2, pass: 2, pages: 4 });
    expect(v.current?.paged.sort()).toEqual(['U0BOB', 'U0CAROL']);
    const threadTexts = (await h.replies(root)).map((r) => r.text);
    expect(threadTexts.filter((t) => t.includes('paging'))).toHaveLength(3);
    expect(threadTexts.filter((t) => t.includes('Nobody acknowledged'))).toHaveLength(1);
    expect(threadTexts[0]).toContain('paging <@U0CAROL>, <#C0ESCALATE> (step 2 of 2, pass 1 of 2)');
    expect(threadTexts[1]).toContain('paging <@U0BOB> (on call for primary) (step 1 of 2, pass 2 of 2)');
    // Each target got one card and, on the second pass, one reply under it.
    for (const target of ['U0BOB', 'U0CAROL', 'C0ESCALATE']) {
      const copy = v.slack.copies.find((c) => c.target === target)!;
      const top = (await h.slack.channelMessages(copy.channel)).filter((m) => m.text.includes(summary));
      expect(top, target).toHaveLength(1);
      expect(
        (await h.replies(copy)).map((r) => r.text),
        target,
      ).toEqual([expect.stringContaining('Paged again by *fast*')]);
    }
    const audit = await auditLogRepo(pool).bySubject(`alert:am:${fp}`);
    expect(audit.filter((r) => r.action === 'alert.escalated')).toHaveLength(3);
  });

  it('ack timeout: acknowledged but unresolved re-triggers and re-notifies (PagerDuty semantics)', async () => {
    const fp = fingerprint();
    await h.fire(amPayload({ fp, summary: `Ack timeout ${fp}`, labels: { policy: 'acktimeout' } }));
    const { root } = await cardOf(`am:${fp}`);
    await h.click('U0BOB', root, 'ack');
    await h.until(`am:${fp}`, (x) => x.status === 'acknowledged');
    const reply = await h.replyWith(root, 're-triggered', 30_000);
    expect(reply.text).toContain(
      'Acknowledged by <@U0BOB> but not resolved within 2s: re-triggered, paging <@U0BOB> again.',
    );
    const v = await h.until(`am:${fp}`, (x) => x.status === 'firing' && x.current?.escalation?.retriggers === 1);
    expect(v.current?.acknowledgedBy).toBeNull();
    const dm = v.slack.copies.find((c) => c.target === 'U0BOB')!;
    await h.slack.waitFor(async () => (await h.replies(dm)).some((r) => r.text.includes('Paged again')));
    const card = await h.slack.waitFor(async () => {
      const m = await h.slack.message(root.channel, root.ts);
      return buttons(m).includes('ack') && seen(m).includes('Firing since') ? m : undefined;
    });
    expect(buttons(card)).toEqual(['ack', 'escalate']);
  });

  it('resolved → card edited in place (no buttons), a thread reply, escalation stopped; fires again later → same thread, flap counter', async () => {
    const fp = fingerprint();
    const summary = `Flapping ${fp}`;
    await h.fire(amPayload({ fp, summary, labels: { policy: 'fast' } }));
    const { root } = await cardOf(`am:${fp}`);
    const resolved = await h.fire(amPayload({ fp, summary, labels: { policy: 'fast' }, status: 'resolved' }));
    expect(resolved.alerts[0]!.outcome).toBe('queued');
    await h.replyWith(root, 'Resolved by Alertmanager after');
    const card = await h.slack.waitFor(async () => {
      const m = await h.slack.message(root.channel, root.ts);
      return seen(m).includes('RESOLVED') ? m : undefined;
    });
    expect(buttons(card)).toEqual([]);
    // The run closes after the 3 s reopen window: its history is the observable end. Had
    // escalation kept running, step 2 (due 1 s after firing) would have paged Carol before that.
    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      await new Client({ connection, dataConverter: testDataConverter() }).workflow
        .getHandle(`alert:am:${fp}`)
        .result();
    } finally {
      await connection.close();
    }
    let v = await h.get(`am:${fp}`);
    expect(v.source).toBe('database');
    expect(v.status).toBe('resolved');
    // Whatever escalated before the resolve (on a slow machine step 2 may have been due), nothing after it.
    const kinds = v.timeline.map((t) => t.kind);
    const resolvedAt = kinds.indexOf('resolved');
    expect(kinds.slice(resolvedAt + 1)).not.toContain('escalated');
    const audit = await auditLogRepo(pool).bySubject(`alert:am:${fp}`);
    expect(audit.filter((r) => r.action === 'alert.escalated')).toHaveLength(
      kinds.slice(0, resolvedAt).filter((k) => k === 'escalated').length,
    );
    expect(audit.map((r) => r.action)).toEqual(
      expect.arrayContaining(['alert.fired', 'alert.resolved', 'alert.closed']),
    );
    // A late duplicate of the resolve is answered without work.
    expect(
      (await h.fire(amPayload({ fp, summary, labels: { policy: 'fast' }, status: 'resolved' }))).alerts[0]!.outcome,
    ).toBe('duplicate');

    // It fires again (a new startsAt): a new run resumes from the snapshot, in the same thread.
    await h.fire(amPayload({ fp, summary, labels: { policy: 'fast' }, startsAt: new Date().toISOString() }));
    await h.replyWith(root, 'Firing again: fired 2 times.');
    v = await h.until(`am:${fp}`, (x) => x.occurrences === 2 && x.source === 'workflow');
    expect(v.slack.root).toEqual(root);
    expect(v.flaps).toBe(1);
    const again = await h.slack.waitFor(async () => {
      const m = await h.slack.message(root.channel, root.ts);
      return seen(m).includes('fired 2 times') ? m : undefined;
    });
    expect(buttons(again)).toEqual(['ack', 'escalate']);
    expect((await h.slack.channelMessages('C0OPSALERT')).filter((m) => m.text.includes(summary))).toHaveLength(1);
  });

  it("resolved before its firing (Alertmanager's retries, reordering): it ends resolved, its card and thread say so, nobody is paged; a firing that starts after the resolve's endsAt opens and pages", async () => {
    const fp = fingerprint();
    const summary = `Overtaken ${fp}`;
    const startsAt = new Date(Date.now() - 5 * 60_000).toISOString();
    const early = await h.fire(amPayload({ fp, summary, startsAt, status: 'resolved' }));
    expect(early.alerts[0]).toMatchObject({ alertId: `am:${fp}`, outcome: 'queued' });
    // The resolve started the alert's workflow, which remembers it; nothing fired, so nothing is shown.
    const remembered = await h.until(`am:${fp}`, (x) =>
      x.timeline.some((t) => t.summary === 'resolved before its firing arrived'),
    );
    expect(remembered).toMatchObject({ status: 'resolved', occurrences: 0, slack: { root: null } });

    expect((await h.fire(amPayload({ fp, summary, startsAt }))).alerts[0]!.outcome).toBe('queued');
    const v = await h.until(`am:${fp}`, (x) => x.occurrences === 1 && x.slack.root !== null);
    const root = v.slack.root!;
    await h.replyWith(root, 'Its resolve arrived before its firing, so nobody was paged.');
    await idle(fp);
    const after = await h.get(`am:${fp}`);
    expect(after).toMatchObject({ status: 'resolved', occurrences: 1 });
    expect(after.current).toMatchObject({ paged: [], escalation: null, resolvedVia: 'alertmanager' });
    const card = await h.slack.message(root.channel, root.ts);
    expect(seen(card)).toContain('RESOLVED');
    expect(seen(card)).toContain('Resolved by Alertmanager after');
    expect(buttons(card)).toEqual([]);
    // Exactly one message anywhere (the card: no DM to the on-call person), and one reply under it.
    expect(await everywhere(summary)).toHaveLength(1);
    expect((await h.replies(root)).map((r) => r.text)).toEqual([
      expect.stringMatching(/^:white_check_mark: Resolved by Alertmanager after 5m\. Its resolve arrived/),
    ]);
    const audit = await auditLogRepo(pool).bySubject(`alert:am:${fp}`);
    // Both rows of the occurrence (written in parallel: any order).
    expect(
      audit
        .map((r) => r.action)
        .filter((a) => a !== 'alert.closed')
        .sort(),
    ).toEqual(['alert.fired', 'alert.resolved']);

    // It really fires again (startsAt after the resolve's endsAt): a new occurrence, paged, same thread.
    await h.fire(amPayload({ fp, summary, startsAt: new Date().toISOString() }));
    await h.replyWith(root, 'Firing again: fired 2 times.', 60_000);
    const again = await h.until(
      `am:${fp}`,
      (x) => x.status === 'firing' && x.current?.paged.includes('U0BOB') === true,
    );
    expect(again.slack.root).toEqual(root);
    await h.slack.waitFor(async () => (await everywhere(summary)).length === 2, 60_000); // Bob's DM
    await idle(fp);
    expect(await everywhere(summary)).toHaveLength(2);
  });

  it('Temporal down: Alertmanager still gets 200 (the delivery is in the ledger) and the alert is handed off once when Temporal is back; Postgres down: 503', async () => {
    const fp = fingerprint();
    const summary = `Outage ${fp}`;
    const startsAt = new Date(Date.now() - 60_000).toISOString();
    const eventId = `am:${fp}@${startsAt}:firing`;
    temporalProxy.stall(); // every Temporal call of the API, its relay and the worker hangs
    try {
      const res = await h.webhook(amPayload({ fp, summary, startsAt }));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { alerts: { outcome: string }[] }).alerts[0]!.outcome).toBe('queued');
      // Alertmanager's retry of it is a duplicate of what is recorded.
      expect((await h.fire(amPayload({ fp, summary, startsAt }))).alerts[0]!.outcome).toBe('duplicate');
      // The relay tried (its call ran into its deadline); the delivery waits in the ledger.
      const waiting = await waitUntil(async () => {
        const r = await ledgerRow(eventId);
        return r && r.relay_attempts >= 1 ? r : undefined;
      }, 60_000);
      expect(waiting.status).toBe('queued');
      expect(waiting.relay_error).toBeTruthy();
      expect(await everywhere(summary)).toHaveLength(0);
    } finally {
      temporalProxy.reset(); // drop what the stall held (it never reached Temporal), then Temporal is back
      temporalProxy.pass();
    }
    await h.until(`am:${fp}`, (x) => x.slack.root !== null && x.slack.copies.length === 1, 60_000);
    await waitUntil(async () => (await ledgerRow(eventId))?.status === 'handed_off', 60_000);
    await idle(fp);
    expect(await everywhere(summary)).toHaveLength(2); // the card and Bob's DM, once each
    const signals = (await signalsIn(stack.urls.temporal, `alert:am:${fp}`, 'alertNotification')) as {
      eventId: string;
    }[];
    expect(signals.map((x) => x.eventId)).toEqual([eventId]);

    // Postgres down (nothing listens where the API's pool points): 503 so Alertmanager retries.
    const app = await dedicatedApp(stack, {
      databaseUrl: `postgres://threadline@127.0.0.1:${await freePort()}/threadline`,
    });
    try {
      const res = await fetch(`${app.url}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...h.amAuth },
        body: JSON.stringify(amPayload({ fp: fingerprint(), summary })),
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toBe('storage_unavailable');
    } finally {
      await app.close();
    }
  }, 180_000);

  it('generic alerts (POST /v1/alerts): default route, Resolve button for channel members, resolve through the API; 400s name the field', async () => {
    const key = `deploy-${fingerprint()}`;
    const res = await h.generic({
      source: 'ci',
      dedupKey: key,
      severity: 'warning',
      summary: `Canary errors ${key}`,
      links: [{ text: 'Dashboard', url: 'https://grafana.example.com/d/1' }],
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { root, msg } = await cardOf(`ext:${key}`);
    expect(root.channel).toBe('C0TICKETS');
    expect(buttons(msg)).toEqual(['ack', 'resolve']); // no policy: nothing to escalate
    expect(seen(msg)).toContain('https://grafana.example.com/d/1');
    // Dave is a member of #tickets (the route entitles channel members).
    await h.until(`ext:${key}`, (x) => x.current?.channelMembersLoaded === true);
    const click = await h.click('U0DAVE', root, 'resolve');
    expect(click.delivery.status).toBe(200);
    await h.until(`ext:${key}`, (x) => x.status === 'resolved' && x.current?.resolvedBy === 'U0DAVE');
    await h.replyWith(root, 'Resolved by <@U0DAVE>');

    const key2 = `job-${fingerprint()}`;
    expect(
      (await h.generic({ source: 'cron', dedupKey: key2, severity: 'error', summary: 'Nightly job failed' })).status,
    ).toBe(202);
    await cardOf(`ext:${key2}`);
    const resolve = await fetch(`${h.api}/v1/alerts/${key2}/resolve`, { method: 'POST', headers: h.auth });
    expect(resolve.status).toBe(202);
    await h.until(`ext:${key2}`, (x) => x.status === 'resolved' && x.current?.resolvedVia === 'api');
    expect(
      (await fetch(`${h.api}/v1/alerts/nope-${fingerprint()}/resolve`, { method: 'POST', headers: h.auth })).status,
    ).toBe(404);

    const cases: [Record<string, unknown>, RegExp][] = [
      [{ source: 'ci', dedupKey: 'a b', severity: 'warning', summary: 'x' }, /dedupKey/],
      [{ source: 'ci', dedupKey: 'k', severity: 'sev1', summary: 'x' }, /severity/],
      [{ source: 'ci', dedupKey: 'k', severity: 'info', summary: '' }, /summary/],
      [
        { source: 'ci', dedupKey: 'k', severity: 'info', summary: 'x', links: [{ url: 'javascript:alert(1)' }] },
        /links\.0\.url/,
      ],
      [{ source: 'ci', dedupKey: 'k', severity: 'info', summary: 'x', colour: 'red' }, /colour/],
    ];
    for (const [b, msg] of cases) {
      const r = await h.generic(b);
      const json = (await r.json()) as { error: string; message: string };
      expect(r.status, JSON.stringify(json)).toBe(400);
      expect(json.message).toMatch(msg);
    }
    expect((await fetch(`${h.api}/v1/alerts`, { method: 'POST', body: '{}' })).status).toBe(401);
  });

  it('a grouped delivery is one workflow per alert; concurrent re-deliveries of the group post each card exactly once', async () => {
    const group = amPayload({ fp: fingerprint(), labels: { severity: 'info' } });
    const fps = [fingerprint(), fingerprint(), fingerprint()];
    const tag = fps[0]!;
    group.alerts = fps.map((fp, i) => ({
      ...structuredClone(group.alerts[0]!),
      fingerprint: fp,
      labels: { ...group.alerts[0]!.labels, severity: 'info', instance: `host-${i}` },
      annotations: { ...group.alerts[0]!.annotations, summary: `Group ${tag} member ${i}` },
    }));
    // Alertmanager retrying a delivery it thinks timed out races the original: three at once.
    const answers = await Promise.all([1, 2, 3].map(() => h.webhook(group)));
    const bodies = await Promise.all(
      answers.map(async (r) => ({ status: r.status, json: (await r.json()) as { alerts: { outcome: string }[] } })),
    );
    for (const b of bodies) expect(b.status, JSON.stringify(b.json)).toBe(200);
    // Per alert, exactly one of the three deliveries recorded it; the others were duplicates.
    for (let i = 0; i < fps.length; i++)
      expect(bodies.map((b) => b.json.alerts[i]!.outcome).sort()).toEqual(['duplicate', 'duplicate', 'queued']);
    const views = await Promise.all(
      fps.map((fp) => h.until(`am:${fp}`, (x) => x.slack.root !== null && x.current?.channelMembersLoaded === true)),
    );
    for (const v of views) expect(v.eventsProcessed).toBe(1);
    // A later re-send of the whole group (repeat_interval) is answered from the ledger.
    const repeat = await h.fire(group);
    expect(repeat.alerts.map((a) => a.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    const cards = (await h.slack.channelMessages('C0TICKETS')).filter((m) => m.text.includes(`Group ${tag}`));
    expect(cards.map((m) => /member (\d)/.exec(m.text)?.[1]).sort()).toEqual(['0', '1', '2']);
  });

  it('the Alertmanager webhook: 401 without or with wrong credentials (basic auth accepted), 400 naming the field, 413 oversized', async () => {
    const body = amPayload({ fp: fingerprint(), labels: { severity: 'info' } });
    expect((await h.webhook(body, {})).status).toBe(401);
    const wrong = await h.webhook(body, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    const basic = await h.webhook(body, {
      authorization: `Basic ${Buffer.from('alertmanager:tl_sandbox_alerts').toString('base64')}`,
    });
    expect(basic.status).toBe(200);
    const bad = await h.webhook({ ...body, alerts: [{ ...body.alerts[0], fingerprint: 'not-hex' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^alerts\.0\.fingerprint: a hex fingerprint/);
    expect((await h.webhook('{"version":')).status).toBe(400);
    const huge = await h.webhook({ ...body, padding: 'x'.repeat(1_100_000) });
    expect(huge.status).toBe(413);
    // Labels are the sender's: a team or severity named like an inherited property is just unknown.
    const fp = fingerprint();
    const odd = amPayload({ fp, summary: `Odd labels ${fp}`, labels: { team: 'constructor', severity: 'toString' } });
    expect((await h.fire(odd)).alerts[0]!.outcome).toBe('queued');
    const { root, msg } = await cardOf(`am:${fp}`);
    expect(root.channel).toBe('C0TICKETS');
    expect(seen(msg)).toContain('TOSTRING');
  });

  it('notification-only routes post through the incoming webhook (no buttons), firing and resolved', async () => {
    const fp = fingerprint();
    const summary = `Queue depth ${fp}`;
    await h.fire(amPayload({ fp, summary, labels: { severity: 'warning', team: 'notify' } }));
    // The summary is in the attachment (the coloured bar), not in the fallback text.
    const mine = async () =>
      (await h.slack.channelMessages('C0PAYMENTS')).filter((m) => JSON.stringify(m).includes(summary));
    const firing = await h.slack.waitFor(async () => (await mine())[0]);
    expect(firing.text).toContain('FIRING');
    expect(JSON.stringify(firing)).toContain('#fdb022');
    expect(buttons(firing)).toEqual([]);
    await h.fire(amPayload({ fp, summary, labels: { severity: 'warning', team: 'notify' }, status: 'resolved' }));
    const all = await h.slack.waitFor(async () => {
      const m = await mine();
      return m.length === 2 ? m : undefined;
    });
    expect(all.map((m) => m.text.split(' ')[0])).toEqual(['FIRING', 'RESOLVED']);
    expect((await h.get(`am:${fp}`)).slack.root).toBeNull();
    // The URL is a secret: the workflow only ever names the webhook.
    const url = (stack.config.flows.alerts as AlertsConfig).incomingWebhooks.notify!;
    const history = searchableText(await decodedHistory(stack.urls.temporal, `alert:am:${fp}`));
    expect(history).toContain('"webhook":"notify"'); // the route the notification carried
    expect(history).not.toContain(new URL(url).pathname);
  });

  it('a card that cannot be posted is loud (audit, metric, one ops alert) and the alert goes on: the on-call DM still pages and acknowledges', async () => {
    const fp = fingerprint();
    const workflowId = `alert:am:${fp}`;
    const failures = () =>
      counterValue(h.api, 'threadline_permanent_failures_total', {
        system: 'slack',
        method: 'chat.postMessage',
        type: 'permanent',
      });
    const before = await failures();
    await h.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'is_archived',
      channel: 'C0TICKETS',
      count: 1,
    });
    await h.fire(amPayload({ fp, summary: `Archived ${fp}`, labels: { policy: 'tickets' } }));
    const dm = await dmTo(fp, 'U0BOB');
    expect(buttons(await h.slack.message(dm.channel, dm.ts))).toEqual(['ack', 'escalate']);
    await h.click('U0BOB', dm, 'ack');
    const v = await h.until(`am:${fp}`, (x) => x.status === 'acknowledged');
    expect(v.slack.root).toBeNull();

    const connection = await Connection.connect({ address: stack.urls.temporal });
    try {
      await waitIdle(new Client({ connection }).workflow.getHandle(workflowId));
    } finally {
      await connection.close();
    }
    const audit = await auditLogRepo(pool).bySubject(workflowId);
    expect(audit.filter((r) => r.action === 'alert.slack_failed')).toMatchObject([
      { outcome: 'failed', details: { reason: 'permanent', error: 'is_archived' } },
    ]);
    expect(audit.filter((r) => r.action === 'alert.acknowledged')).toHaveLength(1);
    const opsAlerts = (await h.slack.channelMessages('C0OPSALERT')).filter((m) =>
      keyOf(m)?.startsWith(`${workflowId}:ops_alert:`),
    );
    expect(opsAlerts).toHaveLength(1);
    expect(seen(opsAlerts[0]!)).toContain('is_archived');
    expect(await failures()).toBe(before + 1);
  });

  it('/threadline status <alert id>: responders (paged, or in the entitled group) get it; others learn nothing', async () => {
    const fp = fingerprint();
    const summary = `Status ${fp}`;
    // Erin (group `sre`) and Carol are in the workspace but not in the alert's channel.
    const bot = new WebClient(stack.config.slack.botToken, { slackApiUrl: stack.config.slack.apiUrl });
    for (const user of ['U0ERIN', 'U0CAROL']) await bot.conversations.kick({ channel: 'C0OPSALERT', user });
    await h.fire(amPayload({ fp, summary }));
    await dmTo(fp, 'U0BOB');
    const status = async (user: string) => {
      const cmd = await h.slack.runSlashCommand({
        user,
        channel: 'C0TICKETS',
        command: '/threadline',
        text: `status am:${fp}`,
      });
      expect(cmd.delivery.status).toBe(200);
      return h.responseTo(cmd.response_url, 20_000);
    };
    const bob = await status('U0BOB'); // paged: his DM is one of the alert's conversations
    expect(bob, 'Bob').toContain(`alert:am:${fp}`);
    expect(bob).toContain('firing');
    const erin = await status('U0ERIN'); // only the route's group entitles her: the status's participants
    expect(erin, 'Erin').toContain(`alert:am:${fp}`);
    const carol = await status('U0CAROL');
    expect(carol).toContain("I can't show you");
    expect(carol).not.toContain('PostgresReplicationLag');
  });

  it('/threadline oncall answers who is on call now and next', async () => {
    const r = await h.slack.runSlashCommand({
      user: 'U0DAVE',
      channel: 'C0OPSALERT',
      command: '/threadline',
      text: 'oncall',
    });
    expect(JSON.stringify(r.delivery.response)).toContain('*primary* (Europe/Berlin): <@U0BOB> is on call now');
    const unknown = await h.slack.runSlashCommand({
      user: 'U0DAVE',
      channel: 'C0OPSALERT',
      command: '/threadline',
      text: 'oncall nope',
    });
    expect(JSON.stringify(unknown.delivery.response)).toContain('No schedule `nope`');
  });
});
