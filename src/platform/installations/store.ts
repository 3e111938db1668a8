import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import type pg from 'pg';
import type { Deadline } from '../http/budget.js';
import { queryWithin, type Pool } from '../db/pool.js';
import type { SealedToken, TokenCipher } from './token-cipher.js';
import { installationOf } from '../../integrations/slack/inbound.js';

/** What the product may show about an installation: never a token, sealed or not. */
export interface InstallationInfo {
  installationId: string;
  teamId: string | null;
  enterpriseId: string | null;
  isEnterpriseInstall: boolean;
  teamName: string | null;
  appId: string | null;
  botUserId: string | null;
  botId: string | null;
  botScopes: string[];
  status: 'active' | 'revoked';
  revokedReason: string | null;
  revokedAt: string | null;
  /** Rotating tokens only. */
  botExpiresAt: string | null;
  tokenKeyId: string;
  installedBy: string | null;
}

/** A token of an installation, opened, with what rotating it needs. */
export interface TokenCredentials {
  token: string;
  refreshToken?: string;
  /** Epoch ms; rotating tokens only. */
  expiresAtMs?: number;
}

/** The outcome of saving an installation: first install, or a reinstall (of a revoked one, say). */
export interface SavedInstallation {
  installationId: string;
  previousStatus: 'active' | 'revoked' | undefined;
}

type Row = Record<string, unknown>;

const bound = {
  bot: (id: string) => `${id}:bot`,
  botRefresh: (id: string) => `${id}:bot_refresh`,
  user: (id: string, user: string) => `${id}:user:${user}`,
  userRefresh: (id: string, user: string) => `${id}:user_refresh:${user}`,
};

const sealed = (keyId: unknown, bytes: unknown): SealedToken | undefined =>
  typeof keyId === 'string' && Buffer.isBuffer(bytes) ? { keyId, sealed: bytes } : undefined;

function info(r: Row): InstallationInfo {
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
  return {
    installationId: r.installation_id as string,
    teamId: (r.team_id as string | null) ?? null,
    enterpriseId: (r.enterprise_id as string | null) ?? null,
    isEnterpriseInstall: r.is_enterprise_install === true,
    teamName: (r.team_name as string | null) ?? null,
    appId: (r.app_id as string | null) ?? null,
    botUserId: (r.bot_user_id as string | null) ?? null,
    botId: (r.bot_id as string | null) ?? null,
    botScopes: (r.bot_scopes as string[] | null) ?? [],
    status: r.status === 'revoked' ? 'revoked' : 'active',
    revokedReason: (r.revoked_reason as string | null) ?? null,
    revokedAt: iso(r.revoked_at),
    botExpiresAt: iso(r.bot_expires_at),
    tokenKeyId: r.bot_token_key_id as string,
    installedBy: (r.installed_by as string | null) ?? null,
  };
}

const INFO_COLUMNS = `installation_id, team_id, enterprise_id, is_enterprise_install, team_name, app_id, bot_user_id,
  bot_id, bot_scopes, status, revoked_reason, revoked_at, bot_expires_at, bot_token_key_id, installed_by`;

/**
 * The installations of the app in Postgres, tokens sealed by `cipher`. Also serves
 * `@slack/oauth`'s InstallProvider as its installation store (`asInstallationStore`).
 */
