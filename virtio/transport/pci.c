// SPDX-License-Identifier: GPL-2.0
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
 * state; taken by signal_vq on worker threads, so never held across a call
 * into the core) -> the bus's INTx lock.  vp->map_lock guards the BAR
 * mappings only.
 */
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

/* ---- Identity ---- */

/* virtio 1.2 4.1.2.1: transitional PCI device ids. */
static uint16_t transitional_id(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET: return 0x1000;
	case VIRTIO_ID_BLOCK: return 0x1001;
	case VIRTIO_ID_BALLOON: return 0x1002;
	case VIRTIO_ID_CONSOLE: return 0x1003;
	case VIRTIO_ID_SCSI: return 0x1004;
	case VIRTIO_ID_RNG: return 0x1005;
	case VIRTIO_ID_9P: return 0x1009;
	default: return 0;
	}
}

static uint16_t class_code(uint32_t device_id)
{
	const struct virtio_device_type *t = virtio_device_type_find(device_id);

	return t ? t->pci_class : PCI_CLASS_UNCLASSIFIED_OTHER;
}

/* ---- Interrupts ---- */

static void vp_intx_set(void *opaque, unsigned int line, int level)
{
	vm_irq_line(opaque, line, level);
}

/* Point @x's route (and irqfd) at its table entry.  irq_lock held. */
static void vector_sync(struct virtio_pci *vp, struct vp_vector *x)
{
	uint64_t addr = (uint64_t)x->entry[1] << 32 | x->entry[0];
	uint32_t data = x->entry[2];

	if (!x->dirty)
		return;
	x->dirty = false;
	if (x->gsi < 0) {
		int gsi = vm_msi_route_add(vp->vm, addr, data);

		if (gsi < 0) {
			pr_debug("%s: no MSI route (%s): using KVM_SIGNAL_MSI",
				 vp->name, strerror(-gsi));
			return;
		}
		x->gsi = gsi;
		x->irqfd_assigned = vm_irqfd(vp->vm, x->efd, (uint32_t)gsi, true) == 0;
	} else if (vm_msi_route_update(vp->vm, x->gsi, addr, data) < 0 &&
		   x->irqfd_assigned) {
		/* The irqfd would deliver the old message: stop using it. */
		vm_irqfd(vp->vm, x->efd, (uint32_t)x->gsi, false);
		x->irqfd_assigned = false;
	}
}

static bool vector_masked(const struct virtio_pci *vp,
			  const struct vp_vector *x)
{
	return vp->msix_masked || (x->entry[3] & MSIX_CTRL_MASKED);
}

/* Send MSI-X vector @v, or latch it while masked.  irq_lock held. */
static void vector_fire(struct virtio_pci *vp, unsigned int v)
{
	struct vp_vector *x;

	if (v >= vp->nr_vectors)
		return; /* VIRTIO_MSI_NO_VECTOR: the driver wants none */
	x = &vp->vec[v];
	if (vector_masked(vp, x)) {
		x->pending = true;
		return;
	}
	vector_sync(vp, x);
	if (x->irqfd_assigned) {
		uint64_t one = 1;

		if (write(x->efd, &one, sizeof(one)) == sizeof(one))
			return;
	}
	vm_signal_msi(vp->vm, (uint64_t)x->entry[1] << 32 | x->entry[0],
		      x->entry[2]);
}

/* Deliver what was latched while masked.  irq_lock held. */
static void vectors_unmasked(struct virtio_pci *vp)
{
	unsigned int v;

	if (!vp->msix_enabled || vp->msix_masked)
		return;
	for (v = 0; v < vp->nr_vectors; v++) {
		struct vp_vector *x = &vp->vec[v];

		if (x->entry[3] & MSIX_CTRL_MASKED)
			continue;
		/* Routes are brought up to date here rather than on the
		 * worker's first interrupt. */
		vector_sync(vp, x);
		if (x->pending) {
			x->pending = false;
			vector_fire(vp, v);
		}
	}
}

/* An interrupt through @vector, or INTx with @isr_bit.  irq_lock held. */
static void vp_signal(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (vp->msix_enabled) {
		vector_fire(vp, vector);
	} else {
		vp->isr |= isr_bit;
		pci_set_irq(&vp->pci, true);
	}
}

static void vp_signal_queue(struct virtio_interrupt *irq, unsigned int index)
{
	struct virtio_pci *vp = container_of(irq, struct virtio_pci, irq);

	/* queue_vector[] changes under irq_lock; read it under it too. */
	pthread_mutex_lock(&vp->irq_lock);
	vp_signal(vp, vp->queue_vector[index], VP_ISR_QUEUE);
	pthread_mutex_unlock(&vp->irq_lock);
}

