// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (virtio/blk.c) over vq_driver's fake transport, with real
 * worker threads and a real image file: requests travel through the rings
 * and every backend, and the results are checked in guest RAM and in the
 * image.  Hostile requests (out of range, overflowing, misaligned, unknown,
 * split headers, no status byte, wrong directions, too many ranges) must get
 * the right status, leave everything else alone and keep the device working;
 * the fake RAM has guard pages and the build has ASan/UBSan.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "test.h"
#include "test_images.h"
#include "vq_driver.h"

#define IMG_SIZE (4 * MiB)
#define CAPACITY (IMG_SIZE / 512)
#define QSIZE 128
#define FILL 0xA5
#define F(bit) (1ULL << (bit))

struct ctx {
	struct vqd_env env;
	struct disk_config dc;
	struct virtio_dev *vdev;
	struct vqd_queue q;
	char *path;
	int check_fd;
};

static bool ctx_init_ex(struct ctx *c, enum disk_aio_kind aio, bool ro,
			bool direct, const char *serial, unsigned int vcpus)
{
	uint64_t f;

	memset(c, 0, sizeof(*c));
	c->check_fd = -1;
	c->path = make_image(IMG_SIZE);
	c->check_fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (!CHECK_EQ(vqd_env_init(&c->env, 8 * MiB, 2), 0))
		return false;
	c->env.vm.nr_vcpus = vcpus;
	c->dc.path = c->path;
	c->dc.readonly = ro;
	c->dc.direct = direct;
	c->dc.aio = aio;
	if (serial)
		snprintf(c->dc.serial, sizeof(c->dc.serial), "%s", serial);
	c->vdev = virtio_blk_new(&c->env.vm, &c->dc, 0);
	if (!CHECK(c->vdev))
		return false;
	vqd_attach(&c->env, c->vdev);
	f = c->vdev->host_features;
	if (!CHECK(vqd_negotiate(c->vdev, f) & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    !CHECK_EQ(vqd_queue_setup(&c->q, &c->env, &c->vdev->vqs[0], QSIZE),
		      0))
		return false;
	return CHECK(vqd_driver_ok(c->vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static bool ctx_init(struct ctx *c, enum disk_aio_kind aio)
{
	return ctx_init_ex(c, aio, false, false, NULL, 1);
}

static void ctx_fini(struct ctx *c)
{
	if (c->vdev)
		virtio_dev_destroy(c->vdev);
	vqd_env_destroy(&c->env);
	if (c->check_fd >= 0)
		close(c->check_fd);
	if (c->path) {
		unlink(c->path);
		free(c->path);
	}
}

/* Kick like a guest, wait for one used entry; *len gets its length. */
static bool kick_and_wait(struct ctx *c, int head, uint32_t *len)
{
	uint32_t id, l;

	if (!CHECK(head >= 0))
		return false;
	virtq_kick(&c->vdev->vqs[0]);
	if (!CHECK(vqd_wait_used(&c->q, 1)) ||
	    !CHECK(vqd_get_used(&c->q, &id, &l)))
		return false;
	CHECK_EQ(id, (uint32_t)head);
	if (len)
		*len = l;
	return true;
}

static uint64_t hdr(struct ctx *c, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr *h;
	uint64_t gpa = vqd_alloc(&c->env, sizeof(*h), 16, (void **)&h);

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	return gpa;
}

/* A buffer of @len bytes plus @guard, all preset to FILL. */
static uint64_t buf(struct ctx *c, uint32_t len, uint32_t guard, uint8_t **p)
{
	void *hva;
	uint64_t gpa = vqd_alloc(&c->env, len + guard, 4096, &hva);

	memset(hva, FILL, len + guard);
	*p = hva;
	return gpa;
}

/*
 * hdr(R) data(R or W) status(W): returns the status byte, or -1 if the
 * request did not complete; *used gets the used length.
 */
static int request(struct ctx *c, uint32_t type, uint64_t sector,
		   uint64_t data_gpa, uint32_t len, bool dev_writes,
		   uint32_t *used)
{
	uint8_t *st;
	uint64_t st_gpa = buf(c, 1, 0, &st);
	struct vqd_buf b[3];
	unsigned int n = 0;
	uint32_t l = 0;

	b[n++] = (struct vqd_buf){ hdr(c, type, sector), 16, false };
	if (len)
		b[n++] = (struct vqd_buf){ data_gpa, len, dev_writes };
	b[n++] = (struct vqd_buf){ st_gpa, 1, true };
	if (!kick_and_wait(c, vqd_add(&c->q, b, n), &l))
		return -1;
	if (used)
		*used = l;
	return *st;
}

static bool all_are(const uint8_t *p, uint8_t v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* The device still serves a normal read after whatever came before. */
static bool still_works(struct ctx *c)
{
	uint8_t *d;
	uint64_t g = buf(c, 512, 0, &d);
	uint32_t used;

	if (!CHECK_EQ(request(c, VIRTIO_BLK_T_IN, 7, g, 512, true, &used),
		      VIRTIO_BLK_S_OK))
		return false;
	CHECK_EQ(used, 513);
	return CHECK_EQ(d[0], pattern(7 * 512)) &&
	       CHECK_EQ(d[511], pattern(7 * 512 + 511)) &&
	       CHECK(!(virtio_get_status(c->vdev) &
		       VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* A new driver sets the device up again (after a reset); it does I/O. */
static void reattach_and_check(struct ctx *c)
{
	REQUIRE(vqd_negotiate(c->vdev, c->vdev->host_features) &
		VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&c->q, &c->env, &c->vdev->vqs[0], QSIZE) == 0);
	REQUIRE(vqd_driver_ok(c->vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(still_works(c));
}

static struct virtio_blk_config config(struct ctx *c)
{
	struct virtio_blk_config cfg;

	virtio_config_access(c->vdev, 0, &cfg, sizeof(cfg) - 12, false);
	return cfg;
}

/* --- Configuration --- */

TEST(config_space)
{
	struct ctx c;

	if (ctx_init_ex(&c, DISK_AIO_AUTO, false, false, NULL, 3)) {
		struct virtio_blk_config cfg = config(&c);
		uint64_t f = c.vdev->host_features;

		CHECK_EQ(le64toh(cfg.capacity), CAPACITY);
		CHECK_EQ(le32toh(cfg.blk_size), 512);
		CHECK_EQ(le32toh(cfg.seg_max), 254);
		CHECK(le32toh(cfg.size_max) >= 4096);
		CHECK_EQ(le16toh(cfg.num_queues), 3);
		CHECK_EQ(c.vdev->nr_queues, 3);
		CHECK(cfg.physical_block_exp <= 7);
		CHECK(le32toh(cfg.max_discard_seg) >= 1);
		CHECK(le32toh(cfg.max_discard_sectors) >= 1);
		CHECK(le32toh(cfg.discard_sector_alignment) >= 1);
		CHECK(le32toh(cfg.max_write_zeroes_sectors) >= 1);
		CHECK_EQ(cfg.write_zeroes_may_unmap, 1);
		CHECK(f & F(VIRTIO_BLK_F_MQ));
		CHECK(f & F(VIRTIO_BLK_F_FLUSH));
		CHECK(f & F(VIRTIO_BLK_F_BLK_SIZE));
		CHECK(f & F(VIRTIO_BLK_F_SEG_MAX));
		CHECK(f & F(VIRTIO_BLK_F_SIZE_MAX));
		CHECK(f & F(VIRTIO_BLK_F_TOPOLOGY));
		CHECK(f & F(VIRTIO_BLK_F_DISCARD));
		CHECK(f & F(VIRTIO_BLK_F_WRITE_ZEROES));
		CHECK(!(f & F(VIRTIO_BLK_F_RO)));
		CHECK_EQ(c.vdev->device_id, VIRTIO_ID_BLOCK);
	}
	ctx_fini(&c);

	if (ctx_init_ex(&c, DISK_AIO_AUTO, true, false, NULL, 1)) {
		uint64_t f = c.vdev->host_features;

		CHECK(f & F(VIRTIO_BLK_F_RO));
		CHECK(!(f & F(VIRTIO_BLK_F_MQ)));
		CHECK(!(f & F(VIRTIO_BLK_F_DISCARD)));
		CHECK(!(f & F(VIRTIO_BLK_F_WRITE_ZEROES)));
		CHECK(!(f & F(VIRTIO_BLK_F_FLUSH)));
		CHECK_EQ(le64toh(config(&c).capacity), CAPACITY);
	}
	ctx_fini(&c);
}

TEST(open_failure_is_clean)
{
	struct vqd_env env;
	struct disk_config dc = { .path = "/nonexistent/x.img" };
	int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);

	REQUIRE(vqd_env_init(&env, 1 * MiB, 1) == 0);
	dup2(devnull, STDERR_FILENO); /* the expected error line */
	CHECK_NULL(virtio_blk_new(&env.vm, &dc, 0));
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	vqd_env_destroy(&env);
}

/* --- Normal requests, every backend --- */

static void normal_io(enum disk_aio_kind aio, bool direct)
{
	struct ctx c;
	uint8_t *d, *st;
	uint64_t g;
	uint32_t used;

	if (!ctx_init_ex(&c, aio, false, direct, NULL, 1)) {
		ctx_fini(&c);
		return;
	}

	/* Read 8 KiB at sector 100. */
	g = buf(&c, 8192, 64, &d);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, 100, g, 8192, true, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 8193);
	for (int i = 0; i < 8192; i++)
		if (!CHECK_EQ(d[i], pattern(100 * 512 + i)))
			break;
	CHECK(all_are(d + 8192, FILL, 64)); /* nothing past the buffer */

	/* Write 64 KiB at sector 2048, then flush. */
	g = buf(&c, 65536, 0, &d);
	for (int i = 0; i < 65536; i++)
		d[i] = (uint8_t)(i * 3);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, 2048, g, 65536, false, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 1);
	CHECK(image_is(c.check_fd, 2048 * 512, d, 65536));
	CHECK(image_is_pattern(c.check_fd, 2048 * 512 + 65536, 512));
	CHECK(image_is_pattern(c.check_fd, 2047 * 512, 512));
	CHECK_EQ(request(&c, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used),
		 VIRTIO_BLK_S_OK);

	/* Buffers at odd guest addresses, several bounce chunks long: with
	 * ,direct they are bounced a chunk at a time, still right. */
	g = buf(&c, MiB + 1, 64, &d);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, 0, g + 1, MiB, true, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, MiB + 1);
	for (uint32_t i = 0; i < MiB; i++)
		if (!CHECK_EQ(d[1 + i], pattern(i)))
			break;
	CHECK(all_are(d + 1 + MiB, FILL, 63));
	for (uint32_t i = 0; i < 600 * KiB; i++)
		d[1 + i] = (uint8_t)(i * 5 + 1);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, 6800, g + 1, 600 * KiB, false,
			 &used),
		 VIRTIO_BLK_S_OK);
	CHECK(image_is(c.check_fd, 6800 * 512, d + 1, 600 * KiB));
	CHECK(image_is_pattern(c.check_fd, 6799 * 512, 512));
	CHECK(image_is_pattern(c.check_fd, 6800 * 512 + 600 * KiB, 512));

	/* GET_ID: the derived serial, NUL padded to 20 bytes. */
	g = buf(&c, VIRTIO_BLK_ID_BYTES, 8, &d);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_GET_ID, 0, g, VIRTIO_BLK_ID_BYTES,
			 true, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 21);
	CHECK(!memcmp(d, "lkvm-0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20));
	CHECK(all_are(d + 20, FILL, 8));

	/* Discard 16 sectors at 4096: a hole, neighbours intact. */
	{
		struct virtio_blk_discard_write_zeroes *r;
		uint64_t rg = vqd_alloc(&c.env, sizeof(*r), 16, (void **)&r);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[3] = {
			{ hdr(&c, VIRTIO_BLK_T_DISCARD, 0), 16, false },
			{ rg, sizeof(*r), false },
			{ sg, 1, true },
		};

		r->sector = htole64(4096);
		r->num_sectors = htole32(16);
		r->flags = 0;
		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 3), &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_OK);
		CHECK(image_is_zero(c.check_fd, 4096 * 512, 16 * 512));
		CHECK(image_is_pattern(c.check_fd, 4095 * 512, 512));
		CHECK(image_is_pattern(c.check_fd, 4112 * 512, 512));
	}

	/* Write-zeroes over three ranges, one with UNMAP. */
	{
		struct virtio_blk_discard_write_zeroes *r;
		uint64_t rg = vqd_alloc(&c.env, 3 * sizeof(*r), 16,
					(void **)&r);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[3] = {
			{ hdr(&c, VIRTIO_BLK_T_WRITE_ZEROES, 0), 16, false },
			{ rg, 3 * sizeof(*r), false },
			{ sg, 1, true },
		};

		r[0] = (struct virtio_blk_discard_write_zeroes){
			htole64(5000), htole32(3), 0 };
		r[1] = (struct virtio_blk_discard_write_zeroes){
			htole64(5100), htole32(8),
			htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) };
		r[2] = (struct virtio_blk_discard_write_zeroes){
			htole64(6000), htole32(1), 0 };
		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 3), &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_OK);
		CHECK(image_is_zero(c.check_fd, 5000 * 512, 3 * 512));
		CHECK(image_is_zero(c.check_fd, 5100 * 512, 8 * 512));
		CHECK(image_is_zero(c.check_fd, 6000 * 512, 512));
		CHECK(image_is_pattern(c.check_fd, 4999 * 512, 512));
		CHECK(image_is_pattern(c.check_fd, 5003 * 512, 512));
		CHECK(image_is_pattern(c.check_fd, 5108 * 512, 512));
		CHECK(image_is_pattern(c.check_fd, 6001 * 512, 512));
	}

	/* A zero-length read is fine. */
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, 0, 0, 0, true, NULL),
		 VIRTIO_BLK_S_OK);

	/* Interrupts were raised. */
	CHECK(vqd_signal_vq_count(&c.env) > 0);
	CHECK(still_works(&c));
	ctx_fini(&c);
}

