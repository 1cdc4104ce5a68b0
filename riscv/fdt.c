// SPDX-License-Identifier: GPL-2.0
/*
 * The riscv64 guest's flattened device tree, written front to back with
 * libfdt's sequential-write API from a struct riscv_fdt_desc (layout in
 * arch/fdt.h).  The description is checked in full before a byte is
 * written, so the guest never sees a tree that names an interrupt its
 * controller does not have or two devices on the same addresses.
 *
 * Phandles are fixed: 1 the interrupt parent of the devices (PLIC or
 * APLIC), 2 the IMSICs, 3 + n the interrupt controller of hart n.
 */
#include "arch/fdt.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "arch/plic.h"
#include "lkvm/util.h"

#define PHANDLE_IRQCHIP 1
#define PHANDLE_IMSIC 2
#define PHANDLE_CPU_INTC(hart) (3 + (hart))

/* KVM on riscv allows 1024 vCPUs; the tree has no other reason to stop. */
#define FDT_MAX_HARTS 1024

#define IRQ_S_EXT 9          /* supervisor external interrupt (hart intc) */
#define IRQ_TYPE_LEVEL_HIGH 4
#define IMSIC_FILE_SIZE 0x1000ULL  /* one interrupt file, one 4 KiB page */
#define IMSIC_MIN_IDS 63
#define IMSIC_MAX_IDS 2047
#define APLIC_MAX_SOURCES 1023
#define PCI_SPACE_IO 0x01000000u   /* phys.hi of an I/O range */
#define PCI_SPACE_MEM32 0x02000000u /* phys.hi of a 32-bit memory range */
#define PCI_PINS 4                 /* INTA..INTD */
/* interrupt-map: the device number in phys.hi bits 15:11, and the pin. */
#define PCI_PHYS_HI_DEV_SHIFT 11
#define PCI_PHYS_HI_DEV_MASK (0x1fu << PCI_PHYS_HI_DEV_SHIFT)
#define PCI_PIN_MASK 7

#define NODE_NAME_MAX 64

/* Every libfdt call returns 0 or a negative FDT_ERR_*: pass the first on. */
#define TRY(expr)                                                              \
	do {                                                                   \
		int err__ = (expr);                                            \
		if (err__)                                                     \
			return err__;                                          \
	} while (0)

/* ---- Checking the description ---- */

struct region {
	const char *what;
	uint64_t base, size;
};

/* RAM, UART, pvpanic, PLIC or APLIC + IMSICs, the virtio-mmio devices,
 * 3 PCI. */
#define MAX_REGIONS (RISCV_FDT_MAX_MMIO + 8)

static bool add_region(struct region *r, unsigned int *n, const char *what,
		       uint64_t base, uint64_t size)
{
	if (!size || base + size - 1 < base) {
		pr_debug("fdt: %s: bad range %#" PRIx64 "+%#" PRIx64, what,
			 base, size);
		return false;
	}
	r[*n] = (struct region){ .what = what, .base = base, .size = size };
	++*n;
	return true;
}

static bool regions_disjoint(const struct region *r, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++) {
			uint64_t a_end = r[i].base + (r[i].size - 1);
			uint64_t b_end = r[j].base + (r[j].size - 1);

			if (r[i].base <= b_end && r[j].base <= a_end) {
				pr_debug("fdt: %s overlaps %s", r[i].what,
					 r[j].what);
				return false;
			}
		}
	}
	return true;
}

