// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration mechanism #1: the guest writes a bus/device/function/
 * register address to 0xCF8 and then reads or writes 0xCFC..0xCFF.
 */
#include "arch/devices.h"

#include <string.h>

#include "lkvm/pci.h"

/* The address latch: enable, bus, devfn and a dword-aligned register. */
#define CONF1_ENABLE 0x80000000u
#define CONF1_BUS_SHIFT 16
#define CONF1_DEVFN_SHIFT 8
#define CONF1_REG_MASK 0xfc

int pci_conf1_init(struct pci_conf1 *c, struct pci_bus *bus)
{
	memset(c, 0, sizeof(*c));
	c->bus = bus;
	return -pthread_mutex_init(&c->lock, NULL);
}

void pci_conf1_destroy(struct pci_conf1 *c)
{
	pthread_mutex_destroy(&c->lock);
}

void pci_conf1_addr_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct pci_conf1 *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (off == 0 && len == 4) {
		/* Only dword accesses hit the address latch (as on real chipsets). */
		if (is_write)
			memcpy(&c->addr, data, 4);
		else
			memcpy(data, &c->addr, 4);
	} else if (!is_write) {
		memset(data, 0xff, len);
	}
	pthread_mutex_unlock(&c->lock);
}

void pci_conf1_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct pci_conf1 *c = opaque;
	uint32_t addr, val = 0;
	unsigned int reg;

	pthread_mutex_lock(&c->lock);
	addr = c->addr;
	pthread_mutex_unlock(&c->lock);

	reg = (addr & CONF1_REG_MASK) + (unsigned int)off;
	if (!(addr & CONF1_ENABLE) || (len != 1 && len != 2 && len != 4) ||
	    (reg & 3) + len > 4) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (is_write) {
		memcpy(&val, data, len);
		pci_config_write(c->bus, (uint8_t)(addr >> CONF1_BUS_SHIFT),
				 (uint8_t)(addr >> CONF1_DEVFN_SHIFT), reg, val,
				 len);
	} else {
		val = pci_config_read(c->bus, (uint8_t)(addr >> CONF1_BUS_SHIFT),
				      (uint8_t)(addr >> CONF1_DEVFN_SHIFT), reg,
				      len);
		memcpy(data, &val, len);
	}
}
