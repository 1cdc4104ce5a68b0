// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm's guest init: /init of the initramfs lkvm builds for a 9p-root boot
 * (vmm/frontend/initramfs.c, vmm/frontend/sandbox.c).  It runs as PID 1 and
 *
 *   1. mounts /dev, /proc, /sys and loads /lkvm/modules/NN-*.ko in order;
 *   2. mounts the control share, keeps a descriptor to it and detaches it,
 *      so the command never sees it;
 *   3. mounts the root share on /newroot (and the host's / read-only on
 *      /newroot/host for `lkvm setup` roots);
 *   4. switches to the new root, brings up lo and the network cards lkvm
 *      names in its config (net= lines: user mode gets libslirp's
 *      addresses, a route and a DNS server in /etc/resolv.conf) and waits
 *      for their links to be running, and runs
 *      /lkvm/argv (or /bin/sh -i) on the console, as root, in a session of
 *      its own;
 *   5. reaps every process until the command exits, writes its status as
 *      "N\n" to "status" in the control share, and powers the guest off.
 *
 * PID 1 must never return (the kernel panics), so every fatal error prints
 * a line, reports status 1 when it can, and powers off.  Static and small:
 * no NSS, no stdio buffering surprises (messages are single writes).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_FILE "/lkvm/config"
#define ARGV_FILE "/lkvm/argv"
#define MODULES_DIR "/lkvm/modules"
#define CTL_MNT "/lkvm/ctl"
#define NEWROOT "/newroot"
#define MOUNT_OPTS "trans=virtio,version=9p2000.L,msize=524288"
#define STATUS_FILE "status"
#define ARGV_MAX (256 * 1024 + 1)
#define MAX_MODULES 256
#define MOUNT_WAIT_MS 5000 /* for the virtio device to show up */
#define GUEST_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CONFIG_MAX 8192
#define MAX_NICS 32
#define NET_WAIT_MS 5000 /* for a card's interface to show up */
#define RUNNING_WAIT_MS 3000 /* for the kernel to call a link running */
#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_DIR "/run/lkvm"
#define RESOLV_RUN RESOLV_DIR "/resolv.conf" /* on /run's tmpfs */

/* A network card: "net=MODE MAC[ ADDR/PREFIX GATEWAY DNS]". */
struct nic {
	char mode[8];  /* "user" or "tap": messages only */
	char mac[18];  /* as sysfs spells it: 02:15:15:15:15:15 */
	char addr[19]; /* "10.0.2.15/24"; empty: bring the link up only */
	char gw[16];
	char dns[16];
};

struct config {
	char root[72];   /* 9p tags */
	char hostfs[72]; /* empty: no host / */
	char ctl[72];
	char term[72];
	bool stdout_tty, stdin_tty, quiet;
	struct nic nics[MAX_NICS];
	unsigned int nr_nics;
};

/* The control share, detached: only this process can reach it. */
static int ctl_fd = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "lkvm-init: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

static void write_status(int status)
{
	char buf[16];
	int fd, n;

	if (ctl_fd < 0)
		return;
	fd = openat(ctl_fd, STATUS_FILE, O_WRONLY | O_CREAT | O_TRUNC |
		    O_CLOEXEC, 0644);
	if (fd < 0) {
		say("cannot write the exit status: %s", strerror(errno));
		return;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", status);
	if (write(fd, buf, (size_t)n) != n || fsync(fd) < 0)
		say("cannot write the exit status: %s", strerror(errno));
	close(fd);
}

/* Quiet mode: not even the kernel's "reboot: Power down" after the
 * command's output. */
static void silence_kernel(void)
{
	int fd = open("/proc/sys/kernel/printk", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, "0\n", 2);
		close(fd);
	}
}

static __attribute__((noreturn)) void power_off(bool quiet)
{
	sync();
	if (quiet)
		silence_kernel();
	reboot(RB_POWER_OFF);
	say("cannot power off (%s); resetting", strerror(errno));
	reboot(RB_AUTOBOOT); /* lkvm ends the VM on a reset too */
	for (;;)
		pause();
}

