/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_VIRTIO_H
#define LKVM_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lkvm/ioloop.h"

/*
 * The virtio core: device status and feature negotiation, split virtqueues,
 * and the contract between devices and transports.
 *
 *   device model          --virtio_dev_ops-->   core                 <-- registers --  transport
 *   (virtio/blk.c ...)                          (virtio/core/)                           (virtio/transport/)
 *                          <-- guest RAM, ioloop, virtio_interrupt (set by the transport) --
 *
 * A device never knows its transport or the VM: it gets guest RAM and the
 * worker loop at init, and interrupts its driver only through the
 * struct virtio_interrupt its transport installs.  A transport never knows
 * the device type beyond device_id.  Everything read from a ring is
 * guest-controlled and validated here before a device sees it.
 */

struct vm;
struct virtio_dev;
struct virtqueue;
struct guest_memory;
struct virtio_device_type;
struct boot_trace;

/* Largest queue a device may offer (the split-ring maximum is 32768). */
#define VIRTQ_MAX_SIZE 1024

/* virtio 1.2 2.1: status bit 0x40. */
#ifndef VIRTIO_CONFIG_S_NEEDS_RESET
#define VIRTIO_CONFIG_S_NEEDS_RESET 0x40
#endif

/* One descriptor chain as popped from the avail ring. */
struct virtq_chain {
	uint16_t head;          /* give back to virtq_push() */
	unsigned int nr_out;    /* device-readable buffers: iov[0 .. nr_out) */
	unsigned int nr_in;     /* device-writable buffers: iov[nr_out ..) */
	uint64_t out_len;       /* bytes in the readable buffers */
	uint64_t in_len;        /* bytes in the writable buffers */
	struct iovec *iov;      /* host pointers into guest RAM */
};

struct virtqueue {
	struct virtio_dev *vdev;
	unsigned int index;
	uint16_t max_size;      /* offered to the driver */
	uint16_t size;          /* chosen by the driver (power of two) */
	bool ready;             /* enabled by the driver and validated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* (Transports: size and the addresses must not change while ready;
	 * the ring code trusts what virtq_enable() validated.) */

	/* Host views of the rings, valid while ready (set by virtq_enable). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	/* Device-side ring state; touched by the queue's worker (pop side) and
	 * under @lock (push side). */
	uint16_t last_avail;    /* next avail-ring slot to consume */
	uint16_t used_idx;      /* shadow of used->idx */
	uint16_t signalled_used;/* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
	bool event_idx;         /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;          /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool kicks_off;         /* virtq_disable_kicks() in effect */

	pthread_mutex_t lock;   /* used-ring updates and interrupt decisions */

	int kick_fd;            /* eventfd: the KVM ioeventfd target */
	struct io_watch watch;  /* runs ops->queue_notify on a worker */
	void *priv;             /* device's per-queue state */

	/* Offloaded to a kernel data path (vhost) by virtq_offload() in
	 * ops->start until the next reset: the core does not watch kick_fd
	 * then (the kernel does) and never touches the rings. (vdev->lock) */
	bool offloaded;
	int call_fd;            /* virtq_offload()'s forwarding eventfd, or -1 */
	struct io_watch call_watch; /* call_fd -> irq->signal_queue() */
};

