/*
 * test_util.c: util.c's leaf helpers, table-driven: base64 (RFC 4648
 * vectors, round trips, rejection of every non-canonical form), the
 * address and domain checks, UTF-8 validation and counting, has_crlf,
 * buffer growth and uuid_v4's format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* --- base64 --- */

struct b64_case {
	const char *plain;
	const char *coded;
};

/* RFC 4648 section 10, plus bytes that use '+', '/' and high bits */
static const struct b64_case b64_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
    {"\xfb\xff", "+/8="},
    {"\xff\xff\xff", "////"},
    {"\xfb\xef\xbe", "++++"},
    {"\xe4\xb8\xad\xe6\x96\x87", "5Lit5paH"},
    {NULL, NULL},
};

static void
test_base64_vectors(void **state)
{
	(void)state;
	for (const struct b64_case *c = b64_vectors; c->plain; c++) {
		struct buf b;
		unsigned char out[64];
		size_t n = strlen(c->plain);

		buf_init(&b);
		base64_encode(&b, c->plain, n);
		assert_string_equal(b.data ? b.data : "", c->coded);
		assert_int_equal(b.len, strlen(c->coded));
		buf_reset(&b);

		assert_int_equal(
		    base64_decode(out, c->coded, strlen(c->coded)), (long)n);
		assert_memory_equal(out, c->plain, n);
	}
}

static void
test_base64_round_trip(void **state)
{
	unsigned char in[300], out[300];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 73 + 11);
	for (size_t len = 0; len <= sizeof(in); len++) {
		struct buf b;

		buf_init(&b);
		base64_encode(&b, in, len);
		assert_int_equal(b.len, (len + 2) / 3 * 4);
		assert_int_equal(b.len % 4, 0);
		for (size_t k = 0; k < b.len; k++)
			assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					       "abcdefghijklmnopqrstuvwxyz"
					       "0123456789+/=",
			    b.data ? b.data[k] : 'A'));
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(
		    base64_decode(out, b.data ? b.data : "", b.len), (long)len);
		assert_memory_equal(out, in, len);
		buf_reset(&b);
	}
}

/* Each must give -1: malformed, or not the one canonical encoding. */
static const char *const b64_bad[] = {
    "Z", /* length not a multiple of 4 */
    "Zg",
    "Zg=",
    "Zm9vY",
    "Zm9vYg=",
    "Zg===", /* too much padding */
    "Z===",  /* padding may only fill the last 2 chars */
    "====",
    "=Zg=",
    "Zg==Zg==", /* padding before the end */
    "Zg=A",     /* data after padding */
    "Zm=v",
    "Zh==", /* unused bits set: "f" is only Zg== */
    "Zm9=", /* "fo" is only Zm8= */
    "Zm-v", /* base64url alphabet */
    "Zm_v",
    "Zm9v\n",
    "Zm9 v",
    " Zm9v",
    "Zm9v ",
    "Zm\r\n9v",
    "Zm9v====",
    "Zm.v",
    "Zm9\x80",
    "\xc3\xa9\xc3\xa9",
    NULL,
};

static void
test_base64_rejects(void **state)
{
	unsigned char out[64];

	(void)state;
	for (const char *const *s = b64_bad; *s; s++) {
		long r = base64_decode(out, *s, strlen(*s));
		if (r != -1)
			fail_msg("base64_decode(\"%s\") = %ld, want -1", *s, r);
	}
	/* a NUL inside the given length is not base64 either */
	assert_int_equal(base64_decode(out, "Zm\0v", 4), -1);
	assert_int_equal(base64_decode(out, "Zm9v\0\0\0\0", 8), -1);
}

/* --- email_valid, domain_valid --- */

struct addr_case {
	const char *s;
	bool ok;
};

#define L64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define L63 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const struct addr_case email_cases[] = {
    {"a@example.com", true},
    {"first.last@sub.example.co", true},
    {"user+tag@example.com", true},
    {"USER@EXAMPLE.COM", true},
    {"a!#$%&'*+-/=?^_`{|}~z@example.com", true},
    {"x@a-b.example", true},
    {"0@1.example", true},
    {L64 "@example.com", true},
    {"a@" L63 ".example.com", true},
    {"", false},
    {"a", false},
    {"example.com", false},
    {"@example.com", false},
    {"a@", false},
    {"a@com", false}, /* the domain needs a dot */
    {".a@example.com", false},
    {"a.@example.com", false},
    {"a..b@example.com", false},
    {"a b@example.com", false},
    {"\"a b\"@example.com", false}, /* no quoted strings */
    {"a(c)@example.com", false},    /* no comments */
    {"a@b@example.com", false},
    {"a,b@example.com", false},
    {"a;b@example.com", false},
    {"a<b@example.com", false},
    {"<a@example.com>", false},
    {"a@example.com ", false},
    {" a@example.com", false},
    {"a\r\n@example.com", false},
    {"a@example.com\r\nBcc: x@example.com", false},
    {"a@-example.com", false},
    {"a@example-.com", false},
    {"a@exa_mple.com", false},
    {"a@example..com", false},
    {"a@.example.com", false},
    {"a@example.com.", false},
    {"a@[127.0.0.1]", false},
    {"\xc3\xa4@example.com", false}, /* no EAI */
    {"a@ex\xc3\xa4mple.com", false},
    {L64 "a@example.com", false},      /* 65-byte local part */
    {"a@" L63 "b.example.com", false}, /* 64-byte label */
    {NULL, false},
};

