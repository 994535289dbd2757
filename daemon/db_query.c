/*
 * db_query.c: the statements of the status family. One statement per
 * action: counts are aggregated in SQL (a LATERAL aggregate per task over
 * deliveries, served by the prefix task_id of deliveries_rcpt; a GROUP BY
 * per day), never one round trip per row. Days are calendar days in the
 * session's TimeZone, which is [sesd] time_zone: a date compared with a
 * timestamptz is midnight in that zone.
 */
#include "db_query.h"

/* ListSendTasks' filters; the count and the page use the same. */
#define TASK_FILTER                                                            \
	"app_id = $1::bigint AND kind = 'batch' "                              \
	"AND ($2::int IS NULL OR status = $2::int) "                           \
	"AND ($3::bigint IS NULL OR receiver_id = $3::bigint) "                \
	"AND ($4::int IS NULL OR task_type = $4::int)"

#define TIME_FMT "'YYYY-MM-DD HH24:MI:SS'"

struct db_stmt db_query_tasks = {"query_tasks",
    "SELECT c.total, p.* "
    "FROM (SELECT count(*) AS total FROM send_tasks WHERE " TASK_FILTER ") c "
    "LEFT JOIN LATERAL (SELECT t.id, t.from_email, t.receiver_id, t.status, "
    "  t.task_type, t.request_count, n.sent, n.cached, "
    "  to_char(t.created_at, " TIME_FMT ") AS created, "
    "  to_char(greatest(t.updated_at, n.last), " TIME_FMT ") AS updated, "
    "  t.subject, t.template_id, t.template_data, t.begin_time, "
    "  t.interval_hours, t.term_cycle, t.err_msg, "
    "  coalesce(t.receivers_name, '') AS receivers_name, "
    "  to_char(t.next_run_at, " TIME_FMT ") AS next_run "
    "  FROM (SELECT id, from_email, receiver_id, status, task_type, "
    "    request_count, created_at, updated_at, subject, template_id, "
    "    template_data, begin_time, interval_hours, term_cycle, err_msg, "
    "    receivers_name, next_run_at FROM send_tasks WHERE " TASK_FILTER " "
    "    ORDER BY id DESC LIMIT $5 OFFSET $6) t "
    "  LEFT JOIN LATERAL (SELECT "
    "    count(*) FILTER (WHERE d.state = 'sent') AS sent, "
    "    count(*) FILTER (WHERE d.state IN ('queued', 'sending', "
    "      'deferred')) AS cached, "
    "    max(d.updated_at) AS last "
    "    FROM deliveries d WHERE d.task_id = t.id "
    "    AND d.app_id = $1::bigint) n ON true "
    "  ORDER BY t.id DESC) p ON true "
    "ORDER BY p.id DESC",
    6, 0};

/* The last SMTP reply, "code text"; the dispatcher stores the code in
 * front already, an older row may not. */
#define REPLY                                                                  \
	"CASE WHEN d.smtp_reply IS NULL OR d.smtp_reply = '' THEN NULL "       \
	"WHEN d.smtp_code IS NULL "                                            \
	"  OR d.smtp_reply LIKE d.smtp_code::text || '%' THEN d.smtp_reply "   \
	"ELSE d.smtp_code::text || ' ' || d.smtp_reply END"

