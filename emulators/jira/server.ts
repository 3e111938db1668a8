import { createSnapshotter } from '../shared/snapshot.js';
import { timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_JIRA_EMULATOR_PORT } from '../shared/defaults.js';
import { FaultRegistry, type Fault } from '../shared/faults.js';
import { TokenBuckets } from '../shared/token-bucket.js';
import { str, textToAdf } from './adf.js';
import { JqlError } from './jql.js';
import { defaultJiraSeed, jiraSeedSchema, type JiraSeed, type SeedUser } from './seed.js';
import {
  ApiError,
  ISSUE_NOT_FOUND,
  JiraStore,
  checkPropertyKey,
  checkPropertyValue,
  freshState,
  type StoreState,
  type StoredIssue,
} from './store.js';
import { WebhookDispatcher } from './webhooks.js';
import { LiveUpdates } from '../shared/ui/server.js';
import { JIRA_TOPIC, registerJiraUi } from './ui/routes.js';

export interface JiraEmulatorOptions {
  port?: number;
  host?: string;
  email: string;
  apiToken: string;
  webhookSecret?: string;
  webhookUrls?: string[];
  rateLimits?: boolean;
  webhookRetryDelaysMs?: number[];
  deliveryTimeoutMs?: number;
  seed?: JiraSeed;
  snapshotPath?: string;
  logger?: { info(...a: unknown[]): void; warn(...a: unknown[]): void };
}

export interface JiraEmulator {
  url: string;
  stop(): Promise<void>;
  setWebhookUrls(urls: string[]): void;
}

/** Jira Cloud retries failed webhooks a handful of times over roughly half an hour. */
export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS = [10_000, 60_000, 180_000, 600_000, 900_000];

/**
 * Default limits. Jira Cloud's API-token traffic is governed by burst limits per endpoint plus a
 * per-issue write limit; these numbers are in that spirit, generous enough for normal use.
 */
export const DEFAULT_RATE_LIMITS = { globalPerSec: 100, globalBurst: 200, issueWritePerSec: 10, issueWriteBurst: 20 };

export interface CallLogEntry {
  id: number;
  at: string;
  method: string;
  path: string;
  routeKey: string;
  status: number | null;
  accountId: string | null;
  durationMs: number;
  fault?: Fault['kind'];
  rateLimited?: string;
}

