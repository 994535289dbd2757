/*
 * test_ipc.c: ipc.c's framing: the exact wire layout, round trips of every
 * field type, the 64 KiB cap on both sides, "need more" for every prefix
 * of a frame, rejection of bad headers and malformed fields, leftover
 * bytes, and 1,000 frames (some dribbled a byte at a time) through a
 * socketpair to a forked writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "util.h"

/* Builds one frame in a fresh ipc_out; the caller resets it. */
static void
frame_one(struct ipc_out *o, enum ipc_type t, uint64_t seq)
{
	ipc_out_init(o);
	ipc_begin(o, t, seq);
}

static void
frame_done(struct ipc_out *o, struct ipc_frame *f)
{
	assert_int_equal(ipc_end(o), 0);
	assert_int_equal(ipc_frame_parse(o->buf.data, o->buf.len, f), 0);
	assert_int_equal(f->size, o->buf.len);
}

static void
test_wire_layout(void **state)
{
	/* header little-endian: version, type, length, seq, flags */
	static const unsigned char want[] = {
	    3, 0,                                           /* IPC_VERSION */
	    2, 0,                                           /* IPC_POOL_JOB */
	    23, 0, 0, 0,                                    /* payload length */
	    8, 7, 6, 5, 4, 3, 2, 1,                         /* seq */
	    1, 0, 0, 0,                                     /* IPC_F_FD */
	    0x04, 0x03, 0x02, 0x01,                         /* u32 */
	    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* u64 */
	    3, 0, 0, 0, 'h', 'i', 0,                        /* str "hi" */
	    0, 0, 0, 0,                                     /* empty bytes */
	};
	struct ipc_out o;
	struct ipc_frame f;

	(void)state;
	assert_int_equal(IPC_VERSION, 3);
	assert_int_equal(IPC_POOL_JOB, 2);
	frame_one(&o, IPC_POOL_JOB, 0x0102030405060708ULL);
	ipc_set_flags(&o, IPC_F_FD);
	ipc_add_u32(&o, 0x01020304);
	ipc_add_u64(&o, 0x8877665544332211ULL);
	ipc_add_str(&o, "hi");
	ipc_add_bytes(&o, NULL, 0);
	frame_done(&o, &f);
	assert_int_equal(o.buf.len, sizeof(want));
	assert_memory_equal(o.buf.data, want, sizeof(want));
	assert_int_equal(f.type, IPC_POOL_JOB);
	assert_int_equal(f.flags, IPC_F_FD);
	assert_true(f.seq == 0x0102030405060708ULL);
	assert_int_equal(f.len, 23);
	assert_ptr_equal(f.payload, (unsigned char *)o.buf.data + IPC_HDR_LEN);
	ipc_out_reset(&o);
}

static void
test_type_names(void **state)
{
	(void)state;
	assert_string_equal(
	    ipc_type_to_text(IPC_WORKER_HELLO), "IPC_WORKER_HELLO");
	assert_string_equal(ipc_type_to_text(IPC_POOL_JOB), "IPC_POOL_JOB");
	assert_string_equal(
	    ipc_type_to_text(IPC_WORKER_RESULT), "IPC_WORKER_RESULT");
	assert_string_equal(
	    ipc_type_to_text(IPC_POOL_SHUTDOWN), "IPC_POOL_SHUTDOWN");
	assert_string_equal(ipc_type_to_text(0), "IPC_?");
	assert_string_equal(ipc_type_to_text(IPC_TYPE_END), "IPC_?");
	assert_string_equal(ipc_type_to_text(0xffffffffu), "IPC_?");
}

