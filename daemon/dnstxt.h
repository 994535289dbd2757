/*
 * dnstxt.h: TXT record look-ups for sender-domain verification. A lookup
 * uses a private resolver state (res_ninit), pointed at [identity]
 * dns_server when that is set, else at the system's resolv.conf. The
 * character-strings of one TXT record are concatenated (a 2048-bit DKIM
 * key is longer than the 255 bytes one string holds). glibc's resolver
 * blocks, so the daemon calls dnstxt_start(), which runs the lookups on a
 * thread (bgwork.c) and answers on the loop. Leaf module.
 */
#ifndef SESD_DNSTXT_H
#define SESD_DNSTXT_H

#include <stddef.h>

#include "log.h"

struct event_base;

enum dnstxt_status {
	DNSTXT_FOUND, /* at least one TXT record */
	DNSTXT_NONE,  /* NXDOMAIN, or the name has no TXT records */
	DNSTXT_FAIL,  /* timeout, SERVFAIL, bad server setting... */
};

/* One name to look up and what was found. */
struct dnstxt_query {
	char *name;
	enum dnstxt_status status;
	char **txt; /* ntxt records, each its strings joined */
	size_t ntxt;
	char err[128]; /* why, for DNSTXT_FAIL */
};

/*
 * Synchronous: looks up every q[i].name (set by the caller) against server
 * ("" = system resolver; host, host:port, [v6] or [v6]:port) and fills
 * the rest of q[i]. Returns 0, or -1 when the resolver could not be set
 * up at all (each q[i] is then DNSTXT_FAIL with the reason).
 */
int dnstxt_lookup(const char *server, struct dnstxt_query *q, size_t n);
/* Frees what dnstxt_lookup stored and the names. */
void dnstxt_query_reset(struct dnstxt_query *q);

/*
 * Looks names[0..n) up on a thread; done(q, n, arg) follows on the loop
 * with q borrowed for the call. Returns 0, or -1 if no thread could be
 * started (done never runs).
 */
typedef void dnstxt_done_fn(const struct dnstxt_query *q, size_t n, void *arg);
int dnstxt_start(struct event_base *base, const char *server,
    const char *const *names, size_t n, dnstxt_done_fn *done,
    void *arg) SESD_MUSTCHECK;

#endif
