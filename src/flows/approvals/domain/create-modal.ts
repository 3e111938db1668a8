import { APPROVAL_BLOCK } from './blocks.js';
import { parseDuration } from './duration.js';

/** What the `/threadline approval` modal yields once its fields are valid. */
export interface CreateModalRequest {
  title: string;
  description?: string;
  approvers: string[];
  required: number;
  channel?: string;
  expireAfterMs?: number;
}

const get = (fields: Record<string, string>, block: string) => (fields[`${block}.${block}`] ?? '').trim();

/**
 * Validates a create-request submission (pure: it runs inside Slack's 3 s window). Errors are keyed
 * by block id, the shape `response_action: errors` wants.
 */
export function parseCreateSubmission(
  fields: Record<string, string>,
  user: string,
): { ok: true; request: CreateModalRequest } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const title = get(fields, APPROVAL_BLOCK.title);
  if (!title) errors[APPROVAL_BLOCK.title] = 'Say what needs approval.';
  else if (title.length > 150) errors[APPROVAL_BLOCK.title] = 'At most 150 characters.';
  const approvers = [
    ...new Set(
      get(fields, APPROVAL_BLOCK.approvers)
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    ),
  ];
  if (approvers.length === 0) errors[APPROVAL_BLOCK.approvers] = 'Pick at least one approver.';
  else if (approvers.includes(user)) errors[APPROVAL_BLOCK.approvers] = 'You cannot approve your own request.';
  const requiredRaw = get(fields, APPROVAL_BLOCK.required);
  let required = 1;
  if (requiredRaw) {
    required = Number(requiredRaw);
    if (!Number.isInteger(required) || required < 1) errors[APPROVAL_BLOCK.required] = 'A whole number, 1 or more.';
    else if (approvers.length && required > approvers.length)
      errors[APPROVAL_BLOCK.required] = `Only ${approvers.length} approver(s) picked.`;
  }
  const channel = get(fields, APPROVAL_BLOCK.channel) || undefined;
  const expireRaw = get(fields, APPROVAL_BLOCK.expireAfter);
  let expireAfterMs: number | undefined;
  if (expireRaw) {
    const d = parseDuration(expireRaw);
    if (d.ok) expireAfterMs = d.ms;
    else errors[APPROVAL_BLOCK.expireAfter] = 'A duration like 30m, 2h or 1d.';
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  const description = get(fields, APPROVAL_BLOCK.description) || undefined;
  return { ok: true, request: { title, description, approvers, required, channel, expireAfterMs } };
}
