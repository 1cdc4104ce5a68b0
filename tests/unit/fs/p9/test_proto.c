// SPDX-License-Identifier: GPL-2.0
/*
 * 9P message handling (fs/p9/msg.c, the framing in fs/p9/dispatch.c): the
 * bounded codec, iovec slicing, and hostile messages through p9_handle():
 * bad size fields, truncated bodies of every type, unknown types, huge
 * counts, reply buffers too small, msize negotiation, tag echo.  Nothing
 * may crash or touch bytes outside the buffers (ASan), and every reply is
 * a well-formed message or nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "host_files.h"
#include "p9_client.h"
#include "test.h"

#define ROOT 1u
#define MSIZE 8192u
#define GUARD 0xA5

/* A server on a temporary directory, a client attached as ROOT. */
static bool fx_init_cfg(struct p9c_export *fx, unsigned int flags,
			size_t msize)
{
	struct p9_server_config cfg = {
		.tag = "test", .flags = flags, .nr_threads = -1u,
	};

	return CHECK_EQ(p9c_export_init(fx, &cfg, "p9-proto", (uint32_t)msize,
					ROOT),
			0);
}

static bool fx_init(struct p9c_export *fx)
{
	return fx_init_cfg(fx, 0, MSIZE);
}

static void host_write(struct p9c_export *fx, const char *name,
		       const void *data, size_t len)
{
	REQUIRE(file_put_at(fx->dir, name, data, len, 0644) == 0);
}

