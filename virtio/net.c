// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net (device id 1) over a network backend (include/lkvm/net.h).
 *
 * Queues (virtio 1.2 5.1.2): rx0, tx0, rx1, tx1, ... for the backend's
 * queue pairs (at most NET_MAX_QUEUE_PAIRS), then the control queue.  The
 * control queue's index depends on what the driver negotiated: 2 * pairs
 * with VIRTIO_NET_F_MQ, 2 without (queue pair 0 only), so a queue's role
 * is worked out at DRIVER_OK (net_start) from the features.
 *
 * tx: the queue's handler pops chains, copies the guest's header once into
 * host memory (it may be split across descriptors), checks it against the
 * negotiated offloads, and hands header + frame to backend->send() with
 * the frame's iovecs pointing into guest RAM.  Chains complete with 0.
 *
 * rx: each queue pair's backend->rx_fd() is a watch on the device's ioloop
 * (one-shot, so one thread at a time per pair).  Its handler pops an rx
 * chain *before* reading, so a frame stays in the backend while the guest
 * has posted no buffer: then the watch parks (ioloop_watch_park) with
 * kicks enabled, and the rx queue's kick resumes it -- no polling, no
 * dropped frame.  A frame is read straight into the first chain (after
 * the guest's header); what does not fit spills into a per-pair bounce
 * buffer of NET_MAX_FRAME bytes.  With VIRTIO_NET_F_MRG_RXBUF the spill is
 * copied into further chains (num_buffers in the header) and the frame's
 * used entries are published together (virtq_push_n); without it the
 * frame is dropped (rate-limited warning) and the chain kept for the next.
 * While a merged frame waits for more buffers it stays in the device.
 *
 * Headers: the backend's frames carry a 12-byte virtio_net_hdr_v1 when
 * be->vnet_hdr, none otherwise; the guest's header is 12 bytes, or 10 for
 * a legacy driver without MRG_RXBUF.  Headers are always assembled in host
 * memory, so either side can be converted to the other.
 *
 * Bounds (hostile driver): a tx frame is 14..NET_MAX_FRAME bytes after the
 * header, else dropped; chains have at most NET_IOV_CAP buffers (longer
 * ones are consumed and dropped by virtq_pop's -E2BIG); a merged rx frame
 * spans at most the queue's size in chains; every run of a handler is
 * bounded (NET_BATCH chains, bad chains included) and requeues itself.
 * Chain loops, rings outside RAM and the like are the core's (virtq_pop:
 * NEEDS_RESET).  Control commands are read with iov_to_buf into host
 * memory, lengths checked exactly; anything unknown is VIRTIO_NET_ERR.
 * The driver cannot write config space, except a legacy driver without
 * CTRL_MAC_ADDR setting the MAC (as QEMU allows).
 *
 * Not filtered: the MAC table and rx modes are acknowledged, not applied
 * (every frame the backend delivers reaches the guest, as with kvmtool).
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_ether.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/ioloop.h"
#include "lkvm/net.h"
#include "lkvm/pci.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/virtio.h"
#include "lkvm/vm.h"

#define F(bit) (1ULL << (bit))
#define STR_(x) #x
#define STR(x) STR_(x) /* a number in --help */

#define NET_QUEUE_SIZE 256
#define NET_IOV_CAP NET_QUEUE_SIZE  /* buffers per chain */
#define NET_BATCH 256               /* chains or frames per handler run */
#define NET_NO_QUEUE UINT_MAX

/* Offloads, offered only as the backend can carry them. */
#define NET_HOST_OFFLOADS (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4) | \
			   F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) | \
			   F(VIRTIO_NET_F_HOST_UFO))
#define NET_GUEST_OFFLOADS (F(VIRTIO_NET_F_GUEST_CSUM) | \
			    F(VIRTIO_NET_F_GUEST_TSO4) | \
			    F(VIRTIO_NET_F_GUEST_TSO6) | \
			    F(VIRTIO_NET_F_GUEST_ECN) | F(VIRTIO_NET_F_GUEST_UFO))

enum net_role { ROLE_NONE, ROLE_RX, ROLE_TX, ROLE_CTRL };

/* net_rx_step() results. */
enum rx_step {
	RX_AGAIN,      /* did one unit of work: go on (budget permitting) */
	RX_IDLE,       /* the backend has no frame */
	RX_NO_BUFFERS, /* the guest has posted no (more) rx buffers */
	RX_STOP,       /* broken ring or backend error: until a reset */
};

struct net_dev;

struct net_txq {
	struct iovec iov[NET_IOV_CAP];       /* pop scratch */
	struct iovec out[NET_IOV_CAP + 1];   /* header + frame for send() */
};

struct net_rxq {
	struct net_dev *net;
	unsigned int qp;
	struct io_watch watch;               /* on be->rx_fd(qp) */
	bool watching;                       /* watch added */
	/* Everything below is the rx handler's (one thread at a time). */
	bool stopped;                        /* backend error */
	bool have_chain;                     /* @chain popped, not used yet */
	bool pending;                        /* a merged frame in progress */
	struct virtq_chain chain;            /* the next/first chain */
	struct iovec iov[NET_IOV_CAP];       /* its buffers */
	struct iovec more_iov[NET_IOV_CAP];  /* further chains of a frame */
	struct iovec riov[NET_IOV_CAP + 2];  /* what recv() fills */
	uint8_t hdr[NET_VNET_HDR_LEN];       /* the backend's header */
	size_t flen;                         /* pending: frame bytes */
	size_t done;                         /* pending: bytes placed */
	size_t room0;                        /* pending: bytes in chain 1 */
	unsigned int nr_used;
	struct virtq_used_buf used[NET_QUEUE_SIZE];
	uint8_t *tail;                       /* NET_MAX_FRAME bytes */
};

struct net_dev {
	struct virtio_dev vdev;
	struct net_backend *be;
	unsigned int max_pairs;
	uint8_t default_mac[ETH_ALEN];

	pthread_mutex_t lock;                /* cfg, rx mode */
	struct virtio_net_config cfg;        /* little-endian, as read */
	bool promisc, allmulti;

