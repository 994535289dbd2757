/*
 * db_send.h: the SQL of BatchSendEmail and SendEmail over send_tasks,
 * task_runs and deliveries (sql/0003_sending.sql). Each action is ONE
 * statement: it gathers the facts it checks (sender, list, template,
 * suppressions), inserts only when all of them hold, and reports them, so
 * a rejected request creates nothing and no concurrent change slips in
 * between the check and the insert (the rows checked are locked FOR SHARE
 * by the same statement). Parameters are text; arrays are text[] literals
 * (db_array_text). Every statement takes the account as $1.
 */
#ifndef SESD_DB_SEND_H
#define SESD_DB_SEND_H

#include "db.h"

/*
 * BeginTime may lie this far in the past (the client's clock, the time it
 * took the request to arrive); an older one is BeginTimeBeforeNow.
 */
#define SEND_BEGIN_GRACE "1 minute"

/*
 * Whether the suppression s applies to a message from the sender snd:
 * any reason ('custom', 'unsubscribe', 'bounce'), for every sender domain
 * (domain NULL: the custom blacklist) or for this one, and not expired
 * (expire_date NULL: permanent; the entry holds through that date). The
 * scheduler's release of later runs (db_timed.c) uses the same rule.
 */
#define SUPPRESSION_APPLIES                                                    \
	"(s.expire_date IS NULL OR s.expire_date >= current_date) "            \
	"AND (s.domain IS NULL OR lower(s.domain) = snd.domain)"

/*
 * BatchSendEmail. $1 app, $2 sender address (parsed from
 * FromEmailAddress), $3 its display name or NULL, $4 FromEmailAddress as
 * given, $5 ReceiverId, $6 TemplateID, $7 TemplateData or NULL, $8 the
 * TemplateData's keys text[], $9 Subject, $10 the Subject's variables
 * text[], $11 TaskType, $12 BeginTime or NULL ("YYYY-MM-DD HH:MM:SS",
 * read in the session's zone), $13 IntervalTime or NULL, $14 TermCycle or
 * NULL, $15 Unsubscribe or NULL, $16 ADLocation, $17 ReplyToAddresses or
 * NULL
 * -> one row: sender_ok (a registered address of the account on a verified
 *    domain), list_found, list_ok (status 3, not empty), template_ok
 *    (approved), missing (text[]: the template's and the Subject's
 *    variables that neither the list's data keys nor the TemplateData
 *    cover), begin_ok (not before now - SEND_BEGIN_GRACE), task_id,
 *    request_count, status, first_run_ms (TaskType 2 and 3: ms until
 *    BeginTime, 0 if passed; else NULL). task_id is NULL when anything
 *    failed; then nothing was written.
 * TaskType 1 is released in the same statement: task_runs (task, 1) and
 * one delivery per address of the list, 'suppressed' for an address under
 * an active suppression for the sender domain, else 'queued'.
 */
extern struct db_stmt db_send_batch;

/*
 * SendEmail. $1 app, $2 sender address, $3 its display name or NULL,
 * $4 FromEmailAddress as given, $5 TemplateID, $6 TemplateData or NULL,
 * $7 its keys text[], $8 Subject, $9 its variables text[], $10 envelope
 * recipients text[] (To, Cc, Bcc, distinct ignoring case), $11 Destination
 * text[], $12 Cc text[] or NULL, $13 Bcc text[] or NULL, $14 ReplyTo or
 * NULL, $15 Unsubscribe or NULL, $16 TriggerType, $17 SmtpHeaders or NULL,
 * $18 SmtpMessageId without angle brackets or NULL, $19 HeaderFrom or NULL,
 * $20 its address or NULL, $21 its display name or NULL
 * -> one row: sender_ok, template_ok, missing (text[]), blocked (the
 *    first recipient under an active suppression, or NULL), reason (its
 *    suppressions.reason), message_id (NULL when anything failed; then
 *    nothing was written).
 */
extern struct db_stmt db_send_single;

#endif
