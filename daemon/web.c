/*
 * web.c: the unsubscribe pages (web.h). Checks the token (unsub.c), words
 * the page in the link's language (unsub_texts) and, for a POST only,
 * writes the suppression (db_web.c). Holds a copy of the key so that a
 * reload never pulls it from under a request. Logs no token and no
 * address: a link is a credential of its recipient.
 */
#include "web.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config.h"
#include "db.h"
#include "db_web.h"
#include "http.h"
#include "log.h"
#include "unsub.h"
#include "util.h"

#define WEB_PATH         "/unsubscribe"
#define WEB_MAX_BODY     4096 /* a one-click body is 26 bytes */
#define WEB_DEFAULT_LANG "2"  /* English */
#define ONE_CLICK_NAME   "List-Unsubscribe"
#define ONE_CLICK_VALUE  "One-Click"

/* Pages are small and self-contained: inline style, no script. */
#define WEB_STYLE                                                              \
	"body{font-family:system-ui,sans-serif;max-width:36em;"                \
	"margin:3em auto;padding:0 1em;line-height:1.5;color:#222}"            \
	"h1{font-size:1.4em}"                                                  \
	"button{font-size:1em;padding:.5em 1.5em;cursor:pointer}"

struct web {
	struct http *http;
	struct db *db;
	unsigned char key[CONFIG_UNSUB_KEY_MAX];
	size_t key_len; /* 0: no key configured, every token is refused */
	int timeout;
	size_t inflight;
};

/* What a page shows. */
enum web_page {
	PAGE_CONFIRM, /* explanation and the button (GET) */
	PAGE_DONE,    /* unsubscribed (POST) */
	PAGE_INVALID, /* bad or tampered link */
	PAGE_RETRY,   /* database unavailable: try again, with the button */
};

/* A POST waiting for its INSERT. */
struct web_req {
	struct web *web;
	struct http_req *http;
	const struct unsub_texts *texts;
	struct unsub_fields f;
};

/* "Try again later", in every unsub_texts language (none of < > & "). */
static const struct {
	const char *code;
	const char *text;
} retry_texts[] = {
    {"1", "服务暂时不可用，请稍后再试。"},
    {"2", "The service is temporarily unavailable. Please try again in a "
	  "few minutes."},
    {"3", "服務暫時無法使用，請稍後再試。"},
    {"4", "El servicio no está disponible temporalmente. Inténtelo de "
	  "nuevo dentro de unos minutos."},
    {"5", "Le service est momentanément indisponible. Veuillez réessayer "
	  "dans quelques minutes."},
    {"6", "Der Dienst ist vorübergehend nicht verfügbar. Bitte versuchen "
	  "Sie es in einigen Minuten erneut."},
    {"7", "ただいまサービスをご利用いただけません。しばらくしてから"
	  "もう一度お試しください。"},
    {"8", "일시적으로 서비스를 이용할 수 없습니다. 잠시 후 다시 시도해 "
	  "주세요."},
    {"9", "الخدمة غير متاحة مؤقتًا. يُرجى المحاولة مرة أخرى بعد بضع "
	  "دقائق."},
    {"10", "บริการไม่พร้อมใช้งานชั่วคราว โปรดลองอีกครั้งในอีกสักครู่"},
    {"11", "Layanan sedang tidak tersedia untuk sementara. Silakan coba "
	   "lagi dalam beberapa menit."},
    {"12", "Dịch vụ tạm thời không khả dụng. Vui lòng thử lại sau vài "
	   "phút."},
};

static void web_http_cb(struct http_req *, void *);
static void web_unsubscribe_cb(const struct db_res *, void *);
static const char *retry_text(const struct unsub_texts *);
static int hex_value(char);
static bool url_decode(struct buf *, const char *, size_t, bool);
static bool form_field(const char *, size_t, const char *, struct buf *);
static bool urlencoded_one_click(const char *, size_t);
static bool multipart_boundary(const char *, char *, size_t);
static bool multipart_part_one_click(const char *, size_t);
static bool multipart_one_click(const char *, size_t, const char *);
static bool body_one_click(struct http_req *);
static void reply(
    struct http_req *, int, const char *, const struct buf *, bool);
