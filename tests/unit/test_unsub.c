/*
 * test_unsub.c: unsub.c, table-driven: ad marker positions and CR/LF
 * refusal; the token checked against an independent encoder (layout,
 * HMAC, base64url), round trips of random and maximal fields, rejection of
 * every bit flip, truncation, extension, wrong key and strictly parsed
 * payloads; the URL, List-Unsubscribe values, and the footers and page
 * texts of all twelve languages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unsub.h"
#include "util.h"

#define PREFIX "prefix|" /* put in every out buffer first */

static const unsigned char key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "0123456789abcdef0123456789abcdeF";

/* out holds PREFIX; returns what follows it, or fails if PREFIX changed */
static const char *
after_prefix(const struct buf *b)
{
	assert_non_null(b->data);
	assert_memory_equal(b->data, PREFIX, strlen(PREFIX));
	return b->data + strlen(PREFIX);
}

static void
buf_prefixed(struct buf *b)
{
	buf_init(b);
	buf_adds(b, PREFIX);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* --- ad marker --- */

struct subject_case {
	const char *subject;
	int loc;
	const char *marker;
	const char *want; /* NULL: -1 and out unchanged */
};

static const struct subject_case subject_cases[] = {
    {"Sale", 0, "<AD>", "Sale"},
    {"Sale", 0, NULL, "Sale"},
    {"Sale", 0, "bad\r\n", "Sale"}, /* marker unused */
    {"Sale", 1, "<AD>", "<AD> Sale"},
    {"Sale", 2, "<AD>", "Sale <AD>"},
    {"Big sale now", 1, UNSUB_AD_MARKER_DEFAULT, "<AD> Big sale now"},
    {"\xe5\xa4\xa7\xe4\xbf\x83", 1, "<\xe5\xb9\xbf\xe5\x91\x8a>",
	"<\xe5\xb9\xbf\xe5\x91\x8a> \xe5\xa4\xa7\xe4\xbf\x83"},
    {"\xe5\xa4\xa7\xe4\xbf\x83", 2, "AD", "\xe5\xa4\xa7\xe4\xbf\x83 AD"},
    {" x ", 1, "[AD]", "[AD]  x "}, /* subject kept byte for byte */
    {"", 0, "<AD>", ""},
    {"", 1, "<AD>", "<AD>"},
    {"", 2, "<AD>", "<AD>"},
    {"Sale", 3, "<AD>", NULL},
    {"Sale", -1, "<AD>", NULL},
    {"Sale", 100, "<AD>", NULL},
    {"Sale", 1, NULL, NULL},
    {"Sale", 2, "", NULL},
    {"Sa\rle", 0, "<AD>", NULL},
    {"Sa\nle", 1, "<AD>", NULL},
    {"Sale\r\n", 2, "<AD>", NULL},
    {"Sale\r\nBcc: x@y.z", 0, NULL, NULL},
    {"Sale", 1, "<AD>\r", NULL},
    {"Sale", 2, "\n<AD>", NULL},
    {"Sale", 1, "<A\r\nD>", NULL},
    {NULL, 0, NULL, NULL},
};

static void
test_subject_table(void **state)
{
	(void)state;
	for (const struct subject_case *c = subject_cases; c->subject; c++) {
		struct buf b;
		int rc;

		buf_prefixed(&b);
		rc = unsub_subject(&b, c->subject, c->loc, c->marker);
		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" loc %d: rc %d, want -1",
				    c->subject, c->loc, rc);
			assert_string_equal(after_prefix(&b), "");
		} else {
			if (rc != 0)
				fail_msg("\"%s\" loc %d: rc %d, want 0",
				    c->subject, c->loc, rc);
			assert_string_equal(after_prefix(&b), c->want);
		}
		buf_reset(&b);
	}
	struct buf b;
	buf_init(&b);
	assert_int_equal(unsub_subject(&b, NULL, 0, "<AD>"), -1);
	assert_int_equal(b.len, 0);
}

/* --- token: an independent encoder to check the format --- */

static void
ref_b64url(struct buf *out, const unsigned char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | p[i];
		bits += 8;
		while (bits >= 6) {
			buf_addc(out, a[(acc >> (bits - 6)) & 63]);
			bits -= 6;
		}
	}
	if (bits > 0)
		buf_addc(out, a[(acc << (6 - bits)) & 63]);
}

/* Token text for raw payload bytes, MACed as the header documents. */
static void
ref_token(struct buf *out, const unsigned char *payload, size_t n,
    const unsigned char *key, size_t key_len)
{
	unsigned char msg[1024], mac[32], tok[1024];
	unsigned int mac_len = 0;

	assert_true(10 + n <= sizeof(msg));
	memcpy(msg, "sesd-unsub", 10);
	memcpy(msg + 10, payload, n);
	assert_non_null(
	    HMAC(EVP_sha256(), key, (int)key_len, msg, 10 + n, mac, &mac_len));
	assert_int_equal(mac_len, 32);
	memcpy(tok, payload, n);
	memcpy(tok + n, mac, 16);
	ref_b64url(out, tok, n + 16);
}

/* The v1 payload of the header comment, built by hand. */
static size_t
ref_payload(unsigned char *p, uint64_t app, uint64_t task, const char *dom,
    const char *rcpt)
{
	size_t n = 0, dl = strlen(dom), rl = strlen(rcpt);

	p[n++] = 1;
	for (int i = 56; i >= 0; i -= 8)
		p[n++] = (unsigned char)(app >> i);
	for (int i = 56; i >= 0; i -= 8)
		p[n++] = (unsigned char)(task >> i);
	p[n++] = (unsigned char)dl;
	memcpy(p + n, dom, dl);
	n += dl;
	p[n++] = (unsigned char)rl;
	memcpy(p + n, rcpt, rl);
	return n + rl;
}

