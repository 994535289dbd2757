/*
 * test_json.c: json.c over real yajl, table-driven. Parsing: non-ASCII
 * text, \uXXXX escapes (surrogate pairs) to exact UTF-8 bytes, rejection
 * of invalid UTF-8, NUL bytes, \u0000 and lone surrogates; typed getters
 * (null is absent, integers only when integral and within int64); the
 * generator's escaping and jw_raw's round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* Parses exactly len bytes from a heap copy, so ASan sees any overread. */
static yajl_val
parse_n(const char *text, size_t len, char *err, size_t errlen)
{
	char *copy = xmalloc(len);
	yajl_val v;

	memcpy(copy, text, len);
	v = json_parse(copy, len, err, errlen);
	free(copy);
	return v;
}

/* --- strings decode to the right bytes --- */

struct str_case {
	const char *what;
	const char *json; /* a JSON object {"s": ...} */
	const char *want; /* the UTF-8 bytes of member s */
};

static const struct str_case str_cases[] = {
    {"ascii", "{\"s\":\"plain\"}", "plain"},
    {"empty", "{\"s\":\"\"}", ""},
    {"raw 2-byte", "{\"s\":\"caf\xc3\xa9\"}", "caf\xc3\xa9"},
    {"raw CJK", "{\"s\":\"\xe4\xb8\xad\xe6\x96\x87\"}",
	"\xe4\xb8\xad\xe6\x96\x87"},
    {"raw 4-byte", "{\"s\":\"\xf0\x9f\x98\x80\"}", "\xf0\x9f\x98\x80"},
    {"raw U+10FFFF", "{\"s\":\"\xf4\x8f\xbf\xbf\"}", "\xf4\x8f\xbf\xbf"},
    {"\\u0041", "{\"s\":\"\\u0041\"}", "A"},
    {"\\u00e9", "{\"s\":\"\\u00e9\"}", "\xc3\xa9"},
    {"\\u00E9 upper hex", "{\"s\":\"\\u00E9\"}", "\xc3\xa9"},
    {"\\u07ff", "{\"s\":\"\\u07ff\"}", "\xdf\xbf"},
    {"\\u0800", "{\"s\":\"\\u0800\"}", "\xe0\xa0\x80"},
    {"\\u4e2d\\u6587", "{\"s\":\"\\u4e2d\\u6587\"}",
	"\xe4\xb8\xad\xe6\x96\x87"},
    {"\\ud7ff", "{\"s\":\"\\ud7ff\"}", "\xed\x9f\xbf"},
    {"\\ue000", "{\"s\":\"\\ue000\"}", "\xee\x80\x80"},
    {"\\uffff", "{\"s\":\"\\uffff\"}", "\xef\xbf\xbf"},
    {"pair U+1F600", "{\"s\":\"\\ud83d\\ude00\"}", "\xf0\x9f\x98\x80"},
    {"pair U+10000", "{\"s\":\"\\ud800\\udc00\"}", "\xf0\x90\x80\x80"},
    {"pair U+10FFFF", "{\"s\":\"\\udbff\\udfff\"}", "\xf4\x8f\xbf\xbf"},
    {"pair upper hex", "{\"s\":\"\\uD83D\\uDE00x\"}", "\xf0\x9f\x98\x80x"},
    {"Gson escapes",
	"{\"s\":\"\\u003ca href\\u003d\\u0027x\\u0027\\u003e\\u0026\"}",
	"<a href='x'>&"},
    {"simple escapes", "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
	"\"\\/\b\f\n\r\t"},
    {"\\u001f control", "{\"s\":\"a\\u001fb\"}",
	"a\x1f"
	"b"},
    {"escaped backslash then u", "{\"s\":\"\\\\u0000\"}", "\\u0000"},
    {"python separators", "{\"s\": \"\\u4f60\\u597d\", \"t\": 1}",
	"\xe4\xbd\xa0\xe5\xa5\xbd"},
    {"slash in a string is no comment", "{\"s\":\"a/*b*/c//d\"}", "a/*b*/c//d"},
    {NULL, NULL, NULL},
};

static void
test_parse_strings(void **state)
{
	char err[128];

	(void)state;
	for (const struct str_case *c = str_cases; c->what; c++) {
		yajl_val v =
		    parse_n(c->json, strlen(c->json), err, sizeof(err));
		const char *s;

		if (v == NULL)
			fail_msg("%s: rejected: %s", c->what, err);
		s = json_str(json_member(v, "s"));
		if (s == NULL || strcmp(s, c->want) != 0)
			fail_msg("%s: got \"%s\"", c->what, s ? s : "(null)");
		yajl_tree_free(v);
	}
}