TEST(io_uring_requests) { normal_io(DISK_AIO_IO_URING, false); }
TEST(io_uring_direct_requests) { normal_io(DISK_AIO_IO_URING, true); }
TEST(libaio_requests) { normal_io(DISK_AIO_LIBAIO, false); }
TEST(libaio_direct_requests) { normal_io(DISK_AIO_LIBAIO, true); }
TEST(sync_requests) { normal_io(DISK_AIO_SYNC, false); }
TEST(sync_direct_requests) { normal_io(DISK_AIO_SYNC, true); }

TEST(custom_serial_and_layouts)
{
	struct ctx c;
	uint8_t *d, *h, *st;
	uint32_t used;

	if (!ctx_init_ex(&c, DISK_AIO_AUTO, false, false,
			 "ABCDEFGHIJKLMNOPQRST", 1)) {
		ctx_fini(&c);
		return;
	}
	/* A 20-character serial fills the buffer with no NUL; a short
	 * buffer gets a prefix and nothing beyond. */
	uint64_t g = buf(&c, 20, 4, &d);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_GET_ID, 0, g, 20, true, &used),
		 VIRTIO_BLK_S_OK);
	CHECK(!memcmp(d, "ABCDEFGHIJKLMNOPQRST", 20));
	g = buf(&c, 4, 16, &d);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_GET_ID, 0, g, 4, true, &used),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(used, 5);
	CHECK(!memcmp(d, "ABCD", 4));
	CHECK(all_are(d + 4, FILL, 16));

	/* Header split over three descriptors (5 + 7 + 4 bytes). */
	{
		struct virtio_blk_outhdr hd = {
			htole32(VIRTIO_BLK_T_IN), 0, htole64(9) };
		uint64_t hg = buf(&c, 16, 0, &h);
		uint64_t dg = buf(&c, 1024, 0, &d);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[5] = {
			{ hg, 5, false }, { hg + 5, 7, false },
			{ hg + 12, 4, false }, { dg, 1024, true },
			{ sg, 1, true },
		};

		memcpy(h, &hd, 16);
		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 5), &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_OK);
		CHECK_EQ(used, 1025);
		CHECK_EQ(d[0], pattern(9 * 512));
		CHECK_EQ(d[1023], pattern(9 * 512 + 1023));
	}

	/* Data and status in one writable buffer; header and write data in
	 * one readable buffer (legacy "any layout"). */
	{
		uint64_t dg = buf(&c, 513, 0, &d);
		struct vqd_buf b[2] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 11), 16, false },
			{ dg, 513, true },
		};

		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 2), &used));
		CHECK_EQ(d[512], VIRTIO_BLK_S_OK);
		CHECK_EQ(d[0], pattern(11 * 512));
		CHECK_EQ(d[511], pattern(11 * 512 + 511));
	}
	{
		struct virtio_blk_outhdr hd = {
			htole32(VIRTIO_BLK_T_OUT), 0, htole64(12) };
		uint64_t hg = buf(&c, 16 + 512, 0, &h);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[2] = { { hg, 16 + 512, false },
					{ sg, 1, true } };

		memcpy(h, &hd, 16);
		memset(h + 16, 0x3c, 512);
		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 2), &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_OK);
		CHECK(image_is(c.check_fd, 12 * 512, h + 16, 512));
	}

	/* Indirect descriptors. */
	{
		uint64_t dg = buf(&c, 4096, 0, &d);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[3] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 16), 16, false },
			{ dg, 4096, true }, { sg, 1, true },
		};

		REQUIRE(kick_and_wait(&c, vqd_add_indirect(&c.q, b, 3, NULL),
				      &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_OK);
		CHECK_EQ(d[4095], pattern(16 * 512 + 4095));
	}
	CHECK(still_works(&c));
	ctx_fini(&c);
}

