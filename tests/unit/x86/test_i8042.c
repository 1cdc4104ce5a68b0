// SPDX-License-Identifier: GPL-2.0
/* The i8042 keyboard controller (x86/i8042.c). */
#include "arch/devices.h"
#include "lkvm/bus.h"
#include "test.h"

#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_CMD 0x08
#define ST_UNLOCKED 0x10

struct host {
	int resets;
	int irq_calls, irq_level;
	struct i8042 *kbd;
	uint8_t status_in_reset; /* the callback reads the status port */
};

static void on_reset(void *opaque)
{
	struct host *h = opaque;
	uint8_t v = 0;

	h->resets++;
	/* Runs outside the device lock: touching the device must not hang. */
	i8042_cmd_io(h->kbd, 0, &v, 1, false);
	h->status_in_reset = v;
}

static void on_irq(void *opaque, int level)
{
	struct host *h = opaque;

	h->irq_calls++;
	h->irq_level = level;
}

static struct i8042 kbd;
static struct host host;

static void setup(void)
{
	memset(&host, 0, sizeof(host));
	host.kbd = &kbd;
	if (i8042_init(&kbd, on_reset, on_irq, &host)) {
		printf("i8042_init failed\n");
		exit(1);
	}
}

/* One byte in or out of a port, through its bus handler (i8042_cmd_io,
 * 0x64, or i8042_data_io, 0x60). */
static uint8_t port_in(bus_io_fn io)
{
	uint8_t v = 0xee;

	io(&kbd, 0, &v, 1, false);
	return v;
}

static void port_out(bus_io_fn io, uint8_t v)
{
	io(&kbd, 0, &v, 1, true);
}

static uint8_t status(void)
{
	return port_in(i8042_cmd_io);
}

static void command(uint8_t c)
{
	port_out(i8042_cmd_io, c);
}

static uint8_t data_in(void)
{
	return port_in(i8042_data_io);
}

static void data_out(uint8_t v)
{
	port_out(i8042_data_io, v);
}

TEST(status_idle)
{
	uint8_t s;

	setup();
	s = status();
	CHECK_EQ(s & ST_UNLOCKED, ST_UNLOCKED);
	CHECK_EQ(s & ST_SYS, ST_SYS);
	CHECK_EQ(s & ST_OBF, 0);
	CHECK_EQ(data_in(), 0); /* nothing queued */
	CHECK_EQ(host.irq_calls, 0);
	i8042_destroy(&kbd);
}

TEST(self_test)
{
	setup();
	command(0xaa);
	CHECK_EQ(status() & ST_OBF, ST_OBF);
	CHECK_EQ(data_in(), 0x55);
	CHECK_EQ(status() & ST_OBF, 0);
	command(0xab); /* keyboard interface test: 0 = OK */
	CHECK_EQ(data_in(), 0x00);
	i8042_destroy(&kbd);
}

TEST(ctr_read_write)
{
	setup();
	command(0x20);
	CHECK_EQ(data_in(), 0x41); /* KBD_INT | XLATE */
	command(0x60);
	CHECK_EQ(status() & ST_CMD, ST_CMD); /* waiting for the data byte */
	data_out(0x65);
	CHECK_EQ(status() & ST_CMD, 0);
	CHECK_EQ(status() & ST_OBF, 0); /* the byte was consumed, not echoed */
	command(0x20);
	CHECK_EQ(data_in(), 0x65);
	/* Enable/disable commands edit the same byte. */
	command(0xad);
	command(0x20);
	CHECK_EQ(data_in(), 0x75);
	command(0xae);
	command(0x20);
	CHECK_EQ(data_in(), 0x65);
	i8042_destroy(&kbd);
}

TEST(pulse_reset)
{
	setup();
	command(0xfd); /* an unknown command is ignored */
	CHECK_EQ(host.resets, 0);
	command(0xfe);
	CHECK_EQ(host.resets, 1);
	CHECK_EQ(host.status_in_reset & ST_UNLOCKED, ST_UNLOCKED);
	i8042_destroy(&kbd);
}

TEST(output_port_reset)
{
	setup();
	command(0xd0);
	CHECK_EQ(data_in(), 0x01); /* reset line inactive */
	command(0xd1);
	data_out(0x03); /* bit 0 set: no reset */
	CHECK_EQ(host.resets, 0);
	command(0xd1);
	data_out(0x02); /* bit 0 clear: reset */
	CHECK_EQ(host.resets, 1);
	CHECK_EQ(host.status_in_reset & ST_CMD, 0);
	/* The data byte after a reset goes to the keyboard again. */
	data_out(0xf2);
	CHECK_EQ(data_in(), 0xfa);
	CHECK_EQ(host.resets, 1);
	i8042_destroy(&kbd);
}

TEST(keyboard_identify)
{
	setup();
	data_out(0xf2);
	CHECK_EQ(data_in(), 0xfa);
	CHECK_EQ(data_in(), 0xab);
	CHECK_EQ(data_in(), 0x83);
	CHECK_EQ(status() & ST_OBF, 0);
	data_out(0xff); /* reset: ACK, BAT passed */
	CHECK_EQ(data_in(), 0xfa);
	CHECK_EQ(data_in(), 0xaa);
	data_out(0xee); /* echo */
	CHECK_EQ(data_in(), 0xee);
	data_out(0xf4); /* enable scanning: ACK */
	CHECK_EQ(data_in(), 0xfa);
	CHECK_EQ(status() & ST_OBF, 0);
	/* Bytes for the absent mouse are swallowed. */
	command(0xd4);
	data_out(0xf2);
	CHECK_EQ(status() & ST_OBF, 0);
	i8042_destroy(&kbd);
}

TEST(irq_follows_queue)
{
	setup();
	data_out(0xf2);
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 1);
	(void)data_in();
	(void)data_in();
	CHECK_EQ(host.irq_level, 1);
	CHECK_EQ(host.irq_calls, 1);
	(void)data_in();
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(host.irq_calls, 2);
	/* With the interrupt disabled in the CTR the line stays low. */
	command(0x60);
	data_out(0x40);
	command(0xaa);
	CHECK_EQ(status() & ST_OBF, ST_OBF);
	CHECK_EQ(host.irq_level, 0);
	CHECK_EQ(host.irq_calls, 2);
	CHECK_EQ(data_in(), 0x55);
	i8042_destroy(&kbd);
}

TEST(queue_overflow)
{
	int i, n = 0;

	setup();
	for (i = 0; i < 10; i++)
		data_out(0xf2); /* 30 bytes into a 16-byte queue */
	while (status() & ST_OBF) {
		uint8_t v = data_in();
		static const uint8_t seq[3] = { 0xfa, 0xab, 0x83 };
		if (!CHECK_EQ(v, seq[n % 3]))
			break;
		if (++n > 100)
			break;
	}
	CHECK_EQ(n, I8042_QUEUE);
	i8042_destroy(&kbd);
}

int main(void)
{
	RUN(status_idle);
	RUN(self_test);
	RUN(ctr_read_write);
	RUN(pulse_reset);
	RUN(output_port_reset);
	RUN(keyboard_identify);
	RUN(irq_follows_queue);
	RUN(queue_overflow);
	return test_summary();
}
