/*
 * act_template.c: CreateEmailTemplate, GetEmailTemplate,
 * ListEmailTemplates, UpdateEmailTemplate, DeleteEmailTemplate
 * (ses-api.md 5.4). Content arrives base64; it is decoded, checked to be
 * UTF-8 text within [templates] max_size, and its {{variables}} are stored
 * beside it for BatchSendEmail's checks. With [templates] review = auto a
 * template is approved at once, with manual it waits at status 1 for an
 * operator (sesd_template_review() in SQL, see README).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "db.h"
#include "db_templates.h"
#include "json.h"
#include "render.h"
#include "util.h"

#define TEMPLATE_NAME_MAX  100
#define REVIEW_AUTO_REASON "approved automatically ([templates] review = auto)"

static void act_create(struct api_req *);
static void act_get(struct api_req *);
static void act_list(struct api_req *);
static void act_update(struct api_req *);
static void act_delete(struct api_req *);

static const struct param content_fields[] = {
    {"Html", P_STR, false, API_OK, NULL},
    {"Text", P_STR, false, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param create_params[] = {
    {"TemplateName", P_STR, true, API_OK, NULL},
    {"TemplateContent", P_OBJ, true, API_OK, content_fields},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param id_params[] = {
    {"TemplateID", P_INT, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param list_params[] = {
    {"Limit", P_INT, true, API_OK, NULL},
    {"Offset", P_INT, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

static const struct param update_params[] = {
    {"TemplateContent", P_OBJ, true, API_OK, content_fields},
    {"TemplateID", P_INT, true, API_OK, NULL},
    {"TemplateName", P_STR, true, API_OK, NULL},
    {NULL, 0, false, API_OK, NULL},
};

const struct action act_template_actions[] = {
    {"CreateEmailTemplate", act_create, create_params},
    {"GetEmailTemplate", act_get, id_params},
    {"ListEmailTemplates", act_list, list_params},
    {"UpdateEmailTemplate", act_update, update_params},
    {"DeleteEmailTemplate", act_delete, id_params},
    {NULL, NULL, NULL},
};

/* A template as decoded from the request, ready for the SQL parameters. */
struct tmpl {
	char *html; /* NULL when absent */
	char *text;
	struct buf vars; /* text[] literal */
};

static void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->html);
	free(t->text);
	buf_reset(&t->vars);
	free(t);
}

/* Decodes one base64 part; *out NULL when absent. Returns -1 on error. */
static int
decode_part(const char *b64, char **out, size_t *total)
{
	size_t len;
	long n;

	*out = NULL;
	if (b64 == NULL)
		return 0;
	len = strlen(b64);
	*out = xmalloc(len / 4 * 3 + 1);
	n = base64_decode((unsigned char *)*out, b64, len);
	if (n < 0 || !utf8_valid(*out, (size_t)n)) {
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[n] = '\0';
	*total += (size_t)n;
	return 0;
}

static int
check_name(struct api_req *req, const char *name, bool empty_is_null)
{
	size_t chars = utf8_chars(name);

	if (chars == 0) {
		api_fail(req,
		    empty_is_null ? E_TEMPLATE_NAME_NULL
				  : E_TEMPLATE_NAME_ILLEGAL,
		    "TemplateName must not be empty.");
		return -1;
	}
	if (chars > TEMPLATE_NAME_MAX) {
		api_fail(req, E_TEMPLATE_NAME_ILLEGAL,
		    "TemplateName is longer than %d characters.",
		    TEMPLATE_NAME_MAX);
		return -1;
	}
	for (const char *s = name; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			api_fail(req, E_TEMPLATE_NAME_ILLEGAL,
			    "TemplateName must not contain control "
			    "characters.");
			return -1;
		}
	return 0;
}

/* Validates and decodes TemplateContent; sends the error on failure. */
static struct tmpl *
tmpl_from_req(struct api_req *req)
{
	const char *html = api_str(req, "TemplateContent.Html");
	const char *text = api_str(req, "TemplateContent.Text");
	struct tmpl *t = xcalloc(1, sizeof(*t));
	struct render_vars vars;
	size_t total = 0;

	if ((html == NULL || html[0] == '\0') &&
	    (text == NULL || text[0] == '\0')) {
		api_fail(req, E_TEMPLATE_CONTENT_NULL, NULL);
		tmpl_free(t);
		return NULL;
	}
	if (decode_part(html && html[0] ? html : NULL, &t->html, &total) < 0 ||
	    decode_part(text && text[0] ? text : NULL, &t->text, &total) < 0) {
		api_fail(req, E_TEMPLATE_CONTENT_WRONG, NULL);
		tmpl_free(t);
		return NULL;
	}
	if (total > req->cfg->templates_max_size) {
		api_fail(req, E_TEMPLATE_TOO_LARGE,
		    "The template content is %zu bytes, over the limit of %zu.",
		    total, req->cfg->templates_max_size);
		tmpl_free(t);
		return NULL;
	}
	render_vars_init(&vars);
	if (t->html)
		render_vars_scan(&vars, t->html, strlen(t->html));
	if (t->text)
		render_vars_scan(&vars, t->text, strlen(t->text));
	buf_init(&t->vars);
	db_array_text(&t->vars, (const char *const *)vars.names, vars.n);
	render_vars_reset(&vars);
	return t;
}

static const char *
review_status(const struct api_req *req)
{
	return req->cfg->templates_review == REVIEW_AUTO ? "0" : "1";
}

static const char *
review_reason(const struct api_req *req)
{
	return req->cfg->templates_review == REVIEW_AUTO ? REVIEW_AUTO_REASON
							 : "";
}

static void
create_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	tmpl_free(req->act_state);
	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_EXCEED_TEMPLATE_LIMIT,
		    "The account has reached its limit of %d templates.",
		    req->cfg->limits_templates);
		return;
	}
	jw_int(api_reply_begin(req), "TemplateID", db_int(res, 0, 0));
	api_reply_end(req);
}

