// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net: the host kernel's virtio-net data path for a tap's queue
 * pairs (-n mode=tap,vhost=on).  One /dev/vhost-net instance per queue
 * pair (its kernel worker thread serves that pair's rx and tx rings);
 * lkvm keeps the control queue, config space and the transport.
 *
 * At DRIVER_OK the device (virtio/net.c) hands each pair's rings over:
 * features, guest RAM as a memory table, ring size/base/addresses (host
 * virtual addresses inside lkvm's guest mapping, which stays mapped for
 * the VM's life), the queue's kick eventfd (the KVM ioeventfd target, so a
 * guest kick wakes the kernel thread directly) and a call eventfd (an
 * irqfd where the transport has one), and last the tap queue's fd as the
 * backend.  On reset the backend is detached and the rings fetched back,
 * which waits for the kernel thread to stop touching them.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/memory.h"
#include "lkvm/net.h"
#include "lkvm/util.h"

#define BIT64(n) (1ULL << (n))

/* What virtio-net over vhost cannot do without: the device offers these
 * ring features (the core always offers EVENT_IDX and INDIRECT_DESC), so a
 * kernel without them is refused at start-up rather than negotiated away. */
#define VHOST_NET_NEEDED (BIT64(VIRTIO_F_VERSION_1) | \
			  BIT64(VIRTIO_RING_F_EVENT_IDX) | \
			  BIT64(VIRTIO_RING_F_INDIRECT_DESC) | \
			  BIT64(VIRTIO_NET_F_MRG_RXBUF))

struct net_vhost {
	unsigned int nr;                     /* instances (queue pairs) */
	int fds[NET_MAX_QUEUE_PAIRS];
	bool running[NET_MAX_QUEUE_PAIRS];
	uint64_t features;                   /* what the kernel offers */
};

static int vhost_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

void net_vhost_close(struct net_vhost *vh)
{
	unsigned int i;

	if (!vh)
		return;
	for (i = 0; i < vh->nr; i++) {
		net_vhost_stop(vh, i);
		close(vh->fds[i]);
	}
	free(vh);
}

int net_vhost_open(struct net_vhost **out, const char *path, const char *who,
		   unsigned int pairs)
{
	struct net_vhost *vh;
	uint64_t f;
	int fd, err;

	*out = NULL;
	if (!pairs || pairs > NET_MAX_QUEUE_PAIRS)
		return -EINVAL;
	vh = calloc(1, sizeof(*vh));
	if (!vh) {
		pr_err("%s: vhost=on: out of memory", who);
		return -ENOMEM;
	}
	while (vh->nr < pairs) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			err = -errno;
			if (err == -ENOENT)
				pr_err("%s: vhost=on: %s does not exist (load the vhost_net module: modprobe vhost_net)",
				       who, path);
			else if (err == -EACCES || err == -EPERM)
				pr_err("%s: vhost=on: cannot open %s: %s (it needs read-write access)",
				       who, path, strerror(-err));
			else
				pr_err("%s: vhost=on: cannot open %s: %s", who,
				       path, strerror(-err));
			goto fail;
		}
		vh->fds[vh->nr++] = fd;
		/* This process owns the instance: its kernel worker takes
		 * our memory map and cgroups. */
		err = vhost_ioctl(fd, VHOST_SET_OWNER, NULL);
		if (!err)
			err = vhost_ioctl(fd, VHOST_GET_FEATURES, &f);
		if (err) {
			pr_err("%s: vhost=on: %s is not vhost-net: %s", who,
			       path, strerror(-err));
			goto fail;
		}
		vh->features = vh->nr == 1 ? f : (vh->features & f);
	}
	if ((vh->features & VHOST_NET_NEEDED) != VHOST_NET_NEEDED) {
		pr_err("%s: vhost=on: the host kernel's vhost-net lacks virtio 1.0 rings or mergeable rx buffers (features %#llx)",
		       who, (unsigned long long)vh->features);
		err = -EOPNOTSUPP;
		goto fail;
	}
	*out = vh;
	return 0;

fail:
	net_vhost_close(vh);
	return err;
}

uint64_t net_vhost_features(const struct net_vhost *vh)
{
	return vh->features;
}

