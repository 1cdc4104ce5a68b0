/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_RISCV_ARCH_H
#define LKVM_RISCV_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/fdt.h"
#include "arch/plic.h"
#include "lkvm/pci.h"
#include "lkvm/boot-marker.h"
#include "lkvm/pvpanic.h"
#include "lkvm/serial8250.h"

/* What the generic CLI says and accepts on this architecture. */
#define LKVM_ARCH_NAME "riscv64"
#define LKVM_ARCH_KERNEL_DESC "a riscv64 Image (arch/riscv/boot/Image)"
#define LKVM_ARCH_DEFAULT_TRANSPORT "mmio"
#define LKVM_ARCH_DEFAULT_TRANSPORT_KIND VIRTIO_TRANSPORT_MMIO
#define LKVM_ARCH_HAS_FDT 1
#define LKVM_ARCH_HAS_IRQCHIP_CHOICE 1
/* Images boot as they are: --no-pvh is x86's. */
#define LKVM_ARCH_HAS_PVH_UNPACK 0
/* virtio-mmio devices: one interrupt source each, 2..31 (below). */
#define LKVM_ARCH_MAX_VIRTIO_MMIO (RISCV_PCI_INTX_IRQ_BASE - RISCV_FIRST_FREE_IRQ)

/*
 * Guest-physical layout (below RAM, all under 2 GiB):
 *   0x0300_0000  PCI I/O space window (64 KiB), forwarded to the port bus
 *   0x0c00_0000  PLIC (up to 64 MiB)         or  APLIC at 0x0d00_0000
 *   0x1000_0000  ns16550a UART
 *   0x1000_1000  pvpanic ("qemu,pvpanic-mmio", 2 bytes, as QEMU's)
 *   0x1000_2000  boot marker ("lkvm,boot-marker", include/lkvm/boot-marker.h)
 *   0x1010_0000  virtio-mmio windows (4 KiB each)
 *   0x2800_0000  IMSICs (AIA), one 4 KiB page per hart
 *   0x3000_0000  PCI ECAM, bus 0 only (1 MiB)
 *   0x4000_0000  PCI 32-bit MMIO window (1 GiB)
 *   0x8000_0000  RAM
 */
#define RISCV_PCI_IO_BASE 0x03000000ULL
#define RISCV_PCI_IO_SIZE 0x10000ULL
#define RISCV_PIO_ALLOC_START 0x1000u
#define RISCV_PLIC_BASE 0x0c000000ULL
#define RISCV_APLIC_BASE 0x0d000000ULL
#define RISCV_APLIC_SIZE 0x8000ULL
#define RISCV_UART_BASE 0x10000000ULL
#define RISCV_UART_SIZE 0x1000ULL
#define RISCV_UART_CLOCK 1843200u
#define RISCV_PVPANIC_BASE 0x10001000ULL
#define RISCV_PVPANIC_SIZE 2ULL
#define RISCV_BOOT_MARKER_BASE 0x10002000ULL
#define RISCV_BOOT_MARKER_SIZE 0x1000ULL
#define RISCV_VIRTIO_MMIO_BASE 0x10100000ULL
#define RISCV_VIRTIO_MMIO_END 0x10200000ULL
#define RISCV_IMSIC_BASE 0x28000000ULL
#define RISCV_IMSIC_STRIDE 0x1000ULL
#define RISCV_PCI_ECAM_BASE 0x30000000ULL
#define RISCV_PCI_ECAM_SIZE 0x100000ULL /* bus 0: 32 devices x 8 functions */
#define RISCV_PCI_MMIO_BASE 0x40000000ULL
#define RISCV_PCI_MMIO_SIZE 0x40000000ULL
#define RISCV_RAM_BASE 0x80000000ULL

/*
 * Interrupt sources (PLIC or APLIC, the same numbers): 1 the UART, 2..31
 * handed out to virtio-mmio devices, 32 + slot the INTx line of PCI slot.
 * Below 64, so hw/pci.c's line bitmap covers them.
 */
