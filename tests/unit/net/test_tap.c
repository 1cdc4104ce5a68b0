// SPDX-License-Identifier: GPL-2.0
/*
 * net/tap.c: a real tap when /dev/net/tun is usable here (CAP_NET_ADMIN):
 * open/close, multiqueue, offload probing, frames both ways (an
 * AF_PACKET socket on the tap is the far end), an existing tap by name,
 * the script; and the error lines, some of which need no tun at all.
 * Cases that need a tap are not run (and say so) where it cannot be made:
 * a skip is not a pass.
 */
#include <arpa/inet.h>
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "host_files.h"
#include "lkvm/net.h"
#include "test.h"

#define TEST_ETHERTYPE 0x88b5 /* local experimental */

static struct net_backend *open_tap(const struct net_config *cfg,
				    unsigned int qp)
{
	struct net_backend *be = NULL;
	struct net_config def = { .mode = NET_MODE_TAP };

	if (net_backend_open(&be, cfg ? cfg : &def, qp))
		return NULL;
	return be;
}

/* Bring @ifname up (for AF_PACKET to see and send frames). */
static int if_up(const char *ifname)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), r = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (!ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

/* An AF_PACKET socket on @ifname for TEST_ETHERTYPE frames. */
static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK,
		       htons(TEST_ETHERTYPE));

	if (s < 0)
		return -1;
	sll.sll_protocol = htons(TEST_ETHERTYPE);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex ||
	    bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static size_t test_frame(uint8_t *f, size_t len, uint8_t fill)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x52\x54\x00\x12\x34\x56", 6);
	f[12] = TEST_ETHERTYPE >> 8;
	f[13] = TEST_ETHERTYPE & 0xff;
	memset(f + 14, fill, len - 14);
	return len;
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* The next TEST_ETHERTYPE frame the tap gives queue @qp (others, the
 * kernel's IPv6 chatter, are skipped), vnet header included. */
static ssize_t tap_next(struct net_backend *be, unsigned int qp, uint8_t *buf,
			size_t cap)
{
	struct iovec iov = { buf, cap };
	ssize_t n;

	for (int i = 0; i < 100; i++) {
		n = be->ops->recv(be, qp, &iov, 1);
		if (n < 0)
			return n;
		if (n == 0) {
			if (!wait_readable(be->ops->rx_fd(be, qp), 2000))
				return 0;
			continue;
		}
		if ((size_t)n >= NET_VNET_HDR_LEN + 14 &&
		    buf[NET_VNET_HDR_LEN + 12] == TEST_ETHERTYPE >> 8 &&
		    buf[NET_VNET_HDR_LEN + 13] == (TEST_ETHERTYPE & 0xff))
			return n;
	}
	return 0;
}

/* --- Without a tap --- */

TEST(name_too_long_is_one_error_line)
{
	struct net_config cfg = { .mode = NET_MODE_TAP,
				  .tapif = "a-very-long-tap-name0" };
	struct net_backend *be = (struct net_backend *)&cfg;
	struct capture c;
	const char *out;

	capture_start(&c);
	CHECK_EQ(net_backend_open(&be, &cfg, 1), -ENAMETOOLONG);
	out = capture_end(&c);
	CHECK_NULL(be);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "a-very-long-tap-name0");
	CHECK_CONTAINS(out, "too long");
}

TEST(missing_macvtap_is_one_error_line)
{
	struct net_config cfg = { .mode = NET_MODE_TAP,
				  .tapif = "/dev/tap999999" };
	struct net_backend *be = NULL;
	struct capture c;
	const char *out;

	capture_start(&c);
	CHECK(net_backend_open(&be, &cfg, 1) < 0);
	out = capture_end(&c);
	CHECK_NULL(be);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "/dev/tap999999 is missing");
}

