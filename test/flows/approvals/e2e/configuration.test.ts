import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningApi } from '../../../../src/api/server.js';
import { startApiOnly } from '../../../helpers/api-only.js';

/** docs/approvals.md, "Configuration": APPROVAL_CALLBACK_SECRET. */
describe('approvals configuration', () => {
  let api: RunningApi;
  let auth: { authorization: string };

  beforeAll(async () => {
    ({ api, auth } = await startApiOnly({ sandbox: false }));
  });
  afterAll(async () => {
    await api?.close();
  });

  it('APPROVAL_CALLBACK_SECRET unset outside the sandbox: a request with callbackUrl is refused with a 400 naming the field, before anything starts', async () => {
    const res = await fetch(`${api.url}/v1/approvals`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: 'Deploy with a callback',
        requester: 'U0ALICE',
        approvers: ['U0BOB'],
        callbackUrl: 'https://ci.example.com/hooks/approval',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_body',
      message: expect.stringMatching(/^callbackUrl: callbacks are disabled \(APPROVAL_CALLBACK_SECRET is not set\)/),
    });
  });
});
