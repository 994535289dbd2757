/*
 * act_query.c: ListSendTasks, GetSendEmailStatus, GetStatisticsReport
 * (ses-api.md 5.3), read-only views of send_tasks, deliveries and
 * suppressions (sql/0003_sending.sql). One statement each (db_query.c).
 *
 * ListSendTasks lists BatchSendEmail tasks only (kind 'batch'; a SendEmail
 * is not a task for the caller), newest first:
 * - RequestCount: recipients of every run so far (suppressed included);
 *   SendCount: deliveries in state sent; CacheCount: deliveries not final
 *   yet (queued, sending or deferred), i.e. held in sesd's queue.
 * - CreateTime is the acceptance; UpdateTime the later of the task's own
 *   change and its newest delivery change, so it moves while mail goes
 *   out. Both "YYYY-MM-DD HH:MM:SS" in [sesd] time_zone.
 * - FromEmailAddress, Subject, Template.TemplateData (or "") and BeginTime
 *   are echoed as given. CycleParam {BeginTime, IntervalTime, TermCycle}
 *   only for TaskType 3, TimedParam {BeginTime} only for TaskType 2, else
 *   JSON null.
 * - Status outside 1, 5, 6, 7, 10 and TaskType outside 1..3 ->
 *   InvalidParameterValue; ReceiverId filters as given.
 *
 * GetSendEmailStatus returns one record per delivery (one per recipient
 * per message) created on RequestDate in [sesd] time_zone, batch mail
 * included, oldest first (paged by Offset/Limit, no total):
 * - RequestDate must be a calendar date "YYYY-MM-DD", else
 *   InvalidParameterValue.WrongDate; before today - STATUS_RETENTION_DAYS
 *   or after today -> FailedOperation.NotSupportDate (outside the window
 *   of kept data; a future day has no data).
 * - MessageId is the Message-ID without angle brackets, as SendEmail
 *   returns it (a batch message has its own per recipient); the filter
 *   accepts it with or without the brackets. The recipients of one
 *   SendEmail share it. ToEmailAddress filters ignoring case. "" = absent.
 * - Mapping of deliveries.state (ses-api.md 4.3 SendStatus, 4.4
 *   DeliverStatus):
 *     state       SendStatus  DeliverStatus  DeliverMessage
 *     queued      0           0              "" (or the last reply)
 *     sending     0           0              "" (or the last reply)
 *     sent        0           1              the relay's 2xx reply
 *     deferred    0           8              the 4xx reply / failure text
 *     bounced     0           3              the 5xx reply
 *     failed      1004        2              "not delivered within the
 *                                            retry period, N attempts;
 *                                            last reply: ..."
 *     suppressed  1007        2              custom blacklist / earlier
 *                                            hard bounce
 *     suppressed  1013        2              unsubscribed from the sender
 *                                            domain
 *   A reply is "code enhanced-code text" as the relay gave it.
 * - RequestTime: unix time the delivery row was created (the request, or
 *   the run's release for TaskType 2/3). DeliverTime: sent_at for sent,
 *   the last attempt's write-back for deferred, bounced and failed, else 0.
 * - UserUnsubscribed: an active 'unsubscribe' suppression exists for the
 *   recipient and the task's sender domain. UserOpened, UserClicked are
 *   false (no tracking); UserComplainted and UserComplained both false
 *   (no complaint feed), both always present.
 *
 * GetStatisticsReport: one Volume per day from StartDate to EndDate (days
 * without mail included, all zero), OverallVolume the sums with SendDate =
 * StartDate:
 * - RequestCount deliveries created that day; AcceptedCount those not
 *   suppressed; DeliveredCount sent; BounceCount bounced (counted on the
 *   day the delivery was created, in its current state); OpenedCount and
 *   ClickedCount 0; UnsubscribeCount 'unsubscribe' suppressions created
 *   that day.
 * - Domain filters by sender domain, ReceivingMailboxType by recipient
 *   domain (the part after '@', e.g. "gmail.com"), both ignoring case and
 *   applied to UnsubscribeCount too. "" = absent.
 * - Dates "YYYY-MM-DD" (else InvalidParameterValue.WrongDate); EndDate
 *   before StartDate or a span over STATS_MAX_DAYS days ->
 *   InvalidParameterValue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_query.h"
#include "json.h"
#include "util.h"

#define STATUS_RETENTION_DAYS 30 /* GetSendEmailStatus looks back this far */
#define STATS_MAX_DAYS        31 /* GetStatisticsReport's longest range */
#define MESSAGE_ID_MAX        250

