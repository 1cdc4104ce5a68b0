// SPDX-License-Identifier: GPL-2.0
/* The 16550A UART model (hw/serial8250.c), driven through its bus handler. */
#include <pthread.h>
#include <time.h>

#include "lkvm/serial8250.h"
#include "test.h"

struct host {
	int irq_calls;
	int irq_level;
	uint8_t tx[256];
	size_t tx_len;
	int tx_calls;
};

static void on_irq(void *opaque, int level)
{
	struct host *h = opaque;

	h->irq_calls++;
	h->irq_level = level;
}

static void on_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct host *h = opaque;

	h->tx_calls++;
	if (h->tx_len + len <= sizeof(h->tx)) {
		memcpy(h->tx + h->tx_len, buf, len);
		h->tx_len += len;
	}
}

static uint8_t in(struct serial8250 *s, unsigned int reg)
{
	uint8_t v = 0xee;

	serial8250_io(s, reg, &v, 1, false);
	return v;
}

static void out(struct serial8250 *s, unsigned int reg, uint8_t v)
{
	serial8250_io(s, reg, &v, 1, true);
}

static struct serial8250 uart;
static struct host host;

static void setup(void)
{
	memset(&host, 0, sizeof(host));
	if (serial8250_init(&uart, on_irq, on_tx, &host)) {
		printf("serial8250_init failed\n");
		exit(1);
	}
}

static void teardown(void)
{
	serial8250_destroy(&uart);
}

TEST(reset_values)
{
	setup();
	CHECK_EQ(in(&uart, UART_IER), 0);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(in(&uart, UART_LCR), 0);
	CHECK_EQ(in(&uart, UART_MCR), UART_MCR_OUT2);
	CHECK_EQ(in(&uart, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(in(&uart, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	CHECK_EQ(in(&uart, UART_SCR), 0);
	CHECK_EQ(in(&uart, UART_RBR), 0); /* empty receiver */
	CHECK_EQ(host.irq_calls, 0);
	CHECK_EQ(host.tx_calls, 0);
	teardown();
}

TEST(scratch_register)
{
	setup();
	out(&uart, UART_SCR, 0x5a);
	CHECK_EQ(in(&uart, UART_SCR), 0x5a);
	out(&uart, UART_SCR, 0xa5);
	CHECK_EQ(in(&uart, UART_SCR), 0xa5);
	/* Other registers are unaffected. */
	CHECK_EQ(in(&uart, UART_LCR), 0);
	CHECK_EQ(in(&uart, UART_IER), 0);
	teardown();
}

TEST(divisor_latch)
{
	setup();
	out(&uart, UART_IER, UART_IER_RDI);
	out(&uart, UART_LCR, UART_LCR_DLAB | 0x03);
	CHECK_EQ(in(&uart, UART_LCR), 0x83);
	out(&uart, 0, 0x0c); /* 9600 baud */
	out(&uart, 1, 0x01);
	CHECK_EQ(in(&uart, 0), 0x0c);
	CHECK_EQ(in(&uart, 1), 0x01);
	CHECK_EQ(host.tx_calls, 0); /* a DLL write is not a transmission */
	out(&uart, UART_LCR, 0x03);
	/* With DLAB clear, reg 0/1 are the data and IER registers again. */
	CHECK_EQ(in(&uart, UART_IER), UART_IER_RDI);
	CHECK_EQ(in(&uart, UART_RBR), 0);
	out(&uart, UART_THR, 'A');
	CHECK_EQ(host.tx_calls, 1);
	/* And the latches kept their values. */
	out(&uart, UART_LCR, UART_LCR_DLAB);
	CHECK_EQ(in(&uart, 0), 0x0c);
	CHECK_EQ(in(&uart, 1), 0x01);
	teardown();
}

TEST(ier_mask)
{
	setup();
	out(&uart, UART_MCR, 0); /* keep the irq line out of this */
	out(&uart, UART_IER, 0xff);
	CHECK_EQ(in(&uart, UART_IER), 0x0f);
	out(&uart, UART_IER, 0xf0);
	CHECK_EQ(in(&uart, UART_IER), 0x00);
	teardown();
}

TEST(thre_interrupt)
{
	setup();
	out(&uart, UART_IER, UART_IER_THRI);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 1);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_THRI);
	/* Reading IIR took the THRE interrupt. */
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(host.irq_calls, 2);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(host.irq_calls, 2);

	/* Transmit: the byte goes to the host and THRE is raised again. */
	out(&uart, UART_THR, 'h');
	out(&uart, UART_THR, 'i');
	CHECK_EQ(host.tx_calls, 2);
	CHECK_EQ(host.tx_len, 2);
	CHECK_EQ(memcmp(host.tx, "hi", 2), 0);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 3); /* only on the level change */
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_THRE, UART_LSR_THRE);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_THRI);
	CHECK_EQ(host.irq_level, 0);

	/* Disabling THRI drops a pending THRE interrupt from IIR and the line. */
	out(&uart, UART_THR, '!');
	CHECK_EQ(host.irq_level, 1);
	out(&uart, UART_IER, 0);
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_NO_INT);
	/* Re-enabling THRI with THR empty raises it at once. */
	out(&uart, UART_IER, UART_IER_THRI);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 7);
	teardown();
}

