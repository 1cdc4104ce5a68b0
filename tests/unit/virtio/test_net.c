// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (virtio/net.c) over vq_driver's fake transport and a fake
 * backend (tests/unit/lib/net_fake.c): tx chains of every shape (split
 * headers, several buffers), rx with and without merged buffers, the rx
 * stall while the guest posts no buffers (no polling, no frame lost) and
 * its resume on the kick, control commands (good and garbage), hostile
 * chains, config space.  The fake RAM has guard pages and the build has
 * ASan/UBSan: nothing outside guest RAM may be touched.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <linux/virtio_net.h>
#include <sys/resource.h>
#include <time.h>

#include "lkvm/cli.h"
#include "lkvm/net.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "net_fake.h"
#include "stubs.h"
#include "test.h"
#include "vq_driver.h"

#define F(bit) (1ULL << (bit))
#define QSIZE 64
#define HDR 12
#define FILL 0xA5

static const uint8_t MAC[6] = { 0x02, 0x15, 0x15, 0x15, 0x15, 0x15 };
#define ALL_OFFLOADS (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | \
	F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |           \
	F(VIRTIO_NET_F_HOST_ECN) | F(VIRTIO_NET_F_HOST_UFO) |             \
	F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |         \
	F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO))

struct ctx {
	struct vqd_env env;
	struct net_fake *be;
	struct virtio_dev *vdev;
	struct vqd_queue q[2 * 2 + 1];
	unsigned int ctrl;     /* the control queue's index */
};

struct opts {
	bool vnet;
	uint64_t be_features;
	unsigned int pairs;
	unsigned int mtu;
	uint64_t drop;         /* offered features the driver refuses */
	unsigned int threads;
	bool legacy;
};

