// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UART model.  Transmission is instantaneous (the byte goes straight
 * to the host), so THR is always empty and the THRE interrupt is re-armed
 * after every write, which is what Linux's 8250 driver expects of a fast
 * UART.  Reception is interrupt driven from a FIFO fed by the host console.
 */
#include "lkvm/serial8250.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "lkvm/thread.h"

int serial8250_init(struct serial8250 *s, uart_irq_fn irq, uart_tx_fn tx,
		    void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->irq = irq;
	s->tx = tx;
	s->opaque = opaque;
	/* Modem lines up: a cable is plugged in and the other end is ready. */
	s->mcr = UART_MCR_OUT2;
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	return lkvm_lock_cond_init(&s->lock, &s->rx_space);
}

void serial8250_destroy(struct serial8250 *s)
{
	pthread_cond_destroy(&s->rx_space);
	pthread_mutex_destroy(&s->lock);
}

static uint8_t uart_lsr(const struct serial8250 *s)
{
	uint8_t lsr = UART_LSR_THRE | UART_LSR_TEMT | s->lsr_err;

	if (s->rx_count)
		lsr |= UART_LSR_DR;
	return lsr;
}

/* Highest-priority pending interrupt, as IIR reports it. */
static uint8_t uart_pending_iir(const struct serial8250 *s)
{
	if ((s->ier & UART_IER_RLSI) && s->lsr_err)
		return UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thre_pending)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/* Called with s->lock held, after any state change. */
static void uart_update_irq(struct serial8250 *s)
{
	int level = uart_pending_iir(s) != UART_IIR_NO_INT;

	/* OUT2 gates the interrupt line on PC-style boards. */
	if (!(s->mcr & UART_MCR_OUT2))
		level = 0;
	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->irq)
			s->irq(s->opaque, level);
	}
}

static uint8_t uart_msr(const struct serial8250 *s)
{
	if (s->mcr & UART_MCR_LOOP) {
		/* Loopback wires the modem outputs back to the inputs. */
		uint8_t m = 0;
		if (s->mcr & UART_MCR_RTS) m |= UART_MSR_CTS;
		if (s->mcr & UART_MCR_DTR) m |= UART_MSR_DSR;
		if (s->mcr & UART_MCR_OUT1) m |= UART_MSR_RI;
		if (s->mcr & UART_MCR_OUT2) m |= UART_MSR_DCD;
		return m;
	}
	return s->msr;
}

static void rx_push_locked(struct serial8250 *s, uint8_t c)
{
	if (s->rx_count == UART_RX_FIFO_SIZE) {
		s->lsr_err |= UART_LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % UART_RX_FIFO_SIZE] = c;
	s->rx_count++;
}

static uint8_t rx_pop_locked(struct serial8250 *s)
{
	uint8_t c;

	if (!s->rx_count)
		return 0;
	c = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % UART_RX_FIFO_SIZE;
	s->rx_count--;
	if (s->rx_count == UART_RX_FIFO_SIZE - 1 || !s->rx_count)
		pthread_cond_broadcast(&s->rx_space);
	return c;
}

static uint8_t uart_read(struct serial8250 *s, unsigned int reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (s->lcr & UART_LCR_DLAB)
			return s->dll;
		return rx_pop_locked(s);
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB)
			return s->dlm;
		return s->ier;
	case UART_IIR:
		v = uart_pending_iir(s);
		/* Reading IIR acknowledges a THRE interrupt. */
		if (v == UART_IIR_THRI)
			s->thre_pending = false;
		return v | s->iir_fifo;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = uart_lsr(s);
		s->lsr_err = 0; /* error bits clear on read */
		return v;
	case UART_MSR:
		return uart_msr(s);
	default:
		return s->scr;
	}
}

/*
 * Coalesced THR writes exactly while THRI is off and loopback is off (with
 * s->lock): in loopback a THR write is received at once, and with RDI on
 * its interrupt must not wait for the guest's next exit (which, with the
 * in-kernel irqchip, a guest halted waiting for that interrupt never makes).
 */
static void update_coalescing(struct serial8250 *s)
{
	bool want = !(s->ier & UART_IER_THRI) && !(s->mcr & UART_MCR_LOOP);

	if (!s->tx_coalesce || want == s->coalescing)
		return;
	/* Turning it off counts even if that failed: the guest must not be
	 * left waiting for interrupts on writes lkvm never saw. */
	if (s->tx_coalesce(s->coalesce_opaque, want) || !want)
		s->coalescing = want;
}

void serial8250_set_tx_coalesce(struct serial8250 *s,
				bool (*fn)(void *opaque, bool on), void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->tx_coalesce = fn;
	s->coalesce_opaque = opaque;
	s->coalescing = false;
	update_coalescing(s);
	pthread_mutex_unlock(&s->lock);
}

static void uart_write(struct serial8250 *s, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_THR:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			rx_push_locked(s, v);
		else if (s->tx)
			s->tx(s->opaque, &v, 1);
		s->thre_pending = true;
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises THRE at once. */
		if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		update_coalescing(s);
		break;
	case UART_FCR:
		s->fcr = v;
		s->iir_fifo = (v & UART_FCR_ENABLE_FIFO) ? UART_IIR_FIFO_ENABLED : 0;
		if (v & UART_FCR_CLEAR_RCVR) {
			s->rx_head = s->rx_count = 0;
			pthread_cond_broadcast(&s->rx_space);
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		update_coalescing(s);
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only on a 16550A */
	default:
		s->scr = v;
		break;
	}
}

void serial8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct serial8250 *s = opaque;
	uint32_t i;

	pthread_mutex_lock(&s->lock);
	/* Wider accesses act byte by byte on consecutive registers. */
	for (i = 0; i < len; i++) {
		unsigned int reg = (unsigned int)(offset + i) % UART_NR_REGS;
		if (is_write)
			uart_write(s, reg, data[i]);
		else
			data[i] = uart_read(s, reg);
	}
	uart_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

bool serial8250_rx_put(struct serial8250 *s, uint8_t c)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	ok = s->rx_count < UART_RX_FIFO_SIZE;
	if (ok) {
		rx_push_locked(s, c);
		uart_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void serial8250_wait_rx_space(struct serial8250 *s, unsigned int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	if (s->rx_count == UART_RX_FIFO_SIZE)
		pthread_cond_timedwait(&s->rx_space, &s->lock, &ts);
	pthread_mutex_unlock(&s->lock);
}
