/*
 * dkim.c: DKIM-Signature headers (RFC 6376), rsa-sha256 with relaxed/
 * relaxed canonicalization. The body and the signed header fields are
 * canonicalized straight into one SHA-256 context through a small chunk
 * buffer, so nothing grows with the message; the only allocation is a
 * field index for messages of more than FIELDS_STACK header fields. No
 * I/O, no clock, no state but the key's: the SMTP worker parses each
 * domain's key once with dkim_key_new() and signs every message with
 * dkim_sign().
 */
#include "dkim.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "log.h"
#include "util.h"

#define SHA256_LEN   32
#define SIG_MAX      (DKIM_MAX_BITS / 8)
#define B64_LEN(n)   (((n) + 2) / 3 * 4)
#define FIELDS_STACK 64   /* header fields indexed without malloc */
#define SINK_CHUNK   1024 /* canonical bytes per digest update */
#define DNS_NAME_MAX 253
#define DOMAINKEY    "._domainkey."

const char *const dkim_default_headers[] = {"From", "To", "Subject", "Date",
    "Message-ID", "MIME-Version", "Content-Type", "List-Unsubscribe",
    "List-Unsubscribe-Post", NULL};

/*
 * Setting up an EVP_PKEY_CTX makes OpenSSL 3 look the algorithms up by
 * name again: about 5 us, 4% of an RSA-1024 signature. So the key keeps
 * its contexts, ready for the next message.
 */
struct dkim_key {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *sign; /* PKCS#1 v1.5 over SHA-256; NULL after a failure,
			       made again by the next dkim_sign() */
	EVP_MD_CTX *md;     /* body and header hashes */
	int bits;
};

/* One header field of the message: "Name: value", final CRLF excluded. */
struct field {
	const char *p;
	size_t len;
	size_t name_len; /* without WSP before the colon */
};

/* Where canonical text goes: a digest or a buffer, a chunk at a time. */
struct sink {
	EVP_MD_CTX *md; /* NULL: append to b */
	struct buf *b;
	bool failed; /* a digest update failed */
	size_t n;
	char chunk[SINK_CHUNK];
};

/* A header being written with folding at DKIM_LINE_MAX. */
struct fold {
	struct buf *b;
	size_t col; /* octets on the current line */
};

static void sha256_fetch(void);
static const EVP_MD *sha256(void);
static bool is_wsp(char);
static bool body_special(char);
static bool name_char(char);
static char lower(char);
static bool name_eq(const char *, size_t, const char *);
static bool header_list_ok(const char *const *);
static int no_passphrase(char *, int, int, void *);
static void sink_flush(struct sink *);
static void sink_put(struct sink *, const char *, size_t);
static void sink_putc(struct sink *, char);
static int canon_header(struct sink *, const char *, size_t, bool);
static int canon_body(struct sink *, const char *, size_t);
static int body_hash(EVP_MD_CTX *, const char *, size_t, char *, const char **);
static int field_next(const char **, const char *, struct field *);
static size_t select_fields(
    const struct field *, size_t, const char *const *, const struct field **);
static void fold_room(struct fold *, size_t, bool);
static void fold_add(struct fold *, const char *, size_t);
static void fold_tag(struct fold *, const char *, const char *);
static void write_header(struct fold *, const char *, const char *, long long,
    const struct field *const *, size_t, const char *);
static EVP_PKEY_CTX *sign_ctx_new(EVP_PKEY *);
static int rsa_sign(
    struct dkim_key *, const unsigned char *, unsigned char *, size_t *);

/*
 * OpenSSL 3 looks EVP_sha256() up by name on every digest init (see
 * tc3.c); the handle is fetched once and shared like a constant.
 */
static EVP_MD *sha256_md;

static void
sha256_fetch(void)
{
	if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("dkim: SHA256 is not available from OpenSSL");
}

static const EVP_MD *
sha256(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sha256_fetch);
	return sha256_md;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* WSP, CR or LF; the first test passes over most bytes. */
