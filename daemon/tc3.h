/*
 * tc3.h: TC3-HMAC-SHA256 request verification (Tencent Cloud API 3.0),
 * per ../shared/ses-api.md section 2 and its section 10 checklist.
 * Pure: no I/O, no clock of its own (the caller passes "now"), no globals.
 */
#ifndef SESD_TC3_H
#define SESD_TC3_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum tc3_result {
	TC3_OK = 0,
	TC3_MALFORMED,     /* Authorization unparsable / not TC3 */
	TC3_NO_TIMESTAMP,  /* X-TC-Timestamp missing or not a number */
	TC3_EXPIRED,       /* |now - timestamp| > max_skew */
	TC3_BAD_SIGNATURE, /* mismatch, or credential date != UTC date */
};

struct tc3_header {
	const char *name; /* as received, any case */
	const char *value;
};

/* One request as received; everything borrowed from the caller. */
struct tc3_request {
	const char *method; /* "POST" / "GET" */
	const char *path;   /* request path without query, e.g. "/" */
	const char *query;  /* raw query string after '?', "" if none */
	const struct tc3_header *headers;
	size_t nheaders;
	const unsigned char *body; /* raw body bytes, never re-serialised */
	size_t body_len;
};

/* The parsed Authorization header. */
struct tc3_auth {
	char secret_id[129];
	char date[11];            /* YYYY-MM-DD */
	char service[65];         /* from the credential scope, never assumed */
	char signed_headers[513]; /* as sent, e.g. "content-type;host" */
	char signature[65];       /* 64 lowercase hex */
};

/*
 * Parses "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
 * SignedHeaders=..., Signature=...", tolerant of blanks around commas;
 * fields in any order. Returns 0, or -1 if the value is not of that form
 * (any field missing, repeated, unknown or too long, wrong algorithm,
 * terminator not tc3_request, date not YYYY-MM-DD, more than 32 signed
 * headers, signature not 64 lowercase hex); out is zeroed on -1.
 */
int tc3_parse_authorization(const char *value, struct tc3_auth *out);

/*
 * Verifies req against auth with secret_key. Checks in order: timestamp
 * present (TC3_NO_TIMESTAMP), skew (TC3_EXPIRED; skipped when max_skew < 0),
 * credential date == UTC date of the timestamp, then the signature, trying
 * the host value as received lower-cased, then with ":port" removed, then
 * exactly as received (at most three attempts sharing one derived key;
 * identical variants are skipped). Header lookups are case-insensitive.
 * "X-TC-Content-SHA256: UNSIGNED-PAYLOAD" hashes that literal instead of
 * the body. Comparison is constant-time. A signed header that is missing
 * or repeated gives TC3_BAD_SIGNATURE; an auth whose signed_headers or
 * signature is unusable gives TC3_MALFORMED.
 */
enum tc3_result tc3_verify(const struct tc3_request *req,
    const struct tc3_auth *auth, const char *secret_key, time_t now,
    long max_skew);

/*
 * The signing key of one scope: HMACs of the secret key with the date,
 * the service and "tc3_request", three of the four HMACs a verification
 * costs. It changes once a day, so a caller that verifies many requests
 * keeps one per secret key (as AWS SigV4 signers cache theirs). Zero it
 * to start; tc3_key_reset() wipes it.
 */
struct tc3_key {
	char date[11];
	char service[65];
	unsigned char key[32];
	bool valid;
	/* which form of the Host header verified last: 0 as sent, 1 without
	 * ":port", 2 verbatim. A client keeps signing the same one, so it is
	 * tried first next time. */
	unsigned char host_first;
};

/*
 * tc3_verify() with a kept signing key: *k is used as is when it holds the
 * key of auth's date and service, and is derived anew into *k otherwise.
 * The host form that verified last with *k is tried first (the same forms
 * are accepted; a Node SDK client then costs one attempt, not two).
 * One k must only ever be used with one secret_key.
 */
enum tc3_result tc3_verify_key(const struct tc3_request *req,
    const struct tc3_auth *auth, const char *secret_key, struct tc3_key *k,
    time_t now, long max_skew);
void tc3_key_reset(struct tc3_key *k);

/*
 * Computes the lowercase hex signature of req for auth's scope and signed
 * headers, using host_value verbatim for the "host" header (NULL: the
 * request's Host, trimmed and lower-cased). For tests and tools.
 * Returns 0, or -1 when a signed header is missing or repeated, or
 * X-TC-Timestamp is missing or not a number.
 */
int tc3_sign(const struct tc3_request *req, const struct tc3_auth *auth,
    const char *secret_key, const char *host_value, char out[65]);

#endif
