/*
 * test_mime.c: mime.c, table-driven. Known answers for dates,
 * quoted-printable, base64 lines, headers (plain, folded, RFC 2047
 * encoded-words) and whole messages; refusals of every malformed or
 * CR/LF-carrying field; and round trips through a small decoder written
 * here (unfolding, encoded-words, quoted-printable, base64, multipart
 * split) that also checks the line rules: CRLF only, at most 998 octets,
 * 76 in encoded bodies and on lines holding encoded-words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "util.h"

#define X10   "xxxxxxxxxx"
#define X60   X10 X10 X10 X10 X10 X10
#define X70   X60 X10
#define X73   X70 "xxx"
#define X74   X70 "xxxx"
#define X75   X70 "xxxxx"
#define X76   X70 "xxxxxx"
#define ZH5   "\xe4\xbd\xa0\xe4\xbd\xa0\xe4\xbd\xa0\xe4\xbd\xa0\xe4\xbd\xa0"
#define ZH20  ZH5 ZH5 ZH5 ZH5
#define EMO   "\xf0\x9f\x98\x80"
#define EMO5  EMO EMO EMO EMO EMO
#define EMO20 EMO5 EMO5 EMO5 EMO5
#define EA    "\xc3\xa9"
#define EA10  EA EA EA EA EA EA EA EA EA EA
#define QEA2  "=C3=A9"
#define QEA12 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2 QEA2

static uint64_t rng = 88172645463325252ULL;

static unsigned
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

/* --- the decoder and line checks --- */

/*
 * Every line of s ends in CRLF (if must_end), no bare CR or LF, no line
 * over max octets. Returns the longest line.
 */
static size_t
check_lines(const char *s, size_t len, size_t max, bool must_end)
{
	size_t start = 0, longest = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			fail_msg("bare LF at %zu", i);
		if (s[i] != '\r')
			continue;
		if (i + 1 >= len || s[i + 1] != '\n')
			fail_msg("bare CR at %zu", i);
		if (i - start > max)
			fail_msg("line at %zu: %zu octets > %zu", start,
			    i - start, max);
		if (i - start > longest)
			longest = i - start;
		i++;
		start = i + 1;
	}
	if (must_end && start != len)
		fail_msg("does not end in CRLF");
	if (len - start > max)
		fail_msg("last line %zu octets > %zu", len - start, max);
	return longest;
}

/* Offset of the empty line that ends the headers. */
static size_t
header_end(const char *msg, size_t len)
{
	const char *p = memmem(msg, len, "\r\n\r\n", 4);
	assert_non_null(p);
	return (size_t)(p - msg) + 2;
}

/*
 * The unfolded value (after "name:") of the one header called name in
 * the header block hdr (hlen bytes); raw gets it folded, as written.
 * Fails if absent or repeated.
 */
static void
get_header(const char *hdr, size_t hlen, const char *name, struct buf *val,
    struct buf *raw)
{
	size_t nlen = strlen(name), i = 0;
	int found = 0;

	while (i < hlen) {
		const char *eol = memmem(hdr + i, hlen - i, "\r\n", 2);
		size_t e = eol ? (size_t)(eol - hdr) : hlen, k;
		if (e - i > nlen && hdr[i + nlen] == ':' &&
		    strncasecmp(hdr + i, name, nlen) == 0) {
			found++;
			/* this line and its continuations */
			for (k = e; k + 2 < hlen && (hdr[k + 2] == ' ' ||
							hdr[k + 2] == '\t');) {
				const char *n2 = memmem(
				    hdr + k + 2, hlen - k - 2, "\r\n", 2);
				k = n2 ? (size_t)(n2 - hdr) : hlen;
			}
			if (raw)
				buf_add(raw, hdr + i, k - i);
			for (size_t j = i + nlen + 1; j < k; j++) {
				if (hdr[j] == '\r' && hdr[j + 1] == '\n') {
					j++;
					continue;
				}
				buf_addc(val, hdr[j]);
			}
			e = k;
		}
		i = e + 2;
	}
	if (found != 1)
		fail_msg("header %s found %d times", name, found);
	if (val->data == NULL)
		buf_adds(val, "");
}

/*
 * Decodes an unstructured value: encoded-words (=?UTF-8?B?...?=, each
 * checked to be at most 75 characters and whole UTF-8 on its own) and
 * plain text; white space between two encoded-words is dropped.
 */
static void
ew_decode(const char *v, struct buf *out, int *nwords)
{
	size_t i = 0, len = strlen(v);
	bool prev_ew = false;
	size_t pending_ws = 0, ws_start = 0;

	*nwords = 0;
	while (i < len) {
		if (v[i] == ' ' || v[i] == '\t') {
			if (pending_ws == 0)
				ws_start = i;
			pending_ws++;
			i++;
			continue;
		}
		size_t k = i;
		while (k < len && v[k] != ' ' && v[k] != '\t')
			k++;
		bool ew = k - i >= 12 &&
			  strncmp(v + i, "=?UTF-8?B?", 10) == 0 &&
			  strncmp(v + k - 2, "?=", 2) == 0;
		if (!(ew && prev_ew) && pending_ws)
			buf_add(out, v + ws_start, pending_ws);
		pending_ws = 0;
		if (ew) {
			size_t n = k - i - 12;
			unsigned char dec[64];
			long d;
			if (k - i > 75)
				fail_msg("encoded-word of %zu chars", k - i);
			d = base64_decode(dec, v + i + 10, n);
			if (d < 0)
				fail_msg("bad base64 in encoded-word");
			if (!utf8_valid((const char *)dec, (size_t)d))
				fail_msg("encoded-word splits a character");
			buf_add(out, dec, (size_t)d);
			(*nwords)++;
		} else {
			if (memmem(v + i, k - i, "=?", 2) != NULL)
				fail_msg("plain text holds \"=?\"");
			buf_add(out, v + i, k - i);
		}
		prev_ew = ew;
		i = k;
	}
	if (pending_ws)
		buf_add(out, v + ws_start, pending_ws);
	if (out->data == NULL)
		buf_adds(out, "");
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lower case is not what we write */
}

/* Quoted-printable to bytes; checks 76-character lines and no trailing
 * white space, and that only what must be escaped is. */
static void
qp_decode(const char *s, size_t len, struct buf *out)
{
	check_lines(s, len, 76, false);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r') {
			if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				fail_msg("trailing white space at %zu", i);
			buf_add(out, "\r\n", 2);
			i++;
			continue;
		}
		if (s[i] != '=') {
			buf_addc(out, s[i]);
			continue;
		}
		if (i + 2 < len + 1 && i + 1 < len && s[i + 1] == '\r') {
			i += 2; /* soft line break */
			continue;
		}
		if (i + 2 >= len || hexval(s[i + 1]) < 0 ||
		    hexval(s[i + 2]) < 0)
			fail_msg("bad escape at %zu", i);
		int c = hexval(s[i + 1]) << 4 | hexval(s[i + 2]);
		if (c > 32 && c < 127 && c != '=')
			fail_msg("needless escape of '%c'", c);
		buf_addc(out, (char)c);
		i += 2;
	}
	if (out->data == NULL)
		buf_adds(out, "");
}