/* What a device model implements.  Any hook may be NULL unless noted. */
struct virtio_dev_ops {
	/* Device-specific config space; @off + @len <= config_size already. */
	void (*config_read)(struct virtio_dev *vdev, uint32_t off, void *data,
			    uint32_t len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t off,
			     const void *data, uint32_t len);
	/* The driver is setting FEATURES_OK with vdev->guest_features (already
	 * a subset of what was offered); return false to refuse. */
	bool (*features_ok)(struct virtio_dev *vdev);
	/* DRIVER_OK was set; queues the driver enabled are ready.  Return a
	 * negative errno to put the device in DEVICE_NEEDS_RESET. */
	int (*start)(struct virtio_dev *vdev);
	/* Required.  @vq was kicked.  Runs on a worker thread, never on two
	 * threads at once for the same queue.  Process a bounded batch; call
	 * ioloop_watch_kick(&vq->watch) if work remains. */
	void (*queue_notify)(struct virtio_dev *vdev, struct virtqueue *vq);
	/* Driver reset: every queue watch is paused already.  Wait until no
	 * request is in flight (no more used-ring writes), then forget
	 * per-driver state. */
	void (*reset)(struct virtio_dev *vdev);
	/* VM teardown: free the device's resources. */
	void (*destroy)(struct virtio_dev *vdev);
};

/*
 * The narrow handle through which a device reaches its driver, installed by
 * the transport when it attaches the device (Firecracker's
 * VirtioInterrupt).  The transport embeds it in its own state
 * (container_of).  Devices call it only through virtq_notify() and
 * virtio_config_changed(); it is never NULL once attached, and stays valid
 * until the device is destroyed (a failed attach clears it before any
 * worker runs).
 */
struct virtio_interrupt {
	/* Used buffers on queue @index. */
	void (*signal_queue)(struct virtio_interrupt *irq, unsigned int index);
	/* Configuration change (or NEEDS_RESET). */
	void (*signal_config)(struct virtio_interrupt *irq);
	/* Optional: an eventfd that, written, raises queue @index's
	 * interrupt without a userspace hop (a KVM irqfd on the queue's
	 * MSI-X vector), or -1 when the transport has none for it right now
	 * (INTx/ISR, virtio-mmio, a userspace irqchip).  For a kernel data
	 * path (vhost) that decides about interrupts itself.  vdev->lock is
	 * held; the fd stays the transport's and valid until the device is
	 * reset or destroyed. */
	int (*queue_irqfd)(struct virtio_interrupt *irq, unsigned int index);
	/* The device is being destroyed: stop guest accesses reaching it
	 * (register windows, ioeventfds).  Signals stay valid until the
	 * transport's own teardown, which runs after the device's. */
	void (*unplug)(struct virtio_interrupt *irq);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct virtio_device_type *type;
	char name[32];              /* "virtio-blk0", for messages */
	uint32_t device_id;         /* VIRTIO_ID_* */
	struct guest_memory *mem;   /* guest RAM, for the rings */
	void *priv;                 /* the device model's state */

	uint64_t host_features;     /* offered */
	uint64_t guest_features;    /* accepted by the driver */
	uint8_t status;
	uint8_t config_generation;
	uint32_t config_size;
	bool legacy;                /* transport is legacy (virtio 0.9.5) */

	unsigned int nr_queues;
	struct virtqueue *vqs;

	bool queue_error;           /* a queue failed to enable since the
				     * last reset (lock) */

	pthread_mutex_t lock;       /* status, features, queue setup;
				     * recursive: a transport may hold it
				     * around calls into the core */
	struct virtio_interrupt *irq; /* the transport's; NULL: unattached */
	struct ioloop *loop;        /* where queue handlers run; NULL: unit
				     * tests drive the queues by hand */
	/* --boot-trace (set when attached, NULL without): DRIVER_OK and the
	 * first queue notification are milestones. */
	struct boot_trace *trace;
	bool traced_notify;         /* (atomic) */
};

/* --- Setup (device models) --- */

/* What virtio_dev_init() needs; identity and limits come from @type. */
struct virtio_dev_init {
	const struct virtio_device_type *type; /* id, queue size, config size */
	const struct virtio_dev_ops *ops;
	const char *name;        /* NULL: type->name */
	unsigned int nr_queues;  /* 0: type->max_queues; at most that */
	uint32_t config_size;    /* 0: type->config_size; at most that */
	uint64_t features;       /* device-specific bits offered */
	struct guest_memory *mem;
	struct ioloop *loop;     /* NULL: no workers (unit tests) */
	void *priv;
};