static void vp_signal_config(struct virtio_interrupt *irq)
{
	struct virtio_pci *vp = container_of(irq, struct virtio_pci, irq);

	pthread_mutex_lock(&vp->irq_lock);
	vp_signal(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
	pthread_mutex_unlock(&vp->irq_lock);
}

/* ISR status: reading it acknowledges the interrupt. */
static uint8_t isr_read(struct virtio_pci *vp)
{
	uint8_t v;

	pthread_mutex_lock(&vp->irq_lock);
	v = vp->isr;
	vp->isr = 0;
	pci_set_irq(&vp->pci, false);
	pthread_mutex_unlock(&vp->irq_lock);
	return v;
}

static uint16_t vector_check(struct virtio_pci *vp, uint16_t v)
{
	/* A vector the table does not have reads back as "no vector",
	 * which is how the driver learns the assignment failed. */
	return v < vp->nr_vectors ? v : VIRTIO_MSI_NO_VECTOR;
}

static void set_config_vector(struct virtio_pci *vp, uint16_t v)
{
	pthread_mutex_lock(&vp->irq_lock);
	vp->msix_config = vector_check(vp, v);
	pthread_mutex_unlock(&vp->irq_lock);
}

static void set_queue_vector(struct virtio_pci *vp, struct virtqueue *vq,
			     uint16_t v)
{
	pthread_mutex_lock(&vp->irq_lock);
	vp->queue_vector[vq->index] = vector_check(vp, v);
	pthread_mutex_unlock(&vp->irq_lock);
}

/* ---- MSI-X table and PBA (memory BAR) ---- */

static void msix_table_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write)
{
	uint8_t *table;
	unsigned int first, last, v;
	bool was_masked[2];

	if (off + len > (uint64_t)vp->nr_vectors * MSIX_ENTRY_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	first = (unsigned int)(off / MSIX_ENTRY_SIZE);
	last = (unsigned int)((off + len - 1) / MSIX_ENTRY_SIZE);
	if (last > first + 1)
		return; /* at most 8 bytes: two entries */
	pthread_mutex_lock(&vp->irq_lock);
	for (v = first; v <= last; v++)
		was_masked[v - first] = vector_masked(vp, &vp->vec[v]);
	for (v = 0; v < len; v++) {
		uint64_t o = off + v;
		struct vp_vector *x = &vp->vec[o / MSIX_ENTRY_SIZE];

		table = (uint8_t *)x->entry;
		if (!is_write) {
			data[v] = table[o % MSIX_ENTRY_SIZE];
			continue;
		}
		if (o % MSIX_ENTRY_SIZE >= 12) { /* vector control */
			/* Only the mask bit is writable. */
			if (o % MSIX_ENTRY_SIZE == 12)
				x->entry[3] = (x->entry[3] & ~MSIX_CTRL_MASKED) |
					      (data[v] & MSIX_CTRL_MASKED);
			continue;
		}
		if (table[o % MSIX_ENTRY_SIZE] != data[v]) {
			table[o % MSIX_ENTRY_SIZE] = data[v];
			x->dirty = true;
		}
	}
	if (is_write) {
		for (v = first; v <= last; v++) {
			struct vp_vector *x = &vp->vec[v];

			if (!vp->msix_enabled || vector_masked(vp, x))
				continue;
			/* Unmasked: the route must follow the entry now
			 * (older kernels rewrite live entries). */
			vector_sync(vp, x);
			if (was_masked[v - first] && x->pending) {
				x->pending = false;
				vector_fire(vp, v);
			}
		}
	}
	pthread_mutex_unlock(&vp->irq_lock);
}

static void msix_pba_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
			uint32_t len, bool is_write)
{
	unsigned int i, b;

	if (is_write)
		return; /* read-only */
	memset(data, 0, len);
	pthread_mutex_lock(&vp->irq_lock);
	for (i = 0; i < len; i++)
		for (b = 0; b < 8; b++) {
			uint64_t v = (off + i) * 8 + b;

			if (v < vp->nr_vectors && vp->vec[v].pending)
				data[i] |= (uint8_t)(1u << b);
		}
	pthread_mutex_unlock(&vp->irq_lock);
}

/* The MSI-X capability's message control changed.  Bus lock held. */
static void msix_control_changed(struct virtio_pci *vp)
{
	uint16_t ctrl = (uint16_t)(vp->pci.cfg[vp->msix_cap + MSIX_CAP_CTRL] |
				   vp->pci.cfg[vp->msix_cap + MSIX_CAP_CTRL + 1] << 8);
	bool enabled = ctrl & MSIX_CTRL_ENABLE, masked = ctrl & MSIX_CTRL_FMASK;

	pthread_mutex_lock(&vp->irq_lock);
	if (enabled && !vp->msix_enabled) {
		/* Interrupts are messages from now on: INTx goes quiet. */
		vp->isr = 0;
		pci_set_irq(&vp->pci, false);
	}
	vp->msix_enabled = enabled;
	vp->msix_masked = masked;
	vectors_unmasked(vp);
	pthread_mutex_unlock(&vp->irq_lock);
}

/* ---- Register blocks: fields of 1, 2 or 4 bytes ---- */

struct vp_field {
	uint8_t off, size;
};

static const struct vp_field common_fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 },  { VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 },  { VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 },      { VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 },    { VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 },  { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 },    { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 },    { VIRTIO_PCI_COMMON_Q_DESCLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_DESCHI, 4 },  { VIRTIO_PCI_COMMON_Q_AVAILLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILHI, 4 }, { VIRTIO_PCI_COMMON_Q_USEDLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
};

static const struct vp_field legacy_fields[] = {
	{ VIRTIO_PCI_HOST_FEATURES, 4 }, { VIRTIO_PCI_GUEST_FEATURES, 4 },
	{ VIRTIO_PCI_QUEUE_PFN, 4 },     { VIRTIO_PCI_QUEUE_NUM, 2 },
	{ VIRTIO_PCI_QUEUE_SEL, 2 },     { VIRTIO_PCI_QUEUE_NOTIFY, 2 },
	{ VIRTIO_PCI_STATUS, 1 },        { VIRTIO_PCI_ISR, 1 },
	{ VIRTIO_MSI_CONFIG_VECTOR, 2 }, { VIRTIO_MSI_QUEUE_VECTOR, 2 },
};

typedef uint32_t (*field_get_fn)(struct virtio_pci *vp, unsigned int off);
typedef void (*field_set_fn)(struct virtio_pci *vp, unsigned int off,
			     uint32_t val);