static bool ctx_init(struct ctx *c, const struct opts *o)
{
	uint64_t f;
	unsigned int i;

	memset(c, 0, sizeof(*c));
	if (!CHECK_EQ(vqd_env_init(&c->env, 4 * MiB, o->threads), 0))
		return false;
	c->be = net_fake_new(o->vnet, o->be_features, o->pairs ? o->pairs : 1,
			     o->mtu);
	if (!CHECK(c->be))
		return false;
	c->vdev = virtio_net_new(&c->env.vm, &c->be->be, MAC, 0);
	if (!CHECK(c->vdev))
		return false;
	vqd_attach(&c->env, c->vdev);
	f = c->vdev->host_features & ~o->drop;
	if (o->legacy) {
		c->vdev->legacy = true;
		f &= ~F(VIRTIO_F_VERSION_1);
		vqd_negotiate_legacy(c->vdev, f);
	} else if (!CHECK(vqd_negotiate(c->vdev, f) &
			  VIRTIO_CONFIG_S_FEATURES_OK)) {
		return false;
	}
	for (i = 0; i < c->vdev->nr_queues && i < ARRAY_SIZE(c->q); i++)
		if (!CHECK_EQ(vqd_queue_setup(&c->q[i], &c->env,
					      &c->vdev->vqs[i], QSIZE), 0))
			return false;
	c->ctrl = (f & F(VIRTIO_NET_F_MQ)) ? 2 * c->be->be.queue_pairs : 2;
	return CHECK(vqd_driver_ok(c->vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void ctx_fini(struct ctx *c)
{
	if (c->vdev) {
		virtio_dev_destroy(c->vdev);
		CHECK(c->be->closed);
	}
	net_fake_free(c->be);
	vqd_env_destroy(&c->env);
}

static void notify(struct ctx *c, unsigned int index)
{
	c->vdev->ops->queue_notify(c->vdev, &c->vdev->vqs[index]);
}

static bool live(struct ctx *c)
{
	return !(virtio_get_status(c->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* A guest buffer of @len bytes holding @data (or FILL), with 16 guard
 * bytes of FILL after it. */
static struct vqd_buf buf(struct ctx *c, uint32_t len, const void *data,
			  bool write, uint8_t **hva)
{
	void *p;
	struct vqd_buf b = { vqd_alloc(&c->env, len + 16, 1, &p), len, write };

	if (p) {
		memset(p, FILL, len + 16);
		if (data)
			memcpy(p, data, len);
	}
	if (hva)
		*hva = p;
	return b;
}

static bool untouched(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != FILL)
			return false;
	return true;
}

static void pattern(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static struct virtio_net_hdr_v1 hdr_csum(uint16_t start, uint16_t off)
{
	struct virtio_net_hdr_v1 h;

	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = htole16(start);
	h.csum_offset = htole16(off);
	return h;
}

static uint16_t cfg16(struct ctx *c, uint32_t off)
{
	uint16_t v = 0;

	virtio_config_access(c->vdev, off, &v, 2, false);
	return le16toh(v);
}

/* --- Identity and config space --- */

TEST(identity_and_config)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS,
			  .pairs = 2, .mtu = 9000 };
	uint8_t mac[6], junk[6] = { 1, 2, 3, 4, 5, 6 };
	uint64_t f;

	if (!ctx_init(&c, &o))
		goto out;
	CHECK_EQ(c.vdev->device_id, VIRTIO_ID_NET);
	CHECK_EQ(c.vdev->nr_queues, 5);
	CHECK_EQ(c.vdev->config_size, sizeof(struct virtio_net_config));
	CHECK_EQ(virtio_net_type.pci_class, 0x0200);
	CHECK_STREQ(virtio_net_type.modules[0], "virtio_net");
	CHECK_EQ(virtio_net_type.max_queues, 2 * NET_MAX_QUEUE_PAIRS + 1);
	CHECK_EQ(virtio_net_type.count(&c.env.cfg), 1); /* no -n: the default */
	f = c.vdev->host_features;
	CHECK_EQ(f & ALL_OFFLOADS, ALL_OFFLOADS);
	for (unsigned int b = 0; b < 64; b++) {
		static const unsigned int want[] = {
			VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC,
			VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MTU,
			VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CTRL_VQ,
			VIRTIO_NET_F_CTRL_RX, VIRTIO_NET_F_CTRL_MAC_ADDR,
			VIRTIO_NET_F_MQ, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
			VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC,
		};
		for (unsigned int i = 0; i < ARRAY_SIZE(want); i++)
			if (want[i] == b && !CHECK(f & F(b)))
				printf("  feature %u missing\n", b);
	}
	virtio_config_access(c.vdev, 0, mac, 6, false);
	CHECK(!memcmp(mac, MAC, 6));
	CHECK_EQ(cfg16(&c, 6), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(cfg16(&c, 8), 2);
	CHECK_EQ(cfg16(&c, 10), 9000);
	/* Read-only for a modern driver; out of range reads 0. */
	virtio_config_access(c.vdev, 0, junk, 6, true);
	virtio_config_access(c.vdev, 6, junk, 2, true);
	virtio_config_access(c.vdev, 0, mac, 6, false);
	CHECK(!memcmp(mac, MAC, 6));
	CHECK_EQ(cfg16(&c, 6), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(cfg16(&c, c.vdev->config_size), 0);
	/* The guest offloads went to the backend at DRIVER_OK. */
	CHECK_EQ(c.be->offload_calls, 1);
	CHECK_EQ(c.be->offloads, f & (F(VIRTIO_NET_F_GUEST_CSUM) |
		 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
		 F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO)));
	CHECK_EQ(c.be->queue_pairs, 1);
out:
	ctx_fini(&c);
}

TEST(no_offloads_without_vnet_hdr)
{
	struct ctx c;
	struct opts o = { .vnet = false, .be_features = ALL_OFFLOADS };

	if (!ctx_init(&c, &o))
		goto out;
	CHECK_EQ(c.vdev->host_features & ALL_OFFLOADS, 0);
	CHECK(!(c.vdev->host_features & F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)));
	CHECK(!(c.vdev->host_features & F(VIRTIO_NET_F_MQ)));
	CHECK(!(c.vdev->host_features & F(VIRTIO_NET_F_MTU)));
	CHECK_EQ(c.vdev->nr_queues, 3);
	CHECK_EQ(c.be->offload_calls, 0);
out:
	ctx_fini(&c);
}

TEST(features_ok_refuses_missing_dependencies)
{
	struct vqd_env env;
	struct net_fake *be = net_fake_new(true, ALL_OFFLOADS, 1, 0);
	struct virtio_dev *vdev;
	uint64_t f;

	REQUIRE(be && vqd_env_init(&env, 1 * MiB, 0) == 0);
	vdev = virtio_net_new(&env.vm, &be->be, MAC, 0);
	REQUIRE(vdev);
	vqd_attach(&env, vdev);
	f = vdev->host_features;
	CHECK(!(vqd_negotiate(vdev, f & ~F(VIRTIO_NET_F_GUEST_CSUM)) &
		VIRTIO_CONFIG_S_FEATURES_OK));
	CHECK(!(vqd_negotiate(vdev, f & ~F(VIRTIO_NET_F_CTRL_VQ)) &
		VIRTIO_CONFIG_S_FEATURES_OK));
	CHECK(vqd_negotiate(vdev, f) & VIRTIO_CONFIG_S_FEATURES_OK);
	virtio_dev_destroy(vdev);
	CHECK(be->closed);
	net_fake_free(be);
	vqd_env_destroy(&env);
}

TEST(link_status)
{
	struct ctx c;
	struct opts o = { 0 };
	unsigned int n;

	if (!ctx_init(&c, &o))
		goto out;
	n = vqd_signal_config_count(&c.env);
	virtio_net_set_link(c.vdev, false);
	CHECK_EQ(cfg16(&c, 6), 0);
	CHECK_EQ(vqd_signal_config_count(&c.env), n + 1);
	virtio_net_set_link(c.vdev, false); /* no change, no interrupt */
	CHECK_EQ(vqd_signal_config_count(&c.env), n + 1);
	virtio_net_set_link(c.vdev, true);
	CHECK_EQ(cfg16(&c, 6), VIRTIO_NET_S_LINK_UP);

	/* Ctrl-A l: the card registered its toggle with the VM; each press
	 * flips the link and interrupts the driver. */
	if (!CHECK(stub_link_toggle_fn != NULL))
		goto out;
	CHECK(stub_link_toggle_opaque == (void *)c.vdev);
	n = vqd_signal_config_count(&c.env);
	stub_link_toggle_fn(stub_link_toggle_opaque);
	CHECK_EQ(cfg16(&c, 6), 0);
	CHECK_EQ(vqd_signal_config_count(&c.env), n + 1);
	stub_link_toggle_fn(stub_link_toggle_opaque);
	CHECK_EQ(cfg16(&c, 6), VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(vqd_signal_config_count(&c.env), n + 2);
out:
	ctx_fini(&c);
}

/* --- tx --- */

TEST(tx_split_header_and_frame)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS };
	struct virtio_net_hdr_v1 h = hdr_csum(34, 16);
	uint8_t frame[100], all[HDR + 100];
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(frame, sizeof(frame), 1);
	h.num_buffers = htole16(77); /* the device zeroes it */
	memcpy(all, &h, HDR);
	memcpy(all + HDR, frame, sizeof(frame));
	/* Header split 5 + 7, frame split 40 + 60. */
	struct vqd_buf b[4] = {
		buf(&c, 5, all, false, NULL),
		buf(&c, 7, all + 5, false, NULL),
		buf(&c, 40, all + HDR, false, NULL),
		buf(&c, 60, all + HDR + 40, false, NULL),
	};
	int head = vqd_add(&c.q[1], b, 4);
	/* And everything in one buffer, indirect. */
	struct vqd_buf one = buf(&c, sizeof(all), all, false, NULL);
	vqd_add_indirect(&c.q[1], &one, 1, NULL);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	CHECK_EQ(id, (uint32_t)head);
	CHECK_EQ(len, 0);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	REQUIRE(net_fake_nr_tx(c.be) == 2);
	for (int i = 0; i < 2; i++) {
		struct net_fake_frame *fr = &c.be->tx[i];

		CHECK_EQ(fr->len, HDR + sizeof(frame));
		CHECK_EQ(fr->qp, 0);
		h.num_buffers = 0;
		CHECK(!memcmp(fr->data, &h, HDR));
		CHECK(!memcmp(fr->data + HDR, frame, sizeof(frame)));
	}
	CHECK(vqd_signal_vq_count(&c.env) > 0);
out:
	ctx_fini(&c);
}

TEST(tx_without_vnet_hdr_strips_header)
{
	struct ctx c;
	struct opts o = { 0 };
	uint8_t all[HDR + 60];
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	memset(all, 0, HDR);
	pattern(all + HDR, 60, 9);
	struct vqd_buf b = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &b, 1);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	REQUIRE(net_fake_nr_tx(c.be) == 1);
	CHECK_EQ(c.be->tx[0].len, 60);
	CHECK(!memcmp(c.be->tx[0].data, all + HDR, 60));
	/* A checksum request it cannot honour (CSUM not offered). */
	struct virtio_net_hdr_v1 h = hdr_csum(14, 6);
	memcpy(all, &h, HDR);
	b = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &b, 1);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	CHECK_EQ(len, 0);
	CHECK_EQ(net_fake_nr_tx(c.be), 1);
out:
	ctx_fini(&c);
}

TEST(tx_hostile_chains)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS,
			  .drop = F(VIRTIO_NET_F_HOST_TSO4) |
				  F(VIRTIO_NET_F_HOST_TSO6) |
				  F(VIRTIO_NET_F_HOST_ECN) };
	uint8_t all[HDR + 64] = { 0 };
	uint32_t id, len;
	unsigned int n = 0;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(all + HDR, 64, 3);
	/* Zero-length chain. */
	uint16_t d = vqd_next_desc(&c.q[1]);
	vqd_set_desc(&c.q[1], d, VQD_RAM_GPA, 0, 0, 0);
	vqd_publish(&c.q[1], d); n++;
	/* Header only; short header; header split short. */
	struct vqd_buf h_only = buf(&c, HDR, all, false, NULL);
	vqd_add(&c.q[1], &h_only, 1); n++;
	struct vqd_buf shorth = buf(&c, 8, all, false, NULL);
	vqd_add(&c.q[1], &shorth, 1); n++;
	struct vqd_buf sp[2] = { buf(&c, 4, all, false, NULL),
				 buf(&c, 4, all, false, NULL) };
	vqd_add(&c.q[1], sp, 2); n++;
	/* Frame above NET_MAX_FRAME. */
	struct vqd_buf big = buf(&c, HDR + NET_MAX_FRAME + 1, NULL, false, NULL);
	vqd_add(&c.q[1], &big, 1); n++;
	/* A device-writable buffer in a tx chain. */
	struct vqd_buf wr[2] = { buf(&c, sizeof(all), all, false, NULL),
				 buf(&c, 16, NULL, true, NULL) };
	vqd_add(&c.q[1], wr, 2); n++;
	/* TSO it did not negotiate; a checksum past the frame; unknown flags. */
	struct virtio_net_hdr_v1 h;
	memset(&h, 0, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h.gso_size = htole16(1448);
	memcpy(all, &h, HDR);
	struct vqd_buf tso = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &tso, 1); n++;
	h = hdr_csum(60, 6);
	memcpy(all, &h, HDR);
	struct vqd_buf csum = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &csum, 1); n++;
	memset(&h, 0, sizeof(h));
	h.flags = 0x80;
	memcpy(all, &h, HDR);
	struct vqd_buf flags = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &flags, 1); n++;
	/* A buffer outside guest RAM. */
	d = vqd_next_desc(&c.q[1]);
	vqd_set_desc(&c.q[1], d, vqd_ram_end(&c.env) - 8, 100, 0, 0);
	vqd_publish(&c.q[1], d); n++;

	notify(&c, 1);
	for (unsigned int i = 0; i < n; i++) {
		REQUIRE(vqd_get_used(&c.q[1], &id, &len));
		CHECK_EQ(len, 0);
	}
	CHECK_EQ(net_fake_nr_tx(c.be), 0);
	CHECK(live(&c));

	/* Still works: a good frame with an in-range checksum request. */
	h = hdr_csum(14, 16);
	memcpy(all, &h, HDR);
	struct vqd_buf good = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &good, 1);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	CHECK_EQ(net_fake_nr_tx(c.be), 1);

	/* A descriptor loop breaks the ring: NEEDS_RESET, no crash. */
	uint16_t d1 = vqd_next_desc(&c.q[1]), d2 = vqd_next_desc(&c.q[1]);
	vqd_set_desc(&c.q[1], d1, good.gpa, 20, VRING_DESC_F_NEXT, d2);
	vqd_set_desc(&c.q[1], d2, good.gpa, 20, VRING_DESC_F_NEXT, d1);
	vqd_publish(&c.q[1], d1);
	notify(&c, 1);
	CHECK(!live(&c));
	CHECK_EQ(net_fake_nr_tx(c.be), 1);
