/*
 * act_identity.c: CreateEmailIdentity, GetEmailIdentity,
 * ListEmailIdentities, UpdateEmailIdentity, DeleteEmailIdentity
 * (ses-api.md 5.6). A sender domain gets an RSA DKIM key pair on creation
 * (1024 bits for DKIMOption 0, 2048 for 1), made on a thread by keygen.c so
 * the loop never waits for it, and the caller is told which DNS records to
 * publish: SPF, DKIM and DMARC, in that order (3.13).
 *
 * Verification ([identity] verify):
 *  - trust: a domain is verified from its creation (development, or DNS
 *    managed elsewhere). Trust mode reports the records as satisfied:
 *    CurrentValue = ExpectedValue and Status true for each record of a
 *    verified domain; nothing is looked up. UpdateEmailIdentity marks a
 *    domain verified that was created under verify = dns.
 *  - dns: a domain starts unverified; GetEmailIdentity and
 *    UpdateEmailIdentity look the three TXT records up (dnstxt.c, on a
 *    thread; [identity] dns_server or the system resolver) and report what
 *    they found. SPF and DKIM matching make the domain verified; DMARC is
 *    advisory. A verified domain stays verified: a later failed lookup
 *    (often a transient DNS fault) does not stop its mail. Matching rules:
 *    SPF - exactly one v=spf1 record, holding every mechanism of the
 *    expected record except its "all" (so owners may merge their own
 *    includes); DKIM - a record whose p= is our public key (v=DKIM1 and
 *    k=rsa when present); DMARC - any v=DMARC1 record (the policy is the
 *    owner's choice).
 *
 * DKIMOption: 0 (1024-bit) and 1 (2048-bit). 2 (dual signing) is not
 * supported by sesd: InvalidParameterValue. UpdateEmailIdentity with a
 * DKIMOption other than the domain's current one makes a new key pair of
 * that size: the DKIM record changes, so under verify = dns the domain is
 * unverified until the new record is published and checked again.
 *
 * Fixed values of ListEmailIdentities (sesd has no reputation system and
 * no daily cap): CurrentReputationLevel 1 and MaxReputationLevel 10 (the
 * range Tencent documents); DailyQuota and MaxDailyQuota 2147483647, the
 * largest int32, meaning "no cap" while staying a valid number for every
 * SDK type (0 would read as "nothing left to send today" to a client that
 * compares its volume with it). SendIp is always empty.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_identities.h"
#include "dnstxt.h"
#include "json.h"
#include "keygen.h"
#include "util.h"

#define IDENTITY_TYPE        "DOMAIN"
#define REPUTATION_LEVEL     1
#define MAX_REPUTATION_LEVEL 10
#define DAILY_QUOTA          2147483647 /* no cap; see above */
#define TAGS_MAX             50
#define TAG_KEY_MAX          127 /* characters, as Tencent Cloud tags */
#define TAG_VALUE_MAX        255 /* characters */

static void act_create(struct api_req *);
static void act_get(struct api_req *);
static void act_list(struct api_req *);
static void act_update(struct api_req *);
static void act_delete(struct api_req *);

