// SPDX-License-Identifier: GPL-2.0
/* Create the virtio devices the configuration asks for, in a fixed order
 * (console, rng, disks in command-line order, then 9p exports in
 * cfg->shares order) so guest device names are stable. */
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

int virtio_devices_init(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	unsigned int i;
	int err;

	if (cfg->console == CONSOLE_VIRTIO) {
		err = virtio_console_create(vm);
		if (err)
			return err;
	}
	if (cfg->rng) {
		err = virtio_rng_create(vm);
		if (err)
			return err;
	}
	for (i = 0; i < cfg->nr_disks; i++) {
		err = virtio_blk_create(vm, &cfg->disks[i], i);
		if (err)
			return err;
	}
	for (i = 0; i < cfg->nr_shares; i++) {
		err = virtio_9p_create(vm, &cfg->shares[i]);
		if (err)
			return err;
	}
	return 0;
}
