import { z } from 'zod';

/** Scopes the sandbox bot token carries; the app's manifest asks for exactly these. */
export const DEFAULT_BOT_SCOPES = [
  'chat:write',
  'chat:write.public',
  'channels:read',
  'channels:history',
  'channels:join',
  'channels:manage',
  'groups:read',
  'groups:history',
  'groups:write',
  'im:write',
  'im:history',
  'reactions:read',
  'reactions:write',
  'users:read',
  'users:read.email',
  'commands',
  'team:read',
];

const userSeedSchema = z.object({
  id: z.string().regex(/^[UW][A-Z0-9]+$/),
  name: z.string().min(1),
  real_name: z.string(),
  display_name: z.string().default(''),
  email: z.string(),
  tz: z.string().default('Asia/Kolkata'),
  is_admin: z.boolean().default(false),
  is_owner: z.boolean().default(false),
  /** A deactivated account: still listed by users.list, with `deleted: true`. */
  deleted: z.boolean().default(false),
  /** Multi-channel guest. */
  is_restricted: z.boolean().default(false),
  /** Single-channel guest. */
  is_ultra_restricted: z.boolean().default(false),
  /** Invited but not yet signed in (`is_invited_user: true` only while pending). */
  is_invited_user: z.boolean().default(false),
  /** Another app's bot user (not ours): `is_bot: true` with a `bot_id` in its profile. */
  is_bot: z.boolean().default(false),
});
export type SeedUser = z.output<typeof userSeedSchema>;

const channelSeedSchema = z.object({
  id: z.string().regex(/^[CGD][A-Z0-9]+$/),
  name: z.string().min(1),
  is_private: z.boolean().default(false),
  is_archived: z.boolean().default(false),
  /** Whether the bot user is a member; people listed in `members` (default: every seeded person). */
  bot_member: z.boolean().default(true),
  members: z.array(z.string()).optional(),
  topic: z.string().default(''),
  purpose: z.string().default(''),
});