static off_t host_size(struct p9c_export *fx, const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	return stat(path, &st) ? -1 : st.st_size;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A message header into @m: size, type, tag. */
static void hdr(uint8_t *m, uint32_t size, uint8_t type, uint16_t tag)
{
	put_le(m, size, 4);
	m[4] = type;
	put_le(m + 5, tag, 2);
}

/* --- Codec --- */

TEST(getters_at_buffer_end)
{
	const uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct p9_in in = { .buf = b, .len = 8 };

	CHECK_EQ(p9_get16(&in), 0x0201);
	CHECK_EQ(p9_get32(&in), 0x06050403);
	CHECK(p9_in_ok(&in));
	CHECK_EQ(p9_get32(&in), 0); /* 2 bytes left */
	CHECK(!p9_in_ok(&in));
	CHECK_EQ(p9_get8(&in), 0); /* sticky */
	CHECK(!p9_in_ok(&in));

	in = (struct p9_in){ .buf = b, .len = 8 };
	CHECK_EQ(p9_get64(&in), 0x0807060504030201ULL);
	CHECK(p9_in_ok(&in));
	CHECK_EQ(p9_get8(&in), 0);
	CHECK(!p9_in_ok(&in));

	in = (struct p9_in){ .buf = b, .len = 7 };
	CHECK_EQ(p9_get64(&in), 0);
	CHECK(!p9_in_ok(&in));
	in = (struct p9_in){ .buf = b, .len = 1 };
	CHECK_EQ(p9_get16(&in), 0);
	CHECK(!p9_in_ok(&in));
	in = (struct p9_in){ .buf = b, .len = 0 };
	CHECK_EQ(p9_get8(&in), 0);
	CHECK(!p9_in_ok(&in));
	in = (struct p9_in){ .buf = b, .len = 1 };
	CHECK_EQ(p9_get8(&in), 1);
	CHECK(p9_in_ok(&in));
}

TEST(getstr_cases)
{
	uint8_t b[16] = { 3, 0, 'a', 'b', 'c', 0, 0 };
	struct p9_in in = { .buf = b, .len = 5 };
	char s[8];

	CHECK_EQ(p9_getstr(&in, s, sizeof(s)), 0);
	CHECK_STREQ(s, "abc");
	CHECK(p9_in_ok(&in));
	CHECK_EQ(in.pos, 5);

	/* Exactly fills cap - 1, then one byte too long. */
	in = (struct p9_in){ .buf = b, .len = 5 };
	CHECK_EQ(p9_getstr(&in, s, 4), 0);
	CHECK_STREQ(s, "abc");
	in = (struct p9_in){ .buf = b, .len = 5 };
	memset(s, 'x', sizeof(s));
	CHECK_EQ(p9_getstr(&in, s, 3), -ENAMETOOLONG);
	CHECK(!p9_in_ok(&in));
	CHECK_EQ(in.pos, 5); /* skipped */
	CHECK_STREQ(s, "");

	/* Empty string (then the rest of the buffer is still readable). */
	in = (struct p9_in){ .buf = b + 5, .len = 2 };
	CHECK_EQ(p9_getstr(&in, s, sizeof(s)), 0);
	CHECK_STREQ(s, "");
	CHECK(p9_in_ok(&in));

	/* Embedded NUL. */
	b[3] = 0;
	in = (struct p9_in){ .buf = b, .len = 5 };
	CHECK_EQ(p9_getstr(&in, s, sizeof(s)), -EINVAL);
	CHECK(!p9_in_ok(&in));
	b[3] = 'b';

	/* Length field beyond the buffer, and a truncated length field. */
	in = (struct p9_in){ .buf = b, .len = 4 };
	CHECK_EQ(p9_getstr(&in, s, sizeof(s)), -EINVAL);
	CHECK(!p9_in_ok(&in));
	b[0] = 0xff;
	b[1] = 0xff;
	in = (struct p9_in){ .buf = b, .len = sizeof(b) };
	CHECK_EQ(p9_getstr(&in, s, sizeof(s)), -EINVAL);
	in = (struct p9_in){ .buf = b, .len = 1 };
	CHECK_EQ(p9_getstr(&in, s, sizeof(s)), -EINVAL);
	CHECK(!p9_in_ok(&in));
	/* A zero-capacity destination is never written. */
	b[0] = 0;
	b[1] = 0;
	in = (struct p9_in){ .buf = b, .len = 2 };
	CHECK_EQ(p9_getstr(&in, NULL, 0), -ENAMETOOLONG);
}

TEST(writers_bounded)
{
	uint8_t b[16];
	struct p9_out out = { .buf = b, .cap = 7 };
	struct p9_qid q = { 0x80, 0x11223344, 0x0102030405060708ULL };

	memset(b, GUARD, sizeof(b));
	p9_put32(&out, 0xaabbccdd);
	p9_put16(&out, 0x1122);
	CHECK(!out.err);
	p9_put16(&out, 0x3344); /* one byte left */
	CHECK(out.err);
	p9_put8(&out, 1);
	CHECK_EQ(out.pos, 6);
	CHECK_EQ(b[0], 0xdd);
	CHECK_EQ(b[3], 0xaa);
	CHECK_EQ(b[4], 0x22);
	CHECK_EQ(b[6], GUARD);

	out = (struct p9_out){ .buf = b, .cap = 5 };
	p9_putstr(&out, "abcd");
	CHECK(out.err);
	out = (struct p9_out){ .buf = b, .cap = 6 };
	p9_putstr(&out, "abcd");
	CHECK(!out.err);
	CHECK_EQ(out.pos, 6);
	CHECK_EQ(b[0], 4);
	CHECK(!memcmp(b + 2, "abcd", 4));

	out = (struct p9_out){ .buf = b, .cap = 13 };
	p9_putqid(&out, &q);
	CHECK(!out.err);
	CHECK_EQ(b[0], 0x80);
	CHECK_EQ(b[1], 0x44);
	CHECK_EQ(b[5], 0x08);
	CHECK_EQ(b[12], 0x01);
	out = (struct p9_out){ .buf = b, .cap = 12 };
	p9_putqid(&out, &q);
	CHECK(out.err);
}

TEST(iov_slice_cases)
{
	uint8_t a[10], b[0], c[5];
	const struct iovec iov[] = { { a, 10 }, { b, 0 }, { c, 5 } };
	struct iovec d[4];
	size_t got;

	/* Inside the first, across the empty one into the third. */
	CHECK_EQ(p9_iov_slice(iov, 3, 2, 4, d, 4, &got), 1);
	CHECK_EQ(got, 4);
	CHECK_PTR_EQ(d[0].iov_base, a + 2);
	CHECK_EQ(d[0].iov_len, 4);
	CHECK_EQ(p9_iov_slice(iov, 3, 8, 100, d, 4, &got), 2);
	CHECK_EQ(got, 7);
	CHECK_PTR_EQ(d[0].iov_base, a + 8);
	CHECK_EQ(d[0].iov_len, 2);
	CHECK_PTR_EQ(d[1].iov_base, c);
	CHECK_EQ(d[1].iov_len, 5);
	/* Starting exactly at a boundary, and in the last buffer. */
	CHECK_EQ(p9_iov_slice(iov, 3, 10, 3, d, 4, &got), 1);
	CHECK_PTR_EQ(d[0].iov_base, c);
	CHECK_EQ(got, 3);
	CHECK_EQ(p9_iov_slice(iov, 3, 14, 3, d, 4, &got), 1);
	CHECK_PTR_EQ(d[0].iov_base, c + 4);
	CHECK_EQ(got, 1);
	/* Past the end, zero length, no room. */
	CHECK_EQ(p9_iov_slice(iov, 3, 15, 3, d, 4, &got), 0);
	CHECK_EQ(got, 0);
	CHECK_EQ(p9_iov_slice(iov, 3, SIZE_MAX, 3, d, 4, &got), 0);
	CHECK_EQ(got, 0);
	CHECK_EQ(p9_iov_slice(iov, 3, 0, 0, d, 4, &got), 0);
	CHECK_EQ(got, 0);
	CHECK_EQ(p9_iov_slice(iov, 3, 0, 15, d, 1, &got), 1);
	CHECK_EQ(got, 10); /* capped by the room for entries */
	CHECK_EQ(p9_iov_slice(iov, 0, 0, 15, d, 4, &got), 0);
	CHECK_EQ(got, 0);
	CHECK_EQ(p9_iov_slice(iov, 3, 0, SIZE_MAX, d, 4, &got), 2);
	CHECK_EQ(got, 15);
}

/* --- Framing --- */

/* Run @msg with a reply buffer of @room bytes followed by guard bytes;
 * checks the guard and returns the reply length. */
static uint32_t handle_room(struct p9c_export *fx, const void *msg,
			    size_t len, uint8_t *resp, size_t room)
{
	struct iovec iov[2] = { { (void *)msg, len }, { resp, room } };
	uint32_t n;
	size_t i;

	memset(resp, GUARD, room + 64);
	n = p9_handle(fx->s, iov, 1, 1);
	for (i = room; i < room + 64; i++)
		if (!CHECK_EQ(resp[i], GUARD))
			break;
	return n;
}

static void check_rlerror(const uint8_t *r, uint32_t n, uint16_t tag, int err)
{
	CHECK_EQ(n, 11);
	CHECK_EQ(r[0] | r[1] << 8, 11);
	CHECK_EQ(r[4], P9_RLERROR);
	CHECK_EQ(r[5] | r[6] << 8, tag);
	CHECK_EQ(r[7] | r[8] << 8, err);
}

TEST(bad_size_field)
{
	uint8_t m[32] = { 0 }, r[128];
	struct p9c_export fx;
	uint32_t size, n;

	if (!fx_init(&fx))
		goto out;
	/* A valid Tclunk body for fid 99, with lying size fields. */
	put_le(m + 7, 99, 4);
	for (size = 0; size < 7; size++) {
		hdr(m, size, P9_TCLUNK, 0x1234);
		n = handle_room(&fx, m, 11, r, 64);
		check_rlerror(r, n, 0x1234, EINVAL);
	}
	hdr(m, 12, P9_TCLUNK, 0x77);
	check_rlerror(r, handle_room(&fx, m, 11, r, 64), 0x77, EINVAL);
	hdr(m, 0xffffffff, P9_TCLUNK, 0x77);
	check_rlerror(r, handle_room(&fx, m, 11, r, 64), 0x77, EINVAL);
	/* Size shorter than the buffers: the rest is ignored, so the body
	 * is cut to 3 bytes. */
	hdr(m, 10, P9_TCLUNK, 0x78);
	check_rlerror(r, handle_room(&fx, m, 11, r, 64), 0x78, EINVAL);
	/* Right size: the fid is unknown. */
	hdr(m, 11, P9_TCLUNK, 0x79);
	check_rlerror(r, handle_room(&fx, m, 11, r, 64), 0x79, ENOENT);
	/* Fewer than 7 bytes at all: still no crash; an error or nothing. */
	for (size = 0; size < 7; size++) {
		n = handle_room(&fx, m, size, r, 64);
		CHECK(n == 0 || (n == 11 && r[4] == P9_RLERROR));
	}
	CHECK_EQ(p9_server_nr_fids(fx.s), 1);
out:
	p9c_export_fini(&fx);
}

/* A well-formed body for @type using fid ROOT (names that exist nowhere),
 * or 0 if the type takes none we know of; returns the body length. */
static size_t sample_body(uint8_t type, uint8_t *b)
{
	size_t n = 0;

#define U8(v) (b[n++] = (uint8_t)(v))
#define U16(v) (put_le(b + n, (v), 2), n += 2)
#define U32(v) (put_le(b + n, (v), 4), n += 4)
#define U64(v) (put_le(b + n, (v), 8), n += 8)
#define STR(s) (U16(strlen(s)), memcpy(b + n, (s), strlen(s)), n += strlen(s))
	switch (type) {
	case P9_TVERSION: U32(MSIZE); STR("9P2000.L"); break;
	case P9_TAUTH: U32(50); STR("u"); STR(""); U32(0); break;
	case P9_TATTACH: U32(50); U32(P9_NOFID); STR("u"); STR(""); U32(0); break;
	case P9_TFLUSH: U16(3); break;
	case P9_TWALK: U32(ROOT); U32(51); U16(2); STR("nx"); STR("ny"); break;
	case P9_TLOPEN: U32(ROOT); U32(0); break;
	case P9_TLCREATE: U32(ROOT); STR("newf"); U32(0); U32(0644); U32(0); break;
	case P9_TREAD: U32(ROOT); U64(0); U32(100); break;
	case P9_TWRITE: U32(ROOT); U64(0); U32(3); STR("a"); break;
	case P9_TCLUNK: case P9_TREMOVE: case P9_TSTATFS: case P9_TREADLINK:
		U32(ROOT); break;
	case P9_TGETATTR: U32(ROOT); U64(P9_GETATTR_ALL); break;
	case P9_TSETATTR: U32(ROOT); U32(0); U32(0); U32(0); U32(0); U64(0);
		U64(0); U64(0); U64(0); U64(0); break;
	case P9_TREADDIR: U32(ROOT); U64(0); U32(1000); break;
	case P9_TFSYNC: U32(ROOT); U32(0); break;
	case P9_TLOCK: U32(ROOT); U8(0); U32(0); U64(0); U64(0); U32(1); STR("c"); break;
	case P9_TGETLOCK: U32(ROOT); U8(0); U64(0); U64(0); U32(1); STR("c"); break;
	case P9_TXATTRWALK: U32(ROOT); U32(52); STR("user.x"); break;
	case P9_TXATTRCREATE: U32(ROOT); STR("user.x"); U64(1); U32(0); break;
	case P9_TSYMLINK: U32(ROOT); STR("sl"); STR("tgt"); U32(0); break;
	case P9_TMKNOD: U32(ROOT); STR("nod"); U32(S_IFIFO | 0644); U32(0); U32(0); U32(0); break;
	case P9_TRENAME: U32(ROOT); U32(ROOT); STR("nn"); break;
	case P9_TLINK: U32(ROOT); U32(ROOT); STR("ln"); break;
	case P9_TMKDIR: U32(ROOT); STR("md"); U32(0755); U32(0); break;
	case P9_TRENAMEAT: U32(ROOT); STR("o"); U32(ROOT); STR("n"); break;
	case P9_TUNLINKAT: U32(ROOT); STR("u"); U32(0); break;
	default: break;
	}
#undef U8
#undef U16
#undef U32
#undef U64
#undef STR
	return n;
}

TEST(truncated_bodies_every_type)
{
	uint8_t m[512], r[MSIZE + 64];
	struct p9c_export fx;
	unsigned int t;
	size_t len, cut;
	uint32_t n;

	if (!fx_init(&fx))
		goto out;
	for (t = 0; t < 256; t++) {
		len = sample_body((uint8_t)t, m + 7);
		for (cut = 0; cut < len || (cut == 0 && len == 0); cut++) {
			hdr(m, (uint32_t)(7 + cut), (uint8_t)t, (uint16_t)(t + cut));
			n = handle_room(&fx, m, 7 + cut, r, MSIZE);
			/* Tflush has nothing to check in an empty queue, but
			 * it still needs its oldtag. */
			if (!CHECK_EQ(n, 11) || !CHECK_EQ(r[4], P9_RLERROR) ||
			    !CHECK_EQ(r[5] | r[6] << 8, (uint16_t)(t + cut)))
				printf("  type %u, body %zu of %zu bytes\n", t, cut, len);
			if (!len)
				break;
		}
	}
	/* None of it changed the session or the export. */
	CHECK_EQ(p9_server_nr_fids(fx.s), 1);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETATTR, "dq", ROOT, (uint64_t)0), 0);
	CHECK_EQ(host_size(&fx, "newf"), -1);
	CHECK_EQ(host_size(&fx, "md"), -1);
