/*
 * test_dkim.c: dkim.c. Relaxed canonicalization of header fields and
 * bodies case by case (RFC 6376 3.4.2, 3.4.4, the example of 3.4.5), body
 * hashes against values python3-dkim computed, the signatures of
 * tests/vectors/dkim/cases.txt byte for byte (python3-dkim verified each
 * when it was made; tests/integration/dkim_verify.test.js re-verifies),
 * the folding of the header, and every refusal: keys, domains,
 * selectors, header lists, timestamps and malformed messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "util.h"

#define EMPTY_BH   "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define SIMPLE_MSG "simple.eml"
#define MAX_NAMES  32

struct canon_case {
	const char *what;
	const char *in;
	size_t len;       /* 0: strlen(in) */
	const char *want; /* NULL: refused */
	size_t want_len;  /* 0: strlen(want) */
};

/* Header fields without their final CRLF; want ends in CRLF. */
static const struct canon_case header_cases[] = {
    {"plain", "Subject: Hello", 0, "subject:Hello\r\n", 0},
    {"name lower-cased", "MESSAGE-ID: <a@b>", 0, "message-id:<a@b>\r\n", 0},
    {"value case kept", "To: Bob <BOB@Example.COM>", 0,
	"to:Bob <BOB@Example.COM>\r\n", 0},
    {"no space after colon", "MIME-Version:1.0", 0, "mime-version:1.0\r\n", 0},
    {"WSP runs", "Subject:   a  \t b\t\tc", 0, "subject:a b c\r\n", 0},
    {"trailing WSP", "Subject: a \t ", 0, "subject:a\r\n", 0},
    {"WSP before colon", "Subject \t: x", 0, "subject:x\r\n", 0},
    {"empty value", "Subject:", 0, "subject:\r\n", 0},
    {"blank value", "Subject: \t ", 0, "subject:\r\n", 0},
    {"folded", "Subject: a\r\n b", 0, "subject:a b\r\n", 0},
    {"folded with tab and blanks", "Subject: a \r\n\t b\t", 0,
	"subject:a b\r\n", 0},
    {"folded three lines", "To: a,\r\n\tb,\r\n  c", 0, "to:a, b, c\r\n", 0},
    {"value on next line", "Message-ID:\r\n <x@y>", 0, "message-id:<x@y>\r\n",
	0},
    {"python3-dkim case", "SUBJECT :   a \r\n\t b  \t", 0, "subject:a b\r\n",
	0},
    {"UTF-8 bytes kept", "Subject: \xe4\xbd\xa0\xe5\xa5\xbd  \xe4\xb8\x96", 0,
	"subject:\xe4\xbd\xa0\xe5\xa5\xbd \xe4\xb8\x96\r\n", 0},
    {"encoded word", "Subject: =?UTF-8?B?5L2g5aW9?=  x", 0,
	"subject:=?UTF-8?B?5L2g5aW9?= x\r\n", 0},
    {"other controls kept", "X-A: a\vb", 0, "x-a:a\vb\r\n", 0},
    {"colon in value", "X-A: b: c", 0, "x-a:b: c\r\n", 0},
    {"NUL in value", "X-A: a\0b", 8, "x-a:a\0b\r\n", 9},
    {"empty", "", 0, NULL, 0},
    {"no name", ": x", 0, NULL, 0},
    {"no colon", "Subject x", 0, NULL, 0},
    {"blank in name", "Sub ject: x", 0, NULL, 0},
    {"leading blank", " Subject: x", 0, NULL, 0},
    {"control in name", "Sub\x01ject: x", 0, NULL, 0},
    {"8-bit name", "Sub\xc3\xa9: x", 0, NULL, 0},
    {"bare LF", "Subject: a\nb", 0, NULL, 0},
    {"bare CR", "Subject: a\rb", 0, NULL, 0},
    {"CRLF without WSP", "Subject: a\r\nb", 0, NULL, 0},
    {"final CRLF", "Subject: a\r\n", 0, NULL, 0},
    {"CR at the end", "Subject: a\r", 0, NULL, 0},
    {"CRLF in name", "Sub\r\n ject: a", 0, NULL, 0},
    {NULL, NULL, 0, NULL, 0},
};

