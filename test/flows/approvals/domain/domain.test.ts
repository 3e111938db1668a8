import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { signCallbackBody } from '../../../../src/flows/approvals/activities.js';
import type { ApprovalRequestSpec, ApprovalState } from '../../../../src/flows/approvals/contract.js';
import {
  buildCreateRequestModal,
  buildLockedMessage,
  buildRejectReasonModal,
  buildRequestMessage,
} from '../../../../src/flows/approvals/domain/blocks.js';
import { parseCreateSubmission } from '../../../../src/flows/approvals/domain/create-modal.js';
import { formatDurationShort, parseDuration } from '../../../../src/flows/approvals/domain/duration.js';
import {
  applyVote,
  authorizedApprovers,
  checkDecisionAuthority,
  closeRequest,
  NOT_AN_APPROVER,
  nextSlaTimer,
  OWN_REQUEST,
  participantProblems,
} from '../../../../src/flows/approvals/domain/policy.js';

const AT = '2026-01-01T00:00:00.000Z';
const state = (over: Partial<ApprovalState> = {}): ApprovalState => ({
  approvalId: 'apr_1',
  status: 'pending',
  phase: 'open',
  title: 'Deploy',
  requesterId: 'UREQ',
  levels: [{ approvers: ['UA', 'UB', 'UC'], required: 1 }],
  escalationApprovers: [],
  currentLevel: 0,
  votes: [],
  reminded: false,
  escalated: false,
  messages: [],
  processedEventIds: [],
  createdAtMs: 1_000,
  timeline: [],
  version: 0,
  ...over,
});
const vote = (user: string, decision: 'approve' | 'reject' = 'approve', reason?: string) => ({
  user,
  decision,
  at: AT,
  level: 0,
  reason,
});

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['500ms', 500],
    [' 5m ', 300_000],
  ])('%s → %d ms', (input, ms) => expect(parseDuration(input)).toEqual({ ok: true, ms }));
  it.each(['', '30', 'm', '1.5h', '-1m', '0s', '2w', '366d', '30 m'])('rejects %j with a message', (input) => {
    const r = parseDuration(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/duration|greater than zero|365d/);
  });
  it('formats short', () => {
    expect(formatDurationShort(90_000)).toBe('1m30s');
    expect(formatDurationShort(7_200_000)).toBe('2h');
  });
});

describe('authority', () => {
  it('refuses strangers, the requester and closed requests with the sentence people see', () => {
    const s = state();
    expect(checkDecisionAuthority(s, 'UX', 'approve')).toEqual({ ok: false, message: NOT_AN_APPROVER });
    expect(checkDecisionAuthority(s, 'UREQ', 'approve')).toEqual({ ok: false, message: OWN_REQUEST });
    expect(checkDecisionAuthority(s, 'UA', 'approve')).toEqual({ ok: true });
    const decided = applyVote(s, vote('UB')).state;
    expect(checkDecisionAuthority(decided, 'UA', 'approve')).toMatchObject({
      ok: false,
      message: expect.stringContaining('Already decided: approved by <@UB>'),
    });
    expect(checkDecisionAuthority(state({ phase: 'resolving' }), 'UA', 'approve').ok).toBe(false);
  });
  it('a requester listed as approver is never authorized', () => {
    const s = state({ levels: [{ approvers: ['UREQ', 'UA'], required: 1 }] });
    expect(authorizedApprovers(s)).toEqual(['UA']);
    expect(checkDecisionAuthority(s, 'UREQ', 'approve')).toEqual({ ok: false, message: OWN_REQUEST });
  });
  it('escalation approvers gain authority only once escalated', () => {
    const s = state({ escalationApprovers: ['UE'] });
    expect(checkDecisionAuthority(s, 'UE', 'approve').ok).toBe(false);
    expect(checkDecisionAuthority({ ...s, escalated: true }, 'UE', 'approve').ok).toBe(true);
  });
});