static const struct param tag_fields[] = {
    {"TagKey", P_STR, true, API_OK, NULL},
    {"TagValue", P_STR, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param create_params[] = {
    {"EmailIdentity", P_STR, true, API_OK, NULL},
    {"DKIMOption", P_INT, false, API_OK, NULL},
    {"TagList", P_ARR_OBJ, false, API_OK, tag_fields},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param domain_params[] = {
    {"EmailIdentity", P_STR, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param list_params[] = {
    {"TagList", P_ARR_OBJ, false, API_OK, tag_fields},
    {"Limit", P_INT, false, API_OK, NULL},
    {"Offset", P_INT, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param update_params[] = {
    {"EmailIdentity", P_STR, true, API_OK, NULL},
    {"NewAPI", P_BOOL, false, API_OK, NULL},
    {"DKIMOption", P_INT, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_identity_actions[] = {
    {"CreateEmailIdentity", act_create, create_params},
    {"GetEmailIdentity", act_get, domain_params},
    {"ListEmailIdentities", act_list, list_params},
    {"UpdateEmailIdentity", act_update, update_params},
    {"DeleteEmailIdentity", act_delete, domain_params},
    {NULL, NULL, NULL},
};

/* The DNS records of a domain, in the order of Attributes. */
enum rec { REC_SPF, REC_DKIM, REC_DMARC, REC_COUNT };

enum ident_op { OP_CREATE, OP_GET, OP_UPDATE };

/* One request's state (req->act_state), freed by ident_free(). */
struct ident {
	enum ident_op op;
	char *domain;          /* lower case */
	int new_option;        /* DKIMOption asked for; -1 = none */
	char *tags;            /* JSON array text (create) */
	struct keygen_key key; /* a new key pair (create, rekey) */
	/* the row, as stored */
	int option;
	char *selector;
	char *pub; /* base64 DER SubjectPublicKeyInfo */
	bool verified;
	char *row_tags;
	/* the DNS look-up (verify = dns, Get and Update) */
	bool checked;
	char *current[REC_COUNT];
	bool ok[REC_COUNT];
};

static void
ident_free(struct ident *st)
{
	if (st == NULL)
		return;
	free(st->domain);
	free(st->tags);
	keygen_key_reset(&st->key);
	free(st->selector);
	free(st->pub);
	free(st->row_tags);
	for (int i = 0; i < REC_COUNT; i++)
		free(st->current[i]);
	free(st);
}

static struct ident *
ident_new(struct api_req *req, enum ident_op op)
{
	struct ident *st = xcalloc(1, sizeof(*st));
	const char *d = api_str(req, "EmailIdentity");

	st->op = op;
	st->new_option = -1;
	st->domain = xstrdup(d ? d : "");
	for (char *p = st->domain; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	req->act_state = st;
	return st;
}

/* Loads the columns of db_identities_get (row 0) into st. */
static void
ident_from_row(struct ident *st, const struct db_res *res)
{
	free(st->domain);
	free(st->selector);
	free(st->pub);
	free(st->row_tags);
	st->domain = xstrdup(db_val(res, 0, 0));
	st->option = (int)db_int(res, 0, 1);
	st->selector = xstrdup(db_val(res, 0, 2));
	st->pub = xstrdup(db_val(res, 0, 3));
	st->verified = db_bool(res, 0, 4);
	st->row_tags = xstrdup(db_val(res, 0, 5) ? db_val(res, 0, 5) : "[]");
}

/* --- input checks; each sends the error and returns -1 --- */

static int
check_domain(struct api_req *req, const char *domain)
{
	const char *last = strrchr(domain, '.');
	bool letter = false;

	if (domain_valid(domain) && last != NULL)
		for (const char *p = last + 1; *p; p++)
			if (isalpha((unsigned char)*p))
				letter = true;
	if (!letter) {
		api_fail(req, E_INVALID_IDENTITY,
		    "EmailIdentity \"%.255s\" is not a domain name.", domain);
		return -1;
	}
	return 0;
}

static int
check_option(struct api_req *req, int *out)
{
	int64_t v;

	if (!api_int(req, "DKIMOption", &v)) {
		*out = -1;
		return 0;
	}
	if (v == 2) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "DKIMOption 2 (dual signing) is not supported by sesd; use "
		    "0 (1024-bit key) or 1 (2048-bit key).");
		return -1;
	}
	if (v != 0 && v != 1) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "DKIMOption must be 0 (1024-bit key) or 1 (2048-bit key).");
		return -1;
	}
	*out = (int)v;
	return 0;
}

static bool
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* TagList -> JSON array text in *out (the caller frees). */
static int
tags_from_req(struct api_req *req, char **out)
{
	yajl_val arr = api_param(req, "TagList");
	size_t n = arr && YAJL_IS_ARRAY(arr) ? arr->u.array.len : 0;
	const unsigned char *text;
	size_t len;
	yajl_gen g;

	*out = NULL;
	if (n > TAGS_MAX) {
		api_fail(req, E_INVALID_PARAMETER_VALUE,
		    "TagList has %zu tags; at most %d are allowed.", n,
		    TAGS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		yajl_val t = arr->u.array.values[i];
		const char *k = json_str(json_member(t, "TagKey"));
		const char *v = json_str(json_member(t, "TagValue"));
		size_t kc = utf8_chars(k), vc = utf8_chars(v);

		if (kc == 0 || kc > TAG_KEY_MAX || vc > TAG_VALUE_MAX ||
		    has_control(k) || has_control(v)) {
			api_fail(req, E_INVALID_PARAMETER_VALUE,
			    "TagList.%zu: TagKey must be 1 to %d characters "
			    "and TagValue at most %d, without control "
			    "characters.",
			    i, TAG_KEY_MAX, TAG_VALUE_MAX);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(k, json_str(json_member(
					  arr->u.array.values[j], "TagKey"))) ==
			    0) {
				api_fail(req, E_INVALID_PARAMETER_VALUE,
				    "TagList: the TagKey \"%s\" is given "
				    "twice.",
				    k);
				return -1;
			}
	}
	g = json_gen_new();
	jw_open_arr(g, NULL);
	for (size_t i = 0; i < n; i++) {
		yajl_val t = arr->u.array.values[i];
		jw_open_obj(g, NULL);
		jw_str(g, "TagKey", json_str(json_member(t, "TagKey")));
		jw_str(g, "TagValue", json_str(json_member(t, "TagValue")));
		jw_close_obj(g);
	}
	jw_close_arr(g);
	yajl_gen_get_buf(g, &text, &len);
	*out = xstrndup((const char *)text, len);
	yajl_gen_free(g);
	return 0;
}

/* --- the records --- */

static char *
rec_name(const struct ident *st, enum rec r)
{
	switch (r) {
	case REC_SPF:
		return xstrdup(st->domain);
	case REC_DKIM:
		return xasprintf("%s._domainkey.%s", st->selector, st->domain);
	case REC_DMARC:
		return xasprintf("_dmarc.%s", st->domain);
	case REC_COUNT:
		break;
	}
	return xstrdup("");
}

static char *
rec_expected(const struct api_req *req, const struct ident *st, enum rec r)
{
	switch (r) {
	case REC_SPF:
		return xstrdup(req->cfg->identity_spf_record);
	case REC_DKIM:
		return xasprintf("v=DKIM1; k=rsa; p=%s", st->pub);
	case REC_DMARC:
		return xstrdup(req->cfg->identity_dmarc_record);
	case REC_COUNT:
		break;
	}
	return xstrdup("");
}

/* Does s start with tag (case-insensitive), followed by end, space or
 * ";"? e.g. "v=spf1", "v=DMARC1". */
static bool
starts_tag(const char *s, const char *tag)
{
	size_t n = strlen(tag);

	while (*s == ' ' || *s == '\t')
		s++;
	return strncasecmp(s, tag, n) == 0 &&
	       (s[n] == '\0' || s[n] == ' ' || s[n] == '\t' || s[n] == ';');
}

/* Is word (length n) one of the space-separated terms of s? */
static bool
has_term(const char *s, const char *word, size_t n)
{
	while (*s) {
		size_t len;
		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (len == n && strncasecmp(s, word, n) == 0)
			return true;
		s += len;
	}
	return false;
}

static bool
spf_match(const char *found, const char *expected)
{
	const char *s = expected;

	if (!starts_tag(found, "v=spf1"))
		return false;
	while (*s) {
		size_t len;
		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (len == 0)
			break;
		bool skip =
		    (len == 6 && strncasecmp(s, "v=spf1", 6) == 0) ||
		    (len >= 3 && strncasecmp(s + len - 3, "all", 3) == 0);
		if (!skip && !has_term(found, s, len))
			return false;
		s += len;
	}
	return true;
}

/* Tag value of name in a DKIM tag list ("v=DKIM1; k=rsa; p=..."), with
 * whitespace removed; NULL when absent. Returns a string the caller
 * frees. */
static char *
dkim_tag(const char *rec, const char *name)
{
	const char *s = rec;
	size_t nlen = strlen(name);

	while (*s) {
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *p = s, *eq;
		while (p < s + len && isspace((unsigned char)*p))
			p++;
		eq = memchr(p, '=', (size_t)(s + len - p));
		if (eq != NULL) {
			const char *ne = eq;
			while (ne > p && isspace((unsigned char)ne[-1]))
				ne--;
			if ((size_t)(ne - p) == nlen &&
			    strncasecmp(p, name, nlen) == 0) {
				char *v = xmalloc((size_t)(s + len - eq));
				size_t o = 0;
				for (const char *q = eq + 1; q < s + len; q++)
					if (!isspace((unsigned char)*q))
						v[o++] = *q;
				v[o] = '\0';
				return v;
			}
		}
		s += len + (end != NULL);
	}
	return NULL;
}

static bool
dkim_match(const char *found, const char *pub)
{
	char *v = dkim_tag(found, "v"), *k = dkim_tag(found, "k");
	char *p = dkim_tag(found, "p");
	bool ok = p != NULL && strcmp(p, pub) == 0 &&
		  (v == NULL || strcmp(v, "DKIM1") == 0) &&
		  (k == NULL || strcasecmp(k, "rsa") == 0);

	free(v);
	free(k);
	free(p);
	return ok;
}

/* Judges the TXT records found for record r into st. */
static void
judge(const struct api_req *req, struct ident *st, enum rec r,
    const struct dnstxt_query *q)
{
	char *expected = rec_expected(req, st, r);
	const char *cur = NULL;
	bool ok = false;
	int nspf = 0;

	if (q->status == DNSTXT_FAIL)
		log_warn(
		    "identity %s: TXT %s: %s", st->domain, q->name, q->err);
	for (size_t i = 0; i < q->ntxt; i++) {
		const char *t = q->txt[i];
		switch (r) {
		case REC_SPF:
			if (!starts_tag(t, "v=spf1"))
				break;
			if (nspf++ == 0)
				cur = t;
			break;
		case REC_DKIM:
			if (dkim_match(t, st->pub)) {
				cur = t;
				ok = true;
			} else if (cur == NULL)
				cur = t;
			break;
		case REC_DMARC:
			if (cur == NULL && starts_tag(t, "v=DMARC1")) {
				cur = t;
				ok = true;
			}
			break;
		case REC_COUNT:
			break;
		}
		if (ok)
			break;
	}
	/* two SPF records are a permanent error for receivers (RFC 7208) */
	if (r == REC_SPF)
		ok = nspf == 1 && spf_match(cur, expected);
	free(st->current[r]);
	st->current[r] = xstrdup(cur ? cur : "");
	st->ok[r] = ok;
	free(expected);
}

/* --- replies --- */

static void
write_attributes(yajl_gen g, const struct api_req *req, const struct ident *st)
{
	jw_open_arr(g, "Attributes");
	for (int r = 0; r < REC_COUNT; r++) {
		char *name = rec_name(st, (enum rec)r);
		char *expected = rec_expected(req, st, (enum rec)r);
		const char *cur = "";
		bool ok = false;

		if (st->checked) {
			cur = st->current[r] ? st->current[r] : "";
			ok = st->ok[r];
		} else if (req->cfg->identity_verify == VERIFY_TRUST &&
			   st->verified) {
			cur = expected; /* trust mode: records satisfied */
			ok = true;
		}
		jw_open_obj(g, NULL);
		jw_str(g, "Type", "TXT");
		jw_str(g, "SendDomain", name);
		jw_str(g, "ExpectedValue", expected);
		jw_str(g, "CurrentValue", cur);
		jw_bool(g, "Status", ok);
		jw_close_obj(g);
		free(name);
		free(expected);
	}
	jw_close_arr(g);
}

/* The reply of Create, Get and Update; frees the state. */
static void
reply_identity(struct api_req *req)
{
	struct ident *st = req->act_state;
	yajl_gen g = api_reply_begin(req);

	jw_str(g, "IdentityType", IDENTITY_TYPE);
	jw_bool(g, "VerifiedForSendingStatus", st->verified);
	write_attributes(g, req, st);
	jw_int(g, "DKIMOption", st->option);
	if (st->op == OP_GET &&
	    jw_raw(g, "TagList", st->row_tags, strlen(st->row_tags)) < 0)
		jw_raw(g, "TagList", "[]", 2);
	api_reply_end(req);
	ident_free(st);
}

/* Sends err for a failed creation outcome; false if outcome is "ok". */
static bool
fail_outcome(struct api_req *req, const char *outcome)
{
	struct ident *st = req->act_state;

	if (strcmp(outcome, "ok") == 0)
		return false;
	if (strcmp(outcome, "other") == 0)
		api_fail(req, E_CREATED_BY_OTHER,
		    "The domain %s is registered by another account.",
		    st->domain);
	else if (strcmp(outcome, "limit") == 0)
		api_fail(req, E_EXCEED_DOMAIN_LIMIT,
		    "The account has reached its limit of %d sender domains.",
		    req->cfg->limits_domains);
	else
		api_fail(req, E_REPEAT_CREATION,
		    "The domain %s already exists in this account.",
		    st->domain);
	ident_free(st);
	return true;
}

static void
fail_db(struct api_req *req, const struct db_res *res)
{
	struct ident *st = req->act_state;

	api_fail_db(req, res);
	ident_free(st);
}

static void
fail_internal(struct api_req *req, const char *what)
{
	struct ident *st = req->act_state;

	log_error("identity %s: %s", st->domain, what);
	api_fail(
	    req, E_INTERNAL, "Internal error (request %s).", req->request_id);
	ident_free(st);
}

/* --- verification: look up (dns) or trust, then reply --- */

static void verified_done(const struct db_res *, void *);

static void
set_verified(struct api_req *req)
{
	struct ident *st = req->act_state;
	char app[24];

	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, st->domain, st->pub};
	db_query(
	    req->db, &db_identities_set_verified, params, verified_done, req);
}

static void
verified_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;

	if (res->status != DB_OK) {
		fail_db(req, res);
		return;
	}
	if (res->nrows > 0) {
		st->verified = true;
		log_info("identity %s: app=%llu verified", st->domain,
		    (unsigned long long)req->app_id);
	}
	reply_identity(req);
}

static void
looked_up(const struct dnstxt_query *q, size_t n, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;

	for (size_t i = 0; i < n && i < REC_COUNT; i++)
		judge(req, st, (enum rec)i, &q[i]);
	st->checked = true;
	if (!st->verified && st->ok[REC_SPF] && st->ok[REC_DKIM]) {
		set_verified(req);
		return;
	}
	reply_identity(req);
}

/* With the row loaded: checks the records as [identity] verify says. */
static void
ident_check(struct api_req *req)
{
	struct ident *st = req->act_state;
	char *names[REC_COUNT];
	int rc;

	if (req->cfg->identity_verify == VERIFY_TRUST) {
		if (st->op == OP_UPDATE && !st->verified) {
			set_verified(req);
			return;
		}
		reply_identity(req);
		return;
	}
	for (int r = 0; r < REC_COUNT; r++)
		names[r] = rec_name(st, (enum rec)r);
	rc = dnstxt_start(db_event_base(req->db), req->cfg->identity_dns_server,
	    (const char *const *)names, REC_COUNT, looked_up, req);
	for (int r = 0; r < REC_COUNT; r++)
		free(names[r]);
	if (rc == -1)
		fail_internal(req, "cannot start the DNS look-up thread");
}

/* --- CreateEmailIdentity --- */

static void insert_done(const struct db_res *, void *);

static void
recheck_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (res->status != DB_OK) {
		fail_db(req, res);
		return;
	}
	/* the unique index said the domain exists: never "ok" or "limit" */
	const char *o = db_val(res, 0, 0);
	(void)fail_outcome(req, strcmp(o, "other") == 0 ? "other" : "repeat");
}

static void
create_keyed(struct keygen_key *key, const char *err, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;
	char app[24], opt[24], limit[24];

	if (key == NULL) {
		fail_internal(req, err);
		return;
	}
	st->key = *key; /* steal the strings */
	key->pem = NULL;
	key->pub_b64 = NULL;
	st->pub = xstrdup(st->key.pub_b64);
	st->selector = xstrdup(req->cfg->identity_dkim_selector);
	st->option = st->new_option;
	st->verified = req->cfg->identity_verify == VERIFY_TRUST;
	api_fmt_u64(app, req->app_id);
	snprintf(opt, sizeof(opt), "%d", st->option);
	snprintf(limit, sizeof(limit), "%d", req->cfg->limits_domains);
	const char *params[] = {app, st->domain, opt, st->selector, st->key.pem,
	    st->pub, st->verified ? "t" : "f", st->tags, limit};
	db_query(req->db, &db_identities_insert, params, insert_done, req);
}

static void
insert_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;
	char app[24], limit[24];

	if (res->status == DB_FAIL && strcmp(res->sqlstate, "23505") == 0) {
		/* created meanwhile, by this account or another */
		api_fmt_u64(app, req->app_id);
		snprintf(limit, sizeof(limit), "%d", req->cfg->limits_domains);
		const char *params[] = {app, st->domain, limit};
		db_query(
		    req->db, &db_identities_check, params, recheck_done, req);
		return;
	}
	if (res->status != DB_OK) {
		fail_db(req, res);
		return;
	}
	if (fail_outcome(req, db_val(res, 0, 0)))
		return;
	log_info("identity %s: app=%llu created (%d-bit DKIM key, %s)",
	    st->domain, (unsigned long long)req->app_id, st->key.bits,
	    st->verified ? "verified" : "unverified");
	reply_identity(req);
}

static void
check_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;

	if (res->status != DB_OK) {
		fail_db(req, res);
		return;
	}
	if (fail_outcome(req, db_val(res, 0, 0)))
		return;
	if (keygen_start(db_event_base(req->db),
		st->new_option == 1 ? 2048 : 1024, create_keyed, req) == -1)
		fail_internal(req, "cannot start the key generation thread");
}

static void
act_create(struct api_req *req)
{
	struct ident *st = ident_new(req, OP_CREATE);
	char app[24], limit[24];

	if (check_domain(req, st->domain) < 0 ||
	    check_option(req, &st->new_option) < 0 ||
	    tags_from_req(req, &st->tags) < 0) {
		ident_free(st);
		return;
	}
	if (st->new_option < 0)
		st->new_option = 0;
	api_fmt_u64(app, req->app_id);
	snprintf(limit, sizeof(limit), "%d", req->cfg->limits_domains);
	const char *params[] = {app, st->domain, limit};
	db_query(req->db, &db_identities_check, params, check_done, req);
}

/* --- GetEmailIdentity --- */

/* Sends NotExistDomain when the row is missing; returns -1 then. */
static int
load_row(struct api_req *req, const struct db_res *res)
{
	struct ident *st = req->act_state;

	if (res->status != DB_OK) {
		fail_db(req, res);
		return -1;
	}
	if (res->nrows == 0) {
		api_fail(req, E_NOT_EXIST_DOMAIN,
		    "The domain %s does not exist in this account.",
		    st->domain);
		ident_free(st);
		return -1;
	}
	ident_from_row(st, res);
	return 0;
}

static void
get_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (load_row(req, res) < 0)
		return;
	ident_check(req);
}

static void
act_get(struct api_req *req)
{
	struct ident *st = ident_new(req, OP_GET);
	char app[24];

	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, st->domain};
	db_query(req->db, &db_identities_get, params, get_done, req);
}

