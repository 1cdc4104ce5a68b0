// SPDX-License-Identifier: GPL-2.0
/*
 * Disk images: opening, locking, geometry and capabilities, backend
 * selection, and the parts of request handling every backend shares
 * (length computation, which O_DIRECT requests to bounce, completion
 * accounting).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "lkvm/disk.h"
#include "lkvm/ioloop.h"
#include "lkvm/util.h"

const char *disk_aio_name(enum disk_aio_kind kind)
{
	switch (kind) {
	case DISK_AIO_IO_URING:
		return "io_uring";
	case DISK_AIO_LIBAIO:
		return "libaio";
	case DISK_AIO_SYNC:
		return "sync";
	case DISK_AIO_AUTO:
	default:
		return "auto";
	}
}

/* Read one unsigned number from a sysfs file; false if there is none. */
static bool read_sysfs_u64(const char *path, uint64_t *val)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	*val = strtoull(buf, NULL, 10);
	return true;
}

/* A block device's queue attribute; partitions keep theirs in the parent. */
static bool blockdev_queue_attr(dev_t rdev, const char *attr, uint64_t *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/%s",
		 major(rdev), minor(rdev), attr);
	if (read_sysfs_u64(path, val))
		return true;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/%s",
		 major(rdev), minor(rdev), attr);
	return read_sysfs_u64(path, val);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static int probe_blockdev(struct disk *d, const struct stat *st)
{
	uint64_t size = 0, v;
	unsigned int pbs = 0;
	int lbs = 0;

	if (ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
		int err = -errno;

		pr_err("disk '%s': cannot get the block device's size: %s",
		       d->path, strerror(-err));
		return err;
	}
	d->size = size;
	if (ioctl(d->fd, BLKSSZGET, &lbs) < 0 || lbs < 512 ||
	    !is_pow2((uint64_t)lbs))
		lbs = 512;
	if (ioctl(d->fd, BLKPBSZGET, &pbs) < 0 || pbs < (unsigned int)lbs ||
	    !is_pow2(pbs))
		pbs = (unsigned int)lbs;
	d->logical_block = (uint32_t)lbs;
	d->physical_block = pbs;
	d->mem_align = (uint32_t)lbs;
	d->discard_granularity = pbs;
	if (!d->readonly &&
	    blockdev_queue_attr(st->st_rdev, "discard_max_bytes", &v) && v) {
		d->can_discard = true;
		if (blockdev_queue_attr(st->st_rdev, "discard_granularity",
					&v) &&
		    is_pow2(v) && v <= (1u << 30))
			d->discard_granularity = (uint32_t)v;
	}
	return 0;
}

static void probe_file(struct disk *d, const struct stat *st)
{
	d->size = (uint64_t)st->st_size;
	d->logical_block = 512;
	d->physical_block = 4096;
	d->mem_align = 512;
	if (st->st_blksize >= 512 && st->st_blksize <= 65536 &&
	    is_pow2((uint64_t)st->st_blksize))
		d->physical_block = (uint32_t)st->st_blksize;
	d->discard_granularity = d->physical_block;

#ifdef STATX_DIOALIGN
	/* O_DIRECT: the filesystem knows its alignment rules (Linux 6.1+). */
	if (d->direct) {
		struct statx sx;

		if (!statx(d->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) &&
		    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
			if (is_pow2(sx.stx_dio_offset_align) &&
			    sx.stx_dio_offset_align >= 512 &&
			    sx.stx_dio_offset_align <= 65536)
				d->logical_block = sx.stx_dio_offset_align;
			if (is_pow2(sx.stx_dio_mem_align) &&
			    sx.stx_dio_mem_align <= 65536)
				d->mem_align = MAX(sx.stx_dio_mem_align, 1u);
			if (d->physical_block < d->logical_block)
				d->physical_block = d->logical_block;
		}
	}
#endif

	/*
	 * Hole punching past the end of the file changes nothing but tells
	 * whether the filesystem can deallocate at all.
	 */
	if (!d->readonly) {
		off_t past = (off_t)ALIGN_UP(d->size, 65536ULL) + 65536;

		d->can_discard = fallocate(d->fd, FALLOC_FL_PUNCH_HOLE |
					   FALLOC_FL_KEEP_SIZE, past, 4096) == 0;
	}
}

