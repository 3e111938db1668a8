-- The ledger's claim becomes a lease: a delivery being handed off right now is held by one request
-- until its deadline, so a concurrent duplicate waits for that outcome instead of handing off a
-- second time; a request that failed (or died) leaves the lease released (or expired) for the retry.
ALTER TABLE inbound_events
  ADD COLUMN lease_until timestamptz,        -- the holding request's deadline; NULL = not held
  ADD COLUMN lease_token text,               -- which request holds it (only it releases it)
  ADD COLUMN claims      integer NOT NULL DEFAULT 1;  -- 1 + the retries that took the delivery over again
