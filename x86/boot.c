// SPDX-License-Identifier: GPL-2.0
/*
 * Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst): lkvm
 * loads the protected-mode part of a bzImage, fills the zero page
 * (struct boot_params), builds identity page tables and a GDT, and enters the
 * kernel's 64-bit entry point in long mode.  There is no BIOS and no
 * real-mode code path.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/trace.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#define SETUP_HDR_OFFSET 0x1f1
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define MIN_BOOT_PROTOCOL 0x020c /* 2.12: xloadflags, 64-bit entry flag */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *info,
		  char *why, size_t why_len)
{
	unsigned int setup_sects;
	uint16_t xloadflags;

	memset(info, 0, sizeof(*info));
	if (len >= 4 && !memcmp(img, "\177ELF", 4)) {
		snprintf(why, why_len,
			 "is an ELF vmlinux, not a bzImage (use arch/x86/boot/bzImage)");
		return -EINVAL;
	}
	if (len < 0x270 || get32(img + 0x202) != HDRS_MAGIC) {
		snprintf(why, why_len, "is not a bzImage (no 'HdrS' boot header)");
		return -EINVAL;
	}
	info->version = get16(img + 0x206);
	if (info->version < MIN_BOOT_PROTOCOL) {
		snprintf(why, why_len,
			 "uses boot protocol %u.%02u; lkvm needs 2.12 or later",
			 info->version >> 8, info->version & 0xff);
		return -EINVAL;
	}
	xloadflags = get16(img + 0x236);
	if (!(xloadflags & XLF_KERNEL_64)) {
		snprintf(why, why_len, "has no 64-bit entry point (not an x86-64 kernel)");
		return -EINVAL;
	}
	setup_sects = img[0x1f1] ? img[0x1f1] : 4;
	info->setup_size = (setup_sects + 1) * 512;
	if (info->setup_size >= len) {
		snprintf(why, why_len, "is truncated (setup code exceeds the file)");
		return -EINVAL;
	}
	info->header_end = 0x202 + img[0x201];
	if (info->header_end > SETUP_HDR_OFFSET + sizeof(struct setup_header))
		info->header_end = SETUP_HDR_OFFSET + sizeof(struct setup_header);
	info->initrd_addr_max = get32(img + 0x22c);
	info->kernel_alignment = get32(img + 0x230);
	info->relocatable = img[0x234];
	info->cmdline_size = get32(img + 0x238);
	info->pref_address = get64(img + 0x258);
	info->init_size = get32(img + 0x260);
	if (!info->pref_address)
		info->pref_address = X86_HIGH_MEM;
	return 0;
}

void x86_build_e820(uint64_t lowmem, uint64_t highmem, struct e820_layout *e)
{
	memset(e, 0, sizeof(*e));
#define ADD(a, s, t)                                                           \
	do {                                                                   \
		e->entries[e->nr].addr = (a);                                  \
		e->entries[e->nr].size = (s);                                  \
		e->entries[e->nr].type = (t);                                  \
		e->nr++;                                                       \
	} while (0)
	ADD(0, X86_EBDA_ADDR, E820_TYPE_RAM);
	ADD(X86_EBDA_ADDR, 0xa0000 - X86_EBDA_ADDR, E820_TYPE_RESERVED);
	/* The legacy BIOS area: ACPI tables at 0xE0000, the MP table at 0xF0000. */
	ADD(X86_ACPI_AREA, X86_HIGH_MEM - X86_ACPI_AREA, E820_TYPE_RESERVED);
	if (lowmem > X86_HIGH_MEM)
		ADD(X86_HIGH_MEM, lowmem - X86_HIGH_MEM, E820_TYPE_RAM);
	if (highmem)
		ADD(X86_4GIB, highmem, E820_TYPE_RAM);
#undef ADD
}

