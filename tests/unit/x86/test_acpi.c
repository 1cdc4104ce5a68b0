// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI tables and the PM1a register block (x86/acpi.c), decoded here from
 * the layouts in the ACPI 6.x specification rather than lkvm's structs.
 */
#include <errno.h>

#include "arch/arch.h"
#include "test.h"

#define GPA X86_ACPI_AREA
#define ROOM 0x10000u

static _Alignas(16) uint8_t area[ROOM];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}
static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Host pointer for a guest address inside the area, or NULL. */
static const uint8_t *at(uint64_t gpa, size_t len)
{
	if (gpa < GPA || gpa - GPA > ROOM || len > ROOM - (gpa - GPA))
		return NULL;
	return area + (gpa - GPA);
}

/* A system description table: signature, sane length, checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa, 36);
	uint32_t len;

	if (!CHECK(t != NULL))
		return NULL;
	if (!CHECK_EQ(memcmp(t, sig, 4), 0))
		return NULL;
	len = get32(t + 4);
	if (!CHECK(len >= 36 && at(gpa, len) != NULL))
		return NULL;
	CHECK_EQ(sum8(t, len), 0);
	return t;
}

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *facs, *dsdt, *madt;
};

static bool walk(struct tables *t)
{
	uint32_t n, i;

	memset(t, 0, sizeof(*t));
	t->rsdp = area;
	if (!CHECK_EQ(memcmp(t->rsdp, "RSD PTR ", 8), 0))
		return false;
	CHECK_EQ(sum8(t->rsdp, 20), 0);      /* ACPI 1.0 checksum */
	CHECK_EQ(t->rsdp[15], 2);            /* revision: XSDT present */
	CHECK_EQ(get32(t->rsdp + 20), 36);   /* length */
	CHECK_EQ(sum8(t->rsdp, 36), 0);      /* extended checksum */
	t->xsdt = table(get64(t->rsdp + 24), "XSDT");
	if (!t->xsdt)
		return false;
	n = (get32(t->xsdt + 4) - 36) / 8;
	CHECK_EQ(get32(t->xsdt + 4), 36 + 8 * n); /* whole entries */
	for (i = 0; i < n; i++) {
		uint64_t a = get64(t->xsdt + 36 + 8 * i);
		const uint8_t *p = at(a, 4);
		if (!CHECK(p != NULL))
			return false;
		if (!memcmp(p, "FACP", 4))
			t->fadt = table(a, "FACP");
		else if (!memcmp(p, "APIC", 4))
			t->madt = table(a, "APIC");
		else
			CHECK(!"unexpected table in the XSDT");
	}
	if (!CHECK(t->fadt != NULL))
		return false;
	/*
	 * FADT: FACS and DSDT through the 64-bit fields only; the spec wants
	 * FIRMWARE_CTRL and DSDT (32-bit) zero when the X_ fields are used.
	 */
	t->facs = at(get64(t->fadt + 132), 64);
	t->dsdt = table(get64(t->fadt + 140), "DSDT");
	if (!CHECK(t->facs != NULL) || !t->dsdt)
		return false;
	CHECK_EQ(get32(t->fadt + 36), 0);
	CHECK_EQ(get32(t->fadt + 40), 0);
	return true;
}

TEST(table_chain)
{
	struct tables t;
	int used;

	memset(area, 0xcc, sizeof(area));
	used = acpi_write_tables(area, ROOM, GPA, 2);
	REQUIRE(used > 0);
	CHECK(used <= (int)ROOM);
	CHECK_EQ(area[used], 0xcc); /* nothing past what it reports */
	REQUIRE(walk(&t));
	CHECK(t.madt != NULL);
	/* FACS: 64 bytes, 64-byte aligned. */
	CHECK_EQ(memcmp(t.facs, "FACS", 4), 0);
	CHECK_EQ(get32(t.facs + 4), 64);
	CHECK_EQ((GPA + (uint64_t)(t.facs - area)) % 64, 0);
	/* Every table lies within what was reported as used. */
	CHECK((size_t)(t.madt - area) + get32(t.madt + 4) <= (size_t)used);
	CHECK((size_t)(t.fadt - area) + get32(t.fadt + 4) <= (size_t)used);
	CHECK((size_t)(t.dsdt - area) + get32(t.dsdt + 4) <= (size_t)used);
}