/*
 * Initialise @vdev as @init describes: the queues offer type->queue_size
 * entries (a power of two <= VIRTQ_MAX_SIZE).  The core adds
 * VIRTIO_F_VERSION_1 (unless the transport is legacy),
 * VIRTIO_RING_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC to the features.
 * Creates each queue's kick eventfd.
 */
int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_dev_init *init);
/* Unplug from the transport, stop queue processing, call ops->destroy,
 * free queues. */
void virtio_dev_destroy(struct virtio_dev *vdev);
/*
 * Attach a device a constructor just made and register its teardown with
 * @vm: the device's own cleanup (virtio_dev_destroy) runs before the
 * transport's.  On failure the device is destroyed (after one line saying
 * why).
 */
int virtio_dev_add(struct vm *vm, struct virtio_dev *vdev);

/* Tell the driver the config changed (bumps config_generation). */
void virtio_config_changed(struct virtio_dev *vdev);

/* Something is wrong with the device or its rings: set DEVICE_NEEDS_RESET
 * and tell the driver.  The VMM keeps running. */
void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why);

/* A request the driver got wrong (@what, chain @head): a warning the first
 * time (*@warned), debug messages after it, so that a hostile driver
 * cannot flood the log.  Callable from any thread. */
void virtio_driver_bug(struct virtio_dev *vdev, bool *warned,
		       const char *what, uint16_t head);

/* --- Transport-facing --- */

/* Writes of 0 reset the device (quiescing in-flight work first); setting
 * FEATURES_OK is refused (the bit stays clear) when the driver accepted
 * features that were not offered, or, on a modern transport, no
 * VIRTIO_F_VERSION_1; DRIVER_OK starts the device.  The driver cannot clear
 * bits except by writing 0 (other clears are ignored); NEEDS_RESET is the
 * device's (writes of it are ignored).  A reset waits for running queue
 * handlers, which may signal through the interrupt handle: don't hold a
 * lock its signal_queue/signal_config take while calling this.  A failed
 * virtq_enable() since the last reset makes DRIVER_OK a NEEDS_RESET. */
void virtio_set_status(struct virtio_dev *vdev, uint8_t status);
uint8_t virtio_get_status(struct virtio_dev *vdev);
uint32_t virtio_get_host_features(struct virtio_dev *vdev, unsigned int sel);
/* 32 bits of the driver's features (@sel 0 or 1); ignored once
 * FEATURES_OK is set. */
void virtio_set_guest_features(struct virtio_dev *vdev, unsigned int sel,
			       uint32_t val);
/* Device config space access; out-of-range reads give 0, writes ignored. */
void virtio_config_access(struct virtio_dev *vdev, uint32_t off, void *data,
			  uint32_t len, bool is_write);
/* Validate @vq's size and ring addresses against guest RAM and make it
 * ready.  On failure the queue stays disabled, a negative errno is
 * returned and the device needs a reset: at once if it is live, else as
 * soon as the driver sets DRIVER_OK (virtio 1.2 2.1.1: the driver looks
 * after DRIVER_OK). */
int virtq_enable(struct virtqueue *vq);
/* Legacy layout: desc, then avail, then used at the next @align boundary. */
void virtq_set_legacy_layout(struct virtqueue *vq, uint64_t desc_gpa,
			     uint32_t align);
/* Userspace kick (no ioeventfd): wake the queue's worker. */
void virtq_kick(struct virtqueue *vq);
/* Full device reset as for status 0. */
void virtio_reset(struct virtio_dev *vdev);

/* --- Device-facing ring operations --- */

