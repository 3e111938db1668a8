-- Two workspaces can have the same channel ids (and, rarely, the same ts): every message we post
-- records the workspace it is in, and the thread lookup matches on it. Rows written before this
-- migration have no team (one workspace existed then) and still match.
ALTER TABLE slack_messages
  ADD COLUMN team_id   text,                    -- the workspace; null only for rows older than this migration
  ADD COLUMN posted_as text;                    -- the person whose user token posted it; null = the bot
ALTER TABLE slack_messages DROP CONSTRAINT slack_messages_channel_ts_key;
CREATE UNIQUE INDEX slack_messages_team_channel_ts ON slack_messages (COALESCE(team_id, ''), channel, ts);

-- The ledger records which workspace a Slack delivery came from (dedup stays on Slack's own
-- event / trigger id, which Slack makes unique across workspaces).
ALTER TABLE inbound_events ADD COLUMN team_id text;