static void
test_round_trip_fields(void **state)
{
	static const uint32_t u32s[] = {0, 1, 0x7f, 0x80, 0xff, 0x100,
	    0x01020304, 0x7fffffff, 0x80000000, 0xffffffff};
	static const uint64_t u64s[] = {0, 1, 0xff, 0x100000000ULL,
	    0x0102030405060708ULL, INT64_MAX, (uint64_t)INT64_MAX + 1,
	    UINT64_MAX};
	static const char *const strs[] = {"", "a", "hello world",
	    "\xe4\xbd\xa0\xe5\xa5\xbd", "line\r\nbreak", "\xff\xfe binary",
	    "{\"json\":true}"};
	static const unsigned char bytes[] = {0, 1, 0, 0xff, 0, 0};
	struct ipc_out o;
	struct ipc_frame f;
	struct ipc_reader rd;
	char *big = xmalloc(50001);

	(void)state;
	memset(big, 'x', 50000);
	big[50000] = '\0';
	frame_one(&o, IPC_WORKER_RESULT, 77);
	for (size_t i = 0; i < sizeof(u32s) / sizeof(*u32s); i++)
		ipc_add_u32(&o, u32s[i]);
	for (size_t i = 0; i < sizeof(u64s) / sizeof(*u64s); i++)
		ipc_add_u64(&o, u64s[i]);
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++)
		ipc_add_str(&o, strs[i]);
	for (size_t n = 0; n <= sizeof(bytes); n++)
		ipc_add_bytes(&o, bytes, n);
	ipc_add_str(&o, big);
	ipc_add_u32(&o, 0xdeadbeef);
	frame_done(&o, &f);
	assert_int_equal(f.type, IPC_WORKER_RESULT);
	assert_true(f.seq == 77);
	assert_int_equal(f.flags, 0);

	ipc_read_begin(&rd, &f);
	for (size_t i = 0; i < sizeof(u32s) / sizeof(*u32s); i++) {
		uint32_t v;
		assert_int_equal(ipc_get_u32(&rd, &v), 0);
		assert_int_equal(v, u32s[i]);
	}
	for (size_t i = 0; i < sizeof(u64s) / sizeof(*u64s); i++) {
		uint64_t v;
		assert_int_equal(ipc_get_u64(&rd, &v), 0);
		assert_true(v == u64s[i]);
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		const char *s;
		assert_int_equal(ipc_get_str(&rd, &s), 0);
		assert_string_equal(s, strs[i]);
		/* borrowed from the frame, not copied */
		assert_true(s > o.buf.data && s < o.buf.data + o.buf.len);
	}
	for (size_t n = 0; n <= sizeof(bytes); n++) {
		const void *p;
		size_t len;
		assert_int_equal(ipc_get_bytes(&rd, &p, &len), 0);
		assert_int_equal(len, n);
		if (n == 0)
			assert_null(p);
		else
			assert_memory_equal(p, bytes, n);
	}
	const char *s;
	uint32_t v;
	assert_int_equal(ipc_get_str(&rd, &s), 0);
	assert_string_equal(s, big);
	assert_int_equal(ipc_read_end(&rd), -1); /* the u32 is still there */
	assert_int_equal(ipc_get_u32(&rd, &v), 0);
	assert_int_equal(v, 0xdeadbeef);
	assert_int_equal(ipc_read_end(&rd), 0);
	/* reading past the end fails and stays failed */
	assert_int_equal(ipc_get_u32(&rd, &v), -1);
	assert_int_equal(v, 0);
	assert_int_equal(ipc_read_end(&rd), -1);
	ipc_out_reset(&o);
	free(big);
}

static void
test_empty_payload(void **state)
{
	struct ipc_out o;
	struct ipc_frame f;
	struct ipc_reader rd;
	uint32_t v;

	(void)state;
	frame_one(&o, IPC_POOL_SHUTDOWN, 0);
	frame_done(&o, &f);
	assert_int_equal(o.buf.len, IPC_HDR_LEN);
	assert_int_equal(f.len, 0);
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_read_end(&rd), 0);
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_get_u32(&rd, &v), -1);
	assert_int_equal(ipc_read_end(&rd), -1);
	ipc_out_reset(&o);
}

/* Several frames back to back, parsed one after another. */
static void
test_frames_back_to_back(void **state)
{
	struct ipc_out o;
	struct ipc_frame f;
	size_t at = 0;

	(void)state;
	ipc_out_init(&o);
	for (uint32_t i = 0; i < 50; i++) {
		ipc_begin(&o, i % 2 ? IPC_POOL_JOB : IPC_WORKER_RESULT, i);
		for (uint32_t k = 0; k < i; k++)
			ipc_add_u32(&o, i * 1000 + k);
		assert_int_equal(ipc_end(&o), 0);
	}
	for (uint32_t i = 0; i < 50; i++) {
		struct ipc_reader rd;
		assert_int_equal(
		    ipc_frame_parse(o.buf.data + at, o.buf.len - at, &f), 0);
		assert_int_equal(
		    f.type, i % 2 ? IPC_POOL_JOB : IPC_WORKER_RESULT);
		assert_true(f.seq == i);
		ipc_read_begin(&rd, &f);
		for (uint32_t k = 0; k < i; k++) {
			uint32_t v;
			assert_int_equal(ipc_get_u32(&rd, &v), 0);
			assert_int_equal(v, i * 1000 + k);
		}
		assert_int_equal(ipc_read_end(&rd), 0);
		at += f.size;
	}
	assert_int_equal(at, o.buf.len);
	assert_int_equal(ipc_frame_parse(o.buf.data + at, 0, &f), IPC_AGAIN);
	ipc_out_clear(&o);
	assert_int_equal(o.buf.len, 0);
	ipc_begin(&o, IPC_POOL_SHUTDOWN, 9);
	assert_int_equal(ipc_end(&o), 0);
	assert_int_equal(o.buf.len, IPC_HDR_LEN);
	ipc_out_reset(&o);
}

