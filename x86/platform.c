// SPDX-License-Identifier: GPL-2.0
/*
 * x86 platform resources for virtio transports: guest-physical MMIO space in
 * the 32-bit hole, I/O ports for legacy BARs, and IOAPIC interrupt lines.
 * Simple bump allocators: devices are created once at start-up and live as
 * long as the VM.
 */
#include <errno.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

struct pci_bus *arch_pci_bus(struct vm *vm)
{
	return &vm->arch.pci;
}

uint64_t arch_alloc_mmio(struct vm *vm, uint64_t size)
{
	/* Natural alignment (BARs need it), at least a page. */
	return bump_alloc(&vm->arch.mmio_next, X86_MMIO_ALLOC_START,
			  X86_MMIO_ALLOC_END, 4096, size);
}

/* x86 has one MMIO hole for BARs and platform devices alike. */
uint64_t arch_alloc_platform_mmio(struct vm *vm, uint64_t size)
{
	return arch_alloc_mmio(vm, size);
}

uint16_t arch_alloc_pio(struct vm *vm, uint16_t size)
{
	uint64_t next = vm->arch.pio_next;
	uint64_t addr = bump_alloc(&next, X86_PIO_ALLOC_START,
				   X86_PIO_ALLOC_END, 4, size);

	vm->arch.pio_next = (uint32_t)next;
	return (uint16_t)addr;
}

/*
 * IOAPIC pins nobody else uses: the ISA lines left free by the platform
 * devices (0/2 timer, 1 keyboard, 4 COM1, 8 RTC, 9 ACPI SCI, 12 mouse,
 * 3 COM2, 13 FPU) and then pins 16-23.
 */
static const uint8_t free_lines[] = { 5, 6, 7, 10, 11, 14, 15,
				      16, 17, 18, 19, 20, 21, 22, 23 };

_Static_assert(ARRAY_SIZE(free_lines) == LKVM_ARCH_MAX_VIRTIO_MMIO,
	       "the --virtio-transport mmio limit the CLI checks");

int arch_alloc_irq_line(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;

	if (a->next_irq_line >= ARRAY_SIZE(free_lines))
		return -ENOSPC;
	return free_lines[a->next_irq_line++];
}
