// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace PLIC (riscv-plic-spec 1.0.0, SiFive register layout).
 *
 * Every source sits behind a level-triggered gateway: a high line becomes
 * one pending request; the gateway then waits for the guest's completion
 * before forwarding the line again.  A line that drops before the guest
 * claims it withdraws its request, as real level-triggered wiring does, so
 * the guest never claims an interrupt whose device has nothing to say.
 *
 * Invariant (under p->lock): a source whose line is high is pending or in
 * flight.  The state of the gateways and of the PLIC core is all in the
 * bitmaps of struct plic; the output of every context is recomputed from
 * them after each change and notify() is told only of real changes.
 */
#include "arch/plic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PLIC_PRIORITY_MASK 0x7u
#define PLIC_PENDING_END (PLIC_PENDING_BASE + 4 * (PLIC_MAX_SOURCES / 32))
#define PLIC_ENABLE_END \
	(PLIC_ENABLE_BASE + (uint64_t)PLIC_ENABLE_STRIDE * PLIC_MAX_CONTEXTS)

static inline uint32_t src_bit(unsigned int src)
{
	return 1u << (src % 32);
}

static inline bool bitmap_test(const uint32_t *map, unsigned int src)
{
	return map[src / 32] & src_bit(src);
}

static inline void bitmap_set(uint32_t *map, unsigned int src)
{
	map[src / 32] |= src_bit(src);
}

static inline void bitmap_clear(uint32_t *map, unsigned int src)
{
	map[src / 32] &= ~src_bit(src);
}

static inline uint32_t *ctx_enable(const struct plic *p, unsigned int ctx)
{
	return p->enable + (size_t)ctx * p->nr_words;
}

/* Bits of bitmap word @word that name existing sources (source 0 doesn't). */
static uint32_t valid_bits(const struct plic *p, unsigned int word)
{
	unsigned int first = word * 32;
	uint32_t mask = ~0u;

	if (first + 32 > p->nr_sources)
		mask = (1u << (p->nr_sources - first)) - 1;
	if (word == 0)
		mask &= ~1u;
	return mask;
}

/*
 * The pending, enabled source of @ctx with the highest priority above
 * @floor; ties go to the lowest id, as the spec orders them.  0 if none.
 */
static unsigned int best_source(const struct plic *p, unsigned int ctx,
				unsigned int floor)
{
	const uint32_t *en = ctx_enable(p, ctx);
	unsigned int best = 0, best_prio = floor;
	unsigned int w;

	for (w = 0; w < p->nr_words; w++) {
		uint32_t bits = p->pending[w] & en[w];

		while (bits) {
			unsigned int src = w * 32 + __builtin_ctz(bits);

			bits &= bits - 1;
			if (p->priority[src] > best_prio) {
				best = src;
				best_prio = p->priority[src];
				if (best_prio == PLIC_MAX_PRIORITY)
					return best;
			}
		}
	}
	return best;
}

/* Called with p->lock held, after anything that may change @ctx's output. */
static void update_ctx(struct plic *p, unsigned int ctx)
{
	bool level = best_source(p, ctx, p->threshold[ctx]) != 0;

	if (level == p->output[ctx])
		return;
	p->output[ctx] = level;
	if (p->notify)
		p->notify(p->opaque, ctx, level);
}

/* A change to @src (pending or priority) only matters where it's enabled. */
static void update_src(struct plic *p, unsigned int src)
{
	unsigned int ctx;

	for (ctx = 0; ctx < p->nr_contexts; ctx++)
		if (bitmap_test(ctx_enable(p, ctx), src))
			update_ctx(p, ctx);
}

uint64_t plic_mmio_size(unsigned int nr_contexts)
{
	return PLIC_CONTEXT_BASE + (uint64_t)nr_contexts * PLIC_CONTEXT_STRIDE;
}

/* Free the state arrays (any of them may be NULL) and forget everything. */
static void free_arrays(struct plic *p)
{
	free(p->output);
	free(p->threshold);
	free(p->enable);
	free(p->in_flight);
	free(p->pending);
	free(p->level);
	free(p->priority);
	memset(p, 0, sizeof(*p));
}

int plic_init(struct plic *p, unsigned int nr_sources, unsigned int nr_contexts,
	      plic_notify_fn notify, void *opaque)
{
	int err;

	memset(p, 0, sizeof(*p));
	if (nr_sources < 2 || nr_sources > PLIC_MAX_SOURCES ||
	    nr_contexts < 1 || nr_contexts > PLIC_MAX_CONTEXTS)
		return -EINVAL;

	p->nr_sources = nr_sources;
	p->nr_contexts = nr_contexts;
	p->nr_words = (nr_sources + 31) / 32;
	p->notify = notify;
	p->opaque = opaque;

	p->priority = calloc(nr_sources, sizeof(*p->priority));
	p->level = calloc(p->nr_words, sizeof(*p->level));
	p->pending = calloc(p->nr_words, sizeof(*p->pending));
	p->in_flight = calloc(p->nr_words, sizeof(*p->in_flight));
	p->enable = calloc((size_t)nr_contexts * p->nr_words,
			   sizeof(*p->enable));
	p->threshold = calloc(nr_contexts, sizeof(*p->threshold));
	p->output = calloc(nr_contexts, sizeof(*p->output));
	if (!p->priority || !p->level || !p->pending || !p->in_flight ||
	    !p->enable || !p->threshold || !p->output) {
		free_arrays(p);
		return -ENOMEM;
	}
	err = -pthread_mutex_init(&p->lock, NULL);
	if (err) {
		free_arrays(p);
		return err;
	}
	return 0;
}