out:
	ctx_fini(&c);
}

/* Chains of more buffers than the device takes (NET_IOV_CAP, 256), in
 * indirect tables (up to 1024 entries): consumed, dropped, given back
 * empty, and the queues go on. */
TEST(too_long_chains)
{
	struct ctx c;
	struct opts o = { 0 };
	static struct vqd_buf b[300];
	uint8_t hdr[HDR] = { 0 }, *p;
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	b[0] = buf(&c, HDR, hdr, false, NULL);
	for (int i = 1; i < 300; i++)
		b[i] = buf(&c, 8, NULL, false, NULL);
	vqd_add_indirect(&c.q[1], b, 300, NULL);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	CHECK_EQ(len, 0);
	CHECK_EQ(net_fake_nr_tx(c.be), 0);

	for (int i = 0; i < 300; i++)
		b[i] = buf(&c, 8, NULL, true, i == 0 ? &p : NULL);
	vqd_add_indirect(&c.q[0], b, 300, NULL);
	struct vqd_buf good = buf(&c, 1526, NULL, true, NULL);
	vqd_add(&c.q[0], &good, 1);
	net_fake_rx(c.be, 0, hdr, HDR); /* any 12 bytes */
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, 0);
	CHECK(untouched(p, 8));
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, HDR + HDR);
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

TEST(tx_send_error_drops_frame)
{
	struct ctx c;
	struct opts o = { 0 };
	uint8_t all[HDR + 60] = { 0 };
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	c.be->send_result = -ENOBUFS;
	struct vqd_buf b = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &b, 1);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	CHECK_EQ(len, 0);
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

/* --- rx --- */

TEST(rx_one_chain)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS };
	uint8_t frame[HDR + 200], *p1, *p2;
	struct virtio_net_hdr_v1 h;
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	memcpy(frame, &h, HDR);
	pattern(frame + HDR, 200, 5);
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	/* Header split across two buffers: 4 + 1000. */
	struct vqd_buf b[2] = { buf(&c, 4, NULL, true, &p1),
				buf(&c, 1000, NULL, true, &p2) };
	int head = vqd_add(&c.q[0], b, 2);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(id, (uint32_t)head);
	CHECK_EQ(len, HDR + 200);
	h.num_buffers = htole16(1);
	CHECK(!memcmp(p1, &h, 4));
	CHECK(!memcmp(p2, (uint8_t *)&h + 4, HDR - 4));
	CHECK(!memcmp(p2 + HDR - 4, frame + HDR, 200));
	CHECK(untouched(p2 + HDR - 4 + 200, 1000 - (HDR - 4 + 200) + 16));
	CHECK(untouched(p1 + 4, 16));
	CHECK_EQ(net_fake_rx_left(c.be), 0);
	CHECK(vqd_signal_vq_count(&c.env) > 0);
