// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p (virtio/9p.c) over vq_driver's fake transport, with worker
 * threads and the real 9P server exporting a temporary directory: T-messages
 * travel through the rings like a guest's, replies are checked in guest RAM
 * and files on the host.  Hostile chains and garbage messages must be
 * answered (0 bytes or Rlerror), write nothing outside the reply buffers
 * (guard bytes, ASan/UBSan) and leave the device working; a reset must wait
 * for requests in flight and forget every fid.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_9p.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/config.h"
#include "lkvm/p9.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "host_files.h"
#include "p9_client.h"
#include "p9_treq.h"
#include "test.h"
#include "vq_driver.h"

#define RAM (32 * MiB)
#define FILL 0xA5
#define GUARD 64
#define REPLY 8192          /* reply room for small messages */
#define MSIZE (512 * 1024)
#define F(bit) (1ULL << (bit))

struct ctx {
	struct vqd_env env;
	struct share_config share;
	struct virtio_dev *vdev;
	struct vqd_queue q;
	char dir[64];
	uint16_t next_tag;
};

/* --- Host side: the exported directory --- */

static bool host_write(struct ctx *c, const char *name, const void *data,
		       size_t len)
{
	return file_put_at(c->dir, name, data, len, 0644) == 0;
}

/* The host file @name holds exactly @len bytes equal to @want. */
static bool host_file_is(struct ctx *c, const char *name, const void *want,
			 size_t len)
{
	char path[128];
	uint8_t *buf;
	size_t got;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	if (read_whole_file(path, &buf, &got))
		return false;
	ok = got == len && !memcmp(buf, want, len);
	free(buf);
	return ok;
}

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 12) * 13 + 1);
}

static bool host_pattern_file(struct ctx *c, const char *name, size_t len)
{
	uint8_t *p = malloc(len);
	bool ok;

	if (!p)
		return false;
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(i);
	ok = host_write(c, name, p, len);
	free(p);
	return ok;
}

/* --- Device setup --- */

