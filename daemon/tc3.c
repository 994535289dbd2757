/*
 * tc3.c: TC3-HMAC-SHA256 verification (ses-api.md 2.2, checklist in 10).
 * Parses Authorization, checks timestamp, skew and credential date, then
 * recomputes the signature over the raw method, path, query, signed headers
 * and body. The canonical request is gathered in a fixed buffer and hashed
 * a kilobyte at a time, so no buffer grows with the request and OpenSSL
 * sees few calls. Pure: no I/O, no clock, no globals. Called by api.c
 * before any JSON parsing, and by tests.
 */
#include "tc3.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "util.h"

#define TC3_ALGORITHM  "TC3-HMAC-SHA256"
#define TC3_TERMINATOR "tc3_request"
#define TC3_UNSIGNED   "UNSIGNED-PAYLOAD"
#define TC3_MAX_SIGNED 32 /* names in SignedHeaders */
#define TC3_MAX_TS     18 /* timestamp digits; always fits long long */
#define TC3_SIG_LEN    64
#define SHA256_LEN     32
#define SHA256_BLOCK   64

/* A borrowed, not NUL-terminated piece of a string. */
struct span {
	const char *p;
	size_t n;
};

struct signed_list {
	struct span name[TC3_MAX_SIGNED];
	size_t n;
};

/* The value to put on the canonical "host:" line, and which of the forms
 * tc3_verify_key() tries it is (tc3_key.host_first). */
struct host_variant {
	struct span value;
	bool lower;
	unsigned char kind;
};

enum host_kind {
	HOST_AS_SENT, /* trimmed, lower-cased */
	HOST_NO_PORT, /* the same without ":port" (the Node SDK) */
	HOST_VERBATIM /* untouched (an upper-case endpoint in Go/Python/Java) */
};

/* Bytes on their way into a digest, gathered so that OpenSSL sees a few
 * large updates instead of one per piece of the canonical request. */
struct gather {
	EVP_MD_CTX *md;
	size_t n;
	unsigned char b[1024];
};

/* Everything one request's host attempts share. */
struct signer {
	const struct tc3_request *req;
	const struct tc3_auth *auth;
	struct signed_list signed_hdrs;
	const char *timestamp; /* verbatim, digits only */
	char payload_hex[2 * SHA256_LEN + 1];
	const unsigned char *key; /* kSigning, 32 bytes */
	EVP_MD_CTX *md;           /* reused by every digest of the request */
};

static bool is_blank(char);
static struct span span_of(const char *);
static struct span span_trim(struct span);
static bool span_eq(struct span, const char *);
static bool span_case_eq(struct span, const char *);
static bool span_has_crlf(struct span);
static bool span_has_upper(struct span);
static int field_copy(char *, size_t, struct span, bool (*)(char));
static bool id_char(char);
static bool name_char(char);
static bool hex_char(char);
static int parse_credential(struct span, struct tc3_auth *);
static int parse_date(struct span);
static int split_signed(const char *, struct signed_list *);
static const struct tc3_header *header_find(
    const struct tc3_request *, struct span, size_t *);
static int parse_timestamp(const char *, long long *);
static int utc_date(long long, char *, size_t);
static size_t host_strip_port(struct span);
static void md_update(EVP_MD_CTX *, const void *, size_t);
static void gather_add(struct gather *, const void *, size_t);
static void gather_add_lower(struct gather *, struct span);
static void hmac_sha256(
    EVP_MD_CTX *, const void *, size_t, const void *, size_t, unsigned char *);
static void derive_key(const char *, const struct tc3_auth *, unsigned char *);
static void key_get(struct tc3_key *, const char *, const struct tc3_auth *);
static int signer_init(struct signer *, const struct tc3_request *,
    const struct tc3_auth *, const struct tc3_key *);
static void signer_done(struct signer *);
static int canonical_hash(
    const struct signer *, const struct host_variant *, unsigned char *);
static int signature(
    const struct signer *, const struct host_variant *, char *);

