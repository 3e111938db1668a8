import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pingWorkflowId } from '../../platform/system/contract.js';
import type { PingInput, PingResult } from '../../platform/system/contract.js';
import { apiKeyGuard } from '../../platform/http/auth.js';
import type { AppDeps } from '../app.js';
import { AppError } from '../../platform/http/errors.js';

export async function systemRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);

  /**
   * Round trip through every engine: starts `pingWorkflow`, which writes an audit row through an
   * activity, and waits for its result. Used by the smoke test and by operators after a deploy.
   */
  app.post('/v1/system/ping', { preHandler: guard }, async (_req, reply) => {
    const id = randomUUID();
    const input: PingInput = { id, requestedBy: 'api' };
    try {
      const result = await deps.temporal.workflow.execute<(i: PingInput) => Promise<PingResult>>('pingWorkflow', {
        workflowId: pingWorkflowId(id),
        taskQueue: deps.config.temporal.taskQueue,
        args: [input],
        workflowExecutionTimeout: '30s',
      });
      const audit = await deps.repos.audit.bySubject(`ping:${id}`);
      return reply.code(200).send({ ...result, auditRows: audit.length });
    } catch (err) {
      throw AppError.unavailable(
        'temporal_unavailable',
        `ping failed: ${err instanceof Error ? err.message : 'unknown'}`,
      );
    }
  });
}