TEST(receive)
{
	setup();
	CHECK(serial8250_rx_put(&uart, 'x'));
	/* Data ready, but no interrupt without IER.RDI. */
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(host.irq_calls, 0);
	out(&uart, UART_IER, UART_IER_RDI);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_RDI); /* IIR read keeps it */
	CHECK(serial8250_rx_put(&uart, 'y'));
	CHECK(serial8250_rx_put(&uart, 'z'));
	CHECK_EQ(host.irq_calls, 1);
	CHECK_EQ(in(&uart, UART_RBR), 'x');
	CHECK_EQ(in(&uart, UART_RBR), 'y');
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(in(&uart, UART_RBR), 'z');
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(host.irq_calls, 2);
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_NO_INT);

	/* rx_put raises the line by itself, without a guest access. */
	CHECK(serial8250_rx_put(&uart, '1'));
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 3);
	teardown();
}

TEST(rx_fifo_full)
{
	unsigned int i;
	bool all_ok = true;

	setup();
	for (i = 0; i < UART_RX_FIFO_SIZE; i++)
		all_ok &= serial8250_rx_put(&uart, (uint8_t)i);
	CHECK(all_ok);
	CHECK(!serial8250_rx_put(&uart, 0xff));
	/* Refusing a byte is not an overrun: the host will retry. */
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_OE, 0);
	CHECK_EQ(in(&uart, UART_RBR), 0);
	CHECK(serial8250_rx_put(&uart, 0xfe));
	CHECK(!serial8250_rx_put(&uart, 0xfd));
	/* FIFO order across the wrap-around. */
	for (i = 1; i < UART_RX_FIFO_SIZE; i++)
		if (!CHECK_EQ(in(&uart, UART_RBR), i))
			break;
	CHECK_EQ(in(&uart, UART_RBR), 0xfe);
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_DR, 0);
	teardown();
}

TEST(fifo_control)
{
	setup();
	out(&uart, UART_FCR, UART_FCR_ENABLE_FIFO);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
	out(&uart, UART_IER, UART_IER_THRI);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_THRI);
	out(&uart, UART_FCR, 0);
	CHECK_EQ(in(&uart, UART_IIR) & 0xc0, 0);

	/* Clearing the receive FIFO. */
	out(&uart, UART_IER, UART_IER_RDI);
	CHECK(serial8250_rx_put(&uart, 'a'));
	CHECK(serial8250_rx_put(&uart, 'b'));
	CHECK_EQ(host.irq_level, 1);
	out(&uart, UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
	CHECK(serial8250_rx_put(&uart, 'c'));
	CHECK_EQ(in(&uart, UART_RBR), 'c');
	teardown();
}

