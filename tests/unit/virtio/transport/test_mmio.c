// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-mmio transport (virtio/transport/mmio.c) and its x86 announcement
 * (x86/virtio_mmio.c), driven through the VM's MMIO bus exactly as vCPU
 * exits would drive it.  Register offsets and values come from the virtio
 * 1.2 specification (4.2.2 modern, 4.2.4 legacy), written out here rather
 * than taken from <linux/virtio_mmio.h>.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/bus.h"
#include "lkvm/util.h"
#include "lkvm/virtio.h"
#include "stubs.h"
#include "test.h"
#include "vq_driver.h"

/* virtio 1.2 table 4.1 */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008,
	R_VENDOR_ID = 0x00c, R_DEV_FEAT = 0x010, R_DEV_FEAT_SEL = 0x014,
	R_DRV_FEAT = 0x020, R_DRV_FEAT_SEL = 0x024, R_GUEST_PAGE_SIZE = 0x028,
	R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038,
	R_QUEUE_ALIGN = 0x03c, R_QUEUE_PFN = 0x040, R_QUEUE_READY = 0x044,
	R_QUEUE_NOTIFY = 0x050, R_INT_STATUS = 0x060, R_INT_ACK = 0x064,
	R_STATUS = 0x070, R_DESC_LO = 0x080, R_DESC_HI = 0x084,
	R_DRIVER_LO = 0x090, R_DRIVER_HI = 0x094, R_DEVICE_LO = 0x0a0,
	R_DEVICE_HI = 0x0a4, R_SHM_SEL = 0x0ac, R_SHM_LEN_LO = 0x0b0,
	R_SHM_LEN_HI = 0x0b4, R_SHM_BASE_LO = 0x0b8, R_SHM_BASE_HI = 0x0bc,
	R_QUEUE_RESET = 0x0c0, R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define NR_QUEUES 2
#define QMAX 16
#define CFG_SIZE 8
#define TEST_DEVICE_ID 42
#define DEV_FEATURES ((1ULL << 5) | (1ULL << 40))
#define FIRST_BASE X86_MMIO_ALLOC_START
#define FIRST_IRQ 5 /* the first line arch_alloc_irq_line() hands out */

/* --- VM cleanups: recorded, run by the test (the stub runs them at once) */

static struct {
	void (*fn)(void *);
	void *opaque;
} cleanups[16];
static unsigned int nr_cleanups;

int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *opaque)
{
	(void)vm;
	if (nr_cleanups == ARRAY_SIZE(cleanups)) {
		fn(opaque);
		return -ENOMEM;
	}
	cleanups[nr_cleanups].fn = fn;
	cleanups[nr_cleanups++].opaque = opaque;
	return 0;
}

static void run_cleanups(void)
{
	while (nr_cleanups) {
		nr_cleanups--;
		cleanups[nr_cleanups].fn(cleanups[nr_cleanups].opaque);
	}
}

/* --- A dummy device --- */

struct dummy {
	struct virtio_dev vdev;
	uint8_t config[CFG_SIZE];
	unsigned int notified[NR_QUEUES]; /* atomic */
	unsigned int resets, destroys, completions;
	bool complete_requests; /* queue_notify pops and completes chains */
};

static void dummy_config_read(struct virtio_dev *vdev, uint32_t off,
			      void *data, uint32_t len)
{
	struct dummy *d = vdev->priv;

	memcpy(data, d->config + off, len);
}

static void dummy_config_write(struct virtio_dev *vdev, uint32_t off,
			       const void *data, uint32_t len)
{
	struct dummy *d = vdev->priv;

	memcpy(d->config + off, data, len);
}

static void dummy_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct dummy *d = vdev->priv;
	struct iovec iov[4];
	struct virtq_chain c;

	while (d->complete_requests && virtq_pop(vq, &c, iov, 4) == 1) {
		virtq_complete(vq, c.head, 0);
		__atomic_add_fetch(&d->completions, 1, __ATOMIC_SEQ_CST);
	}
	__atomic_add_fetch(&d->notified[vq->index], 1, __ATOMIC_SEQ_CST);
}

static void dummy_reset(struct virtio_dev *vdev)
{
	struct dummy *d = vdev->priv;

	d->resets++;
}

static void dummy_destroy(struct virtio_dev *vdev)
{
	struct dummy *d = vdev->priv;

	d->destroys++;
}

static const struct virtio_dev_ops dummy_ops = {
	.config_read = dummy_config_read,
	.config_write = dummy_config_write,
	.queue_notify = dummy_queue_notify,
	.reset = dummy_reset,
	.destroy = dummy_destroy,
};

/* --- Fixture --- */

static struct vqd_env env;
static struct dummy dev;
static uint64_t base;

static bool setup_threads(bool legacy, unsigned int threads)
{
	unsigned int i;

	nr_cleanups = 0;
	stub_ioeventfd_result = 0;
	stub_ioeventfd_assigned = 0;
	if (!CHECK_EQ(vqd_env_init(&env, 1 * MiB, threads), 0))
		return false;
	CHECK_EQ(bus_init(&env.vm.mmio_bus, "mmio"), 0);
	env.vm.cmdline = strdup("console=ttyS0");
	env.vm.cmdline_defaults_len = strlen("console=ttyS0");
	memset(&dev, 0, sizeof(dev));
	for (i = 0; i < CFG_SIZE; i++)
		dev.config[i] = (uint8_t)(0xa0 + i);
	if (!CHECK_EQ(vqd_dev_init(&dev.vdev, &env.vm, &dummy_ops, "dummy0",
				      TEST_DEVICE_ID, NR_QUEUES, QMAX,
				      DEV_FEATURES, CFG_SIZE, &dev), 0))
		return false;
	/* As the device constructors do: the transport's teardown, then the
	 * device's own. */
	env.cfg.transport = legacy ? VIRTIO_TRANSPORT_MMIO_LEGACY :
				     VIRTIO_TRANSPORT_MMIO;
	if (!CHECK_EQ(virtio_dev_add(&env.vm, &dev.vdev), 0))
		return false;
	base = FIRST_BASE;
	return true;
}

static bool setup(bool legacy)
{
	return setup_threads(legacy, 0);
}

