import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApprovalsConfig } from './config.js';
import { approvalStartOperation, newApprovalId } from './start.js';
import { assignSlackTeam, slackTeamIdSchema } from '../../platform/installations/assign.js';
import {
  approvalReadyUpdate,
  approvalStateQuery,
  approvalWorkflowId,
  cancelApprovalUpdate,
  type ApprovalRequestSpec,
  type ApprovalState,
} from './contract.js';

import { idempotencyRepo } from '../../platform/http/idempotency-repo.js';
import { parseDuration } from './domain/duration.js';
import { apiKeyGuard, callerFingerprint } from '../../platform/http/auth.js';
import type { FlowApiContext } from '../../platform/flow.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { withIdempotency } from '../../platform/http/idempotency.js';

/** Longest `?wait=` a long-poll may ask for (proxies and load balancers cut idle requests beyond this). */
export const MAX_DECISION_WAIT_MS = 120_000;

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const person = z
  .string()
  .trim()
  .refine((v) => SLACK_USER.test(v) || z.email().safeParse(v).success, 'a Slack user id (U…) or an email');
const channel = z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'a Slack channel id like C0123ABCD');
const duration = z.string().transform((v, ctx) => {
  const d = parseDuration(v);
  if (!d.ok) {
    ctx.addIssue({ code: 'custom', message: d.message });
    return z.NEVER;
  }
  return d.ms;
});
const label = z.string().trim().min(1).max(200);
const value = z.string().max(1900);

const createBody = z
  .strictObject({
    /** The Slack workspace the request lives in (many workspaces); unset: the default one. */
    slackTeamId: slackTeamIdSchema.optional(),
    title: z.string().trim().min(1).max(150),
    description: z.string().trim().max(2900).optional(),
    fields: z
      .union([
        z.record(label, value).refine((r) => Object.keys(r).length <= 20, 'at most 20 fields'),
        z.array(z.strictObject({ label, value })).max(20),
      ])
      .optional(),
    requester: person,
    approvers: z.array(person).min(1, 'at least one approver is required').max(25),
    channel: channel.optional(),
    policy: z
      .strictObject({
        required: z.number().int().min(1).max(25).optional(),
        levels: z
          .array(
            z.strictObject({
              approvers: z.array(person).min(1, 'at least one approver is required').max(25),
              required: z.number().int().min(1).max(25).optional(),
            }),
          )
          .max(4)
          .optional(),
      })
      .optional(),
    sla: z
      .strictObject({
        remindAfter: duration.optional(),
        escalateAfter: duration.optional(),
        escalateTo: z
          .strictObject({ approvers: z.array(person).max(25).optional(), channel: channel.optional() })
          .optional(),
        expireAfter: duration.optional(),
      })
      .optional(),
    callbackUrl: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional(),
  })
  .superRefine((b, ctx) => {
    const required = b.policy?.required ?? 1;
    if (required > b.approvers.length)
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'required'],
        message: `needs ${required} approvals but only ${b.approvers.length} approvers are listed`,
      });
    b.policy?.levels?.forEach((l, i) => {
      if ((l.required ?? 1) > l.approvers.length)
        ctx.addIssue({ code: 'custom', path: ['policy', 'levels', i, 'required'], message: 'more than its approvers' });
    });
    const sla = b.sla;
    if (sla?.escalateAfter !== undefined && !sla.escalateTo?.approvers?.length && !sla.escalateTo?.channel)
      ctx.addIssue({
        code: 'custom',
        path: ['sla', 'escalateTo'],
        message: 'escalateAfter needs escalateTo with approvers and/or a channel',
      });
    if (sla?.escalateTo && sla.escalateAfter === undefined)
      ctx.addIssue({ code: 'custom', path: ['sla', 'escalateAfter'], message: 'required with escalateTo' });
    for (const k of ['remindAfter', 'escalateAfter'] as const) {
      if (sla?.[k] !== undefined && sla.expireAfter !== undefined && sla[k] >= sla.expireAfter)
        ctx.addIssue({ code: 'custom', path: ['sla', k], message: 'must be shorter than expireAfter' });
    }
  });
type CreateBody = z.infer<typeof createBody>;

export const approvalIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an approval id like apr_…');

