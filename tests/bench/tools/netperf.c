// SPDX-License-Identifier: GPL-2.0
/*
 * netperf: both ends of the network benchmark (tests/bench/net.sh), built
 * static and run in the L2 guest and in L1 (no relation to the netperf
 * package, which is not in the guest's initramfs). One TCP connection per
 * run; either end may listen or connect, whatever the data's direction:
 *
 *   netperf stream-send ADDR [-t SECS | -b BYTES] [-s SIZE]
 *                      write SIZE-byte buffers (default 128 KiB) for SECS
 *                      seconds (default 10) or BYTES bytes, then shut the
 *                      sending side down and wait for the peer's close
 *   netperf stream-recv ADDR [-s SIZE]
 *                      read until the peer's end of stream, then close
 *   netperf rr-client ADDR [-t SECS | -n COUNT] [-s SIZE]
 *                      send SIZE bytes (default 1), read SIZE bytes back,
 *                      again, for SECS seconds (default 10) or COUNT times
 *   netperf rr-server ADDR [-s SIZE]
 *                      echo SIZE-byte requests until end of stream
 *
 * ADDR is -l PORT (accept one connection on every address) or -c HOST:PORT
 * (HOST an IPv4 address). -w SECS (default 60): how long to wait for the
 * connection (connect is retried while refused or unreachable). The run
 * gives up, printing an error=... line and exiting 1, -w + the duration +
 * 120 seconds after it started.
 *
 * One machine-readable line on stdout at the end:
 *   NETPERF mode=stream-send bytes=N usecs=N mbps=X
 *   NETPERF mode=rr-client trans=N usecs=N tps=X lat_us=Y
 * MB/s are 10^6 bytes per second. The time runs from the first byte sent
 * or received to the end of the exchange: for stream-send until the
 * receiver has read everything and closed, for stream-recv until the end
 * of stream; for rr-server from the first request to end of stream. So
 * both ends of a stream measure the same transfer, each with its own
 * clock, and all four modes report figures comparable across runs.
 * TCP_NODELAY is set in every mode (ping-pong needs it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define STREAM_SIZE (128u << 10)
#define MAX_SIZE (16u << 20)

static const char *mode;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void fail(const char *what)
{
	int e = errno;

	fprintf(stderr, "netperf %s: %s: %s\n", mode, what, strerror(e));
	printf("NETPERF mode=%s error=%s\n", mode, what);
	fflush(stdout);
	exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = " error=timeout\n";

	(void)sig;
	/* async-signal-safe: write(2) only */
	if (write(1, "NETPERF mode=", 13) < 0 ||
	    write(1, mode, strlen(mode)) < 0 ||
	    write(1, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static uint64_t num(const char *s, uint64_t lo, uint64_t hi)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || *s == '\0' || *e != '\0' || v < lo || v > hi) {
		fprintf(stderr, "netperf: bad number '%s' (%" PRIu64 "..%" PRIu64 ")\n", s, lo, hi);
		exit(2);
	}
	return v;
}

static void nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		fail("setsockopt TCP_NODELAY");
}

/* One accepted connection on every address's PORT, within WAIT seconds. */
static int do_listen(unsigned int port, unsigned int wait)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, ls, fd, r;
	struct pollfd p;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		fail("socket");
	if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("setsockopt SO_REUSEADDR");
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)))
		fail("bind");
	if (listen(ls, 1))
		fail("listen");
	p.fd = ls;
	p.events = POLLIN;
	do
		r = poll(&p, 1, (int)wait * 1000);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		fail("poll");
	if (r == 0) {
		errno = ETIMEDOUT;
		fail("accept");
	}
	fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fail("accept");
	close(ls);
	return fd;
}

/* A connection to HOST:PORT, retried for WAIT seconds while the peer is
 * not there yet. */
static int do_connect(const char *hostport, unsigned int wait)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char host[64];
	const char *colon = strrchr(hostport, ':');
	uint64_t end = now_us() + (uint64_t)wait * 1000000u;
	int fd;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
		fprintf(stderr, "netperf: -c wants HOST:PORT, not '%s'\n", hostport);
		exit(2);
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "netperf: '%s' is not an IPv4 address\n", host);
		exit(2);
	}
	a.sin_port = htons((uint16_t)num(colon + 1, 1, 65535));
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			fail("socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return fd;
		if ((errno != ECONNREFUSED && errno != ENETUNREACH && errno != EHOSTUNREACH &&
		     errno != ETIMEDOUT && errno != EINTR) || now_us() >= end)
			fail("connect");
		close(fd);
		usleep(200000);
	}
}

/* Read until end of stream; returns the byte count, *first the time of
 * the first byte (0 if none came). */