TEST(fadt_fields)
{
	struct tables t;
	const uint8_t *f;

	REQUIRE(acpi_write_tables(area, ROOM, GPA, 1) > 0);
	REQUIRE(walk(&t));
	f = t.fadt;
	CHECK_EQ(get32(f + 4), 276);                       /* ACPI 6 size */
	CHECK_EQ(f[8], 6);                                 /* revision */
	CHECK_EQ(get16(f + 46), X86_ACPI_SCI_IRQ);         /* SCI_INT */
	CHECK_EQ(get32(f + 48), 0);                        /* SMI_CMD: none */
	CHECK_EQ(get32(f + 56), X86_ACPI_PM_BASE);         /* PM1a_EVT_BLK */
	CHECK_EQ(get32(f + 64), X86_ACPI_PM_BASE + X86_ACPI_PM1_CNT);
	CHECK_EQ(f[88], 4);                                /* PM1_EVT_LEN */
	CHECK_EQ(f[89], 2);                                /* PM1_CNT_LEN */
	CHECK_EQ(f[108], 0x32);                            /* CENTURY */
	CHECK(get16(f + 109) & 2);                         /* 8042 present */
	CHECK(!(get32(f + 112) & (1u << 20)));             /* not HW-reduced */
	/* X_PM1a_EVT_BLK / X_PM1a_CNT_BLK: system I/O at the same ports. */
	CHECK_EQ(f[148], 1);
	CHECK_EQ(get64(f + 152), X86_ACPI_PM_BASE);
	CHECK_EQ(f[172], 1);
	CHECK_EQ(f[173], 16);
	CHECK_EQ(get64(f + 176), X86_ACPI_PM_BASE + X86_ACPI_PM1_CNT);
	/* The PM block the FADT describes fits the bus range lkvm registers. */
	CHECK(X86_ACPI_PM1_CNT + 2 <= X86_ACPI_PM_LEN);
}

TEST(dsdt_s5)
{
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12 };
	struct tables t;
	const uint8_t *aml;
	uint32_t len;

	REQUIRE(acpi_write_tables(area, ROOM, GPA, 1) > 0);
	REQUIRE(walk(&t));
	len = get32(t.dsdt + 4);
	aml = t.dsdt + 36;
	REQUIRE(len >= 36 + sizeof(s5) + 4);
	/* Name (_S5_, Package () { SLP_TYP for S5, ... }) */
	CHECK_EQ(memcmp(aml, s5, sizeof(s5)), 0);
	CHECK_EQ(aml[6], len - 36 - 6);                    /* PkgLength */
	CHECK(aml[7] >= 1);                                /* NumElements */
	CHECK_EQ(aml[8], 0x0a);                            /* BytePrefix */
	CHECK_EQ(aml[9], X86_ACPI_SLP_TYP_S5);
}

/*
 * virtio-mmio devices in the DSDT, byte for byte (ACPI 6.5 20.2 AML and
 * 6.4 resource descriptors):
 *   Scope (\_SB) { Device (VR00) { Name (_HID, "LNRO0005") Name (_UID, 0)
 *     Name (_CRS, ResourceTemplate () {
 *       Memory32Fixed (ReadWrite, 0xC0000000, 0x200)
 *       Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 5 }
 *     }) } ... }
 */
