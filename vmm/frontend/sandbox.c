// SPDX-License-Identifier: GPL-2.0
/*
 * The 9p-root boot, kvmtool's "rootfs" mode done so that distribution
 * kernels work: the guest's root is a host directory (~/.lkvm/NAME as
 * `lkvm setup` makes it, or any directory given with -d), shared over 9p.
 * lkvm builds an initramfs in memory from its own static init and the
 * kernel's modules (vmm/frontend/initramfs.c); the init mounts the root and runs the
 * command or a shell, then writes the command's exit status into a private
 * control share that lkvm reads back once the VM is gone.
 */
#include "lkvm/sandbox.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/initramfs.h"
#include "lkvm/net.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"

/* snprintf for paths: false (and an empty @buf) when it does not fit. */
static bool fmt_path(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool fmt_path(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap) {
		buf[0] = '\0';
		return false;
	}
	return true;
}

void sandbox_init(struct sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->boot_dir = LKVM_DEFAULT_BOOT_DIR;
	sb->modules_dir = LKVM_DEFAULT_MODULES_DIR;
	sb->initrd_fd = -1;
}

/* --- removing the control directory (guest-written: never follow) --- */

/*
 * Until it stops, the guest can put anything in the control directory over
 * 9p: trees of any depth, symlinks to anywhere, directories without
 * permissions.  Remove it all without recursion, with two directory fds at
 * most, never following a symlink and never leaving the directory's mount:
 * breadth first, every directory is emptied one level below the top, its
 * own subdirectories moved up into the top directory (a rename, which
 * cannot cross a mount) and later emptied the same way.  Nothing is reached
 * through a path, so depth costs neither fds, stack nor PATH_MAX.
 */
#define RM_NAME_TRIES 16 /* fresh names tried for one directory moved up */

struct rm_tree {
	int top;                 /* the control directory */
	dev_t dev;               /* its filesystem ... */
	uint64_t mnt_id;         /* ... and mount, when statx tells */
	bool have_mnt_id;
	unsigned long seq;       /* for the names of directories moved up */
};

