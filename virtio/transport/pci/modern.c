// SPDX-License-Identifier: GPL-2.0
/* virtio-pci: the modern interface: common configuration, ISR, device config and notify in the memory BAR (see internal.h for the layout and locks). */
#include "internal.h"

const struct vp_field vp_common_fields[] = {
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

/* ---- Modern common configuration ---- */

static uint32_t common_get(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq = vp_selected_vq(vp);
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
	struct virtqueue *vq = vp_selected_vq(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: vp->dev_feature_sel = v; return;
	case VIRTIO_PCI_COMMON_GFSELECT: vp->drv_feature_sel = v; return;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->drv_feature_sel < 2)
			virtio_set_guest_features(vdev, vp->drv_feature_sel, v);
		return;
	case VIRTIO_PCI_COMMON_MSIX: vp_set_config_vector(vp, (uint16_t)v); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_sel = (uint16_t)v; return;
	}
	/* Queue fields: ignored for a queue that does not exist, and (but for
	 * the vector) once the queue is enabled. */
	if (!vq)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		vp_set_queue_vector(vp, vq, (uint16_t)v);
		return;
	}
	if (vq->ready)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: vq->size = (uint16_t)v; break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (v == 1)
			vp_queue_enable(vq);
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
	vp_use_interface(vp, false);
	v = common_get(vp, off);
	pthread_mutex_unlock(&vp->vdev->lock);
	return v;
}

static void common_set_locked(struct virtio_pci *vp, unsigned int off,
			      uint32_t v)
{
	pthread_mutex_lock(&vp->vdev->lock);
	vp_use_interface(vp, false);
	if (off == VIRTIO_PCI_COMMON_STATUS) {
		pthread_mutex_unlock(&vp->vdev->lock);
		vp_write_status(vp, (uint8_t)v);
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

void vp_mem_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write)
{
	struct virtio_pci *vp = opaque;
	uint64_t roff = off % VP_REGION_SIZE;

	if (!is_write)
		memset(data, 0, len);
	if (len > 8 || off + len > VP_MEM_BAR_SIZE)
		return;
	if (off >= VP_MSIX_PBA_OFF) {
		vp_msix_pba_io(vp, off - VP_MSIX_PBA_OFF, data, len, is_write);
		return;
	}
	if (off >= VP_MSIX_TABLE_OFF) {
		vp_msix_table_io(vp, off - VP_MSIX_TABLE_OFF, data, len, is_write);
		return;
	}
	if (vp->legacy_only || roff + len > VP_REGION_SIZE)
		return;
	switch (off - roff) {
	case VP_COMMON_OFF:
		if (is_write)
			vp_fields_write(vp, vp_common_fields, ARRAY_SIZE(vp_common_fields),
					common_set_locked, roff, data, len);
		else
			vp_fields_read(vp, vp_common_fields, ARRAY_SIZE(vp_common_fields),
				       common_get_locked, roff, data, len);
		break;
	case VP_ISR_OFF:
		if (!is_write && roff == 0)
			data[0] = vp_isr_read(vp);
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
