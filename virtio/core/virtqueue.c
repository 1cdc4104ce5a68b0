// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues, device side (virtio 1.2 2.7).
 *
 * The rings live in guest RAM and the guest may rewrite them at any moment,
 * from any vCPU.  So every field is read exactly once into a local before it
 * is checked and used (no check-then-reread), every address and length goes
 * through gpa_to_hva(), and walks are bounded by the table they walk.
 *
 * Ordering with the driver (Linux drivers/virtio/virtio_ring.c is the other
 * side of each barrier mentioned below):
 *   - avail->idx is read with acquire before the ring entries it covers;
 *   - used elements are written before used->idx with release;
 *   - interrupt and kick suppression need store->load ordering (a full
 *     barrier) on both sides, or each could miss the other's update.
 *
 * Ring fields are little-endian (virtio 1.x; legacy is guest-endian, and
 * every host lkvm runs on is little-endian).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/memory.h"
#include "lkvm/util.h"
#include "lkvm/virtio.h"
#include "core.h"

/* Largest indirect table accepted (QEMU's limit too).  Bounds the walk. */
#define VIRTQ_MAX_INDIRECT 1024

/* --- Single-copy accessors for guest-shared ring memory --- */

static inline uint16_t ring_read16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static inline uint16_t ring_read16_acquire(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static inline void ring_write16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void ring_write16_release(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

static inline void ring_write32(void *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)p, htole32(v), __ATOMIC_RELAXED);
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/*
 * Snapshot one descriptor.  Indirect tables need not be aligned, so copy
 * bytes; the compiler barrier stops the compiler from re-reading guest
 * memory in place of the snapshot.
 */
static inline void read_desc(const struct vring_desc *src, struct desc *d)
{
	struct vring_desc raw;

	memcpy(&raw, src, sizeof(raw));
	__asm__ __volatile__("" ::: "memory");
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

static inline const struct guest_memory *vq_mem(struct virtqueue *vq)
{
	return vq->vdev->mem;
}

/* used_event lives after the avail ring, avail_event after the used ring. */
static inline void *used_event_ptr(struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static inline void *avail_event_ptr(struct virtqueue *vq)
{
	return &vq->used->ring[vq->size];
}

/* --- Setup --- */

void virtq_set_rings(struct virtqueue *vq, struct vring_desc *desc,
		     struct vring_avail *avail, struct vring_used *used)
{
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->kicks_off = false;
}

int virtq_enable(struct virtqueue *vq)
{
	struct virtio_dev *vdev = vq->vdev;
	const struct guest_memory *mem = vq_mem(vq);
	uint16_t size = vq->size;
	void *desc, *avail, *used;
	int err = 0;

	pthread_mutex_lock(&vdev->lock);
	if (!size || size > vq->max_size || (size & (size - 1))) {
		pr_debug("%s: queue %u: bad size %u", vdev->name, vq->index,
			 size);
		err = -EINVAL;
		goto out;
	}
	/* virtio 1.2 2.7: alignment 16 / 2 / 4; sizes include the event
	 * index words whether or not EVENT_IDX is negotiated (it may be
	 * negotiated after the addresses are written). */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		pr_debug("%s: queue %u: misaligned ring", vdev->name,
			 vq->index);
		err = -EINVAL;
		goto out;
	}
	desc = gpa_to_hva(mem, vq->desc_gpa, 16ULL * size);
	avail = gpa_to_hva(mem, vq->avail_gpa, 6ULL + 2ULL * size);
	used = gpa_to_hva(mem, vq->used_gpa, 6ULL + 8ULL * size);
	if (!desc || !avail || !used) {
		pr_debug("%s: queue %u: ring outside guest RAM", vdev->name,
			 vq->index);
		err = -EFAULT;
		goto out;
	}

	pthread_mutex_lock(&vq->lock);
	virtq_set_rings(vq, desc, avail, used);
	/* Pointers before ready: handlers test ready first. */
	__atomic_store_n(&vq->ready, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vq->lock);
out:
	if (err) {
		char why[64];

		/* The queue stays disabled.  A live device needs a reset
		 * now; one not live yet gets it at DRIVER_OK (the core's
		 * virtio_set_status), where the driver looks. */
		vdev->queue_error = true;
		snprintf(why, sizeof(why), "queue %u: bad size or ring address",
			 vq->index);
		virtio_set_needs_reset(vdev, why);
	}
	pthread_mutex_unlock(&vdev->lock);
	return err;
}

void virtq_set_legacy_layout(struct virtqueue *vq, uint64_t desc_gpa,
			     uint32_t align)
{
	uint64_t size = vq->size;

	if (!align || (align & (align - 1)))
		align = 4096;
	/* Wrap-around yields addresses virtq_enable() rejects. */
	vq->desc_gpa = desc_gpa;
	vq->avail_gpa = desc_gpa + 16 * size;
	vq->used_gpa = ALIGN_UP(vq->avail_gpa + 6 + 2 * size, (uint64_t)align);
}

void virtq_kick(struct virtqueue *vq)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is saturated, so it is readable anyway. */
	if (write(vq->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: queue %u: cannot kick: %s", vq->vdev->name,
			vq->index, strerror(errno));
}

/* --- Popping chains --- */

bool virtq_has_work(struct virtqueue *vq)
{
	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return false;
	return ring_read16_acquire(&vq->avail->idx) != vq->last_avail;
}

static int ring_broken(struct virtqueue *vq, const char *why)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "queue %u: %s", vq->index, why);
	virtio_set_needs_reset(vq->vdev, msg);
	return -EIO;
}