static void
test_max_payload(void **state)
{
	unsigned char *blob = xmalloc(IPC_PAYLOAD_MAX + 1);
	struct ipc_out o;
	struct ipc_frame f;
	struct ipc_reader rd;
	const void *p;
	size_t n;

	(void)state;
	for (size_t i = 0; i <= IPC_PAYLOAD_MAX; i++)
		blob[i] = (unsigned char)(i * 31 + 7);

	/* exactly IPC_PAYLOAD_MAX: a bytes field of cap - 4 */
	frame_one(&o, IPC_POOL_JOB, 1);
	ipc_add_bytes(&o, blob, IPC_PAYLOAD_MAX - 4);
	frame_done(&o, &f);
	assert_int_equal(f.len, IPC_PAYLOAD_MAX);
	assert_int_equal(o.buf.len, IPC_FRAME_MAX);
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_get_bytes(&rd, &p, &n), 0);
	assert_int_equal(n, IPC_PAYLOAD_MAX - 4);
	assert_memory_equal(p, blob, n);
	assert_int_equal(ipc_read_end(&rd), 0);

	/* one byte more: dropped, earlier frames kept, builder reusable */
	size_t before = o.buf.len;
	ipc_begin(&o, IPC_POOL_JOB, 2);
	ipc_add_bytes(&o, blob, IPC_PAYLOAD_MAX - 3);
	assert_int_equal(ipc_end(&o), -1);
	assert_int_equal(o.buf.len, before);
	ipc_begin(&o, IPC_POOL_JOB, 3);
	ipc_add_bytes(&o, blob, IPC_PAYLOAD_MAX);
	ipc_add_u32(&o, 1);
	assert_int_equal(ipc_end(&o), -1);
	ipc_begin(&o, IPC_POOL_JOB, 4);
	ipc_add_bytes(&o, blob, (size_t)1 << 33); /* never read: over cap */
	assert_int_equal(ipc_end(&o), -1);
	assert_int_equal(o.buf.len, before);

	/* filled with u64s: the 8193rd does not fit */
	ipc_begin(&o, IPC_WORKER_RESULT, 5);
	for (size_t i = 0; i < IPC_PAYLOAD_MAX / 8; i++)
		ipc_add_u64(&o, i);
	assert_int_equal(ipc_end(&o), 0);
	ipc_begin(&o, IPC_WORKER_RESULT, 6);
	for (size_t i = 0; i <= IPC_PAYLOAD_MAX / 8; i++)
		ipc_add_u64(&o, i);
	assert_int_equal(ipc_end(&o), -1);

	/* a string of cap - 5 bytes plus NUL fills it exactly */
	char *s = xmalloc(IPC_PAYLOAD_MAX);
	memset(s, 's', IPC_PAYLOAD_MAX - 5);
	s[IPC_PAYLOAD_MAX - 5] = '\0';
	ipc_begin(&o, IPC_POOL_JOB, 7);
	ipc_add_str(&o, s);
	assert_int_equal(ipc_end(&o), 0);
	s[IPC_PAYLOAD_MAX - 5] = 's';
	s[IPC_PAYLOAD_MAX - 4] = '\0';
	ipc_begin(&o, IPC_POOL_JOB, 8);
	ipc_add_str(&o, s);
	assert_int_equal(ipc_end(&o), -1);
	free(s);
	ipc_out_reset(&o);
	free(blob);
}

/* A header with the given fields, for hand-made frames. */
static void
hdr(unsigned char *h, uint32_t version, uint32_t type, uint32_t len,
    uint64_t seq, uint32_t flags)
{
	h[0] = (unsigned char)version;
	h[1] = (unsigned char)(version >> 8);
	h[2] = (unsigned char)type;
	h[3] = (unsigned char)(type >> 8);
	for (int i = 0; i < 4; i++)
		h[4 + i] = (unsigned char)(len >> (8 * i));
	for (int i = 0; i < 8; i++)
		h[8 + i] = (unsigned char)(seq >> (8 * i));
	for (int i = 0; i < 4; i++)
		h[16 + i] = (unsigned char)(flags >> (8 * i));
}

static void
assert_zeroed(const struct ipc_frame *f)
{
	assert_null(f->payload);
	assert_int_equal(f->len, 0);
	assert_int_equal(f->size, 0);
	assert_true(f->seq == 0);
}

