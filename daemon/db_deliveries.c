/*
 * db_deliveries.c: the statements of db_deliveries.h.
 */
#include "db_deliveries.h"

#define FINAL_STATES "('sent', 'bounced', 'failed')"

struct db_stmt db_dlv_claim = {"dlv_claim",
    /* the first due row after the node's cursor, in deliveries_queue
     * order (the rows before it were claimed already and their index
     * entries are dead); the task's status is a filter on that row, not a
     * join, so no statistics can turn this walk into a sort */
    "WITH pick AS (SELECT task_id, run_no, next_attempt_at AS at, id "
    "  FROM deliveries x WHERE state IN ('queued', 'deferred') "
    "  AND next_attempt_at <= now() "
    "  AND (next_attempt_at, id) > ($4::timestamptz, $5::bigint) "
    "  AND (SELECT t.status FROM send_tasks t WHERE t.id = x.task_id) = 5 "
    "  ORDER BY next_attempt_at, id LIMIT 1), "
    /* that run's due rows from there: LATERAL makes pick's values the
     * bounds of one ordered walk of deliveries_queue (a join let stale
     * statistics choose a sort of the whole run instead) */
    "c AS (SELECT l.id FROM pick p, LATERAL (SELECT d.id FROM deliveries d "
    "  WHERE d.task_id = p.task_id AND d.run_no = p.run_no "
    "  AND (d.next_attempt_at, d.id) >= (p.at, p.id) "
    "  AND d.state IN ('queued', 'deferred') AND d.next_attempt_at <= now() "
    "  ORDER BY d.next_attempt_at, d.id LIMIT $2::int "
    "  FOR UPDATE OF d SKIP LOCKED) l), "
    "u AS (UPDATE deliveries d SET state = 'sending', "
    "  lease_until = now() + $3::int * interval '1 second', "
    "  lease_owner = $1::text, attempts = d.attempts + 1, "
    "  updated_at = now() "
    "  WHERE d.id = ANY (ARRAY(SELECT id FROM c)) "
    "  RETURNING d.id, d.email, d.template_data, d.message_id, d.attempts, "
    "  d.task_id, d.run_no, d.app_id, d.next_attempt_at AS at), "
    /* the lease, one row for the batch: the claim's update above is a
     * heap-only update (sql/0006_claim_hot.sql), so no index of
     * deliveries can find the leased rows */
    "ls AS (INSERT INTO dlv_leases (owner, until, ids) "
    "  SELECT $1::text, now() + $3::int * interval '1 second', "
    "  array_agg(id) FROM u HAVING count(*) > 0 RETURNING id), "
    "o AS (SELECT u.*, u.id = min(u.id) OVER () AS first FROM u), "
    "cur AS (SELECT u.at::text AS at, u.id FROM u "
    "  ORDER BY u.at DESC, u.id DESC LIMIT 1) "
    "SELECT o.id, o.email, o.template_data, o.message_id, o.attempts, "
    "o.task_id, o.run_no, o.app_id, "
    "CASE WHEN o.first THEN t.kind END, "
    "CASE WHEN o.first THEN t.subject END, "
    "CASE WHEN o.first THEN t.template_html END, "
    "CASE WHEN o.first THEN t.template_text END, "
    "CASE WHEN o.first THEN t.template_data END, "
    "CASE WHEN o.first THEN t.unsubscribe END, "
    "CASE WHEN o.first THEN t.ad_location END, "
    "CASE WHEN o.first THEN t.reply_to END, "
    "CASE WHEN o.first THEN t.sender_addr END, "
    "CASE WHEN o.first THEN t.sender_name END, "
    "CASE WHEN o.first THEN t.sender_domain END, "
    "CASE WHEN o.first THEN t.header_from_addr END, "
    "CASE WHEN o.first THEN t.header_from_name END, "
    "CASE WHEN o.first THEN i.dkim_selector END, "
    "CASE WHEN o.first THEN i.dkim_private_key END, "
    "CASE WHEN o.first AND t.kind = 'single' "
    "  THEN array_to_string(coalesce(t.destinations, '{}'), ' ') END, "
    "CASE WHEN o.first AND t.kind = 'single' "
    "  THEN array_to_string(t.cc, ' ') END, "
    "CASE WHEN o.first AND t.kind = 'single' THEN t.smtp_headers END, "
    "CASE WHEN o.first THEN (SELECT at FROM cur) END, "
    "CASE WHEN o.first THEN (SELECT id FROM cur) END, "
    "CASE WHEN o.first THEN (SELECT id FROM ls) END "
    "FROM o JOIN send_tasks t ON t.id = o.task_id "
    "LEFT JOIN email_identities i ON i.app_id = t.app_id "
    "  AND lower(i.domain) = t.sender_domain "
    "ORDER BY o.id",
    5, 0};

#define DEADLINE "d.created_at + $8::int * interval '1 second'"

