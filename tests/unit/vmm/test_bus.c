// SPDX-License-Identifier: GPL-2.0
/* The lock-free I/O bus (vmm/bus.c). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "lkvm/bus.h"
#include "test.h"

/* A device that remembers its last access and fills reads with its id. */
struct dev {
	uint8_t id;
	unsigned long calls; /* atomic */
	uint64_t last_off;
	uint32_t last_len;
	bool last_write;
	uint8_t last_data[8];
};

static void dev_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct dev *d = opaque;
	uint32_t i;

	__atomic_add_fetch(&d->calls, 1, __ATOMIC_RELAXED);
	d->last_off = offset;
	d->last_len = len;
	d->last_write = is_write;
	if (is_write) {
		memcpy(d->last_data, data, len < 8 ? len : 8);
	} else {
		for (i = 0; i < len; i++)
			data[i] = d->id;
	}
}

static bool rd(struct bus *b, uint64_t addr, uint32_t len, uint8_t *out)
{
	uint8_t buf[16];

	memset(buf, 0xee, sizeof(buf));
	if (!bus_dispatch(b, addr, buf, len, false))
		return false;
	if (out)
		*out = buf[0];
	return true;
}

/* The name of the range holding @addr, NULL if none. */
static const char *name_at(struct bus *b, uint64_t addr)
{
	struct bus_range r;

	return bus_find(b, addr, &r) ? r.name : NULL;
}

TEST(empty_bus)
{
	struct bus b;
	uint8_t data = 0x5a;

	CHECK_EQ(bus_init(&b, "pio"), 0);
	CHECK_STREQ(b.name, "pio");
	CHECK(!bus_dispatch(&b, 0, &data, 1, false));
	CHECK(!bus_dispatch(&b, UINT64_MAX, &data, 1, true));
	CHECK_EQ(data, 0x5a);
	CHECK(!bus_find(&b, 0x3f8, NULL));
	CHECK_EQ(bus_unregister(&b, 0), -ENOENT);
	bus_destroy(&b);
}

TEST(register_and_dispatch)
{
	struct bus b;
	struct dev d = { .id = 7 };
	struct bus_range r;
	uint8_t v = 0, w[4] = { 1, 2, 3, 4 };

	CHECK_EQ(bus_init(&b, "pio"), 0);
	CHECK_EQ(bus_register(&b, 0x3f8, 8, dev_io, &d, "ttyS0"), 0);

	REQUIRE(bus_find(&b, 0x3fa, &r));
	CHECK_EQ(r.start, 0x3f8);
	CHECK_EQ(r.len, 8);
	CHECK_PTR_EQ(r.io, dev_io);
	CHECK_PTR_EQ(r.opaque, &d);
	CHECK_STREQ(r.name, "ttyS0");

	/* First byte, last byte, one past either end. */
	CHECK(rd(&b, 0x3f8, 1, &v));
	CHECK_EQ(v, 7);
	CHECK_EQ(d.last_off, 0);
	CHECK(rd(&b, 0x3ff, 1, &v));
	CHECK_EQ(d.last_off, 7);
	CHECK_EQ(d.calls, 2);
	CHECK(!rd(&b, 0x400, 1, NULL));
	CHECK(!rd(&b, 0x3f7, 1, NULL));
	CHECK(!bus_find(&b, 0x400, NULL));
	CHECK(!bus_find(&b, 0x3f7, NULL));
	CHECK_EQ(d.calls, 2);

	/* Wider accesses: inside, exactly the whole range, straddling. */
	CHECK(rd(&b, 0x3fe, 2, NULL));
	CHECK_EQ(d.last_off, 6);
	CHECK_EQ(d.last_len, 2);
	CHECK(rd(&b, 0x3f8, 8, NULL));
	CHECK_EQ(d.last_len, 8);
	CHECK_EQ(d.calls, 4);
	CHECK(!rd(&b, 0x3ff, 2, NULL));
	CHECK(!rd(&b, 0x3fc, 8, NULL));
	CHECK(!rd(&b, 0x3f8, 9, NULL));
	CHECK(!rd(&b, 0x3f7, 2, NULL)); /* starts before the range */
	CHECK(!rd(&b, 0x3f8, 0, NULL)); /* empty access */
	CHECK_EQ(d.calls, 4);

	/* Writes reach the device with their data and direction. */
	CHECK(bus_dispatch(&b, 0x3fc, w, 4, true));
	CHECK(d.last_write);
	CHECK_EQ(d.last_off, 4);
	CHECK_EQ(memcmp(d.last_data, w, 4), 0);
	CHECK_EQ(d.calls, 5);
	bus_destroy(&b);
}

