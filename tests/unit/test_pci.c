// SPDX-License-Identifier: GPL-2.0
/* The PCI bus (hw/pci.c) and configuration mechanism #1 (x86/pci_conf1.c). */
#include <errno.h>

#include "arch/devices.h"
#include "lkvm/pci.h"
#include "test.h"

#define VENDOR 0x8086
#define DEVICE 0x1237
#define DEVFN(slot, fn) ((uint8_t)((slot) << 3 | (fn)))

static struct pci_bus bus;
static struct pci_device hb;

static struct hook_log {
	int calls;
	unsigned int off, len;
	uint32_t val;
} hook;

static void cfg_hook(struct pci_device *dev, unsigned int off, uint32_t val,
		     unsigned int len)
{
	(void)dev;
	hook.calls++;
	hook.off = off;
	hook.val = val;
	hook.len = len;
}

/* A host bridge in slot 0, the way x86/kvm.c sets one up. */
static void setup(void)
{
	memset(&hook, 0, sizeof(hook));
	if (pci_bus_init(&bus)) {
		printf("pci_bus_init failed\n");
		exit(1);
	}
	pci_device_init(&hb, "host-bridge", VENDOR, DEVICE,
			PCI_CLASS_BRIDGE_HOST, 0);
	if (pci_bus_add(&bus, &hb, 0) != 0) {
		printf("pci_bus_add failed\n");
		exit(1);
	}
}

static uint32_t cfg_rd(uint8_t devfn, unsigned int off, unsigned int len)
{
	return pci_config_read(&bus, 0, devfn, off, len);
}

static void cfg_wr(uint8_t devfn, unsigned int off, uint32_t v, unsigned int len)
{
	pci_config_write(&bus, 0, devfn, off, v, len);
}

TEST(absent_devices)
{
	CHECK_EQ(pci_bus_init(&bus), 0);
	CHECK_EQ(cfg_rd(0, 0, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(0, 0, 2), 0xffff);
	CHECK_EQ(cfg_rd(0, 2, 2), 0xffff);
	CHECK_EQ(cfg_rd(0, 3, 1), 0xff);
	CHECK_EQ(cfg_rd(DEVFN(31, 0), 0xfc, 4), 0xffffffff);
	cfg_wr(0, 4, 0xffff, 2); /* harmless */
	pci_bus_destroy(&bus);
}

TEST(identity_fields)
{
	setup();
	CHECK_EQ(cfg_rd(0, PCI_VENDOR_ID, 2), VENDOR);
	CHECK_EQ(cfg_rd(0, PCI_DEVICE_ID, 2), DEVICE);
	CHECK_EQ(cfg_rd(0, 0, 4), (uint32_t)DEVICE << 16 | VENDOR);
	CHECK_EQ(cfg_rd(0, 0, 1), 0x86);
	CHECK_EQ(cfg_rd(0, 1, 1), 0x80);
	CHECK_EQ(cfg_rd(0, 3, 1), 0x12);
	CHECK_EQ(cfg_rd(0, PCI_CLASS_DEVICE, 2), 0x0600);
	CHECK_EQ(cfg_rd(0, 0x0b, 1), 0x06); /* base class: bridge */
	CHECK_EQ(cfg_rd(0, 0x08, 4), 0x06000000);
	CHECK_EQ(cfg_rd(0, PCI_HEADER_TYPE, 1), 0);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 2), 0);
	CHECK_EQ(cfg_rd(0, 0xfc, 4), 0);
	pci_bus_destroy(&bus);
}

