import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { defaultPayloadConverter, type FailureConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SANDBOX_CREDENTIALS } from '../../../src/config.js';
import {
  createPayloadCodec,
  decodePayloadsIn,
  ENCRYPTED_ENCODING,
  FAILURE_CONVERTER_PATH,
  isEncrypted,
  KEY_ID_METADATA,
  parsePayloadKeys,
  PayloadDecryptionError,
  type PayloadKey,
} from '../../../src/platform/temporal/codec.js';

const newKey = () => randomBytes(32).toString('base64');
function keys(spec: string): PayloadKey[] {
  const parsed = parsePayloadKeys(spec);
  expect(parsed.problems).toEqual([]);
  return parsed.keys;
}
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const SECRET = { payerName: 'Asha Verma', responseUrl: 'https://hooks.slack.com/actions/T0/1/abc' };

describe('payload codec (AES-256-GCM, key ids)', () => {
  const k1 = newKey();
  const k2 = newKey();

  it('round-trips any payload, metadata included, and hides the value and its encoding', async () => {
    const codec = createPayloadCodec({ keys: keys(`k1:${k1}`) });
    const plain = defaultPayloadConverter.toPayload(SECRET);
    const [enc] = await codec.encode([plain]);
    expect(text(enc!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(enc!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Object.keys(enc!.metadata!)).toEqual(['encoding', KEY_ID_METADATA]);
    expect(text(enc!.data)).not.toContain('Asha');
    expect(text(enc!.data)).not.toContain('json/plain');
    const [dec] = await codec.decode([enc!]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual(SECRET);
    expect(text(dec!.metadata!.encoding)).toBe('json/plain');
    // Empty payloads (undefined results) survive too.
    const [undef] = await codec.decode(await codec.encode([defaultPayloadConverter.toPayload(undefined)]));
    expect(defaultPayloadConverter.fromPayload(undef!)).toBeUndefined();
  });

  it('uses a fresh nonce per payload: the same value encrypts differently every time', async () => {
    const codec = createPayloadCodec({ keys: keys(`k1:${k1}`) });
    const p = defaultPayloadConverter.toPayload('same');
    const [a, b] = await codec.encode([p, p]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
    expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(b!.data!).subarray(0, 12))).toBe(false);
  });

  it('refuses tampered ciphertext, nonce, tag or key id loudly', async () => {
    const codec = createPayloadCodec({ keys: keys(`k1:${k1},k2:${k2}`) });
    const [enc] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
    const flipAt = (i: number): Payload => {
      const data = Buffer.from(enc!.data!);
      data[i] = data[i]! ^ 0x01;
      return { ...enc!, data };
    };
    const len = enc!.data!.length;
    for (const i of [0, 12, Math.floor(len / 2), len - 1]) {
      await expect(codec.decode([flipAt(i)])).rejects.toThrow(/key id "k1" failed authentication/);
    }
    // Same bytes relabelled with the other configured key: authentication fails, nothing decodes.
    const relabelled = { ...enc!, metadata: { ...enc!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toBeInstanceOf(PayloadDecryptionError);
    await expect(codec.decode([{ ...enc!, data: Buffer.from(enc!.data!).subarray(0, 20) }])).rejects.toThrow(
      /truncated/,
    );
    const noKeyId = { ...enc!, metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) } };
    await expect(codec.decode([noKeyId])).rejects.toThrow(/no encryption-key-id/);
  });

  it('rotation: the first key encrypts, an old key still decrypts what it encrypted', async () => {
    const before = createPayloadCodec({ keys: keys(`old:${k1}`) });
    const [old] = await before.encode([defaultPayloadConverter.toPayload('recorded last year')]);
    const after = createPayloadCodec({ keys: keys(`new:${k2},old:${k1}`) });
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload('today')]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('new');
    const [a, b] = await after.decode([old!, fresh!]);
    expect(defaultPayloadConverter.fromPayload(a!)).toBe('recorded last year');
    expect(defaultPayloadConverter.fromPayload(b!)).toBe('today');
  });

  it('an unknown key id is a clear error naming it and the configured ids (never key material)', async () => {
    const [enc] = await createPayloadCodec({ keys: keys(`retired:${k1}`) }).encode([
      defaultPayloadConverter.toPayload(1),
    ]);
    const err = await createPayloadCodec({ keys: keys(`current:${k2}`) })
      .decode([enc!])
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err).toBeInstanceOf(PayloadDecryptionError);
    expect(err!.message).toBe(
      'payload encrypted with key id "retired", which is not configured (THREADLINE_PAYLOAD_KEYS has: current)',
    );
    expect(err!.message).not.toContain(k2);
  });

  it('passes unencrypted payloads through decode unchanged (older histories, replay fixtures)', async () => {
    const codec = createPayloadCodec({ keys: keys(`k1:${k1}`) });
    const plain = defaultPayloadConverter.toPayload({ a: 1 });
    const binary: Payload = { metadata: { encoding: Buffer.from('binary/null') } };
    const [p, b] = await codec.decode([plain, binary]);
    expect(p).toBe(plain);
    expect(b).toBe(binary);
    expect(isEncrypted(plain)).toBe(false);
  });

  it('decodePayloadsIn decodes every encrypted payload in a history-shaped value and keeps the rest', async () => {
    const codec = createPayloadCodec({ keys: keys(`k1:${k1}`) });
    const [input, failure] = await codec.encode([
      defaultPayloadConverter.toPayload(SECRET),
      defaultPayloadConverter.toPayload({ message: 'boom', stack_trace: '' }),
    ]);
    const searchAttribute = defaultPayloadConverter.toPayload('payment:order_1');
    const history = {
      events: [
        { eventId: 1, workflowExecutionStartedEventAttributes: { input: { payloads: [input] } } },
        {
          eventId: 2,
          activityTaskFailedEventAttributes: { failure: { message: 'Encoded failure', encodedAttributes: failure } },
        },
        {
          eventId: 3,
          upsertWorkflowSearchAttributesEventAttributes: {
            searchAttributes: { indexedFields: { s: searchAttribute } },
          },
        },
      ],
    };
    const decoded = await decodePayloadsIn(history, codec);
    const e = decoded.events;
    expect(
      defaultPayloadConverter.fromPayload(e[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!),
    ).toEqual(SECRET);
    expect(
      defaultPayloadConverter.fromPayload(e[1]!.activityTaskFailedEventAttributes!.failure.encodedAttributes!),
    ).toEqual({
      message: 'boom',
      stack_trace: '',
    });
    expect(e[2]!.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes.indexedFields.s).toEqual(
      searchAttribute,
    );
    // The input is not modified.
    expect(isEncrypted(history.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!)).toBe(true);
  });

  it('the failure converter encodes messages and stack traces into a payload the codec encrypts', () => {
    const { failureConverter } = createRequire(import.meta.url)(FAILURE_CONVERTER_PATH) as {
      failureConverter: FailureConverter;
    };
    const failure = failureConverter.errorToFailure(
      new Error(`POST ${SECRET.responseUrl} failed`),
      defaultPayloadConverter,
    );
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace).toBe('');
    expect(JSON.stringify(failure)).not.toContain('hooks.slack.com');
    const back = failureConverter.failureToError(failure, defaultPayloadConverter);
    expect(back.message).toContain(SECRET.responseUrl);
  });
});

