-- One schedule for every paced outbound target (src/platform/pacing/slot-schedule.ts): a Slack
-- channel of one workspace, a Jira issue, a Jira site's whole budget after a 429. The key names the
-- system and target; each row holds the target's next free slot, claimed with one atomic upsert
-- by whichever process posts next.
-- slack_channel_pacing (070) is no longer written: its keys had no workspace in them. It stays for
-- workers of the previous release during a rolling deploy; drop it in a later migration.
CREATE TABLE outbound_pacing (
  key          text PRIMARY KEY,
  next_slot_at timestamptz NOT NULL
);
