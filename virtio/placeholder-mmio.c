// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY placeholder: replaced by the real implementation. */
#include <errno.h>
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

int virtio_mmio_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy)
{ (void)vm; (void)vdev; (void)legacy; pr_err("virtio-mmio: not built yet"); return -ENOSYS; }
