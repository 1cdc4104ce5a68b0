// SPDX-License-Identifier: GPL-2.0
/* A fake network backend for device-model tests; see net_fake.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net_fake.h"

static struct net_fake *fake(struct net_backend *be)
{
	return (struct net_fake *)be; /* be is the first member */
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

static ssize_t fake_send(struct net_backend *be, unsigned int qp,
			 const struct iovec *iov, int iovcnt)
{
	struct net_fake *f = fake(be);
	size_t len = iov_total(iov, iovcnt), off = 0;
	ssize_t ret = (ssize_t)len;

	pthread_mutex_lock(&f->lock);
	f->send_calls++;
	if (f->send_result) {
		ret = f->send_result;
	} else if (f->nr_tx < NET_FAKE_FRAMES) {
		struct net_fake_frame *fr = &f->tx[f->nr_tx++];

		fr->data = malloc(len ? len : 1);
		fr->len = len;
		fr->qp = qp;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(fr->data + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static bool has_frame(struct net_fake *f, unsigned int qp)
{
	for (unsigned int i = 0; i < f->nr_rx; i++)
		if (f->rx[i].qp == qp)
			return true;
	return false;
}

static ssize_t fake_recv(struct net_backend *be, unsigned int qp,
			 const struct iovec *iov, int iovcnt)
{
	struct net_fake *f = fake(be);
	struct net_fake_frame fr;
	unsigned int i;
	size_t off = 0;
	ssize_t ret;

	pthread_mutex_lock(&f->lock);
	f->recv_calls++;
	if (f->recv_error) {
		ret = f->recv_error;
		goto out;
	}
	for (i = 0; i < f->nr_rx && f->rx[i].qp != qp; i++)
		;
	if (i == f->nr_rx) {
		ret = 0;
		goto out;
	}
	fr = f->rx[i];
	memmove(&f->rx[i], &f->rx[i + 1], (f->nr_rx - i - 1) * sizeof(fr));
	f->nr_rx--;
	if (fr.len > iov_total(iov, iovcnt)) {
		ret = -EMSGSIZE;
	} else {
		for (int k = 0; k < iovcnt && off < fr.len; k++) {
			size_t n = fr.len - off < iov[k].iov_len ?
				   fr.len - off : iov[k].iov_len;

			memcpy(iov[k].iov_base, fr.data + off, n);
			off += n;
		}
		ret = (ssize_t)fr.len;
	}
	free(fr.data);
out:
	/* Readable exactly while frames wait. */
	if (!has_frame(f, qp))
		drain(f->efd[qp]);
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int fake_rx_fd(struct net_backend *be, unsigned int qp)
{
	return fake(be)->efd[qp];
}

static int fake_set_offloads(struct net_backend *be, uint64_t guest_features)
{
	struct net_fake *f = fake(be);

	pthread_mutex_lock(&f->lock);
	f->offloads = guest_features;
	f->offload_calls++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_set_queue_pairs(struct net_backend *be, unsigned int n)
{
	struct net_fake *f = fake(be);

	pthread_mutex_lock(&f->lock);
	f->queue_pairs = n;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void fake_close(struct net_backend *be)
{
	fake(be)->closed = true;
}

static const struct net_backend_ops fake_ops = {
	.send = fake_send,
	.recv = fake_recv,
	.rx_fd = fake_rx_fd,
	.set_offloads = fake_set_offloads,
	.set_queue_pairs = fake_set_queue_pairs,
	.close = fake_close,
};

struct net_fake *net_fake_new(bool vnet_hdr, uint64_t features,
			      unsigned int pairs, unsigned int mtu)
{
	struct net_fake *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	pthread_mutex_init(&f->lock, NULL);
	for (unsigned int i = 0; i < NET_MAX_QUEUE_PAIRS; i++)
		f->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->be.ops = &fake_ops;
	f->be.name = "fake";
	f->be.vnet_hdr = vnet_hdr;
	f->be.features = features;
	f->be.queue_pairs = pairs;
	f->be.mtu = mtu;
	return f;
}

void net_fake_free(struct net_fake *f)
{
	if (!f)
		return;
	for (unsigned int i = 0; i < NET_MAX_QUEUE_PAIRS; i++)
		close(f->efd[i]);
	for (unsigned int i = 0; i < f->nr_rx; i++)
		free(f->rx[i].data);
	for (unsigned int i = 0; i < f->nr_tx; i++)
		free(f->tx[i].data);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

void net_fake_rx(struct net_fake *f, unsigned int qp, const void *data,
		 size_t len)
{
	uint64_t one = 1;

	pthread_mutex_lock(&f->lock);
	if (f->nr_rx < NET_FAKE_FRAMES) {
		struct net_fake_frame *fr = &f->rx[f->nr_rx++];

		fr->data = malloc(len ? len : 1);
		memcpy(fr->data, data, len);
		fr->len = len;
		fr->qp = qp;
		if (write(f->efd[qp], &one, sizeof(one)) < 0)
			abort();
	}
	pthread_mutex_unlock(&f->lock);
}

unsigned int net_fake_rx_left(struct net_fake *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->nr_rx;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned int net_fake_recv_calls(struct net_fake *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->recv_calls;
	pthread_mutex_unlock(&f->lock);
	return n;
}

unsigned int net_fake_nr_tx(struct net_fake *f)
{
	unsigned int n;

	pthread_mutex_lock(&f->lock);
	n = f->nr_tx;
	pthread_mutex_unlock(&f->lock);
	return n;
}
