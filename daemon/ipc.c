/*
 * ipc.c: the frame format between the parent and the SMTP workers: a
 * builder that appends typed fields to a buffer, an incremental parser
 * the parent can feed from libevent, and a reader that takes fields back
 * out with bounds checks. The pure part does no I/O; two small blocking
 * fd helpers for the worker sit apart at the end. pool.c and worker.c
 * define what each message type carries; this file only moves bytes.
 */
#include "ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define OFF_VERSION 0
#define OFF_TYPE    2
#define OFF_LENGTH  4
#define OFF_SEQ     8
#define OFF_FLAGS   16
#define READ_CHUNK  16384

static void put_le(unsigned char *, uint64_t, int);
static uint64_t get_le(const unsigned char *, int);
static void out_add(struct ipc_out *, const void *, size_t);
static int reader_take(struct ipc_reader *, size_t, const unsigned char **);

static const char *const type_names[IPC_TYPE_END] = {
    [IPC_WORKER_HELLO] = "IPC_WORKER_HELLO",
    [IPC_POOL_JOB] = "IPC_POOL_JOB",
    [IPC_WORKER_RESULT] = "IPC_WORKER_RESULT",
    [IPC_POOL_SHUTDOWN] = "IPC_POOL_SHUTDOWN",
};

const char *
ipc_type_to_text(unsigned type)
{
	if (type >= IPC_TYPE_END || type_names[type] == NULL)
		return "IPC_?";
	return type_names[type];
}

/* n bytes of v, least significant first. */
static void
put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* --- building --- */

void
ipc_out_init(struct ipc_out *o)
{
	buf_init(&o->buf);
	o->start = 0;
	o->open = 0;
	o->over = 0;
	o->limit = IPC_PAYLOAD_MAX;
}

void
ipc_out_set_limit(struct ipc_out *o, size_t limit)
{
	o->limit = limit < IPC_BIG_MAX ? limit : IPC_BIG_MAX;
}

void
ipc_out_reset(struct ipc_out *o)
{
	buf_reset(&o->buf);
	ipc_out_init(o);
}

void
ipc_out_clear(struct ipc_out *o)
{
	if (o->open)
		fatalx("ipc_out_clear: a frame is open");
	o->buf.len = 0;
	if (o->buf.data != NULL)
		o->buf.data[0] = '\0';
}

void
ipc_begin(struct ipc_out *o, enum ipc_type type, uint64_t seq)
{
	unsigned char h[IPC_HDR_LEN];

	if (o->open)
		fatalx("ipc_begin(%s): a frame is already open",
		    ipc_type_to_text(type));
	if ((unsigned)type == 0 || (unsigned)type >= IPC_TYPE_END)
		fatalx("ipc_begin: unknown type %d", (int)type);
	put_le(h + OFF_VERSION, IPC_VERSION, 2);
	put_le(h + OFF_TYPE, (uint64_t)type, 2);
	put_le(h + OFF_LENGTH, 0, 4); /* ipc_end() fills it in */
	put_le(h + OFF_SEQ, seq, 8);
	put_le(h + OFF_FLAGS, 0, 4);
	o->start = o->buf.len;
	o->open = 1;
	o->over = 0;
	buf_add(&o->buf, h, sizeof(h));
}

void
ipc_set_flags(struct ipc_out *o, uint32_t flags)
{
	unsigned char *h = (unsigned char *)o->buf.data + o->start;

	if (!o->open || (flags & ~IPC_F_ALL) != 0)
		fatalx("ipc_set_flags(0x%x): no frame open or unknown flag",
		    flags);
	put_le(h + OFF_FLAGS, get_le(h + OFF_FLAGS, 4) | flags, 4);
}

/* Appends to the open frame unless that takes it past the cap. */
static void
out_add(struct ipc_out *o, const void *p, size_t n)
{
	size_t used;

	if (!o->open)
		fatalx("ipc_add: no frame open");
	used = o->buf.len - o->start - IPC_HDR_LEN;
	if (o->over || n > o->limit - used) {
		o->over = 1;
		return;
	}
	buf_add(&o->buf, p, n);
}

void
ipc_add_u32(struct ipc_out *o, uint32_t v)
{
	unsigned char b[4];

	put_le(b, v, 4);
	out_add(o, b, sizeof(b));
}

void
ipc_add_u64(struct ipc_out *o, uint64_t v)
{
	unsigned char b[8];

	put_le(b, v, 8);
	out_add(o, b, sizeof(b));
}

void
ipc_add_str(struct ipc_out *o, const char *s)
{
	size_t n;

	if (!o->open || s == NULL)
		fatalx("ipc_add_str: no frame open or NULL string");
	n = strlen(s) + 1;
	if (n > o->limit) {
		o->over = 1;
		return;
	}
	ipc_add_u32(o, (uint32_t)n);
	out_add(o, s, n);
}

