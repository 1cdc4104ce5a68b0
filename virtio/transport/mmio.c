// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio transport: a 0x200-byte register window per device.
 *
 *   0x000 .. 0x0ff  control registers, 32-bit aligned accesses only
 *   0x100 .. 0x1ff  device-specific config space, any width
 *
 * Version 2 is virtio 1.2 section 4.2.2; version 1 ("legacy", 4.2.4) has a
 * GuestPageSize register and one QueuePFN per queue instead of QueueReady
 * and 64-bit ring addresses, and no ConfigGeneration or shared memory.
 *
 * VendorID reads 0x4d564b4c: the bytes "LKVM" in little-endian order, the
 * value kvmtool uses too.
 *
 * Interrupts are level: the line is high exactly while InterruptStatus is
 * non-zero.  Every 0 -> non-zero transition is a fresh rising edge, and an
 * acknowledge that leaves bits set pulses the line, so the protocol also
 * works should the guest have configured the pin edge-triggered.
 *
 * Locking.  m->lock guards the transport's own registers (selectors,
 * GuestPageSize, QueueAlign, InterruptStatus and the line level).  It is a
 * leaf lock: the core calls signal_queue/signal_config with its own locks held
 * (vq->lock, possibly vdev->lock), so nothing here calls into the core, or
 * takes vdev->lock, while holding it.  Queue setup fields of struct
 * virtqueue (size, ring addresses) are written under vdev->lock, the core's
 * recursive "driver access" lock, which also makes check-then-enable
 * sequences atomic against other vCPUs.
 */
#include <errno.h>
#include <linux/virtio_mmio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/bus.h"
#include "lkvm/util.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define MMIO_WINDOW 0x200
#define MMIO_MAGIC 0x74726976         /* "virt" */
#define MMIO_VENDOR 0x4d564b4c        /* "LKVM" */
#define MMIO_LEGACY_PAGE_SIZE 4096    /* until the driver writes its own */
#define MMIO_LEGACY_ALIGN 4096        /* virtio 0.9.5's default QueueAlign */
#define MMIO_QUEUE_RESET 0x0c0        /* virtio 1.2; VIRTIO_F_RING_RESET only */

struct virtio_mmio {
	struct virtio_interrupt irq; /* the device's handle (vdev->irq) */
	struct vm *vm;
	struct virtio_dev *vdev; /* NULL once the device unplugged */
	uint64_t base;
	unsigned int line_nr; /* its interrupt line */
	bool legacy;
	bool *ioeventfd_set;  /* per queue: KVM ioeventfd assigned */

	pthread_mutex_t lock;
	uint32_t dev_feat_sel;
	uint32_t drv_feat_sel;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t page_size;   /* legacy GuestPageSize */
	uint32_t queue_align; /* legacy QueueAlign */
	uint32_t irq_status;
	bool line;            /* current level of the interrupt line */
};

/* --- Interrupts --- */

/* Caller holds m->lock.  Keeps the line in step with InterruptStatus. */
static void update_line(struct virtio_mmio *m, bool pulse)
{
	bool want = m->irq_status != 0;

	if (want && m->line && pulse) {
		/* Bits remain after an ACK: give edge-configured pins a new
		 * edge.  On a level pin this is indistinguishable from staying
		 * high. */
		vm_set_irq_line(m->vm, m->line_nr, 0);
		vm_set_irq_line(m->vm, m->line_nr, 1);
	} else if (want != m->line) {
		vm_set_irq_line(m->vm, m->line_nr, want);
	}
	m->line = want;
}

static void raise_status(struct virtio_interrupt *irq, uint32_t bit)
{
	struct virtio_mmio *m = container_of(irq, struct virtio_mmio, irq);

	pthread_mutex_lock(&m->lock);
	m->irq_status |= bit;
	update_line(m, false);
	pthread_mutex_unlock(&m->lock);
}

static void mmio_signal_queue(struct virtio_interrupt *irq, unsigned int index)
{
	(void)index;
	raise_status(irq, VIRTIO_MMIO_INT_VRING);
}

static void mmio_signal_config(struct virtio_interrupt *irq)
{
	raise_status(irq, VIRTIO_MMIO_INT_CONFIG);
}

static void mmio_unplug(struct virtio_interrupt *irq);

/* --- Registers --- */

