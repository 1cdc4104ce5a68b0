// SPDX-License-Identifier: GPL-2.0
/*
 * The riscv64 device tree (riscv/fdt.c), read back two ways: with libfdt
 * (every node and property, interrupt numbers and phandle references
 * resolved), and decompiled by dtc, whose checks must report nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <libfdt.h>

#include "arch/fdt.h"
#include "lkvm/util.h"
#include "test.h"

#define BLOB_MAX (1 << 20)
#define IRQ_S_EXT 9
#define LEVEL_HIGH 4

static const char *const isa_ext[] = {
	"i", "m", "a", "f", "d", "c", "zicsr", "zifencei", "zihintpause",
	"sstc",
};

#define ISA "rv64imafdc_zicsr_zifencei_zihintpause_sstc"

/* A machine laid out roughly the way lkvm lays out its riscv guests. */
static void desc_init(struct riscv_fdt_desc *d, unsigned int harts,
		      enum riscv_irqchip_kind chip)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->nr_harts = harts;
	d->isa = ISA;
	d->isa_ext = isa_ext;
	d->nr_isa_ext = ARRAY_SIZE(isa_ext);
	d->mmu_type = "riscv,sv48";
	d->cbom_block_size = 64;
	d->cboz_block_size = 128;
	d->timebase_freq = 10000000;
	d->ram_base = 0x80000000;
	d->ram_size = 256 * MiB;
	d->bootargs = "console=ttyS0 earlycon=sbi -p";
	d->initrd_start = 0x88000000;
	d->initrd_end = 0x88123457;
	d->irqchip = chip;
	d->plic_base = 0x0c000000;
	d->plic_size = 0x4000000;
	d->nr_irq_sources = 64;
	d->aplic_base = 0x0d000000;
	d->aplic_size = 0x8000;
	d->imsic_base = 0x28000000;
	d->imsic_stride = 0x1000;
	d->imsic_nr_ids = 255;
	d->uart_base = 0x10000000;
	d->uart_size = 0x100;
	d->uart_irq = 10;
	d->uart_clock = 1843200;
	d->pvpanic_base = 0x10000800;
	d->pvpanic_size = 2;
	d->nr_virtio_mmio = 3;
	for (i = 0; i < RISCV_FDT_MAX_MMIO; i++) {
		d->virtio_mmio[i].base = 0x10001000 + 0x1000 * (uint64_t)i;
		d->virtio_mmio[i].size = 0x200;
		d->virtio_mmio[i].irq = 1 + (i + 10) % 64; /* 11.., 1.. */
	}
	d->pci = 1;
	d->pci_ecam_base = 0x30000000;
	d->pci_ecam_size = 1 * MiB;
	d->pci_io_base = 0x03000000;
	d->pci_io_size = 64 * KiB;
	d->pci_mmio_base = 0x40000000;
	d->pci_mmio_size = 1 * GiB;
	/* A different source for every slot, so a mix-up shows. */
	for (i = 0; i < RISCV_FDT_PCI_SLOTS; i++)
		d->pci_intx_irq[i] = 20 + i;
}

