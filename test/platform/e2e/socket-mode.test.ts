import { describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';
import { approvalWorkflowId } from '../../../src/flows/approvals/contract.js';
import { flowSuite, harnessOf } from '../../helpers/flow-suite.js';
import { counterValue, postsFor, waitForIdle } from '../../helpers/effects.js';
import { threadEventsIn } from '../../helpers/slack.js';
import { paymentsHarness, WITHOUT_SLA_TIMERS } from '../../flows/payments/e2e/helpers.js';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { installVia } from './workspaces-helpers.js';
import { installationsRepo } from '../../../src/platform/installations/store.js';
import { createTokenCipher } from '../../../src/platform/installations/token-cipher.js';

const B = 'T0ACMECORP';
const APP_TOKEN = 'xapp-1-A0THREADLN-1-sockettestappleveltoken';

/** Approvals post as Chen (a person of workspace B) once Chen connected there; the bot posts elsewhere. */
const PERSON_B = 'U0CHEN';
const suite = flowSuite({ ...WITHOUT_SLA_TIMERS, SLACK_APP_TOKEN: APP_TOKEN, SLACK_POST_AS: `approvals=${PERSON_B}` });
const pay = harnessOf(suite, (stack, temporal) => paymentsHarness(stack, temporal));
const appr = harnessOf(suite, (stack, temporal) => approvalsHarness(stack, temporal));

/**
 * With SLACK_APP_TOKEN the emulator delivers everything over Socket Mode (its app switch is on):
 * the same ingress pipeline (classify → dedup → hand-off → ack) serves it, and the envelope is
 * acked only after the durable hand-off.
 */
describe('Socket Mode transport', () => {
  const slack = () => new SlackEmulatorAdmin(suite.stack.urls.slackEmulator!);
  const openConnection = () =>
    slack().waitFor(async () => (await slack().socketMode()).connections.find((c) => c.open), 30_000);
  /**
   * The request's channel post, once it is posted. The channel post and the approvers' DMs go out
   * concurrently (each through the pacer), so the first message a request records may be a DM.
   */
  const channelPost = (id: string) =>
    appr.waitFor(async () => (await appr.get(id)).slack.find((m) => m.purpose === 'channel'));
  /** Bilal (workspace B) approves the request over the socket. */
  const approveInB = async (msg: { channel: string; ts: string }, id: string) => {
    const click = await slack()
      .team(B)
      .clickButton({ user: 'U0BILAL', channel: msg.channel, ts: msg.ts, action_id: 'tl:approval.approve' });
    expect(click.delivery.delivered).toBe(true);
    expect(await appr.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0BILAL' });
  };

  it('commands and clicks arrive over the socket, are acked after the hand-off, and nothing comes over HTTP', async () => {
    await openConnection();
    const help = await slack().runSlashCommand({
      user: 'U0ERIN',
      channel: 'C0PAYMENTS',
      command: '/threadline',
      text: 'help',
    });
    expect(help.delivery.delivered).toBe(true);
    expect(JSON.stringify(help.delivery.response)).toContain('/threadline status');

    const id = await appr.created(appr.body({ requester: 'U0ALICE', approvers: ['U0BOB'] }));
    const msg = await channelPost(id);
    const click = await appr.click('U0BOB', msg, 'approve');
    expect(click.delivery.delivered).toBe(true);
    expect(await appr.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0BOB' });

    const sm = await slack().socketMode();
    const types = new Set(sm.envelopes.filter((e) => e.acked).map((e) => e.type));
    expect([...types]).toEqual(expect.arrayContaining(['slash_commands', 'interactive']));
    expect((await slack().deliveries()).every((d) => d.attempts.every((a) => a.connection !== undefined))).toBe(true);
    expect(
      await counterValue(suite.stack.urls.api, 'threadline_socket_mode_envelopes_total', {
        type: 'interactive',
        outcome: 'acked',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await counterValue(suite.stack.urls.api, 'threadline_socket_mode_connection_events_total', {
        event: 'connected',
        reason: '',
      }),
    ).toBeGreaterThanOrEqual(1);
    await waitForIdle(suite.temporal, approvalWorkflowId(id), 30_000);
  });

  it('an envelope handed off whose ack was lost is redelivered after a forced disconnect and handed off once', async () => {
    const o = pay.ids();
    await pay.expectAccepted(await pay.initiate(pay.initiation(o.orderId, { paymentId: o.paymentId })));
    const root = await pay.thread('C0PAYMENTS', o.orderId, 0);
    const workflowId = paymentWorkflowId(o.orderId);
    await waitForIdle(suite.temporal, workflowId, 30_000);
    const threadEvents = async () =>
      (await threadEventsIn(suite.stack.urls.temporal, workflowId, suite.stack.config.temporal)).length;
    const before = await threadEvents();
    const conn = await openConnection();
    const connected = () =>
      counterValue(suite.stack.urls.api, 'threadline_socket_mode_connection_events_total', {
        event: 'connected',
        reason: '',
      });
    const connectedBefore = await connected();

    // Slack gives up on the ack at once (our ack comes after the hand-off, too late), and retries later.
    await slack().config({ eventRetryDelaysMs: [1500, 1500, 1500] });
    await slack().configureSocketMode({ ackTimeoutMs: 1 });
    const reply = await slack().postMessage({
      user: 'U0BOB',
      channel: 'C0PAYMENTS',
      text: 'Customer confirmed the transfer',
      thread_ts: root.ts,
    });
    const lost = await slack().waitFor(
      async () => (await slack().socketMode()).envelopes.find((e) => e.late_ack),
      30_000,
    );
    expect(lost).toMatchObject({ type: 'events_api', connection: conn.id, acked: false });
    // The forced disconnect, then Slack's retry on the new connection.
    await slack().configureSocketMode({ ackTimeoutMs: 3000 });
    await slack().socketDrop();
    const delivery = await slack().waitFor(async () => {
      const d = (await slack().deliveries()).find((x) => x.attempts.some((a) => a.envelope_id === lost.envelope_id));
      return d?.delivered ? d : undefined;
    }, 30_000);
    expect(delivery.attempts.length).toBeGreaterThanOrEqual(2);
    const acked = delivery.attempts.at(-1)!;
    expect(acked.acked).toBe(true);
    expect(acked.connection).not.toBe(conn.id);

    // Handed off once (by the relay, after the ack): one signal in the workflow's history, one ledger row, handed off.
    await slack().waitFor(async () => {
      const r = await suite.pool.query<{ status: string }>(
        `SELECT status FROM inbound_events WHERE source = 'slack' AND event_id = $1`,
        [delivery.eventId],
      );
      return r.rows[0]?.status === 'handed_off' ? true : undefined;
    }, 60_000);
    await waitForIdle(suite.temporal, workflowId, 30_000);
    expect(await threadEvents()).toBe(before + 1);
    const ledger = await suite.pool.query<{ status: string; claims: number }>(
      `SELECT status, claims FROM inbound_events WHERE source = 'slack' AND event_id = $1`,
      [delivery.eventId],
    );
    expect(ledger.rows).toHaveLength(1);
    expect(ledger.rows[0]!.status).toBe('handed_off');
    expect(reply.ts).toBeTruthy();
    // The reconnect is counted.
    expect(await connected()).toBeGreaterThan(connectedBefore);
    await slack().config({ eventRetryDelaysMs: [50, 100, 200] });
  });

  it('a second workspace installed through OAuth works over the same socket, with no crossover', async () => {
    await openConnection();
    const installed = await installVia(suite.stack.urls.api, slack(), B, 'U0ASHA');
    expect(installed.status, installed.text).toBe(200);
    const acme = slack().team(B);
    const idB = await appr.created(
      appr.body({ requester: 'U0ASHA', approvers: ['U0BILAL'], channel: 'C0APPROVAL', slackTeamId: B }),
    );
    const idA = await appr.created(appr.body({ requester: 'U0ALICE', approvers: ['U0BOB'], channel: 'C0APPROVAL' }));
    const msgB = await channelPost(idB);
    await appr.posted(idA, 1);
    await approveInB(msgB, idB);
    for (const id of [idA, idB]) await waitForIdle(suite.temporal, approvalWorkflowId(id), 30_000);
    expect((await postsFor(slack(), approvalWorkflowId(idB))).length).toBe(0);
    expect((await postsFor(acme, approvalWorkflowId(idA))).length).toBe(0);
    expect((await postsFor(acme, approvalWorkflowId(idB))).length).toBeGreaterThanOrEqual(1);
    expect((await appr.get(idA)).status).toBe('pending');
  });

  it('posting as a connected person works the same over the socket; tokens_revoked over the socket makes the bot post', async () => {
    await openConnection();
    const acme = slack().team(B);
    // B was installed by the test above; Chen connects their own identity there.
    const connected = await installVia(suite.stack.urls.api, slack(), B, PERSON_B, '/slack/connect');
    expect(connected.text, connected.text).toContain('Your Slack identity is connected');
    const request = () =>
      appr.created(appr.body({ requester: 'U0ASHA', approvers: ['U0BILAL'], channel: 'C0APPROVAL', slackTeamId: B }));

    const id = await request();
    const msg = await channelPost(id);
    expect(await acme.message(msg.channel, msg.ts)).toMatchObject({ user: PERSON_B });
    expect((await acme.message(msg.channel, msg.ts)).bot_id).toBeUndefined();
    await approveInB(msg, id);
    const edited = await acme.waitFor(async () => {
      const m = await acme.message(msg.channel, msg.ts);
      return m.edited ? m : undefined;
    }, 60_000);
    expect(edited.edited?.user).toBe(PERSON_B);

    // Chen's token is revoked in Slack: tokens_revoked arrives over the socket, and the next post is the bot's.
    await waitForIdle(suite.temporal, approvalWorkflowId(id), 60_000);
    const repo = installationsRepo(suite.pool, createTokenCipher({ keys: suite.stack.config.slack.tokenKeys }));
    const token = (await repo.userCredentials(B, PERSON_B))!.token;
    const revoked = await fetch(`${suite.stack.urls.slackEmulator}/api/auth.revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await revoked.json()) as { revoked?: boolean }).revoked).toBe(true);
    await appr.waitFor(
      async () => ((await repo.userCredentials(B, PERSON_B)) === undefined ? true : undefined),
      60_000,
    );
    // Recorded from the event that came over the socket (nothing comes over HTTP here: first test).
    // The token is revoked first, then the event's audit row is written: wait for the row.
    await appr.waitFor(async () => {
      const audit = await suite.pool.query<{ details: { userTokensRevoked?: string[] } }>(
        `SELECT details FROM audit_log WHERE subject = $1 AND action = 'slack.tokens_revoked'`,
        [`slack-installation:${B}`],
      );
      return audit.rows.some((r) => r.details.userTokensRevoked?.includes(PERSON_B)) ? true : undefined;
    }, 60_000);

    const next = await request();
    const nextMsg = await channelPost(next);
    expect((await acme.message(nextMsg.channel, nextMsg.ts)).bot_id).toBeDefined();
    const fallback = await suite.pool.query<{ details: { reason?: string } }>(
      `SELECT details FROM audit_log WHERE subject = $1 AND action = 'slack.post_as_fallback'`,
      [approvalWorkflowId(next)],
    );
    expect(fallback.rows.map((r) => r.details.reason)).toEqual(['no_user_token']);
  });
});
