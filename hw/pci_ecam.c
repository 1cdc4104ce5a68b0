// SPDX-License-Identifier: GPL-2.0
/*
 * PCI Express enhanced configuration access (ECAM): each function's 4 KiB
 * of config space at ECAM base + (bus << 20 | device << 15 | function << 12).
 * lkvm's devices implement the first 256 bytes; the extended space reads
 * as zero (no extended capabilities: Linux stops at a zero header).
 */
#include "lkvm/pci.h"

#include <string.h>

#define ECAM_BUS_SHIFT 20
#define ECAM_DEVFN_SHIFT 12
#define ECAM_REG_MASK 0xfff      /* a function's 4 KiB */
#define ECAM_WINDOW_BITS 28      /* 256 buses */

void pci_ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		 bool is_write)
{
	struct pci_bus *bus = opaque;
	unsigned int reg = (unsigned int)(off & ECAM_REG_MASK);
	uint8_t busnr = (uint8_t)(off >> ECAM_BUS_SHIFT);
	uint8_t devfn = (uint8_t)(off >> ECAM_DEVFN_SHIFT);
	uint32_t val = 0;

	if ((len != 1 && len != 2 && len != 4) || (reg & (len - 1)) ||
	    off >> ECAM_WINDOW_BITS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (reg >= PCI_CFG_SIZE) {
		/* A present function answers 0 there; an absent one all-ones. */
		if (!is_write) {
			val = pci_config_read(bus, busnr, devfn, 0, 2) == 0xffff ?
				      0xffffffff : 0;
			memcpy(data, &val, len);
		}
		return;
	}
	if (is_write) {
		memcpy(&val, data, len);
		pci_config_write(bus, busnr, devfn, reg, val, len);
	} else {
		val = pci_config_read(bus, busnr, devfn, reg, len);
		memcpy(data, &val, len);
	}
}