/* base64 in 76-character CRLF lines to bytes. */
static void
b64_decode(const char *s, size_t len, struct buf *out)
{
	struct buf flat;
	unsigned char *dec;
	long n;

	check_lines(s, len, 76, false);
	buf_init(&flat);
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n')
			buf_addc(&flat, s[i]);
	dec = xmalloc(flat.len + 1);
	n = base64_decode(dec, flat.data ? flat.data : "", flat.len);
	if (n < 0)
		fail_msg("bad base64 body");
	buf_add(out, dec, (size_t)n);
	free(dec);
	buf_reset(&flat);
}

/* LF without CR before it becomes CRLF: what the parts must carry. */
static void
normalize(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			buf_addc(out, '\r');
		buf_addc(out, s[i]);
	}
	if (out->data == NULL)
		buf_adds(out, "");
}

/* A decoded message. */
struct parsed {
	struct buf text, html; /* decoded parts */
	bool has_text, has_html;
	char cte[2][24];
	char boundary[80];
	struct buf subject, from, to; /* decoded / unfolded values */
	int subject_words;
};

static void
parsed_free(struct parsed *p)
{
	buf_reset(&p->text);
	buf_reset(&p->html);
	buf_reset(&p->subject);
	buf_reset(&p->from);
	buf_reset(&p->to);
}

/* Decodes one entity (headers + body) whose header is at h, body at b. */
static void
decode_entity(
    const char *h, size_t hlen, const char *b, size_t blen, struct parsed *p)
{
	struct buf ct, cte;
	int k = -1; /* -O2 cannot see that fail_msg() below never returns */

	buf_init(&ct);
	buf_init(&cte);
	get_header(h, hlen, "Content-Type", &ct, NULL);
	get_header(h, hlen, "Content-Transfer-Encoding", &cte, NULL);
	if (strcmp(ct.data, " text/plain; charset=UTF-8") == 0) {
		k = 0;
		p->has_text = true;
	} else if (strcmp(ct.data, " text/html; charset=UTF-8") == 0) {
		k = 1;
		p->has_html = true;
	} else
		fail_msg("Content-Type%s", ct.data);
	snprintf(p->cte[k], sizeof(p->cte[k]), "%s", cte.data + 1);
	if (strcmp(cte.data, " quoted-printable") == 0)
		qp_decode(b, blen, k ? &p->html : &p->text);
	else if (strcmp(cte.data, " base64") == 0)
		b64_decode(b, blen, k ? &p->html : &p->text);
	else
		fail_msg("Content-Transfer-Encoding%s", cte.data);
	buf_reset(&ct);
	buf_reset(&cte);
}

/* Parses a message built by mime_build; fails on any rule broken. */
static void
parse(const char *msg, size_t len, struct parsed *p)
{
	size_t he = header_end(msg, len);
	struct buf ct, v;

	memset(p, 0, sizeof(*p));
	check_lines(msg, len, 998, true);
	/* every header line: a field or a continuation */
	for (size_t i = 0; i < he;
	     i = (size_t)((const char *)memmem(msg + i, he - i, "\r\n", 2) -
			  msg) +
		 2)
		if (msg[i] != ' ' && msg[i] != '\t' &&
		    memchr(msg + i, ':', he - i) == NULL)
			fail_msg("header line without a colon");
	buf_init(&v);
	get_header(msg, he, "Subject", &v, NULL);
	/* one space separates the colon from a non-empty value */
	ew_decode(v.data[0] == ' ' ? v.data + 1 : v.data, &p->subject,
	    &p->subject_words);
	buf_reset(&v);
	get_header(msg, he, "From", &p->from, NULL);
	get_header(msg, he, "To", &p->to, NULL);
	get_header(msg, he, "MIME-Version", &v, NULL);
	assert_string_equal(v.data, " 1.0");
	buf_reset(&v);

	buf_init(&ct);
	get_header(msg, he, "Content-Type", &ct, NULL);
	if (strncmp(ct.data, " multipart/alternative; boundary=\"", 34) != 0) {
		decode_entity(msg, he, msg + he + 2, len - he - 2, p);
		/* a single part ends in CRLF: real or a QP soft break */
		buf_reset(&ct);
		return;
	}
	const char *bs = ct.data + 34, *be = strchr(bs, '"');
	assert_non_null(be);
	assert_int_equal(be[1], '\0');
	assert_true((size_t)(be - bs) < sizeof(p->boundary));
	memcpy(p->boundary, bs, (size_t)(be - bs));
	buf_reset(&ct);

	/* body: "--B" CRLF part CRLF "--B" CRLF part CRLF "--B--" CRLF */
	struct buf delim;
	const char *body = msg + he + 2, *end = msg + len;
	buf_init(&delim);
	buf_addf(&delim, "--%s\r\n", p->boundary);
	assert_true(body + delim.len <= end);
	assert_memory_equal(body, delim.data, delim.len);
	const char *part = body + delim.len;
	buf_reset(&delim);
	buf_addf(&delim, "\r\n--%s", p->boundary);
	for (int n = 0;; n++) {
		const char *nx =
		    memmem(part, (size_t)(end - part), delim.data, delim.len);
		assert_non_null(nx);
		size_t plen = (size_t)(nx - part),
		       phe = header_end(part, plen + 2);
		decode_entity(part, phe, part + phe + 2,
		    plen >= phe + 2 ? plen - phe - 2 : 0, p);
		part = nx + delim.len;
		if (part + 4 == end && memcmp(part, "--\r\n", 4) == 0) {
			assert_int_equal(n, 1);
			break;
		}
		assert_true(part + 2 <= end);
		assert_memory_equal(part, "\r\n", 2);
		part += 2;
		assert_true(n < 1);
	}
	buf_reset(&delim);
}

/* --- a base message --- */

static const struct mime_header base_extra[] = {
    {"List-Unsubscribe", "<https://example.com/u/abc>"},
    {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
};

static struct mime_msg
base_msg(void)
{
	struct mime_msg m;

	memset(&m, 0, sizeof(m));
	m.from_addr = "news@example.com";
	m.from_name = "Example News";
	m.to_addr = "bob@example.org";
	m.subject = "Hello Bob";
	m.date = 1795676645; /* 2026-11-26 07:04:05 UTC */
	m.utc_offset_min = 480;
	m.message_id = "20261126.42.7@mail.example.com";
	m.headers = base_extra;
	m.nheaders = 2;
	m.text = "Hi Bob,\nprice = 5\n";
	m.text_len = strlen(m.text);
	return m;
}

static void
build_ok(const struct mime_msg *m, struct buf *out, size_t *he)
{
	const char *err = NULL;

	if (mime_build(m, out, he, &err) != 0)
		fail_msg("mime_build refused: %s", err);
	assert_null(err);
}

/* --- dates --- */

struct date_case {
	int64_t t;
	int off;
	const char *want; /* NULL: refused */
};

static const struct date_case date_cases[] = {
    {0, 0, "Thu, 01 Jan 1970 00:00:00 +0000"},
    {1795676645, 480, "Thu, 26 Nov 2026 15:04:05 +0800"},
    {1795676645, 0, "Thu, 26 Nov 2026 07:04:05 +0000"},
    {1795676645, -300, "Thu, 26 Nov 2026 02:04:05 -0500"},
    {1795676645, -480, "Wed, 25 Nov 2026 23:04:05 -0800"},
    {1795676645, 330, "Thu, 26 Nov 2026 12:34:05 +0530"},
    {1795676645, -570, "Wed, 25 Nov 2026 21:34:05 -0930"},
    {1709251199, 0, "Thu, 29 Feb 2024 23:59:59 +0000"},
    {1709251199, 1, "Fri, 01 Mar 2024 00:00:59 +0001"},
    {1709251199, 1439, "Fri, 01 Mar 2024 23:58:59 +2359"},
    {1709251199, -1439, "Thu, 29 Feb 2024 00:00:59 -2359"},
    {951782400, 0, "Tue, 29 Feb 2000 00:00:00 +0000"},
    {-1, 0, "Wed, 31 Dec 1969 23:59:59 +0000"},
    {253402300799, 0, "Fri, 31 Dec 9999 23:59:59 +0000"},
    {253402300799, 60, NULL}, /* year 10000 */
    {253402300800, 0, NULL},
    {-2208988801, 0, NULL}, /* 1899 */
    {0, 1440, NULL},
    {0, -1440, NULL},
    {0, 100000, NULL},
};

static void
test_date(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]);
	     i++) {
		const struct date_case *c = &date_cases[i];
		char out[MIME_DATE_MAX];
		int rc = mime_date(out, (time_t)c->t, c->off);

		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("%lld %d: accepted \"%s\"",
				    (long long)c->t, c->off, out);
			continue;
		}
		if (rc != 0)
			fail_msg("%lld %d: refused", (long long)c->t, c->off);
		assert_string_equal(out, c->want);
	}
}