static __attribute__((noreturn, format(printf, 1, 2))) void fatal(
	const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("%s", msg);
	write_status(1);
	power_off(false);
}

/* A whole small file, NUL-terminated; NULL (errno set) on failure. */
static char *read_file(const char *path, size_t max, size_t *len)
{
	char *buf;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (!r)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			close(fd);
			errno = EFBIG;
			return NULL;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void copy_value(char *dst, size_t cap, const char *v)
{
	snprintf(dst, cap, "%s", v);
}

static void add_nic(struct config *c, const char *v)
{
	struct nic *n = &c->nics[c->nr_nics];
	int got;

	if (c->nr_nics == MAX_NICS)
		return;
	memset(n, 0, sizeof(*n));
	got = sscanf(v, "%7s %17s %18s %15s %15s", n->mode, n->mac, n->addr,
		     n->gw, n->dns);
	if (got < 2) {
		say("ignoring a malformed net= line in " CONFIG_FILE);
		return;
	}
	if (got != 5)
		n->addr[0] = '\0';
	c->nr_nics++;
}

static void read_config(struct config *c)
{
	char *text = read_file(CONFIG_FILE, CONFIG_MAX, NULL), *line, *next;

	memset(c, 0, sizeof(*c));
	if (!text)
		fatal("cannot read " CONFIG_FILE ": %s", strerror(errno));
	for (line = text; *line; line = next) {
		char *eq, *nl = strchr(line, '\n');

		next = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(line, "root"))
			copy_value(c->root, sizeof(c->root), eq);
		else if (!strcmp(line, "hostfs"))
			copy_value(c->hostfs, sizeof(c->hostfs), eq);
		else if (!strcmp(line, "ctl"))
			copy_value(c->ctl, sizeof(c->ctl), eq);
		else if (!strcmp(line, "term"))
			copy_value(c->term, sizeof(c->term), eq);
		else if (!strcmp(line, "stdout_tty"))
			c->stdout_tty = !strcmp(eq, "1");
		else if (!strcmp(line, "stdin_tty"))
			c->stdin_tty = !strcmp(eq, "1");
		else if (!strcmp(line, "quiet"))
			c->quiet = !strcmp(eq, "1");
		else if (!strcmp(line, "net"))
			add_nic(c, eq);
	}
	free(text);
	if (!c->root[0] || !c->ctl[0])
		fatal(CONFIG_FILE " names no root or control share");
	if (!c->term[0])
		copy_value(c->term, sizeof(c->term), "linux");
}

/* /lkvm/argv: NUL-terminated arguments; absent means an interactive shell. */
static char **read_argv(void)
{
	static char *shell[] = { "/bin/sh", "-i", NULL };
	size_t len, i, n = 0;
	char *buf = read_file(ARGV_FILE, ARGV_MAX, &len), *p;
	char **argv;

	if (!buf && errno == ENOENT)
		return shell;
	if (!buf)
		fatal("cannot read " ARGV_FILE ": %s", strerror(errno));
	if (!len || buf[len - 1] != '\0')
		fatal(ARGV_FILE " is malformed");
	for (i = 0; i < len; i++)
		n += !buf[i];
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		fatal("out of memory");
	for (i = 0, p = buf; i < n; i++, p += strlen(p) + 1)
		argv[i] = p;
	return argv;
}

