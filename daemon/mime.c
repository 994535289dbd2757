/*
 * mime.c: RFC 5322 / MIME assembly of one message for the SMTP workers
 * (worker.c calls mime_build after render and before DKIM). It validates
 * every value that reaches a header (no CR, LF or other control bytes),
 * encodes headers (RFC 2047) and bodies (quoted-printable or base64) so
 * that no line exceeds 998 octets, and does no I/O: the date comes in as
 * a time_t, the boundary is derived, not drawn from a random source.
 */
#include "mime.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define LINE_SOFT  78  /* RFC 5322 2.1.1 SHOULD */
#define LINE_HARD  998 /* RFC 5322 2.1.1 MUST */
#define LINE_EW    76  /* RFC 2047 2: a line holding encoded-words */
#define EW_MAX     75  /* RFC 2047 2: one encoded-word */
#define EW_FIXED   12  /* "=?UTF-8?B?" + "?=" */
#define QP_LINE    76  /* RFC 2045 6.7 (5) */
#define B64_BYTES  57  /* per 76-character base64 line */
#define B64_LINE   76
#define MSGID_MAX  250
#define ADDR_MAX   254
#define HNAME_MAX  76
#define BOUND_PFX  "=_sesd_"
#define BOUND_SIZE (sizeof(BOUND_PFX) - 1 + 16 + 1)

/* Output staged on the stack, appended to out in 4 KiB pieces. */
struct chunk {
	struct buf *out;
	size_t n;
	char d[4096];
};

/* A header being written: the buffer and the column of its last line. */
struct hdr {
	struct buf *b;
	size_t col;
};

static bool is_wsp(char c);
static bool text_ok(const char *s, size_t len, bool tab_ok);
static bool ascii_printable(const char *s);
static bool ascii_plain(const char *s);
static void truncate_to(struct buf *b, size_t len);
static bool atext(unsigned char c);
static bool dot_atom(const char *s, size_t len);
static bool msgid_ok(const char *s);
static bool hname_ok(const char *s);
static void hdr_begin(struct hdr *h, struct buf *b, const char *name);
static void hdr_end(struct hdr *h);
static int hdr_fold(
    struct hdr *h, const char *s, size_t len, bool fold_first, size_t soft);
static void hdr_words(struct hdr *h, const char *s, size_t len);
static void add_phrase(struct buf *b, const char *name);
static void add_from(struct buf *out, const struct mime_msg *m);
static void add_subject(struct buf *out, const char *subject);
static int add_extra(struct buf *out, const struct mime_header *x);
static void add_list(
    struct buf *out, const char *name, const char *const *list, size_t n);
static const char *check_list(const char *const *list, size_t n);
static bool prefer_qp(const char *s, size_t len);
static void crlf_normalize(struct buf *out, const char *in, size_t len);
static const char *encode_part(struct buf *enc, const char *s, size_t len);
static uint64_t fnv1a(uint64_t h, const void *p, size_t n);
static void make_boundary(
    char out[BOUND_SIZE], const struct mime_msg *m, unsigned attempt);
static bool in_parts(const char *bnd, const struct buf *enc, size_t n);
static const char *check(const struct mime_msg *m);
static void chunk_put(struct chunk *c, const char *s, size_t n);
static void chunk_flush(struct chunk *c);
static bool qp_literal(unsigned char c);

static const char hexup[] = "0123456789ABCDEF";

/* Headers mime_build writes itself; an extra one may not repeat them. */
static const char *const own_headers[] = {
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "DKIM-Signature",
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Valid UTF-8 without NUL, no C0 control (TAB if tab_ok) and no DEL. */
static bool
text_ok(const char *s, size_t len, bool tab_ok)
{
	if (!utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7f)
			return false;
	}
	return true;
}

/* Printable ASCII, SP and TAB only. */
static bool
ascii_printable(const char *s)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c >= 0x7f || (c < 0x20 && c != '\t'))
			return false;
	}
	return true;
}

/* Readable as it is: ascii_printable, and no "=?" that a reader could
 * take for the start of an encoded-word. */
static bool
ascii_plain(const char *s)
{
	return ascii_printable(s) && strstr(s, "=?") == NULL;
}

