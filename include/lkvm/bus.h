/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BUS_H
#define LKVM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * An address-space bus (one for port I/O, one for MMIO).  vCPU threads look
 * ranges up on every exit, so lookups take no lock: the table is an immutable
 * sorted array published with an atomic pointer.  Writers (device setup, a
 * guest moving or disabling a BAR) serialise on a mutex, publish a new copy
 * and free the old one once no lookup can still be reading it (vmm/bus.c).
 *
 * A lookup copies the range out of the table and calls the device's handler
 * after it has let go of the table, so a handler may itself register and
 * unregister ranges (a PCI config write that moves a BAR) or dispatch again
 * (riscv's PCI I/O window).
 *
 * bus_unregister() stops new lookups from finding the range, but a handler
 * call that found it just before may still be running on another vCPU: the
 * range's @opaque must stay valid until no vCPU can be dispatching.  lkvm
 * frees device state only in VM cleanups, after the vCPU threads are joined.
 */

/* @offset is relative to the start of the registered range. */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data,
			  uint32_t len, bool is_write);

struct bus_range {
	uint64_t start;
	uint64_t len;
	bus_io_fn io;
	void *opaque;
	const char *name;
};

/*
 * Bound: a bus holds one table, and while a write waits for lookups in
 * flight, the one it replaces; never more (vmm/bus.c table_retire()).  A
 * table has one entry per registered range, and only lkvm's device setup adds
 * ranges: a guest can move or disable a BAR, not add one.
 */
struct bus_table {
	unsigned int nr;
	struct bus_range ranges[];
};

struct bus {
	const char *name;
	pthread_mutex_t lock;
	struct bus_table *table; /* accessed with __atomic builtins */
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/*
 * Register returns 0, -EINVAL (empty or wrapping range) or -EEXIST
 * (overlap); unregister 0 or -ENOENT (@start must equal a registered range's
 * start).  Both may be called from a bus handler, and both wait for lookups
 * in flight on other threads (a binary search each) before they return.
 */
int bus_register(struct bus *bus, uint64_t start, uint64_t len, bus_io_fn io,
		 void *opaque, const char *name);
int bus_unregister(struct bus *bus, uint64_t start);

/*
 * Dispatch an access.  Returns true when a device owns every byte of
 * [addr, addr + len); false otherwise (the caller decides what an unclaimed
 * access means: all-ones for PIO reads, ignored for MMIO).
 */
bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		  bool is_write);

/*
 * Lookup only (tests): false if no range holds @addr, else true with a copy
 * of the range in *@out (unless @out is NULL).  A copy, not a pointer into
 * the table: the table may be freed as soon as the bus changes.
 */
bool bus_find(struct bus *bus, uint64_t addr, struct bus_range *out);

/* Threads that have looked a range up and not exited yet (tests). */
unsigned int bus_nr_readers(void);

#endif
