/*
 * test_render.c: render.c, table-driven. The scanner: a variable is
 * exactly "{{name}}", name 1..64 bytes of [A-Za-z0-9_.-]; everything else
 * in braces is literal text (ses-api.md section 6); the result is a sorted
 * set without duplicates. Values: TemplateData JSON objects of strings,
 * earlier adds and the recipient's data win. Substitution: the same
 * variables as the scanner, HTML escaping, header values without
 * controls, missing variables refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

#define N64 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_."

struct scan_case {
	const char *what;
	const char *text;
	size_t len;          /* 0: strlen(text) */
	const char *want[6]; /* sorted names, NULL-terminated */
};

static const struct scan_case scan_cases[] = {
    {"empty text", "", 0, {NULL}},
    {"no braces", "Hello world", 0, {NULL}},
    {"one variable", "Hello {{name}}!", 0, {"name", NULL}},
    {"whole text", "{{a}}", 0, {"a", NULL}},
    {"duplicates", "{{b}} {{a}} {{b}} {{a}}", 0, {"a", "b", NULL}},
    {"sorted by bytes", "{{zeta}}{{Alpha}}{{beta}}{{_x}}{{9}}", 0,
	{"9", "Alpha", "_x", "beta", "zeta", NULL}},
    {"adjacent", "{{a}}{{b}}", 0, {"a", "b", NULL}},
    {"blanks inside", "{{ a }}", 0, {NULL}},
    {"blank before", "{{ a}}", 0, {NULL}},
    {"blank after", "{{a }}", 0, {NULL}},
    {"blank in name", "{{a b}}", 0, {NULL}},
    {"tab", "{{\ta}}", 0, {NULL}},
    {"newline", "{{a\n}}", 0, {NULL}},
    {"triple braces", "{{{a}}}", 0, {"a", NULL}},
    {"quadruple braces", "{{{{a}}}}", 0, {"a", NULL}},
    {"extra closing", "{{a}}}", 0, {"a", NULL}},
    {"single braces", "{a} {b}}", 0, {NULL}},
    {"unterminated", "{{abc", 0, {NULL}},
    {"half closed", "{{abc}", 0, {NULL}},
    {"half closed then more", "{{abc} x}}", 0, {NULL}},
    {"open only", "{{", 0, {NULL}},
    {"empty name", "{{}}", 0, {NULL}},
    {"broken then good", "{{a}{{b}}", 0, {"b", NULL}},
    {"unterminated then good", "{{x {{y}}", 0, {"y", NULL}},
    {"dotted and dashed", "{{user.name}} {{first-name}} {{x_y}} {{a.b-c_d}}", 0,
	{"a.b-c_d", "first-name", "user.name", "x_y", NULL}},
    {"dots only", "{{.}} {{..}} {{-}}", 0, {"-", ".", "..", NULL}},
    {"64-byte name", "{{" N64 "}}", 0, {N64, NULL}},
    {"65-byte name", "{{" N64 "x}}", 0, {NULL}},
    {"65-byte name then good", "{{" N64 "x}}{{ok}}", 0, {"ok", NULL}},
    {"non-ASCII name", "{{\xc3\xa9t\xc3\xa9}}", 0, {NULL}},
    {"non-ASCII around", "\xe4\xbd\xa0\xe5\xa5\xbd{{n}}\xe5\x90\x97", 0,
	{"n", NULL}},
    {"other punctuation", "{{a$}} {{a/b}} {{a:b}} {{$}}", 0, {NULL}},
    {"html around", "<p>{{name}}</p><a href=\"{{link}}\">", 0,
	{"link", "name", NULL}},
    {"case matters", "{{a}}{{A}}", 0, {"A", "a", NULL}},
    {"len cuts the close", "{{abc}}", 6, {NULL}},
    {"len cuts after", "{{abc}}{{def}}", 7, {"abc", NULL}},
    {"NUL in text", "{{a}}\0{{b}}", 11, {"a", "b", NULL}},
    {"NUL in name", "{{a\0b}}", 7, {NULL}},
    {NULL, NULL, 0, {NULL}},
};

