/*
 * nodelay.h: the process's own connect(), which interposes libc's for the
 * sockets libesmtp opens (RECIPES.md section 5, pitfall 1). libesmtp never
 * sets TCP_NODELAY, so with messages over 2 KB every message waits ~40 ms
 * for the relay's delayed ACK (23 msgs/s per connection), and its connect()
 * has no timeout. While armed, the wrapper sets TCP_NODELAY on each TCP
 * socket it connects and bounds a blocking connect() by a timeout; unarmed
 * (libpq, libevent and everything else in the process) it only calls the
 * real connect(). relay.c arms it around smtp_start_session().
 *
 * Linking: connect() must be defined in the executable (a definition there
 * comes first in the global lookup scope, ahead of libc, for the calls made
 * from libesmtp.so). relay.c calls nodelay_arm(), so any program that links
 * relay.o from a static library pulls nodelay.o in with it.
 *
 * All state is per thread; a session runs in one thread.
 */
#ifndef SESD_NODELAY_H
#define SESD_NODELAY_H

#include <sys/socket.h>

/*
 * From now on, in this thread: TCP connects get TCP_NODELAY, and a
 * blocking connect() gives up after timeout_ms with ETIMEDOUT (<= 0: no
 * timeout of ours, the kernel's applies). Resets nodelay_fd() and
 * nodelay_errno().
 */
void nodelay_arm(int timeout_ms);
/* Back to a plain pass-through for this thread. */
void nodelay_disarm(void);

/* The fd of the last TCP socket connected while armed, or -1. */
int nodelay_fd(void);
/* errno of the last failed TCP connect while armed, or 0. */
int nodelay_errno(void);

/* Counters since the thread started, for tests and the report. */
struct nodelay_stats {
	unsigned long connects; /* TCP connects attempted while armed */
	unsigned long
	    nodelay; /* connected sockets that read back TCP_NODELAY=1 */
};
void nodelay_stats_get(struct nodelay_stats *out);

/* nodelay.c also defines connect() itself, declared by <sys/socket.h>;
 * same contract as connect(2). */

#endif