out:
	p9c_export_fini(&fx);
}

TEST(random_bodies_every_type)
{
	uint8_t m[7 + 96], r[MSIZE + 64];
	unsigned int seed = 12345, t, i, k;
	struct p9c_export fx;
	uint32_t n;

	if (!fx_init(&fx))
		goto out;
	for (t = 0; t < 256; t++) {
		if (t == P9_TVERSION)
			continue; /* would end the session: tested elsewhere */
		for (k = 0; k < 20; k++) {
			size_t len = rand_r(&seed) % 96;

			for (i = 0; i < len; i++)
				m[7 + i] = (uint8_t)rand_r(&seed);
			/* Half the time aim at the root fid. */
			if (len >= 4 && (k & 1))
				put_le(m + 7, ROOT, 4);
			hdr(m, (uint32_t)(7 + len), (uint8_t)t, 9);
			n = handle_room(&fx, m, 7 + len, r, MSIZE);
			CHECK(n >= 7 && n <= MSIZE);
			CHECK_EQ(r[0] | r[1] << 8 | r[2] << 16, n);
			CHECK(r[4] == P9_RLERROR || r[4] == t + 1);
			CHECK_EQ(r[5] | r[6] << 8, 9);
		}
	}
out:
	p9c_export_fini(&fx);
}

