// SPDX-License-Identifier: GPL-2.0
/*
 * Extended attributes: Txattrwalk makes a fid the read side of one value
 * (or of the name list).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "internal.h"

#define P9_XATTR_RETRIES 3      /* the value changed size between calls */

/* --- Txattrwalk --- */

/* getxattr, or listxattr for @name "", of the file behind @fd. */
static ssize_t xattr_get(int fd, const char *name, void *buf, size_t size)
{
	char path[32];

	/* Through the fd's magic link: a regular file or directory, which
	 * the caller checked on the fd itself. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (name[0])
		return getxattr(path, name, buf, size);
	return listxattr(path, buf, size);
}

/* The value (or the list) into a malloc'ed buffer. */
static int xattr_fetch(int fd, const char *name, uint8_t **buf,
		       uint64_t *len)
{
	unsigned int tries;
	struct stat st;
	ssize_t n = 0;
	int r;

	*buf = NULL;
	*len = 0;
	r = p9_fstat(fd, &st);
	if (r)
		return r;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return name[0] ? -ENODATA : 0;
	for (tries = 0; tries < P9_XATTR_RETRIES; tries++) {
		n = xattr_get(fd, name, NULL, 0);
		if (n < 0)
			return -errno;
		if ((size_t)n > P9_XATTR_SIZE_MAX)
			return -E2BIG;
		free(*buf);
		*buf = malloc(n ? (size_t)n : 1);
		if (!*buf)
			return -ENOMEM;
		n = n ? xattr_get(fd, name, *buf, (size_t)n) : 0;
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