static const uint8_t vr_device[] = {
	0x5b, 0x82, 0x3b,                 /* DeviceOp, PkgLength 59 */
	'V', 'R', '0', '0',
	0x08, '_', 'H', 'I', 'D',         /* Name (_HID, */
	0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00, /* "LNRO0005") */
	0x08, '_', 'U', 'I', 'D', 0x0a, 0x00, /* Name (_UID, 0) */
	0x08, '_', 'C', 'R', 'S',         /* Name (_CRS, */
	0x11, 0x1a, 0x0a, 0x17,           /* Buffer, PkgLength 26, size 23 */
	0x86, 0x09, 0x00, 0x01,           /* Memory32Fixed, read-write */
	0x00, 0x00, 0x00, 0xc0,           /*   base */
	0x00, 0x02, 0x00, 0x00,           /*   length */
	0x89, 0x06, 0x00, 0x01, 0x01,     /* Interrupt: consumer, level,
					   * high, exclusive; 1 entry */
	0x05, 0x00, 0x00, 0x00,           /*   GSI 5 */
	0x79, 0x00,                       /* end tag */
};

TEST(dsdt_virtio_mmio)
{
	static const uint8_t s5_only[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07,
					   0x04, 0x0a, X86_ACPI_SLP_TYP_S5,
					   0, 0, 0 };
	struct acpi_mmio_dev d[X86_IOAPIC_PINS + 1];
	struct tables t;
	const uint8_t *aml, *dev;
	uint32_t len, scope_len;
	unsigned int i;
	int used;

	for (i = 0; i < X86_IOAPIC_PINS + 1; i++) {
		d[i].base = 0xc0000000ULL + 0x1000ULL * i;
		d[i].size = 0x200;
		d[i].irq = 5 + i;
	}
	/* No devices: the DSDT is \_S5 alone, as before. */
	REQUIRE(acpi_write_tables_mmio(area, ROOM, GPA, 1, d, 0) > 0);
	REQUIRE(walk(&t));
	CHECK_EQ(get32(t.dsdt + 4), 36 + sizeof(s5_only));
	CHECK_EQ(memcmp(t.dsdt + 36, s5_only, sizeof(s5_only)), 0);

	/* Two devices: Scope (\_SB) with PkgLength 1 + 5 + 2 * 61. */
	memset(area, 0xcc, sizeof(area));
	used = acpi_write_tables_mmio(area, ROOM, GPA, 2, d, 2);
	REQUIRE(used > 0);
	CHECK_EQ(area[used], 0xcc);
	REQUIRE(walk(&t));
	CHECK(t.madt != NULL);
	len = get32(t.dsdt + 4);
	CHECK((size_t)(t.dsdt - area) + len <= (size_t)used);
	aml = t.dsdt + 36 + sizeof(s5_only);
	scope_len = 5 + 2 * sizeof(vr_device);
	REQUIRE(len == 36 + sizeof(s5_only) + 1 + 2 + scope_len);
	CHECK_EQ(aml[0], 0x10);                            /* ScopeOp */
	/* Two-byte PkgLength: 0x40 | low nibble, then the rest. */
	CHECK_EQ(aml[1], 0x40 | ((2 + scope_len) & 0xf));
	CHECK_EQ(aml[2], (2 + scope_len) >> 4);
	CHECK_EQ(memcmp(aml + 3, "\\_SB_", 5), 0);
	dev = aml + 8;
	CHECK_EQ(memcmp(dev, vr_device, sizeof(vr_device)), 0);
	dev += sizeof(vr_device);
	/* The second differs in name, _UID, base and GSI only. */
	CHECK_EQ(memcmp(dev, vr_device, 6), 0);            /* "VR0" */
	CHECK_EQ(dev[6], '1');
	CHECK_EQ(memcmp(dev + 7, vr_device + 7, 21), 0);   /* _HID */
	CHECK_EQ(dev[28], 1);                              /* _UID */
	CHECK_EQ(memcmp(dev + 29, vr_device + 29, 13), 0);
	CHECK_EQ(get32(dev + 42), 0xc0001000);             /* base */
	CHECK_EQ(memcmp(dev + 46, vr_device + 46, 9), 0);
	CHECK_EQ(get32(dev + 55), 6);                      /* GSI */
	CHECK_EQ(memcmp(dev + 59, vr_device + 59, 2), 0);  /* end tag */

	/* Every pin: 24 devices, still a valid table; one more is refused. */
	used = acpi_write_tables_mmio(area, ROOM, GPA, 254, d, X86_IOAPIC_PINS);
	REQUIRE(used > 0);
	REQUIRE(walk(&t));
	aml = t.dsdt + 36 + sizeof(s5_only);
	scope_len = 5 + X86_IOAPIC_PINS * sizeof(vr_device);
	CHECK_EQ(get32(t.dsdt + 4), 36 + sizeof(s5_only) + 1 + 2 + scope_len);
	dev = aml + 8 + (X86_IOAPIC_PINS - 1) * sizeof(vr_device);
	CHECK_EQ(memcmp(dev + 3, "VR17", 4), 0);
	CHECK(acpi_write_tables_mmio(area, ROOM, GPA, 1, d,
				     X86_IOAPIC_PINS + 1) < 0);
	/* Not enough room for the DSDT: nothing written. */
	used = acpi_write_tables_mmio(area, ROOM, GPA, 1, d, 2);
	memset(area, 0xcc, sizeof(area));
	CHECK(acpi_write_tables_mmio(area, (size_t)used - 1, GPA, 1, d, 2) < 0);
	CHECK_EQ(area[0], 0xcc);
}

