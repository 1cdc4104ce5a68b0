// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-9p (device id 9): one host directory exported over 9P2000.L.
 *
 * The device is only a transport: the 9P server (fs/, include/lkvm/p9.h)
 * does the work.  The queue handler pops chains — the T-message in the
 * device-readable buffers, room for the R-message in the writable ones —
 * and submits each to the server, whose worker threads execute several at
 * once and read/write guest buffers directly through the chain's iovecs.
 * A completion pushes the used entry and interrupts the driver.
 *
 * Each request in flight owns a request object with iovecs for a whole
 * queue's worth of descriptors (a 512 KiB Tread in 4 KiB pages is already
 * 128 of them).  Objects are allocated on first use, kept on a free list,
 * and at most one per queue entry is in flight: when all are busy (a driver
 * can re-post heads it has not been given back) the handler stops and the
 * next completion kicks it again.
 *
 * A device reset waits for the server at most its stuck timeout
 * (P9_STUCK_TIMEOUT_MS).  A request still executing then belongs to the
 * old incarnation of the queue: each request records the reset count
 * (d->gen) it was popped under, and a completion from before the last
 * reset only returns its object, never touching the rings.
 *
 * Config space (struct virtio_9p_config): le16 tag_len, then the mount tag.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_9p.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lkvm/config.h"
#include "lkvm/p9.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define F(bit) (1ULL << (bit))

#define V9P_QUEUE_SIZE VIRTQ_MAX_SIZE
#define V9P_IOV_CAP VIRTQ_MAX_SIZE  /* buffers per request */
#define V9P_BATCH 64                /* chains per handler run */
#define V9P_CONFIG_MAX (sizeof(struct virtio_9p_config) + LKVM_9P_TAG_MAX)

struct v9p_dev;

struct v9p_req {
	struct p9_request req;
	struct v9p_dev *dev;
	struct v9p_req *next_free;
	uint16_t head;
	unsigned int gen;             /* d->gen when popped */
	uint64_t in_len;              /* bytes the reply may use */
	struct iovec iov[V9P_IOV_CAP];
};

struct v9p_dev {
	struct virtio_dev vdev;
	struct p9_server *server;
	uint8_t config[V9P_CONFIG_MAX];  /* as the guest reads it */
	bool warned;                     /* rate limit for driver bugs */

	pthread_mutex_t lock;            /* everything below */
	struct v9p_req *free;            /* idle request objects */
	unsigned int nr_inflight;        /* popped, not completed */
	bool starved;                    /* handler stopped at the cap */
	unsigned int gen;                /* resets so far */
	unsigned int nr_completing;      /* completions writing the rings */
	pthread_cond_t idle;             /* nr_completing dropped to 0 */
};

/* --- Request objects --- */

/*
 * An idle request object, or NULL when @cap are in flight already (the
 * handler must stop; the next completion kicks the queue) or memory ran out.
 */
static struct v9p_req *req_get(struct v9p_dev *d, unsigned int cap)
{
	struct v9p_req *r = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->nr_inflight >= cap) {
		d->starved = true;
		goto out;
	}
	r = d->free;
	if (r) {
		d->free = r->next_free;
	} else {
		r = malloc(sizeof(*r));
		if (!r) {
			/* Retry when something completes, or else at the
			 * driver's next kick. */
			pr_debug("%s: out of memory for a request",
				 d->vdev.name);
			d->starved = d->nr_inflight > 0;
			goto out;
		}
		r->dev = d;
	}
	d->nr_inflight++;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* Give back an object (d->lock held): whether the handler waited for one
 * and must be kicked. */
static bool req_put_locked(struct v9p_dev *d, struct v9p_req *r)
{
	bool kick = d->starved;

	r->next_free = d->free;
	d->free = r;
	d->nr_inflight--;
	d->starved = false;
	return kick;
}

/* Give back an object, and run the handler again if it waited for one. */
static void req_put(struct v9p_dev *d, struct v9p_req *r,
		    struct virtqueue *vq)
{
	bool kick;

	pthread_mutex_lock(&d->lock);
	kick = req_put_locked(d, r);
	pthread_mutex_unlock(&d->lock);
	if (kick)
		virtq_kick(vq);
}

