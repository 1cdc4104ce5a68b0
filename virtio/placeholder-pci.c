// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY placeholder: replaced by the real implementation. */
#include <errno.h>
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

int virtio_pci_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy_only)
{ (void)vm; (void)vdev; (void)legacy_only; pr_err("virtio-pci: not built yet"); return -ENOSYS; }