/*
 * The pvpanic device in the DSDT, byte for byte, as QEMU describes its ISA
 * pvpanic (Linux's pvpanic-mmio matches _HID QEMU0001):
 *   Device (PEVT) { Name (_HID, "QEMU0001")
 *     Name (_CRS, ResourceTemplate () { IO (Decode16, 0x505, 0x505, 1, 1) })
 *   }
 */
static const uint8_t pevt_device[] = {
	0x5b, 0x82, 0x27,                 /* DeviceOp, PkgLength 39 */
	'P', 'E', 'V', 'T',
	0x08, '_', 'H', 'I', 'D',         /* Name (_HID, */
	0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00, /* "QEMU0001") */
	0x08, '_', 'C', 'R', 'S',         /* Name (_CRS, */
	0x11, 0x0d, 0x0a, 0x0a,           /* Buffer, PkgLength 13, size 10 */
	0x47, 0x01,                       /* I/O port, 16-bit decode */
	0x05, 0x05, 0x05, 0x05,           /*   minimum, maximum 0x505 */
	0x01, 0x01,                       /*   alignment 1, length 1 */
	0x79, 0x00,                       /* end tag */
};

TEST(dsdt_pvpanic)
{
	static const uint8_t s5_len = 13; /* Name (_S5_, ...) */
	struct acpi_mmio_dev d[2];
	struct acpi_devices devs = { .pvpanic_port = X86_PVPANIC_PORT };
	struct tables t;
	const uint8_t *aml;
	uint32_t scope_len;
	unsigned int i;
	int used;

	/* The port lkvm registers is the one described, and QEMU's. */
	CHECK_EQ(X86_PVPANIC_PORT, 0x505);
	CHECK_EQ(X86_PVPANIC_LEN, 1);

	/* Alone: Scope (\_SB) { PEVT }, a one-byte PkgLength. */
	memset(area, 0xcc, sizeof(area));
	used = acpi_write_tables_devs(area, ROOM, GPA, 1, &devs);
	REQUIRE(used > 0);
	CHECK_EQ(area[used], 0xcc);
	REQUIRE(walk(&t));
	scope_len = 5 + sizeof(pevt_device);
	REQUIRE(get32(t.dsdt + 4) == 36 + s5_len + 1 + 1 + scope_len);
	aml = t.dsdt + 36 + s5_len;
	CHECK_EQ(aml[0], 0x10);                            /* ScopeOp */
	CHECK_EQ(aml[1], 1 + scope_len);                   /* PkgLength */
	CHECK_EQ(memcmp(aml + 2, "\\_SB_", 5), 0);
	CHECK_EQ(memcmp(aml + 7, pevt_device, sizeof(pevt_device)), 0);

	/* With virtio-mmio devices: PEVT first, then VR00, VR01 unchanged. */
	for (i = 0; i < 2; i++) {
		d[i].base = 0xc0000000ULL + 0x1000ULL * i;
		d[i].size = 0x200;
		d[i].irq = 5 + i;
	}
	devs.mmio = d;
	devs.nr_mmio = 2;
	used = acpi_write_tables_devs(area, ROOM, GPA, 2, &devs);
	REQUIRE(used > 0);
	REQUIRE(walk(&t));
	scope_len = 5 + sizeof(pevt_device) + 2 * sizeof(vr_device);
	REQUIRE(get32(t.dsdt + 4) == 36 + s5_len + 1 + 2 + scope_len);
	aml = t.dsdt + 36 + s5_len;
	CHECK_EQ(aml[1], 0x40 | ((2 + scope_len) & 0xf));
	CHECK_EQ(aml[2], (2 + scope_len) >> 4);
	CHECK_EQ(memcmp(aml + 8, pevt_device, sizeof(pevt_device)), 0);
	CHECK_EQ(memcmp(aml + 8 + sizeof(pevt_device), vr_device,
			sizeof(vr_device)), 0);
	CHECK_EQ(memcmp(aml + 8 + sizeof(pevt_device) + sizeof(vr_device) + 3,
			"VR01", 4), 0);

	/* Another port is encoded little-endian in both fields. */
	devs.nr_mmio = 0;
	devs.pvpanic_port = 0x1234;
	REQUIRE(acpi_write_tables_devs(area, ROOM, GPA, 1, &devs) > 0);
	REQUIRE(walk(&t));
	aml = t.dsdt + 36 + s5_len + 7;
	CHECK_EQ(get16(aml + 33), 0x1234);
	CHECK_EQ(get16(aml + 35), 0x1234);

	/* Every pin taken by virtio-mmio still leaves room for PEVT. */
	{
		struct acpi_mmio_dev all[X86_IOAPIC_PINS];

		for (i = 0; i < X86_IOAPIC_PINS; i++)
			all[i] = (struct acpi_mmio_dev){ 0xc0000000ULL + 0x1000ULL * i,
							 0x200, i };
		devs = (struct acpi_devices){ all, X86_IOAPIC_PINS,
					      X86_PVPANIC_PORT };
		REQUIRE(acpi_write_tables_devs(area, ROOM, GPA, 254, &devs) > 0);
		REQUIRE(walk(&t));
		CHECK_EQ(get32(t.dsdt + 4),
			 36 + s5_len + 1 + 2 + 5 + sizeof(pevt_device) +
			 X86_IOAPIC_PINS * sizeof(vr_device));
	}
}