static void reply_plain(
    struct http_req *, int, const char *, const char *, bool);
static void reply_page(struct http_req *, int, const struct unsub_texts *,
    enum web_page, const struct unsub_fields *);

struct web *
web_new(struct event_base *base, struct db *db)
{
	struct web *w = xcalloc(1, sizeof(*w));

	w->db = db;
	w->timeout = 30;
	w->http = http_new(base, web_http_cb, w);
	return w;
}

void
web_set_config(struct web *w, const struct config *cfg)
{
	OPENSSL_cleanse(w->key, sizeof(w->key));
	w->key_len = 0;
	if (cfg->unsub_key != NULL && cfg->unsub_key_len <= sizeof(w->key)) {
		memcpy(w->key, cfg->unsub_key, cfg->unsub_key_len);
		w->key_len = cfg->unsub_key_len;
	}
	if (w->key_len == 0)
		log_warn("web: [content] unsubscribe_key_file is not set: "
			 "every unsubscribe link is refused");
	w->timeout = cfg->api_timeout;
	http_set_limits(w->http, WEB_MAX_BODY, w->timeout);
}

int
web_listen(struct web *w, const char *hostport, char *err, size_t errlen)
{
	return http_listen(
	    w->http, hostport, WEB_MAX_BODY, w->timeout, err, errlen);
}

void
web_stop_accepting(struct web *w)
{
	http_stop_accepting(w->http);
}

size_t
web_inflight(const struct web *w)
{
	return w->inflight;
}

void
web_free(struct web *w)
{
	if (w == NULL)
		return;
	http_free(w->http);
	OPENSSL_cleanse(w->key, sizeof(w->key));
	free(w);
}

static const char *
retry_text(const struct unsub_texts *t)
{
	for (size_t i = 0; i < sizeof(retry_texts) / sizeof(retry_texts[0]);
	     i++)
		if (strcmp(retry_texts[i].code, t->code) == 0)
			return retry_texts[i].text;
	return retry_texts[1].text;
}

/* --- request parsing --- */

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends s[0..n) with %XX decoded (and '+' as a space when plus). */
static bool
url_decode(struct buf *out, const char *s, size_t n, bool plus)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi, lo;
			if (n - i < 3)
				return false;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			buf_addc(out, (char)(hi << 4 | lo));
			i += 2;
		} else if (s[i] == '+' && plus) {
			buf_addc(out, ' ');
		} else {
			buf_addc(out, s[i]);
		}
	}
	if (out->data == NULL)
		buf_add(out, "", 0);
	return true;
}

/*
 * The first value of field name in the application/x-www-form-urlencoded
 * text s[0..n) (a query string or a body), decoded into out (which the
 * caller resets). False when the field is absent, badly encoded or holds
 * a NUL.
 */
static bool
form_field(const char *s, size_t n, const char *name, struct buf *out)
{
	size_t nlen = strlen(name);

	for (size_t at = 0; at <= n;) {
		const char *pair = s + at;
		const char *amp = memchr(pair, '&', n - at);
		size_t plen = amp ? (size_t)(amp - pair) : n - at;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		struct buf key;
		bool match;

		buf_init(&key);
		match = url_decode(&key, pair, klen, true) && key.len == nlen &&
			memcmp(key.data, name, nlen) == 0;
		buf_reset(&key);
		if (match) {
			out->len = 0;
			/* a NUL would cut the value short for C strings */
			return url_decode(out, eq ? eq + 1 : pair + plen,
				   eq ? plen - klen - 1 : 0, true) &&
			       memchr(out->data, '\0', out->len) == NULL;
		}
		if (amp == NULL)
			break;
		at += plen + 1;
	}
	return false;
}