TEST(invalid_ranges)
{
	struct bus b;
	struct dev d = { .id = 1 };

	CHECK_EQ(bus_init(&b, "mmio"), 0);
	CHECK_EQ(bus_register(&b, 0x1000, 0, dev_io, &d, "empty"), -EINVAL);
	CHECK_EQ(bus_register(&b, UINT64_MAX, 2, dev_io, &d, "wrap"), -EINVAL);
	CHECK_EQ(bus_register(&b, 0xfffffffffffff000ULL, 0x2000, dev_io, &d,
			      "wrap"),
		 -EINVAL);
	CHECK_EQ(bus_register(&b, 2, UINT64_MAX, dev_io, &d, "wrap"), -EINVAL);
	CHECK_EQ(bus_register(&b, 0x1000, 4, NULL, &d, "no handler"), -EINVAL);
	CHECK(!bus_find(&b, 0x1000, NULL));
	CHECK_EQ(b.table->nr, 0);

	/* Ranges that end exactly at the top of the address space are fine. */
	CHECK_EQ(bus_register(&b, UINT64_MAX, 1, dev_io, &d, "top byte"), 0);
	CHECK(rd(&b, UINT64_MAX, 1, NULL));
	CHECK(!rd(&b, UINT64_MAX, 2, NULL)); /* would wrap */
	CHECK_EQ(bus_register(&b, 0xfffffffffffff000ULL, 0xfff, dev_io, &d,
			      "below top"),
		 0);
	CHECK(rd(&b, 0xfffffffffffffffeULL, 1, NULL));
	CHECK(!rd(&b, 0xfffffffffffffffeULL, 2, NULL)); /* two devices */
	CHECK_EQ(d.last_off, 0xffe);
	/* And one that starts at 0 and covers all but the last byte. */
	bus_destroy(&b);
	CHECK_EQ(bus_init(&b, "mmio"), 0);
	CHECK_EQ(bus_register(&b, 0, UINT64_MAX, dev_io, &d, "almost all"), 0);
	CHECK(rd(&b, 0, 1, NULL));
	CHECK(rd(&b, UINT64_MAX - 1, 1, NULL));
	CHECK(!rd(&b, UINT64_MAX, 1, NULL));
	CHECK_EQ(bus_register(&b, UINT64_MAX, 1, dev_io, &d, "top"), 0);
	CHECK_EQ(bus_register(&b, 5, 1, dev_io, &d, "inside"), -EEXIST);
	bus_destroy(&b);
}