static void mount_or_die(const char *src, const char *dst, const char *type,
			 unsigned long flags, const char *opts)
{
	if (mount(src, dst, type, flags, opts) < 0 && errno != EBUSY)
		fatal("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

/* Make sure fds 0-2 exist: the kernel opens /dev/console for init, which
 * fails if it could not find it. */
static void ensure_console(void)
{
	int fd;

	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	while (fd < 3 && fd >= 0)
		fd = dup(fd);
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static int by_number(const void *a, const void *b)
{
	unsigned long x = strtoul(*(char *const *)a, NULL, 10);
	unsigned long y = strtoul(*(char *const *)b, NULL, 10);

	return x < y ? -1 : x > y;
}

static void load_modules(void)
{
	char *names[MAX_MODULES];
	unsigned int n = 0, i;
	struct dirent *de;
	DIR *d = opendir(MODULES_DIR);

	if (!d)
		return; /* a kernel with everything built in */
	while ((de = readdir(d)) && n < MAX_MODULES) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_number);
	for (i = 0; i < n; i++) {
		char path[512];
		int fd;

		snprintf(path, sizeof(path), MODULES_DIR "/%s", names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 &&
			       errno != EEXIST))
			say("cannot load module %s: %s", names[i],
			    strerror(errno));
		if (fd >= 0)
			close(fd);
		free(names[i]);
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Whether a bound virtio-9p device has @tag (its sysfs mount_tag). */
static bool tag_present(const char *tag)
{
	DIR *d = opendir("/sys/bus/virtio/devices");
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[300], *t;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/mount_tag",
			 de->d_name);
		t = read_file(path, 256, &len);
		if (!t)
			continue;
		/* "TAG\n" on recent kernels, "TAG\0" on older ones. */
		while (len && (t[len - 1] == '\n' || t[len - 1] == '\0'))
			t[--len] = '\0';
		found = !strcmp(t, tag);
		free(t);
	}
	closedir(d);
	return found;
}

/*
 * Mount a 9p share.  Its virtio device may still be probing: wait for the
 * tag in sysfs rather than retrying the mount, which logs an error each
 * time it finds no channel.
 */
static int mount_9p(const char *tag, const char *dst, unsigned long flags)
{
	bool present = false;
	long waited;
	int tries;

	for (waited = 0; waited < MOUNT_WAIT_MS; waited += 20) {
		present = tag_present(tag);
		if (present)
			break;
		sleep_ms(20);
	}
	/* Present in sysfs a moment before the channel list has it. */
	for (tries = present ? 10 : 1;; sleep_ms(20)) {
		if (!mount(tag, dst, "9p", flags, MOUNT_OPTS))
			return 0;
		if (errno != ENOENT || !--tries)
			return -errno;
	}
}

/* The control share first: from then on a fatal error can report itself. */
static void mount_control(const struct config *c)
{
	int err = mount_9p(c->ctl, CTL_MNT, 0);

	if (err)
		fatal("cannot mount lkvm's control share (9p tag %s): %s",
		      c->ctl, strerror(-err));
	ctl_fd = open(CTL_MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctl_fd < 0)
		fatal("cannot open lkvm's control share: %s", strerror(errno));
	/* Reachable through ctl_fd only; the command never sees it. */
	if (umount2(CTL_MNT, MNT_DETACH) < 0)
		fatal("cannot detach lkvm's control share: %s", strerror(errno));
}

static void mount_root(const struct config *c)
{
	int err = mount_9p(c->root, NEWROOT, 0);

	if (err)
		fatal("cannot mount the root filesystem (9p tag %s): %s",
		      c->root, err == -ENOENT ? "no such virtio-9p device"
					      : strerror(-err));
	if (c->hostfs[0]) {
		mkdir(NEWROOT "/host", 0755);
		err = mount_9p(c->hostfs, NEWROOT "/host", MS_RDONLY);
		if (err)
			fatal("cannot mount the host's / (9p tag %s) on /host: %s",
			      c->hostfs, strerror(-err));
	}
}

/* Empty the initramfs (it is RAM), staying on its filesystem. */
static void remove_initramfs(int dfd, dev_t dev, unsigned int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    st.st_dev != dev)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		sub = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0 && depth < 16)
			remove_initramfs(sub, dev, depth + 1);
		else if (sub >= 0)
			close(sub);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

static void move_into_root(const char *what)
{
	char dst[64];

	snprintf(dst, sizeof(dst), NEWROOT "%s", what);
	mkdir(dst, 0755);
	if (mount(what, dst, NULL, MS_MOVE, NULL) < 0)
		say("cannot move %s into the new root: %s", what,
		    strerror(errno));
}

