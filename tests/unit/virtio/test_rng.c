// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (virtio/rng.c) over vq_driver's fake transport: requests get
 * random bytes up to their length (and never past it), at most 64 KiB per
 * request, hostile chains get nothing, and busy queues requeue themselves.
 */
#include <poll.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "test.h"
#include "vq_driver.h"

#define CAP (64 * 1024) /* the device's per-request limit */
#define FILL 0xA5       /* what guest buffers hold before the device runs */

struct ctx {
	struct vqd_env env;
	struct virtio_dev *vdev;
	struct vqd_queue q;
};

static bool ctx_init(struct ctx *c, uint64_t features)
{
	memset(c, 0, sizeof(*c));
	if (!CHECK_EQ(vqd_env_init(&c->env, 1 * MiB, 0), 0))
		return false;
	c->vdev = virtio_rng_new(&c->env.vm);
	if (!CHECK(c->vdev))
		return false;
	vqd_attach(&c->env, c->vdev);
	if (!CHECK(vqd_negotiate(c->vdev, features | (1ULL << VIRTIO_F_VERSION_1)) &
		   VIRTIO_CONFIG_S_FEATURES_OK) ||
	    !CHECK_EQ(vqd_queue_setup(&c->q, &c->env, &c->vdev->vqs[0], 64), 0))
		return false;
	return CHECK(vqd_driver_ok(c->vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void ctx_fini(struct ctx *c)
{
	if (c->vdev)
		virtio_dev_destroy(c->vdev);
	vqd_env_destroy(&c->env);
}

static void notify(struct ctx *c)
{
	c->vdev->ops->queue_notify(c->vdev, &c->vdev->vqs[0]);
}

/* A guest buffer of @len bytes preset to FILL, with @guard more FILL bytes
 * after it that the device must not touch. */
static struct vqd_buf buf(struct ctx *c, uint32_t len, uint32_t guard,
			  bool write, uint8_t **hva)
{
	void *p;
	struct vqd_buf b = { vqd_alloc(&c->env, len + guard, 1, &p), len, write };

	if (p)
		memset(p, FILL, len + guard);
	*hva = p;
	return b;
}

/* How many of @len bytes differ from FILL (random data: almost all). */
static size_t changed(const uint8_t *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] != FILL;
	return n;
}

static bool untouched(const uint8_t *p, size_t len)
{
	return changed(p, len) == 0;
}

TEST(identity)
{
	struct ctx c;

	memset(&c, 0, sizeof(c));
	if (CHECK_EQ(vqd_env_init(&c.env, 1 * MiB, 0), 0)) {
		c.vdev = virtio_rng_new(&c.env.vm);
		if (CHECK(c.vdev)) {
			CHECK_EQ(c.vdev->device_id, VIRTIO_ID_RNG);
			CHECK_EQ(c.vdev->nr_queues, 1);
			CHECK_EQ(c.vdev->config_size, 0);
		}
	}
	ctx_fini(&c);
}

TEST(request_filled)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *p;

	if (!ctx_init(&c, 0))
		goto out;
	struct vqd_buf b = buf(&c, 256, 64, true, &p);
	int head = vqd_add(&c.q, &b, 1);
	unsigned int sig = vqd_signal_vq_count(&c.env);
	notify(&c);
	REQUIRE(vqd_get_used(&c.q, &id, &len));
	CHECK_EQ(id, (uint32_t)head);
	CHECK_EQ(len, 256);
	CHECK(changed(p, 256) > 200);
	CHECK(untouched(p + 256, 64));
	CHECK(vqd_signal_vq_count(&c.env) > sig);
	CHECK(!vqd_get_used(&c.q, &id, &len));
out:
	ctx_fini(&c);
}

TEST(several_buffers_and_lengths)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *p[4];

	if (!ctx_init(&c, 1ULL << VIRTIO_RING_F_INDIRECT_DESC))
		goto out;
	struct vqd_buf b[4] = {
		buf(&c, 1, 16, true, &p[0]),
		buf(&c, 100, 16, true, &p[1]),
		buf(&c, 7, 16, true, &p[2]),
		buf(&c, 4000, 16, true, &p[3]),
	};
	vqd_add(&c.q, b, 4);
	vqd_add_indirect(&c.q, b, 4, NULL);
	notify(&c);
	for (int r = 0; r < 2; r++) {
		REQUIRE(vqd_get_used(&c.q, &id, &len));
		CHECK_EQ(len, 1 + 100 + 7 + 4000);
	}
	for (int i = 0; i < 4; i++)
		CHECK(untouched(p[i] + b[i].len, 16));
	CHECK(changed(p[1], 100) > 80);
	CHECK(changed(p[3], 4000) > 3900);
out:
	ctx_fini(&c);
}