TEST(overlaps)
{
	struct bus b;
	struct dev d1 = { .id = 1 }, d2 = { .id = 2 };

	CHECK_EQ(bus_init(&b, "pio"), 0);
	CHECK_EQ(bus_register(&b, 0x100, 0x10, dev_io, &d1, "a"), 0);
	/* Overlapping the start, the end, inside, around, identical. */
	CHECK_EQ(bus_register(&b, 0xf8, 0x9, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x10f, 0x10, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x104, 0x4, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x100, 0x1, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x10f, 0x1, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x0, 0x1000, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x100, 0x10, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(b.table->nr, 1);
	/* Adjacent on both sides is allowed. */
	CHECK_EQ(bus_register(&b, 0xf0, 0x10, dev_io, &d2, "below"), 0);
	CHECK_EQ(bus_register(&b, 0x110, 0x10, dev_io, &d2, "above"), 0);
	/* Now a new range would overlap two or three neighbours at once. */
	CHECK_EQ(bus_register(&b, 0xff, 0x2, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0xe0, 0x100, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x11f, 0x10, dev_io, &d2, "x"), -EEXIST);
	/* A gap between two ranges: fits exactly, not one byte more. */
	CHECK_EQ(bus_register(&b, 0x200, 0x10, dev_io, &d2, "far"), 0);
	CHECK_EQ(bus_register(&b, 0x120, 0xe1, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x11f, 0xe1, dev_io, &d2, "x"), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x120, 0xe0, dev_io, &d2, "gap"), 0);
	CHECK_EQ(b.table->nr, 5);

	/* The original range still belongs to d1 and nothing else moved. */
	uint8_t v = 0;
	CHECK(rd(&b, 0x100, 1, &v));
	CHECK_EQ(v, 1);
	CHECK(rd(&b, 0x10f, 1, &v));
	CHECK_EQ(v, 1);
	CHECK(rd(&b, 0xff, 1, &v));
	CHECK_EQ(v, 2);
	CHECK_STREQ(name_at(&b, 0xf0), "below");
	CHECK_STREQ(name_at(&b, 0x11f), "above");
	CHECK_STREQ(name_at(&b, 0x1ff), "gap");
	CHECK_STREQ(name_at(&b, 0x200), "far");
	bus_destroy(&b);
}

TEST(unregister_reregister)
{
	struct bus b;
	struct dev d1 = { .id = 1 }, d2 = { .id = 2 };
	uint8_t v = 0;

	CHECK_EQ(bus_init(&b, "pio"), 0);
	CHECK_EQ(bus_register(&b, 0x60, 1, dev_io, &d1, "kbd-data"), 0);
	CHECK_EQ(bus_register(&b, 0x64, 1, dev_io, &d1, "kbd-cmd"), 0);
	CHECK_EQ(bus_unregister(&b, 0x61), -ENOENT);
	CHECK_EQ(bus_unregister(&b, 0x70), -ENOENT);
	CHECK_EQ(bus_unregister(&b, 0x60), 0);
	CHECK_EQ(bus_unregister(&b, 0x60), -ENOENT);
	CHECK(!rd(&b, 0x60, 1, NULL));
	CHECK(rd(&b, 0x64, 1, &v));
	CHECK_EQ(v, 1);
	CHECK_EQ(bus_register(&b, 0x5f, 3, dev_io, &d2, "bigger"), 0);
	CHECK(rd(&b, 0x60, 1, &v));
	CHECK_EQ(v, 2);
	CHECK_EQ(d2.last_off, 1);
	CHECK_EQ(bus_unregister(&b, 0x60), -ENOENT); /* not a start any more */
	CHECK_EQ(bus_unregister(&b, 0x5f), 0);
	CHECK_EQ(bus_unregister(&b, 0x64), 0);
	CHECK_EQ(b.table->nr, 0);
	CHECK_EQ(bus_register(&b, 0x60, 5, dev_io, &d1, "again"), 0);
	CHECK(rd(&b, 0x64, 1, &v));
	CHECK_EQ(v, 1);
	bus_destroy(&b);
}

/* xorshift64: a deterministic pseudo-random sequence. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define NR_RANDOM 300

static bool table_sorted(const struct bus_table *t)
{
	unsigned int i;

	for (i = 1; i < t->nr; i++)
		if (t->ranges[i - 1].start + t->ranges[i - 1].len >
		    t->ranges[i].start)
			return false;
	return true;
}

TEST(random_order)
{
	static struct dev devs[NR_RANDOM];
	unsigned int order[NR_RANDOM], i, j, tmp, present;
	bool live[NR_RANDOM];
	struct bus b;

	CHECK_EQ(bus_init(&b, "mmio"), 0);
	for (i = 0; i < NR_RANDOM; i++) {
		devs[i].id = (uint8_t)i;
		devs[i].calls = 0;
		order[i] = i;
	}
	for (i = NR_RANDOM - 1; i > 0; i--) {
		j = (unsigned int)(rng() % (i + 1));
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	/* Range i is [i * 0x1000, + 1 .. 0x1000): gaps of varying size. */
	for (i = 0; i < NR_RANDOM; i++) {
		unsigned int k = order[i];
		uint64_t len = 1 + (k * 37) % 0x1000;
		CHECK_EQ(bus_register(&b, k * 0x1000ULL, len, dev_io, &devs[k],
				      "r"),
			 0);
		live[k] = true;
	}
	CHECK_EQ(b.table->nr, NR_RANDOM);
	CHECK(table_sorted(b.table));
	for (i = 0; i < NR_RANDOM; i++) {
		uint64_t start = i * 0x1000ULL, len = 1 + (i * 37) % 0x1000;
		struct bus_range r;

		CHECK(bus_find(&b, start, &r) && r.opaque == &devs[i]);
		CHECK(bus_find(&b, start + len - 1, &r) &&
		      r.opaque == &devs[i]);
		CHECK(!bus_find(&b, start + len, NULL));
		CHECK_EQ(b.table->ranges[i].start, start);
	}

	/* Remove half of them, again in random order. */
	for (i = 0; i < NR_RANDOM; i += 2) {
		CHECK_EQ(bus_unregister(&b, order[i] * 0x1000ULL), 0);
		live[order[i]] = false;
	}
	CHECK(table_sorted(b.table));
	present = 0;
	for (i = 0; i < NR_RANDOM; i++) {
		uint8_t v = 0xee;
		bool hit = rd(&b, i * 0x1000ULL, 1, &v);
		CHECK_EQ(hit, live[i]);
		if (hit)
			CHECK_EQ(v, i & 0xff);
		present += hit;
	}
	CHECK_EQ(present, NR_RANDOM / 2);
	CHECK_EQ(b.table->nr, NR_RANDOM / 2);
	bus_destroy(&b);
}

