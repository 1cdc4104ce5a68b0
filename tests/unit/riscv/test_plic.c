// SPDX-License-Identifier: GPL-2.0
/*
 * The userspace PLIC (riscv/plic.c), driven only as the guest (plic_mmio)
 * and the devices (plic_set_level) drive it; notify() calls are recorded.
 */
#include <errno.h>
#include <pthread.h>

#include "arch/plic.h"
#include "lkvm/util.h"
#include "test.h"

#define MAX_CTX 16

struct host {
	int calls[MAX_CTX];    /* notify() calls per context */
	bool level[MAX_CTX];   /* last level notified */
	int total;
	int repeats;           /* calls that didn't change the level */
	int bad_ctx;           /* calls for a context that doesn't exist */
};

static struct host host;
static struct plic plic;

/* Called with the PLIC lock held, so no locking of its own is needed. */
static void on_notify(void *opaque, unsigned int ctx, bool level)
{
	struct host *h = opaque;

	h->total++;
	if (ctx >= MAX_CTX || ctx >= plic.nr_contexts) {
		h->bad_ctx++;
		return;
	}
	if (h->level[ctx] == level)
		h->repeats++;
	h->level[ctx] = level;
	h->calls[ctx]++;
}

static bool setup(unsigned int nr_sources, unsigned int nr_contexts)
{
	memset(&host, 0, sizeof(host));
	return plic_init(&plic, nr_sources, nr_contexts, on_notify, &host) == 0;
}

static void teardown(void)
{
	plic_destroy(&plic);
}

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	plic_mmio(&plic, off, b, 4, false);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	plic_mmio(&plic, off, b, 4, true);
}

static uint64_t prio_reg(unsigned int src)
{
	return PLIC_PRIORITY_BASE + 4ull * src;
}

static uint64_t pending_reg(unsigned int src)
{
	return PLIC_PENDING_BASE + 4ull * (src / 32);
}

static uint64_t enable_reg(unsigned int ctx, unsigned int src)
{
	return PLIC_ENABLE_BASE + (uint64_t)PLIC_ENABLE_STRIDE * ctx +
	       4 * (src / 32);
}

static uint64_t ctx_reg(unsigned int ctx, unsigned int reg)
{
	return PLIC_CONTEXT_BASE + (uint64_t)PLIC_CONTEXT_STRIDE * ctx + reg;
}

static void set_prio(unsigned int src, uint32_t v)
{
	wr(prio_reg(src), v);
}

static void set_enable(unsigned int ctx, unsigned int src, bool on)
{
	uint32_t w = rd(enable_reg(ctx, src));

	if (on)
		w |= 1u << (src % 32);
	else
		w &= ~(1u << (src % 32));
	wr(enable_reg(ctx, src), w);
}

static void set_threshold(unsigned int ctx, uint32_t v)
{
	wr(ctx_reg(ctx, PLIC_CONTEXT_THRESHOLD), v);
}

static uint32_t claim(unsigned int ctx)
{
	return rd(ctx_reg(ctx, PLIC_CONTEXT_CLAIM));
}

static void complete(unsigned int ctx, uint32_t id)
{
	wr(ctx_reg(ctx, PLIC_CONTEXT_CLAIM), id);
}

static bool is_pending(unsigned int src)
{
	return rd(pending_reg(src)) & (1u << (src % 32));
}

TEST(init_rejects_bad_sizes)
{
	struct plic p;

	CHECK_EQ(plic_init(&p, 0, 1, on_notify, &host), -EINVAL);
	CHECK_EQ(plic_init(&p, 1, 1, on_notify, &host), -EINVAL);
	CHECK_EQ(plic_init(&p, PLIC_MAX_SOURCES + 1, 1, on_notify, &host),
		 -EINVAL);
	CHECK_EQ(plic_init(&p, 2, 0, on_notify, &host), -EINVAL);
	CHECK_EQ(plic_init(&p, 2, PLIC_MAX_CONTEXTS + 1, on_notify, &host),
		 -EINVAL);
	CHECK_EQ(plic_init(&p, ~0u, ~0u, on_notify, &host), -EINVAL);

	REQUIRE(plic_init(&p, 2, 1, on_notify, &host) == 0);
	plic_destroy(&p);
	REQUIRE(plic_init(&p, PLIC_MAX_SOURCES, PLIC_MAX_CONTEXTS, NULL,
			  NULL) == 0);
	plic_destroy(&p);
}