/* Many requests in flight: one kick, QSIZE/3 reads, all right. */
static void many_in_flight(enum disk_aio_kind aio)
{
	enum { N = QSIZE / 3 }; /* three descriptors each */
	struct ctx c;
	uint8_t *d[N], *st[N];
	uint64_t sector[N];
	int heads[N];
	bool seen[N] = { false };

	if (!ctx_init(&c, aio)) {
		ctx_fini(&c);
		return;
	}
	for (int i = 0; i < N; i++) {
		uint64_t dg = buf(&c, 4096, 0, &d[i]);
		uint64_t sg = buf(&c, 1, 0, &st[i]);

		sector[i] = (uint64_t)((i * 97) % (CAPACITY / 8)) * 8;
		struct vqd_buf b[2] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, sector[i]), 16, false },
			{ dg, 4096, true },
		};
		struct vqd_buf b3[3] = { b[0], b[1], { sg, 1, true } };

		heads[i] = vqd_add(&c.q, b3, 3);
	}
	virtq_kick(&c.vdev->vqs[0]);
	REQUIRE(vqd_wait_used(&c.q, N));
	for (int k = 0; k < N; k++) {
		uint32_t id, len;
		int i;

		REQUIRE(vqd_get_used(&c.q, &id, &len));
		for (i = 0; i < N && heads[i] != (int)id; i++)
			;
		REQUIRE(i < N);
		CHECK(!seen[i]);
		seen[i] = true;
		CHECK_EQ(len, 4097);
		CHECK_EQ(*st[i], VIRTIO_BLK_S_OK);
		CHECK_EQ(d[i][0], pattern(sector[i] * 512));
		CHECK_EQ(d[i][4095], pattern(sector[i] * 512 + 4095));
	}
	CHECK(still_works(&c));
	ctx_fini(&c);
}