out:
	ctx_fini(&c);
}

TEST(rx_without_vnet_hdr_adds_header)
{
	struct ctx c;
	struct opts o = { 0 };
	uint8_t frame[60], *p;
	struct virtio_net_hdr_v1 h;
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(frame, sizeof(frame), 2);
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	struct vqd_buf b = buf(&c, 1526, NULL, true, &p);
	vqd_add(&c.q[0], &b, 1);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, HDR + 60);
	memset(&h, 0, sizeof(h));
	h.num_buffers = htole16(1);
	CHECK(!memcmp(p, &h, HDR));
	CHECK(!memcmp(p + HDR, frame, 60));
out:
	ctx_fini(&c);
}

TEST(rx_short_chain_without_mrg_drops_and_keeps_chain)
{
	struct ctx c;
	struct opts o = { .drop = F(VIRTIO_NET_F_MRG_RXBUF) };
	uint8_t frame[100], *p;
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(frame, sizeof(frame), 4);
	net_fake_rx(c.be, 0, frame, 100); /* too big for the chain */
	net_fake_rx(c.be, 0, frame, 40);  /* fits */
	struct vqd_buf b = buf(&c, HDR + 50, NULL, true, &p);
	int head = vqd_add(&c.q[0], &b, 1);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(id, (uint32_t)head);
	CHECK_EQ(len, HDR + 40);
	CHECK(!memcmp(p + HDR, frame, 40));
	CHECK(untouched(p + HDR + 50, 16)); /* never past the chain */
	CHECK(!vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(net_fake_rx_left(c.be), 0);
	/* Chains shorter than the header and device-readable ones are
	 * given back empty. */
	struct vqd_buf tiny = buf(&c, 8, NULL, true, &p);
	struct vqd_buf ro = buf(&c, 100, NULL, false, NULL);
	vqd_add(&c.q[0], &tiny, 1);
	vqd_add(&c.q[0], &ro, 1);
	net_fake_rx(c.be, 0, frame, 40);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, 0);
	CHECK(untouched(p, 8 + 16));
	CHECK_EQ(net_fake_rx_left(c.be), 1); /* no buffer: still waiting */
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

TEST(rx_mergeable_buffers)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS };
	static uint8_t frame[HDR + 3000];
	uint8_t *p[4];
	struct virtio_net_hdr_v1 h;
	uint32_t id, len;
	int head[4];

	if (!ctx_init(&c, &o))
		goto out;
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	memcpy(frame, &h, HDR);
	pattern(frame + HDR, 3000, 6);
	/* Two 1024-byte buffers first: the frame waits in the device. */
	for (int i = 0; i < 2; i++) {
		struct vqd_buf b = buf(&c, 1024, NULL, true, &p[i]);
		head[i] = vqd_add(&c.q[0], &b, 1);
	}
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	notify(&c, 0);
	CHECK_EQ(vqd_used_idx(&c.q[0]), 0); /* nothing until complete */
	CHECK_EQ(net_fake_rx_left(c.be), 0);
	for (int i = 2; i < 4; i++) {
		struct vqd_buf b = buf(&c, 1024, NULL, true, &p[i]);
		head[i] = vqd_add(&c.q[0], &b, 1);
	}
	notify(&c, 0);
	CHECK_EQ(vqd_used_idx(&c.q[0]), 3);
	static const uint32_t want[3] = { 1024, 1024, HDR + 3000 - 2048 };
	for (int i = 0; i < 3; i++) {
		REQUIRE(vqd_get_used(&c.q[0], &id, &len));
		CHECK_EQ(id, (uint32_t)head[i]);
		CHECK_EQ(len, want[i]);
	}
	h.num_buffers = htole16(3);
	CHECK(!memcmp(p[0], &h, HDR));
	CHECK(!memcmp(p[0] + HDR, frame + HDR, 1024 - HDR));
	CHECK(!memcmp(p[1], frame + 1024, 1024));
	CHECK(!memcmp(p[2], frame + 2048, want[2]));
	CHECK(untouched(p[2] + want[2], 1024 - want[2] + 16));
	CHECK(untouched(p[3], 1024 + 16)); /* left for the next frame */
	/* The next small frame goes into the fourth buffer. */
	net_fake_rx(c.be, 0, frame, HDR + 10);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(id, (uint32_t)head[3]);
	CHECK_EQ(len, HDR + 10);
out:
	ctx_fini(&c);
}

