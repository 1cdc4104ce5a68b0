/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_RISCV_PLIC_H
#define LKVM_RISCV_PLIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * A platform-level interrupt controller with SiFive PLIC semantics
 * (riscv-plic-spec 1.0.0), emulated in userspace: per-source priority
 * (0 = never interrupts), pending bits, per-context enable bits and
 * priority threshold, claim/complete.  Every source is level-triggered: its
 * gateway forwards a request while the line is high and no request of that
 * source is in flight; after complete, a line still high is pending again.
 *
 * Register map (offsets in the PLIC window):
 *   0x000000 + 4*src         priority of source src (src 0 reserved)
 *   0x001000 + 4*(src/32)    pending bits (read-only)
 *   0x002000 + 0x80*ctx      enable bits of context ctx, 32 sources a word
 *   0x200000 + 0x1000*ctx    threshold of context ctx
 *   0x200004 + 0x1000*ctx    claim (read) / complete (write) of context ctx
 * Only aligned 32-bit accesses do anything; others read 0 and are ignored.
 *
 * lkvm gives every hart one context, its S-mode one (context n = hart n).
 * Thread-safe: vCPU threads (MMIO) and device worker threads
 * (plic_set_level) may call in concurrently; @notify is called with the
 * PLIC's lock held, only when a context's output actually changes.
 */
#define PLIC_MAX_SOURCES 1024 /* including the reserved source 0 */
#define PLIC_MAX_CONTEXTS 15872
#define PLIC_MAX_PRIORITY 7

#define PLIC_PRIORITY_BASE 0x0
#define PLIC_PENDING_BASE 0x1000
#define PLIC_ENABLE_BASE 0x2000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT_BASE 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000
#define PLIC_CONTEXT_THRESHOLD 0x0
#define PLIC_CONTEXT_CLAIM 0x4

/* Raise (@level true) or lower the external interrupt of context @ctx. */
typedef void (*plic_notify_fn)(void *opaque, unsigned int ctx, bool level);

struct plic {
	pthread_mutex_t lock;
	unsigned int nr_sources;  /* sources 1..nr_sources-1 exist */
	unsigned int nr_contexts;
	unsigned int nr_words;    /* 32-bit words of a source bitmap */
	uint8_t *priority;        /* [nr_sources] */
	uint32_t *level;          /* line levels, bitmap */
	uint32_t *pending;        /* gateway requests not yet claimed, bitmap */
	uint32_t *in_flight;      /* claimed, not yet completed, bitmap */
	uint32_t *enable;         /* [nr_contexts][nr_words] */
	uint8_t *threshold;       /* [nr_contexts] */
	bool *output;             /* [nr_contexts]: last level sent to notify */
	plic_notify_fn notify;
	void *opaque;
};

/* 0 or -EINVAL (bad sizes) / -ENOMEM; everything starts at 0 (masked). */
int plic_init(struct plic *p, unsigned int nr_sources, unsigned int nr_contexts,
	      plic_notify_fn notify, void *opaque);
void plic_destroy(struct plic *p);
/* Bytes of guest-physical space the register map of @nr_contexts needs. */
uint64_t plic_mmio_size(unsigned int nr_contexts);
/* Set the level of source @src's line (out-of-range sources are ignored). */
void plic_set_level(struct plic *p, unsigned int src, bool level);
/* Bus handler for the PLIC window (include/lkvm/bus.h's bus_io_fn). */
void plic_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write);

#endif
