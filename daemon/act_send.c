/*
 * act_send.c: BatchSendEmail and SendEmail (ses-api.md 5.1). Everything
 * that can be checked without the database is checked here, in the order
 * below; then ONE statement (db_send.c) checks the sender, list, template
 * and suppressions, and either writes the task with its deliveries or
 * nothing. A TaskType 1 batch and a SendEmail are released at once (their
 * deliveries are queued for the dispatcher); TaskType 2 and 3 wait at
 * status 1 for the scheduler. No mail is sent here.
 *
 * Decisions where ses-api.md says "unconfirmed" or is silent:
 * - Templates only: Simple (any value) -> FailedOperation.WithOutPermission.
 *   Attachments (non-empty): BatchSendEmail -> UnsupportedOperation
 *   ("not supported yet" for batch), SendEmail ->
 *   FailedOperation.NoAttachPermission (sesd does not attach files yet).
 * - FromEmailAddress is "addr" or "Name <addr>" with exactly one space
 *   before '<'; the name (one pair of surrounding double quotes is
 *   dropped) is 1..SENDER_NAME_MAX characters without control characters,
 *   '<', '>' or ':'. The address must be a registered sender address of
 *   the account (ignoring case) on a verified domain. Without a name, the
 *   address's EmailSenderName is the display name. Errors: batch
 *   OperationDenied.SendAddressStatusError for both a malformed and an
 *   unusable sender; SendEmail FailedOperation.IncorrectSender (malformed)
 *   and FailedOperation.NotAuthenticatedSender (not usable).
 * - Template variables ({{name}} in Html, Text and Subject) must all have
 *   a value: for a batch from the list's data keys or Template.TemplateData
 *   (else InvalidParameterValue.TemplateNotMatchData), for SendEmail from
 *   TemplateData (else FailedOperation.WrongContentJson). Keys that no
 *   variable uses are allowed (Tencent's console asks for a one-to-one
 *   match; sesd ignores extra keys, so one list can serve several
 *   templates). Per-recipient data wins over TemplateData when both have a
 *   key (DESIGN.md 6). TemplateData values may hold any text: they are
 *   HTML-escaped in the Html part.
 * - Batch: TemplateID missing -> MissingParameter.SendParamNecessary, like
 *   the sender and the list. A template that is not the account's or not
 *   approved -> OperationDenied.TemplateStatusError; for SendEmail
 *   FailedOperation.InvalidTemplateID. SendEmail without Template ->
 *   FailedOperation.MissingEmailContent.
 * - BeginTime is "YYYY-MM-DD HH:MM:SS", a real date and time, read in
 *   [sesd] time_zone; earlier than SEND_BEGIN_GRACE before now ->
 *   BeginTimeBeforeNow. IntervalTime 1..INTERVAL_MAX hours, TermCycle 0 or
 *   1 (stored; the scheduler applies it). A TimedParam or CycleParam that
 *   the TaskType does not use is ignored.
 * - Subject: batch 1..100 characters (SubjectLengthError), SendEmail
 *   1..998 (InvalidParameterValue); no control characters but TAB.
 * - Unsubscribe is the string "0".."12"; "" or anything else ->
 *   InvalidParameterValue, as are ADLocation outside 0..2, TaskType
 *   outside 1..3 and TriggerType outside 0..1.
 * - SendEmail recipients: Destination <= 50, Cc <= 20, Bcc <= 20
 *   (FailedOperation.TooManyRecipients); "" ->
 *   InvalidParameterValue.EmailAddressIsNULL; malformed ->
 *   FailedOperation.IncorrectEmail (also for ReplyToAddresses); a Bcc
 *   address that is also a Destination -> InvalidParameterValue. Every
 *   distinct address (ignoring case) gets one delivery of the same message.
 *   Any recipient (To, Cc or Bcc) under an active suppression for the
 *   sender domain refuses the whole message: unsubscribed ->
 *   FailedOperation.ReceiverHasUnsubscribed, custom blacklist or hard
 *   bounce -> FailedOperation.EmailAddrInBlacklist, naming the address.
 * - SmtpHeaders: a JSON object of at most SMTP_HEADERS_MAX string values;
 *   names printable ASCII without ':' (1..76 bytes), distinct ignoring
 *   case, none that sesd writes itself (From, To, Subject, Message-ID,
 *   Content-*, DKIM-Signature, List-Unsubscribe, ...); values non-empty
 *   printable ASCII, SP and TAB, one header at most 998 bytes. Else
 *   InvalidParameterValue. "" = none.
 * - SmtpMessageId: "<left@right>" (or without the brackets), both sides
 *   dot-atom text, at most 250 bytes inside the brackets; it replaces the
 *   Message-ID sesd would make. HeaderFrom: "addr" or "Name <addr>" on the
 *   sender's domain (ignoring case), else FailedOperation.IncorrectSender.
 * - MessageId (SendEmail's answer) is the Message-ID without angle
 *   brackets: "<task>.<key>@<sender domain>" (sql/0003_sending.sql,
 *   sesd_message_id) or the SmtpMessageId given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_send.h"
#include "json.h"
#include "render.h"
#include "util.h"

#define ADDRESS_MAX        254   /* bytes, RFC 5321 path */
#define SENDER_NAME_MAX    100   /* characters of a display name */
#define BATCH_SUBJECT_MAX  100   /* characters (SubjectLengthError) */
#define SINGLE_SUBJECT_MAX 998   /* characters (ses-api.md 8.2) */
#define INTERVAL_MAX       87600 /* hours: ten years */
#define TO_MAX             50
#define CC_MAX             20
#define BCC_MAX            20
#define SMTP_HEADERS_MAX   50
#define HEADER_NAME_MAX    76  /* bytes (mime.h) */
#define HEADER_LINE_MAX    998 /* "Name: value" bytes */
#define MESSAGE_ID_MAX     250 /* bytes between the angle brackets */
#define QUOTE_MAX          100 /* bytes of a value quoted in errors */

