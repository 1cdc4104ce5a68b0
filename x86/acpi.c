// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal ACPI: just enough for a guest to power the machine off and find
 * lkvm's platform devices.
 *
 *   RSDP -> XSDT -> FADT -> DSDT (\_S5; \_SB.PEVT, \_SB.VRnn)
 *                |       -> FACS
 *                -> MADT (local APICs, IOAPIC, PCI INTx overrides,
 *                         LINT1 = NMI)
 *
 * The MADT says exactly what the MP table says (Linux ignores the MP table
 * once ACPI is on, and uses it again under `acpi=off`): APIC ID = vCPU id,
 * one IOAPIC, ISA IRQ n on pin n, the ISA lines PCI INTx uses level-triggered
 * and active-high (interrupt source overrides).  PCI stays on conf1 probing
 * with MP/ISA style interrupt routing (`pci=noacpi`: the IRQ is
 * PCI_INTERRUPT_LINE), so the DSDT need not describe it.
 * The FADT is "full hardware" with only a PM1a event block and a PM1a
 * control block at X86_ACPI_PM_BASE; a write of SLP_TYP=5 | SLP_EN to
 * PM1a_CNT is S5, soft-off, which lkvm turns into a clean exit.
 * virtio-mmio devices, if any, are \_SB.VRnn in the DSDT, and the pvpanic
 * port is \_SB.PEVT (see below).
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

struct __attribute__((packed)) madt_override {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
};

struct __attribute__((packed)) madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
};

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_LAPIC_NMI = 4 };
/* MPS INTI flags: polarity active high (01), trigger level (11). */
#define MADT_INTI_LEVEL_HIGH 0x000d
#define MADT_PCAT_COMPAT 1u /* dual 8259s present (KVM's in-kernel PIC) */

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_override) == 10, "MADT override");
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

/*
 * virtio-mmio devices in the DSDT, hand-encoded AML (ACPI 6.5 chapters 6.4
 * and 20):
 *
 *   Scope (\_SB) {
 *     Device (VRnn) {                          // nn = _UID in hex
 *       Name (_HID, "LNRO0005")                // Linux's virtio_mmio ACPI id
 *       Name (_UID, nn)
 *       Name (_CRS, ResourceTemplate () {
 *         Memory32Fixed (ReadWrite, base, size)
 *         Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { gsi }
 *       })
 *     }
 *   }
 *
 * The Interrupt descriptor is what makes Linux program the IOAPIC pin
 * level-triggered, active-high (acpi_register_gsi); without it an ISA pin
 * (< 16) would stay edge-triggered.
 */
#define AML_NAME_OP 0x08
#define AML_STRING_PREFIX 0x0d
#define AML_BYTE_PREFIX 0x0a
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR 0x5c
#define AML_PKG_RESERVE 4  /* the longest PkgLength encoding */
/* Room for one device: 61 bytes as encoded today, plus slack. */
#define AML_MMIO_DEV_MAX 72
#define AML_SCOPE_MAX (1 + AML_PKG_RESERVE + 5)
/* The pvpanic device: 41 bytes as encoded today, plus slack. */
#define AML_PVPANIC_DEV_MAX 48

/*
 * Packages are written body-first: the body starts AML_PKG_RESERVE bytes
 * after @pkg, then this encodes PkgLength (which counts its own bytes) in
 * as few bytes as possible at @pkg and moves the body down behind it.
 * Returns the new end of the package.
 */
