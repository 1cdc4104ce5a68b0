// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's in-kernel AIA (--irqchip aia): an APLIC for wired interrupts and one
 * IMSIC per hart for MSIs, all emulated (or, on AIA hosts, accelerated) by
 * KVM, so KVM_IRQ_LINE, irqfd and MSI routes work as on x86's in-kernel
 * irqchip.  The device is created before the harts and initialised once
 * they exist: KVM checks every hart's IMSIC address then.
 * (Documentation/virt/kvm/devices/riscv-aia.rst)
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arch.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

/* The ABI numbers, for kernel headers older than 6.5. */
#define AIA_DEVICE_TYPE 11 /* KVM_DEV_TYPE_RISCV_AIA */
#define AIA_GRP_CONFIG 0
#define AIA_CONFIG_SRCS 2
#define AIA_CONFIG_IDS 1
#define AIA_CONFIG_HART_BITS 5
#define AIA_GRP_ADDR 1
#define AIA_ADDR_APLIC 0
#define AIA_ADDR_IMSIC(hart) (1 + (hart))
#define AIA_GRP_CTRL 2
#define AIA_CTRL_INIT 0

static int aia_set(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

static void aia_close(void *opaque)
{
	struct vm *vm = opaque;

	if (vm->arch.aia_fd >= 0)
		close(vm->arch.aia_fd);
	vm->arch.aia_fd = -1;
}

int riscv_aia_create(struct vm *vm)
{
	struct kvm_create_device cd = { .type = AIA_DEVICE_TYPE };
	uint32_t srcs = RISCV_NR_IRQS - 1, ids = RISCV_IMSIC_NR_IDS;
	uint32_t hart_bits = 0;
	int err;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		err = -errno;
		pr_err("--irqchip aia: KVM cannot create an in-kernel AIA here (%s); use --irqchip plic",
		       strerror(-err));
		return err;
	}
	vm->arch.aia_fd = (int)cd.fd;
	err = vm_add_cleanup(vm, aia_close, vm);
	if (err)
		return err;
	/* Enough bits to number every hart: its IMSIC page index. */
	while ((1u << hart_bits) < vm->nr_vcpus)
		hart_bits++;
	if ((err = aia_set(vm->arch.aia_fd, AIA_GRP_CONFIG, AIA_CONFIG_SRCS, &srcs)) ||
	    (err = aia_set(vm->arch.aia_fd, AIA_GRP_CONFIG, AIA_CONFIG_IDS, &ids)) ||
	    (err = aia_set(vm->arch.aia_fd, AIA_GRP_CONFIG, AIA_CONFIG_HART_BITS,
			   &hart_bits))) {
		pr_err("--irqchip aia: cannot configure KVM's AIA: %s",
		       strerror(-err));
		return err;
	}
	return 0;
}

int riscv_aia_init(struct vm *vm)
{
	uint64_t addr = RISCV_APLIC_BASE;
	unsigned int i;
	int err;

	err = aia_set(vm->arch.aia_fd, AIA_GRP_ADDR, AIA_ADDR_APLIC, &addr);
	for (i = 0; !err && i < vm->nr_vcpus; i++) {
		addr = RISCV_IMSIC_BASE + i * RISCV_IMSIC_STRIDE;
		err = aia_set(vm->arch.aia_fd, AIA_GRP_ADDR, AIA_ADDR_IMSIC(i),
			      &addr);
	}
	if (!err)
		err = aia_set(vm->arch.aia_fd, AIA_GRP_CTRL, AIA_CTRL_INIT, NULL);
	if (err)
		pr_err("--irqchip aia: cannot initialise KVM's AIA: %s",
		       strerror(-err));
	return err;
}
