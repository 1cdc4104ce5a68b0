/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_ARCH_H
#define LKVM_X86_ARCH_H

#include <elf.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/devices.h"
#include "lkvm/decompress.h"
#include "lkvm/boot-marker.h"
#include "lkvm/pci.h"
#include "lkvm/pvpanic.h"
#include "lkvm/serial8250.h"

struct kvm_cpuid2;

/* What the generic CLI says and accepts on this architecture. */
#define LKVM_ARCH_NAME "x86"
#define LKVM_ARCH_KERNEL_DESC \
	"an x86-64 bzImage, or an\nuncompressed vmlinux with a PVH entry note (CONFIG_PVH=y)"
#define LKVM_ARCH_DEFAULT_TRANSPORT "pci"
#define LKVM_ARCH_DEFAULT_TRANSPORT_KIND VIRTIO_TRANSPORT_PCI
#define LKVM_ARCH_HAS_FDT 0
#define LKVM_ARCH_HAS_IRQCHIP_CHOICE 0
/* A bzImage's payload is decompressed on the host to boot its PVH entry
 * (x86/bzimage-unpack.c; --no-pvh turns it off). */
#define LKVM_ARCH_HAS_PVH_UNPACK 1
/* virtio-mmio devices: one IOAPIC line each, 15 free (x86/platform.c). */
#define LKVM_ARCH_MAX_VIRTIO_MMIO 15

/* Where lkvm puts things in low guest memory (all below 1 MiB). */
#define X86_GDT_ADDR 0x500
#define X86_GDT_ENTRIES 7
#define X86_BOOT_CS64 0x10
#define X86_BOOT_DS 0x18
#define X86_BOOT_TR 0x20
#define X86_BOOT_CS32 0x30
#define X86_PVH_INFO_ADDR 0x6000 /* hvm_start_info + memmap + modlist */
#define X86_ZERO_PAGE_ADDR 0x7000
#define X86_BOOT_STACK 0x8ff0
/* The 64-bit boot protocol's entry (startup_64), from the load address. */
#define X86_ENTRY64_OFFSET 0x200
#define X86_PML4_ADDR 0x9000
#define X86_PDPT_ADDR 0xa000
#define X86_PD_ADDR 0xb000 /* four page directories: 0xb000..0xefff */
#define X86_CMDLINE_ADDR 0x20000
#define X86_CMDLINE_MAX 0x10000
#define X86_EBDA_ADDR 0x9fc00
#define X86_BIOS_AREA 0xf0000 /* MP table lives here */
#define X86_BIOS_AREA_SIZE 0x10000
#define X86_HIGH_MEM 0x100000

/* The 32-bit hole for MMIO (PCI BARs, IOAPIC, LAPIC) is [3 GiB, 4 GiB). */
#define X86_MMIO_HOLE_START 0xc0000000ULL
#define X86_4GIB 0x100000000ULL

/* Allocated to BARs and virtio-mmio windows (x86/platform.c). */
#define X86_MMIO_ALLOC_START 0xc0000000ULL
#define X86_MMIO_ALLOC_END 0xfe000000ULL
#define X86_PIO_ALLOC_START 0x1000u
#define X86_PIO_ALLOC_END 0x10000u
#define X86_IOAPIC_PINS 24

#define X86_IOAPIC_ADDR 0xfec00000u
#define X86_LAPIC_ADDR 0xfee00000u
#define X86_TSS_ADDR 0xfffbd000u

/* ACPI tables and the PM1a register block (see x86/acpi.c). */
#define X86_ACPI_AREA 0xe0000
#define X86_ACPI_AREA_SIZE 0x10000
#define X86_ACPI_PM_BASE 0x600
#define X86_ACPI_PM1_CNT 4
#define X86_ACPI_PM_LEN 6
#define X86_ACPI_SCI_IRQ 9
#define X86_ACPI_SLP_TYP_S5 5

#define X86_UART_IRQ 4
#define X86_COM1_PORT 0x3f8
/* pvpanic, QEMU's ISA device: one byte at QEMU's port, QEMU0001 in the
 * DSDT (x86/acpi.c). */
#define X86_PVPANIC_PORT 0x505
#define X86_PVPANIC_LEN 1
/* The boot-marker register (include/lkvm/boot-marker.h): Firecracker's
 * boot-timer port; a floppy controller's base, which lkvm has none of. */
#define X86_BOOT_MARKER_PORT 0x3f0