static void
test_parse_keys(void **state)
{
	static const char text[] = "{\"\\u540d\\u524d\":\"x\",\"caf\xc3\xa9\":"
				   "1,\"\\ud83d\\ude00\":true}";
	char err[128];
	yajl_val v = parse_n(text, strlen(text), err, sizeof(err));
	int64_t i;

	(void)state;
	assert_non_null(v);
	assert_string_equal(
	    json_str(json_member(v, "\xe5\x90\x8d\xe5\x89\x8d")), "x");
	assert_true(json_int(json_member(v, "caf\xc3\xa9"), &i));
	assert_int_equal(i, 1);
	assert_true(YAJL_IS_TRUE(json_member(v, "\xf0\x9f\x98\x80")));
	yajl_tree_free(v);
}

/* --- rejections --- */

struct bad_case {
	const char *what;
	const char *json;
	size_t len;      /* 0: strlen */
	const char *err; /* substring of the message, NULL = any */
};

static const struct bad_case bad_cases[] = {
    {"empty", "", 0, NULL},
    {"blank", "  ", 0, NULL},
    {"truncated", "{\"a\":", 0, NULL},
    {"trailing garbage", "{} x", 0, NULL},
    {"two values", "{} {}", 0, NULL},
    {"single quotes", "{'a':1}", 0, NULL},
    {"bare word", "{\"a\":yes}", 0, NULL},
    {"trailing comma", "{\"a\":1,}", 0, NULL},
    {"bad escape", "{\"a\":\"\\x41\"}", 0, NULL},
    {"short \\u", "{\"a\":\"\\u12\"}", 0, NULL},
    {"raw control char", "{\"a\":\"a\tb\"}", 0, NULL},
    {"NUL byte in string", "{\"a\":\"b\0c\"}", 11, "NUL byte"},
    {"NUL byte after", "{\"a\":1}\0", 8, "NUL byte"},
    {"NUL byte first", "\0{}", 3, "NUL byte"},
    {"invalid lead", "{\"a\":\"\xff\"}", 0, "UTF-8"},
    {"lone continuation", "{\"a\":\"\x80\"}", 0, "UTF-8"},
    {"bad continuation", "{\"a\":\"\xc3\x28\"}", 0, "UTF-8"},
    {"truncated sequence", "{\"a\":\"\xe2\x82\"}", 0, "UTF-8"},
    {"overlong /", "{\"a\":\"\xc0\xaf\"}", 0, "UTF-8"},
    {"overlong NUL", "{\"a\":\"\xc0\x80\"}", 0, "UTF-8"},
    {"overlong 3-byte", "{\"a\":\"\xe0\x80\xaf\"}", 0, "UTF-8"},
    {"overlong 4-byte", "{\"a\":\"\xf0\x80\x80\xaf\"}", 0, "UTF-8"},
    {"raw surrogate", "{\"a\":\"\xed\xa0\x80\"}", 0, "UTF-8"},
    {"CESU-8 pair", "{\"a\":\"\xed\xa0\xbd\xed\xb8\x80\"}", 0, "UTF-8"},
    {"past U+10FFFF", "{\"a\":\"\xf4\x90\x80\x80\"}", 0, "UTF-8"},
    {"F5 lead", "{\"a\":\"\xf5\x80\x80\x80\"}", 0, "UTF-8"},
    {"invalid in key", "{\"\xc0\xaf\":1}", 0, "UTF-8"},
    {"Latin-1 body", "{\"a\":\"caf\xe9\"}", 0, "UTF-8"},
    {"block comment", "{/* c */ \"a\":1}", 0, "comment"},
    {"line comment", "{\"a\":1 // c\n}", 0, "comment"},
    {"\\u0000", "{\"a\":\"x\\u0000y\"}", 0, "escape"},
    {"\\u0000 in key", "{\"a\\u0000b\":1}", 0, "escape"},
    {"lone high surrogate", "{\"a\":\"\\ud83d\"}", 0, "escape"},
    {"high then text", "{\"a\":\"\\ud83dxxxxxx\"}", 0, "escape"},
    {"high then BMP escape", "{\"a\":\"\\ud83d\\u0041\"}", 0, "escape"},
    {"high then high", "{\"a\":\"\\ud83d\\ud83d\"}", 0, "escape"},
    {"high then simple escape", "{\"a\":\"\\ud83d\\n\"}", 0, "escape"},
    {"lone low surrogate", "{\"a\":\"\\ude00\"}", 0, "escape"},
    {"low then high", "{\"a\":\"\\ude00\\ud83d\"}", 0, "escape"},
    {"high at end of key", "{\"\\udbff\":1}", 0, "escape"},
    {NULL, NULL, 0, NULL},
};

