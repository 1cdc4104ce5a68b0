// SPDX-License-Identifier: GPL-2.0
/*
 * Disk images and I/O backends (disk/): opening and its error messages,
 * OFD locking between users, size and block sizes, and every backend
 * (io_uring, libaio, sync; buffered and O_DIRECT) doing reads, writes,
 * flushes, discards and write-zeroes on a temporary image, checked through
 * a separate file descriptor.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/ioloop.h"
#include "lkvm/util.h"
#include "host_files.h"
#include "test.h"
#include "test_images.h"

#define IMG_SIZE (4 * MiB)

static int open_disk(struct disk *d, const char *path, bool ro, bool direct,
		     const char **msg, struct capture *cap)
{
	struct disk_config cfg = { .path = path, .readonly = ro,
				   .direct = direct };
	int err;

	capture_start(cap);
	err = disk_open(d, &cfg);
	*msg = capture_end(cap);
	return err;
}

/* --- Opening --- */

TEST(open_errors)
{
	struct capture cap;
	struct disk d;
	const char *msg;
	char path[128];
	int err;

	snprintf(path, sizeof(path), "%s/missing.img", tmpdir);
	err = open_disk(&d, path, false, false, &msg, &cap);
	CHECK_EQ(err, -ENOENT);
	CHECK_CONTAINS(msg, "does not exist");
	CHECK_CONTAINS(msg, path);
	disk_close(&d);

	err = open_disk(&d, tmpdir, false, false, &msg, &cap);
	CHECK_EQ(err, -EISDIR);
	CHECK_CONTAINS(msg, "is a directory");
	disk_close(&d);
	err = open_disk(&d, tmpdir, true, false, &msg, &cap);
	CHECK_EQ(err, -EISDIR);
	CHECK_CONTAINS(msg, "is a directory");
	disk_close(&d);

	err = open_disk(&d, "/dev/null", true, false, &msg, &cap);
	CHECK_EQ(err, -EINVAL);
	CHECK_CONTAINS(msg, "not a regular file or a block device");
	disk_close(&d);

	char *empty = make_image(0);
	err = open_disk(&d, empty, false, false, &msg, &cap);
	CHECK_EQ(err, -EINVAL);
	CHECK_CONTAINS(msg, "is empty");
	CHECK_CONTAINS(msg, empty);
	disk_close(&d);

	char *tiny = make_image(100);
	err = open_disk(&d, tiny, true, false, &msg, &cap);
	CHECK_EQ(err, -EINVAL);
	CHECK_CONTAINS(msg, "smaller than one 512-byte block");
	disk_close(&d);

	/* Every message is one line. */
	CHECK(strchr(msg, '\n') == strrchr(msg, '\n'));
	unlink(empty);
	unlink(tiny);
	free(empty);
	free(tiny);
}

/* A FIFO with no writer, read-only or not: one line, at once (a child
 * with an alarm: a read-only open() used to wait for a writer). */
static void fifo_child(void)
{
	struct capture cap;
	struct disk d;
	const char *msg;
	char path[128];

	snprintf(path, sizeof(path), "%s/fifo.img", tmpdir);
	CHECK_EQ(open_disk(&d, path, true, false, &msg, &cap), -EINVAL);
	CHECK_CONTAINS(msg, "not a regular file or a block device");
	CHECK_EQ(count_lines(msg), 1);
	disk_close(&d);
	CHECK_EQ(open_disk(&d, path, false, false, &msg, &cap), -EINVAL);
	CHECK_CONTAINS(msg, "not a regular file or a block device");
	disk_close(&d);
}

TEST(open_fifo)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/fifo.img", tmpdir);
	REQUIRE(mkfifo(path, 0600) == 0);
	t_run_child(fifo_child, 5, true);
	unlink(path);
}

/* An image of @size zero bytes with @magic at @off (and @tail's first
 * bytes at size - 512), named @name in tmpdir. */
static void put_image(char *path, size_t cap, const char *name, size_t size,
		      size_t off, const void *magic, size_t len,
		      const char *tail)
{
	uint8_t *buf = calloc(1, size);

	snprintf(path, cap, "%s/%s", tmpdir, name);
	if (!buf)
		return;
	if (magic)
		memcpy(buf + off, magic, len);
	if (tail)
		memcpy(buf + size - 512, tail, strlen(tail));
	file_put_or_exit(path, buf, size);
	free(buf);
}