interface Result {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
interface Ctx {
  req: FastifyRequest;
  actor: SeedUser;
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: unknown;
}
type Handler = (ctx: Ctx) => Result | Promise<Result>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const API = '/rest/api/3';

/** `startAt=false` (what jira.js sends for unset params in places) and garbage fall back to the default. */
function intParam(v: unknown, def: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.min(Math.max(0, n), max) : def;
}
function listParam(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map(String).flatMap((x) => x.split(','));
  if (typeof v === 'string' && v) return v.split(',');
  return undefined;
}

export async function startJiraEmulator(opts: JiraEmulatorOptions): Promise<JiraEmulator> {
  const seed = jiraSeedSchema.parse(opts.seed ?? defaultJiraSeed);
  // The integration account must exist as a user; synthesise it if a custom seed forgot it.
  let integration = seed.users.find((u) => u.emailAddress.toLowerCase() === opts.email.toLowerCase());
  if (!integration) {
    integration = {
      accountId: '712020:integration',
      emailAddress: opts.email,
      displayName: 'Integration',
      active: true,
      accountType: 'atlassian',
      timeZone: 'Etc/UTC',
    };
    seed.users.push(integration);
  }
  const integrationUser = integration;

  let url = '';
  let legacySearch = false;
  const faults = new FaultRegistry();
  const limits = { enabled: opts.rateLimits ?? true, ...DEFAULT_RATE_LIMITS };
  let globalBuckets = new TokenBuckets(limits.globalPerSec, limits.globalBurst);
  let issueBuckets = new TokenBuckets(limits.issueWritePerSec, limits.issueWriteBurst);
  const calls: CallLogEntry[] = [];
  let callSeq = 0;

  const dispatcher = new WebhookDispatcher(
    {
      urls: [...(opts.webhookUrls ?? [])],
      secret: opts.webhookSecret,
      retryDelaysMs: opts.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
      timeoutMs: opts.deliveryTimeoutMs ?? 10_000,
    },
    opts.logger,
  );

  // ---------- snapshot ----------
  // Shared {version, data} format; a snapshot from before it ({version, state}) has no data and is ignored.
  const snapshot = createSnapshotter<StoreState>({
    path: opts.snapshotPath,
    version: 1,
    data: () => store.state,
    debounceMs: 250,
    warn: (msg, err) => opts.logger?.warn(`jira emulator: ${msg}`, err),
  });

  // Open sandbox views (the web UI at `/`) refresh when the site changes.
  const live = new LiveUpdates();
  const store = new JiraStore(
    seed,
    () => url,
    (e) => dispatcher.dispatch(e),
    () => {
      snapshot.scheduleSave();
      live.changed(JIRA_TOPIC);
    },
  );
  const saved = snapshot.load();
  if (saved) store.state = saved;

  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  // Whatever an answer reports is on disk before the answer leaves (a kill -9 loses nothing answered).
  app.addHook('onSend', async () => snapshot.flush());
  // Bodies are kept raw and parsed per route so that invalid JSON, empty bodies and the odd content
  // types jira.js sends (e.g. a bare string property value) get Jira-shaped answers, not Fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // ---------- REST plumbing ----------
  const authenticate = (req: FastifyRequest): SeedUser | undefined => {
    const h = req.headers.authorization;
    if (!h?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    const email = decoded.slice(0, i);
    const token = Buffer.from(decoded.slice(i + 1));
    const expected = Buffer.from(opts.apiToken);
    const tokenOk = token.length === expected.length && timingSafeEqual(token, expected);
    return tokenOk && email.toLowerCase() === opts.email.toLowerCase() ? integrationUser : undefined;
  };

  const rateLimited = (reason: string, retryAfterSec: number, limit: number): Result => ({
    status: 429,
    headers: {
      'Retry-After': String(retryAfterSec),
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': new Date(Date.now() + retryAfterSec * 1000).toISOString().slice(0, 16) + 'Z',
      'X-RateLimit-NearLimit': 'true',
      'RateLimit-Reason': reason,
    },
    body: { errorMessages: ['Rate limit exceeded.'], errors: {} },
  });

  const send = (reply: FastifyReply, r: Result) => {
    reply.code(r.status);
    for (const [k, v] of Object.entries(r.headers ?? {})) reply.header(k, v);
    if (r.body === undefined) return reply.send();
    if (typeof r.body === 'string') return reply.type('text/plain;charset=UTF-8').send(r.body);
    return reply.type('application/json;charset=UTF-8').send(JSON.stringify(r.body));
  };

  const routeKeys: string[] = [];
  /**
   * Registers a REST route. The fault/route key is `METHOD /rest/api/3/path/{param}` with Atlassian's
   * parameter names (e.g. `POST /rest/api/3/issue/{issueIdOrKey}/comment`).
   */
  const api = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    handler: Handler,
    o: { write?: boolean } = {},
  ) => {
    const routeKey = `${method} ${API}${path.replace(/:(\w+)/g, '{$1}')}`;
    routeKeys.push(routeKey);
    app.route({
      method,
      url: `${API}${path}`,
      handler: async (req, reply) => {
        const started = Date.now();
        const entry: CallLogEntry = {
          id: ++callSeq,
          at: new Date(started).toISOString(),
          method,
          path: req.url,
          routeKey,
          status: null,
          accountId: null,
          durationMs: 0,
        };
        calls.push(entry);
        if (calls.length > 2000) calls.splice(0, calls.length - 2000);
        const finish = (r: Result) => {
          entry.status = r.status;
          entry.durationMs = Date.now() - started;
          return send(reply, r);
        };

        const actor = authenticate(req);
        if (!actor) {
          // What Jira Cloud answers to bad API-token credentials: a plain-text body, not JSON.
          return finish({
            status: 401,
            headers: {
              'WWW-Authenticate': 'Basic realm="protected-by-api-token"',
              'X-Seraph-LoginReason': 'AUTHENTICATED_FAILED',
            },
            body: 'Client must be authenticated to access this resource.',
          });
        }
        entry.accountId = actor.accountId;

        const params = req.params as Record<string, string>;
        const literal = `${method} ${req.url.split('?')[0] ?? ''}`;
        const fault = faults.list().some((f) => f.method === literal) ? faults.take(literal) : faults.take(routeKey);
        let commitThenTimeout = false;
        if (fault) {
          entry.fault = fault.kind;
          switch (fault.kind) {
            case 'latency':
              await sleep(fault.latencyMs ?? 1000);
              break;
            case 'error':
              return finish({
                status: fault.status ?? 400,
                body: { errorMessages: [fault.error ?? 'Injected error.'], errors: {} },
              });
            case 'status':
              return finish({ status: fault.status ?? 500 });
            case 'ratelimit':
              entry.rateLimited = 'fault';
              return finish(rateLimited('jira-burst-based', fault.retryAfter ?? 1, limits.globalBurst));
            case 'commit_then_timeout':
              commitThenTimeout = true;
              break;
          }
        }

        if (limits.enabled) {
          const g = globalBuckets.take(`${actor.accountId} ${method} ${routeKey}`);
          if (!g.ok) {
            entry.rateLimited = 'jira-burst-based';
            return finish(rateLimited('jira-burst-based', g.retryAfterSec, limits.globalBurst));
          }
          const issueRef = params.issueIdOrKey;
          if (o.write && issueRef) {
            const issueKey = store.findIssue(issueRef)?.id ?? issueRef;
            const b = issueBuckets.take(issueKey);
            if (!b.ok) {
              entry.rateLimited = 'jira-per-issue-on-write';
              return finish(rateLimited('jira-per-issue-on-write', b.retryAfterSec, limits.issueWriteBurst));
            }
          }
        }

        let body: unknown = undefined;
        if (typeof req.body === 'string' && req.body.trim()) {
          try {
            body = JSON.parse(req.body);
          } catch (err) {
            return finish({
              status: 400,
              body: { errorMessages: [`Unexpected character in JSON body: ${(err as Error).message}`], errors: {} },
            });
          }
        }

        let result: Result;
        try {
          result = await handler({ req, actor, params, query: req.query as Record<string, string | undefined>, body });
        } catch (err) {
          if (err instanceof ApiError) result = { status: err.status, body: err.body };
          else if (err instanceof JqlError)
            result = { status: 400, body: { errorMessages: [err.message], errors: {} } };
          else {
            opts.logger?.warn('jira emulator: handler failed', err);
            result = { status: 500, body: { errorMessages: ['Internal server error'], errors: {} } };
          }
        }
        if (commitThenTimeout) {
          // The change is applied (and its webhooks queued); the client never hears back.
          entry.durationMs = Date.now() - started;
          reply.hijack();
          req.raw.socket.destroy();
          return;
        }
        return finish(result);
      },
    });
  };

  const issueParam = (ctx: Ctx): StoredIssue => store.issue(ctx.params.issueIdOrKey ?? '');
  const bodyObj = (ctx: Ctx): Record<string, unknown> => (isObj(ctx.body) ? ctx.body : {});

  // ---------- permissions ----------
  // Every permission is granted to the integration account except those an admin call revoked
  // (`PROJECT:PERMISSION_KEY`), so 403 paths can be exercised.
  const revoked = new Set<string>();
  const permitted = (projectKey: string, permission: string) => !revoked.has(`${projectKey}:${permission}`);
  const KNOWN_PERMISSIONS: Record<string, { name: string; type: 'PROJECT' }> = {
    BROWSE_PROJECTS: { name: 'Browse Projects', type: 'PROJECT' },
    CREATE_ISSUES: { name: 'Create Issues', type: 'PROJECT' },
    EDIT_ISSUES: { name: 'Edit Issues', type: 'PROJECT' },
    DELETE_ISSUES: { name: 'Delete Issues', type: 'PROJECT' },
    TRANSITION_ISSUES: { name: 'Transition Issues', type: 'PROJECT' },
    ASSIGN_ISSUES: { name: 'Assign Issues', type: 'PROJECT' },
    ADD_COMMENTS: { name: 'Add Comments', type: 'PROJECT' },
    EDIT_OWN_COMMENTS: { name: 'Edit Own Comments', type: 'PROJECT' },
    DELETE_OWN_COMMENTS: { name: 'Delete Own Comments', type: 'PROJECT' },
  };
  api('GET', '/mypermissions', ({ query }) => {
    const keys = (query.permissions ?? '').split(',').filter(Boolean);
    if (!keys.length) throw new ApiError(400, ['The permissions parameter is required.']);
    const unknown = keys.filter((k) => !KNOWN_PERMISSIONS[k]);
    if (unknown.length) throw new ApiError(400, [`Unrecognized permission keys: ${unknown.join(', ')}`]);
    const projectRef = query.projectKey ?? query.projectId;
    const issueRef = query.issueKey ?? query.issueId;
    const projectKey = issueRef
      ? store.issue(issueRef).projectKey
      : projectRef
        ? store.project(projectRef)?.key
        : undefined;
    if (projectRef && !projectKey) throw new ApiError(404, ['No project could be found with key or id.']);
    const permissions: Record<string, unknown> = {};
    for (const k of keys) {
      const def = KNOWN_PERMISSIONS[k]!;
      const have = projectKey ? permitted(projectKey, k) : seed.projects.some((p) => permitted(p.key, k));
      permissions[k] = { id: k, key: k, name: def.name, type: def.type, description: '', havePermission: have };
    }
    return { status: 200, body: { permissions } };
  });

  // ---------- users ----------
  api('GET', '/myself', ({ actor }) => ({
    status: 200,
    body: {
      ...store.userJson(actor),
      locale: 'en_US',
      groups: { size: 0, items: [] },
      applicationRoles: { size: 1, items: [] },
      expand: 'groups,applicationRoles',
    },
  }));
  api('GET', '/user', ({ query }) => {
    const u = query.accountId ? store.user(query.accountId) : undefined;
    if (!u || u.accountId !== query.accountId)
      throw new ApiError(404, ['Specified user does not exist or you do not have required permissions']);
    return { status: 200, body: store.userJson(u) };
  });
  api('GET', '/user/search', ({ query }) => {
    const q = (query.query ?? '').toLowerCase();
    if (!q && !query.accountId) throw new ApiError(400, ["One of 'accountId' or 'query' must be specified"]);
    const startAt = intParam(query.startAt, 0);
    const maxResults = intParam(query.maxResults, 50, 1000);
    const found = seed.users.filter((u) =>
      query.accountId
        ? u.accountId === query.accountId
        : u.emailAddress.toLowerCase().startsWith(q) ||
          u.displayName
            .toLowerCase()
            .split(/\s+/)
            .some((w) => w.startsWith(q)) ||
          u.displayName.toLowerCase().startsWith(q),
    );
    return { status: 200, body: found.slice(startAt, startAt + maxResults).map((u) => store.userJson(u)) };
  });
  api('GET', '/project/:projectIdOrKey', ({ params }) => {
    const p = store.project(params.projectIdOrKey ?? '');
    if (!p) throw new ApiError(404, ['No project could be found with key or id.']);
    return {
      status: 200,
      body: {
        self: `${url}${API}/project/${p.id}`,
        id: p.id,
        key: p.key,
        name: p.name,
        projectTypeKey: 'software',
        simplified: false,
        style: 'classic',
        lead: p.leadAccountId ? store.userJson(store.user(p.leadAccountId)!) : undefined,
        components: p.components.map((c) => ({ self: `${url}${API}/component/${c.id}`, ...c })),
        issueTypes: p.issueTypes.map((t) => ({ self: `${url}${API}/issuetype/${t.id}`, ...t, subtask: false })),
      },
    };
  });

  // ---------- issues ----------
  api('POST', '/issue', (ctx) => {
    const b = bodyObj(ctx);
    const issue = store.createIssue(ctx.actor.accountId, isObj(b.fields) ? b.fields : {});
    if (isObj(b.properties) || Array.isArray(b.properties)) {
      for (const p of Array.isArray(b.properties) ? b.properties : [])
        if (isObj(p) && typeof p.key === 'string') store.setIssueProperty(issue, p.key, p.value);
    }
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${url}${API}/issue/${issue.id}` } };
  });
  api('GET', '/issue/:issueIdOrKey', (ctx) => {
    const issue = issueParam(ctx);
    return {
      status: 200,
      body: store.issueJson(issue, {
        fields: listParam(ctx.query.fields),
        expand: listParam(ctx.query.expand) ?? [],
        properties: listParam(ctx.query.properties) ?? [],
      }),
    };
  });
  api(
    'PUT',
    '/issue/:issueIdOrKey',
    (ctx) => {
      const issue = issueParam(ctx);
      const b = bodyObj(ctx);
      store.editIssue(ctx.actor.accountId, issue, {
        fields: isObj(b.fields) ? b.fields : {},
        update: isObj(b.update) ? b.update : {},
        historyMetadata: b.historyMetadata,
      });
      if (ctx.query.returnIssue === 'true') return { status: 200, body: store.issueJson(issue) };
      return { status: 204 };
    },
    { write: true },
  );
  api(
    'DELETE',
    '/issue/:issueIdOrKey',
    (ctx) => {
      const issue = issueParam(ctx);
      if (!permitted(issue.projectKey, 'DELETE_ISSUES'))
        throw new ApiError(403, ['You do not have permission to delete issues in this project.']);
      store.deleteIssue(ctx.actor.accountId, issue, ctx.query.deleteSubtasks === 'true');
      return { status: 204 };
    },
    { write: true },
  );
  api(
    'PUT',
    '/issue/:issueIdOrKey/assignee',
    (ctx) => {
      const issue = issueParam(ctx);
      const b = bodyObj(ctx);
      if (!('accountId' in b))
        throw new ApiError(400, [], { accountId: 'accountId must be provided (null unassigns)' });
      const id = b.accountId;
      if (id !== null && typeof id !== 'string')
        throw new ApiError(400, [], { accountId: 'accountId must be a string' });
      store.assign(ctx.actor.accountId, issue, id);
      return { status: 204 };
    },
    { write: true },
  );
  api('GET', '/issue/:issueIdOrKey/transitions', (ctx) => {
    const issue = issueParam(ctx);
    let transitions = store.transitionsFor(issue);
    if (ctx.query.transitionId) transitions = transitions.filter((t) => t.id === ctx.query.transitionId);
    return { status: 200, body: { expand: 'transitions', transitions } };
  });
  api(
    'POST',
    '/issue/:issueIdOrKey/transitions',
    (ctx) => {
      const issue = issueParam(ctx);
      const b = bodyObj(ctx);
      const t = isObj(b.transition) ? b.transition : undefined;
      const id = t?.id;
      if (typeof id !== 'string' && typeof id !== 'number') throw new ApiError(400, ['Missing transition id.'], {});
      store.transition(ctx.actor.accountId, issue, String(id), {
        fields: isObj(b.fields) ? b.fields : {},
        update: isObj(b.update) ? b.update : {},
        historyMetadata: b.historyMetadata,
      });
      return { status: 204 };
    },
    { write: true },
  );
  api('GET', '/issue/:issueIdOrKey/changelog', (ctx) => {
    const issue = issueParam(ctx);
    const startAt = intParam(ctx.query.startAt, 0);
    const maxResults = intParam(ctx.query.maxResults, 100, 100);
    const values = issue.histories.slice(startAt, startAt + maxResults).map((h) => store.historyJson(h));
    const isLast = startAt + values.length >= issue.histories.length;
    return {
      status: 200,
      body: {
        self: `${url}${API}/issue/${issue.key}/changelog?maxResults=${maxResults}&startAt=${startAt}`,
        ...(isLast
          ? {}
          : {
              nextPage: `${url}${API}/issue/${issue.key}/changelog?maxResults=${maxResults}&startAt=${startAt + maxResults}`,
            }),
        maxResults,
        startAt,
        total: issue.histories.length,
        isLast,
        values,
      },
    };
  });

  // ---------- comments ----------
  api('GET', '/issue/:issueIdOrKey/comment', (ctx) => {
    const issue = issueParam(ctx);
    const startAt = intParam(ctx.query.startAt, 0);
    const maxResults = intParam(ctx.query.maxResults, 5000, 5000);
    const props = listParam(ctx.query.expand)?.includes('properties') ?? false;
    const sorted = [...issue.comments];
    if (ctx.query.orderBy === '-created') sorted.reverse();
    return {
      status: 200,
      body: {
        self: `${url}${API}/issue/${issue.id}/comment`,
        startAt,
        maxResults,
        total: sorted.length,
        comments: sorted.slice(startAt, startAt + maxResults).map((c) => store.commentJson(issue, c, 3, props)),
      },
    };
  });
  api(
    'POST',
    '/issue/:issueIdOrKey/comment',
    (ctx) => {
      const issue = issueParam(ctx);
      const b = bodyObj(ctx);
      const c = store.addComment(ctx.actor.accountId, issue, b.body, b.properties, b.visibility);
      const props = listParam(ctx.query.expand)?.includes('properties') ?? false;
      return { status: 201, body: store.commentJson(issue, c, 3, props) };
    },
    { write: true },
  );
  api('GET', '/issue/:issueIdOrKey/comment/:id', (ctx) => {
    const issue = issueParam(ctx);
    const c = store.comment(issue, ctx.params.id ?? '');
    const props = listParam(ctx.query.expand)?.includes('properties') ?? false;
    return { status: 200, body: store.commentJson(issue, c, 3, props) };
  });
  api(
    'PUT',
    '/issue/:issueIdOrKey/comment/:id',
    (ctx) => {
      const issue = issueParam(ctx);
      const b = bodyObj(ctx);
      const c = store.editComment(ctx.actor.accountId, issue, ctx.params.id ?? '', b.body, b.visibility);
      if (Array.isArray(b.properties))
        for (const p of b.properties)
          if (isObj(p) && typeof p.key === 'string') {
            checkPropertyValue(p.value);
            c.properties[p.key] = p.value;
          }
      const props = listParam(ctx.query.expand)?.includes('properties') ?? false;
      return { status: 200, body: store.commentJson(issue, c, 3, props) };
    },
    { write: true },
  );
  api(
    'DELETE',
    '/issue/:issueIdOrKey/comment/:id',
    (ctx) => {
      store.deleteComment(ctx.actor.accountId, issueParam(ctx), ctx.params.id ?? '');
      return { status: 204 };
    },
    { write: true },
  );

  // ---------- comment properties ----------
  api('GET', '/comment/:commentId/properties', (ctx) => {
    const { comment } = store.commentById(ctx.params.commentId ?? '');
    return {
      status: 200,
      body: {
        keys: Object.keys(comment.properties).map((key) => ({
          self: `${url}${API}/comment/${comment.id}/properties/${key}`,
          key,
        })),
      },
    };
  });
  api('GET', '/comment/:commentId/properties/:propertyKey', (ctx) => {
    const { comment } = store.commentById(ctx.params.commentId ?? '');
    const key = ctx.params.propertyKey ?? '';
    if (!(key in comment.properties)) throw new ApiError(404, [`The property with key '${key}' does not exist.`]);
    return { status: 200, body: { key, value: comment.properties[key] } };
  });
  api('PUT', '/comment/:commentId/properties/:propertyKey', (ctx) => {
    const { comment } = store.commentById(ctx.params.commentId ?? '');
    const key = ctx.params.propertyKey ?? '';
    checkPropertyKey(key);
    checkPropertyValue(ctx.body);
    const existed = key in comment.properties;
    comment.properties[key] = ctx.body;
    snapshot.scheduleSave();
    return { status: existed ? 200 : 201 };
  });
  api('DELETE', '/comment/:commentId/properties/:propertyKey', (ctx) => {
    const { comment } = store.commentById(ctx.params.commentId ?? '');
    const key = ctx.params.propertyKey ?? '';
    if (!(key in comment.properties)) throw new ApiError(404, [`The property with key '${key}' does not exist.`]);
    delete comment.properties[key];
    snapshot.scheduleSave();
    return { status: 204 };
  });

  // ---------- issue properties ----------
  api('GET', '/issue/:issueIdOrKey/properties', (ctx) => {
    const issue = issueParam(ctx);
    return {
      status: 200,
      body: {
        keys: Object.keys(issue.properties).map((key) => ({
          self: `${url}${API}/issue/${issue.id}/properties/${key}`,
          key,
        })),
      },
    };
  });
  api('GET', '/issue/:issueIdOrKey/properties/:propertyKey', (ctx) => {
    const issue = issueParam(ctx);
    const key = ctx.params.propertyKey ?? '';
    if (!(key in issue.properties)) throw new ApiError(404, [`The property with key '${key}' does not exist.`]);
    return { status: 200, body: { key, value: issue.properties[key] } };
  });
  api(
    'PUT',
    '/issue/:issueIdOrKey/properties/:propertyKey',
    (ctx) => {
      const issue = issueParam(ctx);
      const r = store.setIssueProperty(issue, ctx.params.propertyKey ?? '', ctx.body);
      return { status: r === 'created' ? 201 : 200 };
    },
    { write: true },
  );
  api(
    'DELETE',
    '/issue/:issueIdOrKey/properties/:propertyKey',
    (ctx) => {
      const issue = issueParam(ctx);
      const key = ctx.params.propertyKey ?? '';
      if (!(key in issue.properties)) throw new ApiError(404, [`The property with key '${key}' does not exist.`]);
      delete issue.properties[key];
      snapshot.scheduleSave();
      return { status: 204 };
    },
    { write: true },
  );

  // ---------- search ----------
  const searchParams = (ctx: Ctx) => {
    const src = ctx.req.method === 'POST' ? bodyObj(ctx) : (ctx.query as Record<string, unknown>);
    return {
      jql: typeof src.jql === 'string' ? src.jql : '',
      fields: listParam(src.fields),
      expand: listParam(src.expand) ?? [],
      properties: listParam(src.properties) ?? [],
      src,
    };
  };
  /** The enhanced search (`/search/jql`): token pagination, no `total`, only ids unless fields are asked for. */
  const enhancedSearch: Handler = (ctx) => {
    const p = searchParams(ctx);
    if (!p.jql.trim())
      throw new ApiError(400, [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ]);
    const matched = store.search(p.jql, ctx.actor.accountId);
    const token = p.src.nextPageToken;
    let offset = 0;
    if (typeof token === 'string' && token) {
      const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded) || decoded < 0) throw new ApiError(400, ['Invalid nextPageToken.']);
      offset = decoded;
    }
    const maxResults = intParam(p.src.maxResults, 50, 5000) || 50;
    const page = matched.slice(offset, offset + maxResults);
    const isLast = offset + page.length >= matched.length;
    const issues = page.map((i) => {
      const full = store.issueJson(i, { fields: p.fields ?? ['id'], expand: p.expand, properties: p.properties });
      if (!p.fields) delete full.fields;
      return full;
    });
    return {
      status: 200,
      body: {
        issues,
        ...(isLast ? {} : { nextPageToken: Buffer.from(String(offset + maxResults)).toString('base64url') }),
        isLast,
      },
    };
  };
  api('GET', '/search/jql', enhancedSearch);
  api('POST', '/search/jql', enhancedSearch);
  /** Legacy offset search. Jira Cloud removed it (410 Gone); the emulator serves it only when enabled. */
  const legacy: Handler = (ctx) => {
    if (!legacySearch)
      return {
        status: 410,
        body: {
          errorMessages: [
            'The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046',
          ],
          errors: {},
        },
      };
    const p = searchParams(ctx);
    const matched = store.search(p.jql, ctx.actor.accountId);
    const startAt = intParam(p.src.startAt, 0);
    const maxResults = intParam(p.src.maxResults, 50, 100);
    return {
      status: 200,
      body: {
        expand: 'schema,names',
        startAt,
        maxResults,
        total: matched.length,
        issues: matched.slice(startAt, startAt + maxResults).map((i) =>
          store.issueJson(i, {
            fields: p.fields,
            defaultFields: ['*navigable'],
            expand: p.expand,
            properties: p.properties,
          }),
        ),
      },
    };
  };
  api('GET', '/search', legacy);
  api('POST', '/search', legacy);

  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/rest/'))
      return reply.code(404).send({ message: `null for uri: ${url}${req.url}`, 'status-code': 404 });
    return reply.code(404).send({ error: 'not_found', path: req.url });
  });

  // ---------- admin API ----------
  registerAdmin();
  registerJiraUi(app, store, live);

  function adminBody(req: FastifyRequest): Record<string, unknown> {
    if (typeof req.body !== 'string' || !req.body.trim()) return {};
    const v: unknown = JSON.parse(req.body);
    if (!isObj(v)) throw new AdminError(400, 'body must be a JSON object');
    return v;
  }
  function actorFrom(b: Record<string, unknown>, req: FastifyRequest): SeedUser {
    const as = b.as ?? (req.query as Record<string, unknown>).as;
    if (typeof as !== 'string') throw new AdminError(400, '`as` (email or accountId of the acting person) is required');
    const u = store.user(as);
    if (!u) throw new AdminError(400, `unknown user '${as}'`);
    return u;
  }
  function adminIssue(req: FastifyRequest): StoredIssue {
    const key = (req.params as Record<string, string>).key ?? '';
    const i = store.findIssue(key);
    if (!i) throw new AdminError(404, `issue ${key} not found`);
    return i;
  }
  /** Admin inputs are human-friendly (strings); turn them into REST-shaped field values. */
  function adminFields(f: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = { ...f };
    if (typeof f.description === 'string') out.description = textToAdf(f.description);
    if (typeof f.assignee === 'string') out.assignee = { accountId: store.user(f.assignee)?.accountId ?? f.assignee };
    if (typeof f.priority === 'string') out.priority = { name: f.priority };
    if (typeof f.issuetype === 'string') out.issuetype = { name: f.issuetype };
    if (Array.isArray(f.components))
      out.components = f.components.map((c: unknown) => (typeof c === 'string' ? { name: c } : c));
    return out;
  }
  function adminIssueView(i: StoredIssue) {
    return {
      ...store.issueJson(i, { expand: ['changelog'] }),
      comments: i.comments.map((c) => store.commentJson(i, c, 3, true)),
      changelog: i.histories.map((h) => store.historyJson(h)),
      properties: i.properties,
    };
  }

  function registerAdmin() {
    const admin = (
      method: 'GET' | 'POST' | 'DELETE',
      path: string,
      fn: (req: FastifyRequest) => unknown,
      status = 200,
    ) =>
      app.route({
        method,
        url: `/_admin${path}`,
        handler: async (req, reply) => {
          try {
            const out = await fn(req);
            return reply
              .code(status)
              .type('application/json')
              .send(JSON.stringify(out ?? { ok: true }));
          } catch (err) {
            if (err instanceof AdminError) return reply.code(err.status).send({ error: err.message });
            if (err instanceof ApiError) return reply.code(err.status).send({ error: err.message, ...err.body });
            if (err instanceof SyntaxError) return reply.code(400).send({ error: `invalid JSON: ${err.message}` });
            if (err instanceof Error && err.name === 'ZodError') return reply.code(400).send({ error: err.message });
            throw err;
          }
        },
      });

    admin(
      'POST',
      '/issues',
      (req) => {
        const b = adminBody(req);
        const actor = actorFrom(b, req);
        const fields = adminFields({
          summary: b.summary,
          ...(b.description !== undefined ? { description: b.description } : {}),
          ...(b.assignee !== undefined && b.assignee !== null ? { assignee: b.assignee } : {}),
          ...(b.priority !== undefined ? { priority: b.priority } : {}),
          ...(b.labels !== undefined ? { labels: b.labels } : {}),
          ...(b.components !== undefined ? { components: b.components } : {}),
        });
        if (typeof b.parent === 'string') fields.parent = { key: b.parent };
        fields.project = { key: b.project };
        fields.issuetype = { name: typeof b.issuetype === 'string' ? b.issuetype : 'Task' };
        const i = store.createIssue(actor.accountId, fields);
        return adminIssueView(i);
      },
      201,
    );
    admin('DELETE', '/issues/:key', (req) => {
      const b = adminBody(req);
      const actor = actorFrom(b, req);
      const removed = store.deleteIssue(actor.accountId, adminIssue(req), b.deleteSubtasks === true);
      return { ok: true, deleted: removed.map((i) => i.key) };
    });
    admin('POST', '/permissions', (req) => {
      const b = adminBody(req);
      const project = typeof b.project === 'string' ? store.project(b.project) : undefined;
      if (!project) throw new AdminError(400, '`project` (key or id of a seeded project) is required');
      const permission = typeof b.permission === 'string' ? b.permission : '';
      if (!KNOWN_PERMISSIONS[permission])
        throw new AdminError(400, `\`permission\` must be one of ${Object.keys(KNOWN_PERMISSIONS).join(', ')}`);
      if (typeof b.granted !== 'boolean') throw new AdminError(400, '`granted` (boolean) is required');
      if (b.granted) revoked.delete(`${project.key}:${permission}`);
      else revoked.add(`${project.key}:${permission}`);
      return { revoked: [...revoked] };
    });
    admin('POST', '/issues/:key/edit', (req) => {
      const b = adminBody(req);
      const actor = actorFrom(b, req);
      const i = adminIssue(req);
      store.editIssue(actor.accountId, i, { fields: adminFields(isObj(b.fields) ? b.fields : {}) });
      return adminIssueView(i);
    });
    admin('POST', '/issues/:key/transition', (req) => {
      const b = adminBody(req);
      const actor = actorFrom(b, req);
      const i = adminIssue(req);
      const to = str(b.to);
      const t = store
        .transitionsFor(i)
        .find(
          (x) =>
            x.id === to || x.to.name.toLowerCase() === to.toLowerCase() || x.name.toLowerCase() === to.toLowerCase(),
        );
      if (!t) throw new AdminError(400, `no transition to '${to}' from the current status of ${i.key}`);
      store.transition(actor.accountId, i, t.id);
      return adminIssueView(i);
    });
    admin('POST', '/issues/:key/assign', (req) => {
      const b = adminBody(req);
      const actor = actorFrom(b, req);
      const i = adminIssue(req);
      const a = b.assignee;
      const id = a === null || a === undefined ? null : store.user(str(a))?.accountId;
      if (id === undefined) throw new AdminError(400, `unknown user '${str(a)}'`);
      store.assign(actor.accountId, i, id);
      return adminIssueView(i);
    });
    admin(
      'POST',
      '/issues/:key/comments',
      (req) => {
        const b = adminBody(req);
        const actor = actorFrom(b, req);
        const i = adminIssue(req);
        const props = isObj(b.properties)
          ? Object.entries(b.properties).map(([key, value]) => ({ key, value }))
          : b.properties;
        const body = typeof b.body === 'string' ? textToAdf(b.body) : b.body;
        const c = store.addComment(actor.accountId, i, body, props);
        return store.commentJson(i, c, 3, true);
      },
      201,
    );
    admin('POST', '/issues/:key/comments/:id/edit', (req) => {
      const b = adminBody(req);
      const actor = actorFrom(b, req);
      const i = adminIssue(req);
      const body = typeof b.body === 'string' ? textToAdf(b.body) : b.body;
      const c = store.editComment(actor.accountId, i, (req.params as Record<string, string>).id ?? '', body);
      return store.commentJson(i, c, 3, true);
    });
    admin('DELETE', '/issues/:key/comments/:id', (req) => {
      const b = adminBody(req);
      const actor = actorFrom(b, req);
      store.deleteComment(actor.accountId, adminIssue(req), (req.params as Record<string, string>).id ?? '');
      return { ok: true };
    });