void x86_fill_boot_params(struct boot_params *bp, const uint8_t *img,
			  const struct bzimage_info *info,
			  const struct e820_layout *e820, uint64_t cmdline_addr,
			  uint64_t initrd_addr, uint64_t initrd_size)
{
	unsigned int i;

	memset(bp, 0, sizeof(*bp));
	/* The setup header is copied verbatim, then the loader's fields set. */
	memcpy(&bp->hdr, img + SETUP_HDR_OFFSET,
	       info->header_end - SETUP_HDR_OFFSET);
	bp->hdr.type_of_loader = 0xff; /* undefined loader */
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.loadflags &= ~QUIET_FLAG;
	bp->hdr.heap_end_ptr = 0xfe00 - 0x200;
	bp->hdr.cmd_line_ptr = (uint32_t)cmdline_addr;
	bp->ext_cmd_line_ptr = (uint32_t)(cmdline_addr >> 32);
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	bp->hdr.vid_mode = 0xffff; /* "normal" */
	/* Boot protocol 2.14+: no need for the guest to scan for the RSDP. */
	if (info->version >= 0x020e)
		bp->acpi_rsdp_addr = X86_ACPI_AREA;
	bp->e820_entries = (uint8_t)e820->nr;
	for (i = 0; i < e820->nr; i++) {
		bp->e820_table[i].addr = e820->entries[i].addr;
		bp->e820_table[i].size = e820->entries[i].size;
		bp->e820_table[i].type = e820->entries[i].type;
	}
}

/*
 * initrd_addr_max is the highest address the last byte may occupy;
 * protocols before 2.03 left it 0, meaning 0x37ffffff.
 */
static uint64_t initrd_limit(uint32_t addr_max)
{
	return (uint64_t)(addr_max ? addr_max : 0x37ffffff) + 1;
}

uint64_t x86_min_ram(uint64_t kernel_end, uint64_t initrd_size,
		     uint32_t addr_max)
{
	uint64_t end = ALIGN_UP(kernel_end, 4096);

	if (kernel_end > X86_MMIO_HOLE_START || initrd_size > X86_MMIO_HOLE_START)
		return 0;
	if (initrd_size) {
		end += ALIGN_UP(initrd_size, 4096);
		if (end > MIN(initrd_limit(addr_max), X86_MMIO_HOLE_START))
			return 0;
	}
	return end > X86_MMIO_HOLE_START ? 0 : end;
}

int x86_place_initrd(uint64_t lowmem, uint64_t kernel_end, uint32_t addr_max,
		     uint64_t size, uint64_t *addr)
{
	uint64_t top = MIN(lowmem, initrd_limit(addr_max));
	uint64_t a;

	if (size > top)
		return -ENOSPC;
	a = ALIGN_DOWN(top - size, 4096);
	if (a < kernel_end)
		return -ENOSPC;
	*addr = a;
	return 0;
}

/* -m's value for at least @bytes of RAM, in whole MiB. */
static unsigned long long mem_arg(uint64_t bytes)
{
	return (unsigned long long)(ALIGN_UP(bytes, MiB) >> 20);
}

void x86_report_initrd_fit(const char *what, uint64_t size,
			   uint64_t kernel_end, uint32_t addr_max,
			   uint64_t ram)
{
	uint64_t min = x86_min_ram(kernel_end, size, addr_max);
	uint64_t limit = initrd_limit(addr_max);

	if (min) {
		pr_err("initrd '%s' (%s) does not fit in guest memory beside the kernel (the guest has %s; give -m %lluM or more)",
		       what, size_str(size).s, size_str(ram).s, mem_arg(min));
	} else if (limit < X86_MMIO_HOLE_START) {
		/* No amount of RAM helps: the kernel cannot reach it. */
		pr_err("initrd '%s' (%s) does not fit below the kernel's initrd_addr_max (%s - 1) after the kernel, which ends at %s",
		       what, size_str(size).s, size_str(limit).s,
		       size_str(ALIGN_UP(kernel_end, 4096)).s);
	} else {
		pr_err("initrd '%s' (%s) does not fit between the kernel, which ends at %s, and 3 GiB, where guest RAM below the PCI hole ends",
		       what, size_str(size).s,
		       size_str(ALIGN_UP(kernel_end, 4096)).s);
	}
}

