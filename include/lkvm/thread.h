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

/*
 * The attributes of every lkvm thread (workers, vCPUs, the console reader):
 * LKVM_THREAD_STACK bytes of stack instead of RLIMIT_STACK's 8 MiB.  Below
 * 2 MiB no transparent huge page can back a stack, where one would make
 * 2 MiB resident for the few KiB a thread touches.  lkvm's biggest frame is
 * 16 KiB (gcc -fstack-usage) and no thread's path recurses; libslirp's and
 * libc's calls take a few KiB more.
 */
#define LKVM_THREAD_STACK (1024 * 1024)
const pthread_attr_t *lkvm_thread_attr(void);

/* pthread_mutex_init() and pthread_cond_init() (default attributes) of a
 * lock and a condition waited for under it: 0, or -errno with neither
 * initialised. */
int lkvm_lock_cond_init(pthread_mutex_t *lock, pthread_cond_t *cond);

#endif