/** A workspace the emulator starts from (and returns to on `/_admin/reset`). */
export const slackSeedSchema = z.object({
  team: z.object({ id: z.string(), name: z.string(), domain: z.string() }),
  app: z.object({ id: z.string() }),
  bot: z.object({ user_id: z.string(), name: z.string(), bot_id: z.string() }),
  /** Scopes of the main bot token (the one passed as `botToken`). */
  botScopes: z.array(z.string()).default(DEFAULT_BOT_SCOPES),
  /** Extra tokens, e.g. with fewer scopes or revoked, to exercise missing_scope / token_revoked. */
  tokens: z
    .array(
      z.object({
        token: z.string().min(1),
        scopes: z.array(z.string()),
        revoked: z.boolean().default(false),
        /** `bot` (default) tokens act as the bot user; `user` tokens act as `user`. */
        kind: z.enum(['bot', 'user']).default('bot'),
        user: z.string().optional(),
      }),
    )
    .default([]),
  /** Set for a workspace that belongs to an Enterprise Grid org (shows in OAuth answers and event envelopes). */
  enterprise: z.object({ id: z.string().regex(/^E[A-Z0-9]+$/), name: z.string() }).optional(),
  /** Workspace preferences the Web API enforces. */
  prefs: z
    .object({
      /** admin.* methods (e.g. admin.users.invite) answer `feature_not_enabled` unless the Admin API is on. */
      admin_api_enabled: z.boolean().default(false),
      /** Who may remove members from channels (`restricted_action` for everyone else, bots included). */
      who_can_kick_channels: z.enum(['everyone', 'admins']).default('everyone'),
      who_can_kick_groups: z.enum(['everyone', 'admins']).default('everyone'),
    })
    .default({ admin_api_enabled: false, who_can_kick_channels: 'everyone', who_can_kick_groups: 'everyone' }),
  /** The workspace's custom emoji names (reactions.add accepts these besides Slack's standard set). */
  custom_emoji: z.array(z.string().regex(/^[a-z0-9_+'-]+$/)).default([]),
  /** The app's own bot user id is not listed here; it is `bot.user_id`. */
  users: z.array(userSeedSchema),
  channels: z.array(channelSeedSchema),
});
export type SlackSeed = z.input<typeof slackSeedSchema>;
export type ParsedSlackSeed = z.output<typeof slackSeedSchema>;

const person = (id: string, name: string, real_name: string, email: string, is_admin = false) => ({
  id,
  name,
  real_name,
  display_name: real_name.split(' ')[0]!,
  email,
  tz: 'Asia/Kolkata',
  is_admin,
});

/**
 * A user token of the sandbox's admin (U0ALICE) with the Admin API scopes, for membership flows.
 * Not in the seed (an uninstall would revoke it too); `startSlackEmulator({userTokens})` adds it.
 */
export const SANDBOX_ADMIN_USER_TOKEN = 'xoxp-threadline-sandbox-admin-token';
export const ADMIN_USER_SCOPES = [
  'admin.users:read',
  'admin.users:write',
  'users:read',
  'users:read.email',
  'chat:write',
];

/** The sandbox workspace. Ids are fixed: the app's config defaults point at them. */
export const defaultSlackSeed: SlackSeed = {
  team: { id: 'T0THREADLN', name: 'Threadline Sandbox', domain: 'threadline-sandbox' },
  app: { id: 'A0THREADLN' },
  bot: { user_id: 'U0TLBOT', name: 'threadline', bot_id: 'B0TLBOT' },
  botScopes: DEFAULT_BOT_SCOPES,
  tokens: [],
  // The sandbox lets the Admin API invite people, so membership flows work without a Grid org.
  prefs: { admin_api_enabled: true, who_can_kick_channels: 'everyone', who_can_kick_groups: 'everyone' },
  users: [
    person('U0ALICE', 'alice', 'Alice Admin', 'alice@example.com', true),
    person('U0BOB', 'bob', 'Bob Banker', 'bob@example.com'),
    person('U0CAROL', 'carol', 'Carol Controller', 'carol@example.com'),
    person('U0DAVE', 'dave', 'Dave Developer', 'dave@example.com'),
    person('U0ERIN', 'erin', 'Erin Sales', 'erin@example.com'),
  ],
  channels: [
    { id: 'C0PAYMENTS', name: 'payments', purpose: 'One thread per payment' },
    { id: 'C0PARTPAY', name: 'payments-part', purpose: 'Partial payments' },
    { id: 'C0APPROVAL', name: 'approvals', purpose: 'Approval requests' },
    { id: 'C0ESCALATE', name: 'escalations', purpose: 'SLA escalations' },
    { id: 'C0OPSALERT', name: 'ops-alerts', purpose: 'Operational alerts' },
    { id: 'C0TICKETS', name: 'tickets', purpose: 'Jira-linked tickets' },
    { id: 'G0FINANCE', name: 'finance-private', is_private: true, bot_member: false },
    { id: 'C0ARCHIVED', name: 'old-announcements', is_archived: true },
  ],
};

/**
 * A second workspace where the same app can be installed (through OAuth). Its channels reuse the
 * sandbox's channel ids on purpose: code that looks channels up without the team id crosses over,
 * and tests see it. Its people and bot user are its own.
 */
export const secondSlackSeed: SlackSeed = {
  team: { id: 'T0ACMECORP', name: 'Acme Corp', domain: 'acme-corp' },
  app: { id: 'A0THREADLN' },
  bot: { user_id: 'U0ACMEBOT', name: 'threadline', bot_id: 'B0ACMEBOT' },
  botScopes: DEFAULT_BOT_SCOPES,
  tokens: [],
  users: [
    person('U0ASHA', 'asha', 'Asha Admin', 'asha@acme.example', true),
    person('U0BILAL', 'bilal', 'Bilal Buyer', 'bilal@acme.example'),
    person('U0CHEN', 'chen', 'Chen Checker', 'chen@acme.example'),
  ],
  channels: defaultSlackSeed.channels,
};
