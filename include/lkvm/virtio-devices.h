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
struct share_config;

int virtio_blk_create(struct vm *vm, const struct disk_config *disk,
		      unsigned int index);
int virtio_console_create(struct vm *vm);
int virtio_rng_create(struct vm *vm);
/* A 9P2000.L export of @share->path (also raises RLIMIT_NOFILE's soft limit
 * to the hard one: every fid holds a descriptor). */
int virtio_9p_create(struct vm *vm, const struct share_config *share);

/*
 * The same devices initialised (virtio_dev_init) but not attached, or NULL:
 * unit tests drive them over a fake transport.  virtio_dev_destroy() frees
 * them.  virtio_console_new() also takes over vm->console_input and
 * vm->console_resize, and makes hvc0 the kernel's console= default.
 */
struct virtio_dev;
struct virtio_dev *virtio_console_new(struct vm *vm);
struct virtio_dev *virtio_rng_new(struct vm *vm);
/* Also opens the disk and starts its I/O backend (printing any error). */
struct virtio_dev *virtio_blk_new(struct vm *vm, const struct disk_config *disk,
				  unsigned int index);
/* Also starts the 9P server on @share->path (printing any error). */
struct virtio_dev *virtio_9p_new(struct vm *vm,
				 const struct share_config *share);
/* The server behind a virtio_9p_new() device (tests look at its fids). */
struct p9_server;
struct p9_server *virtio_9p_server(struct virtio_dev *vdev);

#endif
