import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PoolClient } from 'pg';
import { z } from 'zod';
import type { Actor } from '../../platform/audit/contract.js';
import type { FlowApiContext } from '../../platform/flow.js';
import { apiKeyGuard, callerFingerprint } from '../../platform/http/auth.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { withIdempotency } from '../../platform/http/idempotency.js';
import { idempotencyRepo } from '../../platform/http/idempotency-repo.js';
import { pageOf, pageRequest } from '../../platform/http/pagination.js';
import { invalidScheduleSpec, isScheduleNotFound, upsertSchedule } from '../../platform/temporal/schedules.js';
import type { ReportsConfig } from './config.js';
import { reportScheduleId, reportSubject } from './contract.js';
import { reportsRepo, type ReportRow } from './repo.js';
import { datasetName, pushRecordsSchema, reportDefinitionSchema, type ReportDefinition } from './schema.js';
import { newReportId, reportScheduleOptions } from './start.js';

const reportIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a report id like rpt_…');

/** `PATCH` replaces whole top-level fields (e.g. all of `schedule`); the result is validated as a whole. */
const patchBody = z
  .strictObject({
    name: z.unknown(),
    schedule: z.unknown(),
    window: z.unknown(),
    source: z.unknown(),
    aggregation: z.unknown(),
    channels: z.unknown(),
    emptyMessage: z.unknown(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change');

const noteBody = z.strictObject({ note: z.string().trim().max(500).optional() }).optional();
const backfillBody = z
  .strictObject({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) })
  .superRefine((b, ctx) => {
    const from = Date.parse(b.from);
    const to = Date.parse(b.to);
    if (from >= to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    if (to - from > 366 * 86_400_000)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'at most 366 days after from' });
  });

function parse<T>(schema: z.ZodType<T>, value: unknown, code = 'invalid_body'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.badRequest(code, describeZodIssues(r.error.issues));
  return r.data;
}

function unavailable(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  return AppError.unavailable(
    'temporal_unavailable',
    `could not ${what}: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`,
  );
}

/** The public view of a report (and of its schedule when described). */
export function presentReport(r: ReportRow, schedule?: ScheduleDescription | null) {
  return {
    reportId: r.reportId,
    name: r.name,
    version: r.version,
    scheduleId: reportScheduleId(r.reportId),
    definition: r.definition,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    ...(schedule === undefined
      ? {}
      : {
          schedule: schedule
            ? {
                paused: schedule.state.paused,
                note: schedule.state.note ?? null,
                nextRuns: schedule.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()),
                /** Runs going now: while one is, a trigger is skipped (overlap SKIP). */
                running: schedule.info.runningActions.length,
                actionsTaken: schedule.info.numActionsTaken,
                skippedOverlap: schedule.info.numActionsSkippedOverlap,
                missedCatchupWindow: schedule.info.numActionsMissedCatchupWindow,
              }
            : null,
        }),
    links: { self: `/v1/reports/${r.reportId}`, runs: `/v1/reports/${r.reportId}/runs` },
  };
}

