import type { SlackBlock } from '../slack/contract.js';
import type { PermanentFailureReport } from './contract.js';

const REASON_TEXT: Record<PermanentFailureReport['reason'], string> = {
  permanent: 'failed permanently',
  installation_dead: "failed: the Slack installation's token is not usable (reinstall the app)",
  retries_exhausted: 'failed after every retry',
  timed_out: 'ran out of time retrying',
};

/** Slack mrkdwn has three control characters; ids and codes are escaped so nothing renders as a link or mention. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The ops-channel alert for one failed step: which subject, which step, what failed and why, and
 * what did not happen. Ids and codes only (the report carries no message text or names).
 */
export function buildOpsAlert(r: PermanentFailureReport): { text: string; blocks: SlackBlock[] } {
  const headline = `:rotating_light: ${esc(r.subject)}: step \`${esc(r.step)}\` ${REASON_TEXT[r.reason]}`;
  const lines = [
    `*Not delivered:* ${esc(r.notDelivered)}`,
    `*Error:* ${esc(r.system)} \`${esc(r.method)}\` → \`${esc(r.error)}\` (${esc(r.retryState)})`,
    `*Detail:* ${esc(r.message)}`,
    `*Workflow:* \`${esc(r.workflowId)}\` run \`${esc(r.runId)}\` at ${esc(r.occurredAt)}`,
    'The lifecycle went on without this step; the audit trail has the same record.',
  ];
  return {
    text: `${headline}\n${lines.join('\n')}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: headline } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 2900) } },
    ],
  };
}