function toSpec(cfg: ApprovalsConfig, b: CreateBody, approvalId: string, createdBy: string): ApprovalRequestSpec {
  const expireAfterMs = b.sla?.expireAfter ?? cfg.expireAfterMs;
  // The default reminder only applies when it comes before the expiry.
  const defaultRemind = cfg.remindAfterMs < expireAfterMs ? cfg.remindAfterMs : undefined;
  const fields = Array.isArray(b.fields)
    ? b.fields
    : Object.entries(b.fields ?? {}).map(([l, v]) => ({ label: l, value: v }));
  return {
    approvalId,
    title: b.title,
    description: b.description || undefined,
    fields,
    requester: b.requester,
    levels: [
      { approvers: b.approvers, required: b.policy?.required ?? 1 },
      ...(b.policy?.levels ?? []).map((l) => ({ approvers: l.approvers, required: l.required ?? 1 })),
    ],
    escalation: b.sla?.escalateTo
      ? { approvers: b.sla.escalateTo.approvers ?? [], channel: b.sla.escalateTo.channel }
      : undefined,
    channel: b.channel,
    sla: { remindAfterMs: b.sla?.remindAfter ?? defaultRemind, escalateAfterMs: b.sla?.escalateAfter, expireAfterMs },
    callbackUrl: b.callbackUrl,
    source: 'api',
    createdBy,
    receivedAt: new Date().toISOString(),
  };
}

/** The public view of a request (GET /v1/approvals/:id). */
export function presentApproval(s: ApprovalState) {
  const levels = s.levels.map((l, i) => ({ level: i + 1, approvers: l.approvers, required: l.required }));
  return {
    approvalId: s.approvalId,
    workflowId: approvalWorkflowId(s.approvalId),
    title: s.title,
    status: s.status,
    decided: s.status !== 'pending',
    decidedBy: s.decidedBy ?? null,
    decidedAt: s.decidedAt ?? null,
    reason: s.reason ?? null,
    requester: s.requesterId ?? null,
    currentLevel: s.currentLevel + 1,
    levels,
    escalated: s.escalated,
    escalationApprovers: s.escalationApprovers,
    reminded: s.reminded,
    votes: s.votes,
    callback: s.callback ?? null,
    slack: s.messages,
    timeline: s.timeline,
    // The workflow keeps the newest entries only; every transition is in audit_log, comments are in Slack.
    timelineTruncated: (s.timelineDropped ?? 0) > 0,
    timelineOmitted: s.timelineDropped ?? 0,
  };
}

