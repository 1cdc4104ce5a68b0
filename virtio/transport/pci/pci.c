// SPDX-License-Identifier: GPL-2.0
/* virtio-pci: identity, config-space hooks, BAR mapping, attach and teardown (see internal.h for the layout and locks). */
#include "internal.h"

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
		vp_msix_control_changed(vp);
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
	/* Off the bus first: no config write can move a BAR back onto the
	 * PIO/MMIO buses once they are unmapped below. */
	if (vp->on_bus)
		pci_bus_remove(arch_pci_bus(vp->vm), &vp->pci);
	vp->on_bus = false;
	pthread_mutex_lock(&vp->map_lock);
	bar_unmap(vp, VP_IO_BAR);
	bar_unmap(vp, VP_MEM_BAR);
	vp->vdev = NULL;
	pthread_mutex_unlock(&vp->map_lock);
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

/* The transport's state for @vdev: vectors (all masked, each with its
 * eventfd) and per-queue tables.  NULL with *@err set on failure. */
static struct virtio_pci *vp_alloc(struct vm *vm, struct virtio_dev *vdev,
				   bool legacy_only, bool transitional,
				   int *err)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	unsigned int v, q, nr_vectors = vdev->nr_queues + 1;

	if (!vp) {
		*err = -ENOMEM;
		return NULL;
	}
	vp->vdev = vdev;
	vp->vm = vm;
	vp->legacy_only = legacy_only;
	vp->transitional = transitional;
	snprintf(vp->name, sizeof(vp->name), "%s (pci)", vdev->name);
	pthread_mutex_init(&vp->map_lock, NULL);
	pthread_mutex_init(&vp->irq_lock, NULL);
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->vec = calloc(nr_vectors, sizeof(*vp->vec));
	vp->queue_vector = calloc(vdev->nr_queues, sizeof(*vp->queue_vector));
	vp->io_ioeventfd_set = calloc(vdev->nr_queues, sizeof(bool));
	vp->mem_ioeventfd_set = calloc(vdev->nr_queues, sizeof(bool));
	if (!vp->vec || !vp->queue_vector || !vp->io_ioeventfd_set ||
	    !vp->mem_ioeventfd_set) {
		*err = -ENOMEM;
		goto err_free;
	}
	vp->nr_vectors = nr_vectors; /* vp_free() walks them from here on */
	for (q = 0; q < vdev->nr_queues; q++)
		vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
	for (v = 0; v < nr_vectors; v++) {
		vp->vec[v].entry[3] = MSIX_CTRL_MASKED; /* entries start masked */
		vp->vec[v].dirty = true;
		vp->vec[v].gsi = -1;
		vp->vec[v].efd = -1;
	}
	for (v = 0; v < nr_vectors; v++) {
		struct vp_vector *x = &vp->vec[v];

		x->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (x->efd < 0) {
			*err = -errno;
			pr_err("%s: eventfd: %s", vp->name, strerror(-*err));
			goto err_free;
		}
	}
	return vp;

err_free:
	vp_free(vp);
	return NULL;
}

/* Transitional ids with revision 0 when the device type has one (@tid),
 * otherwise a modern-only device (revision 1). */
static void vp_identity(struct virtio_pci *vp, uint16_t tid)
{
	uint32_t id = vp->vdev->device_id;

	pci_device_init(&vp->pci, vp->name, VP_VENDOR,
			tid ? tid : (uint16_t)(VP_DEVICE_MODERN_BASE + id),
			class_code(id), 0);
	vp->pci.cfg[PCI_REVISION_ID] = tid ? 0 : 1;
	vp->pci.cfg[PCI_SUBSYSTEM_VENDOR_ID] = (uint8_t)VP_VENDOR;
	vp->pci.cfg[PCI_SUBSYSTEM_VENDOR_ID + 1] = (uint8_t)(VP_VENDOR >> 8);
	vp->pci.cfg[PCI_SUBSYSTEM_ID] = (uint8_t)id;
	vp->pci.cfg[PCI_SUBSYSTEM_ID + 1] = (uint8_t)(id >> 8);
	vp->pci.opaque = vp;
	vp->pci.cfg_read = vp_cfg_read;
	vp->pci.cfg_write = vp_cfg_write;
	vp->pci.bar_remap = vp_bar_remap;
}

