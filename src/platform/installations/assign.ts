import { z } from 'zod';
import type { PlatformRepos } from '../flow.js';
import { AppError } from '../http/errors.js';

/** A Slack workspace (`T…`) or, for an org-wide install, an Enterprise Grid org (`E…`). */
export const slackTeamIdSchema = z.string().regex(/^[TE][A-Z0-9]{2,}$/, 'a Slack team id like T0123ABCD');

/**
 * Records which Slack workspace a lifecycle started through the API belongs to, before its first
 * post: every Slack call of that workflow then uses that workspace's installation (the platform
 * resolves it from the workflow id, so the flow's activities need no change). No team: the
 * default installation (SLACK_BOT_TOKEN), as in single-workspace mode. A team that is not
 * installed, or whose installation is revoked, is refused with a 400 naming `slackTeamId`
 * (posting there could only fail).
 */
export async function assignSlackTeam(
  repos: PlatformRepos,
  subject: string,
  teamId: string | undefined,
): Promise<void> {
  if (!teamId) return;
  const found = await repos.installations?.info(teamId);
  if (!found || !repos.slackSubjects) {
    throw AppError.badRequest('invalid_body', `slackTeamId: Threadline is not installed in Slack workspace ${teamId}`);
  }
  if (found.status !== 'active') {
    throw AppError.badRequest(
      'invalid_body',
      `slackTeamId: the installation in ${teamId} was revoked (${found.revokedReason ?? 'revoked'}); reinstall the app there`,
    );
  }
  await repos.slackSubjects.assign(subject, teamId);
}
