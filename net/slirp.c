// SPDX-License-Identifier: GPL-2.0
/*
 * The user-mode backend: libslirp's TCP/IP stack, unprivileged, with
 * QEMU's and kvmtool's addresses (guest 10.0.2.15/24, host and gateway
 * 10.0.2.2, DNS 10.0.2.3, IPv6 fec0::/64) and -n hostfwd= forwards.
 *
 * libslirp is not thread-safe: every slirp_* call is made under
 * un->lock.  One thread per backend runs slirp's event loop: it polls
 * slirp's sockets (slirp_pollfds_fill/_poll), a wake eventfd and its
 * timers' nearest deadline.  Frames from the guest (->send) go to
 * slirp_input under the lock on the caller's thread, then wake the loop
 * (slirp may have opened a socket or buffered data to write).  Frames for
 * the guest (slirp's send_packet, always under the lock) are queued in a
 * bounded queue (NET_USER_RXQ_FRAMES, NET_USER_RXQ_BYTES) whose
 * eventfd is ->rx_fd(); ->recv takes them from there.
 *
 * Lock order: un->lock, then un->qlock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "lkvm/dlib.h"
#include "lkvm/net.h"
#include "lkvm/thread.h"
#include "lkvm/util.h"

/* libslirp (and glib under it), loaded by the first -n user
 * (include/lkvm/dlib.h). */
#define SLIRP_FNS(X) X(slirp_add_hostfwd) X(slirp_cleanup) \
	X(slirp_handle_timer) X(slirp_input) X(slirp_new) X(slirp_pollfds_fill) \
	X(slirp_pollfds_poll) X(slirp_version_string)
LKVM_DLIB_TABLE(ls, SLIRP_FNS, "libslirp.so.0", "libslirp0",
		"user-mode networking (-n user)")

struct user_timer {
	struct user_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
};

struct user_frame {
	uint8_t *data;
	size_t len;
};

/* A warning at most every 5 seconds, saying how many it stands for. */
struct ratelimit {
	int64_t last_ns;
	uint64_t missed;
};

struct user_net {
	pthread_mutex_t lock; /* every slirp_* call; the fields below */
	Slirp *slirp;
	struct user_timer *timers;
	bool stop;
	bool wake_pending;    /* wake_fd written, the loop has not drained */
	int wake_fd;
	pthread_t thread;
	bool thread_started;
	uint8_t *txbuf;       /* NET_MAX_FRAME: one guest frame for slirp */
	struct ratelimit guest_error_rl;

	/* The loop thread's own: the poll set of its last fill (one entry
	 * per slirp socket, so bounded by the process's descriptors). */
	struct pollfd *pfds;
	unsigned int nr_pfds, cap_pfds;

