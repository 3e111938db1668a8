import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHarness } from './helpers.js';

describe('Slack emulator snapshot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slack-emu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps channels and threads across a restart', async () => {
    const snapshotPath = join(dir, 'slack-emulator.json');
    const first = await startHarness({ snapshotPath });
    const root = await first.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'persist me' });
    await first.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'reply', thread_ts: root.ts! });
    const created = await first.client.conversations.create({ name: 'persisted-channel' });
    await first.emu.stop();

    const second = await startHarness({ snapshotPath });
    try {
      const replies = await second.client.conversations.replies({ channel: 'C0PAYMENTS', ts: root.ts! });
      expect(replies.messages?.map((m) => m.text)).toEqual(['persist me', 'reply']);
      const info = await second.client.conversations.info({ channel: created.channel!.id! });
      expect(info.channel?.name).toBe('persisted-channel');
      // New timestamps keep increasing after a restart.
      const next = await second.client.chat.postMessage({ channel: 'C0PAYMENTS', text: 'after restart' });
      expect(Number(next.ts)).toBeGreaterThan(Number(root.ts));
    } finally {
      await second.emu.stop();
    }
  });

  it('keeps installations, issued tokens and people of every workspace across a restart', async () => {
    const snapshotPath = join(dir, 'slack-emulator-teams.json');
    const first = await startHarness({ snapshotPath });
    const acme = first.admin.team('T0ACMECORP');
    const click = await first.admin.authorizeOAuth({
      client_id: 'cid',
      scope: 'chat:write,users:read',
      redirect_uri: 'http://127.0.0.1:9/cb',
      team: 'T0ACMECORP',
    });
    const code = new URL(click.redirect).searchParams.get('code')!;
    const installed = await first
      .clientFor('')
      .oauth.v2.access({ code, client_id: 'cid', client_secret: 's', redirect_uri: 'http://127.0.0.1:9/cb' });
    await acme.addUsers({ users: [{ id: 'U0NEWBIE', email: 'newbie@acme.example' }] });
    await first.emu.stop();

    const second = await startHarness({ snapshotPath });
    try {
      const bot = second.clientFor(installed.access_token!);
      expect(await bot.auth.test()).toMatchObject({ ok: true, team_id: 'T0ACMECORP' });
      expect((await bot.users.info({ user: 'U0NEWBIE' })).user).toMatchObject({ id: 'U0NEWBIE' });
      expect(await second.admin.team('T0ACMECORP').installation()).toMatchObject({ installed: true });
    } finally {
      await second.emu.stop();
    }
  });
});
