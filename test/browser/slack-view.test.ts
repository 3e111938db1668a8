import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackDelivery } from '../../emulators/slack/outbound.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { approvalsHarness, hasButtons, seen } from '../flows/approvals/e2e/helpers.js';
import { paymentsHarness, WITHOUT_SLA_TIMERS } from '../flows/payments/e2e/helpers.js';
import { openBrowser, type BrowserSession } from './helpers/browser.js';
import { slackView } from './helpers/slack-view.js';

/** Deliveries of one kind whose body mentions `needle` (a message ts, a view id, a text). */
const deliveriesOf = (all: SlackDelivery[], kind: string, needle: string) =>
  all.filter((d) => d.eventType === kind && d.body.includes(needle));

describe('the sandbox Slack in a real browser (Chromium → Slack emulator → the app, real stack)', () => {
  let stack: TestStack;
  let h: ReturnType<typeof approvalsHarness>;
  let browser: BrowserSession;
  let view: ReturnType<typeof slackView>;

  beforeAll(async () => {
    // Long SLAs: no reminder or expiry may fire while a person is clicking.
    stack = await startTestStack({ APPROVAL_REMIND_AFTER: '1h', APPROVAL_EXPIRE_AFTER: '1d', ...WITHOUT_SLA_TIMERS });
    h = approvalsHarness(stack);
    browser = await openBrowser({ suite: 'slack' });
    view = slackView(browser.page, stack.urls.slackEmulator!);
  });
  afterAll(async () => {
    // The browser goes first: its event stream would otherwise see the emulator vanish.
    await browser?.close();
    await stack?.stop();
  });
  afterEach(() => {
    expect(browser.takeErrors(), 'errors in the browser console').toEqual([]);
  });

  it('Bob approves a pending request with the keyboard: confirm dialog, one signed block_actions, the message locks live', async () => {
    const id = await h.created(h.body({ title: 'Deploy checkout 1.2.3 to production' }));
    const [posted] = (await h.posted(id, 3)).filter((m) => m.purpose === 'channel');
    const { page } = browser;

    await view.open('C0APPROVAL');
    await view.actAs('Bob Banker');
    expect(page.url()).toContain('as=U0BOB');
    const msg = view.message(posted!.ts);
    // Block Kit as Slack shows it: header, fields, context with the policy and an <!date>, the APP badge.
    await msg.getByRole('heading', { name: 'Deploy checkout 1.2.3 to production' }).waitFor();
    await expect(msg.locator('.bk-field').allInnerTexts()).resolves.toEqual(
      expect.arrayContaining([expect.stringContaining('Requested by'), expect.stringContaining('checkout')]),
    );
    await expect(msg.locator('.bk-context').innerText()).resolves.toMatch(/needs any one approver from @Bob @Carol/);
    await expect(msg.locator('.bk-context time').count()).resolves.toBe(1);
    await expect(msg.locator('.badge').innerText()).resolves.toBe('APP');
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('1-pending-request-as-bob');

    // Keyboard only: Enter on Approve opens Slack's confirm dialog (focus on Cancel), Tab, Enter confirms.
    await msg.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    const confirm = page.getByRole('dialog', { name: 'Approve this request?' });
    await confirm.waitFor();
    await expect(confirm.innerText()).resolves.toContain('You are approving Deploy checkout 1.2.3 to production.');
    await browser.screenshot('2-confirm-dialog');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    // The app decides and updates the message; the page shows it without a reload.
    await msg.getByText('Approved by @Bob').waitFor();
    await expect(msg.getByRole('button', { name: 'Approve' }).count()).resolves.toBe(0);
    await expect(msg.getByRole('heading').innerText()).resolves.toContain('[Approved]');
    await browser.screenshot('3-locked-after-approve');

    // What Slack would have seen: the emulator's message is locked, the workflow decided for Bob…
    expect(hasButtons(await h.locked(posted!))).toBe(false);
    expect(await h.waitStatus(id, 'approved')).toMatchObject({ decidedBy: 'U0BOB' });
    // …through exactly one signed block_actions from Bob that the app accepted.
    const clicks = deliveriesOf(await h.slack.deliveries(), 'block_actions', posted!.ts);
    expect(clicks).toHaveLength(1);
    const payload = JSON.parse(new URLSearchParams(clicks[0]!.body).get('payload')!) as { user: { id: string } };
    expect(payload.user.id).toBe('U0BOB');
    expect(clicks[0]!.attempts.at(-1)?.status).toBe(200);
  });

  it("a stranger's click is refused with an ephemeral only they see", async () => {
    const id = await h.created(h.body({ title: 'Raise the refund limit' }));
    const [posted] = (await h.posted(id, 3)).filter((m) => m.purpose === 'channel');
    const { page } = browser;
    await view.open('C0APPROVAL');
    await view.actAs('Dave Developer');
    const msg = view.message(posted!.ts);
    await msg.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('dialog', { name: 'Approve this request?' }).getByRole('button', { name: 'Approve' }).click();

    const ephemeral = page.locator('.msg-ephemeral', { hasText: 'You are not an approver for this request.' });
    await ephemeral.waitFor();
    await expect(ephemeral.innerText()).resolves.toContain('Only visible to you');
    await browser.screenshot('4-ephemeral-for-dave');
    expect(hasButtons(await h.slack.message(posted!.channel, posted!.ts))).toBe(true);
    expect((await h.get(id)).status).toBe('pending');

    await view.actAs('Erin Sales');
    await msg.getByRole('button', { name: 'Approve' }).waitFor();
    await expect(page.getByText('You are not an approver for this request.').count()).resolves.toBe(0);
  });

  it('/threadline approval opens the modal; the app’s field error shows under its field; a valid value files the request', async () => {
    const { page } = browser;
    await view.open('C0APPROVAL');
    await view.actAs('Alice Admin (admin)');
    await view.send('/threadline approval');

    // The app opens the modal from a workflow after acking the command; it arrives over the live stream.
    const modal = page.getByRole('dialog', { name: 'Request approval' });
    await modal.waitFor();
    const submissions = async () =>
      (await h.slack.deliveries()).filter((d) => d.eventType === 'view_submission').length;
    const before = await submissions();

    // A required field left empty: refused by the client, as Slack's is, with nothing sent.
    await modal.getByRole('button', { name: 'Send request' }).click();
    await modal.getByText('Please complete this required field.').first().waitFor();

    await modal.getByLabel('What needs approval?').fill('Rotate the payments API key');
    await modal.getByLabel('Approvers').selectOption(['U0BOB', 'U0CAROL']);
    await modal.getByLabel('Also post in (optional)').selectOption({ label: '#approvals' });
    await modal.getByLabel('Expires after (optional)').fill('soon');
    await modal.getByRole('button', { name: 'Send request' }).click();

    // response_action: errors → the message under "Expires after", the field marked invalid, the rest kept.
    const expires = modal.getByLabel('Expires after (optional)');
    const error = modal.getByText('A duration like 30m, 2h or 1d.');
    await error.waitFor();
    await expect(expires.getAttribute('aria-invalid')).resolves.toBe('true');
    const errorId = await error.getAttribute('id');
    await expect(expires.getAttribute('aria-describedby')).resolves.toContain(errorId!);
    await expect(modal.getByLabel('What needs approval?').inputValue()).resolves.toBe('Rotate the payments API key');
    expect(await submissions()).toBe(before + 1); // the empty attempt never left the browser
    expect(await browser.accessibility()).toEqual([]);
    await error.scrollIntoViewIfNeeded();
    await browser.screenshot('5-modal-field-error');

    await expires.fill('2h');
    await modal.getByRole('button', { name: 'Send request' }).click();
    await modal.waitFor({ state: 'detached' });
    const filed = page.locator('article.msg-app', { hasText: 'Rotate the payments API key' });
    await filed.getByRole('button', { name: 'Approve' }).waitFor();
    await browser.screenshot('6-request-filed-from-modal');

    expect(await submissions()).toBe(before + 2);
    const modals = (await h.slack.views()).filter(
      (v) => v.callback_id === 'tl:approval.create' && v.user === 'U0ALICE',
    );
    expect(modals.filter((v) => v.open)).toEqual([]);
    const messages = await h.slack.channelMessages('C0APPROVAL');
    expect(messages.filter((m) => seen(m).includes('Rotate the payments API key'))).toHaveLength(1);
  });

  it('Carol posts, replies in a thread (also to the channel), edits, reacts and deletes: each reaches the app as its event', async () => {
    const { page } = browser;
    await view.open('C0PAYMENTS');
    await view.actAs('Carol Controller');
    const text = `Customer says pay_${Date.now().toString(36)} failed`;
    await view.send(text);
    const first = page.locator('main article.msg', { hasText: text }).first();
    await first.waitFor();
    const ts = (await first.getAttribute('data-ts'))!;
    const mine = view.message(ts);
    const stored = await h.slack.message('C0PAYMENTS', ts);
    expect(stored).toMatchObject({ user: 'U0CAROL', text });
    expect(stored.bot_id).toBeUndefined();

    await mine.hover();
    await mine.getByRole('link', { name: 'Reply in thread' }).click();
    await page.getByRole('complementary', { name: /Thread in #payments/ }).waitFor();
    await page.getByLabel('Also send to #payments').check();
    await view.send('Looking into it now', true);
    await page.locator('.thread article.msg', { hasText: 'Looking into it now' }).waitFor();
    await page.locator('main article.msg', { hasText: 'replied to a thread' }).waitFor();
    await expect(mine.getByRole('link', { name: '1 reply' }).count()).resolves.toBe(1);
    const [reply] = await h.slack.threadReplies('C0PAYMENTS', ts);
    expect(reply).toMatchObject({ user: 'U0CAROL', text: 'Looking into it now', reply_broadcast: true });

    await mine.hover();
    await mine.getByRole('button', { name: 'Edit' }).click();
    await mine.getByLabel('Edit message').fill(`${text} (card declined)`);
    await mine.getByRole('button', { name: 'Save' }).click();
    await mine.getByText('(edited)').waitFor();

    await mine.hover();
    await mine.getByRole('button', { name: 'Add reaction' }).click();
    await mine.getByRole('button', { name: 'React with white check mark' }).click();
    const reaction = mine.locator('.reactions').getByRole('button', { name: /white check mark: 1/ });
    await reaction.waitFor();
    await expect(reaction.getAttribute('aria-pressed')).resolves.toBe('true');
    await browser.screenshot('7-thread-edit-reaction');
    await reaction.click();
    await reaction.waitFor({ state: 'detached' });

    await mine.hover();
    await mine.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete message' }).getByRole('button', { name: 'Delete' }).click();
    // It has a reply, so Slack keeps a placeholder.
    await mine.getByText('This message was deleted.').waitFor();

    // Every action reached the app as the event Slack sends, signed and accepted (HTTP 200).
    const all = await h.slack.waitFor(async () => {
      const d = await h.slack.deliveries();
      return deliveriesOf(d, 'message', ts).some((x) => x.body.includes('message_deleted')) ? d : undefined;
    }, 15_000);
    const events = all.filter((d) => d.body.includes(ts) && d.url.endsWith('/slack/events'));
    const subtypes = events.map((d) => {
      const e = (JSON.parse(d.body) as { event: { type: string; subtype?: string } }).event;
      return e.subtype ? `${e.type}/${e.subtype}` : e.type;
    });
    expect(subtypes).toEqual(
      expect.arrayContaining([
        'message',
        'message/thread_broadcast',
        'message/message_changed',
        'reaction_added',
        'reaction_removed',
        'message/message_deleted',
      ]),
    );
    for (const d of events) expect(d.attempts.at(-1)?.status, d.eventType).toBe(200);
  });

  it('a payment thread, initiated then captured: the root updated in place and the reply, as #payments shows them', async () => {
    const pay = paymentsHarness(stack);
    const { orderId, paymentId } = pay.ids();
    await pay.expectAccepted(await pay.initiate(pay.initiation(orderId, { payerName: 'Meera Traders' })));
    await pay.waitFor(async () => (await pay.roots('C0PAYMENTS', orderId))[0]);
    const { page } = browser;
    await view.open('C0PAYMENTS');
    await view.actAs('Erin Sales');
    const root = (await pay.roots('C0PAYMENTS', orderId))[0]!;
    const msg = view.message(root.ts);
    await msg.getByText('Payment initiated').first().waitFor();

    // The webhook arrives while the page is open: the root changes and the reply count appears live.
    expect((await pay.webhook('payment.captured', { orderId, paymentId, amount: 123450 })).res.status).toBe(200);
    await msg.getByText('Captured').first().waitFor();
    await msg.getByRole('link', { name: '1 reply' }).click();
    const [reply] = (await pay.thread('C0PAYMENTS', orderId, 1)).replies!;
    const thread = page.getByRole('complementary', { name: /Thread in #payments/ });
    await expect(thread.locator(`#thr-${reply!.ts.replace('.', '-')}`).innerText()).resolves.toContain('✅');
    await expect(msg.innerText()).resolves.toContain('₹1,234.50 INR');
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('8-payment-thread');
  });
});