static void
truncate_to(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

/* RFC 5322 3.2.3 atext */
static bool
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
dot_atom(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (s[i] == '\0' || !atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool
msgid_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t len = strlen(s);

	if (at == NULL || len > MSGID_MAX)
		return false;
	return dot_atom(s, (size_t)(at - s)) &&
	       dot_atom(at + 1, len - (size_t)(at - s) - 1);
}

/* RFC 5322 3.6.8 ftext, and not one of ours */
static bool
hname_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > HNAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 ||
		    s[i] == ':')
			return false;
	for (size_t i = 0; i < sizeof(own_headers) / sizeof(own_headers[0]);
	     i++)
		if (strcasecmp(s, own_headers[i]) == 0)
			return false;
	return true;
}

static void
hdr_begin(struct hdr *h, struct buf *b, const char *name)
{
	h->b = b;
	buf_adds(b, name);
	buf_addc(b, ':');
	h->col = strlen(name) + 1;
}

static void
hdr_end(struct hdr *h)
{
	buf_add(h->b, "\r\n", 2);
	h->col = 0;
}

/*
 * Appends s, folding (CRLF before a run of white space) where the line
 * would pass soft columns. Chunks are a white-space run plus the word
 * after it, so a folded line never holds only white space; the first
 * chunk is folded only if fold_first. Returns -1 if a line would pass 998
 * octets (the caller truncates and tries another form).
 */
static int
hdr_fold(struct hdr *h, const char *s, size_t len, bool fold_first, size_t soft)
{
	size_t i = 0;
	bool first = true;

	while (i < len) {
		size_t j = i, k;
		while (j < len && is_wsp(s[j]))
			j++;
		for (k = j; k < len && !is_wsp(s[k]); k++)
			;
		/* only a chunk that starts with white space may be folded */
		if ((!first || fold_first) && j > i && k > j &&
		    h->col + (k - i) > soft) {
			buf_add(h->b, "\r\n", 2);
			h->col = 0;
		}
		if (h->col + (k - i) > LINE_HARD)
			return -1;
		buf_add(h->b, s + i, k - i);
		h->col += k - i;
		first = false;
		i = k;
	}
	return 0;
}

/*
 * Appends s as a run of B encoded-words, the first after one space, each
 * next one on a folded line. Each holds as many whole UTF-8 characters as
 * fit both 75 characters and a 76-character line.
 */
static void
hdr_words(struct hdr *h, const char *s, size_t len)
{
	size_t i = 0;
	bool fold = false;

	while (i < len) {
		size_t room, end;

		if (fold) {
			buf_add(h->b, "\r\n", 2);
			h->col = 0;
		}
		room = LINE_EW > h->col + 1 + EW_FIXED
			   ? LINE_EW - h->col - 1 - EW_FIXED
			   : 0;
		if (room > EW_MAX - EW_FIXED)
			room = EW_MAX - EW_FIXED;
		end = i + room / 4 * 3 < len ? i + room / 4 * 3 : len;
		/* never end inside a character: back off to a lead byte */
		while (end < len && end > i &&
		       ((unsigned char)s[end] & 0xc0) == 0x80)
			end--;
		if (end == i) {
			/* a fresh line holds 45 bytes, a character 4 */
			if (fold)
				fatalx("hdr_words: no room on an empty line");
			fold = true;
			continue;
		}
		buf_add(h->b, " =?UTF-8?B?", 11);
		size_t before = h->b->len;
		base64_encode(h->b, s + i, end - i);
		buf_add(h->b, "?=", 2);
		h->col += 1 + EW_FIXED + (h->b->len - before);
		i = end;
		fold = true;
	}
}