static void act_batch(struct api_req *);
static void act_single(struct api_req *);

static const struct param batch_template_fields[] = {
    {"TemplateID", P_INT, true, E_SEND_PARAM_NECESSARY, NULL},
    {"TemplateData", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param single_template_fields[] = {
    {"TemplateID", P_INT, true, API_OK, NULL},
    {"TemplateData", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param simple_fields[] = {
    {"Html", P_STR, false, API_OK, NULL},
    {"Text", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param attachment_fields[] = {
    {"FileName", P_STR, true, API_OK, NULL},
    {"Content", P_STR, false, API_OK, NULL},
    {"FileURL", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param cycle_fields[] = {
    {"BeginTime", P_STR, true, E_CYCLE_PARAM_NECESSARY, NULL},
    {"IntervalTime", P_INT, true, E_CYCLE_PARAM_NECESSARY, NULL},
    {"TermCycle", P_INT, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param timed_fields[] = {
    {"BeginTime", P_STR, true, E_TIMED_PARAM_NECESSARY, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param batch_params[] = {
    {"FromEmailAddress", P_STR, true, E_SEND_PARAM_NECESSARY, NULL},
    {"ReceiverId", P_INT, true, E_SEND_PARAM_NECESSARY, NULL},
    {"Subject", P_STR, true, API_OK, NULL},
    {"TaskType", P_INT, true, API_OK, NULL},
    {"ReplyToAddresses", P_STR, false, API_OK, NULL},
    /* required, but checked in act_batch so Simple is answered first */
    {"Template", P_OBJ, false, API_OK, batch_template_fields},
    {"Simple", P_OBJ, false, API_OK, simple_fields},
    {"Attachments", P_ARR_OBJ, false, API_OK, attachment_fields},
    {"CycleParam", P_OBJ, false, API_OK, cycle_fields},
    {"TimedParam", P_OBJ, false, API_OK, timed_fields},
    {"Unsubscribe", P_STR, false, API_OK, NULL},
    {"ADLocation", P_INT, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param single_params[] = {
    {"FromEmailAddress", P_STR, true, API_OK, NULL},
    {"Destination", P_ARR_STR, false, API_OK, NULL},
    {"Subject", P_STR, true, API_OK, NULL},
    {"ReplyToAddresses", P_STR, false, API_OK, NULL},
    {"Cc", P_ARR_STR, false, API_OK, NULL},
    {"Bcc", P_ARR_STR, false, API_OK, NULL},
    {"Template", P_OBJ, false, API_OK, single_template_fields},
    {"Simple", P_OBJ, false, API_OK, simple_fields},
    {"Attachments", P_ARR_OBJ, false, API_OK, attachment_fields},
    {"Unsubscribe", P_STR, false, API_OK, NULL},
    {"TriggerType", P_INT, false, API_OK, NULL},
    {"SmtpMessageId", P_STR, false, API_OK, NULL},
    {"SmtpHeaders", P_STR, false, API_OK, NULL},
    {"HeaderFrom", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_send_actions[] = {
    {"BatchSendEmail", act_batch, batch_params},
    {"SendEmail", act_single, single_params},
    {NULL, NULL, NULL},
};

/* Headers the message builder, the DKIM signer or the relay own. */
static const char *const reserved_headers[] = {"authentication-results", "bcc",
    "cc", "date", "dkim-signature", "from", "list-unsubscribe",
    "list-unsubscribe-post", "message-id", "mime-version", "received",
    "received-spf", "reply-to", "return-path", "sender", "subject", "to", NULL};
static const char *const reserved_prefixes[] = {
    "arc-", "content-", "resent-", NULL};

/* --- small helpers --- */

static void
fmt_i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
}

/* Copies at most QUOTE_MAX bytes of s, cut on a UTF-8 boundary, so an
 * error message stays short and valid. */
static void
quote(char out[QUOTE_MAX + 4], const char *s)
{
	size_t n = strlen(s);

	if (n <= QUOTE_MAX) {
		memcpy(out, s, n + 1);
		return;
	}
	n = QUOTE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
}

/* True if s (UTF-8) has a C0 control (TAB excepted when tab_ok), DEL or
 * a C1 control. */
static bool
has_control(const char *s, bool tab_ok)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && !(tab_ok && *p == '\t')) || *p == 0x7f)
			return true;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
	}
	return false;
}

/* "0".."12" (ses-api.md 4.1), no leading zero. */
static bool
unsubscribe_ok(const char *s)
{
	if (s[0] >= '0' && s[0] <= '9' && s[1] == '\0')
		return true;
	return s[0] == '1' && s[1] >= '0' && s[1] <= '2' && s[2] == '\0';
}

static bool
leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD HH:MM:SS" naming a real date and time of day. */
static bool
begin_time_ok(const char *s)
{
	static const int mdays[] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const char shape[] = "dddd-dd-dd dd:dd:dd";
	int y, mo, d, h, mi, se;

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9'
				    : s[i] != shape[i])
			return false;
#define NUM2(i) ((s[i] - '0') * 10 + (s[(i) + 1] - '0'))
	y = NUM2(0) * 100 + NUM2(2);
	mo = NUM2(5);
	d = NUM2(8);
	h = NUM2(11);
	mi = NUM2(14);
	se = NUM2(17);
#undef NUM2
	return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 &&
	       d <= mdays[mo - 1] + (mo == 2 && leap_year(y)) && h <= 23 &&
	       mi <= 59 && se <= 59;
}

/* dot-atom text (RFC 5322 3.2.3) of n bytes. */
static bool
dot_atom_ok(const char *s, size_t n)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || strchr(atext, c)))
			return false;
	}
	return true;
}

/*
 * SmtpMessageId "<left@right>" or "left@right" -> the inside, a string
 * the caller frees, or NULL when malformed.
 */
static char *
message_id_parse(const char *s)
{
	size_t n = strlen(s);
	const char *at;

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	if (n > MESSAGE_ID_MAX || (at = memchr(s, '@', n)) == NULL ||
	    !dot_atom_ok(s, (size_t)(at - s)) ||
	    !dot_atom_ok(at + 1, n - (size_t)(at - s) - 1))
		return NULL;
	return xstrndup(s, n);
}

/* --- From: "addr" or "Name <addr>" --- */

struct from {
	char *addr; /* the address */
	char *name; /* the display name, NULL when none was given */
};

static void
from_reset(struct from *f)
{
	free(f->addr);
	free(f->name);
	f->addr = f->name = NULL;
}

/* Fills f from s; returns NULL, or a static reason (f empty then). */
static const char *
from_parse(struct from *f, const char *s)
{
	size_t len = strlen(s), nlen;
	const char *lt;
	char *name;

	f->addr = f->name = NULL;
	if (has_control(s, false))
		return "must not contain line breaks or control characters";
	if (len == 0 || s[len - 1] != '>') {
		if (!email_valid(s, ADDRESS_MAX))
			return "is neither an address (local@domain) nor "
			       "Name <local@domain>";
		f->addr = xstrdup(s);
		return NULL;
	}
	lt = strchr(s, '<');
	if (lt == NULL || lt < s + 2 || lt[-1] != ' ' || lt[-2] == ' ' ||
	    s[0] == ' ')
		return "must be Name <local@domain> with exactly one space "
		       "before '<'";
	f->addr = xstrndup(lt + 1, (size_t)(s + len - 1 - (lt + 1)));
	if (!email_valid(f->addr, ADDRESS_MAX)) {
		from_reset(f);
		return "does not hold a valid address between '<' and '>'";
	}
	nlen = (size_t)(lt - 1 - s);
	name = xstrndup(s, nlen);
	if (nlen >= 3 && name[0] == '"' && name[nlen - 1] == '"' &&
	    strcspn(name + 1, "\"\\") == nlen - 2) {
		memmove(name, name + 1, nlen - 2);
		name[nlen - 2] = '\0';
	}
	f->name = name;
	if (strpbrk(name, "<>:") != NULL) {
		from_reset(f);
		return "has a display name with '<', '>' or ':'";
	}
	if (utf8_chars(name) > SENDER_NAME_MAX) {
		from_reset(f);
		return "has a display name longer than 100 characters";
	}
	return NULL;
}

/* --- TemplateData and variables --- */

/*
 * Checks a TemplateData (NULL or "": none) and appends the text[] literal
 * of its keys to keys. Returns 0, or -1 with a reason in err.
 */
static int
tdata_keys(const char *json, struct buf *keys, char *err, size_t errlen)
{
	struct render_data d;
	const char **names;

	render_data_init(&d);
	if (json &&
	    render_data_add_json(&d, json, strlen(json), err, errlen) < 0) {
		render_data_reset(&d);
		return -1;
	}
	names = xcalloc(d.n ? d.n : 1, sizeof(*names));
	for (size_t i = 0; i < d.n; i++)
		names[i] = d.kv[i].name;
	db_array_text(keys, names, d.n);
	free(names);
	render_data_reset(&d);
	return 0;
}

/* Appends the text[] literal of the variables of subject to out. */
static void
subject_vars(const char *subject, struct buf *out)
{
	struct render_vars v;

	render_vars_init(&v);
	render_vars_scan(&v, subject, strlen(subject));
	db_array_text(out, (const char *const *)v.names, v.n);
	render_vars_reset(&v);
}

/* Checks Subject: 1..max characters, no control characters but TAB;
 * len_err for a bad length. Sends the error and returns -1. */
static int
check_subject(
    struct api_req *req, const char *subject, size_t max, enum api_err len_err)
{
	size_t chars = utf8_chars(subject);

	if (chars == 0 || chars > max) {
		api_fail(req, len_err,
		    "Subject must be 1 to %zu characters (got %zu).", max,
		    chars);
		return -1;
	}
	if (has_control(subject, true)) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "Subject must not contain line breaks or control "
		    "characters.");
		return -1;
	}
	return 0;
}

static int
check_unsubscribe(struct api_req *req, const char *u)
{
	if (u != NULL && !unsubscribe_ok(u)) {
		char q[QUOTE_MAX + 4];
		quote(q, u);
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "Unsubscribe must be a string \"0\" to \"12\", got \"%s\".",
		    q);
		return -1;
	}
	return 0;
}

/* --- BatchSendEmail --- */

/* The schedule of a batch: pointers borrowed from req->params. */
struct schedule {
	int64_t type;
	const char *begin; /* NULL for TaskType 1 */
	int64_t interval;  /* TaskType 3 */
	int64_t term;      /* TaskType 3; -1: absent */
};

/* Checks TaskType and its TimedParam / CycleParam; sends the error and
 * returns -1. */
static int
check_schedule(struct api_req *req, struct schedule *s)
{
	const char *prefix;

	s->begin = NULL;
	s->interval = 0;
	s->term = -1;
	api_int(req, "TaskType", &s->type);
	if (s->type < 1 || s->type > 3) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "TaskType must be 1 (now), 2 (scheduled) or 3 (periodic), "
		    "got %lld.",
		    (long long)s->type);
		return -1;
	}
	if (s->type == 1)
		return 0;
	if (s->type == 2) {
		if (api_param(req, "TimedParam") == NULL) {
			api_fail(req, E_TIMED_PARAM_NECESSARY, NULL);
			return -1;
		}
		prefix = "TimedParam";
		s->begin = api_str(req, "TimedParam.BeginTime");
	} else {
		if (api_param(req, "CycleParam") == NULL) {
			api_fail(req, E_CYCLE_PARAM_NECESSARY, NULL);
			return -1;
		}
		prefix = "CycleParam";
		s->begin = api_str(req, "CycleParam.BeginTime");
		api_int(req, "CycleParam.IntervalTime", &s->interval);
		if (!api_int(req, "CycleParam.TermCycle", &s->term))
			s->term = -1;
	}
	if (!begin_time_ok(s->begin)) {
		char q[QUOTE_MAX + 4];
		quote(q, s->begin);
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "%s.BeginTime must be a date and time YYYY-MM-DD HH:MM:SS, "
		    "got \"%s\".",
		    prefix, q);
		return -1;
	}
	if (s->type == 3 && (s->interval < 1 || s->interval > INTERVAL_MAX)) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "CycleParam.IntervalTime must be 1 to %d hours, got %lld.",
		    INTERVAL_MAX, (long long)s->interval);
		return -1;
	}
	if (s->type == 3 && s->term != -1 && s->term != 0 && s->term != 1) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "CycleParam.TermCycle must be 0 or 1, got %lld.",
		    (long long)s->term);
		return -1;
	}
	return 0;
}

