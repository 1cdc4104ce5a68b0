// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY placeholder: replaced by the real implementation. */
#include <errno.h>
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

int virtio_blk_create(struct vm *vm, const struct disk_config *disk, unsigned int index)
{ (void)vm; (void)disk; (void)index; pr_err("virtio-blk: not built yet"); return -ENOSYS; }
