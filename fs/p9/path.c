// SPDX-License-Identifier: GPL-2.0
/*
 * Confinement helpers of the 9P server: every lookup is one component,
 * relative to a directory fd, never following a symlink; re-opens go
 * through /proc/self/fd of an fd whose type was checked on the fd itself;
 * qids, and the host open flags a guest may ask for.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "internal.h"

#define P9_QID_INO_MASK ((1ULL << 48) - 1)
#define P9_MAX_DEVS 0xffffu      /* device indexes in qid.path */
#define P9_OPENAT2_RETRIES 8     /* -EAGAIN: a rename raced the lookup */

int p9_check_name(const char *name)
{
	if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strchr(name, '/'))
		return -EINVAL;
	if (strnlen(name, P9_NAME_MAX + 1) > P9_NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int sys_openat2(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(unsigned int)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	unsigned int tries;
	long fd = -1;

	/* openat2 refuses a mode without O_CREAT/O_TMPFILE. */
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		how.mode = mode;
	for (tries = 0; tries < P9_OPENAT2_RETRIES; tries++) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
	}
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Whether openat2() works here (Linux 5.6+, and not filtered by a seccomp
 * policy): used for every later lookup.  Without it, single components
 * opened with O_NOFOLLOW are just as confined, only less explicit.
 */
bool p9_probe_openat2(int dirfd)
{
	int fd = sys_openat2(dirfd, ".", O_PATH | O_CLOEXEC, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int p9_open_beneath(struct p9_server *s, int dirfd, const char *name,
		    int flags, mode_t mode)
{
	int fd;

	flags |= O_NOFOLLOW | O_CLOEXEC;
	if (s->have_openat2) {
		fd = sys_openat2(dirfd, name, flags, mode);
		if (fd != -ENOSYS)
			return fd;
	}
	do {
		fd = openat(dirfd, name, flags, mode);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

static bool is_export_root(struct p9_server *s, int fd)
{
	struct stat st;

	return !p9_fstat(fd, &st) && st.st_dev == s->root_dev &&
	       st.st_ino == s->root_ino;
}

int p9_walk_one(struct p9_server *s, int dirfd, const char *name)
{
	int fd, r;

	if (strcmp(name, "..")) {
		r = p9_check_name(name);
		return r ? r : p9_open_beneath(s, dirfd, name, O_PATH, 0);
	}
	/* ".." of the export root is the root itself, as in a chroot. */
	if (is_export_root(s, dirfd))
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	else
		fd = openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int p9_reopen(struct p9_server *s, struct p9_fid *f, int flags)
{
	struct stat st;
	char name[16];
	int fd, r;

	r = p9_fstat(f->fd, &st);
	if (r)
		return r;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	/* Device nodes, FIFOs and sockets are never opened on the host. */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EPERM;
	/*
	 * The magic link must be followed (no O_NOFOLLOW): it names exactly
	 * the inode f->fd holds, whose type was checked just above.
	 */
	p9_fd_name(f->fd, name);
	do {
		fd = openat(s->proc_fd, name, flags | O_CLOEXEC);
	} while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

void p9_fd_name(int fd, char buf[16])
{
	snprintf(buf, 16, "%d", fd);
}

int p9_fstat(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

int p9_fstat_or_close(int fd, struct stat *st)
{
	int r;

	if (fd < 0)
		return fd;
	r = p9_fstat(fd, st);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

int p9_dup_fd(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return nfd < 0 ? -errno : nfd;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int p9_check_identity(int dirfd, const char *name, const struct stat *st)
{
	struct stat now;

	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? -ESTALE : -errno;
	return same_file(&now, st) ? 0 : -ESTALE;
}

/* fchmod refuses O_PATH fds: through the magic link. */
int p9_chmod_fd(struct p9_server *s, int fd, mode_t mode)
{
	char fdname[16];

	p9_fd_name(fd, fdname);
	if (fchmodat(s->proc_fd, fdname, mode, 0))
		return -errno;
	return 0;
}

/* Index of @dev in s->devs (added if new); index 0 is the export's. */
static uint64_t dev_index(struct p9_server *s, dev_t dev)
{
	unsigned int i;
	dev_t *devs;

	pthread_mutex_lock(&s->dev_lock);
	for (i = 0; i < s->nr_devs; i++)
		if (s->devs[i] == dev)
			goto out;
	/* Past the limit qids of later devices may collide: harmless for
	 * confinement, and an export does not span 65535 mounts. */
	if (s->nr_devs >= P9_MAX_DEVS) {
		i = P9_MAX_DEVS - 1;
		goto out;
	}
	devs = realloc(s->devs, (s->nr_devs + 1) * sizeof(*devs));
	if (!devs) {
		i = P9_MAX_DEVS - 1;
		goto out;
	}
	s->devs = devs;
	s->devs[s->nr_devs] = dev;
	i = s->nr_devs++;
out:
	pthread_mutex_unlock(&s->dev_lock);
	return i;
}

void p9_stat_qid(struct p9_server *s, const struct stat *st, struct p9_qid *q)
{
	if (S_ISDIR(st->st_mode))
		q->type = P9_QTDIR;
	else if (S_ISLNK(st->st_mode))
		q->type = P9_QTSYMLINK;
	else
		q->type = P9_QTFILE;
	q->version = (uint32_t)st->st_mtim.tv_sec ^
		     (uint32_t)st->st_mtim.tv_nsec;
	q->path = dev_index(s, st->st_dev) << 48 |
		  ((uint64_t)st->st_ino & P9_QID_INO_MASK);
}

int p9_host_open_flags(uint32_t dotl_flags)
{
	static const struct {
		uint32_t dotl;
		int host;
	} map[] = {
		{ P9_DOTL_TRUNC, O_TRUNC },
		{ P9_DOTL_APPEND, O_APPEND },
		{ P9_DOTL_NONBLOCK, O_NONBLOCK },
		{ P9_DOTL_DSYNC, O_DSYNC },
		{ P9_DOTL_SYNC, O_SYNC },
		{ P9_DOTL_DIRECTORY, O_DIRECTORY },
		{ P9_DOTL_NOATIME, O_NOATIME },
	};
	int flags;
	size_t i;

	switch (dotl_flags & P9_DOTL_NOACCESS) {
	case P9_DOTL_WRONLY:
		flags = O_WRONLY;
		break;
	case P9_DOTL_RDWR:
		flags = O_RDWR;
		break;
	default: /* RDONLY, and NOACCESS which needs no more than reading */
		flags = O_RDONLY;
		break;
	}
	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (dotl_flags & map[i].dotl)
			flags |= map[i].host;
	return flags;
}
