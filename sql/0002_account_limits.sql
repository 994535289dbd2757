-- 0002_account_limits: per-account quotas ([limits] domains, senders,
-- templates, receivers) that hold under concurrent creates.
--
-- A statement's snapshot is taken when it starts, so "count(*) < limit"
-- in an INSERT lets two concurrent creates both see room for one. This
-- function serialises the creates of one account on one table with a
-- transaction-level advisory lock and then counts with a fresh snapshot
-- (a VOLATILE plpgsql function takes one per query in READ COMMITTED), so
-- it sees every row committed by the lock's previous holder.
CREATE FUNCTION sesd_count_locked(tbl regclass, app bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM pg_advisory_xact_lock(tbl::oid::integer, hashint8(app));
	EXECUTE format('SELECT count(*) FROM %s WHERE app_id = $1', tbl)
	   INTO n USING app;
	RETURN n;
END
$$;