static void check_madt(unsigned int nr_cpus)
{
	struct tables t;
	const uint8_t *m, *p, *end;
	uint32_t seen[8] = { 0 };
	unsigned int cpus = 0, ioapics = 0, nmis = 0;
	uint32_t overrides = 0;
	int ioapic_id = -1;

	memset(area, 0xcc, sizeof(area));
	REQUIRE(acpi_write_tables(area, ROOM, GPA, nr_cpus) > 0);
	REQUIRE(walk(&t));
	m = t.madt;
	REQUIRE(m != NULL);
	CHECK_EQ(get32(m + 36), X86_LAPIC_ADDR);
	CHECK(get32(m + 40) & 1); /* PCAT_COMPAT: 8259s present */
	p = m + 44;
	end = m + get32(m + 4);
	while (p + 2 <= end) {
		if (!CHECK(p[1] >= 2 && p + p[1] <= end))
			break;
		switch (p[0]) {
		case 0: /* processor local APIC */
			CHECK_EQ(p[1], 8);
			CHECK_EQ(p[2], p[3]); /* UID = APIC ID */
			CHECK(get32(p + 4) & 1);
			seen[p[3] / 32] |= 1u << (p[3] % 32);
			cpus++;
			break;
		case 1: /* IOAPIC */
			CHECK_EQ(p[1], 12);
			ioapic_id = p[2];
			CHECK_EQ(get32(p + 4), X86_IOAPIC_ADDR);
			CHECK_EQ(get32(p + 8), 0); /* GSI base */
			ioapics++;
			break;
		case 2: /* interrupt source override: a PCI INTx line */
			CHECK_EQ(p[1], 10);
			CHECK_EQ(p[2], 0);                 /* ISA */
			CHECK_EQ(get32(p + 4), p[3]);      /* same GSI */
			CHECK_EQ(get16(p + 8), 0x000d);    /* level, high */
			overrides |= 1u << (p[3] & 31);
			break;
		case 4: /* local APIC NMI */
			CHECK_EQ(p[1], 6);
			CHECK_EQ(p[2], 0xff); /* all processors */
			CHECK_EQ(p[5], 1);    /* LINT1 */
			nmis++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
			break;
		}
		p += p[1];
	}
	CHECK_PTR_EQ(p, end);
	CHECK_EQ(cpus, nr_cpus);
	for (unsigned int i = 0; i < 256; i++)
		CHECK_EQ(!!(seen[i / 32] & (1u << (i % 32))), i < nr_cpus);
	CHECK_EQ(ioapics, 1);
	CHECK(ioapic_id >= 0 && !(seen[ioapic_id / 32] & (1u << (ioapic_id % 32))));
	CHECK_EQ(nmis, 1);
	CHECK_EQ(overrides, x86_pci_intx_line_mask());
	CHECK(overrides != 0);
}

