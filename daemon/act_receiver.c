/*
 * act_receiver.c: CreateReceiver, CreateReceiverDetail,
 * CreateReceiverDetailWithData, ListReceivers, ListReceiverDetails,
 * DeleteReceiver (ses-api.md 5.2). An upload is checked entirely here
 * (addresses, TemplateData, duplicates), then written set-wise by the
 * statements of db_receivers.c. sesd completes an upload before it answers
 * (Tencent does it in the background): a client that sees success sees
 * status 3 and its rows on its next ListReceivers/ListReceiverDetails.
 *
 * Decisions where ses-api.md says "unconfirmed":
 * - A malformed non-empty address fails the whole call with
 *   InvalidParameterValue.ReceiverEmailInvalid naming it, in
 *   CreateReceiverDetail as in CreateReceiverDetailWithData: nothing is
 *   dropped silently, and every stored row is valid (Status 1).
 * - "Too long" is more than 254 bytes; such addresses, and empty strings,
 *   are skipped and counted, not errors.
 * - RepeatCount counts duplicates within the call and addresses already in
 *   the list, compared case-insensitively; the first spelling is kept.
 * - The list limit counts the addresses that would really be inserted
 *   (new ones), so re-sending a full list's addresses is not an error.
 * - A list filled without data takes no data rows and the reverse
 *   (TemplateDataInconsistent); an empty list takes either kind.
 * - TemplateData is validated for every entry, also those skipped; keys
 *   must be unique within one object; "{}" is an empty key set.
 * - ListReceiverDetails returns TemplateData "" for addresses uploaded
 *   without data. A date-only CreateTimeEnd includes that whole day, a
 *   date-time one that whole second.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_receivers.h"
#include "json.h"
#include "util.h"

#define RECEIVER_NAME_MAX       200 /* characters */
#define RECEIVER_DESC_MAX       300 /* characters */
#define DETAIL_REQUEST_MAX      20000
#define EMAIL_MAX_LEN           254 /* bytes; longer counts as TooLong */
#define TEMPLATE_DATA_MAX       800 /* bytes */
#define TEMPLATE_DATA_KEYS      200 /* more than 800 bytes can hold */
#define DETAIL_EMAIL_FILTER_MAX 50  /* characters */
#define QUOTE_MAX               100 /* bytes of an address quoted in errors */

static void act_create(struct api_req *);
static void act_add(struct api_req *);
static void act_add_data(struct api_req *);
static void act_list(struct api_req *);
static void act_details(struct api_req *);
static void act_delete(struct api_req *);