static void
fields_set(struct unsub_fields *f, uint64_t app, uint64_t task, const char *dom,
    const char *rcpt)
{
	memset(f, 0, sizeof(*f));
	f->app_id = app;
	f->task_id = task;
	assert_true(strlen(dom) <= UNSUB_DOMAIN_MAX);
	assert_true(strlen(rcpt) <= UNSUB_RCPT_MAX);
	strcpy(f->domain, dom);
	strcpy(f->rcpt, rcpt);
}

static char *
make_token(const struct unsub_fields *f, const unsigned char *key)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(unsub_token_make(&b, f, key, 32), 0);
	return b.data;
}

static void
assert_rejected(const char *tok, const unsigned char *key, size_t key_len)
{
	struct unsub_fields out;

	memset(&out, 0x5a, sizeof(out));
	if (unsub_token_check(tok, key, key_len, &out) != -1)
		fail_msg("token accepted: \"%s\"", tok);
	/* out zeroed on -1 */
	assert_true(out.app_id == 0 && out.task_id == 0);
	assert_string_equal(out.domain, "");
	assert_string_equal(out.rcpt, "");
}

static void
test_token_matches_reference(void **state)
{
	struct unsub_fields f, got;
	unsigned char p[1024];
	struct buf want, b;
	size_t n;

	(void)state;
	fields_set(&f, 1300000000ULL, 42, "example.com", "alice@example.org");
	n = ref_payload(
	    p, 1300000000ULL, 42, "example.com", "alice@example.org");
	buf_init(&want);
	ref_token(&want, p, n, key1, 32);
	buf_prefixed(&b);
	assert_int_equal(unsub_token_make(&b, &f, key1, 32), 0);
	assert_string_equal(after_prefix(&b), want.data);
	/* 1+8+8+1+11+1+17+16 = 63 bytes: 84 characters */
	assert_int_equal(strlen(want.data), 84);
	assert_int_equal(unsub_token_check(want.data, key1, 32, &got), 0);
	assert_true(got.app_id == 1300000000ULL && got.task_id == 42);
	assert_string_equal(got.domain, "example.com");
	assert_string_equal(got.rcpt, "alice@example.org");
	buf_reset(&want);
	buf_reset(&b);
}

/* A small deterministic generator: failures replay. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Appends random UTF-8 text of exactly n bytes (n >= 1). */
static void
rnd_text(uint64_t *s, char *out, size_t n)
{
	static const char *const pieces[] = {"a", "z", "0", ".", "-", "_", "+",
	    "\xc3\xbc", "\xe4\xbe\x8b", "\xe3\x81\x88", "\xf0\x9f\x98\x80",
	    "\xd8\xb9", "\xe0\xb8\x81", "@", "'", "&", "<", "\""};
	size_t at = 0;

	while (at < n) {
		const char *p =
		    pieces[rnd(s) % (sizeof(pieces) / sizeof(*pieces))];
		size_t k = strlen(p);
		if (at + k > n)
			p = "x", k = 1;
		memcpy(out + at, p, k);
		at += k;
	}
	out[n] = '\0';
}

static void
test_token_round_trip_random(void **state)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	static const uint64_t ids[] = {0, 1, 255, 256, UINT32_MAX,
	    (uint64_t)UINT32_MAX + 1, INT64_MAX, UINT64_MAX - 1, UINT64_MAX};

	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct unsub_fields f, got;
		size_t dl, rl;
		char *tok;

		memset(&f, 0, sizeof(f));
		f.app_id = i < 9 ? ids[i] : rnd(&s);
		f.task_id = i < 9 ? ids[8 - i] : rnd(&s) >> (rnd(&s) % 64);
		/* every few rounds the longest fields allowed */
		dl = i % 7 == 0 ? UNSUB_DOMAIN_MAX
				: 1 + rnd(&s) % UNSUB_DOMAIN_MAX;
		rl = i % 5 == 0 ? UNSUB_RCPT_MAX : 1 + rnd(&s) % UNSUB_RCPT_MAX;
		rnd_text(&s, f.domain, dl);
		rnd_text(&s, f.rcpt, rl);
		tok = make_token(&f, key1);

		size_t n = strlen(tok);
		assert_true(n <= UNSUB_TOKEN_MAX);
		assert_int_equal(
		    n, ((1 + 8 + 8 + 1 + dl + 1 + rl + 16) * 4 + 2) / 3);
		assert_int_equal(
		    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
				"klmnopqrstuvwxyz0123456789-_"),
		    n);
		if (dl == UNSUB_DOMAIN_MAX && rl == UNSUB_RCPT_MAX)
			assert_int_equal(n, UNSUB_TOKEN_MAX);

		memset(&got, 0x5a, sizeof(got));
		assert_int_equal(unsub_token_check(tok, key1, 32, &got), 0);
		assert_true(got.app_id == f.app_id);
		assert_true(got.task_id == f.task_id);
		assert_string_equal(got.domain, f.domain);
		assert_string_equal(got.rcpt, f.rcpt);
		assert_rejected(tok, key2, 32);
		free(tok);
	}
}

