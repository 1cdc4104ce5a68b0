// SPDX-License-Identifier: GPL-2.0
/*
 * The tap backend: a new tap (/dev/net/tun), an existing one by name
 * (tapif=NAME), or a macvtap's character device (tapif=/dev/tapN); one
 * descriptor per queue pair (IFF_MULTI_QUEUE), every frame with a
 * 12-byte virtio_net_hdr_v1 (IFF_VNET_HDR, TUNSETVNETHDRSZ), the
 * offloads the guest negotiated set with TUNSETOFFLOAD.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "lkvm/net.h"
#include "lkvm/util.h"

/* Newer than Debian 12's kernel headers (Linux 6.2). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_F_GUEST_USO4
#define VIRTIO_NET_F_GUEST_USO4 54
#endif
#ifndef VIRTIO_NET_F_GUEST_USO6
#define VIRTIO_NET_F_GUEST_USO6 55
#endif
#ifndef VIRTIO_NET_F_HOST_USO
#define VIRTIO_NET_F_HOST_USO 56
#endif

#define BIT64(n) (1ULL << (n))

struct tap {
	int fds[NET_MAX_QUEUE_PAIRS];
	unsigned int nr_fds;
	char ifname[IFNAMSIZ];
	char name[IFNAMSIZ + 16]; /* be->name */
};

/* The guest's VIRTIO_NET_F_GUEST_* and the TUN_F_* each one needs. */
static const struct {
	unsigned int feature;
	unsigned int tun;
} tap_offloads[] = {
	{ VIRTIO_NET_F_GUEST_CSUM, TUN_F_CSUM },
	{ VIRTIO_NET_F_GUEST_TSO4, TUN_F_TSO4 },
	{ VIRTIO_NET_F_GUEST_TSO6, TUN_F_TSO6 },
	{ VIRTIO_NET_F_GUEST_ECN, TUN_F_TSO_ECN },
	{ VIRTIO_NET_F_GUEST_UFO, TUN_F_UFO },
	{ VIRTIO_NET_F_GUEST_USO4, TUN_F_USO4 },
	{ VIRTIO_NET_F_GUEST_USO6, TUN_F_USO6 },
};

static unsigned int tap_tun_flags(uint64_t guest_features)
{
	unsigned int flags = 0, i;

	for (i = 0; i < ARRAY_SIZE(tap_offloads); i++)
		if (guest_features & BIT64(tap_offloads[i].feature))
			flags |= tap_offloads[i].tun;
	/* The tap takes no segmentation offload without checksum offload. */
	if (!(flags & TUN_F_CSUM))
		flags = 0;
	return flags;
}

/*
 * What the tap can carry: frames from the guest may always be partially
 * checksummed or GSO (the kernel takes them through the vnet header);
 * the guest-bound offloads are those TUNSETOFFLOAD accepts.  UFO and USO
 * both ways or not at all, as QEMU does.
 */
static uint64_t tap_probe_offloads(int fd)
{
	uint64_t f = 0;

	if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM) < 0)
		return 0;
	f |= BIT64(VIRTIO_NET_F_CSUM) | BIT64(VIRTIO_NET_F_GUEST_CSUM);
	f |= BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6) |
	     BIT64(VIRTIO_NET_F_HOST_ECN);
	if (!ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4))
		f |= BIT64(VIRTIO_NET_F_GUEST_TSO4);
	if (!ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO6))
		f |= BIT64(VIRTIO_NET_F_GUEST_TSO6);
	if (!ioctl(fd, TUNSETOFFLOAD,
		   TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN))
		f |= BIT64(VIRTIO_NET_F_GUEST_ECN);
	if (!ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_UFO))
		f |= BIT64(VIRTIO_NET_F_GUEST_UFO) | BIT64(VIRTIO_NET_F_HOST_UFO);
	if (!ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6))
		f |= BIT64(VIRTIO_NET_F_GUEST_USO4) |
		     BIT64(VIRTIO_NET_F_GUEST_USO6) |
		     BIT64(VIRTIO_NET_F_HOST_USO);
	/* Nothing until the guest has negotiated. */
	(void)ioctl(fd, TUNSETOFFLOAD, 0);
	return f;
}

