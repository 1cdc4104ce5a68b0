// SPDX-License-Identifier: GPL-2.0
/*
 * riscv64 machine: memory map, platform devices (ns16550a UART, PLIC or
 * in-kernel AIA, PCI ECAM host), harts and what reaches userspace of SBI.
 *
 * KVM runs most of SBI itself (timer, IPI, remote fences, HSM hart start and
 * stop, system reset).  What it forwards is the console: the legacy
 * putchar/getchar calls and, once lkvm enables it, the debug console
 * extension (DBCN), which `earlycon=sbi` uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libfdt.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/kvm-regs.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#ifndef KVM_INTERRUPT_SET
#define KVM_INTERRUPT_SET -1U
#define KVM_INTERRUPT_UNSET -2U
#endif
#ifndef KVM_EXIT_RISCV_SBI
#define KVM_EXIT_RISCV_SBI 35
#endif
#ifndef KVM_EXIT_RISCV_CSR
#define KVM_EXIT_RISCV_CSR 36
#endif

/* ---- VM-wide setup ---- */

int arch_vm_init(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;

	a->aia_fd = -1;
	a->irqchip = vm->cfg->irqchip == IRQCHIP_AIA ? RISCV_IRQCHIP_AIA :
						       RISCV_IRQCHIP_PLIC;
	if (a->irqchip == RISCV_IRQCHIP_AIA)
		return riscv_aia_create(vm);
	return 0;
}

int arch_layout_memory(struct vm *vm, unsigned long long ram_bytes)
{
	vm->arch.ram_size = ram_bytes;
	vm->arch.fdt.ram_base = RISCV_RAM_BASE;
	vm->arch.fdt.ram_size = ram_bytes;
	return guest_memory_add_region(&vm->mem, RISCV_RAM_BASE, ram_bytes, 0);
}

/* ---- Interrupts ---- */

/* The PLIC's output for context @ctx is hart @ctx's external interrupt.
 * KVM_INTERRUPT is one of riscv's asynchronous vCPU ioctls: any thread may
 * issue it while the vCPU runs. */
static void plic_notify(void *opaque, unsigned int ctx, bool level)
{
	struct vm *vm = opaque;
	unsigned int irq = level ? KVM_INTERRUPT_SET : KVM_INTERRUPT_UNSET;

	if (!vm->vcpus || ctx >= vm->nr_vcpus || vm->vcpus[ctx].fd < 0)
		return;
	if (ioctl(vm->vcpus[ctx].fd, KVM_INTERRUPT, &irq) < 0)
		pr_debug("KVM_INTERRUPT on hart %u failed: %s", ctx,
			 strerror(errno));
}

void vm_set_irq_line(struct vm *vm, unsigned int irq, int level)
{
	if (vm->arch.irqchip == RISCV_IRQCHIP_AIA)
		vm_ioctl_irq_line(vm, irq, level);
	else
		plic_set_level(&vm->arch.plic, irq, level);
}

/* ---- Platform devices ---- */

static void uart_irq(void *opaque, int level)
{
	vm_set_irq_line(opaque, RISCV_UART_IRQ, level);
}

int arch_console_input(struct vm *vm, unsigned char c)
{
	return vm_uart_console_input(vm, &vm->arch.uart, c);
}

/* PCI I/O space: the guest reaches port P at RISCV_PCI_IO_BASE + P. */
static void pci_io_window(void *opaque, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (!bus_dispatch(&vm->pio_bus, off, data, len, is_write) && !is_write)
		memset(data, 0xff, len);
}

/* THR writes without an exit while the UART allows it (its transmit
 * interrupt off: console output), see serial8250_set_tx_coalesce(). */
static bool uart_coalesce(void *opaque, bool on)
{
	return vm_coalesce_zone(opaque, RISCV_UART_BASE + UART_THR, 1, false, on) == 0;
}

static void uart_cleanup(void *p) { serial8250_destroy(p); }
static void plic_cleanup(void *p) { plic_destroy(p); }
static void pci_cleanup(void *p) { pci_bus_destroy(p); }

struct mmio_map {
	uint64_t base, len;
	bus_io_fn io;
	void *opaque;
	const char *name;
};

