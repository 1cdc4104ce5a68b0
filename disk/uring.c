// SPDX-License-Identifier: GPL-2.0
/*
 * The io_uring backend.
 *
 * Submitters (queue workers of any device queue) fill SQEs under u->as.lock
 * and submit them with one io_uring_enter per batch.  The kernel signals an
 * eventfd for every completion; that eventfd is watched on the VM's ioloop,
 * whose one-shot arming guarantees a single thread reaps the CQ at a time,
 * so the CQ side needs no lock.  At most DISK_RING_ENTRIES requests are in
 * the kernel (the CQ, twice that size, can then never overflow); the rest
 * wait in a backlog that completions refill from.
 */
#include <errno.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend.h"
#include "lkvm/ioloop.h"
#include "lkvm/util.h"

#define URING_REAP_BATCH 32
#define URING_REAP_BUDGET 512 /* completions per handler run */

struct uring {
	struct io_uring ring;
	bool ring_ok;
	bool have_fallocate;

	struct disk_async as;          /* as.lock: SQ, inflight, backlog */
	unsigned int inflight;         /* requests owned by the kernel */
	unsigned int capacity;
	struct disk_req_fifo backlog;  /* waiting for a free SQE */
	bool submit_failed;            /* retry io_uring_submit() */
};

static bool is_rw(const struct disk_req *r)
{
	return r->op == DISK_OP_READ || r->op == DISK_OP_WRITE;
}

/* The fallocate mode for @r, or -1 if only the pool can do it. */
static int fallocate_mode(struct disk *d, struct uring *u,
			  const struct disk_req *r)
{
	if (!u->have_fallocate)
		return -1;
	if (r->op == DISK_OP_DISCARD)
		return d->blockdev ? -1 : /* BLKDISCARD is an ioctl */
		       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (r->unmap && d->can_discard)
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (__atomic_load_n(&d->no_zero_range, __ATOMIC_RELAXED))
		return -1;
	return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
}