int
tc3_parse_authorization(const char *value, struct tc3_auth *out)
{
	static const char algo[] = TC3_ALGORITHM;
	struct tc3_auth a;
	struct signed_list sl;
	bool have_cred = false, have_sh = false, have_sig = false;
	const char *p, *end, *eq;
	struct span field, key, val;

	memset(&a, 0, sizeof(a));
	memset(out, 0, sizeof(*out));
	if (value == NULL)
		return -1;
	p = value;
	while (is_blank(*p))
		p++;
	if (strncmp(p, algo, sizeof(algo) - 1) != 0)
		return -1;
	p += sizeof(algo) - 1;
	if (!is_blank(*p))
		return -1;

	/* Fields separated by ',' with any blanks around; order is free. */
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		field = span_trim((struct span){p, (size_t)(end - p)});
		eq = memchr(field.p, '=', field.n);
		if (eq == NULL)
			return -1;
		key = (struct span){field.p, (size_t)(eq - field.p)};
		val = (struct span){eq + 1, field.n - key.n - 1};
		if (span_eq(key, "Credential") && !have_cred) {
			if (parse_credential(val, &a) == -1)
				return -1;
			have_cred = true;
		} else if (span_eq(key, "SignedHeaders") && !have_sh) {
			if (field_copy(a.signed_headers,
				sizeof(a.signed_headers), val, name_char) == -1)
				return -1;
			have_sh = true;
		} else if (span_eq(key, "Signature") && !have_sig) {
			/* exactly 64 lowercase hex digits */
			if (val.n != TC3_SIG_LEN ||
			    field_copy(a.signature, sizeof(a.signature), val,
				hex_char) == -1)
				return -1;
			have_sig = true;
		} else
			return -1; /* unknown or repeated field */
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (!have_cred || !have_sh || !have_sig)
		return -1;
	if (split_signed(a.signed_headers, &sl) == -1)
		return -1;
	*out = a;
	return 0;
}

enum tc3_result
tc3_verify(const struct tc3_request *req, const struct tc3_auth *auth,
    const char *secret_key, time_t now, long max_skew)
{
	struct tc3_key k = {.valid = false};
	enum tc3_result r =
	    tc3_verify_key(req, auth, secret_key, &k, now, max_skew);

	tc3_key_reset(&k);
	return r;
}

void
tc3_key_reset(struct tc3_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
	k->valid = false;
}

enum tc3_result
tc3_verify_key(const struct tc3_request *req, const struct tc3_auth *auth,
    const char *secret_key, struct tc3_key *k, time_t now, long max_skew)
{
	struct signer s;
	struct signed_list sl;
	struct host_variant host[3];
	const struct tc3_header *h;
	struct span raw, trimmed;
	unsigned long long skew;
	long long ts;
	size_t nhost = 0, i;
	char date[32], sig[TC3_SIG_LEN + 1];
	bool host_signed = false, ok = false;

	if (split_signed(auth->signed_headers, &sl) == -1 ||
	    strlen(auth->signature) != TC3_SIG_LEN)
		return TC3_MALFORMED;

	h = header_find(req, span_of("x-tc-timestamp"), NULL);
	if (h == NULL || parse_timestamp(h->value, &ts) == -1)
		return TC3_NO_TIMESTAMP;
	if (max_skew >= 0) {
		/* unsigned: exact for any time_t, no overflow */
		if (ts >= (long long)now)
			skew = (unsigned long long)ts - (unsigned long long)now;
		else
			skew = (unsigned long long)now - (unsigned long long)ts;
		if (skew > (unsigned long long)max_skew)
			return TC3_EXPIRED;
	}
	if (utc_date(ts, date, sizeof(date)) == -1 ||
	    strcmp(date, auth->date) != 0)
		return TC3_BAD_SIGNATURE;

	for (i = 0; i < sl.n; i++)
		if (span_case_eq(sl.name[i], "host"))
			host_signed = true;
	if (host_signed) {
		/*
		 * Lower-cased as the spec says; without ":port" as the Node
		 * SDK signs; verbatim as Go/Python/Java sign an upper-case
		 * endpoint. Identical variants are not retried.
		 */
		h = header_find(req, span_of("host"), NULL);
		if (h == NULL)
			return TC3_BAD_SIGNATURE;
		raw = span_of(h->value);
		trimmed = span_trim(raw);
		host[nhost++] =
		    (struct host_variant){trimmed, true, HOST_AS_SENT};
		if (host_strip_port(trimmed) < trimmed.n)
			host[nhost++] = (struct host_variant){
			    {trimmed.p, host_strip_port(trimmed)}, true,
			    HOST_NO_PORT};
		if (trimmed.n != raw.n || span_has_upper(trimmed))
			host[nhost++] =
			    (struct host_variant){raw, false, HOST_VERBATIM};
		/* the form this key's client signed last time goes first */
		for (i = 1; i < nhost; i++)
			if (host[i].kind == k->host_first) {
				struct host_variant t = host[0];
				host[0] = host[i];
				host[i] = t;
			}
	} else
		host[nhost++] = (struct host_variant){{NULL, 0}, false, 0};

	if (secret_key == NULL)
		return TC3_BAD_SIGNATURE;
	key_get(k, secret_key, auth);
	if (signer_init(&s, req, auth, k) == -1)
		return TC3_BAD_SIGNATURE;
	for (i = 0; i < nhost && !ok; i++)
		if (signature(&s, &host[i], sig) == 0 &&
		    CRYPTO_memcmp(sig, auth->signature, TC3_SIG_LEN) == 0) {
			ok = true;
			if (host_signed)
				k->host_first = host[i].kind;
		}
	signer_done(&s);
	return ok ? TC3_OK : TC3_BAD_SIGNATURE;
}