/*
 * Pop the next available chain into @c, with @iov (room for @iov_cap
 * entries) receiving the buffers.  Returns 1 with a chain, 0 when the ring
 * is empty, or a negative errno when the ring is broken: the device is then
 * marked NEEDS_RESET and the caller must stop processing the queue.  A chain
 * that is individually bad but leaves the ring intact (e.g. more buffers
 * than @iov_cap) is -E2BIG with c->head set, so the device can fail just that
 * request.
 *
 * Precisely: -EIO = ring broken (NEEDS_RESET, nothing consumed: stop).
 * Any other negative value = this chain only is bad, it is consumed and
 * c->head is valid; the device must virtq_push() it (written 0) and may go
 * on popping:
 *   -E2BIG   more buffers than @iov_cap
 *   -EFAULT  a buffer not entirely inside guest RAM
 *   -EINVAL  a device-readable buffer after a device-writable one
 * On those, @c holds the buffers mapped before the problem (all valid RAM).
 * Zero-length descriptors are skipped (no iovec).
 */
int virtq_pop(struct virtqueue *vq, struct virtq_chain *c, struct iovec *iov,
	      unsigned int iov_cap);
/* Return a chain with @written bytes stored in its writable buffers.
 * Thread-safe (takes vq->lock). */
void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t written);
/* One used entry for virtq_push_n(). */
struct virtq_used_buf {
	uint16_t head;
	uint32_t written;
};
/* Return @n chains at once: their used elements are all written before one
 * used->idx update, so the driver sees all of them or none (virtio-net's
 * merged rx buffers, where the driver takes a frame's buffers together).
 * At most vq->size entries (more would overwrite each other); heads out of
 * range are dropped.  Thread-safe (takes vq->lock). */
void virtq_push_n(struct virtqueue *vq, const struct virtq_used_buf *bufs,
		  unsigned int n);
/* Interrupt the driver if it wants one (EVENT_IDX / NO_INTERRUPT). */
void virtq_notify(struct virtqueue *vq);
/* virtq_push() then virtq_notify(). */
void virtq_complete(struct virtqueue *vq, uint16_t head, uint32_t written);
/* Tell the driver not to kick (or to kick again) while the device polls;
 * enable returns true if buffers arrived meanwhile. */
void virtq_disable_kicks(struct virtqueue *vq);
bool virtq_enable_kicks(struct virtqueue *vq);
/* Are there chains the device has not popped? */
bool virtq_has_work(struct virtqueue *vq);

/*
 * From ops->start (vdev->lock held), for a ready queue: hand @vq's data
 * path to a kernel thread (vhost-net) until the next reset.  The core then
 * leaves vq->kick_fd to the kernel (no worker watches it; the transport's
 * ioeventfd and userspace kicks still write it) and the device must stop
 * the kernel thread in ops->reset, before the core forgets the rings.
 * Returns the eventfd the kernel thread writes to interrupt the driver for
 * this queue, every write one interrupt (it applies EVENT_IDX itself): the
 * transport's queue_irqfd() where it has one, else the core's own eventfd,
 * forwarded to signal_queue() by a worker.  -errno on failure.
 */
int virtq_offload(struct virtqueue *vq);

/* --- Copy helpers over a chain's buffers (bounded by the iovecs) --- */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off,
		    const void *buf, size_t len);
/* The bytes [@skip, @skip + @len) of @src (@n entries) as iovecs into
 * @dst, which has room for @n entries; returns how many it used. */
unsigned int iov_slice(struct iovec *dst, const struct iovec *src,
		       unsigned int n, size_t skip, size_t len);

/* --- Attaching devices to the VM --- */

/* Attach @vdev over the transport the user chose (cfg->transport or the
 * arch default): the transport installs vdev->irq and registers its own
 * teardown with @vm (which never destroys the device).  On failure (one
 * line printed) the device is untouched. */
int virtio_attach(struct vm *vm, struct virtio_dev *vdev);
int virtio_pci_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy_only);
int virtio_mmio_attach(struct vm *vm, struct virtio_dev *vdev, bool legacy);

/* Create every virtio device the configuration asks for. */
int virtio_devices_init(struct vm *vm);

#endif