/* Called exactly once per submitted request, on a server thread. */
static void v9p_complete(struct p9_request *preq, uint32_t written)
{
	struct v9p_req *r = (struct v9p_req *)((char *)preq -
					       offsetof(struct v9p_req, req));
	struct virtqueue *vq = preq->opaque;
	struct v9p_dev *d = r->dev;
	bool current, kick;

	/* The server writes no more than the buffers hold; never report
	 * more than that to the driver either. */
	if (written > r->in_len)
		written = (uint32_t)r->in_len;
	/* A request from before a reset: its head means nothing to the
	 * queue now (v9p_reset waits for completions that got past here). */
	pthread_mutex_lock(&d->lock);
	current = r->gen == d->gen;
	if (current)
		d->nr_completing++;
	pthread_mutex_unlock(&d->lock);
	if (current)
		virtq_complete(vq, r->head, written);
	pthread_mutex_lock(&d->lock);
	if (current && !--d->nr_completing)
		pthread_cond_broadcast(&d->idle);
	/* Kick even for a stale request: the handler may have stopped at
	 * the cap waiting for this very object (req_put_locked() cleared
	 * starved, so nobody else will).  A stray kick is harmless: watches
	 * are paused during a reset and v9p_queue_notify() checks ready. */
	kick = req_put_locked(d, r);
	pthread_mutex_unlock(&d->lock);
	if (kick)
		virtq_kick(vq);
}

/* --- The request queue --- */

static void driver_bug(struct v9p_dev *d, const char *what, uint16_t head)
{
	virtio_driver_bug(&d->vdev, &d->warned, what, head);
}

static const char *pop_error(int err)
{
	switch (err) {
	case -E2BIG:
		return "too many buffers";
	case -EFAULT:
		return "buffer outside guest RAM";
	case -EINVAL:
		return "readable buffer after a writable one";
	default:
		return "bad chain";
	}
}

static void v9p_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct v9p_dev *d = vdev->priv;
	unsigned int cap = vq->size ? vq->size : V9P_QUEUE_SIZE;
	unsigned int done = 0;
	bool pushed = false;

	if (!vq->ready)
		return;
	for (;;) {
		struct virtq_chain c;
		struct v9p_req *r;
		int ret;

		if (done == V9P_BATCH) {
			if (virtq_has_work(vq))
				virtq_kick(vq); /* the rest after other queues */
			break;
		}
		r = req_get(d, cap);
		if (!r)
			break;
		ret = virtq_pop(vq, &c, r->iov, V9P_IOV_CAP);
		if (ret == 0 || ret == -EIO) {
			/* Empty, or broken (the core set NEEDS_RESET). */
			req_put(d, r, vq);
			break;
		}
		done++;
		if (ret < 0 || !c.nr_out || !c.nr_in) {
			driver_bug(d, ret < 0 ? pop_error(ret) :
				   !c.nr_out ? "no T-message" :
				   "no room for a reply", c.head);
			virtq_push(vq, c.head, 0);
			pushed = true;
			req_put(d, r, vq);
			continue;
		}
		r->head = c.head;
		r->in_len = c.in_len;
		pthread_mutex_lock(&d->lock);
		r->gen = d->gen;
		pthread_mutex_unlock(&d->lock);
		r->req = (struct p9_request){
			.iov = r->iov,
			.nr_out = c.nr_out,
			.nr_in = c.nr_in,
			.complete = v9p_complete,
			.opaque = vq,
		};
		p9_submit(d->server, &r->req);
	}
	if (pushed)
		virtq_notify(vq);
}

/* --- Device hooks --- */

static void v9p_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			    uint32_t len)
{
	struct v9p_dev *d = vdev->priv;

	/* The core bounded @off + @len by config_size. */
	memcpy(data, d->config + off, len);
}

/*
 * Driver reset: watches are paused; wait for the server to finish what it
 * is executing (completions still land in the rings, which stay valid
 * until we return) and forget the session's fids.  The server gives up
 * after its stuck timeout (we hold the device's and the bus's locks):
 * the generation bump then makes a stuck request's late completion a
 * no-op, and we wait only for completions already writing the rings
 * (which take no lock we hold).
 */
static void v9p_reset(struct virtio_dev *vdev)
{
	struct v9p_dev *d = vdev->priv;

	p9_server_reset(d->server);
	pthread_mutex_lock(&d->lock);
	d->gen++;
	while (d->nr_completing)
		pthread_cond_wait(&d->idle, &d->lock);
	d->starved = false;
	pthread_mutex_unlock(&d->lock);
}

