/*
 * bgwork.h: runs one blocking function (RSA key generation, a DNS lookup)
 * on its own thread and calls back on the event loop when it is done, so
 * the loop never waits. The hand-back is a pipe watched by a one-shot
 * event: the thread writes one byte as its very last act, the loop joins
 * it and calls done. The work function must touch nothing but its arg
 * (never an api_req, never the loop); done runs on the loop thread.
 * Leaf module: libevent and pthreads only.
 */
#ifndef SESD_BGWORK_H
#define SESD_BGWORK_H

#include "log.h"

struct event_base;

typedef void bgwork_fn(void *arg);      /* on the worker thread */
typedef void bgwork_done_fn(void *arg); /* back on the loop */

/*
 * Starts work(arg) on a new thread; done(arg) follows on base's loop.
 * Returns 0, or -1 with errno set (no pipe, no thread): then neither
 * function is ever called and arg is still the caller's.
 */
int bgwork_start(struct event_base *base, bgwork_fn *work, bgwork_done_fn *done,
    void *arg) SESD_MUSTCHECK;

#endif
