/*
 * relay.c: one libesmtp session per relay_session() call, one recipient per
 * message, every recipient's reply classified sent / tempfail / permfail.
 * The only file that includes libesmtp.h. Called by the SMTP worker; it
 * logs nothing (the caller logs once, with the job's identity). Handles the
 * libesmtp 1.1.0 traps of RECIPES.md section 5:
 *  1. no TCP_NODELAY, no connect timeout: nodelay.c, armed for the session;
 *  2. STARTTLS hangs under TLS 1.3: our own SSL_CTX, capped at TLS 1.2;
 *  3. libesmtp's own SSL_CTX crashes a second session: it never makes one;
 *  4. >= 3 pipelined replies outstanding + dropped connection crash: one
 *     recipient per message, always (RCPT + DATA are 2);
 *  5. a failed AUTH carries on unauthenticated: the monitor callback
 *     watches for the 2xx to AUTH and drops the connection before the
 *     first MAIL FROM if it never came.
 */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h> /* before libesmtp.h: declares smtp_starttls_set_ctx */
#include <openssl/x509v3.h>
#include <auth-client.h>
#include <libesmtp.h>

#include "nodelay.h"
#include "util.h"

#define RELAY_LINE 256 /* one server reply line kept for messages */

struct relay {
	char *server; /* "host:port" for smtp_set_server() */
	char *host;
	char *helo;      /* NULL: libesmtp's default (uname) */
	char *auth_user; /* NULL: no AUTH */
	char *auth_pass;
	enum relay_tls tls;
	bool tls_verify;
	int connect_timeout_ms;
	int command_timeout_ms;
	SSL_CTX *ssl_ctx; /* NULL when tls == RELAY_TLS_NONE */
	enum relay_fail fail;
};

/* What the callbacks learn during one smtp_start_session(). */
struct session {
	struct relay *r;
	int fd;                /* the SMTP socket, once connected */
	bool connected;        /* SMTP_EV_CONNECT seen */
	bool starttls_sent;    /* STARTTLS written */
	bool tls_ok;           /* SMTP_EV_STARTTLS_OK */
	bool starttls_missing; /* required, not offered */
	bool in_auth;          /* inside an AUTH exchange: lines written are
				  SASL responses, not commands */
	bool auth_sent;
	bool authenticated; /* the relay answered AUTH with 2xx */
	bool mail_sent;     /* the first MAIL FROM went out */
	enum relay_fail abort_kind;
	char abort_reason[RELAY_LINE * 2];
	char tls_reason[RELAY_LINE * 2]; /* certificate refused: why */
	char auth_reply[RELAY_LINE];     /* the last refusal of AUTH */
	char refusal[RELAY_LINE]; /* first 4xx/5xx before MAIL, not to AUTH */
	char last_reply[RELAY_LINE]; /* the last reply line read */
	char last_cmd[12];           /* first verb of the last chunk written */
	char partial[RELAY_LINE];    /* reply line read so far */
	size_t partial_len;
	uint64_t last_io_ms; /* last read or write the monitor saw */
};

static void copy_text(char *dst, size_t dstlen, const char *src, size_t len);
static bool parse_enh(
    const char *s, int code_class, int *a, int *b, int *c, const char **rest);
static void fill_reply(
    struct relay_result *res, enum relay_stage stage, const smtp_status_t *st);
static void fill_none(struct relay_result *res, enum relay_outcome outcome,
    const char *fmt, ...) SESD_PRINTF(3, 4);
static void classify(struct relay_result *res, smtp_message_t m,
    smtp_recipient_t rcpt, const char *lost);
static void session_abort(struct session *s, enum relay_fail kind,
    const char *fmt, ...) SESD_PRINTF(3, 4);
static void describe_loss(const struct session *s, char *buf, size_t len);
static enum relay_fail session_failure(
    struct session *s, int serr, char *reason, size_t len);
