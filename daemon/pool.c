/*
 * pool.c: forking, feeding and reaping the SMTP workers (pool.h).
 */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "delivery.h"
#include "ipc.h"
#include "log.h"
#include "util.h"
#include "worker.h"

struct wslot {
	struct pool *p;
	int slot;
	pid_t pid; /* 0: none */
	struct bufferevent *bev;
	uint64_t started_ms;
	int busy;
	int dying;     /* reaped: no new batch */
	uint64_t *ids; /* the batch in flight */
	size_t n, nres;
	struct event *ev_respawn;
};

struct pool {
	struct event_base *base;
	const struct config *cfg;
	pool_result_fn *result;
	pool_done_fn *done;
	void *arg;
	struct wslot *w;
	int n;
	int stopping;
	struct event *ev_chld;
};

static void spawn(struct wslot *);
static void read_cb(struct bufferevent *, void *);
static void event_cb(struct bufferevent *, short, void *);
static void chld_cb(evutil_socket_t, short, void *);
static void respawn_cb(evutil_socket_t, short, void *);
static void parse_frames(struct wslot *);
static void send_shutdown(struct wslot *);

struct pool *
pool_new(struct event_base *base, const struct config *cfg,
    pool_result_fn *result, pool_done_fn *done, void *arg)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->base = base;
	p->cfg = cfg;
	p->result = result;
	p->done = done;
	p->arg = arg;
	p->n = cfg->smtp_workers;
	p->w = xcalloc((size_t)p->n, sizeof(*p->w));
	for (int i = 0; i < p->n; i++) {
		p->w[i].p = p;
		p->w[i].slot = i + 1;
		p->w[i].ev_respawn = evtimer_new(base, respawn_cb, &p->w[i]);
	}
	p->ev_chld = evsignal_new(base, SIGCHLD, chld_cb, p);
	return p;
}

void
pool_start(struct pool *p)
{
	event_add(p->ev_chld, NULL);
	for (int i = 0; i < p->n; i++)
		spawn(&p->w[i]);
	log_info("pool: %d smtp workers", p->n);
}

void
pool_set_config(struct pool *p, const struct config *cfg)
{
	p->cfg = cfg;
}

int
pool_size(const struct pool *p)
{
	return p->n;
}

int
pool_idle(const struct pool *p, int slot)
{
	const struct wslot *w = &p->w[slot];
	return w->pid != 0 && w->bev != NULL && !w->busy && !w->dying;
}

int
pool_busy(const struct pool *p)
{
	int b = 0;
	for (int i = 0; i < p->n; i++)
		b += p->w[i].busy != 0;
	return b;
}