/* The queue QueueSel points at, or NULL if there is none. */
static struct virtqueue *selected_vq(struct virtio_mmio *m)
{
	uint32_t sel;

	pthread_mutex_lock(&m->lock);
	sel = m->queue_sel;
	pthread_mutex_unlock(&m->lock);
	if (sel >= m->vdev->nr_queues)
		return NULL;
	return &m->vdev->vqs[sel];
}

static uint32_t read_sel(struct virtio_mmio *m, const uint32_t *reg)
{
	uint32_t v;

	pthread_mutex_lock(&m->lock);
	v = *reg;
	pthread_mutex_unlock(&m->lock);
	return v;
}

static void write_sel(struct virtio_mmio *m, uint32_t *reg, uint32_t v)
{
	pthread_mutex_lock(&m->lock);
	*reg = v;
	pthread_mutex_unlock(&m->lock);
}

static bool vq_ready(struct virtqueue *vq)
{
	return __atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE);
}

static bool driver_ok(struct virtio_dev *vdev)
{
	return virtio_get_status(vdev) & VIRTIO_CONFIG_S_DRIVER_OK;
}

static uint32_t queue_reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *vdev = m->vdev;
	struct virtqueue *vq = selected_vq(m);
	uint32_t page = read_sel(m, &m->page_size), v = 0;

	if (!vq)
		return 0; /* QueueNumMax 0: "no such queue" */
	pthread_mutex_lock(&vdev->lock);
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		v = vq->max_size;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		v = !m->legacy && vq_ready(vq);
		break;
	case VIRTIO_MMIO_QUEUE_PFN:
		/* A legacy driver checks this is 0 before using a queue. */
		if (m->legacy && vq_ready(vq))
			v = (uint32_t)(vq->desc_gpa / page);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
	return v;
}

/* Replace the low or high half of a ring address while the queue is off. */
static void set_half(uint64_t *addr, bool high, uint32_t v)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

/* Only a queue that no worker processes yet may be switched off: turning
 * off a running one needs VIRTIO_F_RING_RESET, which is not offered.
 * vdev->lock held. */
static void queue_disable(struct virtqueue *vq)
{
	if (!driver_ok(vq->vdev))
		__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
}

/* Legacy QueuePFN: 0 releases the queue, anything else places the rings.
 * Re-placing a live queue is ignored rather than moving rings under a
 * worker.  vdev->lock held. */
static void queue_pfn_write(struct virtio_mmio *m, struct virtqueue *vq,
			    uint32_t pfn)
{
	uint32_t page, align;

	pthread_mutex_lock(&m->lock);
	page = m->page_size;
	align = m->queue_align;
	pthread_mutex_unlock(&m->lock);

	if (!pfn) {
		queue_disable(vq);
	} else if (!vq_ready(vq)) {
		virtq_set_legacy_layout(vq, (uint64_t)pfn * page, align);
		virtq_enable(vq); /* a refusal is the core's NEEDS_RESET */
	}
}