TEST(unknown_and_legacy_types)
{
	static const uint8_t types[] = {
		0, 1, 5, P9_TLERROR, P9_RLERROR, 99, P9_RVERSION, P9_TERROR,
		P9_TOPEN, P9_TCREATE, P9_TSTAT, P9_TWSTAT, P9_RREAD, 200, 255,
	};
	struct p9c_export fx;
	size_t i;

	if (!fx_init(&fx))
		goto out;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		CHECK_EQ(p9c_call(&fx.c, types[i], "dd", ROOT, 0), -EOPNOTSUPP);
	CHECK_EQ(p9c_call(&fx.c, P9_TAUTH, "ddssd", 5, P9_NOFID, "u", "", 0),
		 -EOPNOTSUPP);
	/* Attach with an auth fid is refused. */
	CHECK_EQ(p9c_call(&fx.c, P9_TATTACH, "ddssd", 5, 7, "u", "", 0), -EINVAL);
	CHECK_EQ(p9_server_nr_fids(fx.s), 1);
out:
	p9c_export_fini(&fx);
}

TEST(walk_too_many_names)
{
	const char *p17 = "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q";
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, p17), -EINVAL);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, p17 + 2), -ENOENT); /* 16: walked */
	/* Names that are not components. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "."), -EINVAL);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "a//b"), -ENOENT);
	CHECK_EQ(p9c_call(&fx.c, P9_TWALK, "ddws", ROOT, 2, 1, ""), -EINVAL);
	CHECK_EQ(p9_server_nr_fids(fx.s), 1);
out:
	p9c_export_fini(&fx);
}

/* Walk @name to fid 2 and open it with @flags. */
static bool open_file(struct p9c_export *fx, const char *name,
		      uint32_t fid, uint32_t flags)
{
	return CHECK_EQ(p9c_walk(&fx->c, ROOT, fid, name), 0) &&
	       CHECK_EQ(p9c_call(&fx->c, P9_TLOPEN, "dd", fid, flags), 0);
}