static const struct vp_field *field_at(const struct vp_field *f, size_t n,
				       uint64_t off)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (off >= f[i].off && off < (uint64_t)f[i].off + f[i].size)
			return &f[i];
	return NULL;
}

/*
 * Reads of any width and alignment are answered byte by byte from the
 * fields they touch (each field read once); gaps read as zero.
 */
static void fields_read(struct virtio_pci *vp, const struct vp_field *f,
			size_t n, field_get_fn get, uint64_t off,
			uint8_t *data, uint32_t len)
{
	const struct vp_field *cur = NULL;
	uint32_t v = 0, i;

	for (i = 0; i < len; i++) {
		const struct vp_field *x = field_at(f, n, off + i);

		if (!x) {
			data[i] = 0;
			continue;
		}
		if (x != cur) {
			cur = x;
			v = get(vp, x->off);
		}
		data[i] = (uint8_t)(v >> (8 * (off + i - x->off)));
	}
}

/*
 * Writes must cover whole fields (the spec wants natural width; whole
 * neighbouring fields, e.g. a 64-bit write of a lo/hi pair, are accepted).
 * Anything else is dropped.
 */
static void fields_write(struct virtio_pci *vp, const struct vp_field *f,
			 size_t n, field_set_fn set, uint64_t off,
			 const uint8_t *data, uint32_t len)
{
	uint64_t pos;

	for (pos = off; pos < off + len;) {
		const struct vp_field *x = field_at(f, n, pos);

		if (!x || x->off != pos || pos + x->size > off + len) {
			pr_debug("%s: dropped %u-byte register write at %#llx",
				 vp->name, len, (unsigned long long)off);
			return;
		}
		pos += x->size;
	}
	for (pos = off; pos < off + len;) {
		const struct vp_field *x = field_at(f, n, pos);
		uint32_t v = 0;
		unsigned int i;

		for (i = 0; i < x->size; i++)
			v |= (uint32_t)data[pos - off + i] << (8 * i);
		set(vp, x->off, v);
		pos += x->size;
	}
}

/* ---- Shared register semantics ---- */

/*
 * Which interface a transitional device serves is decided by the driver's
 * first access while the device is reset.  vdev->lock held.
 */
static void use_interface(struct virtio_pci *vp, bool legacy)
{
	struct virtio_dev *vdev = vp->vdev;

	if (vp->legacy_only || !vp->transitional || vdev->legacy == legacy)
		return;
	if (virtio_get_status(vdev) == 0)
		vdev->legacy = legacy;
}

static struct virtqueue *selected_vq(struct virtio_pci *vp)
{
	if (vp->queue_sel >= vp->vdev->nr_queues)
		return NULL;
	return &vp->vdev->vqs[vp->queue_sel];
}

/* Back to power-on state after the driver wrote status 0. */
static void transport_reset(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = vp->vdev;
	unsigned int i;

	/* The core reset the queues themselves (size, rings, ready). */
	pthread_mutex_lock(&vdev->lock);
	vp->dev_feature_sel = vp->drv_feature_sel = 0;
	vp->queue_sel = 0;
	pthread_mutex_unlock(&vdev->lock);

	pthread_mutex_lock(&vp->irq_lock);
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (i = 0; i < vdev->nr_queues; i++)
		vp->queue_vector[i] = VIRTIO_MSI_NO_VECTOR;
	vp->isr = 0;
	pci_set_irq(&vp->pci, false);
	pthread_mutex_unlock(&vp->irq_lock);
}

static void write_status(struct virtio_pci *vp, uint8_t status)
{
	/* No irq_lock held: a reset waits for queue handlers, which may be
	 * signalling. */
	virtio_set_status(vp->vdev, status);
	if (status == 0)
		transport_reset(vp);
}

/* Make the selected queue live; a refusal leaves it disabled (it reads
 * 0) and is the core's NEEDS_RESET.  vdev->lock held. */
static void queue_enable(struct virtqueue *vq)
{
	if (!vq->ready)
		virtq_enable(vq);
}

/* ---- Modern common configuration ---- */

static uint32_t common_get(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq = selected_vq(vp);
	uint32_t v = 0;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return vp->dev_feature_sel;
	case VIRTIO_PCI_COMMON_DF:
		return virtio_get_host_features(vdev, vp->dev_feature_sel);
	case VIRTIO_PCI_COMMON_GFSELECT: return vp->drv_feature_sel;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->drv_feature_sel < 2)
			v = (uint32_t)(vdev->guest_features >>
				       (32 * vp->drv_feature_sel));
		return v;
	case VIRTIO_PCI_COMMON_MSIX:
		pthread_mutex_lock(&vp->irq_lock);
		v = vp->msix_config;
		pthread_mutex_unlock(&vp->irq_lock);
		return v;
	case VIRTIO_PCI_COMMON_NUMQ: return vdev->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS: return virtio_get_status(vdev);
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return __atomic_load_n(&vdev->config_generation,
				       __ATOMIC_ACQUIRE);
	case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_sel;
	}
	if (!vq)
		return 0; /* out-of-range queue_select: every field reads 0 */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		pthread_mutex_lock(&vp->irq_lock);
		v = vp->queue_vector[vq->index];
		pthread_mutex_unlock(&vp->irq_lock);
		return v;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return vq->ready;
	case VIRTIO_PCI_COMMON_Q_NOFF: return vq->index;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return (uint32_t)vq->desc_gpa;
	case VIRTIO_PCI_COMMON_Q_DESCHI: return (uint32_t)(vq->desc_gpa >> 32);
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return (uint32_t)vq->avail_gpa;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: return (uint32_t)(vq->avail_gpa >> 32);
	case VIRTIO_PCI_COMMON_Q_USEDLO: return (uint32_t)vq->used_gpa;
	case VIRTIO_PCI_COMMON_Q_USEDHI: return (uint32_t)(vq->used_gpa >> 32);
	}
	return 0;
}