static void
batch_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	int64_t list = 0, tid = 0, type = 0;
	const char *missing;
	char q[QUOTE_MAX + 4];

	if (!api_db_ok(req, res))
		return;
	api_int(req, "ReceiverId", &list);
	api_int(req, "Template.TemplateID", &tid);
	missing = db_val(res, 0, 4);
	api_int(req, "TaskType", &type);
	if (!db_bool(res, 0, 5)) {
		quote(q, api_str(req, type == 2 ? "TimedParam.BeginTime"
						: "CycleParam.BeginTime"));
		api_fail(req, E_BEGIN_TIME_BEFORE_NOW,
		    "BeginTime %s (%s) is in the past.", q,
		    req->cfg->time_zone);
	} else if (!db_bool(res, 0, 0)) {
		quote(q, api_str(req, "FromEmailAddress"));
		api_fail(req, E_SEND_ADDRESS_STATUS,
		    "%s is not a sender address of this account on a verified "
		    "domain.",
		    q);
	} else if (!db_bool(res, 0, 1))
		api_fail(req, E_RECEIVER_NOT_EXIST,
		    "The recipient list %lld does not exist.", (long long)list);
	else if (!db_bool(res, 0, 2))
		api_fail(req, E_RECEIVER_STATUS,
		    "The recipient list %lld is empty or its upload is not "
		    "complete (ReceiversStatus 3).",
		    (long long)list);
	else if (!db_bool(res, 0, 3))
		api_fail(req, E_TEMPLATE_STATUS,
		    "The template %lld does not exist or is not approved.",
		    (long long)tid);
	else if (missing != NULL && strcmp(missing, "{}") != 0)
		api_fail(req, E_TEMPLATE_NOT_MATCH_DATA,
		    "The variables %.300s of the template and Subject have no "
		    "value in the list's data or in Template.TemplateData.",
		    missing);
	else if (db_val(res, 0, 6) == NULL) {
		log_error("api: %s: the task was not written although every "
			  "check passed",
		    req->action->name);
		api_fail(req, E_INTERNAL, NULL);
	} else {
		log_info("api: BatchSendEmail app=%llu task=%s type=%lld "
			 "recipients=%s status=%s",
		    (unsigned long long)req->app_id, db_val(res, 0, 6),
		    (long long)type, db_val(res, 0, 7), db_val(res, 0, 8));
		api_task_accepted(req, (uint64_t)db_int(res, 0, 6),
		    db_val(res, 0, 9) != NULL ? db_int(res, 0, 9) : -1,
		    type == 1 ? db_int(res, 0, 7) : 0);
		jw_int(api_reply_begin(req), "TaskId", db_int(res, 0, 6));
		api_reply_end(req);
	}
}