static void teardown(void)
{
	run_cleanups();
	bus_destroy(&env.vm.mmio_bus);
	free(env.vm.cmdline);
	vqd_env_destroy(&env);
}

static void mmio_access(uint64_t off, void *data, uint32_t len, bool is_write)
{
	CHECK(bus_dispatch(&env.vm.mmio_bus, base + off, data, len, is_write));
}

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	mmio_access(off, b, 4, false);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	mmio_access(off, b, 4, true);
}

/* Program queue @q (modern layout) with @size entries at the given rings. */
static void setup_queue_v2(unsigned int q, uint32_t size, uint64_t desc,
			   uint64_t avail, uint64_t used)
{
	wr(R_QUEUE_SEL, q);
	wr(R_QUEUE_NUM, size);
	wr(R_DESC_LO, (uint32_t)desc);
	wr(R_DESC_HI, (uint32_t)(desc >> 32));
	wr(R_DRIVER_LO, (uint32_t)avail);
	wr(R_DRIVER_HI, (uint32_t)(avail >> 32));
	wr(R_DEVICE_LO, (uint32_t)used);
	wr(R_DEVICE_HI, (uint32_t)(used >> 32));
	wr(R_QUEUE_READY, 1);
}

/* Rings for @size entries in fake RAM, each on its own page. */
static void alloc_rings(uint32_t size, uint64_t *desc, uint64_t *avail,
			uint64_t *used)
{
	*desc = vqd_alloc(&env, 16 * size, 4096, NULL);
	*avail = vqd_alloc(&env, 6 + 2 * size, 4096, NULL);
	*used = vqd_alloc(&env, 6 + 8 * size, 4096, NULL);
}

static void negotiate_v2(void)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, S_ACK);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1); /* VIRTIO_F_VERSION_1 (bit 32) */
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 0);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
}

/* --- Tests --- */

TEST(identity_v2)
{
	const struct acpi_mmio_dev *a;

	REQUIRE(setup(false));
	CHECK_EQ(rd(R_MAGIC), 0x74726976);
	CHECK_EQ(rd(R_VERSION), 2);
	CHECK_EQ(rd(R_DEVICE_ID), TEST_DEVICE_ID);
	CHECK_EQ(rd(R_VENDOR_ID), 0x4d564b4c); /* "LKVM" */
	CHECK(!dev.vdev.legacy);
	/* The window: exactly 0x200 bytes from the first MMIO allocation. */
	struct bus_range r;
	REQUIRE(bus_find(&env.vm.mmio_bus, base, &r));
	CHECK_EQ(r.start, FIRST_BASE);
	CHECK_EQ(r.len, 0x200);
	CHECK(!bus_find(&env.vm.mmio_bus, base + 0x200, NULL));
	/* Announced: command line and the DSDT list. */
	CHECK_STREQ(env.vm.cmdline,
		    "console=ttyS0 virtio_mmio.device=0x200@0xc0000000:5");
	REQUIRE(env.vm.arch.nr_virtio_mmio == 1);
	a = &env.vm.arch.virtio_mmio[0];
	CHECK_EQ(a->base, FIRST_BASE);
	CHECK_EQ(a->size, 0x200);
	CHECK_EQ(a->irq, FIRST_IRQ);
	/* One ioeventfd per queue on QueueNotify, 4 bytes, datamatch = the
	 * queue index. */
	CHECK_EQ(stub_ioeventfd_assigned, NR_QUEUES);
	CHECK_EQ(stub_ioeventfd_last.addr, base + R_QUEUE_NOTIFY);
	CHECK_EQ(stub_ioeventfd_last.len, 4);
	CHECK(!stub_ioeventfd_last.pio);
	CHECK(stub_ioeventfd_last.match);
	CHECK_EQ(stub_ioeventfd_last.data, NR_QUEUES - 1);
	CHECK_EQ(stub_ioeventfd_last.fd, dev.vdev.vqs[NR_QUEUES - 1].kick_fd);
	CHECK(stub_ioeventfd_last.assign);
	/* Reset state. */
	CHECK_EQ(rd(R_STATUS), 0);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	CHECK_EQ(rd(R_CONFIG_GEN), 0);
	teardown();
}

TEST(identity_v1)
{
	REQUIRE(setup(true));
	CHECK_EQ(rd(R_MAGIC), 0x74726976);
	CHECK_EQ(rd(R_VERSION), 1);
	CHECK_EQ(rd(R_DEVICE_ID), TEST_DEVICE_ID);
	CHECK_EQ(rd(R_VENDOR_ID), 0x4d564b4c);
	CHECK(dev.vdev.legacy);
	/* No VIRTIO_F_VERSION_1 on a legacy transport. */
	wr(R_DEV_FEAT_SEL, 1);
	CHECK_EQ(rd(R_DEV_FEAT) & 1, 0);
	CHECK_EQ(rd(R_DEV_FEAT), (uint32_t)(DEV_FEATURES >> 32));
	teardown();
}

TEST(two_devices)
{
	struct dummy second;

	REQUIRE(setup(false));
	memset(&second, 0, sizeof(second));
	REQUIRE(vqd_dev_init(&second.vdev, &env.vm, &dummy_ops, "dummy1", 7,
				1, QMAX, 0, 0, &second) == 0);
	env.cfg.transport = VIRTIO_TRANSPORT_MMIO_LEGACY;
	REQUIRE(virtio_dev_add(&env.vm, &second.vdev) == 0);
	CHECK_CONTAINS(env.vm.cmdline,
		       " virtio_mmio.device=0x200@0xc0001000:6");
	CHECK_EQ(env.vm.arch.nr_virtio_mmio, 2);
	CHECK_EQ(env.vm.arch.virtio_mmio[1].irq, 6);
	base = FIRST_BASE + 0x1000;
	CHECK_EQ(rd(R_DEVICE_ID), 7);
	CHECK_EQ(rd(R_VERSION), 1);
	base = FIRST_BASE;
	CHECK_EQ(rd(R_DEVICE_ID), TEST_DEVICE_ID);
	CHECK_EQ(rd(R_VERSION), 2);
	teardown();
	CHECK_EQ(second.destroys, 1);
}

