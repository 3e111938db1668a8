import { z } from 'zod';

/** A Slack person: `U…`, or `W…` on Enterprise Grid. */
const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id like U0123ABCD');

/**
 * Answers of a post made with a person's user token after which the bot posts instead. Each one
 * means Slack refused the request before anything was posted (the token, or the person's access
 * to the channel), so the bot's post is never a second copy.
 */
export const POST_AS_FALLBACK_CODES: ReadonlySet<string> = new Set([
  'token_revoked',
  'invalid_auth',
  'account_inactive',
  'not_authed',
  'missing_scope',
  // The person is not in that channel (or cannot see it): their token cannot post there.
  'not_in_channel',
]);

/** Answers that say the user token itself is dead: it is marked revoked, so it is not tried again. */
export const DEAD_USER_TOKEN_CODES: ReadonlySet<string> = new Set([
  'token_revoked',
  'invalid_auth',
  'account_inactive',
]);

/** Which person posts a kind's messages: kind (`<kind>` of a subject `<kind>:<id>`) → Slack user id. */
export type PostAsConfig = Readonly<Record<string, string>>;

/**
 * Parses `SLACK_POST_AS` (`<flow or kind>=<user id>,…`, e.g. `<flow>=U0ALICE,<kind>=U0OPS`)
 * against the registered flows: a flow name stands for every kind it declares, and a name that is
 * neither a flow nor a kind is a problem (a typo would otherwise silently post as the bot).
 * The platform stays flow-agnostic: it only knows names the flows declared.
 */
export function parsePostAs(
  value: string | undefined,
  flows: readonly { name: string; kinds: readonly string[] }[],
): { postAs: PostAsConfig; problems: string[] } {
  const postAs: Record<string, string> = {};
  const problems: string[] = [];
  if (!value) return { postAs, problems };
  const problem = (m: string) => problems.push(`SLACK_POST_AS: ${m}`);
  for (const entry of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, user, ...rest] = entry.split('=').map((s) => s.trim());
    const parsedUser = slackUserId.safeParse(user);
    if (!name || rest.length > 0 || !parsedUser.success) {
      problem(`"${entry}" is not <flow or kind>=<Slack user id like U0123ABCD>`);
      continue;
    }
    const flow = flows.find((f) => f.name === name);
    const kinds = flow ? flow.kinds : flows.some((f) => f.kinds.includes(name)) ? [name] : [];
    if (kinds.length === 0) {
      problem(`"${name}" is neither a flow nor a kind (${flows.map((f) => f.name).join(', ')})`);
      continue;
    }
    for (const kind of kinds) {
      if (postAs[kind] !== undefined && postAs[kind] !== parsedUser.data)
        problem(`kind "${kind}" is given two people (${postAs[kind]}, ${parsedUser.data})`);
      postAs[kind] = parsedUser.data;
    }
  }
  return { postAs, problems };
}

/**
 * The person a message of `subject` into `channel` is posted as, if any. DMs (a user id, or a
 * `D…` conversation) are always the bot's: a DM from the bot is the app's own conversation with
 * that person, and a person's token would need `im:write` to open one.
 */
export function personFor(postAs: PostAsConfig, subject: string, channel: string): string | undefined {
  if (/^[UWD]/.test(channel)) return undefined;
  const kind = subject.split(':', 1)[0]!;
  return Object.hasOwn(postAs, kind) ? postAs[kind] : undefined;
}
