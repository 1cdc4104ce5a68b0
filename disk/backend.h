/* SPDX-License-Identifier: GPL-2.0 */
/* Private to disk/: the contract between disk.c and the I/O backends. */
#ifndef LKVM_DISK_BACKEND_H
#define LKVM_DISK_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "lkvm/disk.h"
#include "lkvm/ioloop.h"

/* Size of the zero buffer used when write-zeroes falls back to writes. */
#define DISK_ZERO_BUF (256 * 1024)

/* Requests a backend keeps in the kernel at once (more wait in a backlog). */
#define DISK_RING_ENTRIES 256

/* Pool threads a disk may have; each may hold one DISK_BOUNCE_CHUNK. */
#define DISK_POOL_MAX_THREADS 16
_Static_assert(DISK_POOL_MAX_THREADS * DISK_BOUNCE_CHUNK <= DISK_BOUNCE_MAX,
	       "the pool could hold more bounce memory than DISK_BOUNCE_MAX");

struct disk_backend_ops {
	const char *name;
	/* Start; on failure return a negative errno and leave a reason in
	 * @why (e.g. "io_uring_setup: Operation not permitted"). */
	int (*init)(struct disk *d, unsigned int depth, char *why,
		    size_t why_len);
	void (*submit)(struct disk *d, struct disk_req **reqs, unsigned int n);
	/* Stop; nothing is in flight any more. */
	void (*destroy)(struct disk *d);
};

extern const struct disk_backend_ops disk_uring_ops;
extern const struct disk_backend_ops disk_aio_ops;
extern const struct disk_backend_ops disk_sync_ops;

/* Finish @n requests: the user's callback, then the in-flight count. */
void disk_complete_reqs(struct disk *d, struct disk_req **reqs,
			unsigned int n);
/* Bytes a READ/WRITE moves in total. */
static inline uint64_t disk_req_bytes(const struct disk_req *r)
{
	return r->len;
}

/* --- The thread pool (disk/sync.c) --- */

/* Start @threads workers for @d (d->pool). */
/* A FIFO of requests linked through disk_req.next (backlogs, the pool). */
struct disk_req_fifo {
	struct disk_req *head, *tail;
};

static inline void disk_fifo_push(struct disk_req_fifo *f, struct disk_req *r)
{
	r->next = NULL;
	if (f->tail)
		f->tail->next = r;
	else
		f->head = r;
	f->tail = r;
}

/* Remove and return the oldest request, or NULL. */
static inline struct disk_req *disk_fifo_pop(struct disk_req_fifo *f)
{
	struct disk_req *r = f->head;

	if (r) {
		f->head = r->next;
		if (!f->head)
			f->tail = NULL;
		r->next = NULL;
	}
	return r;
}

int disk_pool_start(struct disk *d, unsigned int threads);

/* --- What the async backends (aio.c, uring.c) share --- */

/*
 * The part of an async backend's state (d->priv) that both have: the
 * eventfd the kernel signals completions on, its watch on the VM's ioloop,
 * and the lock over the backend's submission side.
 */
struct disk_async {
	pthread_mutex_t lock;
	int efd;                  /* -1 until disk_async_eventfd() */
	struct io_watch watch;
	bool watching;            /* the watch is on d->loop */
};

/*
 * The head of an async backend's init: allocate its state (@size bytes, its
 * struct disk_async at offset @as_off) as d->priv, the lock ready.  NULL
 * with *@err (and @why) set when there is no event loop or no memory.
 */
void *disk_async_alloc(struct disk *d, size_t size, size_t as_off, char *why,
		       size_t why_len, int *err);
/* Make the completion eventfd (as->efd).  On failure writes a reason to @why. */
int disk_async_eventfd(struct disk_async *as, char *why, size_t why_len);
/*
 * The common tail of an async backend's init: two helper-pool threads (for
 * discards, zeroing fallbacks and short-transfer tails) and an ioloop watch
 * on the completion eventfd that calls @fn.  On failure writes a reason to
 * @why.
 */
int disk_async_start(struct disk *d, struct disk_async *as,
		     void (*fn)(struct io_watch *w), char *why, size_t why_len);
/* The head of an async backend's destroy: no more completion handlers. */
void disk_async_unwatch(struct disk_async *as);
/* The tail of it, once the kernel side is gone: the eventfd, the pool, the
 * lock and the state (d->priv) itself. */
void disk_async_free(struct disk *d, struct disk_async *as);
/*
 * A READ/WRITE's completion with @res (bytes, or a negative errno): true if
 * @r is finished now (r->result set), false if a short transfer carries on
 * in the pool.
 */
bool disk_finish_rw(struct disk *d, struct disk_req *r, long res);
/* Queue a request to be done synchronously, from req->done onwards (how
 * every bounced request is done, whatever the backend). */
void disk_pool_queue(struct disk *d, struct disk_req *req);
void disk_pool_stop(struct disk *d);

/*
 * A backend saw @res bytes of a READ/WRITE done where more was asked: carry
 * on in the pool (short transfers are legal, if rare).  A read that makes no
 * progress hit the end of the image: an error, since callers check ranges.
 */
void disk_continue_short(struct disk *d, struct disk_req *req, uint64_t res);

#endif