#define RISCV_UART_IRQ 1
#define RISCV_FIRST_FREE_IRQ 2
#define RISCV_PCI_INTX_IRQ_BASE 32
#define RISCV_NR_IRQS 64 /* sources 1..63 */
#define RISCV_IMSIC_NR_IDS 255

/* What lkvm learned from a riscv Image header (Documentation/arch/riscv/
 * boot-image-header.rst). */
struct riscv_image_info {
	uint64_t text_offset; /* load offset from a 2 MiB-aligned RAM base */
	uint64_t image_size;  /* memory the kernel needs, bss included */
};

/* Parse and validate; on failure returns -EINVAL and writes a reason
 * (riscv/image.c, like riscv_kernel_release, arch_kernel_release()'s
 * riscv side). */
int riscv_kernel_release(const uint8_t *img, size_t len, char *buf, size_t cap);
int riscv_image_parse(const uint8_t *img, size_t len,
		      struct riscv_image_info *info, char *why, size_t why_len);

/* The ISA KVM gives the guest, as device-tree strings. */
#define RISCV_MAX_ISA_EXT 96
struct riscv_isa {
	char isa[1024];                          /* riscv,isa */
	const char *ext[RISCV_MAX_ISA_EXT];      /* riscv,isa-extensions */
	unsigned int nr_ext;
	const char *mmu_type;
	uint32_t cbom_block_size, cboz_block_size;
	uint32_t timebase_freq;
};

/* SBI error codes (SBI spec, "Standard SBI Errors"). */
#define SBI_SUCCESS 0L
#define SBI_ERR_NOT_SUPPORTED (-2L)
#define SBI_ERR_INVALID_PARAM (-3L)

/*
 * Answer an SBI call KVM forwarded (riscv/sbi.c): the legacy console and
 * DBCN, reading guest buffers from @mem and printing through @write.  Sets
 * ret[0] (error) and ret[1] (value); returns 0, or -1 for a call it does
 * not implement (ret[0] = SBI_ERR_NOT_SUPPORTED).
 */
struct guest_memory;
typedef void (*riscv_sbi_write_fn)(void *opaque, const uint8_t *buf, size_t len);
int riscv_sbi_console(const struct guest_memory *mem, unsigned long ext,
		      unsigned long fn, const unsigned long args[6],
		      unsigned long ret[2], riscv_sbi_write_fn write,
		      void *opaque);

struct vm;
/* Read the ISA KVM gives a hart (vCPU fd @fd): riscv/isa.c. */
int riscv_read_isa(int fd, struct riscv_isa *isa);
/* Create and configure KVM's in-kernel AIA (APLIC + IMSICs): riscv/aia.c.
 * Needs vm->nr_vcpus; finished by riscv_aia_init() once the harts exist. */
int riscv_aia_create(struct vm *vm);
int riscv_aia_init(struct vm *vm);

struct arch_vm {
	struct riscv_image_info kernel;
	uint64_t ram_size;
	uint64_t kernel_addr, initrd_addr, fdt_addr;
	enum riscv_irqchip_kind irqchip;
	int aia_fd;  /* KVM AIA device, or -1 */

	struct serial8250 uart;
	struct pvpanic pvpanic;
	struct boot_marker marker;
	struct plic plic;
	bool plic_ready;
	struct pci_bus pci;
	struct pci_device host_bridge;

	/* Resource allocators (riscv/platform.c). */
	uint64_t mmio_next, virtio_mmio_next;
	uint32_t pio_next;
	unsigned int next_irq_line;

	/* Everything the device tree says, filled while devices appear. */
	struct riscv_fdt_desc fdt;
	struct riscv_isa isa;
	void *fdt_blob; /* built by arch_finish_machine() */
};

struct arch_vcpu {
	int unused;
};

#endif