static bool
body_special(char c)
{
	return (unsigned char)c <= ' ' &&
	       (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

/* RFC 5322 ftext: printable ASCII but ':'. */
static bool
name_char(char c)
{
	return c > ' ' && c < 127 && c != ':';
}

/* ASCII only, whatever the locale. */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
name_eq(const char *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name[i] == '\0' || lower(p[i]) != lower(name[i]))
			return false;
	return name[i] == '\0';
}

/* Every name is a field name that h= can carry; From is among them. */
static bool
header_list_ok(const char *const *headers)
{
	bool from = false;

	for (const char *const *h = headers; *h != NULL; h++) {
		if ((*h)[0] == '\0')
			return false;
		for (const char *p = *h; *p != '\0'; p++)
			if (!name_char(*p) || *p == ';')
				return false;
		if (name_eq(*h, strlen(*h), "from"))
			from = true;
	}
	return from;
}

/* An encrypted key fails instead of prompting on the terminal. */
static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

struct dkim_key *
dkim_key_new(const char *pem, size_t len, const char **why)
{
	struct dkim_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	const char *reason = NULL;
	int bits;

	if (pem == NULL || len == 0 || len > INT_MAX) {
		reason = "empty or oversized key text";
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		reason = "OpenSSL could not allocate a BIO";
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL) {
		reason = "not an unencrypted PEM private key";
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		reason = "not an RSA key";
		goto out;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < DKIM_MIN_BITS || bits > DKIM_MAX_BITS) {
		reason = "RSA key size outside 1024..4096 bits";
		goto out;
	}
	k = xcalloc(1, sizeof(*k));
	k->pkey = pkey;
	k->bits = bits;
	pkey = NULL;
	if ((k->sign = sign_ctx_new(k->pkey)) == NULL ||
	    (k->md = EVP_MD_CTX_new()) == NULL) {
		reason = "OpenSSL cannot sign RSA-SHA256 with this key";
		dkim_key_free(k);
		k = NULL;
	}
out:
	/* failed decoders leave errors queued; the next caller must not
	 * see them */
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	if (k == NULL && why != NULL)
		*why = reason;
	return k;
}

void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_CTX_free(k->sign);
	EVP_MD_CTX_free(k->md);
	EVP_PKEY_free(k->pkey);
	free(k);
}

int
dkim_key_bits(const struct dkim_key *k)
{
	return k->bits;
}

static void
sink_flush(struct sink *s)
{
	if (s->n == 0)
		return;
	if (s->md == NULL)
		buf_add(s->b, s->chunk, s->n);
	else if (EVP_DigestUpdate(s->md, s->chunk, s->n) != 1)
		s->failed = true;
	s->n = 0;
}

static void
sink_put(struct sink *s, const char *p, size_t n)
{
	if (s->md != NULL && n >= sizeof(s->chunk)) {
		sink_flush(s);
		if (EVP_DigestUpdate(s->md, p, n) != 1)
			s->failed = true;
		return;
	}
	while (n > 0) {
		size_t k = sizeof(s->chunk) - s->n;

		if (k == 0) {
			sink_flush(s);
			k = sizeof(s->chunk);
		}
		if (k > n)
			k = n;
		memcpy(s->chunk + s->n, p, k);
		s->n += k;
		p += k;
		n -= k;
	}
}

static void
sink_putc(struct sink *s, char c)
{
	if (s->n == sizeof(s->chunk))
		sink_flush(s);
	s->chunk[s->n++] = c;
}

/*
 * RFC 6376 3.4.2: name lower-cased, WSP around the colon dropped, folding
 * CRLFs removed, WSP runs made one SP, WSP at the end dropped. Checks the
 * whole field before writing anything. crlf: end with CRLF (every signed
 * field) or not (the DKIM-Signature field itself).
 */
static int
canon_header(struct sink *s, const char *f, size_t len, bool crlf)
{
	size_t i = 0, name_len;
	bool any = false, ws = false;

	while (i < len && name_char(f[i]))
		i++;
	name_len = i;
	while (i < len && is_wsp(f[i]))
		i++;
	if (name_len == 0 || i == len || f[i] != ':')
		return -1;
	for (size_t j = i + 1; j < len; j++) {
		if (f[j] == '\n')
			return -1;
		if (f[j] == '\r') {
			if (j + 2 >= len || f[j + 1] != '\n' ||
			    !is_wsp(f[j + 2]))
				return -1;
			j++;
		}
	}

	for (size_t j = 0; j < name_len; j++)
		sink_putc(s, lower(f[j]));
	sink_putc(s, ':');
	for (size_t j = i + 1; j < len; j++) {
		char c = f[j];

		if (is_wsp(c) || c == '\r' || c == '\n') {
			ws = true;
			continue;
		}
		if (ws && any)
			sink_putc(s, ' ');
		ws = false;
		any = true;
		sink_putc(s, c);
	}
	if (crlf)
		sink_put(s, "\r\n", 2);
	return 0;
}

