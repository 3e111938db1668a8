import type { WebClient } from '@slack/web-api';
import type { PaymentLifecycleState } from './contract.js';
import type { FlowWorkerContext } from '../../platform/flow.js';
import type { PaymentsConfig } from './config.js';
import { paymentsRepo, type PaymentsRepo } from './repo.js';
import { payerKey } from './domain/routing.js';
import { classifySlackError, toActivityFailure } from '../../integrations/slack/errors.js';
import type { AuditEntry } from '../../platform/audit/contract.js';
import type { AuditLogRepo } from '../../platform/db/repositories.js';

export interface PaymentActivityDeps {
  payments: PaymentsRepo;
  slack: WebClient;
  audit: AuditLogRepo;
}

/**
 * Payment lifecycle activities: the lookups routing needs from our records, owner resolution,
 * and the DB snapshot that serves `GET /v1/payments/:id` once the workflow is closed and lets a
 * restarted lifecycle continue in the same thread.
 */
export function createPaymentActivities(deps: PaymentActivityDeps) {
  return {
    /** Routing facts from our records (the rule itself is pure: domain/payments/routing.ts). */
    async lookupPaymentRoutingFacts(input: {
      lifecycleId: string;
      payerName: string | undefined;
    }): Promise<{ payerHasCompletedInstallment: boolean }> {
      if (!input.payerName) return { payerHasCompletedInstallment: false };
      return {
        payerHasCompletedInstallment: await deps.payments.payerHasCompletedInstallment(
          payerKey(input.payerName),
          input.lifecycleId,
        ),
      };
    },

    /** A Slack user id as is; an email through users.lookupByEmail; unknown → undefined (shown as text). */
    async resolvePaymentOwner(input: { owner: string }): Promise<{ slackUserId: string | undefined }> {
      const owner = input.owner.trim();
      if (/^[UW][A-Z0-9]{2,}$/.test(owner)) return { slackUserId: owner };
      if (!owner.includes('@')) return { slackUserId: undefined };
      try {
        const res = await deps.slack.users.lookupByEmail({ email: owner });
        return { slackUserId: res.user?.id };
      } catch (err) {
        const c = classifySlackError(err);
        if (c.kind === 'permanent' || c.kind === 'already_done') return { slackUserId: undefined }; // users_not_found
        throw toActivityFailure('users.lookupByEmail', c);
      }
    },

    async savePaymentSnapshot(state: PaymentLifecycleState): Promise<void> {
      await deps.payments.saveSnapshot(state, state.initiation ? payerKey(state.initiation.payerName) : undefined);
    },

    /**
     * A step's bookkeeping in one call (run as a local activity): its audit rows, in order, then
     * the snapshot, if any. Both writes are idempotent (audit keys; snapshot versions), so a retry
     * after a partial write completes it without duplicating anything.
     */
    async recordPaymentStep(input: { audits: AuditEntry[]; snapshot?: PaymentLifecycleState }): Promise<void> {
      for (const e of input.audits) await deps.audit.append(e);
      const s = input.snapshot;
      if (s) await deps.payments.saveSnapshot(s, s.initiation ? payerKey(s.initiation.payerName) : undefined);
    },

    /**
     * What a new run reads before its first step, in one call (run as a local activity): the last
     * snapshot of an earlier run (a late event restarted it), and, when there is none, the routing
     * facts for the payer the starting signal names, so the root post needs no second lookup.
     */
    async loadPaymentStart(input: { lifecycleId: string; payerName: string | undefined }): Promise<{
      snapshot: PaymentLifecycleState | undefined;
      routingFacts: { payerHasCompletedInstallment: boolean } | undefined;
    }> {
      const snapshot = (await deps.payments.get(input.lifecycleId))?.state;
      if (snapshot?.root || !input.payerName) return { snapshot, routingFacts: undefined };
      const payerHasCompletedInstallment = await deps.payments.payerHasCompletedInstallment(
        payerKey(input.payerName),
        input.lifecycleId,
      );
      return { snapshot, routingFacts: { payerHasCompletedInstallment } };
    },

    /** The last snapshot of an earlier run of this lifecycle (a late event restarted it), if any. */
    async loadPaymentSnapshot(input: { lifecycleId: string }): Promise<PaymentLifecycleState | undefined> {
      return (await deps.payments.get(input.lifecycleId))?.state;
    },
  };
}
export type PaymentActivities = ReturnType<typeof createPaymentActivities>;

/** The worker's factory (flow.ts): real deps from the worker context. */
export function paymentActivities(ctx: FlowWorkerContext<PaymentsConfig>) {
  return createPaymentActivities({ payments: paymentsRepo(ctx.pool), slack: ctx.slack, audit: ctx.repos.audit });
}