void x86_report_kernel_fit(const char *path, uint64_t load, uint64_t need,
			   uint64_t initrd_size, uint32_t addr_max,
			   uint64_t ram)
{
	uint64_t end = load + need;
	uint64_t min = end < load ? 0 : x86_min_ram(end, initrd_size, addr_max);

	if (end < load || end > X86_MMIO_HOLE_START) {
		pr_err("kernel '%s' needs RAM up to %#llx (%s from %#llx), above the 3 GiB lkvm has below the PCI hole",
		       path, (unsigned long long)end, size_str(need).s,
		       (unsigned long long)load);
	} else if (!min) {
		/* The kernel fits with more RAM; its initrd never will. */
		pr_err("kernel '%s' needs %s of guest RAM (%s from %s), the guest has %s; and its initrd (%s) cannot fit after it below the kernel's initrd_addr_max (%s - 1)",
		       path, size_str(end).s, size_str(need).s,
		       size_str(load).s, size_str(ram).s,
		       size_str(initrd_size).s,
		       size_str(MIN(initrd_limit(addr_max), X86_MMIO_HOLE_START)).s);
	} else {
		pr_err("kernel '%s' needs %s of guest RAM (%s from %s), the guest has %s: give -m %lluM or more%s",
		       path, size_str(end).s, size_str(need).s,
		       size_str(load).s, size_str(ram).s, mem_arg(min),
		       initrd_size ? " (kernel and initrd)" : "");
	}
}

int x86_load_initrd(struct vm *vm, uint64_t kernel_end, uint32_t addr_max)
{
	struct arch_vm *a = &vm->arch;
	int err;

	a->initrd_addr = 0;
	if (vm->initrd_fd < 0)
		return 0;
	err = x86_place_initrd(a->lowmem_size, kernel_end, addr_max,
			       vm->initrd_size, &a->initrd_addr);
	if (err) {
		x86_report_initrd_fit(vm->cfg->initrd_what ? vm->cfg->initrd_what :
				      vm->cfg->initrd_path, vm->initrd_size,
				      kernel_end, addr_max,
				      a->lowmem_size + a->highmem_size);
		return err;
	}
	return vm_read_initrd(vm, gpa_to_hva(&vm->mem, a->initrd_addr,
					     vm->initrd_size));
}

