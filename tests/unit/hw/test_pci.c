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

/* ---- BARs, capabilities, INTx ---- */

#define IO_SIZE 32
#define MEM_SIZE 0x8000
#define IO_ADDR 0x1040
#define MEM_ADDR 0xc0010000u

static struct pci_device dev;

static struct remap_log {
	int calls;
	unsigned int bar;
	uint64_t old_addr, new_addr;
	uint64_t mapped[PCI_NUM_BARS]; /* as the device tracks it */
} remap;

static void remap_hook(struct pci_device *d, unsigned int bar, uint64_t o,
		       uint64_t n)
{
	(void)d;
	remap.calls++;
	remap.bar = bar;
	remap.old_addr = o;
	remap.new_addr = n;
	remap.mapped[bar] = n;
}

/* The host bridge in slot 0 and a device with an I/O BAR0 and a memory
 * BAR1 in slot 3. */
static void bar_setup(bool decode)
{
	setup();
	memset(&remap, 0, sizeof(remap));
	pci_device_init(&dev, "dev", 0x1af4, 0x1001, 0x0180, 0);
	dev.bar_remap = remap_hook;
	REQUIRE(pci_bar_init(&dev, 0, true, IO_SIZE) == 0);
	REQUIRE(pci_bar_init(&dev, 1, false, MEM_SIZE) == 0);
	pci_bar_set_addr(&dev, 0, IO_ADDR);
	pci_bar_set_addr(&dev, 1, MEM_ADDR);
	if (decode)
		dev.cfg[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY;
	pci_device_update_bars(&dev);
	REQUIRE(pci_bus_add(&bus, &dev, 3) == 3);
}

TEST(bar_init_rejects)
{
	pci_device_init(&dev, "dev", 1, 2, 0, 0);
	CHECK_EQ(pci_bar_init(&dev, 6, false, 4096), -EINVAL);
	CHECK_EQ(pci_bar_init(&dev, 0, false, 0), -EINVAL);
	CHECK_EQ(pci_bar_init(&dev, 0, false, 3000), -EINVAL);
	CHECK_EQ(pci_bar_init(&dev, 0, false, 8), -EINVAL);  /* < 16 */
	CHECK_EQ(pci_bar_init(&dev, 0, true, 2), -EINVAL);   /* < 4 */
	CHECK_EQ(pci_bar_init(&dev, 0, true, 512), -EINVAL); /* > 256 */
	CHECK_EQ(pci_bar_init(&dev, 5, true, 4), 0);
	CHECK_EQ(pci_bar_addr(&dev, 4), 0);
}

TEST(bar_sizing)
{
	bar_setup(false);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0, 4), IO_ADDR | 1);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0 + 4, 4), MEM_ADDR);
	/* All-ones reads back the size mask and the type bits. */
	cfg_wr(DEVFN(3, 0), PCI_BAR0, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0, 4), (0xffffu & ~(IO_SIZE - 1)) | 1);
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 4, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0 + 4, 4), ~(uint32_t)(MEM_SIZE - 1));
	/* Unimplemented BARs read 0 whatever is written. */
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 8, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0 + 8, 4), 0);
	/* Restore; low bits inside the size are dropped. */
	cfg_wr(DEVFN(3, 0), PCI_BAR0, IO_ADDR | 0x1f, 4);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0, 4), IO_ADDR | 1);
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 4, MEM_ADDR | 0x7fff, 4);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_BAR0 + 4, 4), MEM_ADDR);
	CHECK_EQ(pci_bar_addr(&dev, 1), MEM_ADDR);
	/* Byte-wise programming works too. */
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 4 + 3, 0xd0, 1);
	CHECK_EQ(pci_bar_addr(&dev, 1), 0xd0010000u);
	/* Decode was off throughout: nothing was mapped. */
	CHECK_EQ(remap.calls, 0);
	pci_bus_destroy(&bus);
}

