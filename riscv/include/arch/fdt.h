/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_RISCV_FDT_H
#define LKVM_RISCV_FDT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The flattened device tree lkvm hands a riscv64 guest, built with libfdt
 * from a plain description (no KVM calls here, so host unit tests can build
 * and decompile it).  Layout of the tree:
 *
 *   / (#address-cells 2, #size-cells 2, compatible "linux,dummy-virt")
 *     chosen        bootargs, linux,initrd-start/-end, stdout-path
 *     cpus          timebase-frequency; cpu@N (reg N, riscv,isa,
 *                   riscv,isa-base, riscv,isa-extensions, mmu-type,
 *                   riscv,cbom/cboz-block-size) each with an
 *                   interrupt-controller child "riscv,cpu-intc"
 *     memory@BASE   device_type "memory"
 *     soc           simple-bus; all devices below:
 *       interrupt-controller@BASE  PLIC ("sifive,plic-1.0.0",
 *                   "riscv,plic0"), interrupts-extended = <&intcN 9> per
 *                   hart (S-mode external), riscv,ndev
 *       or, with AIA: imsics@BASE ("riscv,imsics") + aplic@BASE
 *                   ("riscv,aplic", msi-parent = imsics)
 *       serial@BASE ns16550a, clock-frequency, interrupts
 *       pvpanic@BASE "qemu,pvpanic-mmio" (when it has a size)
 *       boot-marker@BASE "lkvm,boot-marker" (when it has a size)
 *       virtio_mmio@BASE "virtio,mmio", interrupts (one per device)
 *       pci@BASE    "pci-host-ecam-generic", bus-range 0..0, ranges (I/O +
 *                   32-bit MMIO), interrupt-map for INTA..INTD of every
 *                   slot (the device number: every slot its own line),
 *                   interrupt-map-mask <0xf800 0 0 7>
 * Interrupt specifiers: one cell (the source) under the PLIC, two cells
 * (source, 4 = level high) under the APLIC.
 */

enum riscv_irqchip_kind {
	RISCV_IRQCHIP_PLIC, /* lkvm's userspace PLIC (riscv/plic.c) */
	RISCV_IRQCHIP_AIA,  /* KVM's in-kernel AIA: APLIC + IMSICs */
};

#define RISCV_FDT_MAX_MMIO 64
#define RISCV_FDT_PCI_SLOTS 32

struct riscv_fdt_mmio_dev {
	uint64_t base, size;
	unsigned int irq;
};

struct riscv_fdt_desc {
	unsigned int nr_harts;
	/* Per-hart ISA, the same for every hart: the full riscv,isa string
	 * ("rv64imafdc_zicsr_zifencei...") and the extension names for
	 * riscv,isa-extensions ("i", "m", ..., "zicsr", ...). */
	const char *isa;
	const char *const *isa_ext;
	unsigned int nr_isa_ext;
	const char *mmu_type;     /* "riscv,sv39"/"sv48"/"sv57", NULL: none */
	uint32_t cbom_block_size; /* 0: property left out */
	uint32_t cboz_block_size; /* 0: property left out */
	uint32_t timebase_freq;

	uint64_t ram_base, ram_size;

	const char *bootargs;
	uint64_t initrd_start, initrd_end; /* end > start: an initrd */

	enum riscv_irqchip_kind irqchip;
	uint64_t plic_base, plic_size;
	unsigned int nr_irq_sources; /* sources 1..nr_irq_sources (riscv,ndev,
				      * riscv,num-sources) */
	uint64_t aplic_base, aplic_size;   /* AIA only */
	uint64_t imsic_base, imsic_stride; /* AIA: hart n at base + n*stride */
	unsigned int imsic_nr_ids;         /* AIA: riscv,num-ids */

	uint64_t uart_base, uart_size;
	unsigned int uart_irq;
	uint32_t uart_clock;

	uint64_t pvpanic_base, pvpanic_size; /* size 0: no pvpanic node */
	uint64_t marker_base, marker_size;   /* size 0: no boot-marker node */

	struct riscv_fdt_mmio_dev virtio_mmio[RISCV_FDT_MAX_MMIO];
	unsigned int nr_virtio_mmio;

	int pci;                   /* nonzero: the ECAM host bridge node */
	uint64_t pci_ecam_base, pci_ecam_size;
	uint64_t pci_io_base, pci_io_size;     /* CPU address of PCI I/O 0 */
	uint64_t pci_mmio_base, pci_mmio_size; /* identity-mapped 32-bit MMIO */
	unsigned int pci_intx_irq[RISCV_FDT_PCI_SLOTS]; /* INTx of each slot */
};

/*
 * Build the tree into @buf (@size bytes); 0, or -ENOSPC when it does not
 * fit, -EINVAL for an inconsistent description.  fdt_totalsize(@buf) is
 * the blob's length afterwards.
 */
int riscv_fdt_build(const struct riscv_fdt_desc *d, void *buf, size_t size);

#endif
