// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux AIO (libaio) backend.
 *
 * A fixed set of DISK_RING_ENTRIES iocbs (the io_setup() depth); requests
 * beyond that wait in a backlog.  Every iocb signals one eventfd on
 * completion, watched on the VM's ioloop (one reaper at a time).  Reads and
 * writes go to the kernel; FLUSH too where the kernel implements
 * IOCB_CMD_FDSYNC (probed at start); discard and write-zeroes, which AIO
 * cannot express, go to the helper pool.
 */
#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "lkvm/ioloop.h"
#include "lkvm/util.h"

#define AIO_REAP_BATCH 32
#define AIO_REAP_BUDGET 512

struct aio {
	io_context_t ctx;
	bool ctx_ok;
	struct disk_async as;             /* as.lock: free list, backlog */
	bool have_fdsync;
	struct iocb probe;                /* the fdsync probe's iocb */

	struct iocb iocbs[DISK_RING_ENTRIES];
	struct iocb *free[DISK_RING_ENTRIES];
	unsigned int nr_free;
	struct disk_req_fifo backlog;     /* waiting for a free iocb */
	bool submit_failed;
};

static void put_iocb(struct aio *a, struct iocb *cb)
{
	pthread_mutex_lock(&a->as.lock);
	a->free[a->nr_free++] = cb;
	pthread_mutex_unlock(&a->as.lock);
}

static void prep(struct disk *d, struct iocb *cb, struct disk_req *r)
{
	struct aio *a = d->priv;

	if (r->op == DISK_OP_READ)
		io_prep_preadv(cb, d->fd, r->iov, (int)r->iovcnt,
			       (long long)r->offset);
	else if (r->op == DISK_OP_WRITE)
		io_prep_pwritev2(cb, d->fd, r->iov, (int)r->iovcnt,
				 (long long)r->offset, r->fua ? RWF_DSYNC : 0);
	else
		io_prep_fdsync(cb, d->fd);
	io_set_eventfd(cb, a->as.efd);
	cb->data = r;
}

/* Can the kernel take @r, or must the pool do it? */
static bool kernel_can(struct aio *a, const struct disk_req *r)
{
	if (r->op == DISK_OP_READ || r->op == DISK_OP_WRITE)
		return true;
	return r->op == DISK_OP_FLUSH &&
	       __atomic_load_n(&a->have_fdsync, __ATOMIC_RELAXED);
}

/*
 * Hand @n prepared iocbs to the kernel, outside the lock: without O_DIRECT
 * io_submit() may do the I/O itself and take a while.
 */
static void submit_iocbs(struct disk *d, struct iocb **cbs, unsigned int n)
{
	struct aio *a = d->priv;

	while (n) {
		int ret = io_submit(a->ctx, (long)n, cbs);
		struct disk_req *r;

		if (ret > 0) {
			cbs += ret;
			n -= (unsigned int)ret;
			continue;
		}
		if (ret == -EINTR)
			continue;
		r = cbs[0]->data;
		if (ret == -EAGAIN || ret == 0) {
			/* Out of kernel resources: retry the rest later from
			 * the completion handler. */
			unsigned int i;

			pthread_mutex_lock(&a->as.lock);
			for (i = 0; i < n; i++) {
				disk_fifo_push(&a->backlog, cbs[i]->data);
				a->free[a->nr_free++] = cbs[i];
			}
			a->submit_failed = true;
			pthread_mutex_unlock(&a->as.lock);
			ioloop_watch_kick(&a->as.watch);
			return;
		}
		put_iocb(a, cbs[0]);
		if (ret == -EINVAL && r->op == DISK_OP_FLUSH) {
			/* No IOCB_CMD_FDSYNC for this file after all. */
			__atomic_store_n(&a->have_fdsync, false,
					 __ATOMIC_RELAXED);
			disk_pool_queue(d, r);
		} else if (ret == -EINVAL && r->fua) {
			/* A kernel without AIO RWF_DSYNC (< 4.13). */
			disk_pool_queue(d, r);
		} else {
			r->result = ret;
			disk_complete_reqs(d, &r, 1);
		}
		cbs++;
		n--;
	}
}

/* Take iocbs for what @reqs (and the backlog, first) need; the rest waits. */
static void aio_queue(struct disk *d, struct disk_req **reqs, unsigned int n)
{
	struct aio *a = d->priv;
	struct iocb *cbs[DISK_RING_ENTRIES];
	unsigned int i, nr = 0;

	pthread_mutex_lock(&a->as.lock);
	a->submit_failed = false;
	while (a->backlog.head && a->nr_free) {
		struct disk_req *r = disk_fifo_pop(&a->backlog);

		cbs[nr] = a->free[--a->nr_free];
		prep(d, cbs[nr++], r);
	}
	for (i = 0; i < n; i++) {
		struct disk_req *r = reqs[i];

		if (!kernel_can(a, r)) {
			disk_pool_queue(d, r);
			continue;
		}
		if (a->backlog.head || !a->nr_free) {
			disk_fifo_push(&a->backlog, r);
			continue;
		}
		cbs[nr] = a->free[--a->nr_free];
		prep(d, cbs[nr++], r);
	}
	pthread_mutex_unlock(&a->as.lock);
	if (nr)
		submit_iocbs(d, cbs, nr);
}

