// SPDX-License-Identifier: GPL-2.0
/*
 * blkbench: throughput of lkvm's virtio-blk device model and disk backends,
 * measured on the host without a guest.
 *
 * A fake guest (tests/unit/lib/vq_driver.h: fake RAM, split ring, a driver
 * that negotiates every feature) drives virtio/blk.c exactly like a Linux
 * guest would: QD requests in flight, each an indirect descriptor chain
 * (header, data, status), kicks only when the device asks for them
 * (EVENT_IDX), and interrupts delivered through an eventfd the benchmark
 * sleeps on.  Everything below the ring is the real device code and the
 * real backend doing real I/O on IMAGE.
 *
 *   blkbench [options] IMAGE
 *     --backend B    io_uring, libaio, sync, auto or all (default: all)
 *     --direct       open IMAGE with O_DIRECT
 *     --qd N         requests in flight (1-256, default 32)
 *     --secs S       seconds per workload (default 5)
 *     --workloads L  comma-separated: seqwrite, seqread, randread
 *                    (default: seqwrite,seqread,randread; seqwrite and
 *                    randread cover IMAGE's first --span MiB)
 *     --span MiB     how much of IMAGE to use (default: all of it)
 *
 * seqread/seqwrite move 128 KiB per request, randread 4 KiB.  IMAGE's
 * contents are overwritten by seqwrite.  One line per backend and workload:
 *
 *   BLKBENCH backend=io_uring workload=seqread bs=131072 qd=32 direct=0
 *            ops=N bytes=N secs=X.XXX mbps=X.X iops=N errors=N
 *
 * (on one line).  Build (make build/bench/blkbench): the objects of lkvm
 * minus main/vm/vcpu/x86 kvm, tests/unit/lib/stubs.c and
 * tests/unit/lib/vq_driver.c, -luring -laio.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/disk.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"
#include "vq_driver.h"

#define QSIZE 256
#define SEQ_BS (128 * 1024)
#define RAND_BS 4096

enum workload { SEQWRITE, SEQREAD, RANDREAD };

static const char *const workload_names[] = { "seqwrite", "seqread",
					      "randread" };

struct slot {
	uint16_t head;                  /* descriptor index (indirect) */
	struct virtio_blk_outhdr *hdr;
	struct vring_desc *table;       /* 3 entries */
	uint8_t *status;
	uint64_t sector;
};

struct bench {
	struct vqd_env env;
	struct disk_config dc;
	struct virtio_dev *vdev;
	struct vqd_queue q;
	int irq_fd;                     /* the fake transport's interrupt */
	struct slot slots[QSIZE];
	unsigned int qd;
	uint64_t span;                  /* bytes of the image in use */
	uint64_t next_off;              /* sequential cursor */
	uint64_t rng;
	uint64_t ops, bytes, errors;
	struct virtio_interrupt irq;    /* the device's, counted on irq_fd */
};

static void irq_signal(struct virtio_interrupt *irq, unsigned int index)
{
	struct bench *b = container_of(irq, struct bench, irq);
	uint64_t one = 1;

	(void)index;
	(void)!write(b->irq_fd, &one, sizeof(one));
}

