-- Assignments (docs/assignment.md): the last saved state of each issue's assignment workflow,
-- the routing decisions (stored under their id, so a retried activity answers the same), and
-- the round-robin cursors. Loads ("open assignments counted from our records") and
-- reconciliation read these, per Jira site.

CREATE TABLE assignments (
  site          text        NOT NULL,            -- the Jira host the issue lives on
  issue_key     text        NOT NULL,            -- workflow id is 'assignment:' || issue_key
  project       text        NOT NULL,
  status        text        NOT NULL,            -- unassigned | routed | claimed | in_progress | blocked | reassigned | closed
  owner_jira    text,                            -- whose load it is: the routed person, then the owner
  owner_by      text,                            -- 'threadline' | 'person' (a manual choice)
  rule_id       text,
  rule_version  text,
  state         jsonb       NOT NULL,            -- AssignmentState (src/flows/assignment/contract.ts)
  version       integer     NOT NULL,            -- monotonic: an older snapshot never overwrites a newer one
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site, issue_key)
);
CREATE INDEX assignments_load ON assignments (site, owner_jira)
  WHERE status IN ('routed', 'claimed', 'in_progress', 'blocked');
CREATE INDEX assignments_open ON assignments (site, issue_key) WHERE status <> 'closed';

CREATE TABLE assignment_decisions (
  decision_id   text        PRIMARY KEY,         -- 'assignment:<KEY>:decision:<n>'
  site          text        NOT NULL,
  issue_key     text        NOT NULL,
  rule_id       text        NOT NULL,
  rule_version  text        NOT NULL,
  chosen_jira   text,
  decision      jsonb       NOT NULL,            -- RoutingDecision + the rule's policy
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignment_decisions_issue ON assignment_decisions (site, issue_key, created_at);

CREATE TABLE assignment_cursors (
  site          text        NOT NULL,
  cursor_key    text        NOT NULL,            -- '<rule id>/<pool>'
  position      integer     NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site, cursor_key)
);