static void
act_batch(struct api_req *req)
{
	const char *from_s = api_str(req, "FromEmailAddress");
	const char *subject = api_str(req, "Subject");
	const char *reply_to = api_str(req, "ReplyToAddresses");
	const char *unsub = api_str(req, "Unsubscribe");
	const char *tdata = api_str(req, "Template.TemplateData");
	yajl_val att = api_param(req, "Attachments");
	char app[24], list[24], tid[24], type[24], interval[24], term[24],
	    ad[24], err[200], q[QUOTE_MAX + 4];
	struct schedule sch;
	struct buf keys, svars;
	struct from from;
	int64_t v = 0, adl = 0;
	const char *why;

	if (api_param(req, "Simple") != NULL) {
		api_fail(req, E_WITHOUT_PERMISSION,
		    "Simple content is not permitted: send a template "
		    "(Template).");
		return;
	}
	if (api_param(req, "Template") == NULL) {
		api_fail(req, E_SEND_PARAM_NECESSARY,
		    "The request is missing a required parameter `Template`.");
		return;
	}
	if (att != NULL && att->u.array.len > 0) {
		api_fail(req, E_UNSUPPORTED_OPERATION,
		    "Attachments are not supported by BatchSendEmail.");
		return;
	}
	if (check_schedule(req, &sch) < 0 ||
	    check_subject(req, subject, BATCH_SUBJECT_MAX, E_SUBJECT_LENGTH) <
		0 ||
	    check_unsubscribe(req, unsub) < 0)
		return;
	if (api_int(req, "ADLocation", &adl) && (adl < 0 || adl > 2)) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "ADLocation must be 0, 1 or 2, got %lld.", (long long)adl);
		return;
	}
	if ((why = from_parse(&from, from_s)) != NULL) {
		quote(q, from_s);
		api_fail(req, E_SEND_ADDRESS_STATUS, "FromEmailAddress %s %s.",
		    q, why);
		return;
	}
	if (reply_to && reply_to[0] == '\0')
		reply_to = NULL;
	if (reply_to && !email_valid(reply_to, ADDRESS_MAX)) {
		quote(q, reply_to);
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "ReplyToAddresses `%s` is not a valid email address.", q);
		from_reset(&from);
		return;
	}
	buf_init(&keys);
	if (tdata_keys(tdata, &keys, err, sizeof(err)) < 0) {
		api_fail(req, E_TEMPLATE_DATA_ERROR,
		    "Template.TemplateData must be a JSON object of strings: "
		    "%s.",
		    err);
		buf_reset(&keys);
		from_reset(&from);
		return;
	}
	buf_init(&svars);
	subject_vars(subject, &svars);

	api_fmt_u64(app, req->app_id);
	api_int(req, "ReceiverId", &v);
	fmt_i64(list, v);
	api_int(req, "Template.TemplateID", &v);
	fmt_i64(tid, v);
	fmt_i64(type, sch.type);
	fmt_i64(interval, sch.interval);
	fmt_i64(term, sch.term);
	fmt_i64(ad, adl);
	const char *params[] = {app, from.addr, from.name, from_s, list, tid,
	    tdata, keys.data, subject, svars.data, type, sch.begin,
	    sch.type == 3 ? interval : NULL,
	    sch.type == 3 && sch.term >= 0 ? term : NULL, unsub, ad, reply_to};
	db_query(req->db, &db_send_batch, params, batch_done, req);
	/* db_query copied the parameters */
	buf_reset(&keys);
	buf_reset(&svars);
	from_reset(&from);
}

