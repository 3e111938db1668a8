import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { SlackResponseActivities } from './response-activities.js';
import type { SlackActivities } from './activities.js';
import { NON_RETRYABLE_FAILURE_TYPES } from '../temporal/workflow/failure-types.js';
import type { SlackResponseRequest } from './inbound-contract.js';
import { statusText } from './status-text.js';

// response_url lives 30 minutes: retry briskly and give up well inside that window.
const slack = proxyActivities<SlackResponseActivities & Pick<SlackActivities, 'postSlackEphemeral'>>({
  startToCloseTimeout: '15 seconds',
  scheduleToCloseTimeout: '25 minutes',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES,
  },
});

// A trigger_id lives 3 s and works once: one quick attempt, a second only for a network blip.
const views = proxyActivities<Pick<SlackActivities, 'openSlackView'>>({
  startToCloseTimeout: '3 seconds',
  scheduleToCloseTimeout: '4 seconds',
  retry: { initialInterval: '100ms', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
});

/**
 * Answers a Slack user after the interaction was acked: a notice (e.g. "you are not an approver")
 * or the result of `/threadline status`. Started by the ingress with the interaction's trigger id
 * as workflow id, so a duplicate delivery answers once.
 */
export async function slackResponseWorkflow(req: SlackResponseRequest): Promise<void> {
  if (req.kind === 'notice') {
    if (req.responseUrl) {
      await slack.respondToSlack({ responseUrl: req.responseUrl, text: req.text, responseType: 'ephemeral' });
    } else if (req.channel) {
      await slack.postSlackEphemeral({ channel: req.channel, user: req.user, text: req.text });
    }
    return;
  }
  if (req.kind === 'open_view') {
    try {
      await views.openSlackView({ triggerId: req.triggerId, view: req.view });
    } catch (err) {
      if (!(err instanceof ActivityFailure) || !req.responseUrl) throw err;
      await slack.respondToSlack({
        responseUrl: req.responseUrl,
        text: 'Sorry, Slack did not let me open the form in time. Please run the command again.',
        responseType: 'ephemeral',
      });
    }
    return;
  }
  const status = await slack.lookupSubjectStatus({ query: req.query });
  await slack.respondToSlack({
    responseUrl: req.responseUrl,
    text: statusText(req.query, status),
    responseType: 'ephemeral',
  });
}
