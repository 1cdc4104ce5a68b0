// SPDX-License-Identifier: GPL-2.0
/*
 * The 9P2000.L server: the server object and its worker pool, the fid
 * table, message framing and dispatch, Tflush, and the session and
 * read-side operations (the modifying ones are in modify.c).
 *
 * A request's bytes live in guest memory and may change under us: the
 * T-message is copied once (at most P9_REQ_COPY_MAX bytes; for Twrite only
 * its fixed header) and parsed from the copy with the bounded reader.  Bulk
 * data (Tread/Twrite payloads, directory entries) moves straight between
 * the host file and the guest's iovecs, never past their ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/thread.h"
#include "lkvm/util.h"
#include "internal.h"

#define P9_RLERROR_LEN (P9_HDR_LEN + 4)
#define P9_IOHDR_LEN (P9_HDR_LEN + 4)       /* Rread/Rreaddir: + count[4] */
#define P9_TWRITE_HDR_LEN (P9_HDR_LEN + 16) /* fid[4] offset[8] count[4] */
#define P9_REQ_STACK 1024       /* requests up to this size are not malloc'ed */
#define P9_OUT_MAX 8192         /* largest R-message body built in memory:
				 * Rreadlink, Rgetlock (strings <= 4 KiB) */
#define P9_IOV_BATCH 64         /* iovecs per preadv/pwritev call */
#define P9_DIRENT_MAX (13 + 8 + 1 + 2 + P9_NAME_MAX)
#define P9_DIR_CHUNK 8192       /* readdir entries copied out at once */
#define P9_FID_HASH_MAX 4096u
#define P9_XATTR_RETRIES 3      /* the value changed size between calls */
/* How long p9_server_free() waits for the workers to exit after the queue
 * is drained or cancelled: a handler merely busy finishes in it (at most
 * the stuck timeout). */
#define P9_EXIT_GRACE_MS 500u

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* --- Guest iovecs --- */

static size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += MIN(iov[i].iov_len, SIZE_MAX - total);
	return total;
}

