/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_SERIAL8250_H
#define LKVM_SERIAL8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A 16550A-compatible UART: 8 registers, 16-byte FIFOs. */

#define UART_RX_FIFO_SIZE 64 /* more than a 16550A's 16: fewer stalls */
#define UART_NR_REGS 8

typedef void (*uart_irq_fn)(void *opaque, int level);
typedef void (*uart_tx_fn)(void *opaque, const uint8_t *buf, size_t len);

struct serial8250 {
	pthread_mutex_t lock;
	pthread_cond_t rx_space;

	uint8_t ier, iir_fifo, lcr, mcr, lsr_err, msr, scr, dll, dlm, fcr;
	bool thre_pending; /* THR-empty interrupt raised and not yet taken */
	int irq_level;

	uint8_t rx[UART_RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;

	uart_irq_fn irq;
	uart_tx_fn tx;
	void *opaque;

	/* See serial8250_set_tx_coalesce(). */
	bool (*tx_coalesce)(void *opaque, bool on);
	void *coalesce_opaque;
	bool coalescing;
};

int serial8250_init(struct serial8250 *s, uart_irq_fn irq, uart_tx_fn tx,
		    void *opaque);
void serial8250_destroy(struct serial8250 *s);

/*
 * Let the machine stop THR writes from exiting while they need no
 * reaction: @fn(@opaque, true) asks for writes to THR to be coalesced
 * (KVM queues them; the machine replays them before the guest's next
 * exit: vmm/coalesced.c), @fn(@opaque, false) for them to exit again.
 * Coalescing is on while the transmit interrupt (IER.THRI) is off, as
 * when Linux's console writes: a byte then costs the guest one exit (its
 * LSR poll) instead of two.  With THRI on, each THR write must raise the
 * interrupt the driver waits for, so every write exits; likewise in
 * loopback (MCR.LOOP), where a THR write is received data at once.  @fn returns
 * whether it did what was asked; it is called under the UART's lock.
 */
void serial8250_set_tx_coalesce(struct serial8250 *s,
				bool (*fn)(void *opaque, bool on), void *opaque);

/* Bus handler; @offset is the register index (0..7). */
void serial8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write);

/* Queue one received byte. Returns false if the FIFO is full. */
bool serial8250_rx_put(struct serial8250 *s, uint8_t c);
/* Wait up to @timeout_ms for FIFO room. */
void serial8250_wait_rx_space(struct serial8250 *s, unsigned int timeout_ms);

/* Register numbers and bits the guest driver relies on. */
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI 0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO_ENABLED 0xc0

#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR 0x02

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

#endif