/* Build into a fresh heap buffer (ASan watches its end); NULL on error. */
static void *build(const struct riscv_fdt_desc *d)
{
	void *buf = malloc(BLOB_MAX);
	int ret;

	if (!buf)
		return NULL;
	ret = riscv_fdt_build(d, buf, BLOB_MAX);
	if (!CHECK_EQ(ret, 0) || !CHECK_EQ(fdt_check_full(buf, BLOB_MAX), 0) ||
	    !CHECK(fdt_totalsize(buf) < BLOB_MAX)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- libfdt accessors: each fails the case on a missing property ---- */

static int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	if (off < 0) {
		printf("  no node %s: %s\n", path, fdt_strerror(off));
		t_fail_note();
	}
	return off;
}

static bool has_prop(const void *fdt, int off, const char *name)
{
	return off >= 0 && fdt_getprop(fdt, off, name, NULL) != NULL;
}

static const void *prop(const void *fdt, int off, const char *name, int *len)
{
	const void *p = off >= 0 ? fdt_getprop(fdt, off, name, len) : NULL;

	if (!p) {
		printf("  missing property %s in %s\n", name,
		       off >= 0 ? fdt_get_name(fdt, off, NULL) : "(no node)");
		t_fail_note();
	}
	return p;
}

/* A single NUL-terminated string, "" when missing or malformed. */
static const char *str(const void *fdt, int off, const char *name)
{
	int len;
	const char *p = prop(fdt, off, name, &len);

	if (!p)
		return "";
	if (len < 1 || p[len - 1] || strlen(p) != (size_t)len - 1) {
		printf("  %s is not one string\n", name);
		t_fail_note();
		return "";
	}
	return p;
}

static uint32_t u32(const void *fdt, int off, const char *name)
{
	int len;
	const fdt32_t *p = prop(fdt, off, name, &len);

	if (!p || !CHECK_EQ(len, 4))
		return 0xdeadbeef;
	return fdt32_ld(p);
}

static uint64_t u64(const void *fdt, int off, const char *name)
{
	int len;
	const fdt64_t *p = prop(fdt, off, name, &len);

	if (!p || !CHECK_EQ(len, 8))
		return 0xdeadbeef;
	return fdt64_ld(p);
}

/* The cells of a property; *n is their count (0 when missing). */
static const fdt32_t *cells(const void *fdt, int off, const char *name,
			    unsigned int *n)
{
	int len;
	const fdt32_t *p = prop(fdt, off, name, &len);

	*n = 0;
	if (!p || !CHECK_EQ(len % 4, 0))
		return NULL;
	*n = (unsigned int)len / 4;
	return p;
}

static uint32_t cell(const fdt32_t *c, unsigned int i)
{
	return fdt32_ld(&c[i]);
}

static bool is_empty(const void *fdt, int off, const char *name)
{
	int len = -1;

	return prop(fdt, off, name, &len) && len == 0;
}

static void check_reg(const void *fdt, int off, uint64_t base, uint64_t size)
{
	unsigned int n;
	const fdt32_t *c = cells(fdt, off, "reg", &n);

	if (!CHECK_EQ(n, 4))
		return;
	CHECK_EQ((uint64_t)cell(c, 0) << 32 | cell(c, 1), base);
	CHECK_EQ((uint64_t)cell(c, 2) << 32 | cell(c, 3), size);
}

static void check_strlist(const void *fdt, int off, const char *name,
			  const char *const *want, unsigned int n)
{
	int len, pos = 0;
	const char *p = prop(fdt, off, name, &len);
	unsigned int i;

	if (!p)
		return;
	for (i = 0; i < n; i++) {
		int l = (int)strlen(want[i]) + 1;

		if (!CHECK(pos + l <= len))
			return;
		CHECK_STREQ(p + pos, want[i]);
		pos += l;
	}
	CHECK_EQ(pos, len);
}

static int by_phandle(const void *fdt, uint32_t ph)
{
	int off = fdt_node_offset_by_phandle(fdt, ph);

	if (off < 0) {
		printf("  phandle %#x names no node\n", ph);
		t_fail_note();
	}
	return off;
}

static const char *irqchip_path(const struct riscv_fdt_desc *d, char *buf,
				size_t len)
{
	if (d->irqchip == RISCV_IRQCHIP_PLIC)
		snprintf(buf, len, "/soc/interrupt-controller@%" PRIx64,
			 d->plic_base);
	else
		snprintf(buf, len, "/soc/aplic@%" PRIx64, d->aplic_base);
	return buf;
}

/* ---- Checks of each part of the tree ---- */

static void check_root(const void *fdt)
{
	int root = node(fdt, "/");

	CHECK_EQ(u32(fdt, root, "#address-cells"), 2);
	CHECK_EQ(u32(fdt, root, "#size-cells"), 2);
	CHECK_STREQ(str(fdt, root, "compatible"), "linux,dummy-virt");
	CHECK_STREQ(str(fdt, root, "model"), "lkvm");
}

static void check_chosen(const void *fdt, const struct riscv_fdt_desc *d)
{
	int chosen = node(fdt, "/chosen"), uart;
	char path[64];

	if (d->bootargs)
		CHECK_STREQ(str(fdt, chosen, "bootargs"), d->bootargs);
	else
		CHECK(!has_prop(fdt, chosen, "bootargs"));
	if (d->initrd_end > d->initrd_start) {
		CHECK_EQ(u64(fdt, chosen, "linux,initrd-start"),
			 d->initrd_start);
		CHECK_EQ(u64(fdt, chosen, "linux,initrd-end"), d->initrd_end);
	} else {
		CHECK(!has_prop(fdt, chosen, "linux,initrd-start"));
		CHECK(!has_prop(fdt, chosen, "linux,initrd-end"));
	}
	snprintf(path, sizeof(path), "/soc/serial@%" PRIx64, d->uart_base);
	CHECK_STREQ(str(fdt, chosen, "stdout-path"), path);
	/* The path leads to the UART itself. */
	uart = fdt_path_offset(fdt, str(fdt, chosen, "stdout-path"));
	CHECK(uart >= 0);
	if (uart >= 0)
		CHECK_STREQ(str(fdt, uart, "compatible"), "ns16550a");
}

/* Offset of hart @hart's interrupt controller, checked on the way. */
static int check_cpu(const void *fdt, const struct riscv_fdt_desc *d,
		     unsigned int hart)
{
	char path[64];
	int cpu, intc;

	snprintf(path, sizeof(path), "/cpus/cpu@%x", hart);
	cpu = node(fdt, path);
	CHECK_STREQ(str(fdt, cpu, "device_type"), "cpu");
	CHECK_EQ(u32(fdt, cpu, "reg"), hart);
	CHECK_STREQ(str(fdt, cpu, "status"), "okay");
	CHECK_STREQ(str(fdt, cpu, "compatible"), "riscv");
	CHECK_STREQ(str(fdt, cpu, "riscv,isa"), d->isa);
	CHECK_STREQ(str(fdt, cpu, "riscv,isa-base"), "rv64i");
	check_strlist(fdt, cpu, "riscv,isa-extensions", d->isa_ext,
		      d->nr_isa_ext);
	if (d->mmu_type)
		CHECK_STREQ(str(fdt, cpu, "mmu-type"), d->mmu_type);
	else
		CHECK(!has_prop(fdt, cpu, "mmu-type"));
	if (d->cbom_block_size)
		CHECK_EQ(u32(fdt, cpu, "riscv,cbom-block-size"),
			 d->cbom_block_size);
	else
		CHECK(!has_prop(fdt, cpu, "riscv,cbom-block-size"));
	if (d->cboz_block_size)
		CHECK_EQ(u32(fdt, cpu, "riscv,cboz-block-size"),
			 d->cboz_block_size);
	else
		CHECK(!has_prop(fdt, cpu, "riscv,cboz-block-size"));

	snprintf(path, sizeof(path), "/cpus/cpu@%x/interrupt-controller", hart);
	intc = node(fdt, path);
	CHECK_STREQ(str(fdt, intc, "compatible"), "riscv,cpu-intc");
	CHECK_EQ(u32(fdt, intc, "#interrupt-cells"), 1);
	CHECK_EQ(u32(fdt, intc, "#address-cells"), 0);
	CHECK(is_empty(fdt, intc, "interrupt-controller"));
	CHECK(has_prop(fdt, intc, "phandle"));
	return intc;
}

static void check_cpus(const void *fdt, const struct riscv_fdt_desc *d)
{
	int cpus = node(fdt, "/cpus"), off;
	unsigned int hart, n = 0;

	CHECK_EQ(u32(fdt, cpus, "#address-cells"), 1);
	CHECK_EQ(u32(fdt, cpus, "#size-cells"), 0);
	CHECK_EQ(u32(fdt, cpus, "timebase-frequency"), d->timebase_freq);
	for (hart = 0; hart < d->nr_harts; hart++)
		check_cpu(fdt, d, hart);
	/* Exactly one cpu node per hart. */
	fdt_for_each_subnode(off, fdt, cpus)
		n += !strncmp(fdt_get_name(fdt, off, NULL), "cpu@", 4);
	CHECK_EQ(n, d->nr_harts);
}

static void check_memory(const void *fdt, const struct riscv_fdt_desc *d)
{
	char path[64];
	int mem;

	snprintf(path, sizeof(path), "/memory@%" PRIx64, d->ram_base);
	mem = node(fdt, path);
	CHECK_STREQ(str(fdt, mem, "device_type"), "memory");
	check_reg(fdt, mem, d->ram_base, d->ram_size);
}

static void check_soc(const void *fdt)
{
	int soc = node(fdt, "/soc");

	CHECK_STREQ(str(fdt, soc, "compatible"), "simple-bus");
	CHECK_EQ(u32(fdt, soc, "#address-cells"), 2);
	CHECK_EQ(u32(fdt, soc, "#size-cells"), 2);
	CHECK(is_empty(fdt, soc, "ranges"));
}

/* interrupts-extended = <&intc_n 9> for every hart n, in hart order. */
static void check_hart_lines(const void *fdt, const struct riscv_fdt_desc *d,
			     int off)
{
	unsigned int n, hart;
	const fdt32_t *c = cells(fdt, off, "interrupts-extended", &n);

	if (!CHECK_EQ(n, 2 * d->nr_harts))
		return;
	for (hart = 0; hart < d->nr_harts; hart++) {
		char path[64];

		snprintf(path, sizeof(path),
			 "/cpus/cpu@%x/interrupt-controller", hart);
		CHECK_EQ(by_phandle(fdt, cell(c, 2 * hart)),
			 fdt_path_offset(fdt, path));
		CHECK_EQ(cell(c, 2 * hart + 1), IRQ_S_EXT);
	}
}

static void check_plic(const void *fdt, const struct riscv_fdt_desc *d)
{
	static const char *const compat[] = { "sifive,plic-1.0.0",
					      "riscv,plic0" };
	char path[64];
	int plic;

	plic = node(fdt, irqchip_path(d, path, sizeof(path)));
	check_strlist(fdt, plic, "compatible", compat, 2);
	check_reg(fdt, plic, d->plic_base, d->plic_size);
	CHECK_EQ(u32(fdt, plic, "#interrupt-cells"), 1);
	CHECK_EQ(u32(fdt, plic, "#address-cells"), 0);
	CHECK(is_empty(fdt, plic, "interrupt-controller"));
	CHECK_EQ(u32(fdt, plic, "riscv,ndev"), d->nr_irq_sources);
	check_hart_lines(fdt, d, plic);
	CHECK_EQ(by_phandle(fdt, u32(fdt, plic, "phandle")), plic);
	CHECK(fdt_path_offset(fdt, "/soc/imsics@28000000") < 0);
}

static void check_aia(const void *fdt, const struct riscv_fdt_desc *d)
{
	char path[64];
	int imsic, aplic;

	snprintf(path, sizeof(path), "/soc/imsics@%" PRIx64, d->imsic_base);
	imsic = node(fdt, path);
	CHECK_STREQ(str(fdt, imsic, "compatible"), "riscv,imsics");
	check_reg(fdt, imsic, d->imsic_base, d->nr_harts * d->imsic_stride);
	CHECK(is_empty(fdt, imsic, "interrupt-controller"));
	CHECK_EQ(u32(fdt, imsic, "#interrupt-cells"), 0);
	CHECK_EQ(u32(fdt, imsic, "#address-cells"), 0);
	CHECK(is_empty(fdt, imsic, "msi-controller"));
	CHECK_EQ(u32(fdt, imsic, "#msi-cells"), 0);
	CHECK_EQ(u32(fdt, imsic, "riscv,num-ids"), d->imsic_nr_ids);
	check_hart_lines(fdt, d, imsic);
	CHECK_EQ(by_phandle(fdt, u32(fdt, imsic, "phandle")), imsic);

	aplic = node(fdt, irqchip_path(d, path, sizeof(path)));
	CHECK_STREQ(str(fdt, aplic, "compatible"), "riscv,aplic");
	check_reg(fdt, aplic, d->aplic_base, d->aplic_size);
	CHECK(is_empty(fdt, aplic, "interrupt-controller"));
	CHECK_EQ(u32(fdt, aplic, "#interrupt-cells"), 2);
	CHECK_EQ(u32(fdt, aplic, "#address-cells"), 0);
	CHECK_EQ(by_phandle(fdt, u32(fdt, aplic, "msi-parent")), imsic);
	CHECK_EQ(u32(fdt, aplic, "riscv,num-sources"), d->nr_irq_sources);
	CHECK_EQ(by_phandle(fdt, u32(fdt, aplic, "phandle")), aplic);
	/* MSI mode: the APLIC drives no hart line itself. */
	CHECK(!has_prop(fdt, aplic, "interrupts-extended"));
	snprintf(path, sizeof(path), "/soc/interrupt-controller@%" PRIx64,
		 d->plic_base);
	CHECK(fdt_path_offset(fdt, path) < 0);
}

/*
 * A device's interrupt goes to the irqchip, with the specifier the irqchip
 * expects: <irq> under the PLIC, <irq 4> (level high) under the APLIC.
 */
static void check_dev_irq(const void *fdt, const struct riscv_fdt_desc *d,
			  int off, unsigned int irq)
{
	char path[64];
	unsigned int n;
	const fdt32_t *c;
	int chip = node(fdt, irqchip_path(d, path, sizeof(path)));

	CHECK_EQ(by_phandle(fdt, u32(fdt, off, "interrupt-parent")), chip);
	c = cells(fdt, off, "interrupts", &n);
	if (d->irqchip == RISCV_IRQCHIP_PLIC) {
		if (CHECK_EQ(n, 1))
			CHECK_EQ(cell(c, 0), irq);
	} else if (CHECK_EQ(n, 2)) {
		CHECK_EQ(cell(c, 0), irq);
		CHECK_EQ(cell(c, 1), LEVEL_HIGH);
	}
}

static void check_devices(const void *fdt, const struct riscv_fdt_desc *d)
{
	char path[64];
	unsigned int i, n = 0;
	int off, soc;

	snprintf(path, sizeof(path), "/soc/serial@%" PRIx64, d->uart_base);
	off = node(fdt, path);
	CHECK_STREQ(str(fdt, off, "compatible"), "ns16550a");
	check_reg(fdt, off, d->uart_base, d->uart_size);
	CHECK_EQ(u32(fdt, off, "clock-frequency"), d->uart_clock);
	check_dev_irq(fdt, d, off, d->uart_irq);

	/* pvpanic: what Linux's pvpanic-mmio matches, its register, no
	 * interrupt; none at all without a size. */
	snprintf(path, sizeof(path), "/soc/pvpanic@%" PRIx64, d->pvpanic_base);
	if (d->pvpanic_size) {
		off = node(fdt, path);
		CHECK_STREQ(str(fdt, off, "compatible"), "qemu,pvpanic-mmio");
		check_reg(fdt, off, d->pvpanic_base, d->pvpanic_size);
		CHECK(!has_prop(fdt, off, "interrupts"));
		CHECK_EQ(fdt_node_offset_by_compatible(fdt, off,
						       "qemu,pvpanic-mmio"),
			 -FDT_ERR_NOTFOUND); /* only one */
	} else {
		CHECK(fdt_path_offset(fdt, path) < 0);
		CHECK(fdt_node_offset_by_compatible(fdt, -1,
						    "qemu,pvpanic-mmio") < 0);
	}

	for (i = 0; i < d->nr_virtio_mmio; i++) {
		const struct riscv_fdt_mmio_dev *m = &d->virtio_mmio[i];

		snprintf(path, sizeof(path), "/soc/virtio_mmio@%" PRIx64,
			 m->base);
		off = node(fdt, path);
		CHECK_STREQ(str(fdt, off, "compatible"), "virtio,mmio");
		check_reg(fdt, off, m->base, m->size);
		check_dev_irq(fdt, d, off, m->irq);
		CHECK(is_empty(fdt, off, "dma-coherent"));
	}
	soc = node(fdt, "/soc");
	fdt_for_each_subnode(off, fdt, soc)
		n += !strncmp(fdt_get_name(fdt, off, NULL), "virtio_mmio@", 12);
	CHECK_EQ(n, d->nr_virtio_mmio);
}

/* Every "interrupts" anywhere has a parent whose #interrupt-cells fit. */
static void check_all_interrupts(const void *fdt)
{
	int off, depth = 0, seen = 0;

	for (off = fdt_next_node(fdt, -1, &depth); off >= 0;
	     off = fdt_next_node(fdt, off, &depth)) {
		int len, parent;

		if (!fdt_getprop(fdt, off, "interrupts", &len))
			continue;
		seen++;
		parent = by_phandle(fdt, u32(fdt, off, "interrupt-parent"));
		CHECK_EQ(len, 4 * u32(fdt, parent, "#interrupt-cells"));
	}
	CHECK(seen >= 1);
}

static void check_pci_ranges(const void *fdt, const struct riscv_fdt_desc *d,
			     int pci)
{
	unsigned int n;
	const fdt32_t *c = cells(fdt, pci, "ranges", &n);

	if (!CHECK_EQ(n, 14))
		return;
	/* I/O: PCI 0 at pci_io_base. */
	CHECK_EQ(cell(c, 0), 0x01000000);
	CHECK_EQ(cell(c, 1), 0);
	CHECK_EQ(cell(c, 2), 0);
	CHECK_EQ((uint64_t)cell(c, 3) << 32 | cell(c, 4), d->pci_io_base);
	CHECK_EQ((uint64_t)cell(c, 5) << 32 | cell(c, 6), d->pci_io_size);
	/* 32-bit memory, identity-mapped. */
	CHECK_EQ(cell(c, 7), 0x02000000);
	CHECK_EQ((uint64_t)cell(c, 8) << 32 | cell(c, 9), d->pci_mmio_base);
	CHECK_EQ((uint64_t)cell(c, 10) << 32 | cell(c, 11), d->pci_mmio_base);
	CHECK_EQ((uint64_t)cell(c, 12) << 32 | cell(c, 13), d->pci_mmio_size);
}

/*
 * Walk interrupt-map the way an OS does: child unit address (#address-cells
 * of the bridge) and specifier (#interrupt-cells), then the parent's
 * phandle, #address-cells and #interrupt-cells.  Every slot and pin once,
 * in order, to the slot's source.
 */
static void check_pci_map(const void *fdt, const struct riscv_fdt_desc *d,
			  int pci)
{
	unsigned int n, at = 0, slot, pin;
	const fdt32_t *c = cells(fdt, pci, "interrupt-map", &n);
	char path[64];
	int chip = node(fdt, irqchip_path(d, path, sizeof(path)));

	for (slot = 0; slot < RISCV_FDT_PCI_SLOTS; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			unsigned int pac, pic, i;
			int parent;

			if (!CHECK(at + 5 <= n))
				return;
			CHECK_EQ(cell(c, at), slot << 11);
			CHECK_EQ(cell(c, at + 1), 0);
			CHECK_EQ(cell(c, at + 2), 0);
			CHECK_EQ(cell(c, at + 3), pin);
			parent = by_phandle(fdt, cell(c, at + 4));
			if (!CHECK_EQ(parent, chip))
				return;
			pac = u32(fdt, parent, "#address-cells");
			pic = u32(fdt, parent, "#interrupt-cells");
			at += 5;
			if (!CHECK_EQ(pac, 0) || !CHECK(at + pic <= n))
				return;
			CHECK_EQ(cell(c, at), d->pci_intx_irq[slot]);
			for (i = 1; i < pic; i++)
				CHECK_EQ(cell(c, at + i), LEVEL_HIGH);
			at += pic;
		}
	}
	CHECK_EQ(at, n); /* nothing left over */
}

