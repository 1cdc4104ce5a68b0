// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio core and split virtqueues against a host-side "guest driver"
 * (vq_driver.c): feature negotiation, status handling, ring validation,
 * normal and hostile descriptor chains, interrupt and kick suppression,
 * index wrap-around, and reset quiescing with real worker threads.
 * Runs under ASan/UBSan with guard pages around the fake RAM: any access
 * outside guest RAM is a crash.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "lkvm/virtio.h"
#include "test.h"
#include "vq_driver.h"

#define F(bit) (1ULL << (bit))
#define QSIZE 16

/* --- A test device --- */

struct tdev {
	struct virtio_dev vdev;
	int notify_calls;     /* atomics */
	int in_handler;
	int max_in_handler;
	int sleep_ms;
	int reset_calls;
	int handler_at_reset; /* handlers running when ops->reset ran */
	int start_ret;
	bool refuse_features;
	bool autocomplete;    /* queue_notify pops and completes everything */
	int completed;
	int last_pop;
	bool offload;         /* t_start offloads queue 0 (vhost's way) */
	int call_fd;          /* what virtq_offload() returned */
	uint8_t cfg[8];
};

static struct tdev *to_tdev(struct virtio_dev *vdev)
{
	return vdev->priv;
}

static void t_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct tdev *t = to_tdev(vdev);
	int now = __atomic_add_fetch(&t->in_handler, 1, __ATOMIC_SEQ_CST);
	int max = __atomic_load_n(&t->max_in_handler, __ATOMIC_SEQ_CST);

	while (now > max && !__atomic_compare_exchange_n(
				    &t->max_in_handler, &max, now, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	__atomic_add_fetch(&t->notify_calls, 1, __ATOMIC_SEQ_CST);
	if (t->sleep_ms)
		usleep((useconds_t)t->sleep_ms * 1000);
	if (t->autocomplete) {
		struct iovec iov[8];
		struct virtq_chain c;
		int r;

		while ((r = virtq_pop(vq, &c, iov, ARRAY_SIZE(iov))) != 0) {
			__atomic_store_n(&t->last_pop, r, __ATOMIC_SEQ_CST);
			if (r == -EIO)
				break;
			virtq_complete(vq, c.head,
				       r == 1 ? (uint32_t)c.in_len : 0);
			__atomic_add_fetch(&t->completed, 1, __ATOMIC_SEQ_CST);
		}
	}
	__atomic_sub_fetch(&t->in_handler, 1, __ATOMIC_SEQ_CST);
}

static void t_reset(struct virtio_dev *vdev)
{
	struct tdev *t = to_tdev(vdev);

	__atomic_add_fetch(&t->reset_calls, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&t->handler_at_reset,
			   __atomic_load_n(&t->in_handler, __ATOMIC_SEQ_CST),
			   __ATOMIC_SEQ_CST);
}

static int t_start(struct virtio_dev *vdev)
{
	struct tdev *t = to_tdev(vdev);

	if (t->offload) {
		t->call_fd = virtq_offload(&vdev->vqs[0]);
		if (t->call_fd < 0)
			return t->call_fd;
	}
	return t->start_ret;
}

static bool t_features_ok(struct virtio_dev *vdev)
{
	return !to_tdev(vdev)->refuse_features;
}

static int t_cfg_reads;

static void t_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			  uint32_t len)
{
	t_cfg_reads++;
	memcpy(data, to_tdev(vdev)->cfg + off, len);
}

static void t_config_write(struct virtio_dev *vdev, uint32_t off,
			   const void *data, uint32_t len)
{
	memcpy(to_tdev(vdev)->cfg + off, data, len);
}

static const struct virtio_dev_ops tdev_ops = {
	.config_read = t_config_read,
	.config_write = t_config_write,
	.features_ok = t_features_ok,
	.start = t_start,
	.queue_notify = t_queue_notify,
	.reset = t_reset,
};

#define DEV_FEATURE F(5) /* some device-specific bit */

struct fixture {
	struct vqd_env env;
	struct tdev t;
	struct vqd_queue q;
};

/* Device with 2 queues, negotiated with @features (0 = all offered),
 * queue 0 set up with QSIZE entries, DRIVER_OK. */