static bool irq_ok(const struct riscv_fdt_desc *d, unsigned int irq,
		   const char *what)
{
	if (irq >= 1 && irq <= d->nr_irq_sources)
		return true;
	pr_debug("fdt: %s: interrupt %u outside 1..%u", what, irq,
		 d->nr_irq_sources);
	return false;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static bool check_cpus(const struct riscv_fdt_desc *d)
{
	unsigned int i;

	if (d->nr_harts < 1 || d->nr_harts > FDT_MAX_HARTS) {
		pr_debug("fdt: %u harts (1..%u)", d->nr_harts, FDT_MAX_HARTS);
		return false;
	}
	/* riscv,isa-base says rv64i; the full string must agree. */
	if (!d->isa || strncmp(d->isa, "rv64i", 5)) {
		pr_debug("fdt: riscv,isa \"%s\" is not rv64i...",
			 d->isa ? d->isa : "(null)");
		return false;
	}
	if (!d->isa_ext || !d->nr_isa_ext) {
		pr_debug("fdt: no riscv,isa-extensions");
		return false;
	}
	for (i = 0; i < d->nr_isa_ext; i++) {
		if (!d->isa_ext[i] || !d->isa_ext[i][0]) {
			pr_debug("fdt: empty ISA extension name %u", i);
			return false;
		}
	}
	if (d->mmu_type && !d->mmu_type[0]) {
		pr_debug("fdt: empty mmu-type");
		return false;
	}
	if (!d->timebase_freq) {
		pr_debug("fdt: timebase-frequency 0");
		return false;
	}
	return true;
}

static bool check_irqchip(const struct riscv_fdt_desc *d, struct region *r,
			  unsigned int *n)
{
	switch (d->irqchip) {
	case RISCV_IRQCHIP_PLIC:
		if (d->nr_irq_sources < 1 ||
		    d->nr_irq_sources > PLIC_MAX_SOURCES - 1)
			break;
		return add_region(r, n, "PLIC", d->plic_base, d->plic_size);
	case RISCV_IRQCHIP_AIA:
		if (d->nr_irq_sources < 1 ||
		    d->nr_irq_sources > APLIC_MAX_SOURCES)
			break;
		/* Linux finds hart n's file at base + n * stride only when
		 * the stride is a power of two of whole files. */
		if (!is_pow2(d->imsic_stride) ||
		    d->imsic_stride < IMSIC_FILE_SIZE ||
		    d->imsic_stride > (IMSIC_FILE_SIZE << 7) ||
		    d->imsic_base % d->imsic_stride) {
			pr_debug("fdt: IMSIC base %#" PRIx64 " or stride %#"
				 PRIx64, d->imsic_base, d->imsic_stride);
			return false;
		}
		if (d->imsic_nr_ids < IMSIC_MIN_IDS ||
		    d->imsic_nr_ids > IMSIC_MAX_IDS) {
			pr_debug("fdt: riscv,num-ids %u", d->imsic_nr_ids);
			return false;
		}
		return add_region(r, n, "APLIC", d->aplic_base,
				  d->aplic_size) &&
		       add_region(r, n, "IMSIC", d->imsic_base,
				  d->imsic_stride * d->nr_harts);
	default:
		pr_debug("fdt: unknown irqchip %d", (int)d->irqchip);
		return false;
	}
	pr_debug("fdt: %u interrupt sources", d->nr_irq_sources);
	return false;
}

static bool check_pci(const struct riscv_fdt_desc *d, struct region *r,
		      unsigned int *n)
{
	unsigned int slot;

	/* The I/O window starts at PCI address 0, the memory window is
	 * identity-mapped and described as 32-bit. */
	if (d->pci_io_size > 1ULL << 32 || d->pci_mmio_base >= 1ULL << 32 ||
	    d->pci_mmio_size > (1ULL << 32) - d->pci_mmio_base) {
		pr_debug("fdt: PCI windows beyond 32 bits");
		return false;
	}
	for (slot = 0; slot < RISCV_FDT_PCI_SLOTS; slot++)
		if (!irq_ok(d, d->pci_intx_irq[slot], "PCI INTx"))
			return false;
	return add_region(r, n, "PCI ECAM", d->pci_ecam_base,
			  d->pci_ecam_size) &&
	       add_region(r, n, "PCI I/O", d->pci_io_base, d->pci_io_size) &&
	       add_region(r, n, "PCI MMIO", d->pci_mmio_base, d->pci_mmio_size);
}

static bool check_desc(const struct riscv_fdt_desc *d)
{
	struct region r[MAX_REGIONS];
	unsigned int n = 0, i;

	if (!check_cpus(d) || !check_irqchip(d, r, &n))
		return false;
	if (!add_region(r, &n, "RAM", d->ram_base, d->ram_size))
		return false;
	if (d->initrd_end < d->initrd_start ||
	    (d->initrd_end > d->initrd_start &&
	     (d->initrd_start < d->ram_base ||
	      d->initrd_end - d->ram_base > d->ram_size))) {
		pr_debug("fdt: initrd outside RAM");
		return false;
	}
	if (!add_region(r, &n, "UART", d->uart_base, d->uart_size) ||
	    !irq_ok(d, d->uart_irq, "UART"))
		return false;
	if (!d->uart_clock) {
		pr_debug("fdt: UART clock-frequency 0");
		return false;
	}
	if (d->pvpanic_size &&
	    !add_region(r, &n, "pvpanic", d->pvpanic_base, d->pvpanic_size))
		return false;
	if (d->marker_size &&
	    !add_region(r, &n, "boot marker", d->marker_base, d->marker_size))
		return false;
	if (d->nr_virtio_mmio > RISCV_FDT_MAX_MMIO) {
		pr_debug("fdt: %u virtio-mmio devices", d->nr_virtio_mmio);
		return false;
	}
	for (i = 0; i < d->nr_virtio_mmio; i++) {
		const struct riscv_fdt_mmio_dev *m = &d->virtio_mmio[i];

		if (!add_region(r, &n, "virtio-mmio", m->base, m->size) ||
		    !irq_ok(d, m->irq, "virtio-mmio"))
			return false;
	}
	if (d->pci && !check_pci(d, r, &n))
		return false;
	return regions_disjoint(r, n);
}

/* ---- Writing properties ---- */

static int begin_node_at(void *fdt, const char *name, uint64_t addr)
{
	char buf[NODE_NAME_MAX];

	snprintf(buf, sizeof(buf), "%s@%" PRIx64, name, addr);
	return fdt_begin_node(fdt, buf);
}

static int prop_empty(void *fdt, const char *name)
{
	return fdt_property(fdt, name, NULL, 0);
}

/*
 * An interrupt controller's #address-cells: the parent unit-address cells
 * of an interrupt-map entry that names it (the PCI map names the PLIC or
 * APLIC).  0 on every controller, which also keeps dtc's interrupt_provider
 * check quiet.
 */
static int prop_no_addr_cells(void *fdt)
{
	return fdt_property_u32(fdt, "#address-cells", 0);
}

/* Two cells of address, two of size: the root's and /soc's layout. */
static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	return fdt_property(fdt, "reg", reg, sizeof(reg));
}

