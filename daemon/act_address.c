/*
 * act_address.c: CreateEmailAddress, ListEmailAddress, DeleteEmailAddress
 * and UpdateEmailSmtpPassWord (ses-api.md 5.5). A sender address must lie
 * on a verified sender domain of the same account (exactly that domain,
 * not a subdomain of it); its display name is checked here so that it can
 * never break a From: header later. Addresses are unique per account,
 * ignoring case.
 *
 * UpdateEmailSmtpPassWord sets the password of Tencent's SMTP submission
 * service; sesd has no SMTP submission service, so it answers
 * UnsupportedOperation (SmtpPwdType is therefore always 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_addresses.h"
#include "json.h"
#include "util.h"

#define ADDRESS_MAX     254 /* RFC 5321 path limit */
#define SENDER_NAME_MAX 64  /* characters; sesd's choice, unconfirmed */

static void act_create(struct api_req *);
static void act_list(struct api_req *);
static void act_delete(struct api_req *);
static void act_smtp_password(struct api_req *);

static const struct param create_params[] = {
    {"EmailAddress", P_STR, true, API_OK, NULL},
    {"EmailSenderName", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param list_params[] = {
    {NULL, 0, false, API_OK, NULL},
};

static const struct param delete_params[] = {
    {"EmailAddress", P_STR, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param smtp_password_params[] = {
    {"Password", P_STR, true, API_OK, NULL},
    {"EmailAddress", P_STR, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_address_actions[] = {
    {"CreateEmailAddress", act_create, create_params},
    {"ListEmailAddress", act_list, list_params},
    {"DeleteEmailAddress", act_delete, delete_params},
    {"UpdateEmailSmtpPassWord", act_smtp_password, smtp_password_params},
    {NULL, NULL, NULL},
};

/* A display name: at most SENDER_NAME_MAX characters, no control
 * characters (CR and LF above all: it goes into a header). */
static bool
sender_name_ok(const char *s)
{
	if (utf8_chars(s) > SENDER_NAME_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void
create_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	const char *addr = api_str(req, "EmailAddress");
	const char *outcome;

	/* 23505: the same address created concurrently */
	if (res->status == DB_FAIL && strcmp(res->sqlstate, "23505") == 0)
		outcome = "repeat";
	else if (res->status != DB_OK) {
		api_fail_db(req, res);
		return;
	} else
		outcome = db_val(res, 0, 0);
	if (strcmp(outcome, "repeat") == 0)
		api_fail(req, E_REPEAT_ADDRESS,
		    "The sender address %s already exists.", addr);
	else if (strcmp(outcome, "unverified") == 0)
		api_fail(req, E_DOMAIN_NOT_VERIFIED,
		    "The domain of %s is not a verified sender domain of this "
		    "account.",
		    addr);
	else if (strcmp(outcome, "limit") == 0)
		api_fail(req, E_EXCEED_SENDER_LIMIT,
		    "The account has reached its limit of %d sender addresses.",
		    req->cfg->limits_senders);
	else
		api_reply_ok(req);
}

static void
act_create(struct api_req *req)
{
	const char *addr = api_str(req, "EmailAddress");
	const char *name = api_str(req, "EmailSenderName");
	char app[24], limit[24];

	if (!email_valid(addr, ADDRESS_MAX)) {
		api_fail(req, E_ILLEGAL_ADDRESS,
		    "EmailAddress \"%.300s\" is not a plain address "
		    "(local@domain).",
		    addr);
		return;
	}
	if (name == NULL)
		name = "";
	if (!sender_name_ok(name)) {
		api_fail(req, E_ILLEGAL_SENDER_NAME,
		    "EmailSenderName must be at most %d characters without "
		    "control characters or line breaks.",
		    SENDER_NAME_MAX);
		return;
	}
	api_fmt_u64(app, req->app_id);
	snprintf(limit, sizeof(limit), "%d", req->cfg->limits_senders);
	const char *params[] = {app, addr, strrchr(addr, '@') + 1, name, limit};
	db_query(req->db, &db_addresses_insert, params, create_done, req);
}

static void
list_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_open_arr(g, "EmailSenders");
	for (int i = 0; i < res->nrows; i++) {
		jw_open_obj(g, NULL);
		jw_str(g, "EmailAddress", db_val(res, i, 0));
		jw_str(g, "EmailSenderName", db_val(res, i, 1));
		jw_int(g, "CreatedTimestamp", db_int(res, i, 2));
		jw_int(g, "SmtpPwdType", 0);
		jw_close_obj(g);
	}
	jw_close_arr(g);
	api_reply_end(req);
}

static void
act_list(struct api_req *req)
{
	char app[24];

	api_fmt_u64(app, req->app_id);
	const char *params[] = {app};
	db_query(req->db, &db_addresses_list, params, list_done, req);
}

static void
delete_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_NO_SUCH_SENDER,
		    "The sender address %.300s does not exist.",
		    api_str(req, "EmailAddress"));
		return;
	}
	api_reply_ok(req);
}

static void
act_delete(struct api_req *req)
{
	char app[24];

	api_fmt_u64(app, req->app_id);
	const char *params[] = {app, api_str(req, "EmailAddress")};
	db_query(req->db, &db_addresses_delete, params, delete_done, req);
}

static void
act_smtp_password(struct api_req *req)
{
	api_fail(req, E_UNSUPPORTED_OPERATION,
	    "sesd has no SMTP submission service, so sender addresses have "
	    "no SMTP password; send through the API (SendEmail, "
	    "BatchSendEmail).");
}
