/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BOOT_MARKER_H
#define LKVM_BOOT_MARKER_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The boot-marker register (Documentation/boot-trace.md): a guest stamps
 * its own boot phases by writing a byte N, which --boot-trace records as
 * "marker N" and --until-marker N turns into the end of the VM.  x86: I/O
 * port 0x3f0 (where Firecracker's boot timer is, so its "outb 123" stamp
 * works too); riscv: an MMIO register described in the device tree as
 * "lkvm,boot-marker".  Reads return BOOT_MARKER_ID so a guest can tell
 * the register is there (nothing answers 0xff elsewhere).
 */
#define BOOT_MARKER_ID 0x4c /* 'L' */
#define BOOT_MARKER_LEN 1

struct boot_trace;

struct boot_marker {
	struct boot_trace *trace; /* NULL: markers are not recorded */
	int until;                /* --until-marker N, or -1 */
	void (*stop)(void *opaque); /* ends the VM (until) */
	void *opaque;
	unsigned int seen[256 / 32]; /* markers seen (atomic), first only */
};

void boot_marker_init(struct boot_marker *m, struct boot_trace *trace,
		      int until, void (*stop)(void *opaque), void *opaque);
/* Bus handler.  A one-byte write at offset 0 is marker N; other writes do
 * nothing; reads return BOOT_MARKER_ID at offset 0, zeros elsewhere. */
void boot_marker_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write);
/* The @stop every machine uses (@vm its struct vm): a normal end, as a
 * guest power-off (exit status 0). */
void boot_marker_stop_vm(void *vm);

#endif