static ssize_t tap_send(struct net_backend *be, unsigned int qp,
			const struct iovec *iov, int iovcnt)
{
	struct tap *t = be->priv;
	ssize_t n;

	if (qp >= t->nr_fds)
		return -EINVAL;
	do
		n = writev(t->fds[qp], iov, iovcnt);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t tap_recv(struct net_backend *be, unsigned int qp,
			const struct iovec *iov, int iovcnt)
{
	struct tap *t = be->priv;
	/* The tap copies what fits and drops the rest of the frame, saying
	 * nothing: one byte past @iov tells a frame that did not fit. */
	struct iovec v[IOV_MAX];
	uint8_t over;
	size_t room = 0;
	ssize_t n;
	int i;

	if (qp >= t->nr_fds || iovcnt < 0 || iovcnt >= IOV_MAX)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++) {
		v[i] = iov[i];
		room += iov[i].iov_len;
	}
	v[iovcnt] = (struct iovec){ &over, 1 };
	do
		n = readv(t->fds[qp], v, iovcnt + 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if ((size_t)n > room)
		return -EMSGSIZE;
	return n;
}

static int tap_rx_fd(struct net_backend *be, unsigned int qp)
{
	struct tap *t = be->priv;

	return qp < t->nr_fds ? t->fds[qp] : -1;
}

static int tap_set_offloads(struct net_backend *be, uint64_t guest_features)
{
	struct tap *t = be->priv;

	if (ioctl(t->fds[0], TUNSETOFFLOAD,
		  tap_tun_flags(guest_features & be->features)) < 0)
		return -errno;
	return 0;
}

static int tap_kernel_fd(struct net_backend *be, unsigned int qp,
			 size_t hdr_len)
{
	struct tap *t = be->priv;
	int sz = (int)hdr_len;

	if (qp >= t->nr_fds)
		return -EINVAL;
	/* A legacy driver without MRG_RXBUF has a 10-byte header, which
	 * vhost passes through to the tap as it is. */
	if (ioctl(t->fds[qp], TUNSETVNETHDRSZ, &sz) < 0)
		return -errno;
	return t->fds[qp];
}

static void tap_close(struct net_backend *be)
{
	struct tap *t = be->priv;
	unsigned int i;

	if (!t)
		return;
	for (i = 0; i < t->nr_fds; i++)
		close(t->fds[i]);
	free(t);
	be->priv = NULL;
}

static const struct net_backend_ops tap_ops = {
	.send = tap_send,
	.recv = tap_recv,
	.rx_fd = tap_rx_fd,
	.set_offloads = tap_set_offloads,
	.kernel_fd = tap_kernel_fd,
	.close = tap_close,
};

/* Run @script IFNAME as kvmtool does and wait for it; 0 when it exited 0. */
static int tap_run_script(const char *script, const char *ifname)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		pr_err("tap: cannot run script '%s': %s", script,
		       strerror(errno));
		return -errno;
	}
	if (!pid) {
		execl(script, script, ifname, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			pr_err("tap: waiting for script '%s': %s", script,
			       strerror(errno));
			return -errno;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		pr_err("tap: script '%s %s' failed: exit status 127 (not found or not executable?)",
		       script, ifname);
	else if (WIFEXITED(status))
		pr_err("tap: script '%s %s' failed: exit status %d", script,
		       ifname, WEXITSTATUS(status));
	else
		pr_err("tap: script '%s %s' killed by signal %d", script,
		       ifname, WTERMSIG(status));
	return -ECHILD;
}

/* The interface's MTU (what the guest is told), 0 if unknown. */
static unsigned int tap_mtu(const char *ifname)
{
	struct ifreq ifr;
	int s, mtu = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, IFNAMSIZ);
	if (!ioctl(s, SIOCGIFMTU, &ifr) && ifr.ifr_mtu >= 68 &&
	    ifr.ifr_mtu <= NET_MAX_FRAME - 14)
		mtu = ifr.ifr_mtu;
	close(s);
	return (unsigned int)mtu;
}