TEST(huge_read_count_clipped)
{
	static uint8_t data[100000];
	uint8_t *buf = malloc(MSIZE);
	struct p9c_export fx;
	uint32_t count;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	if (!fx_init(&fx) || !buf)
		goto out;
	host_write(&fx, "big", data, sizeof(data));
	if (!open_file(&fx, "big", 2, P9_DOTL_RDONLY))
		goto out;
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 2, (uint64_t)10, 0xffffffffu), 0);
	CHECK_EQ(fx.c.resp_len, MSIZE);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, buf), 0);
	CHECK_EQ(count, MSIZE - 11);
	CHECK(!memcmp(buf, data + 10, count));
	/* At the end of the file: the bytes that are there, then none. */
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 2, (uint64_t)sizeof(data) - 5,
			  0xffffffffu), 0);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, buf), 0);
	CHECK_EQ(count, 5);
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 2, (uint64_t)1 << 40, 100), 0);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, buf), 0);
	CHECK_EQ(count, 0);
	/* An offset no file can have. */
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 2, (uint64_t)1 << 63, 100), -EINVAL);
out:
	free(buf);
	p9c_export_fini(&fx);
}

TEST(huge_write_count_short_payload)
{
	uint8_t m[64], r[128];
	struct p9c_export fx;
	uint32_t n;
	int fd;
	char path[96], got[32] = { 0 };

	if (!fx_init(&fx))
		goto out;
	host_write(&fx, "w", "", 0);
	if (!open_file(&fx, "w", 2, P9_DOTL_RDWR))
		goto out;
	hdr(m, 23 + 10, P9_TWRITE, 42);
	put_le(m + 7, 2, 4);
	put_le(m + 11, 0, 8);
	put_le(m + 19, 1000000, 4);
	memcpy(m + 23, "0123456789", 10);
	n = handle_room(&fx, m, 23 + 10, r, 64);
	CHECK_EQ(n, 11);
	CHECK_EQ(r[4], P9_RWRITE);
	CHECK_EQ(r[7] | r[8] << 8, 10);
	CHECK_EQ(host_size(&fx, "w"), 10);
	/* Bytes past the size field are not the message's. */
	hdr(m, 23 + 4, P9_TWRITE, 43);
	put_le(m + 11, 20, 8);
	n = handle_room(&fx, m, 23 + 10, r, 64);
	CHECK_EQ(r[7] | r[8] << 8, 4);
	CHECK_EQ(host_size(&fx, "w"), 24);
	snprintf(path, sizeof(path), "%s/w", fx.dir);
	fd = open(path, O_RDONLY);
	CHECK_EQ(pread(fd, got, 4, 20), 4);
	CHECK_STREQ(got, "0123");
	close(fd);
	/* A Twrite too short for its fixed fields. */
	hdr(m, 22, P9_TWRITE, 44);
	check_rlerror(r, handle_room(&fx, m, 22, r, 64), 44, EINVAL);
	/* Writes to a read-only fid fail on the host. */
	CHECK(open_file(&fx, "w", 3, P9_DOTL_RDONLY));
	CHECK_EQ(p9c_call(&fx.c, P9_TWRITE, "dqD", 3, (uint64_t)0, 2, "ab"), -EBADF);
out:
	p9c_export_fini(&fx);
}

