import type { SlackEmulatorAdmin } from '../../../emulators/slack/admin-client.js';

/**
 * A person installs Threadline the way a browser does: opens `GET /slack/install` (which sets the
 * state cookie and redirects to Slack), clicks Allow on the emulator's authorize page as `user` of
 * `team`, and follows Slack's redirect back to `/slack/oauth_redirect` with the cookie.
 */
export async function installVia(
  api: string,
  slack: SlackEmulatorAdmin,
  team: string,
  user: string,
  path = '/slack/install',
): Promise<{ status: number; text: string }> {
  const start = await fetch(`${api}${path}`, { redirect: 'manual' });
  if (start.status !== 302) throw new Error(`${path} answered ${start.status}: ${await start.text()}`);
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0]!;
  const click = await slack.authorizeOAuth({ url: start.headers.get('location')!, team, user });
  const back = await fetch(click.redirect, { headers: { cookie }, redirect: 'manual' });
  return { status: back.status, text: await back.text() };
}