static void
check_vars(const struct scan_case *c, const struct render_vars *v)
{
	size_t n = 0;

	while (c->want[n])
		n++;
	if (v->n != n)
		fail_msg("%s: %zu variables, want %zu", c->what, v->n, n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->names[i], c->want[i]) != 0)
			fail_msg("%s: [%zu] = \"%s\", want \"%s\"", c->what, i,
			    v->names[i], c->want[i]);
}

static void
test_scan_table(void **state)
{
	(void)state;
	for (const struct scan_case *c = scan_cases; c->what; c++) {
		struct render_vars v;
		size_t len = c->len ? c->len : strlen(c->text);
		/* a heap copy of exactly len bytes: ASan sees any overread */
		char *text = xmalloc(len);

		memcpy(text, c->text, len);
		render_vars_init(&v);
		render_vars_scan(&v, text, len);
		check_vars(c, &v);
		render_vars_reset(&v);
		assert_int_equal(v.n, 0);
		assert_null(v.names);
		free(text);
	}
}

static void
test_scan_accumulates(void **state)
{
	struct render_vars v;
	static const char *const html = "<b>{{name}}</b> {{code}}";
	static const char *const text = "{{name}}: {{amount}}";

	(void)state;
	render_vars_init(&v);
	render_vars_scan(&v, html, strlen(html));
	render_vars_scan(&v, text, strlen(text));
	assert_int_equal(v.n, 3);
	assert_string_equal(v.names[0], "amount");
	assert_string_equal(v.names[1], "code");
	assert_string_equal(v.names[2], "name");
	assert_true(render_vars_has(&v, "code"));
	assert_false(render_vars_has(&v, "Code"));
	assert_false(render_vars_has(&v, ""));
	render_vars_reset(&v);
	assert_false(render_vars_has(&v, "code"));
}

static void
test_add_and_has(void **state)
{
	static const char *const in[] = {
	    "m", "c", "x", "a", "c", "z", "m", "b", "a"};
	static const char *const want[] = {"a", "b", "c", "m", "x", "z"};
	struct render_vars v;
	char name[8];

	(void)state;
	render_vars_init(&v);
	assert_int_equal(v.n, 0);
	assert_false(render_vars_has(&v, "a"));
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		/* the name is copied: reusing the buffer must not matter */
		snprintf(name, sizeof(name), "%s", in[i]);
		render_vars_add(&v, name);
		memset(name, '#', sizeof(name) - 1);
	}
	assert_int_equal(v.n, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(v.names[i], want[i]);
		assert_true(render_vars_has(&v, want[i]));
	}
	assert_false(render_vars_has(&v, "d"));
	render_vars_reset(&v);

	/* many names, inserted in reverse: stays sorted and unique */
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "v%03d", i);
		render_vars_add(&v, name);
		render_vars_add(&v, name);
	}
	assert_int_equal(v.n, 1000);
	for (size_t i = 1; i < v.n; i++)
		assert_true(strcmp(v.names[i - 1], v.names[i]) < 0);
	render_vars_reset(&v);
}

/* --- values --- */

static void
add_ok(struct render_data *d, const char *json)
{
	char err[128];

	if (render_data_add_json(d, json, strlen(json), err, sizeof(err)) != 0)
		fail_msg("add_json(%s): %s", json, err);
}