static void
test_truncated_every_offset(void **state)
{
	unsigned char *blob = xmalloc(IPC_PAYLOAD_MAX);
	struct ipc_out o;
	struct ipc_frame f;

	(void)state;
	memset(blob, 0xab, IPC_PAYLOAD_MAX);
	ipc_out_init(&o);
	ipc_begin(&o, IPC_POOL_SHUTDOWN, 0);
	assert_int_equal(ipc_end(&o), 0);
	ipc_begin(&o, IPC_WORKER_RESULT, UINT64_MAX);
	ipc_set_flags(&o, IPC_F_FD);
	ipc_add_u64(&o, 42);
	ipc_add_str(&o, "250 2.0.0 Ok: queued");
	assert_int_equal(ipc_end(&o), 0);
	ipc_begin(&o, IPC_POOL_JOB, 3);
	ipc_add_bytes(&o, blob, IPC_PAYLOAD_MAX - 4);
	assert_int_equal(ipc_end(&o), 0);

	size_t at = 0, prefixes = 0;
	while (at < o.buf.len) {
		const char *fr = o.buf.data + at;
		struct ipc_frame whole;
		assert_int_equal(
		    ipc_frame_parse(fr, o.buf.len - at, &whole), 0);
		for (size_t k = 0; k < whole.size; k++) {
			/* a heap copy of exactly k bytes: ASan sees overreads
			 */
			unsigned char *c = xmalloc(k);
			memcpy(c, fr, k);
			memset(&f, 0x5a, sizeof(f));
			if (ipc_frame_parse(c, k, &f) != IPC_AGAIN)
				fail_msg("frame at %zu, prefix %zu: not AGAIN",
				    at, k);
			assert_zeroed(&f);
			free(c);
			prefixes++;
		}
		unsigned char *c = xmalloc(whole.size);
		memcpy(c, fr, whole.size);
		assert_int_equal(ipc_frame_parse(c, whole.size, &f), 0);
		free(c);
		at += whole.size;
	}
	/* every prefix of the three frames was tried */
	assert_int_equal(prefixes, o.buf.len);
	assert_int_equal(ipc_frame_parse(NULL, 0, &f), IPC_AGAIN);
	ipc_out_reset(&o);
	free(blob);
}

struct bad_hdr {
	const char *what;
	uint32_t version, type, len, flags;
	size_t known; /* bytes from which the header is known bad */
};

static const struct bad_hdr bad_hdrs[] = {
    {"version 0", 0, IPC_POOL_JOB, 0, 0, 2},
    {"version 1", 1, IPC_POOL_JOB, 0, 0, 2},
    {"version 2", 2, IPC_POOL_JOB, 0, 0, 2},
    {"version 4", 4, IPC_POOL_JOB, 0, 0, 2},
    {"version 0x100", 0x100, IPC_POOL_JOB, 0, 0, 2},
    {"version 0xffff", 0xffff, IPC_POOL_JOB, 0, 0, 2},
    {"type 0", IPC_VERSION, 0, 0, 0, 4},
    {"type END", IPC_VERSION, IPC_TYPE_END, 0, 0, 4},
    {"type 0x100", IPC_VERSION, 0x100 | IPC_POOL_JOB, 0, 0, 4},
    {"type 0xffff", IPC_VERSION, 0xffff, 0, 0, 4},
    {"length cap + 1", IPC_VERSION, IPC_POOL_JOB, IPC_PAYLOAD_MAX + 1, 0, 8},
    {"length 2^24", IPC_VERSION, IPC_POOL_JOB, 1u << 24, 0, 8},
    {"length 2^32 - 1", IPC_VERSION, IPC_POOL_JOB, 0xffffffff, 0, 8},
    {"flag 0x2", IPC_VERSION, IPC_POOL_JOB, 0, 0x2, 20},
    {"flag 0x3", IPC_VERSION, IPC_POOL_JOB, 0, 0x3, 20},
    {"flag 2^31", IPC_VERSION, IPC_POOL_JOB, 0, 0x80000000, 20},
    {"flags all", IPC_VERSION, IPC_POOL_JOB, 0, 0xffffffff, 20},
    {NULL, 0, 0, 0, 0, 0},
};

static void
test_bad_headers(void **state)
{
	unsigned char h[IPC_HDR_LEN + 8];
	struct ipc_frame f;

	(void)state;
	for (const struct bad_hdr *b = bad_hdrs; b->what; b++) {
		hdr(h, b->version, b->type, b->len, 1, b->flags);
		memset(h + IPC_HDR_LEN, 0, 8);
		/* need-more until the bad field is in, invalid from then on */
		for (size_t k = 0; k <= sizeof(h); k++) {
			int want = k < b->known ? IPC_AGAIN : -1;
			int rc = ipc_frame_parse(h, k, &f);
			if (rc != want)
				fail_msg("%s, %zu bytes: %d, want %d", b->what,
				    k, rc, want);
			assert_zeroed(&f);
		}
	}
	/* the limits themselves are fine */
	hdr(h, IPC_VERSION, IPC_TYPE_END - 1, IPC_PAYLOAD_MAX, 0, IPC_F_ALL);
	assert_int_equal(ipc_frame_parse(h, IPC_HDR_LEN, &f), IPC_AGAIN);
	hdr(h, IPC_VERSION, 1, 8, 0, 0);
	assert_int_equal(ipc_frame_parse(h, sizeof(h), &f), 0);
	assert_int_equal(f.type, 1);
}

