/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_DEVICES_H
#define LKVM_VIRTIO_DEVICES_H

/*
 * Device-model constructors.  Each creates its device, attaches it with
 * virtio_attach() and registers its teardown with the VM; returns 0 or a
 * negative errno after printing one line naming the problem.
 */
struct vm;
struct disk_config;

int virtio_blk_create(struct vm *vm, const struct disk_config *disk,
		      unsigned int index);
int virtio_console_create(struct vm *vm);
int virtio_rng_create(struct vm *vm);

#endif
