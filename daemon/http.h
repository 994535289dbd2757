/*
 * http.h: evhttp listeners. A listener hands every complete request to its
 * handler, which answers exactly once with http_reply(). Slow clients are
 * cut off by the timeout; bodies over max_body are refused by evhttp
 * itself only past a hard cap (4x max_body), so that the API layer can
 * answer moderate excess in its own envelope. Only http.c includes
 * event2/http.h.
 */
#ifndef SESD_HTTP_H
#define SESD_HTTP_H

#include <stddef.h>

#include "tc3.h"

struct event_base;
struct http;
struct http_req;

typedef void http_handler_fn(struct http_req *req, void *arg);

struct http *http_new(
    struct event_base *base, http_handler_fn *handler, void *arg);
/* Binds host:port. Returns 0, or -1 with a reason in err. */
int http_listen(struct http *h, const char *hostport, size_t max_body,
    int timeout, char *err, size_t errlen);
/* Applies new limits to the open listener (SIGHUP). */
void http_set_limits(struct http *h, size_t max_body, int timeout);
/* Closes the listening socket; requests in progress go on. */
void http_stop_accepting(struct http *h);
void http_free(struct http *h);

/* Request accessors; all borrowed until http_reply(). */
const char *http_method(const struct http_req *r); /* "POST", "PUT", ... */
const char *http_path(const struct http_req *r);   /* "/" */
const char *http_query(const struct http_req *r);  /* raw, "" if none */
const char *http_header(const struct http_req *r, const char *name);
const struct tc3_header *http_headers(struct http_req *r, size_t *n);
const unsigned char *http_body(struct http_req *r, size_t *len);
const char *http_peer(const struct http_req *r); /* "127.0.0.1" */

/*
 * Sends the reply and frees r. A client that went away meanwhile is fine:
 * the reply is dropped. extra_headers: NULL, or "Name", "value" pairs
 * ending with NULL.
 */
void http_reply(struct http_req *r, int code, const char *content_type,
    const char *body, size_t len, const char *const *extra_headers);

/* http_reply() of a body given in pieces, without first copying them into
 * one buffer. */
struct http_part {
	const void *p;
	size_t len;
};
void http_reply_parts(struct http_req *r, int code, const char *content_type,
    const struct http_part *parts, size_t nparts);

#endif