	pthread_mutex_t qlock; /* the guest-bound queue */
	int rx_fd;             /* readable while the queue is not empty */
	struct user_frame q[NET_USER_RXQ_FRAMES];
	unsigned int q_head, q_count;
	size_t q_bytes;
	struct ratelimit drop_rl;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* true: print now (r->missed more were suppressed since the last). */
static bool ratelimit_ok(struct ratelimit *r, uint64_t *missed)
{
	int64_t now = now_ns();

	if (r->last_ns && now - r->last_ns < 5 * 1000000000LL) {
		r->missed++;
		return false;
	}
	r->last_ns = now;
	*missed = r->missed;
	r->missed = 0;
	return true;
}

/* Under un->lock. */
static void user_wake(struct user_net *un)
{
	uint64_t one = 1;

	if (un->wake_pending)
		return;
	un->wake_pending = true;
	(void)!write(un->wake_fd, &one, sizeof(one));
}

/* The backend whose loop runs on this thread, if any. */
static __thread struct user_net *loop_of_thread;

static bool on_loop_thread(struct user_net *un)
{
	return loop_of_thread == un;
}

/* --- slirp's callbacks (all called under un->lock) --- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user_net *un = opaque;
	uint64_t one = 1, missed;
	struct user_frame *f;
	uint8_t *copy = NULL;
	const char *why = NULL;

	pthread_mutex_lock(&un->qlock);
	if (len > NET_MAX_FRAME)
		why = "frame too long";
	else if (un->q_count == NET_USER_RXQ_FRAMES ||
		 un->q_bytes + len > NET_USER_RXQ_BYTES)
		why = "the guest is not taking frames";
	else if (!(copy = malloc(len ? len : 1)))
		why = "out of memory";
	if (why) {
		if (ratelimit_ok(&un->drop_rl, &missed))
			pr_warn("user network: dropped a frame for the guest: %s (%llu more not reported)",
				why, (unsigned long long)missed);
		pthread_mutex_unlock(&un->qlock);
		/* Dropped as a wire would: TCP resends. */
		return (ssize_t)len;
	}
	memcpy(copy, buf, len);
	f = &un->q[(un->q_head + un->q_count) % NET_USER_RXQ_FRAMES];
	f->data = copy;
	f->len = len;
	if (!un->q_count++)
		(void)!write(un->rx_fd, &one, sizeof(one));
	un->q_bytes += len;
	pthread_mutex_unlock(&un->qlock);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct user_net *un = opaque;
	uint64_t missed;

	if (ratelimit_ok(&un->guest_error_rl, &missed))
		pr_warn("user network: guest error: %s (%llu more not reported)",
			msg, (unsigned long long)missed);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
				 void *opaque)
{
	struct user_net *un = opaque;
	struct user_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = un->timers;
	un->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct user_net *un = opaque;
	struct user_timer **p;

	for (p = &un->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct user_net *un = opaque;
	struct user_timer *t = timer;

	if (!t)
		return;
	t->expire_ms = expire_ms;
	if (!on_loop_thread(un))
		user_wake(un);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	struct user_net *un = opaque;

	if (!on_loop_thread(un))
		user_wake(un);
}

static const SlirpCb user_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* --- The event loop --- */

static int pfd_add(struct user_net *un, int fd, short events)
{
	if (un->nr_pfds == un->cap_pfds) {
		unsigned int cap = un->cap_pfds ? un->cap_pfds * 2 : 32;
		struct pollfd *p = realloc(un->pfds, cap * sizeof(*p));

		if (!p)
			return -1;
		un->pfds = p;
		un->cap_pfds = cap;
	}
	un->pfds[un->nr_pfds] = (struct pollfd){ .fd = fd, .events = events };
	return (int)un->nr_pfds++;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct user_net *un = opaque;
	short ev = 0;

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	if (events & SLIRP_POLL_ERR)
		ev |= POLLERR;
	if (events & SLIRP_POLL_HUP)
		ev |= POLLHUP;
	return pfd_add(un, fd, ev);
}

static int cb_get_revents(int idx, void *opaque)
{
	struct user_net *un = opaque;
	int ev = 0;
	short r;

	/* A socket slirp made since the fill has no index (-1). */
	if (idx < 1 || (unsigned int)idx >= un->nr_pfds)
		return 0;
	r = un->pfds[idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Under the lock: the poll timeout (ms) the nearest timer allows. */
static uint32_t timers_timeout(struct user_net *un, uint32_t timeout)
{
	int64_t now_ms = now_ns() / 1000000;
	struct user_timer *t;

	for (t = un->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		if (t->expire_ms <= now_ms)
			return 0;
		if (t->expire_ms - now_ms < (int64_t)timeout)
			timeout = (uint32_t)(t->expire_ms - now_ms);
	}
	return timeout;
}

/* Under the lock: run the timers that are due (each may re-arm or free
 * timers, so start over after each; a timer re-armed for the past waits
 * for the next turn of the loop after a few rounds). */
static void timers_run(struct user_net *un)
{
	int64_t now_ms = now_ns() / 1000000;
	struct user_timer *t;
	unsigned int rounds = 0;

again:
	for (t = un->timers; t && rounds < 16; t = t->next) {
		if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
			t->expire_ms = -1;
			ls.slirp_handle_timer(un->slirp, t->id, t->cb_opaque);
			rounds++;
			goto again;
		}
	}
}

static void *user_loop(void *opaque)
{
	struct user_net *un = opaque;
	uint64_t v;
	uint32_t timeout;
	int n;

	loop_of_thread = un;
	pthread_mutex_lock(&un->lock);
	while (!un->stop) {
		un->nr_pfds = 0;
		if (pfd_add(un, un->wake_fd, POLLIN) < 0) {
			pthread_mutex_unlock(&un->lock);
			usleep(10000);
			pthread_mutex_lock(&un->lock);
			continue;
		}
		timeout = UINT32_MAX;
		ls.slirp_pollfds_fill(un->slirp, &timeout, cb_add_poll, un);
		timeout = timers_timeout(un, timeout);
		pthread_mutex_unlock(&un->lock);

		n = poll(un->pfds, un->nr_pfds,
			 timeout > 60000 ? 60000 : (int)timeout);

		pthread_mutex_lock(&un->lock);
		if (n > 0 && un->pfds[0].revents) {
			(void)!read(un->wake_fd, &v, sizeof(v));
			un->wake_pending = false;
		}
		if (un->stop)
			break;
		ls.slirp_pollfds_poll(un->slirp, n < 0, cb_get_revents, un);
		timers_run(un);
	}
	pthread_mutex_unlock(&un->lock);
	return NULL;
}

/* --- The backend --- */

static ssize_t user_send(struct net_backend *be, unsigned int qp,
			 const struct iovec *iov, int iovcnt)
{
	struct user_net *un = be->priv;
	size_t len = 0, off = 0;
	int i;

	if (qp)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > NET_MAX_FRAME - len)
			return -EMSGSIZE;
		len += iov[i].iov_len;
	}
	if (len < 14)
		return -EINVAL; /* not even an Ethernet header */
	pthread_mutex_lock(&un->lock);
	for (i = 0; i < iovcnt; i++) {
		memcpy(un->txbuf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ls.slirp_input(un->slirp, un->txbuf, (int)len);
	user_wake(un);
	pthread_mutex_unlock(&un->lock);
	return (ssize_t)len;
}

static ssize_t user_recv(struct net_backend *be, unsigned int qp,
			 const struct iovec *iov, int iovcnt)
{
	struct user_net *un = be->priv;
	struct user_frame f;
	size_t room = 0, off = 0, n;
	uint64_t v;
	int i;

	if (qp)
		return -EINVAL;
	pthread_mutex_lock(&un->qlock);
	if (!un->q_count) {
		pthread_mutex_unlock(&un->qlock);
		return 0;
	}
	f = un->q[un->q_head];
	un->q_head = (un->q_head + 1) % NET_USER_RXQ_FRAMES;
	un->q_bytes -= f.len;
	if (!--un->q_count)
		(void)!read(un->rx_fd, &v, sizeof(v));
	pthread_mutex_unlock(&un->qlock);

	for (i = 0; i < iovcnt; i++)
		room += iov[i].iov_len;
	if (f.len > room) {
		free(f.data);
		return -EMSGSIZE;
	}
	for (i = 0; i < iovcnt && off < f.len; i++) {
		n = MIN(iov[i].iov_len, f.len - off);
		memcpy(iov[i].iov_base, f.data + off, n);
		off += n;
	}
	free(f.data);
	return (ssize_t)f.len;
}

static int user_rx_fd(struct net_backend *be, unsigned int qp)
{
	struct user_net *un = be->priv;

	return qp ? -1 : un->rx_fd;
}

static int user_set_offloads(struct net_backend *be, uint64_t guest_features)
{
	(void)be;
	(void)guest_features;
	return 0;
}

static void user_free(struct user_net *un)
{
	struct user_timer *t;

	if (un->thread_started) {
		pthread_mutex_lock(&un->lock);
		un->stop = true;
		user_wake(un);
		pthread_mutex_unlock(&un->lock);
		pthread_join(un->thread, NULL);
	}
	if (un->slirp) {
		pthread_mutex_lock(&un->lock);
		ls.slirp_cleanup(un->slirp);
		pthread_mutex_unlock(&un->lock);
	}
	while ((t = un->timers)) {
		un->timers = t->next;
		free(t);
	}
	while (un->q_count) {
		free(un->q[un->q_head].data);
		un->q_head = (un->q_head + 1) % NET_USER_RXQ_FRAMES;
		un->q_count--;
	}
	if (un->wake_fd >= 0)
		close(un->wake_fd);
	if (un->rx_fd >= 0)
		close(un->rx_fd);
	free(un->pfds);
	free(un->txbuf);
	pthread_mutex_destroy(&un->qlock);
	pthread_mutex_destroy(&un->lock);
	free(un);
}

static void user_close(struct net_backend *be)
{
	if (be->priv)
		user_free(be->priv);
	be->priv = NULL;
}

static const struct net_backend_ops user_ops = {
	.send = user_send,
	.recv = user_recv,
	.rx_fd = user_rx_fd,
	.set_offloads = user_set_offloads,
	.close = user_close,
};

static void inet_pton_ok(int af, const char *s, void *dst)
{
	/* Constants of ours: they parse. */
	if (inet_pton(af, s, dst) != 1)
		memset(dst, 0, af == AF_INET ? 4 : 16);
}

static int user_add_hostfwd(struct user_net *un, const struct net_hostfwd *h)
{
	struct in_addr host = { .s_addr = h->host_addr };
	struct in_addr guest = { .s_addr = h->guest_addr };
	char hs[INET_ADDRSTRLEN], gs[INET_ADDRSTRLEN];
	int r, err;

	if (!guest.s_addr)
		inet_pton_ok(AF_INET, NET_USER_GUEST, &guest);
	errno = 0;
	r = ls.slirp_add_hostfwd(un->slirp, h->udp, host, h->host_port, guest,
			      h->guest_port);
	if (!r)
		return 0;
	err = errno ? errno : EADDRINUSE;
	inet_ntop(AF_INET, &host, hs, sizeof(hs));
	inet_ntop(AF_INET, &guest, gs, sizeof(gs));
	if (err == EADDRINUSE)
		pr_err("user network: hostfwd=%s:%s:%u-%s:%u: host port %u is already in use",
		       h->udp ? "udp" : "tcp", hs, h->host_port, gs,
		       h->guest_port, h->host_port);
	else
		pr_err("user network: hostfwd=%s:%s:%u-%s:%u: cannot listen on the host: %s",
		       h->udp ? "udp" : "tcp", hs, h->host_port, gs,
		       h->guest_port, strerror(err));
	return -err;
}

int net_slirp_open(struct net_backend *be, const struct net_config *cfg)
{
	SlirpConfig sc;
	struct user_net *un;
	unsigned int i;
	int err;

	if (lkvm_dlib_load_ls())
		return -ELIBACC;
	un = calloc(1, sizeof(*un));
	if (!un) {
		pr_err("user network: out of memory");
		return -ENOMEM;
	}
	un->wake_fd = -1;
	un->rx_fd = -1;
	if (pthread_mutex_init(&un->lock, NULL)) {
		free(un);
		pr_err("user network: out of memory");
		return -ENOMEM;
	}
	if (pthread_mutex_init(&un->qlock, NULL)) {
		pthread_mutex_destroy(&un->lock);
		free(un);
		pr_err("user network: out of memory");
		return -ENOMEM;
	}
	un->txbuf = malloc(NET_MAX_FRAME);
	if (!un->txbuf) {
		err = -ENOMEM;
		pr_err("user network: out of memory");
		goto fail;
	}
	un->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	un->rx_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (un->wake_fd < 0 || un->rx_fd < 0) {
		err = -errno;
		pr_err("user network: eventfd: %s", strerror(errno));
		goto fail;
	}

	memset(&sc, 0, sizeof(sc));
	sc.version = 4;
	sc.restricted = 0;
	sc.in_enabled = true;
	inet_pton_ok(AF_INET, NET_USER_NETWORK, &sc.vnetwork);
	inet_pton_ok(AF_INET, NET_USER_NETMASK, &sc.vnetmask);
	inet_pton_ok(AF_INET, NET_USER_HOST, &sc.vhost);
	inet_pton_ok(AF_INET, NET_USER_GUEST, &sc.vdhcp_start);
	inet_pton_ok(AF_INET, NET_USER_DNS, &sc.vnameserver);
	sc.in6_enabled = true;
	inet_pton_ok(AF_INET6, NET_USER_PREFIX6, &sc.vprefix_addr6);
	sc.vprefix_len = NET_USER_PREFIX6_LEN;
	inet_pton_ok(AF_INET6, NET_USER_HOST6, &sc.vhost6);
	inet_pton_ok(AF_INET6, NET_USER_DNS6, &sc.vnameserver6);
	sc.if_mtu = NET_USER_MTU;
	sc.if_mru = NET_USER_MTU;

	un->slirp = ls.slirp_new(&sc, &user_callbacks, un);
	if (!un->slirp) {
		err = -ENOMEM;
		pr_err("user network: libslirp %s would not start",
		       ls.slirp_version_string());
		goto fail;
	}
	for (i = 0; i < cfg->nr_hostfwd && i < ARRAY_SIZE(cfg->hostfwd); i++) {
		err = user_add_hostfwd(un, &cfg->hostfwd[i]);
		if (err)
			goto fail;
	}
	err = lkvm_thread_create(&un->thread, user_loop, un);
	if (err) {
		pr_err("user network: cannot start its thread: %s",
		       strerror(-err));
		goto fail;
	}
	un->thread_started = true;

	be->ops = &user_ops;
	be->priv = un;
	be->name = "user";
	be->vnet_hdr = false;
	be->features = 0;
	be->queue_pairs = 1;
	be->mtu = NET_USER_MTU;
	return 0;

fail:
	user_free(un);
	return err;
}