TEST(mmio_size)
{
	CHECK_EQ(plic_mmio_size(1), 0x201000);
	CHECK_EQ(plic_mmio_size(2), 0x202000);
	CHECK_EQ(plic_mmio_size(8), 0x208000);
	CHECK_EQ(plic_mmio_size(PLIC_MAX_CONTEXTS), 0x4000000);
	CHECK_EQ(plic_mmio_size(8) % 4096, 0);
}

TEST(reset_state)
{
	unsigned int i;

	REQUIRE(setup(64, 2));
	for (i = 0; i < 64; i++)
		CHECK_EQ(rd(prio_reg(i)), 0);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK_EQ(rd(pending_reg(32)), 0);
	CHECK_EQ(rd(enable_reg(1, 33)), 0);
	CHECK_EQ(rd(ctx_reg(1, PLIC_CONTEXT_THRESHOLD)), 0);
	CHECK_EQ(claim(0), 0);
	CHECK_EQ(claim(1), 0);
	/* Everything masked: a high line is pending but interrupts nobody. */
	plic_set_level(&plic, 5, true);
	CHECK(is_pending(5));
	CHECK_EQ(claim(0), 0);
	CHECK_EQ(host.total, 0);
	teardown();
}

TEST(priority_is_warl_3_bits)
{
	REQUIRE(setup(64, 1));
	set_prio(1, 0xffffffff);
	CHECK_EQ(rd(prio_reg(1)), 7);
	set_prio(2, 0x12);
	CHECK_EQ(rd(prio_reg(2)), 2);
	set_prio(63, 5);
	CHECK_EQ(rd(prio_reg(63)), 5);
	/* Source 0 is reserved, sources past the last don't exist. */
	set_prio(0, 7);
	CHECK_EQ(rd(prio_reg(0)), 0);
	set_prio(64, 7);
	CHECK_EQ(rd(prio_reg(64)), 0);
	set_prio(1023, 7);
	CHECK_EQ(rd(prio_reg(1023)), 0);
	teardown();
}

TEST(threshold_gates_output)
{
	REQUIRE(setup(32, 1));
	set_prio(4, 3);
	set_enable(0, 4, true);
	set_threshold(0, 3);
	CHECK_EQ(rd(ctx_reg(0, PLIC_CONTEXT_THRESHOLD)), 3);
	plic_set_level(&plic, 4, true);
	/* Equal to the threshold does not interrupt. */
	CHECK_EQ(host.total, 0);
	CHECK(!host.level[0]);
	set_threshold(0, 2);
	CHECK_EQ(host.calls[0], 1);
	CHECK(host.level[0]);
	set_threshold(0, 7);
	CHECK_EQ(host.calls[0], 2);
	CHECK(!host.level[0]);
	set_prio(4, 7);		/* 7 > 7 is false: still quiet */
	CHECK_EQ(host.calls[0], 2);
	set_threshold(0, 0xfffffff9);
	CHECK_EQ(rd(ctx_reg(0, PLIC_CONTEXT_THRESHOLD)), 1);
	CHECK(host.level[0]);
	/* Claims aren't gated by the threshold (spec: a hart may poll). */
	set_threshold(0, 7);
	CHECK(!host.level[0]);
	CHECK_EQ(claim(0), 4);
	teardown();
}

TEST(priority_zero_never_interrupts)
{
	REQUIRE(setup(32, 1));
	set_enable(0, 3, true);
	plic_set_level(&plic, 3, true);
	CHECK(is_pending(3));
	CHECK_EQ(host.total, 0);
	CHECK_EQ(claim(0), 0);
	CHECK(is_pending(3));
	/* Giving it a priority makes the waiting request visible. */
	set_prio(3, 1);
	CHECK_EQ(host.calls[0], 1);
	CHECK(host.level[0]);
	set_prio(3, 0);
	CHECK_EQ(host.calls[0], 2);
	CHECK(!host.level[0]);
	teardown();
}