/* ---- Readers dispatching while a writer changes the table. ---- */

#define NR_STABLE 16
#define NR_READERS 4
#define READER_ITERS 200000
#define STABLE_BASE 0x10000ULL
#define STRIDE 0x100ULL
#define MIN_ROUNDS 2000
#define MAX_ROUNDS 20000

struct conc {
	struct bus bus;
	struct dev stable[NR_STABLE];
	struct dev churn[NR_STABLE];
	unsigned long issued[NR_STABLE]; /* atomic */
	unsigned long misses, misroutes, churn_hits; /* atomic */
	unsigned long writer_rounds;
	int readers_done, writer_done;               /* atomic */
	pthread_barrier_t start;
};

/* Thread-safe handler: counts the call and answers with the device id. */
static void conc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct dev *d = opaque;

	(void)offset;
	__atomic_add_fetch(&d->calls, 1, __ATOMIC_RELAXED);
	if (!is_write)
		memset(data, d->id, len);
}

struct reader_arg {
	struct conc *c;
	uint64_t seed;
};

static void *reader(void *p)
{
	struct reader_arg *a = p;
	struct conc *c = a->c;
	uint64_t s = a->seed;
	unsigned int n;

	pthread_barrier_wait(&c->start);
	/* At least READER_ITERS accesses, and on until the writer stops. */
	for (n = 0; !__atomic_load_n(&c->writer_done, __ATOMIC_ACQUIRE); n++) {
		uint8_t buf[4];
		unsigned int k;
		uint64_t addr;

		if (n == READER_ITERS)
			__atomic_add_fetch(&c->readers_done, 1, __ATOMIC_RELEASE);
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		k = (unsigned int)(s % NR_STABLE);
		if (s & (1ULL << 40)) {
			/* A stable range: [base + k*STRIDE, + 0x10). */
			addr = STABLE_BASE + k * STRIDE + ((s >> 20) % 0xd);
			memset(buf, 0, sizeof(buf));
			__atomic_add_fetch(&c->issued[k], 1, __ATOMIC_RELAXED);
			if (!bus_dispatch(&c->bus, addr, buf, 4, false))
				__atomic_add_fetch(&c->misses, 1,
						   __ATOMIC_RELAXED);
			else if (buf[0] != c->stable[k].id ||
				 buf[3] != c->stable[k].id)
				__atomic_add_fetch(&c->misroutes, 1,
						   __ATOMIC_RELAXED);
		} else {
			/* A churning range: may or may not be there. */
			addr = STABLE_BASE + k * STRIDE + 0x80;
			memset(buf, 0, sizeof(buf));
			if (bus_dispatch(&c->bus, addr, buf, 1, false)) {
				if (buf[0] != c->churn[k].id)
					__atomic_add_fetch(&c->misroutes, 1,
							   __ATOMIC_RELAXED);
				else
					__atomic_add_fetch(&c->churn_hits, 1,
							   __ATOMIC_RELAXED);
			}
		}
	}
	return NULL;
}