static void
test_token_bit_flips(void **state)
{
	struct unsub_fields f;
	unsigned char p[1024];
	char *tok;

	(void)state;
	/* tokens of n % 4 == 2, 0 and 3 characters (the last maximal) */
	for (int round = 0; round < 3; round++) {
		if (round == 0)
			fields_set(&f, 7, 9, "b\xc3\xbc\x63her.example",
			    "x@y.example");
		else if (round == 1)
			fields_set(&f, 1300000000ULL, 42, "example.com",
			    "alice@example.org");
		else {
			fields_set(&f, UINT64_MAX, UINT64_MAX, "", "");
			memset(f.domain, 'd', UNSUB_DOMAIN_MAX);
			memset(f.rcpt, 'r', UNSUB_RCPT_MAX);
		}
		tok = make_token(&f, key1);
		size_t n = strlen(tok);

		/* every bit of every character: a non-alphabet byte, another
		 * 6-bit value, or the same bytes with non-zero spare bits */
		for (size_t i = 0; i < n; i++)
			for (int bit = 0; bit < 8; bit++) {
				tok[i] ^= (char)(1 << bit);
				assert_rejected(tok, key1, 32);
				tok[i] ^= (char)(1 << bit);
			}

		/* every bit of every decoded byte, re-encoded properly: only
		 * the MAC (or the parser behind it) can catch these */
		size_t pn =
		    ref_payload(p, f.app_id, f.task_id, f.domain, f.rcpt);
		unsigned char all[1024];
		unsigned char mac[32];
		unsigned int ml = 0;
		unsigned char msg[1024];
		memcpy(msg, "sesd-unsub", 10);
		memcpy(msg + 10, p, pn);
		HMAC(EVP_sha256(), key1, 32, msg, 10 + pn, mac, &ml);
		memcpy(all, p, pn);
		memcpy(all + pn, mac, 16);
		struct buf enc;
		buf_init(&enc);
		ref_b64url(&enc, all, pn + 16);
		assert_string_equal(enc.data, tok);
		for (size_t i = 0; i < pn + 16; i++)
			for (int bit = 0; bit < 8; bit++) {
				all[i] ^= (unsigned char)(1 << bit);
				enc.len = 0;
				ref_b64url(&enc, all, pn + 16);
				assert_rejected(enc.data, key1, 32);
				all[i] ^= (unsigned char)(1 << bit);
			}
		buf_reset(&enc);
		free(tok);
	}
}

static void
test_token_wrong_key(void **state)
{
	struct unsub_fields f, got;
	unsigned char k[UNSUB_KEY_MAX + 1];
	struct buf b;
	char *tok;

	(void)state;
	fields_set(&f, 1, 2, "example.com", "a@example.com");
	tok = make_token(&f, key1);
	assert_int_equal(unsub_token_check(tok, key1, 32, &got), 0);
	assert_rejected(tok, key2, 32);
	assert_rejected(tok, key1, 31); /* a prefix of the key */
	assert_rejected(tok, key1, 16);
	memcpy(k, key1, 32);
	k[32] = 'x';
	assert_rejected(tok, k, 33); /* the key plus a byte */
	/* HMAC pads a short key with zeros, so key || 0x00 is the same key:
	 * a property of RFC 2104, harmless for a random configured key */
	k[32] = 0;
	assert_int_equal(unsub_token_check(tok, k, 33, &got), 0);
	for (size_t i = 0; i < 32; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(k, key1, 32);
			k[i] ^= (unsigned char)(1 << bit);
			assert_rejected(tok, k, 32);
		}
	free(tok);

	/* key length limits, both ways */
	memset(k, 'k', sizeof(k));
	buf_prefixed(&b);
	assert_int_equal(unsub_token_make(&b, &f, k, UNSUB_KEY_MIN - 1), -1);
	assert_int_equal(unsub_token_make(&b, &f, k, UNSUB_KEY_MAX + 1), -1);
	assert_int_equal(unsub_token_make(&b, &f, k, 0), -1);
	assert_string_equal(after_prefix(&b), "");
	for (size_t len = UNSUB_KEY_MIN; len <= UNSUB_KEY_MAX; len += 80) {
		b.len = 0;
		assert_int_equal(unsub_token_make(&b, &f, k, len), 0);
		assert_int_equal(unsub_token_check(b.data, k, len, &got), 0);
	}
	b.len = 0;
	assert_int_equal(unsub_token_make(&b, &f, k, UNSUB_KEY_MAX), 0);
	assert_int_equal(unsub_token_check(b.data, k, UNSUB_KEY_MAX, &got), 0);
	assert_rejected(b.data, k, UNSUB_KEY_MAX + 1);
	assert_rejected(b.data, k, UNSUB_KEY_MIN - 1);
	buf_reset(&b);
}

static void
test_token_truncated_extended(void **state)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct unsub_fields f;
	char buf[2048];
	char *tok;

	(void)state;
	fields_set(&f, 99, 100, "example.com", "bob@example.net");
	tok = make_token(&f, key1);
	size_t n = strlen(tok);

	for (size_t k = 0; k < n; k++) {
		memcpy(buf, tok, k);
		buf[k] = '\0';
		assert_rejected(buf, key1, 32);
		/* and with the tail dropped from the front */
		assert_rejected(tok + n - k, key1, 32);
	}
	for (const char *a = alphabet; *a; a++) {
		snprintf(buf, sizeof(buf), "%s%c", tok, *a);
		assert_rejected(buf, key1, 32);
		snprintf(buf, sizeof(buf), "%c%s", *a, tok);
		assert_rejected(buf, key1, 32);
		snprintf(buf, sizeof(buf), "%s%c%c", tok, *a, *a);
		assert_rejected(buf, key1, 32);
	}
	static const char *const tails[] = {"=", "==", "===", "====", " ", "\n",
	    "%3D", "&x=1", ".", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(tails) / sizeof(*tails); i++) {
		snprintf(buf, sizeof(buf), "%s%s", tok, tails[i]);
		assert_rejected(buf, key1, 32);
	}
	/* the token twice */
	snprintf(buf, sizeof(buf), "%s%s", tok, tok);
	assert_rejected(buf, key1, 32);
	/* oversized input, and a long run past UNSUB_TOKEN_MAX */
	memset(buf, 'A', UNSUB_TOKEN_MAX + 1);
	buf[UNSUB_TOKEN_MAX + 1] = '\0';
	assert_rejected(buf, key1, 32);
	char *huge = xmalloc(1 << 20);
	memset(huge, 'A', (1 << 20) - 1);
	huge[(1 << 20) - 1] = '\0';
	assert_rejected(huge, key1, 32);
	free(huge);
	assert_rejected("", key1, 32);
	struct unsub_fields out;
	assert_int_equal(unsub_token_check(NULL, key1, 32, &out), -1);
	free(tok);
}