TEST(madt_1) { check_madt(1); }
TEST(madt_8) { check_madt(8); }
TEST(madt_254) { check_madt(254); }

TEST(write_tables_rejects)
{
	int need;
	unsigned int i;
	bool untouched = true;

	need = acpi_write_tables(area, ROOM, GPA, 4);
	REQUIRE(need > 0);
	memset(area, 0xcc, sizeof(area));
	CHECK(acpi_write_tables(area, ROOM, GPA, 0) < 0);
	CHECK(acpi_write_tables(area, ROOM, GPA, 255) < 0);
	CHECK(acpi_write_tables(area, (size_t)need - 1, GPA, 4) < 0);
	CHECK(acpi_write_tables(area, 0, GPA, 1) < 0);
	for (i = 0; i < ROOM; i++)
		untouched &= area[i] == 0xcc;
	CHECK(untouched);
	CHECK_EQ(acpi_write_tables(area, (size_t)need, GPA, 4), need);
}

TEST(checksum_helper)
{
	uint8_t buf[5] = { 1, 2, 3, 4, 0 };

	buf[4] = table_checksum(buf, 4);
	CHECK_EQ(buf[4], 0xf6);
	CHECK_EQ(sum8(buf, 5), 0);
	CHECK_EQ(table_checksum(buf, 0), 0);
}

/* ---- PM1a registers ---- */

static int poweroffs;
static void on_poweroff(void *opaque)
{
	(void)opaque;
	poweroffs++;
}

static struct acpi_pm pm;

static uint16_t pm_in16(unsigned int off)
{
	uint8_t b[2] = { 0xee, 0xee };

	acpi_pm_io(&pm, off, b, 2, false);
	return get16(b);
}

static void pm_out16(unsigned int off, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	acpi_pm_io(&pm, off, b, 2, true);
}

#define SCI_EN 0x0001
#define SLP_EN 0x2000
#define SLP_TYP(t) ((uint16_t)((t) << 10))

static void pm_setup(void)
{
	poweroffs = 0;
	if (acpi_pm_init(&pm, on_poweroff, NULL)) {
		printf("acpi_pm_init failed\n");
		exit(1);
	}
}