/* --- quoted-printable --- */

struct qp_case {
	const char *what;
	const char *in;
	size_t len; /* 0: strlen */
	const char *want;
};

static const struct qp_case qp_cases[] = {
    {"empty", "", 0, ""},
    {"plain", "hello", 0, "hello"},
    {"equals", "a=b", 0, "a=3Db"},
    {"trailing spaces", "trailing  \n", 0, "trailing =20\r\n"},
    {"trailing tab", "tab\t\nx", 0, "tab=09\r\nx"},
    {"space at end of input", "end ", 0, "end=20"},
    {"inner white space", "a \t b", 0, "a \t b"},
    {"white space only", "\t \n", 0, "\t=20\r\n"},
    {"one space", " ", 0, "=20"},
    {"non-ASCII", "caf\xc3\xa9", 0, "caf=C3=A9"},
    {"controls and high", "\x01\x7f\xff", 0, "=01=7F=FF"},
    {"NUL", "a\0b", 3, "a=00b"},
    {"LF and CRLF", "a\r\nb\nc", 0, "a\r\nb\r\nc"},
    {"lone CR", "a\rb", 0, "a=0Db"},
    {"CR at end", "a\r", 0, "a=0D"},
    {"CR CR LF", "a\r\r\nb", 0, "a=0D\r\nb"},
    {"empty lines", "\n\n", 0, "\r\n\r\n"},
    {"ends in LF", "x\n", 0, "x\r\n"},
    {"76 characters", X76, 0, X76},
    {"77 characters", X76 "x", 0, X75 "=\r\nxx"},
    {"150 characters", X75 X75, 0, X75 "=\r\n" X75},
    {"escape would pass 76", X74 "=", 0, X74 "=\r\n=3D"},
    {"escape ends at 76", X73 "=", 0, X73 "=3D"},
    {"escape before the end", X73 "==", 0, X73 "=\r\n=3D=3D"},
    {"trailing space past 76", X75 " ", 0, X75 "=\r\n=20"},
    {"space before last", X74 " y", 0, X74 " y"},
    {"space needs the break", X75 " y", 0, X75 "=\r\n y"},
    {"escapes never split", EA10 EA10 EA10, 0,
	QEA12 "=C3=\r\n=A9" QEA12 "=\r\n" QEA2 QEA2 QEA2 QEA2 QEA2},
    {"long line then short", X76 "x\nab", 0, X75 "=\r\nxx\r\nab"},
    {"leading dot and From", ".\nFrom x", 0, ".\r\nFrom x"},
    {NULL, NULL, 0, NULL},
};

static void
test_qp_vectors(void **state)
{
	(void)state;
	for (const struct qp_case *c = qp_cases; c->what; c++) {
		size_t len = c->len ? c->len : strlen(c->in);
		char *in = xmalloc(len ? len : 1);
		struct buf out, dec, norm;

		memcpy(in, c->in, len);
		buf_init(&out);
		mime_qp_encode(&out, in, len);
		if (strcmp(out.data ? out.data : "", c->want) != 0)
			fail_msg("%s: \"%s\", want \"%s\"", c->what,
			    out.data ? out.data : "", c->want);
		buf_init(&dec);
		buf_init(&norm);
		qp_decode(out.data ? out.data : "", out.len, &dec);
		normalize(in, len, &norm);
		if (dec.len != norm.len || memcmp(dec.data, norm.data, dec.len))
			fail_msg("%s: round trip differs", c->what);
		buf_reset(&out);
		buf_reset(&dec);
		buf_reset(&norm);
		free(in);
	}
}

/* Random bytes biased to the interesting ones, every length to 400. */
static void
test_qp_round_trip(void **state)
{
	static const char pick[] = "ab =\t\r\n.\xc3\xa9\xff";

	(void)state;
	for (size_t len = 0; len <= 400; len++) {
		for (int rep = 0; rep < 8; rep++) {
			char *in = xmalloc(len ? len : 1);
			struct buf out, dec, norm;

			for (size_t i = 0; i < len; i++)
				in[i] = next_rand() % 4 == 0
					    ? (char)(next_rand() & 0xff)
					    : pick[next_rand() %
						   (sizeof(pick) - 1)];
			buf_init(&out);
			buf_init(&dec);
			buf_init(&norm);
			mime_qp_encode(&out, in, len);
			qp_decode(out.data ? out.data : "", out.len, &dec);
			normalize(in, len, &norm);
			assert_int_equal(dec.len, norm.len);
			assert_memory_equal(dec.data, norm.data, dec.len);
			buf_reset(&out);
			buf_reset(&dec);
			buf_reset(&norm);
			free(in);
		}
	}
}

/* --- base64 lines --- */

static void
test_base64_lines(void **state)
{
	unsigned char in[400];
	struct buf out, dec;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	buf_init(&out);
	mime_base64_encode(&out, in, 57);
	assert_string_equal(out.data, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx"
				      "wdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4");
	buf_reset(&out);
	mime_base64_encode(&out, in, 58);
	assert_string_equal(out.data, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGx"
				      "wdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4"
				      "\r\nOQ==");
	buf_reset(&out);
	mime_base64_encode(&out, in, 0);
	assert_int_equal(out.len, 0);
	buf_reset(&out);
	for (size_t len = 0; len <= sizeof(in); len++) {
		buf_init(&out);
		buf_init(&dec);
		mime_base64_encode(&out, in, len);
		/* full lines of 76, never a trailing CRLF */
		assert_int_equal(out.len,
		    (len + 2) / 3 * 4 + (len ? (len - 1) / 57 * 2 : 0));
		b64_decode(out.data ? out.data : "", out.len, &dec);
		assert_int_equal(dec.len, len);
		if (len)
			assert_memory_equal(dec.data, in, len);
		buf_reset(&out);
		buf_reset(&dec);
	}
}