static void
test_data_add(void **state)
{
	struct render_data d;
	static const char json[] =
	    "{\"name\":\"Ann\",\"code\":\"12\\\"34\",\"empty\":\"\","
	    "\"u\":\"\\u4f60\\u597d\",\"a.b-c_d\":\"x\"}";

	(void)state;
	render_data_init(&d);
	assert_null(render_data_find(&d, "name"));
	add_ok(&d, json);
	assert_int_equal(d.n, 5);
	assert_string_equal(render_data_find(&d, "name"), "Ann");
	assert_string_equal(render_data_find(&d, "code"), "12\"34");
	assert_string_equal(render_data_find(&d, "empty"), "");
	assert_string_equal(
	    render_data_find(&d, "u"), "\xe4\xbd\xa0\xe5\xa5\xbd");
	assert_string_equal(render_data_find(&d, "a.b-c_d"), "x");
	assert_null(render_data_find(&d, "Name"));
	assert_null(render_data_find(&d, "nam"));
	assert_null(render_data_find(&d, "names"));
	assert_null(render_data_find(&d, ""));
	for (size_t i = 1; i < d.n; i++)
		assert_true(strcmp(d.kv[i - 1].name, d.kv[i].name) < 0);

	/* empty TemplateData and an empty object add nothing */
	assert_int_equal(render_data_add_json(&d, "", 0, NULL, 0), 0);
	add_ok(&d, "{}");
	add_ok(&d, " { } ");
	assert_int_equal(d.n, 5);
	render_data_reset(&d);
	assert_int_equal(d.n, 0);
	assert_null(d.kv);
	assert_null(render_data_find(&d, "name"));

	/* the text need not be NUL-terminated nor outlive d */
	char *copy = xstrdup("{\"k\":\"v\"}");
	char err[64];
	assert_int_equal(
	    render_data_add_json(&d, copy, 9, err, sizeof(err)), 0);
	memset(copy, 'x', 9);
	free(copy);
	assert_string_equal(render_data_find(&d, "k"), "v");
	render_data_reset(&d);
}

struct refused_case {
	const char *what;
	const char *json;
	const char *reason; /* a substring of the error */
};

static const struct refused_case refused_cases[] = {
    {"number value", "{\"a\":\"x\",\"age\":12}", "\"age\" is not a string"},
    {"bool value", "{\"ok\":true}", "not a string"},
    {"null value", "{\"n\":null}", "not a string"},
    {"array value", "{\"l\":[\"a\"]}", "not a string"},
    {"object value", "{\"o\":{\"a\":\"b\"}}", "not a string"},
    {"array", "[\"a\"]", "not a JSON object"},
    {"string", "\"a\"", "not a JSON object"},
    {"number", "12", "not a JSON object"},
    {"malformed", "{\"a\":", ""},
    {"trailing garbage", "{\"a\":\"b\"} x", ""},
    {"white space only", "  ", ""},
    {"bad UTF-8", "{\"a\":\"\xff\"}", "UTF-8"},
    {"NUL escape", "{\"a\":\"\\u0000\"}", ""},
    {"repeated name", "{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}", "repeats"},
    {NULL, NULL, NULL},
};

static void
test_data_refused(void **state)
{
	(void)state;
	for (const struct refused_case *c = refused_cases; c->what; c++) {
		struct render_data d;
		char err[128] = "";
		size_t len = strlen(c->json);
		char *json = xmalloc(len); /* exact size: ASan sees overreads */

		memcpy(json, c->json, len);
		render_data_init(&d);
		add_ok(&d, "{\"keep\":\"me\"}");
		if (render_data_add_json(&d, json, len, err, sizeof(err)) != -1)
			fail_msg("%s: accepted", c->what);
		assert_int_equal(
		    render_data_add_json(&d, json, len, NULL, 0), -1);
		if (err[0] == '\0' || strstr(err, c->reason) == NULL)
			fail_msg("%s: reason \"%s\"", c->what, err);
		/* d unchanged */
		assert_int_equal(d.n, 1);
		assert_int_equal(d.nblocks, 1);
		assert_string_equal(render_data_find(&d, "keep"), "me");
		assert_null(render_data_find(&d, "a"));
		render_data_reset(&d);
		free(json);
	}
}

