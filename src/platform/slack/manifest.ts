import type { AnyFlow } from '../flow.js';
import { buildSlackRegistry, ROOT_COMMAND } from '../slack-ingress/registry.js';

/**
 * The Slack scopes, events and commands Threadline needs, in one place: the app manifest
 * (`npm run manifest`), the "Add to Slack" install and the connect-your-identity flow are all
 * built from these and from the flows' registry, so what Slack is asked for is what the code
 * calls. Each scope says which calls need it; a flow adds the scopes only it needs (`slack.scopes`).
 */
export const SLACK_BOT_SCOPES: Readonly<Record<string, string>> = {
  'chat:write': 'chat.postMessage, chat.update, chat.postEphemeral (threads, replies, notices)',
  'chat:write.public': 'posting in public channels the bot was not invited to',
  'channels:history': 'message events in public channels; conversations.history/replies (exactly-once lookups)',
  'groups:history': 'message events and lookups in private channels the bot is in',
  'im:history': 'message events and lookups in DMs',
  'channels:join': 'conversations.join, to read a public channel it posted in without being a member',
  'channels:read': 'conversations.members (who may see /threadline status)',
  'groups:read': 'conversations.members of private channels (who may see /threadline status)',
  'im:read': 'conversations.members of DMs',
  'im:write': 'conversations.open, to DM a person',
  'reactions:read': 'reaction_added / reaction_removed events',
  'users:read': 'users.info (names of people)',
  'users:read.email': 'users.lookupByEmail (owners and approvers given by email)',
  commands: 'slash commands',
};

/** What a connected person grants so a flow can post as them ("posted as them, not from a faceless bot"). */
export const SLACK_USER_SCOPES: Readonly<Record<string, string>> = {
  'chat:write': 'chat.postMessage as the person who connected their identity',
};

/** Bot events the ingress acts on (everything else Slack sends is acknowledged and counted as unsupported). */
export const SLACK_BOT_EVENTS = [
  'message.channels',
  'message.groups',
  'message.im',
  'reaction_added',
  'reaction_removed',
  'app_uninstalled',
  'tokens_revoked',
] as const;

/** Every bot scope: the platform's plus those the flows declare. */
export function botScopesFor(flows: readonly AnyFlow[]): string[] {
  return [...new Set([...Object.keys(SLACK_BOT_SCOPES), ...flows.flatMap((f) => f.slack?.scopes ?? [])])].sort();
}

export interface ManifestOptions {
  flows: readonly AnyFlow[];
  /** Socket Mode: no request URLs at all (no public URL, no tunnel). */
  socketMode: boolean;
  /** Public base URL of the API (`https://…`), required without Socket Mode. */
  url?: string;
  name?: string;
}

/**
 * The app manifest (Slack's "Create an app → From a manifest" format), generated from the code:
 * slash commands from the flows' registry (`/threadline` with its subcommands, and each flow's
 * own commands), bot and user scopes, event subscriptions, interactivity, and either Socket Mode
 * or the HTTP request URLs. `slack/manifest.json` is its Socket Mode output; a test keeps them equal.
 */
export function buildSlackManifest(opts: ManifestOptions) {
  if (!opts.socketMode && !opts.url) throw new Error('a manifest without Socket Mode needs --url https://…');
  const base = opts.url?.replace(/\/+$/, '');
  const at = (path: string) => (opts.socketMode ? {} : { url: `${base}${path}` });
  const registry = buildSlackRegistry(opts.flows);
  const subcommands = ['status <id>', ...registry.subcommands.keys(), 'help'];
  const name = opts.name ?? 'Threadline';
  return {
    display_information: {
      name,
      description: 'Durable operational work in Slack: every lifecycle owns one thread',
      background_color: '#1d3557',
    },
    features: {
      bot_user: { display_name: name, always_online: true },
      slash_commands: [
        {
          command: ROOT_COMMAND,
          description: 'Where a lifecycle stands, and what Threadline can start here',
          usage_hint: subcommands.join(' | '),
          should_escape: false,
          ...at('/slack/commands'),
        },
        ...[...registry.commands.entries()].map(([command, { spec }]) => ({
          command,
          description: spec.description.slice(0, 100),
          usage_hint: spec.usage.replace(/`/g, '').replace(command, '').trim().slice(0, 1000),
          should_escape: false,
          ...at('/slack/commands'),
        })),
      ],
    },
    oauth_config: {
      ...(opts.socketMode ? {} : { redirect_urls: [`${base}/slack/oauth_redirect`] }),
      scopes: { bot: botScopesFor(opts.flows), user: Object.keys(SLACK_USER_SCOPES) },
    },
    settings: {
      event_subscriptions: {
        ...(opts.socketMode ? {} : { request_url: `${base}/slack/events` }),
        bot_events: [...SLACK_BOT_EVENTS],
      },
      interactivity: {
        is_enabled: true,
        ...(opts.socketMode ? {} : { request_url: `${base}/slack/interactions` }),
      },
      org_deploy_enabled: false,
      socket_mode_enabled: opts.socketMode,
      token_rotation_enabled: false,
    },
  };
}
export type SlackManifest = ReturnType<typeof buildSlackManifest>;
