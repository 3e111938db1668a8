-- GET /v1/audit (src/platform/audit/api.ts): business events and maintenance entries told apart,
-- a correlation id that ties the rows of one decision together, and indexes for its filters
-- (keyset pagination on (occurred_at, id)).

ALTER TABLE audit_log
  ADD COLUMN category text NOT NULL DEFAULT 'business' CHECK (category IN ('business', 'maintenance')),
  ADD COLUMN correlation_id text;

CREATE INDEX audit_log_time ON audit_log (occurred_at, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, occurred_at, id);
CREATE INDEX audit_log_action ON audit_log (action, occurred_at, id);
CREATE INDEX audit_log_correlation ON audit_log (correlation_id) WHERE correlation_id IS NOT NULL;
