// SPDX-License-Identifier: GPL-2.0
#include "lkvm/bus.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

/*
 * Freeing replaced tables.
 *
 * Lookups (vCPU threads, on every PIO/MMIO exit) load bus->table with no
 * lock; a writer publishes a new table and must not free the old one while a
 * lookup may still be searching it.  Each thread that looks ranges up has a
 * reader record in its own TLS, on its own cache line, holding a sequence
 * number that is odd while the thread is inside a lookup.  After publishing,
 * a writer waits until every reader it finds odd has moved on; any lookup
 * that starts later sees the new table, so the old one is then unreachable
 * and is freed before bus_register()/bus_unregister() returns.  That is an
 * RCU grace period, with the read side cut down to a store, a fence and a
 * store on the reader's own line: no lock and no shared line written.
 *
 * A lookup covers the binary search and the copy of one range, never the
 * device's handler, so read sections never nest, never block, and never
 * contain a write: a handler that moves a BAR (a PCI config write) can
 * register ranges without waiting for itself, and a writer waits for at
 * most a few hundred nanoseconds of other threads' searching.
 *
 * Why not liburcu: its fast flavours need every reader thread registered
 * by hand (a thread forgotten is a silent use-after-free), urcu-bp's
 * automatic registration and call_rcu()'s worker thread are more than this
 * one pointer needs, and it would be one more library in the static riscv64
 * sysroot (tools/riscv-sysroot/sysroot.sh) and in the e2e images, for what
 * is about fifty lines here.
 */
struct bus_reader {
	unsigned long seq;       /* odd inside a lookup; atomic */
	struct bus_reader *next; /* on readers, under readers_lock */
	int state;               /* owner only: 0 new, 1 listed, -1 not listed */
} __attribute__((aligned(64)));

static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bus_reader *readers;
static unsigned int nr_readers;
static pthread_once_t reader_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t reader_key;
static int reader_key_err;
static __thread struct bus_reader this_reader;

/* Thread exit: a writer must never look at a dead thread's record. */
static void reader_exit(void *p)
{
	struct bus_reader *r = p, **pp;

	pthread_mutex_lock(&readers_lock);
	for (pp = &readers; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			nr_readers--;
			break;
		}
	}
	pthread_mutex_unlock(&readers_lock);
	/* A lookup from a later TLS destructor takes the locked path. */
	r->state = -1;
}

static void reader_key_init(void)
{
	reader_key_err = pthread_key_create(&reader_key, reader_exit);
}

/* This thread's record, listed on first use; NULL if it cannot be. */
static struct bus_reader *reader_self(void)
{
	struct bus_reader *r = &this_reader;

	if (__builtin_expect(r->state > 0, 1))
		return r;
	if (r->state < 0)
		return NULL;
	pthread_once(&reader_key_once, reader_key_init);
	/* Without the exit hook the record would outlive the thread. */
	if (reader_key_err || pthread_setspecific(reader_key, r)) {
		r->state = -1;
		return NULL;
	}
	/*
	 * A writer scanning the list holds readers_lock, so it either sees
	 * this record or published its table before we could take the lock.
	 */
	pthread_mutex_lock(&readers_lock);
	r->next = readers;
	readers = r;
	nr_readers++;
	pthread_mutex_unlock(&readers_lock);
	r->state = 1;
	return r;
}

unsigned int bus_nr_readers(void)
{
	unsigned int n;

	pthread_mutex_lock(&readers_lock);
	n = nr_readers;
	pthread_mutex_unlock(&readers_lock);
	return n;
}

static void cpu_relax(unsigned int *spins)
{
	if (++*spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	/* The reader may be preempted on this very CPU. */
	sched_yield();
}

/*
 * Called with bus->lock held, after publishing the table that replaces
 * @old: wait until no lookup can hold @old, then free it.  This is where
 * the bound on tables is enforced: nothing is left for later.
 */
static void table_retire(struct bus_table *old)
{
	struct bus_reader *r;

	/*
	 * Pairs with the fence in table_lookup().  Either a reader's odd
	 * store is visible to the loads below, or its load of bus->table
	 * comes after our publish and returns the new table.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_mutex_lock(&readers_lock);
	for (r = readers; r; r = r->next) {
		/* Acquire: the lookup's reads of @old are done once it moves. */
		unsigned long seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
		unsigned int spins = 0;

		if (!(seq & 1))
			continue;
		/* Its next lookup starts after our publish: any change will do. */
		while (__atomic_load_n(&r->seq, __ATOMIC_ACQUIRE) == seq)
			cpu_relax(&spins);
	}
	pthread_mutex_unlock(&readers_lock);
	free(old);
}

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->table = calloc(1, sizeof(struct bus_table));
	if (!bus->table)
		return -ENOMEM;
	return -pthread_mutex_init(&bus->lock, NULL);
}