static void
test_parse_rejects(void **state)
{
	(void)state;
	for (const struct bad_case *c = bad_cases; c->what; c++) {
		char err[128] = "unset";
		size_t len = c->len ? c->len : strlen(c->json);
		yajl_val v = parse_n(c->json, len, err, sizeof(err));

		if (v != NULL)
			fail_msg("%s: accepted", c->what);
		/* one line, non-empty, and naming the reason when we know it */
		if (err[0] == '\0' || strchr(err, '\n') != NULL)
			fail_msg("%s: bad message \"%s\"", c->what, err);
		if (c->err && strstr(err, c->err) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->what,
			    err, c->err);
	}
}

static void
test_parse_not_terminated(void **state)
{
	static const char text[] = "{\"a\":12}{\"b\":";
	char err[128];
	yajl_val v;
	int64_t i;

	(void)state;
	/* only len bytes count: the rest would make it invalid */
	v = parse_n(text, 8, err, sizeof(err));
	assert_non_null(v);
	assert_true(json_int(json_member(v, "a"), &i));
	assert_int_equal(i, 12);
	yajl_tree_free(v);
	v = parse_n(text, 7, err, sizeof(err));
	assert_null(v);
}

/* --- typed getters --- */

static void
test_member(void **state)
{
	static const char text[] = "{\"n\":null,\"s\":\"x\",\"i\":3,\"o\":{},"
				   "\"a\":[],\"f\":false,\"dup\":1}";
	char err[128];
	yajl_val v = parse_n(text, strlen(text), err, sizeof(err));

	(void)state;
	assert_non_null(v);
	assert_null(json_member(v, "n"));      /* null is absent */
	assert_null(json_member(v, "absent")); /* absent */
	assert_null(json_member(v, "S"));      /* case-sensitive */
	assert_null(json_member(v, ""));
	assert_non_null(json_member(v, "s"));
	assert_true(YAJL_IS_OBJECT(json_member(v, "o")));
	assert_true(YAJL_IS_ARRAY(json_member(v, "a")));
	assert_true(YAJL_IS_FALSE(json_member(v, "f")));
	/* not an object */
	assert_null(json_member(json_member(v, "s"), "x"));
	assert_null(json_member(json_member(v, "a"), "0"));
	assert_null(json_member(NULL, "s"));
	/* json_str only for strings */
	assert_string_equal(json_str(json_member(v, "s")), "x");
	assert_null(json_str(json_member(v, "i")));
	assert_null(json_str(json_member(v, "o")));
	assert_null(json_str(json_member(v, "n")));
	assert_null(json_str(NULL));
	yajl_tree_free(v);
}

struct int_case {
	const char *num;
	bool ok;
	int64_t want;
};

static const struct int_case int_cases[] = {
    {"0", true, 0},
    {"-0", true, 0},
    {"1", true, 1},
    {"-5", true, -5},
    {"100", true, 100},
    {"9223372036854775807", true, INT64_MAX},
    /* yajl_parse_integer overflows on the magnitude of INT64_MIN: not an
     * integer for us either (no field needs it) */
    {"-9223372036854775808", false, 0},
    {"-9223372036854775807", true, -INT64_MAX},
    {"9223372036854775808", false, 0},
    {"-9223372036854775809", false, 0},
    {"18446744073709551616", false, 0},
    {"99999999999999999999999999999999", false, 0},
    {"1.5", false, 0},
    {"1.0", false, 0},
    {"-0.0", false, 0},
    {"1e3", false, 0},
    {"1E2", false, 0},
    {"1e400", false, 0},
    {"\"1\"", false, 0},
    {"true", false, 0},
    {"null", false, 0},
    {"[1]", false, 0},
    {"{}", false, 0},
    {NULL, false, 0},
};

static void
test_json_int(void **state)
{
	(void)state;
	for (const struct int_case *c = int_cases; c->num; c++) {
		char text[128], err[128];
		yajl_val v;
		int64_t got = 12345;

		snprintf(text, sizeof(text), "{\"n\":%s}", c->num);
		v = parse_n(text, strlen(text), err, sizeof(err));
		if (v == NULL)
			fail_msg("%s: rejected: %s", c->num, err);
		if (json_int(json_member(v, "n"), &got) != c->ok)
			fail_msg("json_int(%s) != %s", c->num,
			    c->ok ? "true" : "false");
		if (c->ok && got != c->want)
			fail_msg("json_int(%s) = %lld", c->num, (long long)got);
		if (!c->ok && got != 12345)
			fail_msg("json_int(%s) wrote *out on failure", c->num);
		yajl_tree_free(v);
	}
	assert_false(json_int(NULL, NULL));
}