static uint8_t *aml_pkg_close(uint8_t *pkg, uint8_t *end)
{
	size_t body = (size_t)(end - (pkg + AML_PKG_RESERVE)), len;
	unsigned int n, i;

	/* 1 byte holds 6 bits; n > 1 bytes hold 4 + 8 * (n - 1) bits. */
	for (n = 1; n < AML_PKG_RESERVE; n++) {
		len = body + n;
		if (len < (n == 1 ? 0x40u : 1u << (4 + 8 * (n - 1))))
			break;
	}
	len = body + n;
	if (n == 1) {
		pkg[0] = (uint8_t)len;
	} else {
		pkg[0] = (uint8_t)((n - 1) << 6 | (len & 0xf));
		for (i = 1; i < n; i++)
			pkg[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	}
	memmove(pkg + n, pkg + AML_PKG_RESERVE, body);
	return pkg + n + body;
}

static uint8_t *aml_name(uint8_t *p, const char *seg)
{
	*p++ = AML_NAME_OP;
	memcpy(p, seg, 4);
	return p + 4;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* AML and resource data are little-endian */
	return p + 4;
}

static uint8_t *aml_mmio_device(uint8_t *p, unsigned int uid,
				const struct acpi_mmio_dev *d)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t *pkg, *buf, *res;

	*p++ = AML_EXT_PREFIX;
	*p++ = AML_DEVICE_OP;
	pkg = p;
	p += AML_PKG_RESERVE;
	*p++ = 'V';
	*p++ = 'R';
	*p++ = (uint8_t)hex[(uid >> 4) & 0xf];
	*p++ = (uint8_t)hex[uid & 0xf];

	p = aml_name(p, "_HID");
	*p++ = AML_STRING_PREFIX;
	memcpy(p, "LNRO0005", 9); /* with its NUL */
	p += 9;

	p = aml_name(p, "_UID");
	*p++ = AML_BYTE_PREFIX;
	*p++ = (uint8_t)uid;

	p = aml_name(p, "_CRS");
	*p++ = AML_BUFFER_OP;
	buf = p;
	p += AML_PKG_RESERVE;
	*p++ = AML_BYTE_PREFIX; /* BufferSize */
	res = p++;
	/* Memory32Fixed: large item 0x06, 9 data bytes, read-write. */
	*p++ = 0x86;
	*p++ = 9;
	*p++ = 0;
	*p++ = 1;
	p = put32(p, (uint32_t)d->base);
	p = put32(p, d->size);
	/* Extended Interrupt: large item 0x09, 6 data bytes; flags:
	 * consumer (bit 0), level (bit 1 clear), active-high (bit 2 clear),
	 * exclusive (bit 3 clear); one interrupt. */
	*p++ = 0x89;
	*p++ = 6;
	*p++ = 0;
	*p++ = 0x01;
	*p++ = 1;
	p = put32(p, d->irq);
	/* End tag, checksum 0 ("treat as summing to zero"). */
	*p++ = 0x79;
	*p++ = 0;
	*res = (uint8_t)(p - (res + 1));
	p = aml_pkg_close(buf, p);
	return aml_pkg_close(pkg, p);
}

/*
 * The pvpanic device as QEMU describes its ISA one, which Linux's
 * pvpanic-mmio driver matches by _HID (its I/O resource is ioport-mapped):
 *
 *   Device (PEVT) {
 *     Name (_HID, "QEMU0001")
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, port, port, 1, 1) })
 *   }
 */
static uint8_t *aml_pvpanic_device(uint8_t *p, uint16_t port)
{
	uint8_t *pkg, *buf, *res;

	*p++ = AML_EXT_PREFIX;
	*p++ = AML_DEVICE_OP;
	pkg = p;
	p += AML_PKG_RESERVE;
	memcpy(p, "PEVT", 4);
	p += 4;

	p = aml_name(p, "_HID");
	*p++ = AML_STRING_PREFIX;
	memcpy(p, "QEMU0001", 9); /* with its NUL */
	p += 9;

	p = aml_name(p, "_CRS");
	*p++ = AML_BUFFER_OP;
	buf = p;
	p += AML_PKG_RESERVE;
	*p++ = AML_BYTE_PREFIX; /* BufferSize */
	res = p++;
	/* I/O port: small item 0x08, 7 data bytes; 16-bit decode, minimum
	 * = maximum = @port, alignment 1, one port. */
	*p++ = 0x47;
	*p++ = 0x01;
	*p++ = (uint8_t)port;
	*p++ = (uint8_t)(port >> 8);
	*p++ = (uint8_t)port;
	*p++ = (uint8_t)(port >> 8);
	*p++ = 1;
	*p++ = X86_PVPANIC_LEN;
	*p++ = 0x79; /* end tag, checksum 0 */
	*p++ = 0;
	*res = (uint8_t)(p - (res + 1));
	p = aml_pkg_close(buf, p);
	return aml_pkg_close(pkg, p);
}