static bool dev_setup(struct ctx *c, uint16_t qsize)
{
	uint64_t f = c->vdev->host_features;

	vqd_attach(&c->env, c->vdev);
	if (!CHECK(vqd_negotiate(c->vdev, f) & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    !CHECK(c->vdev->guest_features & F(VIRTIO_9P_MOUNT_TAG)) ||
	    !CHECK_EQ(vqd_queue_setup(&c->q, &c->env, &c->vdev->vqs[0], qsize),
		      0))
		return false;
	return CHECK(vqd_driver_ok(c->vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static bool ctx_init_tag(struct ctx *c, uint16_t qsize, const char *tag)
{
	memset(c, 0, sizeof(*c));
	c->next_tag = 1;
	if (!CHECK(tmp_dir_make(c->dir, sizeof(c->dir), "virtio-9p")))
		return false;
	if (!CHECK_EQ(vqd_env_init(&c->env, RAM, 2), 0))
		return false;
	c->share.path = c->dir;
	snprintf(c->share.tag, sizeof(c->share.tag), "%s", tag);
	c->vdev = virtio_9p_new(&c->env.vm, &c->share);
	if (!CHECK(c->vdev))
		return false;
	return dev_setup(c, qsize);
}

static bool ctx_init(struct ctx *c, uint16_t qsize)
{
	return ctx_init_tag(c, qsize, LKVM_9P_DEFAULT_TAG);
}

static void ctx_fini(struct ctx *c)
{
	if (c->vdev)
		virtio_dev_destroy(c->vdev);
	if (c->env.map)
		vqd_env_destroy(&c->env);
	tmp_dir_remove(c->dir);
}

/* --- T-messages --- */

struct msg {
	uint8_t b[16384];
	size_t len;
	uint16_t tag;
	uint8_t type;
};

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	n = MIN(n, sizeof(m->b) - m->len);
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* A T-message of @type with body @fmt (p9_client.h's formats).  Tversion
 * gets NOTAG, anything else the next tag. */
static void build(struct ctx *c, struct msg *m, uint8_t type,
		  const char *fmt, ...)
{
	uint8_t *p;
	size_t len;
	va_list ap;
	int r;

	m->len = 0;
	m->type = type;
	m->tag = type == P9_TVERSION ? P9_NOTAG : c->next_tag++;
	va_start(ap, fmt);
	r = p9c_encode(&p, &len, type, m->tag, fmt, ap);
	va_end(ap);
	if (!CHECK_EQ(r, 0))
		return;
	put_bytes(m, p, len);
	free(p);
}

/* Raw bytes as a message (garbage tests); tag/type from the bytes if any. */
static void build_raw(struct msg *m, const void *p, size_t n)
{
	m->len = 0;
	put_bytes(m, p, n);
	m->type = n > 4 ? m->b[4] : 0;
	m->tag = n > 6 ? (uint16_t)(m->b[5] | m->b[6] << 8) : 0;
}

/* --- Replies --- */

static uint32_t le32_at(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool err;
};

static uint64_t get(struct rd *r, unsigned int n)
{
	uint64_t v = 0;

	if (r->err || r->len - r->pos < n) {
		r->err = true;
		return 0;
	}
	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->pos + i] << (8 * i);
	r->pos += n;
	return v;
}

static void skip(struct rd *r, size_t n)
{
	if (r->err || r->len - r->pos < n)
		r->err = true;
	else
		r->pos += n;
}

/* A string into @dst (room for @cap bytes, NUL-terminated). */
static void get_str(struct rd *r, char *dst, size_t cap)
{
	size_t n = (size_t)get(r, 2);

	if (r->err || r->len - r->pos < n || n >= cap) {
		r->err = true;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p + r->pos, n);
	dst[n] = '\0';
	r->pos += n;
}

/* A reply in flight: where it lands and what it answers. */
struct call {
	int head;
	struct msg *m;
	uint8_t *reply;         /* host view of the (single) reply buffer */
	uint32_t cap;
	uint32_t len;           /* used length */
	struct rd rd;           /* body reader, after the header */
};

/* Post @m with one reply buffer of @cap bytes (+ GUARD bytes of FILL),
 * as a direct chain or through an indirect table (one ring entry). */
static bool post_chain(struct ctx *c, struct msg *m, uint32_t cap,
		       struct call *k, bool indirect)
{
	void *out, *in;
	uint64_t og = vqd_alloc(&c->env, m->len ? m->len : 1, 16, &out);
	uint64_t ig = vqd_alloc(&c->env, cap + GUARD, 16, &in);

	memset(k, 0, sizeof(*k));
	if (!CHECK(og && ig))
		return false;
	memcpy(out, m->b, m->len);
	memset(in, FILL, cap + GUARD);
	struct vqd_buf b[2] = { { og, (uint32_t)m->len, false },
				{ ig, cap, true } };
	k->m = m;
	k->reply = in;
	k->cap = cap;
	k->head = indirect ? vqd_add_indirect(&c->q, b, 2, NULL) :
			     vqd_add(&c->q, b, 2);
	return CHECK(k->head >= 0);
}

static bool post(struct ctx *c, struct msg *m, uint32_t cap, struct call *k)
{
	return post_chain(c, m, cap, k, false);
}

static void kick(struct ctx *c)
{
	virtq_kick(&c->vdev->vqs[0]);
}

static bool untouched(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != FILL)
			return false;
	return true;
}

/*
 * A used length checked against the call's reply: nothing past it or past
 * the buffer written; if there is a reply, its size field and tag are
 * right.  Sets up k->rd over the body.  Returns the reply type, 0 for an
 * empty reply, -1 for a broken one.
 */
static int check_reply(struct call *k, uint32_t len)
{
	const uint8_t *r = k->reply;

	k->len = len;
	if (!CHECK(len <= k->cap) || !CHECK(untouched(r + k->cap, GUARD)))
		return -1;
	if (!len)
		return 0;
	if (!CHECK(len >= P9_HDR_LEN) || !CHECK_EQ(le32_at(r), len) ||
	    !CHECK_EQ(r[5] | r[6] << 8, k->m->tag))
		return -1;
	k->rd = (struct rd){ r + P9_HDR_LEN, len - P9_HDR_LEN, 0, false };
	return r[4];
}

/* Send @m, wait for the reply; returns its type (see check_reply). */
static int rpc(struct ctx *c, struct msg *m, uint32_t cap, struct call *k)
{
	uint32_t id, len;

	if (!post(c, m, cap, k))
		return -1;
	kick(c);
	if (!CHECK(vqd_wait_used(&c->q, 1)) ||
	    !CHECK(vqd_get_used(&c->q, &id, &len)) ||
	    !CHECK_EQ(id, (uint32_t)k->head))
		return -1;
	return check_reply(k, len);
}

/* The errno of an Rlerror reply, 0 if @k holds a successful reply of the
 * request's type, -1 otherwise. */
static int reply_err(struct call *k, int type)
{
	if (type == P9_RLERROR) {
		uint32_t e = (uint32_t)get(&k->rd, 4);

		return k->rd.err ? -1 : (int)e;
	}
	return type == k->m->type + 1 ? 0 : -1;
}

/* Send, expect success (a reply of the right type); the body in k->rd. */
static bool ok_rpc(struct ctx *c, struct msg *m, struct call *k)
{
	int type = rpc(c, m, REPLY, k);

	return CHECK_EQ(reply_err(k, type), 0);
}

/* Tversion + Tattach of @fid; the negotiated msize in *msize. */
static bool session(struct ctx *c, uint32_t msize, uint32_t fid,
		    uint32_t *got_msize)
{
	struct msg m;
	struct call k;
	char version[32];
	uint8_t qtype;

	build(c, &m, P9_TVERSION, "ds", msize, "9P2000.L");
	if (!ok_rpc(c, &m, &k))
		return false;
	*got_msize = (uint32_t)get(&k.rd, 4);
	get_str(&k.rd, version, sizeof(version));
	if (!CHECK(!k.rd.err) || !CHECK_STREQ(version, "9P2000.L") ||
	    !CHECK(*got_msize <= msize && *got_msize >= P9_MIN_MSIZE))
		return false;
	build(c, &m, P9_TATTACH, "ddssd", fid, P9_NOFID, "root", "",
	      (uint32_t)0);
	if (!ok_rpc(c, &m, &k))
		return false;
	qtype = (uint8_t)get(&k.rd, 1);
	return CHECK(!k.rd.err) && CHECK_EQ(qtype, P9_QTDIR);
}

/* Twalk @fid -> @newfid through one name ("" clones). */
static bool walk(struct ctx *c, uint32_t fid, uint32_t newfid,
		 const char *name)
{
	struct msg m;
	struct call k;
	uint16_t nwqid;

	if (*name)
		build(c, &m, P9_TWALK, "ddws", fid, newfid, 1u, name);
	else
		build(c, &m, P9_TWALK, "ddw", fid, newfid, 0u);
	if (!ok_rpc(c, &m, &k))
		return false;
	nwqid = (uint16_t)get(&k.rd, 2);
	return CHECK(!k.rd.err) && CHECK_EQ(nwqid, *name ? 1 : 0);
}

static bool lopen(struct ctx *c, uint32_t fid, uint32_t flags)
{
	struct msg m;
	struct call k;

	build(c, &m, P9_TLOPEN, "dd", fid, flags);
	return ok_rpc(c, &m, &k);
}

static bool clunk(struct ctx *c, uint32_t fid)
{
	struct msg m;
	struct call k;

	build(c, &m, P9_TCLUNK, "d", fid);
	return ok_rpc(c, &m, &k);
}

/* --- Tests --- */

TEST(identity_and_config)
{
	struct ctx c;
	uint8_t cfg[80];
	char tag[LKVM_9P_TAG_MAX + 1];

	if (!ctx_init(&c, 64))
		goto out;
	CHECK_EQ(c.vdev->device_id, VIRTIO_ID_9P);
	CHECK_EQ(c.vdev->nr_queues, 1);
	CHECK_EQ(c.vdev->vqs[0].max_size, VIRTQ_MAX_SIZE);
	CHECK(c.vdev->host_features & F(VIRTIO_9P_MOUNT_TAG));
	CHECK_EQ(c.vdev->config_size, 2 + strlen("kvm_9p"));
	memset(cfg, 0xee, sizeof(cfg));
	virtio_config_access(c.vdev, 0, cfg, 2, false);
	CHECK_EQ(cfg[0] | cfg[1] << 8, 6);
	virtio_config_access(c.vdev, 2, cfg, 6, false);
	CHECK(!memcmp(cfg, "kvm_9p", 6));
	/* Byte by byte, as some drivers read it. */
	for (unsigned int i = 0; i < 8; i++)
		virtio_config_access(c.vdev, i, &cfg[10 + i], 1, false);
	CHECK(!memcmp(cfg + 10, "\x06\x00kvm_9p", 8));
	/* Writes are ignored; reads past the end give zeroes. */
	virtio_config_access(c.vdev, 2, "XXXX", 4, true);
	virtio_config_access(c.vdev, 2, cfg, 6, false);
	CHECK(!memcmp(cfg, "kvm_9p", 6));
	memset(cfg, 0xee, 4);
	virtio_config_access(c.vdev, 8, cfg, 4, false);
	CHECK_EQ(le32_at(cfg), 0);
	ctx_fini(&c);

	/* The longest tag. */
	memset(tag, 'T', LKVM_9P_TAG_MAX);
	tag[LKVM_9P_TAG_MAX] = '\0';
	if (!ctx_init_tag(&c, 64, tag))
		goto out;
	CHECK_EQ(c.vdev->config_size, 2 + LKVM_9P_TAG_MAX);
	virtio_config_access(c.vdev, 0, cfg, 2 + LKVM_9P_TAG_MAX, false);
	CHECK_EQ(cfg[0] | cfg[1] << 8, LKVM_9P_TAG_MAX);
	CHECK(!memcmp(cfg + 2, tag, LKVM_9P_TAG_MAX));
	CHECK(!strncmp(c.vdev->name, "virtio-9p", 9));
out:
	ctx_fini(&c);
}

TEST(creation_errors)
{
	struct vqd_env env;
	struct share_config sh = { .path = "/nonexistent-lkvm-9p" };
	struct virtio_dev *vdev;

	snprintf(sh.tag, sizeof(sh.tag), "t");
	REQUIRE(vqd_env_init(&env, 1 * MiB, 0) == 0);
	CHECK_NULL(virtio_9p_new(&env.vm, &sh));
	sh.path = "/etc/hostname"; /* not a directory */
	CHECK_NULL(virtio_9p_new(&env.vm, &sh));
	/* passthrough needs root: refused as another user, taken as root. */
	sh.path = "/tmp";
	sh.passthrough = true;
	if (getuid() == 0 && CHECK_EQ(seteuid(65534), 0)) {
		CHECK_NULL(virtio_9p_new(&env.vm, &sh));
		CHECK_EQ(seteuid(0), 0);
		vdev = virtio_9p_new(&env.vm, &sh);
		if (CHECK(vdev))
			virtio_dev_destroy(vdev);
	}
	vqd_env_destroy(&env);
}

/* Parse an Rreaddir body and note which of @names appear. */
static bool readdir_names(struct call *k, const char *const *names,
			  bool *seen, unsigned int nr, uint64_t *next_off,
			  unsigned int *entries)
{
	uint32_t count = (uint32_t)get(&k->rd, 4);
	struct rd d;

	if (!CHECK(!k->rd.err) || !CHECK(count <= k->rd.len - k->rd.pos))
		return false;
	d = (struct rd){ k->rd.p + k->rd.pos, count, 0, false };
	*entries = 0;
	while (d.pos < d.len) {
		char name[P9_NAME_MAX + 1];

		skip(&d, 13);          /* qid */
		*next_off = get(&d, 8);
		get(&d, 1);            /* type */
		get_str(&d, name, sizeof(name));
		if (!CHECK(!d.err))
			return false;
		for (unsigned int i = 0; i < nr; i++)
			if (!strcmp(name, names[i]))
				seen[i] = true;
		(*entries)++;
	}
	return true;
}

TEST(session_over_the_ring)
{
	static const char hello[] = "hello from the host\n";
	static const char written[] = "written by the guest over virtio-9p";
	static const char *const names[] = { "hello.txt", "new.txt", "sub" };
	bool seen[3] = { false, false, false };
	struct ctx c;
	struct msg m;
	struct call k;
	uint32_t msize, count;
	char sub[128];

	if (!ctx_init(&c, 128))
		goto out;
	REQUIRE(host_write(&c, "hello.txt", hello, strlen(hello)));
	snprintf(sub, sizeof(sub), "%s/sub", c.dir);
	REQUIRE(mkdir(sub, 0755) == 0);

	if (!session(&c, MSIZE, 1, &msize))
		goto out;
	CHECK_EQ(msize, MSIZE);

	/* Read a host file. */
	if (!walk(&c, 1, 2, "hello.txt") || !lopen(&c, 2, P9_DOTL_RDONLY))
		goto out;
	build(&c, &m, P9_TREAD, "dqd", 2u, (uint64_t)0, 4096u);
	if (!ok_rpc(&c, &m, &k))
		goto out;
	count = (uint32_t)get(&k.rd, 4);
	CHECK_EQ(count, strlen(hello));
	CHECK_EQ(k.len, P9_HDR_LEN + 4 + strlen(hello));
	CHECK(!memcmp(k.rd.p + 4, hello, strlen(hello)));

	/* Create and write a file: the host sees the bytes. */
	if (!walk(&c, 1, 3, ""))
		goto out;
	build(&c, &m, P9_TLCREATE, "dsddd", 3u, "new.txt",
	      (uint32_t)(P9_DOTL_RDWR | P9_DOTL_CREATE), 0644u, 0u);
	if (!ok_rpc(&c, &m, &k))
		goto out;
	build(&c, &m, P9_TWRITE, "dqD", 3u, (uint64_t)0,
	      (uint32_t)strlen(written), written);
	if (!ok_rpc(&c, &m, &k))
		goto out;
	count = (uint32_t)get(&k.rd, 4);
	CHECK_EQ(count, strlen(written));
	CHECK(host_file_is(&c, "new.txt", written, strlen(written)));

	/* List the directory, following the offsets. */
	if (!walk(&c, 1, 4, "") ||
	    !lopen(&c, 4, P9_DOTL_RDONLY | P9_DOTL_DIRECTORY))
		goto out;
	uint64_t off = 0;
	unsigned int entries, total = 0;
	for (int round = 0; round < 10; round++) {
		build(&c, &m, P9_TREADDIR, "dqd", 4u, off, 4096u);
		if (!ok_rpc(&c, &m, &k) ||
		    !readdir_names(&k, names, seen, 3, &off, &entries) ||
		    !entries)
			break;
		total += entries;
	}
	CHECK(seen[0] && seen[1] && seen[2]);
	CHECK(total >= 3 && total <= 5); /* maybe . and .. too */

	CHECK(clunk(&c, 2) && clunk(&c, 3) && clunk(&c, 4));
	CHECK_EQ(p9_server_nr_fids(virtio_9p_server(c.vdev)), 1);
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));
out:
	ctx_fini(&c);
}

#define BIG (1u << 20)
#define NR_PAGES 300 /* 4 KiB reply buffers per Tread: room for 1.17 MiB */

/*
 * A 1 MiB Tread with msize 512 KiB, the reply room spread over 300 small
 * guest buffers (an indirect table) with gaps between them: each reply
 * stops at msize and its bytes land in the right places.
 */
TEST(big_read_into_many_buffers)
{
	struct ctx c;
	struct msg m;
	uint8_t *page[NR_PAGES];
	struct vqd_buf b[NR_PAGES + 1];
	uint8_t *got = malloc(BIG);
	uint32_t msize, done = 0;
	int rounds = 0;

	if (!ctx_init(&c, 256) || !CHECK(got))
		goto out;
	REQUIRE(host_pattern_file(&c, "big", BIG));
	if (!session(&c, MSIZE, 1, &msize) || !CHECK_EQ(msize, MSIZE) ||
	    !walk(&c, 1, 2, "big") || !lopen(&c, 2, P9_DOTL_RDONLY))
		goto out;
	for (int i = 0; i < NR_PAGES; i++) {
		void *p;

		b[i + 1] = (struct vqd_buf){
			vqd_alloc(&c.env, 4096 + GUARD, 4096, &p), 4096, true };
		page[i] = p;
		if (!CHECK(b[i + 1].gpa))
			goto out;
	}
	while (done < BIG && rounds++ < 4) {
		void *out;
		uint32_t id, len, count;
		size_t pos = 0;

		build(&c, &m, P9_TREAD, "dqd", 2u, (uint64_t)done, BIG);
		b[0] = (struct vqd_buf){ vqd_alloc(&c.env, m.len, 16, &out),
					 (uint32_t)m.len, false };
		memcpy(out, m.b, m.len);
		for (int i = 0; i < NR_PAGES; i++)
			memset(page[i], FILL, 4096 + GUARD);
		int head = vqd_add_indirect(&c.q, b, NR_PAGES + 1, NULL);
		REQUIRE(head >= 0);
		kick(&c);
		REQUIRE(vqd_wait_used(&c.q, 1) &&
			vqd_get_used(&c.q, &id, &len));
		CHECK_EQ(id, (uint32_t)head);
		/* Gather the reply from the pages. */
		uint8_t *reply = malloc(len ? len : 1);
		REQUIRE(reply);
		for (int i = 0; i < NR_PAGES && pos < len; i++) {
			size_t n = MIN((size_t)4096, len - pos);

			memcpy(reply + pos, page[i], n);
			pos += n;
			CHECK(untouched(page[i] + 4096, GUARD));
			if (n < 4096)
				CHECK(untouched(page[i] + n, 4096 - n));
		}
		count = le32_at(reply + P9_HDR_LEN);
		CHECK_EQ(le32_at(reply), len);
		CHECK_EQ(reply[4], P9_RREAD);
		CHECK_EQ(reply[5] | reply[6] << 8, m.tag);
		CHECK(count > 0 && count <= MSIZE - P9_HDR_LEN - 4);
		CHECK(count >= MSIZE / 2 || done + count == BIG);
		CHECK_EQ(len, P9_HDR_LEN + 4 + count);
		if (count > BIG - done || len != P9_HDR_LEN + 4 + count) {
			free(reply);
			break;
		}
		memcpy(got + done, reply + P9_HDR_LEN + 4, count);
		free(reply);
		done += count;
	}
	CHECK_EQ(done, BIG);
	CHECK(rounds <= 3); /* two replies of ~512 KiB and the rest */
	for (uint32_t i = 0; i < done; i++) {
		if (got[i] != pattern(i)) {
			CHECK_EQ(got[i], pattern(i));
			printf("  (first bad byte at offset %u)\n", i);
			break;
		}
	}
out:
	free(got);
	ctx_fini(&c);
}

#define NR_INFLIGHT 128

/*
 * 128 Treads posted before one kick (more than one handler batch): every
 * request completes exactly once, with its own tag and data, and nothing
 * else is used.
 */
TEST(many_requests_in_flight)
{
	struct ctx c;
	static struct msg m[NR_INFLIGHT];
	struct call k[NR_INFLIGHT];
	bool done[NR_INFLIGHT] = { false };
	uint32_t msize, id, len;
	unsigned int n = 0;

	if (!ctx_init(&c, 256))
		goto out;
	REQUIRE(host_pattern_file(&c, "data", NR_INFLIGHT * 4096));
	if (!session(&c, 64 * 1024, 1, &msize) || !walk(&c, 1, 2, "data") ||
	    !lopen(&c, 2, P9_DOTL_RDONLY))
		goto out;
	for (int i = 0; i < NR_INFLIGHT; i++) {
		build(&c, &m[i], P9_TREAD, "dqd", 2u, (uint64_t)i * 4096, 4096u);
		if (!post(&c, &m[i], 4096 + 11, &k[i]))
			goto out;
	}
	kick(&c);
	CHECK(vqd_wait_used(&c.q, NR_INFLIGHT));
	while (vqd_get_used(&c.q, &id, &len)) {
		int i;

		n++;
		for (i = 0; i < NR_INFLIGHT; i++)
			if ((uint32_t)k[i].head == id && !done[i])
				break;
		if (!CHECK(i < NR_INFLIGHT))
			continue; /* unknown head, or used twice */
		done[i] = true;
		if (CHECK_EQ(check_reply(&k[i], len), P9_RREAD) &&
		    CHECK_EQ(get(&k[i].rd, 4), 4096)) {
			for (int j = 0; j < 4096; j++) {
				if (k[i].rd.p[4 + j] != pattern((uint64_t)i * 4096 + j)) {
					CHECK(!"data of the right offset");
					break;
				}
			}
		}
	}
	CHECK_EQ(n, NR_INFLIGHT);
	usleep(50 * 1000);
	CHECK(!vqd_get_used(&c.q, &id, &len));
	/* Completions interrupted the driver. */
	CHECK(vqd_signal_vq_count(&c.env) > 0);
out:
	ctx_fini(&c);
}

/*
 * A driver that re-posts a head before getting it back can have more
 * requests in flight than the queue has entries: the device caps them at
 * the queue size, waits for a completion, and still answers every one.
 */
TEST(reposted_heads)
{
	struct ctx c;
	struct msg m;
	struct call k;
	uint32_t msize, id, len;
	unsigned int n = 0;
	uint16_t base;

	if (!ctx_init(&c, 4))
		goto out;
	REQUIRE(host_pattern_file(&c, "data", 256 * 1024));
	if (!session(&c, MSIZE, 1, &msize) || !walk(&c, 1, 2, "data") ||
	    !lopen(&c, 2, P9_DOTL_RDONLY))
		goto out;
	base = vqd_used_idx(&c.q);
	build(&c, &m, P9_TREAD, "dqd", 2u, (uint64_t)0, 256u * 1024);
	if (!post(&c, &m, 256 * 1024 + 11, &k))
		goto out;
	for (int i = 0; i < 3; i++)
		vqd_publish(&c.q, (uint16_t)k.head);
	kick(&c);
	for (int round = 0; round < 4; round++) {
		/* Once the device took the last four, post them again. */
		for (int i = 0; i < 1000000 &&
		     (uint16_t)(vqd_avail_event(&c.q) - base) < 4 * (round + 1);
		     i++)
			sched_yield();
		for (int i = 0; i < 4; i++)
			vqd_publish(&c.q, (uint16_t)k.head);
		kick(&c);
	}
	CHECK(vqd_wait_used(&c.q, 20));
	while (vqd_get_used(&c.q, &id, &len)) {
		n++;
		CHECK_EQ(id, (uint32_t)k.head);
		CHECK_EQ(len, 11 + 256 * 1024);
	}
	CHECK_EQ(n, 20);
	CHECK_EQ(le32_at(k.reply + P9_HDR_LEN), 256 * 1024);
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));
out:
	ctx_fini(&c);
}

