// SPDX-License-Identifier: GPL-2.0
/*
 * The synchronous I/O thread pool: the "sync" backend, and the helper the
 * asynchronous backends hand work to that they cannot do themselves.
 *
 * Requests wait in one FIFO; each worker takes one, does it with
 * preadv/pwritev/fdatasync/fallocate (resuming after short transfers and
 * EINTR) and completes it.  A request to bounce (O_DIRECT, misaligned
 * buffers) goes through the worker's own DISK_BOUNCE_CHUNK buffer one chunk
 * at a time, so the pool never holds more than DISK_POOL_MAX_THREADS chunks
 * of bounce memory, and a request waiting in the FIFO none.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"
#include "lkvm/thread.h"
#include "lkvm/util.h"

struct disk_pool {
	struct disk *d;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct disk_req_fifo queue;
	bool stop;
	unsigned int nr_threads;
	pthread_t *threads;
};

/* Build the part of @r's iovecs from byte @skip on, at most IOV_MAX. */
static unsigned int iov_tail(const struct disk_req *r, uint64_t skip,
			     struct iovec *out)
{
	unsigned int i, n = 0;

	for (i = 0; i < r->iovcnt && n < IOV_MAX; i++) {
		size_t len = r->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		out[n].iov_base = (uint8_t *)r->iov[i].iov_base + skip;
		out[n].iov_len = len - skip;
		skip = 0;
		n++;
	}
	return n;
}

static int do_flush(struct disk *d);

/*
 * One preadv/pwritev of @r's kind at @off: the bytes moved or a negative
 * errno.  Retries EINTR; a FUA write on a kernel without RWF_DSYNC
 * (< 4.7) sets @sync_after, for a flush at the end instead.
 */
static ssize_t rw_once(struct disk *d, const struct disk_req *r,
		       const struct iovec *iov, unsigned int n, uint64_t off,
		       bool *sync_after)
{
	for (;;) {
		ssize_t res;

		if (r->op == DISK_OP_READ)
			res = preadv(d->fd, iov, (int)n, (off_t)off);
		else if (r->fua && !*sync_after)
			res = pwritev2(d->fd, iov, (int)n, (off_t)off,
				       RWF_DSYNC);
		else
			res = pwritev(d->fd, iov, (int)n, (off_t)off);
		if (res >= 0)
			return res;
		if (errno == EINTR)
			continue;
		if (r->op == DISK_OP_WRITE && r->fua && !*sync_after &&
		    (errno == EOPNOTSUPP || errno == EINVAL)) {
			*sync_after = true;
			continue;
		}
		return -errno;
	}
}

static int do_rw(struct disk *d, struct disk_req *r)
{
	struct iovec iov[IOV_MAX];
	bool sync_after = false;

	while (r->done < r->len) {
		unsigned int n = iov_tail(r, r->done, iov);
		ssize_t res;

		if (!n)
			return -EIO; /* len and iovecs disagree */
		res = rw_once(d, r, iov, n, r->offset + r->done, &sync_after);
		if (res < 0)
			return (int)res;
		if (res == 0)
			return -EIO; /* the image shrank under us */
		r->done += (uint64_t)res;
	}
	return sync_after ? do_flush(d) : 0;
}

/* Copy @len bytes between @buf and @r's buffers from byte @skip on. */
static void bounce_copy(const struct disk_req *r, uint64_t skip,
			uint8_t *buf, size_t len, bool to_guest)
{
	unsigned int i;

	for (i = 0; i < r->iovcnt && len; i++) {
		size_t l = r->iov[i].iov_len;
		uint8_t *p = r->iov[i].iov_base;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		p += skip;
		l = MIN(l - (size_t)skip, len);
		if (to_guest)
			memcpy(p, buf, l);
		else
			memcpy(buf, p, l);
		buf += l;
		len -= l;
		skip = 0;
	}
}