static void
spawn(struct wslot *w)
{
	struct pool *p = w->p;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	if ((pid = fork()) < 0)
		fatal("fork");
	if (pid == 0) {
		close(sv[0]);
		if (sv[1] != 3) {
			if (dup2(sv[1], 3) < 0)
				_exit(1);
			close(sv[1]);
		}
		close_range(4, ~0U, 0);
		worker_main(3, w->slot, p->cfg);
	}
	close(sv[1]);
	evutil_make_socket_nonblocking(sv[0]);
	w->pid = pid;
	w->started_ms = now_ms();
	w->busy = 0;
	w->dying = 0;
	w->bev = bufferevent_socket_new(p->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(w->bev, read_cb, NULL, event_cb, w);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	log_debug("pool: smtp %d is pid %d", w->slot, (int)pid);
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wslot *w = arg;

	(void)fd;
	(void)what;
	if (!w->p->stopping && w->pid == 0)
		spawn(w);
}

int
pool_submit(struct pool *p, int slot, const void *frame, size_t len, int fd,
    const uint64_t *ids, size_t n)
{
	struct wslot *w = &p->w[slot];

	SESD_ASSERT(pool_idle(p, slot));
	if (fd >= 0) {
		/*
		 * The descriptor goes with the frame's first byte, so nothing
		 * may wait before it: an idle worker has read its last job
		 * whole, so the output buffer is empty; the frame is a few
		 * bytes, on a socket the worker is reading.
		 */
		if (evbuffer_get_length(bufferevent_get_output(w->bev)) != 0) {
			errno = EBUSY;
			return -1;
		}
		if (ipc_send_fd(bufferevent_getfd(w->bev), frame, len, fd) < 0)
			return -1;
	}
	free(w->ids);
	w->ids = xcalloc(n ? n : 1, sizeof(*w->ids));
	memcpy(w->ids, ids, n * sizeof(*ids));
	w->n = n;
	w->nres = 0;
	w->busy = 1;
	if (fd < 0)
		bufferevent_write(w->bev, frame, len);
	return 0;
}

static void
batch_over(struct wslot *w)
{
	w->busy = 0;
	w->n = w->nres = 0;
	w->p->done(w->p->arg, w->slot - 1);
	if (w->p->stopping)
		send_shutdown(w);
}

static void
handle_frame(struct wslot *w, const struct ipc_frame *f)
{
	struct ipc_reader rd;
	struct pool_result r;
	uint32_t ver, slot, pid;

	ipc_read_begin(&rd, f);
	if (f->type == IPC_WORKER_HELLO) {
		if (ipc_get_u32(&rd, &ver) < 0 || ipc_get_u32(&rd, &slot) < 0 ||
		    ipc_get_u32(&rd, &pid) < 0 || ipc_read_end(&rd) < 0 ||
		    ver != IPC_VERSION)
			fatalx(
			    "pool: bad IPC_WORKER_HELLO from smtp %d", w->slot);
		return;
	}
	if (f->type != IPC_WORKER_RESULT)
		fatalx("pool: unexpected %s from smtp %d",
		    ipc_type_to_text(f->type), w->slot);
	memset(&r, 0, sizeof(r));
	if (ipc_get_u64(&rd, &r.id) < 0 || ipc_get_u32(&rd, &r.outcome) < 0 ||
	    ipc_get_u32(&rd, &r.stage) < 0 || ipc_get_u32(&rd, &r.code) < 0 ||
	    ipc_get_str(&rd, &r.enh) < 0 || ipc_get_str(&rd, &r.text) < 0 ||
	    ipc_read_end(&rd) < 0)
		fatalx("pool: malformed IPC_WORKER_RESULT seq %llu",
		    (unsigned long long)f->seq);
	if (!w->busy || w->nres >= w->n || w->ids[w->nres] != r.id)
		fatalx("pool: smtp %d: result for %llu out of order", w->slot,
		    (unsigned long long)r.id);
	r.idx = w->nres++;
	w->p->result(w->p->arg, w->slot - 1, &r);
	if (w->nres == w->n)
		batch_over(w);
}

static void
parse_frames(struct wslot *w)
{
	struct evbuffer *in = bufferevent_get_input(w->bev);
	struct ipc_frame f;
	size_t len;
	int rc;

	while ((len = evbuffer_get_length(in)) > 0) {
		size_t want = len < IPC_FRAME_MAX ? len : IPC_FRAME_MAX;
		unsigned char *data = evbuffer_pullup(in, (ev_ssize_t)want);
		rc = ipc_frame_parse(data, want, &f);
		if (rc == IPC_AGAIN)
			return;
		if (rc < 0)
			fatalx("pool: invalid frame from smtp %d", w->slot);
		handle_frame(w, &f);
		if (w->bev == NULL)
			return;
		evbuffer_drain(in, f.size);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	parse_frames(arg);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct wslot *w = arg;

	(void)what;
	/* EOF or error: the worker is going; SIGCHLD finishes the job */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	log_debug("pool: smtp %d closed its socket", w->slot);
}

static void
worker_gone(struct wslot *w, int status)
{
	struct pool *p = w->p;
	char why[80];

	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "worker exited on signal %d",
		    WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "worker exited with status %d",
		    WEXITSTATUS(status));
	w->dying = 1;
	if (w->bev != NULL) {
		/* what the worker wrote before it died still counts */
		struct evbuffer *in = bufferevent_get_input(w->bev);
		evutil_socket_t fd = bufferevent_getfd(w->bev);
		while (evbuffer_read(in, fd, -1) > 0)
			;
		parse_frames(w);
		bufferevent_free(w->bev);
		w->bev = NULL;
	}
	if (w->busy) {
		log_warn("pool: smtp %d (pid %d) %s with %zu of %zu results "
			 "missing",
		    w->slot, (int)w->pid, why, w->n - w->nres, w->n);
		while (w->nres < w->n) {
			struct pool_result r = {0};
			r.idx = w->nres;
			r.id = w->ids[w->nres++];
			r.outcome = DELIVERY_OUT_TEMPFAIL;
			r.enh = "";
			r.text = why;
			p->result(p->arg, w->slot - 1, &r);
		}
		w->busy = 0;
		w->n = w->nres = 0;
		p->done(p->arg, w->slot - 1);
	} else if (!p->stopping) {
		log_warn(
		    "pool: smtp %d (pid %d) %s", w->slot, (int)w->pid, why);
	}
	w->pid = 0;
	if (!p->stopping) {
		/* a worker that dies at once is not forked again in a loop */
		struct timeval tv = {1, 0};
		if (now_ms() - w->started_ms >= 1000)
			tv.tv_sec = 0;
		evtimer_add(w->ev_respawn, &tv);
	}
}

static void
chld_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	pid_t pid;
	int status;

	(void)fd;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < p->n; i++) {
			if (p->w[i].pid == pid) {
				worker_gone(&p->w[i], status);
				break;
			}
		}
	}
}

