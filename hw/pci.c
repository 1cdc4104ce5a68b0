// SPDX-License-Identifier: GPL-2.0
#include "lkvm/pci.h"

#include <errno.h>
#include <string.h>

int pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	return -pthread_mutex_init(&bus->lock, NULL);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->lock);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint16_t class_code, uint8_t prog_if)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	put16(&dev->cfg[PCI_VENDOR_ID], vendor);
	put16(&dev->cfg[PCI_DEVICE_ID], device);
	dev->cfg[PCI_CLASS_PROG] = prog_if;
	put16(&dev->cfg[PCI_CLASS_DEVICE], class_code);
	/* Command: I/O, memory, bus master, INTx disable are guest-writable. */
	put16(&dev->wmask[PCI_COMMAND], 0x0407);
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

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
	bus->slots[slot] = dev;
	ret = slot;
out:
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

static struct pci_device *pci_lookup(struct pci_bus *bus, uint8_t busnr,
				     uint8_t devfn)
{
	/* Single-function devices on bus 0 only. */
	if (busnr != 0 || (devfn & 7))
		return NULL;
	return bus->slots[devfn >> 3];
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
	}
	pthread_mutex_unlock(&bus->lock);
	return v;
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
			dev->cfg[off + i] = (uint8_t)((dev->cfg[off + i] & ~m) | (b & m));
		}
		if (dev->cfg_write)
			dev->cfg_write(dev, off, val, len);
	}
	pthread_mutex_unlock(&bus->lock);
}