static void bounce_account(struct disk *d, long delta)
{
	unsigned long now = __atomic_add_fetch(&d->bounce_bytes,
					       (unsigned long)delta,
					       __ATOMIC_RELAXED);
	unsigned long peak = __atomic_load_n(&d->bounce_peak,
					     __ATOMIC_RELAXED);

	while (now > peak &&
	       !__atomic_compare_exchange_n(&d->bounce_peak, &peak, now, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * A READ/WRITE whose buffers O_DIRECT cannot take, through @bounce (this
 * worker's DISK_BOUNCE_CHUNK bytes, allocated on first use and kept) one
 * chunk at a time: any request size costs one chunk.  Chunks are multiples
 * of the block size, so every chunk's offset stays aligned.
 */
static int do_bounced(struct disk *d, struct disk_req *r, void **bounce)
{
	bool sync_after = false;

	if (!*bounce) {
		if (posix_memalign(bounce, MAX(d->mem_align, 4096u),
				   DISK_BOUNCE_CHUNK)) {
			*bounce = NULL;
			return -ENOMEM;
		}
		bounce_account(d, DISK_BOUNCE_CHUNK);
	}
	while (r->done < r->len) {
		size_t chunk = (size_t)MIN(r->len - r->done,
					   (uint64_t)DISK_BOUNCE_CHUNK);
		size_t moved = 0;

		if (r->op == DISK_OP_WRITE)
			bounce_copy(r, r->done, *bounce, chunk, false);
		while (moved < chunk) {
			struct iovec iov = {
				.iov_base = (uint8_t *)*bounce + moved,
				.iov_len = chunk - moved,
			};
			ssize_t res = rw_once(d, r, &iov, 1,
					      r->offset + r->done + moved,
					      &sync_after);

			if (res < 0)
				return (int)res;
			if (res == 0)
				return -EIO; /* the image shrank under us */
			moved += (size_t)res;
		}
		if (r->op == DISK_OP_READ)
			bounce_copy(r, r->done, *bounce, chunk, true);
		r->done += chunk;
	}
	return sync_after ? do_flush(d) : 0;
}

static int do_flush(struct disk *d)
{
	while (fdatasync(d->fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int do_fallocate(struct disk *d, int mode, uint64_t off, uint64_t len)
{
	while (fallocate(d->fd, mode, (off_t)off, (off_t)len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static int do_discard(struct disk *d, struct disk_req *r)
{
	if (!r->len)
		return 0;
	if (d->blockdev) {
		uint64_t range[2] = { r->offset, r->len };

		if (ioctl(d->fd, BLKDISCARD, range) < 0)
			return -errno;
		return 0;
	}
	return do_fallocate(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			    r->offset, r->len);
}

/* Last resort for write-zeroes: write them. */
static int write_zeroes(struct disk *d, uint64_t off, uint64_t len)
{
	while (len) {
		size_t chunk = (size_t)MIN(len, (uint64_t)DISK_ZERO_BUF);
		ssize_t res = pwrite(d->fd, d->zeroes, chunk, (off_t)off);

		if (res < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (res == 0)
			return -EIO;
		off += (uint64_t)res;
		len -= (uint64_t)res;
	}
	return 0;
}

static bool unsupported(int err)
{
	return err == -EOPNOTSUPP || err == -ENOTTY || err == -EINVAL;
}

static int do_write_zeroes(struct disk *d, struct disk_req *r)
{
	int err = -EOPNOTSUPP;

	if (!r->len)
		return 0;
	/* Deallocating reads back as zeroes, both for files (a hole) and
	 * for block devices (fallocate zeroes them, unmapping if it can). */
	if (r->unmap && d->can_discard) {
		err = do_fallocate(d, FALLOC_FL_PUNCH_HOLE |
				   FALLOC_FL_KEEP_SIZE, r->offset, r->len);
		if (!err || !unsupported(err))
			return err;
	}
	if (!__atomic_load_n(&d->no_zero_range, __ATOMIC_RELAXED)) {
		err = do_fallocate(d, FALLOC_FL_ZERO_RANGE |
				   FALLOC_FL_KEEP_SIZE, r->offset, r->len);
		if (!err || !unsupported(err))
			return err;
		if (err == -EOPNOTSUPP)
			__atomic_store_n(&d->no_zero_range, true,
					 __ATOMIC_RELAXED);
	}
	if (d->blockdev) {
		uint64_t range[2] = { r->offset, r->len };

		if (ioctl(d->fd, BLKZEROOUT, range) == 0)
			return 0;
	}
	return write_zeroes(d, r->offset, r->len);
}

/* Do @r now on this thread (@bounce: the worker's bounce buffer); returns
 * 0 or a negative errno. */
static int do_sync(struct disk *d, struct disk_req *r, void **bounce)
{
	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		return r->bounce ? do_bounced(d, r, bounce) : do_rw(d, r);
	case DISK_OP_FLUSH:
		return do_flush(d);
	case DISK_OP_DISCARD:
		return do_discard(d, r);
	case DISK_OP_WRITE_ZEROES:
		return do_write_zeroes(d, r);
	default:
		return -EINVAL;
	}
}

static void *pool_worker(void *opaque)
{
	struct disk_pool *p = opaque;
	struct disk *d = p->d;
	void *bounce = NULL; /* DISK_BOUNCE_CHUNK bytes, once needed */

	for (;;) {
		struct disk_req *r;

		pthread_mutex_lock(&p->lock);
		while (!p->queue.head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		r = disk_fifo_pop(&p->queue);
		pthread_mutex_unlock(&p->lock);
		if (!r)
			break; /* stopping, and nothing left */

		r->result = do_sync(d, r, &bounce);
		disk_complete_reqs(d, &r, 1);
	}
	if (bounce) {
		free(bounce);
		bounce_account(d, -(long)DISK_BOUNCE_CHUNK);
	}
	return NULL;
}

void disk_pool_queue(struct disk *d, struct disk_req *req)
{
	struct disk_pool *p = d->pool;

	pthread_mutex_lock(&p->lock);
	disk_fifo_push(&p->queue, req);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

int disk_pool_start(struct disk *d, unsigned int threads)
{
	struct disk_pool *p;
	int err = 0;

	/* Each thread may hold a bounce chunk: that is the bound. */
	if (threads > DISK_POOL_MAX_THREADS)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->d = d;
	p->threads = calloc(threads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	d->pool = p;

	/* Signals belong to the main thread and the vCPUs. */
	while (p->nr_threads < threads) {
		err = lkvm_thread_create(&p->threads[p->nr_threads],
					 pool_worker, p);
		if (err)
			break;
		p->nr_threads++;
	}
	if (err && !p->nr_threads) {
		disk_pool_stop(d);
		return err;
	}
	return 0;
}

void disk_pool_stop(struct disk *d)
{
	struct disk_pool *p = d->pool;
	unsigned int i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nr_threads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p->threads);
	free(p);
	d->pool = NULL;
}

/* --- The "sync" backend: everything goes to the pool --- */

static int sync_init(struct disk *d, unsigned int depth, char *why,
		     size_t why_len)
{
	/* Enough threads to keep a device busy, not one per slot. */
	unsigned int threads = MIN(MAX(depth, 1u), DISK_POOL_MAX_THREADS);
	int err = disk_pool_start(d, threads);

	(void)why;
	(void)why_len;
	return err;
}

static void sync_submit(struct disk *d, struct disk_req **reqs,
			unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		disk_pool_queue(d, reqs[i]);
}

static void sync_destroy(struct disk *d)
{
	disk_pool_stop(d);
}

const struct disk_backend_ops disk_sync_ops = {
	.name = "sync",
	.init = sync_init,
	.submit = sync_submit,
	.destroy = sync_destroy,
};