/*
 * RFC 6376 3.4.4: WSP runs in a line made one SP, WSP at line ends
 * dropped, empty lines at the end dropped, a last line without CRLF given
 * one. Empty lines are counted and written only when a non-empty line
 * follows, so the body streams in one pass. On a bare CR or LF, returns
 * -1 with part of the output written.
 */
static int
canon_body(struct sink *s, const char *p, size_t len)
{
	const char *end = p + len;
	size_t empty = 0;

	while (p < end) {
		bool any = false, ws = false;

		while (p < end && *p != '\r' && *p != '\n') {
			const char *q = p;

			if (is_wsp(*p)) {
				ws = true;
				p++;
				continue;
			}
			/* bytes already canonical go out in one piece: all but
			 * WSP and line ends, and single SPs between them */
			while (q < end) {
				if (!body_special(*q))
					q++;
				else if (*q == ' ' && q + 1 < end &&
					 !body_special(q[1]))
					q += 2;
				else
					break;
			}
			if (!any) {
				for (; empty > 0; empty--)
					sink_put(s, "\r\n", 2);
				any = true;
			}
			if (ws)
				sink_putc(s, ' ');
			ws = false;
			sink_put(s, p, (size_t)(q - p));
			p = q;
		}
		if (p < end) {
			if (*p == '\n' || p + 1 == end || p[1] != '\n')
				return -1;
			p += 2;
		}
		if (any)
			sink_put(s, "\r\n", 2);
		else
			empty++;
	}
	return 0;
}

int
dkim_canon_header(struct buf *out, const char *field, size_t len)
{
	struct sink s = {.b = out};

	if (canon_header(&s, field, len, true) == -1)
		return -1;
	sink_flush(&s);
	return 0;
}

int
dkim_canon_body(struct buf *out, const char *body, size_t len)
{
	struct sink s = {.b = out};
	size_t start = out->len;

	if (canon_body(&s, body, len) == -1) {
		sink_flush(&s);
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	sink_flush(&s);
	return 0;
}

/* bh: base64 of the canonical body's SHA-256, DKIM_BH_SIZE bytes. */
static int
body_hash(
    EVP_MD_CTX *md, const char *body, size_t len, char *bh, const char **why)
{
	struct sink s = {.md = md};
	unsigned char dg[SHA256_LEN];
	unsigned int dg_len;

	*why = "OpenSSL digest failure";
	if (EVP_DigestInit_ex(md, sha256(), NULL) != 1)
		return -1;
	if (canon_body(&s, body, len) == -1) {
		*why = "bare CR or LF in message body";
		return -1;
	}
	sink_flush(&s);
	if (s.failed || EVP_DigestFinal_ex(md, dg, &dg_len) != 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)bh, dg, (int)dg_len);
	return 0;
}

int
dkim_body_hash(const char *body, size_t len, char bh[DKIM_BH_SIZE])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *why;
	int rc = -1;

	if (md != NULL)
		rc = body_hash(md, body, len, bh, &why);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/*
 * The header field starting at *pp (RFC 5322 2.2: a name, optional WSP, a
 * colon, a value that may continue on lines starting with WSP). Returns 1
 * with f filled and *pp on the next line, 0 at the end of the header
 * section with *pp at the body (after the empty line; at end if there is
 * none), or -1 if the text is not a header field.
 */
static int
field_next(const char **pp, const char *end, struct field *f)
{
	const char *p = *pp, *q;

	if (p == end)
		return 0;
	if (*p == '\r' && p + 1 < end && p[1] == '\n') {
		*pp = p + 2;
		return 0;
	}
	for (q = p; q < end && name_char(*q); q++)
		;
	f->p = p;
	f->name_len = (size_t)(q - p);
	while (q < end && is_wsp(*q))
		q++;
	if (f->name_len == 0 || q == end || *q != ':')
		return -1;
	for (;;) {
		while (q < end && *q != '\r' && *q != '\n')
			q++;
		if (q == end) {
			f->len = (size_t)(q - p);
			*pp = end;
			return 1;
		}
		if (*q == '\n' || q + 1 == end || q[1] != '\n')
			return -1;
		if (q + 2 < end && is_wsp(q[2])) {
			q += 2;
			continue;
		}
		f->len = (size_t)(q - p);
		*pp = q + 2;
		return 1;
	}
}