TEST(bar_remap_on_decode_and_move)
{
	bar_setup(false);
	/* Turning on memory decode maps BAR1 only. */
	cfg_wr(DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	CHECK_EQ(remap.calls, 1);
	CHECK_EQ(remap.bar, 1);
	CHECK_EQ(remap.old_addr, 0);
	CHECK_EQ(remap.new_addr, MEM_ADDR);
	/* ...and I/O decode BAR0. */
	cfg_wr(DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	CHECK_EQ(remap.calls, 2);
	CHECK_EQ(remap.bar, 0);
	CHECK_EQ(remap.new_addr, IO_ADDR);
	/* Rewriting the same command changes nothing. */
	cfg_wr(DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
	CHECK_EQ(remap.calls, 2);
	/* Moving BAR1 while decoding: old -> new. */
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 4, 0xc0100000u, 4);
	CHECK_EQ(remap.calls, 3);
	CHECK_EQ(remap.old_addr, MEM_ADDR);
	CHECK_EQ(remap.new_addr, 0xc0100000u);
	/* Sizing with decode on: the all-ones pattern is not mapped... */
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 4, 0xffffffff, 4);
	CHECK_EQ(remap.calls, 4);
	CHECK_EQ(remap.new_addr, 0);
	cfg_wr(DEVFN(3, 0), PCI_BAR0, 0xffffffff, 4);
	CHECK_EQ(remap.calls, 5);
	CHECK_EQ(remap.mapped[0], 0);
	/* ...and restoring maps again. */
	cfg_wr(DEVFN(3, 0), PCI_BAR0 + 4, 0xc0100000u, 4);
	cfg_wr(DEVFN(3, 0), PCI_BAR0, IO_ADDR, 4);
	CHECK_EQ(remap.calls, 7);
	CHECK_EQ(remap.mapped[0], IO_ADDR);
	CHECK_EQ(remap.mapped[1], 0xc0100000u);
	/* Address 0 is "not assigned". */
	cfg_wr(DEVFN(3, 0), PCI_BAR0, 0, 4);
	CHECK_EQ(remap.mapped[0], 0);
	/* Decode off unmaps. */
	cfg_wr(DEVFN(3, 0), PCI_COMMAND, 0, 2);
	CHECK_EQ(remap.mapped[1], 0);
	CHECK_EQ(dev.bars[1].mapped, 0);
	/* A dword write to command/status counts as a command write. */
	cfg_wr(DEVFN(3, 0), PCI_COMMAND, 0xffff0002, 4);
	CHECK_EQ(remap.mapped[1], 0xc0100000u);
	pci_bus_destroy(&bus);
}

TEST(bar_initial_mapping)
{
	bar_setup(true);
	CHECK_EQ(remap.calls, 2);
	CHECK_EQ(dev.bars[0].mapped, IO_ADDR);
	CHECK_EQ(dev.bars[1].mapped, MEM_ADDR);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_COMMAND, 2), 3);
	pci_bus_destroy(&bus);
}

