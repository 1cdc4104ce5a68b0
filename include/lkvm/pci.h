/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PCI_H
#define LKVM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Transport-neutral PCI bus: a bus of up to 32 single-function devices with
 * 256-byte type-0 configuration spaces.  x86 reaches it through conf1 ports,
 * riscv will reach it through ECAM; both call pci_config_read/write.
 */

#define PCI_MAX_DEVICES 32
#define PCI_CFG_SIZE 256

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_CLASS_BRIDGE_HOST 0x0600

struct pci_device {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
	const char *name;
	void *opaque;
	/* Optional hooks, called after the generic config-space update. */
	void (*cfg_write)(struct pci_device *dev, unsigned int off,
			  uint32_t val, unsigned int len);
};

struct pci_bus {
	pthread_mutex_t lock;
	struct pci_device *slots[PCI_MAX_DEVICES];
};

int pci_bus_init(struct pci_bus *bus);
void pci_bus_destroy(struct pci_bus *bus);

/* Fill the identity fields and a default write mask. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint16_t class_code, uint8_t prog_if);

/* Returns the slot used, or -ENOSPC / -EEXIST. @slot < 0 picks the first free. */
int pci_bus_add(struct pci_bus *bus, struct pci_device *dev, int slot);

/*
 * Config accesses for device @devfn on bus 0.  @len is 1, 2 or 4 and the
 * access must not cross a 4-byte boundary.  Absent devices read all-ones.
 */
uint32_t pci_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			 unsigned int off, unsigned int len);
void pci_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
		      unsigned int off, uint32_t val, unsigned int len);

#endif
