import type { TrackerWebhookAdapter } from '../../flows/tickets/tracker.js';
import { verifyJiraSignature } from './signature.js';
import { parseJiraWebhook } from './webhook.js';

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Jira Cloud webhooks for the ticket flow's route: `X-Hub-Signature` over the raw body,
 * deliveries named by `X-Atlassian-Webhook-Identifier` (constant across Jira's retries), v2
 * bodies mapped onto `TicketEvent`.
 */
export const jiraWebhookAdapter: TrackerWebhookAdapter = {
  name: 'jira',
  signatureHeader: 'X-Hub-Signature',
  verify: ({ secret, rawBody, headers }) =>
    verifyJiraSignature({ secret, rawBody, signature: header(headers, 'x-hub-signature') }),
  deliveryId: (headers) => {
    const id = header(headers, 'x-atlassian-webhook-identifier')?.trim();
    return id && /^[\w.:-]{1,128}$/.test(id) ? id : undefined;
  },
  parse: parseJiraWebhook,
};
