import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers.js';

describe('Slack emulator: a person archives and unarchives a channel', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.emu.stop();
  });

  it('posts answer is_archived while archived and land again after unarchiving; repeated calls answer Slack’s errors', async () => {
    const post = (text: string) =>
      h.client.chat.postMessage({ channel: 'C0PAYMENTS', text }).then(
        (r) => ({ ok: true as const, ts: r.ts }),
        (err: { data?: { error?: string } }) => ({ ok: false as const, error: err.data?.error }),
      );
    await expect(h.admin.archiveChannel('C0PAYMENTS')).resolves.toMatchObject({ ok: true, is_archived: true });
    await expect(post('while archived')).resolves.toEqual({ ok: false, error: 'is_archived' });
    await expect(h.admin.archiveChannel('C0PAYMENTS')).rejects.toThrow(/already_archived/);
    const info = await h.client.conversations.info({ channel: 'C0PAYMENTS' });
    expect(info.channel?.is_archived).toBe(true);

    await expect(h.admin.unarchiveChannel('C0PAYMENTS')).resolves.toMatchObject({ ok: true, is_archived: false });
    await expect(h.admin.unarchiveChannel('C0PAYMENTS')).rejects.toThrow(/not_archived/);
    const after = await post('after unarchiving');
    expect(after.ok).toBe(true);
    const texts = (await h.admin.channelMessages('C0PAYMENTS')).map((m) => m.text);
    expect(texts).toEqual(['after unarchiving']);
  });
});