static const struct param create_params[] = {
    {"ReceiversName", P_STR, true, API_OK, NULL},
    {"Desc", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param add_params[] = {
    {"ReceiverId", P_INT, true, E_RECEIVER_ID_NECESSARY, NULL},
    {"Emails", P_ARR_STR, true, E_EMAILS_NECESSARY, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param data_fields[] = {
    {"Email", P_STR, true, API_OK, NULL},
    {"TemplateData", P_STR, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param add_data_params[] = {
    {"ReceiverId", P_INT, true, E_RECEIVER_ID_NECESSARY, NULL},
    {"Datas", P_ARR_OBJ, true, E_EMAILS_NECESSARY, data_fields},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param list_params[] = {
    {"Offset", P_INT, true, API_OK, NULL},
    {"Limit", P_INT, true, API_OK, NULL},
    {"Status", P_INT, false, API_OK, NULL},
    {"KeyWord", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param details_params[] = {
    {"ReceiverId", P_INT, true, API_OK, NULL},
    {"Offset", P_INT, true, API_OK, NULL},
    {"Limit", P_INT, true, API_OK, NULL},
    {"Email", P_STR, false, API_OK, NULL},
    {"CreateTimeBegin", P_STR, false, API_OK, NULL},
    {"CreateTimeEnd", P_STR, false, API_OK, NULL},
    {"Status", P_INT, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param delete_params[] = {
    {"ReceiverId", P_INT, true, E_RECEIVER_ID_NECESSARY, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_receiver_actions[] = {
    {"CreateReceiver", act_create, create_params},
    {"CreateReceiverDetail", act_add, add_params},
    {"CreateReceiverDetailWithData", act_add_data, add_data_params},
    {"ListReceivers", act_list, list_params},
    {"ListReceiverDetails", act_details, details_params},
    {"DeleteReceiver", act_delete, delete_params},
    {NULL, NULL, NULL},
};

/* --- small helpers --- */

static void
fmt_i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
}

/* True if s has a C0 or C1 control character or DEL (s is UTF-8). */
static bool
has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return true;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return true;
	}
	return false;
}

/* Copies at most QUOTE_MAX bytes of s into out, cut on a UTF-8 boundary,
 * so an error message stays short and valid UTF-8. */
static void
quote_addr(char out[QUOTE_MAX + 4], const char *s)
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

/* Appends a LIKE pattern matching s anywhere: '%' + s escaped + '%'. */
static void
like_pattern(struct buf *b, const char *s)
{
	buf_addc(b, '%');
	for (; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *s);
	}
	buf_addc(b, '%');
}

/* --- CreateReceiver --- */

static int
check_text(struct api_req *req, const char *field, const char *s, size_t max,
    enum api_err err)
{
	size_t chars = utf8_chars(s);

	if (chars == 0 || chars > max) {
		api_fail(req, err, "%s must be 1 to %zu characters (got %zu).",
		    field, max, chars);
		return -1;
	}
	if (has_control(s)) {
		api_fail(
		    req, err, "%s must not contain control characters.", field);
		return -1;
	}
	return 0;
}

static void
create_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (res->status == DB_FAIL && strcmp(res->sqlstate, "23505") == 0) {
		api_fail(req, E_REPEAT_RECEIVER_NAME,
		    "The account already has a recipient list named `%s`.",
		    api_str(req, "ReceiversName"));
		return;
	}
	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_EXCEED_RECEIVER_LIMIT,
		    "The account has reached its limit of %d recipient lists.",
		    req->cfg->limits_receivers);
		return;
	}
	jw_int(api_reply_begin(req), "ReceiverId", db_int(res, 0, 0));
	api_reply_end(req);
}

static void
act_create(struct api_req *req)
{
	const char *name = api_str(req, "ReceiversName");
	const char *desc = api_str(req, "Desc");
	char app[24], limit[24];

	if (check_text(req, "ReceiversName", name, RECEIVER_NAME_MAX,
		E_RECEIVER_NAME_ILLEGAL) < 0)
		return;
	if (desc && check_text(req, "Desc", desc, RECEIVER_DESC_MAX,
			E_RECEIVER_DESC_ILLEGAL) < 0)
		return;
	api_fmt_u64(app, req->app_id);
	api_fmt_u64(limit, (uint64_t)req->cfg->limits_receivers);
	const char *params[] = {app, name, desc ? desc : "", limit};
	db_query(req->db, &db_receivers_insert, params, create_done, req);
}

/* --- TemplateData: a JSON object whose values are strings --- */

/* Scratch space for one TemplateData; sized by TEMPLATE_DATA_MAX, since
 * decoding never makes a JSON string longer. */
struct tdata {
	char keys[TEMPLATE_DATA_MAX + 1]; /* decoded keys, NUL-separated */
	size_t keylen;
	const char *key[TEMPLATE_DATA_KEYS];
	size_t nkeys;
	char val[TEMPLATE_DATA_MAX + 1]; /* the value being checked */
	struct buf lit;                  /* text[] literal of the sorted keys */
};

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | (unsigned)d;
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the JSON string at *pp (on its opening quote) into out, NUL
 * terminated, and moves *pp past the closing quote. out has room for the
 * rest of the input. Returns the decoded length, or -1 on bad syntax or a
 * NUL character.
 */
static long
json_string(const char **pp, char *out)
{
	const char *p = *pp + 1;
	size_t n = 0;
	unsigned cp, lo;

	for (;;) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			break;
		if (c < 0x20) /* control character or end of input */
			return -1;
		if (c != '\\') {
			out[n++] = (char)c;
			p++;
			continue;
		}
		switch (p[1]) {
		case '"':
			out[n++] = '"';
			break;
		case '\\':
			out[n++] = '\\';
			break;
		case '/':
			out[n++] = '/';
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u':
			if (hex4(p + 2, &cp) < 0 || cp == 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[6] != '\\' || p[7] != 'u' ||
				    hex4(p + 8, &lo) < 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				     (lo - 0xdc00);
				p += 6;
			}
			n += put_utf8(out + n, cp);
			p += 4;
			break;
		default:
			return -1;
		}
		p += 2;
	}
	out[n] = '\0';
	*pp = p + 1;
	return (long)n;
}

/* True if v holds something like an HTML tag: '<' then a letter, '/' or
 * '!'. */
static bool
has_tag(const char *v)
{
	for (const char *p = strchr(v, '<'); p; p = strchr(p + 1, '<'))
		if (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!')
			return true;
	return false;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Checks one TemplateData (strlen(s) <= TEMPLATE_DATA_MAX) and leaves the
 * text[] literal of its sorted key set in t->lit. Returns API_OK or the
 * error code.
 */
static enum api_err
tdata_check(struct tdata *t, const char *s)
{
	const char *p = skip_ws(s);
	size_t offs[TEMPLATE_DATA_KEYS];
	long n;

	t->keylen = 0;
	t->nkeys = 0;
	if (*p++ != '{')
		return E_TEMPLATE_DATA_ERROR;
	p = skip_ws(p);
	if (*p == '}')
		p++;
	else
		for (;;) {
			if (*p != '"' || t->nkeys == TEMPLATE_DATA_KEYS)
				return E_TEMPLATE_DATA_ERROR;
			n = json_string(&p, t->keys + t->keylen);
			if (n < 0)
				return E_TEMPLATE_DATA_ERROR;
			offs[t->nkeys++] = t->keylen;
			t->keylen += (size_t)n + 1;
			p = skip_ws(p);
			if (*p++ != ':')
				return E_TEMPLATE_DATA_ERROR;
			p = skip_ws(p);
			if (*p != '"' || json_string(&p, t->val) < 0)
				return E_TEMPLATE_DATA_ERROR;
			if (has_tag(t->val))
				return E_INVALID_TEMPLATE_DATA;
			p = skip_ws(p);
			if (*p == '}') {
				p++;
				break;
			}
			if (*p++ != ',')
				return E_TEMPLATE_DATA_ERROR;
			p = skip_ws(p);
		}
	if (*skip_ws(p) != '\0')
		return E_TEMPLATE_DATA_ERROR;
	for (size_t i = 0; i < t->nkeys; i++)
		t->key[i] = t->keys + offs[i];
	qsort(t->key, t->nkeys, sizeof(*t->key), key_cmp);
	for (size_t i = 1; i < t->nkeys; i++)
		if (strcmp(t->key[i - 1], t->key[i]) == 0)
			return E_TEMPLATE_DATA_ERROR;
	t->lit.len = 0;
	db_array_text(&t->lit, t->key, t->nkeys);
	return API_OK;
}

/* --- CreateReceiverDetail(WithData): check, dedupe, then mark + fill --- */

/* One accepted entry of the request; strings borrowed from req->params. */
struct entry {
	const char *email;
	const char *data; /* NULL without data */
	size_t idx;       /* position in the request */
	bool keep;        /* first of its address in the call */
};

struct upload {
	char app[24], id[24];
	bool with_data;
	int64_t total, too_long, empty, repeat, sent;
	struct buf emails, datas, keys; /* text[] literals */
	/* statement 2's failure, answered after the undo statement */
	struct db_res fail;
	char *fail_msg;
};

static void
upload_free(struct upload *u)
{
	if (u == NULL)
		return;
	buf_reset(&u->emails);
	buf_reset(&u->datas);
	buf_reset(&u->keys);
	free(u->fail_msg);
	free(u);
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;
	/* valid addresses are ASCII, so this agrees with SQL lower() */
	int c = strcasecmp(x->email, y->email);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Marks the first entry of each address (case-insensitive) kept, counts
 * the others in u->repeat. */
static void
dedupe(struct upload *u, struct entry *e, size_t n)
{
	struct entry **sorted = xmalloc((n ? n : 1) * sizeof(*sorted));

	for (size_t i = 0; i < n; i++)
		sorted[i] = &e[i];
	qsort(sorted, n, sizeof(*sorted), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		sorted[i]->keep = i == 0 || strcasecmp(sorted[i - 1]->email,
						sorted[i]->email) != 0;
		if (!sorted[i]->keep)
			u->repeat++;
	}
	free(sorted);
}

/* Builds the emails and data literals of the kept entries, in request
 * order. */
static void
build_arrays(struct upload *u, const struct entry *e, size_t n)
{
	const char **emails = xmalloc((n ? n : 1) * sizeof(*emails));
	const char **datas = xmalloc((n ? n : 1) * sizeof(*datas));
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (e[i].keep) {
			emails[k] = e[i].email;
			datas[k++] = e[i].data;
		}
	u->sent = (int64_t)k;
	db_array_text(&u->emails, emails, k);
	if (u->with_data)
		db_array_text(&u->datas, datas, k);
	free(emails);
	free(datas);
}

static void
reply_counts(struct api_req *req, const struct upload *u, int64_t inserted)
{
	yajl_gen g = api_reply_begin(req);

	jw_int(g, "TotalCount", u->total);
	jw_int(g, "ValidCount", inserted);
	jw_int(g, "TooLongCount", u->too_long);
	jw_int(g, "EmptyEmailCount", u->empty);
	jw_int(g, "RepeatCount", u->repeat + (u->sent - inserted));
	api_reply_end(req);
}

static void
unmark_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct upload *u = req->act_state;

	if (res->status != DB_OK)
		log_warn("api: %s app=%s list=%s: could not reset the upload "
			 "status (it expires after %s): %s",
		    req->action->name, u->app, u->id, RECEIVER_STALE_UPLOAD,
		    res->errmsg ? res->errmsg : "database unavailable");
	req->act_state = NULL;
	if (strcmp(u->fail.sqlstate, "23503") == 0)
		api_fail(req, E_RECEIVER_NOT_EXIST,
		    "The recipient list %s was deleted during the upload.",
		    u->id);
	else if (strcmp(u->fail.sqlstate, "23505") == 0)
		api_fail(req, E_RECEIVER_OPERATING,
		    "Another upload to the recipient list %s finished "
		    "meanwhile; retry.",
		    u->id);
	else
		api_fail_db(req, &u->fail);
	upload_free(u);
}

static void
fill_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct upload *u = req->act_state;

	if (res->status != DB_OK) {
		/* the statement rolled back: put the list's status back
		 * (best effort), then answer with this error */
		u->fail.status = res->status;
		memcpy(u->fail.sqlstate, res->sqlstate, sizeof(res->sqlstate));
		u->fail_msg = res->errmsg ? xstrdup(res->errmsg) : NULL;
		u->fail.errmsg = u->fail_msg;
		const char *params[] = {u->app, u->id};
		db_query(
		    req->db, &db_receivers_unmark, params, unmark_done, req);
		return;
	}
	/* the rows and status 3 are committed: answering only now means a
	 * client that sees success sees them on its next List* call */
	req->act_state = NULL;
	if (res->nrows == 0 || db_int(res, 0, 2) == 0)
		api_fail(req, E_RECEIVER_NOT_EXIST,
		    "The recipient list %s was deleted during the upload.",
		    u->id);
	else if (!db_bool(res, 0, 1))
		api_fail(req, E_DETAIL_COUNT_LIMIT,
		    "The recipient list would have more than %d addresses.",
		    req->cfg->limits_receivers_per_list);
	else
		reply_counts(req, u, db_int(res, 0, 0));
	upload_free(u);
}

static void
mark_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct upload *u = req->act_state;
	char n[24], limit[24];

	if (res->status != DB_OK || res->nrows == 0 || !db_bool(res, 0, 2)) {
		req->act_state = NULL;
		if (res->status != DB_OK)
			api_fail_db(req, res);
		else if (res->nrows == 0)
			api_fail(req, E_RECEIVER_NOT_EXIST,
			    "The recipient list %s does not exist.", u->id);
		else if (!db_bool(res, 0, 0) && !db_bool(res, 0, 1))
			api_fail(req, E_TEMPLATE_DATA_INCONSISTENT,
			    u->with_data
				? "The TemplateData keys differ from those "
				  "of the list, or the list holds addresses "
				  "without data."
				: "The list holds addresses with TemplateData; "
				  "use CreateReceiverDetailWithData.");
		else
			api_fail(req, E_RECEIVER_OPERATING, NULL);
		upload_free(u);
		return;
	}
	fmt_i64(n, u->sent);
	api_fmt_u64(limit, (uint64_t)req->cfg->limits_receivers_per_list);
	const char *params[] = {u->app, u->id, u->emails.data,
	    u->with_data ? u->datas.data : NULL, n, limit,
	    u->with_data ? u->keys.data : NULL};
	db_query(req->db,
	    db_int(res, 0, 3) == 0 ? &db_receivers_fill_new
				   : &db_receivers_fill,
	    params, fill_done, req);
	/* the parameters are copied: the literals are no longer needed */
	buf_reset(&u->emails);
	buf_reset(&u->datas);
}

/*
 * The common part of both uploads: e[0..n) holds every request entry;
 * counts and drops the empty and too long ones, fails on a malformed one,
 * dedupes, and starts the mark statement. Takes ownership of u.
 */
static void
upload_start(struct api_req *req, struct upload *u, struct entry *e, size_t n,
    const char *field)
{
	size_t k = 0;
	int64_t id = 0;
	char q[QUOTE_MAX + 4];

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(e[i].email);
		if (len == 0) {
			u->empty++;
			continue;
		}
		if (len > EMAIL_MAX_LEN) {
			u->too_long++;
			continue;
		}
		if (!email_valid(e[i].email, EMAIL_MAX_LEN)) {
			quote_addr(q, e[i].email);
			api_fail(req, E_RECEIVER_EMAIL_INVALID,
			    "%s.%zu%s `%s` is not a valid email address.",
			    field, e[i].idx, u->with_data ? ".Email" : "", q);
			upload_free(u);
			return;
		}
		e[k++] = e[i];
	}
	dedupe(u, e, k);
	build_arrays(u, e, k);
	api_int(req, "ReceiverId", &id);
	api_fmt_u64(u->app, req->app_id);
	fmt_i64(u->id, id);
	req->act_state = u;
	const char *params[] = {
	    u->app, u->id, u->with_data ? u->keys.data : NULL};
	db_query(req->db, &db_receivers_mark, params, mark_done, req);
}

/* Checks the entry count shared by both uploads. */
static int
check_count(struct api_req *req, size_t n, const char *field)
{
	if (n == 0) {
		api_fail(
		    req, E_EMAILS_NECESSARY, "%s must not be empty.", field);
		return -1;
	}
	if (n > DETAIL_REQUEST_MAX) {
		api_fail(req, E_DETAIL_REQUEST_LIMIT,
		    "%s has %zu entries; at most %d are allowed per call.",
		    field, n, DETAIL_REQUEST_MAX);
		return -1;
	}
	return 0;
}

static void
act_add(struct api_req *req)
{
	yajl_val arr = api_param(req, "Emails");
	size_t n = arr->u.array.len;
	struct upload *u;
	struct entry *e;

	if (check_count(req, n, "Emails") < 0)
		return;
	u = xcalloc(1, sizeof(*u));
	u->total = (int64_t)n;
	e = xmalloc(n * sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		e[i].email = YAJL_GET_STRING(arr->u.array.values[i]);
		e[i].data = NULL;
		e[i].idx = i;
	}
	upload_start(req, u, e, n, "Emails");
	free(e);
}

static void
act_add_data(struct api_req *req)
{
	yajl_val arr = api_param(req, "Datas");
	size_t n = arr->u.array.len;
	struct tdata *t;
	struct upload *u;
	struct entry *e;
	enum api_err err = API_OK;
	size_t i;

	if (check_count(req, n, "Datas") < 0)
		return;
	u = xcalloc(1, sizeof(*u));
	u->with_data = true;
	u->total = (int64_t)n;
	t = xcalloc(1, sizeof(*t));
	e = xmalloc(n * sizeof(*e));
	for (i = 0; i < n; i++) {
		yajl_val o = arr->u.array.values[i];
		e[i].email = json_str(json_member(o, "Email"));
		e[i].data = json_str(json_member(o, "TemplateData"));
		e[i].idx = i;
		if (strlen(e[i].data) > TEMPLATE_DATA_MAX) {
			err = E_TEMPLATE_DATA_LEN;
			break;
		}
		if ((err = tdata_check(t, e[i].data)) != API_OK)
			break;
		if (i == 0)
			buf_add(&u->keys, t->lit.data, t->lit.len);
		else if (strcmp(u->keys.data, t->lit.data) != 0) {
			err = E_TEMPLATE_DATA_INCONSISTENT;
			break;
		}
	}
	switch (err) {
	case API_OK:
		break;
	case E_TEMPLATE_DATA_LEN:
		api_fail(req, err,
		    "Datas.%zu.TemplateData is %zu bytes; at most %d are "
		    "allowed.",
		    i, strlen(e[i].data), TEMPLATE_DATA_MAX);
		break;
	case E_INVALID_TEMPLATE_DATA:
		api_fail(req, err,
		    "Datas.%zu.TemplateData has a value with an HTML tag.", i);
		break;
	case E_TEMPLATE_DATA_INCONSISTENT:
		api_fail(req, err,
		    "Datas.%zu.TemplateData has the keys %s, Datas.0 has %s; "
		    "every entry must use the same keys.",
		    i, t->lit.data, u->keys.data);
		break;
	default:
		api_fail(req, err,
		    "Datas.%zu.TemplateData is not a JSON object whose values "
		    "are strings (with unique keys).",
		    i);
		break;
	}
	buf_reset(&t->lit);
	free(t);
	if (err != API_OK) {
		upload_free(u);
		free(e);
		return;
	}
	upload_start(req, u, e, n, "Datas");
	free(e);
}

/* --- ListReceivers --- */

static void
list_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_open_arr(g, "Data");
	for (int i = 0; i < res->nrows; i++) {
		if (db_val(res, i, 1) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_int(g, "ReceiverId", db_int(res, i, 1));
		jw_str(g, "ReceiversName", db_val(res, i, 2));
		jw_int(g, "Count", db_int(res, i, 3));
		jw_str(g, "Desc", db_val(res, i, 4));
		jw_int(g, "ReceiversStatus", db_int(res, i, 5));
		jw_str(g, "CreateTime", db_val(res, i, 6));
		jw_int(g, "InvalidCount", 0);
		jw_close_obj(g);
	}
	jw_close_arr(g);
	jw_int(g, "TotalCount", res->nrows ? db_int(res, 0, 0) : 0);
	api_reply_end(req);
}

static void
act_list(struct api_req *req)
{
	const char *kw = api_str(req, "KeyWord");
	char app[24], lim[24], off[24], st[24];
	int64_t offset, limit, status = 0;
	bool has_status = api_int(req, "Status", &status);
	struct buf pat;

	if (api_page(req, &offset, &limit) < 0)
		return;
	if (has_status && (status < 1 || status > 3)) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "Status must be 1, 2 or 3 (got %lld).", (long long)status);
		return;
	}
	api_fmt_u64(app, req->app_id);
	fmt_i64(lim, limit);
	fmt_i64(off, offset);
	fmt_i64(st, status);
	buf_init(&pat);
	if (kw && kw[0])
		like_pattern(&pat, kw);
	const char *params[] = {
	    app, lim, off, has_status ? st : NULL, pat.len ? pat.data : NULL};
	db_query(req->db, &db_receivers_list, params, list_done, req);
	buf_reset(&pat);
}

/* --- ListReceiverDetails --- */

/*
 * Parses "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS" (a wall time in the
 * configured zone) and writes it normalised to out, or, with end set, the
 * exclusive upper bound it stands for: the next day for a date, the next
 * second for a date-time. Returns -1 if s is neither or no real date.
 */
static int
parse_bound(const char *s, bool end, char out[32])
{
	struct tm tm = {0}, chk;
	size_t len = strlen(s);
	int y, mo, d, h = 0, mi = 0, sec = 0;
	time_t t;

	if (len != 10 && len != 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool want_digit =
		    !(i == 4 || i == 7 || i == 10 || i == 13 || i == 16);
		if (want_digit ? !isdigit((unsigned char)c)
			       : c != (i == 10 ? ' ' : (i < 10 ? '-' : ':')))
			return -1;
	}
	y = atoi(s);
	mo = atoi(s + 5);
	d = atoi(s + 8);
	if (len == 19) {
		h = atoi(s + 11);
		mi = atoi(s + 14);
		sec = atoi(s + 17);
	}
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	/* calendar arithmetic only: UTC has no gaps */
	t = timegm(&tm);
	if (gmtime_r(&t, &chk) == NULL || chk.tm_mday != d)
		return -1; /* e.g. 2024-02-30 */
	if (end)
		t += len == 10 ? 86400 : 1;
	if (gmtime_r(&t, &chk) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M:%S", &chk) == 0)
		return -1;
	return 0;
}

static void
details_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		int64_t id = 0;
		api_int(req, "ReceiverId", &id);
		api_fail(req, E_RECEIVER_NOT_EXIST,
		    "The recipient list %lld does not exist.", (long long)id);
		return;
	}
	g = api_reply_begin(req);
	jw_int(g, "TotalCount", db_int(res, 0, 1));
	jw_open_arr(g, "Data");
	for (int i = 0; i < res->nrows; i++) {
		if (db_val(res, i, 2) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_str(g, "Email", db_val(res, i, 3));
		jw_str(g, "CreateTime", db_val(res, i, 5));
		/* NULL (uploaded without data) -> "" */
		jw_strn(g, "TemplateData",
		    db_val(res, i, 4) ? db_val(res, i, 4) : "",
		    db_len(res, i, 4));
		jw_str(g, "Reason", "");
		jw_int(g, "Status", 1);
		jw_int(g, "EmailId", db_int(res, i, 2));
		jw_close_obj(g);
	}
	jw_close_arr(g);
	jw_int(g, "ValidCount", db_int(res, 0, 0));
	jw_int(g, "InvalidCount", 0);
	api_reply_end(req);
}

static void
act_details(struct api_req *req)
{
	const char *email = api_str(req, "Email");
	const char *begin = api_str(req, "CreateTimeBegin");
	const char *end = api_str(req, "CreateTimeEnd");
	char app[24], id[24], lim[24], off[24], st[24], b[32], e[32];
	int64_t rid = 0, offset, limit, status = 0;
	bool has_status = api_int(req, "Status", &status);
	struct buf pat;

	if (api_page(req, &offset, &limit) < 0)
		return;
	if (has_status && status != 1 && status != 2) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "Status must be 1 (valid) or 2 (invalid) (got %lld).",
		    (long long)status);
		return;
	}
	if (email && utf8_chars(email) > DETAIL_EMAIL_FILTER_MAX) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "Email must be at most %d characters.",
		    DETAIL_EMAIL_FILTER_MAX);
		return;
	}
	if (begin && begin[0] && parse_bound(begin, false, b) < 0) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "CreateTimeBegin must be YYYY-MM-DD or YYYY-MM-DD "
		    "HH:MM:SS.");
		return;
	}
	if (end && end[0] && parse_bound(end, true, e) < 0) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "CreateTimeEnd must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.");
		return;
	}
	api_int(req, "ReceiverId", &rid);
	api_fmt_u64(app, req->app_id);
	fmt_i64(id, rid);
	fmt_i64(lim, limit);
	fmt_i64(off, offset);
	fmt_i64(st, status);
	buf_init(&pat);
	if (email && email[0])
		like_pattern(&pat, email);
	const char *params[] = {app, id, lim, off, pat.len ? pat.data : NULL,
	    begin && begin[0] ? b : NULL, end && end[0] ? e : NULL,
	    has_status ? st : NULL};
	db_query(req->db, &db_receivers_details, params, details_done, req);
	buf_reset(&pat);
}

/* --- DeleteReceiver --- */

static void
delete_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_RECEIVER_NOT_EXIST, NULL);
		return;
	}
	api_reply_ok(req);
}

static void
act_delete(struct api_req *req)
{
	char app[24], id[24];
	int64_t rid = 0;

	api_int(req, "ReceiverId", &rid);
	api_fmt_u64(app, req->app_id);
	fmt_i64(id, rid);
	const char *params[] = {app, id};
	db_query(req->db, &db_receivers_delete, params, delete_done, req);
}