describe('votes', () => {
  it('any one approver decides', () => {
    const r = applyVote(state(), vote('UA'));
    expect(r.outcome).toBe('approved');
    expect(r.state).toMatchObject({ status: 'approved', decidedBy: 'UA', decidedAt: AT });
  });
  it('N of M: counts distinct approvers; a repeat vote is refused; the Nth decides', () => {
    let s = state({ levels: [{ approvers: ['UA', 'UB', 'UC'], required: 2 }] });
    const first = applyVote(s, vote('UA'));
    expect(first.outcome).toBe('recorded');
    s = first.state;
    expect(checkDecisionAuthority(s, 'UA', 'approve')).toMatchObject({ ok: false, message: /already approved/ });
    expect(applyVote(s, vote('UA')).outcome).toBe('ignored');
    expect(applyVote(s, vote('UC')).state).toMatchObject({ status: 'approved', decidedBy: 'UC' });
  });
  it('a rejection ends it at once, with the reason', () => {
    const s = applyVote(state({ levels: [{ approvers: ['UA', 'UB'], required: 2 }] }), vote('UA')).state;
    const r = applyVote(s, vote('UB', 'reject', 'too risky'));
    expect(r.outcome).toBe('rejected');
    expect(r.state).toMatchObject({ status: 'rejected', decidedBy: 'UB', reason: 'too risky' });
  });
  it('sequential levels: level 2 only after level 1; level 1 approvers cannot finish level 2', () => {
    let s = state({
      levels: [
        { approvers: ['UA'], required: 1 },
        { approvers: ['UM'], required: 1 },
      ],
    });
    expect(applyVote(s, vote('UM')).outcome).toBe('ignored');
    const r = applyVote(s, vote('UA'));
    expect(r.outcome).toBe('level_advanced');
    s = r.state;
    expect(s.currentLevel).toBe(1);
    expect(applyVote(s, vote('UA')).outcome).toBe('ignored');
    expect(applyVote(s, vote('UM')).state.status).toBe('approved');
  });
  it('two votes in a row (simultaneous clicks) give one decision', () => {
    const r1 = applyVote(state(), vote('UA'));
    const r2 = applyVote(r1.state, vote('UB'));
    expect(r2.outcome).toBe('ignored');
    expect(r2.state.decidedBy).toBe('UA');
  });
  it('expiry and cancellation close only pending requests', () => {
    expect(closeRequest(state(), 'expired', AT)).toMatchObject({ status: 'expired', decidedAt: AT });
    const approved = applyVote(state(), vote('UA')).state;
    expect(closeRequest(approved, 'cancelled', AT)).toBe(approved);
  });
});

describe('SLA timers', () => {
  const sla = { remindAfterMs: 1_000, escalateAfterMs: 2_000, expireAfterMs: 3_000 };
  it('remind → escalate → expire, counted from creation', () => {
    const s = state({ escalationApprovers: ['UE'] });
    expect(nextSlaTimer(s, sla)).toEqual({ kind: 'remind', atMs: 2_000 });
    expect(nextSlaTimer({ ...s, reminded: true }, sla)).toEqual({ kind: 'escalate', atMs: 3_000 });
    expect(nextSlaTimer({ ...s, reminded: true, escalated: true }, sla)).toEqual({ kind: 'expire', atMs: 4_000 });
  });
  it('no escalation target: no escalation timer', () => {
    expect(nextSlaTimer(state({ reminded: true }), sla).kind).toBe('expire');
  });
});

describe('participants', () => {
  it('requester among approvers, or too few distinct approvers', () => {
    expect(participantProblems({ requesterId: 'UA', levels: [{ approvers: ['UA'], required: 1 }] })).toEqual([
      { field: 'approvers', message: 'the requester cannot approve their own request' },
    ]);
    expect(participantProblems({ requesterId: 'UR', levels: [{ approvers: ['UA'], required: 2 }] })[0]).toMatchObject({
      field: 'policy.required',
    });
  });
});