static void *writer(void *p)
{
	struct conc *c = p;
	bool live[NR_STABLE] = { false };
	unsigned int round, k, errors = 0;

	pthread_barrier_wait(&c->start);
	/*
	 * Keep changing the table while any reader is still in its first
	 * READER_ITERS accesses (bounded, to keep the test short).
	 */
	for (round = 0; round < MAX_ROUNDS &&
			(round < MIN_ROUNDS ||
			 __atomic_load_n(&c->readers_done, __ATOMIC_ACQUIRE) <
				 NR_READERS);
	     round++) {
		uint64_t far = 0x100000 + (round / 4) * 0x10ULL;

		/* Toggle a churn range between two stable ones. */
		k = (round * 7) % NR_STABLE;
		if (live[k]) {
			errors += bus_unregister(&c->bus,
						 STABLE_BASE + k * STRIDE + 0x80) != 0;
		} else {
			errors += bus_register(&c->bus,
					       STABLE_BASE + k * STRIDE + 0x80,
					       0x10, conc_io, &c->churn[k],
					       "churn") != 0;
		}
		live[k] = !live[k];
		/* Grow and shrink the table above the stable ranges too. */
		if (round % 4 == 0)
			errors += bus_register(&c->bus, far, 0x10, conc_io,
					       &c->churn[k], "far") != 0;
		else if (round % 4 == 2)
			errors += bus_unregister(&c->bus, far) != 0;
	}
	c->writer_rounds = round;
	__atomic_store_n(&c->writer_done, 1, __ATOMIC_RELEASE);
	return (void *)(uintptr_t)errors;
}

TEST(concurrent_dispatch)
{
	static struct conc c;
	struct reader_arg args[NR_READERS];
	pthread_t readers[NR_READERS], w;
	unsigned long issued = 0, calls = 0;
	void *werr = NULL;
	unsigned int i;

	memset(&c, 0, sizeof(c));
	REQUIRE(pthread_barrier_init(&c.start, NULL, NR_READERS + 1) == 0);
	CHECK_EQ(bus_init(&c.bus, "mmio"), 0);
	for (i = 0; i < NR_STABLE; i++) {
		c.stable[i].id = (uint8_t)(0x10 + i);
		c.churn[i].id = (uint8_t)(0x80 + i);
		CHECK_EQ(bus_register(&c.bus, STABLE_BASE + i * STRIDE, 0x10,
				      conc_io, &c.stable[i], "stable"),
			 0);
	}
	for (i = 0; i < NR_READERS; i++) {
		args[i] = (struct reader_arg){ &c, 0x1234567ULL * (i + 1) };
		REQUIRE(pthread_create(&readers[i], NULL, reader, &args[i]) ==
			0);
	}
	REQUIRE(pthread_create(&w, NULL, writer, &c) == 0);
	pthread_join(w, &werr);
	for (i = 0; i < NR_READERS; i++)
		pthread_join(readers[i], NULL);

	pthread_barrier_destroy(&c.start);
	printf("  %u readers, %lu table changes, %lu hits on changing ranges\n",
	       NR_READERS, c.writer_rounds + c.writer_rounds / 2, c.churn_hits);
	CHECK_EQ((uintptr_t)werr, 0);
	CHECK(c.writer_rounds >= MIN_ROUNDS);
	CHECK_EQ(c.misses, 0);
	CHECK_EQ(c.misroutes, 0);
	for (i = 0; i < NR_STABLE; i++) {
		issued += c.issued[i];
		calls += c.stable[i].calls;
		CHECK_EQ(c.stable[i].calls, c.issued[i]);
	}
	CHECK(issued > 0);
	CHECK_EQ(calls, issued);
	/* Stable ranges are all still there and in order. */
	CHECK(table_sorted(c.bus.table));
	for (i = 0; i < NR_STABLE; i++) {
		struct bus_range r;

		CHECK(bus_find(&c.bus, STABLE_BASE + i * STRIDE, &r) &&
		      r.opaque == &c.stable[i]);
	}
	bus_destroy(&c.bus);
}

/* ---- Replaced tables are freed (a guest toggling a BAR grew RSS). ---- */

/*
 * A guest that flips PCI_COMMAND's decode bits makes the device unregister
 * and re-register its BAR: two table changes per loop.  Kept until
 * bus_destroy(), NR_TOGGLES loops held 2 * NR_TOGGLES tables (over 15 MiB
 * here); freed once no lookup can hold them, the heap does not grow.
 */
#define NR_TOGGLES 100000
#define HEAP_SLACK (64 * 1024)
#define BAR_BASE 0x2000ULL

