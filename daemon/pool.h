/*
 * pool.h: the parent's side of the SMTP workers (DESIGN.md section 1,
 * STYLE.md section 3). Forks [smtp] workers worker processes (worker.h),
 * each with a socketpair, reads their frames on the parent's libevent loop
 * (one bufferevent per worker, incremental ipc_frame_parse), reaps them on
 * SIGCHLD (evsignal) and forks a replacement. A worker that dies with a
 * batch in flight has every recipient it had not answered reported as a
 * TEMPFAIL result "worker exited on signal N" (or "... with status N"):
 * nothing is lost, nothing is marked sent.
 *
 * Forking: the first workers are forked by pool_start() before any thread
 * exists. A replacement is forked from the running parent, which may have
 * bgwork threads then; glibc makes malloc fork-safe, and the child only
 * runs worker_main() (never the parent's loop or its locks).
 */
#ifndef SESD_POOL_H
#define SESD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

struct event_base;
struct pool;

/* One recipient's result, borrowed for the callback. idx is its position
 * in the batch as submitted. */
struct pool_result {
	size_t idx;
	uint64_t id;
	uint32_t outcome; /* delivery.h enum delivery_out */
	uint32_t stage;   /* relay.h enum relay_stage */
	uint32_t code;
	const char *enh;
	const char *text;
};

typedef void pool_result_fn(void *arg, int slot, const struct pool_result *r);
/* The batch of slot is over: every recipient had its result. */
typedef void pool_done_fn(void *arg, int slot);

/* cfg is borrowed (pool_set_config replaces it); nothing forked yet. */
struct pool *pool_new(struct event_base *base, const struct config *cfg,
    pool_result_fn *result, pool_done_fn *done, void *arg);
/* Forks cfg->smtp_workers workers. */
void pool_start(struct pool *p);
void pool_set_config(struct pool *p, const struct config *cfg);
/* Number of slots. */
int pool_size(const struct pool *p);
/* 1 if slot has a live worker without a batch. */
int pool_idle(const struct pool *p, int slot);
/* Batches in flight. */
int pool_busy(const struct pool *p);
/*
 * Hands one IPC_POOL_JOB (frame: one whole frame, seq = the batch) with
 * recipients ids[0..n) to the idle worker of slot; the ids are copied.
 * fd >= 0: the frame is ipc_to_memfd()'s and fd its memfd, sent with it
 * (the caller still closes fd). Returns 0, or -1 when the frame with its
 * fd could not be sent (errno set; the worker is then not busy).
 */
int pool_submit(struct pool *p, int slot, const void *frame, size_t len, int fd,
    const uint64_t *ids, size_t n) SESD_MUSTCHECK;
/* Shutdown: no respawn; idle workers are told to exit, busy ones after
 * their batch. */
void pool_stop(struct pool *p);
/* Closes every socket, waits up to 2 s for the workers, SIGKILLs the rest. */
void pool_free(struct pool *p);

#endif
