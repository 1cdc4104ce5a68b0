// SPDX-License-Identifier: GPL-2.0
/*
 * Regression tests for hostile-guest defects of the 9P server
 * (fs/p9/: worker.c, server.c, dispatch.c, modify.c):
 *   - a queued request's header rewritten in guest memory after p9_submit()
 *     is dispatched as submitted (once a Tgetattr rewritten into a Tflush
 *     of its own tag made the worker wait for itself, forever);
 *   - a Tflush of a stuck request holds no worker and is answered only
 *     after that request's reply; reset and free return within the stuck
 *     timeout while a handler is stuck, and a late completion after free
 *     is dropped;
 *   - a request stuck across a reset installs no fid in the new session
 *     and writes no reply;
 *   - free never touches a server its last worker may free, gives a busy
 *     (not stuck) worker a grace period, and waits for a complete() a
 *     Tflush handler is making;
 *   - xattr and readdir buffers of one export are capped (P9_BUF_BUDGET)
 *     and the budget comes back on clunk and reset; past it Treaddir still
 *     lists directories completely, from buffers it does not keep;
 *   - Tlock/Tgetlock on a read-only export never take host locks.
 * Cases that hung on the old code run in a forked child under alarm(), so
 * a regression is a failure, not a hung suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "host_files.h"
#include "p9_client.h"
#include "p9_treq.h"
#include "test.h"

#define ROOT 1u
#define MSIZE 16384u
#define STUCK_MS 300u            /* the servers' stuck timeout here */
#define CHILD_ALARM 10u          /* seconds a forked case may take */

/* --- Running a case that may hang on broken code --- */

/* @fn in a child under alarm(CHILD_ALARM), LeakSanitizer included. */
static void run_bounded(void (*fn)(void))
{
	t_run_child(fn, CHILD_ALARM, true);
}

/* --- Requests submitted to the worker pool --- */

/* Rewrite @t's message in place into Tflush(@tag, @oldtag), as a guest
 * writing to the buffer it already made available would. */
static void rewrite_flush(struct treq *t, uint16_t tag, uint16_t oldtag)
{
	put_le(t->msg, 9, 4);
	t->msg[4] = P9_TFLUSH;
	put_le(t->msg + 5, tag, 2);
	put_le(t->msg + 7, oldtag, 2);
}

/* Whether a worker is executing a request with @tag. */
static bool tag_on_worker(struct p9_server *s, uint16_t tag)
{
	bool found = false;
	unsigned int i;

	pthread_mutex_lock(&s->q_lock);
	for (i = 0; i < s->nr_threads; i++)
		found |= s->worker_req[i] && s->worker_req[i]->tag == tag;
	pthread_mutex_unlock(&s->q_lock);
	return found;
}

static bool wait_on_worker(struct p9_server *s, uint16_t tag)
{
	unsigned int i;

	for (i = 0; i < 2000 && !tag_on_worker(s, tag); i++)
		usleep(1000);
	return tag_on_worker(s, tag);
}

static bool fx_init_threads(struct p9c_export *fx, unsigned int threads)
{
	struct p9_server_config cfg = {
		.nr_threads = threads,
		.stuck_timeout_ms = STUCK_MS,
	};

	gate_reset();
	return CHECK_EQ(p9c_export_init(fx, &cfg, "p9-hostile", MSIZE, ROOT), 0);
}

/* --- Defect 1: the header is read once; nothing waits forever --- */

/*
 * Every worker is held in a completion; a Tgetattr(tag 5) is queued and
 * then rewritten into Tflush(tag 5, oldtag 5).  It must run as the
 * Tgetattr it was submitted as (its body now names fid 5: ENOENT).  The
 * old worker re-read the header, ran a Tflush and waited for its own tag.
 */
