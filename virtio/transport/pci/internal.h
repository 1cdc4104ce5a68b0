/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio over PCI (virtio 1.2 section 4.1), as a transitional device by
 * default and as a legacy (virtio 0.9.5) device for --virtio-transport
 * pci-legacy.
 *
 *   BAR0 (I/O, transitional and legacy)   the legacy register block, then
 *                                         the device config
 *   BAR1 (32-bit memory)                  0x0000 common cfg    } modern
 *                                         0x1000 ISR           } only, found
 *                                         0x2000 device cfg    } through
 *                                         0x3000 notify        } capabilities
 *                                         0x4000 MSI-X table, 0x4800 PBA
 *
 * A transitional device serves whichever interface the driver uses: the
 * first register access while the device is reset (status 0) decides, and
 * sets vdev->legacy before the driver reads features.
 *
 * Notifications: one KVM ioeventfd per queue (modern: 16-bit writes at
 * notify + 4 * queue; legacy: the QUEUE_NOTIFY port with the queue index as
 * datamatch), re-registered whenever the guest moves or disables a BAR.
 * Writes KVM does not catch come here and kick the queue from userspace.
 *
 * Interrupts: with MSI-X enabled each vector has an eventfd bound as a KVM
 * irqfd to an MSI route built from its table entry, so signalling a queue
 * from a worker thread is one eventfd write; masked vectors latch their
 * pending bit and fire on unmask.  Without MSI-X: ISR bits and a
 * level-triggered INTx line, lowered when the driver reads ISR.
 *
 * Locks, in order: the PCI bus lock (config space; hooks run under it) ->
 * vdev->lock (registers, calls into the core) -> vp->irq_lock (ISR, MSI-X
 * state; taken by signal_queue on worker threads, so never held across a call
 * into the core) -> the bus's INTx lock.  vp->map_lock guards the BAR
 * mappings only.
 */
#ifndef LKVM_VIRTIO_PCI_INTERNAL_H
#define LKVM_VIRTIO_PCI_INTERNAL_H

#include <errno.h>
#include <linux/virtio_pci.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/bus.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define VP_VENDOR 0x1af4
#define VP_DEVICE_MODERN_BASE 0x1040 /* + virtio device id */

#define VP_IO_BAR 0
#define VP_MEM_BAR 1

/* Memory BAR layout. */
#define VP_COMMON_OFF 0x0000
#define VP_COMMON_LEN 0x38 /* struct virtio_pci_common_cfg */
#define VP_ISR_OFF 0x1000
#define VP_DEVICE_OFF 0x2000
#define VP_NOTIFY_OFF 0x3000
#define VP_REGION_SIZE 0x1000
#define VP_NOTIFY_MULT 4
#define VP_MSIX_TABLE_OFF 0x4000
#define VP_MSIX_PBA_OFF 0x4800
#define VP_MSIX_MAX_VECTORS 128 /* table fills 0x4000..0x47ff */
#define VP_MEM_BAR_SIZE 0x8000
#define VP_MEM_BAR_LIMIT (1ULL << 32) /* BAR1 is a 32-bit memory BAR */
#define VP_INTX_PIN 1                 /* INTA# */

/* Legacy I/O BAR: the header is 20 bytes, 24 with MSI-X enabled. */
#define VP_LEGACY_HDR_MSIX 24

#define MSIX_ENTRY_SIZE 16
#define MSIX_CTRL_MASKED 1u
#define MSIX_CAP_CTRL 2 /* message control (le16) within the capability */
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK 0x4000

/* ISR status bits (virtio 1.2 4.1.4.5); the config bit is
 * VIRTIO_PCI_ISR_CONFIG. */
#define VP_ISR_QUEUE 0x1

#define VP_PCI_CFG_DATA 16 /* pci_cfg_data within virtio_pci_cfg_cap */

struct vp_vector {
	uint32_t entry[4];  /* guest's table entry: addr lo, addr hi, data, ctrl */
	bool pending;       /* PBA bit */
	bool dirty;         /* entry changed since the route was written */
	int efd;            /* eventfd, a KVM irqfd on @gsi when
			     * @irqfd_assigned */
	int gsi;            /* MSI route, -1 while there is none */
	bool irqfd_assigned;
};

struct virtio_pci {
	struct virtio_interrupt irq; /* the device's handle (vdev->irq) */
	struct pci_device pci;
	struct virtio_dev *vdev; /* NULL once the device unplugged */
	struct vm *vm;
	char name[48];
	bool legacy_only;
	bool transitional;  /* has the legacy I/O BAR */
	bool on_bus;        /* pci_bus_add() succeeded, not removed yet */
	int slot;
	uint32_t io_size;
	int msix_cap, pci_cfg_cap; /* config-space offsets, 0: absent */

	/* BAR mappings (map_lock). */
	pthread_mutex_t map_lock;
	uint64_t io_base, mem_base; /* registered on the buses; 0: not */
	bool *io_ioeventfd_set, *mem_ioeventfd_set; /* per queue */

	/* Registers (vdev->lock). */
	uint32_t dev_feature_sel, drv_feature_sel;
	uint16_t queue_sel;

	/* Interrupts (irq_lock). */
	pthread_mutex_t irq_lock;
	uint8_t isr;
	bool msix_enabled, msix_masked;
	uint16_t msix_config;
	uint16_t *queue_vector; /* per queue: its MSI-X vector */
	unsigned int nr_vectors;
	struct vp_vector *vec;
};

/* ---- Between the files of this transport ---- */

/* msix.c: interrupts (MSI-X vectors, INTx and ISR) and the MSI-X table. */
void vp_intx_set(void *opaque, unsigned int line, int level);
void vp_signal_queue(struct virtio_interrupt *irq, unsigned int index);
void vp_signal_config(struct virtio_interrupt *irq);
int vp_queue_irqfd(struct virtio_interrupt *irq, unsigned int index);
uint8_t vp_isr_read(struct virtio_pci *vp);
void vp_set_config_vector(struct virtio_pci *vp, uint16_t v);
void vp_set_queue_vector(struct virtio_pci *vp, struct virtqueue *vq,
			 uint16_t v);
void vp_msix_table_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
		      uint32_t len, bool is_write);
void vp_msix_pba_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
		    uint32_t len, bool is_write);
void vp_msix_control_changed(struct virtio_pci *vp);

/* regs.c: the register blocks' field machinery and what both interfaces
 * share (interface choice, status, queue enable). */
struct vp_field {
	uint8_t off, size;
};

typedef uint32_t (*field_get_fn)(struct virtio_pci *vp, unsigned int off);
typedef void (*field_set_fn)(struct virtio_pci *vp, unsigned int off,
			     uint32_t val);

void vp_fields_read(struct virtio_pci *vp, const struct vp_field *f,
		    size_t n, field_get_fn get, uint64_t off, uint8_t *data,
		    uint32_t len);
void vp_fields_write(struct virtio_pci *vp, const struct vp_field *f,
		     size_t n, field_set_fn set, uint64_t off,
		     const uint8_t *data, uint32_t len);
void vp_use_interface(struct virtio_pci *vp, bool legacy);
struct virtqueue *vp_selected_vq(struct virtio_pci *vp);
void vp_write_status(struct virtio_pci *vp, uint8_t status);
void vp_queue_enable(struct virtqueue *vq);

/* modern.c: the memory BAR (common cfg, ISR, device cfg, notify, MSI-X). */
void vp_mem_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write);

/* legacy.c: the legacy (virtio 0.9.5) I/O BAR. */
void vp_io_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	      bool is_write);

#endif