/*
 * What an OS does with the map (devicetree spec, "Interrupt Mapping"):
 * AND the device's unit address and pin with interrupt-map-mask, take the
 * first entry equal to the result.  Every slot must resolve to its own
 * line; a mask that drops slot bits maps slot 4 onto slot 0's entry.
 */
static void check_pci_map_lookup(const void *fdt,
				 const struct riscv_fdt_desc *d, int pci)
{
	unsigned int n, nm, slot, pin;
	const fdt32_t *map = cells(fdt, pci, "interrupt-map", &n);
	const fdt32_t *mask = cells(fdt, pci, "interrupt-map-mask", &nm);
	char path[64];
	int chip = node(fdt, irqchip_path(d, path, sizeof(path)));
	unsigned int pic = u32(fdt, chip, "#interrupt-cells");
	unsigned int entry = 5 + pic;

	if (!CHECK_EQ(nm, 4) || !CHECK(n % entry == 0))
		return;
	for (slot = 0; slot < RISCV_FDT_PCI_SLOTS; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			const uint32_t key[4] = {
				(slot << 11) & cell(mask, 0), 0 & cell(mask, 1),
				0 & cell(mask, 2), pin & cell(mask, 3),
			};
			unsigned int e, found = 0;

			for (e = 0; e < n && !found; e += entry)
				if (cell(map, e) == key[0] &&
				    cell(map, e + 1) == key[1] &&
				    cell(map, e + 2) == key[2] &&
				    cell(map, e + 3) == key[3])
					found = e + 1;
			if (!CHECK(found))
				return;
			if (!CHECK_EQ(cell(map, found - 1 + 5), d->pci_intx_irq[slot]))
				return;
		}
	}
}