static void v9p_destroy(struct virtio_dev *vdev)
{
	struct v9p_dev *d = vdev->priv;
	struct v9p_req *r;

	/*
	 * Drains first: every request object is back on the free list,
	 * except one still executing in the server past its stuck timeout.
	 * The server then never calls v9p_complete() again (and no call is
	 * under way when it returns), but its worker still reads that
	 * object's iovecs: it is left allocated, the rest is freed.  The
	 * handler may also still move data to or from the guest buffers
	 * those iovecs point at (Tread, Treaddir, Twrite): guest RAM must
	 * outlive it, so it stays mapped until the process exits.
	 */
	if (!p9_server_free(d->server))
		guest_memory_pin_forever(vdev->mem);
	while ((r = d->free)) {
		d->free = r->next_free;
		free(r);
	}
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static const struct virtio_dev_ops v9p_ops = {
	.config_read = v9p_config_read,
	.queue_notify = v9p_queue_notify,
	.reset = v9p_reset,
	.destroy = v9p_destroy,
};

/* --- Construction --- */

/*
 * Every fid holds a descriptor: let the server use as many as the hard limit
 * allows (its fid table is bounded, so a guest cannot exhaust them).
 */
static void raise_nofile_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		pr_debug("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_debug("raising RLIMIT_NOFILE to %llu: %s",
			 (unsigned long long)rl.rlim_max, strerror(errno));
}

struct virtio_dev *virtio_9p_new(struct vm *vm,
				 const struct share_config *share)
{
	struct p9_server_config sc = {
		.path = share->path,
		.tag = share->tag,
		.flags = (share->readonly ? P9_EXPORT_RO : 0) |
			 (share->passthrough ? P9_EXPORT_PASSTHROUGH : 0),
	};
	size_t tag_len = strnlen(share->tag, LKVM_9P_TAG_MAX);
	struct virtio_9p_config *cfg;
	struct v9p_dev *d;
	char name[32];

	raise_nofile_limit();

	if (share->passthrough && geteuid() != 0) {
		pr_err("--9p %s,passthrough needs root (it lets the guest set owners and create device nodes)",
		       share->path);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_err("virtio-9p: out of memory");
		return NULL;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	cfg = (struct virtio_9p_config *)d->config;
	cfg->tag_len = htole16((uint16_t)tag_len);
	memcpy(d->config + offsetof(struct virtio_9p_config, tag), share->tag,
	       tag_len);

	d->server = p9_server_new(&sc); /* prints why it failed */
	if (!d->server)
		goto err;
	snprintf(name, sizeof(name), "virtio-9p:%.21s", share->tag);
	if (virtio_dev_init(&d->vdev, &(struct virtio_dev_init){
				.type = &virtio_9p_type,
				.ops = &v9p_ops,
				.name = name,
				.features = F(VIRTIO_9P_MOUNT_TAG),
				.config_size = (uint32_t)(sizeof(*cfg) + tag_len),
				.mem = &vm->mem,
				.loop = vm_workers(vm),
				.priv = d,
			    })) {
		pr_err("%s: cannot create the device", name);
		p9_server_free(d->server);
		goto err;
	}
	return &d->vdev;
err:
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return NULL;
}

struct p9_server *virtio_9p_server(struct virtio_dev *vdev)
{
	struct v9p_dev *d = vdev->priv;

	return d->server;
}

static unsigned int v9p_count(const struct vm_config *cfg)
{
	return cfg->nr_shares;
}

static struct virtio_dev *v9p_create(struct vm *vm, unsigned int index)
{
	return virtio_9p_new(vm, &vm->cfg->shares[index]);
}

/* The 9p root of `lkvm sandbox` needs the same two. */
static const char *const v9p_modules[] = { "9pnet_virtio", "9p", NULL };

const struct virtio_device_type virtio_9p_type = {
	.name = "virtio-9p",
	.help = "a host directory shared over 9P2000.L (--9p)",
	.device_id = VIRTIO_ID_9P,
	.pci_class = PCI_CLASS_UNCLASSIFIED_OTHER,
	.modules = v9p_modules,
	.max_queues = 1,
	.queue_size = V9P_QUEUE_SIZE,
	.config_size = V9P_CONFIG_MAX,
	.count = v9p_count,
	.create = v9p_create,
};
