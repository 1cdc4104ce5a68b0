/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_NET_H
#define LKVM_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * Network backends, independent of the device model (virtio/net.c), as
 * disk/ is for virtio-blk.
 *
 *   net_backend_open()  parse nothing (the CLI has made a net_config),
 *                       open the backend: a tap (net/tap.c), libslirp's
 *                       user-mode stack (net/slirp.c)
 *   ->send()            one frame out, as an iovec
 *   ->recv()            one frame in, if one is waiting (never blocks)
 *   ->rx_fd()           a descriptor that polls readable while ->recv()
 *                       may have a frame for that queue pair: the device
 *                       watches it on an ioloop (no busy polling), and
 *                       stops watching while the guest posts no rx buffers.
 *                       Once ->recv() has returned 0 the fd must not poll
 *                       readable again until a frame arrives (a backend
 *                       signalling through an eventfd drains it), or the
 *                       device's worker would spin
 *   ->set_offloads()    the offloads the guest negotiated (tap:
 *                       TUNSETOFFLOAD); called when the driver starts the
 *                       device and on VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET
 *   ->set_queue_pairs() optional: the guest uses queue pairs [0, n) only
 *                       (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, or 1 without MQ);
 *                       a multiqueue tap detaches the others
 *                       (IFF_DETACH_QUEUE) so the kernel steers no frame to
 *                       a queue the guest does not read
 *   ->close()
 *
 * Threads: for one queue pair, send() runs on one thread at a time and
 * recv() on one thread at a time, but a pair's send() and recv() may run
 * at the same time, and different pairs run concurrently.
 * set_offloads/set_queue_pairs run on a vCPU or worker thread while rx/tx
 * may be running.  The device (virtio_net_new) owns the backend and calls
 * ->close() when it is destroyed.
 *
 * Frames: when be->vnet_hdr, every frame, both ways, begins with a
 * struct virtio_net_hdr_v1 (12 bytes: flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers), little-endian, as the tap's
 * IFF_VNET_HDR (TUNSETVNETHDRSZ 12, TUNSETVNETLE) and virtio 1.x use it;
 * the device then passes the guest's header through.  Otherwise frames
 * are bare Ethernet, and the device adds/strips a header with no offload
 * (the backend offers no offload features then).
 */

#define NET_MAX_QUEUE_PAIRS 16
/* The largest frame either way, Ethernet header included, without the
 * virtio-net header: 64 KiB of GSO payload plus headers (virtio 1.2
 * 5.1.6.3.1: 65550 bytes). */
#define NET_MAX_FRAME 65550
#define NET_VNET_HDR_LEN 12

enum net_mode {
	NET_MODE_USER, /* libslirp */
	NET_MODE_TAP,
	NET_MODE_NONE,
};

/* One -n/--network, as the CLI parsed it. */
struct net_config {
	enum net_mode mode;
	uint8_t guest_mac[6];
	bool mac_set;
	/* tap */
	const char *tapif;   /* NAME, or /dev/tapN (macvtap); NULL: new */
	const char *script;  /* NULL or "none": no script */
	bool vhost;
	unsigned int mq;     /* queue pairs asked for; 0: one per vCPU */
	/* user: host forwards "tcp:HOSTIP:PORT-GUESTIP:PORT" */
	unsigned int nr_hostfwd;
	struct net_hostfwd {
		bool udp;
		uint32_t host_addr;  /* network order; 0: any */
		uint16_t host_port;
		uint32_t guest_addr; /* network order; 0: the guest's */
		uint16_t guest_port;
	} hostfwd[16];
};

struct net_backend;

