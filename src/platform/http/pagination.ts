import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, describeZodIssues } from './errors.js';

/**
 * Cursor pagination for `/v1` list routes: `?limit=` (1–100, default 50) and `?cursor=` (opaque,
 * from the previous page); answers `{ items, nextCursor }` with `nextCursor: null` on the last
 * page. Cursors carry the last row's sort key (keyset pagination: stable under inserts, no
 * OFFSET scans), encoded as base64url JSON so clients treat them as opaque.
 */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().min(1).max(1000).optional(),
});

/** The page request of a list route; `after` is the decoded sort key of the last row seen. */
export function pageRequest<K>(req: FastifyRequest, key: z.ZodType<K>): { limit: number; after: K | undefined } {
  const q = pageQuery.safeParse(req.query);
  if (!q.success) throw AppError.badRequest('invalid_query', describeZodIssues(q.error.issues));
  if (q.data.cursor === undefined) return { limit: q.data.limit, after: undefined };
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(q.data.cursor, 'base64url').toString('utf8'));
  } catch {
    throw AppError.badRequest('invalid_cursor', 'cursor: not a cursor from a previous page');
  }
  const after = key.safeParse(decoded);
  if (!after.success) throw AppError.badRequest('invalid_cursor', 'cursor: not a cursor from a previous page');
  return { limit: q.data.limit, after: after.data };
}

/**
 * The page for rows fetched with `LIMIT limit + 1`: the extra row only says there is a next page;
 * the cursor is the sort key of the last row returned.
 */
export function pageOf<R, T, K>(rows: R[], limit: number, keyOf: (r: R) => K, present: (r: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const nextCursor =
    rows.length > limit && last !== undefined
      ? Buffer.from(JSON.stringify(keyOf(last)), 'utf8').toString('base64url')
      : null;
  return { items: items.map(present), nextCursor };
}