/* --- whole messages --- */

static const char golden_text[] =
    "From: Example News <news@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Hello Bob\r\n"
    "Date: Thu, 26 Nov 2026 15:04:05 +0800\r\n"
    "Message-ID: <20261126.42.7@mail.example.com>\r\n"
    "List-Unsubscribe: <https://example.com/u/abc>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hi Bob,\r\n"
    "price =3D 5\r\n";

static void
test_golden_text(void **state)
{
	struct mime_msg m = base_msg();
	struct buf out;
	size_t he = 0;

	(void)state;
	buf_init(&out);
	build_ok(&m, &out, &he);
	assert_string_equal(out.data, golden_text);
	assert_int_equal(he, strstr(golden_text, "\r\n\r\n") + 2 - golden_text);

	/* no final line break: a soft break ends the message in CRLF */
	buf_reset(&out);
	m.text = "no newline";
	m.text_len = strlen(m.text);
	m.headers = NULL;
	m.nheaders = 0;
	m.from_name = NULL;
	m.reply_to = "help@example.com";
	build_ok(&m, &out, NULL);
	assert_string_equal(out.data,
	    "From: news@example.com\r\n"
	    "To: bob@example.org\r\n"
	    "Reply-To: help@example.com\r\n"
	    "Subject: Hello Bob\r\n"
	    "Date: Thu, 26 Nov 2026 15:04:05 +0800\r\n"
	    "Message-ID: <20261126.42.7@mail.example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "no newline=\r\n");

	/* html only, base64, empty subject */
	buf_reset(&out);
	m.text = NULL;
	m.text_len = 0;
	m.html = "<p>\xe4\xbd\xa0\xe5\xa5\xbd</p>";
	m.html_len = strlen(m.html);
	m.subject = "";
	m.reply_to = "";
	build_ok(&m, &out, NULL);
	assert_string_equal(out.data,
	    "From: news@example.com\r\n"
	    "To: bob@example.org\r\n"
	    "Subject:\r\n"
	    "Date: Thu, 26 Nov 2026 15:04:05 +0800\r\n"
	    "Message-ID: <20261126.42.7@mail.example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/html; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "PHA+5L2g5aW9PC9wPg==\r\n");

	/* an empty body */
	buf_reset(&out);
	m.html = "";
	m.html_len = 0;
	build_ok(&m, &out, &he);
	assert_int_equal(out.len, he + 2);
	assert_memory_equal(out.data + he - 2, "\r\n\r\n", 4);
	buf_reset(&out);
}

/* "@B@" stands for the boundary. */
static const char golden_multi[] =
    "From: Example News <news@example.com>\r\n"
    "To: bob@example.org\r\n"
    "Subject: Hello Bob\r\n"
    "Date: Thu, 26 Nov 2026 15:04:05 +0800\r\n"
    "Message-ID: <20261126.42.7@mail.example.com>\r\n"
    "List-Unsubscribe: <https://example.com/u/abc>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"@B@\"\r\n"
    "\r\n"
    "--@B@\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hi Bob,\r\n"
    "price =3D 5\r\n"
    "\r\n"
    "--@B@\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>Hi Bob,</p>\r\n"
    "<p>caf=C3=A9</p>\r\n"
    "--@B@--\r\n";

static void
test_golden_multipart(void **state)
{
	struct mime_msg m = base_msg();
	struct buf out, again, want;
	struct parsed p;
	size_t he = 0;
	const char *b, *e;
	char bnd[64];

	(void)state;
	m.html = "<p>Hi Bob,</p>\n<p>caf\xc3\xa9</p>";
	m.html_len = strlen(m.html);
	buf_init(&out);
	build_ok(&m, &out, &he);

	b = strstr(out.data, "boundary=\"");
	assert_non_null(b);
	b += 10;
	e = strchr(b, '"');
	assert_int_equal(e - b, 7 + 16);
	memcpy(bnd, b, (size_t)(e - b));
	bnd[e - b] = '\0';
	assert_memory_equal(bnd, "=_sesd_", 7);
	for (int i = 7; i < 23; i++)
		assert_non_null(strchr("0123456789abcdef", bnd[i]));

	buf_init(&want);
	for (const char *s = golden_multi; *s;) {
		const char *at = strstr(s, "@B@");
		size_t n = at ? (size_t)(at - s) : strlen(s);
		buf_add(&want, s, n);
		if (at == NULL)
			break;
		buf_adds(&want, bnd);
		s = at + 3;
	}
	assert_string_equal(out.data, want.data);
	assert_int_equal(he, strstr(want.data, "\r\n\r\n") + 2 - want.data);

	/* deterministic: same message, same bytes */
	buf_init(&again);
	build_ok(&m, &again, NULL);
	assert_string_equal(out.data, again.data);
	buf_reset(&again);

	parse(out.data, out.len, &p);
	assert_true(p.has_text && p.has_html);
	assert_string_equal(p.text.data, "Hi Bob,\r\nprice = 5\r\n");
	assert_string_equal(
	    p.html.data, "<p>Hi Bob,</p>\r\n<p>caf\xc3\xa9</p>");
	assert_string_equal(p.boundary, bnd);
	parsed_free(&p);
	buf_reset(&want);
	buf_reset(&out);
}

/* --- Subject --- */

struct subject_case {
	const char *what;
	const char *subject;
	const char *want; /* the raw header, folded; NULL: only properties */
	int words;        /* encoded-words expected; -1: some */
};

static const struct subject_case subject_cases[] = {
    {"ASCII kept", "Hello world", "Subject: Hello world", 0},
    {"empty", "", "Subject:", 0},
    {"ASCII punctuation", "50% off: a \"deal\" (today) <b>?",
	"Subject: 50% off: a \"deal\" (today) <b>?", 0},
    {"tab kept", "a\tb", "Subject: a\tb", 0},
    {"double spaces kept", "a  b ", "Subject: a  b ", 0},
    {"ASCII folded at 78",
	"The quick brown fox jumps over the lazy dog and keeps running "
	"around the big field until the sun goes down",
	"Subject: The quick brown fox jumps over the lazy dog and keeps "
	"running around\r\n the big field until the sun goes down",
	0},
    {"folds keep white-space runs", X60 "  yyyyyyyyyy\t\tzzzz",
	"Subject: " X60 "\r\n  yyyyyyyyyy\t\tzzzz", 0},
    {"exactly 78", X60 " 12345678", "Subject: " X60 " 12345678", 0},
    {"79 folds", X60 " 123456789", "Subject: " X60 "\r\n 123456789", 0},
    {"no fold without white space", X60 "=abcdefghij+klmnopq",
	"Subject: " X60 "=abcdefghij+klmnopq", 0},
    {"looks like an encoded-word",
	"=?UTF-8?B?SGk=?=", "Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?=", 1},
    {"two Chinese characters", "\xe4\xbd\xa0\xe5\xa5\xbd",
	"Subject: =?UTF-8?B?5L2g5aW9?=", 1},
    {"twenty Chinese characters", ZH20,
	"Subject: =?UTF-8?B?5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g"
	"5L2g?=\r\n =?UTF-8?B?5L2g5L2g5L2g5L2g5L2g5L2g5L2g?=",
	2},
    {"twenty emoji", EMO20,
	"Subject: =?UTF-8?B?8J+YgPCfmIDwn5iA8J+YgPCfmIDwn5iA8J+YgPCfmIDwn5iA?="
	"\r\n =?UTF-8?B?8J+YgPCfmIDwn5iA8J+YgPCfmIDwn5iA8J+YgPCfmIDwn5iA8J+Yg"
	"PCfmIA=?=",
	2},
    {"mixed", "Sale \xe2\x80\x93 Zo\xc3\xab", NULL, 1},
    {"emoji shifted by 1", "a" EMO20 EMO20, NULL, -1},
    {"emoji shifted by 2", "ab" EMO20 EMO20, NULL, -1},
    {"emoji shifted by 3", "abc" EMO20 EMO20, NULL, -1},
    {"2-byte characters", EA10 EA10 EA10 EA10 EA10, NULL, -1},
    {"unbreakable ASCII", NULL, NULL, -1}, /* filled in below */
    {"long ASCII, long words", NULL, NULL, 0},
    {NULL, NULL, NULL, 0},
};

static void
test_subject(void **state)
{
	char *unbreakable = xmalloc(1501), *longwords = xmalloc(3001);

	(void)state;
	memset(unbreakable, 'x', 1500);
	unbreakable[1500] = '\0';
	/* words of 200 characters: lines over 78 but far under 998 */
	for (int i = 0; i < 3000; i++)
		longwords[i] = i % 201 == 200 ? ' ' : 'w';
	longwords[3000] = '\0';

	for (const struct subject_case *c = subject_cases; c->what; c++) {
		struct mime_msg m = base_msg();
		struct buf out, val, raw;
		struct parsed p;
		size_t he;

		m.subject = c->subject;
		if (strcmp(c->what, "unbreakable ASCII") == 0)
			m.subject = unbreakable;
		if (strcmp(c->what, "long ASCII, long words") == 0)
			m.subject = longwords;
		buf_init(&out);
		build_ok(&m, &out, &he);
		buf_init(&val);
		buf_init(&raw);
		get_header(out.data, he, "Subject", &val, &raw);
		if (c->want != NULL && strcmp(raw.data, c->want) != 0)
			fail_msg(
			    "%s:\n%s\nwant\n%s", c->what, raw.data, c->want);
		parse(out.data, out.len, &p);
		if (strcmp(p.subject.data, m.subject) != 0)
			fail_msg(
			    "%s: decodes to \"%s\"", c->what, p.subject.data);
		if (c->words >= 0 && p.subject_words != c->words)
			fail_msg("%s: %d encoded-words, want %d", c->what,
			    p.subject_words, c->words);
		if (c->words < 0 && p.subject_words < 2)
			fail_msg(
			    "%s: %d encoded-words", c->what, p.subject_words);
		/* lines with encoded-words: 76 (RFC 2047); others 78 unless
		 * a word is longer */
		size_t longest = check_lines(raw.data, raw.len, 998, false);
		if (p.subject_words > 0 && longest > 76)
			fail_msg("%s: line of %zu", c->what, longest);
		/* exact answers may hold unbreakable runs */
		if (c->want == NULL && m.subject != longwords && longest > 78)
			fail_msg("%s: line of %zu", c->what, longest);
		parsed_free(&p);
		buf_reset(&val);
		buf_reset(&raw);
		buf_reset(&out);
	}
	free(unbreakable);
	free(longwords);
}

/* --- From --- */

struct from_case {
	const char *what;
	const char *name;
	const char *want; /* raw header; NULL: properties only */
};

static const struct from_case from_cases[] = {
    {"no name", NULL, "From: news@example.com"},
    {"empty name", "", "From: news@example.com"},
    {"one atom", "Alice", "From: Alice <news@example.com>"},
    {"atoms", "Alice Smith", "From: Alice Smith <news@example.com>"},
    {"atext specials", "a!#$%&'*+-/=^_`{|}~?z",
	"From: a!#$%&'*+-/=^_`{|}~?z <news@example.com>"},
    {"dot", "Alice B. Smith", "From: \"Alice B. Smith\" <news@example.com>"},
    {"comma", "Smith, Alice", "From: \"Smith, Alice\" <news@example.com>"},
    {"quote and backslash", "a \"q\" \\ b",
	"From: \"a \\\"q\\\" \\\\ b\" <news@example.com>"},
    {"angle and at", "<x@y>", "From: \"<x@y>\" <news@example.com>"},
    {"double space", "a  b", "From: \"a  b\" <news@example.com>"},
    {"leading space", " a", "From: \" a\" <news@example.com>"},
    {"trailing space", "a ", "From: \"a \" <news@example.com>"},
    {"looks encoded", "=?UTF-8?B?SGk=?=",
	"From: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?= <news@example.com>"},
    {"non-ASCII", "Zo\xc3\xab M\xc3\xbcller",
	"From: =?UTF-8?B?Wm/DqyBNw7xsbGVy?= <news@example.com>"},
    {"Chinese", ZH20,
	"From: =?UTF-8?B?5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g5L2g"
	"5L2g?=\r\n =?UTF-8?B?5L2g5L2g5L2g5L2g5L2g5L2g?= <news@example.com>"},
    {"long ASCII folds",
	"Alice Bernadette Catherine Dorothy Elizabeth Frances Georgina Smith",
	"From: Alice Bernadette Catherine Dorothy Elizabeth Frances Georgina "
	"Smith\r\n <news@example.com>"},
    {NULL, NULL, NULL},
};

static void
test_from(void **state)
{
	(void)state;
	for (const struct from_case *c = from_cases; c->what; c++) {
		struct mime_msg m = base_msg();
		struct buf out, val, raw;
		size_t he;

		m.from_name = c->name;
		buf_init(&out);
		build_ok(&m, &out, &he);
		buf_init(&val);
		buf_init(&raw);
		get_header(out.data, he, "From", &val, &raw);
		if (strcmp(raw.data, c->want) != 0)
			fail_msg(
			    "%s:\n%s\nwant\n%s", c->what, raw.data, c->want);
		check_lines(raw.data, raw.len, 78, false);
		buf_reset(&val);
		buf_reset(&raw);
		buf_reset(&out);
	}
}

/* A display name no 998-octet line can hold falls back to encoded-words;
 * a long non-ASCII one is split on character boundaries. */
static void
test_from_long(void **state)
{
	static const char *const fill[] = {"x", EA, "\xe4\xbd\xa0", EMO};

	(void)state;
	for (size_t f = 0; f < 4; f++) {
		struct mime_msg m = base_msg();
		struct buf out, val, raw, name, dec;
		size_t he;
		int words;

		buf_init(&name);
		while (name.len < 1200)
			buf_adds(&name, fill[f]);
		m.from_name = name.data;
		buf_init(&out);
		build_ok(&m, &out, &he);
		buf_init(&val);
		buf_init(&raw);
		get_header(out.data, he, "From", &val, &raw);
		assert_true(check_lines(raw.data, raw.len, 998, false) <= 76);
		/* the value: encoded-words, then " <addr>" */
		const char *lt = strrchr(val.data, '<');
		assert_non_null(lt);
		assert_string_equal(lt, "<news@example.com>");
		assert_true(lt > val.data && lt[-1] == ' ');
		val.data[lt - val.data - 1] = '\0';
		buf_init(&dec);
		ew_decode(val.data, &dec, &words);
		assert_true(words > 10);
		/* ew_decode keeps the one leading space before the first */
		assert_string_equal(dec.data + 1, name.data);
		buf_reset(&dec);
		buf_reset(&val);
		buf_reset(&raw);
		buf_reset(&out);
		buf_reset(&name);
	}
}

/* --- refusals --- */

enum field {
	F_NONE,
	F_FROM,
	F_NAME,
	F_TO,
	F_REPLY,
	F_SUBJECT,
	F_MSGID,
	F_XNAME,
	F_XVALUE,
	F_TEXT,
	F_HTML,
	F_OFFSET,
	F_DATE,
	F_NOBODY,
	F_XNULL,
};

struct refuse_case {
	const char *what;
	enum field field;
	const char *value;
	size_t len; /* bodies: 0 means strlen */
};

static const struct refuse_case refuse_cases[] = {
    {"From CRLF", F_FROM, "news@example.com\r\nBcc: x@example.net", 0},
    {"From LF", F_FROM, "news@example.com\n", 0},
    {"From missing", F_FROM, NULL, 0},
    {"From no domain dot", F_FROM, "news@localhost", 0},
    {"From with name", F_FROM, "News <news@example.com>", 0},
    {"From non-ASCII", F_FROM, "n\xc3\xa9ws@example.com", 0},
    {"name CRLF", F_NAME, "Evil\r\nBcc: x@example.net", 0},
    {"name CR", F_NAME, "Evil\r", 0},
    {"name LF", F_NAME, "\nEvil", 0},
    {"name TAB", F_NAME, "a\tb", 0},
    {"name ESC", F_NAME, "a\x1b", 0},
    {"name DEL", F_NAME, "a\x7f", 0},
    {"name bad UTF-8", F_NAME, "a\xc3", 0},
    {"name overlong UTF-8", F_NAME, "\xc0\xaf", 0},
    {"To CRLF", F_TO, "bob@example.org\r\nBcc: x@example.net", 0},
    {"To LF", F_TO, "bob@example.org\n", 0},
    {"To missing", F_TO, NULL, 0},
    {"To two", F_TO, "bob@example.org, eve@example.org", 0},
    {"Reply-To CRLF", F_REPLY, "r@example.com\r\nBcc: x@example.net", 0},
    {"Reply-To LF", F_REPLY, "r@example.com\n", 0},
    {"Reply-To malformed", F_REPLY, "r@", 0},
    {"Subject CRLF", F_SUBJECT, "Hi\r\nBcc: x@example.net", 0},
    {"Subject CR", F_SUBJECT, "Hi\r", 0},
    {"Subject LF", F_SUBJECT, "Hi\n", 0},
    {"Subject non-ASCII CRLF", F_SUBJECT, "\xe4\xbd\xa0\r\n", 0},
    {"Subject SOH", F_SUBJECT, "\x01", 0},
    {"Subject DEL", F_SUBJECT, "a\x7f", 0},
    {"Subject bad UTF-8", F_SUBJECT, "\xe4\xbd", 0},
    {"Subject surrogate", F_SUBJECT, "\xed\xa0\x80", 0},
    {"Subject missing", F_SUBJECT, NULL, 0},
    {"Message-ID CRLF", F_MSGID, "a@b\r\nBcc: x@example.net", 0},
    {"Message-ID LF", F_MSGID, "a@b\n", 0},
    {"Message-ID brackets", F_MSGID, "<a@example.com>", 0},
    {"Message-ID no at", F_MSGID, "abc", 0},
    {"Message-ID empty left", F_MSGID, "@example.com", 0},
    {"Message-ID empty right", F_MSGID, "a@", 0},
    {"Message-ID two ats", F_MSGID, "a@b@c", 0},
    {"Message-ID space", F_MSGID, "a b@c", 0},
    {"Message-ID double dot", F_MSGID, "a..b@c", 0},
    {"Message-ID missing", F_MSGID, NULL, 0},
    {"Message-ID too long", F_MSGID, NULL, 251},
    {"extra name CRLF", F_XNAME, "X-A\r\nBcc", 0},
    {"extra name colon", F_XNAME, "X-A:", 0},
    {"extra name space", F_XNAME, "X A", 0},
    {"extra name empty", F_XNAME, "", 0},
    {"extra name missing", F_XNAME, NULL, 0},
    {"extra name non-ASCII", F_XNAME, "X-\xc3\xa9", 0},
    {"extra From", F_XNAME, "from", 0},
    {"extra To", F_XNAME, "TO", 0},
    {"extra Cc", F_XNAME, "Cc", 0},
    {"extra Bcc", F_XNAME, "bcc", 0},
    {"extra Reply-To", F_XNAME, "Reply-To", 0},
    {"extra Subject", F_XNAME, "Subject", 0},
    {"extra Date", F_XNAME, "Date", 0},
    {"extra Message-ID", F_XNAME, "message-id", 0},
    {"extra MIME-Version", F_XNAME, "MIME-Version", 0},
    {"extra Content-Type", F_XNAME, "content-type", 0},
    {"extra CTE", F_XNAME, "Content-Transfer-Encoding", 0},
    {"extra DKIM-Signature", F_XNAME, "DKIM-Signature", 0},
    {"extra value CRLF", F_XVALUE, "<https://x.example>\r\nBcc: x@y.z", 0},
    {"extra value CR", F_XVALUE, "a\rb", 0},
    {"extra value LF", F_XVALUE, "a\nb", 0},
    {"extra value trailing LF", F_XVALUE, "a\n", 0},
    {"extra value control", F_XVALUE, "a\x01", 0},
    {"extra value DEL", F_XVALUE, "a\x7f", 0},
    {"extra value ESC", F_XVALUE, "\x1b[1m", 0},
    {"extra value non-ASCII", F_XVALUE, "caf\xc3\xa9", 0},
    {"extra value missing", F_XVALUE, NULL, 0},
    {"extra value unbreakable", F_XVALUE, NULL, 1000},
    {"extra list NULL", F_XNULL, NULL, 0},
    {"text bad UTF-8", F_TEXT, "a\xff", 0},
    {"text NUL", F_TEXT, "a\0b", 3},
    {"html bad UTF-8", F_HTML, "\xc3(", 0},
    {"html NUL", F_HTML, "\0", 1},
    {"no body", F_NOBODY, NULL, 0},
    {"offset too east", F_OFFSET, NULL, 1440},
    {"offset too west", F_OFFSET, NULL, (size_t)-1440},
    {"date year 10000", F_DATE, NULL, 0},
    {NULL, F_NONE, NULL, 0},
};

static void
test_refused(void **state)
{
	char *longid = xmalloc(300), *longval = xmalloc(1100);

	(void)state;
	for (const struct refuse_case *c = refuse_cases; c->what; c++) {
		struct mime_msg m = base_msg();
		struct mime_header x[3] = {
		    base_extra[0], {"X-Test", "ok"}, base_extra[1]};
		struct buf out;
		const char *err = NULL;
		size_t he = 12345;
		const char *v = c->value;

		m.headers = x;
		m.nheaders = 3;
		m.html = "<p>hi</p>";
		m.html_len = strlen(m.html);
		switch (c->field) {
		case F_FROM:
			m.from_addr = v;
			break;
		case F_NAME:
			m.from_name = v;
			break;
		case F_TO:
			m.to_addr = v;
			break;
		case F_REPLY:
			m.reply_to = v;
			break;
		case F_SUBJECT:
			m.subject = v;
			break;
		case F_MSGID:
			if (c->len) {
				/* 251 bytes, otherwise well formed */
				memset(longid, 'a', c->len);
				memcpy(
				    longid + c->len - 12, "@example.com", 12);
				longid[c->len] = '\0';
				v = longid;
			}
			m.message_id = v;
			break;
		case F_XNAME:
			x[1].name = v;
			break;
		case F_XVALUE:
			if (c->len) {
				memset(longval, 'v', c->len);
				longval[c->len] = '\0';
				v = longval;
			}
			x[1].value = v;
			break;
		case F_XNULL:
			m.headers = NULL;
			break;
		case F_TEXT:
			m.text = v;
			m.text_len = c->len ? c->len : strlen(v);
			break;
		case F_HTML:
			m.html = v;
			m.html_len = c->len ? c->len : strlen(v);
			break;
		case F_NOBODY:
			m.text = m.html = NULL;
			break;
		case F_OFFSET:
			m.utc_offset_min = (int)(long)c->len;
			break;
		case F_DATE:
			m.date = (time_t)253402300800LL;
			break;
		case F_NONE:
			break;
		}
		buf_init(&out);
		buf_adds(&out, "keep");
		if (mime_build(&m, &out, &he, &err) != -1)
			fail_msg("%s: accepted:\n%s", c->what, out.data);
		if (err == NULL || err[0] == '\0')
			fail_msg("%s: no reason", c->what);
		assert_int_equal(out.len, 4);
		assert_string_equal(out.data, "keep");
		assert_int_equal(he, 12345);
		/* err may be NULL */
		assert_int_equal(mime_build(&m, &out, NULL, NULL), -1);
		buf_reset(&out);
	}
	free(longid);
	free(longval);
}

/* The fields that refusals touched, at their limits, are accepted. */
static void
test_accepted_limits(void **state)
{
	char id[251], val[991];
	struct mime_header x[1] = {{"X-Long", val}};
	struct mime_msg m = base_msg();
	struct buf out;
	size_t he;

	(void)state;
	memset(id, 'a', 250);
	memcpy(id + 250 - 12, "@example.com", 12);
	id[250] = '\0';
	/* "X-Long: " + 990 = 998 */
	memset(val, 'v', 990);
	val[990] = '\0';
	m.message_id = id;
	m.headers = x;
	m.nheaders = 1;
	m.subject = "tab\there";
	m.utc_offset_min = -1439;
	m.from_name = "\xc2\x85"; /* C1 controls are text */
	buf_init(&out);
	build_ok(&m, &out, &he);
	assert_int_equal(check_lines(out.data, out.len, 998, true), 998);
	buf_reset(&out);

	/* a long list value folds at its spaces */
	x[0].name = "List-Unsubscribe";
	x[0].value = "<https://unsubscribe.example.com/u/0123456789abcdef0123"
		     "456789abcdef>, <mailto:unsubscribe@example.com?subject="
		     "0123456789abcdef>";
	build_ok(&m, &out, &he);
	struct buf v, raw;
	buf_init(&v);
	buf_init(&raw);
	get_header(out.data, he, "List-Unsubscribe", &v, &raw);
	assert_string_equal(raw.data,
	    "List-Unsubscribe: <https://unsubscribe.example.com/u/"
	    "0123456789abcdef0123456789abcdef>,\r\n <mailto:unsubscribe@"
	    "example.com?subject=0123456789abcdef>");
	assert_string_equal(v.data + 1, x[0].value);
	buf_reset(&v);
	buf_reset(&raw);
	buf_reset(&out);
}

/* --- bodies --- */

struct body_case {
	const char *what;
	const char *unit; /* repeated to len bytes */
	size_t len;
	const char *cte;
};

static const struct body_case body_cases[] = {
    {"10,000-char ASCII line", "x", 10000, "quoted-printable"},
    {"10,000-char line of '='", "=", 10000, "base64"},
    {"10,000 spaces", " ", 10000, "quoted-printable"},
    {"Chinese line", "\xe4\xbd\xa0", 30000, "base64"},
    {"ASCII lines LF", "Hello, world =\n", 15000, "quoted-printable"},
    {"ASCII lines CRLF", "Hello, world\r\n", 14000, "quoted-printable"},
    {"ASCII with 1/6 escaped", "abcde=", 6000, "quoted-printable"},
    {"ASCII with a bit more", "abcd=", 5000, "base64"},
    {"mostly ASCII with accents",
	"caf\xc3\xa9 au lait, s'il vous pla\xc3\xaet. ", 8000,
	"quoted-printable"},
    {"lone CRs", "a\rb\r\n\r", 6000, "quoted-printable"},
    {"one LF", "\n", 1, "quoted-printable"},
    {NULL, NULL, 0, NULL},
};

static void
test_bodies(void **state)
{
	(void)state;
	for (const struct body_case *c = body_cases; c->what; c++) {
		struct buf body, out, norm;
		struct mime_msg m = base_msg();
		struct parsed p;
		size_t ul = strlen(c->unit);

		buf_init(&body);
		while (body.len + ul <= c->len)
			buf_adds(&body, c->unit);
		buf_init(&norm);
		normalize(body.data, body.len, &norm);
		/* text alone, html alone, both */
		for (int shape = 0; shape < 3; shape++) {
			m.text = shape != 1 ? body.data : NULL;
			m.text_len = body.len;
			m.html = shape != 0 ? body.data : NULL;
			m.html_len = body.len;
			buf_init(&out);
			build_ok(&m, &out, NULL);
			parse(out.data, out.len, &p);
			/* a part's own lines are 76 at most */
			assert_true(
			    check_lines(out.data, out.len, 998, true) <= 78);
			if (shape != 1) {
				assert_true(p.has_text);
				assert_string_equal(p.cte[0], c->cte);
				assert_int_equal(p.text.len, norm.len);
				assert_memory_equal(
				    p.text.data, norm.data, norm.len);
			}
			if (shape != 0) {
				assert_true(p.has_html);
				assert_string_equal(p.cte[1], c->cte);
				assert_int_equal(p.html.len, norm.len);
				assert_memory_equal(
				    p.html.data, norm.data, norm.len);
			}
			assert_int_equal(p.has_text, shape != 1);
			assert_int_equal(p.has_html, shape != 0);
			parsed_free(&p);
			buf_reset(&out);
		}
		buf_reset(&norm);
		buf_reset(&body);
	}
}

/* Extracts the boundary parameter of a built message. */
static void
boundary_of(const struct buf *out, size_t he, char bnd[64])
{
	struct buf ct;

	buf_init(&ct);
	get_header(out->data, he, "Content-Type", &ct, NULL);
	assert_non_null(strchr(ct.data, '"'));
	snprintf(bnd, 64, "%s", strchr(ct.data, '"') + 1);
	assert_non_null(strchr(bnd, '"'));
	*strchr(bnd, '"') = '\0';
	buf_reset(&ct);
}

/*
 * Bodies that quote the boundary stay bodies. The boundary depends on the
 * Message-ID, date and sizes only, so bodies of the same sizes get the
 * same one: put it in them, delimiter lines and all.
 */
static void
test_boundary_not_in_parts(void **state)
{
	struct mime_msg m = base_msg();
	struct buf out, text, html, nt;
	struct parsed p;
	size_t he;
	char bnd[64], again[64];
	int n = 0;

	(void)state;
	buf_init(&text);
	buf_init(&html);
	buf_addf(&text, "%064d", 0);
	buf_addf(&html, "%064d", 1);
	m.text = text.data;
	m.text_len = text.len;
	m.html = html.data;
	m.html_len = html.len;
	buf_init(&out);
	build_ok(&m, &out, &he);
	boundary_of(&out, he, bnd);
	buf_reset(&out);

	buf_reset(&text);
	buf_reset(&html);
	buf_addf(&text, "--%s\n--%s--\n", bnd, bnd);
	buf_addf(&html, "\r\n--%s\r\n", bnd);
	while (text.len < 64)
		buf_addc(&text, 'x');
	while (html.len < 64)
		buf_addc(&html, 'y');
	assert_int_equal(text.len, 64);
	assert_int_equal(html.len, 64);
	m.text = text.data;
	m.html = html.data;
	build_ok(&m, &out, &he);
	boundary_of(&out, he, again);
	assert_string_equal(again, bnd);
	parse(out.data, out.len, &p);
	/* in the Content-Type parameter and 3 delimiters, nowhere else */
	for (const char *s = out.data; (s = strstr(s, bnd)) != NULL; s++)
		n++;
	assert_int_equal(n, 4);
	buf_init(&nt);
	normalize(text.data, text.len, &nt);
	assert_string_equal(p.text.data, nt.data);
	assert_string_equal(p.html.data, html.data);
	buf_reset(&nt);
	parsed_free(&p);
	buf_reset(&out);
	buf_reset(&text);
	buf_reset(&html);
}

/* hdr_end is an absolute offset when out already holds bytes. */
static void
test_appends(void **state)
{
	struct mime_msg m = base_msg();
	struct buf out;
	size_t he;

	(void)state;
	buf_init(&out);
	buf_adds(&out, "PREFIX\r\n");
	build_ok(&m, &out, &he);
	assert_memory_equal(out.data, "PREFIX\r\n", 8);
	assert_string_equal(out.data + 8, golden_text);
	assert_int_equal(he,
	    8 + (size_t)(strstr(golden_text, "\r\n\r\n") + 2 - golden_text));
	assert_memory_equal(out.data + he, "\r\n", 2);
	buf_reset(&out);
}

/* --- address lists (SendEmail: To and Cc with several addresses) --- */

/* The header block of a built message (up to the empty line). */
static void
lists_header(const struct mime_msg *m, struct buf *out, size_t *he)
{
	build_ok(m, out, he);
	check_lines(out->data, *he, 998, true);
}

static void
test_lists(void **state)
{
	static const char *const to2[] = {"a@example.org", "b@example.net"};
	static const char *const cc1[] = {"c@example.com"};
	static const char *const many[] = {"alice.longname@example.org",
	    "bob.longname@example.org", "carol.longname@example.org",
	    "dave.longname@example.org", "eve@example.org"};
	struct mime_msg m = base_msg();
	struct buf out, val, raw;
	size_t he;

	(void)state;
	/* two To, one Cc: one line each, To: right after From: */
	buf_init(&out);
	buf_init(&val);
	m.to_addr = NULL;
	m.to_list = to2;
	m.nto = 2;
	m.cc_list = cc1;
	m.ncc = 1;
	lists_header(&m, &out, &he);
	assert_non_null(
	    strstr(out.data, "\r\nTo: a@example.org, b@example.net\r\n"
			     "Cc: c@example.com\r\nSubject: Hello Bob\r\n"));
	assert_null(strstr(out.data, "bob@example.org"));
	assert_null(strstr(out.data, "Bcc"));
	buf_reset(&out);

	/* to_list replaces to_addr even when both are set */
	m.to_addr = "bob@example.org";
	lists_header(&m, &out, &he);
	assert_null(strstr(out.data, "bob@example.org"));
	buf_reset(&out);

	/* folded before an address at 78 columns; unfolds to the list */
	m.to_list = many;
	m.nto = 5;
	m.cc_list = many;
	m.ncc = 5;
	lists_header(&m, &out, &he);
	check_lines(out.data, he, 78, true);
	for (int i = 0; i < 2; i++) {
		buf_init(&raw);
		buf_init(&val);
		get_header(out.data, he, i ? "Cc" : "To", &val, &raw);
		assert_string_equal(val.data,
		    " alice.longname@example.org, bob.longname@example.org, "
		    "carol.longname@example.org, dave.longname@example.org, "
		    "eve@example.org");
		/* folded: more than one line, each continuation starts
		 * with the space before an address */
		assert_non_null(strstr(raw.data, ",\r\n "));
		assert_null(strstr(raw.data, ", \r\n"));
		buf_reset(&raw);
		buf_reset(&val);
	}
	buf_reset(&out);

	/* no To at all (only Cc/Bcc given): the empty group */
	m.to_list = to2;
	m.nto = 0;
	m.ncc = 0;
	lists_header(&m, &out, &he);
	assert_non_null(
	    strstr(out.data, "\r\nTo: undisclosed-recipients:;\r\n"));
	assert_null(strstr(out.data, "\r\nCc:"));
	buf_reset(&out);
}

static void
test_lists_refused(void **state)
{
	static const char *const bad[][2] = {
	    {"a@example.org", "b@example.net\r\nBcc: x@example.com"},
	    {"a@example.org", "b@example.net\n"},
	    {"a@example.org\r", "b@example.net"},
	    {"a@example.org", "not an address"},
	    {"a@example.org", ""},
	    {"a@example.org", NULL},
	    {"a@example.org", "a@b@example.org, c@example.org"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int cc = 0; cc < 2; cc++) {
			struct mime_msg m = base_msg();
			struct buf out;
			const char *err = NULL;

			if (cc) {
				m.cc_list = bad[i];
				m.ncc = 2;
			} else {
				m.to_list = bad[i];
				m.nto = 2;
			}
			buf_init(&out);
			if (mime_build(&m, &out, NULL, &err) == 0)
				fail_msg("case %zu (%s) accepted", i,
				    cc ? "Cc" : "To");
			assert_non_null(err);
			assert_int_equal(out.len, 0);
			buf_reset(&out);
		}
	}
	/* a count without a list */
	{
		struct mime_msg m = base_msg();
		struct buf out;
		const char *err = NULL;

		buf_init(&out);
		m.nto = 1;
		assert_int_equal(mime_build(&m, &out, NULL, &err), -1);
		m.nto = 0;
		m.ncc = 1;
		assert_int_equal(mime_build(&m, &out, NULL, &err), -1);
		buf_reset(&out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_qp_vectors),
	    cmocka_unit_test(test_qp_round_trip),
	    cmocka_unit_test(test_base64_lines),
	    cmocka_unit_test(test_golden_text),
	    cmocka_unit_test(test_golden_multipart),
	    cmocka_unit_test(test_subject),
	    cmocka_unit_test(test_from),
	    cmocka_unit_test(test_from_long),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_accepted_limits),
	    cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_boundary_not_in_parts),
	    cmocka_unit_test(test_appends),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_lists_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