/* Tell an EVENT_IDX driver which avail index to kick at: the next one we
 * will look at (unless the device is polling with kicks off). */
static inline void publish_avail_event(struct virtqueue *vq)
{
	if (vq->event_idx && !vq->kicks_off)
		ring_write16(avail_event_ptr(vq), vq->last_avail);
}

/*
 * The head of the next available chain into *@head: 1, 0 when the driver
 * made none available, or -EIO (NEEDS_RESET: the ring is broken).
 */
static int next_avail_head(struct virtqueue *vq, uint16_t *head)
{
	uint16_t avail_idx;

	/* Acquire: ring entries below this index are read after it, as
	 * virtio_ring.c publishes the entry before the index (wmb). */
	avail_idx = ring_read16_acquire(&vq->avail->idx);
	if (avail_idx == vq->last_avail) {
		if (!vq->event_idx || vq->kicks_off)
			return 0;
		/* Going idle: ask for a kick at the next buffer, then look
		 * again.  The full barrier orders our avail_event store before
		 * the idx load, pairing with the driver's mb between its idx
		 * store and avail_event load (virtqueue_kick_prepare): one of
		 * us sees the other's store, so no buffer waits unnoticed. */
		publish_avail_event(vq);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = ring_read16_acquire(&vq->avail->idx);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return ring_broken(vq, "avail index ran ahead of the ring");

	*head = ring_read16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	if (*head >= vq->size)
		return ring_broken(vq, "avail ring entry out of range");
	return 1;
}

/* The table of INDIRECT descriptor @d, checked, into *@table and *@tsize:
 * 0, or -EIO (NEEDS_RESET: the ring is broken). */
static int indirect_table(struct virtqueue *vq, const struct guest_memory *mem,
			  const struct desc *d, bool in_indirect,
			  const struct vring_desc **table, unsigned int *tsize)
{
	if (!vq->indirect)
		return ring_broken(vq, "indirect descriptor not negotiated");
	if (in_indirect)
		return ring_broken(vq, "indirect descriptor in an indirect table");
	if (d->flags & VRING_DESC_F_NEXT)
		return ring_broken(vq, "indirect descriptor with NEXT");
	if (!d->len || d->len % sizeof(struct vring_desc) ||
	    d->len / sizeof(struct vring_desc) > VIRTQ_MAX_INDIRECT)
		return ring_broken(vq, "bad indirect table size");
	*table = gpa_to_hva(mem, d->addr, d->len);
	if (!*table)
		return ring_broken(vq, "indirect table outside guest RAM");
	*tsize = d->len / sizeof(struct vring_desc);
	return 0;
}

/* Buffer @d as iov[*@nr] of chain @c: 0, or the chain's per-request error
 * (-EINVAL readable after writable, -EFAULT outside RAM, -E2BIG). */
static int chain_add_buffer(struct virtq_chain *c, struct iovec *iov,
			    unsigned int iov_cap, unsigned int *nr,
			    const struct guest_memory *mem, const struct desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	void *hva = gpa_to_hva(mem, d->addr, d->len);

	if (!write && c->nr_in)
		return -EINVAL; /* readable after writable */
	if (!hva)
		return -EFAULT;
	if (*nr >= iov_cap)
		return -E2BIG;
	iov[*nr].iov_base = hva;
	iov[*nr].iov_len = d->len;
	(*nr)++;
	/* u32 lengths, at most 1024 * 1024 of them: these 64-bit sums
	 * cannot overflow. */
	if (write) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return 0;
}

/*
 * Policy for bad chains (virtio 1.2 2.7.5.3.1 and 2.7.4.2 say what a driver
 * MUST NOT do; the device may then do anything short of harming the host):
 *   ring structure is unusable -> -EIO, NEEDS_RESET, nothing consumed:
 *     avail idx more than size ahead, head or next index out of range, a
 *     chain longer than its table (this also catches loops), INDIRECT not
 *     negotiated, INDIRECT together with NEXT, an indirect descriptor in an
 *     indirect table, an indirect table that is empty, not a multiple of
 *     16 bytes, larger than VIRTQ_MAX_INDIRECT entries or not in RAM;
 *   the chain is well-formed but unusable -> consumed, per-request error:
 *     -EFAULT a buffer outside RAM, -EINVAL readable after writable,
 *     -E2BIG more buffers than the caller has iovecs for.
 */
int virtq_pop(struct virtqueue *vq, struct virtq_chain *c, struct iovec *iov,
	      unsigned int iov_cap)
{
	const struct guest_memory *mem = vq_mem(vq);
	const struct vring_desc *table;
	unsigned int tsize, walked = 0, nr = 0;
	uint16_t head, i;
	bool in_indirect = false;
	int err = 0, r;

	memset(c, 0, sizeof(*c));
	c->iov = iov;
	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return 0;
	r = next_avail_head(vq, &head);
	if (r <= 0)
		return r;
	c->head = head;

	table = vq->desc;
	tsize = vq->size;
	i = head;
	for (;;) {
		struct desc d;

		if (++walked > tsize)
			return ring_broken(vq, "descriptor chain loops");
		read_desc(&table[i], &d);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			r = indirect_table(vq, mem, &d, in_indirect, &table,
					   &tsize);
			if (r)
				return r;
			in_indirect = true;
			walked = 0;
			i = 0;
			continue;
		}

		/* A per-request problem stops collecting buffers but the
		 * walk goes on, so a broken ring is still reported as such. */
		if (!err && d.len)
			err = chain_add_buffer(c, iov, iov_cap, &nr, mem, &d);

		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= tsize)
			return ring_broken(vq, "descriptor next index out of range");
		i = d.next;
	}

	vq->last_avail++;
	publish_avail_event(vq);
	return err ? err : 1;
}

