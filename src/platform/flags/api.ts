import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../flow.js';
import { apiKeyGuard, callerFingerprint } from '../http/auth.js';
import { AppError, describeZodIssues } from '../http/errors.js';
import { evaluateFlag, mergeSettings, parseScope, scopeName, type FlagSetting } from './evaluate.js';
import { flagsRepo } from './repo.js';

const changeBody = z
  .object({
    /** `global`, `workspace:T…`, `channel:C…` or `project:KEY`. */
    scope: z.string().trim().min(1).max(120),
    /** `null` removes the run-time switch (config or the default applies again). */
    enabled: z.boolean().nullable(),
    reason: z.string().trim().min(1, 'say why (it is audited)').max(500),
  })
  .strict();

const contextQuery = z
  .object({
    project: z.string().trim().min(1).max(50).optional(),
    channel: z.string().trim().min(1).max(50).optional(),
    workspace: z.string().trim().min(1).max(50).optional(),
  })
  .strict();

const presentSetting = (s: FlagSetting) => ({
  scope: scopeName(s.scope),
  enabled: s.enabled,
  source: s.source,
  reason: s.reason ?? null,
  updatedBy: s.updatedBy ?? null,
  updatedAt: s.updatedAt ?? null,
});

/**
 * Feature flags at run time (API key): `GET /v1/flags` lists every declared flag with its config
 * and run-time settings, and, given `project` / `channel` / `workspace`, whether it is on there
 * and which scope decided; `PUT /v1/flags/:flag` switches it for one scope (audited in the same
 * transaction, subject `flag:<name>`, with who and why). A switch applies to the next decision.
 */
export async function flagRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'config' | 'pool'>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const repo = flagsRepo(deps.pool);
  const { specs, settings: configured, workspace } = deps.config.flags;
  const unavailable = () => AppError.unavailable('storage_unavailable', 'could not read the feature flags; try again');

  app.get('/v1/flags', { preHandler: guard }, async (req, reply) => {
    const q = contextQuery.safeParse(req.query ?? {});
    if (!q.success) throw AppError.badRequest('invalid_query', describeZodIssues(q.error.issues));
    const stored = await repo.list().catch(() => {
      throw unavailable();
    });
    const ctx = { ...q.data, workspace: q.data.workspace ?? workspace };
    const asked = Object.values(q.data).some((v) => v !== undefined);
    return reply.send({
      flags: specs.map((spec) => {
        const settings = mergeSettings(
          configured.filter((s) => s.flag === spec.name),
          stored.filter((s) => s.flag === spec.name),
        );
        return {
          name: spec.name,
          describe: spec.describe,
          default: spec.default,
          settings: settings.map(presentSetting),
          ...(asked ? { evaluated: evaluateFlag(spec, settings, ctx) } : {}),
        };
      }),
    });
  });

  app.put('/v1/flags/:flag', { preHandler: guard }, async (req, reply) => {
    const flag = String((req.params as { flag?: string }).flag ?? '');
    if (!specs.some((s) => s.name === flag))
      throw AppError.notFound('flag_not_found', `no flag ${flag} (flags: ${specs.map((s) => s.name).join(', ')})`);
    const body = changeBody.safeParse(req.body ?? {});
    if (!body.success) throw AppError.badRequest('invalid_body', describeZodIssues(body.error.issues));
    const scope = parseScope(body.data.scope);
    if ('error' in scope) throw AppError.badRequest('invalid_body', `scope: ${scope.error}`);
    const r = await repo
      .change({
        flag,
        scope,
        enabled: body.data.enabled ?? undefined,
        reason: body.data.reason,
        by: callerFingerprint(req.headers.authorization),
      })
      .catch(() => {
        throw unavailable();
      });
    return reply.send({
      flag,
      scope: scopeName(scope),
      changed: r.changed,
      before: r.before ? presentSetting(r.before) : null,
      after: r.after ? presentSetting(r.after) : null,
    });
  });
}
