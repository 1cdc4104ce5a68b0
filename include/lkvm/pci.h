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
 *
 * The generic layer models what every function has: identity fields, the
 * command register, 32-bit memory and I/O BARs with the usual sizing
 * behaviour (write all-ones, read back the size mask), a capability list
 * and INTx.  A device learns about its BARs being decoded, moved or turned
 * off through ->bar_remap, so it can (re)map its regions on the address-space
 * buses.
 */

#define PCI_MAX_DEVICES 32
/* Devices a virtio-pci guest can have: the host bridge takes slot 0. */
#define PCI_MAX_VIRTIO_DEVICES (PCI_MAX_DEVICES - 1)
#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6

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
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_CAP_LIST 0x0010

#define PCI_BAR_IO_SPACE 0x1 /* BAR bit 0: I/O (1) or memory (0) */
/* A BAR's address bits: I/O BARs decode 16 bits of port address (bits
 * 1:0 are type bits), memory BARs 32 (bits 3:0). */
#define PCI_BAR_IO_ADDR_MASK 0x0000fffcu
#define PCI_BAR_MEM_ADDR_MASK 0xfffffff0u
#define PCI_BAR_IO_MIN_SIZE 4u
#define PCI_BAR_IO_MAX_SIZE 256u /* the PCI spec's limit for I/O BARs */
#define PCI_BAR_MEM_MIN_SIZE 16u

/* devfn: device (slot) in bits 7:3, function in bits 2:0. */
#define PCI_SLOT(devfn) ((devfn) >> 3)
#define PCI_FUNC(devfn) ((devfn) & 7)

#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11
#define PCI_CAP_START 0x40 /* first byte after the type-0 header */

/* Class codes (base class << 8 | subclass), PCI Code and ID Assignment. */
#define PCI_CLASS_UNCLASSIFIED_OTHER 0x00ff
#define PCI_CLASS_STORAGE_OTHER 0x0180
#define PCI_CLASS_NETWORK_ETHERNET 0x0200
#define PCI_CLASS_BRIDGE_HOST 0x0600
#define PCI_CLASS_COMMUNICATION_OTHER 0x0780

/* The host bridge at 00:00.0: the ids of QEMU's generic PCIe host bridge
 * (PCI_DEVICE_ID_REDHAT_PCIE_HOST), to which Linux binds no driver. */
#define PCI_VENDOR_ID_REDHAT 0x1b36
#define PCI_DEVICE_ID_REDHAT_PCIE_HOST 0x0008

struct pci_bus;

struct pci_bar {
	uint32_t size;   /* a power of two; 0: BAR not implemented */
	bool io;         /* I/O space (else 32-bit memory) */
	uint64_t mapped; /* where the device decodes it now; 0: nowhere */
};

struct pci_device {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may change */
	const char *name;
	void *opaque;
	struct pci_bus *bus;         /* set by pci_bus_add() */
	struct pci_bar bars[PCI_NUM_BARS];
	unsigned int cap_last;       /* offset of the last capability, 0: none */
	unsigned int cap_end;        /* where the next capability may go */

	/* Optional hooks.  All run with the bus lock held. */
	/* After the generic config-space update of a valid write. */
	void (*cfg_write)(struct pci_device *dev, unsigned int off,
			  uint32_t val, unsigned int len);
	/* A read: @val is what config space holds; return what the guest
	 * sees (for registers that are windows onto something else). */
	uint32_t (*cfg_read)(struct pci_device *dev, unsigned int off,
			     uint32_t val, unsigned int len);
	/* BAR @bar stopped being decoded at @old_addr and/or started at
	 * @new_addr (0: not decoded): a new address was programmed, or the
	 * command register's I/O / memory enable changed.  Called before
	 * ->cfg_write. */
	void (*bar_remap)(struct pci_device *dev, unsigned int bar,
			  uint64_t old_addr, uint64_t new_addr);

