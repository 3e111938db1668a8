-- The org hierarchy (people and reporting lines, with a closure table so a person's whole
-- reporting chain is one indexed query), each person's private channel, and the notifications
-- delivered into them.

CREATE TABLE org_people (
  person_id   text        PRIMARY KEY,
  name        text,
  manager_id  text        REFERENCES org_people (person_id),
  slack_user  text,                            -- U…/W…; null: not in Slack (left out of channel membership)
  active      boolean     NOT NULL DEFAULT true, -- inactive people stay in the tree but leave every channel
  version     integer     NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (manager_id IS NULL OR manager_id <> person_id)
);
CREATE INDEX org_people_manager ON org_people (manager_id);

-- One row per (ancestor, descendant) pair, the person itself included at depth 0. Rewritten for
-- a moved subtree in the same transaction as the manager change (under an advisory lock).
CREATE TABLE org_closure (
  ancestor    text    NOT NULL REFERENCES org_people (person_id),
  descendant  text    NOT NULL REFERENCES org_people (person_id),
  depth       integer NOT NULL CHECK (depth >= 0),
  PRIMARY KEY (ancestor, descendant)
);
CREATE INDEX org_closure_descendant ON org_closure (descendant, depth);

CREATE TABLE org_channels (
  person_id   text        PRIMARY KEY REFERENCES org_people (person_id),
  channel_id  text        NOT NULL,
  name        text        NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_notifications (
  notification_id text        PRIMARY KEY,     -- the caller's id: a repeat is the same notification
  person_id       text        NOT NULL,
  body_hash       text        NOT NULL,        -- sha256 of the request body: the same id with another body is refused
  status          text        NOT NULL,        -- 'accepted' | 'delivered' | 'undelivered' (retried; ops alerted)
  channel_id      text,
  ts              text,
  members         integer,                     -- channel members after reconciliation (the bot excluded)
  error           text,
  accepted_at     timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_notifications_person ON org_notifications (person_id, accepted_at);