/* --- UpdateEmailIdentity --- */

static void
rekey_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;

	if (load_row(req, res) < 0)
		return;
	log_info("identity %s: app=%llu new %d-bit DKIM key", st->domain,
	    (unsigned long long)req->app_id, st->key.bits);
	ident_check(req);
}

static void
update_keyed(struct keygen_key *key, const char *err, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;
	char app[24], opt[24];
	bool trust = req->cfg->identity_verify == VERIFY_TRUST;

	if (key == NULL) {
		fail_internal(req, err);
		return;
	}
	st->key = *key;
	key->pem = NULL;
	key->pub_b64 = NULL;
	api_fmt_u64(app, req->app_id);
	snprintf(opt, sizeof(opt), "%d", st->new_option);
	const char *params[] = {app, st->domain, opt,
	    req->cfg->identity_dkim_selector, st->key.pem, st->key.pub_b64,
	    trust ? "t" : "f"};
	db_query(req->db, &db_identities_rekey, params, rekey_done, req);
}

static void
update_get_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;

	if (load_row(req, res) < 0)
		return;
	if (st->new_option < 0 || st->new_option == st->option) {
		ident_check(req);
		return;
	}
	if (keygen_start(db_event_base(req->db),
		st->new_option == 1 ? 2048 : 1024, update_keyed, req) == -1)
		fail_internal(req, "cannot start the key generation thread");
}

