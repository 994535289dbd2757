-- 0006_claim_hot: the claim of a delivery becomes a heap-only (HOT) update.
--
-- A claim sets state 'sending', the lease, attempts and updated_at. Before
-- this migration state was in the predicate of deliveries_queue and
-- deliveries_leased, and lease_until the key of deliveries_leased, so
-- every claim wrote a new row version plus an entry in each of four
-- indexes (two of them unique, each checked against the old version):
-- 68 us of PostgreSQL time per recipient in tests/bench/delivery.sh, more
-- than the result's update and the release's insert together. An update
-- that changes no column any index names, and finds room on the row's own
-- page, writes no index entry at all (HOT). So:
--
-- * deliveries_queue holds every row with a next_attempt_at, i.e. queued,
--   deferred and sending (a claim leaves next_attempt_at as it was); the
--   claim's walk skips 'sending' rows by their state, read from the row.
--   Final rows have none (the CHECK below keeps it so), so the index holds
--   only the live queue, as before.
-- * deliveries_leased is gone: leases are found through dlv_leases, one
--   row per claim (the ids it took), written by the claim's statement and
--   deleted by the statement that records the last result of that batch.
--   A lease still there after its time (a dead node, or a result write
--   lost with its process) is what the expire statement returns to the
--   queue. A few rows per node at any time, not one index entry per
--   delivery.
-- * deliveries keeps half of each page free (fillfactor 50) for the
--   claim's new version; at 60 a third of the claims still found no room
--   (measured: 38,000 of 100,000 not HOT).
--
-- Measured on 100,000 rows (claims and results of 500, psql): 3.8 s
-- before, 2.0 s after.
CREATE TABLE dlv_leases (
	id    bigserial PRIMARY KEY,
	owner text NOT NULL,             -- the node (deliveries.lease_owner)
	until timestamptz NOT NULL,      -- = the rows' lease_until
	ids   bigint[] NOT NULL          -- the deliveries the claim took
);
-- a claim's 500 ids (4 KB) are stored out of line as they are: pglz took
-- 0.4% of the machine's CPU in the delivery benchmark compressing them
ALTER TABLE dlv_leases ALTER COLUMN ids SET STORAGE EXTERNAL;
CREATE INDEX dlv_leases_until ON dlv_leases (until);

-- rows in flight during the upgrade keep their leases
INSERT INTO dlv_leases (owner, until, ids)
SELECT coalesce(lease_owner, ''), max(lease_until), array_agg(id)
  FROM deliveries WHERE state = 'sending' GROUP BY lease_owner;

-- a final row keeps no due time (every statement that ends a delivery
-- clears it; this only makes sure of rows written before)
UPDATE deliveries SET next_attempt_at = NULL
 WHERE state NOT IN ('queued', 'sending', 'deferred')
   AND next_attempt_at IS NOT NULL;
DROP INDEX deliveries_leased;
DROP INDEX deliveries_queue;
CREATE INDEX deliveries_queue ON deliveries (next_attempt_at, id)
	WHERE next_attempt_at IS NOT NULL;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_final_not_queued
	CHECK (state IN ('queued', 'sending', 'deferred')
	       OR next_attempt_at IS NULL);
ALTER TABLE deliveries SET (fillfactor = 50);
