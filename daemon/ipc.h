/*
 * ipc.h: framed messages between the parent and its SMTP workers
 * (STYLE.md section 3). A frame is a fixed 20-byte header and a payload
 * of at most IPC_PAYLOAD_MAX bytes. All integers are little-endian on the
 * wire, written and read byte by byte (never by copying structs):
 *
 *     offset  size  field
 *          0     2  version   IPC_VERSION
 *          2     2  type      enum ipc_type
 *          4     4  length    payload bytes, 0..IPC_PAYLOAD_MAX
 *          8     8  seq       job sequence the frame belongs to (0: none)
 *         16     4  flags     IPC_F_*; unknown bits make the frame invalid
 *         20     -  payload
 *
 * Payload fields, written by ipc_add_*() and read back in the same order
 * by ipc_get_*(): u32 and u64 little-endian; bytes as a u32 length then
 * the bytes; a string as a u32 length n >= 1 then n bytes whose last is
 * NUL and no other is, so a reader can hand out a pointer into the frame.
 *
 * A malformed frame between our own processes is a bug, not input: every
 * reader here returns -1 (IPC_AGAIN only means "not all there yet") and
 * the caller treats -1 as fatal (fatalx() with the frame's type and seq),
 * as OpenSMTPD's m_end() does.
 *
 * The builder and the parser are pure (no I/O, no globals). The two fd
 * helpers at the end are blocking, for the worker's side of the socketpair;
 * the parent feeds ipc_frame_parse() from its libevent buffers instead.
 */
#ifndef SESD_IPC_H
#define SESD_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "util.h"

/*
 * Any change to enum ipc_type, the header or a payload layout bumps
 * IPC_VERSION (OpenSMTPD keeps IMSG_VERSION beside enum imsg_type).
 * Each type's intended payload is sketched beside it; pool.c and
 * worker.c, which build and read them, settle the final layouts.
 */
/* 2: the job carries SendEmail's To/Cc lists and SmtpHeaders
 * 3: a job over IPC_PAYLOAD_MAX travels as a memfd (IPC_F_FD) */
#define IPC_VERSION 3

enum ipc_type {
	/* worker -> parent, first frame after fork, seq 0:
	 * u32 IPC_VERSION, u32 worker slot, u32 pid */
	IPC_WORKER_HELLO = 1,
	/* parent -> worker, seq = batch: one task run's batch (template,
	 * sender, then per recipient its delivery id, address and data) */
	IPC_POOL_JOB,
	/* worker -> parent, seq = batch: one recipient's outcome
	 * (delivery id, u32 SMTP code, class, reply text, Message-ID) */
	IPC_WORKER_RESULT,
	/* parent -> worker, seq 0, empty: finish the current batch, exit */
	IPC_POOL_SHUTDOWN,
	IPC_TYPE_END /* not a type: one past the last */
};

#define IPC_HDR_LEN     20
#define IPC_PAYLOAD_MAX (64 * 1024) /* larger content travels as a memfd */
#define IPC_FRAME_MAX   (IPC_HDR_LEN + IPC_PAYLOAD_MAX)
/* the most a frame built for a memfd may hold (ipc_out_set_limit) */
#define IPC_BIG_MAX (64 * 1024 * 1024)

/*
 * A memfd travels with this frame (SCM_RIGHTS) and holds its real payload,
 * the way OpenSMTPD hands message files between its processes: the frame's
 * own payload is just the u64 length of the memfd's. ipc_to_memfd() makes
 * such a frame, ipc_send_fd() sends it, ipc_frame_map() reads it back.
 */
#define IPC_F_FD  0x1u
#define IPC_F_ALL IPC_F_FD

/* Third outcomes (STYLE.md section 6), after nginx's NGX_AGAIN. */
#define IPC_AGAIN  (-2) /* ipc_frame_parse(): a frame is not complete yet */
#define IPC_CLOSED (-3) /* ipc_read_frame(): peer closed between frames */

