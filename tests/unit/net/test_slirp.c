// SPDX-License-Identifier: GPL-2.0
/*
 * net/slirp.c: the user-mode backend, driven as the device would drive it:
 * frames from the "guest" through ->send, frames for it through ->recv
 * once ->rx_fd polls readable.  DHCP, ARP, a host forward and its errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "host_files.h"
#include "lkvm/net.h"
#include "net/backend.h"
#include "test.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += get16(p + i);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
	return 14;
}

/* A DHCP DISCOVER, from 0.0.0.0:68 to 255.255.255.255:67. */
static size_t dhcp_discover(uint8_t *f)
{
	size_t o = eth(f, bcast, 0x0800);
	uint8_t *ip = f + o, *udp = ip + 20, *b = udp + 8;
	size_t blen = 240 + 4;

	memset(ip, 0, 20 + 8 + blen);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + blen));
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, ip_csum(ip, 20));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)(8 + blen));
	b[0] = 1; /* BOOTREQUEST */
	b[1] = 1;
	b[2] = 6;
	memcpy(b + 4, "\x12\x34\x56\x78", 4); /* xid */
	memcpy(b + 28, guest_mac, 6);
	memcpy(b + 236, "\x63\x82\x53\x63", 4);
	b[240] = 53; /* DHCP message type */
	b[241] = 1;
	b[242] = 1; /* DISCOVER */
	b[243] = 255;
	return o + 20 + 8 + blen;
}

/* An ARP request from the guest (10.0.2.15) for @tpa. */
static size_t arp_request(uint8_t *f, const char *tpa)
{
	size_t o = eth(f, bcast, 0x0806);
	uint8_t *a = f + o;

	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	inet_pton(AF_INET, "10.0.2.15", a + 14);
	memset(a + 18, 0, 6);
	inet_pton(AF_INET, tpa, a + 24);
	return o + 28;
}

/* The guest's ARP reply to @req (a request for 10.0.2.15). */
static size_t arp_reply(uint8_t *f, const uint8_t *req)
{
	size_t o = eth(f, req + 6, 0x0806);
	uint8_t *a = f + o;

	memcpy(a, req + 14, 8);
	put16(a + 6, 2);
	memcpy(a + 8, guest_mac, 6);
	memcpy(a + 14, req + 14 + 24, 4);
	memcpy(a + 18, req + 14 + 8, 10);
	return o + 28;
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Next frame for the guest within @ms milliseconds: its length, 0 on
 * timeout, or -errno.  Waits on ->rx_fd as the device does. */
/* How long a frame or datagram that must come may take: generous, as
 * the suite may run beside emulators on a loaded machine (only a failure
 * waits this long). */
#define NET_WAIT_MS 30000

static ssize_t next_frame(struct net_backend *be, uint8_t *buf, size_t cap,
			  int ms)
{
	int64_t end = ms_now() + ms;
	struct iovec iov = { buf, cap };
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = be->ops->rx_fd(be, 0), .events = POLLIN };
		int64_t left = end - ms_now();

		n = be->ops->recv(be, 0, &iov, 1);
		if (n)
			return n;
		if (left <= 0)
			return 0;
		if (poll(&p, 1, (int)left) < 0)
			return -errno;
	}
}

static struct net_backend *open_user(const struct net_config *cfg)
{
	struct net_backend *be = NULL;
	struct net_config def = { .mode = NET_MODE_USER };

	if (net_backend_open(&be, cfg ? cfg : &def, 4))
		return NULL;
	return be;
}

TEST(opens_as_documented)
{
	struct net_backend *be = open_user(NULL);

	REQUIRE(be);
	CHECK(!be->vnet_hdr);
	CHECK_EQ(be->features, 0);
	CHECK_EQ(be->queue_pairs, 1);
	CHECK_EQ(be->mtu, 1500);
	CHECK_STREQ(be->name, "user");
	CHECK(be->ops->rx_fd(be, 0) >= 0);
	CHECK(be->ops->rx_fd(be, 1) < 0);
	CHECK_EQ(be->ops->set_offloads(be, 0), 0);
	net_backend_close(be);
}

