// SPDX-License-Identifier: GPL-2.0
/* TEMPORARY placeholder: replaced by the real implementation. */
#include <errno.h>
#include "lkvm/arch-hooks.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

int ioloop_init(struct ioloop *l, unsigned int nr_threads)
{ (void)l; (void)nr_threads; return 0; }
void ioloop_destroy(struct ioloop *l) { (void)l; }
