// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-rng (device id 4): one request queue whose device-writable buffers
 * are filled from the host's getrandom().  The guest sees /dev/hwrng and
 * feeds its entropy pool from it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define VRNG_QUEUE_SIZE 64
#define VRNG_BATCH 16                /* requests per handler run */
#define VRNG_MAX_REQUEST (64 * 1024) /* bytes per request, whatever its size */
#define VRNG_IOV 64

struct vrng {
	struct virtio_dev vdev;
	struct iovec iov[VRNG_IOV];  /* one worker at a time on the queue */
};

/* Fill @len bytes at @buf; returns how many were filled. */
static size_t vrng_fill(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = getrandom(buf + done, len - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			pr_debug("virtio-rng: getrandom: %s",
				 r < 0 ? strerror(errno) : "no data");
			break;
		}
		done += (size_t)r;
	}
	return done;
}

/*
 * Fill a request's writable buffers, at most VRNG_MAX_REQUEST bytes so one
 * huge request cannot keep the worker busy; the driver asks again for more.
 */
static uint32_t vrng_request(const struct virtq_chain *c)
{
	size_t left = VRNG_MAX_REQUEST, done = 0;
	unsigned int i;

	for (i = c->nr_out; i < c->nr_out + c->nr_in && left; i++) {
		size_t want = MIN(c->iov[i].iov_len, left);
		size_t got = vrng_fill(c->iov[i].iov_base, want);

		done += got;
		left -= got;
		if (got < want)
			break;
	}
	return (uint32_t)done;
}

static void vrng_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct vrng *rng = vdev->priv;
	unsigned int done = 0;

	if (!vq->ready)
		return;
	for (;;) {
		struct virtq_chain c;
		uint32_t written = 0;
		int r;

		if (done == VRNG_BATCH) {
			if (virtq_has_work(vq))
				virtq_kick(vq); /* the rest after other queues */
			break;
		}
		r = virtq_pop(vq, &c, rng->iov, VRNG_IOV);
		if (r == 0 || r == -EIO)
			break; /* empty, or broken (the core set NEEDS_RESET) */
		/* A request is writable buffers only; a bad chain (r < 0) or
		 * readable buffers are a driver bug, answered with no data. */
		if (r == 1 && !c.nr_out)
			written = vrng_request(&c);
		else
			pr_debug("%s: bad request (head %u)", vdev->name, c.head);
		virtq_push(vq, c.head, written);
		done++;
	}
	if (done)
		virtq_notify(vq);
}

static void vrng_destroy(struct virtio_dev *vdev)
{
	free(vdev->priv);
}

/* No reset hook: requests complete synchronously in the handler, so none
 * is in flight once the watch is paused, and there is no driver state. */
static const struct virtio_dev_ops vrng_ops = {
	.queue_notify = vrng_queue_notify,
	.destroy = vrng_destroy,
};

struct virtio_dev *virtio_rng_new(struct vm *vm)
{
	struct vrng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		goto err;
	if (virtio_dev_init(&rng->vdev, &(struct virtio_dev_init){
				.type = &virtio_rng_type,
				.ops = &vrng_ops,
				.mem = &vm->mem,
				.loop = vm_workers(vm),
				.priv = rng,
			    })) {
		free(rng);
		goto err;
	}
	return &rng->vdev;

err:
	pr_err("virtio-rng: cannot create the device");
	return NULL;
}

static unsigned int vrng_count(const struct vm_config *cfg)
{
	return virtio_device_requests(cfg, &virtio_rng_type);
}

static struct virtio_dev *vrng_create(struct vm *vm, unsigned int index)
{
	(void)index;
	return virtio_rng_new(vm);
}

static const char *const vrng_modules[] = { "virtio_rng", NULL };

/* Its `lkvm run` option (listed in --help after --console). */
static const struct cli_option vrng_options[] = {
	CLI_DEVICE_FLAG(0, "rng", &virtio_rng_type,
			"virtio-rng device fed by the host's getrandom()"),
	CLI_END,
};

const struct virtio_device_type virtio_rng_type = {
	.name = "virtio-rng",
	.help = "entropy from the host's getrandom() (/dev/hwrng)",
	.device_id = VIRTIO_ID_RNG,
	.pci_class = PCI_CLASS_UNCLASSIFIED_OTHER,
	.modules = vrng_modules,
	.max_queues = 1,
	.queue_size = VRNG_QUEUE_SIZE,
	.config_size = 0,
	.count = vrng_count,
	.create = vrng_create,
	.options = vrng_options,
};
