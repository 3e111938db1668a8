import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

/**
 * Bearer API keys for our own API (THREADLINE_API_KEYS). Keys are compared as SHA-256 digests in
 * constant time, so neither timing nor length leaks which key was close.
 */
export function apiKeyGuard(keys: string[]) {
  const digests = keys.map((k) => createHash('sha256').update(k).digest());
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    if (!header) throw AppError.unauthorized('missing_api_key', 'Authorization: Bearer <api key> is required');
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw AppError.unauthorized('invalid_authorization', 'Authorization must be "Bearer <api key>"');
    const d = createHash('sha256').update(m[1]!).digest();
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(k, d) || ok;
    if (!ok) throw AppError.unauthorized('invalid_api_key', 'the API key is not valid');
  };
}

/** A stable, non-reversible name for the caller of our API (never the key itself): audit and `requestedBy`. */
export function callerFingerprint(authorization: string | undefined): string {
  const key = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '';
  return `key_${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;
}
