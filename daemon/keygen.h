/*
 * keygen.h: DKIM key pairs. keygen_rsa() makes an RSA key with OpenSSL 3
 * and returns it in the forms email_identities stores: the private key as
 * PKCS#8 PEM, the public key as base64 of its DER SubjectPublicKeyInfo
 * (exactly the p= value of a DKIM record). RSA-2048 takes 100 ms or more,
 * so the daemon calls keygen_start(), which runs it on a thread (bgwork.c)
 * and answers on the loop. Leaf module.
 */
#ifndef SESD_KEYGEN_H
#define SESD_KEYGEN_H

#include <stddef.h>

#include "log.h"

struct event_base;

struct keygen_key {
	int bits;
	char *pem;     /* "-----BEGIN PRIVATE KEY-----\n..." */
	char *pub_b64; /* base64 DER SubjectPublicKeyInfo */
};

/* Synchronous. Fills key (the caller resets it), or returns -1 with an
 * OpenSSL reason in err. bits: 1024..4096. */
int keygen_rsa(
    int bits, struct keygen_key *key, char *err, size_t errlen) SESD_MUSTCHECK;
/* Frees the strings; the struct itself is the caller's. */
void keygen_key_reset(struct keygen_key *key);

/*
 * done(key, err, arg) on the loop: key NULL on failure with the reason in
 * err; key is borrowed for the call (steal the strings by setting them to
 * NULL). Returns 0, or -1 if no thread could be started (done never runs).
 */
typedef void keygen_done_fn(struct keygen_key *key, const char *err, void *arg);
int keygen_start(struct event_base *base, int bits, keygen_done_fn *done,
    void *arg) SESD_MUSTCHECK;

#endif