	/* INTx (see pci_device_set_intx); protected by the bus's intx_lock. */
	unsigned int intx_line;
	bool intx_asserted;          /* what the device wants */
	bool intx_disabled;          /* command register INTx disable */
	void (*intx_set)(void *opaque, unsigned int line, int level);
	void *intx_opaque;
};

struct pci_bus {
	pthread_mutex_t lock;
	struct pci_device *slots[PCI_MAX_DEVICES];
	/* INTx state of every device; taken after (never around) @lock.
	 * Devices sharing a line see the OR of their levels. */
	pthread_mutex_t intx_lock;
	uint64_t intx_lines_high;    /* lines < 64 currently driven high */
};

int pci_bus_init(struct pci_bus *bus);
void pci_bus_destroy(struct pci_bus *bus);

/* Fill the identity fields and a default write mask. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint16_t class_code, uint8_t prog_if);

/*
 * Declare BAR @bar (0-5) of @size bytes (a power of two, at least 16 for
 * memory and 4 for I/O; I/O BARs at most 256) with address 0.  The address
 * bits below @size read as zero, so a write of all-ones reads back the size
 * mask.  Memory BARs are 32-bit, non-prefetchable.  0 or -EINVAL.
 */
int pci_bar_init(struct pci_device *dev, unsigned int bar, bool io,
		 uint32_t size);
/* Program BAR @bar's address (firmware-style assignment). */
void pci_bar_set_addr(struct pci_device *dev, unsigned int bar, uint64_t addr);
/* The address programmed in BAR @bar (decoded or not). */
uint64_t pci_bar_addr(const struct pci_device *dev, unsigned int bar);
/*
 * Bring every BAR's ->mapped in line with config space, calling ->bar_remap
 * for changes.  Generic code does this after guest writes; a device calls
 * it once after programming its BARs and command register at creation
 * (before pci_bus_add(), or with the bus lock held).
 */
void pci_device_update_bars(struct pci_device *dev);

/*
 * Append a capability: @len bytes (>= 2) of @data, whose first byte is the
 * capability ID; the "next" byte is filled in.  Sets the status register's
 * capability-list bit and the capability pointer.  Contents are read-only
 * unless the caller then sets bits in dev->wmask.  Returns the capability's
 * offset in config space, or -ENOSPC.
 */
int pci_add_capability(struct pci_device *dev, const void *data,
		       unsigned int len);

/* INTx: @pin 1-4 (INTA#-INTD#) wired to interrupt line @line, which
 * @set(@opaque, line, level) drives.  PCI_INTERRUPT_LINE reads @line. */
void pci_device_set_intx(struct pci_device *dev, uint8_t pin,
			 unsigned int line,
			 void (*set)(void *opaque, unsigned int line, int level),
			 void *opaque);
/* Assert or deassert the device's INTx.  Takes only the bus's intx_lock,
 * so it may be called from any thread, from hooks and under device locks. */
void pci_set_irq(struct pci_device *dev, bool level);

/* Returns the slot used, or -ENOSPC / -EEXIST. @slot < 0 picks the first free. */
int pci_bus_add(struct pci_bus *bus, struct pci_device *dev, int slot);
/* A host bridge @dev in slot 0, where Linux's conf1 sanity check and its
 * generic ECAM host driver look for one: 0 or -EEXIST. */
int pci_bus_add_host_bridge(struct pci_bus *bus, struct pci_device *dev);
/* Take @dev off the bus (VM teardown); its INTx is deasserted. */
void pci_bus_remove(struct pci_bus *bus, struct pci_device *dev);

/*
 * Config accesses for device @devfn on bus 0.  @len is 1, 2 or 4 and the
 * access must not cross a 4-byte boundary.  Absent devices read all-ones.
 */
uint32_t pci_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
			 unsigned int off, unsigned int len);
void pci_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn,
		      unsigned int off, uint32_t val, unsigned int len);

/* Bus handler for an ECAM window onto @opaque (a struct pci_bus):
 * hw/pci_ecam.c.  x86 uses conf1 ports instead. */
void pci_ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		 bool is_write);

#endif
