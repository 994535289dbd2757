/*
 * dnstxt.c: TXT lookups with glibc's reentrant resolver (res_ninit,
 * res_nquery, ns_parserr; -lresolv). A private struct __res_state per
 * lookup batch keeps threads apart; a configured server replaces the
 * resolv.conf list: IPv4 through nsaddr_list, IPv6 through glibc's
 * _u._ext.nsaddrs (what res_ninit itself fills for IPv6 servers).
 */
#include "dnstxt.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgwork.h"
#include "util.h"

#define DNSTXT_ANSWER_MAX 65535
#define DNSTXT_RETRANS    2 /* seconds per try */
#define DNSTXT_RETRY      2 /* tries per server */
#define DNSTXT_TIMEOUT    "no answer from the DNS server (timeout)"

struct dnstxt_job {
	char *server;
	struct dnstxt_query *q;
	size_t n;
	dnstxt_done_fn *done;
	void *arg;
};

static int server_addr(const char *, struct sockaddr_storage *, char *, size_t);
static int resolver_open(struct __res_state *, const char *, char *, size_t);
static void query_one(
    struct __res_state *, unsigned char *, struct dnstxt_query *);
static char *txt_join(const unsigned char *, size_t);
static void dnstxt_work(void *);
static void dnstxt_done(void *);

/* Parses host[:port] / [v6][:port] / v6 into an address (port 53). */
static int
server_addr(
    const char *server, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[256];
	const char *port = "53";
	const char *colon, *close;
	struct addrinfo hints, *ai = NULL;
	int e;

	if (server[0] == '[') {
		close = strchr(server, ']');
		if (close == NULL || (size_t)(close - server) > sizeof(host))
			goto bad;
		memcpy(host, server + 1, (size_t)(close - server - 1));
		host[close - server - 1] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			goto bad;
	} else if ((colon = strchr(server, ':')) != NULL &&
		   strchr(colon + 1, ':') == NULL) {
		if ((size_t)(colon - server) >= sizeof(host))
			goto bad;
		memcpy(host, server, (size_t)(colon - server));
		host[colon - server] = '\0';
		port = colon + 1;
	} else {
		if (strlen(server) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%s", server);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(
		    err, errlen, "dns_server %s: %s", server, gai_strerror(e));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
bad:
	snprintf(err, errlen, "dns_server %s is not host[:port]", server);
	return -1;
}

static int
resolver_open(
    struct __res_state *rs, const char *server, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	memset(rs, 0, sizeof(*rs));
	if (res_ninit(rs) != 0) {
		snprintf(err, errlen, "res_ninit failed");
		res_nclose(rs);
		return -1;
	}
	rs->retrans = DNSTXT_RETRANS;
	rs->retry = DNSTXT_RETRY;
	if (server == NULL || server[0] == '\0')
		return 0;
	if (server_addr(server, &ss, err, errlen) == -1) {
		res_nclose(rs);
		return -1;
	}
	/* replace the resolv.conf list by the one server */
	for (int i = 0; i < MAXNS; i++) {
		free(rs->_u._ext.nsaddrs[i]);
		rs->_u._ext.nsaddrs[i] = NULL;
		memset(&rs->nsaddr_list[i], 0, sizeof(rs->nsaddr_list[i]));
	}
	if (ss.ss_family == AF_INET) {
		memcpy(&rs->nsaddr_list[0], &ss, sizeof(struct sockaddr_in));
	} else {
		struct sockaddr_in6 *sin6 = xmalloc(sizeof(*sin6));
		memcpy(sin6, &ss, sizeof(*sin6));
		rs->_u._ext.nsaddrs[0] = sin6; /* res_nclose frees it */
	}
	rs->nscount = 1;
	return 0;
}

/* One TXT record's character-strings joined, made printable UTF-8. */
static char *
txt_join(const unsigned char *rd, size_t len)
{
	struct buf b;
	size_t off = 0;
	char *s;

	buf_init(&b);
	while (off < len) {
		size_t n = rd[off++];
		if (n > len - off)
			n = len - off; /* malformed: keep what is there */
		buf_add(&b, rd + off, n);
		off += n;
	}
	s = xstrdup(b.data ? b.data : "");
	buf_reset(&b);
	/* NUL ends it; control bytes and broken UTF-8 must not reach JSON */
	if (!utf8_valid(s, strlen(s)))
		for (char *p = s; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

static void
query_one(struct __res_state *rs, unsigned char *ans, struct dnstxt_query *q)
{
	ns_msg msg;
	ns_rr rr;
	int len;

	q->status = DNSTXT_NONE;
	len =
	    res_nquery(rs, q->name, ns_c_in, ns_t_txt, ans, DNSTXT_ANSWER_MAX);
	if (len < 0) {
		switch (rs->res_h_errno) {
		case HOST_NOT_FOUND:
		case NO_DATA:
			return;
		case TRY_AGAIN:
			snprintf(q->err, sizeof(q->err), "%s",
			    errno == ETIMEDOUT ? DNSTXT_TIMEOUT
					       : "no answer (SERVFAIL)");
			break;
		default:
			snprintf(q->err, sizeof(q->err),
			    "lookup failed (h_errno %d)", rs->res_h_errno);
			break;
		}
		q->status = DNSTXT_FAIL;
		return;
	}
	if (len > DNSTXT_ANSWER_MAX)
		len = DNSTXT_ANSWER_MAX; /* truncated answer: parse what fits */
	if (ns_initparse(ans, len, &msg) == -1) {
		snprintf(q->err, sizeof(q->err), "malformed answer");
		q->status = DNSTXT_FAIL;
		return;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
			break;
		if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in)
			continue; /* e.g. the CNAME leading to it */
		q->txt = xrealloc(q->txt, (q->ntxt + 1) * sizeof(*q->txt));
		q->txt[q->ntxt++] = txt_join(ns_rr_rdata(rr), ns_rr_rdlen(rr));
	}
	if (q->ntxt > 0)
		q->status = DNSTXT_FOUND;
}

int
dnstxt_lookup(const char *server, struct dnstxt_query *q, size_t n)
{
	struct __res_state rs;
	unsigned char *ans;
	char err[128];

	for (size_t i = 0; i < n; i++) {
		q[i].status = DNSTXT_FAIL;
		q[i].txt = NULL;
		q[i].ntxt = 0;
		q[i].err[0] = '\0';
	}
	if (resolver_open(&rs, server, err, sizeof(err)) == -1) {
		for (size_t i = 0; i < n; i++)
			snprintf(q[i].err, sizeof(q[i].err), "%s", err);
		return -1;
	}
	ans = xmalloc(DNSTXT_ANSWER_MAX);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && q[i - 1].status == DNSTXT_FAIL &&
		    strcmp(q[i - 1].err, DNSTXT_TIMEOUT) == 0) {
			/* the server is not answering: do not wait again */
			snprintf(
			    q[i].err, sizeof(q[i].err), "%s", DNSTXT_TIMEOUT);
			continue;
		}
		errno = 0;
		query_one(&rs, ans, &q[i]);
	}
	free(ans);
	res_nclose(&rs);
	return 0;
}