int arch_devices_init(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	struct riscv_fdt_desc *d = &a->fdt;
	uint64_t plic_size = 0;
	unsigned int i;
	int err;

	err = serial8250_init(&a->uart, uart_irq, vm_console_write, vm);
	if (err || (err = vm_add_cleanup(vm, uart_cleanup, &a->uart)))
		return err;
	if (vm_coalesced_ok(vm, false))
		serial8250_set_tx_coalesce(&a->uart, uart_coalesce, vm);
	if (a->irqchip == RISCV_IRQCHIP_PLIC) {
		err = plic_init(&a->plic, RISCV_NR_IRQS, vm->nr_vcpus,
				plic_notify, vm);
		if (err || (err = vm_add_cleanup(vm, plic_cleanup, &a->plic)))
			return err;
		plic_size = plic_mmio_size(vm->nr_vcpus);
	}
	err = pci_bus_init(&a->pci);
	if (err || (err = vm_add_cleanup(vm, pci_cleanup, &a->pci)))
		return err;
	err = pci_bus_add_host_bridge(&a->pci, &a->host_bridge);
	if (err)
		return err;
	pvpanic_init(&a->pvpanic, pvpanic_stop_vm, vm);
	boot_marker_init(&a->marker, vm->trace,
			 vm->cfg->until_marker_set ? (int)vm->cfg->until_marker : -1,
			 boot_marker_stop_vm, vm);

	const struct mmio_map regions[] = {
		{ RISCV_UART_BASE, UART_NR_REGS, serial8250_io, &a->uart, "ttyS0" },
		{ RISCV_PVPANIC_BASE, RISCV_PVPANIC_SIZE, pvpanic_io, &a->pvpanic,
		  "pvpanic" },
		{ RISCV_BOOT_MARKER_BASE, RISCV_BOOT_MARKER_SIZE, boot_marker_io,
		  &a->marker, "boot-marker" },
		{ RISCV_PLIC_BASE, plic_size, plic_mmio, &a->plic, "plic" },
		{ RISCV_PCI_ECAM_BASE, RISCV_PCI_ECAM_SIZE, pci_ecam_io, &a->pci,
		  "pci-ecam" },
		{ RISCV_PCI_IO_BASE, RISCV_PCI_IO_SIZE, pci_io_window, vm,
		  "pci-io" },
	};
	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		if (!regions[i].len)
			continue;
		err = bus_register(&vm->mmio_bus, regions[i].base, regions[i].len,
				   regions[i].io, regions[i].opaque,
				   regions[i].name);
		if (err) {
			pr_err("cannot register %s at %#llx: %s", regions[i].name,
			       (unsigned long long)regions[i].base,
			       strerror(-err));
			return err;
		}
	}

	d->nr_harts = vm->nr_vcpus;
	d->irqchip = a->irqchip;
	d->nr_irq_sources = RISCV_NR_IRQS - 1;
	d->plic_base = RISCV_PLIC_BASE;
	d->plic_size = plic_size;
	d->aplic_base = RISCV_APLIC_BASE;
	d->aplic_size = RISCV_APLIC_SIZE;
	d->imsic_base = RISCV_IMSIC_BASE;
	d->imsic_stride = RISCV_IMSIC_STRIDE;
	d->imsic_nr_ids = RISCV_IMSIC_NR_IDS;
	d->uart_base = RISCV_UART_BASE;
	d->uart_size = RISCV_UART_SIZE;
	d->uart_irq = RISCV_UART_IRQ;
	d->uart_clock = RISCV_UART_CLOCK;
	d->pvpanic_base = RISCV_PVPANIC_BASE;
	d->pvpanic_size = RISCV_PVPANIC_SIZE;
	d->marker_base = RISCV_BOOT_MARKER_BASE;
	d->marker_size = RISCV_BOOT_MARKER_SIZE;
	d->pci = 1;
	d->pci_ecam_base = RISCV_PCI_ECAM_BASE;
	d->pci_ecam_size = RISCV_PCI_ECAM_SIZE;
	d->pci_io_base = RISCV_PCI_IO_BASE;
	d->pci_io_size = RISCV_PCI_IO_SIZE;
	d->pci_mmio_base = RISCV_PCI_MMIO_BASE;
	d->pci_mmio_size = RISCV_PCI_MMIO_SIZE;
	for (i = 0; i < RISCV_FDT_PCI_SLOTS; i++)
		d->pci_intx_irq[i] = (unsigned int)arch_pci_intx_line(vm, i);
	return 0;
}

/* ---- Harts ---- */