static void
send_shutdown(struct wslot *w)
{
	struct ipc_out o;

	if (w->bev == NULL)
		return;
	ipc_out_init(&o);
	ipc_begin(&o, IPC_POOL_SHUTDOWN, 0);
	if (ipc_end(&o) == 0)
		bufferevent_write(w->bev, o.buf.data, o.buf.len);
	ipc_out_reset(&o);
}

void
pool_stop(struct pool *p)
{
	p->stopping = 1;
	for (int i = 0; i < p->n; i++)
		if (!p->w[i].busy)
			send_shutdown(&p->w[i]);
}

void
pool_free(struct pool *p)
{
	uint64_t until = now_ms() + 2000;
	int left;

	if (p == NULL)
		return;
	p->stopping = 1;
	for (int i = 0; i < p->n; i++) {
		if (p->w[i].bev != NULL) {
			/*
			 * libevent 2.1 closes a freed bufferevent's fd in a
			 * finalizer that runs on the loop, and the loop has
			 * ended: shut the socket down here, so the worker
			 * reads EOF now and exits (it waited 2 s for the
			 * SIGKILL below on every stop).
			 */
			shutdown(bufferevent_getfd(p->w[i].bev), SHUT_RDWR);
			bufferevent_free(p->w[i].bev);
			p->w[i].bev = NULL;
		}
	}
	do {
		left = 0;
		for (int i = 0; i < p->n; i++) {
			int status;
			if (p->w[i].pid == 0)
				continue;
			if (waitpid(p->w[i].pid, &status, WNOHANG) != 0)
				p->w[i].pid = 0;
			else
				left++;
		}
		if (left > 0)
			usleep(20 * 1000);
	} while (left > 0 && now_ms() < until);
	for (int i = 0; i < p->n; i++) {
		if (p->w[i].pid != 0) {
			log_warn("pool: smtp %d did not exit: killing it",
			    p->w[i].slot);
			kill(p->w[i].pid, SIGKILL);
			waitpid(p->w[i].pid, NULL, 0);
		}
		free(p->w[i].ids);
		event_free(p->w[i].ev_respawn);
	}
	event_free(p->ev_chld);
	free(p->w);
	free(p);
}