static uint64_t drain(int fd, char *buf, size_t size, uint64_t *first)
{
	uint64_t total = 0;

	*first = 0;
	for (;;) {
		ssize_t n = read(fd, buf, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read");
		if (n == 0)
			return total;
		if (!*first)
			*first = now_us();
		total += (uint64_t)n;
	}
}

/* Exactly LEN bytes, or 0 at a clean end of stream before the first. */
static int read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("read");
		if (n == 0) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			fail("read (end of stream inside a message)");
		}
		got += (size_t)n;
	}
	return 1;
}

static void write_full(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail("write");
		done += (size_t)n;
	}
}

static void report_stream(uint64_t bytes, uint64_t us)
{
	if (us == 0)
		us = 1;
	printf("NETPERF mode=%s bytes=%" PRIu64 " usecs=%" PRIu64 " mbps=%.2f\n", mode, bytes,
	       us, (double)bytes / (double)us);
	fflush(stdout);
}

static void report_rr(uint64_t trans, uint64_t us)
{
	if (us == 0)
		us = 1;
	printf("NETPERF mode=%s trans=%" PRIu64 " usecs=%" PRIu64 " tps=%.1f lat_us=%.1f\n", mode,
	       trans, us, (double)trans * 1e6 / (double)us,
	       trans ? (double)us / (double)trans : 0.0);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: netperf stream-send|stream-recv|rr-client|rr-server\n"
		"               (-l PORT | -c HOST:PORT) [-t SECS] [-b BYTES] [-n COUNT]\n"
		"               [-s SIZE] [-w SECS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *peer = NULL;
	unsigned int port = 0, wait = 60, secs = 10;
	uint64_t bytes = 0, count = 0, size = 0, t0, t1, first;
	int opt, fd;
	char *buf;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (strcmp(mode, "stream-send") && strcmp(mode, "stream-recv") &&
	    strcmp(mode, "rr-client") && strcmp(mode, "rr-server"))
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "l:c:t:b:n:s:w:")) != -1) {
		switch (opt) {
		case 'l': port = (unsigned int)num(optarg, 1, 65535); break;
		case 'c': peer = optarg; break;
		case 't': secs = (unsigned int)num(optarg, 1, 86400); break;
		case 'b': bytes = num(optarg, 1, UINT64_MAX / 2); break;
		case 'n': count = num(optarg, 1, UINT64_MAX / 2); break;
		case 's': size = num(optarg, 1, MAX_SIZE); break;
		case 'w': wait = (unsigned int)num(optarg, 1, 86400); break;
		default: usage();
		}
	}
	if (optind != argc || !port == !peer)
		usage();
	if (!size)
		size = !strncmp(mode, "rr-", 3) ? 1 : STREAM_SIZE;
	buf = malloc(size);
	if (!buf)
		fail("malloc");
	memset(buf, 0x5a, size);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(wait + secs + 120);
	fd = port ? do_listen(port, wait) : do_connect(peer, wait);
	nodelay(fd);

	if (!strcmp(mode, "stream-send")) {
		uint64_t sent = 0, end;

		t0 = now_us();
		end = t0 + (uint64_t)secs * 1000000u;
		for (;;) {
			size_t n = size;

			if (bytes) {
				if (sent >= bytes)
					break;
				if (bytes - sent < n)
					n = (size_t)(bytes - sent);
			} else if (now_us() >= end) {
				break;
			}
			write_full(fd, buf, n);
			sent += n;
		}
		if (shutdown(fd, SHUT_WR))
			fail("shutdown");
		/* The receiver closes once it has read everything. */
		drain(fd, buf, size, &first);
		report_stream(sent, now_us() - t0);
	} else if (!strcmp(mode, "stream-recv")) {
		uint64_t got = drain(fd, buf, size, &first);

		t1 = now_us();
		/* Close first: the sender's clock runs until then. */
		close(fd);
		fd = -1;
		report_stream(got, first ? t1 - first : 0);
	} else if (!strcmp(mode, "rr-client")) {
		uint64_t n = 0, end;

		t0 = now_us();
		end = t0 + (uint64_t)secs * 1000000u;
		while (count ? n < count : now_us() < end) {
			write_full(fd, buf, size);
			if (!read_full(fd, buf, size)) {
				errno = EPIPE;
				fail("read (server closed)");
			}
			n++;
		}
		t1 = now_us();
		if (shutdown(fd, SHUT_WR))
			fail("shutdown");
		report_rr(n, t1 - t0);
	} else {
		uint64_t n = 0;

		t0 = 0;
		while (read_full(fd, buf, size)) {
			if (!t0)
				t0 = now_us();
			write_full(fd, buf, size);
			n++;
		}
		t1 = now_us();
		report_rr(n, t0 ? t1 - t0 : 0);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return 0;
}
