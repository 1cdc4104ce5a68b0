/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_STUBS_H
#define LKVM_UNIT_STUBS_H

/* Call counters of the weak stand-ins in stubs.c. */
extern unsigned int stub_irq_line_calls;
extern unsigned int stub_request_stop_calls;
extern unsigned int stub_write_mptable_calls;

#endif