describe('THREADLINE_PAYLOAD_KEYS', () => {
  it('parses <id>:<base64 32-byte key> lists and reports each bad entry by position, never its key', () => {
    const good = newKey();
    const short = randomBytes(16).toString('base64');
    const { keys: ok, problems } = parsePayloadKeys(` a:${good} , b.2:${newKey()} `);
    expect(problems).toEqual([]);
    expect(ok.map((k) => k.id)).toEqual(['a', 'b.2']);
    // The key material is a KeyObject: serialising a config never prints it.
    expect(JSON.stringify(ok)).not.toContain(good);

    const bad = parsePayloadKeys(`a:${short},nocolon,a:${good},bad id:${good},c:not*base64`);
    expect(bad.problems).toEqual([
      'entry 1 ("a"): the key must be 32 random bytes in base64 (openssl rand -base64 32)',
      'entry 2: expected <id>:<base64 key>',
      'entry 3 ("a"): the id is used twice',
      "entry 4: the id must be 1-64 letters, digits, '.', '_' or '-'",
      'entry 5 ("c"): the key must be 32 random bytes in base64 (openssl rand -base64 32)',
    ]);
    expect(bad.problems.join(' ')).not.toContain(short);
  });

  it('sandbox mode uses the documented fixed key; outside the sandbox it is required, naming the variable', () => {
    const sandbox = loadConfig({ THREADLINE_SANDBOX: 'true' });
    expect(sandbox.temporal.payloadKeys.map((k) => k.id)).toEqual(['sandbox']);
    expect(SANDBOX_CREDENTIALS.THREADLINE_PAYLOAD_KEYS).toMatch(/^sandbox:/);
    expect(sandbox.temporal.codecCorsOrigins).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);

    const production = { SLACK_BOT_TOKEN: 'xoxb-real', SLACK_SIGNING_SECRET: 's' };
    expect(() => loadConfig(production)).toThrow(/THREADLINE_PAYLOAD_KEYS: required/);
    const secretish = `prod:${randomBytes(8).toString('base64')}`;
    let err: unknown;
    try {
      loadConfig({ ...production, THREADLINE_PAYLOAD_KEYS: secretish });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('THREADLINE_PAYLOAD_KEYS: entry 1 ("prod"): the key must be 32');
    expect((err as Error).message).not.toContain(secretish.slice(5));
  });

  it('THREADLINE_CODEC_CORS_ORIGINS takes origins only', () => {
    const c = loadConfig({ THREADLINE_SANDBOX: 'true', THREADLINE_CODEC_CORS_ORIGINS: 'https://ui.example.com' });
    expect(c.temporal.codecCorsOrigins).toEqual(['https://ui.example.com']);
    expect(() =>
      loadConfig({ THREADLINE_SANDBOX: 'true', THREADLINE_CODEC_CORS_ORIGINS: 'https://ui.example.com/path' }),
    ).toThrow(/THREADLINE_CODEC_CORS_ORIGINS: "https:\/\/ui.example.com\/path" is not an origin/);
  });
});