/* --- Returning chains and interrupting the driver --- */

void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	struct vring_used_elem *e;
	uint16_t idx;

	pthread_mutex_lock(&vq->lock);
	/* A queue reset meanwhile (the device should have waited) or a
	 * device bug: never write outside the ring. */
	if (!vq->ready || head >= vq->size) {
		pthread_mutex_unlock(&vq->lock);
		pr_warn("%s: queue %u: dropping used entry %u", vq->vdev->name,
			vq->index, head);
		return;
	}
	idx = vq->used_idx;
	e = &vq->used->ring[idx & (vq->size - 1)];
	ring_write32(&e->id, head);
	ring_write32(&e->len, written);
	/* Release: the element is visible before the index that covers it
	 * (the driver reads used->idx, then rmb, then the element). */
	vq->used_idx = idx + 1;
	ring_write16_release(&vq->used->idx, vq->used_idx);
	pthread_mutex_unlock(&vq->lock);
}

void virtq_push_n(struct virtqueue *vq, const struct virtq_used_buf *bufs,
		  unsigned int n)
{
	unsigned int i, done = 0;
	uint16_t idx;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready || n > vq->size) {
		pthread_mutex_unlock(&vq->lock);
		pr_warn("%s: queue %u: dropping %u used entries", vq->vdev->name,
			vq->index, n);
		return;
	}
	idx = vq->used_idx;
	for (i = 0; i < n; i++) {
		struct vring_used_elem *e;

		if (bufs[i].head >= vq->size)
			continue; /* a device bug: never outside the ring */
		e = &vq->used->ring[(uint16_t)(idx + done) & (vq->size - 1)];
		ring_write32(&e->id, bufs[i].head);
		ring_write32(&e->len, bufs[i].written);
		done++;
	}
	/* Release: every element before the one index that covers them
	 * all (see virtq_push). */
	vq->used_idx = (uint16_t)(idx + done);
	ring_write16_release(&vq->used->idx, vq->used_idx);
	pthread_mutex_unlock(&vq->lock);
	if (done < n)
		pr_warn("%s: queue %u: dropped %u used entries out of range",
			vq->vdev->name, vq->index, n - done);
}

