// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal ACPI: just enough for a guest to power the machine off.
 *
 *   RSDP -> XSDT -> FADT -> DSDT (one object: \_S5)
 *                |       -> FACS
 *                -> MADT (local APICs, IOAPIC, LINT1 = NMI)
 *
 * The MADT says exactly what the MP table says (Linux ignores the MP table
 * once ACPI is on, and uses it again under `acpi=off`): APIC ID = vCPU id,
 * one IOAPIC, ISA IRQ n on pin n.  PCI stays on conf1 probing with MP/ISA
 * style interrupt routing (`pci=noacpi`), so the DSDT need not describe it.
 * The FADT is "full hardware" with only a PM1a event block and a PM1a
 * control block at X86_ACPI_PM_BASE; a write of SLP_TYP=5 | SLP_EN to
 * PM1a_CNT is S5, soft-off, which lkvm turns into a clean exit.
 */
#include <errno.h>
#include <string.h>

#include "arch/arch.h"
#include "lkvm/util.h"

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_gas {
	uint8_t space_id; /* 1 = system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword */
	uint64_t address;
};

/* ACPI 6.x FADT (revision 6, 276 bytes). */
struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk,
		x_pm1b_cnt_blk, x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk,
		x_gpe1_blk, sleep_control, sleep_status;
	uint64_t hypervisor_id;
};

struct __attribute__((packed)) acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[31];
};

struct __attribute__((packed)) madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address;
	uint32_t gsi_base;
};

struct __attribute__((packed)) madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
};

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_LAPIC_NMI = 4 };
#define MADT_PCAT_COMPAT 1u /* dual 8259s present (KVM's in-kernel PIC) */

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT NMI");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

/* Name (_S5, Package (4) { 5, 0, 0, 0 }): SLP_TYP 5 means soft-off. */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',    /* NameOp "_S5_" */
	0x12, 0x07, 0x04,            /* PackageOp, PkgLength 7, 4 elements */
	0x0a, X86_ACPI_SLP_TYP_S5,   /* BytePrefix 5 */
	0x00, 0x00, 0x00,            /* ZeroOp x3 */
};

#define FADT_WBINVD (1u << 0)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define BOOT_ARCH_LEGACY_DEVICES (1u << 0)
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_ASPM (1u << 4)

uint8_t table_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *b++);
	return (uint8_t)(0 - sum);
}

static void header_init(struct acpi_header *h, const char *sig, uint32_t len,
			uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, "LKVM  ", 6);
	memcpy(h->oem_table_id, "LKVMVM  ", 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "LKVM", 4);
	h->creator_revision = 1;
}

static struct acpi_gas pio_gas(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){
		.space_id = 1,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = bytes == 4 ? 3 : bytes == 2 ? 2 : 1,
		.address = port,
	};
}

/* MADT for @nr_cpus at @mem; returns its length. */
static uint32_t write_madt(uint8_t *mem, unsigned int nr_cpus)
{
	struct acpi_header *h = (struct acpi_header *)mem;
	uint8_t *p = mem + sizeof(*h);
	uint32_t lapic_addr = X86_LAPIC_ADDR, flags = MADT_PCAT_COMPAT;
	unsigned int i;

	memcpy(p, &lapic_addr, 4);
	memcpy(p + 4, &flags, 4);
	p += 8;
	for (i = 0; i < nr_cpus; i++) {
		struct madt_lapic l = { MADT_LAPIC, sizeof(l), (uint8_t)i,
					(uint8_t)i, 1 /* enabled */ };
		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
	}
	struct madt_ioapic io = { MADT_IOAPIC, sizeof(io), (uint8_t)nr_cpus, 0,
				  X86_IOAPIC_ADDR, 0 };
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	/* LINT1 of every CPU (uid 0xff) is NMI, edge, active high. */
	struct madt_lapic_nmi nmi = { MADT_LAPIC_NMI, sizeof(nmi), 0xff, 0, 1 };
	memcpy(p, &nmi, sizeof(nmi));
	p += sizeof(nmi);

	header_init(h, "APIC", (uint32_t)(p - mem), 4);
	h->checksum = table_checksum(h, h->length);
	return h->length;
}