TEST(io_uring_many_in_flight) { many_in_flight(DISK_AIO_IO_URING); }
TEST(libaio_many_in_flight) { many_in_flight(DISK_AIO_LIBAIO); }
TEST(sync_many_in_flight) { many_in_flight(DISK_AIO_SYNC); }

/*
 * A driver that re-posts heads it was not given back can have more
 * requests in flight than the device has slots: the device must stall and
 * resume when slots free up, and complete every request exactly once.
 */
static void reposted_heads(enum disk_aio_kind aio)
{
	enum { TOTAL = 3000 };
	struct ctx c;
	uint8_t *d, *st;
	uint16_t published = 0;
	int head;

	if (!ctx_init(&c, aio)) {
		ctx_fini(&c);
		return;
	}
	{
		uint64_t dg = buf(&c, 65536, 0, &d);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[3] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 64), 16, false },
			{ dg, 65536, true }, { sg, 1, true },
		};

		head = vqd_add(&c.q, b, 3);
		published = 1;
	}
	virtq_kick(&c.vdev->vqs[0]);
	for (int spins = 0; spins < 200000; spins++) {
		uint16_t consumed = __atomic_load_n(&c.vdev->vqs[0].last_avail,
						    __ATOMIC_ACQUIRE);
		bool more = false;

		while (published < TOTAL &&
		       (uint16_t)(published - consumed) < QSIZE) {
			vqd_publish(&c.q, (uint16_t)head);
			published++;
			more = true;
		}
		if (more)
			virtq_kick(&c.vdev->vqs[0]);
		if (vqd_used_idx(&c.q) == TOTAL)
			break;
		usleep(50);
	}
	CHECK_EQ(vqd_used_idx(&c.q), TOTAL);
	CHECK_EQ(*st, VIRTIO_BLK_S_OK);
	CHECK_EQ(d[0], pattern(64 * 512));
	c.q.last_used = vqd_used_idx(&c.q); /* the ring wrapped many times */
	CHECK(still_works(&c));
	ctx_fini(&c);
}