TEST(write_masks)
{
	setup();
	/* Identity and class are read-only. */
	cfg_wr(0, 0, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(0, 0, 4), (uint32_t)DEVICE << 16 | VENDOR);
	cfg_wr(0, 8, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(0, 8, 4), 0x06000000);
	cfg_wr(0, PCI_HEADER_TYPE, 0x80, 1);
	CHECK_EQ(cfg_rd(0, PCI_HEADER_TYPE, 1), 0);
	/* Command: only I/O, memory, bus master and INTx disable stick. */
	cfg_wr(0, PCI_COMMAND, 0xffff, 2);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 2), 0x0407);
	cfg_wr(0, PCI_COMMAND, 0x0002, 2);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 2), 0x0002);
	/* A dword write to command+status leaves status alone. */
	cfg_wr(0, PCI_COMMAND, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 4), 0x00000407);
	/* Byte writes to the command register's high byte: INTx disable only. */
	cfg_wr(0, PCI_COMMAND + 1, 0x00, 1);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 2), 0x0007);
	/* Interrupt line is writable, interrupt pin is not. */
	cfg_wr(0, PCI_INTERRUPT_LINE, 0xffff, 2);
	CHECK_EQ(cfg_rd(0, PCI_INTERRUPT_LINE, 1), 0xff);
	CHECK_EQ(cfg_rd(0, PCI_INTERRUPT_PIN, 1), 0);
	/* No BARs: BAR sizing reads back 0. */
	cfg_wr(0, PCI_BAR0, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(0, PCI_BAR0, 4), 0);
	pci_bus_destroy(&bus);
}

TEST(bad_accesses)
{
	setup();
	/* Crossing a dword, odd sizes, beyond 256 bytes. */
	CHECK_EQ(cfg_rd(0, 3, 2), 0xffffffff);
	CHECK_EQ(cfg_rd(0, 2, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(0, 0, 3), 0xffffffff);
	CHECK_EQ(cfg_rd(0, 0, 0), 0xffffffff);
	CHECK_EQ(cfg_rd(0, 256, 1), 0xffffffff);
	CHECK_EQ(cfg_rd(0, 0x1000, 4), 0xffffffff);
	cfg_wr(0, 3, 0xffff, 2); /* crosses: dropped */
	cfg_wr(0, 2, 0xffffffff, 4);
	cfg_wr(0, 256, 0xff, 1);
	cfg_wr(0, PCI_COMMAND, 0xffffff, 3);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 2), 0);
	CHECK_EQ(cfg_rd(0, 0, 4), (uint32_t)DEVICE << 16 | VENDOR);
	/* A word at 5..6 is fine: command high byte (INTx disable) + status. */
	cfg_wr(0, PCI_COMMAND + 1, 0xffff, 2);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 4), 0x0400);
	CHECK_EQ(hb.cfg[0xff], 0);
	pci_bus_destroy(&bus);
}

TEST(functions_and_buses)
{
	setup();
	CHECK_EQ(cfg_rd(DEVFN(0, 1), 0, 4), 0xffffffff);
	CHECK_EQ(cfg_rd(DEVFN(0, 7), 0, 2), 0xffff);
	CHECK_EQ(pci_config_read(&bus, 1, 0, 0, 4), 0xffffffff);
	CHECK_EQ(pci_config_read(&bus, 255, 0, 0, 1), 0xff);
	CHECK_EQ(cfg_rd(DEVFN(1, 0), 0, 4), 0xffffffff);
	/* Writes to them do not reach slot 0. */
	cfg_wr(DEVFN(0, 1), PCI_COMMAND, 0x7, 2);
	pci_config_write(&bus, 1, 0, PCI_COMMAND, 0x7, 2);
	CHECK_EQ(cfg_rd(0, PCI_COMMAND, 2), 0);
	pci_bus_destroy(&bus);
}

TEST(slots)
{
	static struct pci_device devs[PCI_MAX_DEVICES];
	int i, ret;

	setup();
	CHECK_EQ(pci_bus_add(&bus, &devs[0], 0), -EEXIST);
	CHECK_EQ(pci_bus_add(&bus, &devs[0], PCI_MAX_DEVICES), -EEXIST);
	CHECK_EQ(pci_bus_add(&bus, &devs[0], 5), 5);
	CHECK_EQ(pci_bus_add(&bus, &devs[1], -1), 1);
	for (i = 2; i < PCI_MAX_DEVICES - 1; i++)
		pci_device_init(&devs[i], "d", 0x1af4, (uint16_t)(0x1000 + i),
				0x0200, 0);
	for (i = 2; i < PCI_MAX_DEVICES - 1; i++) {
		ret = pci_bus_add(&bus, &devs[i], -1);
		CHECK(ret > 1 && ret != 5 && ret < PCI_MAX_DEVICES);
	}
	CHECK_EQ(pci_bus_add(&bus, &devs[PCI_MAX_DEVICES - 1], -1), -ENOSPC);
	/* Slot 31 holds the last device added: device id 0x101e. */
	CHECK_EQ(cfg_rd(DEVFN(31, 0), PCI_DEVICE_ID, 2), 0x101e);
	pci_bus_destroy(&bus);
}

