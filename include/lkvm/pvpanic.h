/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PVPANIC_H
#define LKVM_PVPANIC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * pvpanic: QEMU's guest-panic notification device, which Linux's pvpanic
 * drivers (drivers/misc/pvpanic/) know.  One byte register at offset 0:
 * a read returns the events the device supports, and the guest's panic
 * notifier writes the event that happened.  Each machine puts it where
 * its guests look for one (x86: I/O port 0x505 described in the ACPI DSDT
 * as QEMU0001, which pvpanic-mmio matches; riscv: a "qemu,pvpanic-mmio"
 * device-tree node with an MMIO register) with pvpanic_stop_vm() as
 * @panicked: the VM stops with VM_STOP_PANIC (lkvm's exit status 3).
 */
#define PVPANIC_PANICKED (1u << 0)     /* the kernel panicked */
#define PVPANIC_CRASH_LOADED (1u << 1) /* it panicked; its kdump kernel runs */
/* What lkvm handles; Linux masks its events with it.  Newer bits
 * (PVPANIC_SHUTDOWN) are left out: the guest then never sends them. */
#define PVPANIC_EVENTS (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED)

/* The guest's driver modules (pvpanic-mmio serves the ACPI and the
 * device-tree device and needs pvpanic), NULL-ended: lkvm's initramfs
 * loads them when the kernel has them. */
extern const char *const pvpanic_guest_modules[];

struct pvpanic {
	void (*panicked)(void *opaque);
	void *opaque;
	unsigned int seen; /* PVPANIC_* events already acted on (atomic) */
};

void pvpanic_init(struct pvpanic *p, void (*panicked)(void *opaque),
		  void *opaque);
/* The @panicked every machine uses, @vm its struct vm: stop the VM with
 * VM_STOP_PANIC. */
void pvpanic_stop_vm(void *vm);
/*
 * Bus handler.  A one-byte read at offset 0 returns PVPANIC_EVENTS; a
 * one-byte write there with PVPANIC_PANICKED calls @panicked, once; one
 * with PVPANIC_CRASH_LOADED (and not PANICKED) logs a line, once: the VM
 * goes on into the crash kernel.  Every other access reads zeros and
 * writes nothing.
 */
void pvpanic_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write);

#endif
