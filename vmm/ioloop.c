// SPDX-License-Identifier: GPL-2.0
/*
 * Device worker threads: one epoll set, a few threads, one-shot watches.
 *
 * A watch's fd is armed EPOLLIN|EPOLLONESHOT.  The kernel disarms it when a
 * thread's epoll_wait() returns it, so no other thread can see it until the
 * handler has returned and the worker re-arms it (EPOLL_CTL_MOD, which also
 * re-queues the fd at the back of the ready list if it is still readable:
 * a handler that re-kicks itself yields to every other ready watch).
 *
 * Lifetime: events carry a slot index into loop->slots, never a pointer.  A
 * worker resolves the slot and marks the watch running under loop->lock, and
 * ioloop_watch_del() clears the slot under the same lock before waiting for
 * the handler to finish, so an event that a worker fetched just before the
 * delete is dropped instead of touching a watch its owner has freed.  (A slot
 * reused by a new watch may get one such stale event: a spurious wake-up,
 * harmless because handlers drain non-blocking eventfds.)
 *
 * Lock order: loop->lock, then w->lock.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/thread.h"
#include "lkvm/ioloop.h"
#include "lkvm/util.h"

/* epoll data of the stop eventfd (slot keys are small integers). */
#define STOP_KEY UINT64_MAX

static int arm(struct io_watch *w, int op)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLONESHOT,
		.data.u64 = w->slot,
	};

	if (epoll_ctl(w->loop->epfd, op, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

static void rearm(struct io_watch *w)
{
	int err = arm(w, EPOLL_CTL_MOD);

	if (err)
		pr_warn("%s: cannot re-arm event watch: %s",
			w->name ? w->name : "ioloop", strerror(-err));
}

/* Resolve @key and claim the watch for this thread; NULL if there is
 * nothing to run (stale event, paused watch). */
static struct io_watch *claim(struct ioloop *l, uint64_t key)
{
	struct io_watch *w = NULL;

	pthread_mutex_lock(&l->lock);
	if (key < l->nr_slots)
		w = l->slots[key];
	if (w) {
		pthread_mutex_lock(&w->lock);
		if (w->paused || w->running) {
			/* Paused: remember the event, resume re-arms.  Running:
			 * only a stale event from a reused slot can get here;
			 * the running thread re-arms when it finishes. */
			w->pending = true;
			pthread_mutex_unlock(&w->lock);
			w = NULL;
		} else {
			w->running = true;
			pthread_mutex_unlock(&w->lock);
		}
	}
	pthread_mutex_unlock(&l->lock);
	return w;
}

static void finish(struct io_watch *w)
{
	pthread_mutex_lock(&w->lock);
	w->running = false;
	if (w->added) {
		if (w->paused) {
			w->pending = true; /* left disarmed: resume re-arms */
		} else {
			w->pending = false;
			rearm(w);
		}
	}
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
}

static void *worker(void *opaque)
{
	struct ioloop *l = opaque;

	for (;;) {
		struct epoll_event ev;
		struct io_watch *w;
		int n;

		/* One event at a time: a thread never holds events it is not
		 * about to run, so other threads pick them up meanwhile. */
		n = epoll_wait(l->epfd, &ev, 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("ioloop: epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0)
			continue;
		if (ev.data.u64 == STOP_KEY)
			break; /* level-triggered: every thread sees it */
		w = claim(l, ev.data.u64);
		if (!w)
			continue;
		w->fn(w);
		finish(w);
	}
	return NULL;
}

int ioloop_init(struct ioloop *l, unsigned int nr_threads)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = STOP_KEY };
	unsigned int i;
	int err;

	memset(l, 0, sizeof(*l));
	l->epfd = -1;
	l->stop_fd = -1;
	if (nr_threads == 0)
		return -EINVAL;
	err = pthread_mutex_init(&l->lock, NULL);
	if (err)
		return -err;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		err = -errno;
		goto err_lock;
	}
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0) {
		err = -errno;
		goto err_epfd;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
		err = -errno;
		goto err_stop;
	}
	l->threads = calloc(nr_threads, sizeof(*l->threads));
	if (!l->threads) {
		err = -ENOMEM;
		goto err_stop;
	}
	l->nr_threads = nr_threads;

	/*
	 * Workers take no signals: they are created before the main thread
	 * blocks SIGINT/SIGTERM/SIGHUP/SIGWINCH for its signalfd, and SIGUSR1
	 * is how vCPU threads are kicked out of KVM_RUN.
	 */
	for (i = 0; i < nr_threads; i++) {
		err = lkvm_thread_create(&l->threads[i], worker, l);
		if (err)
			break;
		l->started++;
	}
	if (l->started < nr_threads) {
		ioloop_destroy(l);
		return err;
	}
	return 0;

err_stop:
	close(l->stop_fd);
	l->stop_fd = -1;
err_epfd:
	close(l->epfd);
	l->epfd = -1;
err_lock:
	pthread_mutex_destroy(&l->lock);
	return err;
}