static void
act_update(struct api_req *req)
{
	struct ident *st = ident_new(req, OP_UPDATE);
	char app[24];

	if (check_option(req, &st->new_option) < 0) {
		ident_free(st);
		return;
	}
	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, st->domain};
	db_query(req->db, &db_identities_get, params, update_get_done, req);
}

/* --- ListEmailIdentities --- */

static void
list_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_open_arr(g, "EmailIdentities");
	for (int i = 0; i < res->nrows; i++) {
		const char *tags = db_val(res, i, 4);
		if (db_val(res, i, 1) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_str(g, "IdentityName", db_val(res, i, 1));
		jw_str(g, "IdentityType", IDENTITY_TYPE);
		jw_bool(g, "SendingEnabled", db_bool(res, i, 2));
		jw_int(g, "CurrentReputationLevel", REPUTATION_LEVEL);
		jw_int(g, "DailyQuota", DAILY_QUOTA);
		jw_open_arr(g, "SendIp");
		jw_close_arr(g);
		if (tags == NULL ||
		    jw_raw(g, "TagList", tags, strlen(tags)) < 0)
			jw_raw(g, "TagList", "[]", 2);
		jw_int(g, "DKIMOption", db_int(res, i, 3));
		jw_close_obj(g);
	}
	jw_close_arr(g);
	jw_int(g, "MaxReputationLevel", MAX_REPUTATION_LEVEL);
	jw_int(g, "MaxDailyQuota", DAILY_QUOTA);
	jw_int(g, "Total", res->nrows ? db_int(res, 0, 0) : 0);
	api_reply_end(req);
}