/* Copy @len bytes between @buf and offset @off of an iovec array;
 * returns the bytes copied (fewer if the iovecs end first). */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off,
		       void *buf, size_t len, bool to_iov)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < n && done < len; i++) {
		uint8_t *base = iov[i].iov_base;
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = MIN(iov[i].iov_len - off, len - done);
		if (to_iov)
			memcpy(base + off, (uint8_t *)buf + done, take);
		else
			memcpy((uint8_t *)buf + done, base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

/* --- Directory references --- */

struct p9_dir_ref *p9_dir_ref_new(int fd)
{
	struct p9_dir_ref *d;

	if (fd < 0)
		return NULL;
	d = malloc(sizeof(*d));
	if (!d) {
		close(fd);
		return NULL;
	}
	d->fd = fd;
	d->refs = 1;
	return d;
}

struct p9_dir_ref *p9_dir_ref_get(struct p9_dir_ref *d)
{
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

void p9_dir_ref_put(struct p9_dir_ref *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL))
		return;
	close(d->fd);
	free(d);
}

/* --- Fid table --- */

/* A fid not yet in the table, holding one reference (the caller's). */
static struct p9_fid *fid_alloc(uint32_t fid)
{
	struct p9_fid *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fid = fid;
	f->refs = 1;
	f->kind = P9_FID_PATH;
	f->fd = -1;
	f->open_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

int p9_buf_charge(struct p9_server *s, struct p9_fid *f, size_t n)
{
	size_t used = __atomic_load_n(&s->buf_used, __ATOMIC_RELAXED);

	/* The export's whole budget, whatever the number of fids. */
	do {
		if (n > P9_BUF_BUDGET - used)
			return -ENOSPC;
	} while (!__atomic_compare_exchange_n(&s->buf_used, &used, used + n,
					      true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	f->charged += n;
	return 0;
}

void p9_buf_uncharge(struct p9_server *s, struct p9_fid *f, size_t n)
{
	f->charged -= n;
	__atomic_sub_fetch(&s->buf_used, n, __ATOMIC_RELAXED);
}

static void fid_free(struct p9_server *s, struct p9_fid *f)
{
	p9_buf_uncharge(s, f, f->charged);
	if (f->fd >= 0)
		close(f->fd);
	if (f->open_fd >= 0)
		close(f->open_fd);
	p9_dir_ref_put(f->parent);
	free(f->name);
	free(f->dirbuf);
	free(f->xattr_name);
	free(f->xattr_buf);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct p9_fid **fid_slot(struct p9_server *s, uint32_t fid)
{
	/* Multiplying by an odd constant permutes the low bits, so dense
	 * fid numbers (what Linux uses) spread evenly. */
	unsigned int b = (fid * 2654435761u) & (s->fid_hash_size - 1);
	struct p9_fid **pp = &s->fid_hash[b];

	while (*pp && (*pp)->fid != fid)
		pp = &(*pp)->hnext;
	return pp;
}

/* The current session (see fids_clunk_all()). */
static unsigned int server_session(struct p9_server *s)
{
	return __atomic_load_n(&s->session, __ATOMIC_ACQUIRE);
}

/*
 * Put @f (fully built) into the table as f->fid, taking a reference for
 * the table.  With @old, replace that fid (Twalk with newfid == fid):
 * operations running on @old keep their reference and its descriptors.
 * @session is the one the request was dispatched under: a request that
 * outlived its session (stuck across a reset) gets -EINTR and never puts
 * a fid into the next session's table.
 */
static int fid_install(struct p9_server *s, struct p9_fid *f,
		       struct p9_fid *old, unsigned int session)
{
	struct p9_fid **pp;
	int r = 0;

	pthread_mutex_lock(&s->fid_lock);
	pp = fid_slot(s, f->fid);
	if (session != s->session) {
		r = -EINTR;
		goto out;
	}
	if (old) {
		if (*pp != old) {
			r = -ENOENT; /* clunked meanwhile */
			goto out;
		}
		f->hnext = old->hnext;
		old->hnext = NULL;
		old->refs--; /* the table's; the caller still holds one */
	} else if (*pp) {
		r = -EEXIST;
		goto out;
	} else if (s->nr_fids >= s->max_fids) {
		r = -EMFILE;
		goto out;
	} else {
		f->hnext = NULL;
		s->nr_fids++;
	}
	*pp = f;
	f->refs++;
out:
	pthread_mutex_unlock(&s->fid_lock);
	return r;
}

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t fid,
			  unsigned int session)
{
	struct p9_fid *f;

	pthread_mutex_lock(&s->fid_lock);
	/* The session only changes under fid_lock, with the table. */
	f = session == s->session ? *fid_slot(s, fid) : NULL;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&s->fid_lock);
	return f;
}

struct p9_fid *p9_fid_new(struct p9_server *s, uint32_t fid, int *err)
{
	struct p9_fid *f;

	*err = -EINVAL;
	if (fid == P9_NOFID)
		return NULL;
	f = fid_alloc(fid);
	*err = f ? fid_install(s, f, NULL, server_session(s)) : -ENOMEM;
	if (*err && f) {
		fid_free(s, f);
		f = NULL;
	}
	return f;
}

void p9_fid_put(struct p9_server *s, struct p9_fid *f)
{
	int refs;

	if (!f)
		return;
	pthread_mutex_lock(&s->fid_lock);
	refs = --f->refs;
	pthread_mutex_unlock(&s->fid_lock);
	if (!refs)
		fid_free(s, f);
}

struct p9_fid *p9_fid_unhash(struct p9_server *s, uint32_t fid,
			     unsigned int session)
{
	struct p9_fid **pp, *f = NULL;

	pthread_mutex_lock(&s->fid_lock);
	pp = fid_slot(s, fid);
	if (session == s->session)
		f = *pp;
	if (f) {
		*pp = f->hnext;
		f->hnext = NULL;
		s->nr_fids--;
	}
	pthread_mutex_unlock(&s->fid_lock);
	return f;
}

/*
 * Session reset (Tversion, device reset): start a new session and forget
 * every fid.  Pending xattr writes are dropped, as an aborted session
 * implies.  Returns the new session.  The count goes up under fid_lock,
 * with the table emptied: a request of the old session installs its fid
 * before (and it is clunked here) or is refused (fid_install()).
 */
static struct p9_fid *fids_detach_all(struct p9_server *s,
				      unsigned int *session)
{
	struct p9_fid *list = NULL, *f;
	unsigned int b;

	*session = 0;
	if (!s->fid_hash)
		return NULL;
	pthread_mutex_lock(&s->fid_lock);
	*session = __atomic_add_fetch(&s->session, 1, __ATOMIC_RELEASE);
	for (b = 0; b < s->fid_hash_size; b++) {
		while ((f = s->fid_hash[b]) != NULL) {
			s->fid_hash[b] = f->hnext;
			f->hnext = list;
			list = f;
		}
	}
	s->nr_fids = 0;
	pthread_mutex_unlock(&s->fid_lock);
	return list;
}

/* Drop the table's reference to each fid of @list (fids_detach_all()). */
static void fids_put_list(struct p9_server *s, struct p9_fid *list)
{
	struct p9_fid *f;

	while ((f = list) != NULL) {
		list = f->hnext;
		f->hnext = NULL;
		p9_fid_put(s, f);
	}
}

static unsigned int fids_clunk_all(struct p9_server *s)
{
	unsigned int session;

	fids_put_list(s, fids_detach_all(s, &session));
	return session;
}

unsigned int p9_server_nr_fids(struct p9_server *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->fid_lock);
	n = s->nr_fids;
	pthread_mutex_unlock(&s->fid_lock);
	return n;
}

/* --- Framing and dispatch --- */

static const p9_op_fn p9_ops[256] = {
	[P9_TSTATFS] = p9_op_statfs,
	[P9_TLOPEN] = p9_op_lopen,
	[P9_TLCREATE] = p9_op_lcreate,
	[P9_TSYMLINK] = p9_op_symlink,
	[P9_TMKNOD] = p9_op_mknod,
	[P9_TRENAME] = p9_op_rename,
	[P9_TREADLINK] = p9_op_readlink,
	[P9_TGETATTR] = p9_op_getattr,
	[P9_TSETATTR] = p9_op_setattr,
	[P9_TXATTRWALK] = p9_op_xattrwalk,
	[P9_TXATTRCREATE] = p9_op_xattrcreate,
	[P9_TREADDIR] = p9_op_readdir,
	[P9_TFSYNC] = p9_op_fsync,
	[P9_TLOCK] = p9_op_lock,
	[P9_TGETLOCK] = p9_op_getlock,
	[P9_TLINK] = p9_op_link,
	[P9_TMKDIR] = p9_op_mkdir,
	[P9_TRENAMEAT] = p9_op_renameat,
	[P9_TUNLINKAT] = p9_op_unlinkat,
	[P9_TVERSION] = p9_op_version,
	[P9_TAUTH] = p9_op_auth,
	[P9_TATTACH] = p9_op_attach,
	[P9_TFLUSH] = p9_op_flush,
	[P9_TWALK] = p9_op_walk,
	[P9_TREAD] = p9_op_read,
	[P9_TWRITE] = p9_op_write,
	[P9_TCLUNK] = p9_op_clunk,
	[P9_TREMOVE] = p9_op_remove,
	/* Legacy 9P2000/9P2000.u messages (Topen, Tcreate, Tstat, Twstat)
	 * and R-types are absent: Rlerror(EOPNOTSUPP). */
};

static uint32_t server_msize(struct p9_server *s)
{
	return __atomic_load_n(&s->msize, __ATOMIC_RELAXED);
}

static void put_hdr(uint8_t *p, uint32_t size, uint8_t type, uint16_t tag)
{
	p[0] = (uint8_t)size;
	p[1] = (uint8_t)(size >> 8);
	p[2] = (uint8_t)(size >> 16);
	p[3] = (uint8_t)(size >> 24);
	p[4] = type;
	p[5] = (uint8_t)tag;
	p[6] = (uint8_t)(tag >> 8);
}

/* Room for a reply in @n writable iovecs: 0 if not even an Rlerror fits. */
static size_t resp_room(struct p9_server *s, const struct iovec *iov,
			unsigned int n)
{
	size_t cap = MIN(iov_total(iov, n), (size_t)server_msize(s));

	return cap < P9_RLERROR_LEN ? 0 : cap;
}

static uint32_t reply_error(const struct iovec *iov, unsigned int n,
			    uint16_t tag, int err)
{
	uint8_t msg[P9_RLERROR_LEN];

	if (err <= 0 || err >= 4096)
		err = EIO;
	put_hdr(msg, sizeof(msg), P9_RLERROR, tag);
	msg[7] = (uint8_t)err;
	msg[8] = (uint8_t)(err >> 8);
	msg[9] = msg[10] = 0;
	return (uint32_t)iov_copy(iov, n, 0, msg, sizeof(msg), true);
}

/* Header + ctx->out's body; direct data is already in place after it. */
static uint32_t reply_ok(struct p9_ctx *ctx)
{
	size_t len = P9_HDR_LEN + ctx->out.pos + ctx->direct_len;
	uint8_t hdr[P9_HDR_LEN];

	if (len > ctx->resp_cap)
		return reply_error(ctx->resp_iov, ctx->nr_resp, ctx->tag, ENOSPC);
	put_hdr(hdr, (uint32_t)len, ctx->type + 1, ctx->tag);
	iov_copy(ctx->resp_iov, ctx->nr_resp, 0, hdr, sizeof(hdr), true);
	iov_copy(ctx->resp_iov, ctx->nr_resp, P9_HDR_LEN, ctx->out.buf,
		 ctx->out.pos, true);
	return (uint32_t)len;
}

/* Copy the T-message body and run its handler. */
static uint32_t run_op(struct p9_ctx *ctx)
{
	size_t copy = ctx->type == P9_TWRITE ? P9_TWRITE_HDR_LEN : P9_REQ_COPY_MAX;
	uint8_t small[P9_REQ_STACK], outbuf[P9_OUT_MAX];
	uint8_t *body = small;
	p9_op_fn op = p9_ops[ctx->type];
	uint32_t len;
	int r;

	copy = MIN(copy, ctx->req_len) - P9_HDR_LEN;
	if (copy > sizeof(small)) {
		body = malloc(copy);
		if (!body)
			return reply_error(ctx->resp_iov, ctx->nr_resp,
					   ctx->tag, ENOMEM);
	}
	iov_copy(ctx->req_iov, ctx->nr_req, P9_HDR_LEN, body, copy, false);
	ctx->in = (struct p9_in){ .buf = body, .len = copy };
	ctx->out = (struct p9_out){
		.buf = outbuf,
		.cap = MIN(sizeof(outbuf), ctx->resp_cap - P9_HDR_LEN),
	};
	r = op ? op(ctx) : -EOPNOTSUPP;
	if (ctx->parked) {
		/* A Tflush answered later, after the request it flushes
		 * (p9_op_flush()), maybe already: write nothing. */
		len = 0;
		goto out;
	}
	if (__atomic_load_n(&ctx->s->closing, __ATOMIC_RELAXED)) {
		/* A stuck request finishing after lkvm's teardown gave up on
		 * it: guest memory may be going away, write nothing. */
		len = 0;
		goto out;
	}
	if (ctx->session != server_session(ctx->s)) {
		/* Its session ended meanwhile (a reset gave up waiting for
		 * it): the buffers may be the next driver's by now.  What
		 * the operation itself wrote there (Tread data) is done. */
		len = 0;
		goto out;
	}
	if (!r && ctx->out.err)
		r = -ENOSPC; /* never a truncated reply */
	if (r)
		len = reply_error(ctx->resp_iov, ctx->nr_resp, ctx->tag, -r);
	else
		len = reply_ok(ctx);
out:
	if (body != small)
		free(body);
	return len;
}

/* The header a request is dispatched on: copied from the guest once (at
 * submit for queued requests) and never re-read, so a guest rewriting it
 * meanwhile cannot make the server act on two different headers. */
struct p9_hdr {
	uint32_t size;
	uint16_t tag;
	uint8_t type;
	bool ok;                 /* all P9_HDR_LEN bytes were there */
};

static void hdr_read(const struct iovec *iov, unsigned int n,
		     struct p9_hdr *h)
{
	uint8_t b[P9_HDR_LEN] = { 0 };

	h->ok = iov_copy(iov, n, 0, b, sizeof(b), false) == sizeof(b);
	h->size = le32(b);
	h->type = b[4];
	h->tag = (uint16_t)(b[5] | b[6] << 8);
}

/* Execute a message whose header is already in @h; @req and @slot are the
 * request and its worker's s->running index (NULL and -1 on a caller's
 * thread). */
static uint32_t handle_msg(struct p9_server *s, const struct iovec *iov,
			   unsigned int nr_out, unsigned int nr_in,
			   const struct p9_hdr *h, struct p9_request *req,
			   int slot, unsigned int session, bool *parked)
{
	struct p9_ctx ctx = {
		.s = s,
		.slot = slot,
		.req = req,
		.session = session,
		.type = h->type,
		.tag = h->tag,
		.req_iov = iov,
		.nr_req = nr_out,
		.resp_iov = iov + nr_out,
		.nr_resp = nr_in,
	};
	size_t req_bytes = iov_total(iov, nr_out);
	uint32_t len;

	if (parked)
		*parked = false;
	ctx.resp_cap = resp_room(s, ctx.resp_iov, nr_in);
	if (!ctx.resp_cap)
		return 0;
	/* The size field must be sane and the message all there. */
	if (!h->ok || h->size < P9_HDR_LEN || h->size > req_bytes)
		return reply_error(ctx.resp_iov, nr_in, ctx.tag, EINVAL);
	ctx.req_len = h->size;
	len = run_op(&ctx);
	if (parked)
		*parked = ctx.parked;
	return len;
}

uint32_t p9_handle(struct p9_server *s, const struct iovec *iov,
		   unsigned int nr_out, unsigned int nr_in)
{
	struct p9_hdr h;

	hdr_read(iov, nr_out, &h);
	return handle_msg(s, iov, nr_out, nr_in, &h, NULL, -1,
			  server_session(s), NULL);
}

/* --- Session: Tversion, Tauth, Tattach, Tflush --- */

static bool version_is_dotl(const char *v)
{
	/* "9P2000.L", or a variant of it after a '.' (version(5) rule). */
	return !strncmp(v, "9P2000.L", 8) && (v[8] == '\0' || v[8] == '.');
}

int p9_op_version(struct p9_ctx *ctx)
{
	char version[P9_STR_MAX + 1];
	uint32_t msize = p9_get32(&ctx->in);
	int r = p9_getstr(&ctx->in, version, sizeof(version));

	r = p9_parsed(&ctx->in, r);
	if (r)
		return r;
	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	msize = MIN(msize, P9_MAX_MSIZE);
	/* A new session: every fid of the old one is gone, and requests
	 * still running from it are stale (this one belongs to the new). */
	ctx->session = fids_clunk_all(ctx->s);
	__atomic_store_n(&ctx->s->msize, msize, __ATOMIC_RELAXED);
	p9_put32(&ctx->out, msize);
	p9_putstr(&ctx->out, version_is_dotl(version) ? "9P2000.L" : "unknown");
	return 0;
}

int p9_op_auth(struct p9_ctx *ctx)
{
	(void)ctx;
	return -EOPNOTSUPP; /* no authentication: Tattach with afid NOFID */
}

int p9_op_attach(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char uname[P9_STR_MAX + 1], aname[P9_STR_MAX + 1];
	uint32_t fid = p9_get32(&ctx->in), afid = p9_get32(&ctx->in);
	int r = p9_getstr(&ctx->in, uname, sizeof(uname));
	int r2 = p9_getstr(&ctx->in, aname, sizeof(aname));
	uint32_t n_uname = p9_get32(&ctx->in);
	struct p9_fid *f;
	struct stat st;

	/* uname and aname are read and ignored: the export is the device's
	 * directory (a guest cannot pick another by naming it), and users
	 * are not authenticated; n_uname only matters for passthrough. */
	r = p9_parsed(&ctx->in, r ? r : r2);
	if (r)
		return r;
	if (afid != P9_NOFID || fid == P9_NOFID)
		return -EINVAL;
	f = fid_alloc(fid);
	if (!f)
		return -ENOMEM;
	f->fd = fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
	r = f->fd < 0 ? -errno : p9_fstat(f->fd, &st);
	if (!r) {
		f->type = S_IFDIR;
		f->uid = n_uname;
		p9_stat_qid(s, &st, &f->qid);
		r = fid_install(s, f, NULL, ctx->session);
	}
	if (!r)
		p9_putqid(&ctx->out, &f->qid);
	p9_fid_put(s, f);
	return r;
}

/* A deadline @ms from now, for pthread_cond_timedwait() on q_done (a
 * CLOCK_MONOTONIC condition variable). */
static void deadline_in(unsigned int ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* The stuck timeout from now. */
static void stuck_deadline(const struct p9_server *s, struct timespec *ts)
{
	deadline_in(s->stuck_ms, ts);
}

/* The worker other than @self (the flush's own: a Tflush never waits for
 * itself) running a request with @tag, or -1 (q_lock held).  A Tflush is
 * never flushed either: two flushing each other would wait forever. */
static int tag_running_slot(struct p9_server *s, uint16_t tag, int self)
{
	unsigned int i;

	for (i = 0; i < s->nr_threads; i++) {
		const struct p9_request *r = s->running[i];

		if ((int)i != self && r && r->tag == tag &&
		    r->type != P9_TFLUSH)
			return (int)i;
	}
	return -1;
}

/* Take the first queued request with @tag off the queue (under q_lock). */
static struct p9_request *dequeue_tag(struct p9_server *s, uint16_t tag)
{
	struct p9_request **pp, *prev = NULL;

	for (pp = &s->q_head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct p9_request *req = *pp;

		if (req->tag != tag || req->type == P9_TFLUSH)
			continue;
		*pp = req->next;
		if (s->q_tail == req)
			s->q_tail = prev;
		req->next = NULL;
		return req;
	}
	return NULL;
}

/*
 * Hand @req back to the transport (q_lock held, dropped meanwhile) with
 * @written reply bytes, or, with @err, an Rlerror(@err) written now (a
 * request that never ran).  Every complete() goes through here, counted
 * in nr_completing: p9_server_free() waits for those under way before it
 * gives up on the server, and once it has (closing) the transport may be
 * gone, so nothing is completed or written any more.
 */
static void complete_locked(struct p9_server *s, struct p9_request *req,
			    uint32_t written, int err)
{
	const struct iovec *resp = req->iov + req->nr_out;

	if (s->closing)
		return;
	s->nr_completing++;
	pthread_mutex_unlock(&s->q_lock);
	if (err)
		written = resp_room(s, resp, req->nr_in) ?
			  reply_error(resp, req->nr_in, req->tag, err) : 0;
	req->complete(req, written);
	pthread_mutex_lock(&s->q_lock);
	if (!--s->nr_completing)
		pthread_cond_broadcast(&s->q_done);
}

/*
 * Write Rflush for the parked @req and complete it (q_lock held, dropped
 * meanwhile); nothing is written for a flush whose session has ended.
 */
static void complete_parked_flush(struct p9_server *s, struct p9_request *req)
{
	const struct iovec *resp = req->iov + req->nr_out;
	uint32_t written = 0;
	uint8_t hdr[P9_HDR_LEN];

	if (req->session == server_session(s) &&
	    resp_room(s, resp, req->nr_in)) {
		put_hdr(hdr, sizeof(hdr), P9_RFLUSH, req->tag);
		written = (uint32_t)iov_copy(resp, req->nr_in, 0, hdr,
					     sizeof(hdr), true);
	}
	complete_locked(s, req, written, 0);
	s->nr_inflight--;
}

/* Answer the Tflushes parked on worker @slot (q_lock held, dropped
 * meanwhile; more may park then, and are answered too). */
static void complete_parked(struct p9_server *s, unsigned int slot)
{
	struct p9_request *req;

	while ((req = s->parked[slot]) != NULL) {
		s->parked[slot] = req->next;
		req->next = NULL;
		complete_parked_flush(s, req);
	}
	pthread_cond_broadcast(&s->q_done);
}

/*
 * Tflush(oldtag): a request still queued is answered Rlerror(EINTR) and
 * never runs, then Rflush.  One running on another worker must reply
 * before the Rflush (9P: no reply may follow the Rflush; Linux frees the
 * old request's buffers once it has the Rflush, so a late reply would
 * land in freed guest memory).  Waiting for it would hold this worker for
 * as long as the handler is stuck, so the flush is parked on that worker
 * instead and answered right after its request completes; this worker
 * goes on with the queue.  A reset answers parked flushes at once (the
 * driver that sent them is going away).
 */
int p9_op_flush(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	uint16_t oldtag = p9_get16(&ctx->in);
	struct p9_request *req;
	int slot;

	if (!p9_in_ok(&ctx->in))
		return -EINVAL;
	pthread_mutex_lock(&s->q_lock);
	req = dequeue_tag(s, oldtag);
	if (req) {
		complete_locked(s, req, 0, EINTR);
		s->nr_inflight--;
		pthread_cond_broadcast(&s->q_done);
	} else if (ctx->req &&
		   (slot = tag_running_slot(s, oldtag, ctx->slot)) >= 0) {
		ctx->parked = true;
		ctx->req->next = s->parked[slot];
		s->parked[slot] = ctx->req;
	}
	pthread_mutex_unlock(&s->q_lock);
	return 0;
}

/* --- Twalk --- */

/*
 * A duplicate of @f's O_PATH fd, with its type, taken under the fid's
 * lock: Tlcreate turns a fid into the file it created, and the directory
 * fd it held may be closed later (Trename), so an fd number read from a
 * fid outside its lock could name an unrelated file by the time it is used.
 */
static int fid_dup_fd(struct p9_fid *f, mode_t *type)
{
	int fd;

	pthread_mutex_lock(&f->lock);
	fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	*type = f->type;
	pthread_mutex_unlock(&f->lock);
	return fd < 0 ? -errno : fd;
}

struct walk {
	uint32_t fid, newfid;
	uint16_t nwname, nwqid;
	char names[P9_MAXWELEM][P9_NAME_MAX + 1];
	int base_fd;             /* a duplicate of the starting fid's fd */
	mode_t base_type;
	int fds[P9_MAXWELEM];
	struct p9_qid qids[P9_MAXWELEM];
	mode_t last_type;
	unsigned int session;    /* the request's (fid_install()) */
};

static int walk_parse(struct p9_in *in, struct walk *w)
{
	unsigned int i;
	int r = 0;

	w->fid = p9_get32(in);
	w->newfid = p9_get32(in);
	w->nwname = p9_get16(in);
	if (!p9_in_ok(in))
		return -EINVAL;
	if (w->nwname > P9_MAXWELEM)
		return -EINVAL;
	for (i = 0; i < w->nwname && !r; i++)
		r = p9_getstr(in, w->names[i], sizeof(w->names[i]));
	return p9_parsed(in, r);
}

/* Resolve the names from w->base_fd; w->nwqid steps succeeded (their fds
 * kept in w->fds). */
static int walk_names(struct p9_server *s, struct walk *w)
{
	int cur = w->base_fd, fd, r;
	struct stat st;

	if (w->nwname && !S_ISDIR(w->base_type))
		return -ENOTDIR;
	for (w->nwqid = 0; w->nwqid < w->nwname; w->nwqid++) {
		fd = p9_walk_one(s, cur, w->names[w->nwqid]);
		if (fd < 0)
			return fd;
		r = p9_fstat(fd, &st);
		if (r) {
			close(fd);
			return r;
		}
		p9_stat_qid(s, &st, &w->qids[w->nwqid]);
		w->fds[w->nwqid] = fd;
		w->last_type = st.st_mode & S_IFMT;
		cur = fd;
	}
	return 0;
}

/* Close every fd the walk did not hand over to a fid. */
static void walk_close(struct walk *w)
{
	unsigned int i;

	for (i = 0; i < w->nwqid; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	if (w->base_fd >= 0)
		close(w->base_fd);
}

/* A zero-name walk: a new fid on the same file, same place (all of it
 * read at once under the fid's lock). */
static int walk_clone(struct p9_fid *f, struct p9_fid *nf)
{
	pthread_mutex_lock(&f->lock);
	nf->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (nf->fd < 0) {
		pthread_mutex_unlock(&f->lock);
		return -errno;
	}
	nf->type = f->type;
	nf->qid = f->qid;
	nf->parent = p9_dir_ref_get(f->parent);
	nf->name = f->name ? strdup(f->name) : NULL;
	pthread_mutex_unlock(&f->lock);
	return nf->name || !f->name ? 0 : -ENOMEM;
}

/* The fid at the end of a full walk: the last fd, and the directory the
 * last name was found in as its parent. */
static int walk_result(struct walk *w, struct p9_fid *nf)
{
	unsigned int n = w->nwname;
	const char *last = w->names[n - 1];
	int *dirfd = n >= 2 ? &w->fds[n - 2] : &w->base_fd;

	nf->fd = w->fds[n - 1];
	w->fds[n - 1] = -1;
	nf->type = w->last_type;
	nf->qid = w->qids[n - 1];
	if (!strcmp(last, ".."))
		return 0; /* the name of a parent is unknown: no rename/remove */
	nf->parent = p9_dir_ref_new(*dirfd);
	*dirfd = -1;
	nf->name = strdup(last);
	return nf->parent && nf->name ? 0 : -ENOMEM;
}

static int walk_make_fid(struct p9_server *s, struct p9_fid *f,
			 struct walk *w)
{
	struct p9_fid *nf = fid_alloc(w->newfid);
	int r;

	if (!nf)
		return -ENOMEM;
	nf->uid = f->uid;
	r = w->nwname ? walk_result(w, nf) : walk_clone(f, nf);
	if (!r)
		r = fid_install(s, nf, w->newfid == w->fid ? f : NULL,
				w->session);
	p9_fid_put(s, nf);
	return r;
}

static int walk_from(struct p9_server *s, struct p9_fid *f, struct walk *w,
		     struct p9_out *out)
{
	struct p9_fid *other;
	unsigned int i;
	int r;

	if (w->newfid != w->fid) {
		if (w->newfid == P9_NOFID)
			return -EINVAL;
		other = p9_fid_get(s, w->newfid, w->session);
		if (other) {
			p9_fid_put(s, other);
			return -EEXIST;
		}
	} else if (!w->nwname) {
		p9_put16(out, 0); /* a clone onto itself changes nothing */
		return 0;
	}
	if (w->nwname) {
		w->base_fd = fid_dup_fd(f, &w->base_type);
		if (w->base_fd < 0)
			return w->base_fd;
	}
	r = walk_names(s, w);
	/* A failure on the first name is an error; a later one is an Rwalk
	 * with the qids so far, and newfid is not created. */
	if (r && !w->nwqid)
		return r;
	if (!r) {
		r = walk_make_fid(s, f, w);
		if (r)
			return r;
	}
	p9_put16(out, w->nwqid);
	for (i = 0; i < w->nwqid; i++)
		p9_putqid(out, &w->qids[i]);
	return 0;
}

int p9_op_walk(struct p9_ctx *ctx)
{
	struct walk *w = malloc(sizeof(*w));
	struct p9_fid *f;
	int r;

	if (!w)
		return -ENOMEM;
	w->nwqid = 0;
	w->base_fd = -1;
	w->session = ctx->session;
	r = walk_parse(&ctx->in, w);
	if (r)
		goto out;
	f = p9_fid_get(ctx->s, w->fid, ctx->session);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	r = walk_from(ctx->s, f, w, &ctx->out);
	walk_close(w);
	p9_fid_put(ctx->s, f);
out:
	free(w);
	return r;
}

/* --- Tlopen, Tread, Twrite, Tclunk --- */

/* The fid a request named in @fid, once all its fields were read. */
static int lookup_fid(struct p9_ctx *ctx, uint32_t fid, struct p9_fid **f)
{
	if (!p9_in_ok(&ctx->in))
		return -EINVAL;
	*f = p9_fid_get(ctx->s, fid, ctx->session);
	return *f ? 0 : -ENOENT;
}

/* The fid of a request's first field. */
static int get_fid(struct p9_ctx *ctx, struct p9_fid **f)
{
	return lookup_fid(ctx, p9_get32(&ctx->in), f);
}

static bool dotl_writes(uint32_t flags)
{
	uint32_t acc = flags & P9_DOTL_NOACCESS;

	return acc == P9_DOTL_WRONLY || acc == P9_DOTL_RDWR ||
	       (flags & P9_DOTL_TRUNC);
}

/* Open @f (kind PATH, f->lock held) for I/O with Tlopen @flags. */
static int fid_open(struct p9_server *s, struct p9_fid *f, uint32_t flags)
{
	int host = p9_host_open_flags(flags), fd, r;
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
	fd = p9_reopen(s, f, host);
	if (fd < 0)
		return fd;
	r = p9_fstat(fd, &st);
	if (r) {
		close(fd);
		return r;
	}
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

	r = lookup_fid(ctx, fid, &f);
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

/* Room for Rread/Rreaddir data after the 11-byte header. */
static size_t data_room(const struct p9_ctx *ctx, uint32_t count)
{
	return MIN((size_t)count, ctx->resp_cap - P9_IOHDR_LEN);
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
		n = MIN(data_room(ctx, count), f->xattr_size - offset);
	if (n)
		iov_copy(ctx->resp_iov, ctx->nr_resp, P9_IOHDR_LEN,
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
			    P9_IOHDR_LEN, data_room(ctx, count), false);

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
		iov_copy(ctx->req_iov, ctx->nr_req, P9_TWRITE_HDR_LEN,
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

	r = lookup_fid(ctx, fid, &f);
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

/* --- Tgetattr, Tstatfs, Treadlink, Tfsync --- */

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

	r = get_fid(ctx, &f);
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

	r = get_fid(ctx, &f);
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

	r = get_fid(ctx, &f);
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

/* open_fd of an opened fid (a reference keeps it open), or -1. */
static int fid_open_fd(struct p9_fid *f)
{
	int fd;

	pthread_mutex_lock(&f->lock);
	fd = f->kind == P9_FID_FILE || f->kind == P9_FID_DIR ? f->open_fd : -1;
	pthread_mutex_unlock(&f->lock);
	return fd;
}

int p9_op_fsync(struct p9_ctx *ctx)
{
	uint32_t datasync;
	struct p9_fid *f;
	int r, fd;

	r = get_fid(ctx, &f);
	if (r)
		return r;
	datasync = p9_get32(&ctx->in);
	fd = fid_open_fd(f);
	if (!p9_in_ok(&ctx->in))
		r = -EINVAL;
	else if (fd < 0)
		r = -EBADF;
	else if (datasync ? fdatasync(fd) : fsync(fd))
		r = -errno;
	p9_fid_put(ctx->s, f);
	return r;
}

/* --- Tlock, Tgetlock --- */

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
	fd = fid_open_fd(f);
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

	r = get_fid(ctx, &f);
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

/* --- Treaddir --- */

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
	iov_copy(p->ctx->resp_iov, p->ctx->nr_resp,
		 P9_IOHDR_LEN + p->used - p->staged, p->chunk, p->staged, true);
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
	p->room = data_room(ctx, count);
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

	r = get_fid(ctx, &f);
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
	nf = fid_alloc(newfid);
	if (!nf)
		return -ENOMEM;
	nf->fd = fid_dup_fd(f, &nf->type);
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
		r = fid_install(s, nf, NULL, session);
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

	r = get_fid(ctx, &f);
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

/* --- Worker pool --- */

struct p9_worker {
	struct p9_server *s;
	unsigned int idx;
	/* What s->running[idx] points at while a request runs: a copy of its
	 * tag and type, valid after the transport got the request back. */
	struct p9_request busy;
};

static void server_release(struct p9_server *s);

/* The header, for Tflush and for dispatch, read once from the guest. */
static void req_read_hdr(struct p9_request *req)
{
	struct p9_hdr h;

	hdr_read(req->iov, req->nr_out, &h);
	req->size = h.size;
	req->type = h.type;
	req->tag = h.tag;
	req->hdr_ok = h.ok;
}

/* Run @req on worker @slot (-1: the caller's thread, which never parks a
 * Tflush: nothing else runs); *@parked says a Tflush was parked. */
static uint32_t req_handle(struct p9_server *s, struct p9_request *req,
			   int slot, unsigned int session, bool *parked)
{
	const struct p9_hdr h = {
		.size = req->size, .tag = req->tag, .type = req->type,
		.ok = req->hdr_ok,
	};

	return handle_msg(s, req->iov, req->nr_out, req->nr_in, &h,
			  slot >= 0 ? req : NULL, slot, session, parked);
}

static void *p9_worker_main(void *arg)
{
	struct p9_worker *w = arg;
	struct p9_server *s = w->s;
	struct p9_request *req;
	unsigned int session;
	uint32_t written;
	bool last, parked;

	pthread_mutex_lock(&s->q_lock);
	for (;;) {
		while (!s->q_head && !s->q_stop)
			pthread_cond_wait(&s->q_cond, &s->q_lock);
		req = s->q_head;
		if (!req)
			break;
		s->q_head = req->next;
		if (!s->q_head)
			s->q_tail = NULL;
		req->running = true;
		w->busy.tag = req->tag;
		w->busy.type = req->type;
		s->running[w->idx] = &w->busy;
		/* Read under q_lock: a reset cancels what is still queued
		 * under it before it starts a new session. */
		session = server_session(s);
		req->session = session;
		pthread_mutex_unlock(&s->q_lock);

		written = req_handle(s, req, (int)w->idx, session, &parked);

		pthread_mutex_lock(&s->q_lock);
		if (!parked) {
			/* Its reply first, then the flushes waiting for it. */
			complete_locked(s, req, written, 0);
			s->nr_inflight--;
			complete_parked(s, w->idx);
		}
		/* (A parked Tflush completes on the worker it waits for.) */
		s->running[w->idx] = NULL;
		pthread_cond_broadcast(&s->q_done);
	}
	last = !--s->nr_live && s->abandoned;
	pthread_cond_broadcast(&s->q_done);
	pthread_mutex_unlock(&s->q_lock);
	free(w);
	if (last)
		server_release(s); /* nobody else references it any more */
	return NULL;
}

void p9_submit(struct p9_server *s, struct p9_request *req)
{
	req_read_hdr(req);
	req->next = NULL;
	req->running = false;
	if (!s->nr_threads) {
		req->complete(req, req_handle(s, req, -1, server_session(s),
					      NULL));
		return;
	}
	pthread_mutex_lock(&s->q_lock);
	if (req->type == P9_TFLUSH) {
		/* Ahead of the rest: the request it cancels may be queued. */
		req->next = s->q_head;
		s->q_head = req;
		if (!s->q_tail)
			s->q_tail = req;
	} else {
		if (s->q_tail)
			s->q_tail->next = req;
		else
			s->q_head = req;
		s->q_tail = req;
	}
	s->nr_inflight++;
	pthread_cond_signal(&s->q_cond);
	pthread_mutex_unlock(&s->q_lock);
}

/* Wait (q_lock held) until nothing is in flight or @dl passed. */
static int wait_idle(struct p9_server *s, const struct timespec *dl)
{
	while (s->nr_inflight)
		if (pthread_cond_timedwait(&s->q_done, &s->q_lock, dl) ==
		    ETIMEDOUT)
			return s->nr_inflight ? -ETIMEDOUT : 0;
	return 0;
}

/* Answer every queued request Rlerror(EINTR) and every parked Tflush
 * Rflush (q_lock held; dropped while the transport's complete() runs).
 * Used when workers are stuck: the driver is going away (reset, exit). */
static void cancel_queued(struct p9_server *s)
{
	struct p9_request *list = s->q_head, *req;
	unsigned int i;

	s->q_head = s->q_tail = NULL;
	while ((req = list) != NULL) {
		list = req->next;
		req->next = NULL;
		complete_locked(s, req, 0, EINTR);
		s->nr_inflight--;
	}
	for (i = 0; i < s->nr_threads; i++)
		complete_parked(s, i);
	pthread_cond_broadcast(&s->q_done);
}

/* A worker still busy after the stuck timeout: said once per server (a
 * guest resetting in a loop must not flood the log). */
static void warn_stuck(struct p9_server *s, const char *what)
{
	if (!__atomic_exchange_n(&s->warned_stuck, true, __ATOMIC_RELAXED))
		pr_warn("9p export '%s': a request is still executing after %u ms; %s without it",
			s->path, s->stuck_ms, what);
}

int p9_server_drain(struct p9_server *s)
{
	struct timespec dl;
	int r;

	stuck_deadline(s, &dl);
	pthread_mutex_lock(&s->q_lock);
	r = wait_idle(s, &dl);
	pthread_mutex_unlock(&s->q_lock);
	return r;
}

/*
 * Bounded by the stuck timeout (P9_STUCK_TIMEOUT_MS): the transport calls
 * this from a vCPU holding the device's and the bus's locks.  A request
 * still executing keeps its own fid references, so clunking the table
 * under it is safe; its late complete() is the transport's to discard.
 */
struct fid_reaper {
	struct p9_server *s;
	struct p9_fid *list;
};

static void *fid_reaper_main(void *arg)
{
	struct fid_reaper *rp = arg;
	struct p9_server *s = rp->s;
	bool last;

	fids_put_list(s, rp->list);
	free(rp);
	/* Counted as a live worker: p9_server_free() waits for it, or
	 * leaves the server to the last of them. */
	pthread_mutex_lock(&s->q_lock);
	last = !--s->nr_live && s->abandoned;
	pthread_cond_broadcast(&s->q_done);
	pthread_mutex_unlock(&s->q_lock);
	if (last)
		server_release(s);
	return NULL;
}

/*
 * Close @list's fids on a thread of their own: after a reset gave up on a
 * stuck handler the filesystem may be what is stuck (a hung NFS or FUSE
 * mount), and close() of a file there can block too -- not on the vCPU
 * that resets, holding the device's and the bus's locks.  Inline when no
 * thread can be started.  At most one such thread per timed-out reset,
 * and each ends when its closes return.
 */
static void fids_put_async(struct p9_server *s, struct p9_fid *list)
{
	struct fid_reaper *rp;
	pthread_t t;

	if (!list)
		return;
	rp = malloc(sizeof(*rp));
	if (rp) {
		*rp = (struct fid_reaper){ .s = s, .list = list };
		pthread_mutex_lock(&s->q_lock);
		s->nr_live++;
		pthread_mutex_unlock(&s->q_lock);
		if (!lkvm_thread_create(&t, fid_reaper_main, rp)) {
			pthread_detach(t);
			return;
		}
		pthread_mutex_lock(&s->q_lock);
		s->nr_live--;
		pthread_mutex_unlock(&s->q_lock);
		free(rp);
	}
	fids_put_list(s, list);
}

int p9_server_reset(struct p9_server *s)
{
	struct timespec dl;
	unsigned int session;
	int r;

	stuck_deadline(s, &dl);
	pthread_mutex_lock(&s->q_lock);
	r = wait_idle(s, &dl);
	if (r)
		cancel_queued(s);
	pthread_mutex_unlock(&s->q_lock);
	if (r) {
		warn_stuck(s, "resetting");
		fids_put_async(s, fids_detach_all(s, &session));
	} else {
		fids_clunk_all(s);
	}
	__atomic_store_n(&s->msize, P9_MAX_MSIZE, __ATOMIC_RELAXED);
	return r;
}

static int workers_start(struct p9_server *s, unsigned int n)
{
	struct p9_worker *w;
	int r;

	s->threads = calloc(n, sizeof(*s->threads));
	s->running = calloc(n, sizeof(*s->running));
	s->parked = calloc(n, sizeof(*s->parked));
	if (!s->threads || !s->running || !s->parked)
		return -ENOMEM;
	while (s->nr_threads < n) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->s = s;
		w->idx = s->nr_threads;
		pthread_mutex_lock(&s->q_lock);
		s->nr_live++;
		pthread_mutex_unlock(&s->q_lock);
		/* No signals, and only the capabilities lkvm keeps. */
		r = lkvm_thread_create(&s->threads[s->nr_threads],
				       p9_worker_main, w);
		if (r) {
			pthread_mutex_lock(&s->q_lock);
			s->nr_live--;
			pthread_mutex_unlock(&s->q_lock);
			free(w);
			return r;
		}
		s->nr_threads++;
	}
	return 0;
}

/* --- Server object --- */

static int export_open(struct p9_server *s)
{
	struct stat st;

	s->root_fd = open(s->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 || fstat(s->root_fd, &st)) {
		pr_err("9p export '%s': %s", s->path, strerror(errno));
		return -1;
	}
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	/* Re-opens go through the fds' magic links (p9_reopen). */
	s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		pr_err("9p export '%s': cannot open /proc/self/fd (is /proc mounted?): %s",
		       s->path, strerror(errno));
		return -1;
	}
	s->have_openat2 = p9_probe_openat2(s->root_fd);
	s->devs = malloc(sizeof(*s->devs));
	if (!s->devs) {
		pr_err("9p export '%s': out of memory", s->path);
		return -1;
	}
	s->devs[0] = st.st_dev; /* index 0 in qid.path */
	s->nr_devs = 1;
	return 0;
}

static unsigned int fid_hash_size(unsigned int max_fids)
{
	unsigned int n = 16;

	while (n < max_fids && n < P9_FID_HASH_MAX)
		n <<= 1;
	return n;
}

struct p9_server *p9_server_new(const struct p9_server_config *cfg)
{
	struct p9_server *s = calloc(1, sizeof(*s));
	pthread_condattr_t cattr;
	unsigned int threads;
	int r;

	if (!s) {
		pr_err("9p export '%s': out of memory", cfg->path);
		return NULL;
	}
	s->root_fd = s->proc_fd = -1;
	pthread_mutex_init(&s->fid_lock, NULL);
	pthread_mutex_init(&s->q_lock, NULL);
	pthread_cond_init(&s->q_cond, NULL);
	/* Timed waits on q_done must not jump with the wall clock. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->q_done, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_mutex_init(&s->dev_lock, NULL);
	s->cfg = *cfg;
	s->path = strdup(cfg->path);
	s->tag = cfg->tag ? strdup(cfg->tag) : NULL;
	s->cfg.path = s->path;
	s->cfg.tag = s->tag;
	s->readonly = cfg->flags & P9_EXPORT_RO;
	s->passthrough = cfg->flags & P9_EXPORT_PASSTHROUGH;
	s->msize = P9_MAX_MSIZE; /* until Tversion says otherwise */
	s->max_fids = cfg->max_fids ? cfg->max_fids : P9_DEFAULT_MAX_FIDS;
	s->stuck_ms = cfg->stuck_timeout_ms ? cfg->stuck_timeout_ms :
					      P9_STUCK_TIMEOUT_MS;
	s->fid_hash_size = fid_hash_size(s->max_fids);
	s->fid_hash = calloc(s->fid_hash_size, sizeof(*s->fid_hash));
	if (!s->path || (cfg->tag && !s->tag) || !s->fid_hash) {
		pr_err("9p export '%s': out of memory", cfg->path);
		goto fail;
	}
	if (export_open(s))
		goto fail;
	threads = cfg->nr_threads ? cfg->nr_threads : P9_DEFAULT_THREADS;
	if (threads != -1u) {
		r = workers_start(s, threads);
		if (r) {
			pr_err("9p export '%s': cannot start worker threads: %s",
			       s->path, strerror(-r));
			goto fail;
		}
	}
	return s;
fail:
	p9_server_free(s);
	return NULL;
}

/* Everything but the workers (stopped, or exiting on this thread). */
static void server_release(struct p9_server *s)
{
	fids_clunk_all(s);
	if (s->root_fd >= 0)
		close(s->root_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	free(s->fid_hash);
	free(s->devs);
	free(s->running);
	free(s->parked);
	free(s->threads);
	free(s->path);
	free(s->tag);
	pthread_mutex_destroy(&s->fid_lock);
	pthread_mutex_destroy(&s->q_lock);
	pthread_cond_destroy(&s->q_cond);
	pthread_cond_destroy(&s->q_done);
	pthread_mutex_destroy(&s->dev_lock);
	free(s);
}

/*
 * Bounded by the stuck timeout, like p9_server_reset(): at lkvm's exit a
 * stuck worker must not keep the process alive.  Such a worker cannot be
 * cancelled safely, so it is left running with the server intact (its
 * fids, fds and locks): it frees the server when it finishes, and never
 * calls complete() again (the transport may be gone by then).
 */
bool p9_server_free(struct p9_server *s)
{
	struct timespec dl;
	unsigned int i;

	if (!s)
		return true;
	stuck_deadline(s, &dl);
	pthread_mutex_lock(&s->q_lock);
	if (wait_idle(s, &dl))
		cancel_queued(s);
	s->q_stop = true;
	pthread_cond_broadcast(&s->q_cond);
	/* A deadline of its own: after wait_idle() timed out the first one
	 * has passed, and a worker merely busy (not stuck) would be given up
	 * on together with the stuck one. */
	deadline_in(MIN(s->stuck_ms, P9_EXIT_GRACE_MS), &dl);
	while (s->nr_live)
		if (pthread_cond_timedwait(&s->q_done, &s->q_lock, &dl) ==
		    ETIMEDOUT)
			break;
	if (s->nr_live) {
		/* No complete() from now on; one already under way finishes
		 * first (completions never block).  Workers may exit while
		 * we wait: they leave the server to us (not abandoned yet). */
		__atomic_store_n(&s->closing, true, __ATOMIC_RELAXED);
		while (s->nr_completing)
			pthread_cond_wait(&s->q_done, &s->q_lock);
	}
	if (s->nr_live) {
		/* Everything that reads @s happens before the unlock: from
		 * then on the last worker out frees it. */
		warn_stuck(s, "exiting");
		for (i = 0; i < s->nr_threads; i++)
			pthread_detach(s->threads[i]);
		s->abandoned = true;
		pthread_mutex_unlock(&s->q_lock);
		return false;
	}
	pthread_mutex_unlock(&s->q_lock);
	for (i = 0; i < s->nr_threads; i++)
		pthread_join(s->threads[i], NULL);
	server_release(s);
	return true;
}
