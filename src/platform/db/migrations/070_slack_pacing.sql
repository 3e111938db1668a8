-- Outbound pacing shared by every worker process (src/platform/pacing). One row per Slack channel
-- holds the next free posting slot; a post claims a slot with one atomic upsert, so two workers
-- posting to one channel can never take the same second. A 429's Retry-After pushes the slot out
-- for every process at once.
CREATE TABLE slack_channel_pacing (
  channel      text PRIMARY KEY,
  next_slot_at timestamptz NOT NULL
);

-- Posts that were admitted to a slot (and so may have reached Slack). A retry of a post that was
-- never admitted (deferred by the pacer) knows no earlier attempt posted and skips the Slack
-- lookup; one that was admitted looks it up as before. Rows go once the post is recorded.
CREATE TABLE slack_pacing_admissions (
  idempotency_key text PRIMARY KEY,
  admitted_at     timestamptz NOT NULL DEFAULT now()
);