/* Guest RAM as vhost sees it: every region at its host address. */
static int vhost_set_mem(int fd, const struct guest_memory *mem)
{
	struct vhost_memory *m;
	unsigned int i;
	int err;

	m = calloc(1, sizeof(*m) + mem->nr_regions * sizeof(m->regions[0]));
	if (!m)
		return -ENOMEM;
	m->nregions = mem->nr_regions;
	for (i = 0; i < mem->nr_regions; i++) {
		m->regions[i].guest_phys_addr = mem->regions[i].gpa;
		m->regions[i].memory_size = mem->regions[i].size;
		m->regions[i].userspace_addr =
			(uint64_t)(uintptr_t)mem->regions[i].hva;
	}
	err = vhost_ioctl(fd, VHOST_SET_MEM_TABLE, m);
	free(m);
	return err;
}

static int vhost_set_ring(int fd, unsigned int index,
			  const struct net_vhost_ring *r)
{
	struct vhost_vring_state num = { index, r->num };
	struct vhost_vring_state base = { index, r->base };
	struct vhost_vring_addr addr = {
		.index = index,
		.desc_user_addr = (uint64_t)(uintptr_t)r->desc,
		.avail_user_addr = (uint64_t)(uintptr_t)r->avail,
		.used_user_addr = (uint64_t)(uintptr_t)r->used,
	};
	struct vhost_vring_file kick = { index, r->kick_fd };
	struct vhost_vring_file call = { index, r->call_fd };
	int err;

	if ((err = vhost_ioctl(fd, VHOST_SET_VRING_NUM, &num)) ||
	    (err = vhost_ioctl(fd, VHOST_SET_VRING_BASE, &base)) ||
	    (err = vhost_ioctl(fd, VHOST_SET_VRING_ADDR, &addr)) ||
	    (err = vhost_ioctl(fd, VHOST_SET_VRING_KICK, &kick)) ||
	    (err = vhost_ioctl(fd, VHOST_SET_VRING_CALL, &call)))
		return err;
	return 0;
}

int net_vhost_start(struct net_vhost *vh, unsigned int qp,
		    const struct guest_memory *mem, uint64_t guest_features,
		    const struct net_vhost_ring ring[2], int tap_fd)
{
	/* Only ring and header features: the net ones (offloads, control
	 * queue) stay lkvm's and the tap's; vhost refuses bits it lacks.
	 * Bit 27 is VHOST_NET_F_VIRTIO_NET_HDR to vhost but
	 * VIRTIO_F_ANY_LAYOUT to a legacy driver: never pass it on, or vhost
	 * would add a header of its own to the tap's (which carries the
	 * guest's) and discard every received frame as the wrong length.
	 * vhost takes any layout anyway. */
	uint64_t f = guest_features & vh->features &
		     ~BIT64(VHOST_NET_F_VIRTIO_NET_HDR);
	struct vhost_vring_file be;
	unsigned int i;
	int fd, err;

	if (qp >= vh->nr)
		return -EINVAL;
	fd = vh->fds[qp];
	net_vhost_stop(vh, qp);
	if ((err = vhost_ioctl(fd, VHOST_SET_FEATURES, &f)) ||
	    (err = vhost_set_mem(fd, mem)))
		return err;
	for (i = 0; i < 2; i++) {
		err = vhost_set_ring(fd, i, &ring[i]);
		if (err)
			return err;
	}
	/* The backend last: from here the kernel thread runs the rings. */
	for (i = 0; i < 2; i++) {
		be = (struct vhost_vring_file){ i, tap_fd };
		err = vhost_ioctl(fd, VHOST_NET_SET_BACKEND, &be);
		if (err) {
			vh->running[qp] = true; /* undo what attached */
			net_vhost_stop(vh, qp);
			return err;
		}
	}
	vh->running[qp] = true;
	return 0;
}

void net_vhost_stop(struct net_vhost *vh, unsigned int qp)
{
	struct vhost_vring_file be;
	struct vhost_vring_state st;
	unsigned int i;

	if (qp >= vh->nr || !vh->running[qp])
		return;
	vh->running[qp] = false;
	for (i = 0; i < 2; i++) {
		/* Detaching the backend flushes the worker: no ring access
		 * after it returns. */
		be = (struct vhost_vring_file){ i, -1 };
		(void)vhost_ioctl(vh->fds[qp], VHOST_NET_SET_BACKEND, &be);
		st = (struct vhost_vring_state){ .index = i };
		(void)vhost_ioctl(vh->fds[qp], VHOST_GET_VRING_BASE, &st);
	}
}