static const struct canon_case body_cases[] = {
    {"empty", "", 0, "", 0},
    {"one empty line", "\r\n", 0, "", 0},
    {"empty lines only", "\r\n\r\n\r\n", 0, "", 0},
    {"blank lines only", " \r\n\t\r\n  \t \r\n", 0, "", 0},
    {"blanks without CRLF", "  \t", 0, "", 0},
    {"no final CRLF", "abc", 0, "abc\r\n", 0},
    {"one line", "abc\r\n", 0, "abc\r\n", 0},
    {"trailing empty lines", "abc\r\n\r\n\r\n", 0, "abc\r\n", 0},
    {"trailing blank lines", "a\r\n  \r\n\t\r\n", 0, "a\r\n", 0},
    {"trailing WSP", "abc  \t\r\n", 0, "abc\r\n", 0},
    {"WSP runs", "  a   b\t\tc  \r\n", 0, " a b c\r\n", 0},
    {"leading tab", "\tx\r\n", 0, " x\r\n", 0},
    {"single spaces kept", "a b c d\r\n", 0, "a b c d\r\n", 0},
    {"tab between words", "a\tb c\r\n", 0, "a b c\r\n", 0},
    {"space then tab", "a \tb\r\n", 0, "a b\r\n", 0},
    {"space at the end", "a b ", 0, "a b\r\n", 0},
    {"space before CRLF", "a b \r\nc", 0, "a b\r\nc\r\n", 0},
    {"inner empty lines kept", "a\r\n\r\nb\r\n", 0, "a\r\n\r\nb\r\n", 0},
    {"inner blank line emptied", "a\r\n  \r\nb\r\n", 0, "a\r\n\r\nb\r\n", 0},
    {"RFC 6376 3.4.5", " C \r\nD \t E\r\n\r\n\r\n", 0, " C\r\nD E\r\n", 0},
    {"leading empty lines", "\r\n\r\nx", 0, "\r\n\r\nx\r\n", 0},
    {"dot line", ".\r\n..\r\n", 0, ".\r\n..\r\n", 0},
    {"8-bit", "\xe4\xbd\xa0 \t\xe5\xa5\xbd\r\n", 0,
	"\xe4\xbd\xa0 \xe5\xa5\xbd\r\n", 0},
    {"NUL", "a\0b\r\n", 5, "a\0b\r\n", 5},
    {"bare LF", "a\nb\r\n", 0, NULL, 0},
    {"bare LF at the end", "a\n", 0, NULL, 0},
    {"bare CR", "a\rb\r\n", 0, NULL, 0},
    {"CR at the end", "a\r", 0, NULL, 0},
    {"CR CR LF", "a\r\r\n", 0, NULL, 0},
    {"LF CR", "a\n\r", 0, NULL, 0},
    {"bare LF in trailing lines", "a\r\n\n", 0, NULL, 0},
    {NULL, NULL, 0, NULL, 0},
};

/* bh= values from python3-dkim (Relaxed.canonicalize_body + SHA-256). */
struct bh_case {
	const char *what;
	const char *body;
	const char *bh;
};

static const struct bh_case bh_cases[] = {
    {"empty", "", EMPTY_BH},
    {"one empty line", "\r\n", EMPTY_BH},
    {"blank lines only", " \r\n\t\r\n\r\n", EMPTY_BH},
    {"RFC 6376 3.4.5", " C \r\nD \t E\r\n\r\n\r\n",
	"unak6JHq0wL+Q1HP7dW1tjBx9FLA6DffoZ0qrLwbbpo="},
    {"simple.eml", "Hello there,\r\nthis is a test.\r\n",
	"6bKp4oQmtht+xBG1bvvc9RvVd5+dao+C+5NhhpO5CT0="},
    {"no final CRLF", "abc", "VSuraGTHp7aaUC7RhUuSRcDhow8AiqoLKB2mJYX9sCU="},
    {"inner blank lines", "a\r\n  \r\n\r\nb  \r\n\r\n",
	"SFh8erZISrt6Jo0tTtk8EO/1BfDisAl/Ht6k37OJmgk="},
    {NULL, NULL, NULL},
};

