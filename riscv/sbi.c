// SPDX-License-Identifier: GPL-2.0
/*
 * The SBI calls KVM hands to userspace: the console.  The legacy extension's
 * putchar/getchar (v0.1) and the debug console extension DBCN (SBI 2.0,
 * chapter 12), which `earlycon=sbi` prefers once lkvm enables it.
 * Everything comes from the guest's registers, so DBCN's buffer is
 * bounds-checked against guest RAM and each call writes at most a page (the
 * guest loops on the count returned).
 */
#include <stdint.h>

#include "arch/arch.h"
#include "lkvm/memory.h"
#include "lkvm/util.h"

#define SBI_EXT_LEGACY_PUTCHAR 0x01
#define SBI_EXT_LEGACY_GETCHAR 0x02
#define SBI_EXT_DBCN 0x4442434e
#define SBI_DBCN_WRITE 0
#define SBI_DBCN_READ 1
#define SBI_DBCN_WRITE_BYTE 2
#define SBI_DBCN_MAX_WRITE 4096

static void sbi_error(unsigned long ret[2], long err)
{
	ret[0] = (unsigned long)err;
	ret[1] = 0;
}

/* DBCN write: args[0] bytes at args[2]:args[1] (rv64: args[2] is 0). */
static void dbcn_write(const struct guest_memory *mem,
		       const unsigned long *args, unsigned long ret[2],
		       riscv_sbi_write_fn write, void *opaque)
{
	uint64_t len = MIN((uint64_t)args[0], (uint64_t)SBI_DBCN_MAX_WRITE);
	const uint8_t *p;

	if (args[2]) {
		sbi_error(ret, SBI_ERR_INVALID_PARAM);
		return;
	}
	if (len) {
		p = gpa_to_hva(mem, args[1], len);
		if (!p) {
			sbi_error(ret, SBI_ERR_INVALID_PARAM);
			return;
		}
		write(opaque, p, (size_t)len);
	}
	ret[0] = SBI_SUCCESS;
	ret[1] = (unsigned long)len;
}

int riscv_sbi_console(const struct guest_memory *mem, unsigned long ext,
		      unsigned long fn, const unsigned long args[6],
		      unsigned long ret[2], riscv_sbi_write_fn write,
		      void *opaque)
{
	uint8_t c;

	switch (ext) {
	case SBI_EXT_LEGACY_PUTCHAR:
		c = (uint8_t)args[0];
		write(opaque, &c, 1);
		ret[0] = 0;
		return 0;
	case SBI_EXT_LEGACY_GETCHAR:
		/* Input goes to the UART; this console has none. */
		ret[0] = (unsigned long)-1L;
		return 0;
	case SBI_EXT_DBCN:
		switch (fn) {
		case SBI_DBCN_WRITE:
			dbcn_write(mem, args, ret, write, opaque);
			return 0;
		case SBI_DBCN_READ:
			/* Nothing to read: 0 bytes, success. */
			ret[0] = SBI_SUCCESS;
			ret[1] = 0;
			return 0;
		case SBI_DBCN_WRITE_BYTE:
			c = (uint8_t)args[0];
			write(opaque, &c, 1);
			sbi_error(ret, SBI_SUCCESS);
			return 0;
		}
		break;
	}
	sbi_error(ret, SBI_ERR_NOT_SUPPORTED);
	return -1;
}