TEST(mode_none_has_no_backend)
{
	struct net_config cfg = { .mode = NET_MODE_NONE };
	struct net_backend *be = NULL;
	struct capture c;

	capture_start(&c);
	CHECK(net_backend_open(&be, &cfg, 1) < 0);
	CHECK_EQ(count_lines(capture_end(&c)), 1);
	CHECK_NULL(be);
	net_backend_close(NULL);
}

/* --- With a tap --- */

TEST(new_tap_opens_and_closes)
{
	struct net_backend *be = open_tap(NULL, 1);
	char path[64];

	REQUIRE(be);
	CHECK(be->vnet_hdr);
	CHECK_EQ(be->queue_pairs, 1);
	CHECK(!strncmp(be->name, "tap", 3));
	CHECK_EQ(be->mtu, 1500);
	CHECK(be->ops->rx_fd(be, 0) >= 0);
	CHECK(be->ops->rx_fd(be, 1) < 0);
	CHECK(fcntl(be->ops->rx_fd(be, 0), F_GETFL) & O_NONBLOCK);
	snprintf(path, sizeof(path), "/sys/class/net/%s", be->name);
	CHECK(access(path, F_OK) == 0);
	net_backend_close(be);
	/* A tap lkvm made goes with it. */
	CHECK(access(path, F_OK) < 0);
}

TEST(offloads_probed_and_set)
{
	struct net_backend *be = open_tap(NULL, 1);
	uint64_t f;

	REQUIRE(be);
	f = be->features;
	CHECK(f & (1ULL << VIRTIO_NET_F_CSUM));
	CHECK(f & (1ULL << VIRTIO_NET_F_GUEST_CSUM));
	CHECK(f & (1ULL << VIRTIO_NET_F_GUEST_TSO4));
	CHECK(f & (1ULL << VIRTIO_NET_F_GUEST_TSO6));
	CHECK(f & (1ULL << VIRTIO_NET_F_GUEST_ECN));
	CHECK(f & (1ULL << VIRTIO_NET_F_HOST_TSO4));
	CHECK(f & (1ULL << VIRTIO_NET_F_HOST_TSO6));
	CHECK(!(f & (1ULL << VIRTIO_NET_F_MAC)));
	CHECK(!(f & (1ULL << VIRTIO_NET_F_MRG_RXBUF)));
	printf("  features %#llx\n", (unsigned long long)f);
	CHECK_EQ(be->ops->set_offloads(be, f), 0);
	CHECK_EQ(be->ops->set_offloads(be,
				       (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
				       (1ULL << VIRTIO_NET_F_GUEST_TSO4)), 0);
	/* Segmentation without checksum offload: none at all. */
	CHECK_EQ(be->ops->set_offloads(be, 1ULL << VIRTIO_NET_F_GUEST_TSO4), 0);
	CHECK_EQ(be->ops->set_offloads(be, 0), 0);
	net_backend_close(be);
}

TEST(multiqueue_one_fd_per_pair)
{
	struct net_backend *be = open_tap(NULL, 4);

	REQUIRE(be);
	CHECK_EQ(be->queue_pairs, 4);
	for (unsigned int i = 0; i < 4; i++) {
		CHECK(be->ops->rx_fd(be, i) >= 0);
		for (unsigned int j = 0; j < i; j++)
			CHECK(be->ops->rx_fd(be, i) != be->ops->rx_fd(be, j));
	}
	CHECK(be->ops->rx_fd(be, 4) < 0);
	net_backend_close(be);

	/* More than the interface takes is capped. */
	be = open_tap(NULL, 64);
	REQUIRE(be);
	CHECK(be->queue_pairs >= 1 && be->queue_pairs <= NET_MAX_QUEUE_PAIRS);
	net_backend_close(be);
}

TEST(frames_both_ways)
{
	struct net_backend *be = open_tap(NULL, 1);
	uint8_t f[2048], g[2048], hdr[NET_VNET_HDR_LEN] = { 0 };
	struct iovec iov[2];
	ssize_t n;
	int ps;

	REQUIRE(be);
	REQUIRE(if_up(be->name) == 0);
	ps = packet_socket(be->name);
	REQUIRE(ps >= 0);

	/* Guest to host: vnet header + frame in two pieces. */
	test_frame(f, 100, 0xa5);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ f, 100 };
	CHECK_EQ(be->ops->send(be, 0, iov, 2), NET_VNET_HDR_LEN + 100);
	CHECK(wait_readable(ps, 2000));
	n = recv(ps, g, sizeof(g), 0);
	CHECK_EQ(n, 100);
	CHECK(!memcmp(f, g, 100));

	/* Host to guest: the frame behind a vnet header. */
	test_frame(f, 300, 0x5a);
	CHECK_EQ(send(ps, f, 300, 0), 300);
	n = tap_next(be, 0, g, sizeof(g));
	CHECK_EQ(n, NET_VNET_HDR_LEN + 300);
	CHECK(!memcmp(g + NET_VNET_HDR_LEN, f, 300));
	CHECK_EQ(g[0], 0); /* no offload flags */

	/* Nothing waiting: 0, not -EAGAIN. */
	{
		struct iovec one = { g, sizeof(g) };

		while ((n = be->ops->recv(be, 0, &one, 1)) > 0)
			;
		CHECK_EQ(n, 0);
	}

	/* A frame longer than the buffer: consumed, -EMSGSIZE. */
	test_frame(f, 1000, 0x11);
	CHECK_EQ(send(ps, f, 1000, 0), 1000);
	CHECK(wait_readable(be->ops->rx_fd(be, 0), 2000));
	{
		struct iovec small = { g, 100 };

		n = be->ops->recv(be, 0, &small, 1);
		while (n > 0 && (g[NET_VNET_HDR_LEN + 12] != TEST_ETHERTYPE >> 8 ||
				 g[NET_VNET_HDR_LEN + 13] != (TEST_ETHERTYPE & 0xff)) &&
		       wait_readable(be->ops->rx_fd(be, 0), 2000))
			n = be->ops->recv(be, 0, &small, 1);
		CHECK_EQ(n, -EMSGSIZE);
	}
	close(ps);
	net_backend_close(be);
}

