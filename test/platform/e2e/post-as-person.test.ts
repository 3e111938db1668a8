import { describe, expect, it } from 'vitest';
import { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';
import { approvalWorkflowId } from '../../../src/flows/approvals/contract.js';
import { installationsRepo } from '../../../src/platform/installations/store.js';
import { createTokenCipher } from '../../../src/platform/installations/token-cipher.js';
import { createLogger } from '../../../src/platform/observability/logger.js';
import { flowSuite, harnessOf } from '../../helpers/flow-suite.js';
import { counterValue, historyOf, waitForIdle } from '../../helpers/effects.js';
import { searchableText } from '../../helpers/secrets.js';
import { decodedHistory } from '../../helpers/temporal.js';
import { approvalsHarness } from '../../flows/approvals/e2e/helpers.js';
import { installVia } from './workspaces-helpers.js';

const TEAM = 'T0THREADLN';
const PERSON = 'U0ALICE';

/** The whole log of the stack, at trace level: searched for the person's token at the end. */
const logLines: string[] = [];
const suite = flowSuite(
  { SLACK_POST_AS: `approvals=${PERSON}` },
  { logger: createLogger({ level: 'trace', destination: { write: (line: string) => logLines.push(line) } }) },
);
const appr = harnessOf(suite, (stack, temporal) => approvalsHarness(stack, temporal));
/** Every user token of the person this file saw: none may appear in a log, history or answer. */
const seenTokens = new Set<string>();

/**
 * "Messages are posted as them, not from a faceless bot": approvals are configured to post as
 * Alice (SLACK_POST_AS). The emulator acts as Slack and as the people: Alice connects through
 * the OAuth pages, clicks are made as approvers, and her token is revoked the ways Slack does it.
 */
describe('posting as a connected person (SLACK_POST_AS), with the bot as the audited fallback', () => {
  const slack = () => new SlackEmulatorAdmin(suite.stack.urls.slackEmulator!);
  const repo = () => installationsRepo(suite.pool, createTokenCipher({ keys: suite.stack.config.slack.tokenKeys }));
  const metric = (labels: Record<string, string>) =>
    counterValue(suite.stack.urls.api, 'threadline_slack_post_as_total', labels);
  const fallbacks = async (subject: string) =>
    (
      await suite.pool.query<{ details: Record<string, unknown> }>(
        `SELECT details FROM audit_log WHERE subject = $1 AND action = 'slack.post_as_fallback' ORDER BY id`,
        [subject],
      )
    ).rows.map((r) => r.details);
  /** Creates an approval (decided by Bob) and waits for its channel post, as Slack shows it. */
  const approvalInChannel = async () => {
    const id = await appr.created(appr.body({ requester: 'U0CAROL', approvers: ['U0BOB'], channel: 'C0APPROVAL' }));
    const ref = await appr.waitFor(async () => (await appr.get(id)).slack.find((m) => m.purpose === 'channel'));
    return { id, ref, message: await slack().message(ref.channel, ref.ts) };
  };
  /** After the workflow is idle: how many messages of this approval are in the channel (top level). */
  const channelPostsOf = async (id: string) => {
    await waitForIdle(suite.temporal, approvalWorkflowId(id), 60_000);
    return (await slack().channelMessages('C0APPROVAL')).filter(
      (m) => (m.metadata?.event_payload as { subject?: string } | undefined)?.subject === approvalWorkflowId(id),
    );
  };
  /** An approval whose channel post the bot made instead of the person: one message, one audit row, counted once. */
  const botPostsInstead = async (reason: string, userTokenRevoked: boolean) => {
    const before = await metric({ outcome: 'fallback', reason });
    const { id, message } = await approvalInChannel();
    expect(message.bot_id).toBeDefined();
    expect((await channelPostsOf(id)).length).toBe(1);
    expect(await fallbacks(approvalWorkflowId(id))).toEqual([
      expect.objectContaining({ person: PERSON, reason, userTokenRevoked }),
    ]);
    expect(await metric({ outcome: 'fallback', reason })).toBe(before + 1);
  };
  const connect = async () => {
    const done = await installVia(suite.stack.urls.api, slack(), TEAM, PERSON, '/slack/connect');
    expect(done.status, done.text).toBe(200);
    expect(done.text).toContain('Your Slack identity is connected');
    const creds = await repo().userCredentials(TEAM, PERSON);
    expect(creds?.token).toMatch(/^xoxp-/);
    seenTokens.add(creds!.token);
    return creds!.token;
  };

  it('a person who never connected: the bot posts, and the fallback is audited and counted', async () => {
    const installed = await installVia(suite.stack.urls.api, slack(), TEAM, PERSON);
    expect(installed.text).toContain('Threadline is installed');
    await botPostsInstead('no_user_token', false);
  });

  it('connected through /slack/connect: the thread is posted as the person and edited as them, once', async () => {
    await connect();
    const before = await metric({ outcome: 'person', reason: 'connected' });
    const { id, ref, message } = await approvalInChannel();
    expect(message.user).toBe(PERSON);
    expect(message.bot_id).toBeUndefined();
    const row = await suite.pool.query<{ posted_as: string | null }>(
      'SELECT posted_as FROM slack_messages WHERE channel = $1 AND ts = $2',
      [ref.channel, ref.ts],
    );
    expect(row.rows).toEqual([{ posted_as: PERSON }]);

    const clicked = await appr.click('U0BOB', ref, 'approve');
    expect(clicked.delivery.status).toBe(200);
    await appr.waitStatus(id, 'approved');
    // The update edits that same message, as its author (Slack refuses anyone else).
    const locked = await appr.locked(ref);
    expect(locked.edited?.user).toBe(PERSON);
    expect(locked.bot_id).toBeUndefined();

    const settled = await appr.settled(id, 60_000);
    appr.expectEachPostOnce(settled);
    expect((await channelPostsOf(id)).length).toBe(1);
    expect(await fallbacks(approvalWorkflowId(id))).toEqual([]);
    expect(await metric({ outcome: 'person', reason: 'connected' })).toBeGreaterThan(before);
    // Nothing failed on the way (an edit refused as the bot would be audited as a failed step).
    const failed = await suite.pool.query(
      `SELECT 1 FROM audit_log WHERE subject = $1 AND action LIKE '%slack_failed'`,
      [approvalWorkflowId(id)],
    );
    expect(failed.rowCount).toBe(0);
  });

  it('the person’s post is committed but its answer lost: the retry finds it (read as the bot) and posts nothing more', async () => {
    await slack().injectFault({ method: 'chat.postMessage', kind: 'commit_then_timeout', channel: 'C0APPROVAL' });
    const { id, ref, message } = await approvalInChannel();
    expect(message.user).toBe(PERSON);
    expect(message.bot_id).toBeUndefined();
    expect((await channelPostsOf(id)).length).toBe(1);
    // The lookup knew who wrote it, so a later edit is made as them.
    const row = await suite.pool.query<{ posted_as: string | null }>(
      'SELECT posted_as FROM slack_messages WHERE channel = $1 AND ts = $2',
      [ref.channel, ref.ts],
    );
    expect(row.rows).toEqual([{ posted_as: PERSON }]);
    // It was a retry that found it: a postSlackMessage attempt after the first ran.
    const events = await historyOf(suite.temporal, approvalWorkflowId(id));
    const posts = new Set(
      events
        .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'postSlackMessage')
        .map((e) => String(e.eventId)),
    );
    const retried = events.filter(
      (e) =>
        posts.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) &&
        (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    );
    expect(retried.length).toBeGreaterThanOrEqual(1);
    await appr.click('U0BOB', ref, 'approve');
    expect((await appr.locked(ref)).edited?.user).toBe(PERSON);
    // Its decision replies go out after the edit: idle before the next test arms a fault in this channel.
    appr.expectEachPostOnce(await appr.settled(id, 60_000));
  });

  it('Slack refuses the person’s token (token_revoked): the bot posts in the same attempt, the token is marked revoked, one message', async () => {
    await slack().injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'token_revoked',
      channel: 'C0APPROVAL',
    });
    await botPostsInstead('token_revoked', true);
    expect(await repo().userCredentials(TEAM, PERSON)).toBeUndefined();
    // Slack refused the person's post once; the bot's post (above) is the only message.
    const refusals = (await slack().calls()).filter(
      (c) => c.method === 'chat.postMessage' && c.error === 'token_revoked',
    );
    expect(refusals.length).toBe(1);
  });

  it('auth.revoke → tokens_revoked: the next post falls back to the bot; a message posted as the person is never edited by the bot', async () => {
    const token = await connect();
    const pending = await approvalInChannel();
    expect(pending.message.user).toBe(PERSON);

    // The person revokes their token in Slack; Slack tells the app with a tokens_revoked event.
    const res = await fetch(`${suite.stack.urls.slackEmulator}/api/auth.revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await res.json()) as { revoked?: boolean }).revoked).toBe(true);
    await appr.waitFor(
      async () => ((await repo().userCredentials(TEAM, PERSON)) === undefined ? true : undefined),
      60_000,
    );
    // The token is revoked first, then the event's audit row is written: wait for the row.
    await appr.waitFor(async () => {
      const audit = await suite.pool.query<{ details: { userTokensRevoked?: string[] } }>(
        `SELECT details FROM audit_log WHERE subject = $1 AND action = 'slack.tokens_revoked'`,
        [`slack-installation:${TEAM}`],
      );
      return audit.rows.some((r) => r.details.userTokensRevoked?.includes(PERSON)) ? true : undefined;
    }, 60_000);

    const next = await approvalInChannel();
    expect(next.message.bot_id).toBeDefined();
    expect(await fallbacks(approvalWorkflowId(next.id))).toEqual([
      expect.objectContaining({ person: PERSON, reason: 'no_user_token' }),
    ]);

    // Deciding the earlier request: its message is the person's, and only they could edit it.
    const refused = await metric({ outcome: 'update_refused', reason: 'user_token_unavailable' });
    await appr.click('U0BOB', pending.ref, 'approve');
    await appr.waitStatus(pending.id, 'approved');
    await waitForIdle(suite.temporal, approvalWorkflowId(pending.id), 60_000);
    const still = await slack().message(pending.ref.channel, pending.ref.ts);
    expect(still.edited).toBeUndefined();
    expect(await metric({ outcome: 'update_refused', reason: 'user_token_unavailable' })).toBe(refused + 1);
    const failed = await suite.pool.query(
      `SELECT 1 FROM audit_log WHERE subject = $1 AND action LIKE '%slack_failed'`,
      [approvalWorkflowId(pending.id)],
    );
    expect(failed.rowCount).toBeGreaterThanOrEqual(1);
    // The bot never tried: every chat.update of that message was refused before leaving the process.
    const updates = (await slack().calls()).filter(
      (c) => c.method === 'chat.update' && (c.args as { ts?: string }).ts === pending.ref.ts,
    );
    expect(updates).toEqual([]);

    // Decoded through the codec (and every base64 field read), so the search can find what it looks for.
    const history = searchableText(
      await decodedHistory(suite.stack.urls.temporal, approvalWorkflowId(pending.id), suite.stack.config.temporal),
    );
    expect(history).toContain(pending.ref.ts);
    for (const t of seenTokens) {
      expect(history).not.toContain(t);
      expect(JSON.stringify(await appr.get(pending.id))).not.toContain(t);
    }
  });

  it('no user token appears anywhere in the trace-level log', () => {
    expect(logLines.length).toBeGreaterThan(50);
    expect(seenTokens.size).toBe(2);
    const log = `${logLines.join('\n')}\n${searchableText(logLines.map((l) => JSON.parse(l) as unknown))}`;
    for (const t of seenTokens) expect(log.includes(t), 'a user token is in the log').toBe(false);
  });
});
