// SPDX-License-Identifier: GPL-2.0
/*
 * The 9P2000.L server object: the export it serves, its lifetime, and the
 * transport's reset and drain.  The other files of fs/p9/ are listed in
 * internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/thread.h"
#include "lkvm/util.h"
#include "internal.h"

#define P9_FID_HASH_MAX 4096u

/* How long p9_server_free() waits for the workers to exit after the queue
 * is drained or cancelled: a handler merely busy finishes in it (at most
 * the stuck timeout). */
#define P9_EXIT_GRACE_MS 500u

/* --- Reset and drain --- */

/* A worker still busy after the stuck timeout: said once per server (a
 * guest resetting in a loop must not flood the log). */
static void warn_stuck(struct p9_server *s, const char *what)
{
	if (!__atomic_exchange_n(&s->warned_stuck, true, __ATOMIC_RELAXED))
		pr_warn("9p export '%s': a request is still executing after %u ms; %s without it",
			s->path, s->stuck_ms, what);
}

int p9_server_drain(struct p9_server *s)
{
	struct timespec dl;
	int r;

	p9_stuck_deadline(s, &dl);
	pthread_mutex_lock(&s->q_lock);
	r = p9_wait_idle(s, &dl);
	pthread_mutex_unlock(&s->q_lock);
	return r;
}

/* Fids closed on a thread of their own (fids_put_async()). */
struct fid_reaper {
	struct p9_server *s;
	struct p9_fid *list;
};

static void *fid_reaper_main(void *arg)
{
	struct fid_reaper *rp = arg;
	struct p9_server *s = rp->s;
	bool last;

	p9_fids_put_list(s, rp->list);
	free(rp);
	/* Counted as a live worker: p9_server_free() waits for it, or
	 * leaves the server to the last of them. */
	pthread_mutex_lock(&s->q_lock);
	last = !--s->nr_live && s->abandoned;
	pthread_cond_broadcast(&s->q_done);
	pthread_mutex_unlock(&s->q_lock);
	if (last)
		p9_server_release(s);
	return NULL;
}

/*
 * Close @list's fids on a thread of their own: after a reset gave up on a
 * stuck handler the filesystem may be what is stuck (a hung NFS or FUSE
 * mount), and close() of a file there can block too -- not on the vCPU
 * that resets, holding the device's and the bus's locks.  Inline when no
 * thread can be started.  At most one such thread per timed-out reset,
 * and each ends when its closes return.
 */
static void fids_put_async(struct p9_server *s, struct p9_fid *list)
{
	struct fid_reaper *rp;
	pthread_t t;

	if (!list)
		return;
	rp = malloc(sizeof(*rp));
	if (rp) {
		*rp = (struct fid_reaper){ .s = s, .list = list };
		pthread_mutex_lock(&s->q_lock);
		s->nr_live++;
		pthread_mutex_unlock(&s->q_lock);
		if (!lkvm_thread_create(&t, fid_reaper_main, rp)) {
			pthread_detach(t);
			return;
		}
		pthread_mutex_lock(&s->q_lock);
		s->nr_live--;
		pthread_mutex_unlock(&s->q_lock);
		free(rp);
	}
	p9_fids_put_list(s, list);
}

/*
 * Bounded by the stuck timeout (P9_STUCK_TIMEOUT_MS): the transport calls
 * this from a vCPU holding the device's and the bus's locks.  A request
 * still executing keeps its own fid references, so clunking the table
 * under it is safe; its late complete() is the transport's to discard.
 */
int p9_server_reset(struct p9_server *s)
{
	struct timespec dl;
	unsigned int session;
	int r;

	p9_stuck_deadline(s, &dl);
	pthread_mutex_lock(&s->q_lock);
	r = p9_wait_idle(s, &dl);
	if (r)
		p9_cancel_queued(s);
	pthread_mutex_unlock(&s->q_lock);
	if (r) {
		warn_stuck(s, "resetting");
		fids_put_async(s, p9_fids_detach_all(s, &session));
	} else {
		p9_fids_clunk_all(s);
	}
	__atomic_store_n(&s->msize, P9_MAX_MSIZE, __ATOMIC_RELAXED);
	return r;
}

/* --- Server object --- */

static int export_open(struct p9_server *s)
{
	struct stat st;

	s->root_fd = open(s->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 || fstat(s->root_fd, &st)) {
		pr_err("9p export '%s': %s", s->path, strerror(errno));
		return -1;
	}
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	/* Re-opens go through the fds' magic links (p9_reopen). */
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		pr_err("9p export '%s': cannot open /proc/self/fd (is /proc mounted?): %s",
		       s->path, strerror(errno));
		return -1;
	}
	s->have_openat2 = p9_probe_openat2(s->root_fd);
	s->devs = malloc(sizeof(*s->devs));
	if (!s->devs) {
		pr_err("9p export '%s': out of memory", s->path);
		return -1;
	}
	s->devs[0] = st.st_dev; /* index 0 in qid.path */
	s->nr_devs = 1;
	return 0;
}