TEST(rx_mergeable_bad_chain_drops_frame)
{
	struct ctx c;
	struct opts o = { 0 };
	static uint8_t frame[3000];
	uint8_t *p;
	uint32_t id, len;
	int h1, h2, h3;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(frame, sizeof(frame), 3);
	struct vqd_buf b1 = buf(&c, 1024, NULL, true, NULL);
	struct vqd_buf ro = buf(&c, 1024, NULL, false, &p);
	struct vqd_buf b3 = buf(&c, 2048, NULL, true, NULL);
	h1 = vqd_add(&c.q[0], &b1, 1);
	h2 = vqd_add(&c.q[0], &ro, 1); /* device-readable: a driver bug */
	h3 = vqd_add(&c.q[0], &b3, 1);
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	net_fake_rx(c.be, 0, frame, 100);
	notify(&c, 0);
	/* The bad chain back empty, then the dropped frame's first buffer
	 * empty, then the next frame whole in the third buffer. */
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(id, (uint32_t)h2);
	CHECK_EQ(len, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(id, (uint32_t)h1);
	CHECK_EQ(len, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(id, (uint32_t)h3);
	CHECK_EQ(len, HDR + 100);
	CHECK(untouched(p, 1024 + 16));
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

struct rx_driver {
	struct ctx *c;
	unsigned int frames;      /* how many to expect */
	unsigned int received;
	bool event_idx;
	bool ok;
};

static size_t stress_len(unsigned int i)
{
	return 60 + (i * 977) % 4000;
}

/* The guest side of the stress test: keeps rx buffers posted, kicks, and
 * reassembles merged frames, checking each against what was sent. */
static void *rx_driver_fn(void *opaque)
{
	struct rx_driver *d = opaque;
	struct ctx *c = d->c;
	static uint8_t got[8192], want[8192];
	uint8_t *hva[QSIZE];
	size_t have = 0;
	unsigned int left = 0, posted = 0, spins = 0;
	uint32_t id, len;

	d->ok = true;
	for (; posted < 24; posted++) {
		struct vqd_buf b = buf(c, 1526, NULL, true, NULL);
		int head = vqd_add(&c->q[0], &b, 1);

		hva[head] = vqd_hva(&c->env, b.gpa);
	}
	virtq_kick(&c->vdev->vqs[0]);
	while (d->received < d->frames && spins < 200000) {
		if (!vqd_get_used(&c->q[0], &id, &len)) {
			spins++;
			usleep(50);
			continue;
		}
		if (id >= QSIZE || len > 1526) {
			d->ok = false;
			break;
		}
		if (!left) {
			struct virtio_net_hdr_v1 h;

			memcpy(&h, hva[id], HDR);
			left = le16toh(h.num_buffers);
			if (!left || len < HDR) {
				d->ok = false;
				break;
			}
			have = len - HDR;
			memcpy(got, hva[id] + HDR, have);
		} else {
			if (have + len > sizeof(got)) {
				d->ok = false;
				break;
			}
			memcpy(got + have, hva[id], len);
			have += len;
		}
		if (!--left) {
			size_t wl = stress_len(d->received);

			pattern(want, wl, (uint8_t)d->received);
			if (have != wl || memcmp(got, want, wl)) {
				d->ok = false;
				break;
			}
			d->received++;
		}
		/* Refill, as virtio_net's try_fill_recv does. */
		struct vqd_buf b = buf(c, 1526, NULL, true, NULL);
		int head = vqd_add(&c->q[0], &b, 1);
		hva[head] = vqd_hva(&c->env, b.gpa);
		/* Kick when the device asks for it, as virtqueue_kick_prepare
		 * decides: the full barrier orders our avail->idx store
		 * before reading the device's flags / avail_event. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (d->event_idx ?
		    vring_need_event(vqd_avail_event(&c->q[0]),
				     c->q[0].avail_idx,
				     (uint16_t)(c->q[0].avail_idx - 1)) :
		    !(vqd_used_flags(&c->q[0]) & VRING_USED_F_NO_NOTIFY))
			virtq_kick(&c->vdev->vqs[0]);
	}
	return NULL;
}

static void rx_stress(bool event_idx)
{
	struct ctx c;
	struct opts o = { .threads = 2,
			  .drop = event_idx ? 0 : F(VIRTIO_RING_F_EVENT_IDX) };
	static uint8_t frame[8192];
	struct rx_driver d = { .frames = 120, .event_idx = event_idx };
	pthread_t t;

	if (!ctx_init(&c, &o))
		goto out;
	d.c = &c;
	REQUIRE(pthread_create(&t, NULL, rx_driver_fn, &d) == 0);
	for (unsigned int i = 0; i < d.frames; i++) {
		size_t l = stress_len(i);

		while (net_fake_rx_left(c.be) >= NET_FAKE_FRAMES - 1)
			usleep(100);
		pattern(frame, l, (uint8_t)i);
		net_fake_rx(c.be, 0, frame, l);
	}
	pthread_join(t, NULL);
	CHECK(d.ok);
	CHECK_EQ(d.received, d.frames);
	CHECK_EQ(net_fake_rx_left(c.be), 0);
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

/* Frames of 60..4060 bytes into 1526-byte merged buffers the driver
 * refills as they come back: stalls and kicks race all the time. */
TEST(rx_stress_with_workers)
{
	rx_stress(false);
}

TEST(rx_stress_with_workers_event_idx)
{
	rx_stress(true);
}

TEST(rx_reset_forgets_pending_frame)
{
	struct ctx c;
	struct opts o = { 0 };
	static uint8_t frame[3000];
	uint8_t *p;
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(frame, sizeof(frame), 1);
	struct vqd_buf b = buf(&c, 1024, NULL, true, NULL);
	vqd_add(&c.q[0], &b, 1);
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	notify(&c, 0); /* pending: needs two more buffers */
	CHECK_EQ(vqd_used_idx(&c.q[0]), 0);
	virtio_reset(c.vdev);
	REQUIRE(vqd_negotiate(c.vdev, c.vdev->host_features) &
		VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i < c.vdev->nr_queues; i++)
		REQUIRE(vqd_queue_setup(&c.q[i], &c.env, &c.vdev->vqs[i],
					QSIZE) == 0);
	REQUIRE(vqd_driver_ok(c.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* An indirect chain of two buffers, header split across them. */
	struct vqd_buf two[2] = { buf(&c, 6, NULL, true, NULL),
				  buf(&c, 1500, NULL, true, &p) };
	vqd_add_indirect(&c.q[0], two, 2, NULL);
	net_fake_rx(c.be, 0, frame, 100);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, HDR + 100);
	CHECK(!memcmp(p + HDR - 6, frame, 100));
	CHECK(!vqd_get_used(&c.q[0], &id, &len));
out:
	ctx_fini(&c);
}

TEST(tx_with_workers)
{
	struct ctx c;
	struct opts o = { .vnet = true, .threads = 2 };
	uint8_t all[HDR + 80] = { 0 };

	if (!ctx_init(&c, &o))
		goto out;
	/* 60 descriptors: all in flight at once in a 64-entry ring. */
	for (int i = 0; i < 30; i++) {
		all[HDR] = (uint8_t)i;
		struct vqd_buf b[2] = { buf(&c, HDR, all, false, NULL),
					buf(&c, 80, all + HDR, false, NULL) };
		vqd_add(&c.q[1], b, 2);
		if (i % 7 == 0)
			virtq_kick(&c.vdev->vqs[1]);
	}
	virtq_kick(&c.vdev->vqs[1]);
	CHECK(vqd_wait_used(&c.q[1], 30));
	REQUIRE(net_fake_nr_tx(c.be) == 30);
	for (int i = 0; i < 30; i++)
		CHECK_EQ(c.be->tx[i].data[HDR], i);
out:
	ctx_fini(&c);
}

TEST(rx_oversized_frame_dropped)
{
	struct ctx c;
	struct opts o = { 0 };
	static uint8_t frame[NET_MAX_FRAME + 100];
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	net_fake_rx(c.be, 0, frame, 64);
	struct vqd_buf b = buf(&c, 2048, NULL, true, NULL);
	vqd_add(&c.q[0], &b, 1);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, HDR + 64);
	CHECK_EQ(net_fake_rx_left(c.be), 0);
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

TEST(rx_stalls_without_buffers_and_resumes_on_kick)
{
	struct ctx c;
	struct opts o = { .threads = 2 };
	uint8_t frame[80];
	double t0;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(frame, sizeof(frame), 8);
	for (int i = 0; i < 3; i++)
		net_fake_rx(c.be, 0, frame, sizeof(frame));
	/* No rx buffers: the frames stay in the backend and the worker
	 * parks instead of spinning on the readable fd. */
	usleep(50 * 1000);
	t0 = cpu_seconds();
	usleep(300 * 1000);
	CHECK(cpu_seconds() - t0 < 0.1);
	CHECK_EQ(net_fake_rx_left(c.be), 3);
	CHECK_EQ(net_fake_recv_calls(c.be), 0);
	CHECK(live(&c));
	/* Buffers and the driver's kick: all three arrive. */
	for (int i = 0; i < 3; i++) {
		struct vqd_buf b = buf(&c, 1526, NULL, true, NULL);
		vqd_add(&c.q[0], &b, 1);
	}
	virtq_kick(&c.vdev->vqs[0]);
	CHECK(vqd_wait_used(&c.q[0], 3));
	CHECK_EQ(net_fake_rx_left(c.be), 0);
	/* Buffers waiting, then a frame: the backend's fd wakes rx. */
	struct vqd_buf b = buf(&c, 1526, NULL, true, NULL);
	vqd_add(&c.q[0], &b, 1);
	virtq_kick(&c.vdev->vqs[0]);
	usleep(20 * 1000);
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	CHECK(vqd_wait_used(&c.q[0], 4));
	/* Stalled again, then a reset and a restart: rx works again. */
	for (int i = 0; i < 2; i++)
		net_fake_rx(c.be, 0, frame, sizeof(frame));
	usleep(50 * 1000);
	CHECK_EQ(net_fake_rx_left(c.be), 2);
	virtio_reset(c.vdev);
	CHECK(vqd_negotiate(c.vdev, c.vdev->host_features) &
	      VIRTIO_CONFIG_S_FEATURES_OK);
	for (unsigned int i = 0; i < c.vdev->nr_queues; i++)
		CHECK_EQ(vqd_queue_setup(&c.q[i], &c.env, &c.vdev->vqs[i],
					 QSIZE), 0);
	for (int i = 0; i < 2; i++) {
		struct vqd_buf bb = buf(&c, 1526, NULL, true, NULL);
		vqd_add(&c.q[0], &bb, 1);
	}
	CHECK(vqd_driver_ok(c.vdev) & VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK(vqd_wait_used(&c.q[0], 2));
	CHECK_EQ(net_fake_rx_left(c.be), 0);
out:
	ctx_fini(&c);
}

TEST(rx_backend_error_stops_pair)
{
	struct ctx c;
	struct opts o = { 0 };
	uint8_t frame[60] = { 0 };
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	c.be->recv_error = -EIO;
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	struct vqd_buf b = buf(&c, 1526, NULL, true, NULL);
	vqd_add(&c.q[0], &b, 1);
	notify(&c, 0);
	notify(&c, 0);
	CHECK_EQ(net_fake_recv_calls(c.be), 1);
	CHECK(!vqd_get_used(&c.q[0], &id, &len));
	CHECK(live(&c));
out:
	ctx_fini(&c);
}

/* --- Control queue --- */

/* Send a command; returns the ack, or -1 when none came back. */
static int ctrl(struct ctx *c, uint8_t class, uint8_t cmd, const void *data,
		uint32_t len)
{
	uint8_t hdr[2] = { class, cmd }, *ack;
	uint32_t id, ulen;
	struct vqd_buf b[3];
	unsigned int n = 0;

	b[n++] = buf(c, 2, hdr, false, NULL);
	if (len)
		b[n++] = buf(c, len, data, false, NULL);
	b[n++] = buf(c, 1, NULL, true, &ack);
	vqd_add(&c->q[c->ctrl], b, n);
	notify(c, c->ctrl);
	if (!vqd_get_used(&c->q[c->ctrl], &id, &ulen) || ulen != 1)
		return -1;
	return *ack;
}

TEST(ctrl_rx_and_mac)
{
	struct ctx c;
	struct opts o = { 0 };
	uint8_t on = 1, two[2] = { 1, 1 }, mac[6], newmac[6] = { 2, 0, 0, 0, 0, 9 };
	uint8_t table[4 + 6 + 4 + 12] = { 0 };
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	CHECK_EQ(c.ctrl, 2);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
		 VIRTIO_NET_OK);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1),
		 VIRTIO_NET_OK);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1),
		 VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, two, 2),
		 VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0),
		 VIRTIO_NET_ERR);

	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		      newmac, 6), VIRTIO_NET_OK);
	virtio_config_access(c.vdev, 0, mac, 6, false);
	CHECK(!memcmp(mac, newmac, 6));
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		      newmac, 5), VIRTIO_NET_ERR);

	/* MAC table: 1 unicast, 2 multicast. */
	table[0] = 1;
	table[10] = 2;
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
		      table, sizeof(table)), VIRTIO_NET_OK);
	table[10] = 3; /* counts no longer add up */
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
		      table, sizeof(table)), VIRTIO_NET_ERR);
	memset(table, 0xff, 4); /* 4 billion entries */
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
		      table, sizeof(table)), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
		      table, 3), VIRTIO_NET_ERR);

	/* Garbage: unknown class and command, MQ not negotiated, a
	 * one-byte command, offloads not offered. */
	CHECK_EQ(ctrl(&c, 99, 0, NULL, 0), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MAC, 77, NULL, 0), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		      two, 2), VIRTIO_NET_ERR);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
		      VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, table, 8),
		 VIRTIO_NET_ERR);
	uint8_t *ack;
	struct vqd_buf one[2] = { buf(&c, 1, &on, false, NULL),
				  buf(&c, 1, NULL, true, &ack) };
	vqd_add(&c.q[c.ctrl], one, 2);
	notify(&c, c.ctrl);
	REQUIRE(vqd_get_used(&c.q[c.ctrl], &id, &len));
	CHECK_EQ(len, 1);
	CHECK_EQ(*ack, VIRTIO_NET_ERR);
	/* No room for the ack: given back empty. */
	struct vqd_buf noack = buf(&c, 8, table, false, NULL);
	vqd_add(&c.q[c.ctrl], &noack, 1);
	notify(&c, c.ctrl);
	REQUIRE(vqd_get_used(&c.q[c.ctrl], &id, &len));
	CHECK_EQ(len, 0);
	CHECK(live(&c));

	/* A reset restores the MAC address. */
	virtio_reset(c.vdev);
	virtio_config_access(c.vdev, 0, mac, 6, false);
	CHECK(!memcmp(mac, MAC, 6));