TEST(image_formats)
{
	static const struct {
		const char *name;
		size_t off;
		const char *magic;
		size_t len;
		const char *tail, *fmt, *raw;
	} imgs[] = {
		{ "x.qcow2", 0, "QFI\xfb\0\0\0\3", 8, NULL, "a qcow2 image", "x.img" },
		{ "old.qcow", 0, "QFI\xfb\0\0\0\1", 8, NULL, "a qcow image", "old.img" },
		{ "d.img", 0, "QED", 4, NULL, "a QED image", "d.raw.img" },
		{ "s.vmdk", 0, "KDMV", 4, NULL, "a VMDK image", "s.img" },
		{ "desc.vmdk", 0, "# Disk DescriptorFile\n", 22, NULL, "a VMDK image", "desc.img" },
		{ "v.vdi", 0x40, "\x7f\x10\xda\xbe", 4, NULL, "a VDI image", "v.img" },
		{ "h.vhdx", 0, "vhdxfile", 8, NULL, "a VHDX image", "h.img" },
		{ "dyn.vhd", 0, "conectix", 8, NULL, "a VHD image", "dyn.img" },
		{ "fixed.vhd", 0, NULL, 0, "conectix", "a VHD image", "fixed.img" },
		{ "noext", 0, "QFI\xfb", 4, NULL, "a qcow2 image", "noext.img" },
	};
	char path[256], want[1200];
	struct capture cap;
	struct disk d;
	const char *msg;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(imgs); i++) {
		put_image(path, sizeof(path), imgs[i].name, 64 * 1024,
			  imgs[i].off, imgs[i].magic, imgs[i].len, imgs[i].tail);
		CHECK_EQ(open_disk(&d, path, true, false, &msg, &cap),
			 -EMEDIUMTYPE);
		snprintf(want, sizeof(want),
			 "lkvm: error: disk '%s' is %s; lkvm reads raw images only: convert it with 'qemu-img convert -O raw %s %s/%s', or add ,format=raw to use the bytes as they are\n",
			 path, imgs[i].fmt, path, tmpdir, imgs[i].raw);
		if (!CHECK_STREQ(msg, want))
			printf("  (that was %s)\n", imgs[i].name);
		disk_close(&d);
		/* O_DIRECT and read-write: the same check. */
		CHECK_EQ(open_disk(&d, path, false, true, &msg, &cap),
			 -EMEDIUMTYPE);
		CHECK_CONTAINS(msg, imgs[i].fmt);
		disk_close(&d);
		/* ,format=raw: the bytes as they are. */
		{
			struct disk_config cfg = { .path = path,
						   .readonly = true,
						   .format_raw = true };
			CHECK_EQ(disk_open(&d, &cfg), 0);
			disk_close(&d);
		}
		unlink(path);
	}

	/* LUKS is raw to lkvm: the guest unlocks it (and may have made it
	 * with luksFormat on the whole disk). */
	put_image(path, sizeof(path), "c.luks", 64 * 1024, 0, "LUKS\xba\xbe", 6,
		  NULL);
	CHECK_EQ(open_disk(&d, path, true, false, &msg, &cap), 0);
	CHECK_EQ(count_lines(msg), 0);
	disk_close(&d);
	unlink(path);

	/* A raw image that merely contains a signature elsewhere is raw. */
	put_image(path, sizeof(path), "raw.img", 64 * 1024, 512, "QFI\xfb", 4,
		  NULL);
	CHECK_EQ(open_disk(&d, path, true, false, &msg, &cap), 0);
	CHECK_STREQ(msg, "");
	disk_close(&d);
	unlink(path);

	/* The detector on short buffers. */
	CHECK_NULL(disk_image_format((const uint8_t *)"QFI", 3, NULL, 0));
	CHECK_STREQ(disk_image_format((const uint8_t *)"QFI\xfb", 4, NULL, 0),
		    "qcow2");
	CHECK_NULL(disk_image_format(NULL, 0, NULL, 0));
}

