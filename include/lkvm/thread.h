/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_THREAD_H
#define LKVM_THREAD_H

#include <pthread.h>
#include <stdint.h>

/*
 * lkvm's threads and privileges.
 *
 * Capabilities (and no_new_privs) belong to a thread, not to the process:
 * capset() in the main thread leaves every thread started earlier with full
 * root capabilities.  So the privileges lkvm keeps are decided once, before
 * any thread exists (lkvm_privs_plan), and every thread applies them itself
 * (worker threads at birth through lkvm_thread_create, the main thread when
 * setup is done through lkvm_privs_drop).
 */

/* Keep only the capabilities in @keep_mask (bits 1 << CAP_*) from now on,
 * and set no_new_privs on the calling thread (inherited by its threads).
 * Process-wide: a process runs one VM. */
int lkvm_privs_plan(uint64_t keep_mask);
/* Drop the calling thread's capabilities to the plan (nothing to do
 * without a plan or without capabilities).  0 or -errno. */
int lkvm_privs_drop(void);

/*
 * pthread_create() for lkvm's worker threads: the new thread starts with
 * every signal blocked (stop signals are for the main thread's signalfd)
 * and with its capabilities already dropped to the plan.
 */
int lkvm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

/* pthread_mutex_init() and pthread_cond_init() (default attributes) of a
 * lock and a condition waited for under it: 0, or -errno with neither
 * initialised. */
int lkvm_lock_cond_init(pthread_mutex_t *lock, pthread_cond_t *cond);

#endif