static void set_lo(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & ~0xffffffffULL) | v;
}

static void set_hi(uint64_t *reg, uint32_t v)
{
	*reg = (*reg & 0xffffffffULL) | (uint64_t)v << 32;
}

static void common_set(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq = selected_vq(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: vp->dev_feature_sel = v; return;
	case VIRTIO_PCI_COMMON_GFSELECT: vp->drv_feature_sel = v; return;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->drv_feature_sel < 2)
			virtio_set_guest_features(vdev, vp->drv_feature_sel, v);
		return;
	case VIRTIO_PCI_COMMON_MSIX: set_config_vector(vp, (uint16_t)v); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_sel = (uint16_t)v; return;
	}
	/* Queue fields: ignored for a queue that does not exist, and (but for
	 * the vector) once the queue is enabled. */
	if (!vq)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		set_queue_vector(vp, vq, (uint16_t)v);
		return;
	}
	if (vq->ready)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: vq->size = (uint16_t)v; break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (v == 1)
			queue_enable(vq);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO: set_lo(&vq->desc_gpa, v); break;
	case VIRTIO_PCI_COMMON_Q_DESCHI: set_hi(&vq->desc_gpa, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: set_lo(&vq->avail_gpa, v); break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: set_hi(&vq->avail_gpa, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDLO: set_lo(&vq->used_gpa, v); break;
	case VIRTIO_PCI_COMMON_Q_USEDHI: set_hi(&vq->used_gpa, v); break;
	}
}

static uint32_t common_get_locked(struct virtio_pci *vp, unsigned int off)
{
	uint32_t v;

	pthread_mutex_lock(&vp->vdev->lock);
	use_interface(vp, false);
	v = common_get(vp, off);
	pthread_mutex_unlock(&vp->vdev->lock);
	return v;
}

static void common_set_locked(struct virtio_pci *vp, unsigned int off,
			      uint32_t v)
{
	pthread_mutex_lock(&vp->vdev->lock);
	use_interface(vp, false);
	if (off == VIRTIO_PCI_COMMON_STATUS) {
		pthread_mutex_unlock(&vp->vdev->lock);
		write_status(vp, (uint8_t)v);
		return;
	}
	common_set(vp, off, v);
	pthread_mutex_unlock(&vp->vdev->lock);
}

static void notify_write(struct virtio_pci *vp, uint64_t off)
{
	uint64_t q = off / VP_NOTIFY_MULT;

	/* Reached only when KVM's ioeventfd did not take the write. */
	if (off % VP_NOTIFY_MULT == 0 && q < vp->vdev->nr_queues)
		virtq_kick(&vp->vdev->vqs[q]);
}

static void vp_mem_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct virtio_pci *vp = opaque;
	uint64_t roff = off % VP_REGION_SIZE;

	if (!is_write)
		memset(data, 0, len);
	if (len > 8 || off + len > VP_MEM_BAR_SIZE)
		return;
	if (off >= VP_MSIX_PBA_OFF) {
		msix_pba_io(vp, off - VP_MSIX_PBA_OFF, data, len, is_write);
		return;
	}
	if (off >= VP_MSIX_TABLE_OFF) {
		msix_table_io(vp, off - VP_MSIX_TABLE_OFF, data, len, is_write);
		return;
	}
	if (vp->legacy_only || roff + len > VP_REGION_SIZE)
		return;
	switch (off - roff) {
	case VP_COMMON_OFF:
		if (is_write)
			fields_write(vp, common_fields, ARRAY_SIZE(common_fields),
				     common_set_locked, roff, data, len);
		else
			fields_read(vp, common_fields, ARRAY_SIZE(common_fields),
				    common_get_locked, roff, data, len);
		break;
	case VP_ISR_OFF:
		if (!is_write && roff == 0)
			data[0] = isr_read(vp);
		break;
	case VP_DEVICE_OFF:
		virtio_config_access(vp->vdev, (uint32_t)roff, data, len,
				     is_write);
		break;
	case VP_NOTIFY_OFF:
		if (is_write)
			notify_write(vp, roff);
		break;
	}
}

/* ---- Legacy (virtio 0.9.5) I/O BAR ---- */

static unsigned int legacy_config_off(struct virtio_pci *vp)
{
	bool msix;

	pthread_mutex_lock(&vp->irq_lock);
	msix = vp->msix_enabled;
	pthread_mutex_unlock(&vp->irq_lock);
	return VIRTIO_PCI_CONFIG_OFF(msix);
}

