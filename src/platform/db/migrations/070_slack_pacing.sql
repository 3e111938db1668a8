-- Outbound pacing shared by every worker process (src/platform/pacing). One row per Slack channel
-- holds the next free posting slot; a post claims a slot with one atomic upsert, so two workers
-- posting to one channel can never take the same second. A 429's Retry-After pushes the slot out
-- for every process at once.
CREATE TABLE slack_channel_pacing (
  channel      text PRIMARY KEY,
  next_slot_at timestamptz NOT NULL
);

-- What the pacer did with a post's attempts: 'deferred' (sent back before reaching Slack) or
-- 'admitted' (given a slot: it may have reached Slack; never downgraded). A retry of a post whose
-- attempts were all deferred skips the Slack lookup; any other retry (admitted, or no row at all,
-- e.g. an attempt made before pacing existed) looks it up. Rows go once the post is recorded.
CREATE TABLE slack_pacing_admissions (
  idempotency_key text PRIMARY KEY,
  state           text NOT NULL CHECK (state IN ('deferred', 'admitted')),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