TEST(claim_highest_priority_ties_to_lowest_id)
{
	static const struct { unsigned int src, prio; } s[] = {
		{ 3, 1 }, { 5, 2 }, { 12, 5 }, { 9, 5 }, { 40, 5 }, { 33, 6 },
	};
	static const uint32_t order[] = { 33, 9, 12, 40, 5, 3 };
	unsigned int i;

	REQUIRE(setup(64, 1));
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		set_prio(s[i].src, s[i].prio);
		set_enable(0, s[i].src, true);
		plic_set_level(&plic, s[i].src, true);
	}
	CHECK(host.level[0]);
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		CHECK_EQ(claim(0), order[i]);
		CHECK(!is_pending(order[i]));
	}
	/* Everything in flight: no output, nothing more to claim. */
	CHECK(!host.level[0]);
	CHECK_EQ(claim(0), 0);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK_EQ(rd(pending_reg(32)), 0);
	teardown();
}

TEST(claim_clears_pending)
{
	REQUIRE(setup(32, 1));
	set_prio(7, 1);
	set_prio(8, 1);
	set_enable(0, 7, true);
	set_enable(0, 8, true);
	plic_set_level(&plic, 7, true);
	plic_set_level(&plic, 8, true);
	CHECK_EQ(rd(pending_reg(0)), (1u << 7) | (1u << 8));
	CHECK_EQ(claim(0), 7);
	CHECK_EQ(rd(pending_reg(0)), 1u << 8);
	CHECK(host.level[0]);	/* 8 still waits */
	CHECK_EQ(claim(0), 8);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK(!host.level[0]);
	CHECK_EQ(claim(0), 0);
	/* A line still high while in flight doesn't pend a second request. */
	plic_set_level(&plic, 7, true);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK_EQ(claim(0), 0);
	teardown();
}

TEST(complete_repends_high_line_only)
{
	REQUIRE(setup(32, 1));
	set_prio(2, 1);
	set_prio(3, 1);
	set_enable(0, 2, true);
	set_enable(0, 3, true);
	plic_set_level(&plic, 2, true);
	plic_set_level(&plic, 3, true);
	CHECK_EQ(claim(0), 2);
	CHECK_EQ(claim(0), 3);
	CHECK(!host.level[0]);

	/* Line 2 is still high: its gateway forwards it again. */
	complete(0, 2);
	CHECK(is_pending(2));
	CHECK(host.level[0]);
	CHECK_EQ(claim(0), 2);
	CHECK(!host.level[0]);

	/* Line 3 was serviced (dropped) before the completion. */
	plic_set_level(&plic, 3, false);
	complete(0, 3);
	CHECK(!is_pending(3));
	CHECK(!host.level[0]);
	CHECK_EQ(claim(0), 0);

	/* A completed, low line interrupts again when it rises. */
	plic_set_level(&plic, 3, true);
	CHECK(host.level[0]);
	CHECK_EQ(claim(0), 3);
	complete(0, 3);		/* still high: pending again */
	CHECK(is_pending(3));
	teardown();
}

TEST(complete_of_disabled_or_bad_id_ignored)
{
	REQUIRE(setup(32, 2));
	set_prio(5, 1);
	set_enable(0, 5, true);
	plic_set_level(&plic, 5, true);
	CHECK_EQ(claim(0), 5);

	/* Context 1 doesn't enable 5: its completion is ignored. */
	complete(1, 5);
	CHECK(!is_pending(5));
	/* Neither does context 0 once it masks 5. */
	set_enable(0, 5, false);
	complete(0, 5);
	CHECK(!is_pending(5));
	/* Out-of-range ids. */
	complete(0, 0);
	complete(0, 32);
	complete(0, 1023);
	complete(0, 0xffffffff);
	CHECK(!is_pending(5));
	CHECK_EQ(rd(pending_reg(0)), 0);

	/* The completion that counts ends the in-flight state. */
	set_enable(0, 5, true);
	complete(0, 5);
	CHECK(is_pending(5));
	CHECK(host.level[0]);
	/* A stray second completion changes nothing. */
	complete(0, 5);
	CHECK(is_pending(5));
	CHECK_EQ(claim(0), 5);
	CHECK(!is_pending(5));
	teardown();
}

TEST(enable_bits_mask_and_unmask)
{
	REQUIRE(setup(64, 1));
	set_prio(40, 2);
	plic_set_level(&plic, 40, true);
	CHECK_EQ(host.total, 0);
	CHECK_EQ(claim(0), 0);		/* not enabled: not claimable */
	CHECK(is_pending(40));

	set_enable(0, 40, true);
	CHECK_EQ(rd(enable_reg(0, 40)), 1u << 8);
	CHECK_EQ(host.calls[0], 1);
	CHECK(host.level[0]);
	set_enable(0, 40, false);
	CHECK_EQ(host.calls[0], 2);
	CHECK(!host.level[0]);
	CHECK(is_pending(40));		/* masking doesn't lose the request */
	set_enable(0, 40, true);
	CHECK_EQ(host.calls[0], 3);
	CHECK(host.level[0]);
	CHECK_EQ(claim(0), 40);
	CHECK(!host.level[0]);
	teardown();
}