static unsigned int fid_hash_size(unsigned int max_fids)
{
	unsigned int n = 16;

	while (n < max_fids && n < P9_FID_HASH_MAX)
		n <<= 1;
	return n;
}

struct p9_server *p9_server_new(const struct p9_server_config *cfg)
{
	struct p9_server *s = calloc(1, sizeof(*s));
	pthread_condattr_t cattr;
	unsigned int threads;
	int r;

	if (!s) {
		pr_err("9p export '%s': out of memory", cfg->path);
		return NULL;
	}
	s->root_fd = s->proc_fd = -1;
	pthread_mutex_init(&s->fid_lock, NULL);
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_cond_init(&s->q_cond, NULL);
	/* Timed waits on q_done must not jump with the wall clock. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->q_done, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_mutex_init(&s->dev_lock, NULL);
	s->cfg = *cfg;
	s->path = strdup(cfg->path);
	s->tag = cfg->tag ? strdup(cfg->tag) : NULL;
	s->cfg.path = s->path;
	s->cfg.tag = s->tag;
	s->readonly = cfg->flags & P9_EXPORT_RO;
	s->passthrough = cfg->flags & P9_EXPORT_PASSTHROUGH;
	s->msize = P9_MAX_MSIZE; /* until Tversion says otherwise */
	s->max_fids = cfg->max_fids ? cfg->max_fids : P9_DEFAULT_MAX_FIDS;
	s->stuck_ms = cfg->stuck_timeout_ms ? cfg->stuck_timeout_ms :
					      P9_STUCK_TIMEOUT_MS;
	s->fid_hash_size = fid_hash_size(s->max_fids);
	s->fid_hash = calloc(s->fid_hash_size, sizeof(*s->fid_hash));
	if (!s->path || (cfg->tag && !s->tag) || !s->fid_hash) {
		pr_err("9p export '%s': out of memory", cfg->path);
		goto fail;
	}
	if (export_open(s))
		goto fail;
	threads = cfg->nr_threads ? cfg->nr_threads : P9_DEFAULT_THREADS;
	if (threads != -1u) {
		r = p9_workers_start(s, threads);
		if (r) {
			pr_err("9p export '%s': cannot start worker threads: %s",
			       s->path, strerror(-r));
			goto fail;
		}
	}
	return s;
fail:
	p9_server_free(s);
	return NULL;
}

void p9_server_release(struct p9_server *s)
{
	p9_fids_clunk_all(s);
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	free(s->fid_hash);
	free(s->devs);
	free(s->worker_req);
	free(s->parked_flushes);
	free(s->threads);
	free(s->path);
	free(s->tag);
	pthread_mutex_destroy(&s->fid_lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cond);
	pthread_cond_destroy(&s->q_done);
	pthread_mutex_destroy(&s->dev_lock);
	free(s);
}

/*
 * Bounded by the stuck timeout, like p9_server_reset(): at lkvm's exit a
 * stuck worker must not keep the process alive.  Such a worker cannot be
 * cancelled safely, so it is left running with the server intact (its
 * fids, fds and locks): it frees the server when it finishes, and never
 * calls complete() again (the transport may be gone by then).
 */
bool p9_server_free(struct p9_server *s)
{
	struct timespec dl;
	unsigned int i;

	if (!s)
		return true;
	p9_stuck_deadline(s, &dl);
	pthread_mutex_lock(&s->q_lock);
	if (p9_wait_idle(s, &dl))
		p9_cancel_queued(s);
	s->q_stop = true;
	pthread_cond_broadcast(&s->q_cond);
	/* A deadline of its own: after p9_wait_idle() timed out the first one
	 * has passed, and a worker merely busy (not stuck) would be given up
	 * on together with the stuck one. */
	p9_deadline_in(MIN(s->stuck_ms, P9_EXIT_GRACE_MS), &dl);
	while (s->nr_live)
		if (pthread_cond_timedwait(&s->q_done, &s->q_lock, &dl) ==
		    ETIMEDOUT)
			break;
	if (s->nr_live) {
		/* No complete() from now on; one already under way finishes
		 * first (completions never block).  Workers may exit while
		 * we wait: they leave the server to us (not abandoned yet). */
		__atomic_store_n(&s->closing, true, __ATOMIC_RELAXED);
		while (s->nr_completing)
			pthread_cond_wait(&s->q_done, &s->q_lock);
	}
	if (s->nr_live) {
		/* Everything that reads @s happens before the unlock: from
		 * then on the last worker out frees it. */
		warn_stuck(s, "exiting");
		for (i = 0; i < s->nr_threads; i++)
			pthread_detach(s->threads[i]);
		s->abandoned = true;
		pthread_mutex_unlock(&s->q_lock);
		return false;
	}
	pthread_mutex_unlock(&s->q_lock);
	for (i = 0; i < s->nr_threads; i++)
		pthread_join(s->threads[i], NULL);
	p9_server_release(s);
	return true;
}