/* What lkvm learned from a bzImage header (Documentation/arch/x86/boot.rst). */
struct bzimage_info {
	uint16_t version;
	uint32_t setup_size;   /* real-mode part, including the boot sector */
	uint32_t header_end;   /* end of the setup header within the image */
	uint64_t pref_address; /* where the kernel wants to run */
	uint32_t init_size;    /* memory the kernel needs from its load address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t kernel_alignment;
	uint8_t relocatable;
};

/* What lkvm learned from a PVH-capable ELF vmlinux. */
struct pvh_info {
	uint64_t entry;   /* 32-bit protected-mode entry (XEN_ELFNOTE_PHYS32_ENTRY) */
	uint64_t low;     /* lowest physical address loaded */
	uint64_t end;     /* end of the highest segment, bss included */
	unsigned int nr_load;
};

enum x86_kernel_kind { X86_KERNEL_BZIMAGE, X86_KERNEL_PVH };

struct acpi_pm {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	void (*poweroff)(void *opaque);
	void *opaque;
};

int acpi_pm_init(struct acpi_pm *pm, void (*poweroff)(void *), void *opaque);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Bus handler for the 6-byte PM1a block: STS(2) EN(2) CNT(2). */
void acpi_pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write);
/* RSDP/XSDT/FADT/FACS/DSDT/MADT at @mem (guest address @gpa); bytes or <0. */
int acpi_write_tables(uint8_t *mem, size_t room, uint32_t gpa,
		      unsigned int nr_cpus);
/* A virtio-mmio device described in the DSDT (x86/virtio_mmio.c). */
struct acpi_mmio_dev {
	uint64_t base; /* below 4 GiB */
	uint32_t size;
	uint32_t irq;  /* GSI = IOAPIC pin; level, active high */
};
/* The same tables, with @nr_mmio (<= X86_IOAPIC_PINS) virtio-mmio devices
 * as \_SB.VRnn (_HID LNRO0005) in the DSDT. */
int acpi_write_tables_mmio(uint8_t *mem, size_t room, uint32_t gpa,
			   unsigned int nr_cpus,
			   const struct acpi_mmio_dev *mmio,
			   unsigned int nr_mmio);
/* The devices the DSDT describes in \_SB. */
struct acpi_devices {
	const struct acpi_mmio_dev *mmio; /* virtio-mmio, as \_SB.VRnn */
	unsigned int nr_mmio;             /* <= X86_IOAPIC_PINS */
	uint16_t pvpanic_port;            /* \_SB.PEVT (QEMU0001); 0: none */
};
int acpi_write_tables_devs(uint8_t *mem, size_t room, uint32_t gpa,
			   unsigned int nr_cpus,
			   const struct acpi_devices *devs);
/* PCI INTx wiring (x86/irq.c): INTA# of PCI slot @slot is ISA IRQ / IOAPIC
 * pin x86_pci_intx_line(slot); the MP table and the MADT describe every line
 * in x86_pci_intx_line_mask() as level-triggered, active-high. */
unsigned int x86_pci_intx_line(unsigned int slot);
uint32_t x86_pci_intx_line_mask(void);
/* The byte that makes @len bytes sum to 0 (MP and ACPI tables alike). */
uint8_t table_checksum(const void *p, size_t len);

struct arch_vm {
	enum x86_kernel_kind kind;
	struct bzimage_info kernel;
	struct pvh_info pvh;
	/* The vmlinux decompressed from a bzImage, booted through PVH;
	 * empty when the kernel file itself is booted. */
	struct kernel_blob unpacked;
	uint64_t kernel_load_addr;
	uint64_t initrd_addr;
	uint64_t lowmem_size;  /* RAM below the hole */
	uint64_t highmem_size; /* RAM from 4 GiB */
	struct kvm_cpuid2 *cpuid; /* what KVM supports; per-vCPU copies edit it */

	struct serial8250 uart;
	struct i8042 kbd;
	struct cmos_rtc rtc;
	struct pci_bus pci;
	struct pci_conf1 conf1;
	struct pci_device host_bridge;
	struct acpi_pm pm;
	struct pvpanic pvpanic;
	struct boot_marker marker;

	/* Resource allocators (x86/platform.c). */
	uint64_t mmio_next;
	uint32_t pio_next;
	unsigned int next_irq_line;

	/* virtio-mmio devices announced so far, for the DSDT. */
	struct acpi_mmio_dev virtio_mmio[X86_IOAPIC_PINS];
	unsigned int nr_virtio_mmio;
};

struct arch_vcpu {
	int unused;
};

/* --- Helpers shared by x86 files and the unit tests. --- */
struct boot_params;
struct e820_layout {
	unsigned int nr;
	struct {
		uint64_t addr, size;
		uint32_t type;
	} entries[8];
};

#define E820_TYPE_RAM 1
#define E820_TYPE_RESERVED 2

/* Parse and validate; on failure returns -EINVAL and writes a reason. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *info,
		  char *why, size_t why_len);
void x86_build_e820(uint64_t lowmem, uint64_t highmem, struct e820_layout *e);
/* Fill a zero page for a kernel at @load_addr; @img is the bzImage. */
void x86_fill_boot_params(struct boot_params *bp, const uint8_t *img,
			  const struct bzimage_info *info,
			  const struct e820_layout *e820, uint64_t cmdline_addr,
			  uint64_t initrd_addr, uint64_t initrd_size);