static void
test_garbage(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		int want;
	} junk[] = {
	    {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, -1},
	    {"{\"Response\":{\"RequestId\":\"x\"}}", 30, -1},
	    {"\x02", 1, IPC_AGAIN}, /* fine so far: half the version */
	    {"\x02\x01", 2, -1},
	    {"\x01\x00", 2, -1}, /* version 1: an older binary's frame */
	    {"\x02\x00\x00\x00", 4, -1},
	    {"\x02\x00\x05\x00", 4, -1},
	    {"\x03\x00\x02\x00", 4, IPC_AGAIN},
	    {"\x00\x01\x02\x00", 4, -1},
	    {"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20, -1},
	    {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
	     "\xff\xff\xff\xff\xff",
		20, -1},
	};
	struct ipc_frame f;

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(*junk); i++)
		assert_int_equal(
		    ipc_frame_parse(junk[i].bytes, junk[i].len, &f),
		    junk[i].want);

	/* random headers: never a crash; anything accepted is consistent */
	uint64_t s = 88172645463325252ULL;
	unsigned char h[IPC_HDR_LEN + 64];
	int valid = 0;
	for (int i = 0; i < 200000; i++) {
		for (size_t k = 0; k < sizeof(h); k++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			h[k] = (unsigned char)s;
		}
		if (i % 2) { /* half with a plausible start */
			h[0] = IPC_VERSION, h[1] = 0;
			h[2] = (unsigned char)(1 + i % 4), h[3] = 0;
			h[5] = h[6] = h[7] = 0;
			h[4] &= 63;
			h[17] = h[18] = h[19] = 0;
		}
		int rc = ipc_frame_parse(h, sizeof(h), &f);
		assert_true(rc == 0 || rc == -1 || rc == IPC_AGAIN);
		if (rc == 0) {
			valid++;
			assert_true(f.size <= sizeof(h));
			assert_true(f.type > 0 && f.type < IPC_TYPE_END);
			assert_true((f.flags & ~IPC_F_ALL) == 0);
		} else
			assert_zeroed(&f);
	}
	assert_true(valid > 0);
}

/* A frame with the given payload bytes, for malformed fields. */
static void
raw_frame(struct buf *b, const void *payload, size_t n)
{
	unsigned char h[IPC_HDR_LEN];

	hdr(h, IPC_VERSION, IPC_WORKER_RESULT, (uint32_t)n, 5, 0);
	b->len = 0;
	buf_add(b, h, sizeof(h));
	buf_add(b, payload, n);
}

struct bad_field {
	const char *what;
	const char *payload;
	size_t len;
	int kind; /* 0 str, 1 bytes, 2 u32, 3 u64 */
};

static const struct bad_field bad_fields[] = {
    {"str length 0", "\x00\x00\x00\x00", 4, 0},
    {"str without NUL", "\x02\x00\x00\x00hi", 6, 0},
    {"str one byte, not NUL", "\x01\x00\x00\x00x", 5, 0},
    {"str embedded NUL", "\x04\x00\x00\x00h\x00i\x00", 8, 0},
    {"str NUL first", "\x03\x00\x00\x00\x00hi", 7, 0},
    {"str NUL only, twice", "\x02\x00\x00\x00\x00\x00", 6, 0},
    {"str length past end", "\x09\x00\x00\x00hi\x00", 7, 0},
    {"str length 2^32-1", "\xff\xff\xff\xffhi\x00", 7, 0},
    {"str length cut", "\x03\x00\x00", 3, 0},
    {"str nothing", "", 0, 0},
    {"bytes length past end",
	"\x05\x00\x00\x00"
	"abcd",
	8, 1},
    {"bytes length 2^31", "\x00\x00\x00\x80", 4, 1},
    {"bytes length cut", "\x01\x00", 2, 1},
    {"u32 cut", "\x01\x02\x03", 3, 2},
    {"u32 nothing", "", 0, 2},
    {"u64 cut", "\x01\x02\x03\x04\x05\x06\x07", 7, 3},
    {NULL, NULL, 0, 0},
};