/* --- generator --- */

/* The generator's buffer as a string (copied, caller frees). */
static char *
gen_text(yajl_gen g)
{
	const unsigned char *out;
	size_t len;

	assert_int_equal(yajl_gen_get_buf(g, &out, &len), yajl_gen_status_ok);
	return xstrndup((const char *)out, len);
}

struct gen_case {
	const char *what;
	const char *val;
	size_t len;       /* 0: strlen */
	const char *want; /* the generated JSON string, quotes included */
};

static const struct gen_case gen_cases[] = {
    {"plain", "abc", 0, "\"abc\""},
    {"empty", "", 0, "\"\""},
    {"quote", "say \"hi\"", 0, "\"say \\\"hi\\\"\""},
    {"backslash", "a\\b", 0, "\"a\\\\b\""},
    {"solidus not escaped", "</script>", 0, "\"</script>\""},
    {"named controls", "\b\f\n\r\t", 0, "\"\\b\\f\\n\\r\\t\""},
    {"other controls", "\x01\x1f", 0, "\"\\u0001\\u001F\""},
    {"NUL inside", "a\0b", 3, "\"a\\u0000b\""},
    {"DEL kept", "\x7f", 0, "\"\x7f\""},
    {"UTF-8 kept raw", "\xe4\xb8\xad\xf0\x9f\x98\x80", 0,
	"\"\xe4\xb8\xad\xf0\x9f\x98\x80\""},
    {"header injection", "x\r\nBcc: y", 0, "\"x\\r\\nBcc: y\""},
    {"invalid UTF-8 becomes empty",
	"a\xff"
	"b",
	0, "\"\""},
    {"truncated UTF-8 becomes empty", "a\xe4\xb8", 0, "\"\""},
    {NULL, NULL, 0, NULL},
};

static void
test_gen_strings(void **state)
{
	(void)state;
	for (const struct gen_case *c = gen_cases; c->what; c++) {
		yajl_gen g = json_gen_new();
		char *out, want[256];

		jw_open_obj(g, NULL);
		jw_strn(g, "k", c->val, c->len ? c->len : strlen(c->val));
		jw_close_obj(g);
		out = gen_text(g);
		snprintf(want, sizeof(want), "{\"k\":%s}", c->want);
		if (strcmp(out, want) != 0)
			fail_msg("%s: got %s, want %s", c->what, out, want);

		/* and it reads back as the same bytes when it was valid */
		if (strcmp(c->want, "\"\"") != 0 || c->val[0] == '\0') {
			char err[128];
			yajl_val v =
			    json_parse(out, strlen(out), err, sizeof(err));
			size_t len = c->len ? c->len : strlen(c->val);
			if (memchr(c->val, '\0', len) == NULL) {
				if (v == NULL)
					fail_msg("%s: output rejected: %s",
					    c->what, err);
				assert_string_equal(
				    json_str(json_member(v, "k")), c->val);
			} else {
				assert_null(v); /* \u0000 never comes back */
			}
			if (v)
				yajl_tree_free(v);
		}
		free(out);
		yajl_gen_free(g);
	}
}

static void
test_gen_values(void **state)
{
	yajl_gen g = json_gen_new();
	char *out;

	(void)state;
	jw_open_obj(g, NULL);
	jw_open_obj(g, "Response");
	jw_str(g, "Null", NULL);
	jw_int(g, "Max", INT64_MAX);
	jw_int(g, "Min", INT64_MIN);
	jw_int(g, "Zero", 0);
	jw_bool(g, "T", true);
	jw_bool(g, "F", false);
	jw_null(g, "N");
	jw_open_arr(g, "List");
	jw_int(g, NULL, 1);
	jw_str(g, NULL, "two");
	jw_open_obj(g, NULL);
	jw_key(g, "Deep");
	jw_open_arr(g, NULL);
	jw_close_arr(g);
	jw_close_obj(g);
	jw_close_arr(g);
	jw_close_obj(g);
	jw_close_obj(g);
	out = gen_text(g);
	assert_string_equal(out,
	    "{\"Response\":{\"Null\":\"\",\"Max\":9223372036854775807,"
	    "\"Min\":-9223372036854775808,\"Zero\":0,\"T\":true,\"F\":false,"
	    "\"N\":null,\"List\":[1,\"two\",{\"Deep\":[]}]}}");
	free(out);
	yajl_gen_free(g);
}

