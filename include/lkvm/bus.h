/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BUS_H
#define LKVM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * An address-space bus (one for port I/O, one for MMIO).  vCPU threads look
 * ranges up on every exit, so lookups take no lock: the table is an immutable
 * sorted array published with an atomic pointer.  Writers (device setup)
 * serialise on a mutex and publish a new copy; old copies are kept until the
 * bus is destroyed, so a reader never sees freed memory.
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

struct bus_table {
	struct bus_table *retired_next; /* chain of superseded tables */
	unsigned int nr;
	struct bus_range ranges[];
};

struct bus {
	const char *name;
	pthread_mutex_t lock;
	struct bus_table *table; /* accessed with __atomic builtins */
	struct bus_table *retired;
};

int bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);

/* Returns 0, -EINVAL (empty or wrapping range) or -EEXIST (overlap). */
int bus_register(struct bus *bus, uint64_t start, uint64_t len, bus_io_fn io,
		 void *opaque, const char *name);
/* Returns 0 or -ENOENT. @start must equal a registered range's start. */
int bus_unregister(struct bus *bus, uint64_t start);

/*
 * Dispatch an access.  Returns true when a device owns every byte of
 * [addr, addr + len); false otherwise (the caller decides what an unclaimed
 * access means: all-ones for PIO reads, ignored for MMIO).
 */
bool bus_dispatch(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		  bool is_write);

/* Lookup only (used by tests and --debug). NULL if no range holds @addr. */
const struct bus_range *bus_find(struct bus *bus, uint64_t addr);

#endif
