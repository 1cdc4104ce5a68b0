// SPDX-License-Identifier: GPL-2.0
/*
 * File attributes: Tgetattr, Tstatfs and Treadlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "internal.h"

static void put_time(struct p9_out *out, const struct timespec *ts)
{
	p9_put64(out, (uint64_t)ts->tv_sec);
	p9_put64(out, (uint64_t)ts->tv_nsec);
}

static void put_getattr(struct p9_server *s, struct p9_out *out,
			const struct stat *st)
{
	struct p9_qid qid;

	p9_stat_qid(s, st, &qid);
	p9_put64(out, P9_GETATTR_BASIC);
	p9_putqid(out, &qid);
	p9_put32(out, st->st_mode);
	p9_put32(out, st->st_uid);
	p9_put32(out, st->st_gid);
	p9_put64(out, st->st_nlink);
	p9_put64(out, st->st_rdev);
	p9_put64(out, (uint64_t)st->st_size);
	p9_put64(out, (uint64_t)st->st_blksize);
	p9_put64(out, (uint64_t)st->st_blocks);
	put_time(out, &st->st_atim);
	put_time(out, &st->st_mtim);
	put_time(out, &st->st_ctim);
	p9_put64(out, 0); /* btime */
	p9_put64(out, 0);
	p9_put64(out, 0); /* gen */
	p9_put64(out, 0); /* data_version */
}

int p9_op_getattr(struct p9_ctx *ctx)
{
	struct p9_fid *f;
	struct stat st;
	int r;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	(void)p9_get64(&ctx->in); /* request_mask: everything basic anyway */
	r = -EINVAL;
	if (p9_in_ok(&ctx->in)) {
		pthread_mutex_lock(&f->lock);
		r = p9_fstat(f->fd, &st);
		pthread_mutex_unlock(&f->lock);
	}
	if (!r)
		put_getattr(ctx->s, &ctx->out, &st);
	p9_fid_put(ctx->s, f);
	return r;
}

int p9_op_statfs(struct p9_ctx *ctx)
{
	struct p9_fid *f;
	struct statfs st;
	int r;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	pthread_mutex_lock(&f->lock);
	r = fstatfs(f->fd, &st) ? -errno : 0;
	pthread_mutex_unlock(&f->lock);
	if (!r) {
		p9_put32(&ctx->out, (uint32_t)st.f_type);
		p9_put32(&ctx->out, (uint32_t)st.f_bsize);
		p9_put64(&ctx->out, st.f_blocks);
		p9_put64(&ctx->out, st.f_bfree);
		p9_put64(&ctx->out, st.f_bavail);
		p9_put64(&ctx->out, st.f_files);
		p9_put64(&ctx->out, st.f_ffree);
		p9_put64(&ctx->out, (uint32_t)st.f_fsid.__val[0] |
					    (uint64_t)(uint32_t)st.f_fsid.__val[1] << 32);
		p9_put32(&ctx->out, (uint32_t)st.f_namelen);
	}
	p9_fid_put(ctx->s, f);
	return r;
}

int p9_op_readlink(struct p9_ctx *ctx)
{
	char target[P9_STR_MAX + 1];
	struct p9_fid *f;
	ssize_t n;
	int r;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	pthread_mutex_lock(&f->lock);
	if (!S_ISLNK(f->type)) {
		r = -EINVAL;
	} else {
		/* An O_PATH fd of the link itself: read, never followed. */
		n = readlinkat(f->fd, "", target, sizeof(target));
		if (n < 0)
			r = -errno;
		else if ((size_t)n >= sizeof(target))
			r = -ENAMETOOLONG;
		else
			target[n] = '\0';
	}
	pthread_mutex_unlock(&f->lock);
	if (!r)
		p9_putstr(&ctx->out, target);
	p9_fid_put(ctx->s, f);
	return r;
}