TEST(cfg_write_hook)
{
	setup();
	hb.cfg_write = cfg_hook;
	cfg_wr(0, PCI_COMMAND, 0xffff, 2);
	CHECK_EQ(hook.calls, 1);
	CHECK_EQ(hook.off, PCI_COMMAND);
	CHECK_EQ(hook.val, 0xffff);
	CHECK_EQ(hook.len, 2);
	/* Called after the update, and not for invalid accesses. */
	CHECK_EQ(hb.cfg[PCI_COMMAND], 0x07);
	cfg_wr(0, 3, 0, 2);
	CHECK_EQ(hook.calls, 1);
	pci_bus_destroy(&bus);
}

/* ---- conf1 ---- */

static struct pci_conf1 conf1;

static void conf1_setup(void)
{
	setup();
	if (pci_conf1_init(&conf1, &bus)) {
		printf("pci_conf1_init failed\n");
		exit(1);
	}
}

static void conf1_teardown(void)
{
	pci_conf1_destroy(&conf1);
	pci_bus_destroy(&bus);
}

static void addr_out(uint32_t v)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	pci_conf1_addr_io(&conf1, 0, b, 4, true);
}

static uint32_t addr_in(void)
{
	uint32_t v;
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	pci_conf1_addr_io(&conf1, 0, b, 4, false);
	memcpy(&v, b, 4);
	return v;
}

/* Read @len bytes at 0xCFC + @off. */
static uint32_t data_in(unsigned int off, unsigned int len)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };
	uint32_t v = 0;

	pci_conf1_data_io(&conf1, off, b, len, false);
	memcpy(&v, b, len);
	return v;
}

static void data_out(unsigned int off, uint32_t v, unsigned int len)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	pci_conf1_data_io(&conf1, off, b, len, true);
}

#define CONF1(bus_, dev, fn, reg)                                              \
	(0x80000000u | (uint32_t)(bus_) << 16 | (uint32_t)(dev) << 11 |        \
	 (uint32_t)(fn) << 8 | (uint32_t)(reg))

TEST(conf1_address_latch)
{
	uint8_t b[4];

	conf1_setup();
	CHECK_EQ(addr_in(), 0);
	addr_out(CONF1(0, 0, 0, 0x10));
	CHECK_EQ(addr_in(), CONF1(0, 0, 0, 0x10));
	/* Byte and word accesses do not touch the latch... */
	b[0] = 0x00;
	pci_conf1_addr_io(&conf1, 0, b, 1, true);
	b[0] = b[1] = 0;
	pci_conf1_addr_io(&conf1, 2, b, 2, true);
	CHECK_EQ(addr_in(), CONF1(0, 0, 0, 0x10));
	/* ...and read all-ones. */
	memset(b, 0, sizeof(b));
	pci_conf1_addr_io(&conf1, 0, b, 2, false);
	CHECK_EQ(b[0], 0xff);
	CHECK_EQ(b[1], 0xff);
	memset(b, 0, sizeof(b));
	pci_conf1_addr_io(&conf1, 3, b, 1, false);
	CHECK_EQ(b[0], 0xff);
	conf1_teardown();
}

