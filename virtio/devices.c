// SPDX-License-Identifier: GPL-2.0
/* The table of virtio device types, and creating the devices the
 * configuration asks for. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/config.h"
#include "lkvm/util.h"
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

static bool is_mmio(int transport)
{
	if (transport == VIRTIO_TRANSPORT_DEFAULT)
		transport = LKVM_ARCH_DEFAULT_TRANSPORT_KIND;
	return transport == VIRTIO_TRANSPORT_MMIO ||
	       transport == VIRTIO_TRANSPORT_MMIO_LEGACY;
}

unsigned int virtio_transport_max_devices(int transport)
{
	return is_mmio(transport) ? LKVM_ARCH_MAX_VIRTIO_MMIO
				  : PCI_MAX_VIRTIO_DEVICES;
}

static const char *transport_name(int transport)
{
	switch (transport) {
	case VIRTIO_TRANSPORT_PCI: return "pci";
	case VIRTIO_TRANSPORT_PCI_LEGACY: return "pci-legacy";
	case VIRTIO_TRANSPORT_MMIO: return "mmio";
	case VIRTIO_TRANSPORT_MMIO_LEGACY: return "mmio-legacy";
	default: return LKVM_ARCH_DEFAULT_TRANSPORT " (the default)";
	}
}

int virtio_devices_check(const struct vm_config *cfg, char *why, size_t len)
{
	const struct virtio_device_type *const *t;
	unsigned int total = 0, max, other;
	char list[256] = "";
	size_t used = 0;
	int err;

	for (t = virtio_device_types; *t; t++) {
		unsigned int n = (*t)->count(cfg);

		total += n;
		if (n && used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used,
						 "%s%u %s", used ? ", " : "", n,
						 (*t)->name);
	}
	max = virtio_transport_max_devices(cfg->transport);
	if (total > max) {
		bool mmio = is_mmio(cfg->transport);
		int alt = mmio ? VIRTIO_TRANSPORT_PCI : VIRTIO_TRANSPORT_MMIO;
		char hint[80] = "";

		/* Only name the other transport when it takes them all. */
		other = virtio_transport_max_devices(alt);
		if (other >= total)
			snprintf(hint, sizeof(hint), "; --virtio-transport %s allows %u",
				 transport_name(alt), other);
		snprintf(why, len, "too many virtio devices for --virtio-transport %s: %u given (%s), at most %u on %s (%s)%s",
			 transport_name(cfg->transport), total, list, max,
			 LKVM_ARCH_NAME,
			 mmio ? "one interrupt line each" : "one PCI slot each",
			 hint);
		return -E2BIG;
	}
	for (t = virtio_device_types; *t; t++) {
		if ((*t)->check && (err = (*t)->check(cfg, why, len)))
			return err;
	}
	return 0;
}

int virtio_devices_init(struct vm *vm)
{
	const struct virtio_device_type *const *t;
	unsigned int i, n;
	int err;

	for (t = virtio_device_types; *t; t++) {
		n = (*t)->count(vm->cfg);
		/* A default device that found no free slot (count() left it
		 * out): not an error, but not silent either. */
		if (!n && (*t)->implicit && (*t)->implicit(vm->cfg))
			pr_info("all %u virtio slots are taken: the guest gets no %s (lkvm's default device; fewer devices leave it room)",
				virtio_transport_max_devices(vm->cfg->transport),
				(*t)->name);
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
