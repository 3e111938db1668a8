import { describe, expect, it } from 'vitest';
import { signedHeaders, slackSignature } from '../../../emulators/slack/signing.js';

// Slack's official signing test vector (used by all of Slack's SDKs).
const VECTOR_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const VECTOR_TS = 1531420618;
const VECTOR_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

describe('slack signing', () => {
  it('matches Slack’s official test vector', () => {
    expect(slackSignature(VECTOR_SECRET, VECTOR_TS, VECTOR_BODY)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('changes when the body changes', () => {
    expect(slackSignature(VECTOR_SECRET, VECTOR_TS, `${VECTOR_BODY}x`)).not.toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('signs with the timestamp it sends', () => {
    const h = signedHeaders(VECTOR_SECRET, VECTOR_BODY, 'application/x-www-form-urlencoded', VECTOR_TS * 1000 + 999);
    expect(h['x-slack-request-timestamp']).toBe(String(VECTOR_TS));
    expect(h['x-slack-signature']).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
    expect(h['content-type']).toBe('application/x-www-form-urlencoded');
  });
});