TEST(pending_is_read_only)
{
	REQUIRE(setup(64, 1));
	set_prio(1, 1);
	set_prio(33, 1);
	set_enable(0, 1, true);
	set_enable(0, 33, true);
	wr(pending_reg(0), 0xffffffff);
	wr(pending_reg(32), 0xffffffff);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK_EQ(rd(pending_reg(32)), 0);
	CHECK_EQ(host.total, 0);
	CHECK_EQ(claim(0), 0);

	plic_set_level(&plic, 33, true);
	CHECK_EQ(rd(pending_reg(32)), 1u << 1);
	wr(pending_reg(32), 0);
	CHECK_EQ(rd(pending_reg(32)), 1u << 1);
	CHECK(host.level[0]);
	/* Words past the last source read 0. */
	CHECK_EQ(rd(pending_reg(64)), 0);
	CHECK_EQ(rd(pending_reg(1023)), 0);
	teardown();
}

TEST(level_drop_before_claim_withdraws)
{
	REQUIRE(setup(32, 1));
	set_prio(6, 4);
	set_enable(0, 6, true);
	plic_set_level(&plic, 6, true);
	CHECK(is_pending(6));
	CHECK(host.level[0]);
	plic_set_level(&plic, 6, false);
	CHECK(!is_pending(6));
	CHECK(!host.level[0]);
	CHECK_EQ(host.calls[0], 2);
	CHECK_EQ(claim(0), 0);		/* no spurious interrupt */

	/* Dropping while in flight: completion doesn't re-pend. */
	plic_set_level(&plic, 6, true);
	CHECK_EQ(claim(0), 6);
	plic_set_level(&plic, 6, false);
	complete(0, 6);
	CHECK(!is_pending(6));
	CHECK_EQ(claim(0), 0);
	/* Repeated levels are idempotent. */
	plic_set_level(&plic, 6, false);
	plic_set_level(&plic, 6, true);
	plic_set_level(&plic, 6, true);
	CHECK_EQ(rd(pending_reg(0)), 1u << 6);
	CHECK_EQ(claim(0), 6);
	CHECK_EQ(claim(0), 0);
	teardown();
}

TEST(many_sources)
{
	unsigned int src, n = 0, last_prio = 8, last_src = 0;
	uint32_t id;

	REQUIRE(setup(PLIC_MAX_SOURCES, 1));
	for (src = 0; src < PLIC_MAX_SOURCES; src += 32)
		wr(enable_reg(0, src), 0xffffffff);
	CHECK_EQ(rd(enable_reg(0, 0)), 0xfffffffe);	/* source 0 */
	CHECK_EQ(rd(enable_reg(0, 1023)), 0xffffffff);
	for (src = 1; src < PLIC_MAX_SOURCES; src++) {
		set_prio(src, 1 + src % 7);
		plic_set_level(&plic, src, true);
	}
	CHECK_EQ(host.calls[0], 1);
	CHECK_EQ(rd(pending_reg(0)), 0xfffffffe);
	CHECK_EQ(rd(pending_reg(1023)), 0xffffffff);

	/* Drain: priorities descend, ids ascend within a priority. */
	while ((id = claim(0)) != 0 && n < PLIC_MAX_SOURCES) {
		unsigned int p = 1 + id % 7;

		if (!CHECK(p < last_prio || (p == last_prio && id > last_src)))
			break;
		last_prio = p;
		last_src = id;
		n++;
		plic_set_level(&plic, id, false);
		complete(0, id);
	}
	CHECK_EQ(n, PLIC_MAX_SOURCES - 1);
	CHECK_EQ(last_src, 1022);	/* highest id of priority 1 (id % 7 == 0) */
	CHECK(!host.level[0]);
	CHECK_EQ(host.calls[0], 2);
	for (src = 0; src < PLIC_MAX_SOURCES; src += 32)
		CHECK_EQ(rd(pending_reg(src)), 0);
	teardown();
}

