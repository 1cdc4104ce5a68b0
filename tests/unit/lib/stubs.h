/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_STUBS_H
#define LKVM_UNIT_STUBS_H

/* Call counters of the weak stand-ins in stubs.c. */
extern unsigned int stub_irq_line_calls;
extern unsigned int stub_irq_line_last_irq; /* last vm_set_irq_line() */
extern int stub_irq_line_last_level;
extern unsigned int stub_request_stop_calls;
extern int stub_request_stop_last_why; /* enum vm_stop_reason */
extern unsigned int stub_write_mptable_calls;
/* vm_add_link_toggle(): the last registration (Ctrl-A l). */
extern void (*stub_link_toggle_fn)(void *);
extern void *stub_link_toggle_opaque;

/* vm_ioeventfd(): returns stub_ioeventfd_result if non-zero, else records. */
#include <stdbool.h>
#include <stdint.h>
struct stub_ioeventfd_call {
	int fd;
	uint64_t addr;
	uint32_t len;
	bool pio, match;
	uint64_t data;
	bool assign;
};
extern int stub_ioeventfd_result;
extern int stub_ioeventfd_assigned; /* assigned minus deassigned */
extern unsigned int stub_ioeventfd_calls;
extern struct stub_ioeventfd_call stub_ioeventfd_last;

/* vm_irqfd(): counts calls and assigned minus deassigned. */
extern unsigned int stub_irqfd_calls;
extern int stub_irqfd_assigned;

#endif