TEST(tiny_reply_buffers)
{
	uint8_t m[32], r[128];
	struct p9c_export fx;
	size_t room;
	uint32_t n;

	if (!fx_init(&fx))
		goto out;
	host_write(&fx, "f", "abcdefghijklmnopqrstuvwxyz", 26);
	if (!open_file(&fx, "f", 2, P9_DOTL_RDONLY))
		goto out;
	hdr(m, 19, P9_TGETATTR, 5);
	put_le(m + 7, ROOT, 4);
	put_le(m + 11, P9_GETATTR_BASIC, 8);
	for (room = 0; room < 11; room++)
		CHECK_EQ(handle_room(&fx, m, 19, r, room), 0);
	for (room = 11; room <= 20; room++) /* Rgetattr needs 160 */
		check_rlerror(r, handle_room(&fx, m, 19, r, room), 5, ENOSPC);
	/* Rread: as much data as fits after its 11-byte header. */
	hdr(m, 23, P9_TREAD, 6);
	put_le(m + 7, 2, 4);
	put_le(m + 11, 0, 8);
	put_le(m + 19, 100, 4);
	for (room = 0; room < 11; room++)
		CHECK_EQ(handle_room(&fx, m, 23, r, room), 0);
	for (room = 11; room <= 20; room++) {
		n = handle_room(&fx, m, 23, r, room);
		CHECK_EQ(n, room);
		CHECK_EQ(r[4], P9_RREAD);
		CHECK_EQ(r[7], room - 11);
		CHECK(!memcmp(r + 11, "abcdefghij", room - 11));
	}
	/* A reply buffer split in many pieces, the header across them. */
	{
		uint8_t a[3], b[5], c[40];
		struct iovec iov[4] = { { m, 23 }, { a, 3 }, { b, 5 }, { c, 40 } };

		n = p9_handle(fx.s, iov, 1, 3);
		CHECK_EQ(n, 11 + 26);
		CHECK_EQ(a[0], 37);
		CHECK_EQ(b[1], P9_RREAD);
		CHECK_EQ(b[2], 6);
		CHECK_EQ(b[4], 26);
		CHECK_EQ(c[0], 0);
		CHECK(!memcmp(c + 3, "abcdefghijklmnopqrstuvwxyz", 26));
	}
out:
	p9c_export_fini(&fx);
}

