import { randomBytes } from 'node:crypto';
import slackOAuth, { type CodedError, type Installation, type InstallURLOptions, type StateStore } from '@slack/oauth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sdkLogger } from '../../integrations/slack/client.js';
import type { Pool } from '../db/pool.js';
import type { AnyFlow, ApiDeps } from '../flow.js';
import { installationSubject } from '../slack-ingress/installation-events.js';
import { SLACK_USER_SCOPES, botScopesFor } from '../slack/manifest.js';
import type { InstallationsRepo, SavedInstallation } from './store.js';

// `@slack/oauth` is CommonJS and Node's ESM loader cannot see all of its named exports (the
// production entry points run without tsx): take them from the default export.
const { ClearStateStore, InstallProvider, InvalidStateError } = slackOAuth;

/** Slack's own advice: an OAuth state should not outlive the few minutes a person takes to click Allow. */
export const OAUTH_STATE_TTL_SEC = 600;
const STATE_MARK = 'tl-state:';

/**
 * "Add to Slack" states that are signed and expiring (`@slack/oauth`'s JWT state, 10 minutes) and
 * single-use: each one has a row that the redirect deletes, so a replayed redirect (a reload, a
 * leaked URL) finds nothing and is refused.
 */
export function singleUseStateStore(pool: Pool, stateSecret: string, ttlSec = OAUTH_STATE_TTL_SEC): StateStore {
  const signed = new ClearStateStore(stateSecret, ttlSec);
  return {
    async generateStateParam(installOptions: InstallURLOptions, now: Date): Promise<string> {
      const id = randomBytes(16).toString('hex');
      await pool.query('DELETE FROM slack_oauth_states WHERE expires_at < now()');
      await pool.query('INSERT INTO slack_oauth_states (state_id, expires_at) VALUES ($1, $2)', [
        id,
        new Date(now.getTime() + ttlSec * 1000),
      ]);
      // The id rides inside the signed state, so it cannot be swapped for another one.
      return signed.generateStateParam({ ...installOptions, metadata: `${STATE_MARK}${id}` }, now);
    },
    async verifyStateParam(now: Date, state: string): Promise<InstallURLOptions> {
      const options = await signed.verifyStateParam(now, state);
      const id = options.metadata?.startsWith(STATE_MARK) ? options.metadata.slice(STATE_MARK.length) : '';
      const { rowCount } = await pool.query('DELETE FROM slack_oauth_states WHERE state_id = $1 AND expires_at > $2', [
        id,
        now,
      ]);
      if (!rowCount) throw new InvalidStateError('The state parameter was already used or has expired');
      const { metadata: _ours, ...rest } = options;
      return rest;
    },
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, lines: string[]): string {
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>' +
    escapeHtml(title) +
    '</title></head><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">' +
    `<h1>${escapeHtml(title)}</h1>${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('')}</body></html>`
  );
}

/** What a person is told when an install does not work out, by `@slack/oauth` error code. */
function failureText(err: CodedError): string {
  switch (err.code) {
    case 'slack_oauth_installer_authorization_error':
      return 'The installation was cancelled in Slack. Nothing was installed.';
    case 'slack_oauth_invalid_state':
    case 'slack_oauth_missing_state':
      return 'This installation link has expired or was already used. Start again from the install page.';
    default:
      return 'Slack did not complete the installation. Start again from the install page; if it keeps failing, ask an operator to check the logs.';
  }
}

/**
 * Multi-workspace installs with Slack's official `InstallProvider` (OAuth v2):
 * - `GET /slack/install`: "Add to Slack" (bot scopes from the code's registry), with a signed,
 *   single-use, expiring state bound to the browser by a cookie;
 * - `GET /slack/connect`: a person connects their own identity (user scope `chat:write`): their
 *   user token is stored sealed, and the flows SLACK_POST_AS names post as them (`post-as.ts`);
 * - `GET /slack/oauth_redirect`: Slack sends the browser back here; the installation is stored
 *   with its tokens sealed (`installationsRepo`), audited and counted; a person reads a page
 *   saying what happened (tokens never appear on it, nor in logs).
 * Not registered without OAuth config (single-workspace mode).
 */
