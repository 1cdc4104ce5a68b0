// SPDX-License-Identifier: GPL-2.0
/* The boot-marker register: see include/lkvm/boot-marker.h. */
#include "lkvm/boot-marker.h"

#include <stdio.h>
#include <string.h>

#include "lkvm/trace.h"
#include "lkvm/vm.h"

void boot_marker_init(struct boot_marker *m, struct boot_trace *trace,
		      int until, void (*stop)(void *opaque), void *opaque)
{
	memset(m, 0, sizeof(*m));
	m->trace = trace;
	m->until = until;
	m->stop = stop;
	m->opaque = opaque;
}

void boot_marker_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct boot_marker *m = opaque;
	unsigned int n, bit;
	char name[16];

	if (!is_write) {
		memset(data, 0, len);
		if (off == 0)
			data[0] = BOOT_MARKER_ID;
		return;
	}
	if (off != 0 || len != 1)
		return;
	n = data[0];
	/* Each marker is recorded once: a guest writing in a loop cannot
	 * fill the trace (or stop the VM twice). */
	bit = 1u << (n % 32);
	if (__atomic_fetch_or(&m->seen[n / 32], bit, __ATOMIC_SEQ_CST) & bit)
		return;
	snprintf(name, sizeof(name), "marker %u", n);
	trace_instant(m->trace, TRACE_CAT_MARKER, name, NULL);
	if (m->until >= 0 && (unsigned int)m->until == n && m->stop)
		m->stop(m->opaque);
}

void boot_marker_stop_vm(void *vm)
{
	vm_request_stop(vm, VM_STOP_POWEROFF);
}