export function installationsRepo(pool: Pool, cipher: TokenCipher) {
  const run = <R extends pg.QueryResultRow>(step: string, text: string, values: unknown[], within?: Deadline) =>
    within ? queryWithin<R>(pool, within, step, text, values) : pool.query<R>(text, values);

  async function open(t: SealedToken | undefined, boundTo: string): Promise<string | undefined> {
    return t ? cipher.open(t, boundTo) : undefined;
  }

  const repo = {
    /**
     * Stores what an OAuth install returned: the bot token (sealed) and, when the person granted
     * user scopes, their user token. A reinstall replaces the tokens and makes a revoked
     * installation active again (its lifecycles resume).
     */
    async save(i: Installation): Promise<SavedInstallation> {
      const id = installationOf({
        teamId: i.team?.id,
        enterpriseId: i.enterprise?.id,
        isEnterpriseInstall: i.isEnterpriseInstall,
      });
      if (!id) throw new Error('an installation without a team or enterprise id');
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const prev = await client.query<{ status: 'active' | 'revoked' }>(
          'SELECT status FROM slack_installations WHERE installation_id = $1 FOR UPDATE',
          [id],
        );
        const previousStatus = prev.rows[0]?.status;
        if (i.bot) {
          const bot = await cipher.seal(i.bot.token, bound.bot(id));
          const refresh = i.bot.refreshToken ? await cipher.seal(i.bot.refreshToken, bound.botRefresh(id)) : undefined;
          await client.query(
            `INSERT INTO slack_installations (installation_id, team_id, enterprise_id, is_enterprise_install, team_name,
               app_id, bot_user_id, bot_id, bot_scopes, bot_token_key_id, bot_token_enc, bot_refresh_key_id,
               bot_refresh_enc, bot_expires_at, installed_by, status, revoked_at, revoked_reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'active', NULL, NULL)
             ON CONFLICT (installation_id) DO UPDATE SET
               team_id = EXCLUDED.team_id, enterprise_id = EXCLUDED.enterprise_id,
               is_enterprise_install = EXCLUDED.is_enterprise_install, team_name = EXCLUDED.team_name,
               app_id = EXCLUDED.app_id, bot_user_id = EXCLUDED.bot_user_id, bot_id = EXCLUDED.bot_id,
               bot_scopes = EXCLUDED.bot_scopes, bot_token_key_id = EXCLUDED.bot_token_key_id,
               bot_token_enc = EXCLUDED.bot_token_enc, bot_refresh_key_id = EXCLUDED.bot_refresh_key_id,
               bot_refresh_enc = EXCLUDED.bot_refresh_enc, bot_expires_at = EXCLUDED.bot_expires_at,
               installed_by = EXCLUDED.installed_by, status = 'active', revoked_at = NULL, revoked_reason = NULL,
               updated_at = now()`,
            [
              id,
              i.team?.id ?? null,
              i.enterprise?.id ?? null,
              i.isEnterpriseInstall === true,
              i.team?.name ?? i.enterprise?.name ?? null,
              i.appId ?? null,
              i.bot.userId,
              i.bot.id,
              i.bot.scopes,
              bot.keyId,
              bot.sealed,
              refresh?.keyId ?? null,
              refresh?.sealed ?? null,
              i.bot.expiresAt ? new Date(i.bot.expiresAt * 1000) : null,
              i.user.id,
            ],
          );
        } else if (!previousStatus) {
          throw new Error('a person can connect their identity only to a workspace the app is installed in');
        }
        if (i.user.token) await saveUserToken(client, id, i.user);
        await client.query('COMMIT');
        return { installationId: id, previousStatus };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async info(installationId: string): Promise<InstallationInfo | undefined> {
      const { rows } = await pool.query(`SELECT ${INFO_COLUMNS} FROM slack_installations WHERE installation_id = $1`, [
        installationId,
      ]);
      return rows[0] ? info(rows[0] as Row) : undefined;
    },

    async list(): Promise<InstallationInfo[]> {
      const { rows } = await pool.query(`SELECT ${INFO_COLUMNS} FROM slack_installations ORDER BY installation_id`);
      return rows.map((r) => info(r as Row));
    },

    /** The bot token of an installation, opened; undefined when there is no such installation. */
    async botCredentials(
      installationId: string,
    ): Promise<{ status: 'active' | 'revoked'; credentials: TokenCredentials } | undefined> {
      const { rows } = await pool.query(
        `SELECT status, bot_token_key_id, bot_token_enc, bot_refresh_key_id, bot_refresh_enc, bot_expires_at
         FROM slack_installations WHERE installation_id = $1`,
        [installationId],
      );
      const r = rows[0] as Row | undefined;
      if (!r) return undefined;
      return { status: r.status === 'revoked' ? 'revoked' : 'active', credentials: await botOf(installationId, r) };
    },

    /** A connected person's user token (undefined when missing or revoked). */
    async userCredentials(installationId: string, userId: string): Promise<TokenCredentials | undefined> {
      const { rows } = await pool.query(
        `SELECT u.token_key_id, u.token_enc, u.refresh_key_id, u.refresh_enc, u.expires_at
         FROM slack_user_tokens u JOIN slack_installations i USING (installation_id)
         WHERE u.installation_id = $1 AND u.user_id = $2 AND u.revoked_at IS NULL AND i.status = 'active'`,
        [installationId, userId],
      );
      const r = rows[0] as Row | undefined;
      if (!r) return undefined;
      return userOf(installationId, userId, r);
    },

    /**
     * Rotates a token under a row lock, so two processes never spend the same single-use refresh
     * token: the second one finds the fresh token the first stored. `refresh` is called only when
     * the stored token still expires before `minValidUntilMs` (or was rejected: `force`).
     */
    async rotate(input: {
      installationId: string;
      userId?: string;
      minValidUntilMs: number;
      /** The token a call was just refused with (`token_expired`): rotate even if it looks valid. */
      rejected?: string;
      refresh: (refreshToken: string) => Promise<{ token: string; refreshToken: string; expiresInSec: number }>;
    }): Promise<TokenCredentials> {
      const { installationId: id, userId } = input;
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = userId
          ? await client.query(
              `SELECT token_key_id, token_enc, refresh_key_id, refresh_enc, expires_at FROM slack_user_tokens
               WHERE installation_id = $1 AND user_id = $2 AND revoked_at IS NULL FOR UPDATE`,
              [id, userId],
            )
          : await client.query(
              `SELECT status, bot_token_key_id, bot_token_enc, bot_refresh_key_id, bot_refresh_enc, bot_expires_at
               FROM slack_installations WHERE installation_id = $1 FOR UPDATE`,
              [id],
            );
        const r = rows[0] as Row | undefined;
        if (!r || r.status === 'revoked') throw new TokenRotationError('no_installation');
        const current = userId ? await userOf(id, userId, r) : await botOf(id, r);
        const stillValid = current.expiresAtMs === undefined || current.expiresAtMs > input.minValidUntilMs;
        if (stillValid && current.token !== input.rejected) {
          await client.query('COMMIT');
          return current;
        }
        if (!current.refreshToken) throw new TokenRotationError('no_refresh_token');
        const next = await input.refresh(current.refreshToken);
        const expiresAt = new Date(Date.now() + next.expiresInSec * 1000);
        if (userId) {
          const t = await cipher.seal(next.token, bound.user(id, userId));
          const rt = await cipher.seal(next.refreshToken, bound.userRefresh(id, userId));
          await client.query(
            `UPDATE slack_user_tokens SET token_key_id = $3, token_enc = $4, refresh_key_id = $5, refresh_enc = $6,
               expires_at = $7, updated_at = now() WHERE installation_id = $1 AND user_id = $2`,
            [id, userId, t.keyId, t.sealed, rt.keyId, rt.sealed, expiresAt],
          );
        } else {
          const t = await cipher.seal(next.token, bound.bot(id));
          const rt = await cipher.seal(next.refreshToken, bound.botRefresh(id));
          await client.query(
            `UPDATE slack_installations SET bot_token_key_id = $2, bot_token_enc = $3, bot_refresh_key_id = $4,
               bot_refresh_enc = $5, bot_expires_at = $6, updated_at = now() WHERE installation_id = $1`,
            [id, t.keyId, t.sealed, rt.keyId, rt.sealed, expiresAt],
          );
        }
        await client.query('COMMIT');
        return { token: next.token, refreshToken: next.refreshToken, expiresAtMs: expiresAt.getTime() };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    /**
     * `app_uninstalled`, or `tokens_revoked` naming the bot: the installation is revoked (kept, so a
     * reinstall resumes its lifecycles). True when this call changed it.
     */
    async markRevoked(installationId: string, reason: string, within?: Deadline): Promise<boolean> {
      const res = await run(
        'installation revoke',
        `UPDATE slack_installations SET status = 'revoked', revoked_at = now(), revoked_reason = $2, updated_at = now()
         WHERE installation_id = $1 AND status = 'active'`,
        [installationId, reason],
        within,
      );
      return (res.rowCount ?? 0) > 0;
    },

    /** `tokens_revoked` naming people: their user tokens stop being used (posts fall back to the bot). */
    async revokeUserTokens(installationId: string, userIds: string[], within?: Deadline): Promise<number> {
      if (userIds.length === 0) return 0;
      const res = await run(
        'user token revoke',
        `UPDATE slack_user_tokens SET revoked_at = now(), updated_at = now()
         WHERE installation_id = $1 AND user_id = ANY($2) AND revoked_at IS NULL`,
        [installationId, userIds],
        within,
      );
      return res.rowCount ?? 0;
    },

    /**
     * Re-encrypts every sealed token that is not sealed with the current key (after a new key was
     * put first in THREADLINE_TOKEN_KEYS). Row by row under a lock; safe to run while the app runs.
     * Rows sealed with a key that is not configured any more are listed in `unreadable` (ids only).
     */
    async reencrypt(): Promise<{ installations: number; userTokens: number; unreadable: string[] }> {
      const out = { installations: 0, userTokens: 0, unreadable: [] as string[] };
      const key = cipher.currentKeyId;
      const ids = await pool.query<{ installation_id: string; keys: string[] }>(
        `SELECT installation_id, array_remove(ARRAY[bot_token_key_id, bot_refresh_key_id], NULL) AS keys
         FROM slack_installations
         WHERE bot_token_key_id <> $1 OR (bot_refresh_key_id IS NOT NULL AND bot_refresh_key_id <> $1)`,
        [key],
      );
      for (const { installation_id: id, keys } of ids.rows) {
        // Sealed with a key that is no longer configured: it cannot be opened (nor re-encrypted).
        // Reported, not fatal: the rest still moves to the new key; that workspace must reinstall.
        if (!keys.every((k) => cipher.knows(k))) {
          out.unreadable.push(id);
          continue;
        }
        await inTransaction(async (c) => {
          const { rows } = await c.query(
            `SELECT bot_token_key_id, bot_token_enc, bot_refresh_key_id, bot_refresh_enc
             FROM slack_installations WHERE installation_id = $1 FOR UPDATE`,
            [id],
          );
          const r = rows[0] as Row;
          const bot = await reseal(sealed(r.bot_token_key_id, r.bot_token_enc)!, bound.bot(id));
          const rt = sealed(r.bot_refresh_key_id, r.bot_refresh_enc);
          const refresh = rt ? await reseal(rt, bound.botRefresh(id)) : undefined;
          await c.query(
            `UPDATE slack_installations SET bot_token_key_id = $2, bot_token_enc = $3, bot_refresh_key_id = $4,
               bot_refresh_enc = $5, updated_at = now() WHERE installation_id = $1`,
            [id, bot.keyId, bot.sealed, refresh?.keyId ?? null, refresh?.sealed ?? null],
          );
        });
        out.installations++;
      }
      const users = await pool.query<{ installation_id: string; user_id: string; keys: string[] }>(
        `SELECT installation_id, user_id, array_remove(ARRAY[token_key_id, refresh_key_id], NULL) AS keys
         FROM slack_user_tokens
         WHERE token_key_id <> $1 OR (refresh_key_id IS NOT NULL AND refresh_key_id <> $1)`,
        [key],
      );
      for (const { installation_id: id, user_id: user, keys } of users.rows) {
        if (!keys.every((k) => cipher.knows(k))) {
          out.unreadable.push(`${id}:${user}`);
          continue;
        }
        await inTransaction(async (c) => {
          const { rows } = await c.query(
            `SELECT token_key_id, token_enc, refresh_key_id, refresh_enc FROM slack_user_tokens
             WHERE installation_id = $1 AND user_id = $2 FOR UPDATE`,
            [id, user],
          );
          const r = rows[0] as Row;
          const t = await reseal(sealed(r.token_key_id, r.token_enc)!, bound.user(id, user));
          const rt = sealed(r.refresh_key_id, r.refresh_enc);
          const refresh = rt ? await reseal(rt, bound.userRefresh(id, user)) : undefined;
          await c.query(
            `UPDATE slack_user_tokens SET token_key_id = $3, token_enc = $4, refresh_key_id = $5, refresh_enc = $6,
               updated_at = now() WHERE installation_id = $1 AND user_id = $2`,
            [id, user, t.keyId, t.sealed, refresh?.keyId ?? null, refresh?.sealed ?? null],
          );
        });
        out.userTokens++;
      }
      return out;
    },

    /** `@slack/oauth`'s installation store interface over this repo. */
    asInstallationStore(hooks: { onSaved?: (s: SavedInstallation, i: Installation) => Promise<void> } = {}) {
      const store: InstallationStore = {
        storeInstallation: async (i) => {
          const saved = await repo.save(i);
          await hooks.onSaved?.(saved, i);
        },
        fetchInstallation: async (q: InstallationQuery<boolean>) => {
          const id = installationOf(q);
          const found = id ? await repo.info(id) : undefined;
          const creds = id ? await repo.botCredentials(id) : undefined;
          if (!found || !creds || found.status !== 'active') throw new Error('no active installation for that query');
          return {
            team: found.teamId ? { id: found.teamId, name: found.teamName ?? undefined } : undefined,
            enterprise: found.enterpriseId ? { id: found.enterpriseId } : undefined,
            isEnterpriseInstall: found.isEnterpriseInstall,
            appId: found.appId ?? undefined,
            user: { id: found.installedBy ?? '', token: undefined, scopes: undefined },
            bot: {
              token: creds.credentials.token,
              refreshToken: creds.credentials.refreshToken,
              expiresAt: creds.credentials.expiresAtMs ? Math.floor(creds.credentials.expiresAtMs / 1000) : undefined,
              scopes: found.botScopes,
              id: found.botId ?? '',
              userId: found.botUserId ?? '',
            },
            authVersion: 'v2',
          };
        },
        deleteInstallation: async (q) => {
          const id = installationOf(q);
          if (id) await repo.markRevoked(id, 'deleted');
        },
      };
      return store;
    },
  };
  return repo;

  async function botOf(id: string, r: Row): Promise<TokenCredentials> {
    const token = (await open(sealed(r.bot_token_key_id, r.bot_token_enc), bound.bot(id)))!;
    const refreshToken = await open(sealed(r.bot_refresh_key_id, r.bot_refresh_enc), bound.botRefresh(id));
    return {
      token,
      ...(refreshToken ? { refreshToken } : {}),
      ...(r.bot_expires_at instanceof Date ? { expiresAtMs: r.bot_expires_at.getTime() } : {}),
    };
  }

  async function userOf(id: string, user: string, r: Row): Promise<TokenCredentials> {
    const token = (await open(sealed(r.token_key_id, r.token_enc), bound.user(id, user)))!;
    const refreshToken = await open(sealed(r.refresh_key_id, r.refresh_enc), bound.userRefresh(id, user));
    return {
      token,
      ...(refreshToken ? { refreshToken } : {}),
      ...(r.expires_at instanceof Date ? { expiresAtMs: r.expires_at.getTime() } : {}),
    };
  }

  async function reseal(t: SealedToken, boundTo: string): Promise<SealedToken> {
    return t.keyId === cipher.currentKeyId ? t : cipher.seal(await cipher.open(t, boundTo), boundTo);
  }

  async function saveUserToken(client: pg.PoolClient, id: string, u: Installation['user']): Promise<void> {
    const t = await cipher.seal(u.token!, bound.user(id, u.id));
    const rt = u.refreshToken ? await cipher.seal(u.refreshToken, bound.userRefresh(id, u.id)) : undefined;
    await client.query(
      `INSERT INTO slack_user_tokens (installation_id, user_id, scopes, token_key_id, token_enc, refresh_key_id,
         refresh_enc, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (installation_id, user_id) DO UPDATE SET scopes = EXCLUDED.scopes,
         token_key_id = EXCLUDED.token_key_id, token_enc = EXCLUDED.token_enc,
         refresh_key_id = EXCLUDED.refresh_key_id, refresh_enc = EXCLUDED.refresh_enc,
         expires_at = EXCLUDED.expires_at, revoked_at = NULL, updated_at = now()`,
      [
        id,
        u.id,
        u.scopes ?? [],
        t.keyId,
        t.sealed,
        rt?.keyId ?? null,
        rt?.sealed ?? null,
        u.expiresAt ? new Date(u.expiresAt * 1000) : null,
      ],
    );
  }

  async function inTransaction(fn: (c: pg.PoolClient) => Promise<void>): Promise<void> {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      await fn(c);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}
export type InstallationsRepo = ReturnType<typeof installationsRepo>;

/** A token could not be rotated: no refresh token, or the installation is gone. */
export class TokenRotationError extends Error {
  constructor(readonly reason: 'no_installation' | 'no_refresh_token') {
    super(`cannot rotate the Slack token (${reason})`);
    this.name = 'TokenRotationError';
  }
}
