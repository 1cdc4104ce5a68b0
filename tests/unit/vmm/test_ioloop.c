// SPDX-License-Identifier: GPL-2.0
/* Device worker threads: one-shot exclusivity, fairness, pause/resume, del. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/ioloop.h"
#include "test.h"

struct tw {
	struct io_watch w;
	int fd;
	int calls;        /* atomics */
	int inside;
	int max_inside;
	int sleep_us;
	int rekick;       /* re-kick itself while > 0 (decremented) */
	int rekick_forever;
	int sigmask_ok;   /* 1 ok, -1 a signal was deliverable */
	int done;         /* set when the handler returns */
};

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static void kick(int fd)
{
	uint64_t one = 1;

	(void)!write(fd, &one, sizeof(one));
}

static void tw_fn(struct io_watch *w)
{
	struct tw *t = w->opaque;
	int now = __atomic_add_fetch(&t->inside, 1, __ATOMIC_SEQ_CST);
	int max = __atomic_load_n(&t->max_inside, __ATOMIC_SEQ_CST);
	sigset_t cur;

	while (now > max && !__atomic_compare_exchange_n(
				    &t->max_inside, &max, now, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	drain(t->fd);
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	__atomic_store_n(&t->sigmask_ok,
			 sigismember(&cur, SIGINT) && sigismember(&cur, SIGTERM) &&
					 sigismember(&cur, SIGUSR1) &&
					 sigismember(&cur, SIGWINCH) ?
				 1 : -1,
			 __ATOMIC_SEQ_CST);
	if (t->sleep_us)
		usleep((useconds_t)t->sleep_us);
	__atomic_add_fetch(&t->calls, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->rekick_forever, __ATOMIC_SEQ_CST) ||
	    __atomic_sub_fetch(&t->rekick, 1, __ATOMIC_SEQ_CST) >= 0)
		ioloop_watch_kick(w);
	__atomic_sub_fetch(&t->inside, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->done, 1, __ATOMIC_SEQ_CST);
}

static bool tw_add(struct ioloop *l, struct tw *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!CHECK(t->fd >= 0))
		return false;
	return CHECK_EQ(ioloop_watch_add(l, &t->w, t->fd, tw_fn, t, name), 0);
}

static void tw_del(struct tw *t)
{
	ioloop_watch_del(&t->w);
	close(t->fd);
}