void
ipc_add_bytes(struct ipc_out *o, const void *p, size_t n)
{
	if (!o->open)
		fatalx("ipc_add_bytes: no frame open");
	if (n > o->limit) {
		o->over = 1;
		return;
	}
	ipc_add_u32(o, (uint32_t)n);
	out_add(o, p, n);
}

int
ipc_end(struct ipc_out *o)
{
	size_t len;

	if (!o->open)
		fatalx("ipc_end: no frame open");
	o->open = 0;
	if (o->over) {
		o->over = 0;
		o->buf.len = o->start;
		o->buf.data[o->start] = '\0';
		return -1;
	}
	len = o->buf.len - o->start - IPC_HDR_LEN;
	put_le((unsigned char *)o->buf.data + o->start + OFF_LENGTH, len, 4);
	return 0;
}

int
ipc_to_memfd(struct ipc_out *o, int *fd)
{
	const unsigned char *h = (const unsigned char *)o->buf.data;
	size_t len, off = 0;
	enum ipc_type type;
	uint64_t seq;
	int mfd;

	if (o->open || o->start != 0 || o->buf.len < IPC_HDR_LEN)
		fatalx("ipc_to_memfd: not one finished frame");
	len = o->buf.len - IPC_HDR_LEN;
	type = (enum ipc_type)get_le(h + OFF_TYPE, 2);
	seq = get_le(h + OFF_SEQ, 8);
	if ((mfd = memfd_create("sesd-ipc", MFD_CLOEXEC)) < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(mfd, h + IPC_HDR_LEN + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(mfd);
			errno = e;
			return -1;
		}
		off += (size_t)w;
	}
	ipc_out_clear(o);
	ipc_begin(o, type, seq);
	ipc_set_flags(o, IPC_F_FD);
	ipc_add_u64(o, (uint64_t)len);
	if (ipc_end(o) < 0)
		fatalx("ipc_to_memfd: the small frame is over the cap");
	*fd = mfd;
	return 0;
}

int
ipc_send_fd(int sock, const void *frame, size_t n, int fd)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = {(void *)(uintptr_t)frame, n};
	struct msghdr msg = {0};
	struct cmsghdr *c;
	ssize_t w;

	memset(&cm, 0, sizeof(cm));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.space;
	msg.msg_controllen = sizeof(cm.space);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while ((w = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (w < 0)
		return -1;
	/* the descriptor went with the first byte; the rest as plain bytes */
	return ipc_write_all(sock, (const char *)frame + w, n - (size_t)w);
}

/* --- parsing and reading --- */

int
ipc_frame_parse(const void *buf, size_t len, struct ipc_frame *f)
{
	const unsigned char *p = buf;
	uint64_t type, length, flags;

	memset(f, 0, sizeof(*f));
	/* each field as soon as it is complete: garbage fails early */
	if (len >= OFF_VERSION + 2 && get_le(p + OFF_VERSION, 2) != IPC_VERSION)
		return -1;
	type = len >= OFF_TYPE + 2 ? get_le(p + OFF_TYPE, 2) : 0;
	if (len >= OFF_TYPE + 2 && (type == 0 || type >= IPC_TYPE_END))
		return -1;
	length = len >= OFF_LENGTH + 4 ? get_le(p + OFF_LENGTH, 4) : 0;
	if (length > IPC_PAYLOAD_MAX)
		return -1;
	flags = len >= OFF_FLAGS + 4 ? get_le(p + OFF_FLAGS, 4) : 0;
	if ((flags & ~(uint64_t)IPC_F_ALL) != 0)
		return -1;
	if (len < IPC_HDR_LEN || len - IPC_HDR_LEN < length)
		return IPC_AGAIN;
	f->type = (enum ipc_type)type;
	f->flags = (uint32_t)flags;
	f->seq = get_le(p + OFF_SEQ, 8);
	f->payload = p + IPC_HDR_LEN;
	f->len = (size_t)length;
	f->size = IPC_HDR_LEN + (size_t)length;
	return 0;
}

void
ipc_read_begin(struct ipc_reader *rd, const struct ipc_frame *f)
{
	rd->p = f->payload;
	rd->left = f->len;
	rd->failed = 0;
}

/* Takes n bytes from rd; a short read fails rd for good. */
static int
reader_take(struct ipc_reader *rd, size_t n, const unsigned char **p)
{
	if (rd->failed || n > rd->left) {
		rd->failed = 1;
		*p = NULL;
		return -1;
	}
	*p = rd->p;
	rd->p += n;
	rd->left -= n;
	return 0;
}

int
ipc_get_u32(struct ipc_reader *rd, uint32_t *v)
{
	const unsigned char *p;

	*v = 0;
	if (reader_take(rd, 4, &p) == -1)
		return -1;
	*v = (uint32_t)get_le(p, 4);
	return 0;
}

int
ipc_get_u64(struct ipc_reader *rd, uint64_t *v)
{
	const unsigned char *p;

	*v = 0;
	if (reader_take(rd, 8, &p) == -1)
		return -1;
	*v = get_le(p, 8);
	return 0;
}

int
ipc_get_str(struct ipc_reader *rd, const char **s)
{
	const unsigned char *p;
	uint32_t n;

	*s = NULL;
	if (ipc_get_u32(rd, &n) == -1 || n == 0 || reader_take(rd, n, &p) == -1)
		goto bad;
	if (p[n - 1] != '\0' || memchr(p, '\0', n - 1) != NULL)
		goto bad;
	*s = (const char *)p;
	return 0;
bad:
	rd->failed = 1;
	return -1;
}

int
ipc_get_bytes(struct ipc_reader *rd, const void **p, size_t *n)
{
	const unsigned char *q;
	uint32_t len;

	*p = NULL;
	*n = 0;
	if (ipc_get_u32(rd, &len) == -1 || reader_take(rd, len, &q) == -1)
		return -1;
	*p = len ? q : NULL;
	*n = len;
	return 0;
}

int
ipc_read_end(struct ipc_reader *rd)
{
	return rd->failed || rd->left != 0 ? -1 : 0;
}

/*
 * --- blocking fd helpers ---
 * The only I/O in this file: the worker's side of its socketpair, where a
 * blocking read is right (it does one job at a time, and libesmtp blocks
 * anyway). The parent never calls these.
 */

void
ipc_in_init(struct ipc_in *in)
{
	buf_init(&in->buf);
	in->used = 0;
	in->fd = -1;
	in->map = NULL;
	in->maplen = 0;
}

/* Drops what the frame returned last still holds: its mapping. */
static void
in_unmap(struct ipc_in *in)
{
	if (in->map != NULL)
		munmap(in->map, in->maplen);
	in->map = NULL;
	in->maplen = 0;
}

void
ipc_in_reset(struct ipc_in *in)
{
	buf_reset(&in->buf);
	in_unmap(in);
	if (in->fd >= 0)
		close(in->fd);
	ipc_in_init(in);
}

/*
 * read() that also takes a descriptor passed with the bytes (SCM_RIGHTS)
 * into in->fd; a second one before the first was taken is a protocol
 * error (EPROTO), and so is a truncated control message.
 */
static ssize_t
read_fds(int fd, struct ipc_in *in, char *chunk, size_t n)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * 4)];
	} cm;
	struct iovec iov = {chunk, n};
	struct msghdr msg = {0};
	struct cmsghdr *c;
	ssize_t r;
	int bad = 0;

	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.space;
	msg.msg_controllen = sizeof(cm.space);
	if ((r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC)) < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfd;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int got;
			memcpy(
			    &got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (in->fd < 0)
				in->fd = got;
			else {
				close(got);
				bad = 1;
			}
		}
	}
	if (bad || (msg.msg_flags & MSG_CTRUNC) != 0) {
		errno = EPROTO;
		return -1;
	}
	return r;
}

