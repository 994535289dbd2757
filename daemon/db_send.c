/*
 * db_send.c: the statements of the two send actions. Each is one
 * statement of CTEs: facts (locked FOR SHARE, so an UpdateEmailTemplate,
 * an upload to the list or a deletion waits for this statement, and one
 * that committed first is seen by the lock's re-check), then the inserts,
 * guarded by those facts, then one row reporting them. Recipients are
 * inserted set-wise (INSERT ... SELECT), never one round trip each
 * (DESIGN.md section 4).
 */
#include "db_send.h"

/* The sender: a registered address of the account on one of its verified
 * domains; $2 the address. */
#define SENDER_CTE                                                             \
	"snd AS (SELECT a.address, a.sender_name, lower(i.domain) AS domain "  \
	"  FROM email_addresses a JOIN email_identities i "                    \
	"  ON i.id = a.identity_id "                                           \
	"  WHERE a.app_id = $1::bigint AND lower(a.address) = "                \
	"lower($2::text) "                                                     \
	"  AND i.app_id = $1::bigint AND i.verified "                          \
	"  FOR SHARE OF a, i)"

struct db_stmt db_send_batch = {"send_batch",
    "WITH " SENDER_CTE ", "
    "lst AS (SELECT name, status, count, data_keys FROM receivers "
    "  WHERE app_id = $1::bigint AND id = $5::bigint FOR SHARE), "
    "tpl AS (SELECT status, html, text_body, variables FROM templates "
    "  WHERE app_id = $1::bigint AND id = $6::bigint FOR SHARE), "
    "chk AS (SELECT EXISTS (SELECT 1 FROM snd) AS sender_ok, "
    "  EXISTS (SELECT 1 FROM lst) AS list_found, "
    "  coalesce((SELECT status = 3 AND count > 0 FROM lst), false) "
    "    AS list_ok, "
    "  coalesce((SELECT status = 0 FROM tpl), false) AS template_ok, "
    "  ARRAY(SELECT v FROM tpl, unnest(tpl.variables || $10::text[]) v "
    "    EXCEPT SELECT unnest(coalesce((SELECT data_keys FROM lst), "
    "      '{}'::text[]) || $8::text[]) "
    "    ORDER BY 1) AS missing, "
    "  ($12::text IS NULL OR $12::text::timestamptz >= "
    "    now() - interval '" SEND_BEGIN_GRACE "') AS begin_ok), "
    "go AS (SELECT 1 FROM chk WHERE sender_ok AND list_ok AND template_ok "
    "  AND begin_ok AND cardinality(missing) = 0), "
    /* the recipients of run 1 of a TaskType 1 task, read once, in the
     * order of the unique index deliveries_rcpt (its inserts then append
     * on the right); the account's suppressions join by a merge or hash
     * join, not one probe per address */
    "rcpt AS MATERIALIZED (SELECT d.email, d.template_data, "
    "  x.e IS NOT NULL AS suppressed "
    "  FROM receiver_details d LEFT JOIN (SELECT DISTINCT "
    "    lower(s.email) AS e FROM snd, suppressions s "
    "    WHERE s.app_id = $1::bigint "
    "    AND " SUPPRESSION_APPLIES ") x "
    "  ON x.e = lower(d.email) "
    "  WHERE $11::int = 1 AND EXISTS (SELECT 1 FROM go) "
    "  AND d.receiver_id = $5::bigint ORDER BY lower(d.email)), "
    "cnt AS (SELECT count(*)::int AS n, "
    "  count(*) FILTER (WHERE NOT suppressed)::int AS live FROM rcpt), "
    "task AS (INSERT INTO send_tasks (app_id, kind, task_type, status, "
    "  request_count, from_email, receiver_id, receivers_name, subject, "
    "  template_id, template_data, begin_time, interval_hours, term_cycle, "
    "  unsubscribe, ad_location, reply_to, sender_addr, sender_name, "
    "  sender_domain, template_html, template_text, template_variables, "
    "  begin_at, next_run_at, last_run_no) "
    "  SELECT $1::bigint, 'batch', $11::int, "
    "  CASE WHEN $11::int <> 1 THEN 1 WHEN cnt.live > 0 THEN 5 ELSE 10 END, "
    "  cnt.n, $4::text, $5::bigint, lst.name, $9::text, $6::bigint, "
    "  $7::text, $12::text, $13::int, $14::int, $15::text, $16::int, "
    "  $17::text, snd.address, coalesce($3::text, snd.sender_name), "
    "  snd.domain, tpl.html, tpl.text_body, tpl.variables, "
    "  $12::text::timestamptz, "
    "  CASE WHEN $11::int <> 1 THEN $12::text::timestamptz END, "
    "  CASE WHEN $11::int = 1 THEN 1 ELSE 0 END "
    "  FROM snd, lst, tpl, cnt, go "
    "  RETURNING id, task_type, request_count, status, msgid_key, "
    "  sender_domain, next_run_at), "
    "run AS (INSERT INTO task_runs (app_id, task_id, run_no, recipients, "
    "  open, finished_at) "
    "  SELECT $1::bigint, id, 1, request_count, cnt.live, "
    "  CASE WHEN cnt.live = 0 THEN now() END FROM task, cnt "
    "  WHERE task_type = 1), "
    /* the id is drawn first so the Message-ID can be derived from it */
    "dlv AS (INSERT INTO deliveries (id, app_id, task_id, run_no, email, "
    "  template_data, state, next_attempt_at, message_id) "
    "  SELECT x.id, $1::bigint, t.id, 1, x.email, x.template_data, "
    "  CASE WHEN x.suppressed THEN 'suppressed' ELSE 'queued' END, "
    "  CASE WHEN x.suppressed THEN NULL ELSE now() END, "
    "  sesd_message_id(t.id, 1, x.id, t.msgid_key, t.sender_domain) "
    "  FROM task t, (SELECT nextval('deliveries_id_seq') AS id, r.* "
    "    FROM rcpt r) x "
    "  WHERE t.task_type = 1) "
    "SELECT c.sender_ok, c.list_found, c.list_ok, c.template_ok, "
    "c.missing, c.begin_ok, t.id, t.request_count, t.status, "
    "CASE WHEN t.next_run_at IS NOT NULL THEN greatest(0, "
    "  ceil(extract(epoch FROM t.next_run_at - now()) * 1000)) END "
    "FROM chk c LEFT JOIN task t ON true",
    17, 0};