/* Post a chain of raw descriptors (set up by the caller) and expect it used
 * with length 0. */
static void expect_used_zero(struct ctx *c, uint16_t head)
{
	uint32_t id, len;

	vqd_publish(&c->q, head);
	kick(c);
	if (CHECK(vqd_wait_used(&c->q, 1)) &&
	    CHECK(vqd_get_used(&c->q, &id, &len))) {
		CHECK_EQ(id, head);
		CHECK_EQ(len, 0);
	}
}

TEST(bad_chains_get_nothing)
{
	struct ctx c;
	struct msg m;
	struct call k;
	uint32_t msize;
	void *msgp, *resp;
	uint64_t mg, rg;
	uint16_t d0, d1;

	if (!ctx_init(&c, 64))
		goto out;
	build(&c, &m, P9_TVERSION, "ds", MSIZE, "9P2000.L");
	mg = vqd_alloc(&c.env, m.len, 16, &msgp);
	memcpy(msgp, m.b, m.len);
	rg = vqd_alloc(&c.env, 256, 16, &resp);
	memset(resp, FILL, 256);

	/* The T-message but no room for a reply. */
	d0 = vqd_next_desc(&c.q);
	vqd_set_desc(&c.q, d0, mg, (uint32_t)m.len, 0, 0);
	expect_used_zero(&c, d0);
	/* Room for a reply but no T-message. */
	d0 = vqd_next_desc(&c.q);
	vqd_set_desc(&c.q, d0, rg, 256, VRING_DESC_F_WRITE, 0);
	expect_used_zero(&c, d0);
	/* Readable after writable. */
	d0 = vqd_next_desc(&c.q);
	d1 = vqd_next_desc(&c.q);
	vqd_set_desc(&c.q, d0, rg, 256, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		     d1);
	vqd_set_desc(&c.q, d1, mg, (uint32_t)m.len, 0, 0);
	expect_used_zero(&c, d0);
	/* A T-message running off the end of guest RAM. */
	d0 = vqd_next_desc(&c.q);
	d1 = vqd_next_desc(&c.q);
	vqd_set_desc(&c.q, d0, vqd_ram_end(&c.env) - 8, 64, VRING_DESC_F_NEXT,
		     d1);
	vqd_set_desc(&c.q, d1, rg, 256, VRING_DESC_F_WRITE, 0);
	expect_used_zero(&c, d0);
	/* More buffers than a request may have: 8 direct descriptors, then
	 * a full indirect table. */
	{
		struct vring_desc *t;
		uint64_t tg = vqd_alloc(&c.env, 16 * 1024, 16, (void **)&t);
		uint16_t first = 0, prev = 0;

		REQUIRE(tg);
		for (int i = 0; i < 8; i++) {
			uint16_t d = vqd_next_desc(&c.q);

			if (i)
				vqd_set_desc(&c.q, prev, mg, (uint32_t)m.len,
					     VRING_DESC_F_NEXT, d);
			else
				first = d;
			prev = d;
		}
		vqd_set_desc(&c.q, prev, tg, 16 * 1024, VRING_DESC_F_INDIRECT, 0);
		for (int i = 0; i < 1024; i++) {
			t[i].addr = htole64(rg);
			t[i].len = htole32(16);
			t[i].flags = htole16(VRING_DESC_F_WRITE |
					     (i < 1023 ? VRING_DESC_F_NEXT : 0));
			t[i].next = htole16(i < 1023 ? i + 1 : 0);
		}
		expect_used_zero(&c, first);
	}
	CHECK(untouched(resp, 256));
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));

	/* The device still works. */
	if (!session(&c, MSIZE, 1, &msize))
		goto out;

	/* A broken ring: NEEDS_RESET, nothing written, no crash; after a
	 * reset the driver can start over. */
	build(&c, &m, P9_TCLUNK, "d", 1u);
	REQUIRE(post(&c, &m, REPLY, &k));
	vqd_set_avail_idx(&c.q, (uint16_t)(c.q.avail_idx + 200));
	kick(&c);
	for (int i = 0; i < 2000 &&
	     !(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET); i++)
		usleep(1000);
	CHECK(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(untouched(k.reply, REPLY + GUARD));
	virtio_reset(c.vdev);
	CHECK_EQ(p9_server_nr_fids(virtio_9p_server(c.vdev)), 0);
	if (dev_setup(&c, 64))
		CHECK(session(&c, MSIZE, 1, &msize));
out:
	ctx_fini(&c);
}

