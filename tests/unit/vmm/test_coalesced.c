// SPDX-License-Identifier: GPL-2.0
/*
 * Replaying coalesced writes (vmm/coalesced.c) from a ring laid out as
 * KVM lays it out: in order, to the right bus, across the wrap, and
 * stopping at a broken index instead of reading past the page.
 */
#include <linux/kvm.h>
#include <stdlib.h>
#include <unistd.h>

#include "lkvm/vm.h"
#include "test.h"

struct seen {
	uint64_t off[64];
	uint8_t byte[64];
	uint32_t len[64];
	unsigned int n;
};

static void record(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct seen *s = opaque;

	if (!is_write || s->n >= 64)
		return;
	s->off[s->n] = off;
	s->byte[s->n] = data[0];
	s->len[s->n++] = len;
}

static struct vm vm;
static struct seen pio, mmio;
static struct kvm_coalesced_mmio_ring *ring;
static uint32_t max;

static void setup(void)
{
	long page = sysconf(_SC_PAGESIZE);

	memset(&pio, 0, sizeof(pio));
	memset(&mmio, 0, sizeof(mmio));
	/* (vm_init() needs KVM's pieces: just what the replay uses.) */
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.coalesced_lock, NULL);
	if (bus_init(&vm.pio_bus, "pio") || bus_init(&vm.mmio_bus, "mmio") ||
	    bus_register(&vm.pio_bus, 0x3f8, 8, record, &pio, "uart") ||
	    bus_register(&vm.mmio_bus, 0x10000000, 0x100, record, &mmio, "m")) {
		printf("setup failed\n");
		exit(1);
	}
	ring = aligned_alloc((size_t)page, (size_t)page);
	memset(ring, 0, (size_t)page);
	max = (uint32_t)(((size_t)page - sizeof(*ring)) /
			 sizeof(ring->coalesced_mmio[0]));
	vm.coalesced_page = 1;
	vm.coalesced_ring = ring;
}

static void teardown(void)
{
	bus_destroy(&vm.pio_bus);
	bus_destroy(&vm.mmio_bus);
	pthread_mutex_destroy(&vm.coalesced_lock);
	free(ring);
}

static void queue(uint64_t addr, uint8_t v, uint32_t len, bool is_pio)
{
	struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->last];

	e->phys_addr = addr;
	e->len = len;
	e->pio = is_pio;
	memset(e->data, v, sizeof(e->data));
	ring->last = (ring->last + 1) % max;
}

TEST(empty_and_absent)
{
	setup();
	CHECK_EQ(vm_coalesced_drain(&vm), 0);
	vm.coalesced_ring = NULL;
	CHECK_EQ(vm_coalesced_drain(&vm), 0);
	teardown();
}

/* In order, each to its bus, and the ring is left empty. */
TEST(replays_in_order)
{
	setup();
	queue(0x3f8, 'a', 1, true);
	queue(0x10000000, 'm', 1, false);
	queue(0x3f8, 'b', 1, true);
	queue(0x3f9, 'c', 1, true);
	CHECK_EQ(vm_coalesced_drain(&vm), 4);
	CHECK_EQ(ring->first, ring->last);
	CHECK_EQ(pio.n, 3);
	CHECK_EQ(pio.byte[0], 'a');
	CHECK_EQ(pio.byte[1], 'b');
	CHECK_EQ(pio.byte[2], 'c');
	CHECK_EQ(pio.off[2], 1);
	CHECK_EQ(mmio.n, 1);
	CHECK_EQ(mmio.byte[0], 'm');
	CHECK_EQ(vm_coalesced_drain(&vm), 0);
	teardown();
}

/* Across the end of the ring. */
TEST(wraps)
{
	unsigned int i;

	setup();
	ring->first = ring->last = max - 2;
	for (i = 0; i < 5; i++)
		queue(0x3f8, (uint8_t)('0' + i), 1, true);
	CHECK_EQ(ring->last, 3);
	CHECK_EQ(vm_coalesced_drain(&vm), 5);
	CHECK_EQ(ring->first, 3);
	for (i = 0; i < 5; i++)
		CHECK_EQ(pio.byte[i], '0' + i);
	teardown();
}

/* A length past the entry's data is cut to it; an index past the ring
 * (not KVM's doing) stops the replay rather than reading off the page. */
TEST(bad_entries)
{
	setup();
	queue(0x3f8, 'x', 200, true);
	CHECK_EQ(vm_coalesced_drain(&vm), 1);
	CHECK_EQ(pio.len[0], 8);
	ring->first = max + 5;
	ring->last = 0;
	CHECK_EQ(vm_coalesced_drain(&vm), 0);
	CHECK_EQ(pio.n, 1);
	/* last past the ring: first would never reach it (an endless replay
	 * of stale entries under the lock). */
	ring->first = 0;
	ring->last = max + 5;
	CHECK_EQ(vm_coalesced_drain(&vm), 0);
	CHECK_EQ(pio.n, 1);
	teardown();
}

int main(void)
{
	RUN(empty_and_absent);
	RUN(replays_in_order);
	RUN(wraps);
	RUN(bad_entries);
	return test_summary();
}