int acpi_write_tables(uint8_t *mem, size_t room, uint32_t gpa,
		      unsigned int nr_cpus)
{
	/* Layout inside the area, each table 16-byte aligned. */
	const uint32_t rsdp_off = 0, xsdt_off = 64, facs_off = 128,
		       fadt_off = 192, dsdt_off = fadt_off + 288,
		       madt_off = dsdt_off + 64;
	const uint32_t xsdt_len = sizeof(struct acpi_header) + 16;
	const uint32_t dsdt_len = sizeof(struct acpi_header) + sizeof(dsdt_aml);
	const uint32_t madt_max = 44 + 8 * nr_cpus + 12 + 6;
	uint64_t madt_gpa = gpa + madt_off;
	struct acpi_rsdp *rsdp = (struct acpi_rsdp *)(mem + rsdp_off);
	struct acpi_header *xsdt = (struct acpi_header *)(mem + xsdt_off);
	struct acpi_facs *facs = (struct acpi_facs *)(mem + facs_off);
	struct acpi_fadt *fadt = (struct acpi_fadt *)(mem + fadt_off);
	struct acpi_header *dsdt = (struct acpi_header *)(mem + dsdt_off);
	uint64_t fadt_gpa = gpa + fadt_off;

	if (!nr_cpus || nr_cpus > 254 || room < madt_off + madt_max)
		return -ENOSPC;
	memset(mem, 0, madt_off + madt_max);
	write_madt(mem + madt_off, nr_cpus);

	header_init(dsdt, "DSDT", dsdt_len, 2);
	memcpy(dsdt + 1, dsdt_aml, sizeof(dsdt_aml));
	dsdt->checksum = table_checksum(dsdt, dsdt_len);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	header_init(&fadt->h, "FACP", sizeof(*fadt), 6);
	/* Only the 64-bit pointers: the spec wants the 32-bit ones 0 then. */
	fadt->x_firmware_ctrl = gpa + facs_off;
	fadt->x_dsdt = gpa + dsdt_off;
	fadt->sci_int = X86_ACPI_SCI_IRQ;
	fadt->smi_cmd = 0; /* no SMM: the machine is always in ACPI mode */
	fadt->pm1a_evt_blk = X86_ACPI_PM_BASE;
	fadt->pm1_evt_len = 4;
	fadt->pm1a_cnt_blk = X86_ACPI_PM_BASE + X86_ACPI_PM1_CNT;
	fadt->pm1_cnt_len = 2;
	fadt->x_pm1a_evt_blk = pio_gas(X86_ACPI_PM_BASE, 4);
	fadt->x_pm1a_cnt_blk = pio_gas(X86_ACPI_PM_BASE + X86_ACPI_PM1_CNT, 2);
	fadt->century = 0x32; /* CMOS century register */
	fadt->iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 |
			       BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_ASPM;
	fadt->flags = FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON;
	fadt->minor_version = 3;
	memcpy(&fadt->hypervisor_id, "LKVM\0\0\0\0", 8);
	fadt->h.checksum = table_checksum(fadt, sizeof(*fadt));

	header_init(xsdt, "XSDT", xsdt_len, 1);
	memcpy(xsdt + 1, &fadt_gpa, 8);
	memcpy((uint8_t *)(xsdt + 1) + 8, &madt_gpa, 8);
	xsdt->checksum = table_checksum(xsdt, xsdt_len);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, "LKVM  ", 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = gpa + xsdt_off;
	rsdp->checksum = table_checksum(rsdp, 20); /* ACPI 1.0 part */
	rsdp->extended_checksum = table_checksum(rsdp, sizeof(*rsdp));
	return (int)(madt_off + madt_max);
}

/* ---- PM1a event and control registers ---- */

#define PM1_STS_WAK (1u << 15)
#define PM1_CNT_SCI_EN (1u << 0)
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_EN (1u << 13)

int acpi_pm_init(struct acpi_pm *pm, void (*poweroff)(void *), void *opaque)
{
	memset(pm, 0, sizeof(*pm));
	pm->cnt = PM1_CNT_SCI_EN;
	pm->poweroff = poweroff;
	pm->opaque = opaque;
	return -pthread_mutex_init(&pm->lock, NULL);
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	pthread_mutex_destroy(&pm->lock);
}

static void rw16(uint16_t *reg, uint64_t off, uint8_t *data, uint32_t len,
		 bool is_write, uint16_t *written)
{
	unsigned int i;

	for (i = 0; i < len && off + i < 2; i++) {
		unsigned int shift = (unsigned int)(off + i) * 8;
		if (is_write) {
			*written = (uint16_t)((*written & ~(0xffu << shift)) |
					      ((unsigned int)data[i] << shift));
		} else {
			data[i] = (uint8_t)(*reg >> shift);
		}
	}
	for (; !is_write && i < len; i++)
		data[i] = 0;
}

void acpi_pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct acpi_pm *pm = opaque;
	bool off_now = false;

	pthread_mutex_lock(&pm->lock);
	if (off < 2) { /* PM1a_STS: write-one-to-clear */
		uint16_t w = 0;
		rw16(&pm->sts, off, data, len, is_write, &w);
		if (is_write)
			pm->sts &= (uint16_t)~w;
	} else if (off < 4) { /* PM1a_EN */
		uint16_t w = pm->en;
		rw16(&pm->en, off - 2, data, len, is_write, &w);
		if (is_write)
			pm->en = w;
	} else { /* PM1a_CNT */
		uint16_t w = pm->cnt;
		rw16(&pm->cnt, off - X86_ACPI_PM1_CNT, data, len, is_write, &w);
		if (is_write) {
			unsigned int typ = (w >> PM1_CNT_SLP_TYP_SHIFT) & 7;
			/* SCI_EN stays set; SLP_EN is write-only. */
			pm->cnt = (uint16_t)((w | PM1_CNT_SCI_EN) & ~PM1_CNT_SLP_EN);
			off_now = (w & PM1_CNT_SLP_EN) && typ == X86_ACPI_SLP_TYP_S5;
		}
	}
	pthread_mutex_unlock(&pm->lock);
	if (off_now && pm->poweroff)
		pm->poweroff(pm->opaque);
}
