import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';

export async function healthRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  /** Liveness: the process answers. Nothing else is checked, so a slow dependency never restarts us. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Readiness: every dependency real work needs. 503 naming the failing checks otherwise. */
  app.get('/readyz', async (_req, reply) => {
    const checks = await deps.readiness();
    const failing = Object.entries(checks)
      .filter(([, c]) => !c.ok)
      .map(([name]) => name);
    const ready = failing.length === 0;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not_ready', ...(ready ? {} : { failing }), checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });
}
