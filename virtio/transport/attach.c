// SPDX-License-Identifier: GPL-2.0
/* Attaching a device over the transport the user chose, and handing its
 * teardown to the VM. */
#include "lkvm/config.h"
#include "lkvm/util.h"
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

static void dev_destroy(void *vdev)
{
	virtio_dev_destroy(vdev);
}

int virtio_dev_add(struct vm *vm, struct virtio_dev *vdev)
{
	int err;

	vdev->trace = vm->trace;
	err = virtio_attach(vm, vdev);

	/* The transport printed why; the device is still ours to free. */
	if (err) {
		virtio_dev_destroy(vdev);
		return err;
	}
	/* Registered after the transport's, so it runs first: the device
	 * unplugs and quiesces while the transport can still signal.  On
	 * failure vm_add_cleanup() has destroyed the device already. */
	err = vm_add_cleanup(vm, dev_destroy, vdev);
	if (err)
		pr_err("%s: out of memory", vdev->name);
	return err;
}