static void monitor_written(struct session *s, const char *buf, int len);
static void monitor_reply_line(struct session *s, const char *line);
static void monitor_cb(const char *buf, int buflen, int writing, void *arg);
static bool cert_names_host(SSL *ssl, const char *host);
static void mail_status(struct session *s, smtp_message_t m);
static void event_cb(smtp_session_t sess, int event, void *arg, ...);
static int interact_cb(
    auth_client_request_t req, char **result, int fields, void *arg);
static bool envelope_ok(const struct relay_msg *msg);
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    SESD_PRINTF(3, 4);
static SSL_CTX *tls_ctx_new(
    const struct relay_opts *o, char *err, size_t errlen);

static char empty_answer[1];

static const char *const outcome_names[] = {
    [RELAY_SENT] = "sent",
    [RELAY_TEMPFAIL] = "tempfail",
    [RELAY_PERMFAIL] = "permfail",
};

static const char *const stage_names[] = {
    [RELAY_STAGE_NONE] = "none",
    [RELAY_STAGE_MAIL] = "mail",
    [RELAY_STAGE_RCPT] = "rcpt",
    [RELAY_STAGE_DATA] = "data",
};

static const char *const fail_names[] = {
    [RELAY_FAIL_NONE] = "none",
    [RELAY_FAIL_CONNECT] = "connect",
    [RELAY_FAIL_SESSION] = "session",
    [RELAY_FAIL_TLS] = "tls",
    [RELAY_FAIL_AUTH] = "auth",
};

static const char *const tls_names[] = {
    [RELAY_TLS_NONE] = "none",
    [RELAY_TLS_OPPORTUNISTIC] = "opportunistic",
    [RELAY_TLS_REQUIRED] = "required",
};

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Copies len bytes of a server reply into dst as one printable line: CR/LF
 * runs inside become one space, trailing ones go, other control bytes
 * become spaces. The result is valid UTF-8 (a reply that is not has its
 * bytes >= 0x80 replaced by '?'), cut at a character boundary if long.
 */