/* No lookup may run any more: the vCPU threads are gone. */
void bus_destroy(struct bus *bus)
{
	free(bus->table);
	bus->table = NULL;
	pthread_mutex_destroy(&bus->lock);
}

/* Called with bus->lock held. */
static void table_publish(struct bus *bus, struct bus_table *old,
			  struct bus_table *new)
{
	/* Release: a reader that sees the new pointer sees its ranges too. */
	__atomic_store_n(&bus->table, new, __ATOMIC_RELEASE);
	table_retire(old);
}

/* Index of the first range whose end is above @addr. */
static unsigned int table_search(const struct bus_table *t, uint64_t addr)
{
	unsigned int lo = 0, hi = t->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &t->ranges[mid];

		if (addr - r->start < r->len && addr >= r->start)
			return mid;
		if (addr < r->start)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static bool range_copy(const struct bus_table *t, uint64_t addr,
		       struct bus_range *out)
{
	unsigned int pos = table_search(t, addr);

	if (pos < t->nr && addr >= t->ranges[pos].start &&
	    addr - t->ranges[pos].start < t->ranges[pos].len) {
		*out = t->ranges[pos];
		return true;
	}
	return false;
}

/* Copy out the range holding @addr: the table may be freed after this. */
static bool table_lookup(struct bus *bus, uint64_t addr, struct bus_range *out)
{
	struct bus_reader *r = reader_self();
	const struct bus_table *t;
	unsigned long seq;
	bool found;

	if (__builtin_expect(!r, 0)) {
		/* No record (no thread key left): writers free under the lock. */
		pthread_mutex_lock(&bus->lock);
		found = range_copy(bus->table, addr, out);
		pthread_mutex_unlock(&bus->lock);
		return found;
	}
	/* Only this thread writes its seq; others read it. */
	seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&r->seq, seq + 1, __ATOMIC_RELAXED);
	/*
	 * Order the odd store before the table load: pairs with the fence in
	 * table_retire(), which publishes and then reads every seq.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Pairs with the release store in table_publish(). */
	t = __atomic_load_n(&bus->table, __ATOMIC_ACQUIRE);
	found = range_copy(t, addr, out);
	/* Release: our reads of @t come before a writer's free() of it. */
	__atomic_store_n(&r->seq, seq + 2, __ATOMIC_RELEASE);
	return found;
}

int bus_register(struct bus *bus, uint64_t start, uint64_t len, bus_io_fn io,
		 void *opaque, const char *name)
{
	struct bus_table *old, *new;
	unsigned int pos, i;
	int ret = 0;

	if (!len || start + len - 1 < start || !io)
		return -EINVAL;

	pthread_mutex_lock(&bus->lock);
	old = bus->table;
	/*
	 * pos is the range holding @start, or else the first range above it;
	 * either way the only possible overlap is with ranges[pos] (a range
	 * below that ends at or past @start would hold @start).
	 */
	pos = table_search(old, start);
	if (pos < old->nr && old->ranges[pos].start <= start + len - 1) {
		ret = -EEXIST;
		goto out;
	}
	new = malloc(sizeof(*new) + (old->nr + 1) * sizeof(new->ranges[0]));
	if (!new) {
		ret = -ENOMEM;
		goto out;
	}
	new->nr = old->nr + 1;
	for (i = 0; i < pos; i++)
		new->ranges[i] = old->ranges[i];
	new->ranges[pos] = (struct bus_range){ start, len, io, opaque, name };
	for (i = pos; i < old->nr; i++)
		new->ranges[i + 1] = old->ranges[i];
	table_publish(bus, old, new);
out:
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t start)
{
	struct bus_table *old, *new;
	unsigned int pos, i, j;
	int ret = 0;

	pthread_mutex_lock(&bus->lock);
	old = bus->table;
	pos = table_search(old, start);
	if (pos >= old->nr || old->ranges[pos].start != start) {
		ret = -ENOENT;
		goto out;
	}
	new = malloc(sizeof(*new) + (old->nr - 1) * sizeof(new->ranges[0]));
	if (!new) {
		ret = -ENOMEM;
		goto out;
	}
	new->nr = old->nr - 1;
	for (i = 0, j = 0; i < old->nr; i++)
		if (i != pos)
			new->ranges[j++] = old->ranges[i];
	table_publish(bus, old, new);
out:
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

bool bus_find(struct bus *bus, uint64_t addr, struct bus_range *out)
{
	struct bus_range r;

	if (!table_lookup(bus, addr, &r))
		return false;
	if (out)
		*out = r;
	return true;
}

bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		  bool is_write)
{
	struct bus_range r;
	uint64_t off;

	if (!len || !table_lookup(bus, addr, &r))
		return false;
	off = addr - r.start;
	/* The whole access must fall inside the one device. */
	if (len > r.len - off)
		return false;
	/* Outside the lookup: the handler may change this very bus. */
	r.io(r.opaque, off, data, len, is_write);
	return true;
}