void x86_build_page_tables(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + X86_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(mem + X86_PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(mem + X86_PD_ADDR);
	unsigned int i;

	/* Present | writable; PS (bit 7) on the PD entries makes 2 MiB pages. */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_ADDR + i * 4096ULL) | 0x3;
	for (i = 0; i < 512 * 4; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
}

void x86_build_gdt(uint8_t *mem)
{
	uint64_t *gdt = (uint64_t *)(mem + X86_GDT_ADDR);

	/* Selectors 0x10/0x18 are __BOOT_CS/__BOOT_DS from the boot protocol. */
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL; /* 64-bit code, DPL 0 */
	gdt[3] = 0x00cf93000000ffffULL; /* flat data, DPL 0 */
	gdt[4] = 0x00008b0000000067ULL; /* busy TSS at 0 (needed by VMX) */
	gdt[5] = 0;                     /* (a 64-bit TSS takes two slots) */
	gdt[6] = 0x00cf9b000000ffffULL; /* 32-bit code, for the PVH entry */
}

int arch_check_kernel(struct vm *vm)
{
	char why[160];
	int err;

	/* An ELF file is a vmlinux to boot through its PVH entry. */
	if (vm->kernel_size >= 4 && !memcmp(vm->kernel_image, "\177ELF", 4)) {
		vm->arch.kind = X86_KERNEL_PVH;
		err = pvh_parse(vm->kernel_image, vm->kernel_size,
				&vm->arch.pvh, why, sizeof(why));
	} else {
		vm->arch.kind = X86_KERNEL_BZIMAGE;
		err = bzimage_parse(vm->kernel_image, vm->kernel_size,
				    &vm->arch.kernel, why, sizeof(why));
	}
	if (err) {
		pr_err("kernel '%s' %s", vm->cfg->kernel_path, why);
		return -EINVAL;
	}
	/* The fast path: skip the guest's decompressor (reports its errors). */
	if (vm->arch.kind == X86_KERNEL_BZIMAGE && !vm->cfg->no_pvh) {
		uint64_t t0 = trace_now(vm->trace);

		err = x86_unpack_bzimage(vm);
		trace_span(vm->trace, vm->arch.kind == X86_KERNEL_PVH ?
			   "unpack bzImage for PVH" : "unpack bzImage (not used)", t0);
		return err;
	}
	return 0;
}

/* Command line, MP table and ACPI tables: the same for both boot paths. */
static int load_common(struct vm *vm, uint32_t cmdline_limit)
{
	size_t cmdlen = strlen(vm->cmdline);
	int err;

	if (cmdline_limit && cmdlen > cmdline_limit) {
		pr_err("kernel command line is %zu bytes; the kernel accepts %u",
		       cmdlen, cmdline_limit);
		return -E2BIG;
	}
	if (cmdlen >= X86_CMDLINE_MAX) {
		pr_err("kernel command line is too long (%zu bytes)", cmdlen);
		return -E2BIG;
	}
	memcpy(gpa_to_hva(&vm->mem, X86_CMDLINE_ADDR, cmdlen + 1), vm->cmdline,
	       cmdlen + 1);
	x86_build_page_tables(vm->mem.regions[0].hva);
	x86_build_gdt(vm->mem.regions[0].hva);
	err = x86_write_mptable(vm);
	if (err)
		return err;
	err = acpi_write_tables_devs(gpa_to_hva(&vm->mem, X86_ACPI_AREA,
						X86_ACPI_AREA_SIZE),
				     X86_ACPI_AREA_SIZE, X86_ACPI_AREA,
				     vm->nr_vcpus, &(struct acpi_devices){
					.mmio = vm->arch.virtio_mmio,
					.nr_mmio = vm->arch.nr_virtio_mmio,
					.pvpanic_port = X86_PVPANIC_PORT,
				     });
	if (err < 0)
		return err;
	/* The BIOS data area's EBDA pointer, where Linux expects it. */
	*(uint16_t *)gpa_to_hva(&vm->mem, 0x40e, 2) = X86_EBDA_ADDR >> 4;
	return 0;
}

static int bzimage_load(struct vm *vm);

int arch_load_kernel(struct vm *vm)
{
	int err;

	if (vm->arch.kind == X86_KERNEL_PVH) {
		/* Linux's COMMAND_LINE_SIZE on x86 is 2048. */
		err = load_common(vm, 2047);
		return err ? err : pvh_load(vm);
	}
	err = load_common(vm, vm->arch.kernel.cmdline_size);
	return err ? err : bzimage_load(vm);
}

static int bzimage_load(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	const struct bzimage_info *k = &a->kernel;
	uint64_t payload = vm->kernel_size - k->setup_size;
	uint64_t need = MAX((uint64_t)k->init_size, payload);
	uint64_t load = k->pref_address, kernel_end;
	struct e820_layout e820;
	uint8_t *dst;
	int err;

	if (load + need > a->lowmem_size || load + need < load) {
		x86_report_kernel_fit(vm->cfg->kernel_path, load, need,
				      vm->initrd_fd >= 0 ? vm->initrd_size : 0,
				      k->initrd_addr_max,
				      a->lowmem_size + a->highmem_size);
		return -ENOSPC;
	}
	dst = gpa_to_hva(&vm->mem, load, payload);
	if (!dst)
		return -EFAULT;
	memcpy(dst, vm->kernel_image + k->setup_size, payload);
	a->kernel_load_addr = load;
	kernel_end = ALIGN_UP(load + need, 4096);

	err = x86_load_initrd(vm, kernel_end, k->initrd_addr_max);
	if (err)
		return err;

	x86_build_e820(a->lowmem_size, a->highmem_size, &e820);
	x86_fill_boot_params(gpa_to_hva(&vm->mem, X86_ZERO_PAGE_ADDR,
					sizeof(struct boot_params)),
			     vm->kernel_image, k, &e820, X86_CMDLINE_ADDR,
			     a->initrd_addr, vm->initrd_fd >= 0 ? vm->initrd_size : 0);
	return 0;
}
