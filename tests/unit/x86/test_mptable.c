// SPDX-License-Identifier: GPL-2.0
/*
 * The MP table (x86/mptable.c), decoded independently here from the layout
 * in the Intel MultiProcessor Specification 1.4, chapter 4.
 */
#include <errno.h>

#include "arch/arch.h"
#include "lkvm/util.h"
#include "test.h"

#define GPA 0xf0000u
#define ROOM 0x10000u

static _Alignas(16) uint8_t area[ROOM];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Entry sizes by type: processor 20 bytes, the others 8. */
static const unsigned int entry_size[5] = { 20, 8, 8, 8, 8 };

struct decoded {
	unsigned int nr_cpu, nr_bus, nr_ioapic, nr_intsrc, nr_lintsrc;
	unsigned int bsp_count, bsp_apic;
	uint32_t cpu_apic_seen[8]; /* bitmap of 256 APIC IDs */
	int ioapic_id;
	uint32_t ioapic_addr;
	uint8_t ioapic_flags;
	int isa_bus, pci_bus;
	uint32_t isa_irqs; /* bitmap of ISA IRQs routed to the IOAPIC */
	uint32_t level_irqs; /* ISA IRQs marked level-triggered, active-high */
	uint32_t pci_slots; /* bitmap of PCI slots with an INTA# entry */
	unsigned int nr_pci_intsrc;
	bool irq_identity; /* ISA IRQ n -> IOAPIC pin n */
	bool lint_ok;
	bool bad_entry;
};

/* Check the floating pointer and header; decode every entry. */
static bool decode(unsigned int nr_cpus, int used, struct decoded *d)
{
	const uint8_t *mpf = area, *mpc, *p, *end;
	uint16_t len, count, n;

	memset(d, 0, sizeof(*d));
	d->ioapic_id = d->isa_bus = d->pci_bus = -1;
	d->irq_identity = true;

	/* Floating pointer: "_MP_", 16 bytes, sums to 0, points at PCMP. */
	if (!CHECK_EQ(memcmp(mpf, "_MP_", 4), 0))
		return false;
	CHECK_EQ(mpf[8], 1);    /* length in paragraphs */
	CHECK_EQ(mpf[9], 4);    /* spec revision 1.4 */
	CHECK_EQ(sum8(mpf, 16), 0);
	CHECK_EQ(mpf[11], 0);   /* feature 1: 0 = a config table follows */
	if (!CHECK_EQ(get32(mpf + 4), GPA + 16))
		return false;
	mpc = area + (get32(mpf + 4) - GPA);

	/* Configuration table header. */
	if (!CHECK_EQ(memcmp(mpc, "PCMP", 4), 0))
		return false;
	len = get16(mpc + 4);
	CHECK_EQ(mpc[6], 4);
	CHECK_EQ(sum8(mpc, len), 0);
	CHECK_EQ(get32(mpc + 36), 0xfee00000); /* local APIC */
	CHECK_EQ(get16(mpc + 40), 0);          /* no extended entries */
	count = get16(mpc + 34);
	CHECK_EQ(used, 16 + len);

	p = mpc + 44;
	end = mpc + len;
	for (n = 0; n < count; n++) {
		uint8_t type = p[0];

		if (type > 4 || p + entry_size[type] > end) {
			d->bad_entry = true;
			break;
		}
		switch (type) {
		case 0:
			d->nr_cpu++;
			d->cpu_apic_seen[p[1] / 32] |= 1u << (p[1] % 32);
			if (!(p[3] & 1))
				d->bad_entry = true; /* a disabled CPU */
			if (p[3] & 2) {
				d->bsp_count++;
				d->bsp_apic = p[1];
			}
			CHECK_EQ(get32(p + 4), 0x000806f1); /* signature */
			CHECK_EQ(get32(p + 8), 0x178bfbff); /* features */
			break;
		case 1:
			d->nr_bus++;
			if (!memcmp(p + 2, "ISA   ", 6))
				d->isa_bus = p[1];
			else if (!memcmp(p + 2, "PCI   ", 6))
				d->pci_bus = p[1];
			else
				d->bad_entry = true;
			break;
		case 2:
			d->nr_ioapic++;
			d->ioapic_id = p[1];
			d->ioapic_flags = p[3];
			d->ioapic_addr = get32(p + 4);
			break;
		case 3:
			if (p[1] != 0 || (int)p[6] != d->ioapic_id)
				d->bad_entry = true;
			if (p[4] == d->pci_bus) {
				/* INTA# of slot p[5] >> 2: level, active high,
				 * on the line x86/irq.c picks for the slot. */
				d->nr_pci_intsrc++;
				d->pci_slots |= 1u << (p[5] >> 2);
				if ((p[5] & 3) != 0 || get16(p + 2) != 0x000d ||
				    p[7] != x86_pci_intx_line(p[5] >> 2))
					d->bad_entry = true;
				break;
			}
			d->nr_intsrc++;
			if (p[4] != d->isa_bus)
				d->bad_entry = true;
			d->isa_irqs |= 1u << (p[5] & 31);
			if (get16(p + 2) == 0x000d)
				d->level_irqs |= 1u << (p[5] & 31);
			else if (get16(p + 2) != 0)
				d->bad_entry = true;
			if (p[5] != p[7])
				d->irq_identity = false;
			break;
		case 4:
			d->nr_lintsrc++;
			/* ExtINT on LINT0 and NMI on LINT1, for all CPUs. */
			if (p[6] != 0xff ||
			    !((p[1] == 3 && p[7] == 0) || (p[1] == 1 && p[7] == 1)))
				d->bad_entry = true;
			d->lint_ok = d->nr_lintsrc == 2;
			break;
		}
		p += entry_size[type];
	}
	CHECK(!d->bad_entry);
	CHECK_PTR_EQ(p, end); /* entries fill the table exactly */
	CHECK_EQ(count, nr_cpus + 2 + 1 + 15 + 31 + 2);
	return true;
}

