/*
 * unsub.h: the ad marker and the unsubscribe rules (DESIGN.md section 6,
 * ses-api.md 4.1 and 7): the subject with its ad marker, the opaque
 * unsubscribe token, its URL, the List-Unsubscribe header values and the
 * localized footer and confirmation page texts. Pure: no I/O, no clock,
 * no globals; keys and configured strings are passed in by the caller.
 *
 * Every function that writes appends to a caller-owned struct buf and, on
 * -1, leaves it exactly as it was (same length and contents).
 *
 * Token format, version 1 (UNSUB_TOKEN_V1), base64url without padding
 * (RFC 4648 section 5) of
 *
 *     payload = 0x01                        version byte
 *               app_id       u64 big-endian  account
 *               task_id      u64 big-endian  send task
 *               domain_len   u8, domain      sender domain, 1..253 bytes
 *               rcpt_len     u8, rcpt        recipient, 1..254 bytes
 *     token   = payload || MAC
 *     MAC     = first 16 bytes of HMAC-SHA256(key, "sesd-unsub" || payload)
 *
 * The 128-bit truncated MAC (NIST SP 800-107 allows truncation to 128 bits
 * for this use) keeps tokens short: a typical one is about 85 characters,
 * the longest (253-byte domain, 254-byte address) UNSUB_TOKEN_MAX. Length
 * prefixes make the field split unambiguous; the label keeps the MAC
 * distinct from any other use of the same key. The payload is signed, not
 * encrypted: anyone holding the link can read the address in it, which is
 * its own recipient's. A later version byte can add a key id or encryption.
 */
#ifndef SESD_UNSUB_H
#define SESD_UNSUB_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

/* Default for [content] ad_marker (ses-api.md 7.1); the caller's config. */
#define UNSUB_AD_MARKER_DEFAULT "<AD>"

#define UNSUB_TOKEN_V1   1
#define UNSUB_DOMAIN_MAX 253 /* bytes; UTF-8 allowed */
#define UNSUB_RCPT_MAX   254 /* bytes; RFC 5321 path limit */
#define UNSUB_MAC_LEN    16  /* bytes of HMAC-SHA256 kept: 128 bits */
#define UNSUB_KEY_MIN    16  /* shortest key accepted, bytes */
#define UNSUB_KEY_MAX    256 /* longest key accepted, bytes */
#define UNSUB_PAYLOAD_MAX                                                      \
	(1 + 8 + 8 + 1 + UNSUB_DOMAIN_MAX + 1 + UNSUB_RCPT_MAX)
/* base64url length of the longest token: 723 characters */
#define UNSUB_TOKEN_MAX (((UNSUB_PAYLOAD_MAX + UNSUB_MAC_LEN) * 4 + 2) / 3)
/* Longest public_url accepted by unsub_url(), trailing slashes included. */
#define UNSUB_PUBLIC_URL_MAX 200

/* Header names for the caller's MIME builder (RFC 2369, RFC 8058). */
#define UNSUB_HDR_LIST       "List-Unsubscribe"
#define UNSUB_HDR_POST       "List-Unsubscribe-Post"
#define UNSUB_HDR_POST_VALUE "List-Unsubscribe=One-Click"

/* What a token carries. */
struct unsub_fields {
	uint64_t app_id;                   /* account */
	uint64_t task_id;                  /* send task */
	char domain[UNSUB_DOMAIN_MAX + 1]; /* sender domain, NUL-terminated */
	char rcpt[UNSUB_RCPT_MAX + 1];     /* recipient, NUL-terminated */
};

/*
 * Appends the subject with the ad marker (ses-api.md 4.2 ADLocation):
 * ad_location 0 appends subject unchanged (marker unused, may be NULL),
 * 1 "marker subject", 2 "subject marker", one space between them (none
 * when subject is empty). Returns 0, or -1 when ad_location is not 0..2,
 * subject or a used marker contains CR or LF, or a used marker is NULL
 * or empty. marker is the caller's [content] ad_marker
 * (UNSUB_AD_MARKER_DEFAULT). All arguments borrowed.
 */
int unsub_subject(struct buf *out, const char *subject, int ad_location,
    const char *marker) SESD_MUSTCHECK;

/*
 * Appends the base64url token for f, MACed with key (key_len bytes,
 * UNSUB_KEY_MIN..UNSUB_KEY_MAX). Returns 0, or -1 when key_len is out of
 * that range or a field is invalid: domain empty or over UNSUB_DOMAIN_MAX
 * bytes, rcpt empty or over UNSUB_RCPT_MAX bytes, either not valid UTF-8
 * or holding a control character (C0 or DEL). The output is at most
 * UNSUB_TOKEN_MAX characters of [A-Za-z0-9_-].
 */
