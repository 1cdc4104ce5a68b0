/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_VQ_DRIVER_H
#define LKVM_UNIT_VQ_DRIVER_H

/*
 * A host-side stand-in for a guest virtio driver, for unit tests.
 *
 * vqd_env   fake guest RAM (mmap'ed, with PROT_NONE guard pages on both
 *           sides so any access outside it crashes the test), registered in
 *           env->vm.mem at VQD_RAM_GPA, a zeroed struct vm (vm.cfg points at
 *           a zeroed env->cfg), optionally a running ioloop in vm.ioloop,
 *           and a fake transport that counts interrupts.
 * vqd_queue the driver side of one split virtqueue: rings carved from the
 *           fake RAM, descriptor/avail/used bookkeeping, helpers to post
 *           normal, indirect and deliberately broken chains.
 *
 * Typical use:
 *
 *	struct vqd_env env;
 *	struct virtio_dev vdev;
 *	struct vqd_queue q;
 *
 *	vqd_env_init(&env, 1 * MiB, 0);          // no worker threads
 *	virtio_dev_init(&vdev, &env.vm, &ops, "test", VIRTIO_ID_BLOCK, 1, 256,
 *			0, 0, NULL);
 *	vqd_attach(&env, &vdev);                 // fake transport
 *	vqd_negotiate(&vdev, vdev.host_features); // ACK..FEATURES_OK
 *	vqd_queue_setup(&q, &env, &vdev.vqs[0], 16);
 *	vqd_driver_ok(&vdev);
 *
 *	void *out, *in;
 *	struct vqd_buf b[2] = {
 *		{ vqd_alloc(&env, 16, 16, &out), 16, false },
 *		{ vqd_alloc(&env, 512, 16, &in), 512, true },
 *	};
 *	int head = vqd_add(&q, b, 2);            // posts + publishes avail idx
 *	... device pops with virtq_pop(), pushes with virtq_push() ...
 *	uint32_t id, len;
 *	vqd_get_used(&q, &id, &len);
 *
 *	virtio_dev_destroy(&vdev);
 *	vqd_env_destroy(&env);
 *
 * Every function that can fail returns a negative errno (or -1) and never
 * aborts; the tests check the results.  Nothing here is thread-safe except
 * the transport counters (atomics).
 */

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

#include "lkvm/config.h"
#include "lkvm/memory.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

/* Where the fake RAM starts in guest-physical space. */
#define VQD_RAM_GPA 0x100000ULL

struct vqd_env {
	struct vm vm;            /* zeroed; mem = the fake RAM; cfg = &cfg */
	struct vm_config cfg;    /* zeroed (transport DEFAULT) */
	uint8_t *ram;            /* host view of [VQD_RAM_GPA, +ram_size) */
	uint64_t ram_size;
	uint64_t ram_gpa;        /* VQD_RAM_GPA */
	uint64_t alloc_next;     /* bump allocator, a gpa */
	void *map;               /* whole mapping, guard pages included */
	size_t map_len;

	/* Fake transport: its interrupt handle and counters (updated
	 * atomically from any thread). */
	struct virtio_interrupt irq;
	unsigned int signal_vq_calls;
	unsigned int signal_vq_per_queue[8];
	unsigned int signal_config_calls;
};

/*
 * Map @ram_size bytes (rounded up to pages) of zeroed fake guest RAM and
 * set up env->vm around it.  @nr_threads > 0 also starts env->vm.ioloop
 * with that many workers (vm.ioloop_ready = true).  0 or -errno.
 */
int vqd_env_init(struct vqd_env *env, uint64_t ram_size,
		 unsigned int nr_threads);
/* Stop the ioloop (if started) and unmap the RAM.  Destroy devices first. */
void vqd_env_destroy(struct vqd_env *env);

/*
 * Carve @size bytes aligned to @align (a power of two, 0 = 16) out of the
 * fake RAM; zero-filled.  Returns the gpa (and the host pointer in *hva if
 * @hva is not NULL), or 0 when RAM is exhausted.
 */
uint64_t vqd_alloc(struct vqd_env *env, uint64_t size, uint64_t align,
		   void **hva);
/* Host pointer of @gpa, NULL if outside the fake RAM. */
void *vqd_hva(struct vqd_env *env, uint64_t gpa);
/* First gpa past the end of the fake RAM. */
uint64_t vqd_ram_end(const struct vqd_env *env);

/* --- Fake transport --- */

/* vdev->irq = &env->irq, which counts queue signals (total and per queue
 * index < 8) and config signals. */
void vqd_attach(struct vqd_env *env, struct virtio_dev *vdev);

/*
 * virtio_dev_init() for a test device of any identity: a device type with
 * @device_id, @nr_queues queues of @queue_size, @config_size bytes of
 * config is made up (from a pool of VQD_MAX_TYPES, reused round-robin: a
 * test keeps fewer devices alive at once), with @vm's RAM and workers.
 */
