/*
 * dkim.h: DKIM signatures (RFC 6376) as sesd sends them: rsa-sha256,
 * relaxed/relaxed, one signature per call over the headers of a message
 * that mime.c assembled (CRLF line ends, headers, blank line, body). The
 * caller prepends the DKIM-Signature header to the message. Leaf module:
 * no I/O, no clock (t= comes from the caller), no state but the key.
 */
#ifndef SESD_DKIM_H
#define SESD_DKIM_H

#include <stddef.h>

#include "log.h"
#include "util.h"

#define DKIM_MIN_BITS 1024
#define DKIM_MAX_BITS 4096
#define DKIM_LINE_MAX 78 /* octets per header line, CRLF not counted */
#define DKIM_BH_SIZE  45 /* base64 SHA-256 (44 chars) and its NUL */
#define DKIM_T_MAX    999999999999LL /* t= is at most 12 digits */

/*
 * The headers signed when the caller passes no list (DESIGN.md 6), in h=
 * order. NULL-terminated; immutable.
 */
extern const char *const dkim_default_headers[];

/* A parsed private key; opaque. */
struct dkim_key;

/*
 * Parses an RSA private key in PEM, as keygen.c stores it in
 * email_identities.dkim_private_key ("BEGIN PRIVATE KEY", PKCS#8; the
 * PKCS#1 "BEGIN RSA PRIVATE KEY" form is accepted too). pem is len bytes,
 * no NUL needed. Refuses encrypted keys (never prompts), keys of other
 * types and RSA sizes outside DKIM_MIN_BITS..DKIM_MAX_BITS. Returns a key
 * the caller frees with dkim_key_free(), or NULL with a static reason in
 * *why (why may be NULL). Parse once, sign many times: the key keeps
 * OpenSSL contexts that dkim_sign() reuses (setting one up costs 4% of an
 * RSA-1024 signature), so a key serves one thread at a time. sesd's SMTP
 * workers are single-threaded processes.
 */
struct dkim_key *dkim_key_new(const char *pem, size_t len, const char **why);
/* Accepts NULL. */
void dkim_key_free(struct dkim_key *k);
/* RSA modulus size in bits. */
int dkim_key_bits(const struct dkim_key *k);

/*
 * Signs msg (len bytes: header fields, an empty line, the body; every line
 * ends in CRLF, a bare CR or LF is refused) and appends the complete
 *
 *   DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=DOMAIN;
 *   <TAB>s=SELECTOR; t=TIMESTAMP; h=From:To:...; bh=...;
 *   <TAB>b=...
 *
 * header to out, ending in CRLF and folded (CRLF TAB) to lines of at most
 * DKIM_LINE_MAX octets; only a d= or s= value or an h= name too long
 * for a line by itself makes a longer one. The caller writes it in front
 * of msg; msg is not modified.
 *
 * domain (d=) must be a DNS name of LDH labels with at least one dot;
 * selector (s=) one or more LDH labels; selector._domainkey.domain at
 * most 253 octets. headers: the field names to sign, NULL-terminated,
 * case-insensitive, or NULL for dkim_default_headers; each name is one
 * field name (printable ASCII without ':' or ';'), a repeated name counts
 * once, and "From" must be among them. Every instance present in msg is
 * signed, bottom-up (RFC 6376 5.4.2), and h= names each once per
 * instance, spelled as in msg; names absent from msg are left out of h=.
 * msg must have a From field. timestamp: the t= value, 0..DKIM_T_MAX, or
 * negative for no t=.
 *
 * Returns 0, or -1 with out unchanged and a static reason in *why (why
 * may be NULL): bad domain, selector or header list, malformed message,
 * no From, or an OpenSSL failure.
 */
int dkim_sign(struct dkim_key *k, const char *domain, const char *selector,
    const char *const *headers, long long timestamp, const char *msg,
    size_t len, struct buf *out, const char **why) SESD_MUSTCHECK;

/*
 * The pieces of dkim_sign(), for tests and diagnostics.
 *
 * dkim_canon_header: relaxed canonical form of one header field (RFC 6376
 * 3.4.2). field is len bytes, "Name: value" with any folding (CRLF then
 * WSP) but without the final CRLF. Appends "name:value\r\n" to out.
 * Returns -1 (out unchanged) if the field has no name or colon, a name
 * byte outside printable ASCII, a bare CR or LF, or a CRLF not followed
 * by WSP.
 *
 * dkim_canon_body: relaxed canonical form of a body (RFC 6376 3.4.4),
 * appended to out. An empty body, or one of empty lines only, gives the
 * empty string. Returns -1 (out unchanged) on a bare CR or LF.
 *
 * dkim_body_hash: the bh= value of a body: base64 of the SHA-256 of
 * dkim_canon_body(), 44 characters and a NUL in bh. Returns -1 on a bare
 * CR or LF, or an OpenSSL failure.
 */
int dkim_canon_header(
    struct buf *out, const char *field, size_t len) SESD_MUSTCHECK;
int dkim_canon_body(
    struct buf *out, const char *body, size_t len) SESD_MUSTCHECK;
int dkim_body_hash(
    const char *body, size_t len, char bh[DKIM_BH_SIZE]) SESD_MUSTCHECK;

#endif
