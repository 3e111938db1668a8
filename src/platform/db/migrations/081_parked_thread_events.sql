-- Thread events whose root Threadline posted but has not recorded yet: Slack committed the root and
-- a person replied before the poster wrote its ts to slack_messages (its answer was lost and the
-- retry's lookup records it later, or the worker died right after the post). Slack names the
-- root's author in the reply (`parent_user_id`): when that is our bot (or a person we post as),
-- the ingress parks the delivery here instead of dropping it as not ours. The poster releases the
-- thread's parked rows into the outbox (inbound_events) in the transaction that records the root;
-- rows nobody releases expire. See src/platform/slack-ingress/ingress.ts (park) and
-- src/platform/db/repositories.ts (slackMessagesRepo: record, park).
CREATE TABLE slack_parked_events (
  source       text        NOT NULL,
  event_id     text        NOT NULL,
  team_id      text,
  channel      text        NOT NULL,
  thread_ts    text        NOT NULL,           -- the root the event is in
  type         text        NOT NULL,           -- the delivery's metric label
  payload_hash text        NOT NULL,
  relay_lane   text        NOT NULL,           -- the lane of the API that acked it
  call_key_id  text        NOT NULL,
  call_sealed  bytea       NOT NULL,           -- the signal, sealed: it holds people's text
  seq          bigserial,                      -- arrival order: released in this order
  parked_at    timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (source, event_id)
);
CREATE INDEX slack_parked_events_thread ON slack_parked_events (channel, thread_ts);
CREATE INDEX slack_parked_events_expiry ON slack_parked_events (expires_at);

-- Parks one delivery unless its thread is known by now, in one statement on the ack path. The
-- thread's advisory lock (class 81, the same key the poster takes when it records) comes first,
-- and each statement of a VOLATILE function takes a fresh snapshot: a root recorded before the
-- lock is found here (outcome 'owned'), and a root recorded after it finds this row to release.
-- Without the lock a reply could be parked just after the poster looked, and stay parked.
-- Outcomes: 'owned' (subject set: hand it off as usual), 'parked', 'duplicate', 'full' (the table
-- holds p_max live rows: not parked). `expired`: rows past their retention deleted on the way.
CREATE FUNCTION threadline_park_slack_event(
  p_source text, p_event_id text, p_team text, p_channel text, p_thread_ts text, p_type text,
  p_hash text, p_lane text, p_key_id text, p_sealed bytea, p_retention_ms integer, p_max integer
) RETURNS TABLE (outcome text, subject text, expired integer) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_owner text;
  v_gone integer;
  v_live integer;
BEGIN
  PERFORM pg_advisory_xact_lock(81, hashtext(p_channel || ' ' || p_thread_ts));
  SELECT m.subject INTO v_owner FROM slack_messages m
   WHERE m.channel = p_channel AND (m.ts = p_thread_ts OR m.thread_ts = p_thread_ts)
     AND (m.team_id = p_team OR m.team_id IS NULL OR p_team IS NULL)
   ORDER BY (m.team_id IS NULL), m.id LIMIT 1;
  IF v_owner IS NOT NULL THEN
    RETURN QUERY SELECT 'owned'::text, v_owner, 0;
    RETURN;
  END IF;
  DELETE FROM slack_parked_events WHERE ctid IN (
    SELECT ctid FROM slack_parked_events WHERE expires_at <= now() ORDER BY expires_at LIMIT 100);
  GET DIAGNOSTICS v_gone = ROW_COUNT;
  SELECT count(*) INTO v_live FROM slack_parked_events;
  IF v_live >= p_max THEN
    RETURN QUERY SELECT 'full'::text, NULL::text, v_gone;
    RETURN;
  END IF;
  INSERT INTO slack_parked_events (source, event_id, team_id, channel, thread_ts, type, payload_hash,
                                   relay_lane, call_key_id, call_sealed, expires_at)
  VALUES (p_source, p_event_id, p_team, p_channel, p_thread_ts, p_type, p_hash, p_lane, p_key_id, p_sealed,
          now() + p_retention_ms * interval '1 millisecond')
  ON CONFLICT (source, event_id) DO NOTHING;
  IF FOUND THEN
    RETURN QUERY SELECT 'parked'::text, NULL::text, v_gone;
  ELSE
    RETURN QUERY SELECT 'duplicate'::text, NULL::text, v_gone;
  END IF;
END
$$;