static void
test_data_precedence(void **state)
{
	static const char rcpt[] = "{\"name\":\"Bob\",\"code\":\"<1>\"}";
	static const char shared[] =
	    "{\"name\":\"Everyone\",\"shop\":\"S&M\",\"code\":\"0\"}";
	struct render_data one, shr, per;

	(void)state;
	/* one render_data: the earlier add wins */
	render_data_init(&one);
	add_ok(&one, rcpt);
	add_ok(&one, shared);
	assert_int_equal(one.n, 3);
	assert_string_equal(render_data_find(&one, "name"), "Bob");
	assert_string_equal(render_data_find(&one, "code"), "<1>");
	assert_string_equal(render_data_find(&one, "shop"), "S&M");
	/* an add that brings nothing new keeps no block */
	add_ok(&one, "{\"name\":\"Zed\"}");
	assert_int_equal(one.nblocks, 2);
	assert_string_equal(render_data_find(&one, "name"), "Bob");

	/* shared once, per recipient with a fallback: same answers */
	render_data_init(&shr);
	add_ok(&shr, shared);
	for (int r = 0; r < 3; r++) {
		render_data_init(&per);
		per.fallback = &shr;
		add_ok(&per, rcpt);
		assert_string_equal(render_data_find(&per, "name"), "Bob");
		assert_string_equal(render_data_find(&per, "code"), "<1>");
		assert_string_equal(render_data_find(&per, "shop"), "S&M");
		assert_null(render_data_find(&per, "nope"));
		render_data_reset(&per);
		assert_null(per.fallback);
	}
	assert_string_equal(render_data_find(&shr, "name"), "Everyone");
	render_data_reset(&shr);
	render_data_reset(&one);
}

/* --- substitution --- */

struct subst_case {
	const char *what;
	const char *tmpl;
	enum render_mode mode;
	const char *want; /* NULL: refused */
	enum render_err_kind kind;
	const char *name; /* the variable named on refusal */
};

/* data for every case */
static const char subst_data[] =
    "{\"name\":\"Ann\",\"html\":\"<b>&\\\"'x'\\\"</b>\",\"amp\":\"a&&b\","
    "\"empty\":\"\",\"cr\":\"a\\rb\",\"lf\":\"a\\nb\",\"crlf\":\"x\\r\\n"
    "Bcc: evil@example.com\",\"tab\":\"a\\tb\",\"nul1\":\"\\u0001\","
    "\"esc\":\"\\u001b[1m\",\"del\":\"a\\u007f\",\"c1\":\"\\u0085\","
    "\"zh\":\"\\u4f60\\u597d\",\"braces\":\"{{name}}\",\"v\":\"V\"}";

