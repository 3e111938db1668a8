/**
 * Naming convention for everything clickable Threadline posts, so the ingress can route a click
 * without knowing the flows: action ids and view callback ids are `tl:<verb>`; a button's value,
 * or a view's private_metadata, carries the owning workflow id (`<kind>:<id>`), optionally followed
 * by `|<extra>`.
 */
export const ACTION_PREFIX = 'tl:';

export interface ActionSpec {
  /** `update`: authorized/answered synchronously through the workflow's validator; `signal`: fire and forget. */
  mode: 'update' | 'signal';
  /** For view submissions: modal fields that must be non-empty (answered with response_action: errors). */
  requiredFields?: { blockId: string; actionId: string; message: string }[];
}

/** Every verb Threadline understands. Unknown verbs are acknowledged and counted, never processed. */
export const ACTIONS: Record<string, ActionSpec> = {
  'approval.approve': { mode: 'update' },
  'approval.reject': { mode: 'update' },
  'approval.reject_reason': {
    mode: 'update',
    requiredFields: [{ blockId: 'reason', actionId: 'reason', message: 'Please give a reason for rejecting.' }],
  },
  'approval.create': { mode: 'signal' },
  'payment.ack': { mode: 'update' },
  'ticket.accept': { mode: 'update' },
  'ticket.reassign': { mode: 'update' },
};

export function actionId(verb: string): string {
  return `${ACTION_PREFIX}${verb}`;
}

export function parseActionId(id: string): string | undefined {
  return id.startsWith(ACTION_PREFIX) ? id.slice(ACTION_PREFIX.length) : undefined;
}

const WORKFLOW_ID = /^(payment|approval|ticket):[\w.:-]{1,200}$/;

/** Splits `<workflowId>|<extra>`; undefined when the workflow id is not one of ours. */
export function parseTarget(value: string | undefined): { workflowId: string; extra?: string } | undefined {
  if (!value) return undefined;
  const [workflowId, ...rest] = value.split('|');
  if (!workflowId || !WORKFLOW_ID.test(workflowId)) return undefined;
  return rest.length ? { workflowId, extra: rest.join('|') } : { workflowId };
}

export function target(workflowId: string, extra?: string): string {
  return extra === undefined ? workflowId : `${workflowId}|${extra}`;
}

/** Field errors for a view submission (pure, so it fits the 3 s window). */
export function validateViewFields(spec: ActionSpec, fields: Record<string, string>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const f of spec.requiredFields ?? []) {
    if (!(fields[`${f.blockId}.${f.actionId}`] ?? '').trim()) errors[f.blockId] = f.message;
  }
  return errors;
}
