/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_CORE_H
#define LKVM_VIRTIO_CORE_H
/* Between the files of the virtio core (device.c, virtqueue.c). */
#include "lkvm/virtio.h"

/* Point @vq at its rings (NULL: none) with nothing consumed or used yet.
 * vq->lock held. */
void virtq_set_rings(struct virtqueue *vq, struct vring_desc *desc,
		     struct vring_avail *avail, struct vring_used *used);

#endif