int
tc3_sign(const struct tc3_request *req, const struct tc3_auth *auth,
    const char *secret_key, const char *host_value, char out[65])
{
	struct signer s;
	struct host_variant host;
	const struct tc3_header *h;
	struct tc3_key k = {.valid = false};
	int rc;

	out[0] = '\0';
	if (host_value != NULL)
		host = (struct host_variant){
		    span_of(host_value), false, HOST_VERBATIM};
	else if ((h = header_find(req, span_of("host"), NULL)) != NULL)
		host = (struct host_variant){
		    span_trim(span_of(h->value)), true, HOST_AS_SENT};
	else
		host = (struct host_variant){{NULL, 0}, false, 0};

	if (secret_key == NULL)
		return -1;
	key_get(&k, secret_key, auth);
	if (signer_init(&s, req, auth, &k) == -1)
		rc = -1;
	else {
		rc = signature(&s, &host, out);
		signer_done(&s);
	}
	tc3_key_reset(&k);
	return rc;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span
span_of(const char *s)
{
	return (struct span){s, strlen(s)};
}

static struct span
span_trim(struct span s)
{
	while (s.n > 0 && is_blank(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_blank(s.p[s.n - 1]))
		s.n--;
	return s;
}

static bool
span_eq(struct span s, const char *lit)
{
	return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0;
}

static bool
span_case_eq(struct span s, const char *lit)
{
	return strlen(lit) == s.n && strncasecmp(s.p, lit, s.n) == 0;
}

static bool
span_has_crlf(struct span s)
{
	return memchr(s.p, '\r', s.n) != NULL || memchr(s.p, '\n', s.n) != NULL;
}

static bool
span_has_upper(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] >= 'A' && s.p[i] <= 'Z')
			return true;
	return false;
}

/* Copies a non-empty s of allowed characters into dst; -1 if not. */
static int
field_copy(char *dst, size_t size, struct span s, bool (*allowed)(char))
{
	if (s.n == 0 || s.n >= size)
		return -1;
	for (size_t i = 0; i < s.n; i++)
		if (!allowed(s.p[i]))
			return -1;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return 0;
}

/* SecretId and service: visible ASCII; '/' separates scope parts. */
static bool
id_char(char c)
{
	return c > ' ' && c < 0x7f && c != '/';
}

/* Header names of SignedHeaders and the ';' between them. */
static bool
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == ';';
}