TEST(toggle_frees_tables)
{
	struct bus b;
	struct dev stable = { .id = 1 }, bar = { .id = 2 };
	unsigned int i, errors = 0;
	size_t before, after;
	uint8_t v = 0;

	CHECK_EQ(bus_init(&b, "mmio"), 0);
	CHECK_EQ(bus_register(&b, 0x1000, 0x100, dev_io, &stable, "stable"), 0);
	CHECK_EQ(bus_register(&b, BAR_BASE, 0x100, dev_io, &bar, "bar"), 0);
	CHECK(rd(&b, BAR_BASE, 1, &v)); /* this thread's first lookup */
	before = t_heap_bytes();
	for (i = 0; i < NR_TOGGLES; i++) {
		errors += bus_unregister(&b, BAR_BASE) != 0;
		errors += rd(&b, BAR_BASE + 4, 1, NULL);
		errors += bus_register(&b, BAR_BASE, 0x100, dev_io, &bar,
				       "bar") != 0;
		errors += !rd(&b, BAR_BASE + 4, 1, &v) || v != 2;
	}
	after = t_heap_bytes();
	printf("  %u toggles: heap %zu -> %zu bytes\n", NR_TOGGLES, before,
	       after);
	CHECK_EQ(errors, 0);
	CHECK(after < before + HEAP_SLACK);
	CHECK(rd(&b, 0x10ff, 1, &v));
	CHECK_EQ(v, 1);
	CHECK_EQ(stable.calls, 1);
	CHECK_EQ(bar.calls, NR_TOGGLES + 1);
	bus_destroy(&b);
}

/*
 * The same with readers dispatching all the while: ASan turns a table freed
 * under a reader into a report, and the heap still must not grow.
 */
#define NR_TOGGLERS 3

struct toggle {
	struct bus bus;
	struct dev stable, bar;
	unsigned long misses, misroutes, bar_hits; /* atomic */
	unsigned int ready, done;                  /* atomic */
	pthread_barrier_t start;
};