	/* Set by net_start() before the handlers can run (they see it
	 * through the status store / the watch resume), cleared by reset
	 * after they stopped. */
	bool started;                        /* atomic */
	size_t ghdr;                         /* guest header: 12 or 10 */
	bool mrg;
	unsigned int pairs;                  /* pairs the driver may use */
	unsigned int ctrl_index;             /* NET_NO_QUEUE: none */
	unsigned int curr_pairs;             /* VQ_PAIRS_SET (atomic) */

	bool warned_tx, warned_rx, warned_ctrl, warned_be, warned_drop;
	struct net_txq *txq;
	struct net_rxq *rxq;
	struct iovec ctrl_iov[NET_IOV_CAP];
};

/* A warning the first time, --debug messages after it: a busy link or a
 * hostile driver cannot flood the log. */
#define net_warn_once(flag, fmt, ...)					\
	do {								\
		if (!__atomic_exchange_n((flag), true, __ATOMIC_RELAXED))	\
			pr_warn(fmt "; further ones are logged with --debug", \
				__VA_ARGS__);				\
		else							\
			pr_debug(fmt, __VA_ARGS__);			\
	} while (0)

static bool has(const struct net_dev *net, unsigned int bit)
{
	return net->vdev.guest_features & F(bit);
}


static enum net_role queue_role(const struct net_dev *net, unsigned int index,
				unsigned int *qp)
{
	if (index == net->ctrl_index)
		return ROLE_CTRL;
	if (index >= 2 * net->pairs)
		return ROLE_NONE;
	*qp = index / 2;
	return index % 2 ? ROLE_TX : ROLE_RX;
}

/* --- tx --- */

/* May the driver send a frame with @h (already in host memory)? */
static bool tx_hdr_ok(const struct net_dev *net,
		      const struct virtio_net_hdr_v1 *h, size_t flen)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return false;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint32_t end = (uint32_t)le16toh(h->csum_start) +
			       le16toh(h->csum_offset) + 2;

		if (!has(net, VIRTIO_NET_F_CSUM) || end > flen)
			return false;
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
	    !has(net, VIRTIO_NET_F_HOST_ECN))
		return false;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(net, VIRTIO_NET_F_HOST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(net, VIRTIO_NET_F_HOST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(net, VIRTIO_NET_F_HOST_UFO);
	default:
		return false;
	}
}

static void tx_bug(struct net_dev *net, const char *what, uint16_t head)
{
	virtio_driver_bug(&net->vdev, &net->warned_tx, what, head);
}

/* Send one popped chain (@r: virtq_pop's result); it completes with 0
 * whatever happens. */
static void tx_one(struct net_dev *net, struct net_txq *tq, unsigned int qp,
		   const struct virtq_chain *c, int r)
{
	struct net_backend *be = net->be;
	struct virtio_net_hdr_v1 h;
	unsigned int n = 0;
	uint64_t flen;
	ssize_t sent;

	if (r < 0) {
		tx_bug(net, r == -E2BIG ? "tx: too many buffers" :
		       r == -EFAULT ? "tx: buffer outside RAM" :
		       "tx: buffer order", c->head);
		return;
	}
	if (c->nr_in) {
		tx_bug(net, "tx: device-writable buffer", c->head);
		return;
	}
	if (c->out_len < net->ghdr) {
		tx_bug(net, "tx: short header", c->head);
		return;
	}
	flen = c->out_len - net->ghdr;
	if (flen < ETH_HLEN || flen > NET_MAX_FRAME) {
		tx_bug(net, "tx: frame size", c->head);
		return;
	}
	/* The header is read once, into host memory: what is checked is
	 * what the backend gets, whatever the guest writes meanwhile. */
	memset(&h, 0, sizeof(h));
	iov_to_buf(c->iov, c->nr_out, 0, &h, net->ghdr);
	if (!tx_hdr_ok(net, &h, flen)) {
		tx_bug(net, "tx: offload not negotiated", c->head);
		return;
	}
	h.num_buffers = 0;
	if (be->vnet_hdr) {
		tq->out[n].iov_base = &h;
		tq->out[n].iov_len = NET_VNET_HDR_LEN;
		n++;
	}
	n += iov_slice(tq->out + n, c->iov, c->nr_out, net->ghdr, flen);
	sent = be->ops->send(be, qp, tq->out, (int)n);
	if (sent < 0)
		net_warn_once(&net->warned_be, "%s: %s: frame not sent: %s",
			      net->vdev.name, be->name, strerror((int)-sent));
}

static void net_tx(struct net_dev *net, struct virtqueue *vq, unsigned int qp)
{
	struct net_txq *tq = &net->txq[qp];
	unsigned int budget = NET_BATCH;
	bool pushed = false, more = false;

	/* Polling now: the driver need not kick until we stop. */
	virtq_disable_kicks(vq);
	for (;;) {
		while (budget) {
			struct virtq_chain c;
			int r = virtq_pop(vq, &c, tq->iov, NET_IOV_CAP);

			if (r == 0)
				break;
			if (r == -EIO)
				goto out; /* NEEDS_RESET: touch nothing */
			budget--;
			tx_one(net, tq, qp, &c, r);
			virtq_push(vq, c.head, 0);
			pushed = true;
		}
		if (!budget) {
			more = true; /* the rest after other queues */
			break;
		}
		if (!virtq_enable_kicks(vq))
			break;
		virtq_disable_kicks(vq); /* chains raced in: go on */
	}
out:
	if (pushed)
		virtq_notify(vq);
	if (more)
		virtq_kick(vq);
}

/* --- rx --- */

static void rx_bug(struct net_dev *net, const char *what, uint16_t head)
{
	virtio_driver_bug(&net->vdev, &net->warned_rx, what, head);
}

static struct virtqueue *rx_vq(struct net_rxq *rq)
{
	return &rq->net->vdev.vqs[2 * rq->qp];
}