TEST(request_split_byte_by_byte)
{
	uint8_t m[32], r[256];
	struct iovec iov[33];
	struct p9c_export fx;
	unsigned int i;

	if (!fx_init(&fx))
		goto out;
	hdr(m, 19, P9_TGETATTR, 0x4321);
	put_le(m + 7, ROOT, 4);
	put_le(m + 11, P9_GETATTR_BASIC, 8);
	for (i = 0; i < 19; i++)
		iov[i] = (struct iovec){ m + i, 1 };
	iov[19] = (struct iovec){ r, sizeof(r) };
	CHECK_EQ(p9_handle(fx.s, iov, 19, 1), 160);
	CHECK_EQ(r[4], P9_RGETATTR);
	CHECK_EQ(r[5] | r[6] << 8, 0x4321);
	/* Zero-length pieces on both sides. */
	iov[0] = (struct iovec){ m, 0 };
	iov[1] = (struct iovec){ m, 19 };
	iov[2] = (struct iovec){ r, 0 };
	iov[3] = (struct iovec){ r, sizeof(r) };
	CHECK_EQ(p9_handle(fx.s, iov, 2, 2), 160);
out:
	p9c_export_fini(&fx);
}

TEST(msize_negotiation)
{
	char version[P9_STR_MAX + 1];
	uint8_t *buf = malloc(16384);
	struct p9c_export fx;
	uint32_t msize, count;

	if (!fx_init_cfg(&fx, 0, 16384) || !buf)
		goto out;
	CHECK_EQ(p9c_call(&fx.c, P9_TVERSION, "ds", 1u << 30, "9P2000.L"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "ds", &msize, version), 0);
	CHECK_EQ(msize, P9_MAX_MSIZE);
	CHECK_STREQ(version, "9P2000.L");
	CHECK_EQ(p9_server_nr_fids(fx.s), 0); /* the session was reset */

	CHECK_EQ(p9c_call(&fx.c, P9_TVERSION, "ds", P9_MIN_MSIZE - 1, "9P2000.L"),
		 -EINVAL);
	CHECK_EQ(p9c_call(&fx.c, P9_TVERSION, "ds", 0, "9P2000.L"), -EINVAL);
	CHECK_EQ(p9c_call(&fx.c, P9_TVERSION, "ds", P9_MIN_MSIZE, "9P2000.L.foo"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "ds", &msize, version), 0);
	CHECK_EQ(msize, P9_MIN_MSIZE);
	CHECK_STREQ(version, "9P2000.L");
	static const char *const bad[] = { "9P2000.u", "9P2000", "9P2000.Lx", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_EQ(p9c_call(&fx.c, P9_TVERSION, "ds", 8192, bad[i]), 0);
		CHECK_EQ(p9c_reply(&fx.c, "ds", &msize, version), 0);
		CHECK_STREQ(version, "unknown");
	}

	/* msize 4096 caps replies even when the buffer offers more. */
	CHECK_EQ(p9c_version_attach(&fx.c, P9_MIN_MSIZE, ROOT), 0);
	{
		static uint8_t data[10000];

		memset(data, 'z', sizeof(data));
		host_write(&fx, "f", data, sizeof(data));
	}
	if (!open_file(&fx, "f", 2, P9_DOTL_RDONLY))
		goto out;
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 2, (uint64_t)0, 10000), 0);
	CHECK_EQ(fx.c.resp_len, P9_MIN_MSIZE);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, buf), 0);
	CHECK_EQ(count, P9_MIN_MSIZE - 11);
out:
	free(buf);
	p9c_export_fini(&fx);
}

