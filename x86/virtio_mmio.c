// SPDX-License-Identifier: GPL-2.0
/*
 * Telling an x86 guest about virtio-mmio devices.  x86 has no device tree,
 * so each device is announced twice:
 *
 *  - on the kernel command line, `virtio_mmio.device=<size>@<base>:<irq>`,
 *    kvmtool's way; it needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, which
 *    Debian's kernels do not set (they warn about an unknown parameter and
 *    carry on);
 *  - in the ACPI DSDT as a LNRO0005 device (x86/acpi.c), which Debian's
 *    virtio_mmio module matches once it is loaded.
 *
 * A kernel that has both creates two platform devices for one window; the
 * first to probe claims the memory region and the other fails with -EBUSY,
 * harmlessly.  Both announcements are kept: dropping the command line would
 * lose `acpi=off` guests, dropping ACPI would lose Debian's.
 *
 * The line must work level-triggered, active-high (the transport holds it
 * high while InterruptStatus is non-zero).  Through ACPI the _CRS Interrupt
 * descriptor makes Linux program the IOAPIC pin that way.  A command-line
 * device gets a bare Linux IRQ number: the ISA lines lkvm hands out first
 * (5, 6, 7, 10, 11, 14, 15) exist without ACPI and the MP table and MADT
 * mark them level/high (x86/irq.c); pins 16-23 (the eighth device on) exist
 * for Linux only through ACPI.  Should a pin still end up edge-triggered,
 * virtio/transport/mmio.c makes a fresh rising edge whenever bits remain after an
 * acknowledge, so that works too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

int arch_virtio_mmio_announce(struct vm *vm, uint64_t base, uint64_t size,
			      unsigned int irq)
{
	struct arch_vm *a = &vm->arch;
	char param[80];

	if (a->nr_virtio_mmio >= ARRAY_SIZE(a->virtio_mmio)) {
		pr_err("too many virtio-mmio devices (at most %zu)",
		       ARRAY_SIZE(a->virtio_mmio));
		return -ENOSPC;
	}
	/* Memory32Fixed in the DSDT: the window must lie below 4 GiB. */
	if (!size || size > UINT32_MAX || base > X86_4GIB - size ||
	    irq >= X86_IOAPIC_PINS) {
		pr_err("virtio-mmio window %#llx+%#llx irq %u cannot be described to the guest",
		       (unsigned long long)base, (unsigned long long)size, irq);
		return -EINVAL;
	}
	snprintf(param, sizeof(param), "virtio_mmio.device=%#llx@%#llx:%u",
		 (unsigned long long)size, (unsigned long long)base, irq);
	if (vm_cmdline_add(vm, param)) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	a->virtio_mmio[a->nr_virtio_mmio++] = (struct acpi_mmio_dev){
		.base = base,
		.size = (uint32_t)size,
		.irq = irq,
	};
	return 0;
}