static const struct mptable_cpu cpu = { 0x000806f1, 0x178bfbff };

static void check_for(unsigned int nr_cpus)
{
	struct decoded d;
	unsigned int i;
	int used;

	memset(area, 0xcc, sizeof(area));
	used = mptable_write(area, ROOM, GPA, nr_cpus, &cpu);
	REQUIRE(used > 0);
	CHECK_EQ(used, 16 + 44 + 20 * nr_cpus + 2 * 8 + 8 + 48 * 8);
	CHECK_EQ(area[used], 0xcc); /* nothing written past the end */
	REQUIRE(decode(nr_cpus, used, &d));

	CHECK_EQ(d.nr_cpu, nr_cpus);
	for (i = 0; i < 256; i++)
		CHECK_EQ(!!(d.cpu_apic_seen[i / 32] & (1u << (i % 32))),
			 i < nr_cpus);
	CHECK_EQ(d.bsp_count, 1);
	CHECK_EQ(d.bsp_apic, 0);

	CHECK_EQ(d.nr_bus, 2);
	CHECK(d.isa_bus >= 0 && d.pci_bus >= 0 && d.isa_bus != d.pci_bus);

	CHECK_EQ(d.nr_ioapic, 1);
	CHECK(d.ioapic_id >= 0 && d.ioapic_id < 255);
	CHECK(!(d.cpu_apic_seen[d.ioapic_id / 32] & (1u << (d.ioapic_id % 32))));
	CHECK_EQ(d.ioapic_addr, X86_IOAPIC_ADDR);
	CHECK_EQ(d.ioapic_addr, 0xfec00000);
	CHECK(d.ioapic_flags & 1);

	/* ISA IRQs 0-15 except the cascade (2), each to the same IOAPIC pin. */
	CHECK_EQ(d.nr_intsrc, 15);
	CHECK_EQ(d.isa_irqs, 0xfffb);
	CHECK(d.irq_identity);
	/* The ISA lines PCI INTx uses are level/active-high, the rest are
	 * bus default (edge/high), and every slot but the host bridge's has
	 * its INTA# on one of those lines. */
	CHECK_EQ(d.level_irqs, x86_pci_intx_line_mask());
	CHECK_EQ(d.nr_pci_intsrc, 31);
	CHECK_EQ(d.pci_slots, 0xfffffffe);
	CHECK_EQ(d.nr_lintsrc, 2);
	CHECK(d.lint_ok);
}

TEST(one_cpu) { check_for(1); }
TEST(two_cpus) { check_for(2); }
TEST(eight_cpus) { check_for(8); }
TEST(max_cpus) { check_for(254); }

TEST(other_address)
{
	int used;

	/* physptr follows the guest address given, not the host buffer. */
	memset(area, 0, sizeof(area));
	used = mptable_write(area, ROOM, 0x9fc00, 4, &cpu);
	CHECK(used > 0);
	CHECK_EQ(get32(area + 4), 0x9fc10);
	CHECK_EQ(sum8(area, 16), 0);
}

TEST(rejects)
{
	size_t need = 16 + 44 + 20 * 2 + 2 * 8 + 8 + 48 * 8;
	unsigned int i;
	bool untouched = true;

	memset(area, 0xcc, sizeof(area));
	CHECK(mptable_write(area, ROOM, GPA, 0, &cpu) < 0);
	CHECK(mptable_write(area, ROOM, GPA, 255, &cpu) < 0);
	CHECK(mptable_write(area, ROOM, GPA, 100000, &cpu) < 0);
	CHECK(mptable_write(area, need - 1, GPA, 2, &cpu) < 0);
	CHECK(mptable_write(area, 0, GPA, 1, &cpu) < 0);
	for (i = 0; i < ROOM; i++)
		untouched &= area[i] == 0xcc;
	CHECK(untouched);
	/* Exactly enough room is enough. */
	CHECK_EQ(mptable_write(area, need, GPA, 2, &cpu), (int)need);
}

TEST(pci_intx_lines)
{
	uint32_t mask = x86_pci_intx_line_mask();
	uint32_t used = 0;
	unsigned int slot;

	/* ISA lines no platform device uses: not 0-4 (timer, keyboard,
	 * cascade, COM2, COM1), 8 (RTC), 9 (ACPI SCI), 12, 13. */
	CHECK_EQ(mask & 0x331f, 0);
	CHECK_EQ(mask & ~0xffffu, 0);
	for (slot = 1; slot < 32; slot++) {
		unsigned int line = x86_pci_intx_line(slot);

		CHECK(mask >> line & 1);
		used |= 1u << line;
	}
	CHECK_EQ(used, mask);
	/* Neighbouring slots get different lines. */
	CHECK(x86_pci_intx_line(1) != x86_pci_intx_line(2));
}

int main(void)
{
	RUN(one_cpu);
	RUN(two_cpus);
	RUN(eight_cpus);
	RUN(max_cpus);
	RUN(other_address);
	RUN(rejects);
	RUN(pci_intx_lines);
	return test_summary();
}
