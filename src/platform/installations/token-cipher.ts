import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import {
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  createPayloadCodec,
  type PayloadKey,
} from '../temporal/codec.js';

/** A token as stored: which key sealed it, and the sealed bytes (nonce ‖ ciphertext ‖ tag). */
export interface SealedToken {
  keyId: string;
  sealed: Buffer;
}

/** Inner metadata naming what a sealed token is for: authenticated with it, checked on opening. */
const BOUND_TO = 'threadline-token-for';
const PLAIN = 'binary/plain';

/**
 * Encrypts Slack tokens at rest with the payload codec's envelope (AES-256-GCM, random 96-bit
 * nonce, key id as additional data; `THREADLINE_TOKEN_KEYS` has the same `<id>:<base64>` shape as
 * `THREADLINE_PAYLOAD_KEYS`): the first key seals, every key opens, so keys rotate.
 *
 * Each token is sealed together with what it is for (`<installation id>:bot`, `…:bot_refresh`,
 * `…:user:<id>`): the binding is inside the authenticated ciphertext, so a sealed token copied into
 * another row (another workspace's) fails to open instead of posting as the wrong bot.
 */
export function createTokenCipher(opts: { keys: readonly PayloadKey[] }) {
  const codec = createPayloadCodec({ keys: opts.keys });
  const current = opts.keys[0]!.id;
  const known = new Set(opts.keys.map((k) => k.id));
  return {
    /** The id of the key new tokens are sealed with. */
    currentKeyId: current,
    /** True when the key is configured (else the row cannot be opened, nor re-encrypted). */
    knows: (keyId: string) => known.has(keyId),
    async seal(token: string, boundTo: string): Promise<SealedToken> {
      const plain: Payload = {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(PLAIN), [BOUND_TO]: Buffer.from(boundTo) },
        data: Buffer.from(token, 'utf8'),
      };
      const [out] = await codec.encode([plain]);
      return { keyId: Buffer.from(out!.metadata![KEY_ID_METADATA]!).toString('utf8'), sealed: Buffer.from(out!.data!) };
    },
    async open(t: SealedToken, boundTo: string): Promise<string> {
      const [out] = await codec.decode([
        {
          metadata: {
            [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
            [KEY_ID_METADATA]: Buffer.from(t.keyId),
          },
          data: t.sealed,
        },
      ]);
      const bound = out?.metadata?.[BOUND_TO];
      if (!bound || Buffer.from(bound).toString('utf8') !== boundTo) {
        throw new PayloadDecryptionError(`a token sealed with key id "${t.keyId}" belongs to another row`);
      }
      return Buffer.from(out.data ?? new Uint8Array()).toString('utf8');
    },
  };
}
export type TokenCipher = ReturnType<typeof createTokenCipher>;
