// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-console (virtio/console.c) driven over the fake transport of
 * vq_driver: output reaches the terminal, input reaches posted receive
 * buffers (also when typed before any were posted, with backpressure when
 * the input ring is full), resizes update config space, hostile chains are
 * answered without output, and lkvm's console= default becomes hvc0.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_console.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/term.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "test.h"
#include "vq_driver.h"

#define RXQ 0
#define TXQ 1
#define IN_RING 1024 /* the device's input ring */

/* Strong versions of stubs.c's weak stand-ins. */
static const char *test_defaults = "";
const char *arch_default_cmdline(void)
{
	return test_defaults;
}

static bool test_stopping;
bool vm_stopping(const struct vm *vm)
{
	(void)vm;
	return __atomic_load_n(&test_stopping, __ATOMIC_SEQ_CST);
}

struct ctx {
	struct vqd_env env;
	struct virtio_dev *vdev;
	struct vqd_queue rx, tx;
	int out[2]; /* the terminal's stdout: a pipe */
};

static void notify(struct ctx *c, unsigned int q)
{
	c->vdev->ops->queue_notify(c->vdev, &c->vdev->vqs[q]);
}

/* Did someone kick @q's eventfd since the last call?  Drains it. */
static bool kicked(struct ctx *c, unsigned int q)
{
	struct pollfd p = { .fd = c->vdev->vqs[q].kick_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, 0) != 1)
		return false;
	return read(p.fd, &v, sizeof(v)) == sizeof(v) && v;
}

/* Everything written to the terminal so far (NUL-terminated). */
static size_t term_output(struct ctx *c, char *buf, size_t cap)
{
	ssize_t n = read(c->out[0], buf, cap - 1);

	n = n < 0 ? 0 : n;
	buf[n] = '\0';
	return (size_t)n;
}

static void input(struct ctx *c, const char *s)
{
	while (*s)
		CHECK(c->env.vm.console_input(c->env.vm.console_input_opaque,
					      (uint8_t)*s++));
}

/* Device created, attached to the fake transport; queues not set up.
 * With @threads, queue handlers run on ioloop workers. */
static bool ctx_create_threads(struct ctx *c, unsigned int threads)
{
	memset(c, 0, sizeof(*c));
	c->out[0] = c->out[1] = -1;
	if (!CHECK_EQ(vqd_env_init(&c->env, 1 * MiB, threads), 0))
		return false;
	if (!CHECK_EQ(pipe2(c->out, O_NONBLOCK | O_CLOEXEC), 0))
		return false;
	term_init(&c->env.vm.term, -1, c->out[1]);
	c->vdev = virtio_console_new(&c->env.vm);
	if (!CHECK(c->vdev))
		return false;
	vqd_attach(&c->env, c->vdev);
	return true;
}

static bool ctx_create(struct ctx *c)
{
	return ctx_create_threads(c, 0);
}

/* The rest of driver initialisation: features, both queues, DRIVER_OK;
 * then, without workers, run the receive handler DRIVER_OK asked for. */
