// SPDX-License-Identifier: GPL-2.0
/* x86 machine: KVM VM-wide objects, memory map, platform devices, vCPUs. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd);
static void cpuid_cleanup(void *p);

const char *arch_default_cmdline(void)
{
	/*
	 * CPUs, IOAPIC and ISA IRQs come from the MADT (or, under acpi=off,
	 * the identical MP table); the DSDT describes no devices, so PCI is
	 * probed through conf1 (ports 0xCF8/0xCFC; "noacpi": no ACPI IRQ
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
	vm->arch.cpuid = get_supported_cpuid(vm->kvm_fd);
	if (!vm->arch.cpuid) {
		pr_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		return -EIO;
	}
	return vm_add_cleanup(vm, cpuid_cleanup, vm->arch.cpuid);
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

void arch_irq_line(struct vm *vm, unsigned int irq, int level)
{
	vm_kvm_irq_line(vm, irq, level); /* the IOAPIC (and PIC) pin */
}

int arch_finish_machine(struct vm *vm)
{
	(void)vm; /* everything was in place before the vCPUs existed */
	return 0;
}

/* ---- Platform devices ---- */

static void uart_irq(void *opaque, int level)
{
	vm_irq_line(opaque, X86_UART_IRQ, level);
}

static void kbd_irq(void *opaque, int level)
{
	vm_irq_line(opaque, I8042_KBD_IRQ, level);
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

	/* A host bridge at 00:00.0 is what Linux's conf1 sanity check looks for. */
	pci_device_init(&a->host_bridge, "host-bridge", 0x1b36, 0x0008,
			PCI_CLASS_BRIDGE_HOST, 0);
	err = pci_bus_add(&a->pci, &a->host_bridge, 0);
	if (err < 0)
		return err;

	const struct pio_map ports[] = {
		{ X86_COM1_PORT, UART_NR_REGS, serial8250_io, &a->uart, "ttyS0" },
		{ I8042_DATA_PORT, 1, i8042_data_io, &a->kbd, "i8042-data" },
		{ I8042_CMD_PORT, 1, i8042_cmd_io, &a->kbd, "i8042-cmd" },
		{ CMOS_INDEX_PORT, 2, cmos_rtc_io, &a->rtc, "cmos-rtc" },
		{ PCI_CONF1_ADDR_PORT, 4, pci_conf1_addr_io, &a->conf1, "pci-addr" },
		{ PCI_CONF1_DATA_PORT, 4, pci_conf1_data_io, &a->conf1, "pci-data" },
		{ X86_ACPI_PM_BASE, X86_ACPI_PM_LEN, acpi_pm_io, &a->pm, "acpi-pm1a" },
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

/* ---- CPUID ---- */

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	unsigned int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return NULL;
		nent *= 2;
	}
}

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* Give vCPU @id its own APIC ID and a one-socket, n-core topology. */
static void cpuid_fixup(struct kvm_cpuid2 *c, unsigned int id, unsigned int nr)
{
	unsigned int i, core_bits = bits_for(nr);

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0xffff) | (id << 24) |
				 ((1u << core_bits) << 16);
			if (nr > 1)
				e->edx |= 1u << 28; /* HTT: more than one logical CPU */
			e->ecx |= 1u << 31;         /* running under a hypervisor */
			break;
		case 4:
			/* Cores per package, minus one, in EAX[31:26]. */
			if (e->eax & 0x1f)
				e->eax = (e->eax & 0x03ffffff) | ((nr - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			/* Level 0: SMT (one thread per core); level 1: cores. */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = nr;
				e->ecx = 1 | (2u << 8);
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = id;
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, and the APIC ID width for them. */
			e->ecx = (e->ecx & ~0xf0ffu) | (nr - 1) | (core_bits << 12);
			break;
		case 0x8000001e:
			e->eax = id;
			e->ebx = id & 0xff; /* core id; one thread per core */
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}

static const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c,
						  uint32_t fn)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	return NULL;
}

static void cpuid_cleanup(void *p) { free(p); }