/* A property of @n cells, to be filled through the returned pointer. */
static int prop_cells(void *fdt, const char *name, unsigned int n,
		      void **cells)
{
	return fdt_property_placeholder(fdt, name, (int)(n * 4), cells);
}

static void set_cell(void *cells, unsigned int i, uint32_t v)
{
	fdt32_st((char *)cells + 4 * i, v);
}

static int prop_string_list(void *fdt, const char *name,
			    const char *const *strs, unsigned int n)
{
	size_t len = 0, off = 0;
	unsigned int i;
	void *val;

	for (i = 0; i < n; i++)
		len += strlen(strs[i]) + 1;
	if (len > INT_MAX)
		return -FDT_ERR_BADVALUE;
	TRY(fdt_property_placeholder(fdt, name, (int)len, &val));
	for (i = 0; i < n; i++) {
		size_t l = strlen(strs[i]) + 1;

		memcpy((char *)val + off, strs[i], l);
		off += l;
	}
	return 0;
}

/* Per-hart external interrupt lines: <&intc_n 9> for every hart n. */
static int prop_hart_s_ext(void *fdt, const struct riscv_fdt_desc *d)
{
	unsigned int hart;
	void *c;

	TRY(prop_cells(fdt, "interrupts-extended", 2 * d->nr_harts, &c));
	for (hart = 0; hart < d->nr_harts; hart++) {
		set_cell(c, 2 * hart, PHANDLE_CPU_INTC(hart));
		set_cell(c, 2 * hart + 1, IRQ_S_EXT);
	}
	return 0;
}

/* The interrupt specifier of source @irq, as the irqchip reads it. */
static unsigned int irq_spec(const struct riscv_fdt_desc *d, unsigned int irq,
			     uint32_t *spec)
{
	spec[0] = irq;
	if (d->irqchip == RISCV_IRQCHIP_PLIC)
		return 1;
	spec[1] = IRQ_TYPE_LEVEL_HIGH;
	return 2;
}

static int prop_interrupts(void *fdt, const struct riscv_fdt_desc *d,
			   unsigned int irq)
{
	uint32_t spec[2];
	unsigned int i, n = irq_spec(d, irq, spec);
	void *c;

	TRY(fdt_property_u32(fdt, "interrupt-parent", PHANDLE_IRQCHIP));
	TRY(prop_cells(fdt, "interrupts", n, &c));
	for (i = 0; i < n; i++)
		set_cell(c, i, spec[i]);
	return 0;
}