void virtq_notify(struct virtqueue *vq)
{
	struct virtio_dev *vdev = vq->vdev;
	bool need;

	pthread_mutex_lock(&vq->lock);
	if (!vq->ready) {
		pthread_mutex_unlock(&vq->lock);
		return;
	}
	/*
	 * Full barrier: our used->idx store must be visible before we read
	 * the driver's suppression state, pairing with the mb in the driver
	 * between writing used_event/flags and re-reading used->idx
	 * (virtqueue_enable_cb_prepare/poll).  Otherwise both could decide
	 * that the other will act, and the interrupt is lost.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		uint16_t old = vq->signalled_used, new = vq->used_idx;
		bool valid = vq->signalled_used_valid;

		vq->signalled_used = new;
		vq->signalled_used_valid = true;
		/* First interrupt after (re)start: signalled_used means
		 * nothing yet, so signal. */
		need = !valid ||
		       vring_need_event(ring_read16(used_event_ptr(vq)), new,
					old);
	} else {
		need = !(ring_read16(&vq->avail->flags) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	}
	pthread_mutex_unlock(&vq->lock);

	if (need && vdev->irq)
		vdev->irq->signal_queue(vdev->irq, vq->index);
}

void virtq_complete(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	virtq_push(vq, head, written);
	virtq_notify(vq);
}

/* --- Kick suppression (the pop side; called from the queue's worker) --- */

void virtq_disable_kicks(struct virtqueue *vq)
{
	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return;
	vq->kicks_off = true;
	/* With EVENT_IDX, avail_event simply stops moving forward. */
	if (!vq->event_idx)
		ring_write16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_kicks(struct virtqueue *vq)
{
	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return false;
	vq->kicks_off = false;
	if (vq->event_idx)
		publish_avail_event(vq);
	else
		ring_write16(&vq->used->flags, 0);
	/* Full barrier: the store above before the idx load below, pairing
	 * with the driver's mb between its avail->idx store and reading our
	 * flags/avail_event.  A buffer added before the driver could see
	 * kicks re-enabled is caught here instead. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_has_work(vq);
}

/* --- Copying to and from a chain's buffers --- */

/* Copy between @buf and the buffers' bytes from @off on, up to @len:
 * into the buffers when @to_iov.  Returns the bytes copied. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off,
		       void *buf, size_t len, bool to_iov)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		uint8_t *in_iov;
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		in_iov = (uint8_t *)iov[i].iov_base + off;
		chunk = MIN(iov[i].iov_len - off, len - done);
		if (to_iov)
			memcpy(in_iov, (uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, in_iov, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *buf, size_t len)
{
	return iov_copy(iov, n, off, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len)
{
	/* Only read through @buf: to_iov copies out of it. */
	return iov_copy(iov, n, off, (void *)buf, len, true);
}

unsigned int iov_slice(struct iovec *dst, const struct iovec *src,
		       unsigned int n, size_t skip, size_t len)
{
	unsigned int i, out = 0;

	for (i = 0; i < n && len; i++) {
		size_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = MIN(l - skip, len);
		dst[out].iov_base = (uint8_t *)src[i].iov_base + skip;
		dst[out].iov_len = l;
		out++;
		len -= l;
		skip = 0;
	}
	return out;
}