static void *toggle_reader(void *p)
{
	struct toggle *t = p;
	unsigned long n;

	pthread_barrier_wait(&t->start);
	for (n = 0; !__atomic_load_n(&t->done, __ATOMIC_ACQUIRE); n++) {
		uint8_t buf[4] = { 0 };

		if (n == 1)
			__atomic_add_fetch(&t->ready, 1, __ATOMIC_RELEASE);
		if (!bus_dispatch(&t->bus, 0x1000 + (n & 0xfc), buf, 4, false))
			__atomic_add_fetch(&t->misses, 1, __ATOMIC_RELAXED);
		else if (buf[0] != 1 || buf[3] != 1)
			__atomic_add_fetch(&t->misroutes, 1, __ATOMIC_RELAXED);
		buf[0] = 0;
		if (bus_dispatch(&t->bus, BAR_BASE + (n & 0xff), buf, 1,
				 false)) {
			if (buf[0] != 2)
				__atomic_add_fetch(&t->misroutes, 1,
						   __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&t->bar_hits, 1,
						   __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

TEST(concurrent_toggle_frees_tables)
{
	static struct toggle t;
	pthread_t th[NR_TOGGLERS];
	unsigned int i, errors = 0;
	size_t before, after;

	memset(&t, 0, sizeof(t));
	t.stable.id = 1;
	t.bar.id = 2;
	REQUIRE(bus_init(&t.bus, "mmio") == 0);
	CHECK_EQ(bus_register(&t.bus, 0x1000, 0x100, conc_io, &t.stable,
			      "stable"),
		 0);
	CHECK_EQ(bus_register(&t.bus, BAR_BASE, 0x100, conc_io, &t.bar, "bar"),
		 0);
	REQUIRE(pthread_barrier_init(&t.start, NULL, NR_TOGGLERS + 1) == 0);
	for (i = 0; i < NR_TOGGLERS; i++)
		REQUIRE(pthread_create(&th[i], NULL, toggle_reader, &t) == 0);
	pthread_barrier_wait(&t.start);
	/* Measure once every reader is looking ranges up. */
	while (__atomic_load_n(&t.ready, __ATOMIC_ACQUIRE) < NR_TOGGLERS)
		sched_yield();
	before = t_heap_bytes();
	for (i = 0; i < NR_TOGGLES; i++) {
		errors += bus_unregister(&t.bus, BAR_BASE) != 0;
		errors += bus_register(&t.bus, BAR_BASE, 0x100, conc_io, &t.bar,
				       "bar") != 0;
	}
	after = t_heap_bytes();
	__atomic_store_n(&t.done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NR_TOGGLERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&t.start);
	printf("  %u readers, %u toggles, %lu hits on the toggled range: heap %zu -> %zu bytes\n",
	       NR_TOGGLERS, NR_TOGGLES, t.bar_hits, before, after);
	CHECK_EQ(errors, 0);
	CHECK_EQ(t.misses, 0);
	CHECK_EQ(t.misroutes, 0);
	CHECK(after < before + HEAP_SLACK);
	bus_destroy(&t.bus);
}

/*
 * A callback that changes the bus it was dispatched from, as a PCI config
 * write moving a BAR does (x86: the 0xcfc port on the PIO bus; riscv: ECAM
 * on the MMIO bus), and one that dispatches again (riscv's PCI I/O window
 * forwards into the PIO bus).  Several threads at once: nothing may
 * deadlock or free a table a thread still uses, and nothing may pile up.
 */
#define CFG_PORT 0xcf8ULL
#define WINDOW_BASE 0x40000000ULL
#define NR_REMAPPERS 3
#define REMAP_ITERS 20000

struct remap {
	struct bus pio, mmio;
	pthread_mutex_t map_lock; /* the device's, like virtio-pci's */
	uint64_t bar;             /* where the BAR decodes; 0: nowhere */
	struct dev dev;
	unsigned long errors;     /* atomic */
	pthread_barrier_t start;
};

static void remap_cfg_io(void *opaque, uint64_t offset, uint8_t *data,
			 uint32_t len, bool is_write)
{
	struct remap *m = opaque;
	uint32_t to = 0;

	(void)offset;
	if (!is_write || len != 4)
		return;
	memcpy(&to, data, 4);
	pthread_mutex_lock(&m->map_lock);
	if (m->bar && bus_unregister(&m->pio, m->bar))
		__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	m->bar = 0;
	if (to && !bus_register(&m->pio, to, 0x20, conc_io, &m->dev, "bar"))
		m->bar = to;
	/* Read the BAR back through the bus this access came from. */
	if (m->bar) {
		uint8_t v = 0;

		if (!bus_dispatch(&m->pio, m->bar + 1, &v, 1, false) ||
		    v != m->dev.id)
			__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->map_lock);
}

/* riscv's pci_io_window(): MMIO at WINDOW_BASE + P is port P. */
static void remap_window_io(void *opaque, uint64_t offset, uint8_t *data,
			    uint32_t len, bool is_write)
{
	struct remap *m = opaque;

	if (!bus_dispatch(&m->pio, offset, data, len, is_write) && !is_write)
		memset(data, 0xff, len);
}

static void *remapper(void *p)
{
	struct remap *m = p;
	unsigned int i;

	pthread_barrier_wait(&m->start);
	for (i = 0; i < REMAP_ITERS; i++) {
		/* Decode off, on somewhere, on elsewhere: through either bus. */
		uint32_t to = (i % 3) ? 0x1000 + 0x100 * (i % 3) : 0;
		uint8_t buf[4];

		memcpy(buf, &to, 4);
		if (i & 1)
			bus_dispatch(&m->pio, CFG_PORT, buf, 4, true);
		else
			bus_dispatch(&m->mmio, WINDOW_BASE + CFG_PORT, buf, 4,
				     true);
		buf[0] = 0;
		if (bus_dispatch(&m->mmio, WINDOW_BASE + 0x1100 + (i & 0x1f),
				 buf, 1, false) &&
		    buf[0] != m->dev.id && buf[0] != 0xff)
			__atomic_add_fetch(&m->errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST(callback_changes_bus)
{
	static struct remap m;
	pthread_t th[NR_REMAPPERS];
	size_t before, after;
	unsigned int i;

	memset(&m, 0, sizeof(m));
	m.dev.id = 9;
	REQUIRE(bus_init(&m.pio, "pio") == 0);
	REQUIRE(bus_init(&m.mmio, "mmio") == 0);
	REQUIRE(pthread_mutex_init(&m.map_lock, NULL) == 0);
	CHECK_EQ(bus_register(&m.pio, CFG_PORT, 4, remap_cfg_io, &m, "cfg"), 0);
	CHECK_EQ(bus_register(&m.mmio, WINDOW_BASE, 0x10000, remap_window_io,
			      &m, "pci-io"),
		 0);
	REQUIRE(pthread_barrier_init(&m.start, NULL, NR_REMAPPERS + 1) == 0);
	for (i = 0; i < NR_REMAPPERS; i++)
		REQUIRE(pthread_create(&th[i], NULL, remapper, &m) == 0);
	before = t_heap_bytes();
	pthread_barrier_wait(&m.start);
	for (i = 0; i < NR_REMAPPERS; i++)
		pthread_join(th[i], NULL);
	after = t_heap_bytes();
	pthread_barrier_destroy(&m.start);
	printf("  %u threads x %u BAR moves, %lu BAR accesses: heap %zu -> %zu bytes\n",
	       NR_REMAPPERS, REMAP_ITERS, m.dev.calls, before, after);
	CHECK_EQ(m.errors, 0);
	CHECK(after < before + HEAP_SLACK);
	CHECK(m.dev.calls > 0);
	pthread_mutex_destroy(&m.map_lock);
	bus_destroy(&m.pio);
	bus_destroy(&m.mmio);
}

/*
 * Reader records live in thread-local storage: a thread that exits must
 * take its record off the list before a writer could look at it again.
 */
#define CHURN_ROUNDS 100
#define CHURN_THREADS 3

struct churn {
	struct bus bus;
	struct dev dev;
	unsigned int seen_readers; /* atomic: max bus_nr_readers() seen */
	int stop;                  /* atomic */
};

static void *churn_lookup(void *p)
{
	struct churn *c = p;
	unsigned int n, seen;
	uint8_t v;

	bus_dispatch(&c->bus, 0x1000, &v, 1, false);
	n = bus_nr_readers();
	seen = __atomic_load_n(&c->seen_readers, __ATOMIC_RELAXED);
	while (n > seen && !__atomic_compare_exchange_n(&c->seen_readers,
							&seen, n, false,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
		;
	return NULL;
}

static void *churn_writer(void *p)
{
	struct churn *c = p;
	unsigned long errors = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		errors += bus_unregister(&c->bus, 0x2000) != 0;
		errors += bus_register(&c->bus, 0x2000, 0x10, conc_io, &c->dev,
				       "bar") != 0;
	}
	return (void *)(uintptr_t)errors;
}

TEST(reader_threads_exit)
{
	static struct churn c;
	pthread_t w, th[CHURN_THREADS];
	unsigned int base, round, i;
	void *werr = NULL;
	uint8_t v;

	memset(&c, 0, sizeof(c));
	c.dev.id = 3;
	REQUIRE(bus_init(&c.bus, "pio") == 0);
	CHECK_EQ(bus_register(&c.bus, 0x1000, 0x10, conc_io, &c.dev, "dev"), 0);
	CHECK_EQ(bus_register(&c.bus, 0x2000, 0x10, conc_io, &c.dev, "bar"), 0);
	bus_dispatch(&c.bus, 0x1000, &v, 1, false); /* this thread is listed */
	base = bus_nr_readers();
	CHECK(base >= 1);
	REQUIRE(pthread_create(&w, NULL, churn_writer, &c) == 0);
	for (round = 0; round < CHURN_ROUNDS; round++) {
		for (i = 0; i < CHURN_THREADS; i++)
			REQUIRE(pthread_create(&th[i], NULL, churn_lookup,
					       &c) == 0);
		for (i = 0; i < CHURN_THREADS; i++)
			pthread_join(th[i], NULL);
	}
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
	pthread_join(w, &werr);
	printf("  %u short-lived threads, up to %u readers listed at once\n",
	       CHURN_ROUNDS * CHURN_THREADS, c.seen_readers);
	CHECK_EQ((uintptr_t)werr, 0);
	CHECK(c.seen_readers > base);
	CHECK(c.seen_readers <= base + CHURN_THREADS);
	CHECK_EQ(bus_nr_readers(), base);
	bus_destroy(&c.bus);
}

int main(void)
{
	RUN(empty_bus);
	RUN(register_and_dispatch);
	RUN(invalid_ranges);
	RUN(overlaps);
	RUN(unregister_reregister);
	RUN(random_order);
	RUN(concurrent_dispatch);
	RUN(toggle_frees_tables);
	RUN(concurrent_toggle_frees_tables);
	RUN(callback_changes_bus);
	RUN(reader_threads_exit);
	return test_summary();
}