static void queue_reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *vdev = m->vdev;
	struct virtqueue *vq = selected_vq(m);

	if (!vq)
		return;
	pthread_mutex_lock(&vdev->lock);
	if (m->legacy && off == VIRTIO_MMIO_QUEUE_PFN) {
		queue_pfn_write(m, vq, v);
		goto out;
	}
	if (!m->legacy && off == VIRTIO_MMIO_QUEUE_READY) {
		if (v == 0)
			queue_disable(vq);
		else if (v == 1 && !vq_ready(vq))
			virtq_enable(vq); /* a refusal: the core's NEEDS_RESET */
		goto out;
	}
	/* The layout of a live queue never changes under its worker. */
	if (vq_ready(vq))
		goto out;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		/* Out-of-range sizes stay out of range for virtq_enable()
		 * to refuse, rather than wrapping into a valid one. */
		vq->size = v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (!m->legacy)
			set_half(&vq->desc_gpa,
				 off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (!m->legacy)
			set_half(&vq->avail_gpa,
				 off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (!m->legacy)
			set_half(&vq->used_gpa,
				 off == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
out:
	pthread_mutex_unlock(&vdev->lock);
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtio_dev *vdev = m->vdev;
	uint32_t v;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return m->legacy ? 1 : 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		v = read_sel(m, &m->dev_feat_sel);
		return v > 1 ? 0 : virtio_get_host_features(vdev, v);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_PFN:
		return queue_reg_read(m, off);
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return read_sel(m, &m->irq_status);
	case VIRTIO_MMIO_STATUS:
		return virtio_get_status(vdev);
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		/* No shared memory regions: every SHMSel reads length -1
		 * (virtio 1.2 4.2.2.1); the base reads all-ones as well. */
		return m->legacy ? 0 : 0xffffffffu;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		if (m->legacy)
			return 0;
		return __atomic_load_n(&vdev->config_generation,
				       __ATOMIC_ACQUIRE);
	default:
		/* Write-only, reserved, and QueueReset (no RING_RESET). */
		return 0;
	}
}

static void reset_transport(struct virtio_mmio *m)
{
	pthread_mutex_lock(&m->lock);
	m->dev_feat_sel = m->drv_feat_sel = m->queue_sel = m->shm_sel = 0;
	m->irq_status = 0;
	update_line(m, false);
	/* GuestPageSize is written once at probe, before the first reset,
	 * and QueueAlign is per setup: both survive a device reset. */
	pthread_mutex_unlock(&m->lock);
}

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtio_dev *vdev = m->vdev;
	uint32_t sel;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		write_sel(m, &m->dev_feat_sel, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		write_sel(m, &m->drv_feat_sel, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		sel = read_sel(m, &m->drv_feat_sel);
		if (sel <= 1)
			virtio_set_guest_features(vdev, sel, v);
		break;
	case VIRTIO_MMIO_GUEST_PAGE_SIZE:
		/* Only powers of two: QueuePFN * page must stay a plain
		 * shift of a 32-bit page number. */
		if (m->legacy && v && !(v & (v - 1)))
			write_sel(m, &m->page_size, v);
		break;
	case VIRTIO_MMIO_QUEUE_ALIGN:
		if (m->legacy && v && !(v & (v - 1)))
			write_sel(m, &m->queue_align, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		write_sel(m, &m->queue_sel, v);
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_PFN:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		queue_reg_write(m, off, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* The KVM ioeventfd takes these writes when it is assigned;
		 * this is the path without one. */
		if (v < vdev->nr_queues)
			virtq_kick(&vdev->vqs[v]);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		pthread_mutex_lock(&m->lock);
		v &= m->irq_status;
		m->irq_status &= ~v;
		update_line(m, v != 0);
		pthread_mutex_unlock(&m->lock);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_set_status(vdev, (uint8_t)v);
		/* After the core's reset no worker signals any more, so the
		 * cleared status cannot be raised again by stale work. */
		if (!(uint8_t)v)
			reset_transport(m);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		if (!m->legacy)
			write_sel(m, &m->shm_sel, v);
		break;
	default:
		/* Read-only and reserved registers. */
		break;
	}
}

/* Bus handler: runs on vCPU threads, possibly several at once. */
static void mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct virtio_mmio *m = opaque;
	uint32_t v = 0;
	unsigned int i;

	if (off >= VIRTIO_MMIO_CONFIG) {
		virtio_config_access(m->vdev, (uint32_t)(off - VIRTIO_MMIO_CONFIG),
				     data, len, is_write);
		return;
	}
	/* Control registers are 32-bit and aligned (virtio 1.2 4.2.2.2);
	 * anything else reads 0 and writes nothing. */
	if (len != 4 || (off & 3)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		for (i = 0; i < 4; i++)
			v |= (uint32_t)data[i] << (8 * i);
		reg_write(m, off, v);
	} else {
		v = reg_read(m, off);
		for (i = 0; i < 4; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
}

/*
 * One ioeventfd per queue on QueueNotify, matching the queue index, so a
 * kick never leaves the kernel.  Without one (old host, no eventfd slots)
 * the write exits to mmio_io() and still works.
 */
static void ioeventfds_assign(struct virtio_mmio *m)
{
	struct virtio_dev *vdev = m->vdev;
	unsigned int i;
	int err;

	for (i = 0; i < vdev->nr_queues; i++) {
		err = vm_ioeventfd(m->vm, vdev->vqs[i].kick_fd,
				   m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false,
				   true, i, true);
		if (err) {
			pr_debug("%s: queue %u: no ioeventfd (%s), notifying through userspace",
				 vdev->name, i, strerror(-err));
			continue;
		}
		m->ioeventfd_set[i] = true;
	}
}

/* --- Setup and teardown --- */

static void ioeventfds_release(struct virtio_mmio *m)
{
	unsigned int i;

	for (i = 0; i < m->vdev->nr_queues; i++) {
		if (!m->ioeventfd_set[i])
			continue;
		vm_ioeventfd(m->vm, m->vdev->vqs[i].kick_fd,
			     m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, false, true,
			     i, false);
		m->ioeventfd_set[i] = false;
	}
}

/*
 * The device is going away (virtio_dev_destroy, or a failed attach): the
 * guest's accesses stop reaching it while its kick fds are still open.
 * Signals from its last completions still work until mmio_release().
 */
static void mmio_unplug(struct virtio_interrupt *irq)
{
	struct virtio_mmio *m = container_of(irq, struct virtio_mmio, irq);

	if (!m->vdev)
		return;
	ioeventfds_release(m);
	bus_unregister(&m->vm->mmio_bus, m->base);
	m->vdev = NULL;
}

/*
 * The transport's own teardown, a VM cleanup registered before the
 * device's: it runs after the device is destroyed (vCPUs are gone, so no
 * register access can race), or at once when registering it failed, with
 * the device still alive and its creator's to destroy.
 */
static void mmio_release(void *opaque)
{
	struct virtio_mmio *m = opaque;
	struct virtio_dev *vdev = m->vdev;

	if (vdev) {
		mmio_unplug(&m->irq);
		vdev->irq = NULL;
	}
	pthread_mutex_destroy(&m->lock);
	free(m->ioeventfd_set);
	free(m);
}

int virtio_mmio_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy)
{
	struct virtio_mmio *m;
	int irq, err;

	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->ioeventfd_set = calloc(vdev->nr_queues ? vdev->nr_queues : 1,
				  sizeof(*m->ioeventfd_set));
	if (!m->ioeventfd_set)
		goto nomem_free;
	err = -pthread_mutex_init(&m->lock, NULL);
	if (err) {
		pr_err("%s: cannot initialise a lock: %s", vdev->name,
		       strerror(-err));
		goto err_free;
	}
	m->vm = vm;
	m->vdev = vdev;
	m->legacy = legacy;
	m->page_size = MMIO_LEGACY_PAGE_SIZE;
	m->queue_align = MMIO_LEGACY_ALIGN;

	/* The core then offers no VIRTIO_F_VERSION_1 and expects no
	 * FEATURES_OK step. */
	vdev->legacy = legacy;
	m->irq.signal_queue = mmio_signal_queue;
	m->irq.signal_config = mmio_signal_config;
	m->irq.unplug = mmio_unplug;
	vdev->irq = &m->irq;

	m->base = arch_alloc_platform_mmio(vm, MMIO_WINDOW);
	irq = arch_alloc_irq_line(vm);
	if (!m->base || irq < 0) {
		/* Lines are not shared between devices yet. */
		pr_err("%s: no %s left for a virtio-mmio device (each device needs its own interrupt line)",
		       vdev->name, !m->base ? "MMIO space" : "interrupt line");
		err = -ENOSPC;
		goto err_mutex;
	}
	m->line_nr = (unsigned int)irq;

	err = bus_register(&vm->mmio_bus, m->base, MMIO_WINDOW, mmio_io, m,
			   vdev->name);
	if (err) {
		pr_err("%s: cannot register MMIO window at %#llx: %s",
		       vdev->name, (unsigned long long)m->base, strerror(-err));
		goto err_mutex;
	}

	ioeventfds_assign(m);

	err = arch_virtio_mmio_announce(vm, m->base, MMIO_WINDOW, m->line_nr);
	if (err)
		goto err_release;

	/* On failure vm_add_cleanup() has already run mmio_release(). */
	err = vm_add_cleanup(vm, mmio_release, m);
	if (err) {
		pr_err("%s: out of memory", vdev->name);
		return err;
	}
	pr_debug("%s: virtio-mmio%s at %#llx irq %u", vdev->name,
		 legacy ? " (legacy)" : "", (unsigned long long)m->base,
		 m->line_nr);
	return 0;

err_release:
	mmio_release(m);
	return err;
err_mutex:
	pthread_mutex_destroy(&m->lock);
err_free:
	vdev->irq = NULL;
	free(m->ioeventfd_set);
	free(m);
	return err;
nomem_free:
	free(m);
nomem:
	pr_err("%s: out of memory", vdev->name);
	return -ENOMEM;
}