TEST(features_v2)
{
	REQUIRE(setup(false));
	wr(R_DEV_FEAT_SEL, 0);
	CHECK_EQ(rd(R_DEV_FEAT), virtio_get_host_features(&dev.vdev, 0));
	CHECK(rd(R_DEV_FEAT) & (1u << 5));
	wr(R_DEV_FEAT_SEL, 1);
	CHECK_EQ(rd(R_DEV_FEAT) & 1, 1);                 /* VERSION_1 */
	CHECK(rd(R_DEV_FEAT) & (1u << (40 - 32)));
	wr(R_DEV_FEAT_SEL, 2);
	CHECK_EQ(rd(R_DEV_FEAT), 0);
	wr(R_DEV_FEAT_SEL, 0xffffffff);
	CHECK_EQ(rd(R_DEV_FEAT), 0);
	CHECK_EQ(rd(R_DEV_FEAT_SEL), 0);                 /* write-only */

	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 1u << 5);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1);
	wr(R_DRV_FEAT_SEL, 2);                           /* no such word */
	wr(R_DRV_FEAT, 0xffffffff);
	CHECK_EQ(dev.vdev.guest_features, (1ULL << 5) | (1ULL << 32));
	CHECK_EQ(rd(R_DRV_FEAT), 0);                     /* write-only */
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK_EQ(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
	/* Fixed once accepted. */
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 0);
	CHECK_EQ(dev.vdev.guest_features, (1ULL << 5) | (1ULL << 32));
	teardown();
}

TEST(features_refused_v2)
{
	REQUIRE(setup(false));
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 1u << 6);                         /* not offered */
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	CHECK_EQ(rd(R_STATUS) & S_FEATURES_OK, 0);
	teardown();
}

TEST(features_v1)
{
	REQUIRE(setup(true));
	wr(R_DEV_FEAT_SEL, 0);
	CHECK_EQ(rd(R_DEV_FEAT), (uint32_t)virtio_get_host_features(&dev.vdev, 0));
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_DRV_FEAT_SEL, 0);
	wr(R_DRV_FEAT, 1u << 5);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_DRV_FEAT, 1u << 8);
	CHECK_EQ(dev.vdev.guest_features, (1ULL << 5) | (1ULL << 40));
	teardown();
}

TEST(queue_setup_v2)
{
	uint64_t desc, avail, used;
	struct virtqueue *vq;

	REQUIRE(setup(false));
	vq = &dev.vdev.vqs[1];
	negotiate_v2();
	wr(R_QUEUE_SEL, 1);
	CHECK_EQ(rd(R_QUEUE_SEL), 0);                    /* write-only */
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), QMAX);
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	CHECK_EQ(rd(R_QUEUE_PFN), 0);                    /* legacy only */
	alloc_rings(8, &desc, &avail, &used);
	/* High halves first, then low: each write replaces one half. */
	wr(R_DESC_HI, 0x12345678);
	wr(R_DESC_HI, 0);
	setup_queue_v2(1, 8, desc, avail, used);
	CHECK_EQ(rd(R_QUEUE_READY), 1);
	CHECK(vq->ready);
	CHECK_EQ(vq->size, 8);
	CHECK_EQ(vq->desc_gpa, desc);
	CHECK_EQ(vq->avail_gpa, avail);
	CHECK_EQ(vq->used_gpa, used);
	CHECK(!dev.vdev.vqs[0].ready);
	/* Write-only registers read 0. */
	CHECK_EQ(rd(R_QUEUE_NUM), 0);
	CHECK_EQ(rd(R_DESC_LO), 0);
	CHECK_EQ(rd(R_DEVICE_HI), 0);
	/* A live queue's layout does not change. */
	wr(R_QUEUE_NUM, 4);
	wr(R_DESC_LO, 0);
	wr(R_DRIVER_LO, 0);
	wr(R_DEVICE_LO, 0);
	wr(R_QUEUE_READY, 1);
	CHECK_EQ(vq->size, 8);
	CHECK_EQ(vq->desc_gpa, desc);
	CHECK_EQ(vq->avail_gpa, avail);
	CHECK_EQ(vq->used_gpa, used);
	/* Before DRIVER_OK the driver may switch a queue off again. */
	wr(R_QUEUE_READY, 0);
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	CHECK(!vq->ready);
	wr(R_QUEUE_READY, 1);
	CHECK_EQ(rd(R_QUEUE_READY), 1);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	/* ...but not once the device runs (no VIRTIO_F_RING_RESET). */
	wr(R_QUEUE_READY, 0);
	CHECK_EQ(rd(R_QUEUE_READY), 1);
	CHECK_EQ(rd(R_QUEUE_RESET), 0);
	wr(R_QUEUE_RESET, 1);
	CHECK_EQ(rd(R_QUEUE_READY), 1);
	/* Legacy registers do nothing on a modern transport. */
	wr(R_QUEUE_PFN, 0);
	CHECK_EQ(rd(R_QUEUE_READY), 1);
	wr(R_GUEST_PAGE_SIZE, 0x10000);
	wr(R_QUEUE_ALIGN, 0x10000);
	CHECK_EQ(rd(R_GUEST_PAGE_SIZE), 0);
	CHECK_EQ(rd(R_QUEUE_ALIGN), 0);
	CHECK_EQ(rd(R_STATUS) & S_NEEDS_RESET, 0);
	teardown();
}

TEST(queue_select_out_of_range)
{
	REQUIRE(setup(false));
	negotiate_v2();
	wr(R_QUEUE_SEL, NR_QUEUES);
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), 0);                /* no such queue */
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	wr(R_QUEUE_NUM, 4);
	wr(R_DESC_LO, 0x1000);
	wr(R_QUEUE_READY, 1);
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	wr(R_QUEUE_SEL, 0xffffffff);
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), 0);
	wr(R_QUEUE_READY, 1);
	wr(R_QUEUE_NOTIFY, 0xffffffff);
	wr(R_QUEUE_NOTIFY, NR_QUEUES);
	for (unsigned int i = 0; i < NR_QUEUES; i++) {
		CHECK_EQ(dev.vdev.vqs[i].size, QMAX);    /* untouched */
		CHECK_EQ(dev.vdev.vqs[i].desc_gpa, 0);
		CHECK(!dev.vdev.vqs[i].ready);
	}
	CHECK_EQ(rd(R_STATUS) & S_NEEDS_RESET, 0);
	teardown();
}

