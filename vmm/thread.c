// SPDX-License-Identifier: GPL-2.0
/* Worker-thread creation and per-thread privilege dropping; see thread.h. */
#include <cap-ng.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "lkvm/thread.h"
#include "lkvm/util.h"

/* Process-wide by nature (capabilities are process/thread state, not VM
 * state); written once before any worker thread exists. */
static atomic_bool privs_planned;
static uint64_t privs_keep;

int lkvm_privs_plan(uint64_t keep_mask)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	privs_keep = keep_mask;
	atomic_store(&privs_planned, true);
	return 0;
}

int lkvm_privs_drop(void)
{
	unsigned int cap;

	if (!atomic_load(&privs_planned))
		return 0;
	/* libcap-ng keeps its working state per thread. */
	if (capng_get_caps_process() < 0)
		return -EPERM;
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
		return 0;
	capng_clear(CAPNG_SELECT_BOTH);
	for (cap = 0; cap < 64; cap++) {
		if (!(privs_keep & (1ULL << cap)))
			continue;
		if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
				 cap) < 0)
			return -EPERM;
	}
	if (capng_apply(CAPNG_SELECT_BOTH) < 0)
		return -EPERM;
	return 0;
}

struct thread_start {
	void *(*fn)(void *);
	void *arg;
};

static void *thread_trampoline(void *opaque)
{
	struct thread_start st = *(struct thread_start *)opaque;

	free(opaque);
	/* A thread that cannot drop what the plan says must not run with
	 * more: it does nothing rather than work with root's capabilities. */
	if (lkvm_privs_drop()) {
		pr_err("cannot drop a worker thread's capabilities");
		abort();
	}
	return st.fn(st.arg);
}

static pthread_attr_t thread_attr;
static pthread_once_t thread_attr_once = PTHREAD_ONCE_INIT;

static void thread_attr_init(void)
{
	pthread_attr_init(&thread_attr);
	/* On failure (it cannot fail for this size) the default stays. */
	pthread_attr_setstacksize(&thread_attr, LKVM_THREAD_STACK);
}

const pthread_attr_t *lkvm_thread_attr(void)
{
	pthread_once(&thread_attr_once, thread_attr_init);
	return &thread_attr;
}

int lkvm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	struct thread_start *st = malloc(sizeof(*st));
	sigset_t all, old;
	int err;

	if (!st)
		return -ENOMEM;
	st->fn = fn;
	st->arg = arg;
	/* The new thread inherits the creator's mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(thread, lkvm_thread_attr(), thread_trampoline, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		free(st);
	return err;
}

int lkvm_lock_cond_init(pthread_mutex_t *lock, pthread_cond_t *cond)
{
	int err = pthread_mutex_init(lock, NULL);

	if (err)
		return -err;
	err = pthread_cond_init(cond, NULL);
	if (err) {
		pthread_mutex_destroy(lock);
		return -err;
	}
	return 0;
}
