/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_NET_FAKE_H
#define LKVM_UNIT_NET_FAKE_H

/*
 * A fake network backend (include/lkvm/net.h) for device-model tests: rx
 * frames wait in a queue per queue pair, whose eventfd (->rx_fd) is
 * readable exactly while frames wait; frames the device sends are kept
 * (gathered into one buffer each) for the test to look at.  Counters say
 * how often each op ran.  Thread-safe (one lock).
 *
 * The device takes the backend over and calls ->close, which only marks
 * it closed: the test frees it with net_fake_free() after destroying the
 * device.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lkvm/net.h"

#define NET_FAKE_FRAMES 128

struct net_fake_frame {
	uint8_t *data;
	size_t len;
	unsigned int qp;
};

struct net_fake {
	struct net_backend be;
	pthread_mutex_t lock;
	int efd[NET_MAX_QUEUE_PAIRS];
	struct net_fake_frame rx[NET_FAKE_FRAMES]; /* FIFO, any qp */
	unsigned int nr_rx;
	struct net_fake_frame tx[NET_FAKE_FRAMES];
	unsigned int nr_tx;
	unsigned int recv_calls, send_calls;
	int send_result;            /* non-zero: send() fails with it */
	int recv_error;             /* non-zero: recv() fails with it */
	uint64_t offloads;          /* last set_offloads() */
	unsigned int offload_calls;
	unsigned int queue_pairs;   /* last set_queue_pairs() */
	bool closed;
};

/* A backend with @pairs queue pairs; frames carry a 12-byte header when
 * @vnet_hdr; @features are the offloads it claims; @mtu 0: none. */
struct net_fake *net_fake_new(bool vnet_hdr, uint64_t features,
			      unsigned int pairs, unsigned int mtu);
void net_fake_free(struct net_fake *f);
/* Queue a frame (header included when vnet_hdr) for queue pair @qp. */
void net_fake_rx(struct net_fake *f, unsigned int qp, const void *data,
		 size_t len);
unsigned int net_fake_rx_left(struct net_fake *f);
unsigned int net_fake_recv_calls(struct net_fake *f);
unsigned int net_fake_nr_tx(struct net_fake *f);

#endif