/* A valid message to break in the refusal tests. */
static const char good_msg[] = "From: a@example.com\r\n"
			       "To: b@example.net\r\n"
			       "Subject: s\r\n"
			       "\r\n"
			       "body\r\n";

struct refusal {
	const char *what;
	const char *domain;
	const char *selector;
	const char *headers[4]; /* {NULL}: default list */
	int own_list;           /* use headers even if empty */
	long long t;
	const char *msg; /* NULL: good_msg */
};

#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define L44 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr"
/* with domain "ab.cd": L44 makes s._domainkey.d 253 octets, L44 "s" 254 */
#define SEL_MAX L63 "." L63 "." L63 "." L44

static const struct refusal refusals[] = {
    {"empty domain", "", "s", {NULL}, 0, 1, NULL},
    {"single-label domain", "localhost", "s", {NULL}, 0, 1, NULL},
    {"domain with blank", "exa mple.com", "s", {NULL}, 0, 1, NULL},
    {"domain with ';'", "example.com;", "s", {NULL}, 0, 1, NULL},
    {"domain with CRLF", "example.com\r\nX: y", "s", {NULL}, 0, 1, NULL},
    {"domain with '='", "a=b.com", "s", {NULL}, 0, 1, NULL},
    {"domain label starts with '-'", "-a.com", "s", {NULL}, 0, 1, NULL},
    {"empty domain label", "a..com", "s", {NULL}, 0, 1, NULL},
    {"trailing dot", "example.com.", "s", {NULL}, 0, 1, NULL},
    {"64-octet domain label", L63 "x.com", "s", {NULL}, 0, 1, NULL},
    {"empty selector", "example.com", "", {NULL}, 0, 1, NULL},
    {"selector with ';'", "example.com", "a;b", {NULL}, 0, 1, NULL},
    {"selector with blank", "example.com", "a b", {NULL}, 0, 1, NULL},
    {"selector with CRLF", "example.com", "a\r\n b", {NULL}, 0, 1, NULL},
    {"selector with '_'", "example.com", "_s", {NULL}, 0, 1, NULL},
    {"selector ends with '.'", "example.com", "s.", {NULL}, 0, 1, NULL},
    {"selector starts with '.'", "example.com", ".s", {NULL}, 0, 1, NULL},
    {"selector with '..'", "example.com", "a..b", {NULL}, 0, 1, NULL},
    {"selector label ends with '-'", "example.com", "s-", {NULL}, 0, 1, NULL},
    {"64-octet selector label", "example.com", L63 "x", {NULL}, 0, 1, NULL},
    {"DNS name of 254", "ab.cd", SEL_MAX "s", {NULL}, 0, 1, NULL},
    {"empty header list", "example.com", "s", {NULL}, 1, 1, NULL},
    {"list without From", "example.com", "s", {"To", "Subject", NULL}, 1, 1,
	NULL},
    {"name with ':'", "example.com", "s", {"From", "X:Y", NULL}, 1, 1, NULL},
    {"name with ';'", "example.com", "s", {"From", "X;Y", NULL}, 1, 1, NULL},
    {"name with blank", "example.com", "s", {"From", "X Y", NULL}, 1, 1, NULL},
    {"name with CRLF", "example.com", "s", {"From", "X\r\n", NULL}, 1, 1, NULL},
    {"empty name", "example.com", "s", {"From", "", NULL}, 1, 1, NULL},
    {"t= of 13 digits", "example.com", "s", {NULL}, 0, DKIM_T_MAX + 1, NULL},
    {"no From field", "example.com", "s", {NULL}, 0, 1,
	"To: b@example.net\r\n\r\nbody\r\n"},
    {"From only in the body", "example.com", "s", {NULL}, 0, 1,
	"To: b@example.net\r\n\r\nFrom: a@example.com\r\n"},
    {"From listed, absent", "example.com", "s", {"From", "To", NULL}, 1, 1,
	"Fromage: x\r\nTo: b@example.net\r\n\r\n"},
    {"empty message", "example.com", "s", {NULL}, 0, 1, ""},
    {"continuation first", "example.com", "s", {NULL}, 0, 1,
	" x\r\nFrom: a@example.com\r\n\r\n"},
    {"line without colon", "example.com", "s", {NULL}, 0, 1,
	"From: a@example.com\r\nnot a header\r\n\r\n"},
    {"bare LF in header", "example.com", "s", {NULL}, 0, 1,
	"From: a@example.com\nTo: b@example.net\r\n\r\n"},
    {"bare CR in header", "example.com", "s", {NULL}, 0, 1,
	"From: a@example.com\rTo: b@example.net\r\n\r\n"},
    {"LF-only message", "example.com", "s", {NULL}, 0, 1,
	"From: a@example.com\n\nbody\n"},
    {"bare LF in body", "example.com", "s", {NULL}, 0, 1,
	"From: a@example.com\r\n\r\nline\nline\r\n"},
    {"bare CR in body", "example.com", "s", {NULL}, 0, 1,
	"From: a@example.com\r\n\r\nline\rline\r\n"},
    {NULL, NULL, NULL, {NULL}, 0, 0, NULL},
};