/* ASCII display name: atoms as they are, anything else quoted. */
static void
add_phrase(struct buf *b, const char *name)
{
	bool atoms = name[0] != ' ';

	for (const char *p = name; *p && atoms; p++)
		if (*p == ' ' ? p[1] == ' ' || p[1] == '\0'
			      : !atext((unsigned char)*p))
			atoms = false;
	if (atoms) {
		buf_adds(b, name);
		return;
	}
	buf_addc(b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

static void
add_from(struct buf *out, const struct mime_msg *m)
{
	size_t start = out->len;
	struct hdr h;
	struct buf v;

	if (m->from_name == NULL || m->from_name[0] == '\0') {
		hdr_begin(&h, out, "From");
		buf_addc(out, ' ');
		buf_adds(out, m->from_addr);
		hdr_end(&h);
		return;
	}
	buf_init(&v);
	if (ascii_plain(m->from_name)) {
		add_phrase(&v, m->from_name);
		buf_addf(&v, " <%s>", m->from_addr);
		hdr_begin(&h, out, "From");
		buf_addc(out, ' ');
		h.col++;
		if (hdr_fold(&h, v.data, v.len, false, LINE_SOFT) == 0) {
			hdr_end(&h);
			buf_reset(&v);
			return;
		}
		truncate_to(out, start); /* a name too long for one line */
	}
	buf_reset(&v);
	hdr_begin(&h, out, "From");
	hdr_words(&h, m->from_name, strlen(m->from_name));
	buf_init(&v);
	buf_addf(&v, " <%s>", m->from_addr);
	/* the address is at most 256 bytes: it always fits a fresh line */
	if (hdr_fold(&h, v.data, v.len, true, LINE_EW) != 0)
		fatalx("add_from: address does not fit a line");
	hdr_end(&h);
	buf_reset(&v);
}

static void
add_subject(struct buf *out, const char *subject)
{
	size_t start = out->len, len = strlen(subject);
	struct hdr h;

	hdr_begin(&h, out, "Subject");
	if (len == 0) {
		hdr_end(&h);
		return;
	}
	if (ascii_plain(subject)) {
		buf_addc(out, ' ');
		h.col++;
		if (hdr_fold(&h, subject, len, false, LINE_SOFT) == 0) {
			hdr_end(&h);
			return;
		}
		truncate_to(out, start); /* unbreakable run over 998 */
		hdr_begin(&h, out, "Subject");
	}
	hdr_words(&h, subject, len);
	hdr_end(&h);
}

static int
add_extra(struct buf *out, const struct mime_header *x)
{
	struct hdr h;

	hdr_begin(&h, out, x->name);
	if (x->value[0] != '\0') {
		buf_addc(out, ' ');
		h.col++;
		if (hdr_fold(
			&h, x->value, strlen(x->value), false, LINE_SOFT) != 0)
			return -1;
	}
	hdr_end(&h);
	return 0;
}

/* "Name: a@x, b@y" folded at 78 columns before an address (each at most
 * 254 bytes: a line never nears 998); n 0 is the empty group
 * "undisclosed-recipients:;" (RFC 5322 3.6.3, 3.4). */
static void
add_list(struct buf *out, const char *name, const char *const *list, size_t n)
{
	struct hdr h;
	struct buf v;

	hdr_begin(&h, out, name);
	if (n == 0) {
		buf_adds(out, " undisclosed-recipients:;");
		hdr_end(&h);
		return;
	}
	buf_init(&v);
	for (size_t i = 0; i < n; i++) {
		buf_addc(&v, ' ');
		buf_adds(&v, list[i]);
		if (i + 1 < n)
			buf_addc(&v, ',');
	}
	if (hdr_fold(&h, v.data, v.len, true, LINE_SOFT) != 0)
		fatalx("add_list: an address does not fit a line");
	hdr_end(&h);
	buf_reset(&v);
}

/* NULL if every one of the n addresses is a valid addr-spec. */
static const char *
check_list(const char *const *list, size_t n)
{
	if (n > 0 && list == NULL)
		return "address list missing";
	for (size_t i = 0; i < n; i++)
		if (list[i] == NULL || has_crlf(list[i]) ||
		    !email_valid(list[i], ADDR_MAX))
			return "address in list missing or malformed";
	return NULL;
}

/* Quoted-printable when at most one byte in six needs =XX: it then stays
 * smaller than base64 and readable. */
static bool
prefer_qp(const char *s, size_t len)
{
	size_t esc = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x7f || c == '=' ||
		    (c < 0x20 && c != '\t' && c != '\r' && c != '\n'))
			esc++;
	}
	return esc <= len / 6;
}

