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
});

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
    .array(z.object({ token: z.string().min(1), scopes: z.array(z.string()), revoked: z.boolean().default(false) }))
    .default([]),
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

/** The sandbox workspace. Ids are fixed: the app's config defaults point at them. */
export const defaultSlackSeed: SlackSeed = {
  team: { id: 'T0THREADLN', name: 'Threadline Sandbox', domain: 'threadline-sandbox' },
  app: { id: 'A0THREADLN' },
  bot: { user_id: 'U0TLBOT', name: 'threadline', bot_id: 'B0TLBOT' },
  botScopes: DEFAULT_BOT_SCOPES,
  tokens: [],
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
