/*
 * mime.h: assembles one finished Internet message (RFC 5322, MIME RFC
 * 2045/2046/2047) from already-rendered parts: headers, then an empty
 * line, then the body, every line ending in CRLF, no line longer than 998
 * octets. The output is the final bytes: the DKIM signer prepends its
 * header to them and the relay sends them as they are. Pure: no I/O, no
 * clock (the caller passes the date), no globals.
 */
#ifndef SESD_MIME_H
#define SESD_MIME_H

#include <stddef.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* "Thu, 26 Nov 2026 15:04:05 +0800" plus NUL */
#define MIME_DATE_MAX 32

/* One extra header (List-Unsubscribe, ...). Borrowed strings. */
struct mime_header {
	const char *name;  /* printable ASCII but ':', 1..76 bytes */
	const char *value; /* printable ASCII, SP and TAB; folded at 78 */
};

/*
 * What mime_build needs; the caller fills it, every string is borrowed
 * and only read during the call. NULL and "" mean "absent" for the
 * optional fields.
 */
struct mime_msg {
	const char *from_addr; /* addr-spec (email_valid), required */
	const char *from_name; /* display name, UTF-8, optional */
	const char *to_addr;   /* addr-spec, required unless to_list */
	const char *reply_to;  /* addr-spec, optional */
	const char *subject;   /* UTF-8, required ("" allowed), TAB allowed */
	time_t date;           /* Date: this instant ... */
	int utc_offset_min;    /* ... shown at this offset, -1439..1439
				  (480 is +0800, 0 is +0000) */
	/* "id-left@id-right" WITHOUT angle brackets, both sides dot-atom
	 * text, at most 250 bytes; written as Message-ID: <...> */
	const char *message_id;
	const struct mime_header *headers; /* extra headers, in this order */
	size_t nheaders;
	/* Optional address lists (SendEmail: one message to several
	 * Destinations). When to_list is not NULL it replaces to_addr in the
	 * To: header: "To: a@x, b@y", folded at 78 columns before an address;
	 * nto 0 writes the empty group "To: undisclosed-recipients:;". ncc >
	 * 0 writes a Cc: header the same way. Every address is an addr-spec
	 * (email_valid). There is never a Bcc: header. */
	const char *const *to_list;
	size_t nto;
	const char *const *cc_list;
	size_t ncc;
	/* Bodies, UTF-8, LF or CRLF line ends, no NUL; NULL means no such
	 * part, at least one is required. Both: multipart/alternative with
	 * text first, html second (RFC 2046 5.1.4: preferred last). */
	const char *text;
	size_t text_len;
	const char *html;
	size_t html_len;
};

/*
 * Appends the whole message to out. Headers, in this order: From, To,
 * Cc (when ncc > 0), Reply-To (when set), Subject, Date, Message-ID, the
 * extra headers, MIME-Version, Content-Type, and Content-Transfer-Encoding
 * when there is one part. Then an empty line and the body.
 *
 * Encodings:
 *   - Subject: printable ASCII (and TAB) is kept readable, folded at
 *     white space to 78 columns where possible; anything else (non-ASCII,
 *     a literal "=?", an unbreakable run too long for a 998-octet line)
 *     becomes RFC 2047 B encoded-words (=?UTF-8?B?...?=), each at most 75
 *     characters, on lines of at most 76, split only between UTF-8
 *     characters.
 *   - From display name: atoms as they are, other ASCII as a quoted
 *     string ('"' and '\' escaped), non-ASCII or "=?" as encoded-words.
 *   - Each body part: quoted-printable when at most one byte in six needs
 *     escaping (mostly ASCII), else base64; both give lines of at most 76
 *     characters. LF and CRLF both become CRLF; a lone CR is kept as data
 *     (=0D in quoted-printable). A part that does not end in a line break
 *     gets none (a final QP soft break "=" keeps single-part bodies ending
 *     in CRLF without adding a line).
 *   - multipart boundary: "=_sesd_" + 16 hex digits derived from the
 *     Message-ID, date and sizes. "=_" can never occur in quoted-printable
 *     or base64 text; the encoded parts are checked anyway.
 *
 * Returns 0; on success, if hdr_end is not NULL, *hdr_end is the offset in
 * out->data just past the CRLF of the last header line (where the empty
 * line starts; the body starts at *hdr_end + 2). Returns -1, with out
 * unchanged and *err (if err is not NULL) a static one-line reason, when a
 * required field is missing, an address or the Message-ID is malformed, a
 * header value holds CR, LF or another control character (TAB only in
 * Subject and extra header values), a text is not valid UTF-8, an extra
 * header is malformed, non-ASCII or one of the headers this function
 * writes (or DKIM-Signature), or an extra header value cannot be folded
 * into 998-octet lines.
 */
int mime_build(const struct mime_msg *m, struct buf *out, size_t *hdr_end,
    const char **err) SESD_MUSTCHECK;

/*
 * RFC 5322 date-time of t at utc_offset_min minutes east of UTC, in
 * English whatever the locale: "Thu, 26 Nov 2026 15:04:05 +0800".
 * Returns 0, or -1 if the offset is outside -1439..1439 or the year
 * outside 1900..9999.
 */
int mime_date(
    char out[MIME_DATE_MAX], time_t t, int utc_offset_min) SESD_MUSTCHECK;

/*
 * Appends the quoted-printable form (RFC 2045 6.7) of in (len bytes) to
 * out: LF and CRLF are line breaks and become CRLF; printable ASCII but
 * '=' stays; SP and TAB stay except at the end of a line (=20, =09);
 * everything else is =XX (upper-case hex), a lone CR too; soft line
 * breaks ("=" CRLF) keep every line at most 76 characters. No CRLF is
 * added at the end.
 */
void mime_qp_encode(struct buf *out, const char *in, size_t len);

/*
 * Appends base64 of in (len bytes, taken as they are) to out in lines of
 * 76 characters separated by CRLF, without a final CRLF.
 */
void mime_base64_encode(struct buf *out, const void *in, size_t len);

#endif
