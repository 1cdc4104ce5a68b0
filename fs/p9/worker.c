// SPDX-License-Identifier: GPL-2.0
/*
 * The 9P server's worker pool: submitted requests wait in a queue (Tflush
 * ahead of the rest) for a worker thread; Tflush cancels a queued request
 * or is parked on the worker running it, and every completion goes back to
 * the transport through complete_locked().
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "lkvm/thread.h"
#include "lkvm/util.h"
#include "internal.h"

void p9_deadline_in(unsigned int ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void p9_stuck_deadline(const struct p9_server *s, struct timespec *ts)
{
	p9_deadline_in(s->stuck_ms, ts);
}

/* --- Completion and Tflush --- */

/* The worker other than @self (the flush's own: a Tflush never waits for
 * itself) running a request with @tag, or -1 (q_lock held).  A Tflush is
 * never flushed either: two flushing each other would wait forever. */
static int tag_running_slot(struct p9_server *s, uint16_t tag, int self)
{
	unsigned int i;

	for (i = 0; i < s->nr_threads; i++) {
		const struct p9_request *r = s->worker_req[i];

		if ((int)i != self && r && r->tag == tag &&
		    r->type != P9_TFLUSH)
			return (int)i;
	}
	return -1;
}

/* Take the first queued request with @tag off the queue (under q_lock). */
static struct p9_request *dequeue_tag(struct p9_server *s, uint16_t tag)
{
	struct p9_request **pp, *prev = NULL;

	for (pp = &s->q_head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct p9_request *req = *pp;

		if (req->tag != tag || req->type == P9_TFLUSH)
			continue;
		*pp = req->next;
		if (s->q_tail == req)
			s->q_tail = prev;
		req->next = NULL;
		return req;
	}
	return NULL;
}

/*
 * Hand @req back to the transport (q_lock held, dropped meanwhile) with
 * @written reply bytes, or, with @err, an Rlerror(@err) written now (a
 * request that never ran).  Every complete() goes through here, counted
 * in nr_completing: p9_server_free() waits for those under way before it
 * gives up on the server, and once it has (closing) the transport may be
 * gone, so nothing is completed or written any more.
 */
static void complete_locked(struct p9_server *s, struct p9_request *req,
			    uint32_t written, int err)
{
	const struct iovec *resp = req->iov + req->nr_out;

	if (s->closing)
		return;
	s->nr_completing++;
	pthread_mutex_unlock(&s->q_lock);
	if (err)
		written = p9_resp_room(s, resp, req->nr_in) ?
			  p9_reply_error(resp, req->nr_in, req->tag, err) : 0;
	req->complete(req, written);
	pthread_mutex_lock(&s->q_lock);
	if (!--s->nr_completing)
		pthread_cond_broadcast(&s->q_done);
}

/*
 * Write Rflush for the parked @req and complete it (q_lock held, dropped
 * meanwhile); nothing is written for a flush whose session has ended.
 */
static void complete_parked_flush(struct p9_server *s, struct p9_request *req)
{
	const struct iovec *resp = req->iov + req->nr_out;
	uint32_t written = 0;
	uint8_t hdr[P9_HDR_LEN];

	if (req->session == p9_server_session(s) &&
	    p9_resp_room(s, resp, req->nr_in)) {
		p9_put_hdr(hdr, sizeof(hdr), P9_RFLUSH, req->tag);
		written = (uint32_t)p9_iov_copy(resp, req->nr_in, 0, hdr,
						sizeof(hdr), true);
	}
	complete_locked(s, req, written, 0);
	s->nr_inflight--;
}

/* Answer the Tflushes parked on worker @slot (q_lock held, dropped
 * meanwhile; more may park then, and are answered too). */
static void complete_parked(struct p9_server *s, unsigned int slot)
{
	struct p9_request *req;

	while ((req = s->parked_flushes[slot]) != NULL) {
		s->parked_flushes[slot] = req->next;
		req->next = NULL;
		complete_parked_flush(s, req);
	}
	pthread_cond_broadcast(&s->q_done);
}

/*
 * Tflush(oldtag): a request still queued is answered Rlerror(EINTR) and
 * never runs, then Rflush.  One running on another worker must reply
 * before the Rflush (9P: no reply may follow the Rflush; Linux frees the
 * old request's buffers once it has the Rflush, so a late reply would
 * land in freed guest memory).  Waiting for it would hold this worker for
 * as long as the handler is stuck, so the flush is parked on that worker
 * instead and answered right after its request completes; this worker
 * goes on with the queue.  A reset answers parked flushes at once (the
 * driver that sent them is going away).
 */
int p9_op_flush(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	uint16_t oldtag = p9_get16(&ctx->in);
	struct p9_request *req;
	int slot;

	if (!p9_in_ok(&ctx->in))
		return -EINVAL;
	pthread_mutex_lock(&s->q_lock);
	req = dequeue_tag(s, oldtag);
	if (req) {
		complete_locked(s, req, 0, EINTR);
		s->nr_inflight--;
		pthread_cond_broadcast(&s->q_done);
	} else if (ctx->req &&
		   (slot = tag_running_slot(s, oldtag, ctx->slot)) >= 0) {
		ctx->parked = true;
		ctx->req->next = s->parked_flushes[slot];
		s->parked_flushes[slot] = ctx->req;
	}
	pthread_mutex_unlock(&s->q_lock);
	return 0;
}

/* --- Worker pool --- */