/* One queue's descriptor: TUNSETIFF on @path with @flags, name in *@ifr. */
static int tap_open_queue(const char *path, struct ifreq *ifr, short flags)
{
	int fd, err;

	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr->ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void tap_open_error(const char *path, const char *what, bool existing,
			   int err)
{
	if ((err == -ENOENT || err == -ENODEV || err == -ENXIO) &&
	    !strcmp(path, "/dev/net/tun"))
		pr_err("tap: /dev/net/tun is missing (the kernel's tun driver: modprobe tun)");
	else if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
		pr_err("tap: %s is missing (no such macvtap device)", path);
	else if ((err == -EPERM || err == -EACCES) && existing)
		pr_err("tap: %s: permission denied (attaching needs the tap's owner or CAP_NET_ADMIN: ip tuntap add NAME mode tap user $USER vnet_hdr)",
		       what);
	else if (err == -EPERM || err == -EACCES)
		pr_err("tap: %s: creating a tap needs CAP_NET_ADMIN (or use an existing tap: -n mode=tap,tapif=NAME owned by you)",
		       what);
	else if (err == -EINVAL && existing)
		pr_err("tap: %s: cannot attach: %s (a tun, not a tap?)", what,
		       strerror(-err));
	else if (err == -EBUSY)
		pr_err("tap: %s is busy (in use by another process, or not multi-queue)",
		       what);
	else
		pr_err("tap: %s: %s", what, strerror(-err));
}

int net_tap_open(struct net_backend *be, const struct net_config *cfg,
		 unsigned int queue_pairs)
{
	const char *path = "/dev/net/tun";
	bool macvtap = false;
	unsigned int features = 0;
	struct ifreq ifr;
	struct tap *t;
	short flags;
	int fd, err;
	char what[IFNAMSIZ + 32];

	memset(&ifr, 0, sizeof(ifr));
	if (cfg->tapif && !strncmp(cfg->tapif, "/dev/", 5)) {
		path = cfg->tapif;
		macvtap = true;
	} else if (cfg->tapif) {
		if (!cfg->tapif[0] || strlen(cfg->tapif) >= IFNAMSIZ) {
			pr_err("tap: interface name '%.64s%s' is %s (at most %d characters)",
			       cfg->tapif, strlen(cfg->tapif) > 64 ? "..." : "",
			       cfg->tapif[0] ? "too long" : "empty",
			       IFNAMSIZ - 1);
			return -ENAMETOOLONG;
		}
		memcpy(ifr.ifr_name, cfg->tapif, strlen(cfg->tapif) + 1);
	}
	if (macvtap)
		snprintf(what, sizeof(what), "%s", path);
	else if (cfg->tapif)
		snprintf(what, sizeof(what), "tap %s", cfg->tapif);
	else
		snprintf(what, sizeof(what), "new tap");

	t = calloc(1, sizeof(*t));
	if (!t) {
		pr_err("tap: out of memory");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(t->fds); i++)
		t->fds[i] = -1;

	/* The tun driver must know the vnet header (Linux 2.6.27). */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		tap_open_error(path, what, cfg->tapif != NULL, err);
		goto fail;
	}
	if (!macvtap && !ioctl(fd, TUNGETFEATURES, &features) &&
	    !(features & IFF_VNET_HDR)) {
		close(fd);
		pr_err("tap: the kernel's tun driver has no IFF_VNET_HDR");
		err = -EOPNOTSUPP;
		goto fail;
	}
	close(fd);
	if (!macvtap && !(features & IFF_MULTI_QUEUE))
		queue_pairs = 1;

	flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (queue_pairs > 1)
		flags |= IFF_MULTI_QUEUE;
	fd = tap_open_queue(path, &ifr, flags);
	if (fd == -EINVAL && cfg->tapif && !macvtap) {
		/* An existing tap is multi-queue or not as it was made: a
		 * single-queue one gives one pair, a multi-queue one is
		 * attached as such (one queue if one was asked for). */
		if (queue_pairs > 1)
			queue_pairs = 1;
		flags ^= IFF_MULTI_QUEUE;
		fd = tap_open_queue(path, &ifr, flags);
	}
	if (fd < 0) {
		err = fd;
		tap_open_error(path, what, cfg->tapif != NULL, err);
		goto fail;
	}
	t->fds[t->nr_fds++] = fd;
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';
	if (macvtap && ioctl(fd, TUNGETIFF, &ifr) == 0) {
		memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
		t->ifname[IFNAMSIZ - 1] = '\0';
	}
	snprintf(what, sizeof(what), "tap %s", t->ifname);
	while (t->nr_fds < queue_pairs) {
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, t->ifname, IFNAMSIZ);
		fd = tap_open_queue(path, &ifr, flags);
		if (fd < 0) {
			/* The queues the tap allows (macvtap: 16 in all). */
			if (fd == -E2BIG || fd == -EBUSY)
				break;
			err = fd;
			tap_open_error(path, what, cfg->tapif != NULL, err);
			goto fail;
		}
		t->fds[t->nr_fds++] = fd;
	}

	for (unsigned int i = 0; i < t->nr_fds; i++) {
		int sz = NET_VNET_HDR_LEN;

		if (ioctl(t->fds[i], TUNSETVNETHDRSZ, &sz) < 0) {
			err = -errno;
			pr_err("tap: %s: TUNSETVNETHDRSZ: %s", t->ifname,
			       strerror(-err));
			goto fail;
		}
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		/* virtio 1.x headers are little-endian. */
		int le = 1;

		if (ioctl(t->fds[i], TUNSETVNETLE, &le) < 0) {
			err = -errno;
			pr_err("tap: %s: TUNSETVNETLE: %s", t->ifname,
			       strerror(-err));
			goto fail;
		}
#endif
	}

	be->features = tap_probe_offloads(t->fds[0]);
	snprintf(t->name, sizeof(t->name), "%s", t->ifname);
	be->ops = &tap_ops;
	be->priv = t;
	be->name = t->name;
	be->vnet_hdr = true;
	be->queue_pairs = t->nr_fds;
	be->mtu = tap_mtu(t->ifname);

	if (cfg->script && strcmp(cfg->script, "none")) {
		err = tap_run_script(cfg->script, t->ifname);
		if (err) {
			tap_close(be);
			be->ops = NULL;
			return err;
		}
	}
	return 0;

fail:
	for (unsigned int i = 0; i < t->nr_fds; i++)
		close(t->fds[i]);
	free(t);
	return err;
}