static bool
hex_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* "ID/YYYY-MM-DD/SERVICE/tc3_request" */
static int
parse_credential(struct span v, struct tc3_auth *a)
{
	struct span part[4];
	const char *p = v.p, *end = v.p + v.n, *slash;
	size_t n = 0;

	for (;;) {
		slash = memchr(p, '/', (size_t)(end - p));
		if (n == 3 && slash != NULL)
			return -1; /* a fifth part */
		part[n++] =
		    (struct span){p, (size_t)((slash ? slash : end) - p)};
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	if (n != 4 || !span_eq(part[3], TC3_TERMINATOR) ||
	    parse_date(part[1]) == -1)
		return -1;
	if (field_copy(a->secret_id, sizeof(a->secret_id), part[0], id_char) ==
		-1 ||
	    field_copy(a->service, sizeof(a->service), part[2], id_char) == -1)
		return -1;
	memcpy(a->date, part[1].p, part[1].n);
	a->date[part[1].n] = '\0';
	return 0;
}

/* YYYY-MM-DD by shape only; the date check in tc3_verify does the rest. */
static int
parse_date(struct span d)
{
	static const char shape[] = "dddd-dd-dd";

	if (d.n != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; i < d.n; i++)
		if (shape[i] == 'd' ? (d.p[i] < '0' || d.p[i] > '9')
				    : d.p[i] != shape[i])
			return -1;
	return 0;
}

/* Splits "a;b;c"; -1 on an empty name or more than TC3_MAX_SIGNED. */
static int
split_signed(const char *list, struct signed_list *sl)
{
	const char *p = list, *semi;

	sl->n = 0;
	for (;;) {
		semi = strchr(p, ';');
		if (sl->n == TC3_MAX_SIGNED)
			return -1;
		sl->name[sl->n] =
		    (struct span){p, semi ? (size_t)(semi - p) : strlen(p)};
		if (sl->name[sl->n].n == 0)
			return -1;
		for (size_t i = 0; i < sl->name[sl->n].n; i++)
			if (!name_char(p[i]))
				return -1;
		sl->n++;
		if (semi == NULL)
			return 0;
		p = semi + 1;
	}
}

/*
 * First header called name, any case; NULL if none. count, when given,
 * receives how many headers have that name.
 */
static const struct tc3_header *
header_find(const struct tc3_request *req, struct span name, size_t *count)
{
	const struct tc3_header *found = NULL;
	size_t n = 0;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (req->headers[i].name == NULL ||
		    req->headers[i].value == NULL ||
		    !span_case_eq(name, req->headers[i].name))
			continue;
		if (found == NULL)
			found = &req->headers[i];
		n++;
	}
	if (count != NULL)
		*count = n;
	return found;
}

/* Decimal digits only, as the client put them in the string to sign. */
static int
parse_timestamp(const char *s, long long *out)
{
	size_t n = strlen(s);
	char *end;

	if (n == 0 || n > TC3_MAX_TS || strspn(s, "0123456789") != n)
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int
utc_date(long long ts, char *out, size_t size)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if ((long long)t != ts || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d", &tm) == 0)
		return -1;
	return 0;
}

/* Length of host without a trailing ":digits" (after "]" for IPv6). */
static size_t
host_strip_port(struct span h)
{
	size_t i = h.n;

	while (i > 0 && h.p[i - 1] >= '0' && h.p[i - 1] <= '9')
		i--;
	if (i == h.n || i < 2 || h.p[i - 1] != ':')
		return h.n;
	if (h.p[0] == '[' && h.p[i - 2] != ']')
		return h.n; /* a colon inside an IPv6 literal */
	return i - 1;
}

static void
md_update(EVP_MD_CTX *md, const void *p, size_t n)
{
	if (EVP_DigestUpdate(md, p, n) != 1)
		fatalx("tc3: EVP_DigestUpdate failed");
}

static void
gather_add(struct gather *g, const void *p, size_t n)
{
	if (g->n + n > sizeof(g->b)) {
		md_update(g->md, g->b, g->n);
		g->n = 0;
		if (n > sizeof(g->b)) {
			md_update(g->md, p, n);
			return;
		}
	}
	memcpy(g->b + g->n, p, n);
	g->n += n;
}

static void
gather_add_lower(struct gather *g, struct span s)
{
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i] >= 'A' && s.p[i] <= 'Z'
			     ? (char)(s.p[i] - 'A' + 'a')
			     : s.p[i];
		if (g->n == sizeof(g->b)) {
			md_update(g->md, g->b, g->n);
			g->n = 0;
		}
		g->b[g->n++] = (unsigned char)c;
	}
}

/*
 * OpenSSL 3 looks an algorithm up by name (locks, property matching) on
 * every init with EVP_sha256() and every HMAC() call: that was 13% of a
 * request's CPU in tests/bench/api.sh. The SHA-256 handle is fetched once;
 * it is immutable and shared like a constant, so this leaf module still
 * holds no state of its own.
 */
static EVP_MD *sha256_md;

static void
sha256_fetch(void)
{
	if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("tc3: SHA256 is not available from OpenSSL");
}

static const EVP_MD *
sha256(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sha256_fetch);
	return sha256_md;
}