/* Put @r in an SQE; false if the ring is full. */
static bool prep_locked(struct disk *d, struct uring *u, struct disk_req *r,
			int mode)
{
	struct io_uring_sqe *sqe;

	if (u->inflight >= u->capacity)
		return false;
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe) {
		/* Should not happen with inflight < entries, but the SQ
		 * may hold entries a failed submit left behind. */
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return false;
	}
	switch (r->op) {
	case DISK_OP_READ:
		io_uring_prep_readv(sqe, d->fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_WRITE:
		io_uring_prep_writev(sqe, d->fd, r->iov, r->iovcnt, r->offset);
		if (r->fua)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case DISK_OP_FLUSH:
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		break;
	default:
		io_uring_prep_fallocate(sqe, d->fd, mode, r->offset, r->len);
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	u->inflight++;
	return true;
}

static void submit_locked(struct disk *d, struct uring *u)
{
	int ret = io_uring_submit(&u->ring);

	if (ret >= 0 && !io_uring_sq_ready(&u->ring)) {
		u->submit_failed = false;
		return;
	}
	/* EAGAIN/EBUSY: kernel short of memory or CQ busy.  Retry from the
	 * completion handler; kick it in case nothing is in flight. */
	if (!u->submit_failed && ret < 0 && ret != -EAGAIN && ret != -EBUSY &&
	    ret != -EINTR)
		pr_warn("%s: io_uring_submit: %s", d->who, strerror(-ret));
	u->submit_failed = true;
	ioloop_watch_kick(&u->as.watch);
}

/* Move backlogged requests into free SQEs. */
static void refill_locked(struct disk *d, struct uring *u)
{
	bool queued = false;

	while (u->backlog.head) {
		struct disk_req *r = u->backlog.head;

		if (!prep_locked(d, u, r, fallocate_mode(d, u, r)))
			break;
		disk_fifo_pop(&u->backlog);
		queued = true;
	}
	if (queued || u->submit_failed)
		submit_locked(d, u);
}

static void uring_submit(struct disk *d, struct disk_req **reqs,
			 unsigned int n)
{
	struct uring *u = d->priv;
	unsigned int i;
	bool queued = false;

	pthread_mutex_lock(&u->as.lock);
	for (i = 0; i < n; i++) {
		struct disk_req *r = reqs[i];
		int mode = -1;

		if (r->op == DISK_OP_DISCARD ||
		    r->op == DISK_OP_WRITE_ZEROES) {
			mode = fallocate_mode(d, u, r);
			if (mode < 0) {
				disk_pool_queue(d, r);
				continue;
			}
		}
		/* Keep FIFO order behind anything already waiting. */
		if (u->backlog.head || !prep_locked(d, u, r, mode)) {
			disk_fifo_push(&u->backlog, r);
			continue;
		}
		queued = true;
	}
	if (queued)
		submit_locked(d, u);
	pthread_mutex_unlock(&u->as.lock);
}

/* Decide what a CQE means for @r; true if @r is finished now. */
static bool finish_cqe(struct disk *d, struct disk_req *r, int res)
{
	if (is_rw(r))
		return disk_finish_rw(d, r, res);
	if (r->op == DISK_OP_WRITE_ZEROES &&
	    (res == -EOPNOTSUPP || res == -EINVAL)) {
		/* The pool knows the fallbacks (down to writing zeroes). */
		if (res == -EOPNOTSUPP && !r->unmap)
			__atomic_store_n(&d->no_zero_range, true,
					 __ATOMIC_RELAXED);
		disk_pool_queue(d, r);
		return false;
	}
	r->result = res < 0 ? res : 0;
	return true;
}

static void uring_event(struct io_watch *w)
{
	struct disk *d = w->opaque;
	struct uring *u = d->priv;
	unsigned int budget = URING_REAP_BUDGET;
	uint64_t cnt;

	/* Drain first: a completion posted after this read signals again. */
	(void)!read(u->as.efd, &cnt, sizeof(cnt));

	while (budget) {
		struct io_uring_cqe *cqes[URING_REAP_BATCH];
		struct disk_req *done[URING_REAP_BATCH];
		unsigned int i, n, nr_done = 0;

		n = io_uring_peek_batch_cqe(&u->ring, cqes, URING_REAP_BATCH);
		if (!n)
			break;
		for (i = 0; i < n; i++) {
			struct disk_req *r = io_uring_cqe_get_data(cqes[i]);

			if (r && finish_cqe(d, r, cqes[i]->res))
				done[nr_done++] = r;
		}
		io_uring_cq_advance(&u->ring, n);

		pthread_mutex_lock(&u->as.lock);
		u->inflight -= MIN(n, u->inflight);
		refill_locked(d, u);
		pthread_mutex_unlock(&u->as.lock);

		disk_complete_reqs(d, done, nr_done);
		budget -= MIN(budget, n);
	}

	pthread_mutex_lock(&u->as.lock);
	if (u->submit_failed)
		refill_locked(d, u);
	pthread_mutex_unlock(&u->as.lock);
	if (!budget)
		ioloop_watch_kick(w); /* more later, after other watches */
}

static void uring_destroy(struct disk *d)
{
	struct uring *u = d->priv;

	if (!u)
		return;
	disk_async_unwatch(&u->as);
	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	disk_async_free(d, &u->as);
}

static int uring_init(struct disk *d, unsigned int depth, char *why,
		      size_t why_len)
{
	struct io_uring_probe *probe;
	struct uring *u;
	int err;

	(void)depth;
	u = disk_async_alloc(d, sizeof(*u), offsetof(struct uring, as), why,
			     why_len, &err);
	if (!u)
		return err;
	u->capacity = DISK_RING_ENTRIES;

#ifdef IORING_SETUP_SUBMIT_ALL
	/* Keep submitting past an SQE the kernel rejects (5.18+). */
	err = io_uring_queue_init(DISK_RING_ENTRIES, &u->ring,
				  IORING_SETUP_SUBMIT_ALL);
	if (err == -EINVAL)
#endif
		err = io_uring_queue_init(DISK_RING_ENTRIES, &u->ring, 0);
	if (err) {
		snprintf(why, why_len, "io_uring_setup: %s", strerror(-err));
		goto fail;
	}
	u->ring_ok = true;

	probe = io_uring_get_probe_ring(&u->ring);
	if (!probe) {
		snprintf(why, why_len, "the kernel cannot list its io_uring operations (too old)");
		err = -ENOSYS;
		goto fail;
	}
	if (!io_uring_opcode_supported(probe, IORING_OP_READV) ||
	    !io_uring_opcode_supported(probe, IORING_OP_WRITEV) ||
	    !io_uring_opcode_supported(probe, IORING_OP_FSYNC)) {
		io_uring_free_probe(probe);
		snprintf(why, why_len, "the kernel lacks io_uring readv/writev/fsync");
		err = -ENOSYS;
		goto fail;
	}
	u->have_fallocate =
		io_uring_opcode_supported(probe, IORING_OP_FALLOCATE);
	io_uring_free_probe(probe);

	err = disk_async_eventfd(&u->as, why, why_len);
	if (err)
		goto fail;
	err = io_uring_register_eventfd(&u->ring, u->as.efd);
	if (err) {
		snprintf(why, why_len, "io_uring_register_eventfd: %s",
			 strerror(-err));
		goto fail;
	}
	err = disk_async_start(d, &u->as, uring_event, why, why_len);
	if (err)
		goto fail;
	return 0;

fail:
	uring_destroy(d);
	return err;
}

const struct disk_backend_ops disk_uring_ops = {
	.name = "io_uring",
	.init = uring_init,
	.submit = uring_submit,
	.destroy = uring_destroy,
};