struct db_stmt db_send_single = {"send_single",
    "WITH " SENDER_CTE ", "
    "tpl AS (SELECT status, html, text_body, variables FROM templates "
    "  WHERE app_id = $1::bigint AND id = $5::bigint FOR SHARE), "
    "rc AS (SELECT u.email, u.ord "
    "  FROM unnest($10::text[]) WITH ORDINALITY AS u(email, ord)), "
    /* the first recipient under a suppression; on one address the
     * blacklist (custom, bounce) is named before an unsubscribe */
    "blk AS (SELECT r.email, s.reason FROM snd, rc r "
    "  JOIN suppressions s ON s.app_id = $1::bigint "
    "  AND lower(s.email) = lower(r.email) "
    "  WHERE " SUPPRESSION_APPLIES " "
    "  ORDER BY r.ord, s.reason = 'unsubscribe' LIMIT 1), "
    "chk AS (SELECT EXISTS (SELECT 1 FROM snd) AS sender_ok, "
    "  coalesce((SELECT status = 0 FROM tpl), false) AS template_ok, "
    "  ARRAY(SELECT v FROM tpl, unnest(tpl.variables || $9::text[]) v "
    "    EXCEPT SELECT unnest($7::text[]) ORDER BY 1) AS missing, "
    "  (SELECT email FROM blk) AS blocked, "
    "  (SELECT reason FROM blk) AS reason), "
    "go AS (SELECT 1 FROM chk WHERE sender_ok AND template_ok "
    "  AND cardinality(missing) = 0 AND blocked IS NULL), "
    "task AS (INSERT INTO send_tasks (app_id, kind, task_type, status, "
    "  request_count, from_email, subject, template_id, template_data, "
    "  unsubscribe, reply_to, destinations, cc, bcc, trigger_type, "
    "  smtp_headers, header_from, header_from_addr, header_from_name, "
    "  sender_addr, sender_name, sender_domain, template_html, "
    "  template_text, template_variables, last_run_no) "
    "  SELECT $1::bigint, 'single', 1, 5, cardinality($10::text[]), "
    "  $4::text, $8::text, $5::bigint, $6::text, $15::text, $14::text, "
    "  $11::text[], $12::text[], $13::text[], $16::int, $17::text, "
    "  $19::text, $20::text, $21::text, snd.address, "
    "  coalesce($3::text, snd.sender_name), snd.domain, tpl.html, "
    "  tpl.text_body, tpl.variables, 1 "
    "  FROM snd, tpl, go "
    "  RETURNING id, msgid_key, sender_domain), "
    "run AS (INSERT INTO task_runs (app_id, task_id, run_no, recipients, "
    "  open) "
    "  SELECT $1::bigint, id, 1, cardinality($10::text[]), "
    "  cardinality($10::text[]) FROM task), "
    "dlv AS (INSERT INTO deliveries (app_id, task_id, run_no, email, "
    "  state, next_attempt_at, message_id) "
    "  SELECT $1::bigint, t.id, 1, r.email, 'queued', now(), "
    "  coalesce($18::text, "
    "    sesd_message_id(t.id, 1, NULL, t.msgid_key, t.sender_domain)) "
    "  FROM task t, rc r ORDER BY r.ord "
    "  RETURNING message_id) "
    "SELECT c.sender_ok, c.template_ok, c.missing, c.blocked, c.reason, "
    "(SELECT message_id FROM dlv LIMIT 1) FROM chk c",
    21, 0};
