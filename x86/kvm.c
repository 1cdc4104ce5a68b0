// SPDX-License-Identifier: GPL-2.0
/*
 * x86 machine: KVM VM-wide objects, memory map, platform devices, and the
 * vCPUs' LAPIC and boot registers.  Their CPUID is in x86/cpuid.c, their
 * MSRs in x86/msr.c.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

const char *arch_default_cmdline(void)
{
	/*
	 * CPUs, IOAPIC and ISA IRQs come from the MADT (or, under acpi=off,
	 * the identical MP table); the DSDT describes no PCI bus (only
	 * virtio-mmio windows and the pvpanic port), so PCI is probed through
	 * conf1 (ports 0xCF8/0xCFC; "noacpi": no ACPI IRQ
	 * routing) and ISA devices are not looked up in ACPI (pnpacpi=off).
	 * See x86/acpi.c.  reboot=k: reset through the i8042,
	 * which lkvm turns into a clean exit.  The i8042 options skip probing a
	 * mouse and PnP that do not exist.
	 */
	return "console=ttyS0 earlyprintk=serial pci=conf1,noacpi pnpacpi=off "
	       "reboot=k panic=1 i8042.noaux=1 i8042.nopnp=1 i8042.dumbkbd=1";
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Only VMX needs the TSS pages, but they cost nothing elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, X86_TSS_ADDR) < 0) {
		int e = errno;
		pr_err("KVM_SET_TSS_ADDR failed: %s", strerror(e));
		return -e;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP) < 0) {
		int e = errno;
		pr_err("KVM_CREATE_IRQCHIP failed: %s", strerror(e));
		return -e;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		int e = errno;
		pr_err("KVM_CREATE_PIT2 failed: %s", strerror(e));
		return -e;
	}
	return x86_cpuid_init(vm);
}

int arch_layout_memory(struct vm *vm, unsigned long long ram_bytes)
{
	struct arch_vm *a = &vm->arch;
	int err;

	a->lowmem_size = MIN(ram_bytes, X86_MMIO_HOLE_START);
	a->highmem_size = ram_bytes - a->lowmem_size;
	err = guest_memory_add_region(&vm->mem, 0, a->lowmem_size, 0);
	if (!err && a->highmem_size)
		err = guest_memory_add_region(&vm->mem, X86_4GIB, a->highmem_size,
					      a->lowmem_size);
	return err;
}

void vm_set_irq_line(struct vm *vm, unsigned int irq, int level)
{
	vm_ioctl_irq_line(vm, irq, level); /* the IOAPIC (and PIC) pin */
}

int arch_finish_machine(struct vm *vm)
{
	(void)vm; /* everything was in place before the vCPUs existed */
	return 0;
}

/* ---- Platform devices ---- */

static void uart_irq(void *opaque, int level)
{
	vm_set_irq_line(opaque, X86_UART_IRQ, level);
}

static void kbd_irq(void *opaque, int level)
{
	vm_set_irq_line(opaque, I8042_KBD_IRQ, level);
}

static void kbd_reset(void *opaque)
{
	pr_debug("guest reset through the i8042");
	vm_request_stop(opaque, VM_STOP_RESET);
}

int arch_console_input(struct vm *vm, unsigned char c)
{
	return vm_uart_console_input(vm, &vm->arch.uart, c);
}

static void acpi_poweroff(void *opaque)
{
	pr_debug("guest powered off through ACPI S5");
	vm_request_stop(opaque, VM_STOP_POWEROFF);
}

/* THR writes without an exit while the UART allows it (its transmit
 * interrupt off: console output), see serial8250_set_tx_coalesce(). */
static bool uart_coalesce(void *opaque, bool on)
{
	return vm_coalesce_zone(opaque, X86_COM1_PORT + UART_THR, 1, true, on) == 0;
}

static void uart_cleanup(void *p) { serial8250_destroy(p); }
static void pm_cleanup(void *p) { acpi_pm_destroy(p); }
static void kbd_cleanup(void *p) { i8042_destroy(p); }
static void rtc_cleanup(void *p) { cmos_rtc_destroy(p); }
static void pci_cleanup(void *p) { pci_bus_destroy(p); }
static void conf1_cleanup(void *p) { pci_conf1_destroy(p); }

struct pio_map {
	uint16_t port, len;
	bus_io_fn io;
	void *opaque;
	const char *name;
};

