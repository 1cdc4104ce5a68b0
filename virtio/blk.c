// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk (device id 2) over a disk image (include/lkvm/disk.h).
 *
 * One request queue per vCPU (VIRTIO_BLK_F_MQ).  A queue's handler pops
 * chains, checks them, and submits them to the disk backend in batches
 * with no copying: the backend's iovecs point straight into guest RAM.
 * Requests complete on backend threads, which write the status byte, push
 * the used entries and interrupt the driver once per batch.
 *
 * Request layout (virtio 1.2 5.2.6): a 16-byte header (struct
 * virtio_blk_outhdr) at the start of the device-readable buffers, data in
 * between, and the status byte as the very last byte of the device-writable
 * buffers.  Descriptor boundaries mean nothing (a header may be split).
 *
 * Every request has a slot in its queue, preallocated (queue size slots),
 * holding the iovecs the backend uses until completion.  When all slots are
 * busy (a driver can re-post heads it has not been given back) the handler
 * stops and the next completion kicks it again.
 *
 * The serial (VIRTIO_BLK_T_GET_ID) is serial= from the command line, else
 * "lkvm-<index>" with the disk's position on the command line.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/virtio_blk.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lkvm/config.h"
#include "lkvm/disk.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define F(bit) (1ULL << (bit))

#define SECTOR_SHIFT 9
#define SECTOR_SIZE (1u << SECTOR_SHIFT)

#define BLK_QUEUE_SIZE 256
#define BLK_SEG_MAX (BLK_QUEUE_SIZE - 2)   /* data buffers per request */
#define BLK_IOV_CAP (BLK_QUEUE_SIZE + 2)   /* header + data + status */
#define BLK_INLINE_IOV 34                  /* 128 KiB in 4 KiB pages + 2 */
#define BLK_SIZE_MAX (1u << 20)            /* bytes per data buffer */
#define BLK_MAX_BYTES (1ULL << 30)         /* per request, whatever size_max */
#define BLK_MAX_QUEUES 64
#define BLK_BATCH 128                      /* chains per handler run */
#define BLK_SUBMIT_BATCH 64                /* disk requests per submit */
#define BLK_DWZ_MAX_SEG 32                 /* discard/write-zeroes ranges */
#define BLK_DWZ_MAX_SECTORS (INT32_MAX >> SECTOR_SHIFT)

/* blk_prepare() results besides a VIRTIO_BLK_S_* status. */
#define BLK_SUBMITTED (-1)
#define BLK_NO_STATUS (-2)

struct blk_dev;
struct blk_queue;

struct blk_req {
	struct blk_queue *q;
	uint16_t slot;
	uint16_t head;
	uint8_t *status;              /* in guest RAM */
	uint32_t written;             /* used length to report */
	struct disk_req dreq;
	struct iovec *iov;            /* data buffers: inline_iov or heap */
	struct iovec inline_iov[BLK_INLINE_IOV];
	/* Discard/write-zeroes with several ranges: one disk request each. */
	struct disk_req *subs;
	unsigned int nr_subs;
	unsigned int subs_left;       /* atomic */
	int subs_err;                 /* atomic: first error */
};

struct blk_queue {
	struct blk_dev *blk;
	struct virtqueue *vq;
	struct blk_req *reqs;         /* BLK_QUEUE_SIZE slots */
	struct iovec iov[BLK_IOV_CAP];/* pop scratch: the handler's only */

	pthread_mutex_t lock;         /* free list, starved */
	uint16_t free[BLK_QUEUE_SIZE];
	unsigned int nr_free;
	bool starved;                 /* handler stopped for lack of slots */
};

struct blk_dev {
	struct virtio_dev vdev;
	bool disk_open;
	struct disk disk;
	struct virtio_blk_config cfg; /* little-endian, as the guest reads it */
	uint64_t capacity;            /* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	unsigned int nr_queues;
	struct blk_queue *queues;
	bool warned;                  /* rate limit for driver-bug messages */

	pthread_mutex_t lock;         /* inflight */
	pthread_cond_t idle;
	unsigned long inflight;       /* requests submitted, not completed */
};

/* --- Slots and in-flight accounting --- */

