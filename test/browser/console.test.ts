import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { approvalsHarness } from '../flows/approvals/e2e/helpers.js';
import { paymentsHarness, WITHOUT_SLA_TIMERS } from '../flows/payments/e2e/helpers.js';
import { openBrowser, type BrowserSession } from './helpers/browser.js';
import { unique, uniqueSecrets } from '../helpers/secrets.js';
import '../helpers/provided.js';
import { createPool } from '../../src/platform/db/pool.js';
import { installationsRepo } from '../../src/platform/installations/store.js';
import { createTokenCipher } from '../../src/platform/installations/token-cipher.js';
import { reportScheduleId } from '../../src/flows/reports/contract.js';

describe('the operator console in a real browser (Chromium → the app at /console, real stack)', () => {
  let stack: TestStack;
  let browser: BrowserSession;
  let api: string;
  let apiKey: string;
  let payment: string;
  let approval: string;
  const secrets = uniqueSecrets();

  beforeAll(async () => {
    stack = await startTestStack({
      APPROVAL_REMIND_AFTER: '1h',
      APPROVAL_EXPIRE_AFTER: '1d',
      ...WITHOUT_SLA_TIMERS,
      // Secrets unique to this run, so the pages can be searched for them (the admin token needs its channels).
      ...secrets,
      MEMBERSHIP_INVITE_CHANNELS: 'C0GENERAL',
    });
    api = stack.urls.api;
    apiKey = stack.config.apiKeys[0]!;
    // Two lifecycles of this file's own: a payment just initiated, an approval waiting for a click.
    const pay = paymentsHarness(stack);
    const { orderId } = pay.ids();
    await pay.expectAccepted(await pay.initiate(pay.initiation(orderId)));
    payment = `payment:${orderId}`;
    const appr = approvalsHarness(stack);
    const id = await appr.created(appr.body({ title: 'Open the refund window' }));
    await appr.posted(id, 3);
    approval = `approval:${id}`;
    browser = await openBrowser({ suite: 'console' });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });
  afterEach(() => {
    expect(browser.takeErrors(), 'errors in the browser console').toEqual([]);
  });

  /** Reloads until the list shows the subject: Temporal visibility is eventually consistent. */
  async function rowOf(subject: string) {
    const row = browser.page.getByRole('row', { name: new RegExp(subject) });
    for (let i = 0; i < 60 && (await row.count()) === 0; i++) {
      await browser.page.waitForTimeout(250);
      await browser.page.reload();
    }
    await row.waitFor();
    return row;
  }

  it('no console without logging in: pages redirect to the login, a wrong key is refused and sets no cookie', async () => {
    const res = await fetch(`${api}/console?kind=payment`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/login?next=%2Fconsole%3Fkind%3Dpayment');
    // A forged or tampered cookie is no session either.
    const forged = await fetch(`${api}/console`, {
      redirect: 'manual',
      headers: { cookie: `tl_console=v1.0123456789abcdef.99999999999999.${'a'.repeat(24)}.${'b'.repeat(43)}` },
    });
    expect(forged.status).toBe(303);

    const { page, context } = browser;
    await page.goto(`${api}/console`);
    await page.getByRole('heading', { name: 'Threadline console' }).waitFor();
    expect(await browser.accessibility()).toEqual([]);
    await page.getByLabel('API key').fill('tl_not_a_key_at_all');
    await page.getByRole('button', { name: 'Log in' }).click();
    const error = page.getByRole('alert');
    await expect(error.innerText()).resolves.toBe('That API key is not valid.');
    // The refusal is a real 401, which Chromium logs: exactly that, nothing else.
    expect(browser.takeErrors()).toEqual([expect.stringMatching(/status of 401 .*\/console\/login\)$/)]);
    await expect(page.getByLabel('API key').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(await context.cookies()).toEqual([]);
    await browser.screenshot('1-login-refused');
  });

  it('logged in with the API key: an HTTP-only SameSite=Strict cookie, lifecycles with status and links, no secret on the page', async () => {
    const { page, context } = browser;
    await page.goto(`${api}/console`);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Lifecycles' }).waitFor();
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: 'tl_console', httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(cookie!.value).not.toContain(apiKey);

    const payRow = await rowOf(payment);
    const apprRow = await rowOf(approval);
    // The status the API reports, as the workflow put it in Temporal visibility.
    const status = (
      (await await fetch(`${api}/v1/payments/${payment.slice('payment:'.length)}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      }).then((r) => r.json())) as { status: string }
    ).status;
    await expect(payRow.innerText()).resolves.toMatch(new RegExp(`payment\\s+${status}\\s+Running`));
    await expect(apprRow.innerText()).resolves.toMatch(/approval\s+pending\s+Running/);
    await expect(page.content()).resolves.not.toContain(apiKey);
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('2-lifecycles');

    // By kind and by subject: only what matches.
    await page.getByLabel('Kind').selectOption('approval');
    await page.getByRole('button', { name: 'Search' }).click();
    await (await rowOf(approval)).waitFor();
    await expect(page.getByRole('row', { name: new RegExp(payment) }).count()).resolves.toBe(0);
    await page.getByLabel('Kind').selectOption('');
    await page.getByLabel('Subject starts with').fill(payment.slice(0, -3));
    await page.getByRole('button', { name: 'Search' }).click();
    await (await rowOf(payment)).waitFor();
    await expect(page.getByRole('row', { name: new RegExp(approval) }).count()).resolves.toBe(0);
  });

  it("a lifecycle's Slack thread link opens its thread in the sandbox view; the Temporal UI link names its workflow", async () => {
    const { page } = browser;
    await page.goto(`${api}/console?kind=approval`);
    const row = await rowOf(approval);
    const temporal = await row.getByRole('link', { name: /Temporal UI/ }).getAttribute('href');
    expect(temporal).toContain(`/workflows/${encodeURIComponent(approval)}/`);
    await row.getByRole('link', { name: `Slack thread of ${approval}` }).click();
    const thread = page.getByRole('complementary', { name: /Thread in #approvals/ });
    await thread.getByRole('heading', { name: 'Open the refund window' }).waitFor();
    expect(page.url().startsWith(stack.urls.slackEmulator!)).toBe(true);
    await browser.screenshot('3-thread-from-console');
  });

  it('a failed delivery: listed with its error, its lifecycle shows it in the audit trail, filtered and exported as CSV', async () => {
    const { page } = browser;
    // A payment whose thread reply Slack refuses for good (channel_not_found is permanent).
    const pay = paymentsHarness(stack);
    const { orderId, paymentId } = pay.ids();
    await pay.expectAccepted(await pay.initiate(pay.initiation(orderId)));
    await pay.waitFor(async () => (await pay.roots('C0PAYMENTS', orderId))[0]);
    await pay.slack.injectFault({
      method: 'chat.postMessage',
      kind: 'error',
      error: 'channel_not_found',
      channel: 'C0PAYMENTS',
    });
    expect((await pay.webhook('payment.captured', { orderId, paymentId, amount: 123450 })).res.status).toBe(200);
    const subject = `payment:${orderId}`;

    await page.goto(`${api}/console`);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Failed deliveries' }).click();
    await page.getByRole('heading', { name: 'Failed deliveries' }).waitFor();
    const row = page.getByRole('row', { name: new RegExp(subject) });
    for (let i = 0; i < 60 && (await row.count()) === 0; i++) {
      await page.waitForTimeout(250);
      await page.reload();
    }
    await expect(row.innerText()).resolves.toMatch(/payment\.slack_failed[\s\S]*channel_not_found/);
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('4-failed-deliveries');

    await row.getByRole('link', { name: subject }).click();
    await page.getByRole('heading', { name: subject }).waitFor();
    await expect(page.locator('dl.facts').innerText()).resolves.toMatch(/Status\s+captured/);
    await page.getByLabel('Outcome').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    const trail = page.getByRole('table', { name: 'Audit trail' });
    await expect(trail.locator('tbody tr').allInnerTexts()).resolves.toEqual([
      expect.stringMatching(/payment\.slack_failed[\s\S]*failed[\s\S]*channel_not_found/),
    ]);
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('5-lifecycle-audit-trail');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`audit-payment_${orderId}.csv`);
    const csv = (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
    const lines = (await csv).trim().split('\r\n');
    expect(lines[0]).toMatch(/^occurred_at,action,actor_kind,/);
    expect(lines.slice(1)).toEqual([expect.stringContaining(',payment.slack_failed,')]);
    expect(lines[1]).toContain('channel_not_found');
  });

  it('retry a failed delivery: the cause fixed (channel unarchived), Retry marks it retried and the message is in the sandbox Slack view, once', async () => {
    const { page } = browser;
    // A payment whose captured reply cannot be posted: a person archived the channel.
    const pay = paymentsHarness(stack);
    const { orderId, paymentId } = pay.ids();
    const subject = `payment:${orderId}`;
    await pay.expectAccepted(await pay.initiate(pay.initiation(orderId)));
    await pay.waitFor(async () => (await pay.roots('C0PAYMENTS', orderId))[0]);
    await pay.slack.archiveChannel('C0PAYMENTS');
    try {
      expect((await pay.webhook('payment.captured', { orderId, paymentId, amount: 123450 })).res.status).toBe(200);
      await page.goto(`${api}/console/failures?q=${encodeURIComponent(subject)}`);
      const retry = page.getByRole('button', { name: new RegExp(`^Retry step event:\\S+ of ${subject}$`) });
      for (let i = 0; i < 60 && (await retry.count()) === 0; i++) {
        await page.waitForTimeout(250);
        await page.reload();
      }
      const failed = page.getByRole('row').filter({ hasText: subject }).filter({ hasText: 'event:' });
      await expect(failed.innerText()).resolves.toMatch(/is_archived/);
    } finally {
      await pay.slack.unarchiveChannel('C0PAYMENTS');
    }
    const retry = page.getByRole('button', { name: new RegExp(`^Retry step event:\\S+ of ${subject}$`) });
    await retry.focus();
    await browser.screenshot('6-failed-delivery-retry');
    // Keyboard: the focused Retry button submits its form.
    await page.keyboard.press('Enter');
    const notice = page.getByRole('status');
    await expect(notice.innerText()).resolves.toMatch(/^Retried step event:\S+: delivered\.$/);
    const row = page.getByRole('row').filter({ hasText: subject }).filter({ hasText: 'event:' });
    await expect(row.innerText()).resolves.toMatch(/Retried/);
    await expect(row.getByRole('button', { name: /^Retry/ }).count()).resolves.toBe(0);
    expect(await browser.accessibility()).toEqual([]);
    await browser.screenshot('7-failed-delivery-retried');

    // The reply is in the lifecycle's thread in the sandbox Slack view, once.
    await row.getByRole('link', { name: subject }).click();
    await page.getByRole('link', { name: 'Slack thread' }).click();
    const thread = page.getByRole('complementary', { name: /Thread in #payments/ });
    const reply = thread.getByText(/✅ Payment captured/);
    await reply.first().waitFor();
    await expect(reply.count()).resolves.toBe(1);
    await browser.screenshot('8-retried-message-in-slack');
  });

  it('installations, feature flags and schedules: read-only pages linked from the nav, accessible, with no secret on them', async () => {
    const { page } = browser;
    // An installation (two tokens sealed in Postgres), one revoked, a flag switched at run time, a report's schedule.
    const team = `T9${unique('').slice(0, 10).toUpperCase()}`;
    const gone = `T8${unique('').slice(0, 10).toUpperCase()}`;
    const tokens = [unique('xoxb-installed-'), unique('xoxe-1-refresh-'), unique('xoxb-revoked-')];
    const pool = createPool(inject('databaseUrl'));
    try {
      const repo = installationsRepo(pool, createTokenCipher({ keys: stack.config.slack.tokenKeys }));
      const install = (id: string, token: string, refreshToken?: string) =>
        repo.save({
          team: { id, name: `Team ${id}` },
          enterprise: undefined,
          isEnterpriseInstall: false,
          appId: 'A0THREADLN',
          bot: {
            token,
            refreshToken,
            expiresAt: refreshToken ? Math.floor(Date.now() / 1000) + 43_200 : undefined,
            scopes: ['chat:write', 'channels:history'],
            id: 'B0BOT',
            userId: 'U0TLBOT',
          },
          user: { id: 'U0ALICE', token: undefined, scopes: undefined },
          tokenType: 'bot',
        });
      await install(team, tokens[0]!, tokens[1]);
      await install(gone, tokens[2]!);
      await repo.markRevoked(gone, 'app_uninstalled');
    } finally {
      await pool.end();
    }
    const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    // A project no other stack files issues in: flags live in the shared database, and switching
    // assignment off for the sandbox's OPS paused the demo's routing in a parallel test file.
    const flag = await fetch(`${api}/v1/flags/assignment`, {
      method: 'PUT',
      headers: auth,
      body: JSON.stringify({ scope: 'project:CNSLVIEW', enabled: false, reason: 'paused while CNSLVIEW reorganises' }),
    });
    expect(flag.status, await flag.clone().text()).toBe(200);
    const report = await fetch(`${api}/v1/reports`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        name: 'Console schedules',
        schedule: { timezone: 'UTC', cron: ['0 3 1 1 *'] },
        source: { kind: 'dataset', dataset: 'ds_console' },
        channels: { default: 'C0PAYMENTS' },
      }),
    });
    expect(report.status, await report.clone().text()).toBe(201);
    const { reportId } = (await report.json()) as { reportId: string };

    const nav = page.getByRole('navigation', { name: 'Console' });
    await page.goto(`${api}/console`);
    const texts: string[] = [];

    await nav.getByRole('link', { name: 'Installations' }).click();
    await page.getByRole('heading', { name: 'Installations' }).waitFor();
    await expect(page.getByRole('row').filter({ hasText: team }).innerText()).resolves.toMatch(
      /active\s+chat:write, channels:history\s+\d{4}-\d\d-\d\d/,
    );
    await expect(page.getByRole('row').filter({ hasText: gone }).innerText()).resolves.toMatch(
      /revoked[\s\S]*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC app_uninstalled/,
    );
    expect(await browser.accessibility()).toEqual([]);
    texts.push(await page.content());
    await browser.screenshot('9-installations');

    await nav.getByRole('link', { name: 'Feature flags' }).click();
    await page.getByRole('heading', { name: 'Feature flags' }).waitFor();
    await expect(page.getByRole('row').filter({ hasText: 'route Jira issues' }).innerText()).resolves.toMatch(
      /assignment[\s\S]*project:CNSLVIEW off \(api: paused while CNSLVIEW reorganises/,
    );
    expect(await browser.accessibility()).toEqual([]);
    texts.push(await page.content());
    await browser.screenshot('10-feature-flags');

    // Keyboard: the nav is reachable by Tab, and Enter follows the focused link.
    await nav.getByRole('link', { name: 'Schedules' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Schedules' }).waitFor();
    await expect(
      page
        .getByRole('row')
        .filter({ hasText: reportScheduleId(reportId) })
        .innerText(),
    ).resolves.toMatch(/reportRunWorkflow\s+active\s+\d{4}-01-01 03:00:00 UTC[\s\S]*time zone UTC\s+never/);
    await expect(page.getByRole('link', { name: 'Schedules' }).getAttribute('aria-current')).resolves.toBe('page');
    expect(await browser.accessibility()).toEqual([]);
    texts.push(await page.content());
    await browser.screenshot('11-schedules');

    // No secret on any of them: every configured one, and the installations' tokens.
    const configured = [...Object.values(secrets), secrets.THREADLINE_PAYLOAD_KEYS.split(':')[1]!, ...tokens];
    if (stack.config.slack.oauth) configured.push(stack.config.slack.oauth.clientSecret);
    for (const text of texts)
      for (const secret of configured) expect(text.includes(secret), 'a secret on a console page').toBe(false);
  });

  it('forms are CSRF-safe, bad filters are named, guessing is bounded: no token or another origin → 403, a quote → 400, log out ends it, 10 failed logins → 429', async () => {
    const { page, context } = browser;
    const cookie = (await context.cookies(`${api}/console`)).map((c) => `${c.name}=${c.value}`).join('; ');
    expect(cookie).toMatch(/^tl_console=v1\./);
    const form = { 'content-type': 'application/x-www-form-urlencoded', cookie };
    // The session is valid (the list answers), yet a post without its form token is refused.
    expect((await fetch(`${api}/console`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
    const noToken = await fetch(`${api}/console/logout`, {
      method: 'POST',
      headers: form,
      body: '',
      redirect: 'manual',
    });
    expect(noToken.status).toBe(403);
    const elsewhere = await fetch(`${api}/console/login`, {
      method: 'POST',
      headers: { ...form, origin: 'https://attacker.example' },
      body: new URLSearchParams({ apiKey }).toString(),
      redirect: 'manual',
    });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('set-cookie')).toBeNull();
    const injected = await fetch(`${api}/console?q=${encodeURIComponent("x' OR TaskQueue != '")}`, {
      headers: { cookie },
    });
    expect(injected.status).toBe(400);
    await expect(injected.text()).resolves.toContain('q: the start of a subject');

    await page.goto(`${api}/console`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await context.cookies()).toEqual([]);

    // Guessing keys is bounded: after the allowed failures (one was made above), even the right key waits.
    const login = (key: string) =>
      fetch(`${api}/console/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ apiKey: key }).toString(),
        redirect: 'manual',
      });
    for (let i = 1; i < 10; i++) expect((await login(`tl_guess_${i}_000000`)).status).toBe(401);
    const blocked = await login(apiKey);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.headers.get('set-cookie')).toBeNull();
  });
});
