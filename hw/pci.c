// SPDX-License-Identifier: GPL-2.0
#include "lkvm/pci.h"

#include <errno.h>
#include <string.h>

#include "lkvm/util.h"

int pci_bus_init(struct pci_bus *bus)
{
	int err;

	memset(bus, 0, sizeof(*bus));
	err = pthread_mutex_init(&bus->lock, NULL);
	if (err)
		return -err;
	err = pthread_mutex_init(&bus->intx_lock, NULL);
	if (err) {
		pthread_mutex_destroy(&bus->lock);
		return -err;
	}
	return 0;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->lock);
}

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint16_t class_code, uint8_t prog_if)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	dev->cap_end = PCI_CAP_START;
	put_le16(&dev->cfg[PCI_VENDOR_ID], vendor);
	put_le16(&dev->cfg[PCI_DEVICE_ID], device);
	dev->cfg[PCI_CLASS_PROG] = prog_if;
	put_le16(&dev->cfg[PCI_CLASS_DEVICE], class_code);
	put_le16(&dev->wmask[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
					PCI_COMMAND_MASTER |
					PCI_COMMAND_INTX_DISABLE);
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

/* ---- BARs ---- */

int pci_bar_init(struct pci_device *dev, unsigned int bar, bool io,
		 uint32_t size)
{
	uint32_t mask;

	if (bar >= PCI_NUM_BARS || !size || (size & (size - 1)) ||
	    size < (io ? PCI_BAR_IO_MIN_SIZE : PCI_BAR_MEM_MIN_SIZE) ||
	    (io && size > PCI_BAR_IO_MAX_SIZE))
		return -EINVAL;
	dev->bars[bar] = (struct pci_bar){ .size = size, .io = io };
	/*
	 * Address bits at and above @size are writable, so sizing (write
	 * all-ones, read back) yields ~(size - 1) plus the read-only type
	 * bits.  I/O BARs decode 16 bits of port address (x86 has 64 KiB of
	 * ports); the upper half reads as zero.
	 */
	mask = ~(size - 1) & (io ? PCI_BAR_IO_ADDR_MASK : PCI_BAR_MEM_ADDR_MASK);
	put_le32(&dev->cfg[PCI_BAR0 + 4 * bar], io ? PCI_BAR_IO_SPACE : 0);
	put_le32(&dev->wmask[PCI_BAR0 + 4 * bar], mask);
	return 0;
}

void pci_bar_set_addr(struct pci_device *dev, unsigned int bar, uint64_t addr)
{
	uint8_t *reg;
	uint32_t mask;

	if (bar >= PCI_NUM_BARS || !dev->bars[bar].size)
		return;
	reg = &dev->cfg[PCI_BAR0 + 4 * bar];
	mask = get_le32(&dev->wmask[PCI_BAR0 + 4 * bar]);
	put_le32(reg, (get_le32(reg) & ~mask) | ((uint32_t)addr & mask));
}

uint64_t pci_bar_addr(const struct pci_device *dev, unsigned int bar)
{
	if (bar >= PCI_NUM_BARS || !dev->bars[bar].size)
		return 0;
	return get_le32(&dev->cfg[PCI_BAR0 + 4 * bar]) &
	       get_le32(&dev->wmask[PCI_BAR0 + 4 * bar]);
}

/* Where BAR @bar is decoded given config space now; 0 for nowhere. */
static uint64_t bar_decoded_at(const struct pci_device *dev, unsigned int bar)
{
	const struct pci_bar *b = &dev->bars[bar];
	uint16_t cmd = get_le16(&dev->cfg[PCI_COMMAND]);
	uint64_t addr = pci_bar_addr(dev, bar);

	if (!b->size || !addr)
		return 0;
	if (!(cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return 0;
	/*
	 * A BAR still holding the all-ones sizing pattern (its range would
	 * reach the top of the 16-bit port space or of the 32-bit memory
	 * space) is mid-probe, not a real assignment: don't decode it.
	 */
	if (addr + b->size - 1 >= (b->io ? UINT16_MAX : UINT32_MAX))
		return 0;
	return addr;
}

void pci_device_update_bars(struct pci_device *dev)
{
	unsigned int i;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		uint64_t old = dev->bars[i].mapped, now = bar_decoded_at(dev, i);

		if (old == now)
			continue;
		dev->bars[i].mapped = now;
		if (dev->bar_remap)
			dev->bar_remap(dev, i, old, now);
	}
}

/* ---- Capabilities ---- */

int pci_add_capability(struct pci_device *dev, const void *data,
		       unsigned int len)
{
	unsigned int off = (dev->cap_end + 3) & ~3u;

	if (len < 2 || off < PCI_CAP_START || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(&dev->cfg[off], data, len);
	dev->cfg[off + 1] = 0; /* end of the list so far */
	if (dev->cap_last)
		dev->cfg[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_last = off;
	dev->cap_end = off + len;
	return (int)off;
}

/* ---- INTx ---- */

/* Drive @dev's line to the OR of the levels of every device on it (@dev
 * may already be off the bus).  intx_lock held. */
static void intx_update_line(struct pci_bus *bus, struct pci_device *dev)
{
	unsigned int line = dev->intx_line, i;
	bool level = false;

	for (i = 0; i < PCI_MAX_DEVICES; i++) {
		struct pci_device *d = bus->slots[i];

		if (d && d->intx_set && d->intx_line == line &&
		    d->intx_asserted && !d->intx_disabled)
			level = true;
	}
	if (line < 64) {
		bool was = bus->intx_lines_high >> line & 1;

		if (was == level)
			return;
		if (level)
			bus->intx_lines_high |= 1ULL << line;
		else
			bus->intx_lines_high &= ~(1ULL << line);
	}
	dev->intx_set(dev->intx_opaque, line, level);
}

void pci_device_set_intx(struct pci_device *dev, uint8_t pin,
			 unsigned int line,
			 void (*set)(void *opaque, unsigned int line, int level),
			 void *opaque)
{
	dev->cfg[PCI_INTERRUPT_PIN] = pin;
	dev->cfg[PCI_INTERRUPT_LINE] = (uint8_t)line;
	dev->intx_line = line;
	dev->intx_set = set;
	dev->intx_opaque = opaque;
}

void pci_set_irq(struct pci_device *dev, bool level)
{
	struct pci_bus *bus = dev->bus;

	if (!bus || !dev->intx_set)
		return;
	pthread_mutex_lock(&bus->intx_lock);
	if (dev->intx_asserted != level) {
		dev->intx_asserted = level;
		intx_update_line(bus, dev);
	}
	pthread_mutex_unlock(&bus->intx_lock);
}

/* ---- The bus ---- */

int pci_bus_add(struct pci_bus *bus, struct pci_device *dev, int slot)
{
	int ret;

	pthread_mutex_lock(&bus->lock);
	if (slot < 0) {
		for (slot = 0; slot < PCI_MAX_DEVICES && bus->slots[slot]; slot++)
			;
		if (slot == PCI_MAX_DEVICES) {
			ret = -ENOSPC;
			goto out;
		}
	} else if (slot >= PCI_MAX_DEVICES || bus->slots[slot]) {
		ret = -EEXIST;
		goto out;
	}
	dev->bus = bus;
	pthread_mutex_lock(&bus->intx_lock);
	bus->slots[slot] = dev;
	pthread_mutex_unlock(&bus->intx_lock);
	ret = slot;
out:
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

int pci_bus_add_host_bridge(struct pci_bus *bus, struct pci_device *dev)
{
	int slot;

	pci_device_init(dev, "host-bridge", PCI_VENDOR_ID_REDHAT,
			PCI_DEVICE_ID_REDHAT_PCIE_HOST, PCI_CLASS_BRIDGE_HOST, 0);
	slot = pci_bus_add(bus, dev, 0);
	return slot < 0 ? slot : 0;
}

void pci_bus_remove(struct pci_bus *bus, struct pci_device *dev)
{
	unsigned int i;

	pthread_mutex_lock(&bus->lock);
	pthread_mutex_lock(&bus->intx_lock);
	for (i = 0; i < PCI_MAX_DEVICES; i++)
		if (bus->slots[i] == dev)
			bus->slots[i] = NULL;
	if (dev->intx_set && dev->intx_asserted) {
		dev->intx_asserted = false;
		intx_update_line(bus, dev);
	}
	pthread_mutex_unlock(&bus->intx_lock);
	pthread_mutex_unlock(&bus->lock);
}

static struct pci_device *pci_lookup(struct pci_bus *bus, uint8_t busnr,
				     uint8_t devfn)
{
	/* Single-function devices on bus 0 only. */
	if (busnr != 0 || PCI_FUNC(devfn))
		return NULL;
	return bus->slots[PCI_SLOT(devfn)];
}

static bool access_ok(unsigned int off, unsigned int len)
{
	return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SIZE &&
	       (off & 3) + len <= 4;
}

uint32_t pci_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			 unsigned int off, unsigned int len)
{
	struct pci_device *dev;
	uint32_t v = 0;
	unsigned int i;

	if (!access_ok(off, len))
		return 0xffffffff;
	pthread_mutex_lock(&bus->lock);
	dev = pci_lookup(bus, busnr, devfn);
	if (!dev) {
		v = len == 4 ? 0xffffffff : (1u << (len * 8)) - 1;
	} else {
		for (i = 0; i < len; i++)
			v |= (uint32_t)dev->cfg[off + i] << (i * 8);
		if (dev->cfg_read)
			v = dev->cfg_read(dev, off, v, len);
	}
	pthread_mutex_unlock(&bus->lock);
	return v;
}

/* Does [off, off + len) overlap [start, start + n)? */
static bool touches(unsigned int off, unsigned int len, unsigned int start,
		    unsigned int n)
{
	return off < start + n && start < off + len;
}

void pci_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
		      unsigned int off, uint32_t val, unsigned int len)
{
	struct pci_device *dev;
	unsigned int i;

	if (!access_ok(off, len))
		return;
	pthread_mutex_lock(&bus->lock);
	dev = pci_lookup(bus, busnr, devfn);
	if (dev) {
		for (i = 0; i < len; i++) {
			uint8_t m = dev->wmask[off + i];
			uint8_t b = (uint8_t)(val >> (i * 8));

			/* Read-only bytes are not even rewritten: some
			 * (status) may be updated outside this lock. */
			if (m)
				dev->cfg[off + i] = (uint8_t)((dev->cfg[off + i] & ~m) |
							      (b & m));
		}
		if (touches(off, len, PCI_COMMAND, 2) ||
		    touches(off, len, PCI_BAR0, 4 * PCI_NUM_BARS))
			pci_device_update_bars(dev);
		if (touches(off, len, PCI_COMMAND + 1, 1)) {
			bool dis = dev->cfg[PCI_COMMAND + 1] &
				   (PCI_COMMAND_INTX_DISABLE >> 8);

			pthread_mutex_lock(&bus->intx_lock);
			if (dis != dev->intx_disabled) {
				dev->intx_disabled = dis;
				if (dev->intx_set && dev->intx_asserted)
					intx_update_line(bus, dev);
			}
			pthread_mutex_unlock(&bus->intx_lock);
		}
		if (dev->cfg_write)
			dev->cfg_write(dev, off, val, len);
	}
	pthread_mutex_unlock(&bus->lock);
}