#define VQD_MAX_TYPES 64
int vqd_dev_init(struct virtio_dev *vdev, struct vm *vm,
		 const struct virtio_dev_ops *ops, const char *name,
		 uint32_t device_id, unsigned int nr_queues,
		 uint16_t queue_size, uint64_t features, uint32_t config_size,
		 void *priv);
unsigned int vqd_signal_vq_count(struct vqd_env *env);
unsigned int vqd_signal_config_count(struct vqd_env *env);

/* --- Driver-side device setup (virtio 1.2 3.1.1) --- */

/*
 * Reset, then ACKNOWLEDGE | DRIVER, write @features (both 32-bit halves),
 * set FEATURES_OK.  Returns the status read back (check for
 * VIRTIO_CONFIG_S_FEATURES_OK: the device may refuse).
 */
uint8_t vqd_negotiate(struct virtio_dev *vdev, uint64_t features);
/* Legacy drivers: ACKNOWLEDGE | DRIVER and features, no FEATURES_OK. */
uint8_t vqd_negotiate_legacy(struct virtio_dev *vdev, uint64_t features);
/* Add DRIVER_OK; returns the status read back. */
uint8_t vqd_driver_ok(struct virtio_dev *vdev);

/* --- One split virtqueue, driver side --- */

struct vqd_queue {
	struct vqd_env *env;
	struct virtqueue *vq;       /* the device's queue */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;    /* host views of the rings */
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;         /* driver's copy of avail->idx */
	uint16_t last_used;         /* next used-ring slot to read */
	uint16_t next_desc;         /* next descriptor slot handed out */
};

struct vqd_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;                 /* device-writable */
};

/*
 * Allocate rings for @size entries (desc 16-, avail 2-, used 4-aligned,
 * each on its own page so a test can move one), program @vq->size and the
 * ring addresses like a transport would, and virtq_enable() it.  Returns
 * virtq_enable()'s result (the rings are set up either way).
 */
int vqd_queue_setup(struct vqd_queue *q, struct vqd_env *env,
		    struct virtqueue *vq, uint16_t size);
/* Same, but don't call virtq_enable() (to test its validation). */
int vqd_queue_alloc(struct vqd_queue *q, struct vqd_env *env,
		    struct virtqueue *vq, uint16_t size);

/*
 * Set both sides' indices to @idx (avail->idx, used->idx, the driver's
 * shadows and vq->last_avail/used_idx/signalled_used): for wrap-around
 * tests, start near 65535.  Only while the queue is idle.
 */
void vqd_queue_set_indices(struct vqd_queue *q, uint16_t idx);

/*
 * Post a direct chain of @n buffers: takes the next @n descriptor slots
 * (rotating), links them with VRING_DESC_F_NEXT, writes the head into the
 * avail ring and publishes avail->idx (release barrier).  Returns the head.
 */
int vqd_add(struct vqd_queue *q, const struct vqd_buf *bufs, unsigned int n);
/*
 * Post an indirect chain: an @n-entry table allocated in RAM, referenced by
 * one VRING_DESC_F_INDIRECT descriptor.  Returns the head.  *table_gpa (if
 * not NULL) receives the table's gpa so a test can corrupt it.
 */
int vqd_add_indirect(struct vqd_queue *q, const struct vqd_buf *bufs,
		     unsigned int n, uint64_t *table_gpa);

/* Low-level, for hostile chains: write descriptor @i verbatim (no checks:
 * @i is taken modulo size). */
void vqd_set_desc(struct vqd_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next);
/* Write @head (verbatim, may be out of range) into the next avail slot and
 * publish avail->idx. */
void vqd_publish(struct vqd_queue *q, uint16_t head);
/* Set avail->idx to an arbitrary value (e.g. far ahead: a broken ring). */
void vqd_set_avail_idx(struct vqd_queue *q, uint16_t idx);
/* Allocate the next descriptor slot index (rotating). */
uint16_t vqd_next_desc(struct vqd_queue *q);

/* Read the next used element; false if the device has not used any more. */
bool vqd_get_used(struct vqd_queue *q, uint32_t *id, uint32_t *len);
/* used->idx as the device published it. */
uint16_t vqd_used_idx(const struct vqd_queue *q);
/* Wait (up to 10 s) until the device has used @n more entries than the
 * driver read; false on timeout. */
bool vqd_wait_used(const struct vqd_queue *q, unsigned int n);

/* Interrupt / notification suppression, driver side. */
void vqd_set_avail_flags(struct vqd_queue *q, uint16_t flags); /* NO_INTERRUPT */
void vqd_set_used_event(struct vqd_queue *q, uint16_t idx);    /* EVENT_IDX */
uint16_t vqd_used_flags(const struct vqd_queue *q);            /* NO_NOTIFY */
uint16_t vqd_avail_event(const struct vqd_queue *q);           /* EVENT_IDX */

#endif