out:
	ctx_fini(&c);
}

TEST(ctrl_mq_and_offloads)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS,
			  .pairs = 2 };
	uint16_t pairs;
	uint64_t off;
	uint8_t frame[HDR + 40] = { 0 };

	if (!ctx_init(&c, &o))
		goto out;
	CHECK_EQ(c.ctrl, 4);
	/* Until VQ_PAIRS_SET only pair 0 receives. */
	uint32_t id, len;
	net_fake_rx(c.be, 1, frame, sizeof(frame));
	struct vqd_buf r = buf(&c, 1526, NULL, true, NULL);
	vqd_add(&c.q[2], &r, 1);
	notify(&c, 2);
	CHECK(!vqd_get_used(&c.q[2], &id, &len));
	CHECK_EQ(net_fake_recv_calls(c.be), 0);
	pairs = htole16(2);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		      &pairs, 2), VIRTIO_NET_OK);
	CHECK_EQ(c.be->queue_pairs, 2);
	pairs = htole16(0);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		      &pairs, 2), VIRTIO_NET_ERR);
	pairs = htole16(3);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		      &pairs, 2), VIRTIO_NET_ERR);
	CHECK_EQ(c.be->queue_pairs, 2);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_RSS_CONFIG,
		      &pairs, 2), VIRTIO_NET_ERR);

	off = htole64(F(VIRTIO_NET_F_GUEST_CSUM));
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
		      VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &off, 8),
		 VIRTIO_NET_OK);
	CHECK_EQ(c.be->offloads, F(VIRTIO_NET_F_GUEST_CSUM));
	off = htole64(F(VIRTIO_NET_F_MQ));
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
		      VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &off, 8),
		 VIRTIO_NET_ERR);

	/* The second pair carries traffic: tx on queue 3, rx on queue 2. */
	struct vqd_buf t = buf(&c, sizeof(frame), frame, false, NULL);
	vqd_add(&c.q[3], &t, 1);
	notify(&c, 3);
	REQUIRE(vqd_get_used(&c.q[3], &id, &len));
	REQUIRE(net_fake_nr_tx(c.be) == 1);
	CHECK_EQ(c.be->tx[0].qp, 1);
	notify(&c, 2);
	REQUIRE(vqd_get_used(&c.q[2], &id, &len));
	CHECK_EQ(len, sizeof(frame));
