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
	struct arch_vm *a = &vm->arch;
	uint64_t align = 4096, addr;

	if (!size)
		return 0;
	/* Natural alignment (BARs need it), at least a page. */
	while (align < size)
		align <<= 1;
	if (!a->mmio_next)
		a->mmio_next = X86_MMIO_ALLOC_START;
	addr = ALIGN_UP(a->mmio_next, align);
	if (addr < a->mmio_next || addr + size > X86_MMIO_ALLOC_END)
		return 0;
	a->mmio_next = addr + size;
	return addr;
}

/* x86 has one MMIO hole for BARs and platform devices alike. */
uint64_t arch_alloc_platform_mmio(struct vm *vm, uint64_t size)
{
	return arch_alloc_mmio(vm, size);
}

uint16_t arch_alloc_pio(struct vm *vm, uint16_t size)
{
	struct arch_vm *a = &vm->arch;
	uint32_t align = 4, addr;

	if (!size)
		return 0;
	while (align < size)
		align <<= 1;
	if (!a->pio_next)
		a->pio_next = X86_PIO_ALLOC_START;
	addr = ALIGN_UP(a->pio_next, align);
	if (addr + size > X86_PIO_ALLOC_END)
		return 0;
	a->pio_next = addr + size;
	return (uint16_t)addr;
}

/*
 * IOAPIC pins nobody else uses: the ISA lines left free by the platform
 * devices (0/2 timer, 1 keyboard, 4 COM1, 8 RTC, 9 ACPI SCI, 12 mouse,
 * 3 COM2, 13 FPU) and then pins 16-23.
 */
static const uint8_t free_lines[] = { 5, 6, 7, 10, 11, 14, 15,
				      16, 17, 18, 19, 20, 21, 22, 23 };

int arch_alloc_irq_line(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;

	if (a->next_irq_line >= ARRAY_SIZE(free_lines))
		return -ENOSPC;
	return free_lines[a->next_irq_line++];
}