#define NR_RESET 64
#define RESET_READ (256 * 1024)

/*
 * Reset with many large reads in flight: it returns only once every popped
 * request has completed, and the session's fids are gone.
 */
TEST(reset_waits_for_requests)
{
	struct ctx c;
	static struct msg m[NR_RESET];
	struct call k[NR_RESET];
	uint32_t msize, id, len;
	unsigned int before, popped, n = 0;
	uint16_t base;

	if (!ctx_init(&c, 256))
		goto out;
	REQUIRE(host_pattern_file(&c, "data", 4 * MiB));
	if (!session(&c, MSIZE, 1, &msize) || !walk(&c, 1, 2, "data") ||
	    !lopen(&c, 2, P9_DOTL_RDONLY) || !walk(&c, 1, 3, "") ||
	    !walk(&c, 1, 4, "data"))
		goto out;
	CHECK_EQ(p9_server_nr_fids(virtio_9p_server(c.vdev)), 4);
	base = vqd_used_idx(&c.q);
	for (int i = 0; i < NR_RESET; i++) {
		build(&c, &m[i], P9_TREAD, "dqd", 2u,
		      (uint64_t)(i % 16) * RESET_READ, RESET_READ);
		if (!post(&c, &m[i], RESET_READ + 11, &k[i]))
			goto out;
	}
	kick(&c);
	/* Reset as soon as the device is busy with a few requests. */
	for (int i = 0; i < 10000000 &&
	     (uint16_t)(vqd_avail_event(&c.q) - base) < 8; i++)
		sched_yield();
	before = (uint16_t)(vqd_used_idx(&c.q) - base);
	virtio_reset(c.vdev);
	/* Every request the device took (the avail_event it published, with
	 * EVENT_IDX) completed before the reset returned. */
	popped = (uint16_t)(vqd_avail_event(&c.q) - base);
	CHECK(popped >= 8 && popped <= NR_RESET);
	CHECK_EQ((uint16_t)(vqd_used_idx(&c.q) - base), popped);
	CHECK_EQ(p9_server_nr_fids(virtio_9p_server(c.vdev)), 0);
	CHECK_EQ(virtio_get_status(c.vdev), 0);
	printf("  (%u taken, %u of them in flight when the reset began)\n",
	       popped, popped - before);
	usleep(20 * 1000);
	CHECK_EQ((uint16_t)(vqd_used_idx(&c.q) - base), popped);
	while (vqd_get_used(&c.q, &id, &len)) {
		for (int i = 0; i < NR_RESET; i++) {
			if ((uint32_t)k[i].head != id)
				continue;
			n++;
			if (CHECK_EQ(check_reply(&k[i], len), P9_RREAD) &&
			    CHECK_EQ(get(&k[i].rd, 4), RESET_READ))
				CHECK_EQ(k[i].rd.p[4 + RESET_READ - 1],
					 pattern((uint64_t)(i % 16 + 1) * RESET_READ - 1));
		}
	}
	CHECK_EQ(n, popped);

	/* A new driver starts from scratch: fid 2 is free again. */
	if (!dev_setup(&c, 64) || !session(&c, MSIZE, 2, &msize))
		goto out;
	CHECK_EQ(p9_server_nr_fids(virtio_9p_server(c.vdev)), 1);
	CHECK(walk(&c, 2, 3, "data"));
out:
	ctx_fini(&c);
}

