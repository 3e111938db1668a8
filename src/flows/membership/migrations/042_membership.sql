-- Workspace membership: the people directory that drives each person's invite lifecycle
-- (PENDING → INVITED → ACCEPTED → DEACTIVATED), and the Slack accounts one sync saw.

CREATE TABLE directory_members (
  scope         text        NOT NULL,                  -- the deployment's task queue: deployments (and test stacks) sharing a database keep their own directory
  member_id     text        NOT NULL,
  email         text        NOT NULL,
  name          text,
  status        text        NOT NULL,                  -- 'enrolled' | 'unenrolled' (the directory's word)
  state         text        NOT NULL DEFAULT 'PENDING', -- 'PENDING' | 'INVITED' | 'ACCEPTED' | 'DEACTIVATED'
  slack_user    text,                                  -- the account a sync matched by email
  requested_at  timestamptz,                           -- last time admins were asked to act on this person
  version       integer     NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, member_id)
);
CREATE UNIQUE INDEX directory_members_email ON directory_members (scope, lower(email));

-- One row per account `users.list` returned in a sync (bots excluded); kept for the sync's audit
-- and replaced by the next one.
CREATE TABLE membership_sync_accounts (
  sync_id   text NOT NULL,
  user_id   text NOT NULL,
  email     text,
  kind      text NOT NULL,  -- 'member' | 'guest' | 'invited' | 'deactivated'
  PRIMARY KEY (sync_id, user_id)
);
CREATE INDEX membership_sync_accounts_email ON membership_sync_accounts (sync_id, lower(email));

-- What each sync's reconciliation decided, written in the same transaction as the state changes
-- and their audit rows: a retried (or timed-out and still running) attempt answers this instead
-- of deciding again.
CREATE TABLE membership_syncs (
  sync_id     text        PRIMARY KEY,
  result      jsonb       NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now()
);
