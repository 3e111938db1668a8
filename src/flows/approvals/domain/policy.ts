import type { ApprovalSla, ApprovalState, ApprovalStatus, ApprovalVote } from '../contract.js';

/**
 * Approval rules as pure functions over the workflow state: who may decide now, what a vote does,
 * and which SLA timer is next. The workflow's Update validator calls `checkDecisionAuthority`, so
 * the same rule answers Slack clicks and is unit-tested here without Temporal.
 */

export const NOT_AN_APPROVER = 'You are not an approver for this request.';
export const OWN_REQUEST = 'You cannot approve or reject your own request.';

const mention = (u: string) => `<@${u}>`;

/** Slack's date formatting with an ISO fallback for clients that cannot render it. */
export function slackDate(iso: string): string {
  const unix = Math.floor(Date.parse(iso) / 1000);
  return `<!date^${unix}^{date_short_pretty} at {time}|${iso}>`;
}

/** "Already approved by @x at …" and friends: what a late click is told. */
export function closedText(s: ApprovalState): string {
  const at = s.decidedAt ? ` at ${slackDate(s.decidedAt)}` : '';
  switch (s.status) {
    case 'approved':
      return `Already decided: approved by ${s.decidedBy ? mention(s.decidedBy) : 'policy'}${at}.`;
    case 'rejected':
      return `Already decided: rejected by ${s.decidedBy ? mention(s.decidedBy) : 'someone'}${at}.`;
    case 'expired':
      return `This request expired${at}; nothing was changed.`;
    case 'cancelled':
      return `This request was cancelled${at}; nothing was changed.`;
    case 'pending':
      return 'This request is still pending.';
  }
}

/** Everyone who may decide at the current level (level approvers, plus escalation approvers once escalated). */
export function authorizedApprovers(s: ApprovalState): string[] {
  const level = s.levels[s.currentLevel];
  const base = level ? level.approvers : [];
  const extra = s.escalated ? s.escalationApprovers : [];
  return [...new Set([...base, ...extra])].filter((u) => u !== s.requesterId);
}

/** Distinct approvers who approved at the current level. */
export function approvalsAtCurrentLevel(s: ApprovalState): string[] {
  return [...new Set(s.votes.filter((v) => v.level === s.currentLevel && v.decision === 'approve').map((v) => v.user))];
}

/** Approvers of the current level still expected to act. */
export function pendingApprovers(s: ApprovalState): string[] {
  const done = new Set(approvalsAtCurrentLevel(s));
  return authorizedApprovers(s).filter((u) => !done.has(u));
}

export type AuthorityCheck = { ok: true } | { ok: false; message: string };

/**
 * May `user` approve/reject now? Order matters for the message a person sees: a closed request
 * says who decided; the requester is told they cannot decide their own request even if listed.
 */
export function checkDecisionAuthority(
  s: ApprovalState,
  user: string,
  decision: 'approve' | 'reject' | 'open_reject',
): AuthorityCheck {
  if (s.phase === 'resolving')
    return { ok: false, message: 'This request is still being set up; try again in a moment.' };
  if (s.phase === 'invalid') return { ok: false, message: 'This request could not be opened; nothing was changed.' };
  if (s.status !== 'pending') return { ok: false, message: closedText(s) };
  if (user === s.requesterId) return { ok: false, message: OWN_REQUEST };
  if (!authorizedApprovers(s).includes(user)) return { ok: false, message: NOT_AN_APPROVER };
  if (decision === 'approve' && approvalsAtCurrentLevel(s).includes(user)) {
    const level = s.levels[s.currentLevel]!;
    const missing = level.required - approvalsAtCurrentLevel(s).length;
    return {
      ok: false,
      message: `You already approved this request; waiting for ${missing} more approval${missing === 1 ? '' : 's'}.`,
    };
  }
  return { ok: true };
}

export type VoteOutcome = 'recorded' | 'level_advanced' | 'approved' | 'rejected' | 'ignored';

