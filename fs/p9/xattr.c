// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes: Txattrwalk makes a fid the read side of one value
 * (or of the name list), Txattrcreate the write side of one, set when the
 * fid is clunked.  Without passthrough only user.* xattrs can be set.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "internal.h"

#define P9_XATTR_RETRIES 3      /* the value changed size between calls */
#define P9_XATTR_NAME_MAX 255   /* XATTR_NAME_MAX */
#define XATTR_PATH_SIZE 32      /* "/proc/self/fd/" and an int */

/* --- Txattrwalk --- */

/*
 * The xattr calls take a path: the magic link of @fd, which, followed, is
 * the inode @fd holds.  Only for a regular file or directory, checked on
 * the fd itself (nothing else is ever reached through a magic link):
 * 0, -EPERM for another type, or -errno.
 */
static int xattr_path(int fd, char path[XATTR_PATH_SIZE])
{
	struct stat st;
	int r;

	r = p9_fstat(fd, &st);
	if (r)
		return r;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EPERM;
	snprintf(path, XATTR_PATH_SIZE, "/proc/self/fd/%d", fd);
	return 0;
}

/* getxattr, or listxattr for @name "", of the file at @path. */
static ssize_t xattr_get(const char *path, const char *name, void *buf,
			 size_t size)
{
	if (name[0])
		return getxattr(path, name, buf, size);
	return listxattr(path, buf, size);
}

/* The value (or the list) into a malloc'ed buffer. */
static int xattr_fetch(int fd, const char *name, uint8_t **buf,
		       uint64_t *len)
{
	char path[XATTR_PATH_SIZE];
	unsigned int tries;
	ssize_t n = 0;
	int r;

	*buf = NULL;
	*len = 0;
	r = xattr_path(fd, path);
	if (r == -EPERM)
		return name[0] ? -ENODATA : 0; /* none on special files */
	if (r)
		return r;
	for (tries = 0; tries < P9_XATTR_RETRIES; tries++) {
		n = xattr_get(path, name, NULL, 0);
		if (n < 0)
			return -errno;
		if ((size_t)n > P9_XATTR_SIZE_MAX)
			return -E2BIG;
		free(*buf);
		*buf = malloc(n ? (size_t)n : 1);
		if (!*buf)
			return -ENOMEM;
		n = n ? xattr_get(path, name, *buf, (size_t)n) : 0;
		if (n >= 0 || errno != ERANGE)
			break; /* ERANGE: it grew meanwhile */
	}
	if (n < 0) {
		r = -errno;
		free(*buf);
		*buf = NULL;
		return r;
	}
	*len = (uint64_t)n;
	return 0;
}

/* newfid: the read side of one attribute value (or the name list). */
static int xattrwalk_fid(struct p9_server *s, struct p9_fid *f,
			 uint32_t newfid, const char *name, uint64_t *size,
			 unsigned int session)
{
	struct p9_fid *nf;
	int r;

	if (newfid == P9_NOFID)
		return -EINVAL;
	nf = p9_fid_alloc(newfid);
	if (!nf)
		return -ENOMEM;
	nf->fd = p9_fid_dup_fd(f, &nf->type);
	r = nf->fd < 0 ? nf->fd : 0;
	if (!r)
		r = xattr_fetch(nf->fd, name, &nf->xattr_buf, &nf->xattr_size);
	/* Held until the clunk: charged (the fetch itself is one transient
	 * P9_XATTR_SIZE_MAX buffer per worker). */
	if (!r)
		r = p9_buf_charge(s, nf, (size_t)nf->xattr_size);
	if (!r) {
		pthread_mutex_lock(&f->lock);
		nf->qid = f->qid;
		pthread_mutex_unlock(&f->lock);
		nf->uid = f->uid;
		nf->kind = P9_FID_XATTR_READ;
		*size = nf->xattr_size;
		r = p9_fid_install(s, nf, NULL, session);
	}
	p9_fid_put(s, nf);
	return r;
}

