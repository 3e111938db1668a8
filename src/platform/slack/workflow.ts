import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { SlackResponseActivities } from './response-activities.js';
import type { SlackActivities } from './activities.js';
import { SLACK_RESPONSE_URL_OPTIONS, SLACK_VIEW_OPTIONS } from '../temporal/workflow/presets.js';
import type { SlackResponseRequest } from './contract.js';
import { statusText } from './domain/status-text.js';

const slack = proxyActivities<SlackResponseActivities & Pick<SlackActivities, 'postSlackEphemeral'>>(
  SLACK_RESPONSE_URL_OPTIONS,
);
const views = proxyActivities<Pick<SlackActivities, 'openSlackView'>>(SLACK_VIEW_OPTIONS);

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
      await slack.postSlackEphemeral({
        channel: req.channel,
        user: req.user,
        text: req.text,
        ...(req.teamId ? { teamId: req.teamId } : {}),
      });
    }
    return;
  }
  if (req.kind === 'open_view') {
    try {
      await views.openSlackView({
        triggerId: req.triggerId,
        view: req.view,
        ...(req.teamId ? { teamId: req.teamId } : {}),
      });
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
  const status = await slack.lookupSubjectStatus({
    query: req.query,
    user: req.user,
    ...(req.teamId ? { teamId: req.teamId } : {}),
  });
  await slack.respondToSlack({
    responseUrl: req.responseUrl,
    text: statusText(req.query, status, req.forms),
    responseType: 'ephemeral',
  });
}