static const struct subst_case subst_cases[] = {
    {"empty template", "", RENDER_TEXT, "", 0, NULL},
    {"no variable", "Hello world", RENDER_TEXT, "Hello world", 0, NULL},
    {"one variable", "Hi {{name}}!", RENDER_TEXT, "Hi Ann!", 0, NULL},
    {"whole template", "{{name}}", RENDER_TEXT, "Ann", 0, NULL},
    {"adjacent", "{{name}}{{v}}{{name}}", RENDER_TEXT, "AnnVAnn", 0, NULL},
    {"empty value", "[{{empty}}]", RENDER_TEXT, "[]", 0, NULL},
    {"non-ASCII value", "{{zh}}!", RENDER_TEXT, "\xe4\xbd\xa0\xe5\xa5\xbd!", 0,
	NULL},
    {"value not rescanned", "{{braces}}", RENDER_TEXT, "{{name}}", 0, NULL},
    {"text raw", "{{html}}", RENDER_TEXT, "<b>&\"'x'\"</b>", 0, NULL},
    {"html escaped", "<p>{{html}}</p>", RENDER_HTML,
	"<p>&lt;b&gt;&amp;&quot;&#39;x&#39;&quot;&lt;/b&gt;</p>", 0, NULL},
    {"html escape runs", "{{amp}}", RENDER_HTML, "a&amp;&amp;b", 0, NULL},
    {"html template text kept", "<a href=\"{{name}}\">&amp;</a>", RENDER_HTML,
	"<a href=\"Ann\">&amp;</a>", 0, NULL},
    {"html value not rescanned", "{{braces}}", RENDER_HTML, "{{name}}", 0,
	NULL},
    {"html newline kept", "{{lf}}", RENDER_HTML, "a\nb", 0, NULL},
    {"header raw", "Re: {{html}}", RENDER_HEADER, "Re: <b>&\"'x'\"</b>", 0,
	NULL},
    {"header tab allowed", "{{tab}}", RENDER_HEADER, "a\tb", 0, NULL},
    {"header C1 allowed", "{{c1}}", RENDER_HEADER, "\xc2\x85", 0, NULL},
    {"header CR", "x {{cr}}", RENDER_HEADER, NULL, RENDER_ERR_CONTROL, "cr"},
    {"header LF", "{{lf}}", RENDER_HEADER, NULL, RENDER_ERR_CONTROL, "lf"},
    {"header injection", "Hi {{name}} {{crlf}}", RENDER_HEADER, NULL,
	RENDER_ERR_CONTROL, "crlf"},
    {"header SOH", "{{nul1}}", RENDER_HEADER, NULL, RENDER_ERR_CONTROL, "nul1"},
    {"header ESC", "{{esc}}", RENDER_HEADER, NULL, RENDER_ERR_CONTROL, "esc"},
    {"header DEL", "{{del}}", RENDER_HEADER, NULL, RENDER_ERR_CONTROL, "del"},
    {"header template text not checked", "a\r\n{{name}}", RENDER_HEADER,
	"a\r\nAnn", 0, NULL},
    {"text CRLF allowed", "{{crlf}}", RENDER_TEXT, "x\r\nBcc: evil@example.com",
	0, NULL},
    {"missing", "Hi {{nobody}}", RENDER_TEXT, NULL, RENDER_ERR_MISSING,
	"nobody"},
    {"missing html", "{{name}} {{Name}}", RENDER_HTML, NULL, RENDER_ERR_MISSING,
	"Name"},
    {"first failure named", "{{name}}{{x1}}{{x2}}", RENDER_TEXT, NULL,
	RENDER_ERR_MISSING, "x1"},
    {"missing before bad header", "{{gone}}{{lf}}", RENDER_HEADER, NULL,
	RENDER_ERR_MISSING, "gone"},
    {"blanks are literal", "{{ name }}", RENDER_TEXT, "{{ name }}", 0, NULL},
    {"single braces", "{name} {{name}", RENDER_TEXT, "{name} {{name}", 0, NULL},
    {"triple braces", "{{{name}}}", RENDER_TEXT, "{Ann}", 0, NULL},
    {"quadruple braces", "{{{{name}}}}", RENDER_TEXT, "{{Ann}}", 0, NULL},
    {"broken then good", "{{a}{{name}}", RENDER_TEXT, "{{a}Ann", 0, NULL},
    {"trailing open", "{{name}}{{", RENDER_TEXT, "Ann{{", 0, NULL},
    {"trailing brace", "{{name}}{", RENDER_TEXT, "Ann{", 0, NULL},
    {"65-byte name is text", "{{" N64 "x}}", RENDER_TEXT, "{{" N64 "x}}", 0,
	NULL},
    {"64-byte name is a variable", "{{" N64 "}}", RENDER_TEXT, NULL,
	RENDER_ERR_MISSING, N64},
    {"punctuation is text", "{{a$}} {{a/b}}", RENDER_TEXT, "{{a$}} {{a/b}}", 0,
	NULL},
    {NULL, NULL, 0, NULL, 0, NULL},
};

