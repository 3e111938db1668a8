import type { Client } from '@temporalio/client';
import { createAuditActivities } from '../platform/audit/activities.js';
import { flowConfigOf, type ActivityImplementations, type AnyFlow, type WorkerDeps } from '../platform/flow.js';
import { createChannelPacer } from '../platform/pacing/channel-pacer.js';
import { createOpsActivities } from '../platform/ops/activities.js';
import { createSlackActivities, createSlackPoster, type SlackPosterDeps } from '../platform/slack/activities.js';
import { createSlackResponseActivities } from '../platform/slack/response-activities.js';
import type { SlackClients } from '../platform/installations/clients.js';

/**
 * Every activity the worker registers: the platform's (audit, Slack posting, the loud-failure
 * reporter, answers after the ack) and each flow's, from their factories. A name registered twice
 * is a start-up error.
 */
export async function createActivities(
  deps: WorkerDeps & {
    temporal: Client;
    responseUrlPrefixes: string[];
    /** Many workspaces: the routed client's scope (`createSlackClients`); absent in single-workspace tests. */
    slackScope?: NonNullable<SlackPosterDeps['scope']> & Pick<SlackClients, 'canPostAs' | 'userTokenDied'>;
  },
  flows: readonly AnyFlow[],
): Promise<ActivityImplementations> {
  // One poster: posts and ops alerts share its exactly-once lookup and DM-channel cache.
  const scope = deps.slackScope;
  const poster = createSlackPoster({
    slack: deps.slack,
    metrics: deps.metrics,
    scope,
    // SLACK_POST_AS: who posts each kind's channel messages (people connect per workspace).
    postAs:
      scope && Object.keys(deps.config.slack.postAs).length > 0
        ? { people: deps.config.slack.postAs, tokens: scope, audit: deps.repos.audit }
        : undefined,
    // Keyed by API URL + workspace + channel id: each workspace's channels pace on their own.
    pacer:
      deps.config.slack.postIntervalMs > 0
        ? createChannelPacer({
            pool: deps.pool,
            metrics: deps.metrics,
            intervalMs: deps.config.slack.postIntervalMs,
            scope: deps.config.slack.apiUrl,
          })
        : undefined,
  });
  // Ops alerts go to the ops workspace (SLACK_OPS_TEAM_ID, else SLACK_BOT_TOKEN's), whichever
  // workspace the lifecycle that failed belongs to.
  const opsPoster: typeof poster = scope
    ? {
        ...poster,
        postOnce: (input, store) =>
          scope.within({ teamId: deps.config.slack.opsTeamId }, () => poster.postOnce(input, store)),
      }
    : poster;
  const all: ActivityImplementations = {
    ...createAuditActivities({ audit: deps.repos.audit }),
    ...createSlackActivities({
      slack: deps.slack,
      slackMessages: deps.repos.slackMessages,
      metrics: deps.metrics,
      poster,
      scope,
    }),
    ...createOpsActivities({
      poster: opsPoster,
      audit: deps.repos.audit,
      registry: deps.metrics.registry,
      opsChannel: deps.config.slack.opsChannel,
      logger: deps.logger,
    }),
    ...createSlackResponseActivities({
      temporal: deps.temporal,
      audit: deps.repos.audit,
      slackMessages: deps.repos.slackMessages,
      slack: deps.slack,
      responseUrlPrefixes: deps.responseUrlPrefixes,
      metrics: deps.metrics,
      scope,
      statusCandidates: (q) => flows.flatMap((f) => f.status?.candidates(q) ?? []),
    }),
  };
  for (const flow of flows) {
    const worker = await flow.worker?.();
    if (!worker) continue;
    const own = worker.activities({ ...deps, flowConfig: flowConfigOf(deps.config, flow) });
    for (const name of Object.keys(own)) {
      if (name in all) throw new Error(`activity ${name} is registered twice (flow ${flow.name})`);
    }
    Object.assign(all, own);
  }
  return all;
}

/** Each flow's `onStart` (e.g. its Temporal Schedules), once per worker start, in registry order. */
export async function runFlowStartHooks(deps: WorkerDeps, flows: readonly AnyFlow[]): Promise<void> {
  for (const flow of flows) {
    const worker = await flow.worker?.();
    await worker?.onStart?.({ ...deps, flowConfig: flowConfigOf(deps.config, flow) });
  }
}
