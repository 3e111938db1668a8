import { randomBytes } from 'node:crypto';

/** `bot` acts as a workspace's bot user, `user` as a person, `app` is an app-level token (Socket Mode). */
export type TokenKind = 'bot' | 'user' | 'app';

export interface TokenRecord {
  token: string;
  kind: TokenKind;
  /** The workspace the token belongs to; app-level tokens belong to the app, not a workspace (''). */
  teamId: string;
  /** Bot user id (bot tokens) or person (user tokens); '' for app-level tokens. */
  userId: string;
  scopes: string[];
  revoked: boolean;
  /** Epoch ms after which calls answer `token_expired` (rotating tokens only). */
  expiresAt?: number;
}

interface RefreshRecord {
  refreshToken: string;
  kind: 'bot' | 'user';
  teamId: string;
  userId: string;
  scopes: string[];
  used: boolean;
  revoked: boolean;
}

export interface TokenState {
  tokens: TokenRecord[];
  refresh: RefreshRecord[];
}

const rand = (n: number) => randomBytes(n).toString('hex');

/**
 * Every credential the emulator accepts, across workspaces: the configured bot token, seeded tokens,
 * tokens issued by `oauth.v2.access` (long-lived, or rotating with single-use refresh tokens) and
 * app-level tokens. A token resolves to exactly one workspace, which is how per-workspace access is
 * enforced on every method.
 */
export class TokenRegistry {
  private byToken = new Map<string, TokenRecord>();
  private byRefresh = new Map<string, RefreshRecord>();

  get(token: string): TokenRecord | undefined {
    return this.byToken.get(token);
  }

  add(rec: TokenRecord): TokenRecord {
    this.byToken.set(rec.token, rec);
    return rec;
  }

  /** A new token; rotating ones (`expiresInSec`) come with a refresh token. */
  issue(input: {
    kind: 'bot' | 'user';
    teamId: string;
    userId: string;
    scopes: string[];
    expiresInSec?: number | undefined;
  }): { token: TokenRecord; refreshToken?: string } {
    const teamNum = input.teamId.replace(/\D/g, '') || '0';
    const rotating = input.expiresInSec !== undefined;
    const prefix = input.kind === 'bot' ? 'xoxb' : 'xoxp';
    const value = rotating ? `xoxe.${prefix}-1-${rand(24)}` : `${prefix}-${teamNum}-${rand(6)}-${rand(12)}`;
    const token = this.add({
      token: value,
      kind: input.kind,
      teamId: input.teamId,
      userId: input.userId,
      scopes: [...input.scopes],
      revoked: false,
      ...(rotating ? { expiresAt: Date.now() + input.expiresInSec! * 1000 } : {}),
    });
    if (!rotating) return { token };
    const refreshToken = `xoxe-1-${rand(32)}`;
    this.byRefresh.set(refreshToken, {
      refreshToken,
      kind: input.kind,
      teamId: input.teamId,
      userId: input.userId,
      scopes: [...input.scopes],
      used: false,
      revoked: false,
    });
    return { token, refreshToken };
  }

  issueAppToken(appId: string, scopes: string[]): TokenRecord {
    return this.add({
      token: `xapp-1-${appId}-${Date.now()}-${rand(32)}`,
      kind: 'app',
      teamId: '',
      userId: '',
      scopes,
      revoked: false,
    });
  }

  /**
   * Exchanges a refresh token for a new access + refresh token pair. Refresh tokens are single-use:
   * code that forgets to store the new one fails on its next refresh (`invalid_refresh_token`).
   * The previous access token keeps working until it expires.
   */
  refresh(refreshToken: string, expiresInSec: number): { token: TokenRecord; refreshToken: string } | undefined {
    const r = this.byRefresh.get(refreshToken);
    if (!r || r.used || r.revoked) return undefined;
    r.used = true;
    const issued = this.issue({
      kind: r.kind,
      teamId: r.teamId,
      userId: r.userId,
      scopes: r.scopes,
      expiresInSec,
    });
    return { token: issued.token, refreshToken: issued.refreshToken! };
  }

  /** Live (not revoked) tokens of a workspace, optionally of one kind. */
  live(teamId: string, kind?: TokenKind): TokenRecord[] {
    return [...this.byToken.values()].filter((t) => t.teamId === teamId && !t.revoked && (!kind || t.kind === kind));
  }

  /** Revokes tokens (and the refresh tokens of the same identity) and returns what was revoked. */
  revoke(pred: (t: TokenRecord) => boolean): TokenRecord[] {
    const out: TokenRecord[] = [];
    for (const t of this.byToken.values()) {
      if (t.revoked || !pred(t)) continue;
      t.revoked = true;
      out.push(t);
      for (const r of this.byRefresh.values())
        if (r.teamId === t.teamId && r.userId === t.userId && r.kind === t.kind) r.revoked = true;
    }
    return out;
  }

  /** Makes every matching rotating token expire now (to force a refresh mid-flow). */
  expire(pred: (t: TokenRecord) => boolean): TokenRecord[] {
    const out: TokenRecord[] = [];
    for (const t of this.byToken.values())
      if (!t.revoked && t.expiresAt !== undefined && pred(t)) {
        t.expiresAt = Date.now() - 1;
        out.push(t);
      }
    return out;
  }

  list(): TokenRecord[] {
    return [...this.byToken.values()];
  }

  clear(): void {
    this.byToken.clear();
    this.byRefresh.clear();
  }

  get state(): TokenState {
    return { tokens: [...this.byToken.values()], refresh: [...this.byRefresh.values()] };
  }

  load(state: TokenState): void {
    this.clear();
    for (const t of state.tokens) this.byToken.set(t.token, t);
    for (const r of state.refresh) this.byRefresh.set(r.refreshToken, r);
  }
}
