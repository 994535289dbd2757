/*
 * keygen.c: RSA key pairs for DKIM with OpenSSL 3's EVP_PKEY_Q_keygen.
 */
#include "keygen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bgwork.h"
#include "util.h"

/* One keygen_start() call, owned by the thread until done runs. */
struct keygen_job {
	int bits;
	int rc;
	struct keygen_key key;
	char err[256];
	keygen_done_fn *done;
	void *arg;
};

static void ssl_err(char *, size_t, const char *);
static void keygen_work(void *);
static void keygen_done(void *);

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "no OpenSSL error");
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

int
keygen_rsa(int bits, struct keygen_key *key, char *err, size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *pem;
	long pem_len;
	int der_len, rc = -1;
	struct buf b64;

	memset(key, 0, sizeof(*key));
	if (bits < 1024 || bits > 4096) {
		snprintf(
		    err, errlen, "RSA key size %d is out of 1024..4096", bits);
		return -1;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)) ==
	    NULL) {
		ssl_err(err, errlen, "RSA key generation");
		goto out;
	}
	/* OpenSSL 3 writes PKCS#8 ("BEGIN PRIVATE KEY") here */
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) !=
		1) {
		ssl_err(err, errlen, "PEM encoding");
		goto out;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	if ((der_len = i2d_PUBKEY(pkey, &der)) <= 0) {
		ssl_err(err, errlen, "public key encoding");
		goto out;
	}
	key->bits = bits;
	key->pem = xstrndup(pem, (size_t)pem_len);
	buf_init(&b64);
	base64_encode(&b64, der, (size_t)der_len);
	key->pub_b64 = xstrdup(b64.data ? b64.data : "");
	buf_reset(&b64);
	rc = 0;
out:
	OPENSSL_free(der);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

void
keygen_key_reset(struct keygen_key *key)
{
	if (key == NULL)
		return;
	free(key->pem);
	free(key->pub_b64);
	key->pem = NULL;
	key->pub_b64 = NULL;
}

static void
keygen_work(void *p)
{
	struct keygen_job *j = p;

	j->rc = keygen_rsa(j->bits, &j->key, j->err, sizeof(j->err));
}

static void
keygen_done(void *p)
{
	struct keygen_job *j = p;

	j->done(j->rc == 0 ? &j->key : NULL, j->err, j->arg);
	keygen_key_reset(&j->key);
	free(j);
}

int
keygen_start(struct event_base *base, int bits, keygen_done_fn *done, void *arg)
{
	struct keygen_job *j = xcalloc(1, sizeof(*j));

	j->bits = bits;
	j->done = done;
	j->arg = arg;
	if (bgwork_start(base, keygen_work, keygen_done, j) == -1) {
		free(j);
		return -1;
	}
	return 0;
}