static void
test_email_valid(void **state)
{
	(void)state;
	for (const struct addr_case *c = email_cases; c->s; c++)
		if (email_valid(c->s, 254) != c->ok)
			fail_msg("email_valid(\"%s\") != %s", c->s,
			    c->ok ? "true" : "false");
}

static void
test_email_max_len(void **state)
{
	const char *dom = L63 "." L63 "." L63 "." L63;
	char addr[400];

	(void)state;
	snprintf(addr, sizeof(addr), "a@%s", "example.com");
	assert_true(email_valid(addr, 13));
	assert_false(email_valid(addr, 12));
	assert_false(email_valid(addr, 0));
	/* 64 + 1 + (63 + 1 + 63 + 1 + 61) = 254 bytes */
	snprintf(addr, sizeof(addr), "%s@%.*s", L64, 189, dom);
	assert_int_equal(strlen(addr), 254);
	assert_true(email_valid(addr, 254));
	assert_false(email_valid(addr, 253));
}

static const struct addr_case domain_cases[] = {
    {"example.com", true},
    {"a.b", true},
    {"mail.sub.example.co.uk", true},
    {"xn--bcher-kva.example", true},
    {"a-b-c.example", true},
    {"EXAMPLE.COM", true},
    {"123.example", true},
    {L63 ".example", true},
    {"", false},
    {"com", false},
    {".", false},
    {".example.com", false},
    {"example.com.", false},
    {"example..com", false},
    {"-a.com", false},
    {"a-.com", false},
    {"a.-com", false},
    {"a_b.com", false},
    {"a b.com", false},
    {"a.com ", false},
    {"a@b.com", false},
    {"a.com\n", false},
    {"\xc3\xa4.com", false},
    {"*.example.com", false},
    {"a" L63 ".example", false}, /* 64-byte label */
    {NULL, false},
};

static void
test_domain_valid(void **state)
{
	(void)state;
	for (const struct addr_case *c = domain_cases; c->s; c++)
		if (domain_valid(c->s) != c->ok)
			fail_msg("domain_valid(\"%s\") != %s", c->s,
			    c->ok ? "true" : "false");
}

static void
test_domain_length(void **state)
{
	char d[300];

	(void)state;
	/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
	snprintf(d, sizeof(d), "%s.%s.%s.%.61s", L63, L63, L63, L63);
	assert_int_equal(strlen(d), 253);
	assert_true(domain_valid(d));
	snprintf(d, sizeof(d), "%s.%s.%s.%.62s", L63, L63, L63, L63);
	assert_int_equal(strlen(d), 254);
	assert_false(domain_valid(d));
}

/* --- UTF-8 --- */

struct utf8_case {
	const char *s;
	size_t len; /* 0: strlen */
	bool ok;
	const char *what;
};

