-- Alert lifecycles: the last state of each alert's workflow. A resolved alert's run closes after
-- ALERT_REOPEN_WINDOW; when it fires again a new run starts from this snapshot, so the new
-- occurrence lands in the same Slack thread and the flap counter goes on.

CREATE TABLE alert_snapshots (
  workflow_id  text        PRIMARY KEY,            -- alert:am:<fingerprint> | alert:ext:<dedup key>
  alert_id     text        NOT NULL,
  source       text        NOT NULL,               -- 'alertmanager' | 'api'
  status       text        NOT NULL,               -- 'firing' | 'acknowledged' | 'resolved'
  occurrences  integer     NOT NULL,
  root_channel text,
  root_ts      text,
  state        jsonb       NOT NULL,
  version      integer     NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_snapshots_status ON alert_snapshots (status, updated_at);