int arch_devices_init(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	int err;
	unsigned int i;

	err = serial8250_init(&a->uart, uart_irq, vm_console_write, vm);
	if (err || (err = vm_add_cleanup(vm, uart_cleanup, &a->uart)))
		return err;
	if (vm_coalesced_ok(vm, true))
		serial8250_set_tx_coalesce(&a->uart, uart_coalesce, vm);
	err = i8042_init(&a->kbd, kbd_reset, kbd_irq, vm);
	if (err || (err = vm_add_cleanup(vm, kbd_cleanup, &a->kbd)))
		return err;
	err = cmos_rtc_init(&a->rtc, NULL);
	if (err || (err = vm_add_cleanup(vm, rtc_cleanup, &a->rtc)))
		return err;
	err = pci_bus_init(&a->pci);
	if (err || (err = vm_add_cleanup(vm, pci_cleanup, &a->pci)))
		return err;
	err = pci_conf1_init(&a->conf1, &a->pci);
	if (err || (err = vm_add_cleanup(vm, conf1_cleanup, &a->conf1)))
		return err;
	err = acpi_pm_init(&a->pm, acpi_poweroff, vm);
	if (err || (err = vm_add_cleanup(vm, pm_cleanup, &a->pm)))
		return err;

	pvpanic_init(&a->pvpanic, pvpanic_stop_vm, vm);
	boot_marker_init(&a->marker, vm->trace,
			 vm->cfg->until_marker_set ? (int)vm->cfg->until_marker : -1,
			 boot_marker_stop_vm, vm);

	err = pci_bus_add_host_bridge(&a->pci, &a->host_bridge);
	if (err)
		return err;

	const struct pio_map ports[] = {
		{ X86_COM1_PORT, UART_NR_REGS, serial8250_io, &a->uart, "ttyS0" },
		{ I8042_DATA_PORT, 1, i8042_data_io, &a->kbd, "i8042-data" },
		{ I8042_CMD_PORT, 1, i8042_cmd_io, &a->kbd, "i8042-cmd" },
		{ CMOS_INDEX_PORT, 2, cmos_rtc_io, &a->rtc, "cmos-rtc" },
		{ PCI_CONF1_ADDR_PORT, 4, pci_conf1_addr_io, &a->conf1, "pci-addr" },
		{ PCI_CONF1_DATA_PORT, 4, pci_conf1_data_io, &a->conf1, "pci-data" },
		{ X86_ACPI_PM_BASE, X86_ACPI_PM_LEN, acpi_pm_io, &a->pm, "acpi-pm1a" },
		{ X86_PVPANIC_PORT, X86_PVPANIC_LEN, pvpanic_io, &a->pvpanic, "pvpanic" },
		{ X86_BOOT_MARKER_PORT, BOOT_MARKER_LEN, boot_marker_io, &a->marker,
		  "boot-marker" },
	};
	for (i = 0; i < ARRAY_SIZE(ports); i++) {
		err = bus_register(&vm->pio_bus, ports[i].port, ports[i].len,
				   ports[i].io, ports[i].opaque, ports[i].name);
		if (err) {
			pr_err("cannot register %s at port %#x: %s", ports[i].name,
			       ports[i].port, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* ---- Firmware tables ---- */

int x86_write_mptable(struct vm *vm)
{
	struct mptable_cpu cpu;
	int n;

	x86_cpuid_mptable_cpu(vm->arch.cpuid, &cpu);
	n = mptable_write(gpa_to_hva(&vm->mem, X86_BIOS_AREA,
				     X86_BIOS_AREA_SIZE),
			  X86_BIOS_AREA_SIZE, X86_BIOS_AREA, vm->nr_vcpus,
			  &cpu);
	if (n < 0) {
		pr_err("cannot build the MP table for %u CPUs", vm->nr_vcpus);
		return n;
	}
	return 0;
}

/* ---- vCPU state ---- */

/* Local APIC registers and LVT fields (Linux's asm/apicdef.h names). */
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_DM_MASK 0x700      /* delivery mode field */
#define APIC_DM_NMI 0x400
#define APIC_DM_EXTINT 0x700
#define APIC_LVT_MASKED (1u << 16)

/* Control register and EFER bits the boot states set. */
#define X86_CR0_PE (1u << 0)
#define X86_CR0_MP (1u << 1)
#define X86_CR0_ET (1u << 4)
#define X86_CR0_NE (1u << 5)
#define X86_CR0_PG (1u << 31)
#define X86_CR4_PAE (1u << 5)
#define X86_EFER_LME (1u << 8)
#define X86_EFER_LMA (1u << 10)

#define X86_SEG_TYPE_CODE 0xb   /* execute/read, accessed */
#define X86_SEG_TYPE_DATA 0x3   /* read/write, accessed */
#define X86_SEG_TYPE_TSS_BUSY 0xb
#define X86_RFLAGS_RESERVED 0x2 /* bit 1 always reads as 1 */

static void set_lvt(struct kvm_lapic_state *l, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~APIC_DM_MASK & ~APIC_LVT_MASKED) | mode; /* unmasked */
	memcpy(&l->regs[reg], &v, 4);
}

static int setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state l;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	/* Virtual-wire mode, as firmware leaves it: LINT0 ExtINT, LINT1 NMI. */
	set_lvt(&l, APIC_LVT0, APIC_DM_EXTINT);
	set_lvt(&l, APIC_LVT1, APIC_DM_NMI);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &l) < 0)
		return -errno;
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			 bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

static int setup_boot_state(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	bool pvh_boot = vm->arch.kind == X86_KERNEL_PVH;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, pvh_boot ? X86_BOOT_CS32 : X86_BOOT_CS64,
		     X86_SEG_TYPE_CODE, !pvh_boot);
	flat_segment(&sregs.ds, X86_BOOT_DS, X86_SEG_TYPE_DATA, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = X86_BOOT_TR;
	sregs.tr.limit = 0x67;
	sregs.tr.type = X86_SEG_TYPE_TSS_BUSY;
	sregs.tr.present = 1;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = X86_GDT_ENTRIES * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (pvh_boot) {
		/* PVH: 32-bit protected mode, paging off (Xen's pvh.pandoc). */
		sregs.cr0 = X86_CR0_ET | X86_CR0_PE;
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		/* 64-bit boot protocol: long mode on identity page tables. */
		sregs.cr0 = X86_CR0_PG | X86_CR0_NE | X86_CR0_ET | X86_CR0_MP |
			    X86_CR0_PE;
		sregs.cr3 = X86_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = X86_EFER_LMA | X86_EFER_LME;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = X86_RFLAGS_RESERVED;
	if (pvh_boot) {
		regs.rip = vm->arch.pvh.entry;
		regs.rbx = X86_PVH_INFO_ADDR; /* hvm_start_info */
	} else {
		regs.rip = vm->arch.kernel_load_addr + X86_ENTRY64_OFFSET;
		regs.rsi = X86_ZERO_PAGE_ADDR;
	}
	regs.rsp = regs.rbp = X86_BOOT_STACK;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* FNINIT's control word */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked: the reset value */
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int arch_vcpu_init(struct vcpu *vcpu)
{
	int err;

	err = x86_vcpu_setup_cpuid(vcpu);
	if (err)
		return err;
	err = x86_vcpu_setup_msrs(vcpu);
	if (err)
		return err;
	err = setup_lapic(vcpu);
	if (err) {
		pr_err("vCPU %u: LAPIC setup failed: %s", vcpu->id, strerror(-err));
		return err;
	}
	/* Application processors wait for INIT/SIPI from the boot CPU. */
	if (vcpu->id == 0) {
		err = setup_boot_state(vcpu);
		if (err)
			pr_err("vCPU 0: setting boot registers failed: %s",
			       strerror(-err));
	}
	return err;
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vCPU %u: cannot read registers: %s", vcpu->id,
		       strerror(errno));
		return;
	}
	pr_err("vCPU %u: rip %016llx rsp %016llx rflags %08llx", vcpu->id,
	       r.rip, r.rsp, r.rflags);
	pr_err("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", r.rax,
	       r.rbx, r.rcx, r.rdx);
	pr_err("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx", r.rsi,
	       r.rdi, r.rbp, r.r8);
	pr_err("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx", r.r9,
	       r.r10, r.r11, r.r12);
	pr_err("  r13 %016llx r14 %016llx r15 %016llx", r.r13, r.r14, r.r15);
	pr_err("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx",
	       s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	pr_err("  cs %04x (base %llx l %u db %u) ss %04x ds %04x", s.cs.selector,
	       s.cs.base, s.cs.l, s.cs.db, s.ss.selector, s.ds.selector);
}

int arch_handle_exit(struct vcpu *vcpu)
{
	(void)vcpu;
	return -ENOSYS;
}