out:
	ctx_fini(&c);
}

TEST(mq_pairs_set_wakes_unused_pair)
{
	struct ctx c;
	struct opts o = { .pairs = 2, .threads = 2 };
	uint8_t frame[64] = { 0 };
	uint16_t pairs = htole16(2);

	if (!ctx_init(&c, &o))
		goto out;
	net_fake_rx(c.be, 1, frame, sizeof(frame));
	struct vqd_buf r = buf(&c, 1526, NULL, true, NULL);
	vqd_add(&c.q[2], &r, 1);
	virtq_kick(&c.vdev->vqs[2]);
	usleep(100 * 1000);
	CHECK_EQ(vqd_used_idx(&c.q[2]), 0); /* pair 1 not in use yet */
	CHECK_EQ(net_fake_rx_left(c.be), 1);
	CHECK_EQ(ctrl(&c, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
		      &pairs, 2), VIRTIO_NET_OK);
	CHECK(vqd_wait_used(&c.q[2], 1));
	CHECK_EQ(net_fake_rx_left(c.be), 0);
out:
	ctx_fini(&c);
}

/* --- Legacy driver: 10-byte header without MRG_RXBUF --- */

TEST(legacy_header_converted)
{
	struct ctx c;
	struct opts o = { .vnet = true, .be_features = ALL_OFFLOADS,
			  .legacy = true, .drop = F(VIRTIO_NET_F_MRG_RXBUF) };
	uint8_t all[10 + 50] = { 0 }, frame[HDR + 30] = { 0 }, *p;
	uint32_t id, len;

	if (!ctx_init(&c, &o))
		goto out;
	pattern(all + 10, 50, 1);
	struct vqd_buf t = buf(&c, sizeof(all), all, false, NULL);
	vqd_add(&c.q[1], &t, 1);
	notify(&c, 1);
	REQUIRE(vqd_get_used(&c.q[1], &id, &len));
	REQUIRE(net_fake_nr_tx(c.be) == 1);
	CHECK_EQ(c.be->tx[0].len, HDR + 50);
	CHECK(!memcmp(c.be->tx[0].data + HDR, all + 10, 50));

	pattern(frame + HDR, 30, 2);
	net_fake_rx(c.be, 0, frame, sizeof(frame));
	struct vqd_buf r = buf(&c, 100, NULL, true, &p);
	vqd_add(&c.q[0], &r, 1);
	notify(&c, 0);
	REQUIRE(vqd_get_used(&c.q[0], &id, &len));
	CHECK_EQ(len, 10 + 30);
	CHECK(!memcmp(p + 10, frame + HDR, 30));
out:
	ctx_fini(&c);
}

/* --- From the command line: virtio_net_type's count, check, create --- */