/*
 * The fields to sign, in h= order: for each listed name (repeats
 * ignored), every instance of it from the bottom up (RFC 6376 5.4.2).
 * sel holds at least nfields entries: no field is picked twice.
 */
static size_t
select_fields(const struct field *fields, size_t nfields,
    const char *const *headers, const struct field **sel)
{
	size_t nsel = 0;

	for (size_t i = 0; headers[i] != NULL; i++) {
		bool repeat = false;

		for (size_t j = 0; j < i && !repeat; j++)
			repeat =
			    name_eq(headers[j], strlen(headers[j]), headers[i]);
		if (repeat)
			continue;
		for (size_t j = nfields; j-- > 0;)
			if (name_eq(
				fields[j].p, fields[j].name_len, headers[i]))
				sel[nsel++] = &fields[j];
	}
	return nsel;
}

/*
 * Before a piece of n octets: a tag's first piece gets " " when it fits
 * on the line, later pieces nothing; a piece that does not fit starts a
 * new line (CRLF TAB), unless the line holds nothing yet.
 */
static void
fold_room(struct fold *f, size_t n, bool first)
{
	if (f->col + (first ? 1 : 0) + n <= DKIM_LINE_MAX) {
		if (first) {
			buf_addc(f->b, ' ');
			f->col++;
		}
	} else if (f->col > 1) {
		buf_add(f->b, "\r\n\t", 3);
		f->col = 1;
	}
}

static void
fold_add(struct fold *f, const char *s, size_t n)
{
	buf_add(f->b, s, n);
	f->col += n;
}

/* A whole tag "name=value;" as one piece. */
static void
fold_tag(struct fold *f, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	fold_room(f, nl + 1 + vl + 1, true);
	fold_add(f, name, nl);
	fold_add(f, "=", 1);
	fold_add(f, value, vl);
	fold_add(f, ";", 1);
}

/* Everything up to and including "b=", which starts a line of its own. */
static void
write_header(struct fold *f, const char *domain, const char *selector,
    long long timestamp, const struct field *const *sel, size_t nsel,
    const char *bh)
{
	char t[24];

	fold_add(f, "DKIM-Signature:", 15);
	fold_tag(f, "v", "1");
	fold_tag(f, "a", "rsa-sha256");
	fold_tag(f, "c", "relaxed/relaxed");
	fold_tag(f, "d", domain);
	fold_tag(f, "s", selector);
	if (timestamp >= 0) {
		snprintf(t, sizeof(t), "%lld", timestamp);
		fold_tag(f, "t", t);
	}
	/* h= breaks after a ':' when it must (FWS is allowed there) */
	for (size_t i = 0; i < nsel; i++) {
		size_t n = sel[i]->name_len;

		fold_room(f, (i == 0 ? 2 : 0) + n + 1, i == 0);
		if (i == 0)
			fold_add(f, "h=", 2);
		fold_add(f, sel[i]->p, n);
		fold_add(f, i + 1 < nsel ? ":" : ";", 1);
	}
	fold_tag(f, "bh", bh);
	buf_add(f->b, "\r\n\tb=", 5);
	f->col = 3;
}

