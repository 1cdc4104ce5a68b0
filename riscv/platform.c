// SPDX-License-Identifier: GPL-2.0
/*
 * riscv platform resources for virtio transports: virtio-mmio windows below
 * the PCI window, BARs inside it (the device tree's pci ranges), PCI I/O
 * ports (reached through an MMIO window, see riscv/kvm.c), and interrupt
 * sources of the PLIC or APLIC.  Bump allocators, as on x86: devices are
 * created once at start-up and live as long as the VM.  Every device is
 * recorded in vm->arch.fdt, which becomes the device tree.
 */
#include <errno.h>
#include <linux/kvm.h>

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
	return bump_alloc(&vm->arch.mmio_next, RISCV_PCI_MMIO_BASE,
			  RISCV_PCI_MMIO_BASE + RISCV_PCI_MMIO_SIZE, 4096, size);
}

uint64_t arch_alloc_platform_mmio(struct vm *vm, uint64_t size)
{
	return bump_alloc(&vm->arch.virtio_mmio_next, RISCV_VIRTIO_MMIO_BASE,
			  RISCV_VIRTIO_MMIO_END, 4096, size);
}

uint16_t arch_alloc_pio(struct vm *vm, uint16_t size)
{
	uint64_t next = vm->arch.pio_next, addr;

	addr = bump_alloc(&next, RISCV_PIO_ALLOC_START, RISCV_PCI_IO_SIZE, 4096,
			  size);
	vm->arch.pio_next = (uint32_t)next;
	return (uint16_t)addr;
}

_Static_assert(RISCV_FDT_MAX_MMIO >= LKVM_ARCH_MAX_VIRTIO_MMIO,
	       "every line the CLI allows can be described");

int arch_alloc_irq_line(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;

	if (RISCV_FIRST_FREE_IRQ + a->next_irq_line >= RISCV_PCI_INTX_IRQ_BASE)
		return -ENOSPC;
	return (int)(RISCV_FIRST_FREE_IRQ + a->next_irq_line++);
}

int arch_pci_intx_line(struct vm *vm, unsigned int slot)
{
	(void)vm;
	return (int)(RISCV_PCI_INTX_IRQ_BASE + slot % RISCV_FDT_PCI_SLOTS);
}

int arch_virtio_mmio_announce(struct vm *vm, uint64_t base, uint64_t size,
			      unsigned int irq)
{
	struct riscv_fdt_desc *d = &vm->arch.fdt;

	if (d->nr_virtio_mmio >= RISCV_FDT_MAX_MMIO) {
		pr_err("too many virtio-mmio devices (at most %u)",
		       (unsigned int)RISCV_FDT_MAX_MMIO);
		return -ENOSPC;
	}
	d->virtio_mmio[d->nr_virtio_mmio++] = (struct riscv_fdt_mmio_dev){
		.base = base,
		.size = size,
		.irq = irq,
	};
	return 0;
}

/*
 * With the in-kernel AIA, KVM's default routing sends GSI n to APLIC source
 * n (arch/riscv/kvm/vm.c); lkvm restates it when it adds MSI routes.  The
 * userspace PLIC has no routing table.
 */
unsigned int arch_default_irq_routes(struct kvm_irq_routing_entry *e,
				     unsigned int max)
{
	unsigned int n = 0, gsi;

	for (gsi = 0; gsi < RISCV_NR_IRQS && n < max; gsi++)
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = gsi },
		};
	return n;
}