/* LF without CR before it becomes CRLF; a lone CR stays data. */
static void
crlf_normalize(struct buf *out, const char *in, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\n' || (i > 0 && in[i - 1] == '\r'))
			continue;
		buf_add(out, in + run, i - run);
		buf_add(out, "\r\n", 2);
		run = i + 1;
	}
	buf_add(out, in + run, len - run);
}

/* Encodes one body into enc; returns its Content-Transfer-Encoding. */
static const char *
encode_part(struct buf *enc, const char *s, size_t len)
{
	struct buf norm;

	if (prefer_qp(s, len)) {
		mime_qp_encode(enc, s, len);
		return "quoted-printable";
	}
	buf_init(&norm);
	crlf_normalize(&norm, s, len);
	mime_base64_encode(enc, norm.data, norm.len);
	buf_reset(&norm);
	return "base64";
}

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
make_boundary(char out[BOUND_SIZE], const struct mime_msg *m, unsigned attempt)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int64_t date = (int64_t)m->date;
	unsigned char raw[8];
	char hex[17];

	h = fnv1a(h, m->message_id, strlen(m->message_id));
	h = fnv1a(h, &date, sizeof(date));
	h = fnv1a(h, &m->text_len, sizeof(m->text_len));
	h = fnv1a(h, &m->html_len, sizeof(m->html_len));
	h = fnv1a(h, &attempt, sizeof(attempt));
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(h >> (56 - 8 * i));
	hex_encode(hex, raw, sizeof(raw));
	snprintf(out, BOUND_SIZE, "%s%s", BOUND_PFX, hex);
}

static bool
in_parts(const char *bnd, const struct buf *enc, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (enc[i].len > 0 &&
		    memmem(enc[i].data, enc[i].len, bnd, strlen(bnd)) != NULL)
			return true;
	return false;
}

/* NULL if m can be built, else why not. */
static const char *
check(const struct mime_msg *m)
{
	if (m->from_addr == NULL || !email_valid(m->from_addr, ADDR_MAX))
		return "From address missing or malformed";
	if (m->to_list != NULL) {
		if (check_list(m->to_list, m->nto) != NULL)
			return "To address list holds a missing or malformed "
			       "address";
	} else if (m->nto > 0)
		return "To address list missing";
	else if (m->to_addr == NULL || !email_valid(m->to_addr, ADDR_MAX))
		return "To address missing or malformed";
	if (check_list(m->cc_list, m->ncc) != NULL)
		return "Cc address list missing or holds a malformed address";
	if (m->reply_to != NULL && m->reply_to[0] != '\0' &&
	    !email_valid(m->reply_to, ADDR_MAX))
		return "Reply-To address malformed";
	if (m->from_name != NULL &&
	    !text_ok(m->from_name, strlen(m->from_name), false))
		return "From display name has a control character or bad "
		       "UTF-8";
	if (m->subject == NULL)
		return "Subject missing";
	if (!text_ok(m->subject, strlen(m->subject), true))
		return "Subject has a control character or bad UTF-8";
	if (m->message_id == NULL || !msgid_ok(m->message_id))
		return "Message-ID missing or malformed";
	if (m->nheaders > 0 && m->headers == NULL)
		return "extra headers missing";
	for (size_t i = 0; i < m->nheaders; i++) {
		const struct mime_header *x = &m->headers[i];
		if (x->name == NULL || !hname_ok(x->name))
			return "extra header name malformed or reserved";
		if (x->value == NULL || !ascii_printable(x->value) ||
		    has_crlf(x->value))
			return "extra header value not printable ASCII";
	}
	if (m->text == NULL && m->html == NULL)
		return "no body part";
	if (m->text != NULL && !utf8_valid(m->text, m->text_len))
		return "text part is not UTF-8 (or has NUL)";
	if (m->html != NULL && !utf8_valid(m->html, m->html_len))
		return "html part is not UTF-8 (or has NUL)";
	return NULL;
}

