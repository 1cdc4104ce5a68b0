// SPDX-License-Identifier: GPL-2.0
/* The table of virtio device types, and creating the devices the
 * configuration asks for. */
#include <errno.h>

#include "lkvm/config.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define VIRTIO_DEVICE_TYPE_ENTRY(type) &type,
const struct virtio_device_type *const virtio_device_types[] = {
	VIRTIO_DEVICE_TYPES(VIRTIO_DEVICE_TYPE_ENTRY)
	NULL,
};
#undef VIRTIO_DEVICE_TYPE_ENTRY

const struct virtio_device_type *virtio_device_type_find(uint32_t device_id)
{
	const struct virtio_device_type *const *t;

	for (t = virtio_device_types; *t; t++)
		if ((*t)->device_id == device_id)
			return *t;
	return NULL;
}

unsigned int virtio_device_requests(const struct vm_config *cfg,
				    const struct virtio_device_type *t)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->nr_dev_reqs; i++)
		n += cfg->dev_reqs[i].type == t;
	return n;
}

const char *virtio_device_request_arg(const struct vm_config *cfg,
				      const struct virtio_device_type *t,
				      unsigned int index)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_dev_reqs; i++)
		if (cfg->dev_reqs[i].type == t && !index--)
			return cfg->dev_reqs[i].arg;
	return NULL;
}

int virtio_device_request(struct vm_config *cfg,
			  const struct virtio_device_type *t, const char *arg)
{
	if (cfg->nr_dev_reqs == LKVM_MAX_DEVICE_REQUESTS)
		return -ENOSPC;
	cfg->dev_reqs[cfg->nr_dev_reqs].type = t;
	cfg->dev_reqs[cfg->nr_dev_reqs].arg = arg;
	cfg->nr_dev_reqs++;
	return 0;
}

int virtio_devices_init(struct vm *vm)
{
	const struct virtio_device_type *const *t;
	unsigned int i, n;
	int err;

	for (t = virtio_device_types; *t; t++) {
		n = (*t)->count(vm->cfg);
		for (i = 0; i < n; i++) {
			struct virtio_dev *vdev = (*t)->create(vm, i);

			if (!vdev)
				return -EINVAL; /* create() printed why */
			err = virtio_dev_add(vm, vdev);
			if (err)
				return err;
		}
	}
	return 0;
}