/** Routes of the reports flow: definitions, their schedules, runs and the datasets they read. */
export function reportRoutes(app: FastifyInstance, deps: FlowApiContext<ReportsConfig>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const idempotency = idempotencyRepo(deps.pool);
  const repo = reportsRepo(deps.pool);
  const cfg = deps.flowConfig;
  const taskQueue = deps.config.temporal.taskQueue;
  const handleOf = (id: string): ScheduleHandle => deps.temporal.schedule.getHandle(reportScheduleId(id));

  const actorOf = (req: FastifyRequest): Actor => ({
    kind: 'api_client',
    id: callerFingerprint(req.headers.authorization),
  });
  const audit = (req: FastifyRequest, reportId: string, action: string, extra: Record<string, unknown> = {}) =>
    deps.repos.audit.append({
      subject: reportSubject(reportId),
      action,
      actor: actorOf(req),
      sourceSystem: 'api',
      idempotencyKey: `${reportSubject(reportId)}:api:${action}:${randomUUID()}`,
      ...extra,
    });

  /** A pull source needs the signing secret, and https outside the sandbox. */
  function checkSource(def: ReportDefinition) {
    if (def.source.kind !== 'pull') return;
    if (!cfg.pullSecret)
      throw AppError.badRequest(
        'invalid_body',
        'source.url: pull sources are disabled (REPORT_PULL_SECRET is not set)',
      );
    if (!cfg.allowHttpPull && !def.source.url.startsWith('https://'))
      throw AppError.badRequest('invalid_body', 'source.url: must be an https URL');
  }

  function idOf(req: FastifyRequest): string {
    return parse(reportIdSchema, (req.params as { id?: string }).id, 'invalid_id');
  }

  async function load(id: string): Promise<ReportRow> {
    const row = await repo.get(id);
    if (!row) throw AppError.notFound('report_not_found', `no report ${id}`);
    return row;
  }

  async function describe(id: string): Promise<ScheduleDescription | null> {
    try {
      return await handleOf(id).describe();
    } catch (err) {
      if (isScheduleNotFound(err)) return null;
      throw unavailable(err, 'read the report schedule');
    }
  }

  /** Saves the definition and its schedule together: the row commits only if the schedule took it. */
  async function save(id: string, write: (db: PoolClient) => Promise<ReportRow>): Promise<ReportRow> {
    const client = await deps.pool.connect().catch((err: unknown) => {
      throw AppError.unavailable('storage_unavailable', `could not reach the database: ${String(err).slice(0, 200)}`);
    });
    try {
      await client.query('BEGIN');
      const row = await write(client);
      try {
        await upsertSchedule(deps.temporal, reportScheduleOptions(id, row.definition, taskQueue, cfg));
      } catch (err) {
        const invalid = invalidScheduleSpec(err);
        if (invalid) throw AppError.badRequest('invalid_body', `schedule: ${invalid}`);
        throw unavailable(err, 'save the report schedule');
      }
      await client.query('COMMIT');
      return row;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  const send = (reply: FastifyReply, res: { statusCode: number; body: unknown; replayed: boolean }) => {
    if (res.replayed) void reply.header('idempotent-replayed', 'true');
    return reply.code(res.statusCode).send(res.body);
  };

  app.post('/v1/reports', { preHandler: guard }, async (req, reply) => {
    const res = await withIdempotency(idempotency, req, 'POST /v1/reports', async () => {
      const def = parse(reportDefinitionSchema, req.body);
      checkSource(def);
      const id = newReportId();
      const row = await save(id, (db) => repo.create(id, def, callerFingerprint(req.headers.authorization), db));
      await audit(req, id, 'report.created', { after: { name: def.name, version: row.version } });
      return { statusCode: 201, body: presentReport(row, await describe(id)) };
    });
    return send(reply, res);
  });

  app.get('/v1/reports', { preHandler: guard }, async (req, reply) => {
    const page = pageRequest(req, z.tuple([z.string(), z.string()]));
    const rows = await repo.list(page.limit, page.after);
    return reply.send(
      pageOf(
        rows,
        page.limit,
        (r) => [r.createdAt, r.reportId],
        (r) => presentReport(r),
      ),
    );
  });

  app.get('/v1/reports/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const row = await load(id);
    return reply.send(presentReport(row, await describe(id)));
  });

  app.patch('/v1/reports/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const patch = parse(patchBody, req.body);
    const before = await load(id);
    const row = await save(id, async (db) => {
      const current = await repo.getForUpdate(id, db);
      if (!current) throw AppError.notFound('report_not_found', `no report ${id}`);
      const def = parse(reportDefinitionSchema, { ...current.definition, ...patch });
      checkSource(def);
      return repo.update(id, def, db);
    });
    await audit(req, id, 'report.updated', {
      before: { version: before.version },
      after: { version: row.version },
      details: { fields: Object.keys(patch) },
    });
    return reply.send(presentReport(row, await describe(id)));
  });

  app.delete('/v1/reports/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    await load(id);
    try {
      await handleOf(id).delete();
    } catch (err) {
      if (!isScheduleNotFound(err)) throw unavailable(err, 'delete the report schedule');
    }
    await repo.softDelete(id);
    await audit(req, id, 'report.deleted');
    return reply.send({ reportId: id, deleted: true });
  });

  app.post('/v1/reports/:id/pause', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const body = parse(noteBody, req.body);
    await load(id);
    const note = body?.note || 'paused through the API';
    await handleOf(id)
      .pause(note)
      .catch((err: unknown) => {
        throw unavailable(err, 'pause the report schedule');
      });
    await audit(req, id, 'report.paused', { details: { note } });
    return reply.send(presentReport(await load(id), await describe(id)));
  });

  app.post('/v1/reports/:id/resume', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const body = parse(noteBody, req.body);
    await load(id);
    const note = body?.note || 'resumed through the API';
    await handleOf(id)
      .unpause(note)
      .catch((err: unknown) => {
        throw unavailable(err, 'resume the report schedule');
      });
    await audit(req, id, 'report.resumed', { details: { note } });
    return reply.send(presentReport(await load(id), await describe(id)));
  });

  /**
   * Runs the report now (the window ending this minute). Overlap SKIP: while a run of this report
   * is going, a trigger does nothing; a window already posted is not posted again.
   */
  app.post('/v1/reports/:id/trigger', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const res = await withIdempotency(idempotency, req, 'POST /v1/reports/:id/trigger', async () => {
      await load(id);
      await handleOf(id)
        .trigger(ScheduleOverlapPolicy.SKIP)
        .catch((err: unknown) => {
          throw unavailable(err, 'trigger the report schedule');
        });
      await audit(req, id, 'report.triggered');
      return { statusCode: 202, body: { reportId: id, triggered: true, links: { runs: `/v1/reports/${id}/runs` } } };
    });
    return send(reply, res);
  });

  /** Runs every scheduled time in `[from, to]` one after another (windows already posted are skipped). */
  app.post('/v1/reports/:id/backfill', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const body = parse(backfillBody, req.body);
    const res = await withIdempotency(idempotency, req, 'POST /v1/reports/:id/backfill', async () => {
      await load(id);
      await handleOf(id)
        .backfill({ start: new Date(body.from), end: new Date(body.to), overlap: ScheduleOverlapPolicy.BUFFER_ALL })
        .catch((err: unknown) => {
          throw unavailable(err, 'backfill the report schedule');
        });
      await audit(req, id, 'report.backfilled', { details: { from: body.from, to: body.to } });
      return {
        statusCode: 202,
        body: { reportId: id, from: body.from, to: body.to, links: { runs: `/v1/reports/${id}/runs` } },
      };
    });
    return send(reply, res);
  });

  app.get('/v1/reports/:id/runs', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    await load(id);
    const page = pageRequest(req, z.string());
    const rows = await repo.runs(id, page.limit, page.after);
    return reply.send(
      pageOf(
        rows,
        page.limit,
        (r) => r.windowEnd,
        (r) => r,
      ),
    );
  });

  /** Pushes records into a dataset: idempotent by record id (a replay changes nothing; a change is a correction). */
  app.post('/v1/datasets/:name/records', { preHandler: guard }, async (req, reply) => {
    const name = parse(datasetName, (req.params as { name?: string }).name, 'invalid_dataset');
    const body = parse(pushRecordsSchema, req.body);
    const counts = await repo.pushRecords(name, body.records).catch((err: unknown) => {
      throw AppError.unavailable('storage_unavailable', `could not store the records: ${String(err).slice(0, 200)}`);
    });
    return reply.send({ dataset: name, received: body.records.length, ...counts });
  });
  return Promise.resolve();
}