/* ---- Nodes ---- */

static int add_chosen(void *fdt, const struct riscv_fdt_desc *d)
{
	char path[NODE_NAME_MAX];

	TRY(fdt_begin_node(fdt, "chosen"));
	if (d->bootargs)
		TRY(fdt_property_string(fdt, "bootargs", d->bootargs));
	if (d->initrd_end > d->initrd_start) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start",
				     d->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", d->initrd_end));
	}
	snprintf(path, sizeof(path), "/soc/serial@%" PRIx64, d->uart_base);
	TRY(fdt_property_string(fdt, "stdout-path", path));
	return fdt_end_node(fdt);
}

static int add_cpu(void *fdt, const struct riscv_fdt_desc *d,
		   unsigned int hart)
{
	TRY(begin_node_at(fdt, "cpu", hart));
	TRY(fdt_property_string(fdt, "device_type", "cpu"));
	TRY(fdt_property_u32(fdt, "reg", hart));
	TRY(fdt_property_string(fdt, "status", "okay"));
	TRY(fdt_property_string(fdt, "compatible", "riscv"));
	TRY(fdt_property_string(fdt, "riscv,isa", d->isa));
	TRY(fdt_property_string(fdt, "riscv,isa-base", "rv64i"));
	TRY(prop_string_list(fdt, "riscv,isa-extensions", d->isa_ext,
			     d->nr_isa_ext));
	if (d->mmu_type)
		TRY(fdt_property_string(fdt, "mmu-type", d->mmu_type));
	if (d->cbom_block_size)
		TRY(fdt_property_u32(fdt, "riscv,cbom-block-size",
				     d->cbom_block_size));
	if (d->cboz_block_size)
		TRY(fdt_property_u32(fdt, "riscv,cboz-block-size",
				     d->cboz_block_size));

	TRY(fdt_begin_node(fdt, "interrupt-controller"));
	TRY(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(prop_no_addr_cells(fdt));
	TRY(prop_empty(fdt, "interrupt-controller"));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_CPU_INTC(hart)));
	TRY(fdt_end_node(fdt));

	return fdt_end_node(fdt);
}

static int add_cpus(void *fdt, const struct riscv_fdt_desc *d)
{
	unsigned int hart;

	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	TRY(fdt_property_u32(fdt, "timebase-frequency", d->timebase_freq));
	for (hart = 0; hart < d->nr_harts; hart++)
		TRY(add_cpu(fdt, d, hart));
	return fdt_end_node(fdt);
}

static int add_memory(void *fdt, const struct riscv_fdt_desc *d)
{
	TRY(begin_node_at(fdt, "memory", d->ram_base));
	TRY(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg(fdt, d->ram_base, d->ram_size));
	return fdt_end_node(fdt);
}

static int add_plic(void *fdt, const struct riscv_fdt_desc *d)
{
	static const char compat[] = "sifive,plic-1.0.0\0riscv,plic0";

	TRY(begin_node_at(fdt, "interrupt-controller", d->plic_base));
	TRY(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	TRY(prop_reg(fdt, d->plic_base, d->plic_size));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(prop_no_addr_cells(fdt));
	TRY(prop_empty(fdt, "interrupt-controller"));
	TRY(fdt_property_u32(fdt, "riscv,ndev", d->nr_irq_sources));
	/* Context n is hart n's S-mode context (arch/plic.h). */
	TRY(prop_hart_s_ext(fdt, d));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_IRQCHIP));
	return fdt_end_node(fdt);
}

