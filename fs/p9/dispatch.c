// SPDX-License-Identifier: GPL-2.0
/*
 * Framing and dispatch of the 9P server: the header of a T-message, its
 * handler, and the R-message (or Rlerror) written back into the guest's
 * buffers.
 *
 * A request's bytes live in guest memory and may change under us: the
 * T-message is copied once (at most P9_REQ_COPY_MAX bytes; for Twrite only
 * its fixed header) and parsed from the copy with the bounded reader.  Bulk
 * data (Tread/Twrite payloads, directory entries) moves straight between
 * the host file and the guest's iovecs, never past their ends.
 */
#include <errno.h>
#include <stdlib.h>

#include "lkvm/util.h"
#include "internal.h"

#define P9_RLERROR_LEN (P9_HDR_LEN + 4)
#define P9_REQ_STACK 1024       /* requests up to this size are not malloc'ed */
#define P9_OUT_MAX 8192         /* largest R-message body built in memory:
				 * Rreadlink, Rgetlock (strings <= 4 KiB) */

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

void p9_put_hdr(uint8_t *p, uint32_t size, uint8_t type, uint16_t tag)
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
size_t p9_resp_room(struct p9_server *s, const struct iovec *iov,
		    unsigned int n)
{
	size_t cap = MIN(p9_iov_total(iov, n), (size_t)server_msize(s));

	return cap < P9_RLERROR_LEN ? 0 : cap;
}

uint32_t p9_reply_error(const struct iovec *iov, unsigned int n,
			uint16_t tag, int err)
{
	uint8_t msg[P9_RLERROR_LEN];

	if (err <= 0 || err >= 4096)
		err = EIO;
	p9_put_hdr(msg, sizeof(msg), P9_RLERROR, tag);
	msg[7] = (uint8_t)err;
	msg[8] = (uint8_t)(err >> 8);
	msg[9] = msg[10] = 0;
	return (uint32_t)p9_iov_copy(iov, n, 0, msg, sizeof(msg), true);
}

/* Header + ctx->out's body; direct data is already in place after it. */
static uint32_t reply_ok(struct p9_ctx *ctx)
{
	size_t len = P9_HDR_LEN + ctx->out.pos + ctx->direct_len;
	uint8_t hdr[P9_HDR_LEN];

	if (len > ctx->resp_cap)
		return p9_reply_error(ctx->resp_iov, ctx->nr_resp, ctx->tag,
				      ENOSPC);
	p9_put_hdr(hdr, (uint32_t)len, ctx->type + 1, ctx->tag);
	p9_iov_copy(ctx->resp_iov, ctx->nr_resp, 0, hdr, sizeof(hdr), true);
	p9_iov_copy(ctx->resp_iov, ctx->nr_resp, P9_HDR_LEN, ctx->out.buf,
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
			return p9_reply_error(ctx->resp_iov, ctx->nr_resp,
					      ctx->tag, ENOMEM);
	}
	p9_iov_copy(ctx->req_iov, ctx->nr_req, P9_HDR_LEN, body, copy, false);
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
	if (ctx->session != p9_server_session(ctx->s)) {
		/* Its session ended meanwhile (a reset gave up waiting for
		 * it): the buffers may be the next driver's by now.  What
		 * the operation itself wrote there (Tread data) is done. */
		len = 0;
		goto out;
	}
	if (!r && ctx->out.err)
		r = -ENOSPC; /* never a truncated reply */
	if (r)
		len = p9_reply_error(ctx->resp_iov, ctx->nr_resp, ctx->tag, -r);
	else
		len = reply_ok(ctx);
out:
	if (body != small)
		free(body);
	return len;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void p9_hdr_read(const struct iovec *iov, unsigned int n,
		 struct p9_hdr *h)
{
	uint8_t b[P9_HDR_LEN] = { 0 };

	h->ok = p9_iov_copy(iov, n, 0, b, sizeof(b), false) == sizeof(b);
	h->size = le32(b);
	h->type = b[4];
	h->tag = (uint16_t)(b[5] | b[6] << 8);
}

uint32_t p9_handle_msg(struct p9_server *s, const struct iovec *iov,
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
	size_t req_bytes = p9_iov_total(iov, nr_out);
	uint32_t len;

	if (parked)
		*parked = false;
	ctx.resp_cap = p9_resp_room(s, ctx.resp_iov, nr_in);
	if (!ctx.resp_cap)
		return 0;
	/* The size field must be sane and the message all there. */
	if (!h->ok || h->size < P9_HDR_LEN || h->size > req_bytes)
		return p9_reply_error(ctx.resp_iov, nr_in, ctx.tag, EINVAL);
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

	p9_hdr_read(iov, nr_out, &h);
	return p9_handle_msg(s, iov, nr_out, nr_in, &h, NULL, -1,
			     p9_server_session(s), NULL);
}

/* Room for Rread/Rreaddir data after the 11-byte header. */
size_t p9_data_room(const struct p9_ctx *ctx, uint32_t count)
{
	return MIN((size_t)count, ctx->resp_cap - P9_IOHDR_LEN);
}