static void
test_token_bad_alphabet(void **state)
{
	static const char bad[] =
	    "+/=.~!*'()%$&,;:@ \t\r\n\"<>\\^`{|}\x7f\x80\xff";
	struct unsub_fields f;
	char *tok;

	(void)state;
	fields_set(&f, 5, 6, "example.com", "c@example.com");
	tok = make_token(&f, key1);
	size_t n = strlen(tok);

	/* standard base64's '+' and '/' in place of '-' and '_' */
	char *std = xstrdup(tok);
	for (size_t i = 0; i < n; i++)
		std[i] = std[i] == '-' ? '+' : std[i] == '_' ? '/' : std[i];
	if (strcmp(std, tok) != 0)
		assert_rejected(std, key1, 32);
	free(std);
	for (const char *c = bad; *c; c++)
		for (size_t i = 0; i < n; i += 7) {
			char save = tok[i];
			tok[i] = *c;
			assert_rejected(tok, key1, 32);
			tok[i] = save;
		}
	free(tok);
}

/* Tokens with a valid MAC but a payload make() never writes. */
static void
test_token_strict_payload(void **state)
{
	unsigned char p[1024];
	struct buf b;
	size_t n;

	(void)state;
	buf_init(&b);
	/* the reference itself passes */
	n = ref_payload(p, 1, 2, "example.com", "a@example.com");
	ref_token(&b, p, n, key1, 32);
	struct unsub_fields got;
	assert_int_equal(unsub_token_check(b.data, key1, 32, &got), 0);

	struct {
		const char *what;
		const char *dom, *rcpt;
		int version, dlen_delta, rlen_delta, extra;
	} cases[] = {
	    {"version 0", "example.com", "a@example.com", 0, 0, 0, 0},
	    {"version 2", "example.com", "a@example.com", 2, 0, 0, 0},
	    {"version 255", "example.com", "a@example.com", 255, 0, 0, 0},
	    {"empty domain", "", "a@example.com", 1, 0, 0, 0},
	    {"empty rcpt", "example.com", "", 1, 0, 0, 0},
	    {"domain len +1", "example.com", "a@example.com", 1, 1, 0, 0},
	    {"domain len -1", "example.com", "a@example.com", 1, -1, 0, 0},
	    {"rcpt len +1", "example.com", "a@example.com", 1, 0, 1, 0},
	    {"rcpt len -1", "example.com", "a@example.com", 1, 0, -1, 0},
	    {"trailing byte", "example.com", "a@example.com", 1, 0, 0, 1},
	    {"NUL in domain", "exa\x01mple.com", "a@example.com", 1, 0, 0, 0},
	    {"CR in rcpt", "example.com", "a@exa\rmple.com", 1, 0, 0, 0},
	    {"DEL in rcpt", "example.com", "a@exa\x7fmple.com", 1, 0, 0, 0},
	    {"bad UTF-8 domain", "ex\xc3mple.com", "a@example.com", 1, 0, 0, 0},
	    {"overlong UTF-8", "example.com",
		"a@\xc0\xaf"
		"example.com",
		1, 0, 0, 0},
	    {"surrogate", "\xed\xa0\x80.com", "a@example.com", 1, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		n = ref_payload(p, 1, 2, cases[i].dom, cases[i].rcpt);
		size_t dl = strlen(cases[i].dom);
		p[0] = (unsigned char)cases[i].version;
		p[17] = (unsigned char)(dl + cases[i].dlen_delta);
		p[18 + dl] = (unsigned char)(strlen(cases[i].rcpt) +
					     cases[i].rlen_delta);
		if (strstr(cases[i].what, "NUL"))
			p[18 + 3] = 0;
		if (cases[i].extra)
			p[n++] = 'x';
		b.len = 0;
		ref_token(&b, p, n, key1, 32);
		memset(&got, 0x5a, sizeof(got));
		if (unsub_token_check(b.data, key1, 32, &got) != -1)
			fail_msg("%s: accepted", cases[i].what);
		assert_int_equal(got.app_id, 0);
	}

	/* a 254-byte domain with a valid MAC */
	char dom[300];
	memset(dom, 'd', 254);
	dom[254] = '\0';
	n = ref_payload(p, 1, 2, dom, "a@example.com");
	b.len = 0;
	ref_token(&b, p, n, key1, 32);
	assert_rejected(b.data, key1, 32);
	/* a 255-byte recipient with a valid MAC */
	memset(dom, 'r', 255);
	dom[255] = '\0';
	n = ref_payload(p, 1, 2, "example.com", dom);
	b.len = 0;
	ref_token(&b, p, n, key1, 32);
	assert_rejected(b.data, key1, 32);
	buf_reset(&b);
}

static void
test_token_make_refuses(void **state)
{
	struct unsub_fields f;
	struct buf b;

	(void)state;
	buf_prefixed(&b);
	struct {
		const char *what;
		const char *dom, *rcpt;
	} bad[] = {
	    {"empty domain", "", "a@b.c"},
	    {"empty rcpt", "b.c", ""},
	    {"CR", "b.c", "a\r@b.c"},
	    {"LF", "b\n.c", "a@b.c"},
	    {"TAB", "b.c", "a\t@b.c"},
	    {"DEL", "b.c", "a\x7f@b.c"},
	    {"bad UTF-8", "b\xff.c", "a@b.c"},
	    {"truncated UTF-8", "b.c", "a@b.c\xe4\xbd"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		fields_set(&f, 1, 1, bad[i].dom, bad[i].rcpt);
		if (unsub_token_make(&b, &f, key1, 32) != -1)
			fail_msg("%s: made a token", bad[i].what);
		assert_string_equal(after_prefix(&b), "");
	}
	/* fields that fill their arrays leave no NUL: too long */
	fields_set(&f, 1, 1, "b.c", "a@b.c");
	memset(f.domain, 'd', sizeof(f.domain));
	assert_int_equal(unsub_token_make(&b, &f, key1, 32), -1);
	fields_set(&f, 1, 1, "b.c", "a@b.c");
	memset(f.rcpt, 'r', sizeof(f.rcpt));
	assert_int_equal(unsub_token_make(&b, &f, key1, 32), -1);
	assert_string_equal(after_prefix(&b), "");
	buf_reset(&b);
}

/* --- URL and headers --- */

struct url_case {
	const char *base;
	const char *token;
	const char *want; /* NULL: -1 */
};

static const struct url_case url_cases[] = {
    {"https://u.example.com", "abc-_",
	"https://u.example.com/unsubscribe?t=abc-_"},
    {"https://u.example.com/", "abc",
	"https://u.example.com/unsubscribe?t=abc"},
    {"https://u.example.com///", "abc",
	"https://u.example.com/unsubscribe?t=abc"},
    {"https://u.example.com/mail/", "x",
	"https://u.example.com/mail/unsubscribe?t=x"},
    {"https://u.example.com:8443/a/b", "x",
	"https://u.example.com:8443/a/b/unsubscribe?t=x"},
    {"HTTPS://U.Example.COM", "x", "HTTPS://U.Example.COM/unsubscribe?t=x"},
    {"http://127.0.0.1:8080", "x", "http://127.0.0.1:8080/unsubscribe?t=x"},
    {"https://[::1]:8443", "x", "https://[::1]:8443/unsubscribe?t=x"},
    {"https://u.example.com/%7Euser", "x",
	"https://u.example.com/%7Euser/unsubscribe?t=x"},
    {"https://", "x", NULL},
    {"https:///", "x", NULL},
    {"http://", "x", NULL},
    {"", "x", NULL},
    {"u.example.com", "x", NULL},
    {"ftp://u.example.com", "x", NULL},
    {"mailto:a@b.c", "x", NULL},
    {"https//u.example.com", "x", NULL},
    {" https://u.example.com", "x", NULL},
    {"https://u.example.com ", "x", NULL},
    {"https://u.example.com\r\n", "x", NULL},
    {"https://u.exa\nmple.com", "x", NULL},
    {"https://u.example.com/?a=1", "x", NULL},
    {"https://u.example.com/#top", "x", NULL},
    {"https://u.example.com/\"x", "x", NULL},
    {"https://u.example.com/<x>", "x", NULL},
    {"https://u.example.com/a\\b", "x", NULL},
    {"https://\xe4\xbe\x8b.example", "x", NULL},
    {"https://u.example.com/\x7f", "x", NULL},
    {"https://u.example.com", "", NULL},
    {"https://u.example.com", "a+b", NULL},
    {"https://u.example.com", "a/b", NULL},
    {"https://u.example.com", "ab==", NULL},
    {"https://u.example.com", "a b", NULL},
    {"https://u.example.com", "a&t=b", NULL},
    {NULL, NULL, NULL},
};

static void
test_url_table(void **state)
{
	(void)state;
	for (const struct url_case *c = url_cases; c->base; c++) {
		struct buf b;
		int rc;

		buf_prefixed(&b);
		rc = unsub_url(&b, c->base, c->token);
		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" \"%s\": accepted", c->base,
				    c->token);
			assert_string_equal(after_prefix(&b), "");
		} else {
			if (rc != 0)
				fail_msg("\"%s\" \"%s\": refused", c->base,
				    c->token);
			assert_string_equal(after_prefix(&b), c->want);
		}
		buf_reset(&b);
	}
}