static void
test_malformed_fields(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	for (const struct bad_field *c = bad_fields; c->what; c++) {
		struct ipc_frame f;
		struct ipc_reader rd;
		const char *s = "x";
		const void *p = "x";
		size_t n = 9;
		uint32_t v32 = 9;
		uint64_t v64 = 9;
		int rc;

		raw_frame(&b, c->payload, c->len);
		assert_int_equal(ipc_frame_parse(b.data, b.len, &f), 0);
		ipc_read_begin(&rd, &f);
		switch (c->kind) {
		case 0:
			rc = ipc_get_str(&rd, &s);
			assert_null(s);
			break;
		case 1:
			rc = ipc_get_bytes(&rd, &p, &n);
			assert_null(p);
			assert_int_equal(n, 0);
			break;
		case 2:
			rc = ipc_get_u32(&rd, &v32);
			assert_int_equal(v32, 0);
			break;
		default:
			rc = ipc_get_u64(&rd, &v64);
			assert_true(v64 == 0);
			break;
		}
		if (rc != -1)
			fail_msg("%s: accepted", c->what);
		/* sticky: nothing more can be read, the end reports it */
		assert_int_equal(ipc_get_u32(&rd, &v32), -1);
		assert_int_equal(ipc_read_end(&rd), -1);
	}

	/* the well-formed neighbours of those cases pass */
	struct ipc_frame f;
	struct ipc_reader rd;
	const char *s;
	raw_frame(&b, "\x01\x00\x00\x00\x00", 5);
	assert_int_equal(ipc_frame_parse(b.data, b.len, &f), 0);
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_get_str(&rd, &s), 0);
	assert_string_equal(s, "");
	assert_int_equal(ipc_read_end(&rd), 0);
	raw_frame(&b, "\x03\x00\x00\x00hi\x00", 7);
	assert_int_equal(ipc_frame_parse(b.data, b.len, &f), 0);
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_get_str(&rd, &s), 0);
	assert_string_equal(s, "hi");
	assert_int_equal(ipc_read_end(&rd), 0);
	buf_reset(&b);
}

static void
test_leftover_bytes(void **state)
{
	struct ipc_out o;
	struct ipc_frame f;
	struct ipc_reader rd;
	uint32_t v32;
	uint64_t v64;
	const char *s;

	(void)state;
	frame_one(&o, IPC_POOL_JOB, 1);
	ipc_add_u32(&o, 1);
	ipc_add_u64(&o, 2);
	ipc_add_str(&o, "three");
	frame_done(&o, &f);
	for (int stop = 0; stop < 3; stop++) {
		ipc_read_begin(&rd, &f);
		assert_int_equal(ipc_get_u32(&rd, &v32), 0);
		if (stop >= 1)
			assert_int_equal(ipc_get_u64(&rd, &v64), 0);
		if (stop >= 2)
			assert_int_equal(ipc_get_str(&rd, &s), 0);
		assert_int_equal(ipc_read_end(&rd), stop == 2 ? 0 : -1);
	}
	/* reading with the wrong layout: u64 where a u32 was */
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_get_u64(&rd, &v64), 0);
	assert_int_equal(ipc_get_u64(&rd, &v64), 0);
	assert_int_equal(ipc_get_str(&rd, &s), -1);
	assert_int_equal(ipc_read_end(&rd), -1);
	ipc_out_reset(&o);
}

/* --- the fd helpers over a socketpair --- */

#define NFRAMES 1000

/* Deterministic contents of frame i, the same on both sides. */
static size_t
frame_sizes(uint32_t i, size_t *slen)
{
	/* u64, str (4 + slen + 1), bytes (4 + blen), u32 */
	size_t fixed = 8 + 4 + 1 + 4 + 4;
	*slen = i % 97;
	if (i % 100 == 7) /* exactly the cap */
		return IPC_PAYLOAD_MAX - fixed - *slen;
	return (size_t)(i * 131) % 3000;
}

static void
frame_build(
    struct ipc_out *o, uint32_t i, const unsigned char *blob, char *sbuf)
{
	size_t slen, blen = frame_sizes(i, &slen);

	memset(sbuf, 'a' + (int)(i % 26), slen);
	sbuf[slen] = '\0';
	ipc_begin(
	    o, i % 2 ? IPC_WORKER_RESULT : IPC_POOL_JOB, (uint64_t)i << 33 | i);
	ipc_add_u64(o, i);
	ipc_add_str(o, sbuf);
	ipc_add_bytes(o, blob + i % 7, blen);
	ipc_add_u32(o, ~i);
}