static bool ctx_driver(struct ctx *c)
{
	uint64_t f = (1ULL << VIRTIO_F_VERSION_1) |
		     (1ULL << VIRTIO_CONSOLE_F_SIZE);

	if (!CHECK(vqd_negotiate(c->vdev, f) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	if (!CHECK_EQ(vqd_queue_setup(&c->rx, &c->env, &c->vdev->vqs[RXQ], 16), 0) ||
	    !CHECK_EQ(vqd_queue_setup(&c->tx, &c->env, &c->vdev->vqs[TXQ], 128), 0))
		return false;
	(void)kicked(c, RXQ);
	(void)kicked(c, TXQ);
	if (!CHECK(vqd_driver_ok(c->vdev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return false;
	if (c->env.vm.ioloop_ready)
		return true;
	CHECK(kicked(c, RXQ));
	notify(c, RXQ);
	(void)kicked(c, RXQ);
	return true;
}

static bool ctx_init(struct ctx *c)
{
	return ctx_create(c) && ctx_driver(c);
}

static void ctx_fini(struct ctx *c)
{
	if (c->vdev)
		virtio_dev_destroy(c->vdev);
	CHECK_NULL(c->env.vm.console_input);
	CHECK_NULL(c->env.vm.console_resize);
	free(c->env.vm.cmdline);
	c->env.vm.cmdline = NULL;
	vqd_env_destroy(&c->env);
	if (c->out[0] >= 0)
		close(c->out[0]);
	if (c->out[1] >= 0)
		close(c->out[1]);
}

/* Post one device-readable buffer holding @s; returns the head. */
static int post_out(struct ctx *c, struct vqd_queue *q, const char *s)
{
	void *p;
	struct vqd_buf b = { vqd_alloc(&c->env, strlen(s), 1, &p),
			     (uint32_t)strlen(s), false };

	memcpy(p, s, strlen(s));
	return vqd_add(q, &b, 1);
}

/* Post one device-writable buffer of @len bytes; *hva gets its address. */
static int post_in(struct ctx *c, uint32_t len, uint8_t **hva)
{
	void *p;
	struct vqd_buf b = { vqd_alloc(&c->env, len, 1, &p), len, true };

	*hva = p;
	return vqd_add(&c->rx, &b, 1);
}

static uint16_t config16(struct ctx *c, uint32_t off)
{
	uint16_t v = 0;

	virtio_config_access(c->vdev, off, &v, sizeof(v), false);
	return v;
}

TEST(identity_and_config)
{
	struct ctx c;

	if (ctx_create(&c)) {
		CHECK_EQ(c.vdev->device_id, VIRTIO_ID_CONSOLE);
		CHECK_EQ(c.vdev->nr_queues, 2);
		CHECK(c.vdev->host_features & (1ULL << VIRTIO_CONSOLE_F_SIZE));
		CHECK(!(c.vdev->host_features &
			(1ULL << VIRTIO_CONSOLE_F_MULTIPORT)));
		CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, cols)), 80);
		CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, rows)), 24);
		CHECK(c.env.vm.console_input);
		CHECK(c.env.vm.console_resize);
	}
	ctx_fini(&c);
}

TEST(output_reaches_terminal)
{
	struct ctx c;
	char buf[64];
	uint32_t id, len;
	void *p1, *p2;

	if (!ctx_init(&c))
		goto out;
	struct vqd_buf b[2] = {
		{ vqd_alloc(&c.env, 3, 1, &p1), 3, false },
		{ vqd_alloc(&c.env, 7, 1, &p2), 7, false },
	};
	memcpy(p1, "hel", 3);
	memcpy(p2, "lo, hvc", 7);
	int head = vqd_add(&c.tx, b, 2);
	post_out(&c, &c.tx, "!\n");
	unsigned int sig = c.env.signal_vq_per_queue[TXQ];
	notify(&c, TXQ);
	CHECK_EQ(term_output(&c, buf, sizeof(buf)), 12);
	CHECK_STREQ(buf, "hello, hvc!\n");
	REQUIRE(vqd_get_used(&c.tx, &id, &len));
	CHECK_EQ(id, (uint32_t)head);
	CHECK_EQ(len, 0);
	CHECK(vqd_get_used(&c.tx, &id, &len));
	CHECK(!vqd_get_used(&c.tx, &id, &len));
	CHECK(c.env.signal_vq_per_queue[TXQ] > sig);
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));
out:
	ctx_fini(&c);
}