/* Bad ring setup before DRIVER_OK: the queue stays off; DRIVER_OK then
 * reports NEEDS_RESET with a configuration interrupt. */
static void bad_queue_v2(uint32_t size, uint64_t desc, uint64_t avail,
			 uint64_t used)
{
	unsigned int calls;

	REQUIRE(setup(false));
	negotiate_v2();
	setup_queue_v2(0, size, desc, avail, used);
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	CHECK(!dev.vdev.vqs[0].ready);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	calls = stub_irq_line_calls;
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK(rd(R_STATUS) & S_NEEDS_RESET);
	CHECK_EQ(rd(R_INT_STATUS), 2);                   /* config change */
	CHECK_EQ(stub_irq_line_calls, calls + 1);
	CHECK_EQ(stub_irq_line_last_irq, FIRST_IRQ);
	CHECK_EQ(stub_irq_line_last_level, 1);
	/* A reset clears it all. */
	wr(R_STATUS, 0);
	CHECK_EQ(rd(R_STATUS), 0);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	CHECK_EQ(stub_irq_line_last_level, 0);
	/* ...and a good setup afterwards is not reported. */
	uint64_t d, a, u;
	alloc_rings(8, &d, &a, &u);
	negotiate_v2();
	setup_queue_v2(0, 8, d, a, u);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	teardown();
}

TEST(queue_ready_bad_address)
{
	/* Outside guest RAM. */
	bad_queue_v2(8, 0x1000, 0x2000, 0x3000);
}

TEST(queue_ready_high_address)
{
	/* In RAM but for the high half (set through DescHigh). */
	bad_queue_v2(8, (1ULL << 32) | VQD_RAM_GPA, VQD_RAM_GPA + 0x1000,
		     VQD_RAM_GPA + 0x2000);
}

TEST(queue_ready_bad_size)
{
	bad_queue_v2(6, VQD_RAM_GPA, VQD_RAM_GPA + 0x1000,
		     VQD_RAM_GPA + 0x2000);                  /* not 2^n */
}

TEST(queue_ready_oversize)
{
	bad_queue_v2(0x10000 + 8, VQD_RAM_GPA, VQD_RAM_GPA + 0x1000,
		     VQD_RAM_GPA + 0x2000);   /* must not wrap to 8 */
}

TEST(queue_ready_misaligned)
{
	bad_queue_v2(8, VQD_RAM_GPA + 8, VQD_RAM_GPA + 0x1000,
		     VQD_RAM_GPA + 0x2000);
}

TEST(queue_ready_bad_after_driver_ok)
{
	uint64_t d, a, u;

	REQUIRE(setup(false));
	negotiate_v2();
	alloc_rings(8, &d, &a, &u);
	setup_queue_v2(0, 8, d, a, u);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	CHECK_EQ(rd(R_STATUS) & S_NEEDS_RESET, 0);
	/* A hostile driver enables queue 1 late, with a broken ring. */
	setup_queue_v2(1, 8, 0xfffffffffffff000ULL, a, u);
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	CHECK(rd(R_STATUS) & S_NEEDS_RESET);
	CHECK_EQ(rd(R_INT_STATUS), 2);
	CHECK_EQ(stub_irq_line_last_level, 1);
	teardown();
}

TEST(queue_setup_v1)
{
	struct virtqueue *vq;
	uint64_t ring;

	REQUIRE(setup(true));
	vq = &dev.vdev.vqs[0];
	wr(R_GUEST_PAGE_SIZE, 4096);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_QUEUE_SEL, 0);
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), QMAX);
	CHECK_EQ(rd(R_QUEUE_PFN), 0);                    /* not in use */
	CHECK_EQ(rd(R_QUEUE_READY), 0);                  /* modern only */
	ring = vqd_alloc(&env, 3 * 4096, 4096, NULL);
	REQUIRE(ring != 0);
	wr(R_QUEUE_NUM, 8);
	wr(R_QUEUE_ALIGN, 4096);
	wr(R_QUEUE_PFN, (uint32_t)(ring >> 12));
	CHECK_EQ(rd(R_QUEUE_PFN), ring >> 12);
	CHECK(vq->ready);
	CHECK_EQ(vq->size, 8);
	CHECK_EQ(vq->desc_gpa, ring);
	CHECK_EQ(vq->avail_gpa, ring + 16 * 8);
	CHECK_EQ(vq->used_gpa, ring + 4096);             /* QueueAlign */
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	/* Modern queue registers do nothing on a legacy transport. */
	wr(R_DESC_LO, 0x5000);
	wr(R_DRIVER_LO, 0x6000);
	wr(R_DEVICE_LO, 0x7000);
	CHECK_EQ(vq->desc_gpa, ring);
	/* Queue 1: a smaller QueueAlign and GuestPageSize. */
	wr(R_QUEUE_SEL, 1);
	CHECK_EQ(rd(R_QUEUE_PFN), 0);
	ring = vqd_alloc(&env, 2 * 4096, 4096, NULL);
	wr(R_GUEST_PAGE_SIZE, 1024);
	wr(R_QUEUE_NUM, 4);
	wr(R_QUEUE_ALIGN, 256);
	wr(R_QUEUE_PFN, (uint32_t)(ring >> 10));
	vq = &dev.vdev.vqs[1];
	CHECK(vq->ready);
	CHECK_EQ(vq->desc_gpa, ring);
	CHECK_EQ(vq->avail_gpa, ring + 64);
	CHECK_EQ(vq->used_gpa, ring + 256);              /* 64 + 6 + 8 -> 256 */
	CHECK_EQ(rd(R_QUEUE_PFN), ring >> 10);
	/* Non-powers of two are ignored (the previous value stays). */
	wr(R_GUEST_PAGE_SIZE, 3000);
	CHECK_EQ(rd(R_QUEUE_PFN), ring >> 10);
	/* PFN 0 before DRIVER_OK releases the queue (Linux's del_vq). */
	wr(R_QUEUE_PFN, 0);
	CHECK_EQ(rd(R_QUEUE_PFN), 0);
	CHECK(!vq->ready);
	/* A legacy driver goes straight to DRIVER_OK. */
	wr(R_QUEUE_PFN, (uint32_t)(ring >> 10));
	wr(R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	CHECK_EQ(rd(R_STATUS), S_ACK | S_DRIVER | S_DRIVER_OK);
	/* A live queue is neither released nor moved. */
	wr(R_QUEUE_PFN, 0);
	CHECK(vq->ready);
	wr(R_QUEUE_PFN, (uint32_t)(ring >> 10) + 1);
	CHECK_EQ(vq->desc_gpa, ring);
	/* No modern-only registers on a legacy transport. */
	CHECK_EQ(rd(R_CONFIG_GEN), 0);
	CHECK_EQ(rd(R_SHM_LEN_LO), 0);
	CHECK_EQ(rd(R_STATUS) & S_NEEDS_RESET, 0);
	teardown();
}