int
mime_build(const struct mime_msg *m, struct buf *out, size_t *hdr_end_off,
    const char **err)
{
	static const char *const type[2] = {
	    "text/plain; charset=UTF-8", "text/html; charset=UTF-8"};
	const char *why, *cte[2] = {NULL, NULL}, *body[2] = {m->text, m->html};
	size_t start = out->len, blen[2] = {m->text_len, m->html_len}, nparts,
	       end;
	char date[MIME_DATE_MAX], bnd[BOUND_SIZE];
	struct buf enc[2];
	unsigned attempt = 0;

	if ((why = check(m)) == NULL &&
	    mime_date(date, m->date, m->utc_offset_min) != 0)
		why = "Date out of range";
	if (why != NULL) {
		if (err != NULL)
			*err = why;
		return -1;
	}

	/* parts first: the boundary is checked against them */
	nparts = 0;
	for (int i = 0; i < 2; i++) {
		buf_init(&enc[i]);
		if (body[i] == NULL)
			continue;
		cte[i] = encode_part(&enc[i], body[i], blen[i]);
		nparts++;
	}
	do
		make_boundary(bnd, m, attempt++);
	while (in_parts(bnd, enc, 2) && attempt < 16);

	add_from(out, m);
	if (m->to_list != NULL)
		add_list(out, "To", m->to_list, m->nto);
	else
		buf_addf(out, "To: %s\r\n", m->to_addr);
	if (m->ncc > 0)
		add_list(out, "Cc", m->cc_list, m->ncc);
	if (m->reply_to != NULL && m->reply_to[0] != '\0')
		buf_addf(out, "Reply-To: %s\r\n", m->reply_to);
	add_subject(out, m->subject);
	buf_addf(out, "Date: %s\r\n", date);
	buf_addf(out, "Message-ID: <%s>\r\n", m->message_id);
	for (size_t i = 0; i < m->nheaders; i++)
		if (add_extra(out, &m->headers[i]) != 0) {
			why = "extra header value cannot be folded to 998 "
			      "octets";
			goto fail;
		}
	buf_adds(out, "MIME-Version: 1.0\r\n");
	if (nparts == 2) {
		if (in_parts(bnd, enc, 2)) {
			why = "no multipart boundary outside the parts";
			goto fail;
		}
		buf_addf(out,
		    "Content-Type: multipart/alternative; "
		    "boundary=\"%s\"\r\n",
		    bnd);
		end = out->len;
		buf_add(out, "\r\n", 2);
		for (int i = 0; i < 2; i++) {
			buf_addf(out,
			    "--%s\r\nContent-Type: %s\r\n"
			    "Content-Transfer-Encoding: %s\r\n\r\n",
			    bnd, type[i], cte[i]);
			buf_add(out, enc[i].data, enc[i].len);
			buf_add(out, "\r\n", 2);
		}
		buf_addf(out, "--%s--\r\n", bnd);
	} else {
		int i = m->text != NULL ? 0 : 1;
		bool crlf =
		    enc[i].len >= 2 &&
		    memcmp(enc[i].data + enc[i].len - 2, "\r\n", 2) == 0;
		buf_addf(out,
		    "Content-Type: %s\r\nContent-Transfer-Encoding: %s\r\n",
		    type[i], cte[i]);
		end = out->len;
		buf_add(out, "\r\n", 2);
		buf_add(out, enc[i].data, enc[i].len);
		/* end in CRLF without adding a line to the text: a QP soft
		 * break decodes to nothing, base64 ignores line breaks */
		if (enc[i].len > 0 && !crlf)
			buf_adds(out, cte[i][0] == 'q' ? "=\r\n" : "\r\n");
	}
	buf_reset(&enc[0]);
	buf_reset(&enc[1]);
	if (hdr_end_off != NULL)
		*hdr_end_off = end;
	return 0;

fail:
	buf_reset(&enc[0]);
	buf_reset(&enc[1]);
	truncate_to(out, start);
	if (err != NULL)
		*err = why;
	return -1;
}

