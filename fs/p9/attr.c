// SPDX-License-Identifier: GPL-2.0
/*
 * File attributes: Tgetattr, Tsetattr, Tstatfs and Treadlink.  Without
 * passthrough an owner change is accepted and not applied, and setuid/
 * setgid bits are dropped (Documentation/9p.md).
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

struct p9_setattr {
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

static int setattr_size(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
	int fd, r = 0;

	if (S_ISDIR(f->type))
		return -EISDIR;
	if (!S_ISREG(f->type))
		return -EINVAL; /* as truncate(2) */
	if (size > INT64_MAX)
		return -EFBIG;
	if (f->open_fd >= 0 && (f->open_flags & O_ACCMODE) != O_RDONLY)
		return ftruncate(f->open_fd, (off_t)size) ? -errno : 0;
	fd = p9_reopen(s, f, O_WRONLY);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size))
		r = -errno;
	close(fd);
	return r;
}

static int setattr_times(struct p9_server *s, struct p9_fid *f,
			 const struct p9_setattr *a)
{
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	char fdname[16];

	if (a->valid & P9_ATTR_ATIME) {
		if (!(a->valid & P9_ATTR_ATIME_SET))
			ts[0].tv_nsec = UTIME_NOW;
		else if (a->atime_nsec >= 1000000000u ||
			 a->atime_sec > INT64_MAX)
			return -EINVAL;
		else
			ts[0] = (struct timespec){ (time_t)a->atime_sec,
						   (long)a->atime_nsec };
	}
	if (a->valid & P9_ATTR_MTIME) {
		if (!(a->valid & P9_ATTR_MTIME_SET))
			ts[1].tv_nsec = UTIME_NOW;
		else if (a->mtime_nsec >= 1000000000u ||
			 a->mtime_sec > INT64_MAX)
			return -EINVAL;
		else
			ts[1] = (struct timespec){ (time_t)a->mtime_sec,
						   (long)a->mtime_nsec };
	}
	if (!utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return 0;
	/* Kernels without AT_EMPTY_PATH for utimensat: the magic link
	 * (followed, so not for a symlink's own times). */
	if ((errno != EINVAL && errno != ENOENT && errno != EBADF) ||
	    S_ISLNK(f->type))
		return -errno;
	p9_fd_name(f->fd, fdname);
	return utimensat(s->proc_fd, fdname, ts, 0) ? -errno : 0;
}

/*
 * Tsetattr fid valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8]
 * atime_nsec[8] mtime_sec[8] mtime_nsec[8] -> ()
 * Applied in order mode, owner, size, times; the first failure stops.
 */
int p9_op_setattr(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	struct p9_setattr a;
	struct p9_fid *f;
	uint32_t id;
	int r;

	id = p9_get32(&ctx->in);
	a.valid = p9_get32(&ctx->in);
	a.mode = p9_get32(&ctx->in);
	a.uid = p9_get32(&ctx->in);
	a.gid = p9_get32(&ctx->in);
	a.size = p9_get64(&ctx->in);
	a.atime_sec = p9_get64(&ctx->in);
	a.atime_nsec = p9_get64(&ctx->in);
	a.mtime_sec = p9_get64(&ctx->in);
	a.mtime_nsec = p9_get64(&ctx->in);
	r = p9_modify_checks(s, &ctx->in, 0, NULL);
	if (r)
		return r;
	f = p9_fid_get_locked(ctx, id);
	if (!f)
		return -ENOENT;
	if (f->kind == P9_FID_XATTR_READ || f->kind == P9_FID_XATTR_WRITE) {
		r = -EINVAL;
		goto out;
	}
	if (a.valid & P9_ATTR_MODE) {
		if (S_ISLNK(f->type)) {
			r = -EOPNOTSUPP; /* as fchmodat(AT_SYMLINK_NOFOLLOW) */
			goto out;
		}
		r = p9_chmod_fd(s, f->fd, p9_sanitize_mode(s, a.mode & 07777));
		if (r)
			goto out;
	}
	/* Without passthrough an owner change is accepted and not applied:
	 * new files belong to lkvm's user (Documentation/9p.md). */
	if ((a.valid & (P9_ATTR_UID | P9_ATTR_GID)) && s->passthrough &&
	    fchownat(f->fd, "",
		     a.valid & P9_ATTR_UID ? (uid_t)a.uid : (uid_t)-1,
		     a.valid & P9_ATTR_GID ? (gid_t)a.gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		r = -errno;
		goto out;
	}
	if (a.valid & P9_ATTR_SIZE) {
		r = setattr_size(s, f, a.size);
		if (r)
			goto out;
	}
	/* P9_ATTR_CTIME alone: every change above already set ctime. */
	if (a.valid & (P9_ATTR_ATIME | P9_ATTR_MTIME))
		r = setattr_times(s, f, &a);
out:
	p9_fid_unlock_put(s, f);
	return r;
}