/* One line saying why the image cannot be opened. */
static void report_open_error(const char *path, bool ro, bool direct, int err)
{
	switch (err) {
	case ENOENT:
		pr_err("disk '%s' does not exist", path);
		break;
	case EACCES:
	case EPERM:
		pr_err("cannot open disk '%s' %s: %s", path,
		       ro ? "for reading" : "for reading and writing (add ,ro for a read-only disk)",
		       strerror(err));
		break;
	case EROFS:
		pr_err("disk '%s' is on a read-only filesystem (add ,ro for a read-only disk)",
		       path);
		break;
	case EINVAL:
		if (direct) {
			pr_err("disk '%s': the filesystem does not support O_DIRECT (drop ,direct)",
			       path);
			break;
		}
		/* fall through */
	default:
		pr_err("cannot open disk '%s': %s", path, strerror(err));
		break;
	}
}

static int take_lock(struct disk *d)
{
	struct flock fl = {
		.l_type = d->readonly ? F_RDLCK : F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0, /* the whole file, however it grows */
	};

	if (fcntl(d->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
	case EACCES:
		pr_err("disk '%s' is locked by another process (is another lkvm using it?)",
		       d->path);
		return -EBUSY;
	case EINVAL:
	case ENOLCK:
	case EOPNOTSUPP:
		/* Filesystems without locks (some network ones): run, but
		 * say nothing protects the image. */
		pr_warn("disk '%s': cannot lock the image (%s); nothing stops another process from using it",
			d->path, strerror(errno));
		return 0;
	default: {
		int err = -errno;

		pr_err("disk '%s': cannot lock the image: %s", d->path,
		       strerror(-err));
		return err;
	}
	}
}

/* --- Image formats lkvm does not read --- */

const char *disk_image_format(const uint8_t *head, size_t head_len,
			      const uint8_t *tail, size_t tail_len)
{
#define AT(buf, len, off, magic) \
	((len) >= (off) + sizeof(magic) - 1 && \
	 !memcmp((buf) + (off), magic, sizeof(magic) - 1))
	if (AT(head, head_len, 0, "QFI\xfb"))
		/* Version 1 (big-endian at 4) is the old qcow. */
		return head_len >= 8 && !memcmp(head + 4, "\0\0\0\1", 4) ?
		       "qcow" : "qcow2";
	if (AT(head, head_len, 0, "QED\0"))
		return "QED";
	if (AT(head, head_len, 0, "KDMV") || AT(head, head_len, 0, "COWD") ||
	    AT(head, head_len, 0, "# Disk DescriptorFile"))
		return "VMDK";
	if (AT(head, head_len, 0x40, "\x7f\x10\xda\xbe"))
		return "VDI";
	if (AT(head, head_len, 0, "vhdxfile"))
		return "VHDX";
	/* A VHD's footer is its last 512 bytes (dynamic ones copy it first). */
	if (AT(head, head_len, 0, "conectix") ||
	    (tail_len == 512 && AT(tail, tail_len, 0, "conectix")))
		return "VHD";
	/*
	 * Not LUKS: an encrypted volume is raw to lkvm, the guest unlocks it
	 * -- and a guest may luksFormat a whole disk, which must not stop
	 * that disk from being given to it again.
	 */
#undef AT
	return NULL;
}

/* 'qemu-img convert -O raw x.qcow2 x.img': the raw file to suggest. */
static void raw_name(const char *path, char *out, size_t cap)
{
	static const char *const exts[] = {
		".qcow2", ".qcow", ".qed", ".vmdk", ".vdi", ".vhdx", ".vhd",
		".img",
	};
	size_t len = strlen(path), i, n;

	for (i = 0; i < ARRAY_SIZE(exts); i++) {
		n = strlen(exts[i]);
		if (len > n && !strcasecmp(path + len - n, exts[i])) {
			len -= n;
			break;
		}
	}
	snprintf(out, cap, "%.*s.img", (int)len, path);
	if (!strcmp(out, path))
		snprintf(out, cap, "%.*s.raw.img", (int)len, path);
}

/*
 * Refuse an image in a format lkvm does not read (the guest would see its
 * metadata as a disk), unless ,format=raw says the bytes are meant as
 * they are.  Reads the first 4 KiB and the last 512 bytes.
 */
static int check_format(struct disk *d)
{
	uint8_t head[4096], tail[512];
	ssize_t nh, nt = 0;
	const char *fmt;
	char raw[PATH_MAX + 16];
	int fl = fcntl(d->fd, F_GETFL);

	/* Small unaligned reads: without O_DIRECT for the moment. */
	if (fl >= 0 && (fl & O_DIRECT))
		(void)!fcntl(d->fd, F_SETFL, fl & ~O_DIRECT);
	nh = pread(d->fd, head, sizeof(head), 0);
	if (d->size >= sizeof(tail) * 2)
		nt = pread(d->fd, tail, sizeof(tail),
			   (off_t)(d->size - sizeof(tail)));
	if (fl >= 0 && (fl & O_DIRECT))
		(void)!fcntl(d->fd, F_SETFL, fl);
	fmt = disk_image_format(head, nh > 0 ? (size_t)nh : 0, tail,
				nt > 0 ? (size_t)nt : 0);
	if (!fmt)
		return 0;
	raw_name(d->path, raw, sizeof(raw));
	pr_err("disk '%s' is a %s image; lkvm reads raw images only: convert it with 'qemu-img convert -O raw %s %s', or add ,format=raw to use the bytes as they are",
	       d->path, fmt, d->path, raw);
	return -EMEDIUMTYPE;
}

/* A raw image is a regular file or a block device. */
static int check_type(const struct disk *d, const struct stat *st)
{
	if (S_ISDIR(st->st_mode)) {
		pr_err("disk '%s' is a directory, not an image", d->path);
		return -EISDIR;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		pr_err("disk '%s' is not a regular file or a block device",
		       d->path);
		return -EINVAL;
	}
	return 0;
}

/*
 * d->fd for d->path: a regular file or a block device (never waiting on a
 * FIFO), blocking I/O, its identity in d->st_dev/st_ino; @st is its stat.
 */
static int open_image(struct disk *d, struct stat *st)
{
	int flags = O_CLOEXEC | O_NOCTTY;
	int err;

	flags |= d->readonly ? O_RDONLY : O_RDWR;
	if (d->direct)
		flags |= O_DIRECT;
	/*
	 * Look before opening (opening a device may do something by itself)
	 * and open without blocking: a FIFO opened read-only would wait for
	 * a writer.  The type is checked again on the descriptor.
	 */
	if (stat(d->path, st) == 0) {
		err = check_type(d, st);
		if (err)
			return err;
	}
	d->fd = open(d->path, flags | O_NONBLOCK);
	if (d->fd < 0) {
		err = errno;
		/* open() of a directory for writing says EISDIR. */
		if (err == EISDIR)
			pr_err("disk '%s' is a directory, not an image", d->path);
		else
			report_open_error(d->path, d->readonly, d->direct, err);
		return -err;
	}
	if (fstat(d->fd, st) < 0) {
		err = -errno;
		pr_err("disk '%s': %s", d->path, strerror(-err));
		return err;
	}
	err = check_type(d, st);
	if (err)
		return err;
	if (fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		err = -errno;
		pr_err("disk '%s': %s", d->path, strerror(-err));
		return err;
	}
	d->blockdev = S_ISBLK(st->st_mode);
	d->st_dev = d->blockdev ? st->st_rdev : st->st_dev;
	d->st_ino = st->st_ino;
	return 0;
}

int disk_open(struct disk *d, const struct disk_config *cfg)
{
	struct stat st;
	int err;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	if (!cfg->path || !*cfg->path) {
		pr_err("disk: empty path");
		return -EINVAL;
	}
	d->path = strdup(cfg->path);
	if (!d->path) {
		pr_err("disk '%s': out of memory", cfg->path);
		return -ENOMEM;
	}
	d->readonly = cfg->readonly;
	d->direct = cfg->direct;

	err = open_image(d, &st);
	if (err)
		return err;

	/* Lock before looking further: the size of an image someone else
	 * is writing means nothing. */
	err = take_lock(d);
	if (err)
		return err;

	if (d->blockdev) {
		err = probe_blockdev(d, &st);
		if (err)
			return err;
	} else {
		probe_file(d, &st);
	}
	if (d->size == 0) {
		pr_err("disk '%s' is empty", d->path);
		return -EINVAL;
	}
	if (!cfg->format_raw) {
		err = check_format(d);
		if (err)
			return err;
	}
	if (d->size < d->logical_block) {
		pr_err("disk '%s' is smaller than one %u-byte block", d->path,
		       d->logical_block);
		return -EINVAL;
	}
	if (d->size % d->logical_block)
		pr_warn("disk '%s': its size is not a multiple of %u bytes; the last %llu bytes are not visible to the guest",
			d->path, d->logical_block,
			(unsigned long long)(d->size % d->logical_block));
	d->size = ALIGN_DOWN(d->size, (uint64_t)d->logical_block);
	d->can_write_zeroes = !d->readonly;
	return 0;
}

/* --- Backends --- */

static int try_backend(struct disk *d, const struct disk_backend_ops *ops,
		       unsigned int depth, char *why, size_t why_len)
{
	int err;

	why[0] = 0;
	err = ops->init(d, depth, why, why_len);
	if (err) {
		if (!why[0])
			snprintf(why, why_len, "%s", strerror(-err));
		return err;
	}
	d->ops = ops;
	d->backend_name = ops->name;
	return 0;
}

int disk_backend_init(struct disk *d, enum disk_aio_kind kind,
		      struct ioloop *loop, unsigned int depth, const char *who,
		      disk_complete_fn complete, void *opaque)
{
	char why_uring[160], why_aio[160];
	int err;

	snprintf(d->who, sizeof(d->who), "%s", who ? who : "disk");
	d->loop = loop;
	d->complete = complete;
	d->complete_opaque = opaque;
	if (!depth)
		depth = 1;

	if (d->can_write_zeroes) {
		/* Read-only anonymous pages all map the kernel's zero page:
		 * no memory is used however often the buffer is written out,
		 * and mmap's page alignment suits O_DIRECT. */
		d->zeroes = mmap(NULL, DISK_ZERO_BUF, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (d->zeroes == MAP_FAILED) {
			d->zeroes = NULL;
			pr_err("%s: out of memory", d->who);
			return -ENOMEM;
		}
	}

	switch (kind) {
	case DISK_AIO_IO_URING:
		err = try_backend(d, &disk_uring_ops, depth, why_uring,
				  sizeof(why_uring));
		if (err)
			pr_err("%s: aio=io_uring is not available: %s", d->who,
			       why_uring);
		break;
	case DISK_AIO_LIBAIO:
		err = try_backend(d, &disk_aio_ops, depth, why_aio,
				  sizeof(why_aio));
		if (err)
			pr_err("%s: aio=libaio is not available: %s", d->who,
			       why_aio);
		else if (!d->direct)
			pr_debug("%s: libaio without ,direct: requests are done inside io_submit()",
				 d->who);
		break;
	case DISK_AIO_SYNC:
		err = try_backend(d, &disk_sync_ops, depth, why_aio,
				  sizeof(why_aio));
		if (err)
			pr_err("%s: cannot start the I/O threads: %s", d->who,
			       why_aio);
		break;
	case DISK_AIO_AUTO:
	default:
		err = try_backend(d, &disk_uring_ops, depth, why_uring,
				  sizeof(why_uring));
		if (!err) {
			pr_debug("%s: using io_uring for '%s'", d->who, d->path);
			break;
		}
		if (d->direct) {
			err = try_backend(d, &disk_aio_ops, depth, why_aio,
					  sizeof(why_aio));
			if (!err) {
				pr_debug("%s: using libaio for '%s' (io_uring unavailable: %s)",
					 d->who, d->path, why_uring);
				break;
			}
		} else {
			snprintf(why_aio, sizeof(why_aio),
				 "not asynchronous without ,direct");
		}
		err = try_backend(d, &disk_sync_ops, depth, why_aio,
				  sizeof(why_aio));
		if (!err) {
			pr_debug("%s: using the sync thread pool for '%s' (io_uring unavailable: %s; libaio: %s)",
				 d->who, d->path, why_uring, why_aio);
			break;
		}
		pr_err("%s: no I/O backend works for '%s' (io_uring: %s; sync: %s)",
		       d->who, d->path, why_uring, why_aio);
		break;
	}
	if (err) {
		if (d->zeroes)
			munmap(d->zeroes, DISK_ZERO_BUF);
		d->zeroes = NULL;
		return err;
	}
	if (kind == DISK_AIO_AUTO) {
		if (d->ops == &disk_uring_ops)
			d->backend = DISK_AIO_IO_URING;
		else if (d->ops == &disk_aio_ops)
			d->backend = DISK_AIO_LIBAIO;
		else
			d->backend = DISK_AIO_SYNC;
	} else {
		d->backend = kind;
	}
	return 0;
}

/* --- Requests --- */

static bool iov_dio_aligned(const struct disk *d, const struct iovec *iov,
			    unsigned int n)
{
	uintptr_t mem_mask = d->mem_align - 1;
	size_t len_mask = d->logical_block - 1;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (((uintptr_t)iov[i].iov_base & mem_mask) ||
		    (iov[i].iov_len & len_mask))
			return false;
	}
	return true;
}

/*
 * Prepare @r: its length, and for O_DIRECT whether it must be bounced (the
 * guest's buffers are not aligned the way the kernel insists on).  Nothing
 * is allocated here: the pool bounces it in chunks when a worker takes it
 * (see include/lkvm/disk.h).  Returns 0 or the error to complete it with.
 */
static int prepare_req(struct disk *d, struct disk_req *r)
{
	uint64_t len = 0;
	unsigned int i;

	r->result = 0;
	r->done = 0;
	r->bounce = false;
	r->next = NULL;
	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (r->iovcnt > IOV_MAX)
			return -EINVAL;
		for (i = 0; i < r->iovcnt; i++) {
			len += r->iov[i].iov_len;
			if (len < r->iov[i].iov_len)
				return -EINVAL;
		}
		/* io_uring reports at most INT_MAX bytes per request. */
		if (len > (1ULL << 30))
			return -EINVAL;
		r->len = len;
		if (r->op == DISK_OP_WRITE && d->readonly)
			return -EROFS;
		if (r->offset > d->size || len > d->size - r->offset)
			return -EINVAL;
		r->bounce = d->direct && !iov_dio_aligned(d, r->iov, r->iovcnt);
		return 0;
	case DISK_OP_FLUSH:
		r->len = 0;
		return 0;
	case DISK_OP_DISCARD:
	case DISK_OP_WRITE_ZEROES:
		if (d->readonly)
			return -EROFS;
		if (r->offset > d->size || r->len > d->size - r->offset)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

void disk_submit(struct disk *d, struct disk_req **reqs, unsigned int n)
{
	struct disk_req *ok[64];
	unsigned int i, nr_ok = 0;

	pthread_mutex_lock(&d->lock);
	d->inflight += n;
	pthread_mutex_unlock(&d->lock);

	for (i = 0; i < n; i++) {
		struct disk_req *r = reqs[i];
		int err = prepare_req(d, r);

		if (err) {
			r->result = err;
			disk_complete_reqs(d, &r, 1);
			continue;
		}
		if (r->bounce) {
			/* Chunked through a pool worker's buffer. */
			disk_pool_queue(d, r);
			continue;
		}
		ok[nr_ok++] = r;
		if (nr_ok == ARRAY_SIZE(ok)) {
			d->ops->submit(d, ok, nr_ok);
			nr_ok = 0;
		}
	}
	if (nr_ok)
		d->ops->submit(d, ok, nr_ok);
}

void disk_complete_reqs(struct disk *d, struct disk_req **reqs,
			unsigned int n)
{
	unsigned int i;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		struct disk_req *r = reqs[i];

		/* Discard is a hint: a filesystem that cannot deallocate
		 * has done all that was asked. */
		if (r->op == DISK_OP_DISCARD && r->result == -EOPNOTSUPP)
			r->result = 0;
	}
	d->complete(d->complete_opaque, reqs, n);

	/* Only after the callback: disk_close() may free what it used. */
	pthread_mutex_lock(&d->lock);
	d->inflight -= n;
	if (!d->inflight)
		pthread_cond_broadcast(&d->idle);
	pthread_mutex_unlock(&d->lock);
}

void disk_continue_short(struct disk *d, struct disk_req *req, uint64_t res)
{
	req->done += res;
	if (res == 0 || req->done >= req->len) {
		/* No progress (end of the image) or nonsense: fail. */
		req->result = req->done >= req->len ? 0 : -EIO;
		disk_complete_reqs(d, &req, 1);
		return;
	}
	disk_pool_queue(d, req);
}

void disk_close(struct disk *d)
{
	if (d->ops) {
		pthread_mutex_lock(&d->lock);
		while (d->inflight)
			pthread_cond_wait(&d->idle, &d->lock);
		pthread_mutex_unlock(&d->lock);
		d->ops->destroy(d);
		d->ops = NULL;
	}
	if (d->zeroes)
		munmap(d->zeroes, DISK_ZERO_BUF);
	d->zeroes = NULL;
	if (d->fd >= 0)
		close(d->fd); /* drops the OFD lock */
	d->fd = -1;
	free(d->path);
	d->path = NULL;
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->idle);
}