void ioloop_destroy(struct ioloop *l)
{
	uint64_t one = 1;
	unsigned int i, n;

	if (!l->threads)
		return;
	if (l->started && write(l->stop_fd, &one, sizeof(one)) < 0)
		pr_err("ioloop: cannot stop worker threads: %s",
		       strerror(errno));
	for (i = 0; i < l->started; i++)
		pthread_join(l->threads[i], NULL);
	/* Leftover watches are a bug, but their owners may have freed them
	 * already: count them, don't look inside. */
	for (i = 0, n = 0; i < l->nr_slots; i++)
		n += l->slots[i] != NULL;
	if (n)
		pr_warn("ioloop: %u watches still registered at exit", n);
	free(l->threads);
	free(l->slots);
	close(l->stop_fd);
	close(l->epfd);
	pthread_mutex_destroy(&l->lock);
	memset(l, 0, sizeof(*l));
	l->epfd = -1;
	l->stop_fd = -1;
}

/* A free slot index, growing the table; call with l->lock held. */
static int alloc_slot(struct ioloop *l, struct io_watch *w)
{
	struct io_watch **slots;
	unsigned int i, n;

	for (i = 0; i < l->nr_slots; i++) {
		if (!l->slots[i]) {
			l->slots[i] = w;
			return (int)i;
		}
	}
	n = l->nr_slots ? l->nr_slots * 2 : 16;
	slots = realloc(l->slots, n * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots + l->nr_slots, 0, (n - l->nr_slots) * sizeof(*slots));
	i = l->nr_slots;
	l->slots = slots;
	l->nr_slots = n;
	l->slots[i] = w;
	return (int)i;
}

int ioloop_watch_add(struct ioloop *l, struct io_watch *w, int fd,
		     io_watch_fn fn, void *opaque, const char *name)
{
	int slot, err;

	memset(w, 0, sizeof(*w));
	w->loop = l;
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	w->name = name;
	err = lkvm_lock_cond_init(&w->lock, &w->idle);
	if (err)
		return err;

	pthread_mutex_lock(&l->lock);
	slot = alloc_slot(l, w);
	if (slot < 0) {
		err = slot;
		goto err_unlock;
	}
	w->slot = (unsigned int)slot;
	w->added = true;
	err = arm(w, EPOLL_CTL_ADD);
	if (err) {
		l->slots[slot] = NULL;
		w->added = false;
		goto err_unlock;
	}
	pthread_mutex_unlock(&l->lock);
	return 0;

err_unlock:
	pthread_mutex_unlock(&l->lock);
	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->lock);
	return err;
}

void ioloop_watch_del(struct io_watch *w)
{
	struct ioloop *l = w->loop;

	if (!l || !w->added)
		return;
	pthread_mutex_lock(&l->lock);
	l->slots[w->slot] = NULL; /* from now on no worker can claim @w */
	/* added = false and the DEL under w->lock: a finishing handler
	 * re-arms either before the DEL or not at all. */
	pthread_mutex_lock(&w->lock);
	w->added = false;
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL) < 0)
		pr_warn("%s: epoll_ctl(DEL): %s", w->name ? w->name : "ioloop",
			strerror(errno));
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&l->lock);

	pthread_mutex_lock(&w->lock);
	while (w->running)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);

	pthread_cond_destroy(&w->idle);
	pthread_mutex_destroy(&w->lock);
	w->loop = NULL;
}

void ioloop_watch_pause(struct io_watch *w)
{
	if (!w->added)
		return;
	pthread_mutex_lock(&w->lock);
	w->paused = true;
	while (w->running)
		pthread_cond_wait(&w->idle, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void ioloop_watch_park(struct io_watch *w)
{
	if (!w->added)
		return;
	/* We are the running thread: finish() sees paused, leaves the fd
	 * disarmed and notes pending, so a resume re-arms it. */
	pthread_mutex_lock(&w->lock);
	w->paused = true;
	pthread_mutex_unlock(&w->lock);
}

void ioloop_watch_resume(struct io_watch *w)
{
	if (!w->added)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->paused) {
		w->paused = false;
		/* A worker dropped an event or left the watch disarmed while
		 * paused: re-arm, and the kernel re-reports a readable fd. */
		if (w->pending && w->added) {
			w->pending = false;
			rearm(w);
		}
	}
	pthread_mutex_unlock(&w->lock);
}

void ioloop_watch_kick(struct io_watch *w)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is saturated: already readable. */
	if (write(w->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: cannot kick: %s", w->name ? w->name : "ioloop",
			strerror(errno));
}
