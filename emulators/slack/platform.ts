import type { FaultRegistry } from '../shared/faults.js';
import { Outbound } from './outbound.js';
import type { OutboundOptions } from './outbound.js';
import type { SlackSeed } from './seed.js';
import type { SocketModeHub } from './socket-mode.js';
import { TokenRegistry } from './tokens.js';
import type { TokenRecord, TokenState } from './tokens.js';
import type { PlatformHooks } from './web-api.js';
import { Workspace } from './workspace.js';
import type { Obj, ScheduledMessage, WorkspaceData } from './workspace.js';

export interface CallLogEntry {
  at: string;
  method: string;
  args: Obj;
  status: number;
  ok: boolean;
  error?: string;
  /** The workspace the calling token belongs to. */
  team?: string;
}

/** Shared state of one workspace of the emulator; the admin routes operate on it. */
export interface EmulatorCore {
  ws: Workspace;
  outbound: Outbound;
  faults: FaultRegistry;
  rateLimits: { enabled: boolean };
  calls: CallLogEntry[];
  triggerTtlMs: { value: number };
  /** Back to the seed: every workspace, token, socket and log (keeps config). */
  resetAll(): void;
  /** Uninstalls the app here: tokens revoked, `app_uninstalled` + `tokens_revoked` sent, events stop. */
  uninstall(): void;
  /** A single-use oauth.v2.access code for this workspace, as if `user` had clicked Allow. */
  issueOAuthCode(user: string): string;
  schedule: (s: ScheduledMessage) => void;
  platform: SlackPlatform;
}

/** One OAuth authorization waiting to be exchanged by `oauth.v2.access`. */
export interface OAuthCode {
  issuedAt: number;
  teamId: string;
  user: string;
  scopes: string[];
  userScopes: string[];
  clientId?: string;
  redirectUri?: string;
}

/** The app's OAuth settings (Slack's "OAuth & Permissions" page). */
export interface OAuthConfig {
  /** When set, oauth.v2.access and the authorize page check them; when unset any client is accepted. */
  clientId?: string;
  clientSecret?: string;
  /** Allowed redirect URLs (a `redirect_uri` must start with one of them); empty = any. */
  redirectUris: string[];
  /** Token rotation: new tokens expire (`expires_in`) and come with refresh tokens. */
  tokenRotation: boolean;
  tokenExpiresInSec: number;
}

export interface SnapshotData {
  teams: Record<string, WorkspaceData>;
  tokens: TokenState;
}

export interface Team {
  ws: Workspace;
  outbound: Outbound;
  /** Path prefix of its admin API (`/_teams/<id>`; the primary workspace also answers on `/_admin`). */
  prefix: string;
  core: EmulatorCore;
}

/**
 * The emulator's Slack: one app installed in one or more workspaces. Tokens map to exactly one
 * workspace, so a workspace's token never reads another's channels even when their ids are equal.
 */
export class SlackPlatform implements PlatformHooks {
  readonly teams = new Map<string, Team>();
  readonly tokens = new TokenRegistry();
  readonly codes = new Map<string, OAuthCode>();
  primary!: Team;
  /** Called after token changes (issue, refresh, revoke) so the snapshot keeps installations. */
  changed: () => void = () => {};

  constructor(
    readonly opts: {
      botToken: string;
      appToken?: string | undefined;
      /** Extra user tokens of the primary workspace. */
      userTokens: { token: string; user: string; scopes: string[] }[];
      oauth: OAuthConfig;
      socket: SocketModeHub;
      baseUrl: () => string;
      logger?: { warn(...a: unknown[]): void } | undefined;
    },
  ) {}

  addTeam(input: {
    seed: SlackSeed;
    primary: boolean;
    outboundOpts: OutboundOptions;
    core: (t: Omit<Team, 'core'>) => EmulatorCore;
  }): Team {
    const ws = new Workspace(input.seed, input.primary || input.seed.tokens?.some((t) => t.kind !== 'user') === true);
    if (this.teams.has(ws.teamId)) throw new Error(`slack emulator: two workspaces with team id ${ws.teamId}`);
    const prefix = `/_teams/${ws.teamId}`;
    const outbound = new Outbound(ws, input.outboundOpts, {
      baseUrl: () => `${this.opts.baseUrl()}${prefix}`,
      installed: () => ws.data.installed,
      socket: this.opts.socket,
    });
    const partial = { ws, outbound, prefix };
    const team: Team = { ...partial, core: input.core(partial) };
    this.teams.set(ws.teamId, team);
    if (input.primary) this.primary = team;
    return team;
  }

  team(teamId: string): Team | undefined {
    return this.teams.get(teamId);
  }

  /**
   * The seeded credentials: the configured bot token, each seed's tokens, the app-level token.
   * `onlyMissing` keeps what a snapshot says about tokens it knows (revoked, scopes) and adds the rest,
   * so a token configured since the snapshot still works.
   */
  loadSeedTokens(onlyMissing = false): void {
    if (!onlyMissing) this.tokens.clear();
    const add = (rec: TokenRecord) => {
      if (!onlyMissing || !this.tokens.get(rec.token)) this.tokens.add(rec);
    };
    for (const t of this.teams.values()) {
      const { ws } = t;
      if (t === this.primary) {
        add({
          token: this.opts.botToken,
          kind: 'bot',
          teamId: ws.teamId,
          userId: ws.botUserId,
          scopes: [...ws.seed.botScopes],
          revoked: false,
        });
        for (const u of this.opts.userTokens)
          add({
            token: u.token,
            kind: 'user',
            teamId: ws.teamId,
            userId: u.user,
            scopes: [...u.scopes],
            revoked: false,
          });
      }
      for (const s of ws.seed.tokens)
        add({
          token: s.token,
          kind: s.kind,
          teamId: ws.teamId,
          userId: s.kind === 'user' ? (s.user ?? '') : ws.botUserId,
          scopes: [...s.scopes],
          revoked: s.revoked,
        });
    }
    if (this.opts.appToken)
      add({
        token: this.opts.appToken,
        kind: 'app',
        teamId: '',
        userId: '',
        scopes: ['connections:write'],
        revoked: false,
      });
  }