static struct blk_req *slot_get(struct blk_queue *q)
{
	struct blk_req *br = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->nr_free) {
		uint16_t slot = q->free[--q->nr_free];

		/* Set up on first use, not at start: a slot (~700 bytes)
		 * becomes resident only once the guest has had that many
		 * requests in flight (at most BLK_QUEUE_SIZE per queue). */
		br = &q->reqs[slot];
		br->q = q;
		br->slot = slot;
		br->iov = br->inline_iov;
	} else {
		q->starved = true;
	}
	pthread_mutex_unlock(&q->lock);
	return br;
}

static void slot_put(struct blk_queue *q, struct blk_req *br)
{
	bool kick;

	if (br->iov != br->inline_iov)
		free(br->iov);
	br->iov = br->inline_iov;
	free(br->subs);
	br->subs = NULL;

	pthread_mutex_lock(&q->lock);
	q->free[q->nr_free++] = br->slot;
	kick = q->starved;
	q->starved = false;
	pthread_mutex_unlock(&q->lock);
	/* The handler gave up for lack of slots: run it again. */
	if (kick)
		virtq_kick(q->vq);
}

static void inflight_add(struct blk_dev *blk, unsigned long n)
{
	pthread_mutex_lock(&blk->lock);
	blk->inflight += n;
	pthread_mutex_unlock(&blk->lock);
}

static void inflight_done(struct blk_dev *blk, unsigned long n)
{
	pthread_mutex_lock(&blk->lock);
	blk->inflight -= n;
	if (!blk->inflight)
		pthread_cond_broadcast(&blk->idle);
	pthread_mutex_unlock(&blk->lock);
}

static void wait_idle(struct blk_dev *blk)
{
	pthread_mutex_lock(&blk->lock);
	while (blk->inflight)
		pthread_cond_wait(&blk->idle, &blk->lock);
	pthread_mutex_unlock(&blk->lock);
}

static void driver_bug(struct blk_dev *blk, const char *what, uint16_t head)
{
	virtio_driver_bug(&blk->vdev, &blk->warned, what, head);
}

/* --- Parsing requests --- */

/* Room for @n data iovecs in @br. */
static bool req_iov_reserve(struct blk_req *br, unsigned int n)
{
	if (n <= BLK_INLINE_IOV) {
		br->iov = br->inline_iov;
		return true;
	}
	br->iov = malloc(n * sizeof(*br->iov));
	if (!br->iov) {
		br->iov = br->inline_iov;
		return false;
	}
	return true;
}

/* Is [sector, sector + nr) inside the disk?  (No overflow on the way.) */
static bool range_ok(const struct blk_dev *blk, uint64_t sector, uint64_t nr)
{
	return sector <= blk->capacity && nr <= blk->capacity - sector;
}

static int prepare_rw(struct blk_dev *blk, struct blk_req *br,
		      const struct virtq_chain *c, bool write, uint64_t sector)
{
	const struct iovec *src;
	unsigned int n;
	size_t skip;
	uint64_t len;

	if (write) {
		if (blk->disk.readonly)
			return VIRTIO_BLK_S_IOERR;
		/* Data: the readable bytes after the header. */
		len = c->out_len - sizeof(struct virtio_blk_outhdr);
		src = c->iov;
		n = c->nr_out;
		skip = sizeof(struct virtio_blk_outhdr);
	} else {
		/* Readable data would be a buffer in the wrong direction. */
		if (c->out_len != sizeof(struct virtio_blk_outhdr)) {
			driver_bug(blk, "read with device-readable data", c->head);
			return VIRTIO_BLK_S_IOERR;
		}
		/* Data: the writable bytes before the status byte. */
		len = c->in_len - 1;
		src = c->iov + c->nr_out;
		n = c->nr_in;
		skip = 0;
		br->written = (uint32_t)MIN(c->in_len, (uint64_t)UINT32_MAX);
	}
	if (len % SECTOR_SIZE || len > BLK_MAX_BYTES) {
		driver_bug(blk, "bad data length", c->head);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!range_ok(blk, sector, len >> SECTOR_SHIFT)) {
		pr_debug("%s: %s beyond the end of the disk (sector %llu, %llu bytes)",
			 blk->vdev.name, write ? "write" : "read",
			 (unsigned long long)sector, (unsigned long long)len);
		return VIRTIO_BLK_S_IOERR;
	}
	if (!len)
		return VIRTIO_BLK_S_OK;
	if (!req_iov_reserve(br, n))
		return VIRTIO_BLK_S_IOERR;

	memset(&br->dreq, 0, sizeof(br->dreq));
	br->dreq.op = write ? DISK_OP_WRITE : DISK_OP_READ;
	br->dreq.offset = sector << SECTOR_SHIFT;
	br->dreq.iov = br->iov;
	br->dreq.iovcnt = iov_slice(br->iov, src, n, skip, len);
	br->dreq.opaque = br;
	/* A driver that did not take VIRTIO_BLK_F_FLUSH cannot ask for
	 * durability, so every write must be durable when it completes. */
	br->dreq.fua = write &&
		       !(blk->vdev.guest_features & F(VIRTIO_BLK_F_FLUSH));
	return BLK_SUBMITTED;
}