int arch_vcpu_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int err;

	/* The debug console is off until userspace says it handles it. */
	err = riscv_set_reg(vcpu->fd, RISCV_REG_SBI_EXT(RISCV_SBI_EXT_DBCN), 1);
	if (err)
		pr_debug("hart %u: no SBI debug console in KVM (%s)", vcpu->id,
			 strerror(-err));
	if (vcpu->id == 0) {
		err = riscv_read_isa(vcpu->fd, &vm->arch.isa);
		if (err)
			return err;
	}
	/*
	 * KVM keeps every hart but the first powered off until the guest
	 * starts it through SBI HSM, with its own entry point and a1.  The
	 * boot hart enters the kernel as boot.rst asks: a0 = hart id, a1 =
	 * the device tree, MMU off (satp is 0 after reset).
	 */
	if (vcpu->id != 0)
		return 0;
	if ((err = riscv_set_reg(vcpu->fd, RISCV_REG_CORE(RISCV_CORE_PC),
				 vm->arch.kernel_addr)) ||
	    (err = riscv_set_reg(vcpu->fd, RISCV_REG_CORE(RISCV_CORE_A0), 0)) ||
	    (err = riscv_set_reg(vcpu->fd, RISCV_REG_CORE(RISCV_CORE_A1),
				 vm->arch.fdt_addr))) {
		pr_err("cannot set the boot hart's registers: %s", strerror(-err));
		return err;
	}
	return 0;
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	static const struct {
		const char *name;
		unsigned int idx;
	} regs[] = {
		{ "pc", RISCV_CORE_PC }, { "ra", RISCV_CORE_RA },
		{ "sp", RISCV_CORE_SP }, { "a0", RISCV_CORE_A0 },
		{ "a1", RISCV_CORE_A1 }, { "mode", RISCV_CORE_MODE },
	};
	char line[256];
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(regs); i++) {
		uint64_t v = 0;

		if (riscv_get_reg(vcpu->fd, RISCV_REG_CORE(regs[i].idx), &v))
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %016llx",
				      n ? " " : "", regs[i].name,
				      (unsigned long long)v);
		if (n >= sizeof(line))
			break;
	}
	pr_err("  hart %u: %s", vcpu->id, n ? line : "(registers unreadable)");
}

static void handle_sbi(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (riscv_sbi_console(&vcpu->vm->mem, run->riscv_sbi.extension_id,
			      run->riscv_sbi.function_id, run->riscv_sbi.args,
			      run->riscv_sbi.ret, vm_console_write, vcpu->vm))
		pr_debug("hart %u: SBI extension %#lx function %lu not supported",
			 vcpu->id, run->riscv_sbi.extension_id,
			 run->riscv_sbi.function_id);
}

int arch_handle_exit(struct vcpu *vcpu)
{
	switch (vcpu->run->exit_reason) {
	case KVM_EXIT_RISCV_SBI:
		handle_sbi(vcpu);
		return 0;
	default:
		return -ENOSYS;
	}
}

/* ---- The device tree, once the harts exist ---- */

int arch_finish_machine(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	struct riscv_fdt_desc *d = &a->fdt;
	uint64_t room = RISCV_RAM_BASE + a->ram_size - a->fdt_addr;
	void *dst;
	int err, fd;

	if (a->irqchip == RISCV_IRQCHIP_AIA) {
		err = riscv_aia_init(vm);
		if (err)
			return err;
	}
	d->isa = a->isa.isa;
	d->isa_ext = a->isa.ext;
	d->nr_isa_ext = a->isa.nr_ext;
	d->mmu_type = a->isa.mmu_type;
	d->cbom_block_size = a->isa.cbom_block_size;
	d->cboz_block_size = a->isa.cboz_block_size;
	d->timebase_freq = a->isa.timebase_freq;
	dst = gpa_to_hva(&vm->mem, a->fdt_addr, room);
	if (!dst)
		return -EFAULT;
	err = riscv_fdt_build(d, dst, (size_t)room);
	if (err) {
		pr_err("cannot build the device tree: %s", strerror(-err));
		return err;
	}
	if (!vm->cfg->dump_dtb)
		return 0;
	fd = open(vm->cfg->dump_dtb, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0644);
	if (fd < 0 || write_all(fd, dst, fdt_totalsize(dst)) || close(fd)) {
		pr_err("cannot write the device tree to '%s': %s",
		       vm->cfg->dump_dtb, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return 1; /* written: nothing to run */
}
