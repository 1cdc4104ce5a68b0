/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TERM_H
#define LKVM_TERM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "lkvm/trace.h"

/*
 * The host side of the guest console: stdin feeds the guest's UART, the
 * UART's output goes to stdout.  When stdin is a terminal it is put in raw
 * mode (so Ctrl-C reaches the guest) and is always restored on exit; Ctrl-A x
 * stops the VM, Ctrl-A l takes the network cards' link down (or up again),
 * Ctrl-A ? (or h) lists the escapes, Ctrl-A Ctrl-A sends a
 * literal Ctrl-A.  At a terminal, term_start() prints one line saying so
 * unless @quiet.
 */

/* Deliver one input byte; may block until the device has room. Returns
 * false when the reader should stop (device shutting down). */
typedef bool (*term_input_fn)(void *opaque, uint8_t c);
/* Ctrl-A x (@key 'x') or Ctrl-A l (@key 'l'). */
typedef void (*term_escape_fn)(void *opaque, uint8_t key);

struct term {
	int in_fd;
	int out_fd;
	int msg_fd; /* lkvm's own lines (banner, Ctrl-A ? help): stderr */
	bool in_is_tty;
	bool quiet; /* no start-up banner (--quiet) */
	bool raw_active;
	bool reader_started;
	int wake_fd; /* eventfd: tells the reader thread to exit */
	pthread_t reader;
	term_input_fn input;
	term_escape_fn escape;
	void *opaque;
	bool saw_ctrl_a;
	/* --boot-trace: guest output is scanned for milestones (set before
	 * the vCPUs run; the scan's state under @scan_lock: the UART's vCPU
	 * and virtio-console's worker both write). */
	struct boot_trace *trace;
	struct trace_console_scan scan;
	pthread_mutex_t scan_lock;
};

void term_init(struct term *t, int in_fd, int out_fd);
/* Enter raw mode (if a tty) and start reading input.  */
int term_start(struct term *t, term_input_fn input, term_escape_fn escape,
	       void *opaque);
/* Stop the reader and restore the terminal.  Safe to call twice. */
void term_stop(struct term *t);
void term_write(struct term *t, const uint8_t *buf, size_t len);

/* Restore the saved terminal mode; async-signal-safe (used by atexit). */
void term_restore_saved(void);

/* Feed one byte through the escape-sequence filter (exposed for tests). */
void term_handle_input_byte(struct term *t, uint8_t c, bool *stop);

/* The start-up line and the Ctrl-A ? text (exposed for tests). */
#define TERM_BANNER "lkvm: Ctrl-A x to stop the VM, Ctrl-A ? for help\n"
#define TERM_HELP                                                              \
	"\r\nlkvm escape keys:\r\n"                                            \
	"  Ctrl-A x       stop the VM\r\n"                                      \
	"  Ctrl-A l       network cards: link down, or up again\r\n"            \
	"  Ctrl-A ? or h  this help\r\n"                                        \
	"  Ctrl-A Ctrl-A  send Ctrl-A to the guest\r\n"

#endif