/* HMAC-SHA256 (RFC 2104) over the fetched digest, in the caller's md. */
static void
hmac_sha256(EVP_MD_CTX *md, const void *key, size_t key_len, const void *msg,
    size_t msg_len, unsigned char *out)
{
	unsigned char k[SHA256_BLOCK], pad[SHA256_BLOCK], inner[SHA256_LEN];
	unsigned int n = 0;

	memset(k, 0, sizeof(k));
	if (key_len > SHA256_BLOCK) {
		if (EVP_Digest(key, key_len, k, &n, sha256(), NULL) != 1)
			fatalx("tc3: EVP_Digest failed");
	} else
		memcpy(k, key, key_len);
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex(md, sha256(), NULL) != 1)
		fatalx("tc3: EVP_DigestInit_ex failed");
	md_update(md, pad, sizeof(pad));
	md_update(md, msg, msg_len);
	if (EVP_DigestFinal_ex(md, inner, &n) != 1)
		fatalx("tc3: EVP_DigestFinal_ex failed");
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex(md, sha256(), NULL) != 1)
		fatalx("tc3: EVP_DigestInit_ex failed");
	md_update(md, pad, sizeof(pad));
	md_update(md, inner, sizeof(inner));
	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != SHA256_LEN)
		fatalx("tc3: EVP_DigestFinal_ex failed");
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
}

/* kSigning = HMAC(HMAC(HMAC("TC3" + SecretKey, Date), Service), "tc3_request")
 */
