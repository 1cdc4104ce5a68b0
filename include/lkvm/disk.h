/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DISK_H
#define LKVM_DISK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "lkvm/config.h"

/*
 * Disk images and their I/O backends, independent of any device model.
 *
 *   disk_open()          open + size + block sizes + OFD lock + capabilities
 *   disk_backend_init()  pick an I/O backend (io_uring, libaio or a thread
 *                        pool doing synchronous I/O) and start it
 *   disk_submit()        queue a batch of asynchronous requests whose iovecs
 *                        point straight into guest RAM (no copy, except
 *                        through a bounce buffer for O_DIRECT requests whose
 *                        buffers are not aligned as the kernel requires)
 *   complete callback    called with batches of finished requests, from a
 *                        backend thread (or from inside disk_submit())
 *   disk_close()         wait for every request, stop the backend, close
 *
 * Backends:
 *   io_uring  READV/WRITEV/FSYNC(DATASYNC)/FALLOCATE; completions through an
 *             eventfd (io_uring_register_eventfd) watched on an ioloop.
 *   libaio    IOCB_CMD_PREADV/PWRITEV and, where the kernel has it,
 *             IOCB_CMD_FDSYNC; completions through io_set_eventfd.  Linux
 *             AIO is only asynchronous for O_DIRECT files: without ,direct
 *             io_submit() does the I/O itself, so automatic selection does
 *             not choose libaio for buffered images.
 *   sync      a thread pool doing preadv/pwritev/fdatasync/fallocate.
 * The io_uring and libaio backends hand what they cannot do (discard and
 * write-zeroes for libaio or without IORING_OP_FALLOCATE, fdsync on old
 * kernels, the rest of a short transfer) to a small pool of the same kind.
 *
 * O_DIRECT bounce buffers: a READ/WRITE on a ,direct disk whose buffers are
 * misaligned (rare: Linux guests hand over whole pages) goes to the pool,
 * whatever the backend, and moves through the worker's own bounce buffer
 * of DISK_BOUNCE_CHUNK bytes one chunk at a time.  So a request of any size
 * (up to 1 GiB) needs no more, requests waiting for a worker hold nothing,
 * and a disk never holds more than DISK_BOUNCE_MAX of bounce memory however
 * many misaligned requests the guest queues: no request waits for memory
 * another one holds, and none fails for lack of it (but for a failed
 * allocation of one chunk).
 */

/* Bytes one pool worker bounces at a time (a multiple of any O_DIRECT
 * alignment, which is at most 64 KiB). */
#define DISK_BOUNCE_CHUNK (256 * 1024)
/* The most bounce memory one disk holds: one chunk per pool worker, and a
 * disk has at most 16 (DISK_POOL_MAX_THREADS). */
#define DISK_BOUNCE_MAX (16 * DISK_BOUNCE_CHUNK)

struct ioloop;
struct disk;
struct disk_pool;
struct disk_backend_ops;

enum disk_op {
	DISK_OP_READ,
	DISK_OP_WRITE,
	DISK_OP_FLUSH,        /* fdatasync: completed writes become durable */
	DISK_OP_DISCARD,      /* deallocate; a hint, unsupported is success */
	DISK_OP_WRITE_ZEROES, /* reads back as zeroes afterwards */
};

/* One request.  The caller owns the memory until it is completed. */
struct disk_req {
	/* Set by the caller. */
	enum disk_op op;
	uint64_t offset;          /* bytes */
	uint64_t len;             /* DISCARD/WRITE_ZEROES: bytes (READ/WRITE:
				   * computed by disk_submit() from iov) */
	const struct iovec *iov;  /* READ/WRITE buffers (<= IOV_MAX) */
	unsigned int iovcnt;
	bool unmap;               /* WRITE_ZEROES: may deallocate */
	bool fua;                 /* WRITE: durable when complete (RWF_DSYNC) */
	void *opaque;             /* the caller's cookie */

	/* Result, valid in the completion callback: 0 or a negative errno. */
	int result;

	/* Private to disk/. */
	uint64_t done;            /* bytes transferred so far */
	bool bounce;              /* misaligned for O_DIRECT: the pool
				   * does it through a bounce buffer */
	struct disk_req *next;    /* pool and backlog queues */
};

