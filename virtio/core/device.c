// SPDX-License-Identifier: GPL-2.0
/*
 * Virtio core: device status and feature negotiation (virtio 1.2 2.1, 2.2,
 * 3.1), queue setup and reset, the worker-thread glue for queue kicks.
 *
 * Locking.  vdev->lock (recursive) serialises everything a driver does to
 * the device from vCPU threads: status, features, queue setup.  Queue
 * handlers run on ioloop workers and never take vdev->lock, because a reset
 * holds it while it waits for them; they read vdev->status atomically.
 * Status bits only ever get added (atomic OR), except by a reset, which
 * stores 0 once no handler and no request is running any more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_pci.h>

#include "lkvm/ioloop.h"
#include "lkvm/trace.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "core.h"

#define F(bit) (1ULL << (bit))

static uint8_t status_load(struct virtio_dev *vdev)
{
	return __atomic_load_n(&vdev->status, __ATOMIC_ACQUIRE);
}

/* What the driver may accept: legacy transports know no VERSION_1. */
static uint64_t offered_features(struct virtio_dev *vdev)
{
	uint64_t f = vdev->host_features;

	if (vdev->legacy)
		f &= ~F(VIRTIO_F_VERSION_1);
	return f;
}

/* Worker-thread side of a queue kick. */
static void vq_watch_fn(struct io_watch *w)
{
	struct virtqueue *vq = w->opaque;
	struct virtio_dev *vdev = vq->vdev;
	uint64_t cnt;
	uint8_t st;

	/* Drain first: a kick that lands after this read re-fires the
	 * watch once it is re-armed, so none is lost. */
	if (read(vq->kick_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		pr_debug("%s: reading queue %u kick: %s", vdev->name,
			 vq->index, strerror(errno));

	st = status_load(vdev);
	if (!(st & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    (st & VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    !__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return;
	if (vdev->trace &&
	    !__atomic_exchange_n(&vdev->traced_notify, true, __ATOMIC_RELAXED)) {
		char name[64];

		snprintf(name, sizeof(name), "%s first notification", vdev->name);
		trace_instant(vdev->trace, TRACE_CAT_DEVICE, name, NULL);
	}
	vdev->ops->queue_notify(vdev, vq);
}

static void vq_reset_state(struct virtqueue *vq)
{
	pthread_mutex_lock(&vq->lock);
	__atomic_store_n(&vq->ready, false, __ATOMIC_RELEASE);
	vq->size = vq->max_size;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	virtq_set_rings(vq, NULL, NULL, NULL);
	vq->event_idx = false;
	vq->indirect = false;
	pthread_mutex_unlock(&vq->lock);
}

int virtio_dev_init(struct virtio_dev *vdev, const struct virtio_dev_init *init)
{
	const struct virtio_device_type *type = init->type;
	const struct virtio_dev_ops *ops = init->ops;
	unsigned int nr_queues, i;
	pthread_mutexattr_t attr;
	uint16_t qsize;
	int err;

	if (!type || !ops || !ops->queue_notify || !init->mem)
		return -EINVAL;
	nr_queues = init->nr_queues ? init->nr_queues : type->max_queues;
	qsize = type->queue_size;
	/* The type's limits are the device's: a device cannot exceed what
	 * it declares (transports size their register files from them). */
	if (!nr_queues || nr_queues > type->max_queues || !qsize ||
	    qsize > VIRTQ_MAX_SIZE || (qsize & (qsize - 1)) ||
	    init->config_size > type->config_size)
		return -EINVAL;

	memset(vdev, 0, sizeof(*vdev));
	vdev->ops = ops;
	vdev->type = type;
	snprintf(vdev->name, sizeof(vdev->name), "%s",
		 init->name ? init->name : type->name);
	vdev->device_id = type->device_id;
	vdev->mem = init->mem;
	vdev->priv = init->priv;
	vdev->config_size = init->config_size ? init->config_size :
						type->config_size;
	vdev->host_features = init->features | F(VIRTIO_F_VERSION_1) |
			      F(VIRTIO_RING_F_EVENT_IDX) |
			      F(VIRTIO_RING_F_INDIRECT_DESC);
	vdev->loop = init->loop;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	err = pthread_mutex_init(&vdev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (err)
		return -err;

	vdev->vqs = calloc(nr_queues, sizeof(*vdev->vqs)); /* nr_queues >= 1 */
	if (!vdev->vqs) {
		err = -ENOMEM;
		goto err_lock;
	}
	for (i = 0; i < nr_queues; i++) {
		struct virtqueue *vq = &vdev->vqs[i];

		vq->vdev = vdev;
		vq->index = i;
		vq->max_size = qsize;
		err = pthread_mutex_init(&vq->lock, NULL);
		if (err) {
			err = -err;
			goto err_queues;
		}
		vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vq->kick_fd < 0) {
			err = -errno;
			pthread_mutex_destroy(&vq->lock);
			goto err_queues;
		}
		vq->call_fd = -1;
		vdev->nr_queues = i + 1;
		vq_reset_state(vq);
	}
	return 0;

err_queues:
	pr_err("%s: cannot set up queue %u: %s", vdev->name, i,
	       strerror(-err));
	for (i = 0; i < vdev->nr_queues; i++) {
		close(vdev->vqs[i].kick_fd);
		pthread_mutex_destroy(&vdev->vqs[i].lock);
	}
	free(vdev->vqs);
	vdev->vqs = NULL;
	vdev->nr_queues = 0;
err_lock:
	pthread_mutex_destroy(&vdev->lock);
	return err;
}

void virtio_dev_destroy(struct virtio_dev *vdev)
{
	struct virtqueue *vqs = vdev->vqs;
	unsigned int i, n = vdev->nr_queues;

	if (!vqs)
		return;
	/* The guest's accesses stop reaching the device (its kick fds stay
	 * open until the transport has let go of them)... */
	if (vdev->irq && vdev->irq->unplug)
		vdev->irq->unplug(vdev->irq);
	/* ...no handler runs after this... */
	for (i = 0; i < n; i++) {
		ioloop_watch_del(&vqs[i].watch);
		ioloop_watch_del(&vqs[i].call_watch);
	}
	/* ...so the device can free what they use.  It may free the
	 * structure embedding @vdev too: don't touch @vdev afterwards (its
	 * recursive mutex owns no resources on Linux, so it is left). */
	if (vdev->ops->destroy)
		vdev->ops->destroy(vdev);
	else
		vdev->vqs = NULL;
	for (i = 0; i < n; i++) {
		close(vqs[i].kick_fd);
		if (vqs[i].call_fd >= 0)
			close(vqs[i].call_fd);
		pthread_mutex_destroy(&vqs[i].lock);
	}
	free(vqs);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
	__atomic_add_fetch(&vdev->config_generation, 1, __ATOMIC_SEQ_CST);
	if (vdev->irq)
		vdev->irq->signal_config(vdev->irq);
}

/* Callable from any thread, including queue handlers: no vdev->lock. */
void virtio_set_needs_reset(struct virtio_dev *vdev, const char *why)
{
	uint8_t old = status_load(vdev), new;

	do {
		/* Before DRIVER_OK the driver is not using the device and
		 * would not look; after NEEDS_RESET it already knows. */
		if (!(old & VIRTIO_CONFIG_S_DRIVER_OK) ||
		    (old & VIRTIO_CONFIG_S_NEEDS_RESET))
			return;
		new = old | VIRTIO_CONFIG_S_NEEDS_RESET;
	} while (!__atomic_compare_exchange_n(&vdev->status, &old, new, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));

	pr_warn("%s: device needs reset: %s", vdev->name, why);
	if (vdev->irq)
		vdev->irq->signal_config(vdev->irq);
}

void virtio_driver_bug(struct virtio_dev *vdev, bool *warned,
		       const char *what, uint16_t head)
{
	if (!__atomic_exchange_n(warned, true, __ATOMIC_RELAXED))
		pr_warn("%s: bad request from the driver (%s, head %u); further ones are logged with --debug",
			vdev->name, what, head);
	else
		pr_debug("%s: bad request (%s, head %u)", vdev->name, what,
			 head);
}

/* Start (or restart after a reset) the queue handlers.  vdev->lock held. */
static void start_watches(struct virtio_dev *vdev)
{
	unsigned int i;
	int err;

	if (!vdev->loop)
		return; /* unit tests without workers drive queues by hand */
	for (i = 0; i < vdev->nr_queues; i++) {
		struct virtqueue *vq = &vdev->vqs[i];

		if (vq->offloaded)
			continue; /* the kernel data path watches kick_fd */
		if (vq->watch.added) {
			ioloop_watch_resume(&vq->watch);
			continue;
		}
		err = ioloop_watch_add(vdev->loop, &vq->watch, vq->kick_fd,
				       vq_watch_fn, vq, vdev->name);
		if (err) {
			pr_err("%s: cannot watch queue %u: %s", vdev->name, i,
			       strerror(-err));
			virtio_set_needs_reset(vdev, "no worker for a queue");
			return;
		}
	}
	/* Buffers the driver made available before DRIVER_OK (allowed,
	 * and nobody kicked for them) are picked up now. */
	for (i = 0; i < vdev->nr_queues; i++)
		if (virtq_has_work(&vdev->vqs[i]))
			virtq_kick(&vdev->vqs[i]);
}

/* Worker side of an offloaded queue's interrupt: the kernel thread wrote
 * call_fd. */
static void vq_call_fn(struct io_watch *w)
{
	struct virtqueue *vq = w->opaque;
	struct virtio_interrupt *irq = vq->vdev->irq;
	uint64_t cnt;

	/* Drained before signalling: a write after this read fires again. */
	if (read(vq->call_fd, &cnt, sizeof(cnt)) < 0)
		return; /* EAGAIN: nothing new */
	if (irq)
		irq->signal_queue(irq, vq->index);
}

int virtq_offload(struct virtqueue *vq)
{
	struct virtio_dev *vdev = vq->vdev;
	struct virtio_interrupt *irq = vdev->irq;
	int fd, err;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return -EINVAL;
	fd = irq && irq->queue_irqfd ? irq->queue_irqfd(irq, vq->index) : -1;
	if (fd >= 0) {
		/* A forwarder from an earlier start stays paused. */
		vq->offloaded = true;
		return fd;
	}
	if (!vdev->loop)
		return -EOPNOTSUPP; /* nothing to forward with */
	if (vq->call_fd < 0) {
		vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vq->call_fd < 0)
			return -errno;
	}
	if (vq->call_watch.added) {
		ioloop_watch_resume(&vq->call_watch);
	} else {
		err = ioloop_watch_add(vdev->loop, &vq->call_watch, vq->call_fd,
				       vq_call_fn, vq, vdev->name);
		if (err)
			return err;
	}
	vq->offloaded = true;
	return vq->call_fd;
}

/* Reset (status 0); vdev->lock held.  On return nothing touches the rings. */
static void do_reset(struct virtio_dev *vdev)
{
	unsigned int i;

	/* 1. No handler is running or will run (kicks are remembered). */
	for (i = 0; i < vdev->nr_queues; i++)
		ioloop_watch_pause(&vdev->vqs[i].watch);
	/* 2. The device waits for requests in flight in its backends (and
	 * stops the kernel threads of offloaded queues). */
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	/* 3. Forget the driver. */
	for (i = 0; i < vdev->nr_queues; i++) {
		struct virtqueue *vq = &vdev->vqs[i];

		vq->offloaded = false;
		ioloop_watch_pause(&vq->call_watch);
		vq_reset_state(vq);
	}
	vdev->guest_features = 0;
	vdev->queue_error = false;
	__atomic_store_n(&vdev->status, 0, __ATOMIC_SEQ_CST);
	/* Watches stay paused until the next DRIVER_OK. */
}

/* Per-queue copies of the negotiated ring features; vdev->lock held. */
static void apply_features(struct virtio_dev *vdev)
{
	unsigned int i;

	for (i = 0; i < vdev->nr_queues; i++) {
		struct virtqueue *vq = &vdev->vqs[i];

		pthread_mutex_lock(&vq->lock);
		vq->event_idx = vdev->guest_features & F(VIRTIO_RING_F_EVENT_IDX);
		vq->indirect =
			vdev->guest_features & F(VIRTIO_RING_F_INDIRECT_DESC);
		pthread_mutex_unlock(&vq->lock);
	}
}

/* virtio 1.2 3.1.1 step 5-6: may the driver have FEATURES_OK? */
static bool features_acceptable(struct virtio_dev *vdev)
{
	uint64_t g = vdev->guest_features;

	if (g & ~offered_features(vdev)) {
		pr_debug("%s: driver accepted unoffered features %#llx",
			 vdev->name,
			 (unsigned long long)(g & ~offered_features(vdev)));
		return false;
	}
	if (!vdev->legacy && !(g & F(VIRTIO_F_VERSION_1))) {
		pr_debug("%s: modern transport without VIRTIO_F_VERSION_1",
			 vdev->name);
		return false;
	}
	if (vdev->ops->features_ok && !vdev->ops->features_ok(vdev))
		return false;
	return true;
}

void virtio_set_status(struct virtio_dev *vdev, uint8_t status)
{
	uint8_t old, add;

	pthread_mutex_lock(&vdev->lock);
	if (status == 0) {
		do_reset(vdev);
		goto out;
	}

	old = status_load(vdev);
	/* Only additions count: a driver clears bits by resetting (2.1.2);
	 * NEEDS_RESET is the device's to set. */
	add = status & ~old & ~VIRTIO_CONFIG_S_NEEDS_RESET;

	if ((add & VIRTIO_CONFIG_S_FEATURES_OK) && !vdev->legacy) {
		if (features_acceptable(vdev))
			apply_features(vdev);
		else
			add &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* refused */
	}

	if (add & VIRTIO_CONFIG_S_DRIVER_OK) {
		if (vdev->legacy) {
			/* Legacy drivers have no FEATURES_OK step: their
			 * features take effect now.  Unoffered bits cannot be
			 * refused, only dropped. */
			vdev->guest_features &= offered_features(vdev);
			apply_features(vdev);
		} else if (!((old | add) & VIRTIO_CONFIG_S_FEATURES_OK)) {
			pr_debug("%s: DRIVER_OK without FEATURES_OK ignored",
				 vdev->name);
			add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		}
	}

	if (add & VIRTIO_CONFIG_S_DRIVER_OK) {
		int err = vdev->ops->start ? vdev->ops->start(vdev) : 0;

		/* DRIVER_OK is visible before any handler can run. */
		__atomic_fetch_or(&vdev->status, add, __ATOMIC_SEQ_CST);
		if (vdev->trace) {
			char name[64];

			snprintf(name, sizeof(name), "%s DRIVER_OK", vdev->name);
			trace_instant(vdev->trace, TRACE_CAT_DEVICE, name, NULL);
		}
		if (err) {
			char why[64];

			snprintf(why, sizeof(why), "cannot start: %s",
				 strerror(-err));
			virtio_set_needs_reset(vdev, why);
		} else if (vdev->queue_error) {
			/* A queue refused before DRIVER_OK: NEEDS_RESET is
			 * only flagged on a live device, so flag it now. */
			virtio_set_needs_reset(vdev,
					       "a queue could not be enabled");
		} else {
			start_watches(vdev);
		}
	} else {
		__atomic_fetch_or(&vdev->status, add, __ATOMIC_SEQ_CST);
	}
out:
	pthread_mutex_unlock(&vdev->lock);
}

uint8_t virtio_get_status(struct virtio_dev *vdev)
{
	return status_load(vdev);
}

void virtio_reset(struct virtio_dev *vdev)
{
	virtio_set_status(vdev, 0);
}

uint32_t virtio_get_host_features(struct virtio_dev *vdev, unsigned int sel)
{
	uint64_t f = offered_features(vdev);

	switch (sel) {
	case 0:
		return (uint32_t)f;
	case 1:
		return (uint32_t)(f >> 32);
	default:
		return 0;
	}
}

void virtio_set_guest_features(struct virtio_dev *vdev, unsigned int sel,
			       uint32_t val)
{
	uint8_t st;

	if (sel > 1)
		return;
	pthread_mutex_lock(&vdev->lock);
	st = status_load(vdev);
	/* Features are fixed once accepted (modern) or the device is live
	 * (legacy). */
	if (!(st & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK))) {
		if (sel == 0)
			vdev->guest_features =
				(vdev->guest_features & ~0xffffffffULL) | val;
		else
			vdev->guest_features =
				(vdev->guest_features & 0xffffffffULL) |
				((uint64_t)val << 32);
	}
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_config_access(struct virtio_dev *vdev, uint32_t off, void *data,
			  uint32_t len, bool is_write)
{
	/* off + len in 64 bits: no wrap-around. */
	bool in_range = len && (uint64_t)off + len <= vdev->config_size;

	if (is_write) {
		if (in_range && vdev->ops->config_write)
			vdev->ops->config_write(vdev, off, data, len);
		return;
	}
	memset(data, 0, len);
	if (in_range && vdev->ops->config_read)
		vdev->ops->config_read(vdev, off, data, len);
}