TEST(dhcp_discover_gets_an_offer)
{
	struct net_backend *be = open_user(NULL);
	uint8_t f[1600];
	struct iovec iov[3];
	size_t len;
	ssize_t n;
	bool offered = false;

	REQUIRE(be);
	len = dhcp_discover(f);
	/* Split across iovecs as a guest's chain may be. */
	iov[0] = (struct iovec){ f, 10 };
	iov[1] = (struct iovec){ f + 10, 30 };
	iov[2] = (struct iovec){ f + 40, len - 40 };
	CHECK_EQ(be->ops->send(be, 0, iov, 3), len);
	while (!offered && (n = next_frame(be, f, sizeof(f), NET_WAIT_MS)) > 0) {
		uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;

		if (n < 14 + 20 + 8 + 244 || get16(f + 12) != 0x0800 ||
		    ip[9] != 17 || get16(udp) != 67 || get16(udp + 2) != 68)
			continue;
		CHECK(!memcmp(b + 4, "\x12\x34\x56\x78", 4));
		CHECK(!memcmp(b + 16, "\x0a\x00\x02\x0f", 4)); /* yiaddr */
		CHECK(!memcmp(b + 236, "\x63\x82\x53\x63", 4));
		CHECK_EQ(b[240], 53);
		CHECK_EQ(b[242], 2); /* OFFER */
		offered = true;
	}
	CHECK(offered);
	net_backend_close(be);
}

TEST(arp_for_the_gateway_is_answered)
{
	struct net_backend *be = open_user(NULL);
	struct iovec iov;
	uint8_t f[1600];
	size_t len;
	ssize_t n;
	bool answered = false;

	REQUIRE(be);
	len = arp_request(f, "10.0.2.2");
	iov = (struct iovec){ f, len };
	CHECK_EQ(be->ops->send(be, 0, &iov, 1), len);
	while (!answered && (n = next_frame(be, f, sizeof(f), NET_WAIT_MS)) > 0) {
		if (n < 42 || get16(f + 12) != 0x0806)
			continue;
		CHECK(!memcmp(f, guest_mac, 6));
		CHECK_EQ(get16(f + 14 + 6), 2); /* reply */
		CHECK(!memcmp(f + 14 + 14, "\x0a\x00\x02\x02", 4));
		CHECK(!memcmp(f + 14 + 24, "\x0a\x00\x02\x0f", 4));
		answered = true;
	}
	CHECK(answered);
	/* Nothing else is waiting after a short while but what slirp sends
	 * on its own (IPv6 router advertisements). */
	net_backend_close(be);
}

TEST(short_buffers_and_frames)
{
	struct net_backend *be = open_user(NULL);
	uint8_t f[1600], small[20];
	struct iovec iov;
	size_t len;
	ssize_t n;

	REQUIRE(be);
	/* Shorter than an Ethernet header; longer than any frame. */
	iov = (struct iovec){ f, 10 };
	CHECK_EQ(be->ops->send(be, 0, &iov, 1), -EINVAL);
	{
		static uint8_t big[NET_MAX_FRAME + 1];

		iov = (struct iovec){ big, sizeof(big) };
		CHECK_EQ(be->ops->send(be, 0, &iov, 1), -EMSGSIZE);
	}
	CHECK_EQ(be->ops->send(be, 1, &iov, 1), -EINVAL);
	/* A reply too long for the buffer is consumed as -EMSGSIZE. */
	len = arp_request(f, "10.0.2.2");
	iov = (struct iovec){ f, len };
	CHECK_EQ(be->ops->send(be, 0, &iov, 1), len);
	n = next_frame(be, small, sizeof(small), NET_WAIT_MS);
	CHECK_EQ(n, -EMSGSIZE);
	iov = (struct iovec){ small, sizeof(small) };
	CHECK_EQ(be->ops->recv(be, 0, &iov, 1), 0);
	net_backend_close(be);
}

/* ARP for the gateway; its MAC into @gw_mac.  true when answered. */
static bool resolve_gateway(struct net_backend *be, uint8_t *gw_mac)
{
	uint8_t f[1600];
	struct iovec iov = { f, arp_request(f, "10.0.2.2") };
	ssize_t n;

	if (be->ops->send(be, 0, &iov, 1) != (ssize_t)iov.iov_len)
		return false;
	while ((n = next_frame(be, f, sizeof(f), NET_WAIT_MS)) > 0) {
		if (n >= 42 && get16(f + 12) == 0x0806 &&
		    get16(f + 14 + 6) == 2) {
			memcpy(gw_mac, f + 14 + 8, 6);
			return true;
		}
	}
	return false;
}

