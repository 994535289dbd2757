/*
 * test_render.c: render.c's variable scanner, table-driven. A variable is
 * exactly "{{name}}", name 1..64 bytes of [A-Za-z0-9_.-]; everything else
 * in braces is literal text (ses-api.md section 6). The result is a
 * sorted set without duplicates.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan_table),
	    cmocka_unit_test(test_scan_accumulates),
	    cmocka_unit_test(test_add_and_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