static int prepare_get_id(struct blk_dev *blk, struct blk_req *br,
			  const struct virtq_chain *c)
{
	uint64_t room = c->in_len - 1;
	size_t n = (size_t)MIN(room, (uint64_t)VIRTIO_BLK_ID_BYTES);

	if (!n)
		return VIRTIO_BLK_S_IOERR;
	/* The last byte is the status, not part of the id. */
	n = iov_from_buf(c->iov + c->nr_out, c->nr_in, 0, blk->serial, n);
	br->written = (uint32_t)n + 1;
	return VIRTIO_BLK_S_OK;
}

static int prepare_dwz(struct blk_dev *blk, struct blk_req *br,
		       const struct virtq_chain *c, bool discard)
{
	struct virtio_blk_discard_write_zeroes seg[BLK_DWZ_MAX_SEG];
	uint64_t payload = c->out_len - sizeof(struct virtio_blk_outhdr);
	uint64_t bit = discard ? F(VIRTIO_BLK_F_DISCARD) :
				 F(VIRTIO_BLK_F_WRITE_ZEROES);
	unsigned int i, nr, used = 0;

	if (!(blk->vdev.host_features & bit))
		return VIRTIO_BLK_S_UNSUPP;
	if (!payload || payload % sizeof(seg[0])) {
		driver_bug(blk, "bad discard/write-zeroes payload", c->head);
		return VIRTIO_BLK_S_IOERR;
	}
	if (payload / sizeof(seg[0]) > BLK_DWZ_MAX_SEG) {
		driver_bug(blk, "too many discard/write-zeroes ranges", c->head);
		return VIRTIO_BLK_S_UNSUPP;
	}
	nr = (unsigned int)(payload / sizeof(seg[0]));
	iov_to_buf(c->iov, c->nr_out, sizeof(struct virtio_blk_outhdr), seg,
		   nr * sizeof(seg[0]));

	for (i = 0; i < nr; i++) {
		uint64_t sector = le64toh(seg[i].sector);
		uint32_t num = le32toh(seg[i].num_sectors);
		uint32_t flags = le32toh(seg[i].flags);

		/* Unknown flags, or UNMAP on a discard (5.2.6.2). */
		if (flags & ~(discard ? 0u : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
			return VIRTIO_BLK_S_UNSUPP;
		if (num > BLK_DWZ_MAX_SECTORS || !range_ok(blk, sector, num))
			return VIRTIO_BLK_S_IOERR;
		if (num)
			used++;
	}
	if (!used)
		return VIRTIO_BLK_S_OK;
	if (used > 1) {
		br->subs = calloc(used, sizeof(*br->subs));
		if (!br->subs)
			return VIRTIO_BLK_S_IOERR;
		br->nr_subs = used;
		br->subs_left = used;
		br->subs_err = 0;
	}
	for (i = 0, used = 0; i < nr; i++) {
		uint32_t num = le32toh(seg[i].num_sectors);
		struct disk_req *r;

		if (!num)
			continue;
		r = br->subs ? &br->subs[used] : &br->dreq;
		memset(r, 0, sizeof(*r));
		r->op = discard ? DISK_OP_DISCARD : DISK_OP_WRITE_ZEROES;
		r->offset = le64toh(seg[i].sector) << SECTOR_SHIFT;
		r->len = (uint64_t)num << SECTOR_SHIFT;
		r->unmap = le32toh(seg[i].flags) &
			   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		r->opaque = br;
		used++;
	}
	return BLK_SUBMITTED;
}

/*
 * Look at one chain.  Returns a VIRTIO_BLK_S_* status to complete it with
 * now, BLK_NO_STATUS if it has no room for a status byte, or BLK_SUBMITTED
 * when br->dreq (or br->subs) is ready for the backend.
 */
static int blk_prepare(struct blk_dev *blk, struct blk_req *br,
		       struct virtq_chain *c)
{
	struct virtio_blk_outhdr hdr;
	struct iovec *last;
	uint32_t type;

	br->head = c->head;
	br->written = 1;
	br->status = NULL;
	br->subs = NULL;
	br->iov = br->inline_iov;

	/* The status byte ends the writable buffers (non-empty: the core
	 * skips zero-length descriptors). */
	if (!c->nr_in) {
		driver_bug(blk, "no room for the status byte", c->head);
		return BLK_NO_STATUS;
	}
	last = &c->iov[c->nr_out + c->nr_in - 1];
	br->status = (uint8_t *)last->iov_base + last->iov_len - 1;

	if (c->out_len < sizeof(hdr)) {
		driver_bug(blk, "short header", c->head);
		return VIRTIO_BLK_S_IOERR;
	}
	iov_to_buf(c->iov, c->nr_out, 0, &hdr, sizeof(hdr));
	type = le32toh(hdr.type);

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return prepare_rw(blk, br, c, type == VIRTIO_BLK_T_OUT,
				  le64toh(hdr.sector));
	case VIRTIO_BLK_T_FLUSH:
		/* Nothing was written to a read-only disk. */
		if (blk->disk.readonly)
			return VIRTIO_BLK_S_OK;
		memset(&br->dreq, 0, sizeof(br->dreq));
		br->dreq.op = DISK_OP_FLUSH;
		br->dreq.opaque = br;
		return BLK_SUBMITTED;
	case VIRTIO_BLK_T_GET_ID:
		return prepare_get_id(blk, br, c);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return prepare_dwz(blk, br, c, type == VIRTIO_BLK_T_DISCARD);
	default:
		pr_debug("%s: unsupported request type %#x", blk->vdev.name,
			 type);
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* --- Completion --- */

/* Report @br to the driver and free its slot (no interrupt yet). */
static void blk_finish(struct blk_req *br, uint8_t status)
{
	struct blk_queue *q = br->q;

	*br->status = status;
	/* virtq_push() orders the status store before the used index. */
	virtq_push(q->vq, br->head, br->written);
	slot_put(q, br);
}

/* Backend callback: a batch of finished disk requests. */
static void blk_complete(void *opaque, struct disk_req **reqs, unsigned int n)
{
	struct blk_dev *blk = opaque;
	struct virtqueue *touched[BLK_SUBMIT_BATCH];
	unsigned int i, j, nr_touched = 0, finished = 0;

	for (i = 0; i < n; i++) {
		struct blk_req *br = reqs[i]->opaque;
		struct virtqueue *vq = br->q->vq;
		int result = reqs[i]->result;

		if (br->subs) {
			/* One range of several: the last one reports. */
			if (result)
				__atomic_compare_exchange_n(&br->subs_err,
					&(int){ 0 }, result, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			if (__atomic_sub_fetch(&br->subs_left, 1,
					       __ATOMIC_SEQ_CST))
				continue;
			result = __atomic_load_n(&br->subs_err,
						 __ATOMIC_SEQ_CST);
		}
		if (result)
			pr_debug("%s: request failed: %s", blk->vdev.name,
				 strerror(-result));
		blk_finish(br, result ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
		finished++;

		for (j = 0; j < nr_touched && touched[j] != vq; j++)
			;
		if (j < nr_touched)
			continue;
		if (nr_touched < ARRAY_SIZE(touched))
			touched[nr_touched++] = vq;
		else
			virtq_notify(vq);
	}
	/* One interrupt decision per queue per batch. */
	for (j = 0; j < nr_touched; j++)
		virtq_notify(touched[j]);
	/* Last: a reset waiting for us may tear the queues down. */
	if (finished)
		inflight_done(blk, finished);
}

/* --- The queue handler --- */

struct submit_batch {
	struct disk_req *reqs[BLK_SUBMIT_BATCH];
	unsigned int n;
};

static void batch_flush(struct blk_dev *blk, struct submit_batch *sb)
{
	if (sb->n)
		disk_submit(&blk->disk, sb->reqs, sb->n);
	sb->n = 0;
}

static void batch_add(struct blk_dev *blk, struct submit_batch *sb,
		      struct blk_req *br)
{
	unsigned int i, nr = br->subs ? br->nr_subs : 1;

	if (sb->n + nr > BLK_SUBMIT_BATCH)
		batch_flush(blk, sb);
	/* Counted before the backend sees it: it may complete at once. */
	inflight_add(blk, 1);
	if (!br->subs) {
		sb->reqs[sb->n++] = &br->dreq;
		return;
	}
	for (i = 0; i < nr; i++)
		sb->reqs[sb->n++] = &br->subs[i];
}

static void blk_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct blk_dev *blk = vdev->priv;
	struct blk_queue *q = vq->priv;
	struct submit_batch sb = { .n = 0 };
	unsigned int budget = BLK_BATCH;
	bool pushed = false, more = false;

	if (!q || !__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return;

	/* Polling now: the driver need not kick until we stop. */
	virtq_disable_kicks(vq);
	for (;;) {
		while (budget) {
			struct virtq_chain c;
			struct blk_req *br = slot_get(q);
			int r, st;

			if (!br)
				goto out; /* a completion kicks us again */
			r = virtq_pop(vq, &c, q->iov, BLK_IOV_CAP);
			if (r == 0 || r == -EIO) {
				/* Empty, or a broken ring (NEEDS_RESET is
				 * set; touch nothing more). */
				slot_put(q, br);
				if (r == -EIO)
					goto out;
				break;
			}
			budget--;
			if (r < 0) {
				/* Consumed but unusable: no status byte we
				 * could trust, so give it back empty. */
				driver_bug(blk, r == -E2BIG ? "too many buffers" :
					   r == -EFAULT ? "buffer outside RAM" :
					   "buffer order", c.head);
				virtq_push(vq, c.head, 0);
				slot_put(q, br);
				pushed = true;
				continue;
			}
			st = blk_prepare(blk, br, &c);
			if (st == BLK_SUBMITTED) {
				batch_add(blk, &sb, br);
				continue;
			}
			if (st == BLK_NO_STATUS) {
				virtq_push(vq, c.head, 0);
				slot_put(q, br);
			} else {
				blk_finish(br, (uint8_t)st);
			}
			pushed = true;
		}
		if (!budget) {
			more = true; /* yield to other queues, then go on */
			break;
		}
		if (!virtq_enable_kicks(vq))
			break;
		virtq_disable_kicks(vq); /* buffers raced in: keep going */
	}
out:
	batch_flush(blk, &sb);
	if (pushed)
		virtq_notify(vq);
	if (more)
		virtq_kick(vq);
}

/* --- Device ops --- */

static void blk_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			    uint32_t len)
{
	struct blk_dev *blk = vdev->priv;

	memcpy(data, (uint8_t *)&blk->cfg + off, len);
}

static void blk_reset(struct virtio_dev *vdev)
{
	struct blk_dev *blk = vdev->priv;
	unsigned int i;

	/* Until the last request is back, the backend writes guest RAM
	 * and the used rings the driver is about to take away. */
	wait_idle(blk);
	for (i = 0; i < blk->nr_queues; i++) {
		struct blk_queue *q = &blk->queues[i];

		pthread_mutex_lock(&q->lock);
		q->starved = false;
		pthread_mutex_unlock(&q->lock);
	}
}

static void blk_destroy(struct virtio_dev *vdev)
{
	struct blk_dev *blk = vdev->priv;
	unsigned int i;

	wait_idle(blk);
	if (blk->disk_open)
		disk_close(&blk->disk);
	blk->disk_open = false;
	for (i = 0; blk->queues && i < blk->nr_queues; i++) {
		pthread_mutex_destroy(&blk->queues[i].lock);
		free(blk->queues[i].reqs);
	}
	free(blk->queues);
	pthread_mutex_destroy(&blk->lock);
	pthread_cond_destroy(&blk->idle);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.destroy = blk_destroy,
};

/* --- Creation --- */

static unsigned int ilog2_u32(uint32_t x)
{
	unsigned int r = 0;

	while (x >>= 1)
		r++;
	return r;
}

static void blk_fill_config(struct blk_dev *blk)
{
	struct virtio_blk_config *cfg = &blk->cfg;
	const struct disk *d = &blk->disk;
	uint32_t per_phys = d->physical_block / d->logical_block;
	uint32_t gran = MAX(d->discard_granularity >> SECTOR_SHIFT, 1u);

	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(blk->capacity);
	cfg->size_max = htole32(BLK_SIZE_MAX);
	cfg->seg_max = htole32(BLK_SEG_MAX);
	cfg->blk_size = htole32(d->logical_block);
	cfg->physical_block_exp = (uint8_t)ilog2_u32(per_phys ? per_phys : 1);
	cfg->alignment_offset = 0;
	cfg->min_io_size = htole16((uint16_t)MAX(per_phys, 1u));
	cfg->opt_io_size = htole32(0);
	cfg->num_queues = htole16((uint16_t)blk->nr_queues);
	cfg->max_discard_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg->max_discard_seg = htole32(BLK_DWZ_MAX_SEG);
	cfg->discard_sector_alignment = htole32(gran);
	cfg->max_write_zeroes_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg->max_write_zeroes_seg = htole32(BLK_DWZ_MAX_SEG);
	cfg->write_zeroes_may_unmap = d->can_discard;
}

static uint64_t blk_features(const struct blk_dev *blk)
{
	const struct disk *d = &blk->disk;
	uint64_t f = F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) |
		     F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_TOPOLOGY);

	if (blk->nr_queues > 1)
		f |= F(VIRTIO_BLK_F_MQ);
	if (d->readonly)
		f |= F(VIRTIO_BLK_F_RO);
	else
		f |= F(VIRTIO_BLK_F_FLUSH);
	if (d->can_discard)
		f |= F(VIRTIO_BLK_F_DISCARD);
	if (d->can_write_zeroes)
		f |= F(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

static int blk_alloc_queues(struct blk_dev *blk)
{
	unsigned int i, j;

	blk->queues = calloc(blk->nr_queues, sizeof(*blk->queues));
	if (!blk->queues)
		return -ENOMEM;
	for (i = 0; i < blk->nr_queues; i++) {
		struct blk_queue *q = &blk->queues[i];

		q->blk = blk;
		q->vq = &blk->vdev.vqs[i];
		q->reqs = calloc(BLK_QUEUE_SIZE, sizeof(*q->reqs));
		if (!q->reqs)
			return -ENOMEM;
		pthread_mutex_init(&q->lock, NULL);
		/* Hand out low slots first (LIFO stack): the slots in use
		 * stay few and packed (slot_get() sets them up). */
		for (j = 0; j < BLK_QUEUE_SIZE; j++)
			q->free[j] = (uint16_t)(BLK_QUEUE_SIZE - 1 - j);
		q->nr_free = BLK_QUEUE_SIZE;
		q->vq->priv = q;
	}
	return 0;
}

struct virtio_dev *virtio_blk_new(struct vm *vm, const struct disk_config *dc,
				  unsigned int index)
{
	struct blk_dev *blk = calloc(1, sizeof(*blk));
	char name[32];
	int err;

	if (!blk) {
		pr_err("virtio-blk%u: out of memory", index);
		return NULL;
	}
	snprintf(name, sizeof(name), "virtio-blk%u", index);
	pthread_mutex_init(&blk->lock, NULL);
	pthread_cond_init(&blk->idle, NULL);

	err = disk_open(&blk->disk, dc);
	if (err)
		goto err_disk; /* disk_open printed why */
	blk->disk_open = true;
	blk->capacity = blk->disk.size >> SECTOR_SHIFT;
	if (dc->serial[0])
		memcpy(blk->serial, dc->serial,
		       strnlen(dc->serial, sizeof(blk->serial)));
	else
		snprintf(blk->serial, sizeof(blk->serial), "lkvm-%u", index);
	blk->nr_queues = MIN(MAX(vm->nr_vcpus, 1u), (unsigned int)BLK_MAX_QUEUES);

	err = virtio_dev_init(&blk->vdev, &(struct virtio_dev_init){
				.type = &virtio_blk_type,
				.ops = &blk_ops,
				.name = name,
				.nr_queues = blk->nr_queues,
				.features = blk_features(blk),
				.mem = &vm->mem,
				.loop = vm_workers(vm),
				.priv = blk,
			      });
	if (err) {
		pr_err("%s: cannot create the device: %s", name, strerror(-err));
		goto err_disk;
	}
	blk_fill_config(blk);
	err = blk_alloc_queues(blk);
	if (err) {
		pr_err("%s: out of memory", name);
		goto err_dev; /* blk_destroy frees the queues and the disk */
	}
	err = disk_backend_init(&blk->disk, dc->aio,
				vm_workers(vm),
				blk->nr_queues * BLK_QUEUE_SIZE, name,
				blk_complete, blk);
	if (err)
		goto err_dev; /* printed */
	pr_debug("%s: '%s', %llu sectors of 512 bytes, block %u/%u, %u queue(s), %s%s%s, serial '%.20s'",
		 name, dc->path, (unsigned long long)blk->capacity,
		 blk->disk.logical_block, blk->disk.physical_block,
		 blk->nr_queues, blk->disk.backend_name,
		 blk->disk.readonly ? ", read-only" : "",
		 blk->disk.direct ? ", O_DIRECT" : "", blk->serial);
	return &blk->vdev;

err_dev:
	virtio_dev_destroy(&blk->vdev); /* blk_destroy() frees everything */
	return NULL;
err_disk:
	disk_close(&blk->disk);
	pthread_mutex_destroy(&blk->lock);
	pthread_cond_destroy(&blk->idle);
	free(blk);
	return NULL;
}

static unsigned int blk_count(const struct vm_config *cfg)
{
	return cfg->nr_disks;
}

/*
 * The same image twice (by any path: the same device and inode, or the
 * same block device) would fail on its own lock as if another process
 * held it; say what happened instead.  Twice read-only is allowed (read
 * locks share).  Paths that do not exist yet are disk_open()'s to report.
 */
static int blk_check(const struct vm_config *cfg, char *why, size_t len)
{
	struct stat *st = calloc(cfg->nr_disks ? cfg->nr_disks : 1, sizeof(*st));
	bool *ok = calloc(cfg->nr_disks ? cfg->nr_disks : 1, sizeof(*ok));
	unsigned int i, j;
	int err = 0;

	if (!st || !ok) {
		snprintf(why, len, "out of memory");
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cfg->nr_disks && !err; i++) {
		const struct disk_config *d = &cfg->disks[i];

		ok[i] = stat(d->path, &st[i]) == 0 &&
			(S_ISREG(st[i].st_mode) || S_ISBLK(st[i].st_mode));
		for (j = 0; ok[i] && j < i; j++) {
			bool same = S_ISBLK(st[i].st_mode) ?
				S_ISBLK(st[j].st_mode) &&
				st[i].st_rdev == st[j].st_rdev :
				S_ISREG(st[j].st_mode) &&
				st[i].st_dev == st[j].st_dev &&
				st[i].st_ino == st[j].st_ino;

			if (!ok[j] || !same ||
			    (d->readonly && cfg->disks[j].readonly))
				continue;
			if (!strcmp(d->path, cfg->disks[j].path))
				snprintf(why, len, "disk '%s' given twice",
					 d->path);
			else
				snprintf(why, len, "disk '%s' given twice (it is the same %s as disk '%s')",
					 d->path, S_ISBLK(st[i].st_mode) ?
					 "block device" : "file",
					 cfg->disks[j].path);
			err = -EEXIST;
			break;
		}
	}
out:
	free(st);
	free(ok);
	return err;
}

static struct virtio_dev *blk_create(struct vm *vm, unsigned int index)
{
	return virtio_blk_new(vm, &vm->cfg->disks[index], index);
}

static const char *const blk_modules[] = { "virtio_blk", NULL };

const struct virtio_device_type virtio_blk_type = {
	.name = "virtio-blk",
	.help = "a disk: raw image file or host block device (--disk)",
	.device_id = VIRTIO_ID_BLOCK,
	.pci_class = PCI_CLASS_STORAGE_OTHER,
	.modules = blk_modules,
	.max_queues = BLK_MAX_QUEUES,
	.queue_size = BLK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.count = blk_count,
	.create = blk_create,
	.check = blk_check,
};