struct raw_case {
	const char *in;
	const char *out; /* NULL: same as in */
};

static const struct raw_case raw_cases[] = {
    {"{}", NULL},
    {"[]", NULL},
    {"\"s\"", NULL},
    {"0", NULL},
    {"-12", NULL},
    {"9223372036854775807", NULL},
    {"2.5", NULL},
    {"1e3", NULL},
    {"-0.000001", NULL},
    {"true", NULL},
    {"false", NULL},
    {"null", NULL},
    {"{\"a\":[1,2.5,\"x\",true,false,null,{\"b\":{}}],\"c\":\"q\\\"\\\\\"}",
	NULL},
    {"{\"z\":1,\"a\":2,\"m\":3}", NULL}, /* key order kept */
    {"{\"s\":\"\xe4\xb8\xad\\n\\u001F\"}", NULL},
    {"{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }", "{\"a\":[1,2],\"b\":{}}"},
    {"{\"u\":\"\\u00e9\\ud83d\\ude00\\/\"}",
	"{\"u\":\"\xc3\xa9\xf0\x9f\x98\x80/\"}"},
    {"[{\"TemplateID\":1,\"CreatedTimestamp\":1700000000}]", NULL},
    {NULL, NULL},
};

/*
 * jw_strn hands short plain strings to yajl ready quoted: separators in
 * arrays, a string in a key's place and a long string (yajl's own path)
 * must come out as yajl writes them.
 */
static void
test_gen_plain_paths(void **state)
{
	yajl_gen g = json_gen_new();
	char long_val[400], *want, *out;

	(void)state;
	memset(long_val, 'x', sizeof(long_val) - 1);
	long_val[sizeof(long_val) - 1] = '\0';
	jw_open_obj(g, NULL);
	jw_open_arr(g, "A");
	jw_str(g, NULL, "one");
	jw_str(g, NULL, "two");
	jw_int(g, NULL, -42);
	jw_str(g, NULL, "");
	jw_close_arr(g);
	jw_open_obj(g, "M");
	jw_str(g, NULL, "asKey");
	jw_str(g, NULL, "value");
	jw_close_obj(g);
	jw_str(g, "L", long_val);
	jw_close_obj(g);
	out = gen_text(g);
	want = xasprintf("{\"A\":[\"one\",\"two\",-42,\"\"],"
			 "\"M\":{\"asKey\":\"value\"},\"L\":\"%s\"}",
	    long_val);
	assert_string_equal(out, want);
	free(want);
	free(out);
	yajl_gen_free(g);
}

static void
test_jw_raw(void **state)
{
	(void)state;
	for (const struct raw_case *c = raw_cases; c->in; c++) {
		yajl_gen g = json_gen_new();
		char *out, want[512];

		jw_open_obj(g, NULL);
		assert_int_equal(jw_raw(g, "v", c->in, strlen(c->in)), 0);
		jw_close_obj(g);
		out = gen_text(g);
		snprintf(
		    want, sizeof(want), "{\"v\":%s}", c->out ? c->out : c->in);
		if (strcmp(out, want) != 0)
			fail_msg("jw_raw(%s): got %s", c->in, out);
		free(out);
		yajl_gen_free(g);
	}
}

static void
test_jw_raw_invalid(void **state)
{
	static const char *const bad[] = {"", "{", "{\"a\":}", "[1,]",
	    "{\"a\":1} x", "\"\xc0\xaf\"", "\"\\u0000\"", NULL};

	(void)state;
	for (const char *const *b = bad; *b; b++) {
		yajl_gen g = json_gen_new();
		char *out;

		jw_open_obj(g, NULL);
		jw_int(g, "before", 1);
		if (jw_raw(g, "v", *b, strlen(*b)) != -1)
			fail_msg("jw_raw(%s) accepted", *b);
		/* nothing was written: the key is not dangling */
		jw_int(g, "after", 2);
		jw_close_obj(g);
		out = gen_text(g);
		assert_string_equal(out, "{\"before\":1,\"after\":2}");
		free(out);
		yajl_gen_free(g);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_strings),
	    cmocka_unit_test(test_parse_keys),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_parse_not_terminated),
	    cmocka_unit_test(test_member),
	    cmocka_unit_test(test_json_int),
	    cmocka_unit_test(test_gen_strings),
	    cmocka_unit_test(test_gen_values),
	    cmocka_unit_test(test_gen_plain_paths),
	    cmocka_unit_test(test_jw_raw),
	    cmocka_unit_test(test_jw_raw_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