TEST(many_contexts_route)
{
	unsigned int ctx, src;

	REQUIRE(setup(128, 8));
	/* Hart c takes sources 10c+1 .. 10c+4; source 100 goes to 2 and 5. */
	for (ctx = 0; ctx < 8; ctx++)
		for (src = 10 * ctx + 1; src <= 10 * ctx + 4; src++) {
			set_prio(src, 1);
			set_enable(ctx, src, true);
		}
	set_prio(100, 3);
	set_enable(2, 100, true);
	set_enable(5, 100, true);

	for (ctx = 0; ctx < 8; ctx++) {
		unsigned int other;

		src = 10 * ctx + 3;
		plic_set_level(&plic, src, true);
		CHECK_EQ(host.total, 1);
		CHECK_EQ(host.calls[ctx], 1);
		CHECK(host.level[ctx]);
		for (other = 0; other < 8; other++)
			if (other != ctx)
				CHECK_EQ(claim(other), 0);
		CHECK_EQ(claim(ctx), src);
		CHECK(!host.level[ctx]);
		plic_set_level(&plic, src, false);
		complete(ctx, src);
		CHECK_EQ(host.total, 2);
		memset(&host, 0, sizeof(host));
	}

	/* Shared source: both contexts see it, the first claim wins. */
	plic_set_level(&plic, 100, true);
	CHECK_EQ(host.total, 2);
	CHECK(host.level[2] && host.level[5]);
	CHECK_EQ(claim(5), 100);
	CHECK(!host.level[2] && !host.level[5]);
	CHECK_EQ(claim(2), 0);
	/* Either context may complete it (spec: the id isn't checked). */
	complete(2, 100);
	CHECK(host.level[2] && host.level[5]);
	CHECK_EQ(claim(2), 100);
	CHECK_EQ(host.repeats, 0);
	CHECK_EQ(host.bad_ctx, 0);
	/* Registers of each context are its own. */
	set_threshold(7, 5);
	CHECK_EQ(rd(ctx_reg(7, PLIC_CONTEXT_THRESHOLD)), 5);
	CHECK_EQ(rd(ctx_reg(6, PLIC_CONTEXT_THRESHOLD)), 0);
	CHECK_EQ(rd(enable_reg(3, 0)), 1u << 31);	/* sources 31..34 */
	CHECK_EQ(rd(enable_reg(3, 32)), 0x7);
	teardown();
}

TEST(notify_only_on_change)
{
	REQUIRE(setup(32, 1));
	set_prio(1, 2);
	set_prio(2, 2);
	set_enable(0, 1, true);
	set_enable(0, 2, true);
	CHECK_EQ(host.total, 0);
	plic_set_level(&plic, 1, true);
	CHECK_EQ(host.total, 1);
	plic_set_level(&plic, 1, true);
	plic_set_level(&plic, 2, true);
	set_prio(1, 3);
	set_threshold(0, 1);
	set_enable(0, 3, true);
	CHECK_EQ(host.total, 1);
	CHECK_EQ(claim(0), 1);		/* 2 still pending: output stays high */
	CHECK_EQ(host.total, 1);
	CHECK_EQ(claim(0), 2);
	CHECK_EQ(host.total, 2);
	CHECK(!host.level[0]);
	CHECK_EQ(claim(0), 0);
	complete(0, 1);			/* re-pends 1 (still high) */
	CHECK_EQ(host.total, 3);
	complete(0, 2);			/* re-pends 2: output already high */
	CHECK_EQ(host.total, 3);
	CHECK_EQ(host.repeats, 0);
	teardown();
}

TEST(source_zero_and_missing_sources)
{
	REQUIRE(setup(40, 1));
	wr(enable_reg(0, 0), 0xffffffff);
	CHECK_EQ(rd(enable_reg(0, 0)), 0xfffffffe);
	wr(enable_reg(0, 32), 0xffffffff);
	CHECK_EQ(rd(enable_reg(0, 32)), 0xff);	/* sources 32..39 */
	wr(enable_reg(0, 64), 0xffffffff);
	CHECK_EQ(rd(enable_reg(0, 64)), 0);
	wr(enable_reg(0, 1023), 0xffffffff);
	CHECK_EQ(rd(enable_reg(0, 1023)), 0);

	set_prio(0, 7);
	plic_set_level(&plic, 0, true);
	plic_set_level(&plic, 40, true);
	plic_set_level(&plic, 1000, true);
	plic_set_level(&plic, ~0u, true);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK_EQ(rd(pending_reg(32)), 0);
	CHECK_EQ(claim(0), 0);
	complete(0, 0);
	CHECK_EQ(host.total, 0);

	/* The last real source works. */
	set_prio(39, 1);
	plic_set_level(&plic, 39, true);
	CHECK_EQ(claim(0), 39);
	teardown();
}

