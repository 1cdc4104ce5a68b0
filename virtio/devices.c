// SPDX-License-Identifier: GPL-2.0
/* The table of virtio device types, creating the devices the
 * configuration asks for, and attaching a device over the chosen
 * transport. */
#include "lkvm/config.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

int virtio_attach(struct vm *vm, struct virtio_dev *vdev)
{
	enum virtio_transport_kind t = vm->cfg->transport;

	if (t == VIRTIO_TRANSPORT_DEFAULT)
		t = LKVM_ARCH_DEFAULT_TRANSPORT_KIND;
	switch (t) {
	case VIRTIO_TRANSPORT_MMIO:
		return virtio_mmio_attach(vm, vdev, false);
	case VIRTIO_TRANSPORT_MMIO_LEGACY:
		return virtio_mmio_attach(vm, vdev, true);
	case VIRTIO_TRANSPORT_PCI_LEGACY:
		return virtio_pci_attach(vm, vdev, true);
	case VIRTIO_TRANSPORT_PCI:
	default:
		return virtio_pci_attach(vm, vdev, false);
	}
}

int virtio_attach_new(struct vm *vm, struct virtio_dev *vdev)
{
	int err = virtio_attach(vm, vdev);

	/* The transport printed why; the device is still ours to free. */
	if (err)
		virtio_dev_destroy(vdev);
	return err;
}

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