static const char *source_dir(void);
static char *vector_read(const char *, size_t *);
static struct dkim_key *key_load(const char *, const char **);
static void check_folding(const char *, const char *, size_t);
static const char *tag_find(const char *, const char *);
static char *tag_value(const char *, const char *);

/* Project root: $SESD_SOURCE_DIR (set by ctest), else from __FILE__. */
static const char *
source_dir(void)
{
	static const char suffix[] = "/tests/unit/test_dkim.c";
	static char dir[PATH_MAX];
	const char *env = getenv("SESD_SOURCE_DIR");
	const char *file = __FILE__;
	size_t root_len;

	if (env != NULL && env[0] != '\0')
		return env;
	if (strlen(file) <= strlen(suffix))
		return ".";
	root_len = strlen(file) - strlen(suffix);
	if (root_len >= sizeof(dir) || strcmp(file + root_len, suffix) != 0)
		return ".";
	memcpy(dir, file, root_len);
	dir[root_len] = '\0';
	return dir;
}

/* tests/vectors/dkim/name, whole; the caller frees it. */
static char *
vector_read(const char *name, size_t *len)
{
	char *path = xasprintf("%s/tests/vectors/dkim/%s", source_dir(), name);
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	free(path);
	*len = b.len;
	return b.data != NULL ? b.data : xstrdup("");
}

static struct dkim_key *
key_load(const char *name, const char **why)
{
	size_t len;
	char *pem = vector_read(name, &len);
	struct dkim_key *k = dkim_key_new(pem, len, why);

	free(pem);
	return k;
}

/* Lines of at most DKIM_LINE_MAX octets, CRLF then TAB between them,
 * CRLF at the end, no CR or LF elsewhere, no WSP before a line end. */
static void
check_folding(const char *what, const char *h, size_t len)
{
	size_t line = 0;

	if (len < 2 || h[len - 2] != '\r' || h[len - 1] != '\n')
		fail_msg("%s: header does not end in CRLF", what);
	if (strncmp(h, "DKIM-Signature: v=1; ", 21) != 0)
		fail_msg("%s: header starts \"%.21s\"", what, h);
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '\n')
			fail_msg("%s: bare LF at %zu", what, i);
		if (h[i] != '\r') {
			line++;
			continue;
		}
		if (line > DKIM_LINE_MAX)
			fail_msg(
			    "%s: line of %zu octets before %zu", what, line, i);
		if (h[i - 1] == ' ' || h[i - 1] == '\t')
			fail_msg("%s: WSP before CRLF at %zu", what, i);
		if (h[i + 1] != '\n' || (i + 2 < len && h[i + 2] != '\t'))
			fail_msg("%s: bad fold at %zu", what, i);
		line = 0;
		i++;
	}
}

/* The value of tag "name=" in a signature header, NULL if absent. */
static const char *
tag_find(const char *h, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = h; (p = strstr(p, name)) != NULL; p++)
		if (p[n] == '=' && (p[-1] == ' ' || p[-1] == '\t'))
			return p + n + 1;
	return NULL;
}