int unsub_token_make(struct buf *out, const struct unsub_fields *f,
    const unsigned char *key, size_t key_len) SESD_MUSTCHECK;

/*
 * Checks token (NUL-terminated, untrusted: read at most UNSUB_TOKEN_MAX+1
 * bytes) against key and fills out. Returns 0, or -1 for anything but a
 * token unsub_token_make() made with this key: wrong length, a character
 * outside base64url, padding, non-canonical trailing bits, unknown
 * version, bad MAC (compared in constant time), field lengths that do not
 * add up, fields that make() would refuse, or a key make() would refuse.
 * out is zeroed on -1.
 */
int unsub_token_check(const char *token, const unsigned char *key,
    size_t key_len, struct unsub_fields *out) SESD_MUSTCHECK;

/*
 * Appends "<public_url>/unsubscribe?t=<token>", with trailing slashes of
 * public_url removed. Returns 0, or -1 when public_url does not start
 * with "https://" or "http://" (case-insensitive; RFC 8058 wants https,
 * http is for tests), has nothing after the scheme, is over
 * UNSUB_PUBLIC_URL_MAX bytes, or holds a byte that is not printable ASCII
 * or one of space " < > \ ^ ` { | } ? #; or when token is empty, over
 * UNSUB_TOKEN_MAX or not base64url. Both borrowed.
 */
int unsub_url(
    struct buf *out, const char *public_url, const char *token) SESD_MUSTCHECK;

/*
 * Appends the List-Unsubscribe value: "<url>", or with mailto (NULL or ""
 * for none) "<url>, <mailto:MAILTO?subject=unsubscribe%20TOKEN>", so a
 * mailbox handler can tell which subscription a mail ends. The value for
 * List-Unsubscribe-Post is the constant UNSUB_HDR_POST_VALUE. Each <...>
 * element stays short enough that a header line folded at ", " keeps
 * within RFC 5322's 998 octets. Returns 0, or -1 when url is empty or
 * holds a control byte, space, '<' or '>', mailto is not a plain address
 * (util.h email_valid, 254 bytes), token is not base64url (checked only
 * with mailto), or an element would be too long. All borrowed.
 */
int unsub_list_unsubscribe(struct buf *out, const char *url, const char *mailto,
    const char *token) SESD_MUSTCHECK;

/*
 * Appends the unsubscribe footer for language lang_code ("1".."12",
 * ses-api.md 4.1) linking to url. html 0: the sentence, "\n", the URL,
 * "\n" (LF line ends; the MIME encoder makes them CRLF). html 1:
 * '<p lang="xx">' sentence with '<a href="URL">' around the link words
 * '</p>' "\n", dir="rtl" added for Arabic, url HTML-escaped in the
 * attribute.
 * The URL appears exactly once in either form. Returns 0, or -1 for "0",
 * an unknown code or NULL (the caller decides what "no link" means), or a
 * url that is empty or holds a control byte. Separating the footer from
 * the body (blank line, <hr>) is the caller's choice.
 */
int unsub_footer(struct buf *out, const char *lang_code, int html,
    const char *url) SESD_MUSTCHECK;

/*
 * One language's texts. Static, UTF-8, free of < > & " so that they can go
 * into HTML as they are. explain and done contain "{{domain}}" and
 * "{{email}}" once each; unsub_texts_expand() fills them in.
 */
struct unsub_texts {
	const char *code;          /* ses-api.md 4.1 code: "1".."12" */
	const char *lang;          /* BCP 47 tag for lang="", e.g. "zh-CN" */
	const char *dir;           /* "ltr" or "rtl" */
	const char *footer_text;   /* sentence before the URL, text part */
	const char *footer_before; /* html part: before the link words */
	const char *footer_link;   /* the link words */
	const char *footer_after;  /* after the link words */
	const char *title;         /* confirmation page title and heading */
	const char *explain;       /* what the button does */
	const char *button;        /* button label */
	const char *done;          /* after the POST */
	const char *invalid;       /* bad or tampered link */
};

/*
 * The texts of lang_code ("1".."12"), or NULL for "0", NULL or an
 * unknown code. Static storage; never freed.
 */
const struct unsub_texts *unsub_texts(const char *lang_code);

/*
 * Appends text (one of an unsub_texts string) with "{{domain}}" and
 * "{{email}}" replaced by domain and email, each HTML-escaped and wrapped
 * in <bdi> (so an address keeps its direction in an Arabic page); the
 * rest of text is copied as is. Returns 0, or -1 when domain or email is
 * not valid UTF-8. All borrowed.
 */
int unsub_texts_expand(struct buf *out, const char *text, const char *domain,
    const char *email) SESD_MUSTCHECK;

#endif
