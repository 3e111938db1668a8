import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FlowApiContext } from '../../platform/flow.js';
import { apiKeyGuard, callerFingerprint } from '../../platform/http/auth.js';
import { AppError, describeZodIssues } from '../../platform/http/errors.js';
import { pageOf, pageRequest } from '../../platform/http/pagination.js';
import type { HierarchyConfig } from './config.js';
import { orgNotificationSignal, orgPersonSubject, type OrgNotification } from './contract.js';
import { orgRepo, type OrgPerson } from './repo.js';
import { bodyHash, personChannelStartOptions } from './start.js';
import type { personChannelWorkflow } from './workflow.js';

const personId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a person id like agent_17');
const slackUser = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id like U0123ABCD');

/** `PUT` replaces the whole record: an omitted manager means "reports to nobody". */
const personBody = z.strictObject({
  name: z.string().trim().min(1).max(200).nullable().default(null),
  manager: personId.nullable().default(null),
  slackUser: slackUser.nullable().default(null),
  active: z.boolean().default(true),
});

const notificationId = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'an id like call_8812 (your own, unique)');
const notificationBody = z.strictObject({
  notificationId,
  audience: z.strictObject({ person: personId, includeReportingChain: z.boolean().default(false) }),
  /** A Block Kit header: at most 150 characters. */
  title: z.string().trim().min(1).max(150).optional(),
  text: z.string().trim().min(1).max(40_000),
  fields: z
    .array(z.strictObject({ label: z.string().trim().min(1).max(100), value: z.string().trim().min(1).max(1900) }))
    .max(50)
    .optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, code = 'invalid_body'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.badRequest(code, describeZodIssues(r.error.issues));
  return r.data;
}

const storage = (err: unknown): AppError =>
  err instanceof AppError
    ? err
    : AppError.unavailable('storage_unavailable', `could not reach the database: ${String(err).slice(0, 200)}`);

function presentPerson(p: OrgPerson) {
  return {
    personId: p.personId,
    name: p.name,
    manager: p.managerId,
    slackUser: p.slackUser,
    active: p.active,
    version: p.version,
    updatedAt: p.updatedAt,
    links: { self: `/v1/org/people/${p.personId}` },
  };
}

/** Routes of the hierarchy flow: people and reporting lines, and notifications into their channels. */
export function hierarchyRoutes(app: FastifyInstance, deps: FlowApiContext<HierarchyConfig>): Promise<void> {
  const guard = apiKeyGuard(deps.config.apiKeys);
  const repo = orgRepo(deps.pool);
  const idOf = (req: FastifyRequest) => parse(personId, (req.params as { id?: string }).id, 'invalid_id');

  /**
   * Creates or replaces a person. The closure rows of their subtree move with a manager change in
   * the same transaction; a manager who reports to the person (a cycle) is refused (409, naming
   * the loop), an unknown manager is a 400.
   */
  app.put('/v1/org/people/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const body = parse(personBody, req.body);
    const res = await repo
      .putPerson({
        personId: id,
        name: body.name,
        managerId: body.manager,
        slackUser: body.slackUser,
        active: body.active,
      })
      .catch((err: unknown) => {
        throw storage(err);
      });
    if (!res.ok && res.reason === 'unknown_manager')
      throw AppError.badRequest('invalid_body', `manager: no person ${body.manager} (PUT them first)`);
    if (!res.ok)
      throw new AppError(409, 'reporting_cycle', `manager: ${res.path.join(' → ')} would be a reporting cycle`, {
        path: res.path,
      });
    const changed = (['managerId', 'slackUser', 'active', 'name'] as const).filter(
      (k) => res.before?.[k] !== res.after[k],
    );
    if (res.created || changed.length)
      await deps.repos.audit.append({
        subject: orgPersonSubject(id),
        action: res.created ? 'org.person_created' : 'org.person_updated',
        actor: { kind: 'api_client', id: callerFingerprint(req.headers.authorization) },
        sourceSystem: 'api',
        // Ids and flags only: names stay in the directory table.
        before: res.before
          ? { manager: res.before.managerId, slackUser: res.before.slackUser, active: res.before.active }
          : undefined,
        after: { manager: res.after.managerId, slackUser: res.after.slackUser, active: res.after.active },
        details: { changed },
        idempotencyKey: `${orgPersonSubject(id)}:api:v${res.after.version}:${randomUUID()}`,
      });
    return reply.code(res.created ? 201 : 200).send(presentPerson(res.after));
  });

  app.get('/v1/org/people', { preHandler: guard }, async (req, reply) => {
    const page = pageRequest(req, z.string());
    const rows = await repo.list(page.limit, page.after).catch((err: unknown) => {
      throw storage(err);
    });
    return reply.send(pageOf(rows, page.limit, (p) => p.personId, presentPerson));
  });

  /** A person with their reporting chain (nearest first) and their channel. */
  app.get('/v1/org/people/:id', { preHandler: guard }, async (req, reply) => {
    const id = idOf(req);
    const person = await repo.getPerson(id);
    if (!person) throw AppError.notFound('person_not_found', `no person ${id}`);
    const chain = (await repo.chain(id)).filter((l) => l.depth > 0);
    const channel = await repo.channelOf(id);
    return reply.send({
      ...presentPerson(person),
      reportingChain: chain.map((l) => ({
        personId: l.personId,
        slackUser: l.slackUser,
        active: l.active,
        depth: l.depth,
      })),
      channel: channel ?? null,
    });
  });

  /**
   * Accepts a notification for a person's channel (202) and hands it to that person's workflow.
   * Idempotent by `notificationId`: the same body again answers its current state (and hands it
   * off again if the first hand-off was lost); another body under the same id is a 409.
   */
  app.post('/v1/notifications', { preHandler: guard }, async (req, reply) => {
    const body = parse(notificationBody, req.body);
    const person = body.audience.person;
    const known = await repo.getPerson(person).catch((err: unknown) => {
      throw storage(err);
    });
    if (!known)
      throw AppError.badRequest(
        'invalid_body',
        `audience.person: no person ${person} (PUT /v1/org/people/${person} first)`,
      );
    const accepted = await repo
      .acceptNotification(body.notificationId, person, bodyHash(body))
      .catch((err: unknown) => {
        throw storage(err);
      });
    if (accepted === 'conflict')
      throw new AppError(
        409,
        'notification_conflict',
        `notificationId: ${body.notificationId} was already used for another notification`,
      );
    const current = await repo.notification(body.notificationId);
    if (accepted === 'new' || current?.status === 'accepted') {
      const n: OrgNotification = {
        notificationId: body.notificationId,
        personId: person,
        includeReportingChain: body.audience.includeReportingChain,
        ...(body.title ? { title: body.title } : {}),
        text: body.text,
        ...(body.fields ? { fields: body.fields } : {}),
        requestedBy: callerFingerprint(req.headers.authorization),
        receivedAt: current?.acceptedAt ?? new Date().toISOString(),
      };
      try {
        await deps.temporal.workflow.signalWithStart<typeof personChannelWorkflow, [OrgNotification]>(
          'personChannelWorkflow',
          {
            ...personChannelStartOptions(deps.flowConfig, deps.config.temporal.taskQueue, person),
            signal: orgNotificationSignal,
            signalArgs: [n],
          },
        );
      } catch (err) {
        // The ledger row stays `accepted`: the client's retry hands it off again.
        throw AppError.unavailable(
          'temporal_unavailable',
          `could not hand the notification off: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown'}`,
        );
      }
    }
    if (accepted === 'same') void reply.header('idempotent-replayed', 'true');
    return reply.code(accepted === 'new' ? 202 : 200).send({
      notificationId: body.notificationId,
      person,
      status: current?.status ?? 'accepted',
      links: { self: `/v1/notifications/${body.notificationId}` },
    });
  });

  app.get('/v1/notifications/:id', { preHandler: guard }, async (req, reply) => {
    // Checked against the ids POST accepts before the lookup: Postgres refuses text holding NUL (a 500 before).
    const id = parse(notificationId, (req.params as { id?: string }).id, 'invalid_id');
    const n = await repo.notification(id);
    if (!n) throw AppError.notFound('notification_not_found', `no notification ${id}`);
    return reply.send(n);
  });
  return Promise.resolve();
}
