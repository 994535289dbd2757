/*
 * bgwork.c: one thread per job, a pipe back to the loop. Jobs are rare
 * (identity creation and DNS checks, throttled by the API rate limit),
 * so a thread each is simpler than a queue and as cheap.
 */
#include "bgwork.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "util.h"

struct bgwork {
	pthread_t tid;
	int fds[2]; /* [0] read end on the loop, [1] the thread's */
	struct event *ev;
	bgwork_fn *work;
	bgwork_done_fn *done;
	void *arg;
};

static void *bgwork_main(void *);
static void bgwork_cb(evutil_socket_t, short, void *);

static void *
bgwork_main(void *p)
{
	struct bgwork *w = p;
	int fd = w->fds[1];
	ssize_t n;

	w->work(w->arg);
	/* the last touch: after this byte the loop owns w again */
	do
		n = write(fd, "x", 1);
	while (n == -1 && errno == EINTR);
	if (n != 1)
		fatal("bgwork: cannot wake the loop");
	return NULL;
}

static void
bgwork_cb(evutil_socket_t fd, short what, void *p)
{
	struct bgwork *w = p;
	char c;
	int err;

	(void)what;
	if (read(fd, &c, 1) != 1)
		return; /* spurious; the event is persistent until the byte */
	if ((err = pthread_join(w->tid, NULL)) != 0)
		fatalx("bgwork: pthread_join: error %d", err);
	event_free(w->ev);
	close(w->fds[0]);
	close(w->fds[1]);
	w->done(w->arg);
	free(w);
}

int
bgwork_start(
    struct event_base *base, bgwork_fn *work, bgwork_done_fn *done, void *arg)
{
	struct bgwork *w = xcalloc(1, sizeof(*w));
	sigset_t all, old;
	int err;

	w->work = work;
	w->done = done;
	w->arg = arg;
	if (pipe2(w->fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		err = errno;
		free(w);
		errno = err;
		return -1;
	}
	w->ev = event_new(base, w->fds[0], EV_READ | EV_PERSIST, bgwork_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1)
		fatalx("bgwork: cannot add the wake-up event");
	/* signals belong to the loop thread (libevent's signal events) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->tid, NULL, bgwork_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		event_free(w->ev);
		close(w->fds[0]);
		close(w->fds[1]);
		free(w);
		errno = err;
		return -1;
	}
	return 0;
}