  /**
   * What "Allow" on the authorize page leads to, once the code is exchanged: the workspace is
   * installed, the bot token is reused (no rotation) or issued, and a user token is issued when
   * user scopes were asked for.
   */
  install(code: OAuthCode): Obj {
    const team = this.teams.get(code.teamId)!;
    const { ws } = team;
    const rotation = this.opts.oauth.tokenRotation;
    const expires = rotation ? this.opts.oauth.tokenExpiresInSec : undefined;
    const out: Obj = {
      app_id: ws.seed.app.id,
      authed_user: { id: code.user },
      team: { id: ws.teamId, name: ws.seed.team.name },
      enterprise: ws.enterprise,
      is_enterprise_install: false,
    };
    if (code.scopes.length) {
      // Without rotation a reinstall keeps the workspace's bot token (scopes grow); with it, a new pair.
      const existing = rotation
        ? undefined
        : this.tokens.live(ws.teamId, 'bot').find((t) => t.expiresAt === undefined && t.userId === ws.botUserId);
      let token: TokenRecord;
      let refreshToken: string | undefined;
      if (existing) {
        existing.scopes = [...new Set([...existing.scopes, ...code.scopes])];
        token = existing;
      } else {
        const issued = this.tokens.issue({
          kind: 'bot',
          teamId: ws.teamId,
          userId: ws.botUserId,
          scopes: code.scopes,
          expiresInSec: expires,
        });
        token = issued.token;
        refreshToken = issued.refreshToken;
      }
      Object.assign(out, {
        scope: token.scopes.join(','),
        token_type: 'bot',
        access_token: token.token,
        bot_user_id: ws.botUserId,
        ...(refreshToken ? { refresh_token: refreshToken, expires_in: expires } : {}),
      });
    }
    if (code.userScopes.length) {
      const issued = this.tokens.issue({
        kind: 'user',
        teamId: ws.teamId,
        userId: code.user,
        scopes: code.userScopes,
        expiresInSec: expires,
      });
      out.authed_user = {
        id: code.user,
        scope: code.userScopes.join(','),
        access_token: issued.token.token,
        token_type: 'user',
        ...(issued.refreshToken ? { refresh_token: issued.refreshToken, expires_in: expires } : {}),
      };
    }
    ws.data.installed = true;
    ws.onChange();
    this.changed();
    return out;
  }

  /** Removes the app from a workspace: every token dies and Slack tells the app twice. */
  uninstall(teamId: string): void {
    const team = this.teams.get(teamId);
    if (!team) return;
    const revoked = this.tokens.revoke((t) => t.teamId === teamId);
    team.ws.data.installed = false;
    team.ws.onChange();
    this.changed();
    const eventTs = team.ws.nextTs();
    team.outbound.emitTeamEvent({ type: 'app_uninstalled', event_ts: eventTs });
    team.outbound.emitTeamEvent({
      type: 'tokens_revoked',
      tokens: revokedLists(revoked, team.ws.botUserId),
      event_ts: eventTs,
    });
  }

  /** auth.revoke: one token; revoking a workspace's last token uninstalls the app there. */
  revokeToken(token: TokenRecord): void {
    this.changed();
    if (token.kind === 'app') {
      this.tokens.revoke((t) => t.token === token.token);
      return;
    }
    const team = this.teams.get(token.teamId);
    if (!team) return;
    const revoked = this.tokens.revoke((t) => t.token === token.token);
    if (this.tokens.live(token.teamId).length === 0) return this.uninstall(token.teamId);
    team.outbound.emitTeamEvent({
      type: 'tokens_revoked',
      tokens: revokedLists(revoked, team.ws.botUserId),
      event_ts: team.ws.nextTs(),
    });
  }

  snapshotData(): SnapshotData {
    const teams: Record<string, WorkspaceData> = {};
    for (const [id, t] of this.teams) teams[id] = t.ws.data;
    return { teams, tokens: this.tokens.state };
  }

  loadSnapshot(data: SnapshotData): void {
    for (const [id, d] of Object.entries(data.teams ?? {})) this.teams.get(id)?.ws.load(d);
    if (data.tokens) {
      this.tokens.load(data.tokens);
      this.loadSeedTokens(true);
    }
  }
}

/** `tokens_revoked` lists the user ids whose user tokens died (`oauth`) and bot user ids (`bot`). */
function revokedLists(revoked: TokenRecord[], botUserId: string): { oauth: string[]; bot: string[] } {
  const oauth = [...new Set(revoked.filter((t) => t.kind === 'user').map((t) => t.userId))];
  const bot = revoked.some((t) => t.kind === 'bot') ? [botUserId] : [];
  return { oauth, bot };
}