static void
act_create(struct api_req *req)
{
	const char *name = api_str(req, "TemplateName");
	char app[24], limit[24];
	struct tmpl *t;

	if (check_name(req, name, false) < 0 ||
	    (t = tmpl_from_req(req)) == NULL)
		return;
	api_fmt_u64(app, req->app_id);
	api_fmt_u64(limit, (uint64_t)req->cfg->limits_templates);
	const char *params[] = {app, name, t->html, t->text, t->vars.data,
	    review_status(req), review_reason(req), limit};
	req->act_state = t;
	db_query(req->db, &db_templates_insert, params, create_done, req);
}

static void
get_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	struct buf b64;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_TEMPLATE_NOT_EXIST, NULL);
		return;
	}
	g = api_reply_begin(req);
	jw_open_obj(g, "TemplateContent");
	for (int col = 1; col <= 2; col++) {
		const char *v = db_val(res, 0, col);
		if (v == NULL)
			continue;
		buf_init(&b64);
		base64_encode(&b64, v, db_len(res, 0, col));
		jw_strn(g, col == 1 ? "Html" : "Text", b64.data ? b64.data : "",
		    b64.len);
		buf_reset(&b64);
	}
	jw_close_obj(g);
	jw_int(g, "TemplateStatus", db_int(res, 0, 3));
	jw_str(g, "TemplateName", db_val(res, 0, 0));
	api_reply_end(req);
}

static void
act_get(struct api_req *req)
{
	char app[24], id[24];
	int64_t tid = 0;

	api_int(req, "TemplateID", &tid);
	api_fmt_u64(app, req->app_id);
	snprintf(id, sizeof(id), "%lld", (long long)tid);
	const char *params[] = {app, id};
	db_query_read(req->db, &db_templates_get, params, get_done, req);
}

/* The page and the account's template version, from one snapshot. */
static void
list_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;
	yajl_gen g;

	if (!api_db_ok(req, res))
		return;
	g = api_reply_begin(req);
	jw_open_arr(g, "TemplatesMetadata");
	for (int i = 0; i < res->nrows; i++) {
		if (db_val(res, i, 2) == NULL)
			continue; /* empty page */
		jw_open_obj(g, NULL);
		jw_int(g, "CreatedTimestamp", db_int(res, i, 6));
		jw_str(g, "TemplateName", db_val(res, i, 3));
		jw_int(g, "TemplateStatus", db_int(res, i, 4));
		jw_int(g, "TemplateID", db_int(res, i, 2));
		jw_str(g, "ReviewReason", db_val(res, i, 5));
		jw_close_obj(g);
	}
	jw_close_arr(g);
	jw_int(g, "TotalCount", db_int(res, 0, 1));
	api_reply_end_cache(req, db_int(res, 0, 0));
}

static void
list_query(struct api_req *req)
{
	char app[24], lim[24], off[24];
	int64_t offset = 0, limit = 0;

	api_int(req, "Limit", &limit);
	api_int(req, "Offset", &offset);
	api_fmt_u64(app, req->app_id);
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	snprintf(off, sizeof(off), "%lld", (long long)offset);
	const char *params[] = {app, lim, off};
	db_query_read(req->db, &db_templates_list, params, list_done, req);
}

/* A page seen before is sent again while the account's templates are
 * unchanged (api.h, reply cache). */
static void
act_list(struct api_req *req)
{
	char key[48];
	int64_t offset, limit;

	if (api_page(req, &offset, &limit) < 0)
		return;
	snprintf(
	    key, sizeof(key), "%lld/%lld", (long long)limit, (long long)offset);
	api_reply_kept(req, &db_templates_versions, key, list_query);
}

static void
update_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	tmpl_free(req->act_state);
	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_TEMPLATE_NOT_EXIST, NULL);
		return;
	}
	api_reply_ok(req);
}

static void
act_update(struct api_req *req)
{
	const char *name = api_str(req, "TemplateName");
	char app[24], id[24];
	int64_t tid = 0;
	struct tmpl *t;

	if (check_name(req, name, true) < 0 || (t = tmpl_from_req(req)) == NULL)
		return;
	api_int(req, "TemplateID", &tid);
	api_fmt_u64(app, req->app_id);
	snprintf(id, sizeof(id), "%lld", (long long)tid);
	const char *params[] = {app, id, name, t->html, t->text, t->vars.data,
	    review_status(req), review_reason(req)};
	req->act_state = t;
	db_query(req->db, &db_templates_update, params, update_done, req);
}

static void
delete_done(const struct db_res *res, void *arg)
{
	struct api_req *req = arg;

	if (!api_db_ok(req, res))
		return;
	if (res->nrows == 0) {
		api_fail(req, E_TEMPLATE_NOT_EXIST, NULL);
		return;
	}
	api_reply_ok(req);
}

static void
act_delete(struct api_req *req)
{
	char app[24], id[24];
	int64_t tid = 0;

	api_int(req, "TemplateID", &tid);
	api_fmt_u64(app, req->app_id);
	snprintf(id, sizeof(id), "%lld", (long long)tid);
	const char *params[] = {app, id};
	db_query(req->db, &db_templates_delete, params, delete_done, req);
}