static void
copy_text(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t o = 0;
	bool nl = false;

	for (size_t i = 0; i < len && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '\r' || c == '\n') {
			nl = true;
			continue;
		}
		if (nl && o > 0)
			dst[o++] = ' ';
		nl = false;
		if (o + 1 >= dstlen)
			break;
		dst[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[o] = '\0';
	if (!utf8_valid(dst, o)) {
		/* either a cut sequence at the end or a non-UTF-8 reply */
		size_t end = o;

		while (end > 0 && ((unsigned char)dst[end - 1] & 0xc0) == 0x80)
			end--;
		if (end > 0 && (unsigned char)dst[end - 1] >= 0xc0)
			end--;
		if (utf8_valid(dst, end)) {
			dst[end] = '\0';
		} else {
			for (size_t i = 0; i < o; i++)
				if ((unsigned char)dst[i] >= 0x80)
					dst[i] = '?';
		}
	}
}

/* "5.1.1 text": an RFC 3463 code of class code_class at the start of s. */
static bool
parse_enh(
    const char *s, int code_class, int *a, int *b, int *c, const char **rest)
{
	char *end;
	long v[3];
	const char *p = s;

	for (int i = 0; i < 3; i++) {
		if (*p < '0' || *p > '9')
			return false;
		v[i] = strtol(p, &end, 10);
		if (end - p > 3 || (i == 0 && end - p != 1))
			return false;
		p = end;
		if (i < 2 && *p++ != '.')
			return false;
	}
	if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
		return false;
	if (v[0] != code_class)
		return false;
	*a = (int)v[0];
	*b = (int)v[1];
	*c = (int)v[2];
	while (*p == ' ' || *p == '\t')
		p++;
	*rest = p;
	return true;
}

static void
fill_reply(
    struct relay_result *res, enum relay_stage stage, const smtp_status_t *st)
{
	const char *text = st->text != NULL ? st->text : "";
	int a, b, c;

	res->stage = stage;
	res->code = st->code;
	res->enh[0] = '\0';
	if (st->enh_class > 0) {
		snprintf(res->enh, sizeof(res->enh), "%d.%d.%d", st->enh_class,
		    st->enh_subject, st->enh_detail);
	} else if (parse_enh(text, st->code / 100, &a, &b, &c, &text)) {
		/* the relay wrote one without announcing ENHANCEDSTATUSCODES */
		snprintf(res->enh, sizeof(res->enh), "%d.%d.%d", a, b, c);
	}
	copy_text(res->text, sizeof(res->text), text, strlen(text));
}

static void
fill_none(
    struct relay_result *res, enum relay_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	res->outcome = outcome;
	res->stage = RELAY_STAGE_NONE;
	res->code = 0;
	res->enh[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
}

/*
 * RECIPES.md section 5: RCPT 0 or 4xx -> tempfail; RCPT 5xx -> permfail;
 * RCPT 2xx and DATA 2xx -> sent; DATA 5xx -> permfail; DATA 4xx or none ->
 * tempfail. A refused MAIL FROM is about the sender, so tempfail (530 and
 * 5.7.x there end the session in mail_status() first). lost says why a
 * missing reply is missing.
 */
static void
classify(struct relay_result *res, smtp_message_t m, smtp_recipient_t rcpt,
    const char *lost)
{
	const smtp_status_t *mail = smtp_reverse_path_status(m);
	const smtp_status_t *rs = smtp_recipient_status(rcpt);
	const smtp_status_t *data = smtp_message_transfer_status(m);

	if (mail->code == 0) {
		fill_none(res, RELAY_TEMPFAIL, "not attempted: %s", lost);
		return;
	}
	if (mail->code / 100 != 2) {
		res->outcome = RELAY_TEMPFAIL;
		fill_reply(res, RELAY_STAGE_MAIL, mail);
		return;
	}
	if (rs->code == 0) {
		fill_none(res, RELAY_TEMPFAIL, "no reply to RCPT TO: %s", lost);
		res->stage = RELAY_STAGE_RCPT;
		return;
	}
	if (rs->code / 100 != 2) {
		res->outcome =
		    rs->code / 100 == 5 ? RELAY_PERMFAIL : RELAY_TEMPFAIL;
		fill_reply(res, RELAY_STAGE_RCPT, rs);
		return;
	}
	switch (data->code / 100) {
	case 2:
		res->outcome = RELAY_SENT;
		fill_reply(res, RELAY_STAGE_DATA, data);
		break;
	case 5:
		res->outcome = RELAY_PERMFAIL;
		fill_reply(res, RELAY_STAGE_DATA, data);
		break;
	case 4:
		res->outcome = RELAY_TEMPFAIL;
		fill_reply(res, RELAY_STAGE_DATA, data);
		break;
	default:
		/* 0: no reply to DATA; 3: 354 but no reply after the dot */
		fill_none(res, RELAY_TEMPFAIL, "%s: %s",
		    data->code == 0 ? "no reply to DATA"
				    : "no reply after the message",
		    lost);
		res->stage = RELAY_STAGE_DATA;
		break;
	}
}

/*
 * Ends the session from inside a callback: libesmtp has no call for that,
 * so the socket is shut down and its next read or write fails. Only done
 * with at most RCPT + DATA outstanding (pitfall 4).
 */
static void
session_abort(struct session *s, enum relay_fail kind, const char *fmt, ...)
{
	va_list ap;

	if (s->abort_kind != RELAY_FAIL_NONE)
		return;
	s->abort_kind = kind;
	va_start(ap, fmt);
	vsnprintf(s->abort_reason, sizeof(s->abort_reason), fmt, ap);
	va_end(ap);
	if (s->fd >= 0)
		(void)shutdown(s->fd, SHUT_RDWR);
}

/* Why the session stopped short: a reply timeout or the relay closing. */
static void
describe_loss(const struct session *s, char *buf, size_t len)
{
	uint64_t idle = now_ms() - s->last_io_ms;

	/* libesmtp reports both as a dropped connection; the idle time tells
	 * them apart (100 ms of slack for the poll wake-up) */
	if (idle + 100 >= (uint64_t)s->r->command_timeout_ms &&
	    s->last_cmd[0] == '\0')
		snprintf(buf, len, "no greeting within %d ms",
		    s->r->command_timeout_ms);
	else if (idle + 100 >= (uint64_t)s->r->command_timeout_ms)
		snprintf(buf, len, "no reply to %s within %d ms", s->last_cmd,
		    s->r->command_timeout_ms);
	else if (s->last_reply[0] != '\0')
		snprintf(buf, len, "connection lost (last reply: %s)",
		    s->last_reply);
	else
		snprintf(buf, len, "connection lost before the greeting");
}

/* After smtp_start_session(): the session failure, if there was one. */
static enum relay_fail
session_failure(struct session *s, int serr, char *reason, size_t len)
{
	struct relay *r = s->r;
	char loss[RELAY_LINE + 64], ebuf[128];
	unsigned long e;

	if (s->abort_kind != RELAY_FAIL_NONE) {
		snprintf(reason, len, "%s", s->abort_reason);
		return s->abort_kind;
	}
	if (!s->connected) {
		int cerr = nodelay_errno();

		if (cerr == ETIMEDOUT && r->connect_timeout_ms > 0)
			snprintf(reason, len,
			    "connect to %s: timed out after %d ms", r->server,
			    r->connect_timeout_ms);
		else if (cerr != 0)
			snprintf(reason, len, "connect to %s: %s", r->server,
			    strerror(cerr));
		else
			snprintf(reason, len, "connect to %s: %s", r->server,
			    smtp_strerror(serr, ebuf, sizeof(ebuf)));
		return RELAY_FAIL_CONNECT;
	}
	if (s->tls_reason[0] != '\0') {
		snprintf(reason, len, "%s", s->tls_reason);
		return RELAY_FAIL_TLS;
	}
	if (s->starttls_missing) {
		snprintf(reason, len,
		    "STARTTLS required but %s does not offer it", r->server);
		return RELAY_FAIL_TLS;
	}
	if (s->mail_sent)
		return RELAY_FAIL_NONE;
	if (s->starttls_sent && !s->tls_ok) {
		e = ERR_peek_last_error();
		if (e != 0)
			ERR_error_string_n(e, ebuf, sizeof(ebuf));
		else
			describe_loss(s, ebuf, sizeof(ebuf));
		snprintf(reason, len, "STARTTLS with %s failed: %s", r->server,
		    s->refusal[0] != '\0' ? s->refusal : ebuf);
		ERR_clear_error();
		return RELAY_FAIL_TLS;
	}
	if (s->auth_sent && !s->authenticated) {
		snprintf(reason, len, "authentication failed: %s",
		    s->auth_reply[0] != '\0' ? s->auth_reply
					     : "no reply to AUTH");
		return RELAY_FAIL_AUTH;
	}
	if (s->refusal[0] != '\0') {
		snprintf(reason, len, "relay %s refused the session: %s",
		    r->server, s->refusal);
		return RELAY_FAIL_SESSION;
	}
	describe_loss(s, loss, sizeof(loss));
	snprintf(reason, len, "session with %s ended before MAIL FROM: %s",
	    r->server, loss);
	return RELAY_FAIL_SESSION;
}

/*
 * Commands flushed to the relay. libesmtp flushes MAIL FROM on its own
 * (RECIPES.md section 5, note 8), so the check before the first one runs
 * before it leaves. Inside an AUTH exchange the lines are SASL responses.
 */
static void
monitor_written(struct session *s, const char *buf, int len)
{
	static const char *const verbs[] = {"EHLO ", "HELO ", "STARTTLS\r",
	    "AUTH ", "MAIL FROM:", "RCPT TO:", "DATA\r", "RSET\r"};
	const char *p = buf, *end = buf + len;
	bool first = true;

	for (; p < end && !s->in_auth; first = false) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n =
		    nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		for (size_t i = 0;
		     first && i < sizeof(verbs) / sizeof(verbs[0]); i++) {
			size_t vl = strlen(verbs[i]);

			if (n >= vl && memcmp(p, verbs[i], vl) == 0) {
				snprintf(s->last_cmd, sizeof(s->last_cmd),
				    "%.*s", (int)strcspn(verbs[i], " \r"),
				    verbs[i]);
				break;
			}
		}
		if (n >= 5 && memcmp(p, "AUTH ", 5) == 0) {
			s->in_auth = true;
			s->auth_sent = true;
		} else if (n >= 9 && memcmp(p, "STARTTLS\r", 9) == 0) {
			s->starttls_sent = true;
		} else if (n >= 10 && memcmp(p, "MAIL FROM:", 10) == 0 &&
			   !s->mail_sent) {
			s->mail_sent = true;
			/* pitfall 5: never send mail unauthenticated */
			if (s->r->auth_user != NULL && !s->authenticated)
				session_abort(s, RELAY_FAIL_AUTH,
				    "authentication failed: %s",
				    s->auth_reply[0] != '\0'
					? s->auth_reply
					: "the relay offered no AUTH "
					  "mechanism we can use");
		}
		p += n;
	}
}

static void
monitor_reply_line(struct session *s, const char *line)
{
	size_t len = strlen(line);
	int code = 0;
	bool final = len < 4 || line[3] != '-';

	copy_text(s->last_reply, sizeof(s->last_reply), line, len);
	if (len >= 3 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' &&
	    line[1] <= '9' && line[2] >= '0' && line[2] <= '9')
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		       (line[2] - '0');
	if (!final)
		return;
	if (code == 354) /* the body and the dot go out unmonitored */
		snprintf(s->last_cmd, sizeof(s->last_cmd), "the message");
	if (!s->in_auth) {
		if (code >= 400 && !s->mail_sent && s->refusal[0] == '\0')
			snprintf(s->refusal, sizeof(s->refusal), "%s",
			    s->last_reply);
		return;
	}
	if (code == 334)
		return; /* a SASL challenge: the exchange goes on */
	s->in_auth = false;
	if (code / 100 == 2)
		s->authenticated = true;
	else
		snprintf(
		    s->auth_reply, sizeof(s->auth_reply), "%s", s->last_reply);
}

/* libesmtp's view of the wire: commands flushed, replies read (never the
 * message body). */
static void
monitor_cb(const char *buf, int buflen, int writing, void *arg)
{
	struct session *s = arg;

	s->last_io_ms = now_ms();
	if (writing == SMTP_CB_WRITING) {
		monitor_written(s, buf, buflen);
		return;
	}
	if (writing != SMTP_CB_READING)
		return;
	for (int i = 0; i < buflen; i++) {
		if (buf[i] == '\n') {
			s->partial[s->partial_len] = '\0';
			monitor_reply_line(s, s->partial);
			s->partial_len = 0;
		} else if (s->partial_len + 1 < sizeof(s->partial)) {
			s->partial[s->partial_len++] = buf[i];
		}
	}
}

/* The name check libesmtp lacks: IP literals, and OpenSSL's DNS rules. */
static bool
cert_names_host(SSL *ssl, const char *host)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char addr[sizeof(struct in6_addr)];

	if (cert == NULL)
		return false;
	if (inet_pton(AF_INET, host, addr) == 1)
		return X509_check_ip_asc(cert, host, 0) == 1;
	return X509_check_host(cert, host, 0, 0, NULL) == 1;
}

