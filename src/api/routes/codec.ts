import cors from '@fastify/cors';
import type { Payload } from '@temporalio/common';
import { JSONToPayload, payloadToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { apiKeyGuard } from '../../platform/http/auth.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { createPayloadCodec } from '../../platform/temporal/codec.js';
import type { AppDeps } from '../app.js';

/** Proto3 JSON encodes bytes as base64 (standard or URL-safe alphabet, padding optional). */
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'base64');
const payloadsBody = z.object({
  payloads: z
    .array(z.object({ metadata: z.record(z.string(), base64).optional(), data: base64.optional() }))
    .max(10_000, 'at most 10000 payloads per request'),
});

/** A history payload may be up to 2 MiB (base64 adds a third); a request carries a batch of them. */
const CODEC_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * Temporal's codec-server protocol, so operators holding an API key can read encrypted histories
 * in the Temporal UI and CLI (`--codec-endpoint <api>/codec --codec-auth 'Bearer <key>'`):
 * `POST /codec/decode` and `POST /codec/encode`, body and answer `{payloads: [...]}` as proto3
 * JSON (metadata values and data in base64). A payload that fails to decrypt is a 400 naming it,
 * as the protocol specifies for decoder errors. One key set serves every namespace, so
 * `X-Namespace` (or a `/codec/<namespace>/…` path) is accepted and not needed.
 *
 * CORS is open to the configured Temporal UI origins only (THREADLINE_CODEC_CORS_ORIGINS), with
 * credentials, so the UI's "include cross-origin credentials" option works; the preflight carries
 * no Authorization header and is answered before the API key check.
 */
export async function codecRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const codec = createPayloadCodec({ keys: deps.config.temporal.payloadKeys });
  const origins = deps.config.temporal.codecCorsOrigins;

  // Own prefix: @fastify/cors answers preflights with an `OPTIONS <prefix>/*` route, which must
  // not catch OPTIONS requests for the rest of the API.
  await app.register(
    async (scope) => {
      await scope.register(cors, {
        origin: origins.length > 0 ? origins : false,
        methods: ['POST'],
        allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
        credentials: true,
        maxAge: 600,
      });

      // `/codec/<namespace>/decode` too, for endpoints templated with `{namespace}` (the protocol
      // only looks at the last path segment).
      for (const [path, op] of [
        ['/decode', 'decode'],
        ['/encode', 'encode'],
        ['/:namespace/decode', 'decode'],
        ['/:namespace/encode', 'encode'],
      ] as const) {
        scope.post(path, { preHandler: guard, bodyLimit: CODEC_BODY_LIMIT }, async (req, reply) => {
          const parsed = payloadsBody.safeParse(req.body);
          if (!parsed.success) throw AppError.badRequest('invalid_payloads', describeZodIssues(parsed.error.issues));
          const input = parsed.data.payloads.map((p, i) => {
            try {
              return JSONToPayload(p);
            } catch (err) {
              throw AppError.badRequest('invalid_payloads', `payloads.${i}: ${(err as Error).message}`);
            }
          });
          const output: Payload[] = [];
          // One at a time so a failure names its payload (the UI shows the error next to that event).
          for (const [i, p] of input.entries()) {
            try {
              output.push(...(await (op === 'decode' ? codec.decode([p]) : codec.encode([p]))));
            } catch (err) {
              throw AppError.badRequest(`${op}_failed`, `payloads.${i}: ${(err as Error).message}`);
            }
          }
          return reply.send({ payloads: output.map((p) => payloadToJSON(p)) });
        });
      }
    },
    { prefix: '/codec' },
  );
}