void
dnstxt_query_reset(struct dnstxt_query *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->ntxt; i++)
		free(q->txt[i]);
	free(q->txt);
	free(q->name);
	q->txt = NULL;
	q->ntxt = 0;
	q->name = NULL;
}

static void
dnstxt_work(void *p)
{
	struct dnstxt_job *j = p;

	(void)dnstxt_lookup(j->server, j->q, j->n); /* failures are in q */
}

static void
dnstxt_done(void *p)
{
	struct dnstxt_job *j = p;

	j->done(j->q, j->n, j->arg);
	for (size_t i = 0; i < j->n; i++)
		dnstxt_query_reset(&j->q[i]);
	free(j->q);
	free(j->server);
	free(j);
}

int
dnstxt_start(struct event_base *base, const char *server,
    const char *const *names, size_t n, dnstxt_done_fn *done, void *arg)
{
	struct dnstxt_job *j = xcalloc(1, sizeof(*j));

	j->server = xstrdup(server ? server : "");
	j->q = xcalloc(n ? n : 1, sizeof(*j->q));
	j->n = n;
	for (size_t i = 0; i < n; i++)
		j->q[i].name = xstrdup(names[i]);
	j->done = done;
	j->arg = arg;
	if (bgwork_start(base, dnstxt_work, dnstxt_done, j) == -1) {
		for (size_t i = 0; i < n; i++)
			dnstxt_query_reset(&j->q[i]);
		free(j->q);
		free(j->server);
		free(j);
		return -1;
	}
	return 0;
}
