import { describe, expect, it } from 'vitest';
import { computeJiraSignature, verifyJiraSignature } from '../../../src/integrations/jira/signature.js';

/**
 * Jira Cloud signs admin webhooks with `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`,
 * the WebSub scheme GitHub documents with a published vector for `X-Hub-Signature-256`.
 */
const VECTOR = {
  secret: "It's a Secret to Everybody",
  body: 'Hello, World!',
  signature: 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
};

describe('X-Hub-Signature', () => {
  it('matches the published vector', () => {
    expect(computeJiraSignature(VECTOR.secret, VECTOR.body)).toBe(VECTOR.signature);
    expect(verifyJiraSignature({ ...VECTOR, rawBody: Buffer.from(VECTOR.body) })).toEqual({ ok: true });
    expect(
      verifyJiraSignature({
        ...VECTOR,
        rawBody: VECTOR.body,
        signature: VECTOR.signature.toUpperCase().replace('SHA256', 'sha256'),
      }),
    ).toEqual({ ok: true });
  });

  it('names what is wrong: missing, malformed (no prefix, short, not hex), or a signature of other bytes or another secret', () => {
    const v = (signature: string | undefined, rawBody = VECTOR.body, secret = VECTOR.secret) =>
      verifyJiraSignature({ secret, rawBody, signature });
    expect(v(undefined)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(v('')).toEqual({ ok: false, reason: 'missing_signature' });
    expect(v(VECTOR.signature.slice('sha256='.length))).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(v('sha1=0123456789abcdef0123456789abcdef01234567')).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(v('sha256=abc')).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(v(`sha256=${'z'.repeat(64)}`)).toEqual({ ok: false, reason: 'malformed_signature' });
    expect(v(VECTOR.signature, 'Hello, World?')).toEqual({ ok: false, reason: 'bad_signature' });
    expect(v(VECTOR.signature, VECTOR.body, 'another secret')).toEqual({ ok: false, reason: 'bad_signature' });
  });
});