static uint32_t legacy_get(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq;
	uint32_t v = 0;

	if (off == VIRTIO_PCI_ISR)
		return isr_read(vp);
	if (off == VIRTIO_PCI_STATUS)
		return virtio_get_status(vdev);
	pthread_mutex_lock(&vdev->lock);
	use_interface(vp, true);
	vq = selected_vq(vp);
	switch (off) {
	case VIRTIO_PCI_HOST_FEATURES:
		v = virtio_get_host_features(vdev, 0);
		break;
	case VIRTIO_PCI_GUEST_FEATURES:
		v = (uint32_t)vdev->guest_features;
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		if (vq && vq->ready)
			v = (uint32_t)(vq->desc_gpa >> VIRTIO_PCI_QUEUE_ADDR_SHIFT);
		break;
	case VIRTIO_PCI_QUEUE_NUM:
		v = vq ? vq->max_size : 0;
		break;
	case VIRTIO_PCI_QUEUE_SEL:
		v = vp->queue_sel;
		break;
	case VIRTIO_MSI_CONFIG_VECTOR:
		pthread_mutex_lock(&vp->irq_lock);
		v = vp->msix_config;
		pthread_mutex_unlock(&vp->irq_lock);
		break;
	case VIRTIO_MSI_QUEUE_VECTOR:
		pthread_mutex_lock(&vp->irq_lock);
		v = vq ? vp->queue_vector[vq->index] : VIRTIO_MSI_NO_VECTOR;
		pthread_mutex_unlock(&vp->irq_lock);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
	return v;
}

/* Legacy queues: size fixed at the maximum, rings at one page-aligned
 * address.  vdev->lock held. */
static void legacy_set_pfn(struct virtqueue *vq, uint32_t pfn)
{
	if (!pfn || vq->ready)
		return; /* 0 is how a legacy driver lets go of a queue */
	vq->size = vq->max_size;
	virtq_set_legacy_layout(vq, (uint64_t)pfn << VIRTIO_PCI_QUEUE_ADDR_SHIFT,
				VIRTIO_PCI_VRING_ALIGN);
	queue_enable(vq);
}

static void legacy_set(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq;

	pthread_mutex_lock(&vdev->lock);
	use_interface(vp, true);
	if (off == VIRTIO_PCI_STATUS) {
		pthread_mutex_unlock(&vdev->lock);
		write_status(vp, (uint8_t)v);
		return;
	}
	vq = selected_vq(vp);
	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
		virtio_set_guest_features(vdev, 0, v);
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		if (vq)
			legacy_set_pfn(vq, v);
		break;
	case VIRTIO_PCI_QUEUE_SEL:
		vp->queue_sel = (uint16_t)v;
		break;
	case VIRTIO_PCI_QUEUE_NOTIFY:
		if (v < vdev->nr_queues)
			virtq_kick(&vdev->vqs[v]);
		break;
	case VIRTIO_MSI_CONFIG_VECTOR:
		set_config_vector(vp, (uint16_t)v);
		break;
	case VIRTIO_MSI_QUEUE_VECTOR:
		if (vq)
			set_queue_vector(vp, vq, (uint16_t)v);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

static void vp_io_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct virtio_pci *vp = opaque;
	unsigned int cfg = legacy_config_off(vp);
	uint32_t hdr_len = 0;

	if (!is_write)
		memset(data, 0, len);
	if (len > 4 || off + len > vp->io_size)
		return;
	/* The part below the device config is header registers. */
	if (off < cfg) {
		/* The two MSI-X vector registers exist only with MSI-X on. */
		size_t n = ARRAY_SIZE(legacy_fields) -
			   (cfg == VP_LEGACY_HDR_MSIX ? 0 : 2);

		hdr_len = (uint32_t)MIN((uint64_t)len, cfg - off);
		if (is_write)
			fields_write(vp, legacy_fields, n, legacy_set, off, data,
				     hdr_len);
		else
			fields_read(vp, legacy_fields, n, legacy_get, off, data,
				    hdr_len);
	}
	if (hdr_len < len) {
		pthread_mutex_lock(&vp->vdev->lock);
		use_interface(vp, true);
		pthread_mutex_unlock(&vp->vdev->lock);
		virtio_config_access(vp->vdev, (uint32_t)(off + hdr_len - cfg),
				     data + hdr_len, len - hdr_len, is_write);
	}
}

/* ---- Config space hooks ---- */

static struct virtio_pci *to_vp(struct pci_device *pd)
{
	return pd->opaque;
}

static uint32_t get_cfg32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window (virtio 1.2 4.1.4.9): an access to
 * pci_cfg_data is an access of cap.length (1, 2 or 4) bytes at cap.offset
 * in BAR cap.bar.  Returns false when the window is not set up sensibly.
 * Bus lock held.
 */
static bool pci_cfg_window(struct virtio_pci *vp, uint8_t *buf, bool is_write)
{
	const uint8_t *cap = &vp->pci.cfg[vp->pci_cfg_cap];
	uint8_t bar = cap[offsetof(struct virtio_pci_cap, bar)];
	uint32_t off = get_cfg32(cap + offsetof(struct virtio_pci_cap, offset));
	uint32_t len = get_cfg32(cap + offsetof(struct virtio_pci_cap, length));

	if ((len != 1 && len != 2 && len != 4) || off % len)
		return false;
	if (bar == VP_MEM_BAR && (uint64_t)off + len <= VP_MEM_BAR_SIZE)
		vp_mem_io(vp, off, buf, len, is_write);
	else if (bar == VP_IO_BAR && vp->transitional &&
		 (uint64_t)off + len <= vp->io_size)
		vp_io_io(vp, off, buf, len, is_write);
	else
		return false;
	return true;
}

static uint32_t vp_cfg_read(struct pci_device *pd, unsigned int off,
			    uint32_t val, unsigned int len)
{
	struct virtio_pci *vp = to_vp(pd);
	unsigned int data = (unsigned int)vp->pci_cfg_cap + VP_PCI_CFG_DATA, i;
	uint8_t buf[4] = { 0 };

	if (!vp->pci_cfg_cap || off + len <= data || off >= data + 4)
		return val;
	if (!pci_cfg_window(vp, buf, false))
		return val;
	for (i = 0; i < len; i++) {
		if (off + i < data || off + i >= data + 4)
			continue;
		val &= ~(0xffu << (8 * i));
		val |= (uint32_t)buf[off + i - data] << (8 * i);
	}
	return val;
}

static void vp_cfg_write(struct pci_device *pd, unsigned int off, uint32_t val,
			 unsigned int len)
{
	struct virtio_pci *vp = to_vp(pd);
	unsigned int ctrl = (unsigned int)vp->msix_cap + MSIX_CAP_CTRL;
	unsigned int data = (unsigned int)vp->pci_cfg_cap + VP_PCI_CFG_DATA;

	(void)val;
	if (vp->msix_cap && off < ctrl + 2 && ctrl < off + len)
		msix_control_changed(vp);
	if (vp->pci_cfg_cap && off < data + 4 && data < off + len) {
		/* The generic code stored the bytes in pci_cfg_data. */
		uint8_t buf[4];

		memcpy(buf, &pd->cfg[data], 4);
		pci_cfg_window(vp, buf, true);
	}
}

/* ---- BAR mapping ---- */

/*
 * (De)assign the queue-notify ioeventfds of the BAR at @base: the legacy
 * QUEUE_NOTIFY port with the queue index as datamatch, or each queue's
 * modern notify address.  @ok[q] remembers which KVM accepted (a refused
 * one only means that queue's kicks take the userspace path).
 */
static void ioeventfds(struct virtio_pci *vp, bool io, uint64_t base, bool *ok,
		       bool assign)
{
	unsigned int q;

	for (q = 0; q < vp->vdev->nr_queues; q++) {
		int fd = vp->vdev->vqs[q].kick_fd;
		uint64_t addr = io ? base + VIRTIO_PCI_QUEUE_NOTIFY :
				     base + VP_NOTIFY_OFF + VP_NOTIFY_MULT * q;

		if (assign) {
			ok[q] = vm_ioeventfd(vp->vm, fd, addr, 2, io, io, q,
					     true) == 0;
		} else if (ok[q]) {
			vm_ioeventfd(vp->vm, fd, addr, 2, io, io, q, false);
			ok[q] = false;
		}
	}
}

static void bar_unmap(struct virtio_pci *vp, unsigned int bar)
{
	if (bar == VP_IO_BAR && vp->io_base) {
		ioeventfds(vp, true, vp->io_base, vp->io_ioeventfd_set, false);
		bus_unregister(&vp->vm->pio_bus, vp->io_base);
		vp->io_base = 0;
	} else if (bar == VP_MEM_BAR && vp->mem_base) {
		if (!vp->legacy_only)
			ioeventfds(vp, false, vp->mem_base, vp->mem_ioeventfd_set, false);
		bus_unregister(&vp->vm->mmio_bus, vp->mem_base);
		vp->mem_base = 0;
	}
}

static void bar_map(struct virtio_pci *vp, unsigned int bar, uint64_t addr)
{
	struct bus *bus = bar == VP_IO_BAR ? &vp->vm->pio_bus : &vp->vm->mmio_bus;
	uint64_t size = bar == VP_IO_BAR ? vp->io_size : VP_MEM_BAR_SIZE;
	int err;

	err = bus_register(bus, addr, size,
			   bar == VP_IO_BAR ? vp_io_io : vp_mem_io, vp, vp->name);
	if (err) {
		/* Moved on top of something else: it stays dark. */
		pr_debug("%s: BAR%u at %#llx: %s", vp->name, bar,
			 (unsigned long long)addr, strerror(-err));
		return;
	}
	if (bar == VP_IO_BAR) {
		vp->io_base = addr;
		ioeventfds(vp, true, addr, vp->io_ioeventfd_set, true);
	} else {
		vp->mem_base = addr;
		if (!vp->legacy_only)
			ioeventfds(vp, false, addr, vp->mem_ioeventfd_set, true);
	}
}

static void vp_bar_remap(struct pci_device *pd, unsigned int bar,
			 uint64_t old_addr, uint64_t new_addr)
{
	struct virtio_pci *vp = to_vp(pd);

	(void)old_addr;
	pthread_mutex_lock(&vp->map_lock);
	bar_unmap(vp, bar);
	if (new_addr)
		bar_map(vp, bar, new_addr);
	pthread_mutex_unlock(&vp->map_lock);
}

/* ---- Setup and teardown ---- */

static void vp_free(struct virtio_pci *vp)
{
	unsigned int v;

	for (v = 0; v < vp->nr_vectors; v++) {
		struct vp_vector *x = &vp->vec[v];

		if (x->irqfd_assigned)
			vm_irqfd(vp->vm, x->efd, (uint32_t)x->gsi, false);
		if (x->gsi >= 0)
			vm_msi_route_del(vp->vm, x->gsi);
		if (x->efd >= 0)
			close(x->efd);
	}
	free(vp->vec);
	free(vp->queue_vector);
	free(vp->io_ioeventfd_set);
	free(vp->mem_ioeventfd_set);
	pthread_mutex_destroy(&vp->irq_lock);
	pthread_mutex_destroy(&vp->map_lock);
	free(vp);
}

/*
 * The device is going away (virtio_dev_destroy, or a failed attach): its
 * BARs and ioeventfds go while its kick fds are still open, and it leaves
 * the bus.  Signals from its last completions still work until
 * vp_release().
 */
static void vp_unplug(struct virtio_interrupt *irq)
{
	struct virtio_pci *vp = container_of(irq, struct virtio_pci, irq);

	if (!vp->vdev)
		return;
	pthread_mutex_lock(&vp->map_lock);
	bar_unmap(vp, VP_IO_BAR);
	bar_unmap(vp, VP_MEM_BAR);
	pthread_mutex_unlock(&vp->map_lock);
	if (vp->on_bus)
		pci_bus_remove(arch_pci_bus(vp->vm), &vp->pci);
	vp->on_bus = false;
	vp->vdev = NULL;
}

/*
 * The transport's own teardown, a VM cleanup registered before the
 * device's: it runs after the device is destroyed (vCPUs are gone), or at
 * once when registering it failed, with the device still alive and its
 * creator's to destroy.
 */
static void vp_release(void *opaque)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vdev = vp->vdev;

	if (vdev) {
		vp_unplug(&vp->irq);
		vdev->irq = NULL;
	}
	vp_free(vp);
}