/* --- Requests stuck in the server across a reset --- */

#define STUCK_MS 300u /* the server's stuck timeout in these tests */

static unsigned int server_inflight(struct p9_server *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->q_lock);
	n = s->nr_inflight;
	pthread_mutex_unlock(&s->q_lock);
	return n;
}

/* Wait up to 2 s until the server has @n requests queued or running. */
static bool wait_server_inflight(struct p9_server *s, unsigned int n)
{
	for (int i = 0; i < 2000 && server_inflight(s) != n; i++)
		usleep(1000);
	return server_inflight(s) == n;
}

/* A Tgetattr of @fid posted (not kicked), one ring entry each. */
static bool post_getattr(struct ctx *c, struct msg *m, struct call *k,
			 uint32_t fid)
{
	build(c, m, P9_TGETATTR, "dq", fid, (uint64_t)P9_GETATTR_BASIC);
	return post_chain(c, m, REPLY, k, true);
}

/*
 * A request stuck across a reset keeps its request object.  The new
 * driver fills the rest of a 4-entry queue and one more: the handler stops
 * at the cap (starved).  When the stale request finally completes, its
 * object coming back must run the handler again, or the fifth request
 * stays in the avail ring forever (the stale completion once swallowed
 * that kick).
 */
TEST(stale_completion_kicks_starved_queue)
{
	struct ctx c;
	static struct msg m[5];
	struct call k[5];
	struct p9_fid *old = NULL, *cur = NULL;
	struct p9_server *s;
	uint32_t msize, id, len;
	unsigned int n = 0;

	if (!ctx_init(&c, 4))
		goto out;
	s = virtio_9p_server(c.vdev);
	s->stuck_ms = STUCK_MS;
	if (!session(&c, MSIZE, 1, &msize))
		goto out;
	old = stick_fid(s, 1);
	REQUIRE(old);
	REQUIRE(post_getattr(&c, &m[0], &k[0], 1));
	kick(&c);
	CHECK(wait_server_inflight(s, 1));
	virtio_reset(c.vdev); /* gives up on it after STUCK_MS */
	if (!dev_setup(&c, 4) || !session(&c, MSIZE, 1, &msize))
		goto out;
	cur = stick_fid(s, 1); /* the new session's fid 1 */
	REQUIRE(cur);
	for (int i = 1; i < 5; i++)
		REQUIRE(post_getattr(&c, &m[i], &k[i], 1));
	kick(&c);
	/* The stale one and three of ours: the cap. */
	CHECK(wait_server_inflight(s, 4));
	usleep(50 * 1000); /* the handler meets the cap */
	unstick_fid(s, old);
	old = NULL;
	usleep(200 * 1000); /* the stale completion (and the kick, if any) */
	unstick_fid(s, cur);
	cur = NULL;
	CHECK(vqd_wait_used(&c.q, 4));
	while (vqd_get_used(&c.q, &id, &len)) {
		int i;

		for (i = 1; i < 5 && (uint32_t)k[i].head != id; i++)
			;
		if (!CHECK(i < 5))
			continue;
		n++;
		CHECK_EQ(check_reply(&k[i], len), P9_RGETATTR);
	}
	CHECK_EQ(n, 4);
out:
	if (old)
		unstick_fid(s, old);
	if (cur)
		unstick_fid(s, cur);
	ctx_fini(&c);
}

