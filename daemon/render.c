/*
 * render.c: finds {{variables}} in template text (the API, at upload) and
 * substitutes them per recipient (the SMTP workers). Both go through
 * var_at(), so what is a variable cannot drift between the two. No I/O:
 * values arrive as TemplateData JSON text, output goes to a struct buf.
 * Substitution runs once per recipient, so it is one pass with memchr and
 * binary-search lookups, and allocates only by growing the output.
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int var_char(unsigned char c);
static size_t var_at(const char *text, size_t len, size_t i);
static long find(const struct render_vars *v, const char *name);
static int kv_cmp(const char *a, size_t alen, const char *b, size_t blen);
static int kv_sort_cb(const void *a, const void *b);
static const struct render_kv *kv_find(
    const struct render_data *d, const char *name, size_t len);
static void add_html(struct buf *out, const char *s, size_t len);
static int header_safe(const char *s, size_t len);

void
render_vars_init(struct render_vars *v)
{
	v->names = NULL;
	v->n = 0;
}

void
render_vars_reset(struct render_vars *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->names[i]);
	free(v->names);
	render_vars_init(v);
}

/* ASCII only, whatever the locale: [A-Za-z0-9_.-] */
static int
var_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/*
 * Length of the name when a variable "{{name}}" starts at text[i], else 0.
 * The variable then spans name length + 4 bytes.
 */
static size_t
var_at(const char *text, size_t len, size_t i)
{
	size_t k;

	if (i + 1 >= len || text[i] != '{' || text[i + 1] != '{')
		return 0;
	for (k = i + 2; k < len && k - (i + 2) <= RENDER_VAR_MAX &&
			var_char((unsigned char)text[k]);
	     k++)
		;
	size_t n = k - (i + 2);
	if (n == 0 || n > RENDER_VAR_MAX || k + 1 >= len || text[k] != '}' ||
	    text[k + 1] != '}')
		return 0;
	return n;
}

/* Position of name in v, or where it would go (negative - 1). */
static long
find(const struct render_vars *v, const char *name)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v->names[mid], name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

void
render_vars_add(struct render_vars *v, const char *name)
{
	long pos = find(v, name);
	size_t at;

	if (pos >= 0)
		return;
	at = (size_t)(-pos - 1);
	v->names = xrealloc(v->names, (v->n + 1) * sizeof(char *));
	memmove(v->names + at + 1, v->names + at, (v->n - at) * sizeof(char *));
	v->names[at] = xstrdup(name);
	v->n++;
}

int
render_vars_has(const struct render_vars *v, const char *name)
{
	return find(v, name) >= 0;
}

void
render_vars_scan(struct render_vars *v, const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		size_t n = var_at(text, len, i);
		if (n == 0)
			continue;
		char name[RENDER_VAR_MAX + 1];
		memcpy(name, text + i + 2, n);
		name[n] = '\0';
		render_vars_add(v, name);
		i += n + 3;
	}
}

/* --- values --- */

void
render_data_init(struct render_data *d)
{
	d->kv = NULL;
	d->n = 0;
	d->blocks = NULL;
	d->nblocks = 0;
	d->fallback = NULL;
}

void
render_data_reset(struct render_data *d)
{
	for (size_t i = 0; i < d->nblocks; i++)
		free(d->blocks[i]);
	free(d->blocks);
	free(d->kv);
	render_data_init(d);
}

/* strcmp order on counted strings (names hold no NUL) */
static int
kv_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
kv_sort_cb(const void *a, const void *b)
{
	const struct render_kv *x = a, *y = b;
	return kv_cmp(x->name, x->name_len, y->name, y->name_len);
}

