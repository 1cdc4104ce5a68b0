// SPDX-License-Identifier: GPL-2.0
/*
 * Stand-ins for what the unit-test link leaves out (NEEDS_KVM_OBJS in the
 * Makefile: everything that needs /dev/kvm) but the linked objects refer
 * to.  They are weak, so if one of these functions moves into
 * a file the tests do link, the real definition wins instead of clashing.
 * None of them is expected to run in a unit test; those that can be reached
 * from linked code do nothing harmful and count their calls.
 */
#include <errno.h>

#include "arch/arch.h"
#include "lkvm/vm.h"
#include "stubs.h"

unsigned int stub_irq_line_calls;
unsigned int stub_irq_line_last_irq;
int stub_irq_line_last_level;
unsigned int stub_request_stop_calls;
int stub_request_stop_last_why;
unsigned int stub_write_mptable_calls;

/* x86/kvm.o: referenced by arch_load_kernel() in x86/boot.c. */
__attribute__((weak)) int x86_write_mptable(struct vm *vm)
{
	(void)vm;
	__atomic_add_fetch(&stub_write_mptable_calls, 1, __ATOMIC_SEQ_CST);
	return -ENOSYS;
}

/* x86/kvm.o: the interrupt line device models drive. */
__attribute__((weak)) void vm_set_irq_line(struct vm *vm, unsigned int irq,
					   int level)
{
	(void)vm;
	__atomic_store_n(&stub_irq_line_last_irq, irq, __ATOMIC_SEQ_CST);
	__atomic_store_n(&stub_irq_line_last_level, level, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&stub_irq_line_calls, 1, __ATOMIC_SEQ_CST);
}

__attribute__((weak)) void vm_request_stop(struct vm *vm,
					   enum vm_stop_reason why)
{
	(void)vm;
	__atomic_store_n(&stub_request_stop_last_why, (int)why, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&stub_request_stop_calls, 1, __ATOMIC_SEQ_CST);
}

/* vmm/vm.o: referenced by arch_load_kernel() in x86/boot.c. */
__attribute__((weak)) int vm_read_initrd(struct vm *vm, void *dst)
{
	(void)vm;
	(void)dst;
	return -ENOSYS;
}

__attribute__((weak)) bool vm_stopping(const struct vm *vm)
{
	(void)vm;
	return false;
}

__attribute__((weak)) int vm_add_cleanup(struct vm *vm, void (*fn)(void *),
					 void *opaque)
{
	(void)vm;
	fn(opaque); /* nothing will run it later */
	return -ENOSYS;
}

/* vmm/vm.o: a network card's Ctrl-A l.  Remembers the last registration
 * (the fake VM keeps no list to free). */
void (*stub_link_toggle_fn)(void *);
void *stub_link_toggle_opaque;
__attribute__((weak)) int vm_add_link_toggle(struct vm *vm,
					     void (*fn)(void *), void *opaque)
{
	(void)vm;
	stub_link_toggle_fn = fn;
	stub_link_toggle_opaque = opaque;
	return 0;
}

/* x86/kvm.o: virtio/console.c rewrites the default console= parameter. */
__attribute__((weak)) const char *arch_default_cmdline(void)
{
	return "";
}

/* vmm/vm.o: virtio transports' queue-notify eventfds.  Fails with
 * stub_ioeventfd_result when that is set (the userspace-notify path);
 * otherwise records the call and counts assignments. */
int stub_ioeventfd_result;
int stub_ioeventfd_assigned;
unsigned int stub_ioeventfd_calls;
struct stub_ioeventfd_call stub_ioeventfd_last;

__attribute__((weak)) int vm_ioeventfd(struct vm *vm, int fd, uint64_t addr,
				       uint32_t len, bool pio, bool match,
				       uint64_t data, bool assign)
{
	(void)vm;
	__atomic_add_fetch(&stub_ioeventfd_calls, 1, __ATOMIC_SEQ_CST);
	if (stub_ioeventfd_result)
		return stub_ioeventfd_result;
	stub_ioeventfd_last = (struct stub_ioeventfd_call){
		fd, addr, len, pio, match, data, assign
	};
	__atomic_add_fetch(&stub_ioeventfd_assigned, assign ? 1 : -1,
			   __ATOMIC_SEQ_CST);
	return 0;
}

/* vmm/vm.o: virtio-pci MSI-X vectors' irqfds.  Counts assign/deassign. */
unsigned int stub_irqfd_calls;
int stub_irqfd_assigned;

__attribute__((weak)) int vm_irqfd(struct vm *vm, int fd, uint32_t gsi,
				   bool assign)
{
	(void)vm;
	(void)fd;
	(void)gsi;
	__atomic_add_fetch(&stub_irqfd_calls, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&stub_irqfd_assigned, assign ? 1 : -1,
			   __ATOMIC_SEQ_CST);
	return 0;
}