/* A tag's value without folding whitespace, or NULL; the caller frees. */
static char *
tag_value(const char *h, const char *name)
{
	const char *p = tag_find(h, name);
	struct buf v;

	if (p == NULL)
		return NULL;
	buf_init(&v);
	for (; *p != '\0' && *p != ';'; p++)
		if (*p != '\r' && *p != '\n' && *p != '\t' && *p != ' ')
			buf_addc(&v, *p);
	return v.data != NULL ? v.data : xstrdup("");
}

static void
test_canon_header_table(void **state)
{
	(void)state;
	for (const struct canon_case *c = header_cases; c->what; c++) {
		size_t len = c->len ? c->len : strlen(c->in);
		/* a heap copy of exactly len bytes: ASan sees any overread */
		char *in = xmalloc(len);
		struct buf out;
		int rc;

		memcpy(in, c->in, len);
		buf_init(&out);
		buf_adds(&out, "keep");
		rc = dkim_canon_header(&out, in, len);
		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("%s: accepted as \"%s\"", c->what,
				    out.data);
			if (out.len != 4 || strcmp(out.data, "keep") != 0)
				fail_msg("%s: out changed on refusal", c->what);
		} else {
			size_t wl = c->want_len ? c->want_len : strlen(c->want);

			if (rc != 0)
				fail_msg("%s: refused", c->what);
			if (out.len != 4 + wl ||
			    memcmp(out.data + 4, c->want, wl) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", c->what,
				    out.data + 4, c->want);
		}
		buf_reset(&out);
		free(in);
	}
}

static void
test_canon_body_table(void **state)
{
	(void)state;
	for (const struct canon_case *c = body_cases; c->what; c++) {
		size_t len = c->len ? c->len : strlen(c->in);
		char *in = xmalloc(len);
		struct buf out;
		int rc;

		memcpy(in, c->in, len);
		buf_init(&out);
		buf_adds(&out, "keep");
		rc = dkim_canon_body(&out, in, len);
		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("%s: accepted as \"%s\"", c->what,
				    out.data);
			if (out.len != 4 || strcmp(out.data, "keep") != 0)
				fail_msg("%s: out changed on refusal", c->what);
		} else {
			size_t wl = c->want_len ? c->want_len : strlen(c->want);

			if (rc != 0)
				fail_msg("%s: refused", c->what);
			if (out.len != 4 + wl ||
			    memcmp(out.data + 4, c->want, wl) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", c->what,
				    out.data + 4, c->want);
		}
		buf_reset(&out);
		free(in);
	}
}

/* Bodies longer than the 1 KiB chunk, WSP runs across chunk ends. */
static void
test_canon_body_long(void **state)
{
	struct buf in, want, out;
	char bh[DKIM_BH_SIZE];

	(void)state;
	buf_init(&in);
	buf_init(&want);
	buf_init(&out);
	for (int line = 0; line < 3; line++) {
		for (int i = 0; i < 700; i++)
			buf_addc(&in, 'x');
		buf_adds(&in, "   \t  ");
		for (int i = 0; i < 700; i++)
			buf_addc(&in, 'y');
		buf_adds(&in, "\t\r\n");
	}
	for (int i = 0; i < 5; i++)
		buf_adds(&in, "\r\n");
	for (int line = 0; line < 3; line++) {
		for (int i = 0; i < 700; i++)
			buf_addc(&want, 'x');
		buf_addc(&want, ' ');
		for (int i = 0; i < 700; i++)
			buf_addc(&want, 'y');
		buf_adds(&want, "\r\n");
	}
	assert_int_equal(dkim_canon_body(&out, in.data, in.len), 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.data, want.data, want.len);
	/* python3-dkim's hash of the same body */
	assert_int_equal(dkim_body_hash(in.data, in.len, bh), 0);
	assert_string_equal(bh, "RrLIVfEA2OU0DwtZ2kLmAHHL/Vf6lTABhnFVxI02uj8=");

	/* a refusal after whole chunks were written leaves out unchanged */
	buf_adds(&in, "x\ny\r\n");
	buf_reset(&out);
	buf_adds(&out, "keep");
	assert_int_equal(dkim_canon_body(&out, in.data, in.len), -1);
	assert_string_equal(out.data, "keep");
	assert_int_equal(out.len, 4);
	assert_int_equal(dkim_body_hash(in.data, in.len, bh), -1);
	buf_reset(&in);
	buf_reset(&want);
	buf_reset(&out);
}