static bool rx_live(struct net_rxq *rq)
{
	struct net_dev *net = rq->net;

	return __atomic_load_n(&net->started, __ATOMIC_ACQUIRE) &&
	       !(virtio_get_status(&net->vdev) & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	       !rq->stopped &&
	       /* Pairs the driver does not use get nothing (5.1.6.5.5). */
	       rq->qp < __atomic_load_n(&net->curr_pairs, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&rx_vq(rq)->ready, __ATOMIC_ACQUIRE);
}

/* The guest's header for a frame in @nbufs buffers into chain @c. */
static void rx_put_hdr(struct net_dev *net, struct net_rxq *rq,
		       const struct virtq_chain *c, uint16_t nbufs)
{
	struct virtio_net_hdr_v1 h;

	if (net->be->vnet_hdr)
		memcpy(&h, rq->hdr, sizeof(h));
	else
		memset(&h, 0, sizeof(h));
	/* Outside the 10-byte legacy header; 1 without MRG_RXBUF. */
	h.num_buffers = htole16(nbufs);
	iov_from_buf(c->iov + c->nr_out, c->nr_in, 0, &h, net->ghdr);
}

/* Pop the chain the next frame goes to: 1, 0 (none), -EIO (broken ring),
 * or -EAGAIN (a bad chain, given back empty). */
static int rx_get_chain(struct net_dev *net, struct net_rxq *rq,
			struct virtqueue *vq, bool *pushed)
{
	struct virtq_chain *c = &rq->chain;
	int r = virtq_pop(vq, c, rq->iov, NET_IOV_CAP);

	if (r == 0 || r == -EIO)
		return r;
	if (r < 0 || c->nr_out || c->in_len < net->ghdr) {
		rx_bug(net, r < 0 ? "rx: bad chain" :
		       c->nr_out ? "rx: device-readable buffer" :
		       "rx: buffer shorter than the header", c->head);
		virtq_push(vq, c->head, 0);
		*pushed = true;
		return -EAGAIN;
	}
	rq->have_chain = true;
	return 1;
}

/* Give a merged frame's buffers back empty (the driver drops them as
 * short packets) and forget the frame. */
static void rx_abort(struct net_rxq *rq, struct virtqueue *vq)
{
	unsigned int i;

	for (i = 0; i < rq->nr_used; i++)
		rq->used[i].written = 0;
	virtq_push_n(vq, rq->used, rq->nr_used);
	rq->pending = false;
	rq->nr_used = 0;
}

/*
 * Place the rest of a merged frame into further chains.  A frame only
 * stays pending across runs while the driver has posted no buffer (the
 * watch is then parked until its kick); a bad chain drops the frame, so
 * the handler's budget never leaves a frame behind with buffers posted
 * and nothing to wake it.
 */
static enum rx_step rx_continue(struct net_dev *net, struct net_rxq *rq,
				struct virtqueue *vq, bool *pushed)
{
	while (rq->done < rq->flen) {
		struct virtq_chain c;
		size_t n;
		int r;

		if (rq->nr_used >= vq->size ||
		    rq->nr_used >= ARRAY_SIZE(rq->used)) {
			/* Only a driver re-posting buffers it was not given
			 * back gets here (each chain holds >= 1 byte). */
			rx_bug(net, "rx: frame needs more buffers than the queue holds",
			       rq->used[0].head);
			rx_abort(rq, vq);
			*pushed = true;
			return RX_AGAIN;
		}
		r = virtq_pop(vq, &c, rq->more_iov, NET_IOV_CAP);
		if (r == 0)
			return RX_NO_BUFFERS; /* the frame waits in the device */
		if (r == -EIO)
			return RX_STOP;
		if (r < 0 || c.nr_out || !c.in_len) {
			rx_bug(net, "rx: bad chain in a merged frame", c.head);
			virtq_push(vq, c.head, 0);
			rx_abort(rq, vq);
			*pushed = true;
			return RX_AGAIN;
		}
		n = (size_t)MIN(c.in_len, (uint64_t)(rq->flen - rq->done));
		iov_from_buf(c.iov, c.nr_in, 0, rq->tail + (rq->done - rq->room0),
			     n);
		rq->used[rq->nr_used].head = c.head;
		rq->used[rq->nr_used].written = (uint32_t)n;
		rq->nr_used++;
		rq->done += n;
	}
	rx_put_hdr(net, rq, &rq->chain, (uint16_t)rq->nr_used);
	/* All of the frame's buffers behind one used->idx update (release:
	 * the data and header stores above come first). */
	virtq_push_n(vq, rq->used, rq->nr_used);
	rq->pending = false;
	*pushed = true;
	return RX_AGAIN;
}

static enum rx_step rx_step(struct net_dev *net, struct net_rxq *rq,
			    struct virtqueue *vq, bool *pushed)
{
	struct net_backend *be = net->be;
	struct virtq_chain *c = &rq->chain;
	size_t hh = be->vnet_hdr ? NET_VNET_HDR_LEN : 0, room, cap, flen;
	unsigned int k = 0;
	ssize_t got;
	int r;

	if (rq->pending)
		return rx_continue(net, rq, vq, pushed);
	if (!rq->have_chain) {
		/* A buffer first: without one the frame stays in the
		 * backend. */
		r = rx_get_chain(net, rq, vq, pushed);
		if (r == 0)
			return RX_NO_BUFFERS;
		if (r == -EIO)
			return RX_STOP;
		if (r < 0)
			return RX_AGAIN;
	}

	room = (size_t)MIN(c->in_len - net->ghdr, (uint64_t)SIZE_MAX);
	cap = MIN(room, (size_t)NET_MAX_FRAME);
	if (hh) {
		rq->riov[k].iov_base = rq->hdr;
		rq->riov[k].iov_len = hh;
		k++;
	}
	k += iov_slice(rq->riov + k, c->iov + c->nr_out, c->nr_in, net->ghdr,
		       cap);
	if (cap < NET_MAX_FRAME) {
		rq->riov[k].iov_base = rq->tail;
		rq->riov[k].iov_len = NET_MAX_FRAME - cap;
		k++;
	}
	got = be->ops->recv(be, rq->qp, rq->riov, (int)k);
	if (got == 0 || got == -EAGAIN || got == -EWOULDBLOCK)
		return RX_IDLE; /* the chain waits for the next frame */
	if (got == -EMSGSIZE) {
		net_warn_once(&net->warned_drop,
			      "%s: %s: frame over %u bytes dropped",
			      net->vdev.name, be->name, NET_MAX_FRAME);
		return RX_AGAIN;
	}
	if (got < 0) {
		pr_warn("%s: %s: cannot receive: %s; receiving stops on queue pair %u until the driver resets the device",
			net->vdev.name, be->name, strerror((int)-got), rq->qp);
		rq->stopped = true;
		return RX_STOP;
	}
	if ((size_t)got < hh || (size_t)got - hh > NET_MAX_FRAME) {
		pr_debug("%s: %s: bad frame length %zd", net->vdev.name,
			 be->name, got);
		return RX_AGAIN;
	}
	flen = (size_t)got - hh;
	if (flen <= room) {
		rx_put_hdr(net, rq, c, 1);
		virtq_push(vq, c->head, (uint32_t)(net->ghdr + flen));
		rq->have_chain = false;
		*pushed = true;
		return RX_AGAIN;
	}
	if (!net->mrg) {
		/* Never past the chain: drop, keep the chain. */
		net_warn_once(&net->warned_drop,
			      "%s: frame of %zu bytes dropped: larger than the driver's rx buffer (%zu bytes) and no VIRTIO_NET_F_MRG_RXBUF",
			      net->vdev.name, flen, room);
		return RX_AGAIN;
	}
	rq->have_chain = false;
	rq->pending = true;
	rq->flen = flen;
	rq->room0 = rq->done = room;
	rq->used[0].head = c->head;
	rq->used[0].written = (uint32_t)(net->ghdr + room);
	rq->nr_used = 1;
	return rx_continue(net, rq, vq, pushed);
}

/*
 * Move frames from the backend into the guest.  Runs on the pair's rx
 * watch (or, without workers, straight from the rx queue's kick).  When
 * it cannot go on it parks the watch: the rx queue's kick, or the next
 * DRIVER_OK, resumes it.  Each park is followed by a re-check, so a resume
 * that came just before it is not lost.
 */
static void net_rx_run(struct net_rxq *rq)
{
	struct net_dev *net = rq->net;
	struct virtqueue *vq = rx_vq(rq);
	unsigned int budget = NET_BATCH;
	bool pushed = false;

	for (;;) {
		enum rx_step s;

		if (!rx_live(rq)) {
			ioloop_watch_park(&rq->watch);
			if (!rx_live(rq))
				break;
			ioloop_watch_resume(&rq->watch);
		}
		/* We poll the rx ring while frames come: no kicks. */
		virtq_disable_kicks(vq);
		s = rx_step(net, rq, vq, &pushed);
		if (s == RX_AGAIN) {
			if (--budget)
				continue;
			break; /* the fd is still readable: we come back */
		}
		if (s == RX_IDLE)
			break; /* the chain stays for the next frame */
		if (s == RX_STOP) {
			ioloop_watch_park(&rq->watch);
			break;
		}
		/* RX_NO_BUFFERS: wait for the driver's kick, not the fd. */
		ioloop_watch_park(&rq->watch);
		/* enable_kicks has the full barrier against the driver's
		 * avail->idx store: a buffer posted before it saw kicks on
		 * is found here, one posted after is kicked for. */
		if (!virtq_enable_kicks(vq))
			break;
		ioloop_watch_resume(&rq->watch);
	}
	if (pushed)
		virtq_notify(vq);
}

static void net_rx_watch(struct io_watch *w)
{
	net_rx_run(w->opaque);
}

/* The driver posted rx buffers. */
static void net_rx_kicked(struct net_rxq *rq)
{
	if (rq->watching)
		ioloop_watch_resume(&rq->watch); /* its handler does rx */
	else
		net_rx_run(rq); /* no workers (unit tests): here */
}

/* --- Control queue --- */

static uint8_t ctrl_mac_table(struct net_dev *net, const struct virtq_chain *c,
			      uint64_t len)
{
	uint32_t n;
	uint64_t off = 2;

	/* Two tables, each a le32 count and count MACs; lengths must
	 * add up exactly (5.1.6.5.2). */
	for (int t = 0; t < 2; t++) {
		if (len - (off - 2) < 4)
			return VIRTIO_NET_ERR;
		iov_to_buf(c->iov, c->nr_out, off, &n, sizeof(n));
		n = le32toh(n);
		off += 4;
		if ((uint64_t)n * ETH_ALEN > len - (off - 2))
			return VIRTIO_NET_ERR;
		off += (uint64_t)n * ETH_ALEN;
	}
	(void)net;
	return off - 2 == len ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
}

static uint8_t ctrl_command(struct net_dev *net, const struct virtq_chain *c)
{
	struct net_backend *be = net->be;
	uint8_t cmd[2], u8;
	uint64_t len;

	if (c->out_len < 2)
		return VIRTIO_NET_ERR;
	iov_to_buf(c->iov, c->nr_out, 0, cmd, sizeof(cmd));
	len = c->out_len - 2; /* the command's data */

	switch (cmd[0]) {
	case VIRTIO_NET_CTRL_RX:
		if (!has(net, VIRTIO_NET_F_CTRL_RX) || len != 1 ||
		    (cmd[1] != VIRTIO_NET_CTRL_RX_PROMISC &&
		     cmd[1] != VIRTIO_NET_CTRL_RX_ALLMULTI))
			return VIRTIO_NET_ERR;
		iov_to_buf(c->iov, c->nr_out, 2, &u8, 1);
		pthread_mutex_lock(&net->lock);
		if (cmd[1] == VIRTIO_NET_CTRL_RX_PROMISC)
			net->promisc = u8;
		else
			net->allmulti = u8;
		pthread_mutex_unlock(&net->lock);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd[1] == VIRTIO_NET_CTRL_MAC_TABLE_SET &&
		    has(net, VIRTIO_NET_F_CTRL_RX))
			return ctrl_mac_table(net, c, len);
		if (cmd[1] == VIRTIO_NET_CTRL_MAC_ADDR_SET &&
		    has(net, VIRTIO_NET_F_CTRL_MAC_ADDR) && len == ETH_ALEN) {
			uint8_t mac[ETH_ALEN];

			iov_to_buf(c->iov, c->nr_out, 2, mac, sizeof(mac));
			pthread_mutex_lock(&net->lock);
			memcpy(net->cfg.mac, mac, sizeof(mac));
			pthread_mutex_unlock(&net->lock);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MQ: {
		uint16_t pairs;

		if (cmd[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
		    !has(net, VIRTIO_NET_F_MQ) || len != 2)
			return VIRTIO_NET_ERR;
		iov_to_buf(c->iov, c->nr_out, 2, &pairs, sizeof(pairs));
		pairs = le16toh(pairs);
		if (pairs < 1 || pairs > net->max_pairs)
			return VIRTIO_NET_ERR;
		if (be->ops->set_queue_pairs &&
		    be->ops->set_queue_pairs(be, pairs) < 0)
			return VIRTIO_NET_ERR;
		/* Release, then resume: a pair's rx handler that parked
		 * because it was unused sees the new count when it runs. */
		__atomic_store_n(&net->curr_pairs, pairs, __ATOMIC_RELEASE);
		for (unsigned int i = 0; i < pairs; i++)
			if (net->rxq[i].watching)
				ioloop_watch_resume(&net->rxq[i].watch);
		return VIRTIO_NET_OK;
	}
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS: {
		uint64_t want;

		if (cmd[1] != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET ||
		    !has(net, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) || len != 8)
			return VIRTIO_NET_ERR;
		iov_to_buf(c->iov, c->nr_out, 2, &want, sizeof(want));
		want = le64toh(want);
		/* Only offloads it negotiated (5.1.6.5.6.2). */
		if (want & ~(net->vdev.guest_features & NET_GUEST_OFFLOADS))
			return VIRTIO_NET_ERR;
		if (be->ops->set_offloads && be->ops->set_offloads(be, want) < 0)
			return VIRTIO_NET_ERR;
		return VIRTIO_NET_OK;
	}
	default:
		return VIRTIO_NET_ERR;
	}
}

static void net_ctrl(struct net_dev *net, struct virtqueue *vq)
{
	unsigned int done;
	bool pushed = false;

	for (done = 0; done < NET_BATCH; done++) {
		struct virtq_chain c;
		uint8_t ack;
		int r = virtq_pop(vq, &c, net->ctrl_iov, NET_IOV_CAP);

		if (r == 0 || r == -EIO)
			break;
		pushed = true;
		/* The ack is the first (only) device-writable byte. */
		if (r < 0 || !c.nr_in) {
			virtio_driver_bug(&net->vdev, &net->warned_ctrl,
					  r < 0 ? "ctrl: bad chain" :
					  "ctrl: no room for the ack", c.head);
			virtq_push(vq, c.head, 0);
			continue;
		}
		ack = ctrl_command(net, &c);
		if (ack != VIRTIO_NET_OK)
			pr_debug("%s: control command refused", net->vdev.name);
		iov_from_buf(c.iov + c.nr_out, c.nr_in, 0, &ack, 1);
		virtq_push(vq, c.head, 1);
	}
	if (pushed)
		virtq_notify(vq);
	if (done == NET_BATCH && virtq_has_work(vq))
		virtq_kick(vq); /* the rest after other queues */
}

/* --- Device ops --- */

static void net_queue_notify(struct virtio_dev *vdev, struct virtqueue *vq)
{
	struct net_dev *net = vdev->priv;
	unsigned int qp = 0;

	if (!__atomic_load_n(&vq->ready, __ATOMIC_ACQUIRE))
		return;
	switch (queue_role(net, vq->index, &qp)) {
	case ROLE_RX:
		net_rx_kicked(&net->rxq[qp]);
		break;
	case ROLE_TX:
		net_tx(net, vq, qp);
		break;
	case ROLE_CTRL:
		net_ctrl(net, vq);
		break;
	case ROLE_NONE:
		break; /* a queue the negotiated features leave unused */
	}
}

static void net_config_read(struct virtio_dev *vdev, uint32_t off, void *data,
			    uint32_t len)
{
	struct net_dev *net = vdev->priv;

	pthread_mutex_lock(&net->lock);
	memcpy(data, (uint8_t *)&net->cfg + off, len);
	pthread_mutex_unlock(&net->lock);
}

/* Read-only for a modern driver; a legacy one without CTRL_MAC_ADDR sets
 * its MAC here (as QEMU allows).  Anything else is ignored. */
static void net_config_write(struct virtio_dev *vdev, uint32_t off,
			     const void *data, uint32_t len)
{
	struct net_dev *net = vdev->priv;

	if (!vdev->legacy || has(net, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
	    off >= ETH_ALEN || len > ETH_ALEN - off)
		return;
	pthread_mutex_lock(&net->lock);
	memcpy(net->cfg.mac + off, data, len);
	pthread_mutex_unlock(&net->lock);
}

/* virtio 1.2 5.1.3.1: features that need others. */
static bool net_features_ok(struct virtio_dev *vdev)
{
	struct net_dev *net = vdev->priv;
	static const struct { unsigned int bit; uint64_t needs; } deps[] = {
		{ VIRTIO_NET_F_GUEST_TSO4, F(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_TSO6, F(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_UFO, F(VIRTIO_NET_F_GUEST_CSUM) },
		{ VIRTIO_NET_F_GUEST_ECN, F(VIRTIO_NET_F_GUEST_TSO4) |
					  F(VIRTIO_NET_F_GUEST_TSO6) },
		{ VIRTIO_NET_F_HOST_TSO4, F(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_TSO6, F(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_UFO, F(VIRTIO_NET_F_CSUM) },
		{ VIRTIO_NET_F_HOST_ECN, F(VIRTIO_NET_F_HOST_TSO4) |
					 F(VIRTIO_NET_F_HOST_TSO6) },
		{ VIRTIO_NET_F_CTRL_RX, F(VIRTIO_NET_F_CTRL_VQ) },
		{ VIRTIO_NET_F_CTRL_MAC_ADDR, F(VIRTIO_NET_F_CTRL_VQ) },
		{ VIRTIO_NET_F_MQ, F(VIRTIO_NET_F_CTRL_VQ) },
		{ VIRTIO_NET_F_CTRL_GUEST_OFFLOADS, F(VIRTIO_NET_F_CTRL_VQ) },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(deps); i++) {
		if (has(net, deps[i].bit) &&
		    !(vdev->guest_features & deps[i].needs)) {
			pr_debug("%s: feature %u without what it needs",
				 vdev->name, deps[i].bit);
			return false;
		}
	}
	return true;
}

/* vhost=on: the kernel serves the rx/tx rings of every pair the driver
 * may use (net->pairs), lkvm the control queue.  vdev->lock held. */
static int net_vhost_pairs_start(struct net_dev *net)
{
	struct virtio_dev *vdev = &net->vdev;
	struct net_backend *be = net->be;
	unsigned int qp, i;
	int err;

	for (qp = 0; qp < net->pairs; qp++) {
		struct net_vhost_ring ring[2];
		int tap_fd;

		/* A pair the driver left disabled stays unused. */
		if (!vdev->vqs[2 * qp].ready || !vdev->vqs[2 * qp + 1].ready)
			continue;
		for (i = 0; i < 2; i++) {
			struct virtqueue *vq = &vdev->vqs[2 * qp + i];
			int call = virtq_offload(vq);

			if (call < 0)
				return call;
			ring[i] = (struct net_vhost_ring){
				.num = vq->size,
				.base = vq->last_avail,
				.desc = vq->desc,
				.avail = vq->avail,
				.used = vq->used,
				.kick_fd = vq->kick_fd,
				.call_fd = call,
			};
		}
		tap_fd = be->ops->kernel_fd(be, qp, net->ghdr);
		err = tap_fd < 0 ? tap_fd :
		      net_vhost_start(be->vhost, qp, vdev->mem,
				      vdev->guest_features, ring, tap_fd);
		if (err) {
			pr_err("%s: %s: cannot start vhost-net for queue pair %u: %s",
			       vdev->name, be->name, qp, strerror(-err));
			return err;
		}
		pr_debug("%s: queue pair %u on vhost-net: %u entries, rx call fd %d, tx call fd %d, header %zu, features %#llx",
			 vdev->name, qp, ring[0].num, ring[0].call_fd,
			 ring[1].call_fd, net->ghdr,
			 (unsigned long long)vdev->guest_features);
	}
	return 0;
}

/* DRIVER_OK (legacy drivers too, which have no FEATURES_OK): fix what the
 * features decide, tell the backend, start rx. */
static int net_start(struct virtio_dev *vdev)
{
	struct net_dev *net = vdev->priv;
	struct net_backend *be = net->be;
	unsigned int i;
	int err;

	net->mrg = has(net, VIRTIO_NET_F_MRG_RXBUF);
	net->ghdr = has(net, VIRTIO_F_VERSION_1) || net->mrg ?
		    sizeof(struct virtio_net_hdr_v1) :
		    sizeof(struct virtio_net_hdr);
	net->pairs = has(net, VIRTIO_NET_F_MQ) ? net->max_pairs : 1;
	net->ctrl_index = has(net, VIRTIO_NET_F_CTRL_VQ) ? 2 * net->pairs :
							   NET_NO_QUEUE;
	net->curr_pairs = 1; /* until VQ_PAIRS_SET (5.1.6.5.5) */

	if (be->vnet_hdr && be->ops->set_offloads) {
		err = be->ops->set_offloads(be, vdev->guest_features &
						NET_GUEST_OFFLOADS);
		if (err < 0) {
			pr_warn("%s: %s: cannot set offloads: %s", vdev->name,
				be->name, strerror(-err));
			return err;
		}
	}
	if (be->ops->set_queue_pairs) {
		err = be->ops->set_queue_pairs(be, 1);
		if (err < 0)
			return err;
	}
	/* Release: the fields above before any handler sees started. */
	__atomic_store_n(&net->started, true, __ATOMIC_RELEASE);

	if (be->vhost)
		return net_vhost_pairs_start(net);
	for (i = 0; i < net->max_pairs; i++) {
		struct net_rxq *rq = &net->rxq[i];

		if (rq->watching) {
			ioloop_watch_resume(&rq->watch);
			continue;
		}
		if (!vdev->loop)
			continue; /* unit tests: the rx kick runs rx */
		err = ioloop_watch_add(vdev->loop, &rq->watch,
				       be->ops->rx_fd(be, i), net_rx_watch, rq,
				       vdev->name);
		if (err) {
			pr_err("%s: cannot watch %s: %s", vdev->name, be->name,
			       strerror(-err));
			return err;
		}
		rq->watching = true;
	}
	return 0;
}

static void net_reset(struct virtio_dev *vdev)
{
	struct net_dev *net = vdev->priv;
	unsigned int i;

	__atomic_store_n(&net->started, false, __ATOMIC_RELEASE);
	for (i = 0; i < net->max_pairs; i++) {
		struct net_rxq *rq = &net->rxq[i];

		/* The kernel lets go of the rings before the core forgets
		 * them. */
		if (net->be->vhost)
			net_vhost_stop(net->be->vhost, i);

		/* No rx handler runs after this until net_start. */
		if (rq->watching)
			ioloop_watch_pause(&rq->watch);
		rq->stopped = rq->have_chain = rq->pending = false;
		rq->nr_used = 0;
	}
	net->pairs = 0;
	net->ctrl_index = NET_NO_QUEUE;
	pthread_mutex_lock(&net->lock);
	memcpy(net->cfg.mac, net->default_mac, ETH_ALEN);
	net->promisc = net->allmulti = false;
	pthread_mutex_unlock(&net->lock);
}

static void net_free(struct net_dev *net)
{
	unsigned int i;

	for (i = 0; net->rxq && i < net->max_pairs; i++) {
		if (net->rxq[i].watching)
			ioloop_watch_del(&net->rxq[i].watch);
		free(net->rxq[i].tail);
	}
	free(net->rxq);
	free(net->txq);
	if (net->be && net->be->ops->close)
		net->be->ops->close(net->be);
	pthread_mutex_destroy(&net->lock);
	free(net);
}

static void net_destroy(struct virtio_dev *vdev)
{
	net_free(vdev->priv);
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.config_write = net_config_write,
	.features_ok = net_features_ok,
	.start = net_start,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
};

/* --- Creation --- */

static uint64_t net_features(const struct net_dev *net)
{
	const struct net_backend *be = net->be;
	uint64_t f = F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
		     F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |
		     F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		     F(VIRTIO_F_ANY_LAYOUT);

	if (net->max_pairs > 1)
		f |= F(VIRTIO_NET_F_MQ);
	if (be->mtu >= ETH_MIN_MTU && be->mtu <= UINT16_MAX)
		f |= F(VIRTIO_NET_F_MTU);
	if (be->vnet_hdr) {
		uint64_t o = be->features & (NET_HOST_OFFLOADS |
					     NET_GUEST_OFFLOADS);

		/* Nothing whose prerequisite is missing. */
		if (!(o & F(VIRTIO_NET_F_CSUM)))
			o &= ~NET_HOST_OFFLOADS;
		if (!(o & F(VIRTIO_NET_F_GUEST_CSUM)))
			o &= ~NET_GUEST_OFFLOADS;
		if (!(o & (F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))))
			o &= ~F(VIRTIO_NET_F_HOST_ECN);
		if (!(o & (F(VIRTIO_NET_F_GUEST_TSO4) |
			   F(VIRTIO_NET_F_GUEST_TSO6))))
			o &= ~F(VIRTIO_NET_F_GUEST_ECN);
		f |= o;
		if (o & NET_GUEST_OFFLOADS)
			f |= F(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS);
	}
	return f;
}

static void net_fill_config(struct net_dev *net)
{
	struct virtio_net_config *cfg = &net->cfg;

	memset(cfg, 0, sizeof(*cfg));
	memcpy(cfg->mac, net->default_mac, ETH_ALEN);
	cfg->status = htole16(VIRTIO_NET_S_LINK_UP);
	cfg->max_virtqueue_pairs = htole16((uint16_t)net->max_pairs);
	if (net->vdev.host_features & F(VIRTIO_NET_F_MTU))
		cfg->mtu = htole16((uint16_t)net->be->mtu);
	cfg->speed = htole32(UINT32_MAX); /* unknown */
	cfg->duplex = 0xff;               /* unknown */
}

static void net_link_toggle(void *opaque);

struct virtio_dev *virtio_net_new(struct vm *vm, struct net_backend *be,
				  const uint8_t mac[6], unsigned int index)
{
	struct net_dev *net;
	char name[32];
	unsigned int i;
	int err;

	snprintf(name, sizeof(name), "virtio-net%u", index);
	if (!be || !be->ops || !be->ops->send || !be->ops->recv ||
	    !be->ops->rx_fd) {
		pr_err("%s: incomplete network backend", name);
		if (be && be->ops && be->ops->close)
			be->ops->close(be);
		return NULL;
	}
	net = calloc(1, sizeof(*net));
	if (!net) {
		pr_err("%s: out of memory", name);
		if (be->ops->close)
			be->ops->close(be);
		return NULL;
	}
	net->be = be;
	net->max_pairs = MIN(MAX(be->queue_pairs, 1u),
			     (unsigned int)NET_MAX_QUEUE_PAIRS);
	memcpy(net->default_mac, mac, ETH_ALEN);
	net->ctrl_index = NET_NO_QUEUE;
	pthread_mutex_init(&net->lock, NULL);

	net->txq = calloc(net->max_pairs, sizeof(*net->txq));
	net->rxq = calloc(net->max_pairs, sizeof(*net->rxq));
	if (!net->txq || !net->rxq)
		goto err_free;
	for (i = 0; i < net->max_pairs; i++) {
		net->rxq[i].net = net;
		net->rxq[i].qp = i;
		net->rxq[i].tail = malloc(NET_MAX_FRAME);
		if (!net->rxq[i].tail)
			goto err_free;
	}

	err = virtio_dev_init(&net->vdev, &(struct virtio_dev_init){
				.type = &virtio_net_type,
				.ops = &net_ops,
				.name = name,
				.nr_queues = 2 * net->max_pairs + 1,
				.features = net_features(net),
				.mem = &vm->mem,
				.loop = vm_workers(vm),
				.priv = net,
			      });
	if (err) {
		pr_err("%s: cannot create the device: %s", name, strerror(-err));
		goto err_free;
	}
	net_fill_config(net);
	/* Devices are made before the console starts, and one that fails to
	 * attach fails the VM: the console never calls a freed card. */
	if (vm_add_link_toggle(vm, net_link_toggle, &net->vdev)) {
		pr_err("%s: out of memory", name);
		virtio_dev_destroy(&net->vdev); /* frees @net, closes @be */
		return NULL;
	}
	pr_debug("%s: %s, %u queue pair(s), mac %02x:%02x:%02x:%02x:%02x:%02x, features %#llx",
		 name, be->name, net->max_pairs, mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5],
		 (unsigned long long)net->vdev.host_features);
	return &net->vdev;

err_free:
	pr_err("%s: out of memory", name);
	net_free(net); /* closes the backend */
	return NULL;
}

/* Ctrl-A l: the link down, or up again. */
static void net_link_toggle(void *opaque)
{
	struct virtio_dev *vdev = opaque;
	struct net_dev *net = vdev->priv;
	bool up;

	pthread_mutex_lock(&net->lock);
	up = !(le16toh(net->cfg.status) & VIRTIO_NET_S_LINK_UP);
	pthread_mutex_unlock(&net->lock);
	virtio_net_set_link(vdev, up);
	pr_info("%s: link %s", vdev->name, up ? "up" : "down");
}

void virtio_net_set_link(struct virtio_dev *vdev, bool up)
{
	struct net_dev *net = vdev->priv;
	uint16_t st = up ? VIRTIO_NET_S_LINK_UP : 0;
	bool changed;

	pthread_mutex_lock(&net->lock);
	changed = le16toh(net->cfg.status) != st;
	net->cfg.status = htole16(st);
	pthread_mutex_unlock(&net->lock);
	if (changed)
		virtio_config_changed(vdev);
}

/*
 * -n/--network: each use is a device request (cfg->dev_reqs) whose value
 * cli_parse_net() checked at once; create() parses it again.  "-n none"
 * (or mode=none) asks for no NIC and may not be combined with another -n.
 * No -n: one user-mode NIC, as kvmtool gives, when the transport has a
 * slot to spare (net_count()).
 */
#define NET_DEFAULT_ARG "mode=user"

static int net_apply(struct vm_config *cfg, const struct cli_use *use)
{
	struct net_config n;
	int ret = cli_parse_net(use->arg, &n, use->err);

	if (ret)
		return ret;
	cli_free_net(&n);
	return cli_request_device(cfg, use);
}

/* No -n at all: the NIC, if any, is lkvm's default. */
static bool net_implicit(const struct vm_config *cfg)
{
	return !virtio_device_requests(cfg, &virtio_net_type);
}

/* The @index-th request that is not "none" (no -n: the default card's),
 * or NULL. */
static const char *net_request(const struct vm_config *cfg, unsigned int index)
{
	unsigned int i, n = virtio_device_requests(cfg, &virtio_net_type);
	const char *arg;

	if (!n)
		return index ? NULL : NET_DEFAULT_ARG;
	for (i = 0; i < n; i++) {
		arg = virtio_device_request_arg(cfg, &virtio_net_type, i);
		if (arg && !cli_net_is_none(arg) && !index--)
			return arg;
	}
	return NULL;
}

/*
 * Whether the default NIC fits: the devices asked for come first.  A
 * configuration that fills every PCI slot or mmio line (15 disks on x86's
 * mmio) worked before there was a default NIC and still does: the guest
 * then has none (virtio_devices_init() says so), rather than a usage
 * error about a device nobody asked for.
 */
static bool net_default_fits(const struct vm_config *cfg)
{
	const struct virtio_device_type *const *t;
	unsigned int others = 0;

	for (t = virtio_device_types; *t; t++)
		if (*t != &virtio_net_type)
			others += (*t)->count(cfg);
	return others < virtio_transport_max_devices(cfg->transport);
}

static unsigned int net_count(const struct vm_config *cfg)
{
	unsigned int i, n = virtio_device_requests(cfg, &virtio_net_type);
	unsigned int cards = 0;
	const char *arg;

	if (!n)
		return net_default_fits(cfg) ? 1 : 0;
	for (i = 0; i < n; i++) {
		arg = virtio_device_request_arg(cfg, &virtio_net_type, i);
		cards += arg && !cli_net_is_none(arg);
	}
	return cards;
}

static int net_check(const struct vm_config *cfg, char *why, size_t len)
{
	unsigned int n = virtio_device_requests(cfg, &virtio_net_type);
	unsigned int i, none = 0;

	for (i = 0; i < n; i++) {
		const char *arg = virtio_device_request_arg(cfg,
							    &virtio_net_type, i);

		none += arg && cli_net_is_none(arg);
	}
	if (none && none < n) {
		snprintf(why, len, "-n none (no network card) cannot be combined with another -n");
		return -EINVAL;
	}
	return 0;
}

/*
 * The default MAC of NIC @index: kvmtool's, 02:15:15:15:15:15 with
 * @index added to the last byte (locally administered, unicast), so
 * guests of two lkvm processes on one bridge need guest_mac= to differ.
 */
void virtio_net_default_mac(unsigned int index, uint8_t mac[6])
{
	static const uint8_t base[ETH_ALEN] = { 0x02, 0x15, 0x15, 0x15, 0x15,
						0x15 };

	memcpy(mac, base, ETH_ALEN);
	mac[5] = (uint8_t)(mac[5] + index);
}

/* Queue pairs asked of the backend: mq=, else one per vCPU (the backend
 * may open fewer: user mode has one). */
unsigned int virtio_net_queue_pairs(const struct net_config *nc,
				    unsigned int nr_vcpus)
{
	unsigned int qp = nc->mq ? nc->mq : nr_vcpus;

	return MIN(MAX(qp, 1u), (unsigned int)NET_MAX_QUEUE_PAIRS);
}

int virtio_net_card(const struct vm_config *cfg, unsigned int index,
		    struct net_config *nc, uint8_t mac[6])
{
	const char *arg = net_request(cfg, index);

	if (!arg) {
		pr_err("virtio-net%u: no -n for this network card", index);
		return -EINVAL;
	}
	if (cli_parse_net(arg, nc, stderr))
		return -EINVAL;
	if (nc->mode == NET_MODE_NONE) { /* net_request() skips these */
		cli_free_net(nc);
		pr_err("virtio-net%u: -n none is no network card", index);
		return -EINVAL;
	}
	if (nc->mac_set)
		memcpy(mac, nc->guest_mac, ETH_ALEN);
	else
		virtio_net_default_mac(index, mac);
	return 0;
}

static struct virtio_dev *net_create(struct vm *vm, unsigned int index)
{
	struct net_backend *be;
	struct net_config nc;
	uint8_t mac[ETH_ALEN];
	int err;

	if (virtio_net_card(vm->cfg, index, &nc, mac))
		return NULL;
	err = net_backend_open(&be, &nc,
			       virtio_net_queue_pairs(&nc, vm->nr_vcpus));
	cli_free_net(&nc);
	if (err)
		return NULL; /* net_backend_open() printed why */
	return virtio_net_new(vm, be, mac, index);
}

static const struct cli_option net_options[] = {
	{ .short_name = 'n', .long_name = "network",
	  .arg = "MODE[,KEY=VALUE...]",
	  .help = "a virtio-net network card; repeatable (a comma in\n"
		  "a value is written ,,).  MODE:\n"
		  "  mode=tap   a host tap: a new one (needs\n"
		  "             CAP_NET_ADMIN) or an existing one\n"
		  "             (a -n without mode=, as in kvmtool)\n"
		  "  mode=user  user-mode networking (libslirp): guest\n"
		  "             10.0.2.15, host 10.0.2.2, DNS 10.0.2.3;\n"
		  "             without -n the guest has one such card\n"
		  "  none       no network card\n"
		  "Keys:\n"
		  "  tapif=NAME|/dev/tapN  tap: an existing tap, or\n"
		  "             a macvtap's device\n"
		  "  script=PATH|none  tap: run PATH IFNAME once the\n"
		  "             tap is open, to bring it up (default: none)\n"
		  "  mq=N       tap: queue pairs (default: one per\n"
		  "             vCPU; at most " STR(NET_MAX_QUEUE_PAIRS) ")\n"
		  "  vhost=on   tap: the data path in the kernel's vhost-net\n"
		  "             (needs /dev/vhost-net; default off)\n"
		  "  hostfwd=[tcp|udp]:[HOSTIP]:HOSTPORT-[GUESTIP]:GUESTPORT\n"
		  "             user: forward a host port to the\n"
		  "             guest; repeatable\n"
		  "  guest_mac=MAC  the card's MAC (default:\n"
		  "             02:15:15:15:15:15 plus its index)",
	  .apply = net_apply, .device = &virtio_net_type, .repeatable = true },
	CLI_END,
};

static const char *const net_modules[] = { "virtio_net", NULL };

const struct virtio_device_type virtio_net_type = {
	.name = "virtio-net",
	.help = "a network card: user-mode (default) or a host tap (-n)",
	.device_id = VIRTIO_ID_NET,
	.pci_class = PCI_CLASS_NETWORK_ETHERNET,
	.modules = net_modules,
	.max_queues = 2 * NET_MAX_QUEUE_PAIRS + 1,
	.queue_size = NET_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_net_config),
	.count = net_count,
	.create = net_create,
	.options = net_options,
	.check = net_check,
	.implicit = net_implicit,
};