static bool fx_init(struct fixture *fx, unsigned int threads,
		    uint64_t features)
{
	memset(fx, 0, sizeof(*fx));
	if (!CHECK_EQ(vqd_env_init(&fx->env, 2 * MiB, threads), 0))
		return false;
	if (!CHECK_EQ(vqd_dev_init(&fx->t.vdev, &fx->env.vm, &tdev_ops,
				      "vtest", VIRTIO_ID_BLOCK, 2, 256,
				      DEV_FEATURE, sizeof(fx->t.cfg), &fx->t),
		      0))
		return false;
	vqd_attach(&fx->env, &fx->t.vdev);
	if (!features)
		features = fx->t.vdev.host_features;
	if (!CHECK(vqd_negotiate(&fx->t.vdev, features) &
		   VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	if (!CHECK_EQ(vqd_queue_setup(&fx->q, &fx->env, &fx->t.vdev.vqs[0],
				      QSIZE), 0))
		return false;
	return CHECK(vqd_driver_ok(&fx->t.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void fx_fini(struct fixture *fx)
{
	virtio_dev_destroy(&fx->t.vdev);
	vqd_env_destroy(&fx->env);
}

static struct vqd_buf buf(struct fixture *fx, uint32_t len, bool write)
{
	struct vqd_buf b = { vqd_alloc(&fx->env, len, 16, NULL), len, write };
	return b;
}

static bool needs_reset(struct fixture *fx)
{
	return virtio_get_status(&fx->t.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

/* Poll @p (an int) until it reaches @want, up to 5 s. */
static bool wait_for(int *p, int want)
{
	int i;

	for (i = 0; i < 5000; i++) {
		if (__atomic_load_n(p, __ATOMIC_SEQ_CST) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

/* --- Device setup and feature negotiation --- */

TEST(init_defaults)
{
	struct vqd_env env;
	struct tdev t = { 0 };
	struct virtio_dev *v = &t.vdev;

	REQUIRE(vqd_env_init(&env, 1 * MiB, 0) == 0);
	REQUIRE(vqd_dev_init(v, &env.vm, &tdev_ops, "vtest", VIRTIO_ID_RNG,
				3, 64, DEV_FEATURE, 0, &t) == 0);
	CHECK_EQ(v->nr_queues, 3);
	CHECK(v->host_features & DEV_FEATURE);
	CHECK(v->host_features & F(VIRTIO_F_VERSION_1));
	CHECK(v->host_features & F(VIRTIO_RING_F_EVENT_IDX));
	CHECK(v->host_features & F(VIRTIO_RING_F_INDIRECT_DESC));
	CHECK_EQ(virtio_get_host_features(v, 1) & 1, 1); /* VERSION_1 = 32 */
	CHECK_EQ(virtio_get_host_features(v, 2), 0);
	CHECK_EQ(v->vqs[2].max_size, 64);
	CHECK_EQ(v->vqs[2].size, 64);
	CHECK(v->vqs[2].kick_fd >= 0);
	CHECK(!v->vqs[2].ready);
	CHECK_NULL(v->loop); /* no workers: queues are driven by hand */
	CHECK_EQ(virtio_get_status(v), 0);
	virtio_dev_destroy(v);

	/* Bad queue sizes are refused. */
	CHECK_EQ(vqd_dev_init(v, &env.vm, &tdev_ops, "x", 4, 1, 0, 0, 0,
				 &t), -EINVAL);
	CHECK_EQ(vqd_dev_init(v, &env.vm, &tdev_ops, "x", 4, 1, 48, 0, 0,
				 &t), -EINVAL);
	CHECK_EQ(vqd_dev_init(v, &env.vm, &tdev_ops, "x", 4, 1, 2048, 0, 0,
				 &t), -EINVAL);
	vqd_env_destroy(&env);
}

TEST(negotiation_accepts_offered_subset)
{
	struct fixture fx;

	REQUIRE(fx_init(&fx, 0, F(VIRTIO_F_VERSION_1) | DEV_FEATURE));
	CHECK_EQ(fx.t.vdev.guest_features, F(VIRTIO_F_VERSION_1) | DEV_FEATURE);
	CHECK(!fx.t.vdev.vqs[0].event_idx);
	CHECK(!fx.t.vdev.vqs[0].indirect);
	CHECK_EQ(virtio_get_status(&fx.t.vdev),
		 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			 VIRTIO_CONFIG_S_FEATURES_OK |
			 VIRTIO_CONFIG_S_DRIVER_OK);
	/* Features are frozen after FEATURES_OK. */
	virtio_set_guest_features(&fx.t.vdev, 0, 0);
	CHECK_EQ(fx.t.vdev.guest_features, F(VIRTIO_F_VERSION_1) | DEV_FEATURE);
	fx_fini(&fx);

	REQUIRE(fx_init(&fx, 0, 0));
	CHECK(fx.t.vdev.vqs[0].event_idx);
	CHECK(fx.t.vdev.vqs[1].indirect);
	fx_fini(&fx);
}

/* A one-queue (64-entry) test device offering @features, attached to a
 * fresh @env; undone by single_fini(). */
static bool single_init(struct vqd_env *env, struct tdev *t,
			uint64_t features)
{
	if (!CHECK_EQ(vqd_env_init(env, 1 * MiB, 0), 0))
		return false;
	if (!CHECK_EQ(vqd_dev_init(&t->vdev, &env->vm, &tdev_ops, "vtest", 4,
				   1, 64, features, 0, t),
		      0)) {
		vqd_env_destroy(env);
		return false;
	}
	vqd_attach(env, &t->vdev);
	return true;
}

static void single_fini(struct vqd_env *env, struct tdev *t)
{
	virtio_dev_destroy(&t->vdev);
	vqd_env_destroy(env);
}

TEST(negotiation_refuses_bad_features)
{
	struct vqd_env env;
	struct tdev t = { 0 };
	struct virtio_dev *v = &t.vdev;
	uint8_t st;

	REQUIRE(single_init(&env, &t, DEV_FEATURE));

	/* A feature that was never offered. */
	st = vqd_negotiate(v, F(VIRTIO_F_VERSION_1) | F(40));
	CHECK_EQ(st, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* DRIVER_OK without FEATURES_OK is ignored on a modern device. */
	CHECK(!(vqd_driver_ok(v) & VIRTIO_CONFIG_S_DRIVER_OK));

	/* A modern transport without VERSION_1. */
	st = vqd_negotiate(v, DEV_FEATURE);
	CHECK(!(st & VIRTIO_CONFIG_S_FEATURES_OK));

	/* The device model says no. */
	t.refuse_features = true;
	st = vqd_negotiate(v, F(VIRTIO_F_VERSION_1));
	CHECK(!(st & VIRTIO_CONFIG_S_FEATURES_OK));
	t.refuse_features = false;

	/* And then a good set is accepted after all. */
	st = vqd_negotiate(v, F(VIRTIO_F_VERSION_1));
	CHECK(st & VIRTIO_CONFIG_S_FEATURES_OK);
	single_fini(&env, &t);
}

TEST(negotiation_legacy)
{
	struct vqd_env env;
	struct tdev t = { 0 };
	struct virtio_dev *v = &t.vdev;
	uint8_t st;

	REQUIRE(single_init(&env, &t, DEV_FEATURE));
	v->legacy = true;
	CHECK_EQ(virtio_get_host_features(v, 1), 0); /* no VERSION_1 */
	CHECK(virtio_get_host_features(v, 0) & F(VIRTIO_RING_F_EVENT_IDX));

	/* Legacy drivers never set FEATURES_OK; features count at DRIVER_OK,
	 * unoffered ones dropped. */
	st = vqd_negotiate_legacy(v, DEV_FEATURE | F(VIRTIO_RING_F_EVENT_IDX) |
					     F(30));
	CHECK_EQ(st, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	st = vqd_driver_ok(v);
	CHECK(st & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(v->guest_features, DEV_FEATURE | F(VIRTIO_RING_F_EVENT_IDX));
	CHECK(v->vqs[0].event_idx);
	/* Frozen while live. */
	virtio_set_guest_features(v, 0, 0);
	CHECK_EQ(v->guest_features, DEV_FEATURE | F(VIRTIO_RING_F_EVENT_IDX));
	single_fini(&env, &t);
}

TEST(status_bits_only_added)
{
	struct fixture fx;
	uint8_t st;

	REQUIRE(fx_init(&fx, 0, 0));
	st = virtio_get_status(&fx.t.vdev);
	/* Clearing bits without a reset is ignored. */
	virtio_set_status(&fx.t.vdev, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	CHECK_EQ(virtio_get_status(&fx.t.vdev), st);
	/* NEEDS_RESET belongs to the device. */
	virtio_set_status(&fx.t.vdev, st | VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(virtio_get_status(&fx.t.vdev), st);
	/* FAILED may be set by the driver. */
	virtio_set_status(&fx.t.vdev, st | VIRTIO_CONFIG_S_FAILED);
	CHECK_EQ(virtio_get_status(&fx.t.vdev), st | VIRTIO_CONFIG_S_FAILED);
	CHECK_EQ(fx.t.reset_calls, 1); /* only vqd_negotiate()'s */
	fx_fini(&fx);
}

TEST(start_failure_needs_reset)
{
	struct vqd_env env;
	struct tdev t = { 0 };
	struct virtio_dev *v = &t.vdev;

	REQUIRE(single_init(&env, &t, 0));
	t.start_ret = -ENOSPC;
	CHECK(vqd_negotiate(v, F(VIRTIO_F_VERSION_1)) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK_EQ(vqd_signal_config_count(&env), 0);
	CHECK(vqd_driver_ok(v) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(vqd_signal_config_count(&env), 1);
	/* Said once only. */
	virtio_set_needs_reset(v, "again");
	CHECK_EQ(vqd_signal_config_count(&env), 1);
	/* A reset clears it (vqd_negotiate() reset once already). */
	virtio_set_status(v, 0);
	CHECK_EQ(virtio_get_status(v), 0);
	CHECK_EQ(t.reset_calls, 2);
	/* NEEDS_RESET needs a live device. */
	virtio_set_needs_reset(v, "not live");
	CHECK_EQ(virtio_get_status(v), 0);
	CHECK_EQ(vqd_signal_config_count(&env), 1);
	single_fini(&env, &t);
}

TEST(reset_restores_queue_state)
{
	struct fixture fx;
	struct virtqueue *vq;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	CHECK(vq->ready);
	vq->last_avail = 7;
	vq->used_idx = 9;
	virtio_reset(&fx.t.vdev);
	CHECK(!vq->ready);
	CHECK_EQ(vq->size, 256);
	CHECK_EQ(vq->last_avail, 0);
	CHECK_EQ(vq->used_idx, 0);
	CHECK_EQ(vq->desc_gpa, 0);
	CHECK_EQ(vq->avail_gpa, 0);
	CHECK_EQ(vq->used_gpa, 0);
	CHECK(!vq->event_idx);
	CHECK_EQ(fx.t.vdev.guest_features, 0);
	CHECK_EQ(virtio_get_status(&fx.t.vdev), 0);
	CHECK_EQ(fx.t.reset_calls, 2); /* vqd_negotiate() reset first */
	fx_fini(&fx);
}

TEST(config_access_bounds)
{
	struct fixture fx;
	uint8_t b[8];
	uint32_t v32 = 0x11223344;

	REQUIRE(fx_init(&fx, 0, 0));
	memcpy(fx.t.cfg, "ABCDEFGH", 8);
	t_cfg_reads = 0;
	virtio_config_access(&fx.t.vdev, 4, b, 4, false);
	CHECK(!memcmp(b, "EFGH", 4));
	memset(b, 0x55, sizeof(b));
	virtio_config_access(&fx.t.vdev, 6, b, 4, false); /* past the end */
	CHECK(!memcmp(b, "\0\0\0\0", 4));
	memset(b, 0x55, sizeof(b));
	virtio_config_access(&fx.t.vdev, 0xffffffffu, b, 2, false); /* wraps */
	CHECK(!memcmp(b, "\0\0", 2));
	CHECK_EQ(t_cfg_reads, 1);
	virtio_config_access(&fx.t.vdev, 0xfffffffeu, &v32, 4, true);
	virtio_config_access(&fx.t.vdev, 8, &v32, 4, true);
	CHECK(!memcmp(fx.t.cfg, "ABCDEFGH", 8));
	virtio_config_access(&fx.t.vdev, 0, &v32, 4, true);
	CHECK(!memcmp(fx.t.cfg, &v32, 4));
	fx_fini(&fx);
}

/* --- Queue setup validation --- */

TEST(queue_enable_validation)
{
	struct fixture fx;
	struct vqd_queue q;
	struct virtqueue *vq;
	uint64_t end;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[1];
	end = vqd_ram_end(&fx.env);
	REQUIRE(vqd_queue_alloc(&q, &fx.env, vq, 64) == 0);

	/* The device is live: the first refusal is its NEEDS_RESET, with a
	 * config interrupt (the core's, whatever the transport). */
	CHECK(!needs_reset(&fx));
	vq->size = 0;
	CHECK_EQ(virtq_enable(vq), -EINVAL);
	CHECK(needs_reset(&fx));
	vq->size = 48;
	CHECK_EQ(virtq_enable(vq), -EINVAL);
	vq->size = 512; /* > max_size 256 */
	CHECK_EQ(virtq_enable(vq), -EINVAL);
	vq->size = 64;

	vq->desc_gpa = q.desc_gpa + 8;
	CHECK_EQ(virtq_enable(vq), -EINVAL);
	vq->desc_gpa = q.desc_gpa;
	vq->avail_gpa = q.avail_gpa + 1;
	CHECK_EQ(virtq_enable(vq), -EINVAL);
	vq->avail_gpa = q.avail_gpa;
	vq->used_gpa = q.used_gpa + 2;
	CHECK_EQ(virtq_enable(vq), -EINVAL);
	vq->used_gpa = q.used_gpa;

	/* Rings outside RAM, straddling its end, or wrapping around. */
	vq->desc_gpa = 0;
	CHECK_EQ(virtq_enable(vq), -EFAULT);
	vq->desc_gpa = end - 16 * 64 + 16;
	CHECK_EQ(virtq_enable(vq), -EFAULT);
	vq->desc_gpa = 0xfffffffffffffff0ULL;
	CHECK_EQ(virtq_enable(vq), -EFAULT);
	vq->desc_gpa = q.desc_gpa;
	vq->avail_gpa = end - (6 + 2 * 64) + 2;
	CHECK_EQ(virtq_enable(vq), -EFAULT);
	vq->avail_gpa = q.avail_gpa;
	vq->used_gpa = end - 512; /* needs 518 bytes */
	CHECK_EQ(virtq_enable(vq), -EFAULT);
	CHECK(!vq->ready);

	/* Right up to the end is fine. */
	vq->used_gpa = end - 520;
	CHECK_EQ(virtq_enable(vq), 0);
	CHECK(vq->ready);
	fx_fini(&fx);
}

TEST(legacy_layout)
{
	struct virtqueue vq = { .size = 256 };

	virtq_set_legacy_layout(&vq, 0x10000, 4096);
	CHECK_EQ(vq.desc_gpa, 0x10000);
	CHECK_EQ(vq.avail_gpa, 0x10000 + 16 * 256);
	CHECK_EQ(vq.used_gpa, 0x10000 + 0x2000); /* 4096 + 518 -> 8192 */
	vq.size = 1;
	virtq_set_legacy_layout(&vq, 0x10000, 4);
	CHECK_EQ(vq.avail_gpa, 0x10010);
	CHECK_EQ(vq.used_gpa, 0x10018);
	virtq_set_legacy_layout(&vq, 0xfffffffffffff000ULL, 4096);
	CHECK_EQ(vq.desc_gpa, 0xfffffffffffff000ULL);
}

/* --- Normal chains --- */

TEST(pop_direct_chain)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[8];
	struct vqd_buf b[3];
	uint32_t id, len;
	int head;

	REQUIRE(fx_init(&fx, 0, F(VIRTIO_F_VERSION_1)));
	vq = &fx.t.vdev.vqs[0];
	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 0);
	CHECK(!virtq_has_work(vq));

	b[0] = buf(&fx, 16, false);
	b[1] = buf(&fx, 100, false);
	b[2] = buf(&fx, 512, true);
	memcpy(vqd_hva(&fx.env, b[0].gpa), "request header!", 16);
	head = vqd_add(&fx.q, b, 3);
	CHECK(virtq_has_work(vq));
	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 1);
	CHECK_EQ(c.head, head);
	CHECK_EQ(c.nr_out, 2);
	CHECK_EQ(c.nr_in, 1);
	CHECK_EQ(c.out_len, 116);
	CHECK_EQ(c.in_len, 512);
	CHECK_PTR_EQ(c.iov, iov);
	CHECK_PTR_EQ(iov[0].iov_base, vqd_hva(&fx.env, b[0].gpa));
	CHECK_EQ(iov[1].iov_len, 100);
	CHECK_PTR_EQ(iov[2].iov_base, vqd_hva(&fx.env, b[2].gpa));
	CHECK_EQ(iov[2].iov_len, 512);
	CHECK(!memcmp(iov[0].iov_base, "request header!", 16));
	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 0);

	CHECK(!vqd_get_used(&fx.q, &id, &len));
	virtq_complete(vq, (uint16_t)head, 77);
	CHECK(vqd_get_used(&fx.q, &id, &len));
	CHECK_EQ(id, head);
	CHECK_EQ(len, 77);
	CHECK_EQ(vqd_used_idx(&fx.q), 1);
	CHECK_EQ(vqd_signal_vq_count(&fx.env), 1);
	CHECK_EQ(fx.env.signal_vq_per_queue[0], 1);
	CHECK(!needs_reset(&fx));

	/* A device bug: a head the ring does not have is dropped. */
	virtq_push(vq, QSIZE, 0);
	CHECK_EQ(vqd_used_idx(&fx.q), 1);
	fx_fini(&fx);
}

TEST(pop_indirect_and_mixed)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[8];
	struct vqd_buf b[4];
	int h1, h2, h3;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	b[0] = buf(&fx, 16, false);
	b[1] = buf(&fx, 4096, true);
	b[2] = buf(&fx, 8, true);
	b[3] = buf(&fx, 1, true);
	h1 = vqd_add_indirect(&fx.q, b, 4, NULL);
	h2 = vqd_add(&fx.q, b, 2);
	h3 = vqd_add_indirect(&fx.q, b + 3, 1, NULL);

	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 1);
	CHECK_EQ(c.head, h1);
	CHECK_EQ(c.nr_out, 1);
	CHECK_EQ(c.nr_in, 3);
	CHECK_EQ(c.in_len, 4096 + 8 + 1);
	CHECK_PTR_EQ(iov[3].iov_base, vqd_hva(&fx.env, b[3].gpa));
	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 1);
	CHECK_EQ(c.head, h2);
	CHECK_EQ(c.nr_out + c.nr_in, 2);
	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 1);
	CHECK_EQ(c.head, h3);
	CHECK_EQ(c.nr_out, 0);
	CHECK_EQ(c.nr_in, 1);
	CHECK_EQ(virtq_pop(vq, &c, iov, 8), 0);
	CHECK(!needs_reset(&fx));
	fx_fini(&fx);
}

/* The spec sets no alignment for indirect tables. */
TEST(pop_unaligned_indirect_table)
{
	struct fixture fx;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vring_desc t[2];
	struct vqd_buf b[2];
	uint64_t tg;
	uint8_t *p;

	REQUIRE(fx_init(&fx, 0, 0));
	b[0] = buf(&fx, 16, false);
	b[1] = buf(&fx, 32, true);
	tg = vqd_alloc(&fx.env, 64, 16, NULL) + 3;
	p = vqd_hva(&fx.env, tg);
	t[0] = (struct vring_desc){ b[0].gpa, 16, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ b[1].gpa, 32, VRING_DESC_F_WRITE, 0 };
	memcpy(p, t, sizeof(t));
	vqd_set_desc(&fx.q, 0, tg, sizeof(t), VRING_DESC_F_INDIRECT, 0);
	vqd_publish(&fx.q, 0);
	CHECK_EQ(virtq_pop(&fx.t.vdev.vqs[0], &c, iov, 4), 1);
	CHECK_EQ(c.out_len, 16);
	CHECK_EQ(c.in_len, 32);
	CHECK(!needs_reset(&fx));
	fx_fini(&fx);
}

TEST(pop_chain_as_long_as_ring)
{
	struct fixture fx;
	struct virtq_chain c;
	struct iovec iov[QSIZE];
	struct vqd_buf b[QSIZE];
	unsigned int i;

	REQUIRE(fx_init(&fx, 0, 0));
	for (i = 0; i < QSIZE; i++)
		b[i] = buf(&fx, 1, i >= 4);
	vqd_add(&fx.q, b, QSIZE);
	CHECK_EQ(virtq_pop(&fx.t.vdev.vqs[0], &c, iov, QSIZE), 1);
	CHECK_EQ(c.nr_out, 4);
	CHECK_EQ(c.nr_in, QSIZE - 4);
	CHECK(!needs_reset(&fx));
	fx_fini(&fx);
}

TEST(pop_iov_cap_is_per_request)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[2];
	struct vqd_buf b[3];
	int h1, h2;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	b[0] = buf(&fx, 16, false);
	b[1] = buf(&fx, 16, true);
	b[2] = buf(&fx, 16, true);
	h1 = vqd_add(&fx.q, b, 3);
	h2 = vqd_add_indirect(&fx.q, b, 3, NULL);
	vqd_add(&fx.q, b, 2);
	CHECK_EQ(virtq_pop(vq, &c, iov, 2), -E2BIG);
	CHECK_EQ(c.head, h1);
	CHECK_EQ(c.nr_out + c.nr_in, 2); /* what fitted */
	virtq_push(vq, c.head, 0);
	CHECK_EQ(virtq_pop(vq, &c, iov, 2), -E2BIG);
	CHECK_EQ(c.head, h2);
	virtq_push(vq, c.head, 0);
	CHECK_EQ(virtq_pop(vq, &c, iov, 2), 1);
	CHECK(!needs_reset(&fx));
	CHECK_EQ(vqd_used_idx(&fx.q), 2);
	fx_fini(&fx);
}

TEST(zero_length_descriptors_skipped)
{
	struct fixture fx;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b[3];

	REQUIRE(fx_init(&fx, 0, 0));
	b[0] = buf(&fx, 16, false);
	b[1] = (struct vqd_buf){ 0xdead0000, 0, false }; /* not RAM, len 0 */
	b[2] = buf(&fx, 1, true);
	vqd_add(&fx.q, b, 3);
	CHECK_EQ(virtq_pop(&fx.t.vdev.vqs[0], &c, iov, 4), 1);
	CHECK_EQ(c.nr_out, 1);
	CHECK_EQ(c.nr_in, 1);
	CHECK_EQ(c.out_len, 16);
	CHECK(!needs_reset(&fx));
	fx_fini(&fx);
}

TEST(iov_copy_helpers)
{
	char a[4] = "abcd", b[3] = "efg", c[5] = "hijkl";
	struct iovec iov[3] = { { a, 4 }, { b, 3 }, { c, 5 } };
	char out[16] = { 0 };

	CHECK_EQ(iov_to_buf(iov, 3, 0, out, sizeof(out)), 12);
	CHECK(!memcmp(out, "abcdefghijkl", 12));
	memset(out, 0, sizeof(out));
	CHECK_EQ(iov_to_buf(iov, 3, 3, out, 5), 5);
	CHECK(!memcmp(out, "defgh", 5));
	CHECK_EQ(iov_to_buf(iov, 3, 12, out, 5), 0);
	CHECK_EQ(iov_to_buf(iov, 3, 100, out, 5), 0);
	CHECK_EQ(iov_from_buf(iov, 3, 6, "XYZ", 3), 3);
	CHECK(!memcmp(b, "efX", 3));
	CHECK(!memcmp(c, "YZjkl", 5));
	CHECK_EQ(iov_from_buf(iov, 3, 10, "12345", 5), 2);
	CHECK(!memcmp(c, "YZj12", 5));
	CHECK_EQ(iov_from_buf(iov, 0, 0, "1", 1), 0);
}

TEST(iov_slice_ranges)
{
	char a[4], b[3], c[5];
	struct iovec iov[3] = { { a, 4 }, { b, 3 }, { c, 5 } }, d[3];

	/* Across all three: from a's last byte to c's second. */
	CHECK_EQ(iov_slice(d, iov, 3, 3, 6), 3);
	CHECK(d[0].iov_base == a + 3 && d[0].iov_len == 1);
	CHECK(d[1].iov_base == b && d[1].iov_len == 3);
	CHECK(d[2].iov_base == c && d[2].iov_len == 2);
	/* Inside one buffer; skipping whole ones. */
	CHECK_EQ(iov_slice(d, iov, 3, 8, 2), 1);
	CHECK(d[0].iov_base == c + 1 && d[0].iov_len == 2);
	/* Past the end: what there is; nothing; zero length. */
	CHECK_EQ(iov_slice(d, iov, 3, 10, 100), 1);
	CHECK(d[0].iov_base == c + 3 && d[0].iov_len == 2);
	CHECK_EQ(iov_slice(d, iov, 3, 12, 5), 0);
	CHECK_EQ(iov_slice(d, iov, 3, 0, 0), 0);
}

/* --- Hostile chains --- */

/* The ring is broken: -EIO, NEEDS_RESET, the driver told, nothing consumed;
 * and after a reset the device works again. */
static void check_broken(struct fixture *fx, int r)
{
	struct virtqueue *vq = &fx->t.vdev.vqs[0];
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b;

	CHECK_EQ(r, -EIO);
	CHECK(needs_reset(fx));
	CHECK_EQ(vqd_signal_config_count(&fx->env), 1);
	CHECK_EQ(vq->last_avail, 0);
	CHECK_EQ(vqd_used_idx(&fx->q), 0);

	/* The VMM keeps going: reset, set up again, use. */
	CHECK(vqd_negotiate(&fx->t.vdev, fx->t.vdev.host_features) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
	CHECK_EQ(vqd_queue_setup(&fx->q, &fx->env, vq, QSIZE), 0);
	CHECK(vqd_driver_ok(&fx->t.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(!needs_reset(fx));
	b = buf(fx, 8, true);
	vqd_add(&fx->q, &b, 1);
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	virtq_complete(vq, c.head, 8);
	CHECK_EQ(vqd_used_idx(&fx->q), 1);
}

static int pop0(struct fixture *fx, struct virtq_chain *c)
{
	static struct iovec iov[8];

	return virtq_pop(&fx->t.vdev.vqs[0], c, iov, 8);
}

TEST(hostile_loop)
{
	struct fixture fx;
	struct virtq_chain c;
	uint64_t g;

	REQUIRE(fx_init(&fx, 0, 0));
	g = vqd_alloc(&fx.env, 64, 16, NULL);
	vqd_set_desc(&fx.q, 0, g, 8, VRING_DESC_F_NEXT, 1);
	vqd_set_desc(&fx.q, 1, g, 8, VRING_DESC_F_NEXT, 2);
	vqd_set_desc(&fx.q, 2, g, 8, VRING_DESC_F_NEXT, 0);
	vqd_publish(&fx.q, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	/* A descriptor pointing at itself, zero length (no buffer to cap). */
	REQUIRE(fx_init(&fx, 0, 0));
	vqd_set_desc(&fx.q, 5, 0, 0, VRING_DESC_F_NEXT, 5);
	vqd_publish(&fx.q, 5);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
}

TEST(hostile_loop_in_indirect_table)
{
	struct fixture fx;
	struct virtq_chain c;
	struct vring_desc *t;
	uint64_t g;
	void *p;

	REQUIRE(fx_init(&fx, 0, 0));
	g = vqd_alloc(&fx.env, 4 * 16, 16, &p);
	t = p;
	t[0] = (struct vring_desc){ g, 0, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ g, 0, VRING_DESC_F_NEXT, 0 };
	vqd_set_desc(&fx.q, 0, g, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	vqd_publish(&fx.q, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
}

TEST(hostile_bad_head_and_next)
{
	struct fixture fx;
	struct virtq_chain c;
	uint64_t g;

	REQUIRE(fx_init(&fx, 0, 0));
	vqd_publish(&fx.q, QSIZE); /* head out of range */
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	REQUIRE(fx_init(&fx, 0, 0));
	vqd_publish(&fx.q, 0xffff);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	REQUIRE(fx_init(&fx, 0, 0));
	g = vqd_alloc(&fx.env, 8, 16, NULL);
	vqd_set_desc(&fx.q, 3, g, 8, VRING_DESC_F_NEXT, QSIZE);
	vqd_publish(&fx.q, 3);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
}

TEST(hostile_avail_idx_runs_ahead)
{
	struct fixture fx;
	struct virtq_chain c;

	REQUIRE(fx_init(&fx, 0, 0));
	vqd_set_avail_idx(&fx.q, QSIZE + 1);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	REQUIRE(fx_init(&fx, 0, 0));
	vqd_set_avail_idx(&fx.q, 0xffff); /* "behind": as far ahead */
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
}

TEST(hostile_indirect_misuse)
{
	struct fixture fx;
	struct virtq_chain c;
	struct vring_desc *t;
	struct vqd_buf b[2];
	uint64_t tg;

	/* Indirect inside indirect. */
	REQUIRE(fx_init(&fx, 0, 0));
	b[0] = buf(&fx, 8, false);
	vqd_add_indirect(&fx.q, b, 1, &tg);
	t = vqd_hva(&fx.env, tg);
	t[0].flags = VRING_DESC_F_INDIRECT;
	t[0].len = 16;
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	/* INDIRECT with NEXT. */
	REQUIRE(fx_init(&fx, 0, 0));
	b[0] = buf(&fx, 8, false);
	vqd_add_indirect(&fx.q, b, 1, &tg);
	vqd_set_desc(&fx.q, 0, tg, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT,
		     1);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	/* Table length not a multiple of 16, zero, or huge. */
	REQUIRE(fx_init(&fx, 0, 0));
	vqd_add_indirect(&fx.q, b, 1, &tg);
	vqd_set_desc(&fx.q, 0, tg, 24, VRING_DESC_F_INDIRECT, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
	REQUIRE(fx_init(&fx, 0, 0));
	vqd_add_indirect(&fx.q, b, 1, &tg);
	vqd_set_desc(&fx.q, 0, tg, 0, VRING_DESC_F_INDIRECT, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
	REQUIRE(fx_init(&fx, 0, 0));
	tg = vqd_alloc(&fx.env, 16 * 2048, 16, NULL);
	vqd_set_desc(&fx.q, 0, tg, 16 * 2048, VRING_DESC_F_INDIRECT, 0);
	vqd_publish(&fx.q, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	/* Table outside RAM / straddling its end. */
	REQUIRE(fx_init(&fx, 0, 0));
	vqd_set_desc(&fx.q, 0, 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	vqd_publish(&fx.q, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);
	REQUIRE(fx_init(&fx, 0, 0));
	vqd_set_desc(&fx.q, 0, vqd_ram_end(&fx.env) - 16, 32,
		     VRING_DESC_F_INDIRECT, 0);
	vqd_publish(&fx.q, 0);
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	/* Bad next inside the table. */
	REQUIRE(fx_init(&fx, 0, 0));
	b[0] = buf(&fx, 8, false);
	b[1] = buf(&fx, 8, true);
	vqd_add_indirect(&fx.q, b, 2, &tg);
	t = vqd_hva(&fx.env, tg);
	t[0].next = 2;
	check_broken(&fx, pop0(&fx, &c));
	fx_fini(&fx);

	/* Indirect descriptors without the feature. */
	REQUIRE(fx_init(&fx, 0, F(VIRTIO_F_VERSION_1)));
	b[0] = buf(&fx, 8, false);
	vqd_add_indirect(&fx.q, b, 1, NULL);
	CHECK_EQ(pop0(&fx, &c), -EIO);
	CHECK(needs_reset(&fx));
	fx_fini(&fx);
}

/* Per-request errors: consumed, head given, ring fine, next one works. */
static void check_request_error(struct fixture *fx, int r, int want, int head)
{
	struct virtq_chain c;
	struct vqd_buf b;
	int h2;

	CHECK_EQ(r, want);
	CHECK(!needs_reset(fx));
	CHECK_EQ(fx->t.vdev.vqs[0].last_avail, 1);
	virtq_push(&fx->t.vdev.vqs[0], (uint16_t)head, 0);
	b = buf(fx, 4, true);
	h2 = vqd_add(&fx->q, &b, 1);
	CHECK_EQ(pop0(fx, &c), 1);
	CHECK_EQ(c.head, h2);
}

TEST(hostile_buffers_outside_ram)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ 0, 8 },                        /* below RAM */
		{ VQD_RAM_GPA - 4, 8 },          /* straddles the start */
		{ VQD_RAM_GPA + 2 * MiB - 4, 8 },/* straddles the end */
		{ VQD_RAM_GPA + 2 * MiB, 1 },    /* just past the end */
		{ VQD_RAM_GPA, 0xffffffffu },    /* huge length */
		{ 0xfffffffffffffff8ULL, 16 },   /* wraps around */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fixture fx;
		struct virtq_chain c;
		struct vqd_buf b[2];
		int head;

		REQUIRE(fx_init(&fx, 0, 0));
		b[0] = buf(&fx, 16, false);
		b[1] = (struct vqd_buf){ bad[i].addr, bad[i].len, true };
		head = vqd_add(&fx.q, b, 2);
		check_request_error(&fx, pop0(&fx, &c), -EFAULT, head);
		CHECK_EQ(c.head, head);
		fx_fini(&fx);

		/* The same inside an indirect table. */
		REQUIRE(fx_init(&fx, 0, 0));
		b[0] = buf(&fx, 16, false);
		head = vqd_add_indirect(&fx.q, b, 2, NULL);
		check_request_error(&fx, pop0(&fx, &c), -EFAULT, head);
		fx_fini(&fx);
	}
}

TEST(hostile_readable_after_writable)
{
	struct fixture fx;
	struct virtq_chain c;
	struct vqd_buf b[2];
	int head;

	REQUIRE(fx_init(&fx, 0, 0));
	b[0] = buf(&fx, 16, true);
	b[1] = buf(&fx, 16, false);
	head = vqd_add(&fx.q, b, 2);
	check_request_error(&fx, pop0(&fx, &c), -EINVAL, head);
	fx_fini(&fx);
}

/* --- Index wrap-around --- */

TEST(indices_wrap_around)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b;
	uint32_t id, len;
	int heads[40];
	unsigned int i, n = 0;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	vqd_queue_set_indices(&fx.q, 65530);
	b = buf(&fx, 32, true);
	/* Rounds of 10 in flight, past 65535 and around a 16-entry ring. */
	while (n < 40) {
		for (i = 0; i < 10; i++)
			heads[n + i] = vqd_add(&fx.q, &b, 1);
		for (i = 0; i < 10; i++) {
			CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
			CHECK_EQ(c.head, heads[n + i]);
			virtq_push(vq, c.head, n + i);
		}
		CHECK_EQ(virtq_pop(vq, &c, iov, 4), 0);
		for (i = 0; i < 10; i++) {
			CHECK(vqd_get_used(&fx.q, &id, &len));
			CHECK_EQ(id, heads[n + i]);
			CHECK_EQ(len, n + i);
		}
		n += 10;
	}
	CHECK_EQ(vqd_used_idx(&fx.q), (uint16_t)(65530 + 40));
	CHECK_EQ(vq->last_avail, (uint16_t)(65530 + 40));
	CHECK(!needs_reset(&fx));
	fx_fini(&fx);
}

TEST(push_n_publishes_together)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[4];
	struct virtq_used_buf u[QSIZE + 1] = { { 0, 0 } };
	struct vqd_buf b;
	uint32_t id, len;
	unsigned int i;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	vqd_queue_set_indices(&fx.q, 65534); /* across the wrap */
	b = buf(&fx, 32, true);
	for (i = 0; i < 3; i++) {
		vqd_add(&fx.q, &b, 1);
		REQUIRE(virtq_pop(vq, &c, iov, 4) == 1);
		u[i].head = c.head;
		u[i].written = 10 + i;
	}
	virtq_push_n(vq, u, 3);
	CHECK_EQ(vqd_used_idx(&fx.q), (uint16_t)(65534 + 3));
	for (i = 0; i < 3; i++) {
		CHECK(vqd_get_used(&fx.q, &id, &len));
		CHECK_EQ(id, u[i].head);
		CHECK_EQ(len, 10 + i);
	}
	/* A head out of range is dropped, the others go; more entries than
	 * the ring holds are refused whole. */
	vqd_add(&fx.q, &b, 1);
	REQUIRE(virtq_pop(vq, &c, iov, 4) == 1);
	u[0].head = QSIZE + 3;
	u[1].head = c.head;
	u[1].written = 7;
	virtq_push_n(vq, u, 2);
	CHECK(vqd_get_used(&fx.q, &id, &len));
	CHECK_EQ(id, c.head);
	CHECK_EQ(len, 7);
	CHECK(!vqd_get_used(&fx.q, &id, &len));
	virtq_push_n(vq, u, QSIZE + 1);
	CHECK(!vqd_get_used(&fx.q, &id, &len));
	virtq_push_n(vq, u, 0);
	CHECK(!vqd_get_used(&fx.q, &id, &len));
	fx_fini(&fx);
}

/* --- Interrupt and kick suppression --- */

TEST(event_idx_interrupt_suppression)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b;
	unsigned int i;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	REQUIRE(vq->event_idx);
	b = buf(&fx, 8, true);
	for (i = 0; i < 8; i++)
		vqd_add(&fx.q, &b, 1);

	/* The driver wants an interrupt when used idx passes 3 (i.e. after
	 * entry 3 is used).  NO_INTERRUPT is ignored with EVENT_IDX. */
	vqd_set_used_event(&fx.q, 3);
	vqd_set_avail_flags(&fx.q, VRING_AVAIL_F_NO_INTERRUPT);
	for (i = 0; i < 8; i++) {
		CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
		virtq_complete(vq, c.head, 0);
		/* First ever: always (nothing signalled yet); then at 4. */
		CHECK_EQ(vqd_signal_vq_count(&fx.env), i < 3 ? 1 : 2);
	}
	/* Batched: used_event 9 passed in a batch of two pushes. */
	vqd_set_used_event(&fx.q, 9);
	for (i = 0; i < 4; i++)
		vqd_add(&fx.q, &b, 1);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
		virtq_push(vq, c.head, 0);
	}
	virtq_notify(vq); /* used 8 -> 10: crosses 9 */
	CHECK_EQ(vqd_signal_vq_count(&fx.env), 3);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
		virtq_push(vq, c.head, 0);
	}
	virtq_notify(vq); /* 10 -> 12: 9 is behind, no interrupt */
	CHECK_EQ(vqd_signal_vq_count(&fx.env), 3);
	/* Nothing new: no interrupt even if used_event says "now". */
	vqd_set_used_event(&fx.q, 11);
	virtq_notify(vq);
	CHECK_EQ(vqd_signal_vq_count(&fx.env), 3);
	fx_fini(&fx);
}

TEST(no_interrupt_flag)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b;

	REQUIRE(fx_init(&fx, 0, F(VIRTIO_F_VERSION_1)));
	vq = &fx.t.vdev.vqs[0];
	REQUIRE(!vq->event_idx);
	b = buf(&fx, 8, true);
	vqd_add(&fx.q, &b, 1);
	vqd_add(&fx.q, &b, 1);
	vqd_set_avail_flags(&fx.q, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	virtq_complete(vq, c.head, 0);
	CHECK_EQ(vqd_signal_vq_count(&fx.env), 0);
	vqd_set_avail_flags(&fx.q, 0);
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	virtq_complete(vq, c.head, 0);
	CHECK_EQ(vqd_signal_vq_count(&fx.env), 1);
	fx_fini(&fx);
}

TEST(kick_suppression_flags)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b;

	REQUIRE(fx_init(&fx, 0, F(VIRTIO_F_VERSION_1)));
	vq = &fx.t.vdev.vqs[0];
	b = buf(&fx, 8, true);
	virtq_disable_kicks(vq);
	CHECK_EQ(vqd_used_flags(&fx.q), VRING_USED_F_NO_NOTIFY);
	CHECK(!virtq_enable_kicks(vq));
	CHECK_EQ(vqd_used_flags(&fx.q), 0);
	virtq_disable_kicks(vq);
	vqd_add(&fx.q, &b, 1);
	CHECK(virtq_enable_kicks(vq)); /* work arrived meanwhile */
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	fx_fini(&fx);
}

TEST(kick_suppression_event_idx)
{
	struct fixture fx;
	struct virtqueue *vq;
	struct virtq_chain c;
	struct iovec iov[4];
	struct vqd_buf b;

	REQUIRE(fx_init(&fx, 0, 0));
	vq = &fx.t.vdev.vqs[0];
	b = buf(&fx, 8, true);
	vqd_add(&fx.q, &b, 1);
	vqd_add(&fx.q, &b, 1);
	/* Popping asks for a kick at the next unconsumed index. */
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	CHECK_EQ(vqd_avail_event(&fx.q), 1);
	virtq_disable_kicks(vq);
	CHECK_EQ(vqd_used_flags(&fx.q), 0); /* flags unused with EVENT_IDX */
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 0);
	CHECK_EQ(vqd_avail_event(&fx.q), 1); /* frozen while polling */
	CHECK(!virtq_enable_kicks(vq));
	CHECK_EQ(vqd_avail_event(&fx.q), 2);
	/* Going idle with kicks on also publishes it. */
	vqd_add(&fx.q, &b, 1);
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 1);
	CHECK_EQ(virtq_pop(vq, &c, iov, 4), 0);
	CHECK_EQ(vqd_avail_event(&fx.q), 3);
	fx_fini(&fx);
}

/* --- With worker threads --- */

TEST(worker_processes_kicks)
{
	struct fixture fx;
	struct vqd_buf b;
	uint32_t id, len;
	int head, i;

	REQUIRE(fx_init(&fx, 2, 0));
	fx.t.autocomplete = true;
	b = buf(&fx, 64, true);
	for (i = 0; i < 5; i++) {
		head = vqd_add(&fx.q, &b, 1);
		virtq_kick(&fx.t.vdev.vqs[0]);
		CHECK(wait_for(&fx.t.completed, i + 1));
		CHECK(vqd_get_used(&fx.q, &id, &len));
		CHECK_EQ(id, head);
		CHECK_EQ(len, 64);
	}
	CHECK(vqd_signal_vq_count(&fx.env) >= 1);
	fx_fini(&fx);
}

TEST(buffers_before_driver_ok_are_seen)
{
	struct fixture fx;
	struct tdev *t = &fx.t;
	struct vqd_buf b;

	memset(&fx, 0, sizeof(fx));
	REQUIRE(vqd_env_init(&fx.env, 2 * MiB, 2) == 0);
	REQUIRE(vqd_dev_init(&t->vdev, &fx.env.vm, &tdev_ops, "vtest", 4, 1,
				64, 0, 8, t) == 0);
	vqd_attach(&fx.env, &t->vdev);
	t->autocomplete = true;
	CHECK(vqd_negotiate(&t->vdev, t->vdev.host_features) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &t->vdev.vqs[0], QSIZE) == 0);
	b = buf(&fx, 8, true);
	vqd_add(&fx.q, &b, 1);
	virtq_kick(&t->vdev.vqs[0]); /* before DRIVER_OK: no handler */
	usleep(20000);
	CHECK_EQ(t->notify_calls, 0);
	vqd_driver_ok(&t->vdev);
	CHECK(wait_for(&t->completed, 1));
	fx_fini(&fx);
}

TEST(needs_reset_stops_processing)
{
	struct fixture fx;
	struct vqd_buf b;

	REQUIRE(fx_init(&fx, 2, 0));
	fx.t.autocomplete = true;
	vqd_publish(&fx.q, 0xffff); /* broken */
	virtq_kick(&fx.t.vdev.vqs[0]);
	CHECK(wait_for(&fx.t.notify_calls, 1));
	usleep(20000);
	CHECK(needs_reset(&fx));
	CHECK_EQ(fx.t.last_pop, -EIO);
	/* Further kicks do not reach the device. */
	b = buf(&fx, 8, true);
	virtq_kick(&fx.t.vdev.vqs[0]);
	virtq_kick(&fx.t.vdev.vqs[1]);
	usleep(50000);
	CHECK_EQ(fx.t.notify_calls, 1);
	/* Reset and go again. */
	CHECK(vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0], QSIZE) == 0);
	vqd_driver_ok(&fx.t.vdev);
	vqd_add(&fx.q, &b, 1);
	virtq_kick(&fx.t.vdev.vqs[0]);
	CHECK(wait_for(&fx.t.completed, 1));
	fx_fini(&fx);
}

TEST(reset_quiesces_handlers)
{
	struct fixture fx;
	struct vqd_buf b;
	int round;

	REQUIRE(fx_init(&fx, 3, 0));
	fx.t.autocomplete = true;
	fx.t.sleep_ms = 100;
	b = buf(&fx, 8, true);
	for (round = 0; round < 3; round++) {
		int resets = fx.t.reset_calls;

		vqd_add(&fx.q, &b, 1);
		virtq_kick(&fx.t.vdev.vqs[0]);
		CHECK(wait_for(&fx.t.in_handler, 1));
		virtio_set_status(&fx.t.vdev, 0);
		/* Reset waited for the sleeping handler... */
		CHECK_EQ(__atomic_load_n(&fx.t.in_handler, __ATOMIC_SEQ_CST),
			 0);
		/* ...before calling the device's reset. */
		CHECK_EQ(fx.t.handler_at_reset, 0);
		CHECK_EQ(fx.t.reset_calls, resets + 1);
		/* Kicks after reset do not run the handler. */
		virtq_kick(&fx.t.vdev.vqs[0]);
		usleep(20000);
		CHECK_EQ(fx.t.in_handler, 0);

		CHECK(vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features) &
		      VIRTIO_CONFIG_S_FEATURES_OK);
		REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0],
					QSIZE) == 0);
		vqd_driver_ok(&fx.t.vdev);
	}
	CHECK_EQ(fx.t.max_in_handler, 1);
	fx_fini(&fx);
}

