// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX locks: Tlock and Tgetlock on the fid's open file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "lkvm/util.h"
#include "internal.h"

struct p9_flock {
	uint8_t type;
	uint32_t flags;
	uint64_t start, length;
	uint32_t proc_id;
	char client_id[P9_STR_MAX + 1];
};

/* The rest of a Tlock (@with_flags) or Tgetlock after the fid into @l;
 * returns the fid's open fd, or -errno. */
static int flock_parse(struct p9_in *in, struct p9_fid *f, struct p9_flock *l,
		       bool with_flags)
{
	int r, fd;

	l->type = p9_get8(in);
	l->flags = with_flags ? p9_get32(in) : 0;
	l->start = p9_get64(in);
	l->length = p9_get64(in);
	l->proc_id = p9_get32(in);
	r = p9_getstr(in, l->client_id, sizeof(l->client_id));
	r = p9_parsed(in, r);
	if (r)
		return r;
	fd = p9_fid_open_fd(f);
	return fd < 0 ? -EBADF : fd;
}

static int flock_host(const struct p9_flock *l, struct flock *fl)
{
	static const short types[] = {
		[P9_LOCK_TYPE_RDLCK] = F_RDLCK,
		[P9_LOCK_TYPE_WRLCK] = F_WRLCK,
		[P9_LOCK_TYPE_UNLCK] = F_UNLCK,
	};

	if (l->type >= ARRAY_SIZE(types) || l->start > INT64_MAX ||
	    l->length > INT64_MAX)
		return -EINVAL;
	memset(fl, 0, sizeof(*fl));
	fl->l_type = types[l->type];
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)l->start;
	fl->l_len = (off_t)l->length; /* 0: to the end of the file */
	return 0;
}

/*
 * Open-file-description locks: owned by the fid's open file, and never
 * waited for here (the Linux client polls while BLOCKED).
 *
 * A read-only export takes no host lock at all: a read lock on any file
 * lkvm can read would block host writers (the sandbox exports the host's
 * "/" read-only).  Locks are granted without touching the host; the
 * Linux client checks POSIX locks among the guest's own processes in its
 * local lock table before it sends Tlock, so those still exclude each
 * other.  Host processes' locks are not seen by the guest there.
 */
static int lock_fid(struct p9_ctx *ctx, struct p9_fid *f)
{
	struct p9_flock l;
	struct flock fl;
	int fd;

	fd = flock_parse(&ctx->in, f, &l, true);
	if (fd < 0)
		return fd;
	if (flock_host(&l, &fl)) {
		p9_put8(&ctx->out, P9_LOCK_ERROR);
		return 0;
	}
	if (ctx->s->readonly)
		p9_put8(&ctx->out, P9_LOCK_SUCCESS);
	else if (!fcntl(fd, F_OFD_SETLK, &fl))
		p9_put8(&ctx->out, P9_LOCK_SUCCESS);
	else if (errno == EAGAIN || errno == EACCES)
		p9_put8(&ctx->out, P9_LOCK_BLOCKED);
	else
		p9_put8(&ctx->out, P9_LOCK_ERROR);
	return 0;
}

static int getlock_fid(struct p9_ctx *ctx, struct p9_fid *f)
{
	struct p9_flock l;
	struct flock fl;
	int r, fd;

	fd = flock_parse(&ctx->in, f, &l, false);
	if (fd < 0)
		return fd;
	r = flock_host(&l, &fl);
	if (r)
		return r;
	/* Read-only export: host locks are not consulted (see lock_fid). */
	if (ctx->s->readonly)
		fl.l_type = F_UNLCK;
	else if (fcntl(fd, F_OFD_GETLK, &fl))
		return -errno;
	if (fl.l_type != F_UNLCK) {
		/* A conflicting lock: its range; the owner is not a guest
		 * process we could name. */
		l.type = fl.l_type == F_RDLCK ? P9_LOCK_TYPE_RDLCK :
						P9_LOCK_TYPE_WRLCK;
		l.start = (uint64_t)fl.l_start;
		l.length = (uint64_t)fl.l_len;
		l.proc_id = 0;
	} else {
		l.type = P9_LOCK_TYPE_UNLCK;
	}
	p9_put8(&ctx->out, l.type);
	p9_put64(&ctx->out, l.start);
	p9_put64(&ctx->out, l.length);
	p9_put32(&ctx->out, l.proc_id);
	p9_putstr(&ctx->out, l.client_id);
	return 0;
}

/* Tlock and Tgetlock: the same fid handling around different work. */
static int on_fid(struct p9_ctx *ctx,
		  int (*op)(struct p9_ctx *ctx, struct p9_fid *f))
{
	struct p9_fid *f;
	int r;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	r = op(ctx, f);
	p9_fid_put(ctx->s, f);
	return r;
}

int p9_op_lock(struct p9_ctx *ctx)
{
	return on_fid(ctx, lock_fid);
}

int p9_op_getlock(struct p9_ctx *ctx)
{
	return on_fid(ctx, getlock_fid);
}