/* --- SendEmail --- */

/* The recipients of one message. Strings borrowed from req->params. */
struct rcpts {
	const char **env; /* distinct ignoring case, To then Cc then Bcc */
	size_t n;
};

/* Checks one recipient array (NULL: absent); adds its addresses to r.
 * Sends the error and returns -1. */
static int
rcpts_add(struct api_req *req, struct rcpts *r, const char *field, yajl_val arr,
    size_t max)
{
	size_t n = arr ? arr->u.array.len : 0;
	char q[QUOTE_MAX + 4];

	if (n > max) {
		api_fail(req, E_TOO_MANY_RECIPIENTS,
		    "%s holds %zu addresses; at most %zu.", field, n, max);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *e = json_str(arr->u.array.values[i]);
		bool dup = false;
		if (e[0] == '\0') {
			api_fail(req, E_EMAIL_ADDRESS_NULL, "%s.%zu is empty.",
			    field, i);
			return -1;
		}
		if (!email_valid(e, ADDRESS_MAX)) {
			quote(q, e);
			api_fail(req, E_INCORRECT_EMAIL,
			    "%s.%zu `%s` is not a valid email address.", field,
			    i, q);
			return -1;
		}
		for (size_t k = 0; k < r->n && !dup; k++)
			dup = strcasecmp(r->env[k], e) == 0;
		if (!dup)
			r->env[r->n++] = e;
	}
	return 0;
}