int p9_op_xattrwalk(struct p9_ctx *ctx)
{
	uint32_t newfid;
	char name[P9_NAME_MAX + 1];
	struct p9_fid *f;
	uint64_t size = 0;
	int r;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	newfid = p9_get32(&ctx->in);
	r = p9_parsed(&ctx->in, p9_getstr(&ctx->in, name, sizeof(name)));
	if (!r)
		r = xattrwalk_fid(ctx->s, f, newfid, name, &size,
				  ctx->session);
	if (!r)
		p9_put64(&ctx->out, size);
	p9_fid_put(ctx->s, f);
	return r;
}

/* --- Txattrcreate --- */

/*
 * Without passthrough only the user namespace: security.capability would
 * grant file capabilities, trusted.* needs root anyway, and system.*
 * (POSIX ACLs) can grant access the mode bits do not show.
 */
static bool xattr_name_allowed(const struct p9_server *s, const char *name)
{
	return s->passthrough || !strncmp(name, "user.", 5);
}

/*
 * Txattrcreate fid name[s] attr_size[8] flags[4] -> ()
 * The fid becomes the write side of one attribute: Twrite fills the value,
 * Tclunk sets it (p9_xattr_commit).
 */
int p9_op_xattrcreate(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_XATTR_NAME_MAX + 1];
	uint8_t *buf = NULL;
	char *namedup = NULL;
	uint64_t size;
	uint32_t id, flags;
	struct p9_fid *f;
	int r;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	size = p9_get64(&ctx->in);
	flags = p9_get32(&ctx->in);
	if (r == -ENAMETOOLONG)
		r = -ERANGE; /* as setxattr(2) */
	r = p9_modify_checks(s, &ctx->in, r, NULL);
	if (r)
		return r;
	if (!name[0])
		return -ERANGE;
	if (size > P9_XATTR_SIZE_MAX)
		return -E2BIG;
	if (flags & ~(uint32_t)(P9_XATTR_CREATE | P9_XATTR_REPLACE))
		return -EINVAL;
	if (!xattr_name_allowed(s, name))
		return -EOPNOTSUPP;
	f = p9_fid_get_locked(ctx, id);
	if (!f)
		return -ENOENT;
	if (f->kind != P9_FID_PATH)
		r = -EINVAL;
	else if (!S_ISREG(f->type) && !S_ISDIR(f->type))
		r = -EPERM; /* as user xattrs on special files */
	else
		/* The value waits for the clunk: bounded per export. */
		r = p9_buf_charge(s, f, (size_t)size);
	if (r)
		goto unlock;
	namedup = strdup(name);
	buf = calloc(size ? size : 1, 1);
	if (!namedup || !buf) {
		p9_buf_uncharge(s, f, (size_t)size);
		r = -ENOMEM;
		goto unlock;
	}
	f->kind = P9_FID_XATTR_WRITE;
	f->xattr_name = namedup;
	f->xattr_buf = buf;
	f->xattr_size = size;
	f->xattr_len = 0;
	f->xattr_flags = (int)flags;
	namedup = NULL;
	buf = NULL;
unlock:
	p9_fid_unlock_put(s, f);
	free(namedup);
	free(buf);
	return r;
}

static int xattr_commit_locked(struct p9_server *s, struct p9_fid *f)
{
	char path[XATTR_PATH_SIZE];
	int r;

	if (f->kind != P9_FID_XATTR_WRITE || !f->xattr_name)
		return -EINVAL;
	if (s->readonly)
		return -EROFS;
	if (f->xattr_len != f->xattr_size)
		return -EINVAL; /* the value was not written completely */
	r = xattr_path(f->fd, path);
	if (r)
		return r;
	if (!f->xattr_size)
		r = removexattr(path, f->xattr_name);
	else
		r = setxattr(path, f->xattr_name, f->xattr_buf,
			     (size_t)f->xattr_size, f->xattr_flags);
	return r ? -errno : 0;
}

/* Called by Tclunk (the fid already out of the table, its lock free). */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f)
{
	int r;

	pthread_mutex_lock(&f->lock);
	r = xattr_commit_locked(s, f);
	pthread_mutex_unlock(&f->lock);
	return r;
}