/* A UDP datagram from 10.0.2.15:@sport to 10.0.2.2:@dport. */
static size_t udp_to_host(uint8_t *f, const uint8_t *gw_mac, uint16_t sport,
			  uint16_t dport, const char *payload)
{
	size_t o = eth(f, gw_mac, 0x0800), plen = strlen(payload);
	uint8_t *ip = f + o, *udp = ip + 20;

	memset(ip, 0, 28);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(28 + plen));
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, "10.0.2.15", ip + 12);
	inet_pton(AF_INET, "10.0.2.2", ip + 16);
	put16(ip + 10, ip_csum(ip, 20));
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, (uint16_t)(8 + plen));
	memcpy(udp + 8, payload, plen);
	return o + 28 + plen;
}

TEST(udp_to_the_host_loopback_and_back)
{
	struct sockaddr_in a = { .sin_family = AF_INET }, from;
	socklen_t l = sizeof(a), fl = sizeof(from);
	struct net_backend *be = open_user(NULL);
	uint8_t f[1600], gw[6];
	char got[64];
	struct iovec iov;
	ssize_t n;
	bool back = false;
	int s;

	REQUIRE(be);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	REQUIRE(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(getsockname(s, (struct sockaddr *)&a, &l) == 0);
	REQUIRE(resolve_gateway(be, gw));

	/* Guest to host: 10.0.2.2 is the host's loopback. */
	iov = (struct iovec){ f, udp_to_host(f, gw, 5555, ntohs(a.sin_port),
					     "ping") };
	CHECK_EQ(be->ops->send(be, 0, &iov, 1), iov.iov_len);
	{
		struct pollfd p = { .fd = s, .events = POLLIN };

		REQUIRE(poll(&p, 1, NET_WAIT_MS) == 1);
	}
	n = recvfrom(s, got, sizeof(got) - 1, 0, (struct sockaddr *)&from, &fl);
	REQUIRE(n == 4);
	got[n] = '\0';
	CHECK_STREQ(got, "ping");

	/* Host to guest: the answer comes through slirp's loop thread,
	 * which must have started polling the socket slirp_input made. */
	CHECK_EQ(sendto(s, "pong", 4, 0, (struct sockaddr *)&from, fl), 4);
	while (!back && (n = next_frame(be, f, sizeof(f), NET_WAIT_MS)) > 0) {
		uint8_t *ip = f + 14, *udp = ip + 20;

		if (n < 14 + 28 + 4 || get16(f + 12) != 0x0800 || ip[9] != 17 ||
		    get16(udp + 2) != 5555)
			continue;
		CHECK(!memcmp(f, guest_mac, 6));
		CHECK(!memcmp(ip + 12, "\x0a\x00\x02\x02", 4));
		CHECK(!memcmp(ip + 16, "\x0a\x00\x02\x0f", 4));
		CHECK_EQ(get16(udp), ntohs(a.sin_port));
		CHECK(!memcmp(udp + 8, "pong", 4));
		back = true;
	}
	CHECK(back);
	close(s);
	net_backend_close(be);
}

TEST(guest_bound_queue_is_bounded)
{
	struct net_backend *be = open_user(NULL);
	uint8_t f[1600];
	struct iovec iov;
	struct capture c;
	const char *out;
	unsigned int got = 0, i;
	ssize_t n;

	REQUIRE(be);
	/* Each request is answered at once (under ->send): 300 answers
	 * for a guest that takes none. */
	iov = (struct iovec){ f, arp_request(f, "10.0.2.2") };
	capture_start(&c);
	for (i = 0; i < NET_USER_RXQ_FRAMES + 44; i++)
		CHECK_EQ(be->ops->send(be, 0, &iov, 1), iov.iov_len);
	out = capture_end(&c);
	/* One warning line for all the drops (rate-limited). */
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "dropped a frame for the guest");
	while ((n = next_frame(be, f, sizeof(f), 200)) > 0)
		got++;
	CHECK(got >= NET_USER_RXQ_FRAMES - 2 && got <= NET_USER_RXQ_FRAMES);
	/* Taken, the queue works again. */
	iov = (struct iovec){ f, arp_request(f, "10.0.2.2") };
	CHECK_EQ(be->ops->send(be, 0, &iov, 1), iov.iov_len);
	CHECK(next_frame(be, f, sizeof(f), NET_WAIT_MS) > 0);
	net_backend_close(be);
}