/* Is @fd on the top directory's filesystem and mount? */
static bool rm_same_mount(const struct rm_tree *t, int fd, struct stat *st)
{
#ifdef STATX_MNT_ID
	struct statx sx;
#endif

	if (fstat(fd, st) < 0 || st->st_dev != t->dev)
		return false;
#ifdef STATX_MNT_ID
	if (t->have_mnt_id &&
	    (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 ||
	     !(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != t->mnt_id))
		return false;
#endif
	return true;
}

/*
 * The directory @name in @dfd, opened for reading, after making it rwx for
 * us (the guest may chmod 000): -1 if it is a symlink, another mount, or
 * not a directory any more.
 */
static int rm_open_dir(const struct rm_tree *t, int dfd, const char *name)
{
	int pfd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
			 O_CLOEXEC);
	struct stat st;
	int fd = -1;

	if (pfd < 0)
		return -1;
	if (!rm_same_mount(t, pfd, &st))
		goto out;
	if ((st.st_mode & S_IRWXU) != S_IRWXU) {
		char proc[32];

		/* fchmod() refuses O_PATH fds; the magic link is this very
		 * directory, not whatever @name may point to by now. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		(void)!chmod(proc, S_IRWXU);
	}
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
	close(pfd);
	return fd;
}

/* Move the directory @name in @dfd up into the top directory; true if
 * it moved. */
static bool rm_move_up(struct rm_tree *t, int dfd, const char *name)
{
	unsigned int i;

	for (i = 0; i < RM_NAME_TRIES; i++) {
		char to[32];

		snprintf(to, sizeof(to), ".lkvm-rm.%lu", t->seq++);
		if (!renameat2(dfd, name, t->top, to, RENAME_NOREPLACE))
			return true;
		if (errno == EINVAL) {
			struct stat st;

			/* A filesystem without RENAME_NOREPLACE: look first
			 * (nobody else writes here any more). */
			if (!fstatat(t->top, to, &st, AT_SYMLINK_NOFOLLOW))
				continue;
			if (!renameat(dfd, name, t->top, to))
				return true;
		}
		if (errno == EACCES && i == 0) {
			/* Moving a directory rewrites its "..": it must be
			 * writable.  Fix its mode, try again. */
			int fd = rm_open_dir(t, dfd, name);

			if (fd >= 0)
				close(fd);
			continue;
		}
		if (errno != EEXIST)
			return false;
	}
	return false;
}

/* Empty the directory @name in the top directory: unlink what is not a
 * directory, move the directories up.  True if anything changed. */
static bool rm_flatten(struct rm_tree *t, const char *name)
{
	int fd = rm_open_dir(t, t->top, name);
	bool changed = false;
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* unlinkat() without AT_REMOVEDIR never follows a symlink. */
		if (!unlinkat(fd, de->d_name, 0))
			changed = true;
		else if (errno == EISDIR && rm_move_up(t, fd, de->d_name))
			changed = true;
	}
	closedir(d);
	return changed;
}

/*
 * Remove everything in the directory @top (an fd this takes over).  Each
 * pass over it removes at least one level of every tree in it (what moves
 * up during a pass may or may not be listed in it), so there are at most
 * depth + 1 passes; one that finds nothing ends it, and so does one that
 * changes nothing (what is left cannot be removed: remove_tree() says so).
 */
static void clear_dir(int top)
{
	struct rm_tree t = { .top = top };
	struct stat st;
	bool empty = false, changed = true;
	DIR *d;
#ifdef STATX_MNT_ID
	struct statx sx;

	if (!statx(top, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) &&
	    (sx.stx_mask & STATX_MNT_ID)) {
		t.mnt_id = sx.stx_mnt_id;
		t.have_mnt_id = true;
	}
#endif
	if (fstat(top, &st) < 0) {
		close(top);
		return;
	}
	t.dev = st.st_dev;
	d = fdopendir(top);
	if (!d) {
		close(top);
		return;
	}
	while (changed && !empty) {
		struct dirent *de;

		changed = false;
		empty = true;
		rewinddir(d);
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") ||
			    !strcmp(de->d_name, ".."))
				continue;
			empty = false;
			/* Never follows a symlink: removes it. */
			if (!unlinkat(top, de->d_name, 0)) {
				changed = true;
				continue;
			}
			if (errno != EISDIR)
				continue;
			changed |= rm_flatten(&t, de->d_name);
			if (!unlinkat(top, de->d_name, AT_REMOVEDIR))
				changed = true;
		}
	}
	closedir(d);
}

static void remove_tree(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0)
		clear_dir(fd);
	if (rmdir(path) < 0 && errno != ENOENT)
		pr_warn("cannot remove %s: %s", path, strerror(errno));
}

void sandbox_free(struct sandbox *sb)
{
	if (sb->ctl_dir)
		remove_tree(sb->ctl_dir);
	if (sb->initrd_fd >= 0)
		close(sb->initrd_fd);
	free(sb->ctl_dir);
	free(sb->root);
	free(sb->params);
	sb->ctl_dir = sb->root = sb->params = NULL;
	sb->initrd_fd = -1;
}

/* --- the default kernel --- */

int sandbox_default_kernel_for(const char *boot_dir, const char *release,
			       char *buf, size_t cap, FILE *err)
{
	if (!fmt_path(buf, cap, "%s/vmlinuz-%s", boot_dir, release) ||
	    access(buf, F_OK) < 0) {
		cli_print_error(err, "no kernel given and %s/vmlinuz-%s does not exist (use -k/--kernel PATH)",
			boot_dir, release);
		return LKVM_EXIT_USAGE;
	}
	return 0;
}