/* "IPC_POOL_JOB" etc., "IPC_?" for anything else. Static storage. */
const char *ipc_type_to_text(unsigned type);

/* --- building frames --- */

/*
 * Finished frames accumulate in buf, back to back; the caller sends
 * buf.data[0..buf.len) and then calls ipc_out_clear(). One frame is open
 * at a time, between ipc_begin() and ipc_end().
 */
struct ipc_out {
	struct buf buf; /* finished frames; owned, see ipc_out_reset() */
	size_t start;   /* offset of the open frame's header */
	int open;       /* a frame is being built */
	int over;       /* the open frame went over limit */
	size_t limit;   /* payload cap, IPC_PAYLOAD_MAX unless raised */
};

void ipc_out_init(struct ipc_out *o);
/* Frees the storage; o may be re-initialised with ipc_out_init(). */
void ipc_out_reset(struct ipc_out *o);
/* Drops the finished frames, keeps the storage; no frame may be open. */
void ipc_out_clear(struct ipc_out *o);

/*
 * Raises (or restores) the payload cap of the frames built from now on, at
 * most IPC_BIG_MAX. A finished frame over IPC_PAYLOAD_MAX cannot be sent as
 * it is: ipc_to_memfd() turns it into a memfd and a small frame.
 */
void ipc_out_set_limit(struct ipc_out *o, size_t limit);
/*
 * o holds one finished frame (and none open): its payload moves into a new
 * memfd (*fd, the caller's to close), and o then holds the same type and
 * seq with flag IPC_F_FD and the u64 payload length as its payload.
 * Returns 0, or -1 with errno set (o unchanged).
 */
int ipc_to_memfd(struct ipc_out *o, int *fd) SESD_MUSTCHECK;
/*
 * Sends the n bytes of frame on the socket sock, with fd attached to its
 * first byte (SCM_RIGHTS), retrying short writes and EINTR; MSG_NOSIGNAL.
 * Nothing else may be queued on sock before it. Returns 0, or -1 with
 * errno set.
 */
int ipc_send_fd(int sock, const void *frame, size_t n, int fd) SESD_MUSTCHECK;

/* Opens a frame. A frame already open is a bug: fatalx(). */
void ipc_begin(struct ipc_out *o, enum ipc_type type, uint64_t seq);
/* Set flag bits (IPC_F_*) on the open frame. */
void ipc_set_flags(struct ipc_out *o, uint32_t flags);
/* Append one field to the open frame; no frame open is a bug: fatalx().
 * Past IPC_PAYLOAD_MAX the frame is marked over and ipc_end() fails. */
void ipc_add_u32(struct ipc_out *o, uint32_t v);
void ipc_add_u64(struct ipc_out *o, uint64_t v);
/* s must not be NULL; its bytes up to the NUL, and the NUL, are copied. */
void ipc_add_str(struct ipc_out *o, const char *s);
void ipc_add_bytes(struct ipc_out *o, const void *p, size_t n);
/*
 * Closes the frame and fills in its length. Returns 0, or -1 when the
 * payload is over IPC_PAYLOAD_MAX: that frame is dropped (earlier frames
 * stay) and the caller sends the content another way (a memfd).
 */
int ipc_end(struct ipc_out *o) SESD_MUSTCHECK;

/* --- parsing frames --- */

/* One frame, borrowed from the bytes it was parsed from. */
struct ipc_frame {
	enum ipc_type type;
	uint32_t flags;
	uint64_t seq;
	const unsigned char *payload; /* into the parsed bytes */
	size_t len;                   /* payload bytes */
	size_t size;                  /* IPC_HDR_LEN + len: bytes to consume */
};