/* Collects Destination, Cc and Bcc into r (r->env freed by the caller).
 * Sends the error and returns -1. */
static int
rcpts_collect(struct api_req *req, struct rcpts *r)
{
	yajl_val to = api_param(req, "Destination");
	yajl_val cc = api_param(req, "Cc");
	yajl_val bcc = api_param(req, "Bcc");
	size_t nto = to ? to->u.array.len : 0;
	size_t ncc = cc ? cc->u.array.len : 0;
	size_t nbcc = bcc ? bcc->u.array.len : 0;
	char q[QUOTE_MAX + 4];

	r->n = 0;
	r->env = xcalloc(nto + ncc + nbcc + 1, sizeof(*r->env));
	if (nto + ncc + nbcc == 0) {
		api_fail(req, E_MISSING_PARAMETER,
		    "At least one of Destination, Cc and Bcc must hold an "
		    "address.");
		return -1;
	}
	if (rcpts_add(req, r, "Destination", to, TO_MAX) < 0 ||
	    rcpts_add(req, r, "Cc", cc, CC_MAX) < 0 ||
	    rcpts_add(req, r, "Bcc", bcc, BCC_MAX) < 0)
		return -1;
	for (size_t i = 0; i < nbcc; i++)
		for (size_t k = 0; k < nto; k++) {
			const char *b = json_str(bcc->u.array.values[i]);
			if (strcasecmp(b, json_str(to->u.array.values[k])) ==
			    0) {
				quote(q, b);
				api_fail(req, E_INVALID_PARAMETER_VALUE,
				    "Bcc.%zu `%s` repeats a Destination "
				    "address.",
				    i, q);
				return -1;
			}
		}
	return 0;
}

/* Appends the text[] literal of a string array parameter (NULL: none). */
static void
array_literal(struct buf *out, yajl_val arr)
{
	size_t n = arr ? arr->u.array.len : 0;
	const char **items = xcalloc(n ? n : 1, sizeof(*items));

	for (size_t i = 0; i < n; i++)
		items[i] = json_str(arr->u.array.values[i]);
	db_array_text(out, items, n);
	free(items);
}

static bool
header_reserved(const char *name)
{
	for (size_t i = 0; reserved_headers[i]; i++)
		if (strcasecmp(name, reserved_headers[i]) == 0)
			return true;
	for (size_t i = 0; reserved_prefixes[i]; i++)
		if (strncasecmp(name, reserved_prefixes[i],
			strlen(reserved_prefixes[i])) == 0)
			return true;
	return false;
}

/* Checks SmtpHeaders (see the top of the file); sends the error and
 * returns -1. */
