// SPDX-License-Identifier: GPL-2.0
/* virtio-pci: the register blocks' field machinery and the semantics both interfaces share (see internal.h for the layout and locks). */
#include "internal.h"

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
void vp_fields_read(struct virtio_pci *vp, const struct vp_field *f,
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
void vp_fields_write(struct virtio_pci *vp, const struct vp_field *f,
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
void vp_use_interface(struct virtio_pci *vp, bool legacy)
{
	struct virtio_dev *vdev = vp->vdev;

	if (vp->legacy_only || !vp->transitional || vdev->legacy == legacy)
		return;
	if (virtio_get_status(vdev) == 0)
		vdev->legacy = legacy;
}

struct virtqueue *vp_selected_vq(struct virtio_pci *vp)
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

void vp_write_status(struct virtio_pci *vp, uint8_t status)
{
	/* No irq_lock held: a reset waits for queue handlers, which may be
	 * signalling. */
	virtio_set_status(vp->vdev, status);
	if (status == 0)
		transport_reset(vp);
}

/* Make the selected queue live; a refusal leaves it disabled (it reads
 * 0) and is the core's NEEDS_RESET.  vdev->lock held. */
void vp_queue_enable(struct virtqueue *vq)
{
	if (!vq->ready)
		virtq_enable(vq);
}