TEST(read_only_and_bad_chains_get_nothing)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *ro, *rw;

	if (!ctx_init(&c, 0))
		goto out;
	struct vqd_buf r = buf(&c, 64, 0, false, &ro);
	struct vqd_buf w = buf(&c, 64, 0, true, &rw);
	struct vqd_buf mixed[2] = { r, w };
	vqd_add(&c.q, &r, 1);       /* read-only */
	vqd_add(&c.q, mixed, 2);    /* readable + writable */
	/* A writable buffer running off the end of guest RAM. */
	uint16_t d = vqd_next_desc(&c.q);
	vqd_set_desc(&c.q, d, vqd_ram_end(&c.env) - 8, 4096,
		     VRING_DESC_F_WRITE, 0);
	vqd_publish(&c.q, d);
	notify(&c);
	for (int i = 0; i < 3; i++) {
		REQUIRE(vqd_get_used(&c.q, &id, &len));
		CHECK_EQ(len, 0);
	}
	CHECK(untouched(ro, 64));
	CHECK(untouched(rw, 64));
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));

	/* The queue still works afterwards. */
	vqd_add(&c.q, &w, 1);
	notify(&c);
	REQUIRE(vqd_get_used(&c.q, &id, &len));
	CHECK_EQ(len, 64);

	/* A broken ring: NEEDS_RESET, nothing written, no crash. */
	memset(rw, FILL, 64);
	vqd_add(&c.q, &w, 1);
	vqd_set_avail_idx(&c.q, (uint16_t)(c.q.avail_idx + 200));
	notify(&c);
	CHECK(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK(untouched(rw, 64));
out:
	ctx_fini(&c);
}

TEST(request_capped_at_64k)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *p1, *p2;

	if (!ctx_init(&c, 0))
		goto out;
	/* 2 x 48 KiB asked: the first 64 KiB are filled, the rest is not. */
	struct vqd_buf b[2] = {
		buf(&c, 48 * 1024, 0, true, &p1),
		buf(&c, 48 * 1024, 0, true, &p2),
	};
	vqd_add(&c.q, b, 2);
	notify(&c);
	REQUIRE(vqd_get_used(&c.q, &id, &len));
	CHECK_EQ(len, CAP);
	CHECK(changed(p1, 48 * 1024) > 47 * 1024);
	CHECK(changed(p2, 16 * 1024) > 15 * 1024);
	CHECK(untouched(p2 + 16 * 1024, 32 * 1024));
	/* Exactly the cap, and one byte. */
	struct vqd_buf e = buf(&c, CAP, 32, true, &p1);
	struct vqd_buf one = buf(&c, 1, 32, true, &p2);
	vqd_add(&c.q, &e, 1);
	vqd_add(&c.q, &one, 1);
	notify(&c);
	REQUIRE(vqd_get_used(&c.q, &id, &len));
	CHECK_EQ(len, CAP);
	CHECK(untouched(p1 + CAP, 32));
	REQUIRE(vqd_get_used(&c.q, &id, &len));
	CHECK_EQ(len, 1);
	CHECK(untouched(p2 + 1, 32));
out:
	ctx_fini(&c);
}

TEST(busy_queue_requeues_itself)
{
	struct ctx c;
	struct pollfd pfd;
	uint32_t id, len;
	unsigned int used = 0;
	uint8_t *p;

	if (!ctx_init(&c, 0))
		goto out;
	struct vqd_buf b = buf(&c, 16, 0, true, &p);
	for (int i = 0; i < 40; i++)
		vqd_add(&c.q, &b, 1);
	pfd = (struct pollfd){ .fd = c.vdev->vqs[0].kick_fd, .events = POLLIN };
	uint64_t v;
	while (poll(&pfd, 1, 0) == 1 && read(pfd.fd, &v, sizeof(v)) > 0)
		;
	notify(&c);
	while (vqd_get_used(&c.q, &id, &len))
		used++;
	CHECK(used > 0 && used < 40); /* a bounded batch... */
	CHECK_EQ(poll(&pfd, 1, 0), 1); /* ...and a kick for the rest */
	for (int i = 0; i < 10 && used < 40; i++) {
		notify(&c);
		while (vqd_get_used(&c.q, &id, &len))
			used++;
	}
	CHECK_EQ(used, 40);
out:
	ctx_fini(&c);
}

int main(void)
{
	RUN(identity);
	RUN(request_filled);
	RUN(several_buffers_and_lengths);
	RUN(read_only_and_bad_chains_get_nothing);
	RUN(request_capped_at_64k);
	RUN(busy_queue_requeues_itself);
	return test_summary();
}