int sandbox_default_kernel(struct vm_config *cfg, struct sandbox *sb,
			   FILE *err)
{
	struct utsname u;
	int ret;

	if (cfg->kernel_path)
		return 0;
	if (uname(&u) < 0) {
		cli_print_error(err, "no kernel given (use -k/--kernel PATH)");
		return LKVM_EXIT_USAGE;
	}
	ret = sandbox_default_kernel_for(sb->boot_dir, u.release, sb->kernel,
					 sizeof(sb->kernel), err);
	if (!ret)
		cfg->kernel_path = sb->kernel;
	return ret;
}

/* --- instances: lkvm setup --- */

int sandbox_home_dir(const struct sandbox *sb, char *buf, size_t cap)
{
	const char *home = sb && sb->home ? sb->home : getenv("HOME");
	struct passwd *pw;

	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || !*home)
		return -ENOENT;
	return fmt_path(buf, cap, "%s", home) ? 0 : -ENAMETOOLONG;
}

bool sandbox_valid_name(const char *name)
{
	size_t n = strlen(name), i;

	if (!n || n > 64 || name[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

/* An invalid NAME, quoted safely on one line. */
static void bad_name(FILE *err, const char *name)
{
	char shown[72];
	size_t i;

	/* Shortened; cli_print_error() escapes its control characters. */
	for (i = 0; name[i] && i < sizeof(shown) - 4; i++)
		shown[i] = name[i];
	strcpy(shown + i, name[i] ? "..." : "");
	cli_print_error(err, "invalid name '%s' (1-64 of A-Z a-z 0-9 . _ -, not starting with '.')",
		shown);
}

static int write_file_at(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0644);
	int err;

	if (fd < 0)
		return -errno;
	err = write_all(fd, text, strlen(text));
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

/* The layout kvmtool's `setup` makes: the host's programs and libraries
 * through /host (host / read-only over 9p), everything else the guest's. */
static int populate(int dfd, const char *name, const char **what)
{
	static const char *const dirs[] = {
		"dev", "etc", "home", "host", "proc", "root", "sys", "tmp",
		"var", "var/lib", "virt", "run",
	};
	static const char *const links[] = { "bin", "lib", "lib64", "sbin",
					     "usr" };
	char target[32], hostname[80];
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		*what = dirs[i];
		if (mkdirat(dfd, dirs[i], 0755) < 0)
			return -errno;
	}
	*what = "tmp";
	if (fchmodat(dfd, "tmp", 01777, 0) < 0)
		return -errno;
	*what = "root";
	if (fchmodat(dfd, "root", 0700, 0) < 0)
		return -errno;
	for (i = 0; i < ARRAY_SIZE(links); i++) {
		*what = links[i];
		snprintf(target, sizeof(target), "/host/%s", links[i]);
		if (symlinkat(target, dfd, links[i]) < 0)
			return -errno;
	}
	snprintf(hostname, sizeof(hostname), "%s\n", name);
	*what = "etc/passwd";
	err = write_file_at(dfd, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	if (!err) {
		*what = "etc/group";
		err = write_file_at(dfd, "etc/group", "root:x:0:\n");
	}
	if (!err) {
		*what = "etc/hostname";
		err = write_file_at(dfd, "etc/hostname", hostname);
	}
	/* Where lkvm's init mounts the user-mode DNS server's file, so the
	 * guest never writes it here. */
	if (!err) {
		*what = "etc/resolv.conf";
		err = write_file_at(dfd, "etc/resolv.conf", "");
	}
	return err;
}

int sandbox_setup_instance(const char *home, const char *name, FILE *err)
{
	char base[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];
	const char *what = "";
	struct stat st;
	int dfd, e;

	if (!sandbox_valid_name(name)) {
		bad_name(err, name);
		return -EINVAL;
	}
	/* Room for "/.NAME.XXXXXX" after it. */
	if (!fmt_path(base, sizeof(base) - 80, "%s/" LKVM_INSTANCES_DIR, home)) {
		cli_print_error(err, "home directory path '%s' is too long",
			home);
		return -ENAMETOOLONG;
	}
	fmt_path(dst, sizeof(dst), "%s/%s", base, name);
	if (lstat(dst, &st) == 0) {
		cli_print_error(err, "%s already exists (boot it with 'lkvm run -d %s', or choose another name)",
			dst, name);
		return -EEXIST;
	}
	if (mkdir(base, 0755) < 0 && errno != EEXIST) {
		e = errno;
		cli_print_error(err, "cannot create %s: %s", base,
			strerror(e));
		return -e;
	}
	/* Built under a hidden name and renamed into place: an instance is
	 * either complete or absent, even if two lkvm make it at once. */
	fmt_path(tmp, sizeof(tmp), "%s/.%s.XXXXXX", base, name);
	if (!mkdtemp(tmp)) {
		e = errno;
		cli_print_error(err, "cannot create a directory in %s: %s",
			base, strerror(e));
		return -e;
	}
	dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = dfd < 0 ? -errno : populate(dfd, name, &what);
	if (!e && fchmod(dfd, 0755) < 0)
		e = -errno;
	if (dfd >= 0)
		close(dfd);
	if (e) {
		cli_print_error(err, "cannot create %s/%s: %s", dst, what,
			strerror(-e));
		goto fail;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) < 0) {
		e = -errno;
		if (e == -EEXIST)
			cli_print_error(err, "%s already exists", dst);
		else
			cli_print_error(err, "cannot create %s: %s", dst,
				strerror(-e));
		goto fail;
	}
	return 0;
fail:
	remove_tree(tmp);
	return e;
}

int sandbox_cmd_setup(int argc, char **argv, const struct sandbox *sb,
		      FILE *out, FILE *err)
{
	struct vm_config cfg;
	char home[PATH_MAX];
	const char *name;
	int e;

	e = cli_parse(&cli_setup_command, argc, argv, &cfg, err);
	if (e)
		return e;
	if (cfg.help) {
		cli_print_usage(&cli_setup_command, out);
		return LKVM_EXIT_OK;
	}
	name = cfg.name;
	if (!sandbox_valid_name(name)) {
		bad_name(err, name);
		return LKVM_EXIT_USAGE;
	}
	if (sandbox_home_dir(sb, home, sizeof(home))) {
		cli_print_error(err, "cannot find your home directory (set HOME)");
		return LKVM_EXIT_FAILURE;
	}
	e = sandbox_setup_instance(home, name, err);
	if (e)
		return LKVM_EXIT_FAILURE;
	fprintf(out,
		"lkvm: created the guest root %s/" LKVM_INSTANCES_DIR "/%s (the host's / appears read-only at /host)\n"
		"Boot it with:  lkvm run -d %s\n"
		"or run one command in it:  lkvm sandbox -d %s -- CMD [ARGS...]\n",
		home, name, name, name);
	return LKVM_EXIT_OK;
}

/* --- the root and the exports --- */

/* The directory a --disk PATH names (PATH itself, or ~/.lkvm/PATH), as an
 * absolute path; NULL when PATH is a disk image (or nothing). */
static char *disk_directory(const char *path, const char *home)
{
	char inst[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? realpath(path, NULL) : NULL;
	if (errno != ENOENT || !home || !sandbox_valid_name(path))
		return NULL;
	if (fmt_path(inst, sizeof(inst), "%s/" LKVM_INSTANCES_DIR "/%s", home,
		     path) &&
	    stat(inst, &st) == 0 && S_ISDIR(st.st_mode))
		return realpath(inst, NULL);
	return NULL;
}

int sandbox_select_root(struct vm_config *cfg, const char *home, char **root,
			bool *readonly)
{
	unsigned int i = 0;

	*root = NULL;
	*readonly = false;
	while (i < cfg->nr_disks) {
		struct disk_config *d = &cfg->disks[i];
		char *dir = disk_directory(d->path, home);

		if (!dir) {
			i++;
			continue;
		}
		if (*root) {
			pr_err("two --disk directories ('%s' and '%s'): only one can be the guest's root",
			       *root, dir);
		} else if (d->direct || d->aio != DISK_AIO_AUTO || d->serial[0]) {
			pr_err("--disk %s is a directory (the guest's 9p root): of the disk options only ro applies",
			       d->path);
		} else {
			*root = dir;
			*readonly = d->readonly;
			free((char *)d->path);
			memmove(d, d + 1, (cfg->nr_disks - i - 1) * sizeof(*d));
			cfg->nr_disks--;
			continue;
		}
		free(dir);
		free(*root);
		*root = NULL;
		return LKVM_EXIT_USAGE;
	}
	return 0;
}

static int add_share(struct vm_config *cfg, const char *path, const char *tag,
		     bool readonly)
{
	struct share_config *sh;
	unsigned int i;

	for (i = 0; i < cfg->nr_shares; i++) {
		if (!strcmp(cfg->shares[i].tag, tag)) {
			pr_err("9p tag '%s' is lkvm's own for the 9p root; give that --9p another tag",
			       tag);
			return LKVM_EXIT_USAGE;
		}
	}
	if (cfg->nr_shares >= LKVM_MAX_SHARES) {
		pr_err("too many --9p shares for a 9p-root boot (at most %d, lkvm's own exports included)",
		       LKVM_MAX_SHARES);
		return LKVM_EXIT_USAGE;
	}
	sh = realloc(cfg->shares, (cfg->nr_shares + 1) * sizeof(*sh));
	if (!sh)
		goto nomem;
	cfg->shares = sh;
	sh = &cfg->shares[cfg->nr_shares];
	memset(sh, 0, sizeof(*sh));
	sh->path = strdup(path);
	if (!sh->path)
		goto nomem;
	snprintf(sh->tag, sizeof(sh->tag), "%s", tag);
	sh->readonly = readonly;
	cfg->nr_shares++;
	return 0;
nomem:
	pr_err("out of memory");
	return LKVM_EXIT_FAILURE;
}

int sandbox_add_exports(struct vm_config *cfg, const char *root,
			bool readonly, bool hostfs, const char *ctl_dir)
{
	int ret = add_share(cfg, root, LKVM_9P_ROOT_TAG, readonly);

	if (!ret && hostfs)
		ret = add_share(cfg, "/", LKVM_9P_HOSTFS_TAG, true);
	if (!ret && ctl_dir)
		ret = add_share(cfg, ctl_dir, LKVM_CTL_TAG, false);
	return ret;
}

static bool is_dir(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	return fmt_path(path, sizeof(path), "%s%s%s", dir, name ? "/" : "",
			name ? name : "") &&
	       lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --- the guest's configuration and status --- */

static bool valid_term(const char *t)
{
	size_t n = t ? strlen(t) : 0, i;

	if (!n || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && !strchr("._+-", t[i]))
			return false;
	return true;
}

/*
 * One "net=MODE MAC[ ADDR/PREFIX GATEWAY DNS]" line per network card, for
 * the init to find the interface by its MAC (not by its name: nothing
 * says in which order the guest probes them) and configure it: the first
 * user-mode card gets libslirp's addresses (a second one is another slirp
 * on the same 10.0.2.0/24: link up only, as a tap's, whose addressing is
 * the user's).  Nothing when the guest kernel has no virtio_net.
 */
static int net_config_lines(const struct sandbox *sb,
			    const struct vm_config *cfg, char **out)
{
	unsigned int i, n = sb->net_driver ? virtio_net_type.count(cfg) : 0;
	bool addressed = false;
	size_t len = 0;
	FILE *f = open_memstream(out, &len);

	if (!f)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct net_config nc;
		uint8_t m[6];
		bool user;

		if (virtio_net_card(cfg, i, &nc, m)) {
			fclose(f);
			free(*out);
			*out = NULL;
			return -EINVAL;
		}
		user = nc.mode == NET_MODE_USER;
		fprintf(f, "net=%s %02x:%02x:%02x:%02x:%02x:%02x",
			user ? "user" : "tap", m[0], m[1], m[2], m[3], m[4],
			m[5]);
		if (user && !addressed)
			fprintf(f, " " LKVM_GUEST_USER_ADDR " " LKVM_GUEST_USER_GATEWAY
				   " " LKVM_GUEST_USER_DNS);
		addressed |= user;
		fputc('\n', f);
		cli_free_net(&nc);
	}
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

char *sandbox_init_config(const struct sandbox *sb,
			  const struct vm_config *cfg, bool stdout_tty,
			  bool stdin_tty, const char *term)
{
	char *s, *net;
	int err;

	/* Programs in the guest see a terminal either way; TERM=dumb keeps
	 * colours and cursor movement out of a pipe on the host. */
	if (!stdout_tty)
		term = "dumb";
	else if (!valid_term(term))
		term = "linux";
	err = net_config_lines(sb, cfg, &net);
	if (err) {
		if (err == -ENOMEM)
			pr_err("out of memory");
		return NULL; /* -EINVAL: virtio_net_card() said why */
	}
	if (asprintf(&s,
		     "root=" LKVM_9P_ROOT_TAG "\n"
		     "%s"
		     "ctl=" LKVM_CTL_TAG "\n"
		     "stdout_tty=%d\n"
		     "stdin_tty=%d\n"
		     "term=%s\n"
		     "quiet=%d\n"
		     "%s",
		     sb->hostfs ? "hostfs=" LKVM_9P_HOSTFS_TAG "\n" : "",
		     stdout_tty, stdin_tty, term, sb->is_sandbox, net) < 0) {
		pr_err("out of memory");
		s = NULL;
	}
	free(net);
	return s;
}

int sandbox_read_status(const char *ctl_dir)
{
	char path[PATH_MAX], buf[16];
	struct stat st;
	unsigned int v = 0;
	ssize_t n, i;
	int fd;

	if (!fmt_path(path, sizeof(path), "%s/" LKVM_STATUS_FILE, ctl_dir))
		return -ENAMETOOLONG;
	/* The guest wrote it: no symlinks, no FIFOs, a few bytes at most. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || n >= (ssize_t)sizeof(buf))
		return n < 0 ? -EIO : -EINVAL;
	if (buf[n - 1] == '\n')
		n--;
	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)buf[i]))
			return -EINVAL;
		v = v * 10 + (unsigned int)(buf[i] - '0');
		if (v > 255)
			return -EINVAL;
	}
	return (int)v;
}

/* --- putting it together --- */

static int kernel_release(const char *kernel, uint64_t mem_bytes, char *buf,
			  size_t cap, bool initrd_ok)
{
	uint8_t *img;
	size_t len;
	int err = read_kernel_file(kernel, mem_bytes, &img, &len);

	if (err)
		return err;
	err = arch_kernel_release(img, len, buf, cap);
	free(img);
	if (err == -ENOEXEC)
		pr_err("kernel '%s' is not a bzImage or an ELF vmlinux", kernel);
	else if (err)
		pr_err("cannot read the release of kernel '%s' (lkvm loads the guest's drivers from /lib/modules/RELEASE for the 9p root; %s)",
		       kernel, initrd_ok ? "give an initrd with -i" :
		       "use -k with a kernel that names its release, whose modules are installed");
	return err;
}

static bool lacks_any(const struct module_set *ms, const char *const *names)
{
	for (; names && *names; names++)
		if (module_set_lacks(ms, *names))
			return true;
	return false;
}

/* The modules the guest needs, read into memory. */
static int load_modules(const struct vm_config *cfg, struct sandbox *sb,
			struct module_set *ms)
{
	const char **names, **optional;
	char dir[PATH_MAX];
	unsigned int n;
	int err;

	err = kernel_release(cfg->kernel_path, cfg->mem_bytes, sb->release,
			     sizeof(sb->release), !sb->is_sandbox);
	if (err)
		return err;
	if (!fmt_path(dir, sizeof(dir), "%s/%s", sb->modules_dir,
		      sb->release)) {
		pr_err("modules directory path too long");
		return -ENAMETOOLONG;
	}
	names = initramfs_wanted_modules(cfg, &n);
	optional = initramfs_optional_modules(cfg);
	if (!names || !optional) {
		free(names);
		free(optional);
		pr_err("out of memory");
		return -ENOMEM;
	}
	err = modules_resolve_with(dir, names, n, optional, !sb->is_sandbox,
				   ms);
	free(names);
	free(optional);
	if (!err)
		err = modules_read(ms);
	/* The default NIC's driver is optional: without it the guest has a
	 * card it cannot drive, and the init is told of none. */
	sb->net_driver = !err && !lacks_any(ms, virtio_net_type.modules);
	if (!err && !sb->net_driver && virtio_net_type.count(cfg))
		pr_debug("the guest kernel has no %s: lkvm's init leaves the network alone",
			 virtio_net_type.modules[0]);
	return err;
}

static char *make_ctl_dir(void)
{
	const char *bases[] = { getenv("XDG_RUNTIME_DIR"), "/tmp" };
	unsigned int i;
	char *p;

	for (i = 0; i < ARRAY_SIZE(bases); i++) {
		if (!bases[i] || bases[i][0] != '/')
			continue;
		if (asprintf(&p, "%s/lkvm-ctl.XXXXXX", bases[i]) < 0)
			return NULL;
		if (mkdtemp(p)) /* mode 0700 */
			return p;
		free(p);
	}
	return NULL;
}

static int set_params(struct vm_config *cfg, struct sandbox *sb,
		      const char *mine)
{
	if (asprintf(&sb->params, "%s%s%s", mine, cfg->params ? " " : "",
		     cfg->params ? cfg->params : "") < 0) {
		sb->params = NULL;
		pr_err("out of memory");
		return LKVM_EXIT_FAILURE;
	}
	/* Before the user's -p, which may override them. */
	cfg->params = sb->params;
	return 0;
}

/* The root's directory: ~/.lkvm/default unless a --disk named one. */
static int default_root(struct sandbox *sb, const char *home, bool *create)
{
	struct stat st;

	*create = false;
	if (sb->root)
		return 0;
	if (!home) {
		pr_err("cannot find your home directory for ~/" LKVM_INSTANCES_DIR "/" LKVM_DEFAULT_INSTANCE " (set HOME, or give a root directory with -d DIR)");
		return LKVM_EXIT_FAILURE;
	}
	if (asprintf(&sb->root, "%s/" LKVM_INSTANCES_DIR "/" LKVM_DEFAULT_INSTANCE,
		     home) < 0) {
		sb->root = NULL;
		pr_err("out of memory");
		return LKVM_EXIT_FAILURE;
	}
	if (stat(sb->root, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		pr_err("%s is not a directory", sb->root);
		return LKVM_EXIT_FAILURE;
	}
	*create = true;
	return 0;
}

/* -i with a 9p root: the user's initramfs mounts it, as the kernel's
 * root= parameters say (kvmtool's way). */
static int prepare_foreign_init(struct vm_config *cfg, struct sandbox *sb,
				bool readonly)
{
	int ret = sandbox_add_exports(cfg, sb->root, readonly,
				      is_dir(sb->root, "host"), NULL);

	if (ret)
		return ret;
	return set_params(cfg, sb, "root=" LKVM_9P_ROOT_TAG " rootfstype=9p rootflags=" LKVM_9P_MOUNT_OPTS " rw");
}

static int prepare_own_init(struct vm_config *cfg, struct sandbox *sb,
			    const char *home, bool readonly)
{
	struct module_set ms = { 0 };
	struct initramfs_spec spec;
	char *config = NULL;
	bool create;
	int ret = default_root(sb, home, &create);

	if (ret)
		return ret;
	/* The instance about to be made has the setup layout. */
	sb->hostfs = create || is_dir(sb->root, "host");
	sb->ctl_dir = make_ctl_dir();
	if (!sb->ctl_dir) {
		pr_err("cannot create a private directory in $XDG_RUNTIME_DIR or /tmp: %s",
		       strerror(errno));
		return LKVM_EXIT_FAILURE;
	}
	/* The exports first: with them the configuration is final, and so
	 * are the devices whose drivers the guest needs (lkvm's default
	 * NIC only when they leave it a slot). */
	ret = sandbox_add_exports(cfg, sb->root, readonly, sb->hostfs,
				  sb->ctl_dir);
	if (ret)
		return ret;
	if (load_modules(cfg, sb, &ms)) {
		/* A missing file leaves nothing behind. */
		remove_tree(sb->ctl_dir);
		free(sb->ctl_dir);
		sb->ctl_dir = NULL;
		ret = LKVM_EXIT_FAILURE;
		goto out;
	}
	/* Only now that nothing else can fail for a missing file. */
	if (create) {
		int e = sandbox_setup_instance(home, LKVM_DEFAULT_INSTANCE, stderr);

		if (e && !(e == -EEXIST && is_dir(sb->root, NULL))) {
			ret = LKVM_EXIT_FAILURE;
			goto out;
		}
		if (!e)
			pr_info("created the default guest root %s (see 'lkvm help setup')",
				sb->root);
	}
	config = sandbox_init_config(sb, cfg, isatty(STDOUT_FILENO),
				     isatty(STDIN_FILENO), getenv("TERM"));
	if (!config) {
		ret = LKVM_EXIT_FAILURE;
		goto out;
	}
	spec = (struct initramfs_spec){ .modules = &ms,
					.argv = cfg->guest_argv,
					.config = config };
	sb->initrd_fd = initramfs_build(&spec);
	if (sb->initrd_fd < 0) {
		ret = LKVM_EXIT_FAILURE;
		goto out;
	}
	cfg->initrd_what = LKVM_INITRAMFS_WHAT;
	cfg->initrd_fd = sb->initrd_fd;
	/* A command's output, not the kernel's, is what sandbox users want. */
	if (sb->is_sandbox)
		ret = set_params(cfg, sb, "quiet");
out:
	free(config);
	modules_free(&ms);
	return ret;
}

int sandbox_prepare(struct vm_config *cfg, struct sandbox *sb)
{
	char home[PATH_MAX];
	bool have_home, readonly;
	int ret;

	sb->is_sandbox = cfg->guest_argv != NULL;
	if (sb->is_sandbox && cfg->initrd_path) {
		pr_err("lkvm sandbox boots lkvm's own initramfs: -i/--initrd cannot be used with it");
		return LKVM_EXIT_USAGE;
	}
	have_home = !sandbox_home_dir(sb, home, sizeof(home));
	ret = sandbox_select_root(cfg, have_home ? home : NULL, &sb->root,
				  &readonly);
	if (ret)
		return ret;
	/* kvmtool's rule: no disk and no initrd means the 9p root. */
	if (!sb->root && !sb->is_sandbox && (cfg->nr_disks || cfg->initrd_path))
		return 0;
	sb->active = true;
	sb->own_init = !cfg->initrd_path;
	if (!sb->own_init)
		return prepare_foreign_init(cfg, sb, readonly);
	return prepare_own_init(cfg, sb, have_home ? home : NULL, readonly);
}

int sandbox_finish(struct sandbox *sb, int vm_status)
{
	int status;

	if (!sb->ctl_dir)
		return vm_status;
	status = sandbox_read_status(sb->ctl_dir);
	remove_tree(sb->ctl_dir);
	free(sb->ctl_dir);
	sb->ctl_dir = NULL;
	if (status >= 0)
		return status;
	/* lkvm itself failed, or the guest kernel panicked (status 3): it
	 * has said so. */
	if (vm_status != LKVM_EXIT_OK)
		return vm_status;
	if (sb->is_sandbox) {
		pr_err(status == -ENOENT ?
		       "the guest stopped before the command finished" :
		       "the guest stopped without a valid exit status for the command");
		return LKVM_EXIT_FAILURE;
	}
	/* `lkvm run`: Ctrl-A x, a guest poweroff from the shell... */
	return vm_status;
}