TEST(loopback)
{
	setup();
	/* Linux's autoconfig: MCR = LOOP | 0x0a must read MSR & 0xf0 == 0x90. */
	out(&uart, UART_MCR, UART_MCR_LOOP | 0x0a);
	CHECK_EQ(in(&uart, UART_MSR) & 0xf0, 0x90);
	out(&uart, UART_MCR, UART_MCR_LOOP);
	CHECK_EQ(in(&uart, UART_MSR) & 0xf0, 0x00);
	out(&uart, UART_MCR, UART_MCR_LOOP | 0x0f);
	CHECK_EQ(in(&uart, UART_MSR) & 0xf0, 0xf0);
	out(&uart, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	CHECK_EQ(in(&uart, UART_MSR) & 0xf0, UART_MSR_DSR);
	out(&uart, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	CHECK_EQ(in(&uart, UART_MSR) & 0xf0, UART_MSR_RI);

	/* Transmitted bytes come back instead of reaching the host. */
	out(&uart, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	out(&uart, UART_THR, 0x42);
	out(&uart, UART_THR, 0x43);
	CHECK_EQ(host.tx_calls, 0);
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(in(&uart, UART_RBR), 0x42);
	CHECK_EQ(in(&uart, UART_RBR), 0x43);

	/* Out of loopback, the modem lines are the real ones again. */
	out(&uart, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(in(&uart, UART_MSR) & 0xf0, 0xb0);
	out(&uart, UART_THR, 0x44);
	CHECK_EQ(host.tx_calls, 1);
	CHECK_EQ(host.tx[0], 0x44);
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_DR, 0);
	/* MCR keeps its five defined bits only. */
	out(&uart, UART_MCR, 0xff);
	CHECK_EQ(in(&uart, UART_MCR), 0x1f);
	teardown();
}

TEST(loopback_overrun)
{
	unsigned int i;

	setup();
	out(&uart, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	out(&uart, UART_IER, UART_IER_RLSI | UART_IER_RDI);
	for (i = 0; i <= UART_RX_FIFO_SIZE; i++)
		out(&uart, UART_THR, (uint8_t)i);
	/* The 65th byte overran: a line-status interrupt outranks RDI. */
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_RLSI);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(in(&uart, UART_LSR) & (UART_LSR_OE | UART_LSR_DR),
		 UART_LSR_OE | UART_LSR_DR);
	/* Reading LSR cleared the error. */
	CHECK_EQ(in(&uart, UART_LSR) & UART_LSR_OE, 0);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(in(&uart, UART_RBR), 0);
	teardown();
}

TEST(out2_gates_irq)
{
	setup();
	out(&uart, UART_MCR, 0);
	out(&uart, UART_IER, UART_IER_THRI | UART_IER_RDI);
	CHECK(serial8250_rx_put(&uart, 'q'));
	/* Pending in IIR, but the line stays low. */
	CHECK_EQ(host.irq_calls, 0);
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_RDI);
	CHECK_EQ(host.irq_calls, 0);
	out(&uart, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 1);
	out(&uart, UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(host.irq_calls, 2);
	teardown();
}

TEST(irq_on_level_changes_only)
{
	int i;

	setup();
	out(&uart, UART_IER, UART_IER_THRI);
	for (i = 0; i < 10; i++)
		out(&uart, UART_THR, 'a');
	CHECK_EQ(host.irq_calls, 1);
	for (i = 0; i < 10; i++)
		(void)in(&uart, UART_LSR);
	CHECK_EQ(host.irq_calls, 1);
	(void)in(&uart, UART_IIR);
	CHECK_EQ(host.irq_calls, 2);
	for (i = 0; i < 10; i++)
		(void)in(&uart, UART_IIR);
	CHECK_EQ(host.irq_calls, 2);
	CHECK_EQ(host.irq_level, 0);
	teardown();
}

TEST(rdi_over_thri)
{
	setup();
	out(&uart, UART_IER, UART_IER_RDI | UART_IER_THRI);
	CHECK(serial8250_rx_put(&uart, 'r'));
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_RDI);
	/* The THRE interrupt was not taken by that IIR read. */
	CHECK_EQ(in(&uart, UART_RBR), 'r');
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_THRI);
	CHECK_EQ(in(&uart, UART_IIR), UART_IIR_NO_INT);
	CHECK_EQ(host.irq_level, 0);
	teardown();
}

TEST(read_only_registers)
{
	setup();
	out(&uart, UART_LSR, 0x00);
	out(&uart, UART_MSR, 0x00);
	CHECK_EQ(in(&uart, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	CHECK_EQ(in(&uart, UART_MSR), 0xb0);
	teardown();
}

static void *drain_later(void *p)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	(void)in(p, UART_RBR);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(wait_rx_space)
{
	unsigned int i;
	pthread_t t;
	double t0, dt;

	setup();
	/* Room available: no wait at all. */
	t0 = now_s();
	serial8250_wait_rx_space(&uart, 5000);
	CHECK(now_s() - t0 < 1.0);
	/* Full, nobody reads: the timeout. */
	for (i = 0; i < UART_RX_FIFO_SIZE; i++)
		serial8250_rx_put(&uart, 'f');
	t0 = now_s();
	serial8250_wait_rx_space(&uart, 30);
	dt = now_s() - t0;
	CHECK(dt >= 0.02 && dt < 2.0);
	/* Full, the guest reads a byte: woken early. */
	REQUIRE(pthread_create(&t, NULL, drain_later, &uart) == 0);
	t0 = now_s();
	serial8250_wait_rx_space(&uart, 10000);
	dt = now_s() - t0;
	pthread_join(t, NULL);
	CHECK(dt < 5.0);
	CHECK(serial8250_rx_put(&uart, 'g'));
	teardown();
}

/* What the machine was asked to do about coalescing THR writes. */
static int coalesce_calls, coalesce_on = -1;
static bool coalesce_result = true;

static bool on_coalesce(void *opaque, bool on)
{
	(void)opaque;
	coalesce_calls++;
	coalesce_on = on;
	return coalesce_result;
}

/* A UART with on_coalesce() as its machine's switch, which answers
 * @result; the record of calls reset. */
static bool coalescing_uart(struct serial8250 *s, struct host *h, bool result)
{
	coalesce_calls = 0;
	coalesce_on = -1;
	coalesce_result = result;
	if (serial8250_init(s, on_irq, on_tx, h))
		return false;
	serial8250_set_tx_coalesce(s, on_coalesce, NULL);
	return true;
}

/* THR writes are coalesced exactly while THRI is off: on from the start,
 * off when the driver enables its transmit interrupt (it must then see
 * every write to raise THRE), on again when it disables it; IER writes
 * that do not change THRI, and divisor-latch writes at offset 1, ask
 * for nothing. */
TEST(tx_coalescing_follows_thri)
{
	struct host h = { 0 };
	struct serial8250 s;

	REQUIRE(coalescing_uart(&s, &h, true));
	CHECK_EQ(coalesce_calls, 1);
	CHECK_EQ(coalesce_on, 1);
	out(&s, UART_IER, UART_IER_RDI); /* THRI still off */
	CHECK_EQ(coalesce_calls, 1);
	out(&s, UART_IER, UART_IER_RDI | UART_IER_THRI);
	CHECK_EQ(coalesce_calls, 2);
	CHECK_EQ(coalesce_on, 0);
	out(&s, UART_LCR, UART_LCR_DLAB);
	out(&s, UART_IER, 0); /* DLM, not IER */
	out(&s, UART_LCR, 0x03);
	CHECK_EQ(coalesce_calls, 2);
	out(&s, UART_IER, UART_IER_RDI);
	CHECK_EQ(coalesce_calls, 3);
	CHECK_EQ(coalesce_on, 1);
	/* A write replayed later acts as it would have then. */
	out(&s, UART_THR, 'x');
	CHECK_EQ(h.tx_len, 1);
	serial8250_destroy(&s);
}

/* A machine that cannot coalesce is asked again at the next change; one
 * that fails to turn it off is taken as off. */
TEST(tx_coalescing_failures)
{
	struct host h = { 0 };
	struct serial8250 s;

	REQUIRE(coalescing_uart(&s, &h, false));
	CHECK_EQ(coalesce_calls, 1);
	CHECK(!s.coalescing);
	out(&s, UART_IER, UART_IER_THRI); /* wanted off, is off: no call */
	CHECK_EQ(coalesce_calls, 1);
	coalesce_result = true;
	out(&s, UART_IER, 0);
	CHECK_EQ(coalesce_calls, 2);
	CHECK(s.coalescing);
	coalesce_result = false;
	out(&s, UART_IER, UART_IER_THRI);
	CHECK_EQ(coalesce_calls, 3);
	CHECK(!s.coalescing);
	serial8250_destroy(&s);
}

/* Loopback turns a THR write into received data (and an RDI interrupt)
 * at once: coalescing is off for as long as MCR.LOOP is set. */
TEST(tx_coalescing_off_in_loopback)
{
	struct host h = { 0 };
	struct serial8250 s;

	REQUIRE(coalescing_uart(&s, &h, true));
	CHECK_EQ(coalesce_on, 1);
	out(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	CHECK_EQ(coalesce_calls, 2);
	CHECK_EQ(coalesce_on, 0);
	CHECK(!s.coalescing);
	out(&s, UART_IER, UART_IER_RDI); /* THRI off, but still loopback */
	CHECK_EQ(coalesce_calls, 2);
	CHECK(!s.coalescing);
	out(&s, UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(coalesce_calls, 3);
	CHECK_EQ(coalesce_on, 1);
	serial8250_destroy(&s);
}

int main(void)
{
	RUN(reset_values);
	RUN(scratch_register);
	RUN(divisor_latch);
	RUN(ier_mask);
	RUN(thre_interrupt);
	RUN(receive);
	RUN(rx_fifo_full);
	RUN(fifo_control);
	RUN(loopback);
	RUN(loopback_overrun);
	RUN(out2_gates_irq);
	RUN(irq_on_level_changes_only);
	RUN(rdi_over_thri);
	RUN(read_only_registers);
	RUN(wait_rx_space);
	RUN(tx_coalescing_follows_thri);
	RUN(tx_coalescing_failures);
	RUN(tx_coalescing_off_in_loopback);
	return test_summary();
}