static int add_virtio_cap(struct virtio_pci *vp, uint8_t type, uint8_t bar,
			  uint32_t off, uint32_t len, const void *extra,
			  unsigned int extra_len)
{
	uint8_t buf[sizeof(struct virtio_pci_cap) + 4];
	struct virtio_pci_cap cap = {
		.cap_vndr = PCI_CAP_ID_VNDR,
		.cap_len = (uint8_t)(sizeof(cap) + extra_len),
		.cfg_type = type,
		.bar = bar,
		.offset = off,
		.length = len,
	};

	memcpy(buf, &cap, sizeof(cap));
	if (extra_len)
		memcpy(buf + sizeof(cap), extra, extra_len);
	return pci_add_capability(&vp->pci, buf, cap.cap_len);
}

static int build_caps(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = vp->vdev;
	uint32_t mult = VP_NOTIFY_MULT, zero = 0;
	uint8_t msix[12] = { PCI_CAP_ID_MSIX };
	int off, i;

	if (!vp->legacy_only) {
		if (add_virtio_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VP_MEM_BAR,
				   VP_COMMON_OFF, VP_COMMON_LEN, NULL, 0) < 0 ||
		    add_virtio_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VP_MEM_BAR,
				   VP_NOTIFY_OFF, VP_NOTIFY_MULT * vdev->nr_queues,
				   &mult, 4) < 0 ||
		    add_virtio_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VP_MEM_BAR,
				   VP_ISR_OFF, 1, NULL, 0) < 0)
			return -ENOSPC;
		if (vdev->config_size &&
		    add_virtio_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VP_MEM_BAR,
				   VP_DEVICE_OFF, vdev->config_size, NULL, 0) < 0)
			return -ENOSPC;
		off = add_virtio_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, &zero, 4);
		if (off < 0)
			return -ENOSPC;
		vp->pci_cfg_cap = off;
		/* bar, offset, length and the data window are the driver's. */
		vp->pci.wmask[off + offsetof(struct virtio_pci_cap, bar)] = 0xff;
		for (i = 0; i < 4; i++) {
			vp->pci.wmask[off + offsetof(struct virtio_pci_cap, offset) + i] = 0xff;
			vp->pci.wmask[off + offsetof(struct virtio_pci_cap, length) + i] = 0xff;
			vp->pci.wmask[off + VP_PCI_CFG_DATA + i] = 0xff;
		}
	}

	/* MSI-X: message control (table size - 1), table and PBA in BAR1. */
	msix[2] = (uint8_t)(vp->nr_vectors - 1);
	msix[3] = (uint8_t)((vp->nr_vectors - 1) >> 8);
	msix[4] = (uint8_t)(VP_MSIX_TABLE_OFF | VP_MEM_BAR);
	msix[5] = (uint8_t)(VP_MSIX_TABLE_OFF >> 8);
	msix[8] = (uint8_t)(VP_MSIX_PBA_OFF | VP_MEM_BAR);
	msix[9] = (uint8_t)(VP_MSIX_PBA_OFF >> 8);
	off = pci_add_capability(&vp->pci, msix, sizeof(msix));
	if (off < 0)
		return -ENOSPC;
	vp->msix_cap = off;
	/* Enable and function mask are the driver's. */
	vp->pci.wmask[off + MSIX_CAP_CTRL + 1] = MSIX_CTRL_ENABLE >> 8 |
						  MSIX_CTRL_FMASK >> 8;
	return 0;
}

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

