-- The generic Idempotency-Key store for POST routes. Migration 002 (a flow's, kept unchanged so
-- its checksum still matches databases that applied it) also creates this table; on databases
-- where that flow is not registered, this creates it.

CREATE TABLE IF NOT EXISTS idempotency_keys (
  route          text        NOT NULL,          -- e.g. 'POST /v1/<resource>'
  key            text        NOT NULL,          -- the client's Idempotency-Key
  request_hash   text        NOT NULL,          -- sha256 of the raw request body
  status_code    integer,                       -- null while the first request is in flight
  response       jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  completed_at   timestamptz,
  PRIMARY KEY (route, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
