/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_X86_DEVICES_H
#define LKVM_X86_DEVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* --- i8042 keyboard controller: enough for Linux's probe and reset. --- */
#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1
#define I8042_QUEUE 16

typedef void (*i8042_reset_fn)(void *opaque);
typedef void (*i8042_irq_fn)(void *opaque, int level);

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;         /* controller configuration ("command byte") */
	uint8_t pending_cmd; /* controller command awaiting a data byte */
	uint8_t outq[I8042_QUEUE];
	unsigned int out_head, out_count;
	int irq_level;
	i8042_reset_fn reset;
	i8042_irq_fn irq;
	void *opaque;
};

int i8042_init(struct i8042 *k, i8042_reset_fn reset, i8042_irq_fn irq,
	       void *opaque);
void i8042_destroy(struct i8042 *k);
/* Bus handlers: data port (0x60) and command/status port (0x64). */
void i8042_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write);
void i8042_cmd_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		  bool is_write);

/* --- MC146818 CMOS RTC at 0x70/0x71, showing the host's time in UTC. --- */
#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT 0x71

typedef time_t (*cmos_clock_fn)(void);

struct cmos_rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t ram[128];
	cmos_clock_fn clock; /* time source; replaceable for tests */
};

int cmos_rtc_init(struct cmos_rtc *rtc, cmos_clock_fn clock);
void cmos_rtc_destroy(struct cmos_rtc *rtc);
void cmos_rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		 bool is_write);

/* --- PCI configuration mechanism #1 at 0xCF8 (address) / 0xCFC (data). --- */
#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc

struct pci_bus;

struct pci_conf1 {
	pthread_mutex_t lock;
	uint32_t addr;
	struct pci_bus *bus;
};

int pci_conf1_init(struct pci_conf1 *c, struct pci_bus *bus);
void pci_conf1_destroy(struct pci_conf1 *c);
void pci_conf1_addr_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);
void pci_conf1_data_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);

#endif