/*
 * Destroying the device while a request is stuck in the server (lkvm
 * exiting): the server is abandoned, and guest RAM is pinned, since the
 * stuck handler may still move data to or from guest buffers.  A device
 * destroyed normally pins nothing.  In a child: the stuck request's object
 * is left allocated on purpose, which LeakSanitizer would report.
 */
static void destroy_pins_child(void)
{
	struct ctx c, c2;
	struct msg m;
	struct call k;
	struct p9_server *s;
	struct p9_fid *f;
	uint32_t msize;

	if (ctx_init(&c2, 64)) {
		virtio_dev_destroy(c2.vdev);
		c2.vdev = NULL;
		CHECK_EQ(c2.env.vm.mem.pinned, 0);
	}
	ctx_fini(&c2);

	if (!ctx_init(&c, 64))
		goto out;
	s = virtio_9p_server(c.vdev);
	s->stuck_ms = STUCK_MS;
	if (!session(&c, MSIZE, 1, &msize))
		goto out;
	f = stick_fid(s, 1);
	REQUIRE(f);
	REQUIRE(post_getattr(&c, &m, &k, 1));
	kick(&c);
	CHECK(wait_server_inflight(s, 1));
	p9_fid_put(s, f); /* the table and the handler keep theirs */
	virtio_dev_destroy(c.vdev);
	c.vdev = NULL;
	CHECK_EQ(c.env.vm.mem.pinned, 1);
	pthread_mutex_unlock(&f->lock);
	usleep(300 * 1000); /* the worker finishes, writes nothing, frees */
	CHECK(untouched(k.reply, REPLY + GUARD));
out:
	ctx_fini(&c);
}

