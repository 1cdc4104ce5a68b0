/* SPDX-License-Identifier: GPL-2.0 */
/* Private to net/: the backends net_backend_open() dispatches to. */
#ifndef LKVM_NET_BACKEND_H
#define LKVM_NET_BACKEND_H

#include "lkvm/net.h"

/* Each opens @cfg's backend with up to @queue_pairs pairs into *@be (a
 * zeroed struct the caller frees on failure); one error line and -errno
 * on failure.  ->close() releases everything the open made. */
int net_tap_open(struct net_backend *be, const struct net_config *cfg,
		 unsigned int queue_pairs);
int net_slirp_open(struct net_backend *be, const struct net_config *cfg);

/* The user-mode network's addresses (net/slirp.c), QEMU's and kvmtool's. */
#define NET_USER_NETWORK "10.0.2.0"
#define NET_USER_NETMASK "255.255.255.0"
#define NET_USER_HOST "10.0.2.2"
#define NET_USER_DNS "10.0.2.3"
#define NET_USER_GUEST "10.0.2.15"
#define NET_USER_PREFIX6 "fec0::"
#define NET_USER_PREFIX6_LEN 64
#define NET_USER_HOST6 "fec0::2"
#define NET_USER_DNS6 "fec0::3"
#define NET_USER_MTU 1500

/* Frames libslirp has for the guest and the device has not taken yet, per
 * user-mode backend: beyond either bound a frame is dropped (TCP resends;
 * a rate-limited warning says so). */
#define NET_USER_RXQ_FRAMES 256
#define NET_USER_RXQ_BYTES (4u << 20)

#endif
