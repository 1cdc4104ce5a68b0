/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARCH_HOOKS_H
#define LKVM_ARCH_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * What generic code asks of an architecture, called in this order by
 * vm_run().  Every hook returns 0 or a negative errno and has already printed
 * one line describing the problem when it fails; setup steps register their
 * own teardown with vm_add_cleanup().
 */
struct vm;
struct vcpu;

/* Validate the kernel image (no KVM needed): a clear error for non-kernels. */
int arch_check_kernel(struct vm *vm);
/*
 * The kernel's release ("6.1.0-18-amd64", what `uname -r` says in the
 * guest) read from the image, into @buf (NUL-terminated).  No KVM needed and
 * nothing printed: 0, -ENOEXEC (not a kernel image this arch boots), -ENOENT
 * (no release string), -EINVAL (a malformed one) or -ENAMETOOLONG.
 */
int arch_kernel_release(const uint8_t *img, size_t len, char *buf, size_t cap);
/* VM-wide KVM objects (irqchip, timers) that must exist before vCPUs. */
int arch_vm_init(struct vm *vm);
/* Guest-physical layout of @ram_bytes of RAM: adds regions to vm->mem. */
int arch_layout_memory(struct vm *vm, unsigned long long ram_bytes);
/* Platform devices (UART, RTC, PCI host...). */
int arch_devices_init(struct vm *vm);
/* Place kernel, initrd, command line and firmware tables in guest RAM. */
int arch_load_kernel(struct vm *vm);
/* Per-vCPU setup; the boot vCPU also gets its entry state. */
int arch_vcpu_init(struct vcpu *vcpu);
/*
 * The last step before vCPUs run, for what needs the vCPUs to exist (riscv:
 * the device tree describes each hart's ISA as KVM reports it).  0 to run
 * the VM, 1 when there is nothing to run (--dump-dtb wrote its file).
 */
int arch_finish_machine(struct vm *vm);
/* Print registers for an internal-error report. */
void arch_vcpu_dump(struct vcpu *vcpu);
/* Architecture defaults for the kernel command line. */
const char *arch_default_cmdline(void);
/* Handle an exit generic code does not know; 0 = handled, <0 = fatal. */
int arch_handle_exit(struct vcpu *vcpu);
/* Deliver host console input to the guest; false when shutting down. */
int arch_console_input(struct vm *vm, unsigned char c);

/* Each architecture also implements vm_set_irq_line() (lkvm/vm.h), the
 * interrupt line devices drive. */

/* --- What virtio transports need from the platform --- */
struct pci_bus;
struct kvm_irq_routing_entry;
/* The PCI bus virtio-pci devices go on (x86: behind conf1). */
struct pci_bus *arch_pci_bus(struct vm *vm);
/* A free level-triggered interrupt line (x86: an IOAPIC pin), or <0. */
int arch_alloc_irq_line(struct vm *vm);
/* The interrupt line for INTx of PCI device @slot. */
int arch_pci_intx_line(struct vm *vm, unsigned int slot);
/* Guest-physical space for @size bytes of a PCI memory BAR, naturally
 * aligned, inside the window the PCI host bridge decodes; 0 when exhausted. */
uint64_t arch_alloc_mmio(struct vm *vm, uint64_t size);
/* The same for a platform device's registers (a virtio-mmio window), which
 * must stay outside the PCI window on machines that describe one. */
uint64_t arch_alloc_platform_mmio(struct vm *vm, uint64_t size);
/* I/O port space for a legacy BAR; 0 when exhausted. */
uint16_t arch_alloc_pio(struct vm *vm, uint16_t size);
/* Tell the guest about a virtio-mmio device (x86: virtio_mmio.device= on
 * the command line; riscv: a device-tree node). */
int arch_virtio_mmio_announce(struct vm *vm, uint64_t base, uint64_t size,
			      unsigned int irq);
/* Default GSI routing entries (KVM's own defaults); returns how many. */
unsigned int arch_default_irq_routes(struct kvm_irq_routing_entry *e,
				     unsigned int max);

#endif
