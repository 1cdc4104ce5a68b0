// SPDX-License-Identifier: GPL-2.0
#include "lkvm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	bus->table = calloc(1, sizeof(struct bus_table));
	if (!bus->table)
		return -ENOMEM;
	return -pthread_mutex_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	struct bus_table *t, *next;

	for (t = bus->retired; t; t = next) {
		next = t->retired_next;
		free(t);
	}
	free(bus->table);
	bus->table = NULL;
	bus->retired = NULL;
	pthread_mutex_destroy(&bus->lock);
}

static struct bus_table *table_acquire(struct bus *bus)
{
	/* Pairs with the release store in table_publish(). */
	return __atomic_load_n(&bus->table, __ATOMIC_ACQUIRE);
}

/* Called with bus->lock held. */
static void table_publish(struct bus *bus, struct bus_table *old,
			  struct bus_table *new)
{
	/*
	 * Release: a reader that sees the new pointer also sees the ranges
	 * written into it.  The old table stays readable for vCPUs that are
	 * still walking it; it is freed only by bus_destroy().
	 */
	__atomic_store_n(&bus->table, new, __ATOMIC_RELEASE);
	old->retired_next = bus->retired;
	bus->retired = old;
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
	new->retired_next = NULL;
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
	new->retired_next = NULL;
	new->nr = old->nr - 1;
	for (i = 0, j = 0; i < old->nr; i++)
		if (i != pos)
			new->ranges[j++] = old->ranges[i];
	table_publish(bus, old, new);
out:
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

const struct bus_range *bus_find(struct bus *bus, uint64_t addr)
{
	const struct bus_table *t = table_acquire(bus);
	unsigned int pos = table_search(t, addr);

	if (pos < t->nr && addr >= t->ranges[pos].start &&
	    addr - t->ranges[pos].start < t->ranges[pos].len)
		return &t->ranges[pos];
	return NULL;
}

bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		  bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);
	uint64_t off;

	if (!r || !len)
		return false;
	off = addr - r->start;
	/* The whole access must fall inside the one device. */
	if (len > r->len - off)
		return false;
	r->io(r->opaque, off, data, len, is_write);
	return true;
}
