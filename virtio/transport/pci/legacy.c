// SPDX-License-Identifier: GPL-2.0
/* virtio-pci: the legacy (virtio 0.9.5) I/O BAR (see internal.h for the layout and locks). */
#include "internal.h"

const struct vp_field vp_legacy_fields[] = {
	{ VIRTIO_PCI_HOST_FEATURES, 4 }, { VIRTIO_PCI_GUEST_FEATURES, 4 },
	{ VIRTIO_PCI_QUEUE_PFN, 4 },     { VIRTIO_PCI_QUEUE_NUM, 2 },
	{ VIRTIO_PCI_QUEUE_SEL, 2 },     { VIRTIO_PCI_QUEUE_NOTIFY, 2 },
	{ VIRTIO_PCI_STATUS, 1 },        { VIRTIO_PCI_ISR, 1 },
	{ VIRTIO_MSI_CONFIG_VECTOR, 2 }, { VIRTIO_MSI_QUEUE_VECTOR, 2 },
};

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
		return vp_isr_read(vp);
	if (off == VIRTIO_PCI_STATUS)
		return virtio_get_status(vdev);
	pthread_mutex_lock(&vdev->lock);
	vp_use_interface(vp, true);
	vq = vp_selected_vq(vp);
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
	vp_queue_enable(vq);
}

static void legacy_set(struct virtio_pci *vp, unsigned int off, uint32_t v)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq;

	pthread_mutex_lock(&vdev->lock);
	vp_use_interface(vp, true);
	if (off == VIRTIO_PCI_STATUS) {
		pthread_mutex_unlock(&vdev->lock);
		vp_write_status(vp, (uint8_t)v);
		return;
	}
	vq = vp_selected_vq(vp);
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
		vp_set_config_vector(vp, (uint16_t)v);
		break;
	case VIRTIO_MSI_QUEUE_VECTOR:
		if (vq)
			vp_set_queue_vector(vp, vq, (uint16_t)v);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

void vp_io_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
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
		size_t n = ARRAY_SIZE(vp_legacy_fields) -
			   (cfg == VP_LEGACY_HDR_MSIX ? 0 : 2);

		hdr_len = (uint32_t)MIN((uint64_t)len, cfg - off);
		if (is_write)
			vp_fields_write(vp, vp_legacy_fields, n, legacy_set, off, data,
					hdr_len);
		else
			vp_fields_read(vp, vp_legacy_fields, n, legacy_get, off, data,
				       hdr_len);
	}
	if (hdr_len < len) {
		pthread_mutex_lock(&vp->vdev->lock);
		vp_use_interface(vp, true);
		pthread_mutex_unlock(&vp->vdev->lock);
		virtio_config_access(vp->vdev, (uint32_t)(off + hdr_len - cfg),
				     data + hdr_len, len - hdr_len, is_write);
	}
}