struct hammer {
	struct fixture *fx;
	int stop;
};

static void *kicker(void *opaque)
{
	struct hammer *h = opaque;

	while (!__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST)) {
		virtq_kick(&h->fx->t.vdev.vqs[0]);
		virtq_kick(&h->fx->t.vdev.vqs[1]);
		usleep(100);
	}
	return NULL;
}

/* Resets and re-initialisations while another thread keeps kicking:
 * nothing crashes, handlers never overlap, and no handler runs across a
 * reset. */
TEST(concurrent_resets_and_kicks)
{
	struct fixture fx;
	struct hammer h;
	pthread_t th;
	int i;

	REQUIRE(fx_init(&fx, 4, 0));
	fx.t.autocomplete = true;
	h.fx = &fx;
	h.stop = 0;
	REQUIRE(pthread_create(&th, NULL, kicker, &h) == 0);
	for (i = 0; i < 50; i++) {
		struct vqd_buf b = buf(&fx, 8, true);

		virtio_set_status(&fx.t.vdev, 0);
		vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features);
		vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0], QSIZE);
		vqd_driver_ok(&fx.t.vdev);
		vqd_add(&fx.q, &b, 1);
		usleep(500);
		if (fx.env.alloc_next > VQD_RAM_GPA + MiB)
			fx.env.alloc_next = VQD_RAM_GPA; /* recycle RAM */
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	CHECK_EQ(fx.t.handler_at_reset, 0);
	CHECK_EQ(fx.t.max_in_handler, 1);
	CHECK(!needs_reset(&fx));
	fx_fini(&fx);
}