/* Choose where the initrd goes: highest page-aligned spot that fits. */
int x86_place_initrd(uint64_t lowmem, uint64_t kernel_end, uint32_t addr_max,
		     uint64_t size, uint64_t *addr);
/*
 * The least RAM (-m, bytes) in which a kernel ending at @kernel_end and an
 * initrd of @initrd_size (0: none) fit, the initrd ending below the
 * kernel's initrd_addr_max @addr_max and RAM below the 3 GiB hole; 0 when
 * no amount of RAM is enough.
 */
uint64_t x86_min_ram(uint64_t kernel_end, uint64_t initrd_size,
		     uint32_t addr_max);
/* One line each: why a kernel needing @need bytes from @load, or an
 * initrd of @size after a kernel ending at @kernel_end, does not fit in
 * @ram bytes, and -m's value when more RAM would help. */
void x86_report_kernel_fit(const char *path, uint64_t load, uint64_t need,
			   uint64_t initrd_size, uint32_t addr_max,
			   uint64_t ram);
void x86_report_initrd_fit(const char *what, uint64_t size,
			   uint64_t kernel_end, uint32_t addr_max,
			   uint64_t ram);
/* Identity-map the first 4 GiB with 2 MiB pages; @mem is guest RAM at 0. */
void x86_build_page_tables(uint8_t *mem);
void x86_build_gdt(uint8_t *mem);

/* MP table: writes at @mem (guest address @gpa); returns bytes used or <0. */
struct mptable_cpu {
	uint32_t signature; /* CPUID.1:EAX */
	uint32_t features;  /* CPUID.1:EDX */
};
int mptable_write(uint8_t *mem, size_t room, uint32_t gpa, unsigned int nr_cpus,
		  const struct mptable_cpu *cpu);

struct vm;
/* Place the initrd above @kernel_end (below @addr_max) and read it in. */
int x86_load_initrd(struct vm *vm, uint64_t kernel_end, uint32_t addr_max);

/* PVH: parse (no side effects) and load into guest RAM. */
int pvh_parse(const uint8_t *img, size_t len, struct pvh_info *info,
	      char *why, size_t why_len);
int pvh_load(struct vm *vm);
/* pvh_load()'s segments from @img (@len bytes), its headers checked
 * again against vm->arch.pvh: 0, -EINVAL (changed since), -EFAULT. */
int pvh_load_segments(struct vm *vm, const uint8_t *img, size_t len);
/* One PT_LOAD segment's file bytes from @img (@b's data, or the kernel
 * file) to @dst in guest RAM: read from @b's file when it has one. */
void pvh_load_segment(const struct kernel_blob *b, const uint8_t *img,
		      const Elf64_Phdr *ph, uint8_t *dst);

/*
 * A bzImage's payload decompressed on the host (x86/bzimage-unpack.c):
 * 1 when @out holds a vmlinux with a PVH entry (@pvh parsed; @how says
 * "xz, cache hit" or the like), 0 to boot the bzImage as it is (a pr_debug
 * line says why), -EINVAL for a corrupt payload (reported).  The output is
 * bounded by the size Linux appends to the payload and by
 * BZIMAGE_UNPACK_MAX.
 */
#define BZIMAGE_UNPACK_MAX (512u << 20)
int bzimage_unpack(const char *path, const uint8_t *img, size_t len,
		   const struct bzimage_info *bz, struct kernel_blob *out,
		   struct pvh_info *pvh, char *how, size_t how_len);
/* The step arch_check_kernel() takes for a bzImage unless --no-pvh:
 * switches vm->arch to PVH when bzimage_unpack() succeeds; 0 or <0. */
int x86_unpack_bzimage(struct vm *vm);

/* Write the MP table for vm's CPUs into the BIOS area (x86/kvm.c). */
int x86_write_mptable(struct vm *vm);

/* CPUID (x86/cpuid.c): what KVM supports into vm->arch.cpuid (freed by
 * the VM's cleanups); each vCPU's copy of it, with its own APIC ID and a
 * one-socket, n-core topology; CPUID.1 for the MP table (zeroes when KVM
 * reports no leaf 1).  Set-up steps print their own errors. */
struct vcpu;
int x86_cpuid_init(struct vm *vm);
int x86_vcpu_setup_cpuid(struct vcpu *vcpu);
void x86_cpuid_mptable_cpu(const struct kvm_cpuid2 *c, struct mptable_cpu *cpu);
/* The MSRs a vCPU starts with (x86/msr.c). */
int x86_vcpu_setup_msrs(struct vcpu *vcpu);

#endif
