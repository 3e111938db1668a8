import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../../shared/ui/html.js';
import { cookie, page, sendPage, serveAssets, type LiveUpdates } from '../../shared/ui/server.js';
import type { SlackPlatform, Team } from '../platform.js';
import { activePeople, clientHref, renderSlackPage, visibleChannels } from './page.js';

const asset = (file: string) => new URL(`./assets/${file}`, import.meta.url).pathname;
const cookieName = (team: string) => `tl_slack_as_${team}`;
const TS = /^\d{1,12}\.\d{1,6}$/;

interface Query {
  as?: string;
  thread?: string;
  highlight?: string;
}

/**
 * The sandbox Slack in a browser: `/` (the primary workspace), `/client/<team>/<channel>` (Slack's
 * own client URL shape) and `/archives/<channel>/p<ts>` (the shape of `chat.getPermalink`). Pages
 * are rendered on the server from the workspace state; everything a person does in them is a call
 * to the admin API (`/_teams/<team>/_admin/…`), so the app receives exactly the signed requests the
 * admin API sends. `live` tells open pages when a workspace changed.
 */
export function registerSlackUi(app: FastifyInstance, platform: SlackPlatform, live: LiveUpdates): void {
  serveAssets(app, { '/_ui/assets/slack.js': asset('slack.js'), '/_ui/assets/slack.css': asset('slack.css') });
  live.route(app, '/_ui/events', (q) => (q.team && platform.team(q.team) ? q.team : undefined));

  const problem = (reply: FastifyReply, status: number, text: string) =>
    sendPage(
      reply,
      page({
        title: 'Sandbox Slack',
        css: '/_ui/assets/slack.css',
        script: '/_ui/assets/slack.js',
        events: `/_ui/events?team=${platform.primary.ws.teamId}`,
        body: html`<main id="app" class="problem">
          <h1>${text}</h1>
          <p><a href="/">Back to ${platform.primary.ws.seed.team.name}</a></p>
        </main>`,
      }),
      status,
    );

  const show = (
    req: FastifyRequest<{ Querystring: Query }>,
    reply: FastifyReply,
    teamId: string,
    channelId: string | undefined,
  ) => {
    const team: Team | undefined = platform.team(teamId);
    if (!team) return problem(reply, 404, `There is no workspace ${teamId}.`);
    const { ws } = team;
    const people = activePeople(ws);
    const asked = req.query.as;
    if (asked !== undefined && !people.some((u) => u.id === asked))
      return problem(reply, 400, `${asked} is not an active person of ${ws.seed.team.name}.`);
    // Who you act as is remembered per workspace, so links between channels keep it.
    const remembered = cookie(req.headers.cookie, cookieName(ws.teamId));
    const viewer =
      people.find((u) => u.id === asked) ??
      people.find((u) => u.id === remembered) ??
      people.find((u) => u.is_admin) ??
      people[0];
    if (!viewer) return problem(reply, 409, `${ws.seed.team.name} has nobody who can act.`);
    if (asked !== undefined)
      void reply.header('set-cookie', `${cookieName(ws.teamId)}=${encodeURIComponent(asked)}; Path=/; SameSite=Strict`);
    const visible = visibleChannels(ws, viewer.id);
    const channel = channelId
      ? ws.channel(channelId)
      : visible.find((c) => !c.is_im && !c.is_archived && c.members.includes(viewer.id));
    if (channelId && !channel) return problem(reply, 404, `There is no channel ${channelId} in ${ws.seed.team.name}.`);
    const thread = req.query.thread;
    if (thread !== undefined && !TS.test(thread))
      return problem(reply, 400, `thread must be a message ts, not ${thread}.`);
    return sendPage(
      reply,
      renderSlackPage(platform, { team, viewer, channel, threadTs: thread, highlight: req.query.highlight }),
    );
  };

  app.get<{ Querystring: Query }>('/', (req, reply) => show(req, reply, platform.primary.ws.teamId, undefined));
  app.get<{ Querystring: Query; Params: { team: string } }>('/client/:team', (req, reply) =>
    show(req, reply, req.params.team, undefined),
  );
  app.get<{ Querystring: Query; Params: { team: string; channel: string } }>('/client/:team/:channel', (req, reply) =>
    show(req, reply, req.params.team, req.params.channel),
  );
  // chat.getPermalink's path (`/archives/C…/p<ts without the dot>[?thread_ts=…]`) opens here too.
  app.get<{ Querystring: { thread_ts?: string }; Params: { channel: string; p: string } }>(
    '/archives/:channel/:p',
    (req, reply) => {
      const m = /^p(\d{1,12})(\d{6})$/.exec(req.params.p);
      if (!m) return problem(reply, 400, `${req.params.p} is not a message permalink.`);
      const ts = `${m[1]}.${m[2]}`;
      const thread = req.query.thread_ts && TS.test(req.query.thread_ts) ? req.query.thread_ts : undefined;
      return reply.redirect(
        clientHref(platform.primary.ws.teamId, req.params.channel, { thread: thread ?? undefined, highlight: ts }),
      );
    },
  );
}