void *disk_async_alloc(struct disk *d, size_t size, size_t as_off, char *why,
		       size_t why_len, int *err)
{
	struct disk_async *as;
	char *priv;

	if (!d->loop) {
		snprintf(why, why_len, "no event loop");
		*err = -EINVAL;
		return NULL;
	}
	priv = calloc(1, size);
	if (!priv) {
		*err = -ENOMEM;
		return NULL;
	}
	as = (struct disk_async *)(void *)(priv + as_off);
	as->efd = -1;
	pthread_mutex_init(&as->lock, NULL);
	d->priv = priv;
	return priv;
}

int disk_async_eventfd(struct disk_async *as, char *why, size_t why_len)
{
	int err;

	as->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (as->efd >= 0)
		return 0;
	err = -errno;
	snprintf(why, why_len, "eventfd: %s", strerror(-err));
	return err;
}

int disk_async_start(struct disk *d, struct disk_async *as,
		     void (*fn)(struct io_watch *w), char *why, size_t why_len)
{
	int err = disk_pool_start(d, 2);

	if (err) {
		snprintf(why, why_len, "cannot start helper threads: %s",
			 strerror(-err));
		return err;
	}
	err = ioloop_watch_add(d->loop, &as->watch, as->efd, fn, d, d->who);
	if (err) {
		snprintf(why, why_len, "cannot watch completions: %s",
			 strerror(-err));
		return err;
	}
	as->watching = true;
	return 0;
}

void disk_async_unwatch(struct disk_async *as)
{
	if (as->watching)
		ioloop_watch_del(&as->watch);
	as->watching = false;
}

void disk_async_free(struct disk *d, struct disk_async *as)
{
	if (as->efd >= 0)
		close(as->efd);
	disk_pool_stop(d);
	pthread_mutex_destroy(&as->lock);
	free(d->priv);
	d->priv = NULL;
}

bool disk_finish_rw(struct disk *d, struct disk_req *r, long res)
{
	if (res < 0) {
		r->result = (int)res;
		return true;
	}
	if ((uint64_t)res < r->len) {
		disk_continue_short(d, r, (uint64_t)res);
		return false;
	}
	r->result = 0;
	return true;
}
