// SPDX-License-Identifier: GPL-2.0
/*
 * Opening files and moving their bytes: Tlopen, Tread, Twrite, Tclunk and
 * Tfsync.  File data goes straight between the host file and the guest's
 * buffers (preadv/pwritev on slices of the request's iovecs).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "internal.h"

#define P9_IOV_BATCH 64         /* iovecs per preadv/pwritev call */

static bool dotl_writes(uint32_t flags)
{
	uint32_t acc = flags & P9_DOTL_NOACCESS;

	return acc == P9_DOTL_WRONLY || acc == P9_DOTL_RDWR ||
	       (flags & P9_DOTL_TRUNC);
}

/* Open @f (kind PATH, f->lock held) for I/O with Tlopen @flags. */
static int fid_open(struct p9_server *s, struct p9_fid *f, uint32_t flags)
{
	int host = p9_host_open_flags(flags), fd;
	struct stat st;

	if (f->kind != P9_FID_PATH)
		return -EINVAL;
	if (s->readonly && dotl_writes(flags))
		return -EROFS;
	/* Only files and directories are ever opened: O_NONBLOCK is of no
	 * use, O_NOCTTY is a safety net.  O_NOATIME is a hint that fails
	 * with EPERM on files lkvm does not own (it has no CAP_FOWNER). */
	host &= ~(O_CREAT | O_EXCL | O_NONBLOCK | O_NOATIME);
	host |= O_NOCTTY;
	if (S_ISDIR(f->type) && (host & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	fd = p9_fstat_or_close(p9_reopen(s, f, host), &st);
	if (fd < 0)
		return fd;
	f->open_fd = fd;
	f->open_flags = host;
	f->kind = S_ISDIR(st.st_mode) ? P9_FID_DIR : P9_FID_FILE;
	p9_stat_qid(s, &st, &f->qid);
	return 0;
}

int p9_op_lopen(struct p9_ctx *ctx)
{
	uint32_t fid = p9_get32(&ctx->in), flags = p9_get32(&ctx->in);
	struct p9_fid *f;
	int r;

	r = p9_lookup_fid(ctx, fid, &f);
	if (r)
		return r;
	pthread_mutex_lock(&f->lock);
	r = fid_open(ctx->s, f, flags);
	if (!r) {
		p9_putqid(&ctx->out, &f->qid);
		p9_put32(&ctx->out, p9_iounit(ctx->s));
	}
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(ctx->s, f);
	return r;
}

/* preadv/pwritev between @fd at @offset and bytes [@off, @off + @len) of
 * an iovec array, in batches; returns the bytes moved or -errno. */
static ssize_t file_io(int fd, uint64_t offset, const struct iovec *iov,
		       unsigned int n, size_t off, size_t len, bool write)
{
	struct iovec v[P9_IOV_BATCH];
	size_t done = 0, got;
	unsigned int nv;
	ssize_t r;

	if (offset > INT64_MAX)
		return -EINVAL;
	while (done < len) {
		nv = p9_iov_slice(iov, n, off + done, len - done, v,
				  P9_IOV_BATCH, &got);
		if (!nv)
			break;
		if (write)
			r = pwritev(fd, v, (int)nv, (off_t)(offset + done));
		else
			r = preadv(fd, v, (int)nv, (off_t)(offset + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return done ? (ssize_t)done : -errno;
		done += (size_t)r;
		if ((size_t)r < got)
			break; /* end of file, or a full disk */
	}
	return (ssize_t)done;
}

static int read_xattr(struct p9_ctx *ctx, struct p9_fid *f, uint64_t offset,
		      uint32_t count)
{
	size_t n = 0;

	if (offset < f->xattr_size)
		n = MIN(p9_data_room(ctx, count), f->xattr_size - offset);
	if (n)
		p9_iov_copy(ctx->resp_iov, ctx->nr_resp, P9_IOHDR_LEN,
			    f->xattr_buf + offset, n, true);
	p9_put32(&ctx->out, (uint32_t)n);
	ctx->direct_len = n;
	return 0;
}

/* Straight into the reply after its count field. */
static int read_file(struct p9_ctx *ctx, struct p9_fid *f, uint64_t offset,
		     uint32_t count)
{
	ssize_t n = file_io(f->open_fd, offset, ctx->resp_iov, ctx->nr_resp,
			    P9_IOHDR_LEN, p9_data_room(ctx, count), false);

	if (n < 0)
		return (int)n;
	p9_put32(&ctx->out, (uint32_t)n);
	ctx->direct_len = (size_t)n;
	return 0;
}

/* Txattrcreate's value arrives through Twrite: kept until Tclunk. */
static int write_xattr(struct p9_ctx *ctx, struct p9_fid *f, uint64_t offset,
		       uint32_t count)
{
	if (offset > f->xattr_size || count > f->xattr_size - offset)
		return -EINVAL;
	if (count)
		p9_iov_copy(ctx->req_iov, ctx->nr_req, P9_TWRITE_HDR_LEN,
			    f->xattr_buf + offset, count, false);
	f->xattr_len = MAX(f->xattr_len, offset + count);
	p9_put32(&ctx->out, count);
	return 0;
}

/* Straight from the request after its fixed header. */
static int write_file(struct p9_ctx *ctx, struct p9_fid *f, uint64_t offset,
		      uint32_t count)
{
	ssize_t n;

	if (ctx->s->readonly)
		return -EROFS;
	n = file_io(f->open_fd, offset, ctx->req_iov, ctx->nr_req,
		    P9_TWRITE_HDR_LEN, count, true);
	if (n < 0)
		return (int)n;
	p9_put32(&ctx->out, (uint32_t)n);
	return 0;
}

/*
 * Tread/Twrite fid[4] offset[8] count[4]: an xattr fid's buffer is used
 * under the fid's lock; a FILE fid's open_fd never changes while we hold
 * a reference, so the I/O itself runs unlocked.
 */
static int fid_rw(struct p9_ctx *ctx, bool write)
{
	enum p9_fid_kind xattr_kind = write ? P9_FID_XATTR_WRITE :
					      P9_FID_XATTR_READ;
	uint32_t fid = p9_get32(&ctx->in);
	uint64_t offset = p9_get64(&ctx->in);
	uint32_t count = p9_get32(&ctx->in);
	enum p9_fid_kind kind;
	struct p9_fid *f;
	int r;

	r = p9_lookup_fid(ctx, fid, &f);
	if (r)
		return r;
	/* Only what the request really carries. */
	if (write)
		count = (uint32_t)MIN((size_t)count,
				      ctx->req_len - P9_TWRITE_HDR_LEN);
	pthread_mutex_lock(&f->lock);
	kind = f->kind;
	if (kind == xattr_kind)
		r = write ? write_xattr(ctx, f, offset, count) :
			    read_xattr(ctx, f, offset, count);
	pthread_mutex_unlock(&f->lock);
	if (kind == P9_FID_FILE)
		r = write ? write_file(ctx, f, offset, count) :
			    read_file(ctx, f, offset, count);
	else if (kind == P9_FID_DIR)
		r = -EISDIR;
	else if (kind != xattr_kind)
		r = -EBADF;
	p9_fid_put(ctx->s, f);
	return r;
}

int p9_op_read(struct p9_ctx *ctx)
{
	return fid_rw(ctx, false);
}

int p9_op_write(struct p9_ctx *ctx)
{
	return fid_rw(ctx, true);
}

int p9_op_clunk(struct p9_ctx *ctx)
{
	uint32_t fid = p9_get32(&ctx->in);
	enum p9_fid_kind kind;
	struct p9_fid *f;
	int r = 0;

	if (!p9_in_ok(&ctx->in))
		return -EINVAL;
	f = p9_fid_unhash(ctx->s, fid, ctx->session);
	if (!f)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	kind = f->kind;
	pthread_mutex_unlock(&f->lock);
	/* The fid is gone whatever the commit says. */
	if (kind == P9_FID_XATTR_WRITE)
		r = p9_xattr_commit(ctx->s, f);
	p9_fid_put(ctx->s, f);
	return r;
}

int p9_op_fsync(struct p9_ctx *ctx)
{
	uint32_t datasync;
	struct p9_fid *f;
	int r, fd;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	datasync = p9_get32(&ctx->in);
	fd = p9_fid_open_fd(f);
	if (!p9_in_ok(&ctx->in))
		r = -EINVAL;
	else if (fd < 0)
		r = -EBADF;
	else if (datasync ? fdatasync(fd) : fsync(fd))
		r = -errno;
	p9_fid_put(ctx->s, f);
	return r;
}