    admin('GET', '/faults', () => ({ faults: faults.list(), routeKeys }));
    admin('POST', '/faults', (req) => {
      const raw: unknown = typeof req.body === 'string' && req.body.trim() ? JSON.parse(req.body) : {};
      const list = Array.isArray(raw) ? raw : isObj(raw) && Array.isArray(raw.faults) ? raw.faults : [raw];
      for (const f of list) {
        const fault = { ...(f as Record<string, unknown>) };
        // Accept any placeholder names ({key}, {issueIdOrKey}, ...) and map onto the canonical route key.
        if (typeof fault.method === 'string' && fault.method !== '*') {
          const shape = (s: string) => s.replace(/\{[^}]+\}/g, '{}');
          const canonical = routeKeys.find((k) => shape(k) === shape(fault.method as string));
          if (canonical) fault.method = canonical;
        }
        faults.add(fault);
      }
      return { faults: faults.list() };
    });
    admin('DELETE', '/faults', () => {
      faults.clear();
      return { faults: [] };
    });
    admin('POST', '/rate-limits', (req) => {
      const b = adminBody(req);
      if (typeof b.enabled === 'boolean') limits.enabled = b.enabled;
      for (const k of ['globalPerSec', 'globalBurst', 'issueWritePerSec', 'issueWriteBurst'] as const) {
        const v = b[k];
        if (typeof v === 'number' && v > 0) limits[k] = v;
      }
      globalBuckets = new TokenBuckets(limits.globalPerSec, limits.globalBurst);
      issueBuckets = new TokenBuckets(limits.issueWritePerSec, limits.issueWriteBurst);
      return { ...limits };
    });
    admin('POST', '/config', (req) => {
      const b = adminBody(req);
      if (Array.isArray(b.webhookUrls)) dispatcher.config.urls = b.webhookUrls.map(String);
      if (Array.isArray(b.webhookRetryDelaysMs)) dispatcher.config.retryDelaysMs = b.webhookRetryDelaysMs.map(Number);
      if (typeof b.deliveryTimeoutMs === 'number') dispatcher.config.timeoutMs = b.deliveryTimeoutMs;
      if (typeof b.legacySearch === 'boolean') legacySearch = b.legacySearch;
      return {
        webhookUrls: dispatcher.config.urls,
        webhookRetryDelaysMs: dispatcher.config.retryDelaysMs,
        deliveryTimeoutMs: dispatcher.config.timeoutMs,
        legacySearch,
        rateLimits: { ...limits },
      };
    });
    admin('GET', '/issues', () => ({
      issues: store.state.issues.map((i) => ({
        id: i.id,
        key: i.key,
        summary: i.summary,
        status: seed.projects.find((p) => p.key === i.projectKey)?.statuses.find((s) => s.id === i.statusId)?.name,
        assignee: i.assigneeId,
        reporter: i.reporterId,
        labels: i.labels,
        comments: i.comments.length,
        updated: i.updated,
      })),
    }));
    admin('GET', '/issues/:key', (req) => adminIssueView(adminIssue(req)));
    admin('GET', '/deliveries', () => ({
      deliveries: dispatcher.deliveries.map((d) => ({ ...d, payload: JSON.parse(d.body) as unknown })),
    }));
    admin('POST', '/deliveries/:id/redeliver', (req) => {
      const id = (req.params as Record<string, string>).id ?? '';
      const d = dispatcher.redeliver(id);
      if (!d) throw new AdminError(404, `delivery ${id} not found`);
      return { id: d.id, identifier: d.identifier };
    });
    admin('GET', '/calls', () => ({ calls }));
    admin('POST', '/reset', () => {
      store.state = freshState();
      dispatcher.clear();
      calls.length = 0;
      faults.clear();
      revoked.clear();
      globalBuckets.reset();
      issueBuckets.reset();
      snapshot.scheduleSave();
      live.changed(JIRA_TOPIC);
      return { ok: true };
    });
  }

  const address = await app.listen({ port: opts.port ?? DEFAULT_JIRA_EMULATOR_PORT, host: opts.host ?? '127.0.0.1' });
  url = address.replace('localhost', '127.0.0.1');
  opts.logger?.info(`jira emulator listening on ${url}`);

  return {
    url,
    setWebhookUrls(urls: string[]) {
      dispatcher.config.urls = [...urls];
    },
    async stop() {
      await app.close();
      snapshot.saveNow();
    },
  };
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export { ISSUE_NOT_FOUND };
