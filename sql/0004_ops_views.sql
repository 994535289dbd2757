-- 0004_ops_views: read-only views for operators (psql), over the sending
-- tables of 0003_sending.sql. They show every account; filter on app_id.
-- Days and times are in the session's TimeZone: run
--   SET TimeZone = 'Asia/Shanghai';   -- [sesd] time_zone
-- first so that a "day" is the same one the API reports.

-- ops_task_progress: one row per task (batch and single), with its
-- deliveries counted per state (every run so far). pending = queued +
-- sending + deferred, i.e. not final yet; last_activity is the newest
-- change of a delivery. Served per task by deliveries_rcpt (task_id
-- prefix), so "WHERE task_id = 42" or "WHERE app_id = ... ORDER BY
-- task_id DESC LIMIT 20" stay cheap.
CREATE VIEW ops_task_progress AS
SELECT t.app_id, t.id AS task_id, t.kind, t.task_type, t.status, t.err_msg,
       t.sender_domain, t.from_email, t.receiver_id, t.receivers_name,
       t.subject, t.request_count,
       n.queued, n.sending, n.sent, n.deferred, n.bounced, n.failed,
       n.suppressed, n.queued + n.sending + n.deferred AS pending,
       t.next_run_at, t.created_at, t.updated_at, n.last_activity
  FROM send_tasks t
  LEFT JOIN LATERAL (
	SELECT count(*) FILTER (WHERE d.state = 'queued') AS queued,
	       count(*) FILTER (WHERE d.state = 'sending') AS sending,
	       count(*) FILTER (WHERE d.state = 'sent') AS sent,
	       count(*) FILTER (WHERE d.state = 'deferred') AS deferred,
	       count(*) FILTER (WHERE d.state = 'bounced') AS bounced,
	       count(*) FILTER (WHERE d.state = 'failed') AS failed,
	       count(*) FILTER (WHERE d.state = 'suppressed') AS suppressed,
	       max(d.updated_at) AS last_activity
	  FROM deliveries d WHERE d.task_id = t.id) n ON true;

-- ops_delivery_failures: deliveries that did not (yet) go through:
-- bounced and failed (final) and deferred (to be retried at
-- next_attempt_at), with the last SMTP reply code and text verbatim and
-- the attempts made. Newest problems: ORDER BY updated_at DESC.
CREATE VIEW ops_delivery_failures AS
SELECT d.app_id, d.id AS delivery_id, d.task_id, d.run_no, t.kind,
       t.sender_domain, d.email, d.state, d.attempts, d.smtp_code,
       d.smtp_reply, d.next_attempt_at, d.message_id, d.created_at,
       d.updated_at
  FROM deliveries d
  JOIN send_tasks t ON t.id = d.task_id
 WHERE d.state IN ('bounced', 'failed', 'deferred');

-- ops_daily_volume: per account, calendar day (session TimeZone) and
-- sender domain, the deliveries created that day by their current state:
-- requested (all), sent, bounced, failed, suppressed and pending (queued,
-- sending or deferred). A day without deliveries has no row.
CREATE VIEW ops_daily_volume AS
SELECT d.app_id, (d.created_at)::date AS day, t.sender_domain,
       count(*) AS requested,
       count(*) FILTER (WHERE d.state = 'sent') AS sent,
       count(*) FILTER (WHERE d.state = 'bounced') AS bounced,
       count(*) FILTER (WHERE d.state = 'failed') AS failed,
       count(*) FILTER (WHERE d.state = 'suppressed') AS suppressed,
       count(*) FILTER (WHERE d.state IN ('queued', 'sending', 'deferred'))
           AS pending
  FROM deliveries d
  JOIN send_tasks t ON t.id = d.task_id
 GROUP BY d.app_id, (d.created_at)::date, t.sender_domain;
