-- Foundation schema: the dedup ledger, the record of every Slack message we post, the audit trail.

CREATE TABLE inbound_events (
  source        text        NOT NULL,           -- 'slack', 'jira', 'razorpay', …
  event_id      text        NOT NULL,           -- the platform's own delivery/event id
  received_at   timestamptz NOT NULL DEFAULT now(),
  payload_hash  text        NOT NULL,           -- sha256 of the raw body (the body itself is not stored here)
  subject       text,                           -- e.g. 'payment:order_123' once routed
  workflow_id   text,
  status        text        NOT NULL DEFAULT 'received', -- 'received' | 'handed_off' | 'ignored'
  PRIMARY KEY (source, event_id)
);
CREATE INDEX inbound_events_received_at ON inbound_events (received_at);

CREATE TABLE slack_messages (
  id               bigserial   PRIMARY KEY,
  subject          text        NOT NULL,
  channel          text        NOT NULL,
  ts               text        NOT NULL,
  thread_ts        text,                        -- null for a thread root
  purpose          text        NOT NULL,        -- 'root', 'reply', 'escalation', …
  idempotency_key  text        NOT NULL UNIQUE,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (channel, ts)
);
CREATE INDEX slack_messages_subject ON slack_messages (subject);
CREATE INDEX slack_messages_thread ON slack_messages (channel, thread_ts);

CREATE TABLE audit_log (
  id              bigserial   PRIMARY KEY,
  occurred_at     timestamptz NOT NULL DEFAULT now(),
  subject         text        NOT NULL,
  action          text        NOT NULL,
  actor_kind      text        NOT NULL,         -- 'user' | 'system' | 'provider' | 'slack_user' | 'jira_user'
  actor_id        text,
  source_system   text,
  target_system   text,
  before          jsonb,
  after           jsonb,
  rule_id         text,
  rule_version    text,
  workflow_id     text,
  run_id          text,
  outcome         text        NOT NULL DEFAULT 'ok',
  details         jsonb,
  idempotency_key text        UNIQUE           -- activity retries write the same row once
);
CREATE INDEX audit_log_subject ON audit_log (subject, occurred_at);

-- The audit trail is append-only: no UPDATE, no DELETE, no TRUNCATE, whoever asks.
CREATE FUNCTION audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% rejected)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_immutable();