/* --- Queues offloaded to a kernel data path (vhost) --- */

static void write_efd(int fd)
{
	uint64_t one = 1;

	CHECK_EQ(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* Poll the fake transport's queue-0 signals until they reach @want. */
static bool wait_signals(struct fixture *fx, unsigned int want)
{
	for (int i = 0; i < 5000; i++) {
		if (__atomic_load_n(&fx->env.signal_vq_per_queue[0],
				    __ATOMIC_SEQ_CST) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

TEST(offload_forwards_call_and_leaves_kicks)
{
	struct fixture fx;
	struct vqd_buf b;
	unsigned int sig;
	int fd;

	memset(&fx, 0, sizeof(fx));
	fx.t.offload = true;
	{
		/* fx_init with the flag set before DRIVER_OK. */
		REQUIRE(vqd_env_init(&fx.env, 2 * MiB, 2) == 0);
		REQUIRE(vqd_dev_init(&fx.t.vdev, &fx.env.vm, &tdev_ops, "vtest",
				     VIRTIO_ID_BLOCK, 2, 256, 0, 8, &fx.t) == 0);
		vqd_attach(&fx.env, &fx.t.vdev);
		fx.t.autocomplete = true;
		REQUIRE(vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features) &
			VIRTIO_CONFIG_S_FEATURES_OK);
		REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0],
					QSIZE) == 0);
		REQUIRE(vqd_driver_ok(&fx.t.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	}
	fd = fx.t.call_fd;
	REQUIRE(fd >= 0);
	CHECK(fx.t.vdev.vqs[0].offloaded);
	/* A kick belongs to the kernel thread: no worker runs the queue
	 * (the buffers stay available). */
	b = buf(&fx, 64, true);
	vqd_add(&fx.q, &b, 1);
	virtq_kick(&fx.t.vdev.vqs[0]);
	usleep(50000);
	CHECK_EQ(__atomic_load_n(&fx.t.notify_calls, __ATOMIC_SEQ_CST), 0);
	CHECK(virtq_has_work(&fx.t.vdev.vqs[0]));
	/* The kernel thread's call: one interrupt on queue 0 per write. */
	sig = vqd_signal_vq_count(&fx.env);
	write_efd(fd);
	CHECK(wait_signals(&fx, 1));
	write_efd(fd);
	CHECK(wait_signals(&fx, 2));
	CHECK_EQ(vqd_signal_vq_count(&fx.env), sig + 2);

	/* Reset: no longer offloaded, the forwarder stops. */
	virtio_reset(&fx.t.vdev);
	CHECK(!fx.t.vdev.vqs[0].offloaded);
	write_efd(fd);
	usleep(50000);
	CHECK_EQ(vqd_signal_vq_count(&fx.env), sig + 2);

	/* A new driver without offload: queue 0 is the workers' again (the
	 * call written while reset is remembered, one stale interrupt at
	 * most, which a driver tolerates). */
	fx.t.offload = false;
	REQUIRE(vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features) &
		VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0], QSIZE) == 0);
	REQUIRE(vqd_driver_ok(&fx.t.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	vqd_add(&fx.q, &b, 1);
	virtq_kick(&fx.t.vdev.vqs[0]);
	CHECK(wait_for(&fx.t.completed, 1));

	/* Offloaded again: the same forwarding fd works again. */
	fx.t.offload = true;
	REQUIRE(vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features) &
		VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0], QSIZE) == 0);
	REQUIRE(vqd_driver_ok(&fx.t.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(fx.t.call_fd, fd);
	sig = __atomic_load_n(&fx.env.signal_vq_per_queue[0],
			      __ATOMIC_SEQ_CST);
	write_efd(fd);
	CHECK(wait_signals(&fx, sig + 1));
	fx_fini(&fx);
}

static int fake_irqfd = -1;

static int fake_queue_irqfd(struct virtio_interrupt *irq, unsigned int index)
{
	(void)irq;
	return index == 0 ? fake_irqfd : -1;
}

TEST(offload_takes_the_transport_irqfd)
{
	struct fixture fx;

	memset(&fx, 0, sizeof(fx));
	fake_irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	REQUIRE(fake_irqfd >= 0);
	fx.t.offload = true;
	REQUIRE(vqd_env_init(&fx.env, 2 * MiB, 2) == 0);
	REQUIRE(vqd_dev_init(&fx.t.vdev, &fx.env.vm, &tdev_ops, "vtest",
			     VIRTIO_ID_BLOCK, 2, 256, 0, 8, &fx.t) == 0);
	vqd_attach(&fx.env, &fx.t.vdev);
	fx.env.irq.queue_irqfd = fake_queue_irqfd;
	REQUIRE(vqd_negotiate(&fx.t.vdev, fx.t.vdev.host_features) &
		VIRTIO_CONFIG_S_FEATURES_OK);
	REQUIRE(vqd_queue_setup(&fx.q, &fx.env, &fx.t.vdev.vqs[0], QSIZE) == 0);
	REQUIRE(vqd_driver_ok(&fx.t.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* The kernel thread signals the transport's irqfd directly: no
	 * forwarding eventfd of the core's. */
	CHECK_EQ(fx.t.call_fd, fake_irqfd);
	CHECK_EQ(fx.t.vdev.vqs[0].call_fd, -1);
	CHECK(fx.t.vdev.vqs[0].offloaded);
	fx_fini(&fx);
	close(fake_irqfd);
}

TEST(offload_refuses_a_queue_not_ready)
{
	struct fixture fx;

	REQUIRE(fx_init(&fx, 2, 0));
	/* Queue 1 was never enabled by the driver. */
	CHECK_EQ(virtq_offload(&fx.t.vdev.vqs[1]), -EINVAL);
	CHECK(!fx.t.vdev.vqs[1].offloaded);
	fx_fini(&fx);
}

int main(void)
{
	RUN(init_defaults);
	RUN(negotiation_accepts_offered_subset);
	RUN(negotiation_refuses_bad_features);
	RUN(negotiation_legacy);
	RUN(status_bits_only_added);
	RUN(start_failure_needs_reset);
	RUN(reset_restores_queue_state);
	RUN(config_access_bounds);
	RUN(queue_enable_validation);
	RUN(legacy_layout);
	RUN(pop_direct_chain);
	RUN(pop_indirect_and_mixed);
	RUN(pop_unaligned_indirect_table);
	RUN(pop_chain_as_long_as_ring);
	RUN(pop_iov_cap_is_per_request);
	RUN(zero_length_descriptors_skipped);
	RUN(iov_copy_helpers);
	RUN(iov_slice_ranges);
	RUN(hostile_loop);
	RUN(hostile_loop_in_indirect_table);
	RUN(hostile_bad_head_and_next);
	RUN(hostile_avail_idx_runs_ahead);
	RUN(hostile_indirect_misuse);
	RUN(hostile_buffers_outside_ram);
	RUN(hostile_readable_after_writable);
	RUN(indices_wrap_around);
	RUN(push_n_publishes_together);
	RUN(event_idx_interrupt_suppression);
	RUN(no_interrupt_flag);
	RUN(kick_suppression_flags);
	RUN(kick_suppression_event_idx);
	RUN(worker_processes_kicks);
	RUN(buffers_before_driver_ok_are_seen);
	RUN(needs_reset_stops_processing);
	RUN(reset_quiesces_handlers);
	RUN(concurrent_resets_and_kicks);
	RUN(offload_forwards_call_and_leaves_kicks);
	RUN(offload_takes_the_transport_irqfd);
	RUN(offload_refuses_a_queue_not_ready);
	return test_summary();
}