TEST(io_uring_reposted_heads) { reposted_heads(DISK_AIO_IO_URING); }
TEST(sync_reposted_heads) { reposted_heads(DISK_AIO_SYNC); }

/* A driver reset with requests in flight waits for them. */
TEST(reset_with_requests_in_flight)
{
	struct ctx c;

	if (!ctx_init(&c, DISK_AIO_AUTO)) {
		ctx_fini(&c);
		return;
	}
	for (int i = 0; i < 32; i++) {
		uint8_t *d, *st;
		uint64_t dg = buf(&c, 65536, 0, &d);
		uint64_t sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[3] = {
			{ hdr(&c, i % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT,
			      (uint64_t)(i + 16) * 128), 16, false },
			{ dg, 65536, i % 2 != 0 }, { sg, 1, true },
		};

		vqd_add(&c.q, b, 3);
	}
	virtq_kick(&c.vdev->vqs[0]);
	usleep(1000);
	virtio_reset(c.vdev); /* must not return with I/O still running */
	CHECK_EQ(virtio_get_status(c.vdev), 0);

	/* The device comes back for a new driver. */
	reattach_and_check(&c);
	ctx_fini(&c);
}

/* --- Hostile requests --- */

TEST(hostile_ranges)
{
	struct ctx c;
	uint8_t *d;
	uint64_t g;
	uint32_t used;

	if (!ctx_init(&c, DISK_AIO_AUTO)) {
		ctx_fini(&c);
		return;
	}
	g = buf(&c, 4096, 0, &d);

	/* Just past the end; straddling the end; far out; overflowing. */
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, CAPACITY, g, 512, true, &used),
		 VIRTIO_BLK_S_IOERR);
	CHECK(all_are(d, FILL, 4096));
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, CAPACITY - 1, g, 1024, true,
			 NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, CAPACITY - 1, g, 1024, false,
			 NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, 1ULL << 55, g, 512, true, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, UINT64_MAX, g, 512, true, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, g, 1024, false,
			 NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK(all_are(d, FILL, 4096));
	/* The last sector itself is fine. */
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, CAPACITY - 1, g, 512, true, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(d[0], pattern(IMG_SIZE - 512));

	/* Lengths that are not whole sectors. */
	memset(d, FILL, 4096);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN, 0, g, 100, true, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, 0, g, 513, false, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK(all_are(d, FILL, 4096));
	CHECK(image_is_pattern(c.check_fd, 0, 4096));
	CHECK(still_works(&c));
	ctx_fini(&c);
}

