import { describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { paymentWorkflowId } from '../../../src/flows/payments/contract.js';
import { approvalWorkflowId } from '../../../src/flows/approvals/contract.js';
import { installationsRepo } from '../../../src/platform/installations/store.js';
import { createTokenCipher } from '../../../src/platform/installations/token-cipher.js';
import { flowSuite, harnessOf } from '../../helpers/flow-suite.js';
import { counterValue, historyOf, postsFor, waitForIdle } from '../../helpers/effects.js';
import { paymentsHarness, WITHOUT_SLA_TIMERS } from '../../flows/payments/e2e/helpers.js';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { installVia } from './workspaces-helpers.js';
import { createLogger } from '../../../src/platform/observability/logger.js';

const A = 'T0THREADLN';
const B = 'T0ACMECORP';

/** The whole log of the stack, at trace level: searched for tokens at the end. */
const logLines: string[] = [];
const suite = flowSuite(
  { ...WITHOUT_SLA_TIMERS },
  { logger: createLogger({ level: 'trace', destination: { write: (line: string) => logLines.push(line) } }) },
);
/** Every token this file saw (opened from the store): none may appear in the log. */
const seenTokens = new Set<string>();
const pay = harnessOf(suite, (stack, temporal) => paymentsHarness(stack, temporal));
const appr = harnessOf(suite, (stack, temporal) => approvalsHarness(stack, temporal));

/**
 * Two workspaces of one app, installed through the emulator's OAuth flow with Slack's
 * InstallProvider, with the same channel ids (C0PAYMENTS, C0APPROVAL in both): every lifecycle
 * posts, is answered and is stopped in its own workspace only.
 */
describe('many workspaces over HTTP: OAuth installs, team-aware posting, uninstall and reinstall', () => {
  const slackA = () => new SlackEmulatorAdmin(suite.stack.urls.slackEmulator!);
  const slackB = () => slackA().team(B);
  const subjectsIn = async (admin: SlackEmulatorAdmin, channel: string) =>
    (await admin.channelMessages(channel)).map((m) => (m.metadata?.event_payload as { subject?: string })?.subject);
  /** One payment in each workspace, both routed to C0PAYMENTS (the same id in each). */
  const paymentsInBoth = async () => {
    const a = pay.ids();
    const b = pay.ids();
    await pay.expectAccepted(await pay.initiate(pay.initiation(a.orderId, { paymentId: a.paymentId })));
    await pay.expectAccepted(
      await pay.initiate(
        pay.initiation(b.orderId, { paymentId: b.paymentId, owner: 'asha@acme.example', slackTeamId: B }),
      ),
    );
    return { a, b };
  };
  const auditOf = async (subject: string) =>
    (
      await suite.pool.query<{ action: string; details: Record<string, unknown> }>(
        'SELECT action, details FROM audit_log WHERE subject = $1 ORDER BY id',
        [subject],
      )
    ).rows;

  it('installs both workspaces; payments and approvals run in both at once and never cross over; tokens stay sealed', async () => {
    const stack = suite.stack;
    for (const [team, user] of [
      [A, 'U0ALICE'],
      [B, 'U0ASHA'],
    ] as const) {
      const done = await installVia(stack.urls.api, slackA(), team, user);
      expect(done.status, done.text).toBe(200);
      expect(done.text).toContain('Threadline is installed');
    }
    const repo = installationsRepo(suite.pool, createTokenCipher({ keys: stack.config.slack.tokenKeys }));
    expect((await repo.info(B))?.status).toBe('active');
    const tokenB = (await repo.botCredentials(B))!.credentials.token;
    expect(tokenB).toMatch(/^xoxb-/);
    seenTokens.add(tokenB);
    seenTokens.add((await repo.botCredentials(A))!.credentials.token);
    const raw = await suite.pool.query<{ row: string }>(
      `SELECT row_to_json(i)::text AS row FROM slack_installations i WHERE installation_id = $1`,
      [B],
    );
    expect(raw.rows[0]!.row).not.toContain(tokenB);

    const { a, b } = await paymentsInBoth();
    await pay.webhook('payment.captured', { orderId: a.orderId, paymentId: a.paymentId, amount: 123450 });
    await pay.webhook('payment.captured', { orderId: b.orderId, paymentId: b.paymentId, amount: 123450 });
    await pay.waitForStatus(a.orderId, 'captured');
    await pay.waitForStatus(b.orderId, 'captured');

    // Approvals in both workspaces, in C0APPROVAL of each, decided by a person of each.
    const idA = await appr.created(appr.body({ requester: 'U0ALICE', approvers: ['U0BOB'], channel: 'C0APPROVAL' }));
    const idB = await appr.created(
      appr.body({ requester: 'U0ASHA', approvers: ['U0BILAL'], channel: 'C0APPROVAL', slackTeamId: B }),
    );
    // The channel post and the DMs go out concurrently: wait for the channel post itself.
    const msgB = await appr.waitFor(async () => (await appr.get(idB)).slack.find((m) => m.purpose === 'channel'));
    await appr.posted(idA, 1);
    expect(msgB.channel).toBe('C0APPROVAL');
    const clicked = await slackB().clickButton({
      user: 'U0BILAL',
      channel: msgB.channel,
      ts: msgB.ts,
      action_id: 'tl:approval.approve',
    });
    expect(clicked.delivery.status).toBe(200);
    expect(await appr.waitStatus(idB, 'approved')).toMatchObject({ decidedBy: 'U0BILAL' });

    // Idle, then count: each lifecycle's posts are all in its own workspace, none in the other.
    for (const id of [paymentWorkflowId(a.orderId), paymentWorkflowId(b.orderId), approvalWorkflowId(idA)])
      await waitForIdle(suite.temporal, id, 30_000);
    const inA = [...(await subjectsIn(slackA(), 'C0PAYMENTS')), ...(await subjectsIn(slackA(), 'C0APPROVAL'))];
    const inB = [...(await subjectsIn(slackB(), 'C0PAYMENTS')), ...(await subjectsIn(slackB(), 'C0APPROVAL'))];
    expect(inA).toEqual(expect.arrayContaining([paymentWorkflowId(a.orderId), approvalWorkflowId(idA)]));
    expect(inB).toEqual(expect.arrayContaining([paymentWorkflowId(b.orderId), approvalWorkflowId(idB)]));
    expect(inA).not.toContain(paymentWorkflowId(b.orderId));
    expect(inA).not.toContain(approvalWorkflowId(idB));
    expect(inB).not.toContain(paymentWorkflowId(a.orderId));
    expect(inB).not.toContain(approvalWorkflowId(idA));
    // Each payment thread got its capture reply in its own workspace, exactly once.
    const repliesB = (await postsFor(slackB(), paymentWorkflowId(b.orderId))).filter((p) => p.threadTs);
    expect(repliesB.length).toBeGreaterThanOrEqual(1);
    expect(new Set(repliesB.map((p) => p.key)).size).toBe(repliesB.length);
    expect((await postsFor(slackA(), paymentWorkflowId(b.orderId))).length).toBe(0);
    // A's approval is untouched by B's decision.
    expect((await appr.get(idA)).status).toBe('pending');
    // Recorded with their workspace: the thread lookup of each workspace finds only its own.
    const rows = await suite.pool.query<{ subject: string; team_id: string }>(
      'SELECT subject, team_id FROM slack_messages WHERE subject = ANY($1)',
      [[paymentWorkflowId(a.orderId), paymentWorkflowId(b.orderId)]],
    );
    for (const r of rows.rows) expect(r.team_id).toBe(r.subject === paymentWorkflowId(b.orderId) ? B : A);

    // The token is in no workflow history (decoded) and no API answer.
    const history = JSON.stringify(await historyOf(suite.temporal, paymentWorkflowId(b.orderId)));
    expect(history).toContain(b.orderId);
    expect(history).not.toContain(tokenB);
    expect(JSON.stringify((await pay.getPayment(b.orderId)).body)).not.toContain(tokenB);
    expect(JSON.stringify(await appr.get(idB))).not.toContain(tokenB);
  });

  it('an uninstall stops only that workspace (audited, counted, refused before Slack); a reinstall resumes it', async () => {
    const { a, b } = await paymentsInBoth();
    await pay.thread('C0PAYMENTS', a.orderId, 0);
    await slackB().waitFor(
      async () => (await subjectsIn(slackB(), 'C0PAYMENTS')).includes(paymentWorkflowId(b.orderId)),
      30_000,
    );

    await slackB().uninstall();
    const repo = installationsRepo(suite.pool, createTokenCipher({ keys: suite.stack.config.slack.tokenKeys }));
    await pay.waitFor(async () => (await repo.info(B))?.status === 'revoked');
    // The revocation is stored before its audit row is written: wait for the row itself.
    await pay.waitFor(async () =>
      (await auditOf(`slack-installation:${B}`)).some((r) => r.action === 'slack.app_uninstalled'),
    );
    expect(
      await counterValue(suite.stack.urls.api, 'threadline_slack_installation_events_total', { event: 'revoked' }),
    ).toBe(1);

    // A new lifecycle cannot be started there.
    const refused = await pay.initiate(pay.initiation(pay.ids().orderId, { slackTeamId: B }));
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('slackTeamId');

    // Both lifecycles get an event that posts a reply: A posts it, B refuses before calling Slack and says so.
    const deadBefore = await counterValue(suite.stack.urls.api, 'threadline_external_calls_total', {
      system: 'slack',
      method: 'chat.postMessage',
      outcome: 'installation_dead',
    });
    await pay.webhook('payment.captured', { orderId: a.orderId, paymentId: a.paymentId, amount: 123450 });
    await pay.webhook('payment.captured', { orderId: b.orderId, paymentId: b.paymentId, amount: 123450 });
    await pay.thread('C0PAYMENTS', a.orderId, 1);
    const failed = await pay.waitFor(async () =>
      (await auditOf(paymentWorkflowId(b.orderId))).find(
        (r) => r.action === 'payment.slack_failed' && r.details.reason === 'installation_dead',
      ),
    );
    expect(failed.details).toMatchObject({ reason: 'installation_dead', error: 'installation_revoked' });
    expect(
      await counterValue(suite.stack.urls.api, 'threadline_external_calls_total', {
        system: 'slack',
        method: 'chat.postMessage',
        outcome: 'installation_dead',
      }),
    ).toBeGreaterThan(deadBefore);
    await waitForIdle(suite.temporal, paymentWorkflowId(b.orderId), 30_000);
    const bPostsWhileRevoked = (await postsFor(slackB(), paymentWorkflowId(b.orderId))).length;
    expect(bPostsWhileRevoked).toBe(1); // the root only: nothing reached Slack after the uninstall

    // Reinstall: B's lifecycle calls Slack again (the next event's reply is posted there).
    const again = await installVia(suite.stack.urls.api, slackA(), B, 'U0ASHA');
    expect(again.status, again.text).toBe(200);
    expect((await repo.info(B))?.status).toBe('active');
    expect((await auditOf(`slack-installation:${B}`)).map((r) => r.action)).toContain('slack.reinstalled');
    await pay.webhook('refund.processed', {
      orderId: b.orderId,
      paymentId: b.paymentId,
      amount: 123450,
      refundId: `rfnd_${b.paymentId.slice(4)}`,
      refundAmount: 1000,
    });
    await slackB().waitFor(
      async () => (await postsFor(slackB(), paymentWorkflowId(b.orderId))).length > bPostsWhileRevoked,
      30_000,
    );
  });

  it('a rotating token that expires mid-flow is refreshed once with its refresh token, and the lifecycle goes on', async () => {
    await slackA().oauthConfig({ tokenRotation: true, tokenExpiresInSec: 43_200 });
    try {
      const installed = await installVia(suite.stack.urls.api, slackA(), B, 'U0ASHA');
      expect(installed.status, installed.text).toBe(200);
      const repo = installationsRepo(suite.pool, createTokenCipher({ keys: suite.stack.config.slack.tokenKeys }));
      const before = (await repo.botCredentials(B))!.credentials;
      expect(before.refreshToken).toBeTruthy();
      expect(before.expiresAtMs).toBeGreaterThan(Date.now());
      const rotations = () =>
        counterValue(suite.stack.urls.api, 'threadline_slack_token_rotations_total', { outcome: 'rotated' });
      const rotatedBefore = await rotations();

      const b = pay.ids();
      await pay.expectAccepted(
        await pay.initiate(
          pay.initiation(b.orderId, { paymentId: b.paymentId, owner: 'asha@acme.example', slackTeamId: B }),
        ),
      );
      const workflowId = paymentWorkflowId(b.orderId);
      await slackB().waitFor(async () => (await subjectsIn(slackB(), 'C0PAYMENTS')).includes(workflowId), 30_000);
      await waitForIdle(suite.temporal, workflowId, 30_000);

      // Slack expires the token earlier than it said (our copy still looks valid): the next call is refused.
      expect((await slackB().expireTokens()).expired).toBeGreaterThanOrEqual(1);
      await pay.webhook('payment.captured', { orderId: b.orderId, paymentId: b.paymentId, amount: 123450 });
      await pay.waitForStatus(b.orderId, 'captured');
      await slackB().waitFor(
        async () => (await postsFor(slackB(), workflowId)).filter((p) => p.threadTs).length >= 1,
        30_000,
      );
      await waitForIdle(suite.temporal, workflowId, 30_000);
      const after = (await repo.botCredentials(B))!.credentials;
      for (const t of [before.token, after.token, before.refreshToken!, after.refreshToken!]) seenTokens.add(t);
      expect(after.token).not.toBe(before.token);
      expect(after.refreshToken).not.toBe(before.refreshToken);
      expect(await rotations()).toBe(rotatedBefore + 1);
      const posts = await postsFor(slackB(), workflowId);
      expect(new Set(posts.map((p) => p.key)).size).toBe(posts.length);
      expect((await auditOf(workflowId)).filter((r) => r.action === 'payment.slack_failed')).toEqual([]);
      // Neither token is in the workflow's history.
      const history = JSON.stringify(await historyOf(suite.temporal, workflowId));
      for (const t of [before.token, after.token, before.refreshToken!, after.refreshToken!])
        expect(history).not.toContain(t);
    } finally {
      await slackA().oauthConfig({ tokenRotation: false });
    }
  });

  it('no token, refresh token or OAuth client secret appears anywhere in the trace-level log', () => {
    const log = logLines.join('\n');
    // The capture saw the OAuth routes, the ingress and the worker: an empty log proves nothing.
    expect(logLines.length).toBeGreaterThan(50);
    expect(seenTokens.size).toBeGreaterThanOrEqual(4);
    for (const t of [
      ...seenTokens,
      suite.stack.config.slack.oauth!.clientSecret,
      suite.stack.config.slack.oauth!.stateSecret,
    ])
      expect(log.includes(t), 'a secret is in the log').toBe(false);
  });
});
