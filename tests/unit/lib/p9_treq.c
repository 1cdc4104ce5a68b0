// SPDX-License-Identifier: GPL-2.0
/* Requests for the 9P server's worker pool, and the completion gate
 * (p9_treq.h). */
#include "p9_treq.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/p9/internal.h"

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static unsigned int gate_entered;
static int seq;

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void treq_complete(struct p9_request *req, uint32_t written)
{
	struct treq *t = req->opaque;

	t->written = written;
	pthread_mutex_lock(&gate_lock);
	t->order = ++seq;
	__atomic_add_fetch(&t->completions, 1, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&gate_cond);
	if (t->block) {
		gate_entered++;
		while (!gate_open)
			pthread_cond_wait(&gate_cond, &gate_lock);
	}
	pthread_mutex_unlock(&gate_lock);
}

void treq_getattr(struct treq *t, uint16_t tag, uint32_t fid)
{
	memset(t, 0, sizeof(*t));
	put_le(t->msg, 19, 4);
	t->msg[4] = P9_TGETATTR;
	put_le(t->msg + 5, tag, 2);
	put_le(t->msg + 7, fid, 4);
	put_le(t->msg + 11, P9_GETATTR_BASIC, 8);
	t->iov[0] = (struct iovec){ t->msg, 19 };
	t->iov[1] = (struct iovec){ t->resp, sizeof(t->resp) };
	t->req.iov = t->iov;
	t->req.nr_out = 1;
	t->req.nr_in = 1;
	t->req.complete = treq_complete;
	t->req.opaque = t;
}

void treq_walk(struct treq *t, uint16_t tag, uint32_t fid, uint32_t newfid,
	       const char *name)
{
	size_t n = strnlen(name, 8);
	uint32_t size = (uint32_t)(P9_HDR_LEN + 4 + 4 + 2 + 2 + n);

	treq_getattr(t, tag, fid);
	put_le(t->msg, size, 4);
	t->msg[4] = P9_TWALK;
	put_le(t->msg + 11, newfid, 4);
	put_le(t->msg + 15, 1, 2);
	put_le(t->msg + 17, n, 2);
	memcpy(t->msg + 19, name, n);
	t->iov[0].iov_len = size;
}

void treq_link(struct treq *t, uint16_t tag, uint32_t dfid, uint32_t fid,
	       const char *name)
{
	size_t n = strnlen(name, 8);
	uint32_t size = (uint32_t)(P9_HDR_LEN + 4 + 4 + 2 + n);

	treq_getattr(t, tag, dfid);
	put_le(t->msg, size, 4);
	t->msg[4] = P9_TLINK;
	put_le(t->msg + 11, fid, 4);
	put_le(t->msg + 15, n, 2);
	memcpy(t->msg + 17, name, n);
	t->iov[0].iov_len = size;
}

void treq_flush(struct treq *t, uint16_t tag, uint16_t oldtag)
{
	treq_getattr(t, tag, 0);
	put_le(t->msg, 9, 4);
	t->msg[4] = P9_TFLUSH;
	put_le(t->msg + 7, oldtag, 2);
	t->iov[0].iov_len = 9;
}

uint16_t treq_resp_tag(const struct treq *t)
{
	return (uint16_t)(t->resp[5] | t->resp[6] << 8);
}

bool treq_wait(struct treq *t, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (!__atomic_load_n(&t->completions, __ATOMIC_SEQ_CST)) {
		if (now_ms() >= end)
			return false;
		usleep(1000);
	}
	return true;
}

struct p9_fid *stick_fid(struct p9_server *s, uint32_t fid)
{
	struct p9_fid *f = p9_fid_get(s, fid, __atomic_load_n(&s->session,
							     __ATOMIC_ACQUIRE));

	if (f)
		pthread_mutex_lock(&f->lock);
	return f;
}

void unstick_fid(struct p9_server *s, struct p9_fid *f)
{
	/* The stuck handler holds its own reference: ours can go first,
	 * while the server is certainly alive. */
	p9_fid_put(s, f);
	pthread_mutex_unlock(&f->lock);
}

void gate_reset(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = false;
	gate_entered = 0;
	seq = 0;
	pthread_mutex_unlock(&gate_lock);
}

bool gate_wait_entered(unsigned int n, unsigned int ms)
{
	uint64_t end = now_ms() + ms;
	bool ok;

	pthread_mutex_lock(&gate_lock);
	while (gate_entered < n && now_ms() < end) {
		pthread_mutex_unlock(&gate_lock);
		usleep(1000);
		pthread_mutex_lock(&gate_lock);
	}
	ok = gate_entered >= n;
	pthread_mutex_unlock(&gate_lock);
	return ok;
}

void gate_release(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = true;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}
