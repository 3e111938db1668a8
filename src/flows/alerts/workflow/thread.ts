import type { SlackActivities } from '../../../platform/slack/activities.js';
import type { createTolerant } from '../../../platform/temporal/workflow/lifecycle.js';

/**
 * The thread replies of an alert or a ChatOps run: one post under the run's root message per
 * step, keyed `<workflow id>:<step>` (exactly once), tolerated like every post (a reply that will
 * not happen is loud, and the lifecycle goes on). Nothing is posted while there is no root.
 */
export function threadReplier(o: {
  workflowId: string;
  purpose: string;
  root: () => { channel: string; ts: string } | undefined;
  tolerant: ReturnType<typeof createTolerant>;
  slack: Pick<SlackActivities, 'postSlackMessage'>;
}) {
  return (step: string, text: string) => {
    const root = o.root();
    return root
      ? o.tolerant(step, () =>
          o.slack.postSlackMessage({
            subject: o.workflowId,
            channel: root.channel,
            threadTs: root.ts,
            text,
            purpose: o.purpose,
            idempotencyKey: `${o.workflowId}:${step}`,
          }),
        )
      : undefined;
  };
}