TEST(hostile_transmit_chains)
{
	struct ctx c;
	char buf[64];
	uint32_t id, len;
	void *p;

	if (!ctx_init(&c))
		goto out;
	/* Writable buffers on the transmitq: failed, nothing printed. */
	struct vqd_buf mixed[2] = {
		{ vqd_alloc(&c.env, 4, 1, &p), 4, false },
		{ vqd_alloc(&c.env, 4, 1, NULL), 4, true },
	};
	memcpy(p, "evil", 4);
	vqd_add(&c.tx, mixed, 2);
	vqd_add(&c.tx, &mixed[1], 1);
	/* More buffers than the device takes in one chain: failed alone. */
	struct vqd_buf many[65];
	for (unsigned int i = 0; i < 65; i++)
		many[i] = (struct vqd_buf){ mixed[0].gpa, 1, false };
	vqd_add(&c.tx, many, 65);
	post_out(&c, &c.tx, "ok");
	notify(&c, TXQ);
	CHECK_EQ(term_output(&c, buf, sizeof(buf)), 2);
	CHECK_STREQ(buf, "ok");
	for (int i = 0; i < 4; i++) {
		CHECK(vqd_get_used(&c.tx, &id, &len));
		CHECK_EQ(len, 0);
	}
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));

	/* A buffer straddling the end of guest RAM, and a readable buffer
	 * after a writable one: never read, returned unused. */
	uint16_t d = vqd_next_desc(&c.tx);
	vqd_set_desc(&c.tx, d, vqd_ram_end(&c.env) - 2, 64, 0, 0);
	vqd_publish(&c.tx, d);
	struct vqd_buf wr[2] = { mixed[1], mixed[0] };
	vqd_add(&c.tx, wr, 2);
	notify(&c, TXQ);
	CHECK_EQ(term_output(&c, buf, sizeof(buf)), 0);
	for (int i = 0; i < 2; i++) {
		CHECK(vqd_get_used(&c.tx, &id, &len));
		CHECK_EQ(len, 0);
	}
	CHECK(!(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET));

	/* A broken ring: NEEDS_RESET, no crash, no output. */
	vqd_set_avail_idx(&c.tx, (uint16_t)(c.tx.avail_idx + 1000));
	notify(&c, TXQ);
	CHECK(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
	CHECK_EQ(term_output(&c, buf, sizeof(buf)), 0);
out:
	ctx_fini(&c);
}

TEST(transmit_batches_requeue)
{
	struct ctx c;
	char buf[256];
	uint32_t id, len;
	unsigned int used = 0;

	if (!ctx_init(&c))
		goto out;
	for (int i = 0; i < 100; i++)
		post_out(&c, &c.tx, "x");
	notify(&c, TXQ);
	while (vqd_get_used(&c.tx, &id, &len))
		used++;
	CHECK(used > 0 && used < 100);
	CHECK(kicked(&c, TXQ)); /* it asked to run again */
	notify(&c, TXQ);
	while (vqd_get_used(&c.tx, &id, &len))
		used++;
	CHECK_EQ(used, 100);
	CHECK_EQ(term_output(&c, buf, sizeof(buf)), 100);
out:
	ctx_fini(&c);
}

TEST(input_reaches_receive_buffers)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *b1, *b2;

	if (!ctx_init(&c))
		goto out;
	int h1 = post_in(&c, 16, &b1);
	input(&c, "ab");
	CHECK(kicked(&c, RXQ));
	unsigned int sig = c.env.signal_vq_per_queue[RXQ];
	notify(&c, RXQ);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(id, (uint32_t)h1);
	CHECK_EQ(len, 2);
	CHECK(!memcmp(b1, "ab", 2));
	CHECK(c.env.signal_vq_per_queue[RXQ] > sig);

	/* One chain of several writable buffers is filled in order. */
	void *p[3];
	struct vqd_buf bufs[3] = {
		{ vqd_alloc(&c.env, 4, 1, &p[0]), 4, true },
		{ vqd_alloc(&c.env, 4, 1, &p[1]), 4, true },
		{ vqd_alloc(&c.env, 16, 1, &p[2]), 16, true },
	};
	vqd_add(&c.rx, bufs, 3);
	input(&c, "hello world");
	notify(&c, RXQ);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 11);
	CHECK(!memcmp(p[0], "hell", 4));
	CHECK(!memcmp(p[1], "o wo", 4));
	CHECK(!memcmp(p[2], "rld", 3));

	/* No input, no buffer consumed. */
	post_in(&c, 8, &b2);
	notify(&c, RXQ);
	CHECK(!vqd_get_used(&c.rx, &id, &len));
	input(&c, "z");
	notify(&c, RXQ);
	CHECK(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 1);
	CHECK_EQ(b2[0], 'z');
out:
	ctx_fini(&c);
}

TEST(input_waits_for_buffers)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *b1, *b2;

	if (!ctx_init(&c))
		goto out;
	input(&c, "xyz");
	notify(&c, RXQ); /* nothing posted: nothing happens */
	CHECK(!vqd_get_used(&c.rx, &id, &len));
	post_in(&c, 2, &b1);
	post_in(&c, 8, &b2);
	notify(&c, RXQ); /* the guest's kick */
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 2);
	CHECK(!memcmp(b1, "xy", 2));
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 1);
	CHECK_EQ(b2[0], 'z');
out:
	ctx_fini(&c);
}