static void
derive_key(const char *secret, const struct tc3_auth *a, unsigned char *out)
{
	unsigned char k0[SHA256_BLOCK], k1[SHA256_LEN], k2[SHA256_LEN];
	size_t len = strlen(secret), k0_len;
	unsigned int md_len = 0;
	EVP_MD_CTX *md;

	if (3 + len <= sizeof(k0)) {
		memcpy(k0, "TC3", 3);
		memcpy(k0 + 3, secret, len);
		k0_len = 3 + len;
	} else {
		/* RFC 2104: a key longer than the block is hashed first. */
		if ((md = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(md, sha256(), NULL) != 1)
			fatalx("tc3: EVP_DigestInit_ex failed");
		md_update(md, "TC3", 3);
		md_update(md, secret, len);
		if (EVP_DigestFinal_ex(md, k0, &md_len) != 1)
			fatalx("tc3: EVP_DigestFinal_ex failed");
		EVP_MD_CTX_free(md);
		k0_len = md_len;
	}
	if ((md = EVP_MD_CTX_new()) == NULL)
		fatalx("tc3: EVP_MD_CTX_new failed");
	hmac_sha256(md, k0, k0_len, a->date, strlen(a->date), k1);
	hmac_sha256(md, k1, sizeof(k1), a->service, strlen(a->service), k2);
	hmac_sha256(
	    md, k2, sizeof(k2), TC3_TERMINATOR, strlen(TC3_TERMINATOR), out);
	EVP_MD_CTX_free(md);
	OPENSSL_cleanse(k0, sizeof(k0));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
}

/* k as the signing key of auth's scope, derived unless it already is. */
static void
key_get(struct tc3_key *k, const char *secret_key, const struct tc3_auth *auth)
{
	if (k->valid && strcmp(k->date, auth->date) == 0 &&
	    strcmp(k->service, auth->service) == 0)
		return;
	derive_key(secret_key, auth, k->key);
	snprintf(k->date, sizeof(k->date), "%s", auth->date);
	snprintf(k->service, sizeof(k->service), "%s", auth->service);
	k->valid = true;
}

/* Work shared by every host attempt: key, payload hash, timestamp. */
static int
signer_init(struct signer *s, const struct tc3_request *req,
    const struct tc3_auth *auth, const struct tc3_key *k)
{
	const struct tc3_header *h;
	unsigned char digest[SHA256_LEN];
	const unsigned char *body;
	size_t body_len;
	long long ts;

	memset(s, 0, sizeof(*s));
	if (req->method == NULL ||
	    split_signed(auth->signed_headers, &s->signed_hdrs) == -1)
		return -1;
	h = header_find(req, span_of("x-tc-timestamp"), NULL);
	if (h == NULL || parse_timestamp(h->value, &ts) == -1)
		return -1;
	s->req = req;
	s->auth = auth;
	s->timestamp = h->value;

	h = header_find(req, span_of("x-tc-content-sha256"), NULL);
	if (h != NULL && span_eq(span_trim(span_of(h->value)), TC3_UNSIGNED)) {
		body = (const unsigned char *)TC3_UNSIGNED;
		body_len = strlen(TC3_UNSIGNED);
	} else {
		body =
		    req->body != NULL ? req->body : (const unsigned char *)"";
		body_len = req->body != NULL ? req->body_len : 0;
	}
	if ((s->md = EVP_MD_CTX_new()) == NULL)
		fatalx("tc3: EVP_MD_CTX_new failed");
	if (EVP_DigestInit_ex(s->md, sha256(), NULL) != 1)
		fatalx("tc3: EVP_DigestInit_ex failed");
	md_update(s->md, body, body_len);
	if (EVP_DigestFinal_ex(s->md, digest, NULL) != 1)
		fatalx("tc3: EVP_DigestFinal_ex failed");
	hex_encode(s->payload_hex, digest, sizeof(digest));
	s->key = k->key;
	return 0;
}

static void
signer_done(struct signer *s)
{
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

/*
 * SHA-256 of METHOD\nURI\nQUERY\nCANONICAL_HEADERS\nSIGNED_HEADERS\nPAYLOAD.
 * -1 when a signed header is missing, repeated or holds CR/LF.
 */
static int
canonical_hash(
    const struct signer *s, const struct host_variant *host, unsigned char *out)
{
	const struct tc3_request *req = s->req;
	const struct tc3_header *h;
	const char *path, *query;
	struct span name, value;
	struct gather g;
	unsigned int len = 0;
	size_t count;
	bool lower;

	/* the Node SDK signs the real path; the others "/" (we serve "/") */
	path = req->path != NULL && req->path[0] != '\0' ? req->path : "/";
	query = req->query != NULL ? req->query : "";

	g.md = s->md;
	g.n = 0;
	if (EVP_DigestInit_ex(g.md, sha256(), NULL) != 1)
		fatalx("tc3: EVP_DigestInit_ex failed");
	gather_add(&g, req->method, strlen(req->method));
	gather_add(&g, "\n", 1);
	gather_add(&g, path, strlen(path));
	gather_add(&g, "\n", 1);
	gather_add(&g, query, strlen(query));
	gather_add(&g, "\n", 1);
	for (size_t i = 0; i < s->signed_hdrs.n; i++) {
		name = s->signed_hdrs.name[i];
		if (span_case_eq(name, "host")) {
			if (host->value.p == NULL)
				return -1;
			value = host->value;
			lower = host->lower;
		} else {
			/* a repeated signed header is ambiguous: refuse it */
			h = header_find(req, name, &count);
			if (h == NULL || count != 1)
				return -1;
			value = span_trim(span_of(h->value));
			lower = true;
		}
		if (span_has_crlf(value))
			return -1;
		gather_add(&g, name.p, name.n);
		gather_add(&g, ":", 1);
		if (lower)
			gather_add_lower(&g, value);
		else
			gather_add(&g, value.p, value.n);
		gather_add(&g, "\n", 1);
	}
	gather_add(&g, "\n", 1);
	gather_add(
	    &g, s->auth->signed_headers, strlen(s->auth->signed_headers));
	gather_add(&g, "\n", 1);
	gather_add(&g, s->payload_hex, strlen(s->payload_hex));
	md_update(g.md, g.b, g.n);
	if (EVP_DigestFinal_ex(g.md, out, &len) != 1 || len != SHA256_LEN)
		fatalx("tc3: EVP_DigestFinal_ex failed");
	return 0;
}

/* Lowercase hex signature for one host variant into out (65 bytes). */
static int
signature(const struct signer *s, const struct host_variant *host, char *out)
{
	unsigned char digest[SHA256_LEN], mac[SHA256_LEN];
	char hash_hex[2 * SHA256_LEN + 1];
	/* 15+1 + 18+1 + 10+1+64+1+11+1 + 64: fields are bounded by tc3_auth */
	char sts[256];
	int n;

	if (canonical_hash(s, host, digest) == -1)
		return -1;
	hex_encode(hash_hex, digest, sizeof(digest));
	n = snprintf(sts, sizeof(sts), "%s\n%s\n%s/%s/%s\n%s", TC3_ALGORITHM,
	    s->timestamp, s->auth->date, s->auth->service, TC3_TERMINATOR,
	    hash_hex);
	if (n < 0 || (size_t)n >= sizeof(sts))
		return -1;
	hmac_sha256(s->md, s->key, SHA256_LEN, sts, (size_t)n, mac);
	hex_encode(out, mac, sizeof(mac));
	return 0;
}