TEST(type_from_requests)
{
	static const uint8_t mac1[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	struct vqd_env env;
	struct vm_config *cfg = &env.cfg;
	struct net_config nc = { .mode = NET_MODE_TAP };
	struct virtio_dev *vdev;
	uint8_t mac[6];
	char why[256];

	REQUIRE(vqd_env_init(&env, 4 * MiB, 0) == 0);
	env.vm.nr_vcpus = 4;
	CHECK_EQ(virtio_net_type.count(cfg), 1); /* default_card below */
	CHECK_EQ(virtio_net_type.check(cfg, why, sizeof(why)), 0);

	/* Default MACs: kvmtool's, the index added to the last byte. */
	virtio_net_default_mac(0, mac);
	CHECK(!memcmp(mac, MAC, 6));
	virtio_net_default_mac(2, mac);
	CHECK_EQ(mac[0], 0x02);
	CHECK_EQ(mac[5], 0x17);
	/* Queue pairs: mq=, else one per vCPU, capped. */
	CHECK_EQ(virtio_net_queue_pairs(&nc, 4), 4);
	CHECK_EQ(virtio_net_queue_pairs(&nc, 0), 1);
	CHECK_EQ(virtio_net_queue_pairs(&nc, 64), NET_MAX_QUEUE_PAIRS);
	nc.mq = 2;
	CHECK_EQ(virtio_net_queue_pairs(&nc, 8), 2);

	/* "none" asks for nothing, and not beside another -n. */
	REQUIRE(virtio_device_request(cfg, &virtio_net_type, "none") == 0);
	CHECK_EQ(virtio_net_type.count(cfg), 0);
	CHECK_EQ(virtio_net_type.check(cfg, why, sizeof(why)), 0);
	REQUIRE(virtio_device_request(cfg, &virtio_net_type, "mode=user") == 0);
	CHECK_EQ(virtio_net_type.count(cfg), 1);
	CHECK_EQ(virtio_net_type.check(cfg, why, sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, "-n none (no network card) cannot be combined with another -n");

	/* Two user-mode cards (libslirp needs no privilege). */
	cfg->nr_dev_reqs = 0;
	REQUIRE(virtio_device_request(cfg, &virtio_net_type, "mode=user") == 0);
	REQUIRE(virtio_device_request(cfg, &virtio_net_type,
				      "mode=user,guest_mac=52:54:00:ab:cd:ef,hostfwd=udp:127.0.0.1:0-:9") == 0);
	CHECK_EQ(virtio_net_type.count(cfg), 2);
	vdev = virtio_net_type.create(&env.vm, 0);
	if (CHECK(vdev)) {
		CHECK_EQ(vdev->device_id, VIRTIO_ID_NET);
		CHECK_EQ(vdev->nr_queues, 3); /* user mode: one pair + ctrl */
		virtio_config_access(vdev, 0, mac, 6, false);
		CHECK(!memcmp(mac, MAC, 6));
		virtio_dev_destroy(vdev);
	}
	/* The second's hostfwd= has host port 0: cli_parse_net() refuses
	 * it, so create() does too, with one line. */
	CHECK_NULL(virtio_net_type.create(&env.vm, 1));
	cfg->nr_dev_reqs = 1;
	REQUIRE(virtio_device_request(cfg, &virtio_net_type,
				      "mode=user,guest_mac=52:54:00:ab:cd:ef") == 0);
	vdev = virtio_net_type.create(&env.vm, 1);
	if (CHECK(vdev)) {
		virtio_config_access(vdev, 0, mac, 6, false);
		CHECK(!memcmp(mac, mac1, 6));
		virtio_dev_destroy(vdev);
	}
	CHECK_NULL(virtio_net_type.create(&env.vm, 2)); /* no such -n */
	/* A backend that cannot be opened: NULL after its error line. */
	cfg->nr_dev_reqs = 0;
	REQUIRE(virtio_device_request(cfg, &virtio_net_type,
				      "mode=tap,tapif=/dev/lkvm-no-such-tap") == 0);
	CHECK_NULL(virtio_net_type.create(&env.vm, 0));
	vqd_env_destroy(&env);
}

/* No -n: one user-mode card with the first default MAC, lkvm's own
 * (implicit), and only while the devices asked for leave it a slot. */
TEST(default_card)
{
	struct vqd_env env;
	struct vm_config *cfg = &env.cfg;
	struct virtio_dev *vdev;
	struct net_config nc;
	uint8_t mac[6];
	unsigned int max;

	REQUIRE(vqd_env_init(&env, 4 * MiB, 0) == 0);
	env.vm.nr_vcpus = 2;
	CHECK_EQ(virtio_net_type.count(cfg), 1);
	CHECK(virtio_net_type.implicit(cfg));
	CHECK_EQ(virtio_net_card(cfg, 0, &nc, mac), 0);
	CHECK_EQ(nc.mode, NET_MODE_USER);
	CHECK(!memcmp(mac, MAC, 6));
	cli_free_net(&nc);
	vdev = virtio_net_type.create(&env.vm, 0);
	if (CHECK(vdev)) {
		CHECK_EQ(vdev->nr_queues, 3); /* user mode: one pair + ctrl */
		virtio_config_access(vdev, 0, mac, 6, false);
		CHECK(!memcmp(mac, MAC, 6));
		virtio_dev_destroy(vdev);
	}
	CHECK_NULL(virtio_net_type.create(&env.vm, 1)); /* only one */

	/* Every slot taken by what was asked for: no card, no error. */
	max = virtio_transport_max_devices(VIRTIO_TRANSPORT_MMIO);
	cfg->transport = VIRTIO_TRANSPORT_MMIO;
	cfg->nr_disks = max - 1;
	CHECK_EQ(virtio_net_type.count(cfg), 1);
	cfg->nr_disks = max;
	CHECK_EQ(virtio_net_type.count(cfg), 0);
	CHECK(virtio_net_type.implicit(cfg));
	cfg->transport = VIRTIO_TRANSPORT_DEFAULT; /* pci: 31 slots */
	CHECK_EQ(virtio_net_type.count(cfg), 1);
	cfg->nr_disks = 0;

	/* Any -n replaces it: "none" with nothing, a card with that card. */
	REQUIRE(virtio_device_request(cfg, &virtio_net_type, "none") == 0);
	CHECK_EQ(virtio_net_type.count(cfg), 0);
	CHECK(!virtio_net_type.implicit(cfg));
	CHECK_EQ(virtio_net_card(cfg, 0, &nc, mac), -EINVAL);
	cfg->nr_dev_reqs = 0;
	REQUIRE(virtio_device_request(cfg, &virtio_net_type,
				      "mode=user,guest_mac=52:54:00:ab:cd:ef") == 0);
	CHECK_EQ(virtio_net_type.count(cfg), 1);
	CHECK(!virtio_net_type.implicit(cfg));
	CHECK_EQ(virtio_net_card(cfg, 0, &nc, mac), 0);
	CHECK_EQ(mac[0], 0x52);
	cli_free_net(&nc);
	vqd_env_destroy(&env);
}

int main(void)
{
	RUN(identity_and_config);
	RUN(no_offloads_without_vnet_hdr);
	RUN(features_ok_refuses_missing_dependencies);
	RUN(link_status);
	RUN(tx_split_header_and_frame);
	RUN(tx_without_vnet_hdr_strips_header);
	RUN(tx_hostile_chains);
	RUN(too_long_chains);
	RUN(tx_send_error_drops_frame);
	RUN(rx_one_chain);
	RUN(rx_without_vnet_hdr_adds_header);
	RUN(rx_short_chain_without_mrg_drops_and_keeps_chain);
	RUN(rx_mergeable_buffers);
	RUN(rx_mergeable_bad_chain_drops_frame);
	RUN(rx_stress_with_workers);
	RUN(rx_stress_with_workers_event_idx);
	RUN(rx_oversized_frame_dropped);
	RUN(rx_reset_forgets_pending_frame);
	RUN(tx_with_workers);
	RUN(rx_stalls_without_buffers_and_resumes_on_kick);
	RUN(rx_backend_error_stops_pair);
	RUN(ctrl_rx_and_mac);
	RUN(ctrl_mq_and_offloads);
	RUN(mq_pairs_set_wakes_unused_pair);
	RUN(legacy_header_converted);
	RUN(type_from_requests);
	RUN(default_card);
	return test_summary();
}