/* 530 or 5.7.x to MAIL FROM: the relay wants AUTH we did not (or could
 * not) give; every message would get the same answer, none is a bounce. */
static void
mail_status(struct session *s, smtp_message_t m)
{
	const smtp_status_t *st = smtp_reverse_path_status(m);
	const char *rest;
	int a = st->enh_class, b = st->enh_subject, c;
	struct relay_result res;

	if (st->code / 100 != 5)
		return;
	if (a == 0 &&
	    !parse_enh(st->text != NULL ? st->text : "", 5, &a, &b, &c, &rest))
		b = 0;
	if (st->code != 530 && b != 7)
		return;
	fill_reply(&res, RELAY_STAGE_MAIL, st);
	session_abort(s, RELAY_FAIL_AUTH, "%s: %d%s%s %s",
	    s->authenticated ? "relay refused the sender after AUTH"
	    : s->r->auth_user != NULL
		? "authentication failed"
		: "relay requires authentication (no [smtp] auth configured)",
	    res.code, res.enh[0] != '\0' ? " " : "", res.enh, res.text);
}

static void
event_cb(smtp_session_t sess, int event, void *arg, ...)
{
	struct session *s = arg;
	struct relay *r = s->r;
	va_list ap;
	int *ok;

	(void)sess;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		s->connected = true;
		s->fd = nodelay_fd();
		s->last_io_ms = now_ms();
		break;
	case SMTP_EV_MAILSTATUS:
		(void)va_arg(ap, const char *);
		mail_status(s, va_arg(ap, smtp_message_t));
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		s->starttls_missing = true;
		break;
	case SMTP_EV_STARTTLS_OK:
		s->tls_ok = true;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long vfy = va_arg(ap, long);

		ok = va_arg(ap, int *);
		*ok = !r->tls_verify;
		if (!*ok)
			snprintf(s->tls_reason, sizeof(s->tls_reason),
			    "certificate of %s rejected: %s", r->server,
			    X509_verify_cert_error_string(vfy));
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = !r->tls_verify;
		if (!*ok)
			snprintf(s->tls_reason, sizeof(s->tls_reason),
			    "%s sent no certificate", r->server);
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		const char *name;
		SSL *ssl;

		ok = va_arg(ap, int *);
		name = va_arg(ap, const char *);
		ssl = va_arg(ap, SSL *);
		/* libesmtp matches DNS names only; OpenSSL knows IP SANs */
		*ok = !r->tls_verify || cert_names_host(ssl, r->host);
		if (!*ok)
			snprintf(s->tls_reason, sizeof(s->tls_reason),
			    "certificate of %s does not name %s (it names "
			    "%.100s)",
			    r->server, r->host, name != NULL ? name : "?");
		break;
	}
	case SMTP_EV_WEAK_CIPHER: {
		int bits = va_arg(ap, int);

		ok = va_arg(ap, int *);
		*ok = !r->tls_verify;
		if (!*ok)
			snprintf(s->tls_reason, sizeof(s->tls_reason),
			    "%s negotiated a %d-bit cipher", r->server, bits);
		break;
	}
	default:
		break;
	}
	va_end(ap);
}