static void
test_subst_table(void **state)
{
	struct render_data d;

	(void)state;
	render_data_init(&d);
	add_ok(&d, subst_data);
	for (const struct subst_case *c = subst_cases; c->what; c++) {
		struct buf out;
		struct render_err e;
		size_t len = strlen(c->tmpl);
		char *tmpl = xmalloc(len ? len : 1);
		int rc;

		memcpy(tmpl, c->tmpl, len);
		buf_init(&out);
		memset(&e, 'z', sizeof(e));
		rc = render_subst(&out, tmpl, len, &d, c->mode, &e);
		if (c->want != NULL) {
			if (rc != 0)
				fail_msg("%s: refused (%s %s)", c->what,
				    render_err_to_text(e.kind), e.name);
			if (out.len != strlen(c->want) ||
			    memcmp(out.data, c->want, out.len) != 0)
				fail_msg("%s: \"%s\", want \"%s\"", c->what,
				    out.data, c->want);
			assert_int_equal(e.kind, RENDER_ERR_NONE);
		} else {
			if (rc != -1)
				fail_msg(
				    "%s: accepted: \"%s\"", c->what, out.data);
			if (e.kind != c->kind || strcmp(e.name, c->name) != 0)
				fail_msg("%s: %d \"%s\", want %d \"%s\"",
				    c->what, e.kind, e.name, c->kind, c->name);
			assert_int_equal(out.len, 0);
			/* err may be NULL */
			assert_int_equal(
			    render_subst(&out, tmpl, len, &d, c->mode, NULL),
			    -1);
		}
		buf_reset(&out);
		free(tmpl);
	}
	render_data_reset(&d);
	/* no data at all: every variable is missing, text is copied */
	{
		struct buf out;
		struct render_err e;
		buf_init(&out);
		assert_int_equal(
		    render_subst(&out, "a{{b}}", 6, NULL, RENDER_TEXT, &e), -1);
		assert_string_equal(e.name, "b");
		assert_int_equal(
		    render_subst(&out, "a{b}", 4, NULL, RENDER_TEXT, &e), 0);
		assert_string_equal(out.data, "a{b}");
		buf_reset(&out);
	}
	assert_string_not_equal(render_err_to_text(RENDER_ERR_MISSING),
	    render_err_to_text(RENDER_ERR_CONTROL));
}

/*
 * Substitution finds exactly the scanner's variables: with a value
 * "[name]" for each one the scanner found, rendering succeeds and leaves
 * nothing a scan would find; without one of them it fails naming that
 * one; with none, it copies the text as is.
 */
static void
test_subst_matches_scan(void **state)
{
	(void)state;
	for (const struct scan_case *c = scan_cases; c->what; c++) {
		size_t len = c->len ? c->len : strlen(c->text);
		char *text = xmalloc(len);
		struct render_data d, partial;
		struct render_vars v, again;
		struct render_err e;
		struct buf json, out;

		memcpy(text, c->text, len);
		render_vars_init(&v);
		render_vars_scan(&v, text, len);
		buf_init(&json);
		buf_adds(&json, "{");
		for (size_t i = 0; i < v.n; i++)
			buf_addf(&json, "%s\"%s\":\"[%s]\"", i ? "," : "",
			    v.names[i], v.names[i]);
		buf_adds(&json, "}");
		render_data_init(&d);
		add_ok(&d, json.data);

		buf_init(&out);
		if (render_subst(&out, text, len, &d, RENDER_TEXT, &e) != 0)
			fail_msg("%s: refused %s", c->what, e.name);
		render_vars_init(&again);
		render_vars_scan(&again, out.data, out.len);
		if (again.n != 0)
			fail_msg("%s: {{%s}} left", c->what, again.names[0]);
		if (v.n == 0 && (out.len != len || memcmp(out.data, text, len)))
			fail_msg("%s: text changed", c->what);
		render_vars_reset(&again);
		buf_reset(&out);

		for (size_t drop = 0; drop < v.n; drop++) {
			render_data_init(&partial);
			for (size_t i = 0; i < d.n; i++)
				if (i != drop) {
					struct buf one;
					buf_init(&one);
					buf_addf(&one, "{\"%s\":\"\"}",
					    d.kv[i].name);
					add_ok(&partial, one.data);
					buf_reset(&one);
				}
			if (render_subst(&out, text, len, &partial, RENDER_HTML,
				&e) != -1)
				fail_msg("%s: accepted without %s", c->what,
				    v.names[drop]);
			assert_int_equal(e.kind, RENDER_ERR_MISSING);
			assert_string_equal(e.name, v.names[drop]);
			render_data_reset(&partial);
			buf_reset(&out);
		}
		render_data_reset(&d);
		render_vars_reset(&v);
		buf_reset(&json);
		free(text);
	}
}

