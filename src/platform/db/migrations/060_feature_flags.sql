-- Feature flags switched at run time (src/platform/flags): one row per flag and scope. The
-- switches themselves are audited in audit_log (subject 'flag:<name>').

CREATE TABLE feature_flags (
  flag          text        NOT NULL,            -- a flow's declared flag name
  scope_kind    text        NOT NULL CHECK (scope_kind IN ('global', 'workspace', 'channel', 'project')),
  scope_id      text        NOT NULL,            -- '' for global; a Slack team id, channel id or Jira project key
  enabled       boolean     NOT NULL,
  reason        text,
  updated_by    text        NOT NULL,            -- the API caller's fingerprint
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (flag, scope_kind, scope_id)
);
