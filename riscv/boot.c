// SPDX-License-Identifier: GPL-2.0
/*
 * Booting a riscv64 Linux Image (Documentation/arch/riscv/boot-image-header.rst
 * and boot.rst): the kernel goes at a 2 MiB-aligned RAM address plus the
 * header's text_offset, the device tree and the initrd go at the top of RAM
 * where the kernel's image_size cannot reach them, and the boot hart starts
 * at the kernel's first instruction with a0 = its hart id and a1 = the
 * device tree's address, MMU off (riscv/kvm.c sets the registers).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#define SZ_2M (2ULL << 20)
#define FDT_MAX_SIZE (64ULL << 10)

int arch_check_kernel(struct vm *vm)
{
	char why[160];

	if (riscv_image_parse(vm->kernel_image, vm->kernel_size,
			      &vm->arch.kernel, why, sizeof(why))) {
		pr_err("kernel '%s' %s", vm->cfg->kernel_path, why);
		return -EINVAL;
	}
	return 0;
}

int arch_kernel_release(const uint8_t *img, size_t len, char *buf, size_t cap)
{
	return riscv_kernel_release(img, len, buf, cap);
}

const char *arch_default_cmdline(void)
{
	/* The UART is the console; panic=1 so a dying guest ends lkvm. */
	return "console=ttyS0 panic=1";
}

/*
 * The least RAM, in whole MiB, for a kernel ending at @kernel_end and an
 * initrd of @initrd_size below the device tree, which takes the 2 MiB
 * block holding RAM's last 64 KiB (arch_load_kernel()).
 */
static uint64_t riscv_min_ram(uint64_t kernel_end, uint64_t initrd_size)
{
	uint64_t fdt = ALIGN_UP(ALIGN_UP(kernel_end, 4096) +
				ALIGN_UP(initrd_size, 4096), SZ_2M);

	return ALIGN_UP(fdt + FDT_MAX_SIZE - RISCV_RAM_BASE, MiB);
}

int arch_load_kernel(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	uint64_t ram_end = RISCV_RAM_BASE + a->ram_size, kernel_end;
	uint8_t *dst;

	a->kernel_addr = RISCV_RAM_BASE + a->kernel.text_offset;
	kernel_end = a->kernel_addr + a->kernel.image_size;
	/* The device tree gets the top 2 MiB (the kernel maps it with one
	 * PMD), the initrd goes right below it. */
	a->fdt_addr = ALIGN_DOWN(ram_end - FDT_MAX_SIZE, SZ_2M);
	if (kernel_end > a->fdt_addr) {
		pr_err("kernel '%s' needs %s of guest RAM with the device tree, the guest has %s: give -m %lluM or more",
		       vm->cfg->kernel_path,
		       size_str(riscv_min_ram(kernel_end, 0)).s,
		       size_str(a->ram_size).s,
		       (unsigned long long)(riscv_min_ram(kernel_end,
							  vm->initrd_size) >> 20));
		return -ENOMEM;
	}
	dst = gpa_to_hva(&vm->mem, a->kernel_addr, vm->kernel_size);
	if (!dst)
		return -EFAULT;
	memcpy(dst, vm->kernel_image, vm->kernel_size);

	if (vm->initrd_size) {
		/* Whole pages: the initrd starts page-aligned below the
		 * device tree, and must not reach down into a kernel whose
		 * end is not page-aligned. */
		if (ALIGN_UP(vm->initrd_size, 4096) > a->fdt_addr - kernel_end) {
			pr_err("initrd '%s' (%s) does not fit in guest memory beside the kernel (the guest has %s; give -m %lluM or more)",
			       vm->cfg->initrd_what ? vm->cfg->initrd_what :
			       vm->cfg->initrd_path,
			       size_str(vm->initrd_size).s,
			       size_str(a->ram_size).s,
			       (unsigned long long)(riscv_min_ram(kernel_end,
								  vm->initrd_size) >> 20));
			return -ENOMEM;
		}
		a->initrd_addr = ALIGN_DOWN(a->fdt_addr - vm->initrd_size, 4096);
		dst = gpa_to_hva(&vm->mem, a->initrd_addr, vm->initrd_size);
		if (!dst || vm_read_initrd(vm, dst))
			return -EIO;
		a->fdt.initrd_start = a->initrd_addr;
		a->fdt.initrd_end = a->initrd_addr + vm->initrd_size;
	}
	a->fdt.bootargs = vm->cmdline;
	return 0;
}