struct db_stmt db_query_status = {"query_status",
    "WITH chk AS (SELECT $2::date < current_date - $7::int AS too_old, "
    "  $2::date > current_date AS future) "
    "SELECT c.too_old, c.future, p.* FROM chk c LEFT JOIN LATERAL ("
    "  SELECT d.message_id, d.email, t.from_email, "
    "  CASE d.state WHEN 'failed' THEN 1004 "
    "    WHEN 'suppressed' THEN CASE WHEN x.reason = 'unsubscribe' "
    "      THEN 1013 ELSE 1007 END "
    "    ELSE 0 END AS send_status, "
    "  CASE d.state WHEN 'sent' THEN 1 WHEN 'deferred' THEN 8 "
    "    WHEN 'bounced' THEN 3 WHEN 'failed' THEN 2 "
    "    WHEN 'suppressed' THEN 2 ELSE 0 END AS deliver_status, "
    "  CASE d.state "
    "    WHEN 'suppressed' THEN CASE x.reason "
    "      WHEN 'custom' THEN 'not sent: the address is on the custom "
    "blacklist' "
    "      WHEN 'bounce' THEN 'not sent: the address hard-bounced before' "
    "      WHEN 'unsubscribe' THEN 'not sent: the recipient unsubscribed "
    "from ' || t.sender_domain "
    "      ELSE 'not sent: the address was suppressed when the task was "
    "released' END "
    "    WHEN 'failed' THEN 'not delivered within the retry period, ' "
    "      || d.attempts || ' attempts' "
    "      || coalesce('; last reply: ' || " REPLY ", '') "
    "    ELSE coalesce(" REPLY ", '') END AS deliver_message, "
    "  extract(epoch FROM d.created_at)::bigint AS request_time, "
    "  coalesce(extract(epoch FROM CASE d.state WHEN 'sent' THEN d.sent_at "
    "    WHEN 'deferred' THEN d.updated_at WHEN 'bounced' THEN d.updated_at "
    "    WHEN 'failed' THEN d.updated_at END)::bigint, 0) AS deliver_time, "
    "  EXISTS (SELECT 1 FROM suppressions u WHERE u.app_id = $1::bigint "
    "    AND u.reason = 'unsubscribe' AND lower(u.email) = lower(d.email) "
    "    AND (u.domain IS NULL OR lower(u.domain) = t.sender_domain) "
    "    AND (u.expire_date IS NULL OR u.expire_date >= current_date)) "
    "    AS unsubscribed "
    /* a day's deliveries are those of the runs released that day (each
     * run's rows are inserted with it: created_at = released_at), found
     * through task_runs_app_released and deliveries_rcpt; an index on
     * deliveries (app_id, created_at) cost every delivery two index
     * entries (sql/0007_status_by_run.sql) */
    "  FROM task_runs tr JOIN deliveries d ON d.task_id = tr.task_id "
    "    AND d.run_no = tr.run_no "
    "  JOIN send_tasks t ON t.id = d.task_id "
    "    AND t.app_id = $1::bigint "
    /* why a suppressed row was not mailed: the blacklist is named before
     * an unsubscribe, as SendEmail does */
    "  LEFT JOIN LATERAL (SELECT s.reason FROM suppressions s "
    "    WHERE d.state = 'suppressed' AND s.app_id = $1::bigint "
    "    AND lower(s.email) = lower(d.email) "
    "    AND (s.domain IS NULL OR lower(s.domain) = t.sender_domain) "
    "    ORDER BY s.reason = 'unsubscribe', s.reason = 'bounce' "
    "    LIMIT 1) x ON true "
    "  WHERE NOT c.too_old AND NOT c.future AND tr.app_id = $1::bigint "
    "  AND tr.released_at >= $2::date AND tr.released_at < $2::date + 1 "
    "  AND d.app_id = $1::bigint "
    "  AND d.created_at >= $2::date AND d.created_at < $2::date + 1 "
    "  AND ($3::text IS NULL OR d.message_id = $3::text) "
    "  AND ($4::text IS NULL OR lower(d.email) = lower($4::text)) "
    "  ORDER BY d.created_at, d.id LIMIT $5 OFFSET $6) p ON true",
    7, 0};

#define RCPT_DOMAIN(col) "lower(substring(" col " FROM '@([^@]*)$'))"

struct db_stmt db_query_stats = {"query_stats",
    "WITH days AS (SELECT $2::date + i AS day "
    "  FROM generate_series(0, $3::date - $2::date) i), "
    "dl AS (SELECT d.created_at::date AS day, count(*) AS req, "
    "  count(*) FILTER (WHERE d.state <> 'suppressed') AS acc, "
    "  count(*) FILTER (WHERE d.state = 'sent') AS dlv, "
    "  count(*) FILTER (WHERE d.state = 'bounced') AS bnc "
    "  FROM task_runs tr JOIN deliveries d ON d.task_id = tr.task_id "
    "    AND d.run_no = tr.run_no "
    "  JOIN send_tasks t ON t.id = d.task_id AND t.app_id = $1::bigint "
    "  WHERE tr.app_id = $1::bigint "
    "  AND tr.released_at >= $2::date AND tr.released_at < $3::date + 1 "
    "  AND d.app_id = $1::bigint "
    "  AND d.created_at >= $2::date AND d.created_at < $3::date + 1 "
    "  AND ($4::text IS NULL OR t.sender_domain = lower($4::text)) "
    "  AND ($5::text IS NULL OR " RCPT_DOMAIN(
	"d.email") " = "
		   "lower($5::text)) "
		   "  GROUP BY 1), "
		   "un AS (SELECT s.created_at::date AS day, count(*) AS n "
		   "  FROM suppressions s WHERE s.app_id = $1::bigint "
		   "  AND s.reason = 'unsubscribe' "
		   "  AND s.created_at >= $2::date AND s.created_at < $3::date "
		   "+ 1 "
		   "  AND ($4::text IS NULL OR lower(s.domain) = "
		   "lower($4::text)) "
		   "  AND ($5::text IS NULL OR " RCPT_DOMAIN(
		       "s.email") " = "
				  "lower($5::text)) "
				  "  GROUP BY 1) "
				  "SELECT to_char(days.day, 'YYYY-MM-DD'), "
				  "coalesce(dl.req, 0), "
				  "coalesce(dl.acc, 0), coalesce(dl.dlv, 0), "
				  "coalesce(dl.bnc, 0), "
				  "coalesce(un.n, 0) "
				  "FROM days LEFT JOIN dl ON dl.day = days.day "
				  "LEFT JOIN un ON un.day = days.day ORDER BY "
				  "days.day",
    5, 0};
