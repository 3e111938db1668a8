-- Payment lifecycles (snapshot of workflow state for GET fallback, routing lookups, restarts)
-- and the generic Idempotency-Key store for POST routes.

CREATE TABLE payment_lifecycles (
  lifecycle_id   text        PRIMARY KEY,       -- = orderId; workflow id is 'payment:' || lifecycle_id
  order_id       text,
  payment_id     text,                          -- the provider's payment id once known
  payer_key      text,                          -- normalised payer name (routing: "has completed an installment")
  payment_type   text,                          -- 'full' | 'part' (null until initiated)
  status         text        NOT NULL,
  root_channel   text,
  root_ts        text,
  state          jsonb       NOT NULL,          -- PaymentLifecycleState (contracts/payment.ts)
  version        integer     NOT NULL,          -- monotonic: an older snapshot never overwrites a newer one
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_lifecycles_payment_id ON payment_lifecycles (payment_id);
CREATE INDEX payment_lifecycles_payer ON payment_lifecycles (payer_key, payment_type, status);

CREATE TABLE idempotency_keys (
  route          text        NOT NULL,          -- e.g. 'POST /v1/payments'
  key            text        NOT NULL,          -- the client's Idempotency-Key
  request_hash   text        NOT NULL,          -- sha256 of the raw request body
  status_code    integer,                       -- null while the first request is in flight
  response       jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  completed_at   timestamptz,
  PRIMARY KEY (route, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
