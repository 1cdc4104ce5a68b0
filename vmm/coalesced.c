// SPDX-License-Identifier: GPL-2.0
/*
 * Coalesced MMIO/PIO (KVM_REGISTER_COALESCED_MMIO): writes to a registered
 * zone do not exit; KVM appends them to a ring shared with userspace, and
 * lkvm replays them, in order, before it handles any other exit.  The
 * guest sees no difference as long as a device's writes to the zone need
 * no reaction until the guest next touches something that does exit: the
 * UART's transmit register while its transmit interrupt is off (how
 * Linux's console writes), where each byte would otherwise cost an exit
 * of its own (include/lkvm/serial8250.h).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "lkvm/vm.h"

int vm_coalesced_init(struct vm *vm)
{
	int off = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	vm->coalesced_page = off > 0 ? (unsigned int)off : 0;
	vm->coalesced_pio = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_COALESCED_PIO) > 0;
	return 0;
}

bool vm_coalesced_ok(const struct vm *vm, bool pio)
{
	return vm->coalesced_page && (!pio || vm->coalesced_pio);
}

int vm_coalesce_zone(struct vm *vm, uint64_t addr, uint32_t len, bool pio,
		     bool on)
{
	struct kvm_coalesced_mmio_zone z = {
		.addr = addr,
		.size = len,
		.pio = pio,
	};

	if (!vm_coalesced_ok(vm, pio))
		return -ENOTSUP;
	if (ioctl(vm->vm_fd, on ? KVM_REGISTER_COALESCED_MMIO :
		  KVM_UNREGISTER_COALESCED_MMIO, &z) < 0) {
		int e = errno;

		pr_debug("%s coalesced %s zone %#llx+%u: %s",
			 on ? "registering" : "unregistering", pio ? "PIO" : "MMIO",
			 (unsigned long long)addr, len, strerror(e));
		return -e;
	}
	return 0;
}

void vm_coalesced_set_ring(struct vm *vm, void *vcpu_mapping)
{
	if (!vm->coalesced_page)
		return;
	__atomic_store_n(&vm->coalesced_ring,
			 (struct kvm_coalesced_mmio_ring *)
			 ((uint8_t *)vcpu_mapping +
			  (size_t)vm->coalesced_page * (size_t)getpagesize()),
			 __ATOMIC_RELEASE);
}

unsigned int vm_coalesced_drain(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *ring =
		__atomic_load_n(&vm->coalesced_ring, __ATOMIC_ACQUIRE);
	unsigned int n = 0;
	uint32_t max;

	/* The common case (every exit), checked without the lock: nothing
	 * queued. */
	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
		     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return 0;
	max = (uint32_t)((getpagesize() - sizeof(*ring)) /
			 sizeof(ring->coalesced_mmio[0]));
	/* Every vCPU drains the one ring: in order, one at a time. */
	pthread_mutex_lock(&vm->coalesced_lock);
	for (;;) {
		uint32_t first = ring->first, last;
		struct kvm_coalesced_mmio e;

		/* KVM fills an entry, then publishes it by moving last
		 * (smp_wmb in coalesced_mmio_write): read last before it. */
		last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
		if (first == last)
			break;
		/* Not KVM's doing: a broken ring.  (A last past it would never
		 * be reached: an endless replay.) */
		if (first >= max || last >= max) {
			pr_debug("coalesced ring indices %u, %u out of range",
				 first, last);
			break;
		}
		memcpy(&e, &ring->coalesced_mmio[first], sizeof(e));
		if (e.len > sizeof(e.data))
			e.len = sizeof(e.data);
		bus_dispatch(e.pio ? &vm->pio_bus : &vm->mmio_bus, e.phys_addr,
			     e.data, e.len, true);
		/* The entry is consumed before KVM may reuse its slot. */
		__atomic_store_n(&ring->first, (first + 1) % max,
				 __ATOMIC_RELEASE);
		n++;
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
	return n;
}