/* The writer: run in a forked child; never returns. */
static void
writer_child(int fd, int dribble_from)
{
	unsigned char *blob = xmalloc(IPC_PAYLOAD_MAX + 8);
	char sbuf[128];
	struct ipc_out o;

	for (size_t k = 0; k < IPC_PAYLOAD_MAX + 8; k++)
		blob[k] = (unsigned char)(k * 13 + 1);
	ipc_out_init(&o);
	for (uint32_t i = 0; i < NFRAMES; i++) {
		frame_build(&o, i, blob, sbuf);
		if (ipc_end(&o) != 0)
			_exit(2);
		/* some frames a byte at a time, some in batches of three */
		if (i >= (uint32_t)dribble_from &&
		    i < (uint32_t)dribble_from + 5) {
			for (size_t k = 0; k < o.buf.len; k++)
				if (ipc_write_all(fd, o.buf.data + k, 1) != 0)
					_exit(3);
		} else if (i % 3 != 2 && i != NFRAMES - 1)
			continue;
		else if (ipc_write_all(fd, o.buf.data, o.buf.len) != 0)
			_exit(3);
		ipc_out_clear(&o);
	}
	ipc_out_reset(&o);
	free(blob);
	close(fd);
	_exit(0);
}

static void
test_socketpair_1000_frames(void **state)
{
	unsigned char *blob = xmalloc(IPC_PAYLOAD_MAX + 8);
	struct ipc_in in;
	int sv[2], status;
	pid_t pid;

	(void)state;
	for (size_t k = 0; k < IPC_PAYLOAD_MAX + 8; k++)
		blob[k] = (unsigned char)(k * 13 + 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		writer_child(sv[1], 500);
	}
	close(sv[1]);
	ipc_in_init(&in);
	for (uint32_t i = 0; i < NFRAMES; i++) {
		struct ipc_frame f;
		struct ipc_reader rd;
		size_t slen, blen = frame_sizes(i, &slen);
		uint64_t id;
		uint32_t tail;
		const char *s;
		const void *p;
		size_t n;

		if (ipc_read_frame(sv[0], &in, &f) != 0)
			fail_msg("frame %u: %s", i, strerror(errno));
		assert_int_equal(
		    f.type, i % 2 ? IPC_WORKER_RESULT : IPC_POOL_JOB);
		assert_true(f.seq == ((uint64_t)i << 33 | i));
		if (i % 100 == 7)
			assert_int_equal(f.len, IPC_PAYLOAD_MAX);
		ipc_read_begin(&rd, &f);
		assert_int_equal(ipc_get_u64(&rd, &id), 0);
		assert_true(id == i);
		assert_int_equal(ipc_get_str(&rd, &s), 0);
		assert_int_equal(strlen(s), slen);
		assert_true(slen == 0 || s[0] == 'a' + (int)(i % 26));
		assert_int_equal(ipc_get_bytes(&rd, &p, &n), 0);
		assert_int_equal(n, blen);
		if (n)
			assert_memory_equal(p, blob + i % 7, n);
		assert_int_equal(ipc_get_u32(&rd, &tail), 0);
		assert_int_equal(tail, ~i);
		assert_int_equal(ipc_read_end(&rd), 0);
	}
	struct ipc_frame f;
	assert_int_equal(ipc_read_frame(sv[0], &in, &f), IPC_CLOSED);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(sv[0]);
	ipc_in_reset(&in);
	free(blob);
}

/* Writes bytes to one end of a fresh socketpair, closes it, reads. */
static int
read_after(const void *bytes, size_t n, struct ipc_in *in, struct ipc_frame *f)
{
	int sv[2], rc;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ipc_write_all(sv[1], bytes, n), 0);
	close(sv[1]);
	ipc_in_init(in);
	errno = 0;
	rc = ipc_read_frame(sv[0], in, f);
	close(sv[0]);
	return rc;
}

