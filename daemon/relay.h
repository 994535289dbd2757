/*
 * relay.h: hands a batch of rendered messages to the configured SMTP relay
 * over one libesmtp session, one recipient per message, and classifies each
 * recipient's outcome (RECIPES.md section 5). Only relay.c includes
 * libesmtp.h. Blocking: a session runs from connect to QUIT inside
 * relay_session(), so it belongs in an SMTP worker process, never in the
 * parent's event loop. Create the relay in the process (after fork) and
 * the thread that sends; a relay serves one thread at a time.
 */
#ifndef SESD_RELAY_H
#define SESD_RELAY_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

/* STARTTLS policy ([smtp] starttls) */
enum relay_tls {
	RELAY_TLS_NONE,          /* never STARTTLS, even if offered */
	RELAY_TLS_OPPORTUNISTIC, /* STARTTLS if the relay offers it */
	RELAY_TLS_REQUIRED,      /* no STARTTLS offered: session failure */
};

/*
 * Everything relay_new() needs; copied, so the strings may go away after
 * the call. NULL or "" strings mean "not set".
 */
struct relay_opts {
	const char
	    *host; /* name or IPv4 literal; IPv6 literals: libesmtp cannot */
	int port;  /* 1..65535 */
	enum relay_tls tls;
	const char *auth_user; /* AUTH (PLAIN, LOGIN, CRAM-MD5) when set */
	const char *auth_pass;
	const char *helo;       /* EHLO name; default: the host's uname */
	int connect_timeout_ms; /* per address tried; <= 0: the kernel's */
	int command_timeout_ms; /* every reply wait, greeting included; > 0 */
	const char *ca_file; /* PEM CAs instead of the system store (tests) */
	bool tls_verify;     /* reject a certificate that fails to verify or
				does not name host */
};

/* One message, one recipient. Borrowed for the length of relay_session(). */
struct relay_msg {
	const char *mail_from; /* envelope sender (MAIL FROM), "" for <> */
	const char *rcpt;      /* envelope recipient (RCPT TO) */
	const char *data;      /* the whole message, CRLF lines, NUL-terminated;
				  libesmtp dot-stuffs it */
	void *cookie;          /* the caller's; relay never touches it */
};

enum relay_outcome {
	RELAY_SENT,     /* RCPT 2xx and final DATA 2xx: the relay has it */
	RELAY_TEMPFAIL, /* 4xx, no reply (connection lost, timeout), session
			   failure: try again later */
	RELAY_PERMFAIL, /* 5xx to RCPT or to DATA: bounce */
};

/* Which command the recorded reply answered. */
enum relay_stage {
	RELAY_STAGE_NONE, /* no reply of its own: session failure or never
			     attempted; text says why */
	RELAY_STAGE_MAIL, /* MAIL FROM refused (4xx/5xx: sender, not recipient,
			     so TEMPFAIL; never a reason to suppress rcpt) */
	RELAY_STAGE_RCPT, /* RCPT TO reply: a 5xx here is a hard bounce */
	RELAY_STAGE_DATA, /* DATA (354 or final) reply */
};

/*
 * One result per message. code is the SMTP reply code (0: none), enh the
 * enhanced status code ("5.1.1"; "" if the reply had none) and text the
 * rest of the reply line(s), CR/LF removed (continuation lines joined with
 * a space): "code enh text" gives the relay's reply back. An enhanced code
 * is taken from the text when the relay did not announce
 * ENHANCEDSTATUSCODES but wrote one anyway.
 */
struct relay_result {
	enum relay_outcome outcome;
	enum relay_stage stage;
	int code;
	char enh[16];
	char text[512];
};

/* Why a whole session failed (relay_session() returned -1). */
enum relay_fail {
	RELAY_FAIL_NONE,
	RELAY_FAIL_CONNECT, /* name lookup, refused, connect timeout */
	RELAY_FAIL_SESSION, /* greeting/EHLO refused, timeout or connection
			       lost before the first MAIL FROM */
	RELAY_FAIL_TLS,     /* STARTTLS required but not offered, handshake
			       failed, certificate rejected (configuration) */
	RELAY_FAIL_AUTH,    /* credentials refused, no usable mechanism, or the
			       relay demands AUTH (530, 5.7.x to MAIL):
			       configuration, never bounces */
};

struct relay;

/*
 * Checks opts and prepares what every session reuses: the TLS context
 * (capped at TLS 1.2, system CA store or ca_file) when tls is not NONE, and
 * the credentials. Returns a relay the caller frees with relay_free(), or
 * NULL with the reason in err (errlen bytes, always NUL-terminated).
 */
struct relay *relay_new(
    const struct relay_opts *opts, char *err, size_t errlen);
/* Accepts NULL. Wipes the password. */
void relay_free(struct relay *r);

/*
 * Opens one SMTP session and offers msgs[0..n-1] in order, one transaction
 * each, then QUIT. results[i] receives the outcome of msgs[i] (results has
 * n entries). n == 0 does nothing and returns 0.
 *
 * Returns 0 when the session ran: every result is filled from the relay's
 * replies; a connection lost midway leaves the messages it cut off
 * TEMPFAIL (stage NONE or the last reply seen).
 *
 * Returns -1 on a session failure, with relay_failure() saying which kind
 * and the reason in err: every message is TEMPFAIL with stage NONE, code 0
 * and the reason as text, except messages the relay had already answered
 * for good before the failure showed (SENT or PERMFAIL keep those results).
 * An AUTH failure is detected before the first MAIL FROM and the session
 * dropped there, so nothing is sent unauthenticated.
 *
 * SIGPIPE is blocked in the calling thread during the session (a pending
 * one caused by it is discarded), so the caller need not ignore it.
 */
int relay_session(struct relay *r, const struct relay_msg *msgs, size_t n,
    struct relay_result *results, char *err, size_t errlen) SESD_MUSTCHECK;

/* Kind of the last session failure of r; RELAY_FAIL_NONE after a 0. */
enum relay_fail relay_failure(const struct relay *r);

/* "sent", "tempfail", "permfail"; static strings. */
const char *relay_outcome_to_text(enum relay_outcome o);
/* "none", "mail", "rcpt", "data" */
const char *relay_stage_to_text(enum relay_stage s);
/* "none", "connect", "session", "tls", "auth" */
const char *relay_fail_to_text(enum relay_fail f);
/* "none", "opportunistic", "required"; relay_tls_from_text: -1 if unknown */
const char *relay_tls_to_text(enum relay_tls t);
int relay_tls_from_text(const char *s);

#endif