static void rewritten_header_child(void)
{
	struct treq hold[P9_DEFAULT_THREADS], t;
	struct p9c_export fx;
	unsigned int i;

	if (!fx_init_threads(&fx, P9_DEFAULT_THREADS))
		goto out;
	for (i = 0; i < P9_DEFAULT_THREADS; i++) {
		treq_getattr(&hold[i], (uint16_t)(100 + i), ROOT);
		hold[i].block = true;
		p9_submit(fx.s, &hold[i].req);
	}
	REQUIRE(gate_wait_entered(P9_DEFAULT_THREADS, 5000));
	treq_getattr(&t, 5, ROOT);
	p9_submit(fx.s, &t.req);
	rewrite_flush(&t, 5, 5);
	gate_release();
	if (!CHECK(treq_wait(&t, 4000))) {
		printf("  the rewritten request never completed\n");
		exit(1); /* tearing the server down would hang too */
	}
	CHECK_EQ(t.resp[4], P9_RLERROR);
	CHECK_EQ(t.resp[7], ENOENT);
	CHECK_EQ(treq_resp_tag(&t), 5);
	CHECK_EQ(p9_server_drain(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

TEST(rewritten_header_dispatched_as_submitted)
{
	run_bounded(rewritten_header_child);
}

/* Stick @fid and submit Tgetattr(@tag, @fid) as @a: a request stuck on a
 * worker until unstick_fid() of the fid returned (NULL on failure). */
static struct p9_fid *submit_stuck(struct p9_server *s, struct treq *a,
				   uint16_t tag, uint32_t fid)
{
	struct p9_fid *f = stick_fid(s, fid);

	if (!f)
		return NULL;
	treq_getattr(a, tag, fid);
	p9_submit(s, &a->req);
	CHECK(wait_on_worker(s, tag));
	return f;
}

/*
 * A Tflush of a request stuck on another worker holds no worker: it is
 * parked, the queue goes on, and its Rflush comes only after the stuck
 * request's reply (9P: nothing may follow the Rflush; Linux frees the old
 * request's buffers on it), however long that takes.
 */
static void flush_parked_child(void)
{
	struct p9c_export fx;
	struct treq a, fl, b;
	struct p9_fid *f;

	if (!fx_init_threads(&fx, 2))
		goto out;
	f = submit_stuck(fx.s, &a, 9, ROOT);
	REQUIRE(f);
	treq_flush(&fl, 10, 9);
	p9_submit(fx.s, &fl.req);
	/* The second worker took the flush and is free again: a request
	 * behind it (an unknown fid, no lock needed) is answered. */
	treq_getattr(&b, 11, 999);
	p9_submit(fx.s, &b.req);
	CHECK(treq_wait(&b, STUCK_MS / 2));
	CHECK_EQ(b.resp[4], P9_RLERROR);
	/* Past the stuck timeout the flush still waits for the request. */
	usleep((STUCK_MS + 200) * 1000);
	CHECK_EQ(__atomic_load_n(&fl.completions, __ATOMIC_SEQ_CST), 0);
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
	unstick_fid(fx.s, f);
	CHECK(treq_wait(&a, 2000));
	CHECK(treq_wait(&fl, 2000));
	CHECK_EQ(a.resp[4], P9_RGETATTR);
	CHECK_EQ(fl.resp[4], P9_RFLUSH);
	CHECK_EQ(treq_resp_tag(&fl), 10);
	CHECK_EQ(fl.written, P9_HDR_LEN);
	CHECK(a.order < fl.order);
	CHECK_EQ(p9_server_drain(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

TEST(flush_of_stuck_request_parked)
{
	run_bounded(flush_parked_child);
}

/* A reset while a Tflush is parked on a stuck request answers the flush
 * (its driver is going away) once, within the stuck timeout; the stuck
 * request finishing later completes only itself. */
static void reset_parked_flush_child(void)
{
	struct p9c_export fx;
	struct treq a, fl;
	struct p9_fid *f;

	if (!fx_init_threads(&fx, 2))
		goto out;
	f = submit_stuck(fx.s, &a, 30, ROOT);
	REQUIRE(f);
	treq_flush(&fl, 31, 30);
	p9_submit(fx.s, &fl.req);
	CHECK_EQ(p9_server_reset(fx.s), -ETIMEDOUT);
	CHECK_EQ(__atomic_load_n(&fl.completions, __ATOMIC_SEQ_CST), 1);
	CHECK_EQ(fl.resp[4], P9_RFLUSH);
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
	unstick_fid(fx.s, f);
	CHECK(treq_wait(&a, 2000));
	CHECK_EQ(p9_server_drain(fx.s), 0);
	CHECK_EQ(__atomic_load_n(&fl.completions, __ATOMIC_SEQ_CST), 1);
out:
	p9c_export_fini(&fx);
}

TEST(reset_answers_parked_flush)
{
	run_bounded(reset_parked_flush_child);
}

/* Reset with the only worker stuck: returns after the stuck timeout,
 * answers the request queued behind it Rlerror(EINTR), forgets the fids;
 * the stuck one completes when it can. */
static void reset_bounded_child(void)
{
	struct p9c_export fx;
	struct treq a, b;
	struct p9_fid *f;
	uint64_t t0, took;

	if (!fx_init_threads(&fx, 1))
		goto out;
	f = stick_fid(fx.s, ROOT);
	REQUIRE(f);
	treq_getattr(&a, 20, ROOT);
	treq_getattr(&b, 21, ROOT);
	p9_submit(fx.s, &a.req);
	CHECK(wait_on_worker(fx.s, 20));
	p9_submit(fx.s, &b.req);
	t0 = now_ms();
	CHECK_EQ(p9_server_drain(fx.s), -ETIMEDOUT);
	CHECK_EQ(p9_server_reset(fx.s), -ETIMEDOUT);
	took = now_ms() - t0;
	CHECK(took < 2 * STUCK_MS + 1000);
	CHECK_EQ(b.completions, 1);
	CHECK_EQ(b.resp[4], P9_RLERROR);
	CHECK_EQ(b.resp[7], EINTR);
	CHECK_EQ(treq_resp_tag(&b), 21);
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
	CHECK_EQ(p9_server_nr_fids(fx.s), 0);
	unstick_fid(fx.s, f);
	CHECK(treq_wait(&a, 2000));
	CHECK_EQ(p9_server_drain(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

TEST(reset_with_stuck_handler_bounded)
{
	run_bounded(reset_bounded_child);
}

/*
 * A Twalk stuck across a reset (in its source fid's lock, after it
 * checked that newfid is free) finishes in the next session.  It must not
 * put newfid into the new session's table (the new client's own Twalk to
 * that fid then got EEXIST), nor write its reply into buffers that may be
 * the new driver's.
 */
static void stale_walk_child(void)
{
	struct p9c_export fx;
	struct p9_fid *f;
	struct treq w;
	uint8_t zero[sizeof(w.resp)] = { 0 };

	if (!fx_init_threads(&fx, 2))
		goto out;
	REQUIRE(file_put_at(fx.dir, "x", "", 0, 0644) == 0);
	f = stick_fid(fx.s, ROOT);
	REQUIRE(f);
	treq_walk(&w, 80, ROOT, 5, "x");
	p9_submit(fx.s, &w.req);
	CHECK(wait_on_worker(fx.s, 80));
	CHECK_EQ(p9_server_reset(fx.s), -ETIMEDOUT);
	/* The new session, and then the stale walk goes on. */
	CHECK_EQ(p9c_version_attach(&fx.c, MSIZE, ROOT), 0);
	unstick_fid(fx.s, f);
	CHECK(treq_wait(&w, 2000));
	CHECK_EQ(w.written, 0);
	CHECK(!memcmp(w.resp, zero, sizeof(zero)));
	CHECK_EQ(p9_server_nr_fids(fx.s), 1);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 5, "x"), 0);
	CHECK_EQ(p9_server_nr_fids(fx.s), 2);
	CHECK_EQ(p9_server_drain(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

TEST(stale_walk_stays_out_of_new_session)
{
	run_bounded(stale_walk_child);
}

/*
 * A request stuck across a reset finds none of the new session's fids:
 * a Tlink blocked on its directory fid goes on after the new session has
 * walked the same fid number to another file, and must not link it.
 */
static void stale_link_child(void)
{
	struct p9c_export fx;
	struct p9_fid *f;
	struct treq l;
	struct stat st;
	char path[128];

	if (!fx_init_threads(&fx, 2))
		goto out;
	REQUIRE(file_put_at(fx.dir, "y", "new", 3, 0644) == 0);
	f = stick_fid(fx.s, ROOT);
	REQUIRE(f);
	treq_link(&l, 90, ROOT, 7, "lnk");
	p9_submit(fx.s, &l.req);
	CHECK(wait_on_worker(fx.s, 90));
	CHECK_EQ(p9_server_reset(fx.s), -ETIMEDOUT);
	CHECK_EQ(p9c_version_attach(&fx.c, MSIZE, ROOT), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 7, "y"), 0);
	unstick_fid(fx.s, f);
	CHECK(treq_wait(&l, 2000));
	CHECK_EQ(l.written, 0);
	snprintf(path, sizeof(path), "%s/lnk", fx.dir);
	CHECK(lstat(path, &st) < 0 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s/y", fx.dir);
	CHECK(!lstat(path, &st) && st.st_nlink == 1);
	CHECK_EQ(p9_server_drain(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

TEST(stale_link_finds_no_new_fid)
{
	run_bounded(stale_link_child);
}

/* Free with a worker stuck: returns false after the stuck timeout; the
 * late request is never completed and its worker frees the server
 * (LeakSanitizer in the child checks that nothing is left). */
static void free_bounded_child(void)
{
	struct p9c_export fx;
	struct p9_server *s;
	struct treq a;
	struct p9_fid *f;
	uint64_t t0;

	if (!fx_init_threads(&fx, 2))
		goto out;
	s = fx.s;
	f = submit_stuck(s, &a, 30, ROOT);
	REQUIRE(f);
	/* Take the server from the fixture: we free it here. */
	fx.c.s = fx.s = NULL;
	p9_fid_put(s, f); /* the table and the handler keep theirs */
	t0 = now_ms();
	CHECK(!p9_server_free(s));
	CHECK(now_ms() - t0 < STUCK_MS + 1000);
	pthread_mutex_unlock(&f->lock);
	usleep(300 * 1000); /* the worker finishes and frees the server */
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
out:
	p9c_export_fini(&fx);
}

TEST(free_with_stuck_handler_bounded)
{
	run_bounded(free_bounded_child);
}

/* Call @fn(@arg) on a thread of its own after @ms milliseconds. */
struct later {
	pthread_t thread;
	unsigned int ms;
	void (*fn)(void *arg);
	void *arg;
};

static void *later_main(void *p)
{
	struct later *l = p;

	usleep(l->ms * 1000);
	l->fn(l->arg);
	return NULL;
}

static void later_start(struct later *l, unsigned int ms,
			void (*fn)(void *arg), void *arg)
{
	*l = (struct later){ .ms = ms, .fn = fn, .arg = arg };
	REQUIRE(pthread_create(&l->thread, NULL, later_main, l) == 0);
}

/* A handler stuck on @arg (a fid held by stick_fid(), whose reference the
 * test already put) finishes, then the gate opens. */
static void unstick_then_open_gate(void *arg)
{
	struct p9_fid *f = arg;

	pthread_mutex_unlock(&f->lock);
	usleep(50 * 1000);
	gate_release();
}

/*
 * Free gives up on two workers, one stuck in a handler, one inside a
 * complete() it must wait for; meanwhile both finish and exit.  The old
 * code had already marked the server abandoned, so the last worker freed
 * it while p9_server_free() still used it (ASan: use-after-free; and
 * warn_stuck() read it after the unlock).  Now the workers leave it to
 * p9_server_free(), which frees it itself and returns true.
 */
static void free_races_last_worker_child(void)
{
	struct p9c_export fx;
	struct p9_server *s;
	struct treq a, b;
	struct later l;
	struct p9_fid *f;
	bool freed;

	if (!fx_init_threads(&fx, 2))
		goto out;
	s = fx.s;
	f = submit_stuck(s, &a, 40, ROOT);
	REQUIRE(f);
	treq_getattr(&b, 41, 77); /* no such fid: answered at once */
	b.block = true;
	p9_submit(s, &b.req);
	REQUIRE(gate_wait_entered(1, 5000));
	fx.c.s = fx.s = NULL;
	p9_fid_put(s, f);
	/* After the stuck timeout and the exit grace period. */
	later_start(&l, 2 * STUCK_MS + 200, unstick_then_open_gate, f);
	freed = p9_server_free(s);
	pthread_join(l.thread, NULL);
	usleep(100 * 1000);
	CHECK(freed);
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
	CHECK_EQ(__atomic_load_n(&b.completions, __ATOMIC_SEQ_CST), 1);
out:
	p9c_export_fini(&fx);
}

TEST(free_races_last_worker)
{
	run_bounded(free_races_last_worker_child);
}

static void unlock_fid(void *arg)
{
	struct p9_fid *f = arg;

	pthread_mutex_unlock(&f->lock);
}

/*
 * Free with one worker stuck and one merely busy (it finishes 100 ms
 * after the stuck timeout): only the stuck one is given up on, the busy
 * one's reply is delivered.  The old code used one deadline for both
 * waits and dropped it too.
 */
static void free_grace_child(void)
{
	struct p9c_export fx;
	struct p9_server *s;
	struct p9_fid *f, *g;
	struct treq a, b;
	struct later l;
	uint64_t t0, took;

	if (!fx_init_threads(&fx, 2))
		goto out;
	s = fx.s;
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, ""), 0);
	f = submit_stuck(s, &a, 50, ROOT);
	g = submit_stuck(s, &b, 51, 2);
	REQUIRE(f && g);
	fx.c.s = fx.s = NULL;
	p9_fid_put(s, f);
	p9_fid_put(s, g);
	later_start(&l, STUCK_MS + 100, unlock_fid, g);
	t0 = now_ms();
	CHECK(!p9_server_free(s));
	took = now_ms() - t0;
	pthread_join(l.thread, NULL);
	CHECK(took < 2 * STUCK_MS + 1000);
	CHECK_EQ(__atomic_load_n(&b.completions, __ATOMIC_SEQ_CST), 1);
	CHECK_EQ(b.resp[4], P9_RGETATTR);
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
	pthread_mutex_unlock(&f->lock);
	usleep(300 * 1000); /* the stuck worker finishes and frees it */
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
out:
	p9c_export_fini(&fx);
}

TEST(free_gives_busy_worker_grace)
{
	run_bounded(free_grace_child);
}

static void set_flag_open_gate(void *arg)
{
	__atomic_store_n((bool *)arg, true, __ATOMIC_SEQ_CST);
	gate_release();
}

/*
 * A Tflush answers the queued request it cancels from inside its handler.
 * That complete() must count like a worker's own: free, giving up on a
 * stuck worker meanwhile, waits for it (the transport is about to go
 * away).  The old code did not count it and returned at once.
 */
static void flush_completion_child(void)
{
	struct p9c_export fx;
	struct treq a, c, x, fl;
	struct p9_server *s;
	struct p9_fid *f, *g;
	struct later l;
	bool released = false;

	if (!fx_init_threads(&fx, 2))
		goto out;
	s = fx.s;
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, ""), 0);
	f = submit_stuck(s, &a, 60, ROOT);
	g = submit_stuck(s, &c, 61, 2);
	REQUIRE(f && g);
	treq_getattr(&x, 62, 77);
	x.block = true;
	p9_submit(s, &x.req);          /* queued */
	treq_flush(&fl, 63, 62);
	p9_submit(s, &fl.req);         /* ahead of it */
	unstick_fid(s, g);             /* c's worker takes the flush */
	REQUIRE(gate_wait_entered(1, 5000)); /* x's complete(), in the flush */
	fx.c.s = fx.s = NULL;
	p9_fid_put(s, f);
	later_start(&l, 2 * STUCK_MS + 300, set_flag_open_gate, &released);
	CHECK(!p9_server_free(s));
	CHECK(__atomic_load_n(&released, __ATOMIC_SEQ_CST));
	pthread_join(l.thread, NULL);
	CHECK_EQ(x.completions, 1);
	CHECK_EQ(x.resp[4], P9_RLERROR);
	CHECK_EQ(x.resp[7], EINTR);
	CHECK_EQ(c.completions, 1);
	pthread_mutex_unlock(&f->lock);
	usleep(300 * 1000);
	CHECK_EQ(__atomic_load_n(&a.completions, __ATOMIC_SEQ_CST), 0);
out:
	p9c_export_fini(&fx);
}

TEST(free_waits_for_flush_completion)
{
	run_bounded(flush_completion_child);
}

/* --- Defect 4: per-export budget for xattr and readdir buffers --- */

#define XATTR_FIDS (P9_BUF_BUDGET / P9_XATTR_SIZE_MAX)

static bool fx_init_sync(struct p9c_export *fx, unsigned int flags)
{
	struct p9_server_config cfg = { .nr_threads = -1u, .flags = flags };

	return CHECK_EQ(p9c_export_init(fx, &cfg, "p9-hostile", MSIZE, ROOT), 0);
}

static int xattrcreate(struct p9c_export *fx, uint32_t fid)
{
	return p9c_call(&fx->c, P9_TXATTRCREATE, "dsqd", fid, "user.big",
			(uint64_t)P9_XATTR_SIZE_MAX, 0);
}

static size_t buf_used(struct p9_server *s)
{
	return __atomic_load_n(&s->buf_used, __ATOMIC_RELAXED);
}

/*
 * A reset that gave up on a stuck handler closes the old session's fids on
 * a thread of its own (close() on a hung filesystem must not block the
 * resetting vCPU): the table is empty at once, the fids' buffers go back
 * to the budget shortly after.
 */
static void reset_reaps_child(void)
{
	struct p9c_export fx;
	struct p9_fid *f;
	struct treq a;
	unsigned int i;

	if (!fx_init_threads(&fx, 2))
		goto out;
	REQUIRE(file_put_at(fx.dir, "x", "", 0, 0644) == 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 7, "x"), 0);
	CHECK_EQ(xattrcreate(&fx, 7), 0);
	CHECK_EQ(buf_used(fx.s), P9_XATTR_SIZE_MAX);
	f = submit_stuck(fx.s, &a, 40, ROOT);
	REQUIRE(f);
	CHECK_EQ(p9_server_reset(fx.s), -ETIMEDOUT);
	CHECK_EQ(p9_server_nr_fids(fx.s), 0);
	for (i = 0; i < 2000 && buf_used(fx.s); i++)
		usleep(1000);
	CHECK_EQ(buf_used(fx.s), 0);
	unstick_fid(fx.s, f);
	CHECK(treq_wait(&a, 2000));
	CHECK_EQ(p9_server_drain(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

TEST(reset_reaps_old_fids)
{
	run_bounded(reset_reaps_child);
}

TEST(xattrcreate_budget)
{
	struct p9c_export fx;
	uint32_t i, fid;

	if (!fx_init_sync(&fx, 0))
		goto out;
	REQUIRE(file_put_at(fx.dir, "x", "", 0, 0644) == 0);
	for (i = 0; i <= XATTR_FIDS; i++)
		CHECK_EQ(p9c_walk(&fx.c, ROOT, 10 + i, "x"), 0);
	for (i = 0; i < XATTR_FIDS; i++)
		CHECK_EQ(xattrcreate(&fx, 10 + i), 0);
	fid = 10 + XATTR_FIDS;
	CHECK_EQ(xattrcreate(&fx, fid), -ENOSPC);
	/* A clunk (the value incomplete: nothing set) gives its share back. */
	CHECK_EQ(p9c_clunk(&fx.c, 10), -EINVAL);
	CHECK_EQ(xattrcreate(&fx, fid), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 10, "x"), 0);
	CHECK_EQ(xattrcreate(&fx, 10), -ENOSPC);
	/* So does a reset, for all of them. */
	p9_server_reset(fx.s);
	CHECK_EQ(p9c_version_attach(&fx.c, MSIZE, ROOT), 0);
	for (i = 0; i < XATTR_FIDS; i++) {
		CHECK_EQ(p9c_walk(&fx.c, ROOT, 10 + i, "x"), 0);
		CHECK_EQ(xattrcreate(&fx, 10 + i), 0);
	}
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 9, "x"), 0);
	CHECK_EQ(xattrcreate(&fx, 9), -ENOSPC);
out:
	p9c_export_fini(&fx);
}

/* Read one entry of fid's directory (a 40-byte count: the rest of the
 * getdents buffer stays with the fid). */
static int readdir_one(struct p9c_export *fx, uint32_t fid)
{
	return p9c_call(&fx->c, P9_TREADDIR, "dqd", fid, (uint64_t)0, 40);
}

#define DIR_FIDS (P9_BUF_BUDGET / (32 * 1024))

/* DIR_FIDS fids of directory @name opened and read part way (fids 10..):
 * the budget is spent.  Then fid 10 + DIR_FIDS is opened too. */
static void spend_dir_budget(struct p9c_export *fx, const char *name)
{
	uint32_t i, fid;

	for (i = 0; i <= DIR_FIDS; i++) {
		fid = 10 + i;
		CHECK_EQ(p9c_walk(&fx->c, ROOT, fid, name), 0);
		CHECK_EQ(p9c_call(&fx->c, P9_TLOPEN, "dd", fid, P9_DOTL_RDONLY), 0);
	}
	for (i = 0; i < DIR_FIDS; i++)
		CHECK_EQ(readdir_one(fx, 10 + i), 0);
	CHECK_EQ(buf_used(fx->s), P9_BUF_BUDGET);
}

TEST(readdir_budget)
{
	struct p9c_export fx;
	char path[300];
	uint32_t fid = 10 + DIR_FIDS;

	if (!fx_init_sync(&fx, P9_EXPORT_RO))
		goto out;
	snprintf(path, sizeof(path), "%s/d", fx.dir);
	REQUIRE(mkdir(path, 0755) == 0);
	REQUIRE(file_put_at(path, "a", "", 0, 0644) == 0);
	REQUIRE(file_put_at(path, "b", "", 0, 0644) == 0);
	spend_dir_budget(&fx, "d");
	/* Past the budget: served from a buffer it does not keep. */
	CHECK_EQ(readdir_one(&fx, fid), 0);
	CHECK_EQ(buf_used(fx.s), P9_BUF_BUDGET);
	/* A directory read to its end holds no buffer. */
	CHECK_EQ(p9c_call(&fx.c, P9_TREADDIR, "dqd", 10, (uint64_t)0, 4096), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TREADDIR, "dqd", 10, (uint64_t)0, 4096), 0);
	CHECK_EQ(buf_used(fx.s), P9_BUF_BUDGET - P9_DIRBUF_SIZE);
	CHECK_EQ(readdir_one(&fx, fid), 0);
	CHECK_EQ(buf_used(fx.s), P9_BUF_BUDGET);
	/* A clunk gives its share back. */
	CHECK_EQ(p9c_clunk(&fx.c, 11), 0);
	CHECK_EQ(buf_used(fx.s), P9_BUF_BUDGET - P9_DIRBUF_SIZE);
	/* So does a reset, for all of them. */
	p9_server_reset(fx.s);
	CHECK_EQ(buf_used(fx.s), 0);
out:
	p9c_export_fini(&fx);
}

#define BIG_DIR 300u             /* entries "f000".. in the listed directory */

/*
 * List directory fid @fid to its end, @count bytes per Treaddir, each
 * continuing at the offset of the last entry returned (as Linux does):
 * seen[i] counts "f<i>", *dots the "." and ".." entries, *calls the
 * Treaddirs.  0 or -errno (-EPROTO: a malformed reply or a stray name).
 */
static int list_dir(struct p9c_export *fx, uint32_t fid, uint32_t count,
		    unsigned int *seen, unsigned int *dots, unsigned int *calls)
{
	static uint8_t buf[MSIZE];
	uint64_t off = 0;
	uint32_t n;
	size_t pos;
	int r;

	for (;;) {
		r = p9c_call(&fx->c, P9_TREADDIR, "dqd", fid, off, count);
		if (r)
			return r;
		if (p9c_reply(&fx->c, "D", &n, buf))
			return -EPROTO;
		(*calls)++;
		if (!n)
			return 0;
		for (pos = 0; pos < n;) {
			char name[P9_NAME_MAX + 1];
			unsigned int i;
			size_t len;

			/* qid[13] offset[8] type[1] name[s] */
			if (n - pos < 24)
				return -EPROTO;
			off = 0;
			for (i = 0; i < 8; i++)
				off |= (uint64_t)buf[pos + 13 + i] << (8 * i);
			len = buf[pos + 22] | buf[pos + 23] << 8;
			if (n - pos - 24 < len || len > P9_NAME_MAX)
				return -EPROTO;
			memcpy(name, buf + pos + 24, len);
			name[len] = '\0';
			pos += 24 + len;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				(*dots)++;
			else if (sscanf(name, "f%3u", &i) == 1 && i < BIG_DIR)
				seen[i]++;
			else
				return -EPROTO;
		}
	}
}

/*
 * An honest workload with more directories mid-read than the budget has
 * buffers (DIR_FIDS): a further directory is still listed completely and
 * correctly, across many Treaddirs, from buffers that are not kept.  It
 * used to get ENOMEM.
 */
TEST(readdir_past_budget_lists_everything)
{
	static unsigned int seen[BIG_DIR];
	unsigned int i, dots = 0, calls = 0;
	struct p9c_export fx;
	char path[300], name[16];
	uint32_t fid = 10 + DIR_FIDS;

	if (!fx_init_sync(&fx, P9_EXPORT_RO))
		goto out;
	snprintf(path, sizeof(path), "%s/d", fx.dir);
	REQUIRE(mkdir(path, 0755) == 0);
	REQUIRE(file_put_at(path, "a", "", 0, 0644) == 0);
	REQUIRE(file_put_at(path, "b", "", 0, 0644) == 0);
	snprintf(path, sizeof(path), "%s/big", fx.dir);
	REQUIRE(mkdir(path, 0755) == 0);
	for (i = 0; i < BIG_DIR; i++) {
		snprintf(name, sizeof(name), "f%03u", i);
		REQUIRE(file_put_at(path, name, "", 0, 0644) == 0);
	}
	spend_dir_budget(&fx, "d");
	CHECK_EQ(p9c_clunk(&fx.c, fid), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, fid, "big"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", fid, P9_DOTL_RDONLY), 0);
	/* ~18 entries per call: each leaves most of a getdents buffer. */
	CHECK_EQ(list_dir(&fx, fid, 512, seen, &dots, &calls), 0);
	CHECK_EQ(dots, 2);
	for (i = 0; i < BIG_DIR; i++)
		if (!CHECK_EQ(seen[i], 1))
			break;
	CHECK(calls > 10);
	CHECK_EQ(buf_used(fx.s), P9_BUF_BUDGET);
	/* And once more from the start (a rewinddir). */
	memset(seen, 0, sizeof(seen));
	dots = calls = 0;
	CHECK_EQ(list_dir(&fx, fid, 700, seen, &dots, &calls), 0);
	CHECK_EQ(dots, 2);
	for (i = 0; i < BIG_DIR; i++)
		if (!CHECK_EQ(seen[i], 1))
			break;
out:
	p9c_export_fini(&fx);
}

/* --- Defect 5: no host locks on a read-only export --- */

/* The first host lock that would conflict with a @type lock of the whole
 * file, seen through a fresh open file description: F_UNLCK if none. */
static short host_lock_probe(const char *path, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fcntl(fd, F_OFD_GETLK, &fl))
		fl.l_type = -1;
	close(fd);
	return fl.l_type;
}

static int tlock(struct p9c_export *fx, uint32_t fid, uint8_t type,
		 uint8_t *status)
{
	int r = p9c_call(&fx->c, P9_TLOCK, "dbdqqds", fid, type, 0,
			 (uint64_t)0, (uint64_t)0, 42, "guest");

	return r ? r : p9c_reply(&fx->c, "b", status);
}

TEST(readonly_lock_takes_no_host_lock)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[300], client[P9_STR_MAX + 1];
	struct p9c_export fx;
	uint64_t start, length;
	uint32_t proc_id;
	uint8_t status, type;
	int fd = -1;

	if (!fx_init_sync(&fx, P9_EXPORT_RO))
		goto out;
	REQUIRE(file_put_at(fx.dir, "f", "data", 4, 0644) == 0);
	snprintf(path, sizeof(path), "%s/f", fx.dir);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "f"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDONLY), 0);
	/* Granted, and nothing on the host. */
	CHECK_EQ(tlock(&fx, 2, P9_LOCK_TYPE_RDLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(host_lock_probe(path, F_WRLCK), F_UNLCK);
	CHECK_EQ(tlock(&fx, 2, P9_LOCK_TYPE_WRLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(host_lock_probe(path, F_RDLCK), F_UNLCK);
	/* A host writer is not blocked, and does not block the guest. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK_EQ(fcntl(fd, F_OFD_SETLK, &fl), 0);
	CHECK_EQ(tlock(&fx, 2, P9_LOCK_TYPE_RDLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETLOCK, "dbqqds", 2, P9_LOCK_TYPE_WRLCK,
			  (uint64_t)0, (uint64_t)0, 42, "guest"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "bqqds", &type, &start, &length, &proc_id,
			   client), 0);
	CHECK_EQ(type, P9_LOCK_TYPE_UNLCK);
	CHECK_EQ(tlock(&fx, 2, P9_LOCK_TYPE_UNLCK, &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	/* Still a bad type is an error, and an unopened fid EBADF. */
	CHECK_EQ(tlock(&fx, 2, 7, &status), 0);
	CHECK_EQ(status, P9_LOCK_ERROR);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 3, "f"), 0);
	CHECK_EQ(tlock(&fx, 3, P9_LOCK_TYPE_RDLCK, &status), -EBADF);
out:
	if (fd >= 0)
		close(fd);
	p9c_export_fini(&fx);
}

int main(void)
{
	RUN(rewritten_header_dispatched_as_submitted);
	RUN(flush_of_stuck_request_parked);
	RUN(reset_answers_parked_flush);
	RUN(reset_with_stuck_handler_bounded);
	RUN(stale_walk_stays_out_of_new_session);
	RUN(stale_link_finds_no_new_fid);
	RUN(free_with_stuck_handler_bounded);
	RUN(free_races_last_worker);
	RUN(free_gives_busy_worker_grace);
	RUN(free_waits_for_flush_completion);
	RUN(reset_reaps_old_fids);
	RUN(xattrcreate_budget);
	RUN(readdir_budget);
	RUN(readdir_past_budget_lists_everything);
	RUN(readonly_lock_takes_no_host_lock);
	return test_summary();
}