/* The DSDT's AML into @aml; returns its length. */
static size_t dsdt_build(uint8_t *aml, const struct acpi_devices *devs)
{
	uint8_t *p = aml, *pkg;
	unsigned int i;

	memcpy(p, dsdt_aml, sizeof(dsdt_aml));
	p += sizeof(dsdt_aml);
	if (!devs->nr_mmio && !devs->pvpanic_port)
		return (size_t)(p - aml);
	*p++ = AML_SCOPE_OP;
	pkg = p;
	p += AML_PKG_RESERVE;
	*p++ = AML_ROOT_CHAR;
	memcpy(p, "_SB_", 4);
	p += 4;
	if (devs->pvpanic_port)
		p = aml_pvpanic_device(p, devs->pvpanic_port);
	for (i = 0; i < devs->nr_mmio; i++)
		p = aml_mmio_device(p, i, &devs->mmio[i]);
	p = aml_pkg_close(pkg, p);
	return (size_t)(p - aml);
}

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
	/*
	 * PCI INTx lines are ISA IRQs (x86/irq.c) that must be level-triggered,
	 * active-high: say so with an override of each onto its own GSI.
	 */
	for (i = 0; i < 16; i++) {
		struct madt_override o = { MADT_OVERRIDE, sizeof(o), 0 /* ISA */,
					   (uint8_t)i, i, MADT_INTI_LEVEL_HIGH };
		if (!(x86_pci_intx_line_mask() >> i & 1))
			continue;
		memcpy(p, &o, sizeof(o));
		p += sizeof(o);
	}
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
	return acpi_write_tables_mmio(mem, room, gpa, nr_cpus, NULL, 0);
}

int acpi_write_tables_mmio(uint8_t *mem, size_t room, uint32_t gpa,
			   unsigned int nr_cpus,
			   const struct acpi_mmio_dev *mmio,
			   unsigned int nr_mmio)
{
	const struct acpi_devices devs = { .mmio = mmio, .nr_mmio = nr_mmio };

	return acpi_write_tables_devs(mem, room, gpa, nr_cpus, &devs);
}

int acpi_write_tables_devs(uint8_t *mem, size_t room, uint32_t gpa,
			   unsigned int nr_cpus,
			   const struct acpi_devices *devs)
{
	/* Layout inside the area, each table 16-byte aligned; the DSDT,
	 * whose size depends on the devices, comes last. */
	const uint32_t rsdp_off = 0, xsdt_off = 64, facs_off = 128,
		       fadt_off = 192, madt_off = fadt_off + 288;
	const uint32_t xsdt_len = sizeof(struct acpi_header) + 16;
	const uint32_t madt_max = 44 + 8 * nr_cpus + 12 + 6 +
		10 * (uint32_t)__builtin_popcount(x86_pci_intx_line_mask());
	const uint32_t dsdt_off = ALIGN_UP(madt_off + madt_max, 16);
	uint8_t aml[sizeof(dsdt_aml) + AML_SCOPE_MAX + AML_PVPANIC_DEV_MAX +
		    X86_IOAPIC_PINS * AML_MMIO_DEV_MAX];
	uint32_t dsdt_len;
	uint64_t madt_gpa = gpa + madt_off;
	struct acpi_rsdp *rsdp = (struct acpi_rsdp *)(mem + rsdp_off);
	struct acpi_header *xsdt = (struct acpi_header *)(mem + xsdt_off);
	struct acpi_facs *facs = (struct acpi_facs *)(mem + facs_off);
	struct acpi_fadt *fadt = (struct acpi_fadt *)(mem + fadt_off);
	struct acpi_header *dsdt = (struct acpi_header *)(mem + dsdt_off);
	uint64_t fadt_gpa = gpa + fadt_off;

	if (!nr_cpus || nr_cpus > 254 || devs->nr_mmio > X86_IOAPIC_PINS)
		return -ENOSPC;
	dsdt_len = (uint32_t)(sizeof(struct acpi_header) +
			      dsdt_build(aml, devs));
	if (room < dsdt_off + dsdt_len)
		return -ENOSPC;
	memset(mem, 0, dsdt_off + dsdt_len);
	write_madt(mem + madt_off, nr_cpus);

	header_init(dsdt, "DSDT", dsdt_len, 2);
	memcpy(dsdt + 1, aml, dsdt_len - sizeof(struct acpi_header));
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
	return (int)(dsdt_off + dsdt_len);
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