static void check_pci(const void *fdt, const struct riscv_fdt_desc *d)
{
	char path[64];
	unsigned int n;
	const fdt32_t *c;
	int pci;

	snprintf(path, sizeof(path), "/soc/pci@%" PRIx64, d->pci_ecam_base);
	if (!d->pci) {
		CHECK(fdt_path_offset(fdt, path) < 0);
		CHECK(fdt_node_offset_by_compatible(fdt, -1,
				"pci-host-ecam-generic") < 0);
		return;
	}
	pci = node(fdt, path);
	CHECK_STREQ(str(fdt, pci, "compatible"), "pci-host-ecam-generic");
	CHECK_STREQ(str(fdt, pci, "device_type"), "pci");
	check_reg(fdt, pci, d->pci_ecam_base, d->pci_ecam_size);
	c = cells(fdt, pci, "bus-range", &n);
	if (CHECK_EQ(n, 2)) {
		CHECK_EQ(cell(c, 0), 0);
		CHECK_EQ(cell(c, 1), 0);
	}
	CHECK_EQ(u32(fdt, pci, "#address-cells"), 3);
	CHECK_EQ(u32(fdt, pci, "#size-cells"), 2);
	CHECK_EQ(u32(fdt, pci, "#interrupt-cells"), 1);
	CHECK(is_empty(fdt, pci, "dma-coherent"));
	check_pci_ranges(fdt, d, pci);
	c = cells(fdt, pci, "interrupt-map-mask", &n);
	if (CHECK_EQ(n, 4)) {
		CHECK_EQ(cell(c, 0), 0xf800);
		CHECK_EQ(cell(c, 1), 0);
		CHECK_EQ(cell(c, 2), 0);
		CHECK_EQ(cell(c, 3), 7);
	}
	check_pci_map(fdt, d, pci);
	check_pci_map_lookup(fdt, d, pci);
	if (d->irqchip == RISCV_IRQCHIP_AIA)
		CHECK_EQ(by_phandle(fdt, u32(fdt, pci, "msi-parent")),
			 node(fdt, "/soc/imsics@28000000"));
	else
		CHECK(!has_prop(fdt, pci, "msi-parent"));
}

/* Every node and property the description calls for. */
static void check_tree(const struct riscv_fdt_desc *d)
{
	void *fdt = build(d);

	if (!fdt)
		return;
	check_root(fdt);
	check_chosen(fdt, d);
	check_cpus(fdt, d);
	check_memory(fdt, d);
	check_soc(fdt);
	if (d->irqchip == RISCV_IRQCHIP_PLIC)
		check_plic(fdt, d);
	else
		check_aia(fdt, d);
	check_devices(fdt, d);
	check_all_interrupts(fdt);
	check_pci(fdt, d);
	free(fdt);
}

TEST(plic_one_hart_initrd_pci)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 1, RISCV_IRQCHIP_PLIC);
	check_tree(&d);
}

TEST(plic_four_harts_no_initrd_no_pci)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 4, RISCV_IRQCHIP_PLIC);
	d.initrd_start = d.initrd_end = 0;
	d.bootargs = NULL;
	d.mmu_type = NULL;
	d.cbom_block_size = 0;
	d.cboz_block_size = 0;
	d.nr_virtio_mmio = 8;
	d.pci = 0;
	check_tree(&d);
}

TEST(aia_four_harts_pci)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 4, RISCV_IRQCHIP_AIA);
	d.nr_virtio_mmio = 5;
	check_tree(&d);
}

TEST(aia_one_hart_no_pci)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 1, RISCV_IRQCHIP_AIA);
	d.pci = 0;
	d.nr_virtio_mmio = 1;
	check_tree(&d);
}

TEST(no_virtio_mmio)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 2, RISCV_IRQCHIP_PLIC);
	d.nr_virtio_mmio = 0;
	check_tree(&d);
}

/* A description without pvpanic (pvpanic_size 0) gets no node. */
TEST(no_pvpanic)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 1, RISCV_IRQCHIP_PLIC);
	d.pvpanic_size = 0;
	d.pvpanic_base = d.uart_base; /* ignored without a size */
	check_tree(&d);
}

TEST(max_virtio_mmio)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 2, RISCV_IRQCHIP_AIA);
	d.nr_virtio_mmio = RISCV_FDT_MAX_MMIO;
	check_tree(&d);
}

/* An initrd of the very last RAM bytes is still inside RAM. */
TEST(initrd_at_ram_end)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 1, RISCV_IRQCHIP_PLIC);
	d.initrd_start = d.ram_base + d.ram_size - 4096;
	d.initrd_end = d.ram_base + d.ram_size;
	check_tree(&d);
	/* Boundaries of the interrupt sources are accepted too. */
	d.uart_irq = d.nr_irq_sources;
	d.virtio_mmio[0].irq = 1;
	check_tree(&d);
}

/* Unit addresses are lowercase hex without leading zeros. */
TEST(unit_addresses_hex)
{
	struct riscv_fdt_desc d;
	void *fdt;

	desc_init(&d, 12, RISCV_IRQCHIP_PLIC);
	d.virtio_mmio[0].base = 0xabc000;
	d.ram_base = 0x1000000000ULL; /* above 4 GiB: both reg cells used */
	d.initrd_start = d.initrd_end = 0;
	check_tree(&d);
	fdt = build(&d);
	if (!fdt)
		return;
	CHECK(fdt_path_offset(fdt, "/soc/virtio_mmio@abc000") >= 0);
	CHECK(fdt_path_offset(fdt, "/cpus/cpu@a") >= 0);
	CHECK(fdt_path_offset(fdt, "/cpus/cpu@b") >= 0);
	CHECK(fdt_path_offset(fdt, "/cpus/cpu@10") < 0);
	CHECK(fdt_path_offset(fdt, "/memory@1000000000") >= 0);
	CHECK(fdt_path_offset(fdt, "/soc/interrupt-controller@c000000") >= 0);
	free(fdt);
}

/* A larger stride leaves room for guest files: riscv,guest-index-bits. */
TEST(imsic_guest_index_bits)
{
	struct riscv_fdt_desc d;
	void *fdt;
	int off;

	desc_init(&d, 4, RISCV_IRQCHIP_AIA);
	fdt = build(&d);
	if (!fdt)
		return;
	off = node(fdt, "/soc/imsics@28000000");
	CHECK(!has_prop(fdt, off, "riscv,guest-index-bits"));
	free(fdt);

	d.imsic_stride = 0x4000;
	check_tree(&d);
	fdt = build(&d);
	if (!fdt)
		return;
	off = node(fdt, "/soc/imsics@28000000");
	CHECK_EQ(u32(fdt, off, "riscv,guest-index-bits"), 2);
	free(fdt);
}

/* The same description gives the same bytes (reproducible --dump-dtb). */
TEST(deterministic)
{
	struct riscv_fdt_desc d;
	void *a, *b;

	desc_init(&d, 4, RISCV_IRQCHIP_AIA);
	a = build(&d);
	b = build(&d);
	if (a && b && CHECK_EQ(fdt_totalsize(a), fdt_totalsize(b)))
		CHECK(!memcmp(a, b, fdt_totalsize(a)));
	free(a);
	free(b);
}