static void
test_subst_appends_and_restores(void **state)
{
	struct render_data d;
	struct buf out;
	struct render_err e;
	static const char ok[] = "<{{a}}>";
	static const char bad[] = "{{a}}{{a}}{{b}}";

	(void)state;
	render_data_init(&d);
	add_ok(&d, "{\"a\":\"A\\nA\"}");
	buf_init(&out);
	buf_adds(&out, "prefix:");
	assert_int_equal(
	    render_subst(&out, ok, strlen(ok), &d, RENDER_TEXT, &e), 0);
	assert_string_equal(out.data, "prefix:<A\nA>");
	/* failure after partial output: truncated to its length on entry */
	assert_int_equal(
	    render_subst(&out, bad, strlen(bad), &d, RENDER_TEXT, &e), -1);
	assert_int_equal(out.len, strlen("prefix:<A\nA>"));
	assert_string_equal(out.data, "prefix:<A\nA>");
	assert_string_equal(e.name, "b");
	assert_int_equal(
	    render_subst(&out, ok, strlen(ok), &d, RENDER_HEADER, &e), -1);
	assert_int_equal(e.kind, RENDER_ERR_CONTROL);
	assert_string_equal(out.data, "prefix:<A\nA>");
	/* len bounds the template: a variable cut by it is text */
	assert_int_equal(render_subst(&out, ok, 5, &d, RENDER_TEXT, &e), 0);
	assert_string_equal(out.data, "prefix:<A\nA><{{a}");
	buf_reset(&out);
	render_data_reset(&d);
}

/* 200,000 variables over 20 names and a long value: one pass, right. */
static void
test_subst_large(void **state)
{
	struct render_data d;
	struct buf json, tmpl, out, want;
	char name[16];

	(void)state;
	render_data_init(&d);
	buf_init(&json);
	buf_adds(&json, "{");
	for (int i = 0; i < 20; i++)
		buf_addf(&json, "%s\"v%d\":\"<%d>\"", i ? "," : "", i, i);
	buf_adds(&json, "}");
	add_ok(&d, json.data);
	buf_init(&tmpl);
	buf_init(&want);
	for (int i = 0; i < 200000; i++) {
		snprintf(name, sizeof(name), "v%d", i % 20);
		buf_addf(&tmpl, "{{%s}} {", name);
		buf_addf(&want, "&lt;%d&gt; {", i % 20);
	}
	buf_init(&out);
	assert_int_equal(
	    render_subst(&out, tmpl.data, tmpl.len, &d, RENDER_HTML, NULL), 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	buf_reset(&out);
	buf_reset(&tmpl);
	buf_reset(&want);
	buf_reset(&json);
	render_data_reset(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_table),
	    cmocka_unit_test(test_scan_accumulates),
	    cmocka_unit_test(test_add_and_has),
	    cmocka_unit_test(test_data_add),
	    cmocka_unit_test(test_data_refused),
	    cmocka_unit_test(test_data_precedence),
	    cmocka_unit_test(test_subst_table),
	    cmocka_unit_test(test_subst_matches_scan),
	    cmocka_unit_test(test_subst_appends_and_restores),
	    cmocka_unit_test(test_subst_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
