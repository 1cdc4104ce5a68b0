// SPDX-License-Identifier: GPL-2.0
/* The table of virtio device types, and creating the devices the
 * configuration asks for. */
#include "lkvm/config.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

/*
 * Every device type lkvm offers, in creation order (console, rng, disks in
 * command-line order, then 9p exports in cfg->shares order), so guest
 * device names are stable.  A new device type is one line here.
 */
const struct virtio_device_type *const virtio_device_types[] = {
	&virtio_console_type,
	&virtio_rng_type,
	&virtio_blk_type,
	&virtio_9p_type,
	NULL,
};

const struct virtio_device_type *virtio_device_type_find(uint32_t device_id)
{
	const struct virtio_device_type *const *t;

	for (t = virtio_device_types; *t; t++)
		if ((*t)->device_id == device_id)
			return *t;
	return NULL;
}

int virtio_devices_init(struct vm *vm)
{
	const struct virtio_device_type *const *t;
	unsigned int i, n;
	int err;

	for (t = virtio_device_types; *t; t++) {
		n = (*t)->count(vm->cfg);
		for (i = 0; i < n; i++) {
			err = (*t)->create(vm, i);
			if (err)
				return err;
		}
	}
	return 0;
}