/* RFC 8058 3.2 body as application/x-www-form-urlencoded. */
static bool
urlencoded_one_click(const char *b, size_t n)
{
	struct buf v;
	bool ok;

	/* some senders end the body with a line break */
	while (n > 0 && (b[n - 1] == '\r' || b[n - 1] == '\n'))
		n--;
	buf_init(&v);
	ok = form_field(b, n, ONE_CLICK_NAME, &v) &&
	     strcmp(v.data, ONE_CLICK_VALUE) == 0 &&
	     v.len == strlen(ONE_CLICK_VALUE);
	buf_reset(&v);
	return ok;
}

/* The boundary parameter of a multipart/form-data Content-Type. */
static bool
multipart_boundary(const char *ctype, char *out, size_t outlen)
{
	const char *p = ctype;
	size_t n;

	for (;;) {
		p = strcasestr(p, "boundary=");
		if (p == NULL)
			return false;
		if (p > ctype &&
		    (p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t'))
			break;
		p++;
	}
	p += strlen("boundary=");
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
		if (p[n] != '"')
			return false;
	} else {
		n = strcspn(p, "; \t");
	}
	/* RFC 2046 5.1.1: 1..70 characters */
	if (n == 0 || n > 70 || n >= outlen)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/*
 * One part (headers, blank line, content; the line break before the next
 * delimiter already cut off): is it name="List-Unsubscribe" holding
 * "One-Click"?
 */
static bool
multipart_part_one_click(const char *p, size_t n)
{
	static const char want[] = "name=\"" ONE_CLICK_NAME "\"";
	const char *end = memmem(p, n, "\r\n\r\n", 4);
	size_t hlen, skip = 4;
	bool named = false;

	if (end == NULL) {
		end = memmem(p, n, "\n\n", 2);
		skip = 2;
	}
	if (end == NULL)
		return false;
	hlen = (size_t)(end - p);
	for (size_t at = 0; at < hlen;) {
		const char *line = p + at;
		const char *nl = memchr(line, '\n', hlen - at);
		size_t llen = nl ? (size_t)(nl - line) : hlen - at;
		static const char cd[] = "content-disposition:";

		if (llen > sizeof(cd) - 1 &&
		    strncasecmp(line, cd, sizeof(cd) - 1) == 0) {
			for (size_t i = sizeof(cd) - 1;
			     i + sizeof(want) - 1 <= llen; i++) {
				char before = line[i - 1];
				if ((before == ';' || before == ' ' ||
					before == '\t') &&
				    memcmp(line + i, want, sizeof(want) - 1) ==
					0)
					named = true;
			}
		}
		at += llen + 1;
	}
	return named && n - hlen - skip == strlen(ONE_CLICK_VALUE) &&
	       memcmp(end + skip, ONE_CLICK_VALUE, strlen(ONE_CLICK_VALUE)) ==
		   0;
}

/* RFC 8058 3.2 body as multipart/form-data (RFC 7578). */
static bool
multipart_one_click(const char *b, size_t n, const char *boundary)
{
	char delim[80];
	size_t dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	const char *end = b + n;
	const char *p = memmem(b, n, delim, dlen);

	while (p != NULL) {
		const char *next, *part, *pend;

		p += dlen;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return false; /* the closing delimiter */
		/* transport padding, then the line break ending the line */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n')
			return false;
		part = p + 1;
		next = memmem(part, (size_t)(end - part), delim, dlen);
		if (next == NULL)
			return false;
		pend = next;
		if (pend > part && pend[-1] == '\n')
			pend--;
		if (pend > part && pend[-1] == '\r')
			pend--;
		if (multipart_part_one_click(part, (size_t)(pend - part)))
			return true;
		p = next;
	}
	return false;
}

/* Does the POST body carry List-Unsubscribe=One-Click (RFC 8058 3.2)? */
static bool
body_one_click(struct http_req *r)
{
	const char *ctype = http_header(r, "Content-Type");
	size_t n;
	const char *b = (const char *)http_body(r, &n);
	char boundary[80];

	if (ctype != NULL &&
	    strncasecmp(ctype, "multipart/form-data", 19) == 0) {
		if (!multipart_boundary(ctype, boundary, sizeof(boundary)))
			return false;
		return multipart_one_click(b, n, boundary);
	}
	/* application/x-www-form-urlencoded, or a sender that left the
	 * type out: the field itself is what RFC 8058 asks for */
	return urlencoded_one_click(b, n);
}

/* --- replies --- */

static void
reply(struct http_req *r, int code, const char *lang, const struct buf *body,
    bool allow)
{
	const char *headers[] = {
	    "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	    "X-Content-Type-Options",
	    "nosniff",
	    "Referrer-Policy",
	    "no-referrer",
	    "Cache-Control",
	    "no-store",
	    "X-Frame-Options",
	    "DENY",
	    "Content-Language",
	    lang,
	    allow ? "Allow" : NULL,
	    "GET, POST",
	    NULL,
	};

	/* evhttp would send a HEAD reply's body after the headers */
	bool head = strcmp(http_method(r), "HEAD") == 0;

	http_reply(r, code, "text/html; charset=utf-8", head ? "" : body->data,
	    head ? 0 : body->len, headers);
}

static void
page_head(struct buf *b, const char *lang, const char *dir, const char *title)
{
	buf_addf(b,
	    "<!DOCTYPE html>\n"
	    "<html lang=\"%s\" dir=\"%s\">\n"
	    "<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
	    "<title>%s</title>\n"
	    "<style>" WEB_STYLE "</style>\n"
	    "</head>\n"
	    "<body>\n"
	    "<main>\n"
	    "<h1>%s</h1>\n",
	    lang, dir, title, title);
}

static void
page_tail(struct buf *b)
{
	buf_adds(b, "</main>\n</body>\n</html>\n");
}

/* 404 and 405: no token, so no language; English. */
static void
reply_plain(struct http_req *r, int code, const char *title, const char *text,
    bool allow)
{
	struct buf b;

	buf_init(&b);
	page_head(&b, "en", "ltr", title);
	buf_addf(&b, "<p>%s</p>\n", text);
	page_tail(&b);
	reply(r, code, "en", &b, allow);
	buf_reset(&b);
}

/*
 * A page in t's language. f is the checked token (NULL for PAGE_INVALID).
 * The form has no action: it posts to the page's own URL, token and
 * language included, whatever path a proxy in front of sesd adds.
 */
static void
reply_page(struct http_req *r, int code, const struct unsub_texts *t,
    enum web_page page, const struct unsub_fields *f)
{
	struct buf b;
	int rc = 0;

	buf_init(&b);
	page_head(&b, t->lang, t->dir, t->title);
	buf_adds(&b, "<p>");
	switch (page) {
	case PAGE_CONFIRM:
		rc = unsub_texts_expand(&b, t->explain, f->domain, f->rcpt);
		break;
	case PAGE_DONE:
		rc = unsub_texts_expand(&b, t->done, f->domain, f->rcpt);
		break;
	case PAGE_INVALID:
		buf_adds(&b, t->invalid);
		break;
	case PAGE_RETRY:
		buf_adds(&b, retry_text(t));
		break;
	}
	buf_adds(&b, "</p>\n");
	if (page == PAGE_CONFIRM || page == PAGE_RETRY)
		buf_addf(&b,
		    "<form method=\"post\">\n"
		    "<input type=\"hidden\" name=\"" ONE_CLICK_NAME
		    "\" value=\"" ONE_CLICK_VALUE "\">\n"
		    "<button type=\"submit\">%s</button>\n"
		    "</form>\n",
		    t->button);
	page_tail(&b);
	if (rc == -1) /* checked tokens hold UTF-8, so this cannot happen */
		fatalx("web: unsub_texts_expand refused a checked token");
	reply(r, code, t->lang, &b, false);
	buf_reset(&b);
}

/* --- the handler --- */

static void
web_http_cb(struct http_req *r, void *arg)
{
	struct web *w = arg;
	const char *method = http_method(r), *query = http_query(r);
	const struct unsub_texts *t;
	struct unsub_fields f;
	struct buf tok, lang;
	struct web_req *wr;
	char app[24], detail[48];
	const char *params[4];
	bool tok_ok;

	if (strcmp(http_path(r), WEB_PATH) != 0) {
		reply_plain(r, 404, "Not found",
		    "There is no page at this address.", false);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
		reply_plain(r, 405, "Method not allowed",
		    "This page answers GET and POST only.", true);
		return;
	}

	buf_init(&lang);
	t = NULL;
	if (form_field(query, strlen(query), "l", &lang))
		t = unsub_texts(lang.data);
	if (t == NULL)
		t = unsub_texts(WEB_DEFAULT_LANG);
	buf_reset(&lang);

	buf_init(&tok);
	tok_ok = form_field(query, strlen(query), "t", &tok) &&
		 w->key_len > 0 &&
		 unsub_token_check(tok.data, w->key, w->key_len, &f) == 0;
	buf_reset(&tok);
	if (!tok_ok) {
		log_info("web: %s %s from %s: invalid unsubscribe token",
		    method, WEB_PATH, http_peer(r));
		reply_page(r, 400, t, PAGE_INVALID, NULL);
		return;
	}
	if (strcmp(method, "GET") == 0) {
		reply_page(r, 200, t, PAGE_CONFIRM, &f);
		return;
	}
	if (!body_one_click(r)) {
		/* a POST without the field: show the button again */
		reply_page(r, 400, t, PAGE_CONFIRM, &f);
		return;
	}

	wr = xcalloc(1, sizeof(*wr));
	wr->web = w;
	wr->http = r;
	wr->texts = t;
	wr->f = f;
	snprintf(app, sizeof(app), "%llu", (unsigned long long)f.app_id);
	snprintf(
	    detail, sizeof(detail), "task %llu", (unsigned long long)f.task_id);
	params[0] = app;
	params[1] = f.domain;
	params[2] = f.rcpt;
	params[3] = detail;
	w->inflight++;
	db_query(w->db, &db_web_unsubscribe, params, web_unsubscribe_cb, wr);
}

static void
web_unsubscribe_cb(const struct db_res *res, void *arg)
{
	struct web_req *wr = arg;
	const struct unsub_fields *f = &wr->f;

	wr->web->inflight--;
	switch (res->status) {
	case DB_OK:
		log_info("web: unsubscribe app=%llu task=%llu domain=%s: %s",
		    (unsigned long long)f->app_id,
		    (unsigned long long)f->task_id, f->domain,
		    res->affected > 0 ? "suppressed" : "already suppressed");
		reply_page(wr->http, 200, wr->texts, PAGE_DONE, f);
		break;
	case DB_UNAVAILABLE:
		log_warn("web: unsubscribe app=%llu task=%llu: database "
			 "unavailable",
		    (unsigned long long)f->app_id,
		    (unsigned long long)f->task_id);
		reply_page(wr->http, 503, wr->texts, PAGE_RETRY, f);
		break;
	case DB_FAIL:
		log_error("web: unsubscribe app=%llu task=%llu: %s (%s)",
		    (unsigned long long)f->app_id,
		    (unsigned long long)f->task_id,
		    res->errmsg ? res->errmsg : "?", res->sqlstate);
		reply_page(wr->http, 500, wr->texts, PAGE_RETRY, f);
		break;
	}
	OPENSSL_cleanse(&wr->f, sizeof(wr->f));
	free(wr);
}
