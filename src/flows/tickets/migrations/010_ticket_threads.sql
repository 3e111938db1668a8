-- Ticket threads: the last snapshot of each ticket workflow's state (GET /v1/tickets/:key after
-- the workflow closed, and the thread a restarted run continues in: same root ts, same write ledger).

CREATE TABLE ticket_threads (
  issue_key   text        PRIMARY KEY,           -- e.g. 'OPS-12'; workflow id is 'ticket:' || issue_key
  tracker     text        NOT NULL,              -- 'jira'
  issue_id    text,                              -- the tracker's own id (stable across key changes)
  channel     text,
  root_ts     text,
  status      text,                              -- the tracker status name the root shows
  sync_state  text        NOT NULL,              -- 'active' | 'deleted' | 'out_of_scope'
  state       jsonb       NOT NULL,              -- TicketThreadState (src/flows/tickets/contract.ts)
  version     integer     NOT NULL,              -- monotonic: an older snapshot never overwrites a newer one
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_threads_root ON ticket_threads (channel, root_ts);