static void
test_url_lengths(void **state)
{
	char base[UNSUB_PUBLIC_URL_MAX + 8], tok[UNSUB_TOKEN_MAX + 2];
	struct buf b;

	(void)state;
	memset(tok, 'A', sizeof(tok));
	tok[UNSUB_TOKEN_MAX] = '\0';
	strcpy(base, "https://");
	memset(base + 8, 'h', UNSUB_PUBLIC_URL_MAX - 8);
	base[UNSUB_PUBLIC_URL_MAX] = '\0';
	buf_init(&b);
	assert_int_equal(unsub_url(&b, base, tok), 0);
	assert_int_equal(b.len, UNSUB_PUBLIC_URL_MAX + 15 + UNSUB_TOKEN_MAX);
	/* the longest URL still fits one List-Unsubscribe line */
	struct buf h;
	buf_init(&h);
	assert_int_equal(unsub_list_unsubscribe(&h, b.data, NULL, NULL), 0);
	assert_true(strlen("List-Unsubscribe: ") + h.len <= 998);
	buf_reset(&h);
	b.len = 0;
	tok[UNSUB_TOKEN_MAX] = 'A';
	tok[UNSUB_TOKEN_MAX + 1] = '\0';
	assert_int_equal(unsub_url(&b, base, tok), -1);
	tok[UNSUB_TOKEN_MAX] = '\0';
	base[UNSUB_PUBLIC_URL_MAX] = 'h';
	base[UNSUB_PUBLIC_URL_MAX + 1] = '\0';
	assert_int_equal(unsub_url(&b, base, tok), -1);
	assert_int_equal(b.len, 0);
	/* over the limit only because of slashes: still refused */
	base[UNSUB_PUBLIC_URL_MAX] = '/';
	assert_int_equal(unsub_url(&b, base, tok), -1);
	buf_reset(&b);
	assert_int_equal(unsub_url(&b, NULL, "x"), -1);
	assert_int_equal(unsub_url(&b, "https://x.y", NULL), -1);
}

