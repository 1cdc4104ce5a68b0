/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_ARCH_HOOKS_H
#define LKVM_ARCH_HOOKS_H

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
/* Print registers for an internal-error report. */
void arch_vcpu_dump(struct vcpu *vcpu);
/* Architecture defaults for the kernel command line. */
const char *arch_default_cmdline(void);
/* Handle an exit generic code does not know; 0 = handled, <0 = fatal. */
int arch_handle_exit(struct vcpu *vcpu);
/* Deliver host console input to the guest; false when shutting down. */
int arch_console_input(struct vm *vm, unsigned char c);

#endif