TEST(capabilities)
{
	uint8_t a[6] = { 0x09, 0xee, 6, 1, 2, 3 }, b[12] = { 0x11 };
	unsigned int pos, n = 0;
	int off;

	pci_device_init(&dev, "dev", 1, 2, 0, 0);
	CHECK_EQ(dev.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, 0);
	CHECK_EQ(dev.cfg[PCI_CAPABILITY_LIST], 0);
	CHECK_EQ(pci_add_capability(&dev, a, 1), -ENOSPC);
	off = pci_add_capability(&dev, a, sizeof(a));
	CHECK_EQ(off, 0x40);
	CHECK(dev.cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	CHECK_EQ(dev.cfg[PCI_CAPABILITY_LIST], 0x40);
	CHECK_EQ(dev.cfg[0x41], 0); /* "next" is ours, not the caller's */
	CHECK_EQ(dev.cfg[0x45], 3);
	off = pci_add_capability(&dev, b, sizeof(b));
	CHECK_EQ(off, 0x48); /* dword aligned */
	CHECK_EQ(dev.cfg[0x41], 0x48);
	/* Fill up: the rest of the 256 bytes. */
	while ((off = pci_add_capability(&dev, b, sizeof(b))) > 0)
		CHECK(off + 12 <= PCI_CFG_SIZE);
	CHECK_EQ(off, -ENOSPC);
	/* Walk the list as a driver does: it ends, and in order. */
	for (pos = dev.cfg[PCI_CAPABILITY_LIST]; pos && n < 64;
	     pos = dev.cfg[pos + 1], n++)
		CHECK(pos >= 0x40 && pos % 4 == 0);
	CHECK_EQ(pos, 0);
	CHECK_EQ(n, 1 + (PCI_CFG_SIZE - 0x48) / 12);
	/* Capability contents are read-only by default. */
	REQUIRE(pci_bus_init(&bus) == 0);
	REQUIRE(pci_bus_add(&bus, &dev, 2) == 2);
	cfg_wr(DEVFN(2, 0), 0x44, 0xffffffff, 4);
	CHECK_EQ(cfg_rd(DEVFN(2, 0), 0x44, 4), 0x00000302);
	CHECK_EQ(cfg_rd(DEVFN(2, 0), PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	pci_bus_destroy(&bus);
}

static uint32_t read_hook(struct pci_device *d, unsigned int off, uint32_t val,
			  unsigned int len)
{
	(void)d;
	(void)len;
	return off == 0x40 ? 0x12345678 : val;
}

TEST(cfg_read_hook)
{
	setup();
	hb.cfg_read = read_hook;
	CHECK_EQ(cfg_rd(0, 0x40, 4), 0x12345678);
	CHECK_EQ(cfg_rd(0, 0, 2), 0x8086);
	pci_bus_destroy(&bus);
}

static struct {
	int calls;
	int level[32];
} lines;

static void line_set(void *opaque, unsigned int line, int level)
{
	(void)opaque;
	lines.calls++;
	lines.level[line & 31] = level;
}

TEST(intx_shared_lines)
{
	static struct pci_device d1, d2, d3;

	setup();
	memset(&lines, 0, sizeof(lines));
	pci_device_init(&d1, "d1", 1, 1, 0, 0);
	pci_device_init(&d2, "d2", 1, 2, 0, 0);
	pci_device_init(&d3, "d3", 1, 3, 0, 0);
	pci_device_set_intx(&d1, 1, 10, line_set, NULL);
	pci_device_set_intx(&d2, 1, 10, line_set, NULL);
	pci_device_set_intx(&d3, 1, 11, line_set, NULL);
	/* Not on a bus yet: nothing happens. */
	pci_set_irq(&d1, true);
	CHECK_EQ(lines.calls, 0);
	d1.intx_asserted = false;
	REQUIRE(pci_bus_add(&bus, &d1, 1) == 1);
	REQUIRE(pci_bus_add(&bus, &d2, 2) == 2);
	REQUIRE(pci_bus_add(&bus, &d3, 3) == 3);
	CHECK_EQ(cfg_rd(DEVFN(1, 0), PCI_INTERRUPT_LINE, 2), 0x010a);
	CHECK_EQ(cfg_rd(DEVFN(3, 0), PCI_INTERRUPT_LINE, 1), 11);

	pci_set_irq(&d1, true);
	CHECK_EQ(lines.level[10], 1);
	CHECK_EQ(lines.calls, 1);
	pci_set_irq(&d2, true);   /* already high: no new edge */
	CHECK_EQ(lines.calls, 1);
	pci_set_irq(&d1, false);  /* d2 still holds it */
	CHECK_EQ(lines.level[10], 1);
	pci_set_irq(&d3, true);
	CHECK_EQ(lines.level[11], 1);
	pci_set_irq(&d2, false);
	CHECK_EQ(lines.level[10], 0);
	CHECK_EQ(lines.level[11], 1);

	/* INTx disable in the command register masks the device. */
	pci_set_irq(&d1, true);
	CHECK_EQ(lines.level[10], 1);
	cfg_wr(DEVFN(1, 0), PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	CHECK_EQ(lines.level[10], 0);
	pci_set_irq(&d1, true);
	CHECK_EQ(lines.level[10], 0);
	cfg_wr(DEVFN(1, 0), PCI_COMMAND + 1, 0, 1);
	CHECK_EQ(lines.level[10], 1);

	/* Removing a device lets go of its line. */
	pci_bus_remove(&bus, &d1);
	CHECK_EQ(lines.level[10], 0);
	CHECK_EQ(cfg_rd(DEVFN(1, 0), 0, 4), 0xffffffff);
	pci_bus_remove(&bus, &d3);
	CHECK_EQ(lines.level[11], 0);
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
	RUN(bar_init_rejects);
	RUN(bar_sizing);
	RUN(bar_remap_on_decode_and_move);
	RUN(bar_initial_mapping);
	RUN(capabilities);
	RUN(cfg_read_hook);
	RUN(intx_shared_lines);
	RUN(conf1_address_latch);
	RUN(conf1_reads);
	RUN(conf1_disabled_and_absent);
	RUN(conf1_writes);
	return test_summary();
}