int x86_write_mptable(struct vm *vm)
{
	const struct kvm_cpuid_entry2 *leaf1;
	struct mptable_cpu cpu = { 0, 0 };
	int n;

	leaf1 = cpuid_find(vm->arch.cpuid, 1);
	if (leaf1) {
		cpu.signature = leaf1->eax;
		cpu.features = leaf1->edx;
	}
	n = mptable_write(gpa_to_hva(&vm->mem, X86_BIOS_AREA, 0x10000), 0x10000,
			  X86_BIOS_AREA, vm->nr_vcpus, &cpu);
	if (n < 0) {
		pr_err("cannot build the MP table for %u CPUs", vm->nr_vcpus);
		return n;
	}
	return 0;
}

/* ---- vCPU state ---- */

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

static int setup_msrs(struct vcpu *vcpu)
{
	static const struct { uint32_t index; uint64_t data; } msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },           /* fast strings */
		{ MSR_MTRR_DEF_TYPE, (1u << 11) | 6 }, /* MTRRs on, default WB */
	};
	struct kvm_msrs *buf;
	unsigned int i;
	int n;

	buf = calloc(1, sizeof(*buf) + ARRAY_SIZE(msrs) * sizeof(buf->entries[0]));
	if (!buf)
		return -ENOMEM;
	buf->nmsrs = ARRAY_SIZE(msrs);
	for (i = 0; i < ARRAY_SIZE(msrs); i++) {
		buf->entries[i].index = msrs[i].index;
		buf->entries[i].data = msrs[i].data;
	}
	n = ioctl(vcpu->fd, KVM_SET_MSRS, buf);
	free(buf);
	if (n < 0 || (unsigned int)n != ARRAY_SIZE(msrs)) {
		pr_err("vCPU %u: KVM_SET_MSRS failed at MSR %#x", vcpu->id,
		       n >= 0 && (unsigned int)n < ARRAY_SIZE(msrs) ? msrs[n].index : 0);
		return -EIO;
	}
	return 0;
}

static void set_lvt(struct kvm_lapic_state *l, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], 4);
	v = (v & ~0x700u & ~(1u << 16)) | mode; /* delivery mode, unmasked */
	memcpy(&l->regs[reg], &v, 4);
}

static int setup_lapic(struct vcpu *vcpu)
{
	struct kvm_lapic_state l;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	/* Virtual-wire mode, as firmware leaves it: LINT0 ExtINT, LINT1 NMI. */
	set_lvt(&l, 0x350, 0x700);
	set_lvt(&l, 0x360, 0x400);
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

	bool pvh = vm->arch.kind == X86_KERNEL_PVH;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	flat_segment(&sregs.cs, pvh ? X86_BOOT_CS32 : X86_BOOT_CS64, 0xb, !pvh);
	flat_segment(&sregs.ds, X86_BOOT_DS, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = X86_BOOT_TR;
	sregs.tr.limit = 0x67;
	sregs.tr.type = 0xb; /* busy TSS */
	sregs.tr.present = 1;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = X86_GDT_ENTRIES * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	if (pvh) {
		/* PVH: 32-bit protected mode, paging off (Xen's pvh.pandoc). */
		sregs.cr0 = 0x11; /* ET | PE */
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		/* 64-bit boot protocol: long mode on identity page tables. */
		sregs.cr0 = 0x80000033; /* PG | NE | ET | MP | PE */
		sregs.cr3 = X86_PML4_ADDR;
		sregs.cr4 = 0x20;       /* PAE */
		sregs.efer = 0x500;     /* LMA | LME */
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	if (pvh) {
		regs.rip = vm->arch.pvh.entry;
		regs.rbx = X86_PVH_INFO_ADDR; /* hvm_start_info */
	} else {
		regs.rip = vm->arch.kernel_load_addr + 0x200; /* startup_64 */
		regs.rsi = X86_ZERO_PAGE_ADDR;
	}
	regs.rsp = regs.rbp = X86_BOOT_STACK;
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int arch_vcpu_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_cpuid2 *c = vm->arch.cpuid;
	size_t sz = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *mine = malloc(sz);
	int err;

	if (!mine)
		return -ENOMEM;
	memcpy(mine, c, sz);
	cpuid_fixup(mine, vcpu->id, vm->nr_vcpus);
	err = ioctl(vcpu->fd, KVM_SET_CPUID2, mine) < 0 ? -errno : 0;
	free(mine);
	if (err) {
		pr_err("vCPU %u: KVM_SET_CPUID2 failed: %s", vcpu->id, strerror(-err));
		return err;
	}
	err = setup_msrs(vcpu);
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