static void irq_config(struct virtio_interrupt *irq)
{
	(void)irq;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static int setup(struct bench *b, const char *image, enum disk_aio_kind aio,
		 bool direct, unsigned int qd)
{
	uint64_t ram = (uint64_t)qd * (SEQ_BS + 8192) + 4 * MiB;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->qd = qd;
	b->rng = 0x9e3779b97f4a7c15ULL;
	b->irq_fd = eventfd(0, EFD_CLOEXEC);
	if (b->irq_fd < 0)
		return -errno;
	if (vqd_env_init(&b->env, ram, 2)) {
		fprintf(stderr, "blkbench: cannot set up fake guest RAM\n");
		return -ENOMEM;
	}
	b->env.vm.nr_vcpus = 1;
	b->dc.path = image;
	b->dc.direct = direct;
	b->dc.aio = aio;
	b->vdev = virtio_blk_new(&b->env.vm, &b->dc, 0);
	if (!b->vdev)
		return -EINVAL; /* printed */
	b->irq.signal_queue = irq_signal;
	b->irq.signal_config = irq_config;
	b->vdev->irq = &b->irq;
	if (!(vqd_negotiate(b->vdev, b->vdev->host_features) &
	      VIRTIO_CONFIG_S_FEATURES_OK) ||
	    vqd_queue_setup(&b->q, &b->env, &b->vdev->vqs[0], QSIZE) ||
	    !(vqd_driver_ok(b->vdev) & VIRTIO_CONFIG_S_DRIVER_OK)) {
		fprintf(stderr, "blkbench: device setup failed\n");
		return -EIO;
	}
	/* Per slot: indirect table, header, data, status, all in RAM. */
	for (i = 0; i < qd; i++) {
		struct slot *s = &b->slots[i];
		void *p;
		uint64_t tg = vqd_alloc(&b->env, 3 * 16, 16, &p);
		uint64_t hg, dg, sg;

		s->table = p;
		hg = vqd_alloc(&b->env, 16, 16, &p);
		s->hdr = p;
		dg = vqd_alloc(&b->env, SEQ_BS, 4096, &p);
		memset(p, 0x5a, SEQ_BS);
		sg = vqd_alloc(&b->env, 1, 1, &p);
		s->status = p;
		if (!tg || !hg || !dg || !sg)
			return -ENOMEM;
		s->head = (uint16_t)i;
		s->table[0] = (struct vring_desc){ htole64(hg), htole32(16),
						   htole16(VRING_DESC_F_NEXT),
						   htole16(1) };
		s->table[1] = (struct vring_desc){ htole64(dg), 0,
						   htole16(VRING_DESC_F_NEXT),
						   htole16(2) };
		s->table[2] = (struct vring_desc){ htole64(sg), htole32(1),
						   htole16(VRING_DESC_F_WRITE),
						   0 };
		vqd_set_desc(&b->q, s->head, tg, 3 * 16,
			     VRING_DESC_F_INDIRECT, 0);
	}
	return 0;
}

static void teardown(struct bench *b)
{
	if (b->vdev)
		virtio_dev_destroy(b->vdev);
	vqd_env_destroy(&b->env);
	if (b->irq_fd >= 0)
		close(b->irq_fd);
}

/* Point slot @s at its next request and make it available. */
static void post(struct bench *b, struct slot *s, enum workload w)
{
	uint32_t bs = w == RANDREAD ? RAND_BS : SEQ_BS;
	uint64_t off;

	if (w == RANDREAD) {
		off = (xorshift(&b->rng) % (b->span / RAND_BS)) * RAND_BS;
	} else {
		if (b->next_off + bs > b->span)
			b->next_off = 0;
		off = b->next_off;
		b->next_off += bs;
	}
	s->sector = off >> 9;
	s->hdr->type = htole32(w == SEQWRITE ? VIRTIO_BLK_T_OUT :
					       VIRTIO_BLK_T_IN);
	s->hdr->ioprio = 0;
	s->hdr->sector = htole64(s->sector);
	s->table[1].len = htole32(bs);
	s->table[1].flags = htole16(VRING_DESC_F_NEXT |
				    (w == SEQWRITE ? 0 : VRING_DESC_F_WRITE));
	*s->status = 0xff;
	vqd_publish(&b->q, s->head);
}

/* Kick if the device asked for one at an index we just passed. */
static void maybe_kick(struct bench *b, uint16_t old_idx)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vring_need_event(vqd_avail_event(&b->q), b->q.avail_idx, old_idx))
		virtq_kick(&b->vdev->vqs[0]);
}

static int run(struct bench *b, enum workload w, double secs)
{
	double start, end;
	uint16_t old;
	unsigned int i, inflight = 0;
	bool stopping = false;

	b->ops = b->bytes = b->errors = 0;
	b->next_off = 0;
	old = b->q.avail_idx;
	for (i = 0; i < b->qd; i++)
		post(b, &b->slots[i], w);
	inflight = b->qd;
	start = now();
	end = start + secs;
	maybe_kick(b, old);

	while (inflight) {
		struct pollfd pfd = { .fd = b->irq_fd, .events = POLLIN };
		uint32_t id, len;
		uint64_t cnt;
		bool got = false;

		old = b->q.avail_idx;
		while (vqd_get_used(&b->q, &id, &len)) {
			struct slot *s;

			got = true;
			if (id >= b->qd) {
				fprintf(stderr, "blkbench: bad used id %u\n", id);
				return -EIO;
			}
			s = &b->slots[id];
			if (*s->status != VIRTIO_BLK_S_OK)
				b->errors++;
			b->ops++;
			b->bytes += w == RANDREAD ? RAND_BS : SEQ_BS;
			if (!stopping && now() < end) {
				post(b, s, w);
			} else {
				stopping = true;
				inflight--;
			}
		}
		if (b->q.avail_idx != old)
			maybe_kick(b, old);
		if (got || !inflight)
			continue;
		/* Ask for an interrupt at the next completion, then look
		 * again before sleeping (virtqueue_enable_cb). */
		vqd_set_used_event(&b->q, b->q.last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (vqd_used_idx(&b->q) != b->q.last_used)
			continue;
		if (poll(&pfd, 1, 10000) <= 0) {
			fprintf(stderr, "blkbench: no completion for 10 s\n");
			return -ETIMEDOUT;
		}
		(void)!read(b->irq_fd, &cnt, sizeof(cnt));
	}
	end = now() - start;
	printf("BLKBENCH backend=%s workload=%s bs=%u qd=%u direct=%d ops=%llu bytes=%llu secs=%.3f mbps=%.1f iops=%.0f errors=%llu\n",
	       disk_aio_name(b->dc.aio),
	       workload_names[w], w == RANDREAD ? RAND_BS : SEQ_BS, b->qd,
	       b->dc.direct, (unsigned long long)b->ops,
	       (unsigned long long)b->bytes, end,
	       (double)b->bytes / end / 1e6, (double)b->ops / end,
	       (unsigned long long)b->errors);
	fflush(stdout);
	return b->errors ? -EIO : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: blkbench [--backend io_uring|libaio|sync|auto|all] [--direct]\n"
		   "                [--qd N] [--secs S] [--span MiB]\n"
		   "                [--workloads seqwrite,seqread,randread] IMAGE\n");
}

