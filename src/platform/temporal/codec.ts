import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  METADATA_ENCODING_KEY,
  ValueError,
  type DataConverter,
  type Payload,
  type PayloadCodec,
} from '@temporalio/common';
// Default import: the package is CommonJS, and Node's ESM loader cannot see its named exports.
import proto from '@temporalio/proto';

/** `metadata.encoding` of a payload this codec encrypted (the value Temporal's samples and UI recognise). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the key that encrypted the payload: decoders pick the key by it, so keys can rotate. */
export const KEY_ID_METADATA = 'encryption-key-id';

const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
/** 96-bit nonces, random per payload: the size GCM is specified for (NIST SP 800-38D). */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * One payload key. The material is a KeyObject, so a key that ends up in a log line or a
 * JSON.stringify() shows as `{}` instead of its bytes.
 */
export interface PayloadKey {
  readonly id: string;
  readonly key: KeyObject;
}

/** Thrown when a payload cannot be decrypted: the message names the key id and why, never key material. */
export class PayloadDecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

/**
 * Parses `THREADLINE_PAYLOAD_KEYS`: `<id>:<base64 of 32 bytes>[,<id>:<key>…]`. The first key
 * encrypts, every key decrypts. Problems name the entry by position and id, never its key.
 */
export function parsePayloadKeys(spec: string): { keys: PayloadKey[]; problems: string[] } {
  const keys: PayloadKey[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  if (entries.length === 0) problems.push('at least one <id>:<base64 key> is required');
  entries.forEach((entry, i) => {
    const sep = entry.indexOf(':');
    const id = sep < 0 ? '' : entry.slice(0, sep).trim();
    const material = sep < 0 ? '' : entry.slice(sep + 1).trim();
    const where = `entry ${i + 1}${KEY_ID.test(id) ? ` ("${id}")` : ''}`;
    if (sep < 0) return problems.push(`${where}: expected <id>:<base64 key>`);
    if (!KEY_ID.test(id)) return problems.push(`${where}: the id must be 1-64 letters, digits, '.', '_' or '-'`);
    if (seen.has(id)) return problems.push(`${where}: the id is used twice`);
    seen.add(id);
    const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (bytes.length !== KEY_BYTES) {
      return problems.push(`${where}: the key must be ${KEY_BYTES} random bytes in base64 (openssl rand -base64 32)`);
    }
    keys.push({ id, key: createSecretKey(bytes) });
  });
  return { keys, problems };
}

/**
 * The payload codec: AES-256-GCM over the whole serialized payload (its metadata included, so
 * even the encoding of a value is hidden), a random nonce per payload, and the key id as
 * additional authenticated data. Wire format of `data`: nonce ‖ ciphertext ‖ tag.
 *
 * Decode passes unencrypted payloads through unchanged (histories recorded before encryption,
 * replay fixtures) and fails loudly on anything encrypted it cannot authenticate.
 */
export function createPayloadCodec(opts: { keys: readonly PayloadKey[] }): PayloadCodec {
  const [current] = opts.keys;
  if (!current) throw new ValueError('a payload codec needs at least one key');
  const byId = new Map(opts.keys.map((k) => [k.id, k.key]));
  const configured = [...byId.keys()].join(', ');

  const encryptOne = (payload: Payload): Payload => {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(CIPHER, current.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(current.id, 'utf8'));
    const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(current.id),
      },
      data: sealed,
    };
  };

  const decryptOne = (payload: Payload): Payload => {
    if (!isEncrypted(payload)) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    if (!idBytes) throw new PayloadDecryptionError(`an encrypted payload has no ${KEY_ID_METADATA} metadata`);
    const id = Buffer.from(idBytes).toString('utf8');
    const key = byId.get(id);
    if (!key) {
      throw new PayloadDecryptionError(
        `payload encrypted with key id "${id}", which is not configured (THREADLINE_PAYLOAD_KEYS has: ${configured})`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < NONCE_BYTES + TAG_BYTES) {
      throw new PayloadDecryptionError(`payload encrypted with key id "${id}" is truncated (${data.length} bytes)`);
    }
    try {
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(id, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return proto.temporal.api.common.v1.Payload.decode(plain);
    } catch {
      // GCM authentication failed: modified bytes, or a different key registered under this id.
      throw new PayloadDecryptionError(`payload encrypted with key id "${id}" failed authentication (tampered?)`);
    }
  };

  return {
    async encode(payloads) {
      return payloads.map(encryptOne);
    },
    async decode(payloads) {
      return payloads.map(decryptOne);
    },
  };
}

/** True for a payload this codec (or another key of it) encrypted. */
export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString('utf8') === ENCRYPTED_ENCODING;
}

/**
 * Failure converter module (CommonJS on purpose: the SDK `require()`s it outside the workflow
 * sandbox, temporalio/sdk-typescript#1292) with `encodeCommonAttributes: true`, so failure
 * messages and stack traces travel as a payload the codec encrypts.
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter of every Temporal client and worker Threadline creates: payloads through the
 * encryption codec, failures with their message and stack trace encoded. Bundle the workflows with
 * the same `FAILURE_CONVERTER_PATH` (`bundleWorkflows` does).
 */
export function payloadDataConverter(keys: readonly PayloadKey[]): DataConverter {
  return { payloadCodecs: [createPayloadCodec({ keys })], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/**
 * A copy of `value` (a history, an event, any proto object) with every encrypted payload in it
 * decoded; everything else, search attributes included (never encrypted), is kept as is. Used by
 * the history exporter and tests that read payloads, so committed fixtures replay without keys.
 */
export async function decodePayloadsIn<T>(value: T, codec: PayloadCodec): Promise<T> {
  const visit = async (v: unknown): Promise<unknown> => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (Array.isArray(v)) return Promise.all(v.map(visit));
    if (looksLikePayload(v) && isEncrypted(v)) return (await codec.decode([v]))[0];
    // Same prototype (proto message classes, Long), fresh own fields: the input is never modified.
    const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
    for (const [k, child] of Object.entries(v)) out[k] = await visit(child);
    return out;
  };
  return (await visit(value)) as T;
}

function looksLikePayload(v: object): v is Payload {
  const metadata = (v as { metadata?: unknown }).metadata;
  return typeof metadata === 'object' && metadata !== null && METADATA_ENCODING_KEY in metadata;
}