static int
interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	struct relay *r = arg;

	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_PASS)
			result[i] = r->auth_pass;
		else if (req[i].flags & AUTH_USER)
			result[i] = r->auth_user;
		else
			result[i] = empty_answer; /* realm */
	}
	return 1;
}

/* CR, LF or angle brackets would break or inject SMTP commands. */
static bool
envelope_ok(const struct relay_msg *msg)
{
	return msg->rcpt[0] != '\0' && strpbrk(msg->rcpt, "\r\n<>") == NULL &&
	       strpbrk(msg->mail_from, "\r\n<>") == NULL;
}

static SSL_CTX *
tls_ctx_new(const struct relay_opts *o, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char ebuf[256];

	if (ctx == NULL)
		fatalx("SSL_CTX_new failed");
	/* pitfall 2: with TLS 1.3 session tickets libesmtp reads before it
	 * flushes EHLO and hangs */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION) != 1)
		goto fail;
	if (o->ca_file != NULL && o->ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1)
			goto fail;
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		goto fail;
	}
	/* the handshake completes either way; libesmtp then asks event_cb
	 * about SSL_get_verify_result() and the name, and tls_verify decides */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
fail:
	ERR_error_string_n(ERR_get_error(), ebuf, sizeof(ebuf));
	set_err(err, errlen, "TLS setup%s%s: %s",
	    o->ca_file != NULL && o->ca_file[0] != '\0' ? " with ca_file " : "",
	    o->ca_file != NULL ? o->ca_file : "", ebuf);
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