struct db_stmt db_dlv_results = {"dlv_results",
    "WITH r AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], "
    "  $4::int[], $5::text[], $6::bool[], $7::int[]) "
    "  AS r(id, attempts, state, code, reply, hard, delay)), "
    /* a deferral past the retry age, or of a stopped task, is final */
    "upd AS (UPDATE deliveries d SET "
    "  state = CASE WHEN r.state = 'deferred' AND (now() >= " DEADLINE " "
    "    OR t.stopped_at IS NOT NULL) THEN 'failed' ELSE r.state END, "
    "  next_attempt_at = CASE WHEN r.state = 'deferred' "
    "    AND now() < " DEADLINE " AND t.stopped_at IS NULL "
    "    THEN least(now() + r.delay * interval '1 second', " DEADLINE ") END, "
    "  lease_until = NULL, lease_owner = NULL, "
    "  smtp_code = nullif(r.code, 0), smtp_reply = r.reply, "
    "  sent_at = CASE WHEN r.state = 'sent' THEN now() ELSE d.sent_at END, "
    "  updated_at = now() "
    /* the guard (a row still 'sending' or 'deferred' with the attempts
     * we claimed) is written as a join clause on purpose: as a filter
     * on d, the statistics of the ANALYZE that follows a release (every
     * row 'queued') made it look like 1 row, and the planner scanned
     * deliveries first and the 500 results once per row it found
     * (auto_explain: 3.5 s for one call, in one delivery bench in
     * eight; 1.1 s for 1,500 results in a generic plan). Joined, the
     * results lead and each finds its row through deliveries_pkey. */
    "  FROM r, send_tasks t WHERE d.id = r.id "
    "  AND CASE WHEN d.state IN ('sending', 'deferred') THEN d.attempts "
    "    END = r.attempts AND t.id = d.task_id "
    "  RETURNING d.id, d.app_id, d.task_id, d.run_no, d.email, d.state, "
    "  r.hard, r.reply), "
    "sup AS (INSERT INTO suppressions (app_id, reason, domain, email, detail) "
    "  SELECT u.app_id, 'bounce', t.sender_domain, u.email, "
    "  left('hard bounce: ' || u.reply, 500) "
    "  FROM upd u JOIN send_tasks t ON t.id = u.task_id "
    "  WHERE u.hard AND u.state = 'bounced' "
    "  ON CONFLICT DO NOTHING RETURNING 1), "
    /* the leases of the batches whose last result this is */
    "dl AS (DELETE FROM dlv_leases WHERE id = ANY ($9::bigint[])), "
    /* each delivery turns final once (the guard above), so the runs'
     * open counters stay exact; a run at 0 is over */
    "k AS (SELECT task_id, run_no, count(*)::int AS k FROM upd "
    "  WHERE state IN " FINAL_STATES " GROUP BY task_id, run_no), "
    "dec AS (UPDATE task_runs tr SET open = tr.open - k.k, "
    "  finished_at = CASE WHEN tr.open - k.k = 0 THEN now() END "
    "  FROM k WHERE tr.task_id = k.task_id AND tr.run_no = k.run_no "
    "  RETURNING tr.task_id, tr.open), "
    "fin AS (UPDATE send_tasks t SET status = CASE WHEN t.next_run_at IS NULL "
    "  THEN 10 ELSE 1 END, updated_at = now() "
    "  FROM dec WHERE t.id = dec.task_id AND dec.open = 0 AND t.status = 5 "
    "  RETURNING t.id) "
    "SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM sup), "
    "(SELECT count(*) FROM fin)",
    9, 0};

/* The safety net for a task left at 5 with no open run (none is expected:
 * the results statement ends tasks): probes task_runs' primary key for the
 * few tasks at status 5. */
struct db_stmt db_dlv_analyze = {
    "dlv_analyze", "SELECT sesd_analyze_deliveries()", 0, 0};

/* never shortens a lease */
struct db_stmt db_dlv_renew = {"dlv_renew",
    "UPDATE dlv_leases "
    "SET until = greatest(until, now() + $2::int * interval '1 second') "
    "WHERE id = ANY ($1::bigint[]) RETURNING id",
    2, 0};

struct db_stmt db_dlv_expire = {"dlv_expire",
    "WITH l AS (DELETE FROM dlv_leases WHERE until < now() RETURNING ids), "
    "x AS (UPDATE deliveries SET state = 'deferred', "
    "  next_attempt_at = now(), lease_until = NULL, lease_owner = NULL, "
    "  smtp_reply = 'lease expired', updated_at = now() "
    "  WHERE id = ANY (ARRAY(SELECT unnest(ids) FROM l)) "
    "  AND state = 'sending' AND lease_until < now() RETURNING task_id), "
    "fin AS (UPDATE send_tasks t SET status = CASE WHEN t.next_run_at IS NULL "
    "  THEN 10 ELSE 1 END, updated_at = now() "
    "  WHERE t.status = 5 AND t.id NOT IN (SELECT task_id FROM x) "
    "  AND NOT EXISTS (SELECT 1 FROM task_runs r "
    "    WHERE r.task_id = t.id AND r.open > 0) "
    "  RETURNING t.id) "
    "SELECT (SELECT count(*) FROM x), (SELECT count(*) FROM fin)",
    0, 0};