TEST(queue_pfn_bad_v1)
{
	REQUIRE(setup(true));
	wr(R_GUEST_PAGE_SIZE, 4096);
	wr(R_STATUS, S_ACK | S_DRIVER);
	wr(R_QUEUE_SEL, 0);
	wr(R_QUEUE_NUM, 8);
	/* Far beyond RAM: the page number times 64 KiB pages. */
	wr(R_GUEST_PAGE_SIZE, 0x10000);
	wr(R_QUEUE_PFN, 0xffffffff);
	CHECK(!dev.vdev.vqs[0].ready);
	CHECK_EQ(rd(R_QUEUE_PFN), 0);
	/* A used ring that would run off the end of RAM. */
	wr(R_GUEST_PAGE_SIZE, 4096);
	wr(R_QUEUE_PFN, (uint32_t)((VQD_RAM_GPA + env.ram_size - 4096) >> 12));
	CHECK(!dev.vdev.vqs[0].ready);
	wr(R_STATUS, S_ACK | S_DRIVER | S_DRIVER_OK);
	CHECK(rd(R_STATUS) & S_NEEDS_RESET);
	CHECK_EQ(rd(R_INT_STATUS), 2);
	teardown();
}

static int read_kick(int fd, uint64_t *cnt)
{
	return read(fd, cnt, sizeof(*cnt)) == sizeof(*cnt) ? 0 : -1;
}

TEST(notify_userspace_path)
{
	uint64_t cnt = 0;

	/* No KVM ioeventfd: QueueNotify writes exit to the bus handler. */
	nr_cleanups = 0;
	stub_ioeventfd_result = -ENOSYS;
	REQUIRE(vqd_env_init(&env, 1 * MiB, 0) == 0);
	CHECK_EQ(bus_init(&env.vm.mmio_bus, "mmio"), 0);
	memset(&dev, 0, sizeof(dev));
	REQUIRE(vqd_dev_init(&dev.vdev, &env.vm, &dummy_ops, "dummy0",
				TEST_DEVICE_ID, NR_QUEUES, QMAX, 0, CFG_SIZE,
				&dev) == 0);
	env.cfg.transport = VIRTIO_TRANSPORT_MMIO;
	REQUIRE(virtio_dev_add(&env.vm, &dev.vdev) == 0);
	stub_ioeventfd_result = 0;
	base = FIRST_BASE;
	/* The command line starts empty: no leading space. */
	CHECK_STREQ(env.vm.cmdline, "virtio_mmio.device=0x200@0xc0000000:5");

	wr(R_QUEUE_NOTIFY, 1);
	CHECK_EQ(read_kick(dev.vdev.vqs[1].kick_fd, &cnt), 0);
	CHECK_EQ(cnt, 1);
	CHECK(read_kick(dev.vdev.vqs[0].kick_fd, &cnt) < 0); /* not kicked */
	wr(R_QUEUE_NOTIFY, 0);
	wr(R_QUEUE_NOTIFY, 0);
	CHECK_EQ(read_kick(dev.vdev.vqs[0].kick_fd, &cnt), 0);
	CHECK_EQ(cnt, 2);
	/* Other widths are not notifications. */
	uint16_t half = 1;
	mmio_access(R_QUEUE_NOTIFY, &half, 2, true);
	CHECK(read_kick(dev.vdev.vqs[1].kick_fd, &cnt) < 0);
	/* Teardown unassigns nothing that was not assigned. */
	unsigned int calls = stub_ioeventfd_calls;
	teardown();
	CHECK_EQ(stub_ioeventfd_calls, calls);
	CHECK_EQ(dev.destroys, 1);
}

static bool wait_for(const unsigned int *counter, unsigned int want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

/* The whole path with worker threads: a kick written to QueueNotify
 * reaches the device's queue handler, which completes a request, and the
 * completion raises InterruptStatus bit 0 and the line. */
TEST(notify_to_interrupt)
{
	uint64_t d, a, u;
	struct vqd_queue q;
	uint32_t id, len;
	void *buf;

	REQUIRE(setup_threads(false, 2));
	dev.complete_requests = true;
	negotiate_v2();
	alloc_rings(8, &d, &a, &u);
	setup_queue_v2(0, 8, d, a, u);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	REQUIRE(rd(R_STATUS) == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK));

	memset(&q, 0, sizeof(q));
	q.env = &env;
	q.vq = &dev.vdev.vqs[0];
	q.size = 8;
	q.desc_gpa = d;
	q.avail_gpa = a;
	q.used_gpa = u;
	q.desc = vqd_hva(&env, d);
	q.avail = vqd_hva(&env, a);
	q.used = vqd_hva(&env, u);
	struct vqd_buf b = { vqd_alloc(&env, 64, 16, &buf), 64, true };
	REQUIRE(vqd_add(&q, &b, 1) >= 0);

	wr(R_QUEUE_NOTIFY, 0);
	CHECK(wait_for(&dev.completions, 1));
	CHECK(wait_for(&dev.notified[0], 1));
	CHECK(vqd_get_used(&q, &id, &len));
	for (int i = 0; i < 2000 && !(rd(R_INT_STATUS) & 1); i++)
		usleep(1000);
	CHECK_EQ(rd(R_INT_STATUS), 1);
	CHECK_EQ(stub_irq_line_last_irq, FIRST_IRQ);
	CHECK_EQ(stub_irq_line_last_level, 1);
	wr(R_INT_ACK, 1);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	CHECK_EQ(stub_irq_line_last_level, 0);
	CHECK_EQ(dev.notified[1], 0);
	/* Reset with workers running: quiesced, then all clear. */
	unsigned int resets = dev.resets;
	wr(R_STATUS, 0);
	CHECK_EQ(rd(R_STATUS), 0);
	CHECK_EQ(dev.resets, resets + 1);
	teardown();
}