static void act_tasks(struct api_req *);
static void act_status(struct api_req *);
static void act_stats(struct api_req *);

static const struct param tasks_params[] = {
    {"Offset", P_INT, true, API_OK, NULL},
    {"Limit", P_INT, true, API_OK, NULL},
    {"Status", P_INT, false, API_OK, NULL},
    {"ReceiverId", P_INT, false, API_OK, NULL},
    {"TaskType", P_INT, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param status_params[] = {
    {"RequestDate", P_STR, true, API_OK, NULL},
    {"Offset", P_INT, true, API_OK, NULL},
    {"Limit", P_INT, true, API_OK, NULL},
    {"MessageId", P_STR, false, API_OK, NULL},
    {"ToEmailAddress", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param stats_params[] = {
    {"StartDate", P_STR, true, API_OK, NULL},
    {"EndDate", P_STR, true, API_OK, NULL},
    {"Domain", P_STR, false, API_OK, NULL},
    {"ReceivingMailboxType", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_query_actions[] = {
    {"ListSendTasks", act_tasks, tasks_params},
    {"GetSendEmailStatus", act_status, status_params},
    {"GetStatisticsReport", act_stats, stats_params},
    {NULL, NULL, NULL},
};

static void
fmt_i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
}

/* NULL for an absent or empty optional string. */
static const char *
opt_str(const struct api_req *req, const char *name)
{
	const char *s = api_str(req, name);

	return s && s[0] ? s : NULL;
}

/*
 * "YYYY-MM-DD" naming a real calendar date -> days since 1970-01-01 in
 * *days and 0; anything else -> -1.
 */
static int
parse_date(const char *s, int64_t *days)
{
	static const int mdays[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int64_t y, m, d, era, yoe, doy, doe;
	bool leap;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap))
		return -1;
	/* days_from_civil (H. Hinnant) */
	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*days = era * 146097 + doe - 719468;
	return 0;
}

/* --- ListSendTasks --- */

static void
tasks_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_int(g, "TotalCount", res->nrows ? db_int(res, 0, 0) : 0);
	jw_open_arr(g, "Data");
	for (int i = 0; i < res->nrows; i++) {
		int64_t type = db_int(res, i, 5);

		if (db_val(res, i, 1) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_int(g, "TaskId", db_int(res, i, 1));
		jw_str(g, "FromEmailAddress", db_val(res, i, 2));
		jw_int(g, "ReceiverId", db_int(res, i, 3));
		jw_int(g, "TaskStatus", db_int(res, i, 4));
		jw_int(g, "TaskType", type);
		jw_int(g, "RequestCount", db_int(res, i, 6));
		jw_int(g, "SendCount", db_int(res, i, 7));
		jw_int(g, "CacheCount", db_int(res, i, 8));
		jw_str(g, "CreateTime", db_val(res, i, 9));
		jw_str(g, "UpdateTime", db_val(res, i, 10));
		jw_str(g, "Subject", db_val(res, i, 11));
		jw_open_obj(g, "Template");
		jw_int(g, "TemplateID", db_int(res, i, 12));
		jw_str(g, "TemplateData", db_val(res, i, 13));
		jw_close_obj(g);
		if (type == 3) {
			jw_open_obj(g, "CycleParam");
			jw_str(g, "BeginTime", db_val(res, i, 14));
			jw_int(g, "IntervalTime", db_int(res, i, 15));
			jw_int(g, "TermCycle", db_int(res, i, 16));
			jw_close_obj(g);
		} else
			jw_null(g, "CycleParam");
		if (type == 2) {
			jw_open_obj(g, "TimedParam");
			jw_str(g, "BeginTime", db_val(res, i, 14));
			jw_close_obj(g);
		} else
			jw_null(g, "TimedParam");
		jw_str(g, "ErrMsg", db_val(res, i, 17));
		jw_str(g, "ReceiversName", db_val(res, i, 18));
		/* sesd's own (extra output fields are safe, ses-api.md 1):
		 * when the next run of a timed or cyclic task is due, in
		 * [sesd] time_zone; null when none is to come */
		if (db_val(res, i, 19) != NULL)
			jw_str(g, "NextRunTime", db_val(res, i, 19));
		else
			jw_null(g, "NextRunTime");
		jw_close_obj(g);
	}
	jw_close_arr(g);
	api_reply_end(req);
}

static void
act_tasks(struct api_req *req)
{
	char app[24], st[24], rid[24], tt[24], lim[24], off[24];
	int64_t offset, limit, v;
	const char *status = NULL, *receiver = NULL, *type = NULL;

	if (api_page(req, &offset, &limit) < 0)
		return;
	if (api_int(req, "Status", &v)) {
		if (v != 1 && v != 5 && v != 6 && v != 7 && v != 10) {
			api_fail(req, E_INVALID_PARAMETER_VALUE,
			    "Status must be 1, 5, 6, 7 or 10, got %lld.",
			    (long long)v);
			return;
		}
		fmt_i64(st, v);
		status = st;
	}
	if (api_int(req, "ReceiverId", &v)) {
		fmt_i64(rid, v);
		receiver = rid;
	}
	if (api_int(req, "TaskType", &v)) {
		if (v < 1 || v > 3) {
			api_fail(req, E_INVALID_PARAMETER_VALUE,
			    "TaskType must be 1, 2 or 3, got %lld.",
			    (long long)v);
			return;
		}
		fmt_i64(tt, v);
		type = tt;
	}
	api_fmt_u64(app, req->app_id);
	fmt_i64(lim, limit);
	fmt_i64(off, offset);
	const char *params[] = {app, status, receiver, type, lim, off};
	db_query(req->db, &db_query_tasks, params, tasks_done, req);
}

/* --- GetSendEmailStatus --- */

static void
status_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	if (res->nrows > 0 && (db_bool(res, 0, 0) || db_bool(res, 0, 1))) {
		api_fail(req, E_NOT_SUPPORT_DATE,
		    "RequestDate %s is %s; records are kept for %d days "
		    "(%s).",
		    api_str(req, "RequestDate"),
		    db_bool(res, 0, 0) ? "too old" : "in the future",
		    STATUS_RETENTION_DAYS, req->cfg->time_zone);
		return;
	}
	g = api_reply_begin(req);
	jw_open_arr(g, "EmailStatusList");
	for (int i = 0; i < res->nrows; i++) {
		bool unsub = db_bool(res, i, 10);

		if (db_val(res, i, 2) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_str(g, "MessageId", db_val(res, i, 2));
		jw_str(g, "ToEmailAddress", db_val(res, i, 3));
		jw_str(g, "FromEmailAddress", db_val(res, i, 4));
		jw_int(g, "SendStatus", db_int(res, i, 5));
		jw_int(g, "DeliverStatus", db_int(res, i, 6));
		jw_str(g, "DeliverMessage", db_val(res, i, 7));
		jw_int(g, "RequestTime", db_int(res, i, 8));
		jw_int(g, "DeliverTime", db_int(res, i, 9));
		jw_bool(g, "UserOpened", false);
		jw_bool(g, "UserClicked", false);
		jw_bool(g, "UserUnsubscribed", unsub);
		jw_bool(g, "UserComplainted", false);
		jw_bool(g, "UserComplained", false);
		jw_close_obj(g);
	}
	jw_close_arr(g);
	api_reply_end(req);
}

static void
act_status(struct api_req *req)
{
	const char *date = api_str(req, "RequestDate");
	const char *msgid = opt_str(req, "MessageId");
	const char *to = opt_str(req, "ToEmailAddress");
	char app[24], lim[24], off[24], keep[24];
	char id[MESSAGE_ID_MAX + 1];
	int64_t offset, limit, days;

	if (parse_date(date, &days) < 0) {
		api_fail(req, E_WRONG_DATE,
		    "RequestDate must be a calendar date YYYY-MM-DD, got "
		    "\"%.40s\".",
		    date ? date : "");
		return;
	}
	if (api_page(req, &offset, &limit) < 0)
		return;
	if (msgid) {
		size_t n = strlen(msgid);

		if (n >= 2 && msgid[0] == '<' && msgid[n - 1] == '>') {
			msgid++;
			n -= 2;
		}
		if (n > MESSAGE_ID_MAX) {
			api_fail(req, E_INVALID_PARAMETER_VALUE,
			    "MessageId is longer than %d bytes.",
			    MESSAGE_ID_MAX);
			return;
		}
		memcpy(id, msgid, n);
		id[n] = '\0';
		msgid = id;
	}
	api_fmt_u64(app, req->app_id);
	fmt_i64(lim, limit);
	fmt_i64(off, offset);
	fmt_i64(keep, STATUS_RETENTION_DAYS);
	const char *params[] = {app, date, msgid, to, lim, off, keep};
	db_query(req->db, &db_query_status, params, status_done, req);
}

/* --- GetStatisticsReport --- */

struct volume {
	int64_t requested, accepted, delivered, bounced, unsubscribed;
};

static void
write_volume(
    yajl_gen g, const char *key, const char *date, const struct volume *v)
{
	jw_open_obj(g, key);
	jw_str(g, "SendDate", date);
	jw_int(g, "RequestCount", v->requested);
	jw_int(g, "AcceptedCount", v->accepted);
	jw_int(g, "DeliveredCount", v->delivered);
	jw_int(g, "OpenedCount", 0);
	jw_int(g, "ClickedCount", 0);
	jw_int(g, "BounceCount", v->bounced);
	jw_int(g, "UnsubscribeCount", v->unsubscribed);
	jw_close_obj(g);
}

static void
stats_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct volume sum = {0, 0, 0, 0, 0};
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_open_arr(g, "DailyVolumes");
	for (int i = 0; i < res->nrows; i++) {
		struct volume v = {db_int(res, i, 1), db_int(res, i, 2),
		    db_int(res, i, 3), db_int(res, i, 4), db_int(res, i, 5)};

		write_volume(g, NULL, db_val(res, i, 0), &v);
		sum.requested += v.requested;
		sum.accepted += v.accepted;
		sum.delivered += v.delivered;
		sum.bounced += v.bounced;
		sum.unsubscribed += v.unsubscribed;
	}
	jw_close_arr(g);
	write_volume(g, "OverallVolume", api_str(req, "StartDate"), &sum);
	api_reply_end(req);
}

static void
act_stats(struct api_req *req)
{
	const char *start = api_str(req, "StartDate");
	const char *end = api_str(req, "EndDate");
	char app[24];
	int64_t from, to;

	if (parse_date(start, &from) < 0 || parse_date(end, &to) < 0) {
		bool bad_start = parse_date(start, &from) < 0;

		api_fail(req, E_WRONG_DATE,
		    "%s must be a calendar date YYYY-MM-DD, got \"%.40s\".",
		    bad_start ? "StartDate" : "EndDate",
		    bad_start ? start : end);
		return;
	}
	if (to < from) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "EndDate %s is before StartDate %s.", end, start);
		return;
	}
	if (to - from + 1 > STATS_MAX_DAYS) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "The range from StartDate to EndDate spans %lld days; at "
		    "most %d are allowed.",
		    (long long)(to - from + 1), STATS_MAX_DAYS);
		return;
	}
	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, start, end, opt_str(req, "Domain"),
	    opt_str(req, "ReceivingMailboxType")};
	db_query(req->db, &db_query_stats, params, stats_done, req);
}