static void
test_body_hash_known(void **state)
{
	char bh[DKIM_BH_SIZE];

	(void)state;
	for (const struct bh_case *c = bh_cases; c->what; c++) {
		size_t len = strlen(c->body);
		char *body = xmalloc(len);

		memcpy(body, c->body, len);
		memset(bh, 'z', sizeof(bh));
		if (dkim_body_hash(body, len, bh) != 0)
			fail_msg("%s: refused", c->what);
		if (strcmp(bh, c->bh) != 0)
			fail_msg("%s: bh=%s, want %s", c->what, bh, c->bh);
		free(body);
	}
	assert_int_equal(dkim_body_hash("a\nb", 3, bh), -1);
}

/* cases.txt: every vector signs to its python3-dkim-verified header. */
static void
test_vectors(void **state)
{
	size_t cases_len, n = 0;
	char *cases = vector_read("cases.txt", &cases_len), *save = NULL;

	(void)state;
	for (char *line = strtok_r(cases, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tok[7], *ts = NULL, *names_save = NULL, *sig_name;
		const char *names[MAX_NAMES + 1], *why = NULL;
		size_t nt = 0, nn = 0, msg_len, want_len;
		char *msg, *want;
		struct dkim_key *k;
		struct buf out;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		for (char *t = strtok_r(line, " \t", &ts); t != NULL && nt < 7;
		     t = strtok_r(NULL, " \t", &ts))
			tok[nt++] = t;
		assert_int_equal(nt, 7);
		if (strcmp(tok[6], "-") != 0) {
			for (char *t = strtok_r(tok[6], ":", &names_save);
			     t != NULL && nn < MAX_NAMES;
			     t = strtok_r(NULL, ":", &names_save))
				names[nn++] = t;
			names[nn] = NULL;
		}
		if ((k = key_load(tok[2], &why)) == NULL)
			fail_msg("%s: key %s refused: %s", tok[0], tok[2], why);
		msg = vector_read(tok[1], &msg_len);
		sig_name = xasprintf("%s.sig", tok[0]);
		want = vector_read(sig_name, &want_len);
		buf_init(&out);
		if (dkim_sign(k, tok[3], tok[4], nn ? names : NULL,
			strcmp(tok[5], "-") == 0 ? -1
						 : strtoll(tok[5], NULL, 10),
			msg, msg_len, &out, &why) != 0)
			fail_msg("%s: refused: %s", tok[0], why);
		if (out.len != want_len || memcmp(out.data, want, want_len))
			fail_msg(
			    "%s: got\n%s\nwant\n%s", tok[0], out.data, want);
		check_folding(tok[0], out.data, out.len);

		/* the key's contexts are reused: a second signature is the same
		 */
		out.len = 0;
		assert_int_equal(
		    dkim_sign(k, tok[3], tok[4], nn ? names : NULL,
			strcmp(tok[5], "-") == 0 ? -1
						 : strtoll(tok[5], NULL, 10),
			msg, msg_len, &out, &why),
		    0);
		assert_memory_equal(out.data, want, want_len);
		buf_reset(&out);
		free(want);
		free(sig_name);
		free(msg);
		dkim_key_free(k);
		n++;
	}
	assert_true(n >= 10);
	free(cases);
}

/* The tags as DESIGN.md 6 asks, h= without absent names, t= optional. */
static void
test_sign_tags(void **state)
{
	const char *why = NULL;
	struct dkim_key *k = key_load("key2048.pem", &why);
	size_t len;
	char *msg = vector_read("multipart.eml", &len), bh[DKIM_BH_SIZE], *v;
	static const char *const tags[][2] = {{"v", "1"}, {"a", "rsa-sha256"},
	    {"c", "relaxed/relaxed"}, {"d", "example.com"}, {"s", "qcloud"}};
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	struct buf out;

	(void)state;
	assert_non_null(k);
	buf_init(&out);
	assert_int_equal(dkim_sign(k, "example.com", "qcloud", NULL, -1, msg,
			     len, &out, &why),
	    0);
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		assert_non_null(v = tag_value(out.data, tags[i][0]));
		assert_string_equal(v, tags[i][1]);
		free(v);
	}
	assert_null(tag_find(out.data, "t"));
	/* multipart.eml has all nine default fields */
	assert_non_null(v = tag_value(out.data, "h"));
	assert_string_equal(v, "From:To:Subject:Date:Message-ID:MIME-Version:"
			       "Content-Type:List-Unsubscribe:"
			       "List-Unsubscribe-Post");
	free(v);
	assert_non_null(v = tag_value(out.data, "bh"));
	assert_int_equal(
	    dkim_body_hash(body, len - (size_t)(body - msg), bh), 0);
	assert_string_equal(v, bh);
	free(v);
	/* b= is last: 2048 bits are 344 base64 characters */
	assert_non_null(v = tag_value(out.data, "b"));
	assert_int_equal(strlen(v), 344);
	assert_int_equal(out.data[out.len - 3], '=');
	free(v);

	/* the largest t= fits, a header named twice is listed once */
	out.len = 0;
	{
		static const char *const list[] = {
		    "from", "FROM", "X-Absent", "subject", NULL};

		assert_int_equal(dkim_sign(k, "example.com", "qcloud", list,
				     DKIM_T_MAX, msg, len, &out, &why),
		    0);
	}
	assert_non_null(v = tag_value(out.data, "t"));
	assert_string_equal(v, "999999999999");
	free(v);
	assert_non_null(v = tag_value(out.data, "h"));
	assert_string_equal(v, "From:Subject");
	free(v);
	check_folding("t max", out.data, out.len);

	/* appends to what out holds */
	buf_reset(&out);
	buf_adds(&out, "prefix");
	assert_int_equal(dkim_sign(k, "example.com", "qcloud", NULL, 0, msg,
			     len, &out, NULL),
	    0);
	assert_memory_equal(out.data, "prefixDKIM-Signature: ", 22);
	assert_non_null(v = tag_value(out.data, "t"));
	assert_string_equal(v, "0");
	free(v);
	buf_reset(&out);
	free(msg);
	dkim_key_free(k);
}