struct relay *
relay_new(const struct relay_opts *o, char *err, size_t errlen)
{
	struct relay *r;
	bool has_user = o->auth_user != NULL && o->auth_user[0] != '\0';
	bool has_pass = o->auth_pass != NULL && o->auth_pass[0] != '\0';

	set_err(err, errlen, "%s", "");
	if (o->host == NULL || o->host[0] == '\0') {
		set_err(err, errlen, "relay host is empty");
		return NULL;
	}
	if (strchr(o->host, ':') != NULL || has_crlf(o->host)) {
		/* smtp_set_server() splits "host:port" at the first ':' */
		set_err(err, errlen,
		    "relay host %s: IPv6 literals are not supported by "
		    "libesmtp; use a name",
		    o->host);
		return NULL;
	}
	if (o->port < 1 || o->port > 65535) {
		set_err(err, errlen, "relay port %d out of range", o->port);
		return NULL;
	}
	if (o->command_timeout_ms <= 0) {
		set_err(err, errlen, "command timeout must be positive");
		return NULL;
	}
	if ((int)o->tls < RELAY_TLS_NONE || o->tls > RELAY_TLS_REQUIRED) {
		set_err(err, errlen, "bad STARTTLS mode %d", (int)o->tls);
		return NULL;
	}
	if (has_user != has_pass) {
		set_err(err, errlen, "AUTH needs both a user and a password");
		return NULL;
	}
	if (o->helo != NULL && (has_crlf(o->helo) || strchr(o->helo, ' '))) {
		set_err(err, errlen, "bad EHLO name");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->host = xstrdup(o->host);
	r->server = xasprintf("%s:%d", o->host, o->port);
	if (o->helo != NULL && o->helo[0] != '\0')
		r->helo = xstrdup(o->helo);
	if (has_user) {
		r->auth_user = xstrdup(o->auth_user);
		r->auth_pass = xstrdup(o->auth_pass);
		auth_client_init(); /* no-op with dlopen()ed plugins; cheap */
	}
	r->tls = o->tls;
	r->tls_verify = o->tls_verify;
	r->connect_timeout_ms = o->connect_timeout_ms;
	r->command_timeout_ms = o->command_timeout_ms;
	if (r->tls != RELAY_TLS_NONE &&
	    (r->ssl_ctx = tls_ctx_new(o, err, errlen)) == NULL) {
		relay_free(r);
		return NULL;
	}
	return r;
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->auth_pass != NULL)
		OPENSSL_cleanse(r->auth_pass, strlen(r->auth_pass));
	free(r->auth_pass);
	free(r->auth_user);
	free(r->helo);
	free(r->server);
	free(r->host);
	SSL_CTX_free(r->ssl_ctx);
	free(r);
}