struct hdr_case {
	const char *url, *mailto, *token;
	const char *want; /* NULL: -1 */
};

static const struct hdr_case hdr_cases[] = {
    {"https://u.example.com/unsubscribe?t=abc", NULL, NULL,
	"<https://u.example.com/unsubscribe?t=abc>"},
    {"https://u.example.com/unsubscribe?t=abc", "", "abc",
	"<https://u.example.com/unsubscribe?t=abc>"},
    {"https://u.example.com/unsubscribe?t=abc", "unsub@example.com", "abc",
	"<https://u.example.com/unsubscribe?t=abc>, "
	"<mailto:unsub@example.com?subject=unsubscribe%20abc>"},
    {"https://u.example.com/unsubscribe?t=a-_b", "u+list@mail.example.com",
	"a-_b",
	"<https://u.example.com/unsubscribe?t=a-_b>, "
	"<mailto:u+list@mail.example.com?subject=unsubscribe%20a-_b>"},
    {"", NULL, NULL, NULL},
    {"https://u.example.com/x>, <https://evil", NULL, NULL, NULL},
    {"https://u.example.com/<x", NULL, NULL, NULL},
    {"https://u.example.com/ x", NULL, NULL, NULL},
    {"https://u.example.com/\r\nBcc: a@b.c", NULL, NULL, NULL},
    {"https://u.example.com/\tx", NULL, NULL, NULL},
    {"https://u.example.com/x", "not an address", "abc", NULL},
    {"https://u.example.com/x", "a@b.c\r\nBcc: d@e.f", "abc", NULL},
    {"https://u.example.com/x", "a@b.c?subject=x", "abc", NULL},
    {"https://u.example.com/x", "a@b.c>", "abc", NULL},
    {"https://u.example.com/x", "a@b.c", NULL, NULL},
    {"https://u.example.com/x", "a@b.c", "", NULL},
    {"https://u.example.com/x", "a@b.c", "a b", NULL},
    {"https://u.example.com/x", "a@b.c", "a&cc=x", NULL},
    {NULL, NULL, NULL, NULL},
};

static void
test_list_unsubscribe_table(void **state)
{
	(void)state;
	for (const struct hdr_case *c = hdr_cases; c->url; c++) {
		struct buf b;
		int rc;

		buf_prefixed(&b);
		rc = unsub_list_unsubscribe(&b, c->url, c->mailto, c->token);
		if (c->want == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" \"%s\": accepted", c->url,
				    c->mailto ? c->mailto : "(null)");
			assert_string_equal(after_prefix(&b), "");
		} else {
			if (rc != 0)
				fail_msg("\"%s\": refused", c->url);
			assert_string_equal(after_prefix(&b), c->want);
		}
		buf_reset(&b);
	}
	struct buf b;
	buf_init(&b);
	assert_int_equal(unsub_list_unsubscribe(&b, NULL, NULL, NULL), -1);
	buf_reset(&b);
	/* the header names and the RFC 8058 value, exactly */
	assert_string_equal(UNSUB_HDR_LIST, "List-Unsubscribe");
	assert_string_equal(UNSUB_HDR_POST, "List-Unsubscribe-Post");
	assert_string_equal(UNSUB_HDR_POST_VALUE, "List-Unsubscribe=One-Click");
}

static void
test_list_unsubscribe_lengths(void **state)
{
	char url[1100], tok[UNSUB_TOKEN_MAX + 1], mailto[300];
	struct buf b;
	const size_t name = strlen("List-Unsubscribe: ");

	(void)state;
	buf_init(&b);
	/* "<url>" filling the first line exactly: 998 octets */
	memset(url, 'u', sizeof(url));
	url[998 - name - 2] = '\0';
	assert_int_equal(unsub_list_unsubscribe(&b, url, NULL, NULL), 0);
	assert_int_equal(name + b.len, 998);
	b.len = 0;
	url[998 - name - 2] = 'u';
	url[998 - name - 1] = '\0';
	assert_int_equal(unsub_list_unsubscribe(&b, url, NULL, NULL), -1);
	/* with a mailto the first line also holds the ',' */
	url[998 - name - 3] = '\0';
	assert_int_equal(
	    unsub_list_unsubscribe(&b, url, "a@b.example", "abc"), 0);
	assert_true(name + (size_t)(strchr(b.data, ',') - b.data) + 1 <= 998);
	b.len = 0;
	url[998 - name - 3] = 'u';
	url[998 - name - 2] = '\0';
	assert_int_equal(
	    unsub_list_unsubscribe(&b, url, "a@b.example", "abc"), -1);
	assert_int_equal(b.len, 0);

	/* the mailto element: " <mailto:" addr "?subject=unsubscribe%20" token
	 * ">" */
	memset(tok, 'T', UNSUB_TOKEN_MAX);
	tok[UNSUB_TOKEN_MAX] = '\0';
	size_t room = 998 - 1 - strlen("<mailto:") -
		      strlen("?subject=unsubscribe%20") - UNSUB_TOKEN_MAX - 1;
	/* a local part of at most 64: pad the domain with labels */
	strcpy(mailto, "a@");
	while (strlen(mailto) + 10 < room)
		strcat(mailto, "bbbbbbbbb.");
	while (strlen(mailto) < room - 1)
		strcat(mailto, "c");
	strcat(mailto, "c");
	assert_int_equal(strlen(mailto), room);
	assert_int_equal(
	    unsub_list_unsubscribe(&b, "https://x.y/u", mailto, tok), 0);
	const char *second = strchr(b.data, ',') + 1;
	assert_int_equal(strlen(second), 998);
	b.len = 0;
	strcat(mailto, "c");
	assert_int_equal(
	    unsub_list_unsubscribe(&b, "https://x.y/u", mailto, tok), -1);
	assert_int_equal(b.len, 0);
	buf_reset(&b);
}