/**
 * Applies one vote. Re-checks authority (the validator ran against the state at acceptance;
 * two updates accepted in the same task are both applied here in order, so the second sees the first).
 */
export function applyVote(s: ApprovalState, vote: ApprovalVote): { state: ApprovalState; outcome: VoteOutcome } {
  const auth = checkDecisionAuthority(s, vote.user, vote.decision);
  if (!auth.ok) return { state: s, outcome: 'ignored' };
  const votes = [...s.votes, { ...vote, level: s.currentLevel }];
  if (vote.decision === 'reject') {
    return {
      state: decide(s, { votes }, 'rejected', vote.user, vote.at, vote.reason),
      outcome: 'rejected',
    };
  }
  const next: ApprovalState = { ...s, votes, version: s.version + 1 };
  const level = s.levels[s.currentLevel]!;
  if (approvalsAtCurrentLevel(next).length < level.required) return { state: next, outcome: 'recorded' };
  if (s.currentLevel + 1 < s.levels.length) {
    return { state: { ...next, currentLevel: s.currentLevel + 1 }, outcome: 'level_advanced' };
  }
  return { state: decide(s, { votes }, 'approved', vote.user, vote.at), outcome: 'approved' };
}

function decide(
  s: ApprovalState,
  patch: Partial<ApprovalState>,
  status: ApprovalStatus,
  by: string | undefined,
  at: string,
  reason?: string,
): ApprovalState {
  return {
    ...s,
    ...patch,
    status,
    decidedBy: by,
    decidedAt: at,
    ...(reason !== undefined ? { reason } : {}),
    version: s.version + 1,
  };
}

/** Closes a pending request without a vote (expiry, cancellation). No-op when already closed. */
export function closeRequest(
  s: ApprovalState,
  status: 'expired' | 'cancelled',
  at: string,
  by?: string,
  reason?: string,
): ApprovalState {
  if (s.status !== 'pending') return s;
  return decide(s, {}, status, by, at, reason);
}

export type SlaTimer = { kind: 'remind' | 'escalate' | 'expire'; atMs: number };

/** The next SLA timer of a pending request, counted from creation (so restarts and continue-as-new keep the schedule). */
export function nextSlaTimer(s: ApprovalState, sla: ApprovalSla): SlaTimer {
  const timers: SlaTimer[] = [{ kind: 'expire', atMs: s.createdAtMs + sla.expireAfterMs }];
  if (sla.remindAfterMs !== undefined && !s.reminded)
    timers.push({ kind: 'remind', atMs: s.createdAtMs + sla.remindAfterMs });
  if (sla.escalateAfterMs !== undefined && !s.escalated && (s.escalationApprovers.length > 0 || s.escalationChannel))
    timers.push({ kind: 'escalate', atMs: s.createdAtMs + sla.escalateAfterMs });
  // Earliest first; on a tie, remind before escalate before expire.
  const order = { remind: 0, escalate: 1, expire: 2 } as const;
  return timers.sort((a, b) => a.atMs - b.atMs || order[a.kind] - order[b.kind])[0]!;
}

/** Problems with resolved participants (ids, after emails became ids and duplicates merged). */
export function participantProblems(p: {
  requesterId: string;
  levels: { approvers: string[]; required: number }[];
}): { field: string; message: string }[] {
  const problems: { field: string; message: string }[] = [];
  p.levels.forEach((l, i) => {
    const field = i === 0 ? 'approvers' : `policy.levels.${i - 1}.approvers`;
    const eligible = l.approvers.filter((u) => u !== p.requesterId);
    if (l.approvers.includes(p.requesterId))
      problems.push({ field, message: 'the requester cannot approve their own request' });
    else if (eligible.length < l.required)
      problems.push({
        field: i === 0 ? 'policy.required' : `policy.levels.${i - 1}.required`,
        message: `needs ${l.required} approvals but only ${eligible.length} distinct approver(s) are listed`,
      });
  });
  return problems;
}