TEST(pm1_control)
{
	pm_setup();
	/* Always in ACPI mode: SCI_EN is set and stays set. */
	CHECK_EQ(pm_in16(X86_ACPI_PM1_CNT), SCI_EN);
	pm_out16(X86_ACPI_PM1_CNT, 0);
	CHECK_EQ(pm_in16(X86_ACPI_PM1_CNT) & SCI_EN, SCI_EN);
	/* Linux writes SLP_TYP first, then SLP_TYP | SLP_EN. */
	pm_out16(X86_ACPI_PM1_CNT, SCI_EN | SLP_TYP(X86_ACPI_SLP_TYP_S5));
	CHECK_EQ(poweroffs, 0);
	CHECK_EQ(pm_in16(X86_ACPI_PM1_CNT),
		 SCI_EN | SLP_TYP(X86_ACPI_SLP_TYP_S5));
	/* Another sleep state is not power-off. */
	pm_out16(X86_ACPI_PM1_CNT, SCI_EN | SLP_TYP(3) | SLP_EN);
	CHECK_EQ(poweroffs, 0);
	CHECK_EQ(pm_in16(X86_ACPI_PM1_CNT) & SLP_EN, 0); /* write-only bit */
	pm_out16(X86_ACPI_PM1_CNT, SCI_EN | SLP_TYP(X86_ACPI_SLP_TYP_S5) | SLP_EN);
	CHECK_EQ(poweroffs, 1);
	acpi_pm_destroy(&pm);
}

TEST(pm1_control_bytes)
{
	uint8_t b;

	pm_setup();
	/* SLP_EN and SLP_TYP live in the high byte: a byte write does it. */
	b = (uint8_t)((SLP_TYP(X86_ACPI_SLP_TYP_S5) | SLP_EN) >> 8);
	acpi_pm_io(&pm, X86_ACPI_PM1_CNT + 1, &b, 1, true);
	CHECK_EQ(poweroffs, 1);
	b = 0xee;
	acpi_pm_io(&pm, X86_ACPI_PM1_CNT, &b, 1, false);
	CHECK_EQ(b, SCI_EN);
	acpi_pm_destroy(&pm);
}

TEST(pm1_status_enable)
{
	pm_setup();
	CHECK_EQ(pm_in16(0), 0);
	CHECK_EQ(pm_in16(2), 0);
	pm_out16(2, 0x0120); /* PWRBTN_EN | RTC_EN */
	CHECK_EQ(pm_in16(2), 0x0120);
	CHECK_EQ(pm_in16(0), 0);
	/* Status is write-one-to-clear: writing ones to clear bits is a no-op. */
	pm_out16(0, 0xffff);
	CHECK_EQ(pm_in16(0), 0);
	CHECK_EQ(pm_in16(2), 0x0120);
	CHECK_EQ(pm_in16(X86_ACPI_PM1_CNT), SCI_EN);
	CHECK_EQ(poweroffs, 0);
	acpi_pm_destroy(&pm);
}

TEST(pm1_no_callback)
{
	/* Without a power-off handler the write is simply accepted. */
	CHECK_EQ(acpi_pm_init(&pm, NULL, NULL), 0);
	pm_out16(X86_ACPI_PM1_CNT, SLP_TYP(X86_ACPI_SLP_TYP_S5) | SLP_EN);
	CHECK_EQ(pm_in16(X86_ACPI_PM1_CNT) & SCI_EN, SCI_EN);
	acpi_pm_destroy(&pm);
}

int main(void)
{
	RUN(table_chain);
	RUN(fadt_fields);
	RUN(dsdt_s5);
	RUN(dsdt_virtio_mmio);
	RUN(dsdt_pvpanic);
	RUN(madt_1);
	RUN(madt_8);
	RUN(madt_254);
	RUN(write_tables_rejects);
	RUN(checksum_helper);
	RUN(pm1_control);
	RUN(pm1_control_bytes);
	RUN(pm1_status_enable);
	RUN(pm1_no_callback);
	return test_summary();
}
