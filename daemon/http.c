/*
 * http.c: evhttp plumbing. Wraps each evhttp_request in a struct http_req
 * that the handler owns until it replies; evhttp keeps the request alive
 * for us even if the client disconnects first (it then drops our reply).
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "util.h"

struct http {
	struct event_base *base;
	struct evhttp *evh;
	struct evhttp_bound_socket *sock;
	http_handler_fn *handler;
	void *arg;
};

struct http_req {
	struct evhttp_request *ev;
	const char *method;
	char *path;  /* in uri below */
	char *query; /* in uri below */
	char peer[64];
	struct tc3_header *headers;
	size_t nheaders;
	char uri[]; /* path NUL query NUL: one allocation per request */
};

static void http_request_cb(struct evhttp_request *, void *);

struct http *
http_new(struct event_base *base, http_handler_fn *handler, void *arg)
{
	struct http *h = xcalloc(1, sizeof(*h));

	h->base = base;
	h->handler = handler;
	h->arg = arg;
	h->evh = evhttp_new(base);
	if (h->evh == NULL)
		fatalx("evhttp_new failed");
	/* every method reaches us, so that PUT etc. get an API envelope */
	evhttp_set_allowed_methods(h->evh,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(h->evh, "application/json");
	evhttp_set_max_headers_size(h->evh, 64 * 1024);
	evhttp_set_gencb(h->evh, http_request_cb, h);
	return h;
}

void
http_set_limits(struct http *h, size_t max_body, int timeout)
{
	evhttp_set_max_body_size(h->evh, (ev_ssize_t)(max_body * 4 + 65536));
	evhttp_set_timeout(h->evh, timeout);
}

int
http_listen(struct http *h, const char *hostport, size_t max_body, int timeout,
    char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	size_t hl;
	int port;

	if (colon == NULL ||
	    (hl = (size_t)(colon - hostport)) >= sizeof(host)) {
		snprintf(err, errlen, "bad listen address %s", hostport);
		return -1;
	}
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	port = atoi(colon + 1);
	http_set_limits(h, max_body, timeout);
	h->sock =
	    evhttp_bind_socket_with_handle(h->evh, host, (ev_uint16_t)port);
	if (h->sock == NULL) {
		snprintf(err, errlen, "cannot listen on %s", hostport);
		return -1;
	}
	return 0;
}

void
http_stop_accepting(struct http *h)
{
	if (h->sock) {
		evhttp_del_accept_socket(h->evh, h->sock);
		h->sock = NULL;
	}
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	evhttp_free(h->evh);
	free(h);
}

static void
http_request_cb(struct evhttp_request *ev, void *arg)
{
	struct http *h = arg;
	const char *uri = evhttp_request_get_uri(ev);
	size_t len = strlen(uri);
	struct http_req *r = xmalloc(sizeof(*r) + len + 2);
	const char *q = memchr(uri, '?', len);
	size_t plen = q ? (size_t)(q - uri) : len, alen;
	const char *m;
	char *addr = NULL;
	ev_uint16_t port = 0;

	memset(r, 0, sizeof(*r));
	r->ev = ev;
	switch (evhttp_request_get_command(ev)) {
	case EVHTTP_REQ_GET:
		m = "GET";
		break;
	case EVHTTP_REQ_POST:
		m = "POST";
		break;
	case EVHTTP_REQ_HEAD:
		m = "HEAD";
		break;
	case EVHTTP_REQ_PUT:
		m = "PUT";
		break;
	case EVHTTP_REQ_DELETE:
		m = "DELETE";
		break;
	case EVHTTP_REQ_OPTIONS:
		m = "OPTIONS";
		break;
	case EVHTTP_REQ_PATCH:
		m = "PATCH";
		break;
	default:
		m = "OTHER";
		break;
	}
	r->method = m;
	/* the connection may be gone by the time a reply logs the peer */
	evhttp_connection_get_peer(
	    evhttp_request_get_connection(ev), &addr, &port);
	if (addr == NULL)
		addr = "?";
	alen = strnlen(addr, sizeof(r->peer) - 1);
	memcpy(r->peer, addr, alen);
	r->peer[alen] = '\0';
	r->path = r->uri;
	memcpy(r->path, uri, plen);
	r->path[plen] = '\0';
	r->query = r->path + plen + 1;
	if (q != NULL)
		memcpy(r->query, q + 1, len - plen); /* with the NUL */
	else
		r->query[0] = '\0';
	h->handler(r, h->arg);
}

const char *
http_method(const struct http_req *r)
{
	return r->method;
}

const char *
http_path(const struct http_req *r)
{
	return r->path;
}

const char *
http_query(const struct http_req *r)
{
	return r->query;
}

const char *
http_peer(const struct http_req *r)
{
	return r->peer;
}

const char *
http_header(const struct http_req *r, const char *name)
{
	return evhttp_find_header(
	    evhttp_request_get_input_headers(r->ev), name);
}

const struct tc3_header *
http_headers(struct http_req *r, size_t *n)
{
	if (r->headers == NULL) {
		struct evkeyvalq *hq = evhttp_request_get_input_headers(r->ev);
		struct evkeyval *kv;
		size_t count = 0, i = 0;
		TAILQ_FOREACH(kv, hq, next)
		count++;
		r->headers = xcalloc(count + 1, sizeof(*r->headers));
		TAILQ_FOREACH(kv, hq, next)
		{
			r->headers[i].name = kv->key;
			r->headers[i].value = kv->value;
			i++;
		}
		r->nheaders = count;
	}
	*n = r->nheaders;
	return r->headers;
}

const unsigned char *
http_body(struct http_req *r, size_t *len)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(r->ev);
	*len = evbuffer_get_length(b);
	return *len ? evbuffer_pullup(b, -1) : (const unsigned char *)"";
}

static void
reply(struct http_req *r, int code, const char *content_type,
    const struct http_part *parts, size_t nparts,
    const char *const *extra_headers)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(out, "Content-Type", content_type);
	for (size_t i = 0; extra_headers && extra_headers[i]; i += 2)
		evhttp_add_header(out, extra_headers[i], extra_headers[i + 1]);
	for (size_t i = 0; i < nparts; i++)
		evbuffer_add(b, parts[i].p, parts[i].len);
	evhttp_send_reply(r->ev, code, code == 200 ? "OK" : "Error", b);
	evbuffer_free(b);
	free(r->headers);
	free(r);
}

void
http_reply(struct http_req *r, int code, const char *content_type,
    const char *body, size_t len, const char *const *extra_headers)
{
	struct http_part part = {body, len};

	reply(r, code, content_type, &part, 1, extra_headers);
}

void
http_reply_parts(struct http_req *r, int code, const char *content_type,
    const struct http_part *parts, size_t nparts)
{
	reply(r, code, content_type, parts, nparts, NULL);
}