TEST(open_unreadable)
{
	struct capture cap;
	struct disk d;
	const char *msg;
	char *path = make_image(IMG_SIZE);
	int err;

	chmod(path, 0);
	if (geteuid() == 0) {
		/* root reads anything: nothing to check beyond success. */
		err = open_disk(&d, path, true, false, &msg, &cap);
		CHECK_EQ(err, 0);
	} else {
		err = open_disk(&d, path, false, false, &msg, &cap);
		CHECK_EQ(err, -EACCES);
		CHECK_CONTAINS(msg, "cannot open disk");
		CHECK_CONTAINS(msg, path);
	}
	disk_close(&d);
	unlink(path);
	free(path);
}

TEST(size_and_blocks)
{
	struct capture cap;
	struct disk d;
	const char *msg;
	char *path = make_image(IMG_SIZE + 100);

	REQUIRE(open_disk(&d, path, false, false, &msg, &cap) == 0);
	CHECK_EQ(d.size, IMG_SIZE); /* the partial sector is invisible... */
	CHECK_CONTAINS(msg, "last 100 bytes"); /* ...and said so */
	CHECK_EQ(d.logical_block, 512);
	CHECK(d.physical_block >= 512 && d.physical_block <= 65536);
	CHECK(!d.blockdev);
	CHECK(!d.readonly);
	CHECK(d.can_write_zeroes);
	CHECK(d.can_discard); /* ext4/xfs/tmpfs punch holes */
	disk_close(&d);

	REQUIRE(open_disk(&d, path, true, false, &msg, &cap) == 0);
	CHECK(d.readonly);
	CHECK(!d.can_write_zeroes);
	CHECK(!d.can_discard);
	disk_close(&d);
	unlink(path);
	free(path);
}

TEST(locking)
{
	struct capture cap;
	struct disk a, b, c;
	const char *msg;
	char *path = make_image(IMG_SIZE);

	/* A writer excludes everyone. */
	REQUIRE(open_disk(&a, path, false, false, &msg, &cap) == 0);
	CHECK_EQ(open_disk(&b, path, false, false, &msg, &cap), -EBUSY);
	CHECK_CONTAINS(msg, "locked by another process");
	CHECK_CONTAINS(msg, "is another lkvm using it?");
	CHECK_CONTAINS(msg, path);
	disk_close(&b);
	CHECK_EQ(open_disk(&b, path, true, false, &msg, &cap), -EBUSY);
	CHECK_CONTAINS(msg, "locked by another process");
	disk_close(&b);
	disk_close(&a);

	/* Readers share, and exclude a writer. */
	REQUIRE(open_disk(&a, path, true, false, &msg, &cap) == 0);
	CHECK_EQ(open_disk(&b, path, true, false, &msg, &cap), 0);
	CHECK_EQ(open_disk(&c, path, false, false, &msg, &cap), -EBUSY);
	CHECK_CONTAINS(msg, "locked by another process");
	disk_close(&c);
	disk_close(&a);
	CHECK_EQ(open_disk(&c, path, false, false, &msg, &cap), -EBUSY);
	disk_close(&c);
	disk_close(&b);

	/* Closing drops the lock. */
	CHECK_EQ(open_disk(&a, path, false, false, &msg, &cap), 0);
	disk_close(&a);
	unlink(path);
	free(path);
}

/* --- Backends --- */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int done;
	unsigned int batches;
};

