import type { Config } from '../config/index.js';
import type { Pool } from '../db/pool.js';
import { slackSubjectsRepo, type SlackSubjectsRepo } from '../db/repositories.js';
import type { Metrics } from '../observability/metrics.js';
import { createSlackClients, type SlackClients } from './clients.js';
import { installationsRepo, type InstallationsRepo } from './store.js';
import { createTokenCipher } from './token-cipher.js';

/** What the entry points compose from the config: the routed Slack client and the repos behind it. */
export interface ComposedSlack {
  clients: SlackClients;
  repos: { slackSubjects?: SlackSubjectsRepo; installations?: InstallationsRepo };
}

/**
 * The Slack clients of a process. With OAuth configured (`SLACK_CLIENT_ID`, always in the
 * sandbox) every call picks the installation of the lifecycle it is made for; without it
 * (single-workspace mode: just `SLACK_BOT_TOKEN`) every call uses that token, as before.
 */
export function slackClientsFor(opts: { config: Config; pool: Pool; metrics: Metrics }): ComposedSlack {
  const { slack } = opts.config;
  if (!slack.oauth) {
    return {
      clients: createSlackClients({ apiUrl: slack.apiUrl, defaultToken: slack.botToken || undefined }),
      repos: {},
    };
  }
  const installations = installationsRepo(opts.pool, createTokenCipher({ keys: slack.tokenKeys }));
  const slackSubjects = slackSubjectsRepo(opts.pool);
  return {
    clients: createSlackClients({
      apiUrl: slack.apiUrl,
      defaultToken: slack.botToken || undefined,
      installations,
      subjects: slackSubjects,
      oauthClient: { clientId: slack.oauth.clientId, clientSecret: slack.oauth.clientSecret },
      metrics: opts.metrics,
    }),
    repos: { slackSubjects, installations },
  };
}