/* Phandles are unique, and none is 0 or -1. */
TEST(phandles_unique)
{
	struct riscv_fdt_desc d;
	uint32_t seen[64];
	unsigned int n = 0, i;
	int off, depth = 0;
	void *fdt;

	desc_init(&d, 8, RISCV_IRQCHIP_AIA);
	fdt = build(&d);
	if (!fdt)
		return;
	for (off = fdt_next_node(fdt, -1, &depth); off >= 0;
	     off = fdt_next_node(fdt, off, &depth)) {
		uint32_t ph = fdt_get_phandle(fdt, off);

		if (!ph)
			continue;
		CHECK(ph != 0xffffffff);
		for (i = 0; i < n; i++)
			CHECK(seen[i] != ph);
		if (n < ARRAY_SIZE(seen))
			seen[n++] = ph;
	}
	CHECK_EQ(n, 8 + 2); /* 8 harts, IMSICs, APLIC */
	free(fdt);
}

/* ---- -ENOSPC ---- */

TEST(too_small_buffer)
{
	struct riscv_fdt_desc d;
	size_t sizes[8], i, need;
	void *fdt, *buf;

	desc_init(&d, 4, RISCV_IRQCHIP_PLIC);
	fdt = build(&d);
	if (!fdt)
		return;
	need = fdt_totalsize(fdt);
	sizes[0] = 0;
	sizes[1] = 8;
	sizes[2] = 40;
	sizes[3] = 100;
	sizes[4] = need / 2;
	sizes[5] = need - 1;
	for (i = 0; i < 6; i++) {
		/* Exactly sized heap buffers: ASan catches a write past. */
		buf = malloc(sizes[i] ? sizes[i] : 1);
		if (!buf)
			break;
		CHECK_EQ(riscv_fdt_build(&d, buf, sizes[i]), -ENOSPC);
		free(buf);
	}
	/* Exactly enough: the same bytes as with plenty of room. */
	buf = malloc(need);
	if (buf && CHECK_EQ(riscv_fdt_build(&d, buf, need), 0)) {
		CHECK_EQ(fdt_totalsize(buf), need);
		CHECK(!memcmp(buf, fdt, need));
	}
	free(buf);
	free(fdt);
}

/* ---- -EINVAL ---- */

static const char *const bad_ext[] = { "i", NULL };
static const char *const empty_ext[] = { "i", "" };

static void bad_harts0(struct riscv_fdt_desc *d) { d->nr_harts = 0; }
static void bad_harts_many(struct riscv_fdt_desc *d) { d->nr_harts = 100000; }
static void bad_isa_null(struct riscv_fdt_desc *d) { d->isa = NULL; }
static void bad_isa_rv32(struct riscv_fdt_desc *d) { d->isa = "rv32imac"; }
static void bad_ext_null(struct riscv_fdt_desc *d) { d->isa_ext = NULL; }
static void bad_ext_none(struct riscv_fdt_desc *d) { d->nr_isa_ext = 0; }
static void bad_ext_entry(struct riscv_fdt_desc *d)
{
	d->isa_ext = bad_ext;
	d->nr_isa_ext = 2;
}
static void bad_ext_empty(struct riscv_fdt_desc *d)
{
	d->isa_ext = empty_ext;
	d->nr_isa_ext = 2;
}
static void bad_mmu_empty(struct riscv_fdt_desc *d) { d->mmu_type = ""; }
static void bad_timebase(struct riscv_fdt_desc *d) { d->timebase_freq = 0; }
static void bad_ram_size(struct riscv_fdt_desc *d) { d->ram_size = 0; }
static void bad_ram_wrap(struct riscv_fdt_desc *d)
{
	d->ram_base = 0xfffffffff8000000ULL; /* + 256 MiB wraps */
	d->initrd_start = d->initrd_end = 0;
}
static void bad_uart_irq0(struct riscv_fdt_desc *d) { d->uart_irq = 0; }
static void bad_uart_irq_big(struct riscv_fdt_desc *d)
{
	d->uart_irq = d->nr_irq_sources + 1;
}
static void bad_uart_clock(struct riscv_fdt_desc *d) { d->uart_clock = 0; }
static void bad_uart_size(struct riscv_fdt_desc *d) { d->uart_size = 0; }
static void bad_mmio_irq0(struct riscv_fdt_desc *d)
{
	d->virtio_mmio[2].irq = 0;
}
static void bad_mmio_irq_big(struct riscv_fdt_desc *d)
{
	d->virtio_mmio[1].irq = d->nr_irq_sources + 1;
}
static void bad_mmio_count(struct riscv_fdt_desc *d)
{
	d->nr_virtio_mmio = RISCV_FDT_MAX_MMIO + 1;
}
static void bad_mmio_overlap(struct riscv_fdt_desc *d)
{
	d->virtio_mmio[1].base = d->virtio_mmio[0].base + 0x100;
}
static void bad_mmio_on_uart(struct riscv_fdt_desc *d)
{
	d->virtio_mmio[0].base = d->uart_base;
}
static void bad_pvpanic_on_uart(struct riscv_fdt_desc *d)
{
	d->pvpanic_base = d->uart_base + 0xff;
}
static void bad_pvpanic_on_mmio(struct riscv_fdt_desc *d)
{
	d->pvpanic_base = d->virtio_mmio[2].base + d->virtio_mmio[2].size - 1;
}
static void bad_pvpanic_wrap(struct riscv_fdt_desc *d)
{
	d->pvpanic_base = UINT64_MAX;
}
static void bad_mmio_in_ram(struct riscv_fdt_desc *d)
{
	d->virtio_mmio[0].base = d->ram_base + d->ram_size - 0x100;
}
static void bad_pci_intx0(struct riscv_fdt_desc *d)
{
	d->pci_intx_irq[31] = 0;
}
static void bad_pci_intx_big(struct riscv_fdt_desc *d)
{
	d->pci_intx_irq[0] = d->nr_irq_sources + 1;
}
static void bad_pci_mmio_64(struct riscv_fdt_desc *d)
{
	d->pci_mmio_base = 0x100000000ULL;
}
static void bad_pci_mmio_end(struct riscv_fdt_desc *d)
{
	d->pci_mmio_size = 0xc0000001ULL;
}
static void bad_pci_ecam0(struct riscv_fdt_desc *d) { d->pci_ecam_size = 0; }
static void bad_sources0(struct riscv_fdt_desc *d)
{
	d->nr_irq_sources = 0;
}
static void bad_sources_big(struct riscv_fdt_desc *d)
{
	d->nr_irq_sources = 1024;
}
static void bad_irqchip(struct riscv_fdt_desc *d)
{
	d->irqchip = (enum riscv_irqchip_kind)7;
}
static void bad_plic_size(struct riscv_fdt_desc *d) { d->plic_size = 0; }
static void bad_initrd_order(struct riscv_fdt_desc *d)
{
	d->initrd_end = d->initrd_start - 1;
}
static void bad_initrd_outside(struct riscv_fdt_desc *d)
{
	d->initrd_end = d->ram_base + d->ram_size + 1;
}
static void bad_initrd_below(struct riscv_fdt_desc *d)
{
	d->initrd_start = d->ram_base - 0x1000;
}

/* AIA only. */
static void bad_imsic_ids_low(struct riscv_fdt_desc *d)
{
	d->imsic_nr_ids = 62;
}
static void bad_imsic_ids_high(struct riscv_fdt_desc *d)
{
	d->imsic_nr_ids = 2048;
}
static void bad_imsic_stride(struct riscv_fdt_desc *d)
{
	d->imsic_stride = 0x1800;
}
static void bad_imsic_stride0(struct riscv_fdt_desc *d)
{
	d->imsic_stride = 0;
}
static void bad_imsic_align(struct riscv_fdt_desc *d)
{
	d->imsic_base += 0x800;
}
static void bad_aplic_size(struct riscv_fdt_desc *d) { d->aplic_size = 0; }
static void bad_aplic_on_imsic(struct riscv_fdt_desc *d)
{
	d->aplic_base = d->imsic_base + 0x1000;
}

struct bad_case {
	const char *name;
	void (*mutate)(struct riscv_fdt_desc *d);
};