TEST(hostile_types_and_shapes)
{
	struct ctx c;
	uint8_t *d, *st;
	uint64_t g, sg;
	uint32_t used;

	if (!ctx_init(&c, DISK_AIO_AUTO)) {
		ctx_fini(&c);
		return;
	}
	g = buf(&c, 4096, 0, &d);

	/* Unknown and unsupported types. */
	CHECK_EQ(request(&c, 0x1234, 0, g, 512, true, NULL),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&c, 2 /* SCSI_CMD */, 0, g, 512, true, NULL),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_SECURE_ERASE, 0, g, 512, false,
			 NULL),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_IN | 0x80000000u, 0, g, 512, true,
			 NULL),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK(all_are(d, FILL, 4096));

	/* No status byte at all: given back with nothing written. */
	{
		struct vqd_buf b[2] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 0), 16, false },
			{ g, 512, false },
		};

		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 2), &used));
		CHECK_EQ(used, 0);
		CHECK(all_are(d, FILL, 4096));
	}

	/* A read whose data buffer is device-readable: refused, and the
	 * buffer is not written. */
	{
		sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[3] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 0), 16, false },
			{ g, 512, false }, { sg, 1, true },
		};

		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 3), &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_IOERR);
		CHECK(all_are(d, FILL, 4096));
	}

	/* A header shorter than 16 bytes. */
	{
		sg = buf(&c, 1, 0, &st);
		struct vqd_buf b[2] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 0), 8, false },
			{ sg, 1, true },
		};

		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 2), &used));
		CHECK_EQ(*st, VIRTIO_BLK_S_IOERR);
	}

	/* A data buffer outside guest RAM: the core refuses the chain. */
	{
		sg = buf(&c, 1, 0, &st);
		*st = FILL;
		struct vqd_buf b[3] = {
			{ hdr(&c, VIRTIO_BLK_T_IN, 0), 16, false },
			{ vqd_ram_end(&c.env) - 256, 512, true },
			{ sg, 1, true },
		};

		REQUIRE(kick_and_wait(&c, vqd_add(&c.q, b, 3), &used));
		CHECK_EQ(used, 0);
		CHECK_EQ(*st, FILL);
	}

	/* More buffers than a request may have (indirect, 300 of them). */
	{
		struct vqd_buf *b = calloc(300, sizeof(*b));

		sg = buf(&c, 1, 0, &st);
		*st = FILL;
		b[0] = (struct vqd_buf){ hdr(&c, VIRTIO_BLK_T_IN, 0), 16,
					 false };
		for (int i = 1; i < 299; i++)
			b[i] = (struct vqd_buf){ g + (i % 8) * 512, 512, true };
		b[299] = (struct vqd_buf){ sg, 1, true };
		REQUIRE(kick_and_wait(&c, vqd_add_indirect(&c.q, b, 300, NULL),
				      &used));
		CHECK_EQ(used, 0);
		CHECK_EQ(*st, FILL);
		free(b);
	}

	/* GET_ID with no room besides the status. */
	CHECK_EQ(request(&c, VIRTIO_BLK_T_GET_ID, 0, 0, 0, true, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK(still_works(&c));
	ctx_fini(&c);
}

static int dwz(struct ctx *c, uint32_t type, const void *ranges,
	       uint32_t bytes)
{
	uint8_t *st, *r;
	uint64_t rg = buf(c, bytes, 0, &r);
	uint64_t sg = buf(c, 1, 0, &st);
	struct vqd_buf b[3] = {
		{ hdr(c, type, 0), 16, false },
		{ rg, bytes, false },
		{ sg, 1, true },
	};

	memcpy(r, ranges, bytes);
	if (!bytes)
		b[1] = b[2]; /* header and status only */
	if (!kick_and_wait(c, vqd_add(&c->q, b, bytes ? 3 : 2), NULL))
		return -1;
	return *st;
}

TEST(hostile_discard)
{
	struct virtio_blk_discard_write_zeroes *r = calloc(1000, sizeof(*r));
	struct ctx c;

	if (!ctx_init(&c, DISK_AIO_AUTO)) {
		ctx_fini(&c);
		free(r);
		return;
	}
	for (int i = 0; i < 1000; i++)
		r[i] = (struct virtio_blk_discard_write_zeroes){
			htole64((uint64_t)i * 8), htole32(8), 0 };

	/* Huge segment counts: refused, nothing discarded. */
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, 1000 * sizeof(*r)),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_WRITE_ZEROES, r, 1000 * sizeof(*r)),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, 33 * sizeof(*r)),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK(image_is_pattern(c.check_fd, 0, 1000 * 8 * 512));
	/* Payload not a whole number of ranges. */
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, 20), VIRTIO_BLK_S_IOERR);
	/* A range past the end, or wrapping around. */
	r[1].sector = htole64(CAPACITY - 4);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_WRITE_ZEROES, r, 2 * sizeof(*r)),
		 VIRTIO_BLK_S_IOERR);
	r[1].sector = htole64(UINT64_MAX - 3);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, 2 * sizeof(*r)),
		 VIRTIO_BLK_S_IOERR);
	/* More sectors than the device allows per range. */
	r[1].sector = 0;
	r[1].num_sectors = htole32(0xffffffffu);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, 2 * sizeof(*r)),
		 VIRTIO_BLK_S_IOERR);
	/* UNMAP makes no sense on a discard; unknown flags anywhere. */
	r[1] = r[0];
	r[0].flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, sizeof(*r)),
		 VIRTIO_BLK_S_UNSUPP);
	r[0].flags = htole32(0x80);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_WRITE_ZEROES, r, sizeof(*r)),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK(image_is_pattern(c.check_fd, 0, 1000 * 8 * 512));
	/* No payload at all. */
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, 0), VIRTIO_BLK_S_IOERR);
	/* Empty ranges are fine and change nothing. */
	r[0].flags = 0;
	r[0].num_sectors = 0;
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, r, sizeof(*r)),
		 VIRTIO_BLK_S_OK);
	CHECK(image_is_pattern(c.check_fd, 0, 8 * 512));
	CHECK(still_works(&c));
	ctx_fini(&c);
	free(r);
}

