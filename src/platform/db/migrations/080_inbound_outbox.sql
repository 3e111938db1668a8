-- The ledger becomes an outbox: a delivery acked after one INSERT carries the Temporal call that
-- hands it off (sealed: it holds people's text and response URLs), and a relay in every API
-- process sends it. See src/platform/relay and docs/architecture.md ("How a request flows").
ALTER TABLE inbound_events
  ADD COLUMN seq            bigserial,      -- recording order: the relay hands off per subject in this order
  ADD COLUMN relay_lane     text,           -- '<namespace>/<task queue>': which relays may send it
  ADD COLUMN call_key_id    text,           -- the payload key that sealed the call
  ADD COLUMN call_sealed    bytea,          -- the sealed call (AES-256-GCM); cleared once sent
  ADD COLUMN relay_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN relay_after    timestamptz,    -- back-off: not before this (Temporal was down)
  ADD COLUMN relay_error    text,           -- the last failure's class and message (no payload)
  ADD COLUMN handed_off_at  timestamptz;

-- 'queued' rows are the backlog; the relay finds each subject's oldest through this index.
CREATE INDEX inbound_events_relay_queue ON inbound_events (relay_lane, subject, seq) WHERE status = 'queued';

-- Wakes the relays (LISTEN threadline_inbound) when a delivery is queued; they also poll, so a
-- lost notification only delays a hand-off. Notifications are sent at commit, once per payload.
CREATE FUNCTION threadline_inbound_queued() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('threadline_inbound', NEW.relay_lane);
  RETURN NULL;
END
$$;
CREATE TRIGGER inbound_events_queued
  AFTER INSERT OR UPDATE OF status ON inbound_events
  FOR EACH ROW WHEN (NEW.status = 'queued')
  EXECUTE FUNCTION threadline_inbound_queued();
