// SPDX-License-Identifier: GPL-2.0
/*
 * The device-type table (virtio/devices.c): every type declares a whole
 * identity, ids are unique, the order is the creation order guest device
 * names depend on, and creating a VM's devices follows the table.
 */
#include <linux/virtio_ids.h>

#include "lkvm/config.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "test.h"

TEST(every_type_is_complete)
{
	const struct virtio_device_type *const *t;
	unsigned int n = 0;

	for (t = virtio_device_types; *t; t++, n++) {
		const struct virtio_device_type *d = *t;
		uint16_t q = d->queue_size;

		CHECK(d->name && !strncmp(d->name, "virtio-", 7));
		CHECK(d->help && d->help[0]);
		CHECK(d->device_id != 0);
		CHECK(d->modules && d->modules[0]);
		CHECK(d->max_queues >= 1);
		CHECK(q && q <= VIRTQ_MAX_SIZE && !(q & (q - 1)));
		CHECK(d->count && d->create);
		CHECK_PTR_EQ(virtio_device_type_find(d->device_id), d);
	}
	CHECK_EQ(n, 5);
	CHECK_NULL(virtio_device_type_find(0));
	CHECK_NULL(virtio_device_type_find(0xffff));
}

/* Guest device names (vda, vdb, hvc0 ...) depend on this order. */
TEST(creation_order)
{
	CHECK_PTR_EQ(virtio_device_types[0], &virtio_console_type);
	CHECK_PTR_EQ(virtio_device_types[1], &virtio_rng_type);
	CHECK_PTR_EQ(virtio_device_types[2], &virtio_blk_type);
	CHECK_PTR_EQ(virtio_device_types[3], &virtio_9p_type);
	CHECK_PTR_EQ(virtio_device_types[4], &virtio_net_type);
	CHECK_NULL(virtio_device_types[5]);
}

/* What the transports and the initramfs builder read from the table. */
TEST(identities)
{
	static const struct {
		const struct virtio_device_type *type;
		uint32_t device_id;
		uint16_t pci_class;
		const char *first_module;
	} want[] = {
		{ &virtio_blk_type, VIRTIO_ID_BLOCK, PCI_CLASS_STORAGE_OTHER,
		  "virtio_blk" },
		{ &virtio_console_type, VIRTIO_ID_CONSOLE,
		  PCI_CLASS_COMMUNICATION_OTHER, "virtio_console" },
		{ &virtio_rng_type, VIRTIO_ID_RNG, PCI_CLASS_UNCLASSIFIED_OTHER,
		  "virtio_rng" },
		{ &virtio_9p_type, VIRTIO_ID_9P, PCI_CLASS_UNCLASSIFIED_OTHER,
		  "9pnet_virtio" },
		{ &virtio_net_type, VIRTIO_ID_NET, PCI_CLASS_NETWORK_ETHERNET,
		  "virtio_net" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_EQ(want[i].type->device_id, want[i].device_id);
		CHECK_EQ(want[i].type->pci_class, want[i].pci_class);
		CHECK_STREQ(want[i].type->modules[0], want[i].first_module);
	}
	CHECK_STREQ(virtio_9p_type.modules[1], "9p");
	CHECK_NULL(virtio_9p_type.modules[2]);
}

/* How many devices of each type a configuration asks for. */
TEST(counts_follow_the_config)
{
	struct disk_config disks[3] = { { 0 } };
	struct share_config shares[2] = { { 0 } };
	struct vm_config cfg = { 0 };

	CHECK_EQ(virtio_console_type.count(&cfg), 0);
	CHECK_EQ(virtio_rng_type.count(&cfg), 0);
	CHECK_EQ(virtio_blk_type.count(&cfg), 0);
	CHECK_EQ(virtio_9p_type.count(&cfg), 0);
	cfg.console = CONSOLE_VIRTIO;
	REQUIRE(virtio_device_request(&cfg, &virtio_rng_type, NULL) == 0);
	cfg.disks = disks;
	cfg.nr_disks = 3;
	cfg.shares = shares;
	cfg.nr_shares = 2;
	CHECK_EQ(virtio_console_type.count(&cfg), 1);
	CHECK_EQ(virtio_rng_type.count(&cfg), 1);
	CHECK_EQ(virtio_blk_type.count(&cfg), 3);
	CHECK_EQ(virtio_9p_type.count(&cfg), 2);
}

int main(void)
{
	RUN(every_type_is_complete);
	RUN(creation_order);
	RUN(identities);
	RUN(counts_follow_the_config);
	return test_summary();
}
