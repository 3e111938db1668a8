import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import { ErrorCode, WebClient, type WebAPICallResult, type WebClientOptions } from '@slack/web-api';
import { quietClientOptions } from '../../integrations/slack/client.js';
import { InstallationUnavailableError, UserTokenUnavailableError } from '../../integrations/slack/errors.js';
import { installationOf } from '../../integrations/slack/inbound.js';
import type { SlackSubjectsRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { TokenRotationError, type InstallationsRepo, type TokenCredentials } from './store.js';

/** Rotating tokens are refreshed this long before they expire (Slack's tokens live 12 h). */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** A subject's recorded workspace never changes; unknown subjects are looked up again after this. */
const UNKNOWN_SUBJECT_TTL_MS = 5_000;

/** Which installation (and whose identity) the Slack calls of the current async scope use. */
export interface SlackScope {
  /** Installation id (team id, or an org-wide install's enterprise id); undefined = the default. */
  teamId?: string | undefined;
  /**
   * Call as this person (their user token). Without a live token for them here the call is
   * refused (`UserTokenUnavailableError`), never silently made as the bot: the caller decides
   * the fallback (see `createSlackPoster`).
   */
  asUser?: string | undefined;
}

export interface SlackClientsDeps {
  apiUrl: string;
  /** SLACK_BOT_TOKEN: the single-workspace installation, used for workspaces without an OAuth install. */
  defaultToken?: string | undefined;
  /** OAuth installations (absent: single-workspace mode only). */
  installations?: InstallationsRepo | undefined;
  /** Which workspace a lifecycle belongs to, found from the running activity's workflow id. */
  subjects?: SlackSubjectsRepo | undefined;
  /** Client credentials for refreshing rotating tokens (`oauth.v2.access`, grant_type=refresh_token). */
  oauthClient?: { clientId: string; clientSecret: string } | undefined;
  metrics?: Metrics | undefined;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * A WebClient whose every call picks its token at call time, from the installation of the
 * current scope: the one set by `within()`, else the workspace recorded for the running
 * activity's workflow (`slack_subjects`), else the default installation (SLACK_BOT_TOKEN). So
 * existing code that calls `deps.slack.users.info(…)` inside an activity talks to the right
 * workspace without knowing there is more than one. A call with an explicit `token` is sent as is.
 */
class InstallationRoutedClient extends WebClient {
  constructor(
    private readonly pick: (method: string, options: Record<string, unknown>) => Promise<WebAPICallResult>,
    opts: WebClientOptions,
  ) {
    super(undefined, opts);
  }

  override async apiCall(method: string, options: Record<string, unknown> = {}): Promise<WebAPICallResult> {
    if (typeof options.token === 'string' && options.token) return super.apiCall(method, options);
    return this.pick(method, options);
  }

  /** The plain call with a chosen token (what `pick` ends with). */
  send(method: string, options: Record<string, unknown>, token: string): Promise<WebAPICallResult> {
    return super.apiCall(method, { ...options, token });
  }
}

/**
 * Outbound Slack for many workspaces: one routed client, tokens opened from the installation
 * store per call (never cached in memory beyond the call, so a revocation takes effect at once),
 * rotating tokens refreshed before they expire and once more when Slack says `token_expired`
 * (a single-use refresh token is spent under a row lock, so two workers never race for it).
 * A revoked installation is refused before any request leaves the process
 * (`InstallationUnavailableError`, classified `installation_dead`).
 */
export function createSlackClients(deps: SlackClientsDeps) {
  const now = deps.now ?? Date.now;
  const scope = new AsyncLocalStorage<SlackScope>();
  const subjectTeams = new Map<string, { team: string | undefined; atMs: number }>();
  const noToken = new WebClient(undefined, quietClientOptions(deps.apiUrl, deps.timeoutMs));
  const rotations = (outcome: string) => deps.metrics?.slackTokenRotations.inc({ outcome });

  /** The workspace of the running activity's workflow, when one was recorded. */
  async function subjectTeam(): Promise<string | undefined> {
    let workflowId: string | undefined;
    try {
      workflowId = Context.current().info.workflowExecution?.workflowId;
    } catch {
      return undefined; // not inside an activity
    }
    if (!workflowId) return undefined;
    if (!deps.subjects) return undefined;
    const cached = subjectTeams.get(workflowId);
    if (cached && (cached.team !== undefined || now() - cached.atMs < UNKNOWN_SUBJECT_TTL_MS)) return cached.team;
    const team = await deps.subjects.teamOf(workflowId);
    subjectTeams.set(workflowId, { team, atMs: now() });
    return team;
  }

  let defaultTeamId: Promise<string | undefined> | undefined;
  /**
   * The workspace SLACK_BOT_TOKEN belongs to (`auth.test`, once per process; a failure is asked
   * again next time). Only with OAuth installations: then a message posted with the default
   * token still records its team, so another workspace's events never match it.
   */
  function defaultTeam(): Promise<string | undefined> {
    if (!deps.installations || !deps.defaultToken) return Promise.resolve(undefined);
    defaultTeamId ??= noToken.auth
      .test({ token: deps.defaultToken })
      .then((r) => installationOf({ teamId: r.team_id, enterpriseId: r.enterprise_id }))
      .catch(() => {
        defaultTeamId = undefined;
        return undefined;
      });
    return defaultTeamId;
  }

  async function currentTeam(): Promise<string | undefined> {
    const s = scope.getStore();
    const team = s && 'teamId' in s ? s.teamId : await subjectTeam();
    return team ?? defaultTeam();
  }

  async function refresh(installationId: string, userId: string | undefined, rejected?: string) {
    // A person's token that cannot be refreshed is theirs alone: the installation lives on.
    const unusable = () =>
      userId
        ? new UserTokenUnavailableError(installationId, userId)
        : new InstallationUnavailableError(installationId, 'token_refresh_failed');
    if (!deps.installations || !deps.oauthClient) throw unusable();
    const oauth = deps.oauthClient;
    // Two calls refused at once both come here; the row lock lets one refresh and hands the other
    // the token it got: only a refresh that happened counts as one.
    let refreshed = false;
    try {
      const fresh = await deps.installations.rotate({
        installationId,
        userId,
        minValidUntilMs: now() + REFRESH_MARGIN_MS,
        rejected,
        refresh: async (refreshToken) => {
          refreshed = true;
          const res = await noToken.oauth.v2.access({
            client_id: oauth.clientId,
            client_secret: oauth.clientSecret,
            grant_type: 'refresh_token',
            refresh_token: refreshToken,
          });
          if (!res.access_token || !res.refresh_token || !res.expires_in)
            throw new Error('token refresh answered without a token');
          return { token: res.access_token, refreshToken: res.refresh_token, expiresInSec: res.expires_in };
        },
      });
      if (refreshed) rotations('rotated');
      return fresh;
    } catch (err) {
      const code = (err as { data?: { error?: string } }).data?.error;
      if (err instanceof TokenRotationError || code === 'invalid_refresh_token' || code === 'invalid_grant_type') {
        rotations('failed');
        throw unusable();
      }
      rotations('transient');
      throw err;
    }
  }

  /** A token that is still valid for a while (rotated first when it is about to expire). */
  async function fresh(installationId: string, userId: string | undefined, c: TokenCredentials) {
    if (c.expiresAtMs !== undefined && c.expiresAtMs - now() < REFRESH_MARGIN_MS && c.refreshToken) {
      return (await refresh(installationId, userId)).token;
    }
    return c.token;
  }

  /** The credentials a call in this scope uses. */
  async function credentialsFor(s: SlackScope): Promise<{ token: string; installationId?: string; userId?: string }> {
    const team = s.teamId;
    if (team && deps.installations) {
      const found = await deps.installations.botCredentials(team);
      if (found) {
        if (found.status === 'revoked') throw new InstallationUnavailableError(team, 'installation_revoked');
        if (s.asUser) {
          const user = await deps.installations.userCredentials(team, s.asUser);
          if (!user) throw new UserTokenUnavailableError(team, s.asUser);
          return { token: await fresh(team, s.asUser, user), installationId: team, userId: s.asUser };
        }
        return { token: await fresh(team, undefined, found.credentials), installationId: team };
      }
    }
    // People connect only to OAuth installations: nobody has a user token in the default one.
    if (s.asUser) throw new UserTokenUnavailableError(team ?? 'default', s.asUser);
    // A workspace without an OAuth installation is the one SLACK_BOT_TOKEN belongs to (Slack sends
    // us nothing from a workspace the app is not installed in).
    if (deps.defaultToken) return { token: deps.defaultToken };
    throw new InstallationUnavailableError(team ?? 'default', 'not_installed');
  }

  const client: InstallationRoutedClient = new InstallationRoutedClient(
    async (method, options) => {
      const s: SlackScope = { ...scope.getStore(), teamId: await currentTeam() };
      const cred = await credentialsFor(s);
      try {
        return await client.send(method, options, cred.token);
      } catch (err) {
        const e = err as { code?: string; data?: { error?: string } };
        if (e.code !== ErrorCode.PlatformError || e.data?.error !== 'token_expired' || !cred.installationId) throw err;
        // Expired earlier than we knew (clock skew, or Slack expired it): rotate once and resend.
        const next = await refresh(cred.installationId, cred.userId, cred.token);
        return client.send(method, options, next.token);
      }
    },
    quietClientOptions(deps.apiUrl, deps.timeoutMs),
  );

  return {
    /** The routed client every activity uses. */
    slack: client as WebClient,
    /** Runs `fn` with its Slack calls made for this installation (and person). */
    within<T>(s: SlackScope, fn: () => Promise<T>): Promise<T> {
      return scope.run({ ...scope.getStore(), ...s }, fn);
    },
    /** The installation the current scope resolves to (undefined: the default one). */
    currentTeam,
    /** Whether `userId` has a live user token in this installation (posting as them is possible). */
    async canPostAs(teamId: string | undefined, userId: string): Promise<boolean> {
      if (!teamId || !deps.installations) return false;
      return (await deps.installations.userCredentials(teamId, userId)) !== undefined;
    },
    /** Slack refused a person's token for good (`token_revoked`, …): stop using it until they reconnect. */
    async userTokenDied(teamId: string | undefined, userId: string): Promise<boolean> {
      if (!teamId || !deps.installations) return false;
      return (await deps.installations.revokeUserTokens(teamId, [userId])) > 0;
    },
  };
}
export type SlackClients = ReturnType<typeof createSlackClients>;
