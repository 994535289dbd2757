/*
 * relay_send: runs daemon/relay.c against a test SMTP peer, for
 * tests/integration/relay.test.js and for measuring throughput by hand.
 *
 *   relay_send [-t none|opportunistic|required] [-u USER -p PASS]
 *              [-H HELO] [-c CONNECT_MS] [-T COMMAND_MS] [-a CA_FILE] [-v]
 *              [-f MAIL_FROM] [-m MESSAGE_FILE] [-b BODY_BYTES]
 *              [-N COUNT] [-s SESSIONS] [-q]
 *              HOST PORT [RCPT[=MESSAGE_FILE]]...
 *
 * Each RCPT becomes one message: MESSAGE_FILE's bytes (CRLF text), or -m's
 * file, or a generated message with a BODY_BYTES body (default 200) and
 * the recipient in To:. -N COUNT adds COUNT recipients user0@example.org
 * ... after the listed ones. The batch goes over one session, -s times
 * (sessions in one process share the relay and its TLS context).
 *
 * Output, one line each, tab-separated:
 *   result <rcpt> <code> <outcome> <stage> <enh|-> <text>   per message
 *   session <n> ok|fail <kind> <seconds> <msgs/s> <reason>
 *   nodelay <connects> <sockets with TCP_NODELAY=1>
 * -q prints only the session and nodelay lines. Exit status: 0 if every
 * session returned 0, 1 if one failed, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nodelay.h"
#include "relay.h"
#include "util.h"

static char *read_file(const char *path);
static char *make_message(const char *rcpt, long body);
static double now_s(void);
static void usage(void) SESD_NORETURN;

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (f == NULL)
		fatal("%s", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f))
		fatal("%s", path);
	fclose(f);
	return b.data != NULL ? b.data : xstrdup("");
}

static char *
make_message(const char *rcpt, long body)
{
	struct buf b;

	buf_init(&b);
	buf_addf(&b,
	    "From: relay_send <sender@example.org>\r\n"
	    "To: <%s>\r\n"
	    "Subject: relay_send test\r\n"
	    "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
	    "Message-ID: <relay-send.%s>\r\n"
	    "\r\n",
	    rcpt, rcpt);
	for (long i = 0; i < body; i += 78) {
		long k = body - i < 76 ? body - i : 76;

		for (long j = 0; j < k; j++)
			buf_addc(&b, (char)('a' + (i / 78 + j) % 26));
		buf_adds(&b, "\r\n");
	}
	return b.data;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: relay_send [-t none|opportunistic|required] "
	    "[-u USER -p PASS] [-H HELO]\n"
	    "                  [-c CONNECT_MS] [-T COMMAND_MS] [-a CA_FILE] "
	    "[-v] [-f MAIL_FROM]\n"
	    "                  [-m MESSAGE_FILE] [-b BODY_BYTES] [-N COUNT] "
	    "[-s SESSIONS] [-q]\n"
	    "                  HOST PORT [RCPT[=MESSAGE_FILE]]...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct relay_opts o = {.tls = RELAY_TLS_NONE,
	    .connect_timeout_ms = 10000,
	    .command_timeout_ms = 30000};
	const char *from = "sender@example.org", *msgfile = NULL;
	long body = 200, count = 0, sessions = 1;
	int ch, rc = 0, t;
	bool quiet = false;
	struct relay *r;
	struct relay_msg *msgs;
	struct relay_result *res;
	struct nodelay_stats st;
	char err[1024], *shared = NULL;
	size_t n, k = 0;

	while ((ch = getopt(argc, argv, "t:u:p:H:c:T:a:vf:m:b:N:s:q")) != -1) {
		switch (ch) {
		case 't':
			if ((t = relay_tls_from_text(optarg)) < 0)
				usage();
			o.tls = (enum relay_tls)t;
			break;
		case 'u':
			o.auth_user = optarg;
			break;
		case 'p':
			o.auth_pass = optarg;
			break;
		case 'H':
			o.helo = optarg;
			break;
		case 'c':
			o.connect_timeout_ms = atoi(optarg);
			break;
		case 'T':
			o.command_timeout_ms = atoi(optarg);
			break;
		case 'a':
			o.ca_file = optarg;
			break;
		case 'v':
			o.tls_verify = true;
			break;
		case 'f':
			from = optarg;
			break;
		case 'm':
			msgfile = optarg;
			break;
		case 'b':
			body = atol(optarg);
			break;
		case 'N':
			count = atol(optarg);
			break;
		case 's':
			sessions = atol(optarg);
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || count < 0 || sessions < 1 || body < 0)
		usage();
	o.host = argv[0];
	o.port = atoi(argv[1]);
	n = (size_t)(argc - 2) + (size_t)count;

	if ((r = relay_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "relay_send: %s\n", err);
		return 2;
	}
	msgs = xcalloc(n > 0 ? n : 1, sizeof(*msgs));
	res = xcalloc(n > 0 ? n : 1, sizeof(*res));
	if (msgfile != NULL)
		shared = read_file(msgfile);
	for (int i = 2; i < argc; i++, k++) {
		char *rcpt = xstrdup(argv[i]), *eq = strchr(rcpt, '=');

		if (eq != NULL)
			*eq = '\0';
		msgs[k].rcpt = rcpt;
		msgs[k].data = eq != NULL       ? read_file(eq + 1)
			       : shared != NULL ? shared
						: make_message(rcpt, body);
	}
	if (count > 0 && shared == NULL)
		shared = make_message("many@example.org", body);
	for (long i = 0; i < count; i++, k++) {
		msgs[k].rcpt = xasprintf("user%ld@example.org", i);
		msgs[k].data = shared;
	}
	for (size_t i = 0; i < n; i++)
		msgs[i].mail_from = from;

	for (long sn = 1; sn <= sessions; sn++) {
		double t0 = now_s(), dt;
		int ret = relay_session(r, msgs, n, res, err, sizeof(err));

		dt = now_s() - t0;
		if (!quiet)
			for (size_t i = 0; i < n; i++)
				printf("result\t%s\t%d\t%s\t%s\t%s\t%s\n",
				    msgs[i].rcpt, res[i].code,
				    relay_outcome_to_text(res[i].outcome),
				    relay_stage_to_text(res[i].stage),
				    res[i].enh[0] != '\0' ? res[i].enh : "-",
				    res[i].text);
		printf("session\t%ld\t%s\t%s\t%.3f\t%.0f\t%s\n", sn,
		    ret == 0 ? "ok" : "fail",
		    relay_fail_to_text(relay_failure(r)), dt,
		    dt > 0 ? (double)n / dt : 0.0, err);
		if (ret != 0)
			rc = 1;
	}
	nodelay_stats_get(&st);
	printf("nodelay\t%lu\t%lu\n", st.connects, st.nodelay);
	fflush(stdout);

	for (size_t i = 0; i < n; i++) {
		if (msgs[i].data != shared)
			free((char *)msgs[i].data);
		free((char *)msgs[i].rcpt);
	}
	free(shared);
	free(msgs);
	free(res);
	relay_free(r);
	return rc;
}
