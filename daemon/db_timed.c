/*
 * db_timed.c: the statements of db_timed.h.
 */
#include "db_timed.h"

#include "db_send.h"

#define MS_UNTIL(t)                                                            \
	"greatest(0, ceil(extract(epoch FROM (" t ") - now()) * "              \
	"1000))::bigint"

struct db_stmt db_timed_refill = {"timed_refill",
    "WITH b AS (SELECT now() + $3::int * interval '1 second' AS hi) "
    "SELECT b.hi::text, x.id, x.next_run_at::text, x.ms "
    "FROM b LEFT JOIN LATERAL (SELECT t.id, t.next_run_at, "
    "  " MS_UNTIL(
	"t.next_run_at") " AS ms "
			 "  FROM send_tasks t WHERE t.next_run_at IS NOT NULL "
			 "  AND (t.next_run_at, t.id) > ($1::timestamptz, "
			 "$2::bigint) "
			 "  AND t.next_run_at <= b.hi AND t.status = 1 AND NOT "
			 "t.paused "
			 "  ORDER BY t.next_run_at, t.id LIMIT $4::int) x ON "
			 "true "
			 "ORDER BY x.next_run_at, x.id",
    4, 0};

struct db_stmt db_timed_overdue = {"timed_overdue",
    "SELECT id FROM send_tasks WHERE next_run_at <= now() "
    "AND status = 1 AND NOT paused ORDER BY next_run_at LIMIT $1::int",
    1, 0};

struct db_stmt db_timed_fire = {"timed_fire",
    "WITH t AS (SELECT * FROM send_tasks WHERE id = $1::bigint "
    "  AND status = 1 AND NOT paused AND next_run_at <= now() "
    "  FOR UPDATE SKIP LOCKED), "
    /* the latest slot due; never a run number already used */
    "k AS (SELECT t.id, greatest(t.last_run_no + 1, CASE WHEN "
    "  t.task_type = 3 THEN floor(extract(epoch FROM now() - t.begin_at) "
    "  / (t.interval_hours::float8 * $2::int))::int + 1 ELSE 1 END) "
    "  AS run_no FROM t), "
    "lst AS (SELECT r.id FROM t JOIN receivers r ON r.app_id = t.app_id "
    "  AND r.id = t.receiver_id FOR SHARE OF r), "
    "snd AS (SELECT t.app_id, t.sender_domain AS domain FROM t), "
    "rcpt AS MATERIALIZED (SELECT d.email, d.template_data, "
    "  x.e IS NOT NULL AS suppressed "
    "  FROM lst JOIN receiver_details d ON d.receiver_id = lst.id "
    "  LEFT JOIN (SELECT DISTINCT lower(s.email) AS e FROM snd, "
    "    suppressions s WHERE s.app_id = snd.app_id "
    "    AND " SUPPRESSION_APPLIES ") x ON x.e = lower(d.email) "
    "  ORDER BY lower(d.email)), "
    "cnt AS (SELECT count(*)::int AS n, "
    "  count(*) FILTER (WHERE NOT suppressed)::int AS live FROM rcpt), "
    "run AS (INSERT INTO task_runs (app_id, task_id, run_no, recipients, "
    "  open, finished_at) "
    "  SELECT t.app_id, t.id, k.run_no, cnt.n, cnt.live, "
    "  CASE WHEN cnt.live = 0 THEN now() END FROM t, k, cnt "
    "  WHERE EXISTS (SELECT 1 FROM lst) "
    "  ON CONFLICT DO NOTHING RETURNING task_id, run_no), "
    "dlv AS (INSERT INTO deliveries (id, app_id, task_id, run_no, email, "
    "  template_data, state, next_attempt_at, message_id) "
    "  SELECT x.id, t.app_id, t.id, run.run_no, x.email, x.template_data, "
    "  CASE WHEN x.suppressed THEN 'suppressed' ELSE 'queued' END, "
    "  CASE WHEN x.suppressed THEN NULL ELSE now() END, "
    "  sesd_message_id(t.id, run.run_no, x.id, t.msgid_key, "
    "    t.sender_domain) "
    "  FROM t, run, (SELECT nextval('deliveries_id_seq') AS id, r.* "
    "    FROM rcpt r) x), "
    "nx AS (SELECT CASE WHEN t.task_type = 3 AND EXISTS (SELECT 1 FROM lst) "
    "  THEN t.begin_at + k.run_no * t.interval_hours * $2::int "
    "    * interval '1 second' END AS at, "
    "  k.run_no - t.last_run_no - 1 AS skipped, "
    "  EXISTS (SELECT 1 FROM lst) AS list_ok FROM t, k), "
    "upd AS (UPDATE send_tasks s SET "
    "  status = CASE WHEN NOT nx.list_ok THEN 7 WHEN cnt.live > 0 THEN 5 "
    "    WHEN nx.at IS NOT NULL THEN 1 ELSE 10 END, "
    "  err_msg = CASE WHEN NOT nx.list_ok "
    "    THEN 'the recipient list no longer exists' ELSE '' END, "
    "  next_run_at = nx.at, last_run_no = k.run_no, "
    "  runs_skipped = s.runs_skipped + nx.skipped, "
    "  request_count = s.request_count + cnt.n, updated_at = now() "
    "  FROM k, nx, cnt WHERE s.id = k.id "
    "  RETURNING s.status, s.next_run_at) "
    "SELECT k.id IS NOT NULL, k.run_no, nx.skipped, cnt.n, cnt.live, "
    "u.status, CASE WHEN u.next_run_at IS NOT NULL "
    "  THEN " MS_UNTIL(
	"u.next_run_at") " END, "
			 "CASE WHEN k.id IS NULL AND c.status = 1 AND NOT "
			 "c.paused "
			 "  AND c.next_run_at IS NOT NULL THEN " MS_UNTIL(
			     "c.next_run_at") " END "
					      "FROM (SELECT 1) one LEFT JOIN k "
					      "ON true LEFT JOIN nx ON true "
					      "LEFT JOIN cnt ON k.id IS NOT "
					      "NULL LEFT JOIN upd u ON true "
					      "LEFT JOIN send_tasks c ON c.id "
					      "= $1::bigint",
    2, 0};