static void
act_list(struct api_req *req)
{
	char app[24], lim[24], off[24];
	int64_t offset = 0, limit = 0;
	bool has_limit = api_int(req, "Limit", &limit);
	char *tags;

	api_int(req, "Offset", &offset);
	if ((has_limit && (limit < 1 || limit > 100)) || offset < 0) {
		api_fail(req, E_INVALID_LIMIT,
		    "Limit must be between 1 and 100 and Offset at least 0.");
		return;
	}
	if (tags_from_req(req, &tags) < 0)
		return;
	api_fmt_u64(app, req->app_id);
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	snprintf(off, sizeof(off), "%lld", (long long)offset);
	const char *params[] = {app, tags, has_limit ? lim : NULL, off};
	db_query(req->db, &db_identities_list, params, list_done, req);
	free(tags); /* db_query copied it */
}

/* --- DeleteEmailIdentity --- */

static void
delete_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct ident *st = req->act_state;
	const char *outcome;

	/* 23503: an address arrived between the check and the delete */
	if (res->status == DB_FAIL && strcmp(res->sqlstate, "23503") == 0)
		outcome = "busy";
	else if (res->status != DB_OK) {
		fail_db(req, res);
		return;
	} else
		outcome = db_val(res, 0, 0);
	if (strcmp(outcome, "none") == 0)
		api_fail(req, E_NOT_EXIST_DOMAIN,
		    "The domain %s does not exist in this account.",
		    st->domain);
	else if (strcmp(outcome, "busy") == 0)
		api_fail(req, E_SENDER_WITH_DOMAIN,
		    "The domain %s still has sender addresses; delete them "
		    "first.",
		    st->domain);
	else {
		log_info("identity %s: app=%llu deleted", st->domain,
		    (unsigned long long)req->app_id);
		api_reply_ok(req);
	}
	ident_free(st);
}

static void
act_delete(struct api_req *req)
{
	struct ident *st = ident_new(req, OP_GET);
	char app[24];

	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, st->domain};
	db_query(req->db, &db_identities_delete, params, delete_done, req);
}
