-- Multi-workspace Slack: one row per installation of the app (a workspace, or an Enterprise Grid
-- org for an org-wide install), the people who connected their own identity, single-use OAuth
-- states, and which workspace a lifecycle belongs to. Tokens are stored only encrypted
-- (AES-256-GCM, THREADLINE_TOKEN_KEYS): `*_enc` is the sealed token, `*_key_id` the key that
-- sealed it, so keys rotate (`npm run tokens:rotate` re-encrypts).

CREATE TABLE slack_installations (
  installation_id       text        PRIMARY KEY,     -- team id, or the enterprise id of an org-wide install
  team_id               text,                        -- null for an org-wide install
  enterprise_id         text,
  is_enterprise_install boolean     NOT NULL DEFAULT false,
  team_name             text,
  app_id                text,
  bot_user_id           text,
  bot_id                text,
  bot_scopes            text[]      NOT NULL DEFAULT '{}',
  bot_token_key_id      text        NOT NULL,
  bot_token_enc         bytea       NOT NULL,
  bot_refresh_key_id    text,
  bot_refresh_enc       bytea,
  bot_expires_at        timestamptz,                 -- rotating tokens only
  installed_by          text,                        -- Slack user id of the person who clicked Allow
  status                text        NOT NULL DEFAULT 'active', -- 'active' | 'revoked'
  revoked_at            timestamptz,
  revoked_reason        text,                        -- 'app_uninstalled' | 'tokens_revoked'
  installed_at          timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CHECK (status IN ('active', 'revoked'))
);
CREATE INDEX slack_installations_enterprise ON slack_installations (enterprise_id);

CREATE TABLE slack_user_tokens (
  installation_id  text        NOT NULL REFERENCES slack_installations (installation_id),
  user_id          text        NOT NULL,
  scopes           text[]      NOT NULL DEFAULT '{}',
  token_key_id     text        NOT NULL,
  token_enc        bytea       NOT NULL,
  refresh_key_id   text,
  refresh_enc      bytea,
  expires_at       timestamptz,
  revoked_at       timestamptz,
  connected_at     timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (installation_id, user_id)
);

-- "Add to Slack" states: signed and expiring (InstallProvider's JWT) and single-use (this row is
-- deleted when the redirect comes back; a second use finds nothing).
CREATE TABLE slack_oauth_states (
  state_id    text        PRIMARY KEY,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_oauth_states_expires ON slack_oauth_states (expires_at);

-- The workspace a lifecycle (workflow id) belongs to, recorded by whoever started it for that
-- workspace (the Slack ingress, an API call naming `slackTeamId`). Outbound Slack calls of that
-- workflow use that installation's token.
CREATE TABLE slack_subjects (
  subject      text        PRIMARY KEY,
  team_id      text        NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);