int
relay_session(struct relay *r, const struct relay_msg *msgs, size_t n,
    struct relay_result *results, char *err, size_t errlen)
{
	struct session s;
	smtp_session_t sess;
	smtp_message_t *msg;
	smtp_recipient_t *rcpt;
	auth_context_t auth = NULL;
	sigset_t pipe_set, old_set, pending;
	bool pipe_was_pending;
	struct timespec zero = {0, 0};
	char reason[RELAY_LINE * 2], lost[RELAY_LINE * 2];
	size_t queued = 0;
	int serr;
	enum relay_fail fail;

	SESD_ASSERT(r != NULL && (n == 0 || (msgs != NULL && results != NULL)));
	r->fail = RELAY_FAIL_NONE;
	set_err(err, errlen, "%s", "");
	if (n == 0)
		return 0;

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.fd = -1;
	if ((sess = smtp_create_session()) == NULL)
		fatalx("smtp_create_session: out of memory");
	smtp_set_server(sess, r->server);
	if (r->helo != NULL)
		smtp_set_hostname(sess, r->helo);
	smtp_set_eventcb(sess, event_cb, &s);
	smtp_set_monitorcb(sess, monitor_cb, &s, 0);
	/* milliseconds, despite libesmtp's comment; no RFC 5321 minimums */
	for (int w = Timeout_GREETING; w <= Timeout_DATA2; w++)
		smtp_set_timeout(sess, w | Timeout_OVERRIDE_RFC2822_MINIMUM,
		    r->command_timeout_ms);
	if (r->tls != RELAY_TLS_NONE) {
		/* pitfall 3: libesmtp takes its own reference on our ctx */
		smtp_starttls_set_ctx(sess, r->ssl_ctx);
		smtp_starttls_enable(sess, r->tls == RELAY_TLS_REQUIRED
					       ? Starttls_REQUIRED
					       : Starttls_ENABLED);
	} else {
		smtp_starttls_enable(sess, Starttls_DISABLED);
	}
	if (r->auth_user != NULL) {
		if ((auth = auth_create_context()) == NULL)
			fatalx("auth_create_context: out of memory");
		/* PLAIN and LOGIN send the password as is: allowed, as the
		 * operator chose the relay and its STARTTLS mode */
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, interact_cb, r);
		smtp_auth_set_context(sess, auth);
	}

	msg = xcalloc(n, sizeof(*msg));
	rcpt = xcalloc(n, sizeof(*rcpt));
	for (size_t i = 0; i < n; i++) {
		SESD_ASSERT(msgs[i].mail_from != NULL && msgs[i].rcpt != NULL &&
			    msgs[i].data != NULL);
		if (!envelope_ok(&msgs[i])) {
			fill_none(&results[i], RELAY_PERMFAIL,
			    "not sent: envelope address empty or with CR, LF, "
			    "< or >");
			continue;
		}
		/* pitfall 4: one recipient per message, always */
		if ((msg[i] = smtp_add_message(sess)) == NULL ||
		    !smtp_set_reverse_path(msg[i], msgs[i].mail_from) ||
		    (rcpt[i] = smtp_add_recipient(msg[i], msgs[i].rcpt)) ==
			NULL ||
		    !smtp_set_message_str(msg[i], (void *)msgs[i].data))
			fatalx("libesmtp: cannot add a message: out of memory");
		queued++;
	}
	if (queued == 0)
		goto done;

	/* libesmtp writes to sockets the relay may have closed */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

	ERR_clear_error();
	nodelay_arm(r->connect_timeout_ms);
	s.last_io_ms = now_ms();
	(void)smtp_start_session(sess); /* 1 even after a drop: see below */
	serr = smtp_errno();
	nodelay_disarm();

	if (!pipe_was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);

	describe_loss(&s, lost, sizeof(lost));
	for (size_t i = 0; i < n; i++)
		if (msg[i] != NULL)
			classify(&results[i], msg[i], rcpt[i], lost);

	fail = session_failure(&s, serr, reason, sizeof(reason));
	if (fail != RELAY_FAIL_NONE) {
		r->fail = fail;
		set_err(err, errlen, "%s", reason);
		for (size_t i = 0; i < n; i++)
			if (msg[i] != NULL &&
			    results[i].outcome == RELAY_TEMPFAIL)
				fill_none(
				    &results[i], RELAY_TEMPFAIL, "%s", reason);
	}