/*
 * Called with @n finished requests (each with ->result set).  Runs on a
 * backend thread, or on the caller's thread from inside disk_submit() when a
 * request fails before it reaches the kernel; must not block for long.
 */
typedef void (*disk_complete_fn)(void *opaque, struct disk_req **reqs,
				 unsigned int n);

struct disk {
	char *path;               /* for messages */
	int fd;
	bool readonly;
	bool direct;              /* O_DIRECT */
	bool blockdev;            /* a host block device, not a file */
	uint64_t size;            /* bytes */
	uint32_t logical_block;   /* smallest I/O unit (O_DIRECT alignment) */
	uint32_t physical_block;
	uint32_t mem_align;       /* O_DIRECT buffer alignment */
	uint32_t discard_granularity; /* bytes */
	bool can_discard;         /* hole punching / BLKDISCARD works */
	bool can_write_zeroes;    /* writable: fallocate, else written zeroes */
	dev_t st_dev;
	ino_t st_ino;

	/* The backend, from disk_backend_init(). */
	enum disk_aio_kind backend;
	const char *backend_name;
	const struct disk_backend_ops *ops;
	void *priv;               /* backend state */
	struct disk_pool *pool;   /* synchronous helpers (every backend) */
	struct ioloop *loop;
	char who[32];             /* "virtio-blk0", for messages */
	disk_complete_fn complete;
	void *complete_opaque;
	void *zeroes;             /* DISK_ZERO_BUF zero bytes, aligned */
	bool no_zero_range;       /* fallocate ZERO_RANGE said EOPNOTSUPP */

	pthread_mutex_t lock;     /* inflight */
	pthread_cond_t idle;
	unsigned long inflight;

	/* Bounce memory held now and at most so far (atomic; <=
	 * DISK_BOUNCE_MAX), for tests and debugging. */
	unsigned long bounce_bytes;
	unsigned long bounce_peak;
};

/*
 * Open @cfg->path (a raw image file or a block device; read-only for
 * cfg->readonly, O_DIRECT for cfg->direct), find its size and block sizes
 * and take an OFD lock on it: a write lock, or a read lock when read-only,
 * so several read-only users may share an image but never with a writer.
 * On failure prints one line naming the image and returns a negative errno
 * (-EBUSY when another process holds the lock).  An image in a format
 * lkvm does not read is refused (see disk_image_format()).
 */
int disk_open(struct disk *d, const struct disk_config *cfg);

/*
 * The image format lkvm does not read whose signature the first bytes of
 * an image (@head) or its last 512 (@tail, @tail_len 512 or 0) carry:
 * "qcow2", "qcow", "QED", "VMDK", "VDI", "VHDX", "VHD", "LUKS"; NULL for
 * anything else.  disk_open() refuses such an image (-EMEDIUMTYPE, one
 * line saying how to convert it) unless cfg->format_raw.
 */
const char *disk_image_format(const uint8_t *head, size_t head_len,
			      const uint8_t *tail, size_t tail_len);

/*
 * Start an I/O backend for @d.  DISK_AIO_AUTO tries io_uring, then libaio
 * (only for O_DIRECT images), then the thread pool, and logs the choice and
 * why with pr_debug(); an explicit choice that cannot work is an error
 * (printed).  @who names the device in messages; @loop runs completion
 * handlers (needed by io_uring and libaio); @depth is how many requests the
 * caller may have in flight (a sizing hint).  @complete is called for every
 * finished request.
 */
int disk_backend_init(struct disk *d, enum disk_aio_kind kind,
		      struct ioloop *loop, unsigned int depth, const char *who,
		      disk_complete_fn complete, void *opaque);

/*
 * Start @n requests.  Never fails: a request that cannot be started is
 * completed with its error.  Requests may complete in any order; a FLUSH
 * covers the writes that completed before it was submitted.
 */
void disk_submit(struct disk *d, struct disk_req **reqs, unsigned int n);

/* Wait for every submitted request to complete, stop the backend, drop the
 * lock and close the image.  Safe on a disk that failed to open. */
void disk_close(struct disk *d);

const char *disk_aio_name(enum disk_aio_kind kind);

#endif