/* A persistent tap of the test's own, then lkvm attaches to it by name. */
static int persistent_tap(char *name, bool persist, bool mq)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR), r;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(mq ? IFF_MULTI_QUEUE : 0);
	r = ioctl(fd, TUNSETIFF, &ifr);
	if (!r)
		r = ioctl(fd, TUNSETPERSIST, persist ? 1 : 0);
	if (!r)
		snprintf(name, IFNAMSIZ, "%s", ifr.ifr_name);
	r = r ? -errno : 0;
	close(fd);
	return r;
}

TEST(existing_tap_by_name)
{
	struct net_config cfg = { .mode = NET_MODE_TAP };
	struct net_backend *be;
	char name[IFNAMSIZ] = "lkvmt%d";

	REQUIRE(persistent_tap(name, true, false) == 0);
	cfg.tapif = name;
	/* Single-queue: asking for 2 gives 1. */
	be = open_tap(&cfg, 2);
	CHECK(be);
	if (be) {
		CHECK_STREQ(be->name, name);
		CHECK_EQ(be->queue_pairs, 1);
		CHECK(be->vnet_hdr);
		net_backend_close(be);
	}
	CHECK_EQ(persistent_tap(name, false, false), 0);
	CHECK(if_nametoindex(name) == 0);

	/* Multi-queue: as many as asked for, or one. */
	snprintf(name, sizeof(name), "lkvmt%%d");
	REQUIRE(persistent_tap(name, true, true) == 0);
	be = open_tap(&cfg, 3);
	CHECK(be);
	if (be) {
		CHECK_STREQ(be->name, name);
		CHECK_EQ(be->queue_pairs, 3);
		net_backend_close(be);
	}
	be = open_tap(&cfg, 1);
	CHECK(be);
	if (be) {
		CHECK_EQ(be->queue_pairs, 1);
		net_backend_close(be);
	}
	CHECK_EQ(persistent_tap(name, false, true), 0);
	CHECK(if_nametoindex(name) == 0);
}