struct p9_worker {
	struct p9_server *s;
	unsigned int idx;
	/* What s->worker_req[idx] points at while a request runs: a copy of
	 * its tag and type, valid after the transport got the request back. */
	struct p9_request busy;
};

/* The header, for Tflush and for dispatch, read once from the guest. */
static void req_read_hdr(struct p9_request *req)
{
	struct p9_hdr h;

	p9_hdr_read(req->iov, req->nr_out, &h);
	req->size = h.size;
	req->type = h.type;
	req->tag = h.tag;
	req->hdr_ok = h.ok;
}

/* Run @req on worker @slot (-1: the caller's thread, which never parks a
 * Tflush: nothing else runs); *@parked says a Tflush was parked. */
static uint32_t req_handle(struct p9_server *s, struct p9_request *req,
			   int slot, unsigned int session, bool *parked)
{
	const struct p9_hdr h = {
		.size = req->size, .tag = req->tag, .type = req->type,
		.ok = req->hdr_ok,
	};

	return p9_handle_msg(s, req->iov, req->nr_out, req->nr_in, &h,
			     slot >= 0 ? req : NULL, slot, session, parked);
}

static void *p9_worker_main(void *arg)
{
	struct p9_worker *w = arg;
	struct p9_server *s = w->s;
	struct p9_request *req;
	unsigned int session;
	uint32_t written;
	bool last, parked;

	pthread_mutex_lock(&s->q_lock);
	for (;;) {
		while (!s->q_head && !s->q_stop)
			pthread_cond_wait(&s->q_cond, &s->q_lock);
		req = s->q_head;
		if (!req)
			break;
		s->q_head = req->next;
		if (!s->q_head)
			s->q_tail = NULL;
		req->running = true;
		w->busy.tag = req->tag;
		w->busy.type = req->type;
		s->worker_req[w->idx] = &w->busy;
		/* Read under q_lock: a reset cancels what is still queued
		 * under it before it starts a new session. */
		session = p9_server_session(s);
		req->session = session;
		pthread_mutex_unlock(&s->q_lock);

		written = req_handle(s, req, (int)w->idx, session, &parked);

		pthread_mutex_lock(&s->q_lock);
		if (!parked) {
			/* Its reply first, then the flushes waiting for it. */
			complete_locked(s, req, written, 0);
			s->nr_inflight--;
			complete_parked(s, w->idx);
		}
		/* (A parked Tflush completes on the worker it waits for.) */
		s->worker_req[w->idx] = NULL;
		pthread_cond_broadcast(&s->q_done);
	}
	last = !--s->nr_live && s->abandoned;
	pthread_cond_broadcast(&s->q_done);
	pthread_mutex_unlock(&s->q_lock);
	free(w);
	if (last)
		p9_server_release(s); /* nobody else references it any more */
	return NULL;
}

void p9_submit(struct p9_server *s, struct p9_request *req)
{
	req_read_hdr(req);
	req->next = NULL;
	req->running = false;
	if (!s->nr_threads) {
		req->complete(req, req_handle(s, req, -1, p9_server_session(s),
					      NULL));
		return;
	}
	pthread_mutex_lock(&s->q_lock);
	if (req->type == P9_TFLUSH) {
		/* Ahead of the rest: the request it cancels may be queued. */
		req->next = s->q_head;
		s->q_head = req;
		if (!s->q_tail)
			s->q_tail = req;
	} else {
		if (s->q_tail)
			s->q_tail->next = req;
		else
			s->q_head = req;
		s->q_tail = req;
	}
	s->nr_inflight++;
	pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
}

int p9_wait_idle(struct p9_server *s, const struct timespec *dl)
{
	while (s->nr_inflight)
		if (pthread_cond_timedwait(&s->q_done, &s->q_lock, dl) ==
		    ETIMEDOUT)
			return s->nr_inflight ? -ETIMEDOUT : 0;
	return 0;
}

/* Answer every queued request Rlerror(EINTR) and every parked Tflush
 * Rflush (q_lock held; dropped while the transport's complete() runs).
 * Used when workers are stuck: the driver is going away (reset, exit). */
void p9_cancel_queued(struct p9_server *s)
{
	struct p9_request *list = s->q_head, *req;
	unsigned int i;

	s->q_head = s->q_tail = NULL;
	while ((req = list) != NULL) {
		list = req->next;
		req->next = NULL;
		complete_locked(s, req, 0, EINTR);
		s->nr_inflight--;
	}
	for (i = 0; i < s->nr_threads; i++)
		complete_parked(s, i);
	pthread_cond_broadcast(&s->q_done);
}

int p9_workers_start(struct p9_server *s, unsigned int n)
{
	struct p9_worker *w;
	int r;

	s->threads = calloc(n, sizeof(*s->threads));
	s->worker_req = calloc(n, sizeof(*s->worker_req));
	s->parked_flushes = calloc(n, sizeof(*s->parked_flushes));
	if (!s->threads || !s->worker_req || !s->parked_flushes)
		return -ENOMEM;
	while (s->nr_threads < n) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->s = s;
		w->idx = s->nr_threads;
		pthread_mutex_lock(&s->q_lock);
		s->nr_live++;
		pthread_mutex_unlock(&s->q_lock);
		/* No signals, and only the capabilities lkvm keeps. */
		r = lkvm_thread_create(&s->threads[s->nr_threads],
				       p9_worker_main, w);
		if (r) {
			pthread_mutex_lock(&s->q_lock);
			s->nr_live--;
			pthread_mutex_unlock(&s->q_lock);
			free(w);
			return r;
		}
		s->nr_threads++;
	}
	return 0;
}