/* BARs, placed the way firmware would (Linux keeps them). */
static int vp_place_bars(struct virtio_pci *vp)
{
	uint64_t mem;
	int err;

	if (vp->transitional) {
		uint16_t io;

		vp->io_size = pow2_at_least(VP_LEGACY_HDR_MSIX +
					    vp->vdev->config_size);
		if (vp->io_size < 32)
			vp->io_size = 32;
		io = arch_alloc_pio(vp->vm, (uint16_t)vp->io_size);
		err = pci_bar_init(&vp->pci, VP_IO_BAR, true, vp->io_size);
		if (!err && !io)
			err = -ENOSPC;
		if (err) {
			pr_err("%s: cannot place the legacy I/O BAR (%u bytes)",
			       vp->name, vp->io_size);
			return err;
		}
		pci_bar_set_addr(&vp->pci, VP_IO_BAR, io);
	}
	mem = arch_alloc_mmio(vp->vm, VP_MEM_BAR_SIZE);
	if (!mem || mem + VP_MEM_BAR_SIZE > VP_MEM_BAR_LIMIT) {
		pr_err("%s: no MMIO space for BAR%d", vp->name, VP_MEM_BAR);
		return -ENOSPC;
	}
	pci_bar_init(&vp->pci, VP_MEM_BAR, false, VP_MEM_BAR_SIZE);
	pci_bar_set_addr(&vp->pci, VP_MEM_BAR, mem);
	return 0;
}

/* On the bus, INTx wired, decoding on as firmware leaves it (so the BARs
 * are mapped now).  Returns the INTx line (-1: none) or -errno. */
static int vp_plug(struct virtio_pci *vp)
{
	struct pci_bus *bus = arch_pci_bus(vp->vm);
	int err, line;

	err = pci_bus_add(bus, &vp->pci, -1);
	if (err < 0) {
		pr_err("%s: no free PCI slot (at most %d virtio-pci devices)",
		       vp->name, PCI_MAX_VIRTIO_DEVICES);
		return err;
	}
	vp->slot = err;
	vp->on_bus = true;
	line = arch_pci_intx_line(vp->vm, (unsigned int)vp->slot);
	if (line >= 0)
		pci_device_set_intx(&vp->pci, VP_INTX_PIN, (unsigned int)line,
				    vp_intx_set, vp->vm);
	pthread_mutex_lock(&bus->lock);
	vp->pci.cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY |
				    (vp->transitional ? PCI_COMMAND_IO : 0);
	pci_device_update_bars(&vp->pci);
	pthread_mutex_unlock(&bus->lock);
	return line < 0 ? -1 : line;
}

int virtio_pci_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy_only)
{
	uint16_t tid = transitional_id(vdev->device_id);
	struct virtio_pci *vp;
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
	vp = vp_alloc(vm, vdev, legacy_only, tid != 0, &err);
	if (!vp)
		return err;
	vp_identity(vp, tid);
	err = vp_place_bars(vp);
	if (err)
		goto err_free;
	err = build_caps(vp);
	if (err) {
		pr_err("%s: PCI capabilities do not fit", vp->name);
		goto err_free;
	}

	/* The device must be wired to the transport before the guest can
	 * reach it. */
	vp->irq.signal_queue = vp_signal_queue;
	vp->irq.queue_irqfd = vp_queue_irqfd;
	vp->irq.signal_config = vp_signal_config;
	vp->irq.unplug = vp_unplug;
	vdev->irq = &vp->irq;
	vdev->legacy = legacy_only;
	line = vp_plug(vp);
	if (line < -1) {
		err = line;
		goto err_free;
	}

	pr_debug("%s: slot %d, %s, BAR%d %#llx%s, INTx line %d", vp->name,
		 vp->slot, legacy_only ? "legacy" :
		 vp->transitional ? "transitional" : "modern",
		 VP_MEM_BAR, (unsigned long long)pci_bar_addr(&vp->pci, VP_MEM_BAR),
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