#define BAD(fn) { #fn, fn }

static const struct bad_case bad_common[] = {
	BAD(bad_harts0), BAD(bad_harts_many), BAD(bad_isa_null),
	BAD(bad_isa_rv32), BAD(bad_ext_null), BAD(bad_ext_none),
	BAD(bad_ext_entry), BAD(bad_ext_empty), BAD(bad_mmu_empty),
	BAD(bad_timebase), BAD(bad_ram_size), BAD(bad_ram_wrap),
	BAD(bad_uart_irq0), BAD(bad_uart_irq_big), BAD(bad_uart_clock),
	BAD(bad_uart_size), BAD(bad_mmio_irq0), BAD(bad_mmio_irq_big),
	BAD(bad_mmio_count), BAD(bad_mmio_overlap), BAD(bad_mmio_on_uart),
	BAD(bad_mmio_in_ram), BAD(bad_pvpanic_on_uart),
	BAD(bad_pvpanic_on_mmio), BAD(bad_pvpanic_wrap), BAD(bad_pci_intx0), BAD(bad_pci_intx_big),
	BAD(bad_pci_mmio_64), BAD(bad_pci_mmio_end), BAD(bad_pci_ecam0),
	BAD(bad_sources0), BAD(bad_sources_big), BAD(bad_irqchip),
	BAD(bad_initrd_order), BAD(bad_initrd_outside), BAD(bad_initrd_below),
};

static const struct bad_case bad_aia[] = {
	BAD(bad_imsic_ids_low), BAD(bad_imsic_ids_high),
	BAD(bad_imsic_stride), BAD(bad_imsic_stride0), BAD(bad_imsic_align),
	BAD(bad_aplic_size), BAD(bad_aplic_on_imsic),
};

static const struct bad_case bad_plic[] = {
	BAD(bad_plic_size),
};

static void expect_einval(const struct bad_case *c, size_t n,
			  enum riscv_irqchip_kind chip)
{
	struct riscv_fdt_desc d;
	void *buf = malloc(BLOB_MAX);
	size_t i;

	if (!CHECK(buf))
		return;
	for (i = 0; i < n; i++) {
		int ret;

		desc_init(&d, 2, chip);
		c[i].mutate(&d);
		ret = riscv_fdt_build(&d, buf, BLOB_MAX);
		if (ret != -EINVAL)
			printf("  %s (irqchip %d): %d, not -EINVAL\n",
			       c[i].name, (int)chip, ret);
		CHECK_EQ(ret, -EINVAL);
	}
	free(buf);
}

TEST(inconsistent_plic)
{
	expect_einval(bad_common, ARRAY_SIZE(bad_common), RISCV_IRQCHIP_PLIC);
	expect_einval(bad_plic, ARRAY_SIZE(bad_plic), RISCV_IRQCHIP_PLIC);
}

TEST(inconsistent_aia)
{
	expect_einval(bad_common, ARRAY_SIZE(bad_common), RISCV_IRQCHIP_AIA);
	expect_einval(bad_aia, ARRAY_SIZE(bad_aia), RISCV_IRQCHIP_AIA);
}

/* What each irqchip ignores does not need to be valid. */
TEST(unused_fields_ignored)
{
	struct riscv_fdt_desc d;
	void *fdt;

	desc_init(&d, 2, RISCV_IRQCHIP_PLIC);
	d.aplic_size = 0;
	d.imsic_stride = 0;
	d.imsic_nr_ids = 0;
	fdt = build(&d);
	free(fdt);

	desc_init(&d, 2, RISCV_IRQCHIP_AIA);
	d.plic_size = 0;
	d.plic_base = d.aplic_base; /* not in the tree: no overlap */
	fdt = build(&d);
	free(fdt);

	desc_init(&d, 2, RISCV_IRQCHIP_PLIC);
	d.pci = 0;
	d.pci_intx_irq[3] = 0;
	d.pci_ecam_size = 0;
	d.virtio_mmio[d.nr_virtio_mmio].irq = 0; /* beyond nr_virtio_mmio */
	fdt = build(&d);
	free(fdt);
}

TEST(null_arguments)
{
	struct riscv_fdt_desc d;
	char buf[64];

	desc_init(&d, 1, RISCV_IRQCHIP_PLIC);
	CHECK_EQ(riscv_fdt_build(NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(riscv_fdt_build(&d, NULL, 4096), -EINVAL);
}

/* ---- dtc ---- */

struct dtc_out {
	int status; /* exit status, -1 if it did not exit */
	char *dts, *err;
};

static char *slurp(int fd)
{
	struct stat st;
	char *s;

	if (fstat(fd, &st) || lseek(fd, 0, SEEK_SET) < 0)
		return NULL;
	s = calloc(1, (size_t)st.st_size + 1);
	if (s && read(fd, s, (size_t)st.st_size) != st.st_size) {
		free(s);
		return NULL;
	}
	return s;
}

static int tmpfile_fd(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");

	snprintf(path, len, "%s/lkvm-fdt-XXXXXX", dir && *dir ? dir : "/tmp");
	return mkstemp(path);
}

/* Run `dtc -I dtb -O dts` on @fdt; false when it could not be run at all. */
static bool run_dtc(const void *fdt, struct dtc_out *o)
{
	char in[256], out[256], err[256];
	int fin = tmpfile_fd(in, sizeof(in));
	int fout = tmpfile_fd(out, sizeof(out));
	int ferr = tmpfile_fd(err, sizeof(err));
	bool ok = false;
	int wstatus;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	if (!CHECK(fin >= 0 && fout >= 0 && ferr >= 0))
		goto out;
	if (!CHECK(write(fin, fdt, fdt_totalsize(fdt)) ==
		   (ssize_t)fdt_totalsize(fdt)))
		goto out;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fout, STDOUT_FILENO);
		dup2(ferr, STDERR_FILENO);
		execlp("dtc", "dtc", "-I", "dtb", "-O", "dts", in, (char *)NULL);
		dprintf(STDERR_FILENO, "exec dtc: %s\n", strerror(errno));
		_exit(127);
	}
	if (!CHECK(pid > 0) || !CHECK(waitpid(pid, &wstatus, 0) == pid))
		goto out;
	if (WIFEXITED(wstatus))
		o->status = WEXITSTATUS(wstatus);
	o->dts = slurp(fout);
	o->err = slurp(ferr);
	if (o->status == 127) {
		if (o->err)
			o->err[strcspn(o->err, "\n")] = 0;
		printf("  FAIL: cannot run dtc (%s): install the Debian package device-tree-compiler\n",
		       o->err ? o->err : "?");
		t_fail_note();
		goto out;
	}
	ok = CHECK(o->dts && o->err);
out:
	if (fin >= 0) {
		close(fin);
		unlink(in);
	}
	if (fout >= 0) {
		close(fout);
		unlink(out);
	}
	if (ferr >= 0) {
		close(ferr);
		unlink(err);
	}
	return ok;
}

static void dtc_free(struct dtc_out *o)
{
	free(o->dts);
	free(o->err);
}

/*
 * The text of node @name ("serial@10000000") in dtc's output: from its
 * opening line to its closing "};" at the same indentation.  Malloc'd, ""
 * and a failed check when the node is missing.
 */
static char *dts_node(const char *dts, const char *name)
{
	char open[96];
	const char *p = dts, *start, *end;
	char close[40] = "\n";
	size_t indent = 0;

	snprintf(open, sizeof(open), "%s {\n", name);
	for (;;) {
		p = strstr(p, open);
		if (!p)
			break;
		/* Must be a whole node name: a line of tabs, then @name. */
		for (start = p; start > dts && start[-1] == '\t'; start--)
			;
		if (start == dts || start[-1] == '\n')
			break;
		p++;
	}
	if (!p) {
		printf("  dtc output has no node %s\n", name);
		t_fail_note();
		return strdup("");
	}
	indent = (size_t)(p - start);
	if (indent > sizeof(close) - 4)
		return strdup("");
	memset(close + 1, '\t', indent);
	strcpy(close + 1 + indent, "};");
	end = strstr(p, close);
	if (!end)
		return strdup("");
	return strndup(start, (size_t)(end - start) + strlen(close));
}

