/*
 * nodelay.c: connect() for the whole process, calling libc's through
 * dlsym(RTLD_NEXT). Armed by relay.c for the length of one SMTP session:
 * then TCP sockets get TCP_NODELAY and a blocking connect() becomes a
 * non-blocking one plus poll() bounded by the armed timeout, after which
 * the socket is put back in blocking mode for libesmtp. Unarmed it adds
 * nothing. It must not log or allocate: it runs inside libraries' calls.
 */
#include "nodelay.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static void real_connect_init(void);
static int is_tcp(int fd, const struct sockaddr *sa);
static int64_t mono_ms(void);
static int wait_connected(int fd, int timeout_ms);

static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static connect_fn real_connect;

static _Thread_local struct {
	bool armed;
	int timeout_ms;
	int fd;
	int err;
	struct nodelay_stats stats;
} nd = {.fd = -1};

static void
real_connect_init(void)
{
	/* POSIX guarantees a dlsym() result converts to a function pointer */
	real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
}

static int
is_tcp(int fd, const struct sockaddr *sa)
{
	int type = 0;
	socklen_t len = sizeof(type);

	if (sa == NULL ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return 0;
	return type == SOCK_STREAM;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After a non-blocking connect() said EINPROGRESS: 0 once connected,
 * -1 with errno (ETIMEDOUT when timeout_ms passed first). */
static int
wait_connected(int fd, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int n, soerr = 0;
	socklen_t len = sizeof(soerr);

	for (;;) {
		int64_t left = deadline - mono_ms();

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -1;
	if (soerr != 0) {
		errno = soerr;
		return -1;
	}
	return 0;
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int one = 1, flags, rc, saved;
	socklen_t olen = sizeof(one);

	pthread_once(&real_once, real_connect_init);
	if (real_connect == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (!nd.armed || !is_tcp(fd, sa))
		return real_connect(fd, sa, len);

	nd.stats.connects++;
	/* before connecting is fine for TCP, and covers the SYN onwards */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	flags = fcntl(fd, F_GETFL);
	if (nd.timeout_ms <= 0 || flags < 0 || (flags & O_NONBLOCK)) {
		rc = real_connect(fd, sa, len);
	} else if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		rc = real_connect(fd, sa, len);
	} else {
		rc = real_connect(fd, sa, len);
		if (rc < 0 && errno == EINPROGRESS)
			rc = wait_connected(fd, nd.timeout_ms);
		saved = errno;
		(void)fcntl(fd, F_SETFL, flags);
		errno = saved;
	}
	if (rc < 0) {
		nd.err = errno;
		return rc;
	}
	nd.fd = fd;
	one = 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &olen) == 0 && one)
		nd.stats.nodelay++;
	return 0;
}

void
nodelay_arm(int timeout_ms)
{
	nd.armed = true;
	nd.timeout_ms = timeout_ms;
	nd.fd = -1;
	nd.err = 0;
}

void
nodelay_disarm(void)
{
	nd.armed = false;
}

int
nodelay_fd(void)
{
	return nd.fd;
}

int
nodelay_errno(void)
{
	return nd.err;
}

void
nodelay_stats_get(struct nodelay_stats *out)
{
	*out = nd.stats;
}
