import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../../shared/ui/html.js';
import { cookie, page, sendPage, serveAssets, type LiveUpdates } from '../../shared/ui/server.js';
import type { JiraStore } from '../store.js';
import { jiraPeople, renderJiraPage } from './page.js';

const COOKIE = 'tl_jira_as';
/** The one topic the Jira view has: the whole site. */
export const JIRA_TOPIC = 'jira';

interface Query {
  as?: string;
  project?: string;
}

/**
 * The sandbox Jira in a browser: `/` (issues, optionally `?project=KEY`) and `/browse/<KEY>`
 * (Jira's own issue URL). Rendered on the server from the store; comments, transitions,
 * assignments and new issues are calls to the admin API, so the app gets the same webhooks
 * (with that person as the actor) that a test acting as people produces.
 */
export function registerJiraUi(app: FastifyInstance, store: JiraStore, live: LiveUpdates): void {
  serveAssets(app, { '/_ui/assets/jira.css': new URL('./assets/jira.css', import.meta.url).pathname });
  live.route(app, '/_ui/events', (q) => (q.site === JIRA_TOPIC ? JIRA_TOPIC : undefined));

  const problem = (reply: FastifyReply, status: number, text: string) =>
    sendPage(
      reply,
      page({
        title: 'Sandbox Jira',
        css: '/_ui/assets/jira.css',
        script: '/_ui/assets/live.js',
        events: `/_ui/events?site=${JIRA_TOPIC}`,
        body: html`<main id="app" class="problem">
          <h1>${text}</h1>
          <p><a href="/">All issues</a></p>
        </main>`,
      }),
      status,
    );

  /** Who acts: `?as=` (remembered in a cookie), else the cookie, else the first person. */
  const viewerFor = (req: FastifyRequest<{ Querystring: Query }>, reply: FastifyReply) => {
    const people = jiraPeople(store);
    const asked = req.query.as;
    if (asked !== undefined) {
      const u = people.find((p) => p.accountId === asked || p.emailAddress === asked);
      if (!u) return undefined;
      void reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(u.accountId)}; Path=/; SameSite=Strict`);
      return u;
    }
    const remembered = cookie(req.headers.cookie, COOKIE);
    return (
      people.find((p) => p.accountId === remembered) ?? people.find((p) => p.accountId.endsWith(':alice')) ?? people[0]
    );
  };

  app.get<{ Querystring: Query }>('/', (req, reply) => {
    const viewer = viewerFor(req, reply);
    if (!viewer) return problem(reply, 400, `${req.query.as ?? ''} is not an active person of this Jira site.`);
    const project = req.query.project ? store.project(req.query.project) : undefined;
    if (req.query.project && !project) return problem(reply, 404, `There is no project ${req.query.project}.`);
    return sendPage(reply, renderJiraPage({ store, viewer, kind: 'list', project }));
  });

  app.get<{ Querystring: Query; Params: { key: string } }>('/browse/:key', (req, reply) => {
    const viewer = viewerFor(req, reply);
    if (!viewer) return problem(reply, 400, `${req.query.as ?? ''} is not an active person of this Jira site.`);
    const issue = store.findIssue(req.params.key);
    if (!issue) return problem(reply, 404, `Issue ${req.params.key} does not exist.`);
    return sendPage(reply, renderJiraPage({ store, viewer, kind: 'issue', issue }));
  });
}