TEST(hostile_accesses_are_harmless)
{
	static const uint32_t lens[] = { 0, 1, 2, 3, 5, 8, 16, 64 };
	static const uint64_t offs[] = {
		0x4, 0x1000, 0x2000, 0x200000, 0x200004, 0x201004,
	};
	static const uint64_t holes[] = {
		0x1080, 0x1ffc, 0x2000 + 2 * PLIC_ENABLE_STRIDE,
		0x2000 + (uint64_t)PLIC_ENABLE_STRIDE * PLIC_MAX_CONTEXTS,
		0x1ffffc, 0x200008, 0x200ffc, 0x202000, 0x202004,
		0x3fff004, 0x4000000, 0x4000004, 0xfffffffcull,
		0x100000000ull + 0x200004, 0x7ffffffffffffffcull,
		0xfffffffffffff004ull, 0xfffffffffffffffcull,
	};
	uint8_t buf[64];
	unsigned int i, j, k;

	REQUIRE(setup(32, 2));
	set_prio(1, 1);
	set_enable(0, 1, true);
	plic_set_level(&plic, 1, true);
	CHECK_EQ(host.total, 1);

	/* Wrong sizes read 0 and change nothing (not even a claim). */
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		for (j = 0; j < ARRAY_SIZE(lens); j++) {
			memset(buf, 0xee, sizeof(buf));
			plic_mmio(&plic, offs[i], buf, lens[j], false);
			for (k = 0; k < lens[j]; k++)
				CHECK_EQ(buf[k], 0);
			CHECK_EQ(buf[lens[j] < 64 ? lens[j] : 63],
				 lens[j] < 64 ? 0xee : 0);
			memset(buf, 0xff, sizeof(buf));
			plic_mmio(&plic, offs[i], buf, lens[j], true);
		}
	/* Unaligned words, in every register block. */
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		for (k = 1; k < 4; k++) {
			CHECK_EQ(rd(offs[i] + k), 0);
			wr(offs[i] + k, 0xffffffff);
		}
	CHECK_EQ(rd(prio_reg(1)), 1);
	CHECK_EQ(rd(enable_reg(0, 0)), 1u << 1);
	CHECK_EQ(rd(enable_reg(1, 0)), 0);
	CHECK_EQ(rd(ctx_reg(0, PLIC_CONTEXT_THRESHOLD)), 0);
	CHECK(is_pending(1));
	CHECK_EQ(host.total, 1);

	/* Holes, contexts that don't exist, huge offsets. */
	for (i = 0; i < ARRAY_SIZE(holes); i++) {
		CHECK_EQ(rd(holes[i]), 0);
		wr(holes[i], 0xffffffff);
		wr(holes[i], 1);
		CHECK_EQ(rd(holes[i]), 0);
		memset(buf, 0xee, sizeof(buf));
		plic_mmio(&plic, holes[i] + 3, buf, 8, false);
		CHECK_EQ(buf[0], 0);
	}
	CHECK(is_pending(1));
	CHECK_EQ(rd(prio_reg(1)), 1);
	CHECK_EQ(host.total, 1);
	CHECK_EQ(host.bad_ctx, 0);
	CHECK_EQ(claim(0), 1);
	teardown();
}

/* --- Concurrency: device threads toggle lines while a hart claims. --- */

#define CONC_SOURCES 64
#define CONC_DEVICES 4
#define CONC_ROUNDS 20000

struct conc {
	unsigned int seed;
	unsigned int first;	/* this device thread owns first..first+15 */
};

static bool conc_stop;
static unsigned int conc_claimed[CONC_SOURCES];
static unsigned int conc_bad_id;
static unsigned int conc_race_claims;	/* claims while the lines toggled */

static void *conc_device(void *arg)
{
	struct conc *c = arg;
	unsigned int i;

	/* Toggle until the harts have claimed something meanwhile (on a
	 * loaded host the scheduler may not run them during CONC_ROUNDS). */
	for (i = 0; i < CONC_ROUNDS ||
		    (!__atomic_load_n(&conc_race_claims, __ATOMIC_SEQ_CST) &&
		     i < 1000 * CONC_ROUNDS); i++) {
		unsigned int r = rand_r(&c->seed);

		plic_set_level(&plic, c->first + r % 16, r & 0x100);
	}
	/* Finally every line is high: each must reach the guest. */
	for (i = 0; i < 16; i++)
		plic_set_level(&plic, c->first + i, true);
	return NULL;
}

