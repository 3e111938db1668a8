-- Scheduled reports: definitions (each backed by a Temporal Schedule `report:<report_id>`), the
-- records pushed to named datasets, and one row per report window a run claimed.

CREATE TABLE report_definitions (
  report_id    text        PRIMARY KEY,
  name         text        NOT NULL,
  definition   jsonb       NOT NULL,          -- ReportDefinition (src/flows/reports/schema.ts), defaults filled
  version      integer     NOT NULL DEFAULT 1, -- +1 on every PATCH
  created_by   text        NOT NULL,          -- API key fingerprint
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at   timestamptz                    -- soft delete: runs already started find the report gone
);
CREATE INDEX report_definitions_list ON report_definitions (created_at, report_id) WHERE deleted_at IS NULL;

CREATE TABLE report_records (
  dataset      text        NOT NULL,
  record_id    text        NOT NULL,          -- the pusher's id: pushing it again is idempotent
  occurred_at  timestamptz NOT NULL,          -- places the record in a window
  data         jsonb       NOT NULL,
  data_hash    text        NOT NULL,          -- sha256 of (timestamp, data): tells a replay from a correction
  revision     integer     NOT NULL DEFAULT 1,
  received_at  timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, record_id)
);
CREATE INDEX report_records_window ON report_records (dataset, occurred_at, record_id);

CREATE TABLE report_runs (
  report_id    text        NOT NULL,
  window_end   timestamptz NOT NULL,          -- the window's identity: one digest per (report, window end)
  window_start timestamptz NOT NULL,
  workflow_id  text        NOT NULL,          -- the run that holds (or posted) the window
  run_id       text        NOT NULL,
  status       text        NOT NULL,          -- 'running' | 'posted' | 'failed'
  claims       integer     NOT NULL DEFAULT 1, -- runs that asked for this window (a second trigger, a backfill again)
  records      integer,
  messages     integer,
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  PRIMARY KEY (report_id, window_end)
);