void plic_destroy(struct plic *p)
{
	pthread_mutex_destroy(&p->lock);
	free_arrays(p);
}

void plic_set_level(struct plic *p, unsigned int src, bool level)
{
	if (src == 0 || src >= p->nr_sources)
		return;

	pthread_mutex_lock(&p->lock);
	if (level) {
		bitmap_set(p->level, src);
		/* One request at a time: the gateway waits for completion. */
		if (!bitmap_test(p->pending, src) &&
		    !bitmap_test(p->in_flight, src)) {
			bitmap_set(p->pending, src);
			update_src(p, src);
		}
	} else {
		bitmap_clear(p->level, src);
		/* Unclaimed request of a line that dropped: withdraw it. */
		if (bitmap_test(p->pending, src)) {
			bitmap_clear(p->pending, src);
			update_src(p, src);
		}
	}
	pthread_mutex_unlock(&p->lock);
}

/*
 * Claim ignores the threshold (spec 1.0.0: a hart may raise its threshold to
 * the maximum and poll by claiming), but priority 0 still means "never".
 */
static uint32_t plic_claim(struct plic *p, unsigned int ctx)
{
	unsigned int src = best_source(p, ctx, 0);

	if (!src)
		return 0;
	bitmap_clear(p->pending, src);
	bitmap_set(p->in_flight, src);
	update_src(p, src);
	return src;
}

static void plic_complete(struct plic *p, unsigned int ctx, uint32_t src)
{
	/* The spec ignores ids that aren't enabled for the completing context. */
	if (src == 0 || src >= p->nr_sources ||
	    !bitmap_test(ctx_enable(p, ctx), src))
		return;
	if (!bitmap_test(p->in_flight, src))
		return;
	bitmap_clear(p->in_flight, src);
	/* The gateway forwards a line that's still high as a new request. */
	if (bitmap_test(p->level, src)) {
		bitmap_set(p->pending, src);
		update_src(p, src);
	}
}

static uint32_t plic_read(struct plic *p, uint64_t off)
{
	unsigned int ctx, word;

	if (off < PLIC_PENDING_BASE) {
		unsigned int src = off / 4;

		return src < p->nr_sources ? p->priority[src] : 0;
	}
	if (off < PLIC_PENDING_END) {
		word = (off - PLIC_PENDING_BASE) / 4;
		return word < p->nr_words ? p->pending[word] : 0;
	}
	if (off >= PLIC_ENABLE_BASE && off < PLIC_ENABLE_END) {
		ctx = (off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
		word = (off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4;
		if (ctx >= p->nr_contexts || word >= p->nr_words)
			return 0;
		return ctx_enable(p, ctx)[word];
	}
	if (off >= PLIC_CONTEXT_BASE) {
		uint64_t c = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;

		if (c >= p->nr_contexts)
			return 0;
		ctx = c;
		switch ((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE) {
		case PLIC_CONTEXT_THRESHOLD:
			return p->threshold[ctx];
		case PLIC_CONTEXT_CLAIM:
			return plic_claim(p, ctx);
		}
	}
	return 0;
}

static void plic_write(struct plic *p, uint64_t off, uint32_t val)
{
	unsigned int ctx, word;

	if (off < PLIC_PENDING_BASE) {
		unsigned int src = off / 4;

		/* WARL: only the bits of priorities 0..7 are implemented. */
		if (src == 0 || src >= p->nr_sources)
			return;
		p->priority[src] = val & PLIC_PRIORITY_MASK;
		update_src(p, src);
		return;
	}
	/* The pending bits are read-only: only the gateways set them. */
	if (off >= PLIC_ENABLE_BASE && off < PLIC_ENABLE_END) {
		ctx = (off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE;
		word = (off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4;
		if (ctx >= p->nr_contexts || word >= p->nr_words)
			return;
		ctx_enable(p, ctx)[word] = val & valid_bits(p, word);
		update_ctx(p, ctx);
		return;
	}
	if (off >= PLIC_CONTEXT_BASE) {
		uint64_t c = (off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE;

		if (c >= p->nr_contexts)
			return;
		ctx = c;
		switch ((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE) {
		case PLIC_CONTEXT_THRESHOLD:
			p->threshold[ctx] = val & PLIC_PRIORITY_MASK;
			update_ctx(p, ctx);
			break;
		case PLIC_CONTEXT_CLAIM:
			plic_complete(p, ctx, val);
			break;
		}
	}
}

void plic_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write)
{
	struct plic *p = opaque;
	uint32_t val;

	/* Every register is a naturally aligned word; anything else is inert. */
	if (len != 4 || (off & 3)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}

	pthread_mutex_lock(&p->lock);
	if (is_write) {
		/* The guest is little-endian whatever the host is. */
		val = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		      (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
		plic_write(p, off, val);
	} else {
		val = plic_read(p, off);
		data[0] = val;
		data[1] = val >> 8;
		data[2] = val >> 16;
		data[3] = val >> 24;
	}
	pthread_mutex_unlock(&p->lock);
}