static void on_complete(void *opaque, struct disk_req **reqs, unsigned int n)
{
	struct waiter *w = opaque;

	(void)reqs;
	pthread_mutex_lock(&w->lock);
	w->done += n;
	w->batches++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static bool wait_done(struct waiter *w, unsigned int n)
{
	struct timespec ts;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&w->lock);
	while (w->done < n && ok)
		ok = pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0;
	ok = w->done >= n;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

struct bctx {
	struct ioloop loop;
	struct disk d;
	struct waiter w;
	char *path;
	int check_fd; /* an independent view of the image */
};

/* Set up @b on the image @path (taken over). */
static bool bctx_open(struct bctx *b, enum disk_aio_kind kind, bool direct,
		      bool ro, char *path)
{
	struct capture cap;
	const char *msg;

	memset(b, 0, sizeof(*b));
	b->d.fd = -1;
	pthread_mutex_init(&b->w.lock, NULL);
	pthread_cond_init(&b->w.cond, NULL);
	b->path = path;
	b->check_fd = open(b->path, O_RDONLY | O_CLOEXEC);
	if (!CHECK_EQ(ioloop_init(&b->loop, 2), 0))
		return false;
	if (!CHECK_EQ(open_disk(&b->d, b->path, ro, direct, &msg, &cap), 0))
		return false;
	return CHECK_EQ(disk_backend_init(&b->d, kind, &b->loop, 64, "test",
					  on_complete, &b->w), 0);
}

static bool bctx_init(struct bctx *b, enum disk_aio_kind kind, bool direct,
		      bool ro)
{
	return bctx_open(b, kind, direct, ro, make_image(IMG_SIZE));
}

static void bctx_fini(struct bctx *b)
{
	disk_close(&b->d);
	ioloop_destroy(&b->loop);
	close(b->check_fd);
	unlink(b->path);
	free(b->path);
}

/* A READ or WRITE at @offset into/from @iov. */
static struct disk_req rw_req(enum disk_op op, uint64_t offset,
			      const struct iovec *iov, unsigned int iovcnt)
{
	return (struct disk_req){
		.op = op, .offset = offset, .iov = iov, .iovcnt = iovcnt
	};
}

/* A DISCARD or WRITE_ZEROES of @len bytes at @offset. */
static struct disk_req range_req(enum disk_op op, uint64_t offset,
				 uint64_t len)
{
	return (struct disk_req){ .op = op, .offset = offset, .len = len };
}

static int run1(struct bctx *b, struct disk_req *r)
{
	unsigned int before = b->w.done;
	struct disk_req *rs[1] = { r };

	r->opaque = NULL;
	disk_submit(&b->d, rs, 1);
	if (!CHECK(wait_done(&b->w, before + 1)))
		return -ETIMEDOUT;
	return r->result;
}

static void exercise(enum disk_aio_kind kind, bool direct)
{
	struct bctx b;
	struct disk_req r;
	uint8_t *buf, *buf2;
	struct iovec iov[3];

	if (!bctx_init(&b, kind, direct, false)) {
		bctx_fini(&b);
		return;
	}
	CHECK_EQ(b.d.backend, kind);
	buf = aligned_alloc(4096, 256 * KiB);
	buf2 = aligned_alloc(4096, 256 * KiB);

	/* Read, three iovecs. */
	iov[0] = (struct iovec){ buf, 4096 };
	iov[1] = (struct iovec){ buf + 8192, 8192 };
	iov[2] = (struct iovec){ buf + 65536, 4096 };
	r = rw_req(DISK_OP_READ, 1 * MiB, iov, 3);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK_EQ(r.len, 16384);
	for (size_t i = 0; i < 4096; i++)
		if (!CHECK_EQ(buf[i], pattern(MiB + i)))
			break;
	for (size_t i = 0; i < 8192; i++)
		if (!CHECK_EQ(buf[8192 + i], pattern(MiB + 4096 + i)))
			break;
	for (size_t i = 0; i < 4096; i++)
		if (!CHECK_EQ(buf[65536 + i], pattern(MiB + 12288 + i)))
			break;

	/* Write 128 KiB, then flush. */
	for (size_t i = 0; i < 128 * KiB; i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	iov[0] = (struct iovec){ buf, 128 * KiB };
	r = rw_req(DISK_OP_WRITE, 2 * MiB, iov, 1);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is(b.check_fd, 2 * MiB, buf, 128 * KiB));
	CHECK(image_is_pattern(b.check_fd, 2 * MiB + 128 * KiB, 4096));
	memset(&r, 0, sizeof(r));
	r.op = DISK_OP_FLUSH;
	CHECK_EQ(run1(&b, &r), 0);

	/* A durable (FUA) write. */
	memset(buf, 0xc3, 4096);
	iov[0].iov_len = 4096;
	r = rw_req(DISK_OP_WRITE, 3 * MiB, iov, 1);
	r.fua = true;
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is(b.check_fd, 3 * MiB, buf, 4096));

	/* Discard punches a hole: zeroes, neighbours intact. */
	r = range_req(DISK_OP_DISCARD, 64 * KiB, 64 * KiB);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is_zero(b.check_fd, 64 * KiB, 64 * KiB));
	CHECK(image_is_pattern(b.check_fd, 60 * KiB, 4 * KiB));
	CHECK(image_is_pattern(b.check_fd, 128 * KiB, 4 * KiB));

	/* Write-zeroes, with and without unmap, not block aligned. */
	r = range_req(DISK_OP_WRITE_ZEROES, 512 * KiB + 512, 3 * 512);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is_zero(b.check_fd, 512 * KiB + 512, 3 * 512));
	CHECK(image_is_pattern(b.check_fd, 512 * KiB, 512));
	CHECK(image_is_pattern(b.check_fd, 512 * KiB + 2048, 512));
	r = range_req(DISK_OP_WRITE_ZEROES, 768 * KiB, 32 * KiB);
	r.unmap = true;
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is_zero(b.check_fd, 768 * KiB, 32 * KiB));
	CHECK(image_is_pattern(b.check_fd, 800 * KiB, 4 * KiB));

	/* Out of range and nonsense fail cleanly. */
	iov[0] = (struct iovec){ buf, 1024 };
	r = rw_req(DISK_OP_READ, IMG_SIZE - 512, iov, 1);
	CHECK_EQ(run1(&b, &r), -EINVAL);
	r = range_req(DISK_OP_DISCARD, UINT64_MAX - 511, 1024);
	CHECK_EQ(run1(&b, &r), -EINVAL);

	/* Many in flight at once: 4 KiB reads all over the image. */
	{
		enum { N = 200 };
		struct disk_req *rs[N], *reqs = calloc(N, sizeof(*reqs));
		struct iovec *iovs = calloc(N, sizeof(*iovs));
		uint8_t *big = aligned_alloc(4096, N * 4096);
		unsigned int before = b.w.done;
		bool ok = true;

		for (int i = 0; i < N; i++) {
			iovs[i] = (struct iovec){ big + i * 4096, 4096 };
			reqs[i].op = DISK_OP_READ;
			/* Away from what the steps above changed. */
			reqs[i].offset = 1 * MiB + ((i * 37) % 200) * 4096;
			reqs[i].iov = &iovs[i];
			reqs[i].iovcnt = 1;
			rs[i] = &reqs[i];
		}
		disk_submit(&b.d, rs, N);
		CHECK(wait_done(&b.w, before + N));
		for (int i = 0; i < N && ok; i++) {
			ok = CHECK_EQ(reqs[i].result, 0);
			for (int k = 0; k < 4096 && ok; k++)
				ok = CHECK_EQ(big[i * 4096 + k],
					      pattern(reqs[i].offset + k));
		}
		free(big);
		free(iovs);
		free(reqs);
	}

	/* Buffers O_DIRECT cannot take (odd address): bounced, still right. */
	iov[0] = (struct iovec){ buf2 + 1, 1536 };
	r = rw_req(DISK_OP_READ, 1 * MiB, iov, 1);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(r.iov == iov); /* the caller's iovecs are back */
	for (size_t i = 0; i < 1536; i++)
		if (!CHECK_EQ(buf2[1 + i], pattern(MiB + i)))
			break;
	memset(buf2 + 1, 0x77, 1024);
	iov[0] = (struct iovec){ buf2 + 1, 1024 };
	r = rw_req(DISK_OP_WRITE, 3 * MiB + 8192, iov, 1);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is(b.check_fd, 3 * MiB + 8192, buf2 + 1, 1024));

	free(buf);
	free(buf2);
	bctx_fini(&b);
}