static void switch_root(void)
{
	struct stat st;
	int fd;

	move_into_root("/dev");
	move_into_root("/proc");
	move_into_root("/sys");
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0)
		remove_initramfs(fd, st.st_dev, 0);
	else if (fd >= 0)
		close(fd);
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		fatal("cannot switch to the 9p root: %s", strerror(errno));
}

static void mount_optional(const char *src, const char *dst, const char *type,
			   unsigned long flags, const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, opts) < 0)
		say("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

static void set_hostname(void)
{
	char *name = read_file("/etc/hostname", 256, NULL);
	size_t n;

	if (!name)
		return;
	n = strcspn(name, " \t\r\n");
	if (n && sethostname(name, n) < 0)
		say("cannot set the hostname: %s", strerror(errno));
	free(name);
}

/* --- the network --- */

/* The interface whose MAC is @mac, into @name (IFNAMSIZ); false if none. */
static bool find_interface(const char *mac, char *name)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[300], *a;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= IFNAMSIZ)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/address",
			 de->d_name);
		a = read_file(path, 64, NULL);
		if (!a)
			continue;
		a[strcspn(a, "\n")] = '\0';
		if (!strcasecmp(a, mac)) {
			memcpy(name, de->d_name, strlen(de->d_name) + 1);
			found = true;
		}
		free(a);
	}
	closedir(d);
	return found;
}

static int if_up(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(sock, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static bool inet_addr_of(const char *s, struct sockaddr *sa)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sa, 0, sizeof(*sa));
	sin->sin_family = AF_INET;
	return inet_pton(AF_INET, s, &sin->sin_addr) == 1;
}