TEST(input_before_driver_is_kept)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *b;

	if (!ctx_create(&c))
		goto out;
	input(&c, "early");
	/* DRIVER_OK wakes the receive queue for the waiting bytes (checked
	 * in ctx_driver); they wait for a buffer. */
	if (!ctx_driver(&c))
		goto out;
	post_in(&c, 64, &b);
	notify(&c, RXQ);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 5);
	CHECK(!memcmp(b, "early", 5));
out:
	ctx_fini(&c);
}

TEST(input_ring_wraps)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *b;
	char s[301];

	if (!ctx_init(&c))
		goto out;
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < 300; i++)
			s[i] = (char)('A' + (round * 300 + i) % 26);
		s[300] = '\0';
		input(&c, s);
		post_in(&c, 300, &b);
		notify(&c, RXQ);
		REQUIRE(vqd_get_used(&c.rx, &id, &len));
		CHECK_EQ(len, 300);
		CHECK(!memcmp(b, s, 300));
	}
out:
	ctx_fini(&c);
}

TEST(hostile_receive_chains)
{
	struct ctx c;
	uint32_t id, len;
	uint8_t *b;
	void *p;

	if (!ctx_init(&c))
		goto out;
	input(&c, "ab");
	/* A read-only buffer on the receiveq, and a mixed chain: both
	 * returned unused, the input stays for a proper buffer. */
	struct vqd_buf ro = { vqd_alloc(&c.env, 4, 1, &p), 4, false };
	memcpy(p, "keep", 4);
	vqd_add(&c.rx, &ro, 1);
	struct vqd_buf mixed[2] = { ro, { vqd_alloc(&c.env, 4, 1, NULL), 4, true } };
	vqd_add(&c.rx, mixed, 2);
	post_in(&c, 4, &b);
	notify(&c, RXQ);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 0);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 0);
	CHECK(!memcmp(p, "keep", 4));
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 2);
	CHECK(!memcmp(b, "ab", 2));

	/* A broken receive ring while input waits: NEEDS_RESET, no crash. */
	input(&c, "cd");
	vqd_set_avail_idx(&c.rx, (uint16_t)(c.rx.avail_idx + 500));
	notify(&c, RXQ);
	CHECK(virtio_get_status(c.vdev) & VIRTIO_CONFIG_S_NEEDS_RESET);
out:
	ctx_fini(&c);
}

struct feeder {
	struct ctx *c;
	uint8_t ch;
	bool done;
	bool result;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	bool r = f->c->env.vm.console_input(f->c->env.vm.console_input_opaque,
					    f->ch);

