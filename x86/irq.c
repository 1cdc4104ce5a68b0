// SPDX-License-Identifier: GPL-2.0
/*
 * x86 interrupt wiring: KVM's default GSI routing (which lkvm must restate
 * whenever it installs a routing table of its own) and PCI INTx lines.
 *
 * INTA# of PCI slot n goes to one of a fixed set of ISA IRQ lines, the ones
 * no platform device uses.  Fixed, so the MP table and the MADT can describe
 * the wiring without knowing which devices exist: both mark these lines
 * level-triggered, active-high (the PCI INTx convention, and how KVM's
 * IOAPIC must see a line that stays asserted until the driver acknowledges
 * it).  ISA lines, because under ACPI with `pci=noacpi` Linux takes the IRQ
 * from PCI_INTERRUPT_LINE and only ISA IRQs 0-15 exist without an ACPI
 * _PRT.  With more devices than lines, lines are shared; the PCI bus ORs
 * the levels (hw/pci.c).
 */
#include <linux/kvm.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"

static const uint8_t pci_intx_lines[] = { 10, 11, 5, 7, 6, 14, 15 };

unsigned int x86_pci_intx_line(unsigned int slot)
{
	/* Slot 0 is the host bridge; slot 1 gets the first line. */
	return pci_intx_lines[(slot + ARRAY_SIZE(pci_intx_lines) - 1) %
			      ARRAY_SIZE(pci_intx_lines)];
}

uint32_t x86_pci_intx_line_mask(void)
{
	uint32_t mask = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(pci_intx_lines); i++)
		mask |= 1u << pci_intx_lines[i];
	return mask;
}

int arch_pci_intx_line(struct vm *vm, unsigned int slot)
{
	(void)vm;
	return (int)x86_pci_intx_line(slot);
}

static void irqchip_route(struct kvm_irq_routing_entry *e, unsigned int gsi,
			  unsigned int chip, unsigned int pin)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

/*
 * KVM's own default (arch/x86/kvm/irq_comm.c): GSIs 0-15 reach both the
 * IOAPIC pin of the same number and the 8259 pair; 16-23 the IOAPIC only.
 */
unsigned int arch_default_irq_routes(struct kvm_irq_routing_entry *e,
				     unsigned int max)
{
	unsigned int gsi, n = 0;

	for (gsi = 0; gsi < X86_IOAPIC_PINS; gsi++) {
		if (n < max)
			irqchip_route(&e[n++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
		if (gsi < 16 && n < max)
			irqchip_route(&e[n++], gsi,
				      gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
						KVM_IRQCHIP_PIC_SLAVE,
				      gsi % 8);
	}
	return n;
}
