/*
 * static_evhttp: the baseline of tests/bench/api.sh. An evhttp server that
 * answers every request with the bytes of one file, HTTP 200,
 * application/json: what sesd's HTTP layer would cost with no signature
 * check, no JSON parsing and no database.
 *   static_evhttp PORT FILE
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

static char body[65536];
static size_t body_len;

static void
reply_cb(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add(b, body, body_len);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

int
main(int argc, char **argv)
{
	struct event_base *base;
	struct evhttp *http;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: static_evhttp PORT FILE\n");
		return 2;
	}
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	body_len = fread(body, 1, sizeof(body), f);
	fclose(f);
	base = event_base_new();
	http = evhttp_new(base);
	evhttp_set_gencb(http, reply_cb, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)atoi(argv[1])) !=
	    0) {
		fprintf(stderr, "cannot listen on port %s\n", argv[1]);
		return 1;
	}
	event_base_dispatch(base);
	return 0;
}
