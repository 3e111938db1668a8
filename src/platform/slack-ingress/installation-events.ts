import type { FastifyBaseLogger } from 'fastify';
import type { InboundEventsRepo } from '../db/repositories.js';
import type { ApiDeps } from '../flow.js';
import type { RequestBudget } from '../http/budget.js';
import { handOff } from '../ledger/handoff.js';
import type { Metrics } from '../observability/metrics.js';

/** Audit subject of an installation's own history (installed, revoked, reinstalled). */
export const installationSubject = (installationId: string) => `slack-installation:${installationId}`;

/**
 * `app_uninstalled`, or `tokens_revoked`: the app was removed from a workspace or some of its
 * tokens died. Recorded once per event id (the ledger), within the request's budget:
 * - the bot token died (`app_uninstalled`, or `tokens_revoked` naming the bot): the installation is
 *   marked revoked. Its lifecycles keep running but stop calling Slack (every call is refused
 *   before it leaves the process, and each step that would have called is audited and counted
 *   as `installation_dead`); a reinstall through /slack/install makes it active again and they
 *   resume;
 * - people's user tokens died (`tokens_revoked` naming them): posts that would have been made as
 *   them are made by the bot.
 * Each event writes an audit row (`slack.app_uninstalled`, `slack.tokens_revoked`) and each
 * change counts `threadline_slack_installation_events_total`. The single-workspace installation
 * (SLACK_BOT_TOKEN, no row) can only be logged loudly: its token must be replaced by hand.
 */
export async function recordInstallationEnded(
  deps: Pick<ApiDeps, 'repos' | 'metrics'>,
  hand: { inbound: InboundEventsRepo; metrics: Metrics },
  e: {
    team: string | undefined;
    eventId: string;
    type: string;
    tokens: { oauth: string[]; bot: string[] } | undefined;
    raw: Buffer;
    budget: RequestBudget;
    log: Pick<FastifyBaseLogger, 'error' | 'warn'>;
  },
): Promise<void> {
  const metric = (outcome: string) => deps.metrics.inboundEvents.inc({ source: 'slack', type: e.type, outcome });
  const installations = deps.repos.installations;
  const team = e.team;
  if (!team || !installations) {
    e.log.error({ event: e.type, team }, 'Slack installation ended: reinstall the app');
    metric('installation_ended');
    return;
  }
  const botDied = e.type === 'app_uninstalled' || (e.tokens?.bot.length ?? 0) > 0;
  const people = e.tokens?.oauth ?? [];
  await handOff(hand, {
    source: 'slack',
    eventId: e.eventId,
    type: e.type,
    rawBody: e.raw,
    subject: installationSubject(team),
    workflowId: installationSubject(team),
    budget: e.budget,
    teamId: team,
    send: async () => {
      const known = await e.budget.within('installation lookup', installations.info(team));
      if (!known) {
        // No OAuth installation: this is the SLACK_BOT_TOKEN workspace; its token must be replaced by hand.
        e.log.error({ event: e.type, team }, 'Slack installation ended: reinstall the app');
        return 'ignored';
      }
      const revoked = botDied ? await installations.markRevoked(team, e.type, e.budget) : false;
      const users = await installations.revokeUserTokens(team, people, e.budget);
      if (revoked) {
        deps.metrics.slackInstallations.inc({ event: 'revoked' });
        e.log.error(
          { event: e.type, team },
          "Slack installation revoked: this workspace's lifecycles stop calling Slack until the app is reinstalled",
        );
      }
      if (users > 0) deps.metrics.slackInstallations.inc({ event: 'user_tokens_revoked' });
      // Written on every delivery until one succeeds (same key): a retry after a failed audit
      // write still records what the first attempt changed.
      await e.budget.within(
        'installation audit',
        deps.repos.audit.append({
          subject: installationSubject(team),
          action: `slack.${e.type}`,
          actor: { kind: 'system', id: 'slack' },
          sourceSystem: 'slack',
          details: {
            event: e.type,
            team,
            botTokenRevoked: botDied,
            installationRevokedNow: revoked,
            userTokensRevoked: people,
          },
          idempotencyKey: `${installationSubject(team)}:${e.eventId}:audit`,
        }),
      );
      return undefined;
    },
  });
}