int
mime_date(char out[MIME_DATE_MAX], time_t t, int utc_offset_min)
{
	static const char *const wday[] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	unsigned off =
	    (unsigned)(utc_offset_min < 0 ? -utc_offset_min : utc_offset_min);
	time_t local;

	if (utc_offset_min < -1439 || utc_offset_min > 1439)
		return -1;
	if (__builtin_add_overflow(t, (time_t)utc_offset_min * 60, &local) ||
	    gmtime_r(&local, &tm) == NULL)
		return -1;
	if (tm.tm_year < 0 || tm.tm_year > 9999 - 1900)
		return -1;
	/* the ranges are checked; % tells the compiler the widths too */
	snprintf(out, MIME_DATE_MAX,
	    "%s, %02u %s %04u %02u:%02u:%02u %c%02u%02u", wday[tm.tm_wday % 7],
	    (unsigned)tm.tm_mday % 100, mon[tm.tm_mon % 12],
	    (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)tm.tm_hour % 100,
	    (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100,
	    utc_offset_min < 0 ? '-' : '+', off / 60 % 100, off % 60);
	return 0;
}

/* Batches small appends: buf_add per QP token was most of the time. */
static void
chunk_put(struct chunk *c, const char *s, size_t n)
{
	if (c->n + n > sizeof(c->d)) {
		buf_add(c->out, c->d, c->n);
		c->n = 0;
		if (n > sizeof(c->d)) {
			buf_add(c->out, s, n);
			return;
		}
	}
	memcpy(c->d + c->n, s, n);
	c->n += n;
}

/* Kept as it is when not the last byte of a line. */
static bool
qp_literal(unsigned char c)
{
	return (c >= 33 && c <= 126 && c != '=') || c == ' ' || c == '\t';
}

static void
chunk_flush(struct chunk *c)
{
	if (c->n > 0)
		buf_add(c->out, c->d, c->n);
	c->n = 0;
}

void
mime_qp_encode(struct buf *out, const char *in, size_t len)
{
	struct chunk ck = {.out = out, .n = 0};
	size_t i = 0;

	if (len == 0)
		return;
	for (;;) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - in) : len, n = e;
		size_t col = 0;

		/* CRLF is a line break; the CR is not data */
		if (nl && n > i && in[n - 1] == '\r')
			n--;
		for (size_t j = i; j < n; j++) {
			/* fast path: a run of literal bytes that fits on this
			 * line and excludes the line's last byte */
			size_t k = j, lim = j + (QP_LINE - 1 - col);
			if (lim > n - 1)
				lim = n - 1;
			while (k < lim && qp_literal((unsigned char)in[k]))
				k++;
			if (k > j) {
				chunk_put(&ck, in + j, k - j);
				col += k - j;
				j = k - 1;
				continue;
			}
			unsigned char c = (unsigned char)in[j];
			bool last = j + 1 == n;
			bool lit = (c >= 33 && c <= 126 && c != '=') ||
				   ((c == ' ' || c == '\t') && !last);
			size_t tl = lit ? 1 : 3;

			/* room for the soft break's '=' unless last */
			if (col + tl > (last ? QP_LINE : QP_LINE - 1)) {
				chunk_put(&ck, "=\r\n", 3);
				col = 0;
			}
			if (ck.n + 3 > sizeof(ck.d))
				chunk_flush(&ck);
			if (lit)
				ck.d[ck.n++] = (char)c;
			else {
				ck.d[ck.n++] = '=';
				ck.d[ck.n++] = hexup[c >> 4];
				ck.d[ck.n++] = hexup[c & 15];
			}
			col += tl;
		}
		if (nl == NULL)
			break;
		chunk_put(&ck, "\r\n", 2);
		i = e + 1;
	}
	chunk_flush(&ck);
}

void
mime_base64_encode(struct buf *out, const void *in, size_t len)
{
	struct chunk ck = {.out = out, .n = 0};
	const unsigned char *p = in;
	unsigned char line[B64_LINE + 1];

	for (size_t i = 0; i < len; i += B64_BYTES) {
		size_t n = len - i < B64_BYTES ? len - i : B64_BYTES;
		int w = EVP_EncodeBlock(line, p + i, (int)n);
		if (i > 0)
			chunk_put(&ck, "\r\n", 2);
		chunk_put(&ck, (const char *)line, (size_t)w);
	}
	chunk_flush(&ck);
}