TEST(interrupt_status_ack)
{
	unsigned int calls;
	struct virtio_dev *vdev;

	REQUIRE(setup(false));
	vdev = &dev.vdev;
	REQUIRE(vdev->irq != NULL);
	calls = stub_irq_line_calls;
	vdev->irq->signal_queue(vdev->irq, 0);
	CHECK_EQ(rd(R_INT_STATUS), 1);
	CHECK_EQ(stub_irq_line_calls, calls + 1);
	CHECK_EQ(stub_irq_line_last_irq, FIRST_IRQ);
	CHECK_EQ(stub_irq_line_last_level, 1);
	/* Already high: a second vring interrupt changes nothing. */
	vdev->irq->signal_queue(vdev->irq, 1);
	CHECK_EQ(stub_irq_line_calls, calls + 1);
	/* Config change: bit 1, and ConfigGeneration moves. */
	virtio_config_changed(vdev);
	CHECK_EQ(rd(R_INT_STATUS), 3);
	CHECK_EQ(rd(R_CONFIG_GEN), 1);
	CHECK_EQ(stub_irq_line_calls, calls + 1);
	/* Read-only: writing InterruptStatus does nothing. */
	wr(R_INT_STATUS, 0);
	CHECK_EQ(rd(R_INT_STATUS), 3);
	CHECK_EQ(rd(R_INT_ACK), 0);                      /* write-only */
	/* Acknowledging nothing changes nothing. */
	wr(R_INT_ACK, 0);
	CHECK_EQ(rd(R_INT_STATUS), 3);
	CHECK_EQ(stub_irq_line_calls, calls + 1);
	/* A partial ACK keeps the line high, with a fresh edge. */
	wr(R_INT_ACK, 1);
	CHECK_EQ(rd(R_INT_STATUS), 2);
	CHECK_EQ(stub_irq_line_last_level, 1);
	CHECK_EQ(stub_irq_line_calls, calls + 3);
	/* The last bit lowers it; unknown bits are harmless. */
	wr(R_INT_ACK, 0xfffffffe);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	CHECK_EQ(stub_irq_line_last_level, 0);
	CHECK_EQ(stub_irq_line_calls, calls + 4);
	wr(R_INT_ACK, 0xffffffff);
	CHECK_EQ(stub_irq_line_calls, calls + 4);
	/* And again from zero. */
	vdev->irq->signal_config(vdev->irq);
	CHECK_EQ(rd(R_INT_STATUS), 2);
	CHECK_EQ(stub_irq_line_last_level, 1);
	teardown();
}

static void *signal_thread(void *arg)
{
	struct virtio_dev *vdev = arg;

	for (int i = 0; i < 2000; i++) {
		if (i & 1)
			vdev->irq->signal_queue(vdev->irq, 0);
		else
			vdev->irq->signal_config(vdev->irq);
	}
	return NULL;
}

/* Signals from workers race ACKs from vCPUs: the line ends up matching
 * InterruptStatus and nothing deadlocks. */
