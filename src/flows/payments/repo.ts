import type { PaymentLifecycleState } from './contract.js';
import type { Pool } from '../../platform/db/pool.js';

export interface PaymentLifecycleRow {
  lifecycleId: string;
  status: string;
  state: PaymentLifecycleState;
  version: number;
  updatedAt: string;
}

/** Statuses that mean "this installment was completed" for routing. */
const COMPLETED = ['captured', 'refund_pending', 'refund_failed', 'partially_refunded', 'refunded'];

/** Snapshots of payment lifecycles (written by the workflow through an activity). */
export function paymentsRepo(pool: Pool) {
  return {
    /** Upsert; an older version never overwrites a newer one (activity retries may reorder). */
    async saveSnapshot(s: PaymentLifecycleState, payerKey: string | undefined): Promise<boolean> {
      const res = await pool.query(
        `INSERT INTO payment_lifecycles (lifecycle_id, order_id, payment_id, payer_key, payment_type, status,
           root_channel, root_ts, state, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (lifecycle_id) DO UPDATE SET
           order_id = EXCLUDED.order_id, payment_id = EXCLUDED.payment_id, payer_key = EXCLUDED.payer_key,
           payment_type = EXCLUDED.payment_type, status = EXCLUDED.status, root_channel = EXCLUDED.root_channel,
           root_ts = EXCLUDED.root_ts, state = EXCLUDED.state, version = EXCLUDED.version, updated_at = now()
         WHERE payment_lifecycles.version <= EXCLUDED.version`,
        [
          s.lifecycleId,
          s.initiation?.orderId ?? s.provider.orderId ?? null,
          s.provider.paymentId ?? s.initiation?.paymentId ?? null,
          payerKey ?? null,
          s.initiation?.paymentType ?? null,
          s.status,
          s.root?.channel ?? null,
          s.root?.ts ?? null,
          JSON.stringify(s),
          s.version,
        ],
      );
      return res.rowCount === 1;
    },
    async get(lifecycleId: string): Promise<PaymentLifecycleRow | undefined> {
      const { rows } = await pool.query<{
        lifecycle_id: string;
        status: string;
        state: PaymentLifecycleState;
        version: number;
        updated_at: Date;
      }>('SELECT lifecycle_id, status, state, version, updated_at FROM payment_lifecycles WHERE lifecycle_id = $1', [
        lifecycleId,
      ]);
      const r = rows[0];
      return r
        ? {
            lifecycleId: r.lifecycle_id,
            status: r.status,
            state: r.state,
            version: r.version,
            updatedAt: r.updated_at.toISOString(),
          }
        : undefined;
    },
    /** The lifecycle a provider payment id belongs to (webhooks without an order id). */
    async lifecycleIdForPayment(paymentId: string): Promise<string | undefined> {
      const { rows } = await pool.query<{ lifecycle_id: string }>(
        'SELECT lifecycle_id FROM payment_lifecycles WHERE payment_id = $1 ORDER BY created_at LIMIT 1',
        [paymentId],
      );
      return rows[0]?.lifecycle_id;
    },
    /** True when this payer has a completed part payment other than `exceptLifecycleId`. */
    async payerHasCompletedInstallment(payerKey: string, exceptLifecycleId: string): Promise<boolean> {
      const { rows } = await pool.query(
        `SELECT 1 FROM payment_lifecycles
         WHERE payer_key = $1 AND payment_type = 'part' AND status = ANY($2) AND lifecycle_id <> $3 LIMIT 1`,
        [payerKey, COMPLETED, exceptLifecycleId],
      );
      return rows.length > 0;
    },
  };
}
export type PaymentsRepo = ReturnType<typeof paymentsRepo>;