static void *conc_hart(void *arg)
{
	unsigned int ctx = (unsigned int)(uintptr_t)arg;

	while (!__atomic_load_n(&conc_stop, __ATOMIC_SEQ_CST)) {
		uint32_t id = claim(ctx);

		if (!id)
			continue;
		if (id > CONC_SOURCES)
			__atomic_add_fetch(&conc_bad_id, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&conc_race_claims, 1, __ATOMIC_SEQ_CST);
		complete(ctx, id);
	}
	return NULL;
}

TEST(concurrent_lines_and_claims)
{
	pthread_t dev[CONC_DEVICES], hart[2];
	struct conc c[CONC_DEVICES];
	unsigned int i, src, ctx;
	uint32_t id;
	int rounds = 0;

	REQUIRE(setup(CONC_SOURCES + 1, 2));
	/* Both harts take every source, with mixed priorities. */
	for (src = 1; src <= CONC_SOURCES; src++) {
		set_prio(src, 1 + src % 7);
		set_enable(0, src, true);
		set_enable(1, src, true);
	}
	conc_stop = false;
	conc_bad_id = 0;
	conc_race_claims = 0;
	for (i = 0; i < 2; i++)
		REQUIRE(!pthread_create(&hart[i], NULL, conc_hart,
					(void *)(uintptr_t)i));
	for (i = 0; i < CONC_DEVICES; i++) {
		c[i].seed = 1234 + i;
		c[i].first = 1 + 16 * i;
		REQUIRE(!pthread_create(&dev[i], NULL, conc_device, &c[i]));
	}
	for (i = 0; i < CONC_DEVICES; i++)
		pthread_join(dev[i], NULL);
	__atomic_store_n(&conc_stop, true, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++)
		pthread_join(hart[i], NULL);

	CHECK_EQ(conc_bad_id, 0);
	CHECK(conc_race_claims > 0);
	CHECK_EQ(host.repeats, 0);
	CHECK_EQ(host.bad_ctx, 0);

	/*
	 * All lines are high and the harts completed whatever they claimed,
	 * so every source is pending again: the drain must see each one.
	 * Servicing a device lowers its line before the completion.
	 */
	memset(conc_claimed, 0, sizeof(conc_claimed));
	for (ctx = 0; ctx < 2; ctx++)
		CHECK(host.level[ctx]);
	while ((id = claim(rounds & 1)) != 0 && rounds < 10 * CONC_SOURCES) {
		if (!CHECK(id <= CONC_SOURCES))
			break;
		conc_claimed[id - 1]++;
		plic_set_level(&plic, id, false);
		complete(rounds & 1, id);
		rounds++;
	}
	for (src = 1; src <= CONC_SOURCES; src++)
		if (!CHECK_EQ(conc_claimed[src - 1], 1))
			printf("  source %u claimed %u times\n", src,
			       conc_claimed[src - 1]);
	CHECK_EQ(rd(pending_reg(0)), 0);
	CHECK_EQ(rd(pending_reg(32)), 0);
	CHECK_EQ(rd(pending_reg(64)), 0);
	CHECK(!host.level[0]);
	CHECK(!host.level[1]);
	CHECK_EQ(host.repeats, 0);
	teardown();
}

int main(void)
{
	RUN(init_rejects_bad_sizes);
	RUN(mmio_size);
	RUN(reset_state);
	RUN(priority_is_warl_3_bits);
	RUN(threshold_gates_output);
	RUN(priority_zero_never_interrupts);
	RUN(claim_highest_priority_ties_to_lowest_id);
	RUN(claim_clears_pending);
	RUN(complete_repends_high_line_only);
	RUN(complete_of_disabled_or_bad_id_ignored);
	RUN(enable_bits_mask_and_unmask);
	RUN(pending_is_read_only);
	RUN(level_drop_before_claim_withdraws);
	RUN(many_sources);
	RUN(many_contexts_route);
	RUN(notify_only_on_change);
	RUN(source_zero_and_missing_sources);
	RUN(hostile_accesses_are_harmless);
	RUN(concurrent_lines_and_claims);
	return test_summary();
}
