/*
 * db_query.h: the SQL of the status family (ListSendTasks,
 * GetSendEmailStatus, GetStatisticsReport) over send_tasks, deliveries
 * and suppressions (sql/0003_sending.sql). Read only; every statement
 * filters on app_id ($1). Parameters and result columns are listed with
 * each statement.
 */
#ifndef SESD_DB_QUERY_H
#define SESD_DB_QUERY_H

#include "db.h"

/* $1 app, $2 status|NULL, $3 receiver id|NULL, $4 task type|NULL,
 * $5 limit, $6 offset
 * -> 0 total, 1 id, 2 from_email, 3 receiver_id, 4 status, 5 task_type,
 *    6 request_count, 7 sent, 8 cached, 9 created, 10 updated (both
 *    "YYYY-MM-DD HH:MM:SS" in the session zone), 11 subject,
 *    12 template_id, 13 template_data|NULL, 14 begin_time|NULL,
 *    15 interval_hours|NULL, 16 term_cycle|NULL, 17 err_msg,
 *    18 receivers_name, 19 next_run_at as text or NULL; newest first;
 *    one row with NULL id when the page is empty */
extern struct db_stmt db_query_tasks;

/* $1 app, $2 date "YYYY-MM-DD", $3 message id|NULL, $4 recipient|NULL,
 * $5 limit, $6 offset, $7 retention days
 * -> 0 too_old, 1 future, 2 message_id, 3 email, 4 from_email,
 *    5 send_status, 6 deliver_status, 7 deliver_message, 8 request time
 *    (unix), 9 deliver time (unix, 0: none), 10 unsubscribed; one row with
 *    NULL message_id when the page is empty or the date is refused */
extern struct db_stmt db_query_status;

/* $1 app, $2 start date, $3 end date, $4 sender domain|NULL,
 * $5 recipient domain|NULL
 * -> one row per day, oldest first: 0 day "YYYY-MM-DD", 1 requested,
 *    2 accepted, 3 delivered, 4 bounced, 5 unsubscribed */
extern struct db_stmt db_query_stats;

#endif