static int add_aia(void *fdt, const struct riscv_fdt_desc *d)
{
	unsigned int guest_bits = 0;

	/* A stride of more than one file leaves room for guest files. */
	while ((IMSIC_FILE_SIZE << guest_bits) < d->imsic_stride)
		guest_bits++;

	TRY(begin_node_at(fdt, "imsics", d->imsic_base));
	TRY(fdt_property_string(fdt, "compatible", "riscv,imsics"));
	TRY(prop_reg(fdt, d->imsic_base, d->imsic_stride * d->nr_harts));
	TRY(prop_empty(fdt, "interrupt-controller"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 0));
	TRY(prop_no_addr_cells(fdt));
	TRY(prop_empty(fdt, "msi-controller"));
	TRY(fdt_property_u32(fdt, "#msi-cells", 0));
	TRY(prop_hart_s_ext(fdt, d));
	TRY(fdt_property_u32(fdt, "riscv,num-ids", d->imsic_nr_ids));
	if (guest_bits)
		TRY(fdt_property_u32(fdt, "riscv,guest-index-bits",
				     guest_bits));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_IMSIC));
	TRY(fdt_end_node(fdt));

	TRY(begin_node_at(fdt, "aplic", d->aplic_base));
	TRY(fdt_property_string(fdt, "compatible", "riscv,aplic"));
	TRY(prop_reg(fdt, d->aplic_base, d->aplic_size));
	TRY(prop_empty(fdt, "interrupt-controller"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 2));
	TRY(prop_no_addr_cells(fdt));
	TRY(fdt_property_u32(fdt, "msi-parent", PHANDLE_IMSIC));
	TRY(fdt_property_u32(fdt, "riscv,num-sources", d->nr_irq_sources));
	TRY(fdt_property_u32(fdt, "phandle", PHANDLE_IRQCHIP));
	return fdt_end_node(fdt);
}

static int add_uart(void *fdt, const struct riscv_fdt_desc *d)
{
	TRY(begin_node_at(fdt, "serial", d->uart_base));
	TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
	TRY(prop_reg(fdt, d->uart_base, d->uart_size));
	TRY(fdt_property_u32(fdt, "clock-frequency", d->uart_clock));
	TRY(prop_interrupts(fdt, d, d->uart_irq));
	return fdt_end_node(fdt);
}

/* Linux's pvpanic-mmio driver (CONFIG_PVPANIC_MMIO) binds to it. */
static int add_pvpanic(void *fdt, const struct riscv_fdt_desc *d)
{
	TRY(begin_node_at(fdt, "pvpanic", d->pvpanic_base));
	TRY(fdt_property_string(fdt, "compatible", "qemu,pvpanic-mmio"));
	TRY(prop_reg(fdt, d->pvpanic_base, d->pvpanic_size));
	return fdt_end_node(fdt);
}

/* lkvm's boot-marker register (include/lkvm/boot-marker.h): a guest
 * finds its address here (no driver binds to it). */
static int add_boot_marker(void *fdt, const struct riscv_fdt_desc *d)
{
	TRY(begin_node_at(fdt, "boot-marker", d->marker_base));
	TRY(fdt_property_string(fdt, "compatible", "lkvm,boot-marker"));
	TRY(prop_reg(fdt, d->marker_base, d->marker_size));
	return fdt_end_node(fdt);
}

static int add_virtio_mmio(void *fdt, const struct riscv_fdt_desc *d,
			   const struct riscv_fdt_mmio_dev *m)
{
	TRY(begin_node_at(fdt, "virtio_mmio", m->base));
	TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	TRY(prop_reg(fdt, m->base, m->size));
	TRY(prop_interrupts(fdt, d, m->irq));
	TRY(prop_empty(fdt, "dma-coherent"));
	return fdt_end_node(fdt);
}

/* One range of the host bridge: 3 cells PCI address, 2 CPU, 2 size. */
static void pci_range(void *c, unsigned int i, uint32_t space,
		      uint64_t pci_addr, uint64_t cpu_addr, uint64_t size)
{
	unsigned int at = 7 * i;

	set_cell(c, at, space);
	set_cell(c, at + 1, (uint32_t)(pci_addr >> 32));
	set_cell(c, at + 2, (uint32_t)pci_addr);
	set_cell(c, at + 3, (uint32_t)(cpu_addr >> 32));
	set_cell(c, at + 4, (uint32_t)cpu_addr);
	set_cell(c, at + 5, (uint32_t)(size >> 32));
	set_cell(c, at + 6, (uint32_t)size);
}

/*
 * INTA..INTD of every slot to the slot's source: the entries are <child
 * unit address (devfn in phys.hi), pin, &irqchip, parent specifier>; the
 * irqchips have no #address-cells, so no parent unit address follows.
 */
