/*
 * test_keygen.c: keygen.c and bgwork.c. The synchronous generator must
 * give a PKCS#8 PEM private key and a base64 DER SubjectPublicKeyInfo of
 * the asked size that belong together; the asynchronous one must answer
 * on the loop while the loop keeps running (a 1 ms timer ticks during an
 * RSA-2048 generation).
 */
#include "keygen.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util.h"

static void
check_key(const struct keygen_key *key, int bits)
{
	size_t len = strlen(key->pub_b64);
	unsigned char *der = malloc(len / 4 * 3 + 1);
	const unsigned char *p = der;
	long n = base64_decode(der, key->pub_b64, len);
	EVP_PKEY *pub, *priv;
	BIO *bio;

	assert_true(n > 0);
	assert_non_null(pub = d2i_PUBKEY(NULL, &p, n));
	assert_ptr_equal(p, der + n); /* nothing after the structure */
	assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
	assert_int_equal(EVP_PKEY_get_bits(pub), bits);
	assert_int_equal(
	    strncmp(key->pem, "-----BEGIN PRIVATE KEY-----\n", 28), 0);
	bio = BIO_new_mem_buf(key->pem, -1);
	assert_non_null(priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL));
	assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
	assert_int_equal(key->bits, bits);
	BIO_free(bio);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	free(der);
}

static void
test_sync_sizes(void **state)
{
	struct keygen_key k1, k2;
	char err[256];

	(void)state;
	assert_int_equal(keygen_rsa(1024, &k1, err, sizeof(err)), 0);
	check_key(&k1, 1024);
	assert_int_equal(keygen_rsa(2048, &k2, err, sizeof(err)), 0);
	check_key(&k2, 2048);
	assert_string_not_equal(k1.pub_b64, k2.pub_b64);
	keygen_key_reset(&k1);
	keygen_key_reset(&k2);
	keygen_key_reset(NULL);
}

static void
test_sync_bad_size(void **state)
{
	struct keygen_key k;
	char err[256] = "";

	(void)state;
	assert_int_equal(keygen_rsa(512, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "512"));
	assert_null(k.pem);
	assert_int_equal(keygen_rsa(8192, &k, err, sizeof(err)), -1);
}

struct async_ctx {
	struct event_base *base;
	int ticks;            /* timer callbacks so far */
	int ticks_at_done[2]; /* per job */
	int done;
	char pubs[2][1024];
};

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct async_ctx *c = arg;

	(void)fd;
	(void)what;
	c->ticks++;
}

static void
async_done(struct keygen_key *key, const char *err, void *arg)
{
	struct async_ctx *c = arg;

	assert_non_null(key);
	(void)err;
	check_key(key, key->bits);
	snprintf(c->pubs[c->done], sizeof(c->pubs[0]), "%.1000s", key->pub_b64);
	c->ticks_at_done[c->done++] = c->ticks;
	if (c->done == 2)
		event_base_loopbreak(c->base);
}

static void
test_async(void **state)
{
	struct async_ctx c = {0};
	struct timeval ms = {0, 1000};
	struct event *tick;

	(void)state;
	c.base = event_base_new();
	tick = event_new(c.base, -1, EV_PERSIST, tick_cb, &c);
	event_add(tick, &ms);
	assert_int_equal(keygen_start(c.base, 2048, async_done, &c), 0);
	assert_int_equal(keygen_start(c.base, 1024, async_done, &c), 0);
	assert_int_equal(c.done, 0); /* never called from inside start */
	event_base_dispatch(c.base);
	assert_int_equal(c.done, 2);
	/* the loop ran its timer while the 2048-bit key was being made */
	assert_true(c.ticks_at_done[1] > 0);
	assert_string_not_equal(c.pubs[0], c.pubs[1]);
	event_free(tick);
	event_base_free(c.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sync_sizes),
	    cmocka_unit_test(test_sync_bad_size),
	    cmocka_unit_test(test_async),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