TEST(destroy_with_stuck_request_pins_memory)
{
	/* _exit(): the stuck request's object is left to its worker. */
	t_run_child(destroy_pins_child, 20, false);
}

/* Send raw bytes; the reply must be empty or an Rlerror for the tag. */
static int raw_rpc(struct ctx *c, const void *p, size_t n, uint32_t cap,
		   struct call *k, struct msg *m)
{
	build_raw(m, p, n);
	return rpc(c, m, cap, k);
}

static void expect_rlerror(struct ctx *c, const char *what, const void *p,
			   size_t n)
{
	struct msg m;
	struct call k;
	int type = raw_rpc(c, p, n, REPLY, &k, &m);

	if (!CHECK_EQ(type, P9_RLERROR)) {
		printf("  (%s: reply type %d)\n", what, type);
		return;
	}
	int e = reply_err(&k, type);
	CHECK(e > 0 && e < 4096);
}

TEST(garbage_gets_rlerror)
{
	struct ctx c;
	struct msg m;
	struct call k;
	uint32_t msize;
	int type;

	if (!ctx_init(&c, 256))
		goto out;
	if (!session(&c, 64 * 1024, 1, &msize) || !walk(&c, 1, 2, ""))
		goto out;

	/* Shorter than a header: nothing, or Rlerror for the tag the
	 * missing bytes leave (zero). */
	type = raw_rpc(&c, "\x03\x00\x00", 3, REPLY, &k, &m);
	CHECK(type == 0 || type == P9_RLERROR);
	if (type == 0)
		CHECK(untouched(k.reply, REPLY));
	/* Unknown and reply types. */
	expect_rlerror(&c, "unknown type",
		       "\x07\x00\x00\x00\xc8\x01\x00", 7);
	expect_rlerror(&c, "an R-message",
		       "\x0b\x00\x00\x00\x6f\x02\x00\x01\x00\x00\x00", 11);
	expect_rlerror(&c, "Tlerror", "\x07\x00\x00\x00\x06\x03\x00", 7);
	/* Truncated bodies. */
	expect_rlerror(&c, "short Tattach",
		       "\x0b\x00\x00\x00\x68\x04\x00\x05\x00\x00\x00", 11);
	expect_rlerror(&c, "short Tread",
		       "\x0b\x00\x00\x00\x74\x05\x00\x02\x00\x00\x00", 11);
	/* A size field larger than the message. */
	expect_rlerror(&c, "size too large",
		       "\xff\xff\xff\x7f\x74\x06\x00\x02\x00\x00\x00", 11);
	/* A string running past the end. */
	expect_rlerror(&c, "long string",
		       "\x13\x00\x00\x00\x6e\x07\x00\x01\x00\x00\x00\x09\x00\x00\x00"
		       "\x01\x00\xff\xff", 19);
	/* Twalk with more names than allowed. */
	expect_rlerror(&c, "nwname 0xffff",
		       "\x11\x00\x00\x00\x6e\x08\x00\x01\x00\x00\x00\x0a\x00\x00\x00"
		       "\xff\xff", 17);
	/* Twrite claiming more data than it carries. */
	expect_rlerror(&c, "short Twrite",
		       "\x1b\x00\x00\x00\x76\x09\x00\x02\x00\x00\x00"
		       "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00xxxx", 27);
	/* Operations on fids that do not exist. */
	build(&c, &m, P9_TREAD, "dqd", 77u, (uint64_t)0, 100u);
	CHECK(reply_err(&k, rpc(&c, &m, REPLY, &k)) > 0);
	build(&c, &m, P9_TCLUNK, "d", 78u);
	CHECK(reply_err(&k, rpc(&c, &m, REPLY, &k)) > 0);

	/* A reply buffer too small for any reply: nothing past it. */
	build(&c, &m, P9_TGETATTR, "dq", 1u, (uint64_t)P9_GETATTR_BASIC);
	type = rpc(&c, &m, 4, &k);
	CHECK_EQ(type, 0);
	/* Room for an Rlerror but not the Rgetattr. */
	build(&c, &m, P9_TGETATTR, "dq", 1u, (uint64_t)P9_GETATTR_BASIC);
	type = rpc(&c, &m, 11, &k);
	CHECK_EQ(type, P9_RLERROR);

	/* Random messages: each completes once, writes only its reply room,
	 * and a reply is either empty or framed for its tag. */
	srand(9);
	for (int i = 0; i < 400; i++) {
		uint8_t raw[512];
		size_t n = (size_t)(rand() % (int)sizeof(raw));
		static const uint8_t types[] = {
			P9_TSTATFS, P9_TLOPEN, P9_TLCREATE, P9_TSYMLINK,
			P9_TMKNOD, P9_TRENAME, P9_TREADLINK, P9_TGETATTR,
			P9_TSETATTR, P9_TXATTRWALK, P9_TXATTRCREATE,
			P9_TREADDIR, P9_TFSYNC, P9_TLOCK, P9_TGETLOCK,
			P9_TLINK, P9_TMKDIR, P9_TRENAMEAT, P9_TUNLINKAT,
			P9_TAUTH, P9_TFLUSH, P9_TWALK, P9_TREAD, P9_TWRITE,
			P9_TCLUNK, P9_TREMOVE, 0, 255,
		};

		for (size_t j = 0; j < n; j++)
			raw[j] = (uint8_t)rand();
		if (n >= P9_HDR_LEN && rand() % 4) {
			/* Mostly well framed, with small fids. */
			raw[0] = (uint8_t)n;
			raw[1] = (uint8_t)(n >> 8);
			raw[2] = raw[3] = 0;
			raw[4] = types[rand() % (int)sizeof(types)];
			if (n >= 11) {
				raw[7] = (uint8_t)(rand() % 4);
				raw[8] = raw[9] = raw[10] = 0;
			}
		}
		uint32_t cap = (uint32_t)(rand() % 2 ? REPLY : rand() % 64);
		type = raw_rpc(&c, raw, n, cap, &k, &m);
		if (type < 0) {
			printf("  (random message %d, %zu bytes, type %u)\n", i,
			       n, n > 4 ? raw[4] : 0);
			break;
		}
		CHECK(type == 0 || type == P9_RLERROR || type == m.type + 1);
	}
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));

	/* And the device still serves a normal session. */
	CHECK(session(&c, 64 * 1024, 1, &msize));
out:
	ctx_fini(&c);
}

int main(void)
{
	RUN(identity_and_config);
	RUN(creation_errors);
	RUN(session_over_the_ring);
	RUN(big_read_into_many_buffers);
	RUN(many_requests_in_flight);
	RUN(reposted_heads);
	RUN(bad_chains_get_nothing);
	RUN(reset_waits_for_requests);
	RUN(stale_completion_kicks_starved_queue);
	RUN(destroy_with_stuck_request_pins_memory);
	RUN(garbage_gets_rlerror);
	return test_summary();
}