static const struct utf8_case utf8_cases[] = {
    {"", 0, true, "empty"},
    {"plain ascii ~\x7f", 0, true, "ascii incl. DEL"},
    {"\xc2\x80", 0, true, "U+0080"},
    {"\xc3\xa9", 0, true, "U+00E9"},
    {"\xdf\xbf", 0, true, "U+07FF"},
    {"\xe0\xa0\x80", 0, true, "U+0800"},
    {"\xe2\x82\xac", 0, true, "U+20AC"},
    {"\xed\x9f\xbf", 0, true, "U+D7FF"},
    {"\xee\x80\x80", 0, true, "U+E000"},
    {"\xef\xbf\xbf", 0, true, "U+FFFF"},
    {"\xf0\x90\x80\x80", 0, true, "U+10000"},
    {"\xf0\x9f\x98\x80", 0, true, "U+1F600"},
    {"\xf4\x8f\xbf\xbf", 0, true, "U+10FFFF"},
    {"\xe4\xb8\xad\xe6\x96\x87 ok", 0, true, "CJK"},
    {"\xc0\x80", 0, false, "overlong NUL"},
    {"\xc0\xaf", 0, false, "overlong /"},
    {"\xc1\xbf", 0, false, "overlong U+007F"},
    {"\xe0\x80\x80", 0, false, "overlong 3-byte NUL"},
    {"\xe0\x9f\xbf", 0, false, "overlong U+07FF"},
    {"\xf0\x80\x80\x80", 0, false, "overlong 4-byte NUL"},
    {"\xf0\x8f\xbf\xbf", 0, false, "overlong U+FFFF"},
    {"\xed\xa0\x80", 0, false, "U+D800 high surrogate"},
    {"\xed\xaf\xbf", 0, false, "U+DBFF"},
    {"\xed\xb0\x80", 0, false, "U+DC00 low surrogate"},
    {"\xed\xbf\xbf", 0, false, "U+DFFF"},
    {"\xed\xa0\xbd\xed\xb8\x80", 0, false, "CESU-8 pair"},
    {"\xf4\x90\x80\x80", 0, false, "U+110000"},
    {"\xf5\x80\x80\x80", 0, false, "F5 lead"},
    {"\xf7\xbf\xbf\xbf", 0, false, "F7 lead"},
    {"\xf8\x88\x80\x80\x80", 0, false, "5-byte form"},
    {"\xfc\x84\x80\x80\x80\x80", 0, false, "6-byte form"},
    {"\xfe", 0, false, "FE"},
    {"\xff", 0, false, "FF"},
    {"\x80", 0, false, "lone continuation"},
    {"a\xbf", 0, false, "continuation after ascii"},
    {"\xc3", 0, false, "truncated 2-byte"},
    {"\xe2\x82", 0, false, "truncated 3-byte"},
    {"\xf0\x9f\x98", 0, false, "truncated 4-byte"},
    {"\xc3\xa9", 1, false, "truncated by len"},
    {"\xf0\x9f\x98\x80", 3, false, "4-byte truncated by len"},
    {"\xc3\x41", 0, false, "bad continuation"},
    {"\xe2\x28\xa1", 0, false, "bad 2nd byte"},
    {"\xe2\x82\x28", 0, false, "bad 3rd byte"},
    {"a\0b", 3, false, "NUL byte"},
    {"\0", 1, false, "only NUL"},
    {NULL, 0, false, NULL},
};

static void
test_utf8_valid(void **state)
{
	(void)state;
	for (const struct utf8_case *c = utf8_cases; c->s; c++) {
		size_t len = c->len ? c->len : strlen(c->s);
		if (utf8_valid(c->s, len) != c->ok)
			fail_msg("utf8_valid(%s) != %s", c->what,
			    c->ok ? "true" : "false");
	}
	/* len is honoured: bytes past it are not looked at */
	assert_true(utf8_valid("ab\xff", 2));
	assert_true(utf8_valid("\xff", 0));
}

/* The eight-bytes-at-a-time ASCII path: each case after 0..17 ASCII bytes
 * and before 0..9 more gives the same answer, and a NUL or a stray byte
 * at any offset of a long ASCII run is found. */
static void
test_utf8_valid_runs(void **state)
{
	char b[128];

	(void)state;
	for (const struct utf8_case *c = utf8_cases; c->s; c++) {
		size_t len;
		if (c->len != 0)
			continue;
		len = strlen(c->s);
		for (size_t pre = 0; pre <= 17; pre++) {
			for (size_t post = 0; post <= 9; post++) {
				memset(b, 'x', pre);
				memcpy(b + pre, c->s, len);
				memset(b + pre + len, 'y', post);
				if (utf8_valid(b, pre + len + post) != c->ok)
					fail_msg("utf8_valid(%zu + %s + %zu) "
						 "!= %s",
					    pre, c->what, post,
					    c->ok ? "true" : "false");
			}
		}
	}
	for (size_t n = 0; n <= 40; n++) {
		memset(b, 'a', n);
		assert_true(utf8_valid(b, n));
		for (size_t at = 0; at < n; at++) {
			b[at] = '\0';
			assert_false(utf8_valid(b, n));
			b[at] = (char)0x80;
			assert_false(utf8_valid(b, n));
			b[at] = (char)0xff;
			assert_false(utf8_valid(b, n));
			b[at] = 'a';
		}
		/* a bad byte just past len is not looked at */
		b[n] = (char)0xff;
		assert_true(utf8_valid(b, n));
	}
}