int virtio_pci_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy_only)
{
	struct pci_bus *bus = arch_pci_bus(vm);
	uint16_t tid = transitional_id(vdev->device_id);
	struct virtio_pci *vp;
	unsigned int v, q;
	uint64_t mem;
	int err, line;

	if (legacy_only && !tid) {
		pr_err("%s: no legacy virtio-pci id for this device type",
		       vdev->name);
		return -ENOTSUP;
	}
	if (!vdev->nr_queues || vdev->nr_queues + 1 > VP_MSIX_MAX_VECTORS ||
	    vdev->config_size > VP_REGION_SIZE) {
		pr_err("%s: too many queues or too much config for virtio-pci",
		       vdev->name);
		return -EINVAL;
	}
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return -ENOMEM;
	vp->vdev = vdev;
	vp->vm = vm;
	vp->legacy_only = legacy_only;
	vp->transitional = tid != 0;
	snprintf(vp->name, sizeof(vp->name), "%s (pci)", vdev->name);
	pthread_mutex_init(&vp->map_lock, NULL);
	pthread_mutex_init(&vp->irq_lock, NULL);
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->nr_vectors = vdev->nr_queues + 1;
	vp->vec = calloc(vp->nr_vectors, sizeof(*vp->vec));
	vp->queue_vector = calloc(vdev->nr_queues, sizeof(*vp->queue_vector));
	vp->io_ioeventfd_set = calloc(vdev->nr_queues, sizeof(bool));
	vp->mem_ioeventfd_set = calloc(vdev->nr_queues, sizeof(bool));
	if (!vp->vec || !vp->queue_vector || !vp->io_ioeventfd_set ||
	    !vp->mem_ioeventfd_set) {
		err = -ENOMEM;
		goto err_free;
	}
	for (q = 0; q < vdev->nr_queues; q++)
		vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
	for (v = 0; v < vp->nr_vectors; v++) {
		vp->vec[v].entry[3] = MSIX_CTRL_MASKED; /* entries start masked */
		vp->vec[v].dirty = true;
		vp->vec[v].gsi = -1;
		vp->vec[v].efd = -1;
	}
	for (v = 0; v < vp->nr_vectors; v++) {
		struct vp_vector *x = &vp->vec[v];

		x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (x->efd < 0) {
			err = -errno;
			pr_err("%s: eventfd: %s", vp->name, strerror(-err));
			goto err_free;
		}
	}

	/* Identity: transitional ids with revision 0 when the device type
	 * has one, otherwise a modern-only device (revision 1). */
	pci_device_init(&vp->pci, vp->name, VP_VENDOR,
			tid ? tid : (uint16_t)(VP_DEVICE_MODERN_BASE + vdev->device_id),
			class_code(vdev->device_id), 0);
	vp->pci.cfg[PCI_REVISION_ID] = tid ? 0 : 1;
	vp->pci.cfg[PCI_SUBSYSTEM_VENDOR_ID] = (uint8_t)VP_VENDOR;
	vp->pci.cfg[PCI_SUBSYSTEM_VENDOR_ID + 1] = (uint8_t)(VP_VENDOR >> 8);
	vp->pci.cfg[PCI_SUBSYSTEM_ID] = (uint8_t)vdev->device_id;
	vp->pci.cfg[PCI_SUBSYSTEM_ID + 1] = (uint8_t)(vdev->device_id >> 8);
	vp->pci.opaque = vp;
	vp->pci.cfg_read = vp_cfg_read;
	vp->pci.cfg_write = vp_cfg_write;
	vp->pci.bar_remap = vp_bar_remap;

	/* BARs, placed the way firmware would (Linux keeps them). */
	if (vp->transitional) {
		uint16_t io;

		vp->io_size = pow2_at_least(VP_LEGACY_HDR_MSIX + vdev->config_size);
		if (vp->io_size < 32)
			vp->io_size = 32;
		io = arch_alloc_pio(vm, (uint16_t)vp->io_size);
		err = pci_bar_init(&vp->pci, VP_IO_BAR, true, vp->io_size);
		if (!err && !io)
			err = -ENOSPC;
		if (err) {
			pr_err("%s: cannot place the legacy I/O BAR (%u bytes)",
			       vp->name, vp->io_size);
			goto err_free;
		}
		pci_bar_set_addr(&vp->pci, VP_IO_BAR, io);
	}
	mem = arch_alloc_mmio(vm, VP_MEM_BAR_SIZE);
	if (!mem || mem + VP_MEM_BAR_SIZE > 0x100000000ULL) {
		pr_err("%s: no MMIO space for BAR%d", vp->name, VP_MEM_BAR);
		err = -ENOSPC;
		goto err_free;
	}
	pci_bar_init(&vp->pci, VP_MEM_BAR, false, VP_MEM_BAR_SIZE);
	pci_bar_set_addr(&vp->pci, VP_MEM_BAR, mem);

	err = build_caps(vp);
	if (err) {
		pr_err("%s: PCI capabilities do not fit", vp->name);
		goto err_free;
	}

	/* The device must be wired to the transport before the guest can
	 * reach it. */
	vp->irq.signal_queue = vp_signal_queue;
	vp->irq.signal_config = vp_signal_config;
	vp->irq.unplug = vp_unplug;
	vdev->irq = &vp->irq;
	vdev->legacy = legacy_only;

	err = pci_bus_add(bus, &vp->pci, -1);
	if (err < 0) {
		pr_err("%s: no free PCI slot (at most %d virtio-pci devices; use --virtio-transport mmio for more)",
		       vp->name, PCI_MAX_DEVICES - 1);
		goto err_free;
	}
	vp->slot = err;
	vp->on_bus = true;
	line = arch_pci_intx_line(vm, (unsigned int)vp->slot);
	if (line >= 0)
		pci_device_set_intx(&vp->pci, 1 /* INTA# */, (unsigned int)line,
				    vp_intx_set, vm);

	/* Decoding on, as firmware leaves it: map the BARs now. */
	pthread_mutex_lock(&bus->lock);
	vp->pci.cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY |
				    (vp->transitional ? PCI_COMMAND_IO : 0);
	pci_device_update_bars(&vp->pci);
	pthread_mutex_unlock(&bus->lock);

	pr_debug("%s: slot %d, %s, BAR%d %#llx%s, INTx line %d", vp->name,
		 vp->slot, legacy_only ? "legacy" :
			   vp->transitional ? "transitional" : "modern",
		 VP_MEM_BAR, (unsigned long long)mem,
		 vp->transitional ? " + legacy I/O BAR0" : "", line);
	/* On failure vm_add_cleanup() has already run vp_release(). */
	err = vm_add_cleanup(vm, vp_release, vp);
	if (err)
		pr_err("%s: out of memory", vdev->name);
	return err;

err_free:
	vdev->irq = NULL;
	vp_free(vp);
	return err;
}