static int
check_smtp_headers(struct api_req *req, const char *json)
{
	struct render_data d;
	char q[QUOTE_MAX + 4];
	const char *bad = NULL;
	int rc = -1;

	render_data_init(&d);
	if (render_data_add_json(&d, json, strlen(json), NULL, 0) < 0) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "SmtpHeaders must be a JSON object whose values are "
		    "strings.");
		goto out;
	}
	if (d.n > SMTP_HEADERS_MAX) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "SmtpHeaders holds %zu headers; at most %d.", d.n,
		    SMTP_HEADERS_MAX);
		goto out;
	}
	for (size_t i = 0; i < d.n && bad == NULL; i++) {
		const struct render_kv *kv = &d.kv[i];
		quote(q, kv->name);
		if (kv->name_len == 0 || kv->name_len > HEADER_NAME_MAX)
			bad = "must be 1 to 76 bytes";
		for (size_t k = 0; k < kv->name_len && bad == NULL; k++) {
			unsigned char c = (unsigned char)kv->name[k];
			if (c <= ' ' || c > '~' || c == ':')
				bad = "must be printable ASCII without ':' or "
				      "spaces";
		}
		if (bad == NULL && header_reserved(kv->name))
			bad = "is written by sesd itself";
		for (size_t k = 0; k < i && bad == NULL; k++)
			if (strcasecmp(d.kv[k].name, kv->name) == 0)
				bad = "is repeated (names ignore case)";
		if (bad == NULL && kv->value_len == 0)
			bad = "has an empty value";
		for (size_t k = 0; k < kv->value_len && bad == NULL; k++) {
			unsigned char c = (unsigned char)kv->value[k];
			if ((c < ' ' && c != '\t') || c > '~')
				bad = "has a value that is not printable ASCII "
				      "(line breaks and non-ASCII are refused)";
		}
		if (bad == NULL &&
		    kv->name_len + 2 + kv->value_len > HEADER_LINE_MAX)
			bad = "is longer than 998 bytes";
	}
	if (bad != NULL) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "SmtpHeaders: the header `%s` %s.", q, bad);
		goto out;
	}
	rc = 0;
out:
	render_data_reset(&d);
	return rc;
}

static void
single_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	const char *missing, *blocked;
	char q[QUOTE_MAX + 4];
	int64_t tid = 0;

	if (!api_db_ok(req, res))
		return;
	api_int(req, "Template.TemplateID", &tid);
	missing = db_val(res, 0, 2);
	blocked = db_val(res, 0, 3);
	if (!db_bool(res, 0, 0)) {
		quote(q, api_str(req, "FromEmailAddress"));
		api_fail(req, E_NOT_AUTHENTICATED_SENDER,
		    "%s is not a sender address of this account on a verified "
		    "domain.",
		    q);
	} else if (!db_bool(res, 0, 1))
		api_fail(req, E_INVALID_TEMPLATE_ID,
		    "The template %lld does not exist or is not approved.",
		    (long long)tid);
	else if (missing != NULL && strcmp(missing, "{}") != 0)
		api_fail(req, E_WRONG_CONTENT_JSON,
		    "Template.TemplateData has no value for the variables "
		    "%.300s of the template and Subject.",
		    missing);
	else if (blocked != NULL) {
		quote(q, blocked);
		if (strcmp(db_val(res, 0, 4), "unsubscribe") == 0)
			api_fail(req, E_RECEIVER_UNSUBSCRIBED,
			    "%s has unsubscribed from this sender domain.", q);
		else
			api_fail(req, E_EMAIL_IN_BLACKLIST, "%s is on the %s.",
			    q,
			    strcmp(db_val(res, 0, 4), "custom") == 0
				? "custom blacklist"
				: "bounce blacklist");
	} else if (db_val(res, 0, 5) == NULL) {
		log_error("api: %s: the message was not written although "
			  "every check passed",
		    req->action->name);
		api_fail(req, E_INTERNAL, NULL);
	} else {
		log_debug("api: SendEmail app=%llu message=%s",
		    (unsigned long long)req->app_id, db_val(res, 0, 5));
		api_task_accepted(req, 0, -1, 0);
		jw_str(api_reply_begin(req), "MessageId", db_val(res, 0, 5));
		api_reply_end(req);
	}
}

/* Checks HeaderFrom against the sender's domain; fills hf. Sends the
 * error and returns -1. */
static int
check_header_from(struct api_req *req, const char *s, const struct from *from,
    struct from *hf)
{
	char q[QUOTE_MAX + 4];
	const char *why;

	hf->addr = hf->name = NULL;
	if (s == NULL || s[0] == '\0')
		return 0;
	quote(q, s);
	if ((why = from_parse(hf, s)) != NULL) {
		api_fail(req, E_INCORRECT_SENDER, "HeaderFrom %s %s.", q, why);
		return -1;
	}
	if (strcasecmp(strrchr(hf->addr, '@'), strrchr(from->addr, '@')) != 0) {
		api_fail(req, E_INCORRECT_SENDER,
		    "HeaderFrom %s must be on the domain of FromEmailAddress.",
		    q);
		from_reset(hf);
		return -1;
	}
	return 0;
}

/* What act_single builds for the statement; freed after db_query. */
struct single {
	struct from from, hf;
	struct rcpts r;
	struct buf keys, svars, env, to, cc, bcc;
	char *msgid;
};

static void
single_reset(struct single *s)
{
	from_reset(&s->from);
	from_reset(&s->hf);
	free(s->r.env);
	buf_reset(&s->keys);
	buf_reset(&s->svars);
	buf_reset(&s->env);
	buf_reset(&s->to);
	buf_reset(&s->cc);
	buf_reset(&s->bcc);
	free(s->msgid);
}

/* The checks of act_single that need no database; sends the error and
 * returns -1. */