static const struct render_kv *
kv_find(const struct render_data *d, const char *name, size_t len)
{
	for (; d != NULL; d = d->fallback) {
		size_t lo = 0, hi = d->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const struct render_kv *e = &d->kv[mid];
			int c = kv_cmp(e->name, e->name_len, name, len);
			if (c == 0)
				return e;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
}

const char *
render_data_find(const struct render_data *d, const char *name)
{
	const struct render_kv *e = kv_find(d, name, strlen(name));
	return e ? e->value : NULL;
}

int
render_data_add_json(struct render_data *d, const char *json, size_t len,
    char *err, size_t errlen)
{
	yajl_val root;
	struct render_kv *add, *merged;
	size_t n, total = 0, nadd = 0, i, k, m;
	char *block, *p, spare[8];

	if (len == 0)
		return 0;
	if (err == NULL || errlen == 0) {
		err = spare;
		errlen = sizeof(spare);
	}
	if ((root = json_parse(json, len, err, errlen)) == NULL)
		return -1;
	if (!YAJL_IS_OBJECT(root)) {
		snprintf(err, errlen, "TemplateData is not a JSON object");
		yajl_tree_free(root);
		return -1;
	}
	n = root->u.object.len;
	for (i = 0; i < n; i++) {
		const char *v = json_str(root->u.object.values[i]);
		if (v == NULL) {
			snprintf(err, errlen,
			    "TemplateData value of \"%.64s\" is not a string",
			    root->u.object.keys[i]);
			yajl_tree_free(root);
			return -1;
		}
		total += strlen(root->u.object.keys[i]) + strlen(v) + 2;
	}

	/* one block for this text's names and values */
	add = xcalloc(n, sizeof(*add));
	block = p = xmalloc(total);
	for (i = 0; i < n; i++) {
		const char *key = root->u.object.keys[i];
		const char *v = root->u.object.values[i]->u.string;
		add[i].name_len = strlen(key);
		add[i].name = memcpy(p, key, add[i].name_len + 1);
		p += add[i].name_len + 1;
		add[i].value_len = strlen(v);
		add[i].value = memcpy(p, v, add[i].value_len + 1);
		p += add[i].value_len + 1;
	}
	yajl_tree_free(root);
	qsort(add, n, sizeof(*add), kv_sort_cb);
	for (i = 1; i < n; i++)
		if (kv_sort_cb(&add[i - 1], &add[i]) == 0) {
			snprintf(err, errlen,
			    "TemplateData repeats the name \"%.64s\"",
			    add[i].name);
			free(add);
			free(block);
			return -1;
		}

	/* merge two sorted arrays; on equal names the older entry stays */
	merged = xmalloc((d->n + n) * sizeof(*merged));
	for (i = k = m = 0; i < d->n || k < n;) {
		int c = i == d->n ? 1
			: k == n  ? -1
				  : kv_sort_cb(&d->kv[i], &add[k]);
		if (c <= 0)
			merged[m++] = d->kv[i++];
		else
			merged[m++] = add[k++], nadd++;
		if (c == 0)
			k++;
	}
	free(add);
	free(d->kv);
	d->kv = merged;
	d->n = m;
	if (nadd == 0) {
		free(block);
		return 0;
	}
	d->blocks = xrealloc(d->blocks, (d->nblocks + 1) * sizeof(char *));
	d->blocks[d->nblocks++] = block;
	return 0;
}

/* --- substitution --- */

static void
add_html(struct buf *out, const char *s, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		const char *rep;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		buf_add(out, s + run, i - run);
		buf_adds(out, rep);
		run = i + 1;
	}
	buf_add(out, s + run, len - run);
}

/* No C0 control but TAB, no DEL: CR and LF above all. */
static int
header_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

int
render_subst(struct buf *out, const char *tmpl, size_t len,
    const struct render_data *d, enum render_mode mode, struct render_err *err)
{
	size_t start = out->len, lit = 0, i = 0;
	enum render_err_kind kind = RENDER_ERR_NONE;
	const char *hit;

	if (err != NULL) {
		err->kind = RENDER_ERR_NONE;
		err->name[0] = '\0';
	}
	while (
	    i + 1 < len && (hit = memchr(tmpl + i, '{', len - i - 1)) != NULL) {
		i = (size_t)(hit - tmpl);
		size_t n = var_at(tmpl, len, i);
		if (n == 0) {
			i++;
			continue;
		}
		const struct render_kv *e = kv_find(d, tmpl + i + 2, n);
		if (e == NULL)
			kind = RENDER_ERR_MISSING;
		else if (mode == RENDER_HEADER &&
			 !header_safe(e->value, e->value_len))
			kind = RENDER_ERR_CONTROL;
		if (kind != RENDER_ERR_NONE) {
			if (err != NULL) {
				err->kind = kind;
				memcpy(err->name, tmpl + i + 2, n);
				err->name[n] = '\0';
			}
			out->len = start;
			if (out->data != NULL)
				out->data[start] = '\0';
			return -1;
		}
		buf_add(out, tmpl + lit, i - lit);
		if (mode == RENDER_HTML)
			add_html(out, e->value, e->value_len);
		else
			buf_add(out, e->value, e->value_len);
		i += n + 4;
		lit = i;
	}
	buf_add(out, tmpl + lit, len - lit);
	return 0;
}

const char *
render_err_to_text(enum render_err_kind kind)
{
	switch (kind) {
	case RENDER_ERR_NONE:
		return "no error";
	case RENDER_ERR_MISSING:
		return "template variable has no value";
	case RENDER_ERR_CONTROL:
		return "template variable value has a control character";
	}
	return "unknown render error";
}