static int pci_interrupt_map(void *fdt, const struct riscv_fdt_desc *d)
{
	uint32_t spec[2];
	unsigned int per = 3 + 1 + 1 + irq_spec(d, 1, spec);
	unsigned int slot, pin, i, at = 0;
	void *c;

	TRY(prop_cells(fdt, "interrupt-map",
		       per * RISCV_FDT_PCI_SLOTS * PCI_PINS, &c));
	for (slot = 0; slot < RISCV_FDT_PCI_SLOTS; slot++) {
		unsigned int n = irq_spec(d, d->pci_intx_irq[slot], spec);

		for (pin = 1; pin <= PCI_PINS; pin++) {
			set_cell(c, at++, slot << PCI_PHYS_HI_DEV_SHIFT);
			set_cell(c, at++, 0);
			set_cell(c, at++, 0);
			set_cell(c, at++, pin);
			set_cell(c, at++, PHANDLE_IRQCHIP);
			for (i = 0; i < n; i++)
				set_cell(c, at++, spec[i]);
		}
	}
	return 0;
}

static int add_pci(void *fdt, const struct riscv_fdt_desc *d)
{
	const fdt32_t bus_range[2] = { cpu_to_fdt32(0), cpu_to_fdt32(0) };
	const fdt32_t mask[4] = { cpu_to_fdt32(PCI_PHYS_HI_DEV_MASK),
				  cpu_to_fdt32(0), cpu_to_fdt32(0),
				  cpu_to_fdt32(PCI_PIN_MASK) };
	void *c;

	TRY(begin_node_at(fdt, "pci", d->pci_ecam_base));
	TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	TRY(fdt_property_string(fdt, "device_type", "pci"));
	TRY(prop_reg(fdt, d->pci_ecam_base, d->pci_ecam_size));
	TRY(fdt_property(fdt, "bus-range", bus_range, sizeof(bus_range)));
	TRY(fdt_property_u32(fdt, "#address-cells", 3));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(prop_empty(fdt, "dma-coherent"));

	TRY(prop_cells(fdt, "ranges", 2 * 7, &c));
	pci_range(c, 0, PCI_SPACE_IO, 0, d->pci_io_base, d->pci_io_size);
	pci_range(c, 1, PCI_SPACE_MEM32, d->pci_mmio_base, d->pci_mmio_base,
		  d->pci_mmio_size);

	TRY(fdt_property(fdt, "interrupt-map-mask", mask, sizeof(mask)));
	TRY(pci_interrupt_map(fdt, d));
	TRY(fdt_property_u32(fdt, "interrupt-parent", PHANDLE_IRQCHIP));
	if (d->irqchip == RISCV_IRQCHIP_AIA)
		TRY(fdt_property_u32(fdt, "msi-parent", PHANDLE_IMSIC));
	return fdt_end_node(fdt);
}

static int add_soc(void *fdt, const struct riscv_fdt_desc *d)
{
	unsigned int i;

	TRY(fdt_begin_node(fdt, "soc"));
	TRY(fdt_property_string(fdt, "compatible", "simple-bus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(prop_empty(fdt, "ranges"));

	if (d->irqchip == RISCV_IRQCHIP_PLIC)
		TRY(add_plic(fdt, d));
	else
		TRY(add_aia(fdt, d));
	TRY(add_uart(fdt, d));
	if (d->pvpanic_size)
		TRY(add_pvpanic(fdt, d));
	if (d->marker_size)
		TRY(add_boot_marker(fdt, d));
	for (i = 0; i < d->nr_virtio_mmio; i++)
		TRY(add_virtio_mmio(fdt, d, &d->virtio_mmio[i]));
	if (d->pci)
		TRY(add_pci(fdt, d));
	return fdt_end_node(fdt);
}

static int build(const struct riscv_fdt_desc *d, void *fdt, int size)
{
	TRY(fdt_create(fdt, size));
	TRY(fdt_finish_reservemap(fdt));

	TRY(fdt_begin_node(fdt, ""));
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	TRY(fdt_property_string(fdt, "model", "lkvm"));
	TRY(add_chosen(fdt, d));
	TRY(add_cpus(fdt, d));
	TRY(add_memory(fdt, d));
	TRY(add_soc(fdt, d));
	TRY(fdt_end_node(fdt));

	/* Leaves totalsize at the blob's length: no free space inside. */
	return fdt_finish(fdt);
}

int riscv_fdt_build(const struct riscv_fdt_desc *d, void *buf, size_t size)
{
	int err;

	if (!d || !buf || !check_desc(d))
		return -EINVAL;
	err = build(d, buf, size > INT_MAX ? INT_MAX : (int)size);
	if (err) {
		pr_debug("fdt: %s", fdt_strerror(err));
		return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	}
	return 0;
}