TEST(hostile_readonly)
{
	struct ctx c;
	uint8_t *d;
	uint64_t g;
	struct virtio_blk_discard_write_zeroes r = { 0, htole32(8), 0 };

	if (!ctx_init_ex(&c, DISK_AIO_AUTO, true, false, NULL, 1)) {
		ctx_fini(&c);
		return;
	}
	g = buf(&c, 4096, 0, &d);
	memset(d, 0, 4096);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, 0, g, 4096, false, NULL),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_DISCARD, &r, sizeof(r)),
		 VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(dwz(&c, VIRTIO_BLK_T_WRITE_ZEROES, &r, sizeof(r)),
		 VIRTIO_BLK_S_UNSUPP);
	/* A flush on a read-only disk has nothing to do. */
	CHECK_EQ(request(&c, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(image_is_pattern(c.check_fd, 0, 8192));
	CHECK(still_works(&c));
	ctx_fini(&c);
}

/* A broken ring puts the device in NEEDS_RESET; nothing crashes. */
TEST(hostile_broken_ring)
{
	struct ctx c;

	if (!ctx_init(&c, DISK_AIO_AUTO)) {
		ctx_fini(&c);
		return;
	}
	vqd_publish(&c.q, 0xffff); /* head out of range */
	virtq_kick(&c.vdev->vqs[0]);
	for (int i = 0; i < 5000; i++) {
		if (virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET)
			break;
		usleep(1000);
	}
	CHECK(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* A reset brings it back. */
	reattach_and_check(&c);
	ctx_fini(&c);
}

/* Without VIRTIO_BLK_F_FLUSH negotiated, writes are durable on completion
 * (write-through); they still land where they should. */
TEST(write_through_without_flush)
{
	struct ctx c;
	uint8_t *d;
	uint64_t g;

	memset(&c, 0, sizeof(c));
	c.check_fd = -1;
	c.path = make_image(IMG_SIZE);
	c.check_fd = open(c.path, O_RDONLY | O_CLOEXEC);
	REQUIRE(vqd_env_init(&c.env, 8 * MiB, 2) == 0);
	c.dc.path = c.path;
	c.vdev = virtio_blk_new(&c.env.vm, &c.dc, 0);
	REQUIRE(c.vdev);
	vqd_attach(&c.env, c.vdev);
	REQUIRE(vqd_negotiate(c.vdev, c.vdev->host_features &
				      ~F(VIRTIO_BLK_F_FLUSH)) &
		VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&c.q, &c.env, &c.vdev->vqs[0], QSIZE) == 0);
	REQUIRE(vqd_driver_ok(c.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	g = buf(&c, 4096, 0, &d);
	memset(d, 0x42, 4096);
	CHECK_EQ(request(&c, VIRTIO_BLK_T_OUT, 8, g, 4096, false, NULL),
		 VIRTIO_BLK_S_OK);
	CHECK(image_is(c.check_fd, 8 * 512, d, 4096));
	ctx_fini(&c);
}

int main(void)
{
	if (tmpdir_create("blk"))
		return 1;
	RUN(config_space);
	RUN(open_failure_is_clean);
	RUN(io_uring_requests);
	RUN(io_uring_direct_requests);
	RUN(libaio_requests);
	RUN(libaio_direct_requests);
	RUN(sync_requests);
	RUN(sync_direct_requests);
	RUN(custom_serial_and_layouts);
	RUN(io_uring_many_in_flight);
	RUN(libaio_many_in_flight);
	RUN(sync_many_in_flight);
	RUN(io_uring_reposted_heads);
	RUN(sync_reposted_heads);
	RUN(reset_with_requests_in_flight);
	RUN(hostile_ranges);
	RUN(hostile_types_and_shapes);
	RUN(hostile_discard);
	RUN(hostile_readonly);
	RUN(hostile_broken_ring);
	RUN(write_through_without_flush);
	tmpdir_remove();
	return test_summary();
}
