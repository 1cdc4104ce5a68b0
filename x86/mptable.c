// SPDX-License-Identifier: GPL-2.0
/*
 * Intel MultiProcessor Specification 1.4 tables.  lkvm describes the machine
 * with an MP table rather than ACPI: it is what Linux uses under `noacpi`
 * (lkvm's default), it is small, and it is all an SMP guest with an IOAPIC
 * needs.  ISA IRQ n is wired to IOAPIC pin n, which matches KVM's default
 * GSI routing, so no routing table has to be installed.  INTA# of every PCI
 * slot is listed too, on the ISA line x86/irq.c gives it; those lines are
 * level-triggered and active-high, for the PCI and the ISA entry alike.
 */
#include <errno.h>
#include <string.h>

#include "arch/arch.h"

#define MP_SPEC_REV 4
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_IRQ_INT, MP_IRQ_NMI, MP_IRQ_SMI, MP_IRQ_EXTINT };

#define BUS_PCI 0
#define BUS_ISA 1

/* irqflag: polarity active high (01), trigger level (11). */
#define MP_IRQ_LEVEL_HIGH 0x000d
/* PCI source IRQ: device number in bits 6:2, INTx pin (0 = INTA#) in 1:0. */
#define MP_PCI_IRQ(slot) ((uint8_t)((slot) << 2))
#define MP_PCI_SLOTS 32

struct __attribute__((packed)) mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_table {
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type, busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

_Static_assert(sizeof(struct mpf_intel) == 16, "mpf size");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc size");
_Static_assert(sizeof(struct mpc_cpu) == 20, "cpu entry size");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "intsrc size");

int mptable_write(uint8_t *mem, size_t room, uint32_t gpa, unsigned int nr_cpus,
		  const struct mptable_cpu *cpu)
{
	/* Entries: CPUs, 2 buses, 1 IOAPIC, 15 ISA IRQs, 31 PCI slots (the
	 * host bridge in slot 0 has no INTx), 2 local IRQs. */
	size_t need = sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
		      nr_cpus * sizeof(struct mpc_cpu) + 2 * sizeof(struct mpc_bus) +
		      sizeof(struct mpc_ioapic) +
		      (15 + MP_PCI_SLOTS - 1 + 2) * sizeof(struct mpc_intsrc);
	uint32_t pci_lines = x86_pci_intx_line_mask();
	struct mpf_intel *mpf = (struct mpf_intel *)mem;
	struct mpc_table *mpc = (struct mpc_table *)(mem + sizeof(*mpf));
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)nr_cpus;
	uint16_t count = 0;
	unsigned int i;

	if (!nr_cpus || nr_cpus > 254 || need > room)
		return -ENOSPC;
	memset(mem, 0, need);

	for (i = 0; i < nr_cpus; i++) {
		struct mpc_cpu *c = (struct mpc_cpu *)p;
		c->type = MP_PROCESSOR;
		c->apicid = (uint8_t)i; /* KVM's default APIC ID is the vCPU id */
		c->apicver = APIC_VERSION;
		c->cpuflag = 1 /* enabled */ | (i == 0 ? 2 /* boot CPU */ : 0);
		c->cpufeature = cpu->signature;
		c->featureflag = cpu->features;
		p += sizeof(*c);
		count++;
	}
	{
		struct mpc_bus *b = (struct mpc_bus *)p;
		b[0] = (struct mpc_bus){ MP_BUS, BUS_PCI, "PCI   " };
		b[1] = (struct mpc_bus){ MP_BUS, BUS_ISA, "ISA   " };
		p += 2 * sizeof(*b);
		count += 2;
	}
	{
		struct mpc_ioapic *io = (struct mpc_ioapic *)p;
		*io = (struct mpc_ioapic){ MP_IOAPIC, ioapic_id, IOAPIC_VERSION,
					   1, X86_IOAPIC_ADDR };
		p += sizeof(*io);
		count++;
	}
	for (i = 0; i < 16; i++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;
		if (i == 2)
			continue; /* the 8259 cascade */
		/* Flags 0: bus-default polarity/trigger (ISA: edge, high). */
		*s = (struct mpc_intsrc){ MP_INTSRC, MP_IRQ_INT,
					  pci_lines >> i & 1 ? MP_IRQ_LEVEL_HIGH : 0,
					  BUS_ISA, (uint8_t)i, ioapic_id,
					  (uint8_t)i };
		p += sizeof(*s);
		count++;
	}
	for (i = 1; i < MP_PCI_SLOTS; i++) {
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;
		*s = (struct mpc_intsrc){ MP_INTSRC, MP_IRQ_INT, MP_IRQ_LEVEL_HIGH,
					  BUS_PCI, MP_PCI_IRQ(i), ioapic_id,
					  (uint8_t)x86_pci_intx_line(i) };
		p += sizeof(*s);
		count++;
	}
	{
		struct mpc_intsrc *s = (struct mpc_intsrc *)p;
		/* LINT0 takes the 8259's ExtINT, LINT1 takes NMI, on all CPUs. */
		s[0] = (struct mpc_intsrc){ MP_LINTSRC, MP_IRQ_EXTINT, 0, BUS_ISA,
					    0, 0xff, 0 };
		s[1] = (struct mpc_intsrc){ MP_LINTSRC, MP_IRQ_NMI, 0, BUS_ISA,
					    0, 0xff, 1 };
		p += 2 * sizeof(*s);
		count += 2;
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "LKVM    ", 8);
	memcpy(mpc->productid, "LKVM VM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = X86_LAPIC_ADDR;
	mpc->checksum = table_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = gpa + (uint32_t)sizeof(*mpf);
	mpf->length = 1; /* in 16-byte units */
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = table_checksum(mpf, sizeof(*mpf));
	return (int)(p - mem);
}