static void
test_utf8_chars(void **state)
{
	static const struct {
		const char *s;
		size_t n;
	} cases[] = {
	    {"", 0},
	    {"abc", 3},
	    {"h\xc3\xa9llo", 5},
	    {"\xe2\x82\xac\xf0\x9f\x98\x80", 2},
	    {"\xe4\xb8\xad\xe6\x96\x87", 2},
	    {"a\xf4\x8f\xbf\xbf"
	     "b",
		3},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(utf8_chars(cases[i].s), cases[i].n);
}

static void
test_has_crlf(void **state)
{
	static const struct addr_case cases[] = {
	    {"", false},
	    {"plain", false},
	    {"tab\there", false},
	    {"a\rb", true},
	    {"a\nb", true},
	    {"\r\n", true},
	    {"end\n", true},
	    {"\rstart", true},
	    {"\xc2\x85 NEL is not CR/LF", false},
	    {NULL, false},
	};

	(void)state;
	for (const struct addr_case *c = cases; c->s; c++)
		assert_int_equal(has_crlf(c->s), c->ok);
}

/* --- struct buf --- */

static void
test_buf_growth(void **state)
{
	struct buf b;
	char *big;

	(void)state;
	buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);

	/* an empty add still gives a NUL-terminated string */
	buf_add(&b, "", 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);

	for (size_t i = 0; i < 10000; i++) {
		buf_addc(&b, (char)('a' + i % 26));
		assert_int_equal(b.len, i + 1);
		assert_true(b.cap > b.len);
		assert_int_equal(b.data[b.len], '\0');
	}
	for (size_t i = 0; i < 10000; i++)
		assert_int_equal(b.data[i], (char)('a' + i % 26));
	buf_reset(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);

	/* embedded NUL bytes are kept; len counts them */
	buf_add(&b, "a\0b", 3);
	buf_adds(&b, "cd");
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "a\0bcd", 6);
	buf_reset(&b);

	/* one add far larger than the first capacity */
	big = xmalloc(100000);
	memset(big, 'x', 100000);
	buf_adds(&b, "<");
	buf_add(&b, big, 100000);
	buf_adds(&b, ">");
	assert_int_equal(b.len, 100002);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[100001], '>');
	assert_int_equal(b.data[100002], '\0');
	assert_memory_equal(b.data + 1, big, 100000);
	free(big);
	buf_reset(&b);

	/* buf_addf: appends, including output longer than the capacity */
	buf_addf(&b, "%s=%d;", "n", 42);
	buf_addf(&b, "%0300d", 7);
	assert_int_equal(b.len, 5 + 300);
	assert_memory_equal(b.data, "n=42;000", 8);
	assert_int_equal(b.data[b.len - 1], '7');
	assert_int_equal(b.data[b.len], '\0');
	buf_reset(&b);
}

/* --- uuid_v4, hex_encode, strings --- */

static void
check_uuid(const char *u)
{
	assert_int_equal(strlen(u), 36);
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else if (strchr("0123456789abcdef", u[i]) == NULL || !u[i])
			fail_msg("uuid %s: bad char at %zu", u, i);
	}
	assert_int_equal(u[14], '4');           /* version */
	assert_non_null(strchr("89ab", u[19])); /* RFC 4122 variant */
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_uuid_v4(void **state)
{
	enum { N = 2000 };
	char(*u)[37] = xcalloc(N, sizeof(*u));
	int seen[16] = {0};

	(void)state;
	for (size_t i = 0; i < N; i++) {
		uuid_v4(u[i]);
		check_uuid(u[i]);
		seen[strchr("0123456789abcdef", u[i][0]) -
		     "0123456789abcdef"]++;
	}
	/* random, not a counter: distinct, and the first digit varies */
	qsort(u, N, sizeof(*u), str_cmp);
	for (size_t i = 1; i < N; i++)
		assert_int_not_equal(strcmp(u[i - 1], u[i]), 0);
	for (size_t i = 0; i < 16; i++)
		assert_true(seen[i] > 0);
	free(u);
}

static void
test_hex_and_strings(void **state)
{
	char hex[9], *s;

	(void)state;
	hex_encode(hex, (const unsigned char *)"\x00\x9f\xa0\xff", 4);
	assert_string_equal(hex, "009fa0ff");
	hex_encode(hex, (const unsigned char *)"", 0);
	assert_string_equal(hex, "");

	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xasprintf("%s-%05d", "x", 42);
	assert_string_equal(s, "x-00042");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_round_trip),
	    cmocka_unit_test(test_base64_rejects),
	    cmocka_unit_test(test_email_valid),
	    cmocka_unit_test(test_email_max_len),
	    cmocka_unit_test(test_domain_valid),
	    cmocka_unit_test(test_domain_length),
	    cmocka_unit_test(test_utf8_valid),
	    cmocka_unit_test(test_utf8_valid_runs),
	    cmocka_unit_test(test_utf8_chars),
	    cmocka_unit_test(test_has_crlf),
	    cmocka_unit_test(test_buf_growth),
	    cmocka_unit_test(test_uuid_v4),
	    cmocka_unit_test(test_hex_and_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