describe('Block Kit', () => {
  const spec: ApprovalRequestSpec = {
    approvalId: 'apr_1',
    title: 'Deploy <script> & friends',
    description: 'x'.repeat(5000),
    fields: Array.from({ length: 25 }, (_, i) => ({ label: `F${i}`, value: 'v'.repeat(3000) })),
    requester: 'UREQ',
    levels: [{ approvers: ['UA'], required: 1 }],
    sla: { expireAfterMs: 60_000 },
    source: 'api',
    createdBy: 'key_x',
    receivedAt: AT,
  };
  const within = (blocks: Record<string, unknown>[]) => {
    expect(blocks.length).toBeLessThanOrEqual(50);
    for (const b of blocks) {
      const text = (b.text as { text?: string } | undefined)?.text ?? '';
      expect(text.length).toBeLessThanOrEqual(3000);
      const fields = (b.fields as { text: string }[] | undefined) ?? [];
      expect(fields.length).toBeLessThanOrEqual(10);
      for (const f of fields) expect(f.text.length).toBeLessThanOrEqual(2000);
    }
  };
  it('request: escaped, inside limits, primary/danger buttons with confirm dialogs carrying the workflow id', () => {
    const m = buildRequestMessage(state(), spec, 'approval:apr_1');
    within(m.blocks);
    const json = JSON.stringify(m.blocks);
    expect(json).toContain('&lt;script&gt; &amp; friends');
    const actions = m.blocks.find((b) => b.type === 'actions') as unknown as { elements: Record<string, unknown>[] };
    expect(actions.elements.map((e) => [e.action_id, e.style, e.value, Boolean(e.confirm)])).toEqual([
      ['tl:approval.approve', 'primary', 'approval:apr_1', true],
      ['tl:approval.reject', 'danger', 'approval:apr_1', true],
    ]);
  });
  it('locked: no buttons, the outcome instead', () => {
    const decided = applyVote(state(), vote('UA')).state;
    const m = buildLockedMessage(decided, spec);
    within(m.blocks);
    expect(JSON.stringify(m.blocks)).not.toContain('tl:approval');
    expect(m.text).toContain('Approved by <@UA>');
  });
  it('modals: titles ≤ 24 chars, required reason input, metadata = workflow id', () => {
    for (const v of [buildRejectReasonModal('approval:apr_1', spec.title), buildCreateRequestModal('approval:apr_2')]) {
      expect((v.title as { text: string }).text.length).toBeLessThanOrEqual(24);
      expect((v.submit as { text: string }).text.length).toBeLessThanOrEqual(24);
    }
    const reject = buildRejectReasonModal('approval:apr_1', spec.title);
    expect(reject).toMatchObject({ callback_id: 'tl:approval.reject_reason', private_metadata: 'approval:apr_1' });
    expect(JSON.stringify(reject.blocks)).toContain('"block_id":"reason"');
  });
});

describe('create-request modal submission', () => {
  const f = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`${k}.${k}`, v]));
  it('valid', () => {
    expect(
      parseCreateSubmission(f({ title: 'T', approvers: 'UA,UB', required: '2', expire_after: '1d' }), 'UR'),
    ).toEqual({
      ok: true,
      request: { title: 'T', approvers: ['UA', 'UB'], required: 2, expireAfterMs: 86_400_000 },
    });
  });
  it('errors keyed by block id', () => {
    const r = parseCreateSubmission(f({ title: '', approvers: 'UR', required: '5', expire_after: 'soon' }), 'UR');
    expect(r).toEqual({
      ok: false,
      errors: {
        title: expect.any(String),
        approvers: 'You cannot approve your own request.',
        required: expect.any(String),
        expire_after: expect.any(String),
      },
    });
  });
});

describe('callback signature', () => {
  it('is sha256=<hex HMAC of the exact body>', () => {
    const body = '{"a":1}';
    expect(signCallbackBody('s3cret', body)).toBe(
      `sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`,
    );
    expect(signCallbackBody('s3cret', body)).not.toBe(signCallbackBody('s3cret', `${body} `));
  });
});