TEST(interrupt_concurrency)
{
	pthread_t t[3];
	unsigned int i;

	REQUIRE(setup(false));
	for (i = 0; i < 3; i++)
		REQUIRE(pthread_create(&t[i], NULL, signal_thread, &dev.vdev) == 0);
	for (i = 0; i < 3000; i++) {
		uint32_t st = rd(R_INT_STATUS);
		if (st)
			wr(R_INT_ACK, st);
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(stub_irq_line_last_level, rd(R_INT_STATUS) != 0);
	wr(R_INT_ACK, 3);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	CHECK_EQ(stub_irq_line_last_level, 0);
	teardown();
}

TEST(status_and_reset)
{
	uint64_t d, a, u;

	REQUIRE(setup(false));
	negotiate_v2();
	CHECK_EQ(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
	alloc_rings(8, &d, &a, &u);
	setup_queue_v2(1, 8, d, a, u);
	wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	dev.vdev.irq->signal_queue(dev.vdev.irq, 1);
	wr(R_DEV_FEAT_SEL, 1);
	wr(R_DRV_FEAT_SEL, 1);
	wr(R_SHM_SEL, 3);
	CHECK_EQ(rd(R_INT_STATUS), 1);
	CHECK_EQ(stub_irq_line_last_level, 1);
	/* Only the byte counts: a write of 0x100 is a write of 0, a reset. */
	unsigned int resets = dev.resets;
	wr(R_STATUS, 0x100);
	CHECK_EQ(rd(R_STATUS), 0);
	CHECK_EQ(dev.resets, resets + 1);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	CHECK_EQ(stub_irq_line_last_level, 0);
	CHECK(!dev.vdev.vqs[1].ready);
	CHECK_EQ(dev.vdev.guest_features, 0);
	/* The selectors are back to 0. */
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), QMAX);             /* QueueSel 0 */
	CHECK_EQ(rd(R_DEV_FEAT), virtio_get_host_features(&dev.vdev, 0));
	/* The queue is set up again from scratch. */
	wr(R_QUEUE_SEL, 1);
	CHECK_EQ(rd(R_QUEUE_READY), 0);
	negotiate_v2();
	setup_queue_v2(1, 8, d, a, u);
	CHECK_EQ(rd(R_QUEUE_READY), 1);
	/* The driver cannot clear bits (other than by resetting) or set
	 * NEEDS_RESET itself. */
	wr(R_STATUS, S_ACK | S_NEEDS_RESET);
	CHECK_EQ(rd(R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
	teardown();
}

TEST(config_space)
{
	uint8_t b[8];
	uint16_t h;
	uint32_t w;
	uint64_t q;

	REQUIRE(setup(false));
	/* Any width. */
	mmio_access(R_CONFIG + 1, b, 1, false);
	CHECK_EQ(b[0], 0xa1);
	mmio_access(R_CONFIG + 2, &h, 2, false);
	CHECK_EQ(h, 0xa3a2);
	w = rd(R_CONFIG + 4);
	CHECK_EQ(w, 0xa7a6a5a4);
	mmio_access(R_CONFIG, &q, 8, false);
	CHECK_EQ(q, 0xa7a6a5a4a3a2a1a0ULL);
	/* Writes reach the device. */
	wr(R_CONFIG + 4, 0x11223344);
	CHECK_EQ(dev.config[4], 0x44);
	CHECK_EQ(dev.config[7], 0x11);
	b[0] = 0x55;
	mmio_access(R_CONFIG + 1, b, 1, true);
	CHECK_EQ(dev.config[1], 0x55);
	/* Past config_size: reads 0, writes go nowhere. */
	memset(b, 0xee, sizeof(b));
	mmio_access(R_CONFIG + 6, b, 4, false);
	CHECK_EQ(b[0] | b[1] | b[2] | b[3], 0);
	mmio_access(R_CONFIG + 6, b, 4, true);
	CHECK_EQ(dev.config[6], 0x22);
	CHECK_EQ(rd(R_CONFIG + 0x80), 0);
	CHECK_EQ(rd(0x1fc), 0);
	wr(0x1fc, 0xffffffff);
	memset(b, 0xee, sizeof(b));
	mmio_access(0x1f8, b, 8, false);
	for (unsigned int i = 0; i < 8; i++)
		CHECK_EQ(b[i], 0);
	/* Past the window: not this device's. */
	CHECK(!bus_dispatch(&env.vm.mmio_bus, base + 0x1fe, b, 4, false));
	CHECK(!bus_dispatch(&env.vm.mmio_bus, base + 0x200, b, 1, false));
	teardown();
}

TEST(register_widths)
{
	static const uint32_t lens[] = { 1, 2, 8 };
	uint8_t b[8];
	unsigned int i, j;

	REQUIRE(setup(false));
	/* Reads of other widths give 0, whatever the register. */
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		for (uint64_t off = 0; off + lens[i] <= 0x100; off += lens[i]) {
			memset(b, 0xee, sizeof(b));
			mmio_access(off, b, lens[i], false);
			for (j = 0; j < lens[i]; j++)
				CHECK_EQ(b[j], 0);
		}
	}
	/* Misaligned 32-bit reads too. */
	for (uint64_t off = 1; off < 0xfc; off++) {
		if (!(off & 3))
			continue;
		memset(b, 0xee, sizeof(b));
		mmio_access(off, b, 4, false);
		CHECK_EQ(b[0] | b[1] | b[2] | b[3], 0);
	}
	/* Writes of other widths are ignored. */
	b[0] = S_ACK;
	mmio_access(R_STATUS, b, 1, true);
	mmio_access(R_STATUS, b, 2, true);
	memset(b, 0, sizeof(b));
	b[0] = S_ACK;
	mmio_access(R_STATUS, b, 8, true);
	mmio_access(R_STATUS + 1, b, 4, true);
	CHECK_EQ(rd(R_STATUS), 0);
	b[0] = NR_QUEUES; /* would select no queue: QueueNumMax 0 */
	mmio_access(R_QUEUE_SEL, b, 2, true);
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), QMAX);
	mmio_access(R_INT_ACK, b, 1, true);
	teardown();
}

TEST(read_only_and_reserved)
{
	uint64_t off;

	REQUIRE(setup(false));
	/* Identification cannot be overwritten. */
	wr(R_MAGIC, 0);
	wr(R_VERSION, 1);
	wr(R_DEVICE_ID, 1);
	wr(R_VENDOR_ID, 0);
	wr(R_DEV_FEAT, 0);
	wr(R_QUEUE_NUM_MAX, 1);
	wr(R_CONFIG_GEN, 9);
	CHECK_EQ(rd(R_MAGIC), 0x74726976);
	CHECK_EQ(rd(R_VERSION), 2);
	CHECK_EQ(rd(R_DEVICE_ID), TEST_DEVICE_ID);
	CHECK_EQ(rd(R_VENDOR_ID), 0x4d564b4c);
	CHECK_EQ(rd(R_DEV_FEAT), virtio_get_host_features(&dev.vdev, 0));
	CHECK_EQ(rd(R_QUEUE_NUM_MAX), QMAX);
	CHECK_EQ(rd(R_CONFIG_GEN), 0);
	/* Shared memory: none, length -1 for every SHMSel. */
	for (uint32_t sel = 0; sel < 3; sel++) {
		wr(R_SHM_SEL, sel);
		CHECK_EQ(rd(R_SHM_LEN_LO), 0xffffffff);
		CHECK_EQ(rd(R_SHM_LEN_HI), 0xffffffff);
		CHECK_EQ(rd(R_SHM_BASE_LO), 0xffffffff);
		CHECK_EQ(rd(R_SHM_BASE_HI), 0xffffffff);
	}
	CHECK_EQ(rd(R_SHM_SEL), 0);
	/* Reserved words read 0; writing them does nothing (every 32-bit
	 * offset that is not a register the driver writes). */
	static const uint64_t reserved[] = { 0x018, 0x01c, 0x02c, 0x048,
					     0x04c, 0x054, 0x05c, 0x068,
					     0x074, 0x088, 0x098, 0x0a8,
					     0x0c4, 0x0f0, 0x0f8 };
	for (unsigned int i = 0; i < ARRAY_SIZE(reserved); i++) {
		wr(reserved[i], 0xffffffff);
		CHECK_EQ(rd(reserved[i]), 0);
	}
	/* Nothing above changed any state. */
	CHECK_EQ(rd(R_STATUS), 0);
	CHECK_EQ(rd(R_INT_STATUS), 0);
	for (off = 0; off < NR_QUEUES; off++)
		CHECK(!dev.vdev.vqs[off].ready);
	teardown();
}

TEST(teardown_releases)
{
	REQUIRE(setup(false));
	CHECK_EQ(stub_ioeventfd_assigned, NR_QUEUES);
	CHECK_EQ(nr_cleanups, 2); /* the transport's, then the device's */
	run_cleanups();
	CHECK_EQ(stub_ioeventfd_assigned, 0);
	CHECK(!stub_ioeventfd_last.assign);
	CHECK_EQ(stub_ioeventfd_last.addr, FIRST_BASE + R_QUEUE_NOTIFY);
	CHECK(!bus_find(&env.vm.mmio_bus, FIRST_BASE, NULL));
	CHECK_EQ(dev.destroys, 1);
	teardown();
}

