import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { IdempotencyRepo } from './idempotency-repo.js';
import { AppError } from './errors.js';

export interface IdempotentResponse {
  statusCode: number;
  body: unknown;
}

/** An in-flight claim older than this is presumed dead (the first request crashed) and taken over. */
const STALE_IN_FLIGHT_MS = 60_000;

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * Generic `Idempotency-Key` support for POST routes (IETF draft semantics):
 * - no header: the handler runs as usual;
 * - first use: the handler runs; a 2xx response is stored with the request's body hash;
 * - same key + same body: the stored response is replayed (`Idempotent-Replayed: true`);
 * - same key + different body: 422 `idempotency_key_reused`;
 * - same key while the first is still running: 409 `idempotency_key_in_progress` (Retry-After: 1).
 * Keys are scoped per route and per caller (a digest of the Authorization header), so two clients
 * cannot collide. Failed requests release the key so the client's retry runs again.
 */
export async function withIdempotency(
  repo: IdempotencyRepo,
  req: FastifyRequest,
  route: string,
  handler: () => Promise<IdempotentResponse>,
): Promise<IdempotentResponse & { replayed: boolean }> {
  const header = req.headers['idempotency-key'];
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw === undefined) return { ...(await handler()), replayed: false };
  if (!KEY_PATTERN.test(raw)) {
    throw AppError.badRequest('invalid_idempotency_key', 'Idempotency-Key: 1-255 printable ASCII characters');
  }
  const caller = createHash('sha256')
    .update(req.headers.authorization ?? '')
    .digest('hex')
    .slice(0, 16);
  const key = `${caller}:${raw}`;
  const requestHash = createHash('sha256')
    .update(req.rawBody ?? Buffer.alloc(0))
    .digest('hex');

  const claim = await repo.claim(route, key, requestHash).catch((err: unknown) => {
    throw AppError.unavailable('storage_unavailable', `could not check the Idempotency-Key: ${errMsg(err)}`);
  });
  if (claim.kind !== 'new' && claim.requestHash !== requestHash) {
    throw new AppError(422, 'idempotency_key_reused', 'Idempotency-Key was already used with a different request body');
  }
  if (claim.kind === 'replay') return { statusCode: claim.statusCode, body: claim.response, replayed: true };
  if (claim.kind === 'in_flight') {
    const tookOver =
      claim.ageMs > STALE_IN_FLIGHT_MS && (await repo.takeOver(route, key, requestHash, STALE_IN_FLIGHT_MS));
    if (!tookOver) {
      throw new AppError(
        409,
        'idempotency_key_in_progress',
        'a request with this Idempotency-Key is still being processed; retry shortly',
        undefined,
        { 'retry-after': '1' },
      );
    }
  }

  let res: IdempotentResponse;
  try {
    res = await handler();
  } catch (err) {
    await repo.release(route, key).catch(() => undefined);
    throw err;
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    await repo.complete(route, key, res.statusCode, res.body).catch(() => undefined);
  } else {
    await repo.release(route, key).catch(() => undefined);
  }
  return { ...res, replayed: false };
}

function errMsg(err: unknown): string {
  return err instanceof Error ? err.message.slice(0, 200) : 'unknown error';
}