export function approvalRoutes(app: FastifyInstance, deps: FlowApiContext<ApprovalsConfig>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const idempotency = idempotencyRepo(deps.pool);

  /** Files a request; answers once its people are resolved (400 naming unknown ones). */
  app.post('/v1/approvals', { preHandler: guard }, async (req, reply) => {
    const res = await withIdempotency(idempotency, req, 'POST /v1/approvals', async () => {
      const parsed = createBody.safeParse(req.body);
      if (!parsed.success) throw AppError.badRequest('invalid_body', describeZodIssues(parsed.error.issues));
      if (parsed.data.callbackUrl && !deps.flowConfig.callbackSecret)
        throw AppError.badRequest(
          'invalid_body',
          'callbackUrl: callbacks are disabled (APPROVAL_CALLBACK_SECRET is not set)',
        );
      const spec = toSpec(deps.flowConfig, parsed.data, newApprovalId(), callerFingerprint(req.headers.authorization));
      await assignSlackTeam(deps.repos, approvalWorkflowId(spec.approvalId), parsed.data.slackTeamId);
      const ready = await startApproval(deps.temporal, deps.config.temporal.taskQueue, deps.flowConfig, spec);
      if (!ready.ok) {
        if (ready.problems.some((p) => p.field === '_service'))
          throw AppError.unavailable('slack_unavailable', 'Slack could not be reached to resolve the approvers');
        throw AppError.badRequest('invalid_body', ready.problems.map((p) => `${p.field}: ${p.message}`).join('; '), {
          problems: ready.problems,
        });
      }
      return {
        statusCode: 201,
        body: {
          approvalId: spec.approvalId,
          workflowId: approvalWorkflowId(spec.approvalId),
          status: ready.status,
          links: {
            self: `/v1/approvals/${spec.approvalId}`,
            decision: `/v1/approvals/${spec.approvalId}/decision?wait=60s`,
          },
        },
      };
    });
    if (res.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(res.statusCode).send(res.body);
  });

  app.get('/v1/approvals/:id', { preHandler: guard }, async (req, reply) => {
    const state = await loadState(deps.temporal, parseId(req));
    return reply.send(presentApproval(state));
  });

  /** Long-poll: returns as soon as the request is decided, or when `wait` (≤ 120 s) runs out. */
  app.get('/v1/approvals/:id/decision', { preHandler: guard }, async (req, reply) => {
    const id = parseId(req);
    const waitRaw = (req.query as { wait?: string }).wait;
    let waitMs = 0;
    if (waitRaw !== undefined) {
      const d = parseDuration(waitRaw);
      if (!d.ok) throw AppError.badRequest('invalid_query', `wait: ${d.message}`);
      waitMs = Math.min(d.ms, MAX_DECISION_WAIT_MS);
    }
    const deadline = Date.now() + waitMs;
    let delay = 100;
    for (;;) {
      const state = await loadState(deps.temporal, id);
      const closedByClient = req.raw.destroyed || reply.raw.destroyed;
      if (state.status !== 'pending' || Date.now() >= deadline || closedByClient) {
        const p = presentApproval(state);
        return reply.send({
          approvalId: p.approvalId,
          status: p.status,
          decided: p.decided,
          decidedBy: p.decidedBy,
          decidedAt: p.decidedAt,
          reason: p.reason,
        });
      }
      // Queries are cheap but not free: back off to 1 s between looks.
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
      delay = Math.min(1000, delay * 2);
    }
  });

  app.delete('/v1/approvals/:id', { preHandler: guard }, async (req, reply) => {
    const id = parseId(req);
    const reason = (req.query as { reason?: string }).reason?.slice(0, 500);
    const handle = deps.temporal.workflow.getHandle(approvalWorkflowId(id));
    let result: { cancelled: boolean; status: string };
    try {
      result = await handle.executeUpdate(cancelApprovalUpdate, {
        args: [{ by: callerFingerprint(req.headers.authorization), reason }],
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) {
        // Closed (or never opened): answer from the state it ended in.
        const state = await loadState(deps.temporal, id);
        result = { cancelled: false, status: state.status };
      } else throw temporalUnavailable(err);
    }
    if (result.status !== 'cancelled') {
      throw new AppError(409, 'already_decided', `approval ${id} is already ${result.status}`, {
        status: result.status,
      });
    }
    return reply.send({ approvalId: id, status: 'cancelled', cancelled: result.cancelled });
  });
  return Promise.resolve();
}

/** One Temporal call: start the workflow and wait for its participants to be resolved. */
export async function startApproval(
  temporal: Client,
  taskQueue: string,
  cfg: ApprovalsConfig,
  spec: ApprovalRequestSpec,
) {
  try {
    return await temporal.workflow.executeUpdateWithStart(approvalReadyUpdate, {
      startWorkflowOperation: approvalStartOperation(taskQueue, cfg, spec),
    });
  } catch (err) {
    throw temporalUnavailable(err);
  }
}

function parseId(req: FastifyRequest): string {
  const id = approvalIdSchema.safeParse((req.params as { id?: string }).id);
  if (!id.success) throw AppError.badRequest('invalid_id', `id: ${id.error.issues[0]?.message ?? 'invalid'}`);
  return id.data;
}

async function loadState(temporal: Client, id: string): Promise<ApprovalState> {
  let state: ApprovalState;
  try {
    state = await temporal.workflow.getHandle(approvalWorkflowId(id)).query(approvalStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw AppError.notFound('approval_not_found', `no approval ${id}`);
    throw temporalUnavailable(err);
  }
  // Requests refused at creation (unknown people) were never opened: they do not exist for callers.
  if (state.phase === 'invalid') throw AppError.notFound('approval_not_found', `no approval ${id}`);
  return state;
}

function temporalUnavailable(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return AppError.unavailable(
    'temporal_unavailable',
    `could not reach the approval workflow: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`,
  );
}