static int load(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static bool wait_for(int *p, int want)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (load(p) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

TEST(init_and_destroy)
{
	struct ioloop l;

	CHECK_EQ(ioloop_init(&l, 0), -EINVAL);
	REQUIRE(ioloop_init(&l, 3) == 0);
	CHECK_EQ(l.started, 3);
	ioloop_destroy(&l);
	REQUIRE(ioloop_init(&l, 1) == 0);
	ioloop_destroy(&l);
	ioloop_destroy(&l); /* twice is harmless */
}

TEST(delivers_and_blocks_signals)
{
	struct ioloop l;
	struct tw t;

	REQUIRE(ioloop_init(&l, 2) == 0);
	REQUIRE(tw_add(&l, &t, "t"));
	kick(t.fd);
	CHECK(wait_for(&t.calls, 1));
	CHECK_EQ(load(&t.sigmask_ok), 1);
	/* Re-armed after the handler: a second kick is delivered too. */
	ioloop_watch_kick(&t.w);
	CHECK(wait_for(&t.calls, 2));
	tw_del(&t);
	ioloop_destroy(&l);
}

static void *hammer_kicks(void *opaque)
{
	struct tw *t = opaque;
	int i;

	for (i = 0; i < 20000; i++)
		kick(t->fd);
	return NULL;
}

TEST(handler_never_runs_twice_at_once)
{
	struct ioloop l;
	struct tw t;
	pthread_t th[3];
	int i;

	REQUIRE(ioloop_init(&l, 4) == 0);
	REQUIRE(tw_add(&l, &t, "t"));
	t.sleep_us = 50;
	t.rekick = 200;
	for (i = 0; i < 3; i++)
		REQUIRE(pthread_create(&th[i], NULL, hammer_kicks, &t) == 0);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CHECK(wait_for(&t.calls, 201));
	usleep(20000);
	CHECK_EQ(load(&t.max_inside), 1);
	tw_del(&t);
	ioloop_destroy(&l);
}

TEST(busy_watch_does_not_starve_others)
{
	struct ioloop l;
	struct tw busy, other[3];
	int i, j;

	/* One thread, so fairness has to come from the ready list order. */
	REQUIRE(ioloop_init(&l, 1) == 0);
	REQUIRE(tw_add(&l, &busy, "busy"));
	for (i = 0; i < 3; i++)
		REQUIRE(tw_add(&l, &other[i], "other"));
	busy.rekick_forever = 1;
	kick(busy.fd);
	CHECK(wait_for(&busy.calls, 10));
	for (j = 0; j < 5; j++) {
		for (i = 0; i < 3; i++)
			kick(other[i].fd);
		for (i = 0; i < 3; i++)
			CHECK(wait_for(&other[i].calls, j + 1));
	}
	CHECK(load(&busy.calls) > 10);
	__atomic_store_n(&busy.rekick_forever, 0, __ATOMIC_SEQ_CST);
	tw_del(&busy);
	for (i = 0; i < 3; i++)
		tw_del(&other[i]);
	ioloop_destroy(&l);
}

TEST(pause_remembers_and_resume_replays)
{
	struct ioloop l;
	struct tw t;

	REQUIRE(ioloop_init(&l, 2) == 0);
	REQUIRE(tw_add(&l, &t, "t"));
	ioloop_watch_pause(&t.w);
	kick(t.fd);
	usleep(30000);
	CHECK_EQ(load(&t.calls), 0);
	ioloop_watch_resume(&t.w);
	CHECK(wait_for(&t.calls, 1));

	/* Paused while idle with nothing pending: resume delivers nothing,
	 * later kicks still work. */
	ioloop_watch_pause(&t.w);
	ioloop_watch_resume(&t.w);
	usleep(10000);
	CHECK_EQ(load(&t.calls), 1);
	kick(t.fd);
	CHECK(wait_for(&t.calls, 2));
	tw_del(&t);
	ioloop_destroy(&l);
}

TEST(pause_waits_for_running_handler)
{
	struct ioloop l;
	struct tw t;

	REQUIRE(ioloop_init(&l, 2) == 0);
	REQUIRE(tw_add(&l, &t, "t"));
	t.sleep_us = 100000;
	t.rekick = 1; /* it kicks itself once more while running */
	kick(t.fd);
	CHECK(wait_for(&t.inside, 1));
	ioloop_watch_pause(&t.w);
	CHECK_EQ(load(&t.inside), 0);
	CHECK_EQ(load(&t.calls), 1);
	usleep(30000);
	CHECK_EQ(load(&t.calls), 1); /* the self-kick waits */
	ioloop_watch_resume(&t.w);
	CHECK(wait_for(&t.calls, 2));
	tw_del(&t);
	ioloop_destroy(&l);
}

/* A handler that cannot consume its readable fd (a backend with frames
 * waiting, no guest buffers) parks; @rekick > 0: it resumes itself after
 * parking (the re-check found work) that many times. */
static void park_fn(struct io_watch *w)
{
	struct tw *t = w->opaque;

	__atomic_add_fetch(&t->calls, 1, __ATOMIC_SEQ_CST);
	ioloop_watch_park(w);
	if (__atomic_sub_fetch(&t->rekick, 1, __ATOMIC_SEQ_CST) >= 0)
		ioloop_watch_resume(w);
}

TEST(park_stops_a_readable_watch_until_resumed)
{
	struct ioloop l;
	struct tw t;

	REQUIRE(ioloop_init(&l, 2) == 0);
	memset(&t, 0, sizeof(t));
	t.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(t.fd >= 0);
	REQUIRE(ioloop_watch_add(&l, &t.w, t.fd, park_fn, &t, "park") == 0);
	kick(t.fd); /* stays readable: the handler never drains it */
	CHECK(wait_for(&t.calls, 1));
	usleep(50000);
	CHECK_EQ(load(&t.calls), 1); /* parked, not spinning */
	ioloop_watch_resume(&t.w);
	CHECK(wait_for(&t.calls, 2));
	usleep(30000);
	CHECK_EQ(load(&t.calls), 2);
	/* Resuming itself after the park: it runs again at once. */
	__atomic_store_n(&t.rekick, 3, __ATOMIC_SEQ_CST);
	ioloop_watch_resume(&t.w);
	CHECK(wait_for(&t.calls, 6));
	usleep(30000);
	CHECK_EQ(load(&t.calls), 6);
	/* A pause/resume (device reset) of a parked watch re-arms it too. */
	ioloop_watch_pause(&t.w);
	ioloop_watch_resume(&t.w);
	CHECK(wait_for(&t.calls, 7));
	ioloop_watch_del(&t.w);
	close(t.fd);
	ioloop_destroy(&l);
}

TEST(del_waits_for_running_handler)
{
	struct ioloop l;
	struct tw t;

	REQUIRE(ioloop_init(&l, 2) == 0);
	REQUIRE(tw_add(&l, &t, "t"));
	t.sleep_us = 100000;
	kick(t.fd);
	CHECK(wait_for(&t.inside, 1));
	tw_del(&t);
	CHECK_EQ(load(&t.done), 1);
	CHECK_EQ(load(&t.inside), 0);
	ioloop_destroy(&l);
}

/* Kicks racing with delete and free: under ASan, a worker touching a
 * deleted watch is a use-after-free report. */
TEST(del_races_with_events)
{
	struct ioloop l;
	int i, j;

	REQUIRE(ioloop_init(&l, 4) == 0);
	for (i = 0; i < 300; i++) {
		struct tw *t[4];

		for (j = 0; j < 4; j++) {
			t[j] = malloc(sizeof(*t[j]));
			REQUIRE(t[j] && tw_add(&l, t[j], "racy"));
			kick(t[j]->fd);
		}
		if (i & 1)
			usleep(50);
		for (j = 0; j < 4; j++) {
			tw_del(t[j]);
			free(t[j]);
		}
	}
	ioloop_destroy(&l);
}

TEST(many_watches)
{
	struct ioloop l;
	struct tw *t;
	int i, n = 100;

	REQUIRE(ioloop_init(&l, 3) == 0);
	t = calloc((size_t)n, sizeof(*t));
	REQUIRE(t);
	for (i = 0; i < n; i++)
		REQUIRE(tw_add(&l, &t[i], "many"));
	for (i = 0; i < n; i++)
		kick(t[i].fd);
	for (i = 0; i < n; i++)
		CHECK(wait_for(&t[i].calls, 1));
	for (i = 0; i < n; i++)
		tw_del(&t[i]);
	free(t);
	ioloop_destroy(&l);
}

int main(void)
{
	RUN(init_and_destroy);
	RUN(delivers_and_blocks_signals);
	RUN(handler_never_runs_twice_at_once);
	RUN(busy_watch_does_not_starve_others);
	RUN(pause_remembers_and_resume_replays);
	RUN(pause_waits_for_running_handler);
	RUN(park_stops_a_readable_watch_until_resumed);
	RUN(del_waits_for_running_handler);
	RUN(del_races_with_events);
	RUN(many_watches);
	return test_summary();
}