/*
 * Looks for one frame at the start of buf (len bytes, which may hold more
 * than one frame). Returns 0 with f filled (f->size bytes make the frame),
 * IPC_AGAIN when buf holds a valid but incomplete prefix, or -1 when the
 * bytes cannot start a frame: wrong version, unknown type, unknown flags
 * or a length over IPC_PAYLOAD_MAX. Each header field is checked as soon
 * as its bytes are in, so garbage fails early rather than waiting for a
 * length that never comes. f is zeroed unless 0 is returned.
 */
int ipc_frame_parse(
    const void *buf, size_t len, struct ipc_frame *f) SESD_MUSTCHECK;

/* Reads a frame's payload front to back. */
struct ipc_reader {
	const unsigned char *p; /* next unread byte */
	size_t left;            /* unread bytes */
	int failed;             /* a get failed: every later call fails */
};

/* Starts reading f's payload; f and its bytes must outlive rd. */
void ipc_read_begin(struct ipc_reader *rd, const struct ipc_frame *f);
/*
 * Each get returns 0 and sets *v, or -1 (and zeroes *v) when the field is
 * truncated or malformed, or an earlier get on rd failed.
 */
int ipc_get_u32(struct ipc_reader *rd, uint32_t *v) SESD_MUSTCHECK;
int ipc_get_u64(struct ipc_reader *rd, uint64_t *v) SESD_MUSTCHECK;
/* *s borrowed from the frame, NUL-terminated there; -1 when the length is
 * 0 or runs past the payload, the last byte is not NUL or another is. */
int ipc_get_str(struct ipc_reader *rd, const char **s) SESD_MUSTCHECK;
/* *p borrowed from the frame (NULL when *n is 0). */
int ipc_get_bytes(
    struct ipc_reader *rd, const void **p, size_t *n) SESD_MUSTCHECK;
/* 0 when every byte was read and no get failed; -1 otherwise (leftover
 * bytes mean the two sides disagree on the layout). */
int ipc_read_end(struct ipc_reader *rd) SESD_MUSTCHECK;

/* --- blocking fd helpers (worker side) --- */

/* Bytes read from an fd, kept across calls to ipc_read_frame(). */
struct ipc_in {
	struct buf buf; /* owned, see ipc_in_reset() */
	size_t used;    /* bytes of the frame returned last, dropped next */
	int fd;         /* a descriptor received, not yet taken; -1: none */
	void *map;      /* the payload mapped by ipc_frame_map(), or NULL */
	size_t maplen;
};

void ipc_in_init(struct ipc_in *in);
void ipc_in_reset(struct ipc_in *in); /* frees the storage */

/*
 * Writes all n bytes to the socket fd, retrying short writes and EINTR;
 * MSG_NOSIGNAL, so a dead peer gives EPIPE rather than SIGPIPE. Returns 0,
 * or -1 with errno set.
 */
int ipc_write_all(int fd, const void *p, size_t n) SESD_MUSTCHECK;

/*
 * Blocks until in holds one whole frame from fd, reading as needed (it
 * may read past the frame; the rest is kept for the next call). Returns 0
 * with f borrowed from in (valid until the next call or ipc_in_reset()),
 * IPC_CLOSED on EOF with no partial frame buffered, or -1 with errno set:
 * a read error, EPROTO for an invalid frame, ECONNRESET for EOF inside a
 * frame.
 */
int ipc_read_frame(
    int fd, struct ipc_in *in, struct ipc_frame *f) SESD_MUSTCHECK;

/*
 * For a frame f with IPC_F_FD from ipc_read_frame(): maps the memfd that
 * came with it and fills big with f's type and seq and the memfd's bytes
 * as payload (flags 0). The mapping belongs to in and stays valid until
 * the next ipc_read_frame() or ipc_in_reset(). Returns 0, or -1 with errno
 * set: no descriptor came (EPROTO), or it does not hold the length that f
 * announces.
 */
int ipc_frame_map(struct ipc_in *in, const struct ipc_frame *f,
    struct ipc_frame *big) SESD_MUSTCHECK;

#endif
