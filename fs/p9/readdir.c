// SPDX-License-Identifier: GPL-2.0
/*
 * Treaddir: getdents64 records of the fid's open directory, re-encoded as
 * 9P directory entries straight into the guest's reply buffers.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define P9_DIRENT_MAX (13 + 8 + 1 + 2 + P9_NAME_MAX)
#define P9_DIR_CHUNK 8192       /* readdir entries copied out at once */

static uint8_t dtype_qid_type(uint8_t d_type)
{
	if (d_type == DT_DIR)
		return P9_QTDIR;
	if (d_type == DT_LNK)
		return P9_QTSYMLINK;
	return P9_QTFILE;
}

/* Free the fid's getdents buffer (f->lock held); @charged unless it was
 * a transient one (dir_fill()). */
static void dir_buf_release(struct p9_server *s, struct p9_fid *f,
			    bool charged)
{
	if (!f->dirbuf)
		return;
	free(f->dirbuf);
	f->dirbuf = NULL;
	f->dirbuf_len = f->dirbuf_pos = 0;
	if (charged)
		p9_buf_uncharge(s, f, P9_DIRBUF_SIZE);
}

/*
 * Refill the fid's getdents buffer: 1 if it has entries, 0 at the end.
 * The buffer counts against the export's P9_BUF_BUDGET (open directories
 * x 32 KiB would be unbounded otherwise).  It is freed at the end of the
 * directory, so only directories read part way hold one.  Past the
 * budget the buffer is *@transient: uncharged, for this request only
 * (readdir_fid() frees it before it returns), so those are bounded by
 * the worker threads: nr_threads x P9_DIRBUF_SIZE.
 */
