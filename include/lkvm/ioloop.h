/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_IOLOOP_H
#define LKVM_IOLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Device worker threads: an epoll set shared by a small pool of threads.
 *
 * Every watched fd (a queue's ioeventfd, a backend's completion eventfd) is
 * armed EPOLLIN|EPOLLONESHOT, so once one thread picks it up no other thread
 * sees it until its handler has returned and it is re-armed: one queue is
 * never processed by two threads at once, without a lock on the fast path.
 * Handlers do a bounded batch of work and, if more is left, call
 * ioloop_watch_kick() on themselves, so a busy device goes to the back of
 * the line instead of starving the others.
 */

struct ioloop;
struct io_watch;

/* Called on a worker thread when @w's fd is readable (the fd is not read:
 * handlers drain their own eventfds). */
typedef void (*io_watch_fn)(struct io_watch *w);

struct io_watch {
	struct ioloop *loop;
	int fd;
	io_watch_fn fn;
	void *opaque;
	const char *name;

	/* Private to ioloop.c. */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	bool running;  /* a thread is inside fn */
	bool paused;   /* ioloop_watch_pause(): not re-armed until resumed */
	bool pending;  /* fired while paused */
	bool added;
	unsigned int slot; /* index in loop->slots: the epoll event's key */
};

struct ioloop {
	int epfd;
	int stop_fd;   /* eventfd that wakes every thread to exit */
	unsigned int nr_threads;
	pthread_t *threads;
	unsigned int started;

	/* Private to ioloop.c.  Events carry a slot index, not a pointer: a
	 * worker looks the watch up under @lock, so an event fetched just
	 * before ioloop_watch_del() cleared the slot is recognised as stale
	 * instead of touching a freed watch. */
	pthread_mutex_t lock;
	struct io_watch **slots;
	unsigned int nr_slots;
};

/* Create the epoll set and start @nr_threads workers (>= 1). */
int ioloop_init(struct ioloop *l, unsigned int nr_threads);
/* Stop and join the workers; every watch must have been removed. */
void ioloop_destroy(struct ioloop *l);

/* Start watching @fd (typically an eventfd).  @w must stay alive until
 * ioloop_watch_del() returns. */
int ioloop_watch_add(struct ioloop *l, struct io_watch *w, int fd,
		     io_watch_fn fn, void *opaque, const char *name);
/* Stop watching; waits until no thread is running @w's handler. */
void ioloop_watch_del(struct io_watch *w);

/*
 * Quiesce a watch: on return its handler is not running and will not run
 * again until ioloop_watch_resume() (events that arrive meanwhile are
 * remembered and delivered on resume).  Used by device reset.
 * Must not be called from @w's own handler.
 */
void ioloop_watch_pause(struct io_watch *w);
void ioloop_watch_resume(struct io_watch *w);
/*
 * From @w's own handler: stop watching once the handler returns, as
 * ioloop_watch_pause() would, without waiting for itself.  For a handler
 * that cannot make progress although its fd stays readable (a network
 * backend with frames waiting while the guest posts no buffers): it parks
 * instead of spinning, and whoever makes progress possible calls
 * ioloop_watch_resume(), which re-arms it.  To close the race with a resume
 * that came before the park, the handler re-checks its condition after
 * parking and, if it changed, resumes itself (allowed from the handler).
 */
void ioloop_watch_park(struct io_watch *w);

/* Make @w's handler run again soon (writes its eventfd). */
void ioloop_watch_kick(struct io_watch *w);

#endif
