// SPDX-License-Identifier: GPL-2.0
/*
 * net/vhost.c and vhost=on in net_backend_open(): the error lines (no
 * /dev/vhost-net, a device that is not vhost-net, vhost for a backend
 * that has no kernel descriptor), and with a tap, opening or refusing
 * vhost as /dev/vhost-net allows.  The data path itself needs a guest
 * driver and runs in the e2e case net-tap-vhost.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "host_files.h"
#include "lkvm/net.h"
#include "test.h"

TEST(missing_device_is_one_error_line)
{
	struct net_vhost *vh = (struct net_vhost *)&vh;
	struct capture c;
	const char *out;

	capture_start(&c);
	CHECK_EQ(net_vhost_open(&vh, "/nonexistent/vhost-net", "tap7", 2),
		 -ENOENT);
	out = capture_end(&c);
	CHECK_NULL(vh);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "tap7: vhost=on: /nonexistent/vhost-net does not exist (load the vhost_net module");
}

TEST(not_vhost_is_one_error_line)
{
	struct net_vhost *vh = NULL;
	struct capture c;
	const char *out;

	capture_start(&c);
	CHECK(net_vhost_open(&vh, "/dev/null", "tap7", 1) < 0);
	out = capture_end(&c);
	CHECK_NULL(vh);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "/dev/null is not vhost-net");
}

TEST(pair_count_bounds)
{
	struct net_vhost *vh = NULL;

	CHECK_EQ(net_vhost_open(&vh, "/dev/null", "t", 0), -EINVAL);
	CHECK_EQ(net_vhost_open(&vh, "/dev/null", "t",
				NET_MAX_QUEUE_PAIRS + 1), -EINVAL);
	CHECK_NULL(vh);
	net_vhost_close(NULL);
}

TEST(vhost_needs_a_tap)
{
	struct net_config cfg = { .mode = NET_MODE_USER, .vhost = true };
	struct net_backend *be = NULL;
	struct capture c;
	const char *out;

	capture_start(&c);
	CHECK_EQ(net_backend_open(&be, &cfg, 1), -EINVAL);
	out = capture_end(&c);
	CHECK_NULL(be);
	CHECK_CONTAINS(out, "vhost=on needs mode=tap");
}

/* With a tap: vhost opens with the tap when /dev/vhost-net is usable,
 * else the tap is closed again and one line says why. */
TEST(tap_with_vhost)
{
	struct net_config cfg = { .mode = NET_MODE_TAP, .vhost = true,
				  .mq = 2 };
	struct net_backend *be = NULL;
	struct capture c;
	const char *out;
	int fd = open(NET_VHOST_PATH, O_RDWR | O_CLOEXEC), err;

	if (fd >= 0)
		close(fd);
	capture_start(&c);
	err = net_backend_open(&be, &cfg, 2);
	out = capture_end(&c);
	if (fd >= 0) {
		REQUIRE(CHECK_EQ(err, 0));
		CHECK(be->vhost != NULL);
		CHECK(be->ops->kernel_fd != NULL);
		CHECK(net_vhost_features(be->vhost) & (1ULL << 32)); /* VERSION_1 */
		net_backend_close(be);
	} else {
		CHECK(err < 0);
		CHECK_NULL(be);
		CHECK_EQ(count_lines(out), 1);
		CHECK_CONTAINS(out, "vhost=on: " NET_VHOST_PATH);
	}
}

static bool tun_usable(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
	close(fd);
	return ok;
}

int main(void)
{
	RUN(missing_device_is_one_error_line);
	RUN(not_vhost_is_one_error_line);
	RUN(pair_count_bounds);
	RUN(vhost_needs_a_tap);
	if (tun_usable())
		RUN(tap_with_vhost);
	else
		printf("skipped (not run, not counted): tap_with_vhost: no usable /dev/net/tun\n");
	return test_summary();
}
