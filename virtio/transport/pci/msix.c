// SPDX-License-Identifier: GPL-2.0
/* virtio-pci: interrupts: MSI-X vectors bound to irqfds, INTx and ISR, and the MSI-X table and PBA (see internal.h for the layout and locks). */
#include "internal.h"

/* ---- Interrupts ---- */

void vp_intx_set(void *opaque, unsigned int line, int level)
{
	vm_set_irq_line(opaque, line, level);
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

void vp_signal_queue(struct virtio_interrupt *irq, unsigned int index)
{
	struct virtio_pci *vp = container_of(irq, struct virtio_pci, irq);

	/* queue_vector[] changes under irq_lock; read it under it too. */
	pthread_mutex_lock(&vp->irq_lock);
	vp_signal(vp, vp->queue_vector[index], VP_ISR_QUEUE);
	pthread_mutex_unlock(&vp->irq_lock);
}

/*
 * vhost's call fd for queue @index: the irqfd of the queue's MSI-X vector,
 * so an interrupt goes from the host kernel's data path to the guest with
 * no userspace hop.  Only while the vector is enabled, unmasked and has
 * its irqfd (else -1: the core forwards through signal_queue, which
 * latches masked vectors).  A vector the driver masks later (Linux does
 * so briefly to rewrite an entry) still fires while masked: an early
 * interrupt the driver tolerates, never a lost one; the route itself is
 * updated on unmask (vector_sync), keeping the same eventfd.
 */
int vp_queue_irqfd(struct virtio_interrupt *irq, unsigned int index)
{
	struct virtio_pci *vp = container_of(irq, struct virtio_pci, irq);
	uint16_t v;
	int fd = -1;

	pthread_mutex_lock(&vp->irq_lock);
	v = vp->queue_vector[index];
	if (vp->msix_enabled && v < vp->nr_vectors &&
	    !vector_masked(vp, &vp->vec[v])) {
		vector_sync(vp, &vp->vec[v]);
		if (vp->vec[v].irqfd_assigned)
			fd = vp->vec[v].efd;
	}
	pthread_mutex_unlock(&vp->irq_lock);
	return fd;
}

void vp_signal_config(struct virtio_interrupt *irq)
{
	struct virtio_pci *vp = container_of(irq, struct virtio_pci, irq);

	pthread_mutex_lock(&vp->irq_lock);
	vp_signal(vp, vp->msix_config, VIRTIO_PCI_ISR_CONFIG);
	pthread_mutex_unlock(&vp->irq_lock);
}

/* ISR status: reading it acknowledges the interrupt. */
uint8_t vp_isr_read(struct virtio_pci *vp)
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

void vp_set_config_vector(struct virtio_pci *vp, uint16_t v)
{
	pthread_mutex_lock(&vp->irq_lock);
	vp->msix_config = vector_check(vp, v);
	pthread_mutex_unlock(&vp->irq_lock);
}

void vp_set_queue_vector(struct virtio_pci *vp, struct virtqueue *vq,
			 uint16_t v)
{
	pthread_mutex_lock(&vp->irq_lock);
	vp->queue_vector[vq->index] = vector_check(vp, v);
	pthread_mutex_unlock(&vp->irq_lock);
}

/* ---- MSI-X table and PBA (memory BAR) ---- */

void vp_msix_table_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
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

void vp_msix_pba_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
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
void vp_msix_control_changed(struct virtio_pci *vp)
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
