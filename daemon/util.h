/*
 * util.h: allocation that never returns NULL, a growable byte buffer,
 * base64, request ids, clocks and the address syntax check that every
 * action shares. Leaf module: touches no daemon state.
 */
#ifndef SESD_UTIL_H
#define SESD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Allocation: fatalx() on out of memory, so callers never check. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a string the caller frees. */
char *xasprintf(const char *fmt, ...) SESD_PRINTF(1, 2);

/* A growable byte buffer; always NUL-terminated after its len bytes. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};
void buf_init(struct buf *b);
void buf_reset(struct buf *b); /* frees the storage */
void buf_clear(struct buf *b); /* empties it, keeps the storage */
/* Makes room for more bytes after len at once (one allocation, not a
 * doubling per append). */
void buf_reserve(struct buf *b, size_t more);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) SESD_PRINTF(2, 3);

/*
 * Standard base64 (RFC 4648, "=" padding). base64_decode accepts only
 * canonical input of that alphabet (no whitespace); returns the decoded
 * length, or -1 on malformed input. out must hold 3 * (len / 4) bytes.
 */
void base64_encode(struct buf *out, const void *in, size_t len);
long base64_decode(unsigned char *out, const char *in, size_t len);

/* Random UUID v4 text (36 chars + NUL) from OpenSSL's RAND_bytes, drawn
 * in batches (per thread; a forked child never reuses its parent's). */
void uuid_v4(char out[37]);

/* Milliseconds from CLOCK_MONOTONIC. */
uint64_t now_ms(void);

/* Lowercase hex of n bytes into out (2n + 1 bytes). */
void hex_encode(char *out, const unsigned char *in, size_t n);

/* True when s is valid UTF-8 without NUL bytes (len bytes). */
bool utf8_valid(const char *s, size_t len);
/* Number of UTF-8 characters (code points) in a valid string. */
size_t utf8_chars(const char *s);

/* True if s contains CR or LF: such a value must never reach a header. */
bool has_crlf(const char *s);

/*
 * Plain addr-spec check as the API needs it: local@domain, local part of
 * atext and dots (no leading/trailing/double dot), domain of LDH labels
 * with a dot, total length at most max_len. No quoted strings, no comments.
 */
bool email_valid(const char *s, size_t max_len);
/* One DNS label: 1..63 letters, digits and hyphens, no hyphen at either
 * end (n bytes of s). */
bool dns_label_valid(const char *s, size_t n);
/* One or more dot-separated labels, <= 253 chars (a host name). */
bool dns_name_valid(const char *s);
/* A mail domain: dns_name_valid with at least one dot. */
bool domain_valid(const char *s);

#endif