static void squatter_io(void *opaque, uint64_t off, uint8_t *data,
			uint32_t len, bool is_write)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
	(void)is_write;
}

TEST(attach_failures)
{
	unsigned int calls;

	/* No interrupt line left. */
	REQUIRE(vqd_env_init(&env, 1 * MiB, 0) == 0);
	nr_cleanups = 0;
	stub_ioeventfd_result = 0;
	stub_ioeventfd_assigned = 0;
	CHECK_EQ(bus_init(&env.vm.mmio_bus, "mmio"), 0);
	memset(&dev, 0, sizeof(dev));
	REQUIRE(vqd_dev_init(&dev.vdev, &env.vm, &dummy_ops, "dummy0",
				TEST_DEVICE_ID, NR_QUEUES, QMAX, 0, CFG_SIZE,
				&dev) == 0);
	env.vm.arch.next_irq_line = 1000;
	CHECK_EQ(virtio_mmio_attach(&env.vm, &dev.vdev, false), -ENOSPC);
	CHECK_NULL(dev.vdev.irq);
	CHECK_EQ(nr_cleanups, 0);
	CHECK_NULL(env.vm.cmdline);
	CHECK_EQ(env.vm.arch.nr_virtio_mmio, 0);
	/* The address range is in use: the bus refuses the window. */
	env.vm.arch.next_irq_line = 0;
	env.vm.arch.mmio_next = 0;
	REQUIRE(bus_register(&env.vm.mmio_bus, FIRST_BASE, 0x1000, squatter_io,
			     NULL, "squatter") == 0);
	CHECK(virtio_mmio_attach(&env.vm, &dev.vdev, false) < 0);
	CHECK_NULL(dev.vdev.irq);
	CHECK_EQ(stub_ioeventfd_assigned, 0);
	bus_unregister(&env.vm.mmio_bus, FIRST_BASE);
	/* The announcement fails (the DSDT list is full): everything done
	 * so far is undone, and the device is still its creator's. */
	env.vm.arch.mmio_next = 0;
	env.vm.arch.next_irq_line = 0;
	env.vm.arch.nr_virtio_mmio = ARRAY_SIZE(env.vm.arch.virtio_mmio);
	calls = stub_ioeventfd_calls;
	CHECK_EQ(virtio_mmio_attach(&env.vm, &dev.vdev, false), -ENOSPC);
	CHECK_EQ(stub_ioeventfd_calls, calls + 2 * NR_QUEUES);
	CHECK_EQ(stub_ioeventfd_assigned, 0);
	CHECK(!bus_find(&env.vm.mmio_bus, FIRST_BASE, NULL));
	CHECK_NULL(dev.vdev.irq);
	CHECK_EQ(nr_cleanups, 0);
	CHECK_EQ(dev.destroys, 0);
	virtio_dev_destroy(&dev.vdev);
	CHECK_EQ(dev.destroys, 1);
	bus_destroy(&env.vm.mmio_bus);
	vqd_env_destroy(&env);
}

/* --- x86 announcement --- */

TEST(announce_x86)
{
	struct vm *vm;

	REQUIRE(vqd_env_init(&env, 1 * MiB, 0) == 0);
	vm = &env.vm;
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0xd0000000, 0x200, 16), 0);
	CHECK_STREQ(vm->cmdline, "virtio_mmio.device=0x200@0xd0000000:16");
	vm->cmdline[0] = '\0';
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0xd0001000, 0x1000, 23), 0);
	CHECK_STREQ(vm->cmdline, "virtio_mmio.device=0x1000@0xd0001000:23");
	CHECK_EQ(vm->arch.nr_virtio_mmio, 2);
	CHECK_EQ(vm->arch.virtio_mmio[1].base, 0xd0001000);
	CHECK_EQ(vm->arch.virtio_mmio[1].size, 0x1000);
	CHECK_EQ(vm->arch.virtio_mmio[1].irq, 23);
	/* Nothing ACPI could not describe: above 4 GiB, no IOAPIC pin. */
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0xfffffe00, 0x400, 5), -EINVAL);
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0x100000000ULL, 0x200, 5),
		 -EINVAL);
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0xd0000000, 0, 5), -EINVAL);
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0xd0000000, 0x200, 24), -EINVAL);
	CHECK_EQ(vm->arch.nr_virtio_mmio, 2);
	CHECK_STREQ(vm->cmdline, "virtio_mmio.device=0x1000@0xd0001000:23");
	/* The list holds one device per IOAPIC pin. */
	while (vm->arch.nr_virtio_mmio < X86_IOAPIC_PINS)
		CHECK_EQ(arch_virtio_mmio_announce(vm, 0xd0000000, 0x200, 5), 0);
	CHECK_EQ(arch_virtio_mmio_announce(vm, 0xd0000000, 0x200, 5), -ENOSPC);
	free(vm->cmdline);
	vqd_env_destroy(&env);
}

int main(void)
{
	RUN(identity_v2);
	RUN(identity_v1);
	RUN(two_devices);
	RUN(features_v2);
	RUN(features_refused_v2);
	RUN(features_v1);
	RUN(queue_setup_v2);
	RUN(queue_select_out_of_range);
	RUN(queue_ready_bad_address);
	RUN(queue_ready_high_address);
	RUN(queue_ready_bad_size);
	RUN(queue_ready_oversize);
	RUN(queue_ready_misaligned);
	RUN(queue_ready_bad_after_driver_ok);
	RUN(queue_setup_v1);
	RUN(queue_pfn_bad_v1);
	RUN(notify_userspace_path);
	RUN(notify_to_interrupt);
	RUN(interrupt_status_ack);
	RUN(interrupt_concurrency);
	RUN(status_and_reset);
	RUN(config_space);
	RUN(register_widths);
	RUN(read_only_and_reserved);
	RUN(teardown_releases);
	RUN(attach_failures);
	RUN(announce_x86);
	return test_summary();
}
