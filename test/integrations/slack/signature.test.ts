import { describe, expect, it } from 'vitest';
import { computeSlackSignature, verifySlackSignature } from '../../../src/integrations/slack/signature.js';

// Slack's official test vector (used by all four Slack SDKs).
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TS = '1531420618';
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const EXPECTED = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

const base = { signingSecret: SECRET, timestamp: TS, signature: EXPECTED, rawBody: BODY, nowSeconds: Number(TS) };

describe('Slack v0 request signatures', () => {
  it("computes Slack's official test vector", () => {
    expect(computeSlackSignature(SECRET, TS, BODY)).toBe(EXPECTED);
    expect(computeSlackSignature(SECRET, TS, Buffer.from(BODY))).toBe(EXPECTED);
  });

  it('accepts the vector at its own time and within ±300 s', () => {
    expect(verifySlackSignature(base)).toEqual({ ok: true });
    expect(verifySlackSignature({ ...base, nowSeconds: Number(TS) + 300 })).toEqual({ ok: true });
    expect(verifySlackSignature({ ...base, nowSeconds: Number(TS) - 300 })).toEqual({ ok: true });
  });

  it.each([
    ['stale (replayed 301 s later)', { nowSeconds: Number(TS) + 301 }, 'stale_timestamp'],
    ['from the future', { nowSeconds: Number(TS) - 301 }, 'stale_timestamp'],
    ['tampered body', { rawBody: BODY.replace('roadrunner', 'coyote') }, 'bad_signature'],
    ['wrong secret', { signingSecret: 'not-the-secret' }, 'bad_signature'],
    [
      'timestamp swapped (signature bound to it)',
      { timestamp: String(Number(TS) + 1), nowSeconds: Number(TS) },
      'bad_signature',
    ],
    ['missing signature', { signature: undefined }, 'missing_signature'],
    ['missing timestamp', { timestamp: undefined }, 'missing_timestamp'],
    ['non-numeric timestamp', { timestamp: 'yesterday' }, 'stale_timestamp'],
    ['v1 scheme', { signature: EXPECTED.replace('v0=', 'v1=') }, 'malformed_signature'],
    ['truncated', { signature: EXPECTED.slice(0, 20) }, 'malformed_signature'],
    ['uppercase hex', { signature: EXPECTED.toUpperCase().replace('V0=', 'v0=') }, 'malformed_signature'],
  ])('rejects %s', (_name, over, reason) => {
    expect(verifySlackSignature({ ...base, ...over })).toEqual({ ok: false, reason });
  });
});