int
ipc_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
ipc_read_frame(int fd, struct ipc_in *in, struct ipc_frame *f)
{
	char chunk[READ_CHUNK];
	int rc;

	in_unmap(in);
	if (in->used > 0) {
		memmove(in->buf.data, in->buf.data + in->used,
		    in->buf.len - in->used);
		in->buf.len -= in->used;
		in->buf.data[in->buf.len] = '\0';
		in->used = 0;
	}
	while (
	    (rc = ipc_frame_parse(in->buf.data, in->buf.len, f)) == IPC_AGAIN) {
		ssize_t r = read_fds(fd, in, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			if (in->buf.len == 0)
				return IPC_CLOSED;
			errno = ECONNRESET;
			return -1;
		}
		buf_add(&in->buf, chunk, (size_t)r);
	}
	if (rc == -1) {
		errno = EPROTO;
		return -1;
	}
	in->used = f->size;
	return 0;
}

int
ipc_frame_map(
    struct ipc_in *in, const struct ipc_frame *f, struct ipc_frame *big)
{
	struct ipc_reader rd;
	struct stat st;
	uint64_t len;
	void *map;

	ipc_read_begin(&rd, f);
	if ((f->flags & IPC_F_FD) == 0 || in->fd < 0 ||
	    ipc_get_u64(&rd, &len) < 0 || ipc_read_end(&rd) < 0 || len == 0 ||
	    len > IPC_BIG_MAX) {
		errno = EPROTO;
		return -1;
	}
	if (fstat(in->fd, &st) < 0 || (uint64_t)st.st_size != len) {
		errno = EPROTO;
		return -1;
	}
	map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, in->fd, 0);
	close(in->fd);
	in->fd = -1;
	if (map == MAP_FAILED)
		return -1;
	in_unmap(in);
	in->map = map;
	in->maplen = (size_t)len;
	{
		/* big may be f itself */
		struct ipc_frame b = {
		    f->type, 0, f->seq, map, (size_t)len, f->size};
		*big = b;
	}
	return 0;
}