export async function slackOAuthRoutes(
  app: FastifyInstance,
  deps: ApiDeps & { flows: readonly AnyFlow[]; installations: InstallationsRepo },
): Promise<void> {
  const oauth = deps.config.slack.oauth;
  if (!oauth) return;
  const { config, metrics, repos } = deps;
  /**
   * Where Slack sends the browser back: THREADLINE_PUBLIC_URL, else the address this request
   * came to (Slack only redirects to URLs listed in the app's settings, so a forged Host header
   * gets an error page from Slack, never a code). The URI travels in the signed state, so the code
   * exchange uses the same one.
   */
  const redirectUri = (req: FastifyRequest) =>
    `${config.slack.publicUrl ?? `${req.protocol}://${req.host}`}/slack/oauth_redirect`;
  const bot = (req: FastifyRequest): InstallURLOptions => ({
    scopes: botScopesFor(deps.flows),
    redirectUri: redirectUri(req),
  });
  const person = (req: FastifyRequest): InstallURLOptions => ({
    scopes: [],
    userScopes: Object.keys(SLACK_USER_SCOPES),
    redirectUri: redirectUri(req),
  });

  const audit = async (saved: SavedInstallation, i: Installation) => {
    const event = !i.bot ? 'connected' : saved.previousStatus ? 'reinstalled' : 'installed';
    metrics.slackInstallations.inc({ event });
    await repos.audit.append({
      subject: installationSubject(saved.installationId),
      action: `slack.${event}`,
      actor: { kind: 'slack_user', id: i.user.id },
      sourceSystem: 'slack',
      details: {
        team: saved.installationId,
        previousStatus: saved.previousStatus ?? null,
        botScopes: i.bot?.scopes ?? [],
        userScopes: i.user.token ? (i.user.scopes ?? []) : [],
      },
      idempotencyKey: `${installationSubject(saved.installationId)}:${event}:${randomBytes(8).toString('hex')}:audit`,
    });
  };

  const installer = new InstallProvider({
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    stateStore: singleUseStateStore(deps.pool, oauth.stateSecret),
    stateCookieExpirationSeconds: OAUTH_STATE_TTL_SEC,
    installationStore: deps.installations.asInstallationStore({ onSaved: audit }),
    // The emulator serves the authorize page in sandbox mode; Slack's own page otherwise.
    ...(config.sandbox ? { authorizationUrl: `${new URL(config.slack.apiUrl).origin}/oauth/v2/authorize` } : {}),
    directInstall: true,
    logger: sdkLogger(deps.logger.child({ component: 'slack-oauth' })),
    clientOptions: { slackApiUrl: config.slack.apiUrl, retryConfig: { retries: 1 }, timeout: 10_000 },
  });

  /** `@slack/oauth` speaks Node's req/res: Fastify steps aside for these routes. */
  const raw = (req: FastifyRequest, reply: FastifyReply, fn: () => Promise<void>) => {
    void reply.hijack();
    return fn().catch((err: unknown) => {
      deps.logger.error({ error: err instanceof Error ? err.name : 'unknown' }, 'Slack OAuth route failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
        reply.raw.end(page('Something went wrong', ['The installation could not be completed. Please try again.']));
      }
    });
  };
  const html = (res: FastifyReply['raw'], status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };

  app.get('/slack/install', (req, reply) =>
    raw(req, reply, () => installer.handleInstallPath(req.raw, reply.raw, undefined, bot(req))),
  );
  app.get('/slack/connect', (req, reply) =>
    raw(req, reply, () => installer.handleInstallPath(req.raw, reply.raw, undefined, person(req))),
  );
  app.get('/slack/oauth_redirect', (req, reply) =>
    raw(req, reply, () =>
      installer.handleCallback(req.raw, reply.raw, {
        success: (i, _options, _req, res) => {
          const where = i.team?.name ?? i.enterprise?.name ?? 'your workspace';
          html(
            res,
            200,
            i.bot
              ? page('Threadline is installed', [
                  `Threadline was added to ${where}.`,
                  'Invite @Threadline to the channels it should post in; lifecycles of this workspace now post here.',
                ])
              : page('Your Slack identity is connected', [`Threadline stored your Slack identity for ${where}.`]),
          );
        },
        failure: (err, _options, _req, res) => {
          metrics.slackInstallations.inc({ event: 'install_failed' });
          deps.logger.warn({ code: err.code }, 'Slack installation did not complete');
          html(
            res,
            err.code === 'slack_oauth_installer_authorization_error' ? 200 : 400,
            page('Not installed', [failureText(err)]),
          );
        },
      }),
    ),
  );
}