static int dir_fill(struct p9_server *s, struct p9_fid *f, bool *transient)
{
	ssize_t n;

	if (!f->dirbuf) {
		*transient = p9_buf_charge(s, f, P9_DIRBUF_SIZE) != 0;
		f->dirbuf = malloc(P9_DIRBUF_SIZE);
		if (!f->dirbuf) {
			if (!*transient)
				p9_buf_uncharge(s, f, P9_DIRBUF_SIZE);
			*transient = false;
			return -ENOMEM;
		}
	}
	do {
		n = getdents64(f->open_fd, f->dirbuf, P9_DIRBUF_SIZE);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	f->dirbuf_len = (size_t)n;
	f->dirbuf_pos = 0;
	if (!n) {
		dir_buf_release(s, f, !*transient);
		*transient = false;
	}
	return n > 0;
}

/*
 * Drop a transient getdents buffer at the end of a request.  The entries
 * still in it were read from the directory but not returned: put the
 * directory back where the next one starts (dir_offset, the d_off of the
 * last entry returned), as a Treaddir at that offset would seek.
 */
static void dir_buf_drop_transient(struct p9_server *s, struct p9_fid *f)
{
	if (f->dirbuf_pos < f->dirbuf_len &&
	    (f->dir_offset > INT64_MAX ||
	     lseek(f->open_fd, (off_t)f->dir_offset, SEEK_SET) < 0))
		/* Position unknown: the next request seeks
		 * (dir_seek()). */
		f->dir_pos_lost = true;
	dir_buf_release(s, f, false);
}

/*
 * Encode the buffered entry at dirbuf_pos as qid[13] offset[8] type[1]
 * name[s] into @e; returns its length, or 0 if the kernel's record is
 * malformed (the rest of the buffer is then dropped).
 */
static size_t dirent_encode(struct p9_fid *f, uint8_t *e, size_t cap)
{
	const size_t name_off = offsetof(struct dirent64, d_name);
	const struct dirent64 *d;
	struct p9_out out = { .buf = e, .cap = cap };
	struct p9_qid qid = { 0 };
	size_t left = f->dirbuf_len - f->dirbuf_pos;

	d = (const struct dirent64 *)(f->dirbuf + f->dirbuf_pos);
	if (left < name_off || d->d_reclen > left || d->d_reclen <= name_off ||
	    !memchr(d->d_name, '\0', d->d_reclen - name_off)) {
		f->dirbuf_pos = f->dirbuf_len;
		return 0;
	}
	/* Device index 0: the entries' inode numbers are the export's. */
	qid.type = dtype_qid_type(d->d_type);
	qid.path = d->d_ino & ((1ULL << 48) - 1);
	p9_putqid(&out, &qid);
	p9_put64(&out, (uint64_t)d->d_off);
	p9_put8(&out, d->d_type);
	p9_putstr(&out, d->d_name);
	if (out.err) {
		/* A name longer than 9P's limit: skipped. */
		f->dir_offset = (uint64_t)d->d_off;
		f->dirbuf_pos += d->d_reclen;
		return 0;
	}
	return out.pos;
}

/*
 * Entries are encoded into a staging chunk and copied to the guest's
 * buffers a chunk at a time (not per entry: the reply may span hundreds
 * of iovecs).
 */
struct dir_pack {
	struct p9_ctx *ctx;
	size_t room;             /* data bytes the reply may carry */
	size_t used;             /* bytes packed, flushed or staged */
	size_t staged;           /* bytes of chunk not yet copied out */
	uint8_t chunk[P9_DIR_CHUNK];
};

static void pack_flush(struct dir_pack *p)
{
	p9_iov_copy(p->ctx->resp_iov, p->ctx->nr_resp,
		    P9_IOHDR_LEN + p->used - p->staged, p->chunk, p->staged,
		    true);
	p->staged = 0;
}

/* Pack the buffered entry at dirbuf_pos: 1 if packed (or skipped), 0 if
 * it does not fit in the reply (it stays for the next call). */
static int pack_entry(struct dir_pack *p, struct p9_fid *f)
{
	const struct dirent64 *d;
	size_t len;

	if (sizeof(p->chunk) - p->staged < P9_DIRENT_MAX)
		pack_flush(p);
	len = dirent_encode(f, p->chunk + p->staged, P9_DIRENT_MAX);
	if (!len)
		return 1;
	if (len > p->room - p->used)
		return 0;
	p->staged += len;
	p->used += len;
	d = (const struct dirent64 *)(f->dirbuf + f->dirbuf_pos);
	f->dir_offset = (uint64_t)d->d_off;
	f->dirbuf_pos += d->d_reclen;
	return 1;
}

/* Continue (or restart at @offset) the directory stream (f->lock held). */
static int dir_seek(struct p9_fid *f, uint64_t offset)
{
	if (offset == f->dir_offset && !f->dir_pos_lost)
		return 0;
	if (offset > INT64_MAX)
		return -EINVAL;
	if (lseek(f->open_fd, (off_t)offset, SEEK_SET) < 0)
		return -errno;
	f->dirbuf_len = f->dirbuf_pos = 0;
	f->dir_offset = offset;
	f->dir_pos_lost = false;
	return 0;
}

/* Pack entries into the reply after its 11-byte header (f->lock held). */
static int readdir_fid(struct p9_ctx *ctx, struct p9_fid *f, uint64_t offset,
		       uint32_t count, struct dir_pack *p)
{
	bool transient = false;
	int r, fits = 1;

	if (f->kind != P9_FID_DIR)
		return S_ISDIR(f->type) ? -EBADF : -ENOTDIR;
	r = dir_seek(f, offset);
	if (r)
		return r;
	p->ctx = ctx;
	p->room = p9_data_room(ctx, count);
	p->used = p->staged = 0;
	while (fits) {
		if (f->dirbuf_pos >= f->dirbuf_len) {
			r = dir_fill(ctx->s, f, &transient);
			if (r <= 0)
				break;
		}
		fits = pack_entry(p, f);
	}
	pack_flush(p);
	if (transient)
		dir_buf_drop_transient(ctx->s, f);
	/* An error after some entries: they are returned, the next call
	 * meets the error again. */
	if (!p->used && (r < 0 || !fits))
		return r < 0 ? r : -ENOSPC;
	p9_put32(&ctx->out, (uint32_t)p->used);
	ctx->direct_len = p->used;
	return 0;
}

int p9_op_readdir(struct p9_ctx *ctx)
{
	struct dir_pack *p;
	struct p9_fid *f;
	uint64_t offset;
	uint32_t count;
	int r;

	r = p9_parse_fid(ctx, &f);
	if (r)
		return r;
	offset = p9_get64(&ctx->in);
	count = p9_get32(&ctx->in);
	p = p9_in_ok(&ctx->in) ? malloc(sizeof(*p)) : NULL;
	if (p) {
		pthread_mutex_lock(&f->lock);
		r = readdir_fid(ctx, f, offset, count, p);
		pthread_mutex_unlock(&f->lock);
		free(p);
	} else {
		r = p9_in_ok(&ctx->in) ? -ENOMEM : -EINVAL;
	}
	p9_fid_put(ctx->s, f);
	return r;
}