TEST(script_runs_with_the_ifname)
{
	struct net_config cfg = { .mode = NET_MODE_TAP };
	static const char ok_sh[] = "#!/bin/sh\necho \"$1\" > \"$(dirname \"$0\")/out\"\n";
	static const char bad_sh[] = "#!/bin/sh\nexit 3\n";
	char dir[256], ok[300], bad[300], out[300], got[64] = "";
	struct net_backend *be;
	struct capture c;
	const char *err;
	FILE *fp;

	REQUIRE(tmp_dir_make(dir, sizeof(dir), "tap"));
	snprintf(ok, sizeof(ok), "%s/ok.sh", dir);
	snprintf(bad, sizeof(bad), "%s/bad.sh", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	REQUIRE(file_put(ok, ok_sh, sizeof(ok_sh) - 1, 0755) == 0);
	REQUIRE(file_put(bad, bad_sh, sizeof(bad_sh) - 1, 0755) == 0);

	cfg.script = ok;
	be = open_tap(&cfg, 1);
	CHECK(be);
	if (be) {
		fp = fopen(out, "r");
		CHECK(fp);
		if (fp) {
			CHECK(fgets(got, sizeof(got), fp) != NULL);
			fclose(fp);
		}
		got[strcspn(got, "\n")] = '\0';
		CHECK_STREQ(got, be->name);
		net_backend_close(be);
	}

	cfg.script = "none";
	be = open_tap(&cfg, 1);
	CHECK(be);
	net_backend_close(be);

	cfg.script = bad;
	be = (struct net_backend *)&cfg;
	capture_start(&c);
	CHECK(net_backend_open(&be, &cfg, 1) < 0);
	err = capture_end(&c);
	CHECK_NULL(be);
	CHECK_EQ(count_lines(err), 1);
	CHECK_CONTAINS(err, "exit status 3");
	CHECK_CONTAINS(err, "bad.sh");
	tmp_dir_remove(dir);
}

static void no_net_admin_child(void)
{
	struct net_backend *be = NULL;
	struct capture c;
	const char *out;

	capng_get_caps_process();
	capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
		     CAP_NET_ADMIN);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0) {
		CHECK(!"capng_apply");
		return;
	}
	capture_start(&c);
	CHECK(net_backend_open(&be, &(struct net_config){ .mode = NET_MODE_TAP },
			       1) < 0);
	out = capture_end(&c);
	CHECK_NULL(be);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "creating a tap needs CAP_NET_ADMIN");
}

TEST(no_cap_net_admin_is_one_error_line)
{
	t_run_child(no_net_admin_child, 30, true);
}

/* Can a tap be made here?  If not, why (for the skip message). */
static bool tun_usable(char *why, size_t cap)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR);

	if (fd < 0) {
		snprintf(why, cap, "/dev/net/tun: %s", strerror(errno));
		return false;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(why, cap, "TUNSETIFF: %s (CAP_NET_ADMIN needed)",
			 strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

int main(void)
{
	char why[128];

	RUN(name_too_long_is_one_error_line);
	RUN(missing_macvtap_is_one_error_line);
	RUN(mode_none_has_no_backend);
	if (tun_usable(why, sizeof(why))) {
		RUN(new_tap_opens_and_closes);
		RUN(offloads_probed_and_set);
		RUN(multiqueue_one_fd_per_pair);
		RUN(frames_both_ways);
		RUN(existing_tap_by_name);
		RUN(script_runs_with_the_ifname);
		RUN(no_cap_net_admin_is_one_error_line);
	} else {
		printf("skipped (not run, not counted): 7 cases that need a tap: %s\n",
		       why);
	}
	return test_summary();
}