done:
	ERR_clear_error(); /* nothing of this session for other OpenSSL users */
	smtp_destroy_session(sess);
	if (auth != NULL)
		auth_destroy_context(auth);
	free(msg);
	free(rcpt);
	return r->fail != RELAY_FAIL_NONE ? -1 : 0;
}

enum relay_fail
relay_failure(const struct relay *r)
{
	return r->fail;
}

const char *
relay_outcome_to_text(enum relay_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0])
		   ? outcome_names[o]
		   : "?";
}

const char *
relay_stage_to_text(enum relay_stage s)
{
	return (unsigned)s < sizeof(stage_names) / sizeof(stage_names[0])
		   ? stage_names[s]
		   : "?";
}

const char *
relay_fail_to_text(enum relay_fail f)
{
	return (unsigned)f < sizeof(fail_names) / sizeof(fail_names[0])
		   ? fail_names[f]
		   : "?";
}

const char *
relay_tls_to_text(enum relay_tls t)
{
	return (unsigned)t < sizeof(tls_names) / sizeof(tls_names[0])
		   ? tls_names[t]
		   : "?";
}

int
relay_tls_from_text(const char *s)
{
	for (size_t i = 0; i < sizeof(tls_names) / sizeof(tls_names[0]); i++)
		if (strcasecmp(s, tls_names[i]) == 0)
			return (int)i;
	return -1;
}
