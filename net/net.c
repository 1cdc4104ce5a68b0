// SPDX-License-Identifier: GPL-2.0
/*
 * net_backend_open()/net_backend_close(): the backend a -n asked for
 * (include/lkvm/net.h); the backends are net/tap.c and net/slirp.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "lkvm/net.h"
#include "lkvm/util.h"
#include "backend.h"

/*
 * What net_backend_open() allocates: the backend, and its ops with
 * ->close() wrapped so that closing it also frees it.  The device
 * (virtio_net_new) only calls ->close() on the backends it is given (a
 * test's fake backend is not malloc'ed); without the wrapper every backend
 * opened for a -n would leak its struct net_backend.
 */
struct owned_backend {
	struct net_backend be;
	struct net_backend_ops ops;
	void (*inner_close)(struct net_backend *be);
};

static void owned_close(struct net_backend *be)
{
	struct owned_backend *o = container_of(be, struct owned_backend, be);

	/* vhost first: it holds the tap's queues. */
	net_vhost_close(be->vhost);
	if (o->inner_close)
		o->inner_close(be);
	free(o);
}

int net_backend_open(struct net_backend **out, const struct net_config *cfg,
		     unsigned int queue_pairs)
{
	struct owned_backend *o;
	struct net_backend *be;
	int err;

	*out = NULL;
	if (cfg->mode == NET_MODE_NONE) {
		pr_err("network: mode=none has no backend");
		return -EINVAL;
	}
	o = calloc(1, sizeof(*o));
	be = o ? &o->be : NULL;
	if (!be) {
		pr_err("network: out of memory");
		return -ENOMEM;
	}
	if (!queue_pairs)
		queue_pairs = 1;
	if (queue_pairs > NET_MAX_QUEUE_PAIRS)
		queue_pairs = NET_MAX_QUEUE_PAIRS;
	switch (cfg->mode) {
	case NET_MODE_TAP:
		err = net_tap_open(be, cfg, queue_pairs);
		break;
	case NET_MODE_USER:
		err = net_slirp_open(be, cfg);
		break;
	default:
		pr_err("network: unknown mode %d", (int)cfg->mode);
		err = -EINVAL;
		break;
	}
	if (err) {
		free(o);
		return err;
	}
	if (cfg->vhost) {
		err = be->ops->kernel_fd ?
		      net_vhost_open(&be->vhost, NET_VHOST_PATH, be->name,
				     be->queue_pairs) : -EINVAL;
		if (err) {
			if (!be->ops->kernel_fd)
				pr_err("network: %s: vhost=on needs mode=tap",
				       be->name);
			be->ops->close(be);
			free(o);
			return err;
		}
	}
	o->ops = *be->ops;
	o->inner_close = o->ops.close;
	o->ops.close = owned_close;
	be->ops = &o->ops;
	*out = be;
	return 0;
}

void net_backend_close(struct net_backend *be)
{
	if (be)
		be->ops->close(be); /* owned_close(): frees @be too */
}