static bool parse_backend(const char *s, enum disk_aio_kind *k)
{
	static const struct { const char *n; enum disk_aio_kind k; } t[] = {
		{ "io_uring", DISK_AIO_IO_URING }, { "libaio", DISK_AIO_LIBAIO },
		{ "sync", DISK_AIO_SYNC }, { "auto", DISK_AIO_AUTO },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(s, t[i].n)) {
			*k = t[i].k;
			return true;
		}
	return false;
}

int main(int argc, char **argv)
{
	enum disk_aio_kind backends[4] = { DISK_AIO_IO_URING, DISK_AIO_LIBAIO,
					   DISK_AIO_SYNC };
	unsigned int nr_backends = 3, qd = 32, i;
	bool want[3] = { true, true, true }, direct = false;
	const char *image = NULL;
	double secs = 5;
	uint64_t span_mib = 0;
	struct stat st;
	int fails = 0;

	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;

		if (!strcmp(arg, "--direct")) {
			direct = true;
		} else if (!strcmp(arg, "--backend") && val) {
			a++;
			if (!strcmp(val, "all")) {
				nr_backends = 3;
			} else if (parse_backend(val, &backends[0])) {
				nr_backends = 1;
			} else {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(arg, "--qd") && val) {
			a++;
			qd = (unsigned int)atoi(val);
		} else if (!strcmp(arg, "--secs") && val) {
			a++;
			secs = atof(val);
		} else if (!strcmp(arg, "--span") && val) {
			a++;
			span_mib = strtoull(val, NULL, 10);
		} else if (!strcmp(arg, "--workloads") && val) {
			a++;
			want[0] = strstr(val, "seqwrite") != NULL;
			want[1] = strstr(val, "seqread") != NULL;
			want[2] = strstr(val, "randread") != NULL;
		} else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			usage(stdout);
			return 0;
		} else if (arg[0] != '-' && !image) {
			image = arg;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!image || qd < 1 || qd > QSIZE || secs <= 0) {
		usage(stderr);
		return 2;
	}
	if (stat(image, &st)) {
		fprintf(stderr, "blkbench: %s: %s\n", image, strerror(errno));
		return 1;
	}

	for (i = 0; i < nr_backends; i++) {
		struct bench *b = calloc(1, sizeof(*b));
		int err;

		if (!b)
			return 1;
		err = setup(b, image, backends[i], direct, qd);
		if (!err) {
			struct virtio_blk_config cfg;

			virtio_config_access(b->vdev, 0, &cfg, 8, false);
			b->span = le64toh(cfg.capacity) * 512;
			if (span_mib && span_mib * MiB < b->span)
				b->span = span_mib * MiB;
			b->span = ALIGN_DOWN(b->span, (uint64_t)SEQ_BS);
			if (b->span < SEQ_BS) {
				fprintf(stderr, "blkbench: %s is smaller than 128 KiB\n",
					image);
				err = -EINVAL;
			}
		}
		for (int w = 0; !err && w < 3; w++)
			if (want[w] && run(b, (enum workload)w, secs))
				fails++;
		if (err)
			fails++;
		teardown(b);
		free(b);
	}
	return fails ? 1 : 0;
}