TEST(conf1_reads)
{
	conf1_setup();
	addr_out(CONF1(0, 0, 0, 0));
	CHECK_EQ(data_in(0, 4), 0x12378086);
	CHECK_EQ(data_in(0, 1), 0x86);
	CHECK_EQ(data_in(1, 1), 0x80);
	CHECK_EQ(data_in(2, 1), 0x37);
	CHECK_EQ(data_in(3, 1), 0x12);
	CHECK_EQ(data_in(0, 2), 0x8086);
	CHECK_EQ(data_in(2, 2), 0x1237);
	addr_out(CONF1(0, 0, 0, 0x08));
	CHECK_EQ(data_in(0, 4), 0x06000000);
	CHECK_EQ(data_in(3, 1), 0x06);
	CHECK_EQ(data_in(2, 2), 0x0600);
	/* The two low address bits are not part of the register number. */
	addr_out(CONF1(0, 0, 0, 0x03));
	CHECK_EQ(data_in(0, 4), 0x12378086);
	/* Accesses that would cross the dword read all-ones. */
	addr_out(CONF1(0, 0, 0, 0));
	CHECK_EQ(data_in(3, 2), 0xffff);
	CHECK_EQ(data_in(1, 4), 0xffffffff);
	CHECK_EQ(data_in(0, 3), 0xffffff);
	conf1_teardown();
}

TEST(conf1_disabled_and_absent)
{
	conf1_setup();
	addr_out(CONF1(0, 0, 0, 0) & ~0x80000000u);
	CHECK_EQ(data_in(0, 4), 0xffffffff);
	CHECK_EQ(data_in(2, 2), 0xffff);
	CHECK_EQ(data_in(1, 1), 0xff);
	/* Writes with the enable bit clear go nowhere. */
	addr_out(CONF1(0, 0, 0, PCI_COMMAND) & ~0x80000000u);
	data_out(0, 0x7, 2);
	addr_out(CONF1(0, 0, 0, PCI_COMMAND));
	CHECK_EQ(data_in(0, 2), 0);

	addr_out(CONF1(1, 0, 0, 0)); /* bus 1 */
	CHECK_EQ(data_in(0, 4), 0xffffffff);
	addr_out(CONF1(0, 0, 1, 0)); /* function 1 */
	CHECK_EQ(data_in(0, 4), 0xffffffff);
	CHECK_EQ(data_in(0, 2), 0xffff);
	addr_out(CONF1(0, 5, 0, 0)); /* empty slot */
	CHECK_EQ(data_in(0, 4), 0xffffffff);
	CHECK_EQ(data_in(3, 1), 0xff);
	conf1_teardown();
}

TEST(conf1_writes)
{
	conf1_setup();
	addr_out(CONF1(0, 0, 0, PCI_COMMAND));
	data_out(0, 0xffff, 2);
	CHECK_EQ(data_in(0, 4), 0x00000407);
	data_out(0, 0x00, 1);
	CHECK_EQ(data_in(0, 2), 0x0400);
	/* Byte writes at 0xCFD..0xCFF hit reg + 1..3. */
	addr_out(CONF1(0, 0, 0, PCI_INTERRUPT_LINE));
	data_out(0, 0x0b, 1);
	data_out(1, 0x01, 1); /* interrupt pin: read-only */
	CHECK_EQ(data_in(0, 1), 0x0b);
	CHECK_EQ(data_in(1, 1), 0x00);
	CHECK_EQ(hb.cfg[PCI_INTERRUPT_LINE], 0x0b);
	data_out(0, 0x0000ffff, 4);
	CHECK_EQ(data_in(0, 4), 0x000000ff);
	/* Read-only identity through conf1 too. */
	addr_out(CONF1(0, 0, 0, 0));
	data_out(0, 0, 4);
	CHECK_EQ(data_in(0, 4), 0x12378086);
	conf1_teardown();
}

int main(void)
{
	RUN(absent_devices);
	RUN(identity_fields);
	RUN(write_masks);
	RUN(bad_accesses);
	RUN(functions_and_buses);
	RUN(slots);
	RUN(cfg_write_hook);
	RUN(conf1_address_latch);
	RUN(conf1_reads);
	RUN(conf1_disabled_and_absent);
	RUN(conf1_writes);
	return test_summary();
}