TEST(backend_io_uring) { exercise(DISK_AIO_IO_URING, false); }
TEST(backend_io_uring_direct) { exercise(DISK_AIO_IO_URING, true); }
TEST(backend_libaio) { exercise(DISK_AIO_LIBAIO, false); }
TEST(backend_libaio_direct) { exercise(DISK_AIO_LIBAIO, true); }
TEST(backend_sync) { exercise(DISK_AIO_SYNC, false); }
TEST(backend_sync_direct) { exercise(DISK_AIO_SYNC, true); }

/* --- O_DIRECT bounce memory --- */

/* A /proc/self/status field in KiB, or -1. */
static long proc_status_kib(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Start measuring peak memory (VmHWM) from now; false if the kernel
 * cannot reset it. */
static bool peak_rss_reset(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, "5", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

#define SPARSE_AT (16 * MiB)     /* the image's pattern ends here */
#define HOSTILE_N 16             /* 32 MiB requests in flight at once */
#define HOSTILE_SEGS 32
#define RSS_SLACK (128 * MiB)    /* what the test may grow by, bounced */

/*
 * A guest's misaligned requests on a ,direct disk: whatever their size and
 * number, lkvm holds at most DISK_BOUNCE_MAX of bounce memory for the disk
 * (a request once cost a bounce buffer of its whole size, up to 1 GiB,
 * allocated when submitted), and data moves correctly through it.
 */
static void bounce_bounded(enum disk_aio_kind kind)
{
	struct bctx b;
	struct disk_req r, *reqs, *rs[HOSTILE_N + 1];
	struct iovec iov[3], *hostile;
	uint8_t *buf, *big;
	uint32_t lb;
	size_t len, i;
	long rss0, hwm;
	bool peak_ok;
	char *path = make_image(SPARSE_AT);

	/* Holes after the pattern, up to 1 GiB more: reads cost no I/O. */
	REQUIRE(truncate(path, (off_t)(SPARSE_AT + GiB)) == 0);
	if (!bctx_open(&b, kind, true, false, path)) {
		bctx_fini(&b);
		return;
	}
	lb = b.d.logical_block;

	/* One read far larger than the bound, in odd-sized buffers at odd
	 * addresses: right, in chunks. */
	len = 9 * MiB + lb;
	buf = malloc(len + 1);
	iov[0] = (struct iovec){ buf + 1, 3 * MiB + 100 };
	iov[1] = (struct iovec){ buf + 1 + 3 * MiB + 100, 1 * MiB + lb - 100 };
	iov[2] = (struct iovec){ buf + 1 + 4 * MiB + lb, 5 * MiB };
	r = rw_req(DISK_OP_READ, lb, iov, 3);
	CHECK_EQ(run1(&b, &r), 0);
	CHECK_EQ(r.len, len);
	CHECK(r.iov == iov);
	for (i = 0; i < len; i++)
		if (!CHECK_EQ(buf[1 + i], pattern(lb + i)))
			break;

	/* The same as a durable write of new data. */
	for (i = 0; i < len; i++)
		buf[1 + i] = (uint8_t)(i * 31 + (i >> 12));
	r = rw_req(DISK_OP_WRITE, 2 * lb, iov, 3);
	r.fua = true;
	CHECK_EQ(run1(&b, &r), 0);
	CHECK(image_is(b.check_fd, 2 * lb, buf + 1, len));
	CHECK(image_is_pattern(b.check_fd, 2 * lb + len, 4096));
	free(buf);
	CHECK(b.d.bounce_peak > 0);
	CHECK(b.d.bounce_peak <= DISK_BOUNCE_MAX);

	/*
	 * The hostile guest: HOSTILE_N requests of 32 MiB and one of 1 GiB
	 * (the largest there is) in flight at once, every buffer one
	 * misaligned MiB of guest RAM (iovecs may alias).  Submit-time
	 * bouncing would hold 1.5 GiB.
	 */
	big = malloc(MiB + 1);
	memset(big, 0x5a, MiB + 1);
	hostile = calloc(IOV_MAX, sizeof(*hostile));
	for (i = 0; i < IOV_MAX; i++)
		hostile[i] = (struct iovec){ big + 1, MiB };
	reqs = calloc(HOSTILE_N + 1, sizeof(*reqs));
	for (i = 0; i <= HOSTILE_N; i++) {
		reqs[i].op = DISK_OP_READ;
		reqs[i].offset = SPARSE_AT;
		reqs[i].iov = hostile;
		reqs[i].iovcnt = i < HOSTILE_N ? HOSTILE_SEGS : IOV_MAX;
		rs[i] = &reqs[i];
	}
	peak_ok = peak_rss_reset();
	rss0 = proc_status_kib("VmRSS");
	{
		unsigned int before = b.w.done;

		disk_submit(&b.d, rs, HOSTILE_N + 1);
		CHECK(wait_done(&b.w, before + HOSTILE_N + 1));
	}
	hwm = proc_status_kib("VmHWM");
	for (i = 0; i <= HOSTILE_N; i++)
		CHECK_EQ(reqs[i].result, 0);
	CHECK_EQ(reqs[HOSTILE_N].len, GiB);
	for (i = 0; i < MiB; i++)
		if (!CHECK_EQ(big[1 + i], 0)) /* the holes' zeroes */
			break;
	CHECK_EQ(big[0], 0x5a);
	CHECK(b.d.bounce_peak <= DISK_BOUNCE_MAX);
	if (peak_ok && rss0 > 0 && hwm > 0) {
		/* The process as a whole, whatever does the counting. */
		if (!CHECK((uint64_t)(hwm - rss0) * KiB < RSS_SLACK))
			printf("  peak memory grew by %ld MiB\n",
			       (hwm - rss0) / 1024);
	}
	/* First: it waits for what a timeout left in flight. */
	bctx_fini(&b);
	CHECK_EQ(b.d.bounce_bytes, 0); /* every worker gave its chunk back */
	free(reqs);
	free(hostile);
	free(big);
}

TEST(bounce_bounded_io_uring) { bounce_bounded(DISK_AIO_IO_URING); }
TEST(bounce_bounded_libaio) { bounce_bounded(DISK_AIO_LIBAIO); }
TEST(bounce_bounded_sync) { bounce_bounded(DISK_AIO_SYNC); }

TEST(readonly_backend)
{
	struct bctx b;
	struct disk_req r;
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };

	if (bctx_init(&b, DISK_AIO_AUTO, false, true)) {
		r = rw_req(DISK_OP_WRITE, 0, &iov, 1);
		CHECK_EQ(run1(&b, &r), -EROFS);
		r = range_req(DISK_OP_DISCARD, 0, 512);
		CHECK_EQ(run1(&b, &r), -EROFS);
		r = rw_req(DISK_OP_READ, 0, &iov, 1);
		CHECK_EQ(run1(&b, &r), 0);
		CHECK_EQ(buf[5], pattern(5));
		CHECK(image_is_pattern(b.check_fd, 0, 4096));
	}
	bctx_fini(&b);
}

TEST(auto_selection)
{
	struct bctx b;

	/* io_uring works on this host (the other tests prove it), so auto
	 * takes it; without a loop it cannot, and the pool is chosen. */
	if (bctx_init(&b, DISK_AIO_AUTO, false, false)) {
		CHECK_EQ(b.d.backend, DISK_AIO_IO_URING);
		CHECK_STREQ(b.d.backend_name, "io_uring");
	}
	bctx_fini(&b);

	{
		struct capture cap;
		const char *msg;
		struct disk d;
		struct waiter w = { .done = 0 };
		char *path = make_image(IMG_SIZE);

		REQUIRE(open_disk(&d, path, false, true, &msg, &cap) == 0);
		lkvm_debug_enabled = true;
		capture_start(&cap);
		CHECK_EQ(disk_backend_init(&d, DISK_AIO_AUTO, NULL, 8, "blkX",
					   on_complete, &w), 0);
		msg = capture_end(&cap);
		lkvm_debug_enabled = false;
		CHECK_EQ(d.backend, DISK_AIO_SYNC);
		CHECK_CONTAINS(msg, "blkX: using the sync thread pool");
		CHECK_CONTAINS(msg, "io_uring unavailable: no event loop");
		disk_close(&d);

		/* An explicit choice that cannot work is an error. */
		REQUIRE(open_disk(&d, path, false, false, &msg, &cap) == 0);
		capture_start(&cap);
		CHECK_EQ(disk_backend_init(&d, DISK_AIO_IO_URING, NULL, 8,
					   "blkY", on_complete, &w), -EINVAL);
		msg = capture_end(&cap);
		CHECK_CONTAINS(msg, "blkY: aio=io_uring is not available");
		disk_close(&d);
		unlink(path);
		free(path);
	}
}

int main(void)
{
	if (tmpdir_create("disk"))
		return 1;
	RUN(open_errors);
	RUN(open_fifo);
	RUN(image_formats);
	RUN(open_unreadable);
	RUN(size_and_blocks);
	RUN(locking);
	RUN(backend_io_uring);
	RUN(backend_io_uring_direct);
	RUN(backend_libaio);
	RUN(backend_libaio_direct);
	RUN(backend_sync);
	RUN(backend_sync_direct);
	RUN(bounce_bounded_io_uring);
	RUN(bounce_bounded_libaio);
	RUN(bounce_bounded_sync);
	RUN(readonly_backend);
	RUN(auto_selection);
	tmpdir_remove();
	return test_summary();
}