/* A TCP port on 127.0.0.1 nobody listens on (bound, then released). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(s, (struct sockaddr *)&a, &l))
		port = ntohs(a.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

TEST(hostfwd_accepts_and_the_guest_sees_a_syn)
{
	struct net_config cfg = { .mode = NET_MODE_USER, .nr_hostfwd = 1 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct net_backend *be;
	struct iovec iov;
	uint8_t f[1600], r[64];
	uint16_t port = free_port();
	size_t len;
	ssize_t n;
	bool syn = false;
	int s, err = -1;
	socklen_t el = sizeof(err);

	REQUIRE(port);
	cfg.hostfwd[0] = (struct net_hostfwd){
		.host_addr = htonl(INADDR_LOOPBACK),
		.host_port = port,
		.guest_port = 22,
	};
	be = open_user(&cfg);
	REQUIRE(be);
	/* The guest makes itself known (slirp learns its MAC). */
	len = arp_request(f, "10.0.2.2");
	iov = (struct iovec){ f, len };
	CHECK_EQ(be->ops->send(be, 0, &iov, 1), len);

	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	REQUIRE(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	CHECK(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 ||
	      errno == EINPROGRESS);
	{
		struct pollfd p = { .fd = s, .events = POLLOUT };

		CHECK_EQ(poll(&p, 1, NET_WAIT_MS), 1);
		CHECK_EQ(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el), 0);
		CHECK_EQ(err, 0);
	}
	while (!syn && (n = next_frame(be, f, sizeof(f), NET_WAIT_MS)) > 0) {
		uint8_t *ip = f + 14, *tcp;

		if (n >= 42 && get16(f + 12) == 0x0806 &&
		    get16(f + 14 + 6) == 1) {
			/* slirp asks for the guest's MAC: answer. */
			len = arp_reply(r, f);
			iov = (struct iovec){ r, len };
			CHECK_EQ(be->ops->send(be, 0, &iov, 1), len);
			continue;
		}
		if (n < 14 + 20 + 20 || get16(f + 12) != 0x0800 || ip[9] != 6)
			continue;
		tcp = ip + (ip[0] & 0xf) * 4;
		CHECK(!memcmp(ip + 16, "\x0a\x00\x02\x0f", 4));
		CHECK_EQ(get16(tcp + 2), 22);
		CHECK((tcp[13] & 0x12) == 0x02); /* SYN, no ACK */
		syn = true;
	}
	CHECK(syn);
	close(s);
	net_backend_close(be);
}

TEST(hostfwd_port_in_use_is_one_error_line)
{
	struct net_config cfg = { .mode = NET_MODE_USER, .nr_hostfwd = 1 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct net_backend *be = (struct net_backend *)&cfg;
	struct capture c;
	socklen_t l = sizeof(a);
	const char *out;
	char want[64];
	int s, r;

	s = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(s >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(listen(s, 1) == 0);
	REQUIRE(getsockname(s, (struct sockaddr *)&a, &l) == 0);
	cfg.hostfwd[0] = (struct net_hostfwd){
		.host_addr = htonl(INADDR_LOOPBACK),
		.host_port = ntohs(a.sin_port),
		.guest_port = 80,
	};
	capture_start(&c);
	r = net_backend_open(&be, &cfg, 1);
	out = capture_end(&c);
	CHECK(r < 0);
	CHECK_NULL(be);
	CHECK_EQ(count_lines(out), 1);
	snprintf(want, sizeof(want), "host port %u is already in use",
		 ntohs(a.sin_port));
	CHECK_CONTAINS(out, want);
	CHECK_CONTAINS(out, "hostfwd=tcp:127.0.0.1:");
	close(s);
}

TEST(open_close_many)
{
	/* Threads, eventfds and slirp instances do not leak. */
	for (int i = 0; i < 20; i++) {
		struct net_backend *be = open_user(NULL);

		REQUIRE(be);
		net_backend_close(be);
	}
}

int main(void)
{
	RUN(opens_as_documented);
	RUN(dhcp_discover_gets_an_offer);
	RUN(arp_for_the_gateway_is_answered);
	RUN(short_buffers_and_frames);
	RUN(udp_to_the_host_loopback_and_back);
	RUN(guest_bound_queue_is_bounded);
	RUN(hostfwd_accepts_and_the_guest_sees_a_syn);
	RUN(hostfwd_port_in_use_is_one_error_line);
	RUN(open_close_many);
	return test_summary();
}