	f->result = r;
	__atomic_store_n(&f->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool feeder_done(struct feeder *f)
{
	return __atomic_load_n(&f->done, __ATOMIC_SEQ_CST);
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void fill_ring(struct ctx *c)
{
	for (int i = 0; i < IN_RING; i++)
		CHECK(c->env.vm.console_input(c->env.vm.console_input_opaque,
					      (uint8_t)i));
}

TEST(full_ring_blocks_until_guest_reads)
{
	struct ctx c;
	struct feeder f = { .c = &c, .ch = 0xEE };
	pthread_t t;
	uint32_t id, len;
	uint8_t *b;

	if (!ctx_init(&c))
		goto out;
	fill_ring(&c);
	REQUIRE(pthread_create(&t, NULL, feed, &f) == 0);
	msleep(150);
	CHECK(!feeder_done(&f)); /* waiting, not dropping */
	post_in(&c, 2 * IN_RING, &b);
	notify(&c, RXQ);
	pthread_join(t, NULL);
	CHECK(f.result);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, IN_RING);
	for (int i = 0; i < IN_RING; i++)
		if (!CHECK_EQ(b[i], (uint8_t)i))
			break;
	post_in(&c, 4, &b);
	notify(&c, RXQ);
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 1);
	CHECK_EQ(b[0], 0xEE);
out:
	ctx_fini(&c);
}

TEST(blocked_input_ends_when_vm_stops)
{
	struct ctx c;
	struct feeder f = { .c = &c, .ch = 1 };
	pthread_t t;

	if (!ctx_init(&c))
		goto out;
	fill_ring(&c);
	REQUIRE(pthread_create(&t, NULL, feed, &f) == 0);
	msleep(60);
	CHECK(!feeder_done(&f));
	__atomic_store_n(&test_stopping, true, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	CHECK(!f.result);
	/* Stopping: even with room, the reader is told to stop. */
	CHECK(!c.env.vm.console_input(c.env.vm.console_input_opaque, 'x'));
	__atomic_store_n(&test_stopping, false, __ATOMIC_SEQ_CST);
out:
	ctx_fini(&c);
}

TEST(blocked_input_ends_on_destroy)
{
	struct ctx c;
	struct feeder f = { .c = &c, .ch = 1 };
	pthread_t t;

	if (!ctx_init(&c))
		goto out;
	fill_ring(&c);
	REQUIRE(pthread_create(&t, NULL, feed, &f) == 0);
	msleep(60);
	CHECK(!feeder_done(&f));
	virtio_dev_destroy(c.vdev);
	c.vdev = NULL;
	pthread_join(t, NULL);
	CHECK(!f.result);
out:
	ctx_fini(&c);
}

TEST(resize_updates_config)
{
	struct ctx c;

	if (!ctx_init(&c))
		goto out;
	unsigned int n = vqd_signal_config_count(&c.env);
	uint8_t gen = c.vdev->config_generation;
	c.env.vm.console_resize(c.env.vm.console_resize_opaque, 132, 43);
	CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, cols)), 132);
	CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, rows)), 43);
	CHECK_EQ(vqd_signal_config_count(&c.env), n + 1);
	CHECK(c.vdev->config_generation != gen);
	/* The same size again: nothing to tell. */
	c.env.vm.console_resize(c.env.vm.console_resize_opaque, 132, 43);
	CHECK_EQ(vqd_signal_config_count(&c.env), n + 1);
	/* Absurd sizes are clamped to the 16-bit fields. */
	c.env.vm.console_resize(c.env.vm.console_resize_opaque, 100000, 7);
	CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, cols)), 0xffff);
	CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, rows)), 7);
	/* Out-of-range config reads give zeroes, not host memory. */
	uint32_t v = 0xdeadbeef;
	virtio_config_access(c.vdev, sizeof(struct virtio_console_config), &v,
			     4, false);
	CHECK_EQ(v, 0);
out:
	ctx_fini(&c);
}

TEST(size_announced_at_driver_ok)
{
	struct ctx c;

	if (!ctx_create(&c))
		goto out;
	/* SIGWINCH before the driver: stored, nobody to tell yet. */
	c.env.vm.console_resize(c.env.vm.console_resize_opaque, 100, 30);
	CHECK_EQ(vqd_signal_config_count(&c.env), 0);
	/* Linux reads the size on a config interrupt only: one is sent once
	 * DRIVER_OK is visible (by the handler ctx_driver runs). */
	if (!ctx_driver(&c))
		goto out;
	CHECK_EQ(vqd_signal_config_count(&c.env), 1);
	CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, cols)), 100);
	CHECK_EQ(config16(&c, offsetof(struct virtio_console_config, rows)), 30);
	notify(&c, RXQ); /* only once */
	notify(&c, TXQ);
	CHECK_EQ(vqd_signal_config_count(&c.env), 1);
out:
	ctx_fini(&c);
}

/* Wait up to 5 s for the device to have used @n chains of @q. */
static bool wait_used(struct vqd_queue *q, uint16_t n)
{
	for (int i = 0; i < 500; i++) {
		if (vqd_used_idx(q) == n)
			return true;
		msleep(10);
	}
	return false;
}

