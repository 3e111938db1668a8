import { condition, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SlackActivities } from '../../src/platform/slack/activities.js';
import { SLACK_ACTIVITY_OPTIONS } from '../../src/platform/temporal/workflow/presets.js';

const slack = proxyActivities<Pick<SlackActivities, 'postSlackMessage' | 'updateSlackMessage'>>(SLACK_ACTIVITY_OPTIONS);

/** The bench's "captured" event for the bare baseline. */
export const baselineCapturedSignal = defineSignal<[{ amount: string }]>('baselineCaptured');

export interface BaselineInput {
  channel: string;
  payer: string;
  amount: string;
}

/**
 * The bare baseline of the payments throughput bench: the same Slack calls a payment lifecycle
 * makes (root post, one thread reply on capture, the root's update) through the same activities
 * (exactly-once posts by key), with no bookkeeping at all: no audit rows, snapshots, routing
 * lookups, search attributes or timers. Not a product workflow: bench/ only.
 */
export async function benchBaselineWorkflow(input: BaselineInput): Promise<void> {
  const subject = workflowInfo().workflowId;
  let captured: { amount: string } | undefined;
  setHandler(baselineCapturedSignal, (c) => {
    captured = c;
  });
  const text = `Payment from ${input.payer}: ${input.amount} (initiated)`;
  const section = (t: string) => [{ type: 'section', text: { type: 'mrkdwn', text: t } }];
  const root = await slack.postSlackMessage({
    subject,
    channel: input.channel,
    text,
    blocks: section(text),
    purpose: 'root',
    idempotencyKey: `${subject}:root`,
  });
  await condition(() => captured !== undefined);
  const done = `Payment from ${input.payer}: ${captured!.amount} (captured)`;
  await Promise.all([
    slack.postSlackMessage({
      subject,
      channel: root.channel,
      threadTs: root.ts,
      text: `Captured ${captured!.amount}`,
      blocks: section(`Captured ${captured!.amount}`),
      purpose: 'reply',
      idempotencyKey: `${subject}:captured`,
    }),
    slack.updateSlackMessage({ channel: root.channel, ts: root.ts, text: done, blocks: section(done) }),
  ]);
}