static void
test_fd_errors(void **state)
{
	unsigned char h[IPC_HDR_LEN + 4];
	struct ipc_in in;
	struct ipc_frame f;
	int sv[2];

	(void)state;
	/* EOF before anything: closed */
	assert_int_equal(read_after("", 0, &in, &f), IPC_CLOSED);
	ipc_in_reset(&in);
	/* EOF inside a header, and inside a payload */
	hdr(h, IPC_VERSION, IPC_POOL_JOB, 4, 1, 0);
	memcpy(h + IPC_HDR_LEN, "abcd", 4);
	for (size_t k = 1; k < sizeof(h); k++) {
		assert_int_equal(read_after(h, k, &in, &f), -1);
		assert_int_equal(errno, ECONNRESET);
		ipc_in_reset(&in);
	}
	/* the whole frame, then a clean EOF */
	assert_int_equal(read_after(h, sizeof(h), &in, &f), 0);
	assert_int_equal(f.len, 4);
	assert_memory_equal(f.payload, "abcd", 4);
	ipc_in_reset(&in);
	/* an invalid header */
	hdr(h, IPC_VERSION + 1, IPC_POOL_JOB, 4, 1, 0);
	assert_int_equal(read_after(h, sizeof(h), &in, &f), -1);
	assert_int_equal(errno, EPROTO);
	ipc_in_reset(&in);
	hdr(h, IPC_VERSION, IPC_POOL_JOB, IPC_PAYLOAD_MAX + 1, 1, 0);
	assert_int_equal(read_after(h, IPC_HDR_LEN, &in, &f), -1);
	assert_int_equal(errno, EPROTO);
	ipc_in_reset(&in);

	/* writing to a closed peer: EPIPE, and no SIGPIPE kills us */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(ipc_write_all(sv[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(sv[1]);
	/* a bad fd */
	assert_int_equal(ipc_write_all(-1, "x", 1), -1);
	assert_int_equal(errno, EBADF);
	ipc_in_init(&in);
	assert_int_equal(ipc_read_frame(-1, &in, &f), -1);
	assert_int_equal(errno, EBADF);
	ipc_in_reset(&in);
}

/*
 * A job over IPC_PAYLOAD_MAX: built with a raised limit, turned into a
 * memfd and a small IPC_F_FD frame, sent with the descriptor between two
 * ordinary frames, read back and mapped: the same bytes arrive, in order.
 */
static void
test_memfd_job(void **state)
{
	const size_t big = 3 * IPC_PAYLOAD_MAX + 123;
	unsigned char *blob = xmalloc(big);
	struct ipc_out o, small;
	struct ipc_in in;
	struct ipc_frame f, m;
	struct ipc_reader rd;
	const void *p;
	size_t n;
	uint32_t v;
	int sv[2], mfd = -1;

	(void)state;
	for (size_t k = 0; k < big; k++)
		blob[k] = (unsigned char)(k * 7 + 3);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	/* the default cap refuses it; a raised one takes it */
	ipc_out_init(&o);
	ipc_begin(&o, IPC_POOL_JOB, 42);
	ipc_add_bytes(&o, blob, big);
	assert_int_equal(ipc_end(&o), -1);
	ipc_out_set_limit(&o, IPC_BIG_MAX);
	ipc_begin(&o, IPC_POOL_JOB, 42);
	ipc_add_bytes(&o, blob, big);
	ipc_add_u32(&o, 7);
	assert_int_equal(ipc_end(&o), 0);
	assert_int_equal(ipc_to_memfd(&o, &mfd), 0);
	assert_true(mfd >= 0);
	assert_int_equal(o.buf.len, IPC_HDR_LEN + 8);

	/* an ordinary frame before and after it */
	ipc_out_init(&small);
	ipc_begin(&small, IPC_POOL_SHUTDOWN, 1);
	assert_int_equal(ipc_end(&small), 0);
	assert_int_equal(
	    ipc_write_all(sv[1], small.buf.data, small.buf.len), 0);
	assert_int_equal(ipc_send_fd(sv[1], o.buf.data, o.buf.len, mfd), 0);
	close(mfd);
	assert_int_equal(
	    ipc_write_all(sv[1], small.buf.data, small.buf.len), 0);
	close(sv[1]);

	ipc_in_init(&in);
	assert_int_equal(ipc_read_frame(sv[0], &in, &f), 0);
	assert_int_equal(f.type, IPC_POOL_SHUTDOWN);
	/* a frame without IPC_F_FD cannot be mapped */
	assert_int_equal(ipc_frame_map(&in, &f, &m), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(ipc_read_frame(sv[0], &in, &f), 0);
	assert_int_equal(f.type, IPC_POOL_JOB);
	assert_int_equal(f.seq, 42);
	assert_true((f.flags & IPC_F_FD) != 0);
	assert_int_equal(ipc_frame_map(&in, &f, &f), 0);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.len, 4 + big + 4);
	ipc_read_begin(&rd, &f);
	assert_int_equal(ipc_get_bytes(&rd, &p, &n), 0);
	assert_int_equal(n, big);
	assert_memory_equal(p, blob, big);
	assert_int_equal(ipc_get_u32(&rd, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(ipc_read_end(&rd), 0);
	/* the descriptor was taken: mapping again fails */
	assert_int_equal(ipc_frame_map(&in, &f, &m), -1);
	assert_int_equal(ipc_read_frame(sv[0], &in, &f), 0);
	assert_int_equal(f.type, IPC_POOL_SHUTDOWN);
	assert_int_equal(ipc_read_frame(sv[0], &in, &f), IPC_CLOSED);
	ipc_in_reset(&in);
	close(sv[0]);
	ipc_out_reset(&o);
	ipc_out_reset(&small);
	free(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_layout),
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_round_trip_fields),
	    cmocka_unit_test(test_empty_payload),
	    cmocka_unit_test(test_frames_back_to_back),
	    cmocka_unit_test(test_max_payload),
	    cmocka_unit_test(test_truncated_every_offset),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_malformed_fields),
	    cmocka_unit_test(test_leftover_bytes),
	    cmocka_unit_test(test_socketpair_1000_frames),
	    cmocka_unit_test(test_fd_errors),
	    cmocka_unit_test(test_memfd_job),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