/* "A.B.C.D/P" on @name, with the prefix route the kernel adds for it. */
static int if_set_addr(int sock, const char *name, const char *cidr)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/');
	unsigned long prefix;
	struct ifreq ifr;
	uint32_t mask;

	if (!slash || (size_t)(slash - cidr) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, cidr, (size_t)(slash - cidr));
	ip[slash - cidr] = '\0';
	prefix = strtoul(slash + 1, NULL, 10);
	if (prefix > 32)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (!inet_addr_of(ip, &ifr.ifr_addr))
		return -EINVAL;
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	mask = prefix ? ~0u << (32 - prefix) : 0;
	((struct sockaddr_in *)&ifr.ifr_netmask)->sin_family = AF_INET;
	((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr = htonl(mask);
	return ioctl(sock, SIOCSIFNETMASK, &ifr) < 0 ? -errno : 0;
}

static int add_default_route(int sock, const char *name, const char *gw)
{
	struct rtentry rt;
	char dev[IFNAMSIZ];

	memset(&rt, 0, sizeof(rt));
	snprintf(dev, sizeof(dev), "%s", name);
	inet_addr_of("0.0.0.0", &rt.rt_dst);
	inet_addr_of("0.0.0.0", &rt.rt_genmask);
	if (!inet_addr_of(gw, &rt.rt_gateway))
		return -EINVAL;
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	if (ioctl(sock, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* "/etc/" + a relative link target, with "." and ".." resolved as
 * words (the target need not exist). */
static bool link_target(const char *link, char *out, size_t cap)
{
	char rel[PATH_MAX], joined[PATH_MAX * 2], *w, *save = NULL;
	ssize_t n = readlink(link, rel, sizeof(rel) - 1);
	size_t len = 0;

	if (n <= 0)
		return false;
	rel[n] = '\0';
	snprintf(joined, sizeof(joined), "%s%s", rel[0] == '/' ? "" : "/etc/",
		 rel);
	out[0] = '\0';
	for (w = strtok_r(joined, "/", &save); w; w = strtok_r(NULL, "/", &save)) {
		if (!strcmp(w, "."))
			continue;
		if (!strcmp(w, "..")) {
			char *up = strrchr(out, '/');

			len = up ? (size_t)(up - out) : 0;
			out[len] = '\0';
			continue;
		}
		if (len + strlen(w) + 2 > cap)
			return false;
		len += (size_t)sprintf(out + len, "/%s", w);
	}
	return len > 0;
}

/* mkdir -p of @path's directory; only for paths under our own /run. */
static void make_parents(const char *path)
{
	char dir[PATH_MAX], *p;

	snprintf(dir, sizeof(dir), "%s", path);
	for (p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(dir, 0755);
		*p = '/';
	}
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		      O_CLOEXEC, 0644);
	size_t len = strlen(text);
	int err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

/*
 * The DNS server in /etc/resolv.conf without writing the root share (the
 * host's files): the text goes to /run (this boot's tmpfs) and is bind
 * mounted over the root's /etc/resolv.conf.  A link to a missing file
 * under /run (systemd-resolved's, resolvconf's) gets the file itself; a
 * setup instance without the file (made by an older lkvm) gets an empty
 * one to mount on; any other root is left as it is (it may be the host's
 * own /), with a line saying so.
 */
static void show_resolv_conf(const struct config *c, const char *dns)
{
	char text[64], target[PATH_MAX];
	struct stat st;
	int err;

	snprintf(text, sizeof(text), "nameserver %s\n", dns);
	mkdir(RESOLV_DIR, 0755);
	err = write_text(RESOLV_RUN, text);
	if (err) {
		say("cannot write " RESOLV_RUN ": %s", strerror(-err));
		return;
	}
	if (!mount(RESOLV_RUN, RESOLV_CONF, NULL, MS_BIND, NULL))
		return;
	err = errno;
	if (err == ENOENT && !lstat(RESOLV_CONF, &st) && S_ISLNK(st.st_mode)) {
		if (link_target(RESOLV_CONF, target, sizeof(target)) &&
		    !strncmp(target, "/run/", 5)) {
			make_parents(target);
			err = -write_text(target, text);
			if (!err)
				return;
		}
	} else if (err == ENOENT && c->hostfs[0]) {
		int fd = open(RESOLV_CONF, O_WRONLY | O_CREAT | O_EXCL |
			      O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd >= 0) {
			close(fd);
			if (!mount(RESOLV_RUN, RESOLV_CONF, NULL, MS_BIND, NULL))
				return;
		}
		err = errno;
	} else if (err == ENOENT && (stat("/etc", &st) || !S_ISDIR(st.st_mode))) {
		return; /* a root without /etc: nothing reads resolv.conf */
	}
	say("cannot show the DNS server %s in " RESOLV_CONF ": %s", dns,
	    strerror(err));
}

/* Bring the card @n up as lkvm said, its interface's name in @name (empty
 * unless it is up).  *@waited counts the time spent waiting, across
 * cards. */
static void setup_nic(const struct config *c, const struct nic *n, int sock,
		      long *waited, char *name)
{
	int err;

	/* Probed as its driver loaded; a moment more for a slow probe. */
	name[0] = '\0';
	while (!find_interface(n->mac, name)) {
		if (*waited >= NET_WAIT_MS) {
			say("no network interface with MAC %s (the %s card)",
			    n->mac, n->mode);
			return;
		}
		sleep_ms(20);
		*waited += 20;
	}
	if (n->addr[0] && (err = if_set_addr(sock, name, n->addr))) {
		say("cannot give %s the address %s: %s", name, n->addr,
		    strerror(-err));
		name[0] = '\0';
		return;
	}
	if ((err = if_up(sock, name))) {
		say("cannot bring %s up: %s", name, strerror(-err));
		name[0] = '\0';
		return;
	}
	if (!n->addr[0])
		return;
	if ((err = add_default_route(sock, name, n->gw)))
		say("cannot add a default route via %s on %s: %s", n->gw,
		    name, strerror(-err));
	show_resolv_conf(c, n->dns);
}

static bool if_running(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	return ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 &&
	       (ifr.ifr_flags & IFF_RUNNING);
}

/*
 * The kernel's link watch marks an interface running (operstate "up") a
 * moment after it came up with its carrier, up to a second later; a
 * command that checks IFF_RUNNING or operstate first would think it has
 * no network.  Wait for that, a little: a card whose carrier stays down
 * gets a line.
 */
static void wait_running(int sock, char names[][IFNAMSIZ], unsigned int n)
{
	long waited = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!names[i][0])
			continue;
		while (!if_running(sock, names[i]) && waited < RUNNING_WAIT_MS) {
			sleep_ms(10);
			waited += 10;
		}
		if (!if_running(sock, names[i]))
			say("%s is up but has no link yet", names[i]);
	}
}

/* lo, then the cards (IPv6: the kernel takes slirp's router
 * advertisement for fec0::/64 by itself once the link is up). */
static void setup_network(const struct config *c)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char names[MAX_NICS][IFNAMSIZ];
	long waited = 0;
	unsigned int i;
	int err;

	if (sock < 0) {
		say("no network: socket: %s", strerror(errno));
		return;
	}
	if ((err = if_up(sock, "lo")))
		say("cannot bring lo up: %s", strerror(-err));
	for (i = 0; i < c->nr_nics; i++)
		setup_nic(c, &c->nics[i], sock, &waited, names[i]);
	wait_running(sock, names, c->nr_nics);
	close(sock);
}

/* The device /dev/console stands for (the last one listed is the
 * preferred console), so the command gets a real controlling tty. */
static void console_path(char *buf, size_t cap)
{
	char *active = read_file("/sys/class/tty/console/active", 256, NULL);
	char *last = NULL, *w, *save = NULL;

	snprintf(buf, cap, "/dev/console");
	if (!active)
		return;
	for (w = strtok_r(active, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save))
		last = w;
	if (last && !strchr(last, '/'))
		snprintf(buf, cap, "/dev/%s", last);
	free(active);
}

/* Output to a pipe on the host must not get "\r\n"; input from a pipe
 * must not be echoed back into the output. */
static void setup_tty(const struct config *c, const char *tty)
{
	struct termios t;
	int fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || tcgetattr(fd, &t) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!c->stdout_tty)
		t.c_oflag &= ~(tcflag_t)OPOST;
	if (!c->stdin_tty)
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	tcsetattr(fd, TCSANOW, &t);
	close(fd);
}