/* A message without body or empty line still signs (empty bh). */
static void
test_sign_header_only(void **state)
{
	static const char *const msgs[] = {
	    "From: a@example.com\r\nTo: b@example.net\r\n",
	    "From: a@example.com\r\nTo: b@example.net",
	    "From: a@example.com\r\n\r\n",
	    NULL,
	};
	const char *why = NULL;
	struct dkim_key *k = key_load("key1024.pem", &why);
	struct buf out;
	char *v;

	(void)state;
	assert_non_null(k);
	buf_init(&out);
	for (const char *const *m = msgs; *m != NULL; m++) {
		out.len = 0;
		if (dkim_sign(k, "example.com", "s", NULL, 1, *m, strlen(*m),
			&out, &why) != 0)
			fail_msg("\"%s\" refused: %s", *m, why);
		assert_non_null(v = tag_value(out.data, "bh"));
		assert_string_equal(v, EMPTY_BH);
		free(v);
	}
	buf_reset(&out);
	dkim_key_free(k);
}

static void
test_sign_refusals(void **state)
{
	const char *why = NULL;
	struct dkim_key *k = key_load("key1024.pem", &why);
	struct buf out;

	(void)state;
	assert_non_null(k);
	buf_init(&out);
	for (const struct refusal *r = refusals; r->what; r++) {
		const char *msg = r->msg ? r->msg : good_msg;
		size_t len = strlen(msg);
		char *copy = xmalloc(len);
		int rc;

		memcpy(copy, msg, len);
		buf_reset(&out);
		buf_adds(&out, "keep");
		why = NULL;
		rc = dkim_sign(k, r->domain, r->selector,
		    r->own_list || r->headers[0] ? r->headers : NULL, r->t,
		    copy, len, &out, &why);
		if (rc != -1)
			fail_msg("%s: signed:\n%s", r->what, out.data);
		if (why == NULL || why[0] == '\0')
			fail_msg("%s: no reason", r->what);
		if (out.len != 4 || strcmp(out.data, "keep") != 0)
			fail_msg("%s: out changed", r->what);
		free(copy);
	}
	/* the same arguments are fine with the good message */
	buf_reset(&out);
	assert_int_equal(dkim_sign(k, "example.com", "s", NULL, 1, good_msg,
			     strlen(good_msg), &out, NULL),
	    0);
	/* longest selector that still fits: 253 octets in all */
	buf_reset(&out);
	assert_int_equal(strlen(SEL_MAX "._domainkey.ab.cd"), 253);
	assert_int_equal(dkim_sign(k, "ab.cd", SEL_MAX, NULL, 1, good_msg,
			     strlen(good_msg), &out, NULL),
	    0);
	buf_reset(&out);
	dkim_key_free(k);
}