TEST(worker_threads_end_to_end)
{
	struct ctx c;
	char buf[64];
	uint32_t id, len;
	uint8_t *b;

	if (!ctx_create_threads(&c, 2) || !ctx_driver(&c))
		goto out;
	/* The size announcement arrives from a worker. */
	for (int i = 0; i < 500 && !vqd_signal_config_count(&c.env); i++)
		msleep(10);
	CHECK_EQ(vqd_signal_config_count(&c.env), 1);

	/* A typed byte finds the posted buffer without anyone kicking. */
	post_in(&c, 32, &b);
	virtq_kick(&c.vdev->vqs[RXQ]); /* the driver's notify */
	input(&c, "p");
	REQUIRE(wait_used(&c.rx, 1));
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 1);
	CHECK_EQ(b[0], 'p');
	/* Bytes typed while no buffer is posted go into the next one. */
	input(&c, "ing");
	msleep(20);
	post_in(&c, 32, &b);
	virtq_kick(&c.vdev->vqs[RXQ]);
	REQUIRE(wait_used(&c.rx, 2));
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 3);
	CHECK(!memcmp(b, "ing", 3));

	/* Guest output, kicked as through the ioeventfd. */
	post_out(&c, &c.tx, "pong\n");
	virtq_kick(&c.vdev->vqs[TXQ]);
	REQUIRE(wait_used(&c.tx, 1));
	CHECK_EQ(term_output(&c, buf, sizeof(buf)), 5);
	CHECK_STREQ(buf, "pong\n");

	/* A reset keeps buffered input for the next driver. */
	virtio_reset(c.vdev);
	input(&c, "again");
	if (!ctx_driver(&c))
		goto out;
	post_in(&c, 32, &b);
	virtq_kick(&c.vdev->vqs[RXQ]);
	REQUIRE(wait_used(&c.rx, 1));
	REQUIRE(vqd_get_used(&c.rx, &id, &len));
	CHECK_EQ(len, 5);
	CHECK(!memcmp(b, "again", 5));
out:
	ctx_fini(&c);
}

/* virtio_console_new() on a VM whose command line is @cmdline, built from
 * @defaults; returns the rewritten line (caller frees). */
static char *rewrite(const char *defaults, const char *cmdline)
{
	struct vqd_env env;
	struct virtio_dev *vdev;
	char *out;

	if (!CHECK_EQ(vqd_env_init(&env, 1 * MiB, 0), 0))
		return NULL;
	test_defaults = defaults;
	env.vm.cmdline = strdup(cmdline);
	env.vm.cmdline_defaults_len = strlen(defaults);
	vdev = virtio_console_new(&env.vm);
	CHECK(vdev);
	if (vdev)
		virtio_dev_destroy(vdev);
	out = env.vm.cmdline;
	env.vm.cmdline = NULL;
	vqd_env_destroy(&env);
	test_defaults = "";
	return out;
}

static void check_rewrite(const char *defaults, const char *cmdline,
			  const char *want)
{
	char *got = rewrite(defaults, cmdline);

	CHECK_STREQ(got, want);
	free(got);
}

TEST(cmdline_console_becomes_hvc0)
{
	/* The default is replaced in place; -p params still come after. */
	check_rewrite("console=ttyS0 earlyprintk=serial panic=1",
		      "console=ttyS0 earlyprintk=serial panic=1",
		      "console=ttyS0 console=hvc0 earlyprintk=serial panic=1");
	check_rewrite("console=ttyS0 earlyprintk=serial panic=1",
		      "console=ttyS0 earlyprintk=serial panic=1 console=ttyS0 quiet",
		      "console=ttyS0 console=hvc0 earlyprintk=serial panic=1 console=ttyS0 quiet");
	check_rewrite("earlyprintk=serial console=ttyS0",
		      "earlyprintk=serial console=ttyS0 console=ttyS0",
		      "earlyprintk=serial console=ttyS0 console=hvc0 console=ttyS0");
	/* Look-alikes are left alone; without a default one is added. */
	check_rewrite("console=ttyS0,115200 panic=1",
		      "console=ttyS0,115200 panic=1 console=ttyS0",
		      "console=ttyS0,115200 panic=1 console=hvc0 console=ttyS0");
	check_rewrite("panic=1", "panic=1", "panic=1 console=hvc0");
	check_rewrite("", " quiet", "console=hvc0 quiet");
}

int main(void)
{
	RUN(identity_and_config);
	RUN(output_reaches_terminal);
	RUN(hostile_transmit_chains);
	RUN(transmit_batches_requeue);
	RUN(input_reaches_receive_buffers);
	RUN(input_waits_for_buffers);
	RUN(input_before_driver_is_kept);
	RUN(input_ring_wraps);
	RUN(hostile_receive_chains);
	RUN(full_ring_blocks_until_guest_reads);
	RUN(blocked_input_ends_when_vm_stops);
	RUN(blocked_input_ends_on_destroy);
	RUN(resize_updates_config);
	RUN(size_announced_at_driver_ok);
	RUN(worker_threads_end_to_end);
	RUN(cmdline_console_becomes_hvc0);
	return test_summary();
}