static __attribute__((noreturn)) void run_child(const struct config *c,
						const char *tty, char **argv)
{
	int fd;

	setsid();
	fd = open(tty, O_RDWR);
	if (fd < 0)
		fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		ioctl(fd, TIOCSCTTY, 1);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (chdir("/") < 0)
		say("cannot change to /: %s", strerror(errno));
	clearenv();
	setenv("PATH", GUEST_PATH, 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", c->term, 1);
	execvp(argv[0], argv);
	say("cannot run '%s': %s", argv[0], strerror(errno));
	_exit(127);
}

/* PID 1 reaps everything; returns the command's exit status. */
static int wait_for(pid_t child)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			fatal("lost the command: %s", strerror(errno));
		if (pid != child)
			continue;
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		if (WIFSIGNALED(st))
			return 128 + WTERMSIG(st);
	}
}

static void kill_the_rest(void)
{
	int i;

	kill(-1, SIGKILL);
	/* Reap them briefly, so their files are closed before sync. */
	for (i = 0; i < 100; i++) {
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			break;
		sleep_ms(10);
	}
}

int main(void)
{
	struct config c;
	char tty[64];
	char **argv;
	pid_t child;
	int status;

	if (getpid() != 1) {
		say("this is lkvm's guest init; it only runs as PID 1");
		return 1;
	}
	mount_or_die("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	ensure_console();
	mount_or_die("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     NULL);
	mount_or_die("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     NULL);
	read_config(&c);
	argv = read_argv();
	load_modules();
	mount_control(&c);
	mount_root(&c);
	switch_root();

	mount_optional("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		       "mode=0620,ptmxmode=0666");
	mount_optional("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
		       "mode=1777");
	mount_optional("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
		       "mode=1777");
	mount_optional("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV,
		       "mode=0755");
	set_hostname();
	setup_network(&c);
	console_path(tty, sizeof(tty));
	setup_tty(&c, tty);

	child = fork();
	if (child < 0)
		fatal("cannot start the command: %s", strerror(errno));
	if (!child)
		run_child(&c, tty, argv);
	status = wait_for(child);
	write_status(status);
	kill_the_rest();
	power_off(c.quiet);
}