/* A context for RSASSA-PKCS1-v1_5 signatures of SHA-256 digests. */
static EVP_PKEY_CTX *
sign_ctx_new(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Signs digest dg into sig (SIG_MAX bytes) with the key's context, which
 * one EVP_PKEY_sign_init() prepares for any number of signatures. */
static int
rsa_sign(struct dkim_key *k, const unsigned char *dg, unsigned char *sig,
    size_t *sig_len)
{
	*sig_len = SIG_MAX;
	if (k->sign == NULL && (k->sign = sign_ctx_new(k->pkey)) == NULL)
		return -1;
	if (EVP_PKEY_sign(k->sign, sig, sig_len, dg, SHA256_LEN) != 1) {
		/* do not trust a context in an unknown state */
		EVP_PKEY_CTX_free(k->sign);
		k->sign = NULL;
		return -1;
	}
	return 0;
}

int
dkim_sign(struct dkim_key *k, const char *domain, const char *selector,
    const char *const *headers, long long timestamp, const char *msg,
    size_t len, struct buf *out, const char **why)
{
	struct field fields_stack[FIELDS_STACK], *fields = fields_stack, f;
	const struct field *sel_stack[FIELDS_STACK], **sel = sel_stack;
	const char *p, *end = msg + len, *body, *reason = NULL;
	size_t nfields = 0, nsel, start = out->len;
	char bh[DKIM_BH_SIZE], b64[B64_LEN(SIG_MAX) + 1];
	unsigned char dg[SHA256_LEN], sig[SIG_MAX];
	unsigned int dg_len;
	size_t sig_len, b64_len, room;
	EVP_MD_CTX *md = k->md;
	struct sink s = {0};
	struct fold fo = {out, 0};
	bool from = false;
	int r;

	if (headers == NULL)
		headers = dkim_default_headers;
	if (!domain_valid(domain)) {
		reason = "invalid DKIM domain";
		goto fail;
	}
	if (!dns_name_valid(selector) ||
	    strlen(selector) + strlen(DOMAINKEY) + strlen(domain) >
		DNS_NAME_MAX) {
		reason = "invalid DKIM selector";
		goto fail;
	}
	if (timestamp > DKIM_T_MAX) {
		reason = "DKIM timestamp over 12 digits";
		goto fail;
	}
	if (!header_list_ok(headers)) {
		reason = "invalid DKIM header list (bad name or no From)";
		goto fail;
	}

	/* count the fields, then index them (on the stack when few) */
	for (p = msg; (r = field_next(&p, end, &f)) == 1;)
		nfields++;
	if (r == -1) {
		reason = "malformed message header section";
		goto fail;
	}
	body = p;
	if (nfields > FIELDS_STACK) {
		fields = xcalloc(nfields, sizeof(*fields));
		sel = xcalloc(nfields, sizeof(*sel));
	}
	for (p = msg, nfields = 0; field_next(&p, end, &fields[nfields]) == 1;)
		nfields++;
	nsel = select_fields(fields, nfields, headers, sel);
	for (size_t i = 0; i < nsel; i++)
		if (name_eq(sel[i]->p, sel[i]->name_len, "from"))
			from = true;
	if (!from) {
		reason = "message has no From field";
		goto fail;
	}

	if (body_hash(md, body, (size_t)(end - body), bh, &reason) == -1)
		goto fail;

	/* signed fields, then this header up to "b=" without CRLF (3.7) */
	write_header(&fo, domain, selector, timestamp, sel, nsel, bh);
	s.md = md;
	if (EVP_DigestInit_ex(md, sha256(), NULL) != 1) {
		reason = "OpenSSL digest failure";
		goto fail;
	}
	for (size_t i = 0; i < nsel; i++)
		if (canon_header(&s, sel[i]->p, sel[i]->len, true) == -1)
			fatalx("dkim: indexed field no longer parses");
	if (canon_header(&s, out->data + start, out->len - start, false) == -1)
		fatalx("dkim: own header does not parse");
	sink_flush(&s);
	if (s.failed || EVP_DigestFinal_ex(md, dg, &dg_len) != 1 ||
	    rsa_sign(k, dg, sig, &sig_len) == -1) {
		reason = "OpenSSL signing failure";
		goto fail;
	}

	b64_len =
	    (size_t)EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
	for (size_t i = 0; i < b64_len; i += room) {
		room = DKIM_LINE_MAX - fo.col;
		if (room == 0) {
			buf_add(out, "\r\n\t", 3);
			fo.col = 1;
			room = DKIM_LINE_MAX - 1;
		}
		if (room > b64_len - i)
			room = b64_len - i;
		fold_add(&fo, b64 + i, room);
	}
	buf_add(out, "\r\n", 2);
	if (fields != fields_stack) {
		free(fields);
		free(sel);
	}
	return 0;

fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	if (fields != fields_stack) {
		free(fields);
		free(sel);
	}
	ERR_clear_error();
	if (why != NULL)
		*why = reason;
	return -1;
}