/* --- footers and page texts --- */

static const char *const codes[] = {
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"};
static const char *const tags[] = {"zh-CN", "en", "zh-TW", "es", "fr", "de",
    "ja", "ko", "ar", "th", "id", "vi"};

static void
test_footer_all_languages(void **state)
{
	static const char *const url =
	    "https://u.example.com/unsubscribe?t=AbC-_9";

	(void)state;
	for (size_t i = 0; i < 12; i++) {
		const struct unsub_texts *t = unsub_texts(codes[i]);
		struct buf b, want;
		char p[64];

		assert_non_null(t);
		assert_string_equal(t->code, codes[i]);
		assert_string_equal(t->lang, tags[i]);

		/* text: the sentence, then the URL on its own line */
		buf_prefixed(&b);
		assert_int_equal(unsub_footer(&b, codes[i], 0, url), 0);
		const char *s = after_prefix(&b);
		buf_init(&want);
		buf_addf(&want, "%s\n%s\n", t->footer_text, url);
		assert_string_equal(s, want.data);
		assert_int_equal(count(s, url), 1);
		assert_true(utf8_valid(s, strlen(s)));
		assert_true(strlen(t->footer_text) > 10);
		assert_null(strchr(t->footer_text, '\n'));
		buf_reset(&want);
		buf_reset(&b);

		/* html: <p lang dir> before <a href>link</a> after </p> */
		buf_prefixed(&b);
		assert_int_equal(unsub_footer(&b, codes[i], 1, url), 0);
		s = after_prefix(&b);
		buf_init(&want);
		snprintf(p, sizeof(p), "<p lang=\"%s\"%s>", tags[i],
		    i == 8 ? " dir=\"rtl\"" : "");
		buf_addf(&want, "%s%s<a href=\"%s\">%s</a>%s</p>\n", p,
		    t->footer_before, url, t->footer_link, t->footer_after);
		assert_string_equal(s, want.data);
		assert_int_equal(count(s, url), 1);
		assert_int_equal(count(s, "dir=\"rtl\""), i == 8 ? 1 : 0);
		assert_int_equal(count(s, "<a "), 1);
		assert_int_equal(count(s, "</a>"), 1);
		assert_true(strlen(t->footer_link) > 0);
		buf_reset(&want);
		buf_reset(&b);
	}
}

static void
test_footer_escapes(void **state)
{
	static const char *const url =
	    "https://u.example.com/unsubscribe?t=a&x=\"y\"<z>'";
	static const char *const esc =
	    "https://u.example.com/unsubscribe?t=a&amp;x=&quot;y&quot;"
	    "&lt;z&gt;&#39;";

	(void)state;
	for (size_t i = 0; i < 12; i++) {
		struct buf b;

		buf_init(&b);
		assert_int_equal(unsub_footer(&b, codes[i], 1, url), 0);
		assert_int_equal(count(b.data, esc), 1);
		assert_null(strstr(b.data, url));
		assert_int_equal(count(b.data, "\""), 2 + 2 * (i == 8) + 2);
		b.len = 0;
		/* the text part carries the URL verbatim */
		assert_int_equal(unsub_footer(&b, codes[i], 0, url), 0);
		assert_int_equal(count(b.data, url), 1);
		buf_reset(&b);
	}
}

static void
test_footer_refuses(void **state)
{
	static const char *const bad_codes[] = {"0", "13", "", "01", " 1", "1 ",
	    "+1", "2a", "zh-CN", "en", "-1", "100"};
	struct buf b;

	(void)state;
	buf_prefixed(&b);
	for (size_t i = 0; i < sizeof(bad_codes) / sizeof(*bad_codes); i++) {
		for (int html = 0; html < 2; html++)
			if (unsub_footer(
				&b, bad_codes[i], html, "https://x.y/u") != -1)
				fail_msg("code \"%s\" accepted", bad_codes[i]);
		assert_null(unsub_texts(bad_codes[i]));
	}
	assert_int_equal(unsub_footer(&b, NULL, 0, "https://x.y/u"), -1);
	assert_null(unsub_texts(NULL));
	assert_int_equal(unsub_footer(&b, "2", 0, NULL), -1);
	assert_int_equal(unsub_footer(&b, "2", 1, ""), -1);
	assert_int_equal(unsub_footer(&b, "2", 0, "https://x.y/u\r\nX: y"), -1);
	assert_int_equal(unsub_footer(&b, "2", 1, "https://x.y/u\n"), -1);
	assert_int_equal(unsub_footer(&b, "9", 1, "https://x.y/\x01"), -1);
	assert_string_equal(after_prefix(&b), "");
	buf_reset(&b);
}

static void
check_text(const char *what, const char *code, const char *s, int vars,
    int may_be_empty)
{
	if (s == NULL || (*s == '\0' && !may_be_empty))
		fail_msg("%s %s: missing", code, what);
	if (!utf8_valid(s, strlen(s)))
		fail_msg("%s %s: not UTF-8", code, what);
	if (strpbrk(s, "<>&\"\r\n\t") != NULL)
		fail_msg("%s %s: has < > & \" or a control", code, what);
	if (count(s, "{{domain}}") != (size_t)vars ||
	    count(s, "{{email}}") != (size_t)vars)
		fail_msg("%s %s: placeholders", code, what);
	if (count(s, "{{") != 2 * (size_t)vars)
		fail_msg("%s %s: stray {{", code, what);
}

static void
test_texts_all_languages(void **state)
{
	(void)state;
	for (size_t i = 0; i < 12; i++) {
		const struct unsub_texts *t = unsub_texts(codes[i]);
		const char *c = codes[i];

		assert_non_null(t);
		assert_string_equal(t->dir, i == 8 ? "rtl" : "ltr");
		check_text("footer_text", c, t->footer_text, 0, 0);
		check_text("footer_before", c, t->footer_before, 0, 0);
		check_text("footer_link", c, t->footer_link, 0, 0);
		check_text("footer_after", c, t->footer_after, 0, 1);
		check_text("title", c, t->title, 0, 0);
		check_text("explain", c, t->explain, 1, 0);
		check_text("button", c, t->button, 0, 0);
		check_text("done", c, t->done, 1, 0);
		check_text("invalid", c, t->invalid, 0, 0);
		/* languages differ from each other */
		for (size_t k = 0; k < i; k++) {
			const struct unsub_texts *o = unsub_texts(codes[k]);
			assert_string_not_equal(t->footer_text, o->footer_text);
			assert_string_not_equal(t->explain, o->explain);
			assert_string_not_equal(t->lang, o->lang);
		}
	}
	/* spot checks of the wording */
	assert_string_equal(unsub_texts("2")->footer_text,
	    "If you no longer wish to receive these emails, you can "
	    "unsubscribe here:");
	assert_string_equal(unsub_texts("2")->button, "Unsubscribe");
	assert_string_equal(unsub_texts("1")->footer_link,
	    "\xe7\x82\xb9\xe5\x87\xbb\xe8\xbf\x99\xe9\x87\x8c\xe9\x80\x80"
	    "\xe8\xae\xa2"); /* 点击这里退订 */
}

static void
test_texts_expand(void **state)
{
	struct buf b;

	(void)state;
	buf_prefixed(&b);
	assert_int_equal(unsub_texts_expand(&b, unsub_texts("2")->explain,
			     "ex<am>ple.com", "a&b\"'@example.com"),
	    0);
	assert_string_equal(after_prefix(&b),
	    "Click the button below to stop receiving emails from "
	    "<bdi>ex&lt;am&gt;ple.com</bdi> at "
	    "<bdi>a&amp;b&quot;&#39;@example.com</bdi>.");
	buf_reset(&b);

	/* every language, every text: placeholders gone, values once */
	for (size_t i = 0; i < 12; i++) {
		const struct unsub_texts *t = unsub_texts(codes[i]);
		const char *all[] = {
		    t->title, t->explain, t->button, t->done, t->invalid};
		for (size_t k = 0; k < 5; k++) {
			buf_init(&b);
			assert_int_equal(
			    unsub_texts_expand(&b, all[k],
				"d\xc3\xbcmain.example", "x@y.example"),
			    0);
			assert_null(strstr(b.data, "{{"));
			size_t v = k == 1 || k == 3;
			assert_int_equal(
			    count(b.data, "<bdi>d\xc3\xbcmain.example</bdi>"),
			    v);
			assert_int_equal(
			    count(b.data, "<bdi>x@y.example</bdi>"), v);
			assert_true(utf8_valid(b.data, b.len));
			buf_reset(&b);
		}
	}

	/* unknown braces stay; bad values refused, out unchanged */
	buf_prefixed(&b);
	assert_int_equal(
	    unsub_texts_expand(&b, "{{x}} {{email}}{{domain}", "d", "e"), 0);
	assert_string_equal(after_prefix(&b), "{{x}} <bdi>e</bdi>{{domain}");
	buf_reset(&b);
	buf_prefixed(&b);
	assert_int_equal(unsub_texts_expand(&b, "{{email}}", "d", "\xff"), -1);
	assert_int_equal(unsub_texts_expand(&b, "{{email}}", "\xc3", "e"), -1);
	assert_int_equal(unsub_texts_expand(&b, NULL, "d", "e"), -1);
	assert_int_equal(unsub_texts_expand(&b, "x", NULL, "e"), -1);
	assert_int_equal(unsub_texts_expand(&b, "x", "d", NULL), -1);
	assert_string_equal(after_prefix(&b), "");
	buf_reset(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subject_table),
	    cmocka_unit_test(test_token_matches_reference),
	    cmocka_unit_test(test_token_round_trip_random),
	    cmocka_unit_test(test_token_bit_flips),
	    cmocka_unit_test(test_token_wrong_key),
	    cmocka_unit_test(test_token_truncated_extended),
	    cmocka_unit_test(test_token_bad_alphabet),
	    cmocka_unit_test(test_token_strict_payload),
	    cmocka_unit_test(test_token_make_refuses),
	    cmocka_unit_test(test_url_table),
	    cmocka_unit_test(test_url_lengths),
	    cmocka_unit_test(test_list_unsubscribe_table),
	    cmocka_unit_test(test_list_unsubscribe_lengths),
	    cmocka_unit_test(test_footer_all_languages),
	    cmocka_unit_test(test_footer_escapes),
	    cmocka_unit_test(test_footer_refuses),
	    cmocka_unit_test(test_texts_all_languages),
	    cmocka_unit_test(test_texts_expand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
