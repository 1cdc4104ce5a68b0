// SPDX-License-Identifier: GPL-2.0
/*
 * The on-disk cache of kernels decompressed on the host (see
 * lkvm/kernel-cache.h).  The cache is an optimisation only: every failure
 * here is a pr_debug line and the caller decompresses into memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Header-only: the hash is compiled in, no libxxhash at run time. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "lkvm/kernel-cache.h"
#include "lkvm/util.h"

#define ENTRY_PREFIX "vmlinux-"
#define TMP_PREFIX ".tmp-vmlinux-"
/* A temporary file older than this was left by a writer that died. */
#define TMP_STALE_SECS 3600

/* mkdir that accepts an existing directory. */
static bool make_dir(const char *path)
{
	struct stat st;

	if (!mkdir(path, 0700))
		return true;
	return errno == EEXIST && !stat(path, &st) && S_ISDIR(st.st_mode);
}

/*
 * Ours alone: a directory or regular file (as @st says), owned by this
 * user and writable by no one else.  A cache directory someone else
 * made (XDG_CACHE_HOME=/tmp, a shared HOME, a planted symlink) would let
 * them choose the kernel lkvm boots.
 */
static bool private_to_us(const struct stat *st, bool dir)
{
	return (dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode)) &&
	       st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm, created; false if there is none. */
static bool cache_dir(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	struct stat st;
	int n;

	/* The XDG spec: a relative XDG_CACHE_HOME is invalid, ignore it. */
	if (xdg && xdg[0] == '/') {
		n = snprintf(buf, cap, "%s", xdg);
	} else if (home && home[0] == '/') {
		n = snprintf(buf, cap, "%s/.cache", home);
	} else {
		pr_debug("kernel cache: neither XDG_CACHE_HOME nor HOME is set");
		return false;
	}
	if (n < 0 || (size_t)n + sizeof("/lkvm") > cap || !make_dir(buf))
		goto fail;
	strcat(buf, "/lkvm");
	if (make_dir(buf) && !access(buf, W_OK)) {
		if (!lstat(buf, &st) && private_to_us(&st, true))
			return true;
		pr_debug("kernel cache: not using '%s': not a directory of this user's alone",
			 buf);
		return false;
	}
fail:
	pr_debug("kernel cache: cannot use '%s': %s", buf, strerror(errno));
	return false;
}

bool kcache_entry_for(const uint8_t *img, size_t len, struct kcache_entry *e)
{
	/* XXH3-128 of the whole file: any change to the image is a new
	 * entry, and 128 bits make a collision between images a non-issue;
	 * at tens of GB/s it costs well under a millisecond per boot. */
	XXH128_hash_t h = XXH3_128bits(img, len);

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), ENTRY_PREFIX "%016llx%016llx",
		 (unsigned long long)h.high64, (unsigned long long)h.low64);
	if (!cache_dir(e->dir, sizeof(e->dir))) {
		e->dir[0] = 0;
		return false;
	}
	return true;
}

int kcache_open(const struct kcache_entry *e, size_t expect_len,
		struct kernel_blob *out)
{
	struct stat st;
	void *p;
	int dfd, fd;

	memset(out, 0, sizeof(*out));
	if (!e->dir[0])
		return -ENOENT;
	dfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -ENOENT;
	fd = openat(dfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dfd);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !private_to_us(&st, false) ||
	    (uint64_t)st.st_size != expect_len || !expect_len) {
		/* Truncated (or not ours): never trusted, rewritten. */
		close(fd);
		pr_debug("kernel cache: %s/%s is not %zu bytes of this user's; discarded",
			 e->dir, e->name, expect_len);
		kcache_discard(e);
		return -EINVAL;
	}
	/* MAP_PRIVATE, read-only: the page cache's pages, no copy. */
	p = mmap(NULL, expect_len, PROT_READ, MAP_PRIVATE, fd, 0);
	/* Recently used: the pruning below keeps the newest by mtime. */
	futimens(fd, NULL);
	if (p == MAP_FAILED) {
		close(fd);
		return -ENOENT;
	}
	/* The fd stays open: the loader reads segments straight into guest
	 * RAM from it (x86/pvh.c); an entry replaced or pruned meanwhile
	 * keeps its inode. */
	*out = (struct kernel_blob){ p, expect_len, p, expect_len, true, fd };
	return 0;
}

void kcache_discard(const struct kcache_entry *e)
{
	char path[sizeof(e->dir) + sizeof(e->name) + 1];

	if (!e->dir[0])
		return;
	snprintf(path, sizeof(path), "%s/%s", e->dir, e->name);
	unlink(path);
}

struct aged {
	char name[64];
	struct timespec mtime;
};

static int newest_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct aged *)a)->mtime;
	const struct timespec *y = &((const struct aged *)b)->mtime;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec < y->tv_sec ? 1 : -1;
	return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

/* Keep the KCACHE_MAX_ENTRIES most recently used entries: a decompressed
 * kernel is ~50-100 MB, and only the few kernels in use are worth it. */
static void prune(const char *dir)
{
	struct aged *v = NULL, *nv;
	size_t n = 0, i;
	struct dirent *d;
	struct stat st;
	DIR *dp = opendir(dir);
	time_t now = time(NULL);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		bool tmp = !strncmp(d->d_name, TMP_PREFIX, strlen(TMP_PREFIX));

		if ((!tmp && strncmp(d->d_name, ENTRY_PREFIX, strlen(ENTRY_PREFIX))) ||
		    strlen(d->d_name) >= sizeof(v->name) ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (tmp) {
			if (now - st.st_mtime > TMP_STALE_SECS)
				unlinkat(dirfd(dp), d->d_name, 0);
			continue;
		}
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		snprintf(v[n].name, sizeof(v[n].name), "%s", d->d_name);
		v[n].mtime = st.st_mtim;
		n++;
	}
	qsort(v, n, sizeof(*v), newest_first);
	for (i = KCACHE_MAX_ENTRIES; i < n; i++) {
		pr_debug("kernel cache: pruning %s/%s", dir, v[i].name);
		unlinkat(dirfd(dp), v[i].name, 0);
	}
	closedir(dp);
	free(v);
}

int kcache_store(const struct kcache_entry *e, const void *data, size_t len)
{
	char tmp[sizeof(e->dir) + sizeof(TMP_PREFIX) + 8];
	char path[sizeof(e->dir) + sizeof(e->name) + 1];
	int fd, err;

	if (!e->dir[0])
		return -ENOENT;
	snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "XXXXXX", e->dir);
	snprintf(path, sizeof(path), "%s/%s", e->dir, e->name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	err = write_all(fd, data, len);
	if (!err && fchmod(fd, 0644) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	/* rename() replaces atomically: a reader sees the old entry, no
	 * entry, or the whole new one, never a partial file. */
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		goto fail;
	}
	prune(e->dir);
	return 0;
fail:
	pr_debug("kernel cache: cannot write %s: %s", path, strerror(-err));
	return err;
}