static void aio_submit(struct disk *d, struct disk_req **reqs, unsigned int n)
{
	aio_queue(d, reqs, n);
}

/* True if @r is finished. */
static bool finish_event(struct disk *d, struct disk_req *r, long res)
{
	struct aio *a = d->priv;

	if (r->op == DISK_OP_FLUSH) {
		if (res == -EINVAL) {
			__atomic_store_n(&a->have_fdsync, false,
					 __ATOMIC_RELAXED);
			disk_pool_queue(d, r);
			return false;
		}
		r->result = res < 0 ? (int)res : 0;
		return true;
	}
	return disk_finish_rw(d, r, res);
}

static void aio_event(struct io_watch *w)
{
	struct disk *d = w->opaque;
	struct aio *a = d->priv;
	unsigned int budget = AIO_REAP_BUDGET;
	bool retry;
	uint64_t cnt;

	(void)!read(a->as.efd, &cnt, sizeof(cnt)); /* drain before reaping */

	while (budget) {
		struct io_event ev[AIO_REAP_BATCH];
		struct disk_req *done[AIO_REAP_BATCH];
		struct timespec zero = { 0, 0 };
		unsigned int nr_done = 0;
		int i, n;

		n = io_getevents(a->ctx, 0, AIO_REAP_BATCH, ev, &zero);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			struct iocb *cb = ev[i].obj;
			struct disk_req *r;

			/* A probe that outlived its wait: not a request. */
			if (cb < a->iocbs || cb >= a->iocbs + DISK_RING_ENTRIES)
				continue;
			r = cb->data;
			put_iocb(a, cb);
			if (finish_event(d, r, (long)ev[i].res))
				done[nr_done++] = r;
		}
		disk_complete_reqs(d, done, nr_done);
		aio_queue(d, NULL, 0); /* refill from the backlog */
		budget -= MIN(budget, (unsigned int)n);
	}

	pthread_mutex_lock(&a->as.lock);
	retry = a->submit_failed || (a->backlog.head && a->nr_free);
	pthread_mutex_unlock(&a->as.lock);
	if (retry)
		aio_queue(d, NULL, 0);
	if (!budget)
		ioloop_watch_kick(w);
}

/* Does this kernel do IOCB_CMD_FDSYNC on this file? (Linux 4.18+) */
static bool probe_fdsync(struct disk *d, struct aio *a)
{
	struct iocb *cbs[1] = { &a->probe };
	struct io_event ev;
	int n, tries = 0;

	io_prep_fdsync(&a->probe, d->fd);
	if (io_submit(a->ctx, 1, cbs) != 1)
		return false;
	do {
		struct timespec ts = { 10, 0 };

		/* Signals (EINTR) are harmless: wait again. */
		n = io_getevents(a->ctx, 1, 1, &ev, &ts);
	} while (n == -EINTR && ++tries < 100);
	if (n != 1)
		return false; /* cannot tell; the handler will ignore it */
	return (long)ev.res >= 0;
}

static void aio_destroy(struct disk *d)
{
	struct aio *a = d->priv;

	if (!a)
		return;
	disk_async_unwatch(&a->as);
	if (a->ctx_ok)
		io_destroy(a->ctx);
	disk_async_free(d, &a->as);
}

static int aio_init(struct disk *d, unsigned int depth, char *why,
		    size_t why_len)
{
	struct aio *a;
	unsigned int i;
	int err;

	(void)depth;
	a = disk_async_alloc(d, sizeof(*a), offsetof(struct aio, as), why,
			     why_len, &err);
	if (!a)
		return err;
	for (i = 0; i < DISK_RING_ENTRIES; i++)
		a->free[i] = &a->iocbs[i];
	a->nr_free = DISK_RING_ENTRIES;

	err = io_setup(DISK_RING_ENTRIES, &a->ctx);
	if (err) {
		snprintf(why, why_len, "io_setup: %s", strerror(-err));
		goto fail;
	}
	a->ctx_ok = true;
	a->have_fdsync = probe_fdsync(d, a);
	err = disk_async_eventfd(&a->as, why, why_len);
	if (err)
		goto fail;
	err = disk_async_start(d, &a->as, aio_event, why, why_len);
	if (err)
		goto fail;
	if (!a->have_fdsync)
		pr_debug("%s: no AIO fdsync; flushes go to helper threads",
			 d->who);
	return 0;

fail:
	aio_destroy(d);
	return err;
}

const struct disk_backend_ops disk_aio_ops = {
	.name = "libaio",
	.init = aio_init,
	.submit = aio_submit,
	.destroy = aio_destroy,
};
