// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY placeholder: replaced by the real implementation. */
#include <errno.h>
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

int virtio_console_create(struct vm *vm)
{ (void)vm; pr_err("virtio-console: not built yet"); return -ENOSYS; }
int virtio_rng_create(struct vm *vm)
{ (void)vm; pr_err("virtio-rng: not built yet"); return -ENOSYS; }
