/*
 * db_deliveries.h: the dispatcher's SQL over deliveries (sql/0003_sending.sql
 * state machine): claim a batch of one task run, write a batch of results
 * back, return expired leases to the queue. Each is one statement; every
 * set travels as arrays (unnest), never one round trip per recipient.
 * The statements span accounts on purpose (the dispatcher serves all of
 * them); each row keeps its app_id and every derived row (suppression)
 * takes the delivery's own app_id.
 */
#ifndef SESD_DB_DELIVERIES_H
#define SESD_DB_DELIVERIES_H

#include "db.h"

/*
 * Claim. $1 node (lease_owner), $2 at most this many rows, $3 lease in
 * seconds, $4 and $5 the node's cursor: (next_attempt_at, id) of the last
 * row it claimed ('-infinity' and 0 to start over). Picks the first due
 * delivery after the cursor, in (next_attempt_at, id) order, among the
 * tasks that are sending (status 5: not paused, not stopped), then up to
 * $2 due deliveries of that same task run from there (one batch = one
 * run = one template), all FOR UPDATE SKIP LOCKED, so several nodes and
 * several claims in flight never take the same row; sets them 'sending',
 * attempts + 1, lease_until = now() + $3 s, and records the lease as one
 * dlv_leases row listing their ids (sql/0006_claim_hot.sql: the update is
 * heap-only, so no index of deliveries finds leased rows; this row does).
 * Columns, in DLV_C_* order
 * below; the task's columns (DLV_C_KIND on) are filled in row 0 only
 * (NULL in later rows) so a big template crosses the wire once.
 *
 * The cursor is only a hint, kept in the node's memory: the rows before it
 * were claimed already (their index entries point at rows 'sending' or
 * dead), and a scan from the start would walk them all on every claim (the cost
 * of a queue in a table grew with the task: 36 ms, then 71 ms per 500-row claim
 * half-way through 100,000). A row that becomes due behind the cursor (a
 * release that committed late, a claim of another node that rolled back) is
 * found when the dispatcher starts over: after a claim found nothing, and every
 * SCHED_EXPIRE_MS.
 */
extern struct db_stmt db_dlv_claim;

enum {
	DLV_C_ID,
	DLV_C_EMAIL,
	DLV_C_DATA, /* the list's per-recipient TemplateData or NULL */
	DLV_C_MSGID,
	DLV_C_ATTEMPTS, /* after the increment: the claim's generation */
	DLV_C_TASK,
	DLV_C_RUN,
	DLV_C_APP,
	DLV_C_KIND, /* row 0 only from here */
	DLV_C_SUBJECT,
	DLV_C_HTML,   /* NULL: no html part */
	DLV_C_TEXT,   /* NULL: no text part */
	DLV_C_SHARED, /* Template.TemplateData or NULL */
	DLV_C_UNSUB,  /* "0".."12" or NULL */
	DLV_C_AD,
	DLV_C_REPLY_TO,
	DLV_C_SENDER_ADDR,
	DLV_C_SENDER_NAME,
	DLV_C_DOMAIN,
	DLV_C_HDR_FROM_ADDR, /* SendEmail HeaderFrom's address or NULL */
	DLV_C_HDR_FROM_NAME,
	DLV_C_DKIM_SELECTOR, /* NULL: no identity row for the domain */
	DLV_C_DKIM_KEY,
	/* SendEmail (kind 'single') only, else NULL: the To: and Cc:
	 * addresses, each list joined by single spaces (an addr-spec holds
	 * none; "" for an empty To), and SmtpHeaders (JSON object or NULL) */
	DLV_C_TO,
	DLV_C_CC,
	DLV_C_SMTP_HEADERS,
	/* row 0: the new cursor, the greatest (next_attempt_at, id) claimed */
	DLV_C_CUR_AT,
	DLV_C_CUR_ID,
	DLV_C_LEASE, /* row 0: the dlv_leases id of this batch */
	DLV_C_NCOLS
};

/*
 * Results. $1 ids bigint[], $2 attempts int[] (as claimed: a row claimed
 * again since, by this or another node, is left alone), $3 states text[]
 * ('sent', 'deferred', 'bounced', 'failed'), $4 SMTP codes int[] (0: none),
 * $5 replies text[], $6 hard bounce bool[], $7 backoff seconds int[],
 * $8 [smtp] max_retry_age in seconds, $9 dlv_leases ids bigint[]: the
 * leases of the batches whose last result is in $1 or was written by an
 * earlier call (deleted here, in the same transaction as the results: a
 * lease is never gone while a row of its batch is still 'sending'). A
 * 'deferred' whose created_at + max_retry_age has passed becomes 'failed';
 * otherwise next_attempt_at is now() + backoff, but never later than that
 * deadline (one last attempt there). A hard bounce adds a 'bounce' suppression
 * for the sender domain (ON CONFLICT DO NOTHING). A deferral of a stopped task
 * is 'failed'. Each row turned final decrements its run's task_runs.open; a run
 * at 0 is over (finished_at), and its task goes from status 5 to 10 (no run to
 * come: next_run_at NULL) or to 1 (a cyclic task waiting for its next
 * run). Two nodes ending one run at once serialise on the task_runs row,
 * and the second sees the first's count.
 * -> one row: updated, suppressed, finished (counts).
 */
extern struct db_stmt db_dlv_results;

/*
 * Renew: $1 bigint[] of dlv_leases ids, $2 lease seconds. Each lease still
 * there ends no sooner than $2 from now (the rows' own lease_until is left
 * as claimed: dlv_leases.until is what the expiry goes by).
 * -> id of each lease renewed (one missing was deleted: its results were
 *    written, or it expired and was swept).
 */
extern struct db_stmt db_dlv_renew;

/*
 * Expire. No parameters. Every dlv_leases row whose time has passed (its
 * node died, or the write of its results was lost) is deleted, and those
 * of its rows still 'sending' under that lease go back to 'deferred', due
 * now. Then, as a safety net, ends every status 5 task none of whose runs
 * has an open delivery (10, or 1 for a cyclic task with a run to come).
 * -> one row: expired, finished (counts).
 */
extern struct db_stmt db_dlv_expire;

/*
 * ANALYZE deliveries (sesd_analyze_deliveries()), after a release of at
 * least DLV_ANALYZE_ROWS rows: the planner's statistics then know the run.
 */
#define DLV_ANALYZE_ROWS 10000
extern struct db_stmt db_dlv_analyze;

#endif
