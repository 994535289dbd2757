/*
 * dkim_sign_file: signs one message file with daemon/dkim.c, for the
 * integration test that has python3-dkim verify the result, for making
 * the vectors in tests/vectors/dkim/, and for timing (-n).
 *
 *   dkim_sign_file [-H] [-t TIME] [-l NAME:NAME...] [-n COUNT]
 *                  KEY.pem DOMAIN SELECTOR MESSAGE
 *
 * Writes the DKIM-Signature header and then the message to stdout (-H:
 * the header only). -t sets t= (default: none), -l the header list
 * (default: dkim_default_headers), -n signs COUNT times and prints the
 * rate to stderr. Exit 1 on any failure, with the reason on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkim.h"
#include "util.h"

#define MAX_NAMES 256

static char *read_file(const char *, size_t *);
static void usage(void);

static char *
read_file(const char *path, size_t *len)
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
	*len = b.len;
	return b.data != NULL ? b.data : xstrdup("");
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: dkim_sign_file [-H] [-t TIME] [-l NAME:NAME...] "
	    "[-n COUNT] KEY.pem DOMAIN SELECTOR MESSAGE\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *names[MAX_NAMES + 1], *const *list = NULL, *why = "";
	long long t = -1;
	long count = 1;
	int c, header_only = 0;
	char *pem, *msg, *spec = NULL;
	size_t pem_len, msg_len;
	struct dkim_key *key;
	struct buf out;
	struct timespec t0, t1;
	double secs;

	while ((c = getopt(argc, argv, "Ht:l:n:")) != -1) {
		switch (c) {
		case 'H':
			header_only = 1;
			break;
		case 't':
			t = strtoll(optarg, NULL, 10);
			break;
		case 'l':
			spec = xstrdup(optarg);
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 4 || count < 1)
		usage();
	if (spec != NULL) {
		size_t n = 0;

		for (char *tok = strtok(spec, ":"); tok && n < MAX_NAMES;
		     tok = strtok(NULL, ":"))
			names[n++] = tok;
		names[n] = NULL;
		list = names;
	}
	pem = read_file(argv[optind], &pem_len);
	msg = read_file(argv[optind + 3], &msg_len);
	if ((key = dkim_key_new(pem, pem_len, &why)) == NULL) {
		fprintf(stderr, "dkim_sign_file: %s: %s\n", argv[optind], why);
		return 1;
	}
	buf_init(&out);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++) {
		out.len = 0;
		if (dkim_sign(key, argv[optind + 1], argv[optind + 2], list, t,
			msg, msg_len, &out, &why) == -1) {
			fprintf(stderr, "dkim_sign_file: %s\n", why);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (count > 1) {
		secs = (double)(t1.tv_sec - t0.tv_sec) +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		fprintf(stderr,
		    "%ld signatures, %d-bit key, %zu-byte message: %.3f s, "
		    "%.0f signs/s, %.1f us/sign\n",
		    count, dkim_key_bits(key), msg_len, secs,
		    (double)count / secs, secs * 1e6 / (double)count);
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    (!header_only && fwrite(msg, 1, msg_len, stdout) != msg_len) ||
	    fflush(stdout) != 0) {
		fprintf(
		    stderr, "dkim_sign_file: stdout: %s\n", strerror(errno));
		return 1;
	}
	buf_reset(&out);
	dkim_key_free(key);
	free(pem);
	free(msg);
	free(spec);
	return 0;
}