/* A growing string, for the expected text of long cell lists. */
struct sbuf {
	char buf[8192];
	size_t len;
};

static void sb_add(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->len, sizeof(s->buf) - s->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->len = MIN(s->len + (size_t)n, sizeof(s->buf) - 1);
}

/* dtc writes each cell as 0x%02x. */
static void sb_cells_open(struct sbuf *s, const char *name)
{
	s->len = 0;
	s->buf[0] = 0;
	sb_add(s, "%s = <", name);
}

static void sb_cell(struct sbuf *s, uint32_t v, bool first)
{
	sb_add(s, first ? "0x%02x" : " 0x%02x", v);
}

static void sb_u64(struct sbuf *s, uint64_t v, bool first)
{
	sb_cell(s, (uint32_t)(v >> 32), first);
	sb_cell(s, (uint32_t)v, false);
}

#define CHECK_HAS(hay, ...)                                                    \
	do {                                                                   \
		char want_[512];                                               \
		snprintf(want_, sizeof(want_), __VA_ARGS__);                  \
		CHECK_CONTAINS(hay, want_);                                    \
	} while (0)

/* The phandle dtc prints for the node at @path. */
static uint32_t phandle_of(const void *fdt, const char *path)
{
	int off = node(fdt, path);

	return off >= 0 ? fdt_get_phandle(fdt, off) : 0;
}

static void dts_hart_lines(const void *fdt, const struct riscv_fdt_desc *d,
			   const char *blk)
{
	struct sbuf s;
	unsigned int hart;

	sb_cells_open(&s, "interrupts-extended");
	for (hart = 0; hart < d->nr_harts; hart++) {
		char path[64];

		snprintf(path, sizeof(path),
			 "/cpus/cpu@%x/interrupt-controller", hart);
		sb_cell(&s, phandle_of(fdt, path), hart == 0);
		sb_cell(&s, IRQ_S_EXT, false);
	}
	sb_add(&s, ">;");
	CHECK_CONTAINS(blk, s.buf);
}

static void dts_irq(const struct riscv_fdt_desc *d, const char *blk,
		    uint32_t chip, unsigned int irq)
{
	CHECK_HAS(blk, "interrupt-parent = <0x%02x>;", chip);
	if (d->irqchip == RISCV_IRQCHIP_PLIC)
		CHECK_HAS(blk, "interrupts = <0x%02x>;", irq);
	else
		CHECK_HAS(blk, "interrupts = <0x%02x 0x04>;", irq);
}

static void dts_reg(const char *blk, uint64_t base, uint64_t size)
{
	struct sbuf s;

	sb_cells_open(&s, "reg");
	sb_u64(&s, base, true);
	sb_u64(&s, size, false);
	sb_add(&s, ">;");
	CHECK_CONTAINS(blk, s.buf);
}

static void dts_cpus(const void *fdt, const struct riscv_fdt_desc *d,
		     const char *dts)
{
	char *blk = dts_node(dts, "cpus");
	struct sbuf s;
	unsigned int hart, i;

	CHECK_CONTAINS(blk, "#address-cells = <0x01>;");
	CHECK_CONTAINS(blk, "#size-cells = <0x00>;");
	CHECK_HAS(blk, "timebase-frequency = <0x%02x>;", d->timebase_freq);
	free(blk);

	s.len = 0;
	sb_add(&s, "riscv,isa-extensions = \"");
	for (i = 0; i < d->nr_isa_ext; i++)
		sb_add(&s, i ? "\\0%s" : "%s", d->isa_ext[i]);
	sb_add(&s, "\";");
	for (hart = 0; hart < d->nr_harts; hart++) {
		char name[32], path[64];
		char *intc;

		snprintf(name, sizeof(name), "cpu@%x", hart);
		blk = dts_node(dts, name);
		CHECK_CONTAINS(blk, "device_type = \"cpu\";");
		CHECK_HAS(blk, "reg = <0x%02x>;", hart);
		CHECK_CONTAINS(blk, "status = \"okay\";");
		CHECK_CONTAINS(blk, "compatible = \"riscv\";");
		CHECK_HAS(blk, "riscv,isa = \"%s\";", d->isa);
		CHECK_CONTAINS(blk, "riscv,isa-base = \"rv64i\";");
		CHECK_CONTAINS(blk, s.buf);
		if (d->mmu_type)
			CHECK_HAS(blk, "mmu-type = \"%s\";", d->mmu_type);
		if (d->cbom_block_size)
			CHECK_HAS(blk, "riscv,cbom-block-size = <0x%02x>;",
				  d->cbom_block_size);
		if (d->cboz_block_size)
			CHECK_HAS(blk, "riscv,cboz-block-size = <0x%02x>;",
				  d->cboz_block_size);
		intc = dts_node(blk, "interrupt-controller");
		CHECK_CONTAINS(intc, "compatible = \"riscv,cpu-intc\";");
		CHECK_CONTAINS(intc, "#interrupt-cells = <0x01>;");
		CHECK_CONTAINS(intc, "#address-cells = <0x00>;");
		CHECK_CONTAINS(intc, "interrupt-controller;");
		snprintf(path, sizeof(path),
			 "/cpus/cpu@%x/interrupt-controller", hart);
		CHECK_HAS(intc, "phandle = <0x%02x>;", phandle_of(fdt, path));
		free(intc);
		free(blk);
	}
}

static void dts_irqchip(const void *fdt, const struct riscv_fdt_desc *d,
			const char *dts)
{
	char name[64], *blk;

	if (d->irqchip == RISCV_IRQCHIP_PLIC) {
		snprintf(name, sizeof(name), "interrupt-controller@%" PRIx64,
			 d->plic_base);
		blk = dts_node(dts, name);
		CHECK_CONTAINS(blk,
			"compatible = \"sifive,plic-1.0.0\\0riscv,plic0\";");
		dts_reg(blk, d->plic_base, d->plic_size);
		CHECK_CONTAINS(blk, "#interrupt-cells = <0x01>;");
		CHECK_CONTAINS(blk, "#address-cells = <0x00>;");
		CHECK_CONTAINS(blk, "interrupt-controller;");
		CHECK_HAS(blk, "riscv,ndev = <0x%02x>;", d->nr_irq_sources);
		dts_hart_lines(fdt, d, blk);
		CHECK_CONTAINS(blk, "phandle = <0x01>;");
		free(blk);
		return;
	}
	snprintf(name, sizeof(name), "imsics@%" PRIx64, d->imsic_base);
	blk = dts_node(dts, name);
	CHECK_CONTAINS(blk, "compatible = \"riscv,imsics\";");
	dts_reg(blk, d->imsic_base, d->nr_harts * d->imsic_stride);
	CHECK_CONTAINS(blk, "interrupt-controller;");
	CHECK_CONTAINS(blk, "#interrupt-cells = <0x00>;");
	CHECK_CONTAINS(blk, "#address-cells = <0x00>;");
	CHECK_CONTAINS(blk, "msi-controller;");
	CHECK_CONTAINS(blk, "#msi-cells = <0x00>;");
	CHECK_HAS(blk, "riscv,num-ids = <0x%02x>;", d->imsic_nr_ids);
	dts_hart_lines(fdt, d, blk);
	CHECK_CONTAINS(blk, "phandle = <0x02>;");
	free(blk);

	snprintf(name, sizeof(name), "aplic@%" PRIx64, d->aplic_base);
	blk = dts_node(dts, name);
	CHECK_CONTAINS(blk, "compatible = \"riscv,aplic\";");
	dts_reg(blk, d->aplic_base, d->aplic_size);
	CHECK_CONTAINS(blk, "interrupt-controller;");
	CHECK_CONTAINS(blk, "#interrupt-cells = <0x02>;");
	CHECK_CONTAINS(blk, "#address-cells = <0x00>;");
	CHECK_CONTAINS(blk, "msi-parent = <0x02>;");
	CHECK_HAS(blk, "riscv,num-sources = <0x%02x>;", d->nr_irq_sources);
	CHECK_CONTAINS(blk, "phandle = <0x01>;");
	free(blk);
}