static int
single_check(struct api_req *req, struct single *s)
{
	const char *from_s = api_str(req, "FromEmailAddress");
	const char *reply_to = api_str(req, "ReplyToAddresses");
	const char *msgid = api_str(req, "SmtpMessageId");
	const char *headers = api_str(req, "SmtpHeaders");
	yajl_val att = api_param(req, "Attachments");
	char q[QUOTE_MAX + 4], err[200];
	const char *why;
	int64_t trig = 0;

	if (api_param(req, "Simple") != NULL) {
		api_fail(req, E_WITHOUT_PERMISSION,
		    "Simple content is not permitted: send a template "
		    "(Template).");
		return -1;
	}
	if (api_param(req, "Template") == NULL) {
		api_fail(req, E_MISSING_EMAIL_CONTENT,
		    "Template is required (TemplateID and TemplateData).");
		return -1;
	}
	if (att != NULL && att->u.array.len > 0) {
		api_fail(req, E_NO_ATTACH_PERMISSION,
		    "sesd does not send attachments yet.");
		return -1;
	}
	if (rcpts_collect(req, &s->r) < 0 ||
	    check_subject(req, api_str(req, "Subject"), SINGLE_SUBJECT_MAX,
		E_INVALID_PARAMETER_VALUE) < 0)
		return -1;
	if ((why = from_parse(&s->from, from_s)) != NULL) {
		quote(q, from_s);
		api_fail(
		    req, E_INCORRECT_SENDER, "FromEmailAddress %s %s.", q, why);
		return -1;
	}
	if (check_header_from(
		req, api_str(req, "HeaderFrom"), &s->from, &s->hf) < 0)
		return -1;
	if (reply_to && reply_to[0] && !email_valid(reply_to, ADDRESS_MAX)) {
		quote(q, reply_to);
		api_fail(req, E_INCORRECT_EMAIL,
		    "ReplyToAddresses `%s` is not a valid email address.", q);
		return -1;
	}
	if (check_unsubscribe(req, api_str(req, "Unsubscribe")) < 0)
		return -1;
	if (api_int(req, "TriggerType", &trig) && trig != 0 && trig != 1) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "TriggerType must be 0 or 1, got %lld.", (long long)trig);
		return -1;
	}
	if (msgid && msgid[0] && (s->msgid = message_id_parse(msgid)) == NULL) {
		quote(q, msgid);
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "SmtpMessageId `%s` must be <left@right>, both sides "
		    "dot-atom text, at most %d bytes.",
		    q, MESSAGE_ID_MAX);
		return -1;
	}
	if (headers && headers[0] && check_smtp_headers(req, headers) < 0)
		return -1;
	if (tdata_keys(api_str(req, "Template.TemplateData"), &s->keys, err,
		sizeof(err)) < 0) {
		api_fail(req, E_WRONG_CONTENT_JSON,
		    "Template.TemplateData must be a JSON object of strings: "
		    "%s.",
		    err);
		return -1;
	}
	return 0;
}

static void
act_single(struct api_req *req)
{
	const char *reply_to = api_str(req, "ReplyToAddresses");
	const char *headers = api_str(req, "SmtpHeaders");
	const char *header_from = api_str(req, "HeaderFrom");
	char app[24], tid[24], trig[24];
	struct single s;
	int64_t v = 0;

	memset(&s, 0, sizeof(s));
	buf_init(&s.keys);
	buf_init(&s.svars);
	buf_init(&s.env);
	buf_init(&s.to);
	buf_init(&s.cc);
	buf_init(&s.bcc);
	if (single_check(req, &s) < 0) {
		single_reset(&s);
		return;
	}
	subject_vars(api_str(req, "Subject"), &s.svars);
	db_array_text(&s.env, s.r.env, s.r.n);
	array_literal(&s.to, api_param(req, "Destination"));
	if (api_param(req, "Cc"))
		array_literal(&s.cc, api_param(req, "Cc"));
	if (api_param(req, "Bcc"))
		array_literal(&s.bcc, api_param(req, "Bcc"));
	api_fmt_u64(app, req->app_id);
	api_int(req, "Template.TemplateID", &v);
	fmt_i64(tid, v);
	v = 0;
	api_int(req, "TriggerType", &v);
	fmt_i64(trig, v);
	const char *params[] = {app, s.from.addr, s.from.name,
	    api_str(req, "FromEmailAddress"), tid,
	    api_str(req, "Template.TemplateData"), s.keys.data,
	    api_str(req, "Subject"), s.svars.data, s.env.data, s.to.data,
	    s.cc.data, s.bcc.data, reply_to && reply_to[0] ? reply_to : NULL,
	    api_str(req, "Unsubscribe"), trig,
	    headers && headers[0] ? headers : NULL, s.msgid,
	    header_from && header_from[0] ? header_from : NULL, s.hf.addr,
	    s.hf.addr ? (s.hf.name ? s.hf.name : "") : NULL};
	db_query(req->db, &db_send_single, params, single_done, req);
	single_reset(&s);
}