struct key_case {
	const char *file;
	int bits; /* 0: refused */
};

static const struct key_case key_cases[] = {
    {"key1024.pem", 1024},
    {"key1024-pkcs1.pem", 1024},
    {"key2048.pem", 2048},
    {"key4096.pem", 4096},
    {"key512.pem", 0},
    {"key4104.pem", 0},
    {"key-ec.pem", 0},
    {"key-ed25519.pem", 0},
    {"key-rsapss.pem", 0},
    {"key1024-encrypted.pem", 0},
    {"key2048-public.pem", 0},
    {"cases.txt", 0},
    {NULL, 0},
};

static void
test_key_files(void **state)
{
	(void)state;
	for (const struct key_case *c = key_cases; c->file; c++) {
		const char *why = NULL;
		struct dkim_key *k = key_load(c->file, &why);

		if (c->bits == 0 && k != NULL)
			fail_msg("%s: accepted", c->file);
		if (c->bits == 0 && (why == NULL || why[0] == '\0'))
			fail_msg("%s: no reason", c->file);
		if (c->bits != 0 && k == NULL)
			fail_msg("%s: refused: %s", c->file, why);
		if (k != NULL)
			assert_int_equal(dkim_key_bits(k), c->bits);
		dkim_key_free(k);
	}
	dkim_key_free(NULL);
}

/* Cut or empty PEM text, and the PKCS#1 form of a key signs the same. */
static void
test_key_text(void **state)
{
	size_t len, len1, msg_len;
	char *pem = vector_read("key2048.pem", &len);
	char *pem1 = vector_read("key1024-pkcs1.pem", &len1);
	char *msg = vector_read(SIMPLE_MSG, &msg_len);
	const char *why = NULL;
	struct dkim_key *k, *k1;
	struct buf a, b;

	(void)state;
	assert_null(dkim_key_new(pem, 0, &why));
	assert_non_null(why);
	assert_null(dkim_key_new(NULL, 10, NULL));
	assert_null(dkim_key_new(pem, len / 2, &why));
	assert_null(dkim_key_new("-----BEGIN PRIVATE KEY-----\nAAAA\n"
				 "-----END PRIVATE KEY-----\n",
	    60, &why));
	/* exact length, no NUL after it */
	{
		char *copy = xmalloc(len);

		memcpy(copy, pem, len);
		assert_non_null(k = dkim_key_new(copy, len, NULL));
		dkim_key_free(k);
		free(copy);
	}

	assert_non_null(k = key_load("key1024.pem", NULL));
	assert_non_null(k1 = dkim_key_new(pem1, len1, NULL));
	buf_init(&a);
	buf_init(&b);
	assert_int_equal(dkim_sign(k, "example.com", "mail", NULL, 1764144000,
			     msg, msg_len, &a, NULL),
	    0);
	assert_int_equal(dkim_sign(k1, "example.com", "mail", NULL, 1764144000,
			     msg, msg_len, &b, NULL),
	    0);
	assert_string_equal(a.data, b.data);
	buf_reset(&a);
	buf_reset(&b);
	dkim_key_free(k);
	dkim_key_free(k1);
	free(pem);
	free(pem1);
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_canon_header_table),
	    cmocka_unit_test(test_canon_body_table),
	    cmocka_unit_test(test_canon_body_long),
	    cmocka_unit_test(test_body_hash_known),
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_sign_tags),
	    cmocka_unit_test(test_sign_header_only),
	    cmocka_unit_test(test_sign_refusals),
	    cmocka_unit_test(test_key_files),
	    cmocka_unit_test(test_key_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