struct net_backend_ops {
	/* One frame (header first when vnet_hdr); bytes sent or -errno.
	 * The device drops the frame on an error (no retry) and never
	 * passes more than NET_MAX_FRAME bytes after the header. */
	ssize_t (*send)(struct net_backend *be, unsigned int qp,
			const struct iovec *iov, int iovcnt);
	/* Never blocks.  The bytes stored in @iov (the 12-byte header
	 * included when vnet_hdr), 0 when no frame is waiting, or -errno:
	 * -EAGAIN is the same as 0; a frame longer than @iov is consumed and
	 * reported as -EMSGSIZE (the device drops it and asks again); any
	 * other error stops rx on that queue pair until the device resets. */
	ssize_t (*recv)(struct net_backend *be, unsigned int qp,
			const struct iovec *iov, int iovcnt);
	int (*rx_fd)(struct net_backend *be, unsigned int qp);
	/* VIRTIO_NET_F_GUEST_* the guest accepted; 0 or -errno (NULL:
	 * ignored, for a backend without guest offloads). */
	int (*set_offloads)(struct net_backend *be, uint64_t guest_features);
	/* Optional (NULL: ignored); 0 or -errno.  1 <= @n <= queue_pairs. */
	int (*set_queue_pairs)(struct net_backend *be, unsigned int n);
	/* Optional, for vhost=on: the descriptor a kernel data path reads and
	 * writes queue pair @qp's frames through (a tap queue), with frames
	 * now carrying @hdr_len bytes of header (10 or 12: the guest's);
	 * -errno.  Send/recv are not used while the kernel has it. */
	int (*kernel_fd)(struct net_backend *be, unsigned int qp,
			 size_t hdr_len);
	void (*close)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *name;          /* "tap0", "user" (messages) */
	bool vnet_hdr;             /* frames carry virtio_net_hdr_v1 */
	uint64_t features;         /* VIRTIO_NET_F_* offloads it can carry */
	unsigned int queue_pairs;  /* how many it opened (>= 1) */
	unsigned int mtu;          /* 0: not known (no VIRTIO_NET_F_MTU) */
	struct net_vhost *vhost;   /* vhost=on: the kernel runs the data
				    * path (closed with the backend) */
	void *priv;
};

/* Open the backend @cfg asks for with @queue_pairs pairs (the backend may
 * open fewer: be->queue_pairs); one error line and -errno on failure.
 * Its ->close() frees it too, so the device that takes it over (which
 * only calls ->close()) leaks nothing; net_backend_close() is the same. */
int net_backend_open(struct net_backend **be, const struct net_config *cfg,
		     unsigned int queue_pairs);
void net_backend_close(struct net_backend *be);

/*
 * vhost-net (net/vhost.c): one /dev/vhost-net instance per queue pair,
 * owned by this process.  net_backend_open() opens it for vhost=on (one
 * error line when @path is missing or not vhost-net); the device starts a
 * pair's rings at DRIVER_OK and stops them on reset.
 */
struct guest_memory;
struct net_vhost;
#define NET_VHOST_PATH "/dev/vhost-net"
/* One ring as vhost takes it: host addresses inside guest RAM's mapping. */
struct net_vhost_ring {
	unsigned int num;     /* queue size */
	uint16_t base;        /* next avail index to consume */
	void *desc, *avail, *used;
	int kick_fd;          /* the driver's notifications (ioeventfd) */
	int call_fd;          /* written to interrupt the driver */
};
int net_vhost_open(struct net_vhost **vh, const char *path, const char *who,
		   unsigned int pairs);
/* The feature bits the kernel offers (ring and header features). */
uint64_t net_vhost_features(const struct net_vhost *vh);
/* Hand pair @qp's rings (rx = ring[0], tx = ring[1]) and @tap_fd to the
 * kernel; 0 or -errno (then nothing runs). */
int net_vhost_start(struct net_vhost *vh, unsigned int qp,
		    const struct guest_memory *mem, uint64_t guest_features,
		    const struct net_vhost_ring ring[2], int tap_fd);
/* Detach pair @qp: returns once the kernel no longer touches its rings. */
void net_vhost_stop(struct net_vhost *vh, unsigned int qp);
void net_vhost_close(struct net_vhost *vh);

#endif
