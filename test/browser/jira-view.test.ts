import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JiraEmulatorAdmin, type AdminDelivery } from '../../emulators/jira/admin-client.js';
import type { TestStack } from '../helpers/stack.js';
import { CHANNEL, startTicketsStack, ticketsHarness, type Projects } from '../flows/tickets/e2e/helpers.js';
import { openBrowser, type BrowserSession } from './helpers/browser.js';
import { slackView } from './helpers/slack-view.js';

const BOB = '712020:bob';
const CAROL = '712020:carol';

describe('the sandbox Jira in a real browser (Chromium → Jira emulator → webhooks to the app, real stack)', () => {
  let stack: TestStack;
  let p: Projects;
  let tickets: ReturnType<typeof ticketsHarness>;
  let jira: JiraEmulatorAdmin;
  let browser: BrowserSession;
  let base: string;

  beforeAll(async () => {
    // Project keys of this file's own (workflow ids are shared by the run); only SUP issues get a
    // Slack thread, so the OPS tests count the webhooks of people's changes alone.
    ({ stack, projects: p } = await startTicketsStack({}, (k) => [{ id: 'sup', project: k.sup, channel: CHANNEL }]));
    tickets = ticketsHarness(stack, p);
    base = stack.urls.jiraEmulator!;
    jira = new JiraEmulatorAdmin(base);
    browser = await openBrowser({ suite: 'jira' });
  });
  afterAll(async () => {
    await browser?.close();
    await tickets?.close();
    await stack?.stop();
  });
  afterEach(() => {
    expect(browser.takeErrors(), 'errors in the browser console').toEqual([]);
  });

  /** The app's webhook deliveries about one issue, once every one of them has had its answer. */
  const deliveriesFor = (key: string, atLeast: number) =>
    jira.waitFor(async () => {
      const mine = (await jira.deliveries()).filter((d) => JSON.stringify(d.payload).includes(`"key":"${key}"`));
      return mine.length >= atLeast && mine.every((d) => d.attempts.length > 0 && !d.pending) ? mine : undefined;
    }, 15_000);

  it('Bob comments, starts progress and assigns Carol: the emulator holds it and the app receives each webhook with Bob as the actor', async () => {
    const { page } = browser;
    const issue = await jira.createIssue({
      as: 'alice@example.com',
      project: p.ops,
      summary: 'Refund stuck for pay_9Kx',
      description: 'Customer charged twice.\n\nSee the payments thread.',
      issuetype: 'Bug',
      priority: 'High',
      labels: ['payments'],
    });
    const key = issue.key;
    const created = (await deliveriesFor(key, 1)).length;

    await page.goto(`${base}/browse/${key}`);
    await Promise.all([page.waitForNavigation(), page.getByLabel('You are').selectOption({ label: 'Bob Banker' })]);
    await page.getByRole('heading', { name: /Refund stuck for pay_9Kx/ }).waitFor();
    await expect(page.getByRole('article').innerText()).resolves.toContain('Customer charged twice.');
    await expect(page.locator('.lozenge').first().innerText()).resolves.toMatch(/to do/i);
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('1-issue-as-bob');

    await page.getByLabel('Add a comment as Bob Banker').fill('Refund re-issued, checking with the bank.');
    await page.getByRole('button', { name: 'Save comment' }).click();
    await page.locator('.comment', { hasText: 'Refund re-issued, checking with the bank.' }).waitFor();

    await page.getByRole('group', { name: 'Transitions' }).getByRole('button', { name: 'Start progress' }).click();
    await page.locator('.status-row .lozenge', { hasText: /in progress/i }).waitFor();

    await page.getByLabel('Assignee').selectOption({ label: 'Carol Controller' });
    await page.getByRole('button', { name: 'Unassign' }).waitFor();
    expect((await page.getByLabel('Assignee').locator('option:checked').innerText()).trim()).toBe('Carol Controller');
    await page.getByRole('heading', { name: 'History' }).scrollIntoViewIfNeeded();
    await browser.screenshot('2-commented-in-progress-assigned');

    // The emulator holds what Bob did, with Bob as the author…
    const after = await jira.issue(key);
    expect(after.fields.status.name).toBe('In Progress');
    expect(after.fields.assignee).toMatchObject({ accountId: CAROL });
    expect(after.comments).toHaveLength(1);
    expect(after.comments[0]!.author?.accountId).toBe(BOB);

    // …and the app received one webhook per change, addressed to its webhook route, Bob as the actor.
    // (comment_created + jira:issue_updated/issue_commented, issue_generic for the transition, issue_assigned.)
    const mine = await deliveriesFor(key, created + 4);
    const fromBob = mine.slice(created);
    const kind = (d: AdminDelivery) => `${d.webhookEvent}/${d.issueEventTypeName ?? ''}`;
    expect(fromBob.map(kind).sort()).toEqual(
      [
        'comment_created/',
        'jira:issue_updated/issue_commented',
        'jira:issue_updated/issue_generic',
        'jira:issue_updated/issue_assigned',
      ].sort(),
    );
    for (const d of fromBob) {
      expect(d.url).toBe(`${stack.urls.api}/webhooks/jira`);
      const actor = (d.payload.user ?? (d.payload.comment as { author?: unknown } | undefined)?.author) as {
        accountId?: string;
      };
      expect(actor.accountId, kind(d)).toBe(BOB);
      // The app answered (an HTTP status, not a timeout or a refused connection).
      expect(d.attempts[0]!.status, kind(d)).toEqual(expect.any(Number));
    }
    const transition = fromBob.find((d) => d.issueEventTypeName === 'issue_generic')!;
    expect(transition.payload.changelog).toMatchObject({
      items: expect.arrayContaining([expect.objectContaining({ field: 'status', toString: 'In Progress' })]),
    });
  });

  it('Bob files an issue from the list; it shows up live and reaches the app as jira:issue_created by Bob', async () => {
    const { page } = browser;
    await page.goto(`${base}/?project=${p.ops}`);
    const summary = `Chargeback spike ${Date.now().toString(36)}`;
    await page.getByLabel('Summary').fill(summary);
    await page.getByLabel('Issue type').selectOption('Incident');
    await page.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('row', { name: new RegExp(summary) });
    await row.waitFor();
    await expect(row.innerText()).resolves.toMatch(/Incident/);
    await browser.screenshot('3-issue-list');

    const issue = (await jira.issues()).find((i) => i.summary === summary)!;
    expect(issue).toBeDefined();
    const [createdEvent] = await deliveriesFor(issue.key, 1);
    expect(createdEvent).toMatchObject({ webhookEvent: 'jira:issue_created', url: `${stack.urls.api}/webhooks/jira` });
    expect((createdEvent!.payload.user as { accountId: string }).accountId).toBe(BOB);
  });

  it("Carol replies in the ticket's Slack thread in the sandbox Slack; the Jira view shows it as one comment", async () => {
    const { page } = browser;
    const key = await tickets.createIssue({ project: p.sup, summary: 'Chargeback on pay_7Hq disputed' });
    const root = await tickets.root(key);
    const slack = slackView(page, stack.urls.slackEmulator!);

    await page.goto(`${stack.urls.slackEmulator}/client/T0THREADLN/${root.channel}?thread=${root.ts}`);
    await Promise.all([
      page.waitForNavigation(),
      page.getByLabel('You are').selectOption({ label: 'Carol Controller' }),
    ]);
    const thread = page.getByRole('complementary', { name: /Thread in #tickets/ });
    await thread.getByRole('link', { name: key }).first().waitFor();
    const text = `Bank confirmed the dispute ${Date.now().toString(36)}`;
    await slack.send(text, true);
    await thread.locator('article.msg', { hasText: text }).waitFor();
    await browser.screenshot('4-ticket-thread-reply-in-slack');

    // The app turns the reply into a Jira comment (through Temporal: generous bound on a shared
    // CPU); the issue page, opened before it exists, shows it live.
    await page.goto(`${base}/browse/${key}`);
    await jira.waitFor(
      async () => (await jira.issue(key)).comments.some((c) => JSON.stringify(c.body).includes(text)),
      60_000,
    );
    const comment = page.locator('.comment', { hasText: text });
    await comment.waitFor();
    await expect(comment.innerText()).resolves.toContain('via Slack by');
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('5-slack-reply-as-jira-comment');

    // Exactly one comment for the reply, once everything before a later marker was processed.
    await tickets.settle(key);
    const mine = (await jira.issue(key)).comments.filter((c) => JSON.stringify(c.body).includes(text));
    expect(mine).toHaveLength(1);
    await expect(comment.count()).resolves.toBe(1);
  });
});
