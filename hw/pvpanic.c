// SPDX-License-Identifier: GPL-2.0
/*
 * The pvpanic device model (include/lkvm/pvpanic.h): how a Linux guest
 * tells lkvm that its kernel panicked, so that a crashed guest does not
 * end lkvm as if it had rebooted.  Whatever the guest writes, each event
 * is acted on once: a guest writing the register in a loop stops the VM
 * once and prints one line.
 */
#include "lkvm/pvpanic.h"

#include <string.h>

#include "lkvm/util.h"
#include "lkvm/vm.h"

const char *const pvpanic_guest_modules[] = { "pvpanic_mmio", NULL };

void pvpanic_init(struct pvpanic *p, void (*panicked)(void *opaque),
		  void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->panicked = panicked;
	p->opaque = opaque;
}

/* True the first time @event is seen. */
static bool first(struct pvpanic *p, unsigned int event)
{
	return !(__atomic_fetch_or(&p->seen, event, __ATOMIC_SEQ_CST) & event);
}

void pvpanic_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct pvpanic *p = opaque;
	uint8_t v;

	if (off != 0 || len != 1) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		data[0] = PVPANIC_EVENTS;
		return;
	}
	v = data[0];
	/* As QEMU: PANICKED wins when both are set; unknown bits are
	 * ignored. */
	if (v & PVPANIC_PANICKED) {
		if (first(p, PVPANIC_PANICKED) && p->panicked)
			p->panicked(p->opaque);
	} else if (v & PVPANIC_CRASH_LOADED) {
		if (first(p, PVPANIC_CRASH_LOADED))
			pr_info("guest kernel panicked; its crash (kdump) kernel takes over, the VM goes on");
	}
}

void pvpanic_stop_vm(void *vm)
{
	/* vm_run() prints "guest kernel panicked" and exits with status 3. */
	vm_request_stop(vm, VM_STOP_PANIC);
}
