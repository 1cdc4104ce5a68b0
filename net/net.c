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

int net_backend_open(struct net_backend **out, const struct net_config *cfg,
		     unsigned int queue_pairs)
{
	struct net_backend *be;
	int err;

	*out = NULL;
	if (cfg->mode == NET_MODE_NONE) {
		pr_err("network: mode=none has no backend");
		return -EINVAL;
	}
	be = calloc(1, sizeof(*be));
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
		free(be);
		return err;
	}
	*out = be;
	return 0;
}

void net_backend_close(struct net_backend *be)
{
	if (!be)
		return;
	if (be->ops && be->ops->close)
		be->ops->close(be);
	free(be);
}