TEST(tags_echoed)
{
	static const uint16_t tags[] = { 0, 1, 0x1234, 0xfffe, 0xffff };
	uint8_t m[32], r[256];
	struct p9c_export fx;
	size_t i;

	if (!fx_init(&fx))
		goto out;
	for (i = 0; i < ARRAY_SIZE(tags); i++) {
		hdr(m, 19, P9_TGETATTR, tags[i]);
		put_le(m + 7, ROOT, 4);
		put_le(m + 11, 0, 8);
		CHECK_EQ(handle_room(&fx, m, 19, r, sizeof(r) - 64), 160);
		CHECK_EQ(r[4], P9_RGETATTR);
		CHECK_EQ(r[5] | r[6] << 8, tags[i]);
		put_le(m + 7, 77, 4);
		check_rlerror(r, handle_room(&fx, m, 19, r, sizeof(r) - 64),
			      tags[i], ENOENT);
	}
out:
	p9c_export_fini(&fx);
}

TEST(getattr_statfs_fields)
{
	uint64_t valid, nlink, rdev, size, blksize, blocks, t[8], gen, dv;
	uint32_t mode, uid, gid, type, bsize, namelen;
	uint64_t fblocks, bfree, bavail, files, ffree, fsid;
	struct p9_qid qid, qid2;
	struct stat st;
	char path[96];
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_write(&fx, "g", "12345", 5);
	snprintf(path, sizeof(path), "%s/g", fx.dir);
	chmod(path, 0640);
	REQUIRE(!stat(path, &st));
	if (!CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "g"), 0))
		goto out;
	CHECK_EQ(p9c_call(&fx.c, P9_TGETATTR, "dq", 2, P9_GETATTR_ALL), 0);
	CHECK_EQ(p9c_reply(&fx.c, "qQdddqqqqqqqqqqqqqqq", &valid, &qid, &mode,
			   &uid, &gid, &nlink, &rdev, &size, &blksize, &blocks,
			   &t[0], &t[1], &t[2], &t[3], &t[4], &t[5], &t[6],
			   &t[7], &gen, &dv), 0);
	CHECK_EQ(fx.c.rin.pos, fx.c.rin.len);
	CHECK_EQ(valid, P9_GETATTR_BASIC);
	CHECK_EQ(qid.type, P9_QTFILE);
	CHECK_EQ(qid.path & ((1ULL << 48) - 1), st.st_ino);
	CHECK_EQ(qid.path >> 48, 0);
	CHECK_EQ(mode, S_IFREG | 0640);
	CHECK_EQ(uid, st.st_uid);
	CHECK_EQ(gid, st.st_gid);
	CHECK_EQ(nlink, 1);
	CHECK_EQ(size, 5);
	CHECK_EQ(t[2], (uint64_t)st.st_mtim.tv_sec);
	CHECK_EQ(t[3], (uint64_t)st.st_mtim.tv_nsec);
	/* The root is a directory. */
	CHECK_EQ(p9c_call(&fx.c, P9_TGETATTR, "dq", ROOT, P9_GETATTR_ALL), 0);
	CHECK_EQ(p9c_reply(&fx.c, "qQd", &valid, &qid2, &mode), 0);
	CHECK_EQ(qid2.type, P9_QTDIR);
	CHECK(S_ISDIR(mode));

	CHECK_EQ(p9c_call(&fx.c, P9_TSTATFS, "d", 2), 0);
	CHECK_EQ(p9c_reply(&fx.c, "ddqqqqqqd", &type, &bsize, &fblocks, &bfree,
			   &bavail, &files, &ffree, &fsid, &namelen), 0);
	CHECK(bsize > 0);
	CHECK_EQ(namelen, 255);
	CHECK_EQ(fx.c.rin.pos, fx.c.rin.len);
out:
	p9c_export_fini(&fx);
}

int main(void)
{
	RUN(getters_at_buffer_end);
	RUN(getstr_cases);
	RUN(writers_bounded);
	RUN(iov_slice_cases);
	RUN(bad_size_field);
	RUN(truncated_bodies_every_type);
	RUN(random_bodies_every_type);
	RUN(unknown_and_legacy_types);
	RUN(walk_too_many_names);
	RUN(huge_read_count_clipped);
	RUN(huge_write_count_short_payload);
	RUN(tiny_reply_buffers);
	RUN(request_split_byte_by_byte);
	RUN(msize_negotiation);
	RUN(tags_echoed);
	RUN(getattr_statfs_fields);
	return test_summary();
}
