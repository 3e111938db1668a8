import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FlowApiContext } from '../../platform/flow.js';
import { apiKeyGuard, callerFingerprint } from '../../platform/http/auth.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { pageOf, pageRequest } from '../../platform/http/pagination.js';
import { upsertSchedule } from '../../platform/temporal/schedules.js';
import type { MembershipConfig } from './config.js';
import { membershipScheduleId, memberSubject } from './contract.js';
import { membershipRepo, type DirectoryMember } from './repo.js';
import type { membershipSyncWorkflow } from './workflow.js';

const memberId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a member id like student_42');
const memberBody = z.strictObject({
  email: z.email().max(254),
  name: z.string().trim().min(1).max(200).nullable().default(null),
  status: z.enum(['enrolled', 'unenrolled']),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, code = 'invalid_body'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.badRequest(code, describeZodIssues(r.error.issues));
  return r.data;
}

const present = (m: DirectoryMember) => ({
  memberId: m.memberId,
  email: m.email,
  name: m.name,
  status: m.status,
  state: m.state,
  slackUser: m.slackUser,
  requestedAt: m.requestedAt,
  requestedAction: m.requestedAction,
  inviteError: m.inviteError,
  version: m.version,
  updatedAt: m.updatedAt,
  links: { self: `/v1/members/${m.memberId}` },
});

/** Routes of the membership flow: the people directory and its sync. */
export function membershipRoutes(app: FastifyInstance, deps: FlowApiContext<MembershipConfig>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const repo = membershipRepo(deps.pool, deps.config.temporal.taskQueue);
  let scheduled = false;
  const scheduleId = membershipScheduleId(deps.config.temporal.taskQueue);

  /** The sync's schedule (created or brought in line with config); once per process when it works. */
  async function ensureSchedule(): Promise<void> {
    if (scheduled) return;
    await upsertSchedule<typeof membershipSyncWorkflow>(deps.temporal, {
      scheduleId,
      spec: { cronExpressions: [deps.flowConfig.syncCron], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: 'membershipSyncWorkflow',
        workflowId: scheduleId,
        taskQueue: deps.config.temporal.taskQueue,
        args: [{}],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
    });
    scheduled = true;
  }
  // Not awaited: the API starts even when Temporal is late; the next sync request tries again.
  ensureSchedule().catch((err: unknown) =>
    deps.logger.warn({ error: err instanceof Error ? err.message : 'unknown' }, 'membership schedule not saved yet'),
  );

  const idOf = (req: FastifyRequest) => parse(memberId, (req.params as { id?: string }).id, 'invalid_id');

  /** Creates or replaces a directory member; the next sync moves their lifecycle. */
  app.put('/v1/members/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const body = parse(memberBody, req.body);
    const res = await repo.put({ memberId: id, ...body });
    if (!res.ok) throw new AppError(409, 'email_taken', 'email: another member has this email');
    await deps.repos.audit.append({
      subject: memberSubject(id),
      action: res.created ? 'membership.member_created' : 'membership.member_updated',
      actor: { kind: 'api_client', id: callerFingerprint(req.headers.authorization) },
      sourceSystem: 'api',
      after: { status: body.status, state: res.member.state },
      idempotencyKey: `${memberSubject(id)}:api:v${res.member.version}:${randomUUID()}`,
    });
    return reply.code(res.created ? 201 : 200).send(present(res.member));
  });

  app.get('/v1/members/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const m = await repo.get(id);
    if (!m) throw AppError.notFound('member_not_found', `no member ${id}`);
    return reply.send(present(m));
  });

  app.get('/v1/members', { preHandler: guard }, async (req, reply) => {
    const page = pageRequest(req, z.string());
    return reply.send(pageOf(await repo.list(page.limit, page.after), page.limit, (m) => m.memberId, present));
  });

  /** The sync's schedule: runs going now (a trigger meanwhile is skipped), the last and the next runs. */
  app.get('/v1/members/sync', { preHandler: guard }, async (_req, reply) => {
    try {
      await ensureSchedule();
      const d = await deps.temporal.schedule.getHandle(scheduleId).describe();
      return reply.send({
        scheduleId,
        running: d.info.runningActions.length,
        recentRuns: d.info.recentActions.map((a) => ({
          scheduledAt: a.scheduledAt.toISOString(),
          workflowId: a.action.workflow.workflowId,
        })),
        nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      });
    } catch (err) {
      throw AppError.unavailable(
        'temporal_unavailable',
        `could not read the sync schedule: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`,
      );
    }
  });

  /** Runs the sync now (skipped while one is running: the schedule's overlap policy). */
  app.post('/v1/members/sync', { preHandler: guard }, async (_req, reply) => {
    try {
      await ensureSchedule();
      await deps.temporal.schedule.getHandle(scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
    } catch (err) {
      throw AppError.unavailable(
        'temporal_unavailable',
        `could not start the sync: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`,
      );
    }
    return reply.code(202).send({ triggered: true, scheduleId });
  });
  return Promise.resolve();
}