static void dts_pci(const struct riscv_fdt_desc *d, const char *dts)
{
	char name[64], *blk;
	unsigned int slot, pin;
	struct sbuf s;

	snprintf(name, sizeof(name), "pci@%" PRIx64, d->pci_ecam_base);
	if (!d->pci) {
		CHECK(!strstr(dts, "pci@"));
		return;
	}
	blk = dts_node(dts, name);
	CHECK_CONTAINS(blk, "compatible = \"pci-host-ecam-generic\";");
	CHECK_CONTAINS(blk, "device_type = \"pci\";");
	dts_reg(blk, d->pci_ecam_base, d->pci_ecam_size);
	CHECK_CONTAINS(blk, "bus-range = <0x00 0x00>;");
	CHECK_CONTAINS(blk, "#address-cells = <0x03>;");
	CHECK_CONTAINS(blk, "#size-cells = <0x02>;");
	CHECK_CONTAINS(blk, "#interrupt-cells = <0x01>;");
	CHECK_CONTAINS(blk, "dma-coherent;");

	sb_cells_open(&s, "ranges");
	sb_cell(&s, 0x01000000, true);
	sb_u64(&s, 0, false);
	sb_u64(&s, d->pci_io_base, false);
	sb_u64(&s, d->pci_io_size, false);
	sb_cell(&s, 0x02000000, false);
	sb_u64(&s, d->pci_mmio_base, false);
	sb_u64(&s, d->pci_mmio_base, false);
	sb_u64(&s, d->pci_mmio_size, false);
	sb_add(&s, ">;");
	CHECK_CONTAINS(blk, s.buf);

	CHECK_CONTAINS(blk, "interrupt-map-mask = <0xf800 0x00 0x00 0x07>;");
	sb_cells_open(&s, "interrupt-map");
	for (slot = 0; slot < RISCV_FDT_PCI_SLOTS; slot++) {
		for (pin = 1; pin <= 4; pin++) {
			sb_cell(&s, slot << 11, !slot && pin == 1);
			sb_add(&s, " 0x00 0x00 0x%02x 0x01 0x%02x", pin,
			       d->pci_intx_irq[slot]);
			if (d->irqchip == RISCV_IRQCHIP_AIA)
				sb_add(&s, " 0x04");
		}
	}
	sb_add(&s, ">;");
	CHECK(s.len < sizeof(s.buf) - 1);
	CHECK_CONTAINS(blk, s.buf);
	if (d->irqchip == RISCV_IRQCHIP_AIA)
		CHECK_CONTAINS(blk, "msi-parent = <0x02>;");
	free(blk);
}

/* Decompile with dtc: no errors or warnings, and the expected text. */
static void check_dts(const struct riscv_fdt_desc *d)
{
	struct dtc_out o;
	char name[64], *blk;
	unsigned int i;
	struct sbuf s;
	void *fdt = build(d);

	if (!fdt)
		return;
	if (!run_dtc(fdt, &o))
		goto out;
	CHECK_EQ(o.status, 0);
	CHECK_STREQ(o.err, ""); /* dtc's checks found nothing to warn of */

	blk = dts_node(o.dts, "/");
	CHECK_CONTAINS(blk, "#address-cells = <0x02>;");
	CHECK_CONTAINS(blk, "#size-cells = <0x02>;");
	CHECK_CONTAINS(blk, "compatible = \"linux,dummy-virt\";");
	CHECK_CONTAINS(blk, "model = \"lkvm\";");
	free(blk);

	blk = dts_node(o.dts, "chosen");
	if (d->bootargs)
		CHECK_HAS(blk, "bootargs = \"%s\";", d->bootargs);
	if (d->initrd_end > d->initrd_start) {
		sb_cells_open(&s, "linux,initrd-start");
		sb_u64(&s, d->initrd_start, true);
		sb_add(&s, ">;");
		CHECK_CONTAINS(blk, s.buf);
		sb_cells_open(&s, "linux,initrd-end");
		sb_u64(&s, d->initrd_end, true);
		sb_add(&s, ">;");
		CHECK_CONTAINS(blk, s.buf);
	} else {
		CHECK(!strstr(blk, "linux,initrd"));
	}
	CHECK_HAS(blk, "stdout-path = \"/soc/serial@%" PRIx64 "\";",
		  d->uart_base);
	free(blk);

	dts_cpus(fdt, d, o.dts);

	snprintf(name, sizeof(name), "memory@%" PRIx64, d->ram_base);
	blk = dts_node(o.dts, name);
	CHECK_CONTAINS(blk, "device_type = \"memory\";");
	dts_reg(blk, d->ram_base, d->ram_size);
	free(blk);

	blk = dts_node(o.dts, "soc");
	CHECK_CONTAINS(blk, "compatible = \"simple-bus\";");
	CHECK_CONTAINS(blk, "#address-cells = <0x02>;");
	CHECK_CONTAINS(blk, "#size-cells = <0x02>;");
	CHECK_CONTAINS(blk, "ranges;");
	free(blk);

	dts_irqchip(fdt, d, o.dts);

	snprintf(name, sizeof(name), "serial@%" PRIx64, d->uart_base);
	blk = dts_node(o.dts, name);
	CHECK_CONTAINS(blk, "compatible = \"ns16550a\";");
	dts_reg(blk, d->uart_base, d->uart_size);
	CHECK_HAS(blk, "clock-frequency = <0x%02x>;", d->uart_clock);
	dts_irq(d, blk, 1, d->uart_irq);
	free(blk);

	snprintf(name, sizeof(name), "pvpanic@%" PRIx64, d->pvpanic_base);
	blk = dts_node(o.dts, name);
	CHECK_CONTAINS(blk, "compatible = \"qemu,pvpanic-mmio\";");
	dts_reg(blk, d->pvpanic_base, d->pvpanic_size);
	free(blk);

	for (i = 0; i < d->nr_virtio_mmio; i++) {
		const struct riscv_fdt_mmio_dev *m = &d->virtio_mmio[i];

		snprintf(name, sizeof(name), "virtio_mmio@%" PRIx64, m->base);
		blk = dts_node(o.dts, name);
		CHECK_CONTAINS(blk, "compatible = \"virtio,mmio\";");
		dts_reg(blk, m->base, m->size);
		dts_irq(d, blk, 1, m->irq);
		CHECK_CONTAINS(blk, "dma-coherent;");
		free(blk);
	}
	dts_pci(d, o.dts);
	if (t_case_failures) /* the first lines are enough to see why */
		printf("  dtc output:\n%.4000s\n", o.dts);
out:
	dtc_free(&o);
	free(fdt);
}

TEST(dtc_plic_one_hart)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 1, RISCV_IRQCHIP_PLIC);
	check_dts(&d);
}

TEST(dtc_plic_four_harts_no_pci)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 4, RISCV_IRQCHIP_PLIC);
	d.pci = 0;
	d.bootargs = NULL;
	d.mmu_type = NULL;
	d.initrd_start = d.initrd_end = 0;
	d.nr_virtio_mmio = 6;
	check_dts(&d);
}

TEST(dtc_aia_four_harts)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 4, RISCV_IRQCHIP_AIA);
	check_dts(&d);
}

TEST(dtc_aia_one_hart_max_mmio)
{
	struct riscv_fdt_desc d;

	desc_init(&d, 1, RISCV_IRQCHIP_AIA);
	d.nr_virtio_mmio = RISCV_FDT_MAX_MMIO;
	d.pci = 0;
	check_dts(&d);
}

int main(void)
{
	RUN(plic_one_hart_initrd_pci);
	RUN(plic_four_harts_no_initrd_no_pci);
	RUN(aia_four_harts_pci);
	RUN(aia_one_hart_no_pci);
	RUN(no_virtio_mmio);
	RUN(no_pvpanic);
	RUN(max_virtio_mmio);
	RUN(initrd_at_ram_end);
	RUN(unit_addresses_hex);
	RUN(imsic_guest_index_bits);
	RUN(deterministic);
	RUN(phandles_unique);
	RUN(too_small_buffer);
	RUN(inconsistent_plic);
	RUN(inconsistent_aia);
	RUN(unused_fields_ignored);
	RUN(null_arguments);
	RUN(dtc_plic_one_hart);
	RUN(dtc_plic_four_harts_no_pci);
	RUN(dtc_aia_four_harts);
	RUN(dtc_aia_one_hart_max_mmio);
	return test_summary();
}
