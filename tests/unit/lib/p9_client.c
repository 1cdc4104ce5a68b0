// SPDX-License-Identifier: GPL-2.0
/*
 * A host-side 9P2000.L client for the unit tests (see p9_client.h): it
 * encodes T-messages with its own little-endian writer (not the server's
 * codec, so a codec bug cannot hide itself), runs them through p9_handle()
 * with one request and one reply buffer, and checks the reply's framing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host_files.h"
#include "p9_client.h"

#define P9C_REQ_INIT 4096

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool err;
};

static void wb_room(struct wbuf *w, size_t n)
{
	size_t cap = w->cap ? w->cap : P9C_REQ_INIT;
	uint8_t *p;

	if (w->err || w->len + n <= w->cap)
		return;
	while (cap < w->len + n)
		cap *= 2;
	p = realloc(w->p, cap);
	if (!p) {
		w->err = true;
		return;
	}
	w->p = p;
	w->cap = cap;
}

static void wb_bytes(struct wbuf *w, const void *data, size_t n)
{
	wb_room(w, n);
	if (w->err)
		return;
	if (n)
		memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void wb_le(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wb_bytes(w, b, n);
}

/* The size field of a finished message. */
static void wb_set_size(struct wbuf *w)
{
	w->p[0] = (uint8_t)w->len;
	w->p[1] = (uint8_t)(w->len >> 8);
	w->p[2] = (uint8_t)(w->len >> 16);
	w->p[3] = (uint8_t)(w->len >> 24);
}

/* Encode @fmt's fields (see p9_client.h); -EINVAL on a bad format. */
static int encode(struct wbuf *w, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		switch (*fmt) {
		case 'b':
			wb_le(w, (uint8_t)va_arg(ap, unsigned int), 1);
			break;
		case 'w':
			wb_le(w, (uint16_t)va_arg(ap, unsigned int), 2);
			break;
		case 'd':
			wb_le(w, va_arg(ap, uint32_t), 4);
			break;
		case 'q':
			wb_le(w, va_arg(ap, uint64_t), 8);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n = s ? strlen(s) : 0;

			wb_le(w, (uint16_t)n, 2);
			wb_bytes(w, s, n);
			break;
		}
		case 'D': {
			uint32_t n = va_arg(ap, uint32_t);
			const void *data = va_arg(ap, const void *);

			wb_le(w, n, 4);
			wb_bytes(w, data, n);
			break;
		}
		default:
			return -EINVAL;
		}
	}
	return w->err ? -ENOMEM : 0;
}

static int decode(struct p9_in *in, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		switch (*fmt) {
		case 'b':
			*va_arg(ap, uint8_t *) = p9_get8(in);
			break;
		case 'w':
			*va_arg(ap, uint16_t *) = p9_get16(in);
			break;
		case 'd':
			*va_arg(ap, uint32_t *) = p9_get32(in);
			break;
		case 'q':
			*va_arg(ap, uint64_t *) = p9_get64(in);
			break;
		case 's':
			p9_getstr(in, va_arg(ap, char *), P9_STR_MAX + 1);
			break;
		case 'Q': {
			struct p9_qid *q = va_arg(ap, struct p9_qid *);

			q->type = p9_get8(in);
			q->version = p9_get32(in);
			q->path = p9_get64(in);
			break;
		}
		case 'D': {
			uint32_t *len = va_arg(ap, uint32_t *);
			void *buf = va_arg(ap, void *);

			*len = p9_get32(in);
			if (!p9_in_ok(in) || in->len - in->pos < *len) {
				in->err = true;
				*len = 0;
				break;
			}
			memcpy(buf, in->buf + in->pos, *len);
			in->pos += *len;
			break;
		}
		default:
			return -EINVAL;
		}
	}
	return p9_in_ok(in) ? 0 : -EPROTO;
}

int p9c_init(struct p9c *c, struct p9_server *s, size_t resp_cap)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->next_tag = 1;
	c->resp_cap = resp_cap;
	c->resp = malloc(resp_cap ? resp_cap : 1);
	return c->resp ? 0 : -ENOMEM;
}

void p9c_fini(struct p9c *c)
{
	free(c->req);
	free(c->resp);
	memset(c, 0, sizeof(*c));
}

int p9c_start(struct p9c *c, const struct p9_server_config *cfg,
	      uint32_t msize, uint32_t root_fid)
{
	struct p9_server *s;
	int r;

	memset(c, 0, sizeof(*c));
	s = p9_server_new(cfg);
	if (!s)
		return -EIO;
	r = p9c_init(c, s, msize);
	return r ? r : p9c_version_attach(c, msize, root_fid);
}

void p9c_stop(struct p9c *c)
{
	struct p9_server *s = c->s;

	p9c_fini(c);
	p9_server_free(s);
}

int p9c_export_init(struct p9c_export *x, const struct p9_server_config *cfg,
		    const char *tag, uint32_t msize, uint32_t root_fid)
{
	struct p9_server_config xcfg = *cfg;
	int r;

	memset(x, 0, sizeof(*x));
	if (!tmp_dir_make(x->dir, sizeof(x->dir), tag))
		return -EIO;
	xcfg.path = x->dir;
	r = p9c_start(&x->c, &xcfg, msize, root_fid);
	x->s = x->c.s;
	return r;
}

void p9c_export_fini(struct p9c_export *x)
{
	p9c_stop(&x->c);
	x->s = NULL;
	tmp_dir_remove(x->dir);
}

/* Linux's tags: anything but P9_NOTAG, which Tversion uses. */
static uint16_t p9c_tag(struct p9c *c)
{
	uint16_t tag = c->next_tag++;

	if (c->next_tag == P9_NOTAG)
		c->next_tag = 1;
	return tag;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Run the message in c->req and check the reply against @type and @tag. */
static int run(struct p9c *c, uint8_t type, uint16_t tag)
{
	struct iovec iov[2] = {
		{ c->req, c->req_len },
		{ c->resp, c->resp_cap },
	};
	const uint8_t *r = c->resp;

	memset(&c->rin, 0, sizeof(c->rin));
	c->rin.buf = c->resp;
	c->resp_len = p9_handle(c->s, iov, 1, 1);
	if (c->resp_len < P9_HDR_LEN || c->resp_len > c->resp_cap ||
	    rd32(r) != c->resp_len || (r[5] | r[6] << 8) != tag)
		return -EPROTO;
	c->rin.buf = c->resp + P9_HDR_LEN;
	c->rin.len = c->resp_len - P9_HDR_LEN;
	/* Rlerror first: it is also "type + 1" of a (bogus) Tlerror. */
	if (r[4] == P9_RLERROR) {
		uint32_t ecode = rd32(r + P9_HDR_LEN);

		if (c->resp_len != P9_HDR_LEN + 4 || !ecode || ecode >= 4096)
			return -EPROTO;
		return -(int)ecode;
	}
	return r[4] == (uint8_t)(type + 1) ? 0 : -EPROTO;
}

int p9c_encode(uint8_t **msg, size_t *len, uint8_t type, uint16_t tag,
	       const char *fmt, va_list ap)
{
	struct wbuf w = { 0 };
	int r;

	wb_le(&w, 0, 4);
	wb_le(&w, type, 1);
	wb_le(&w, tag, 2);
	r = encode(&w, fmt, ap);
	if (!r && w.len > UINT32_MAX)
		r = -E2BIG;
	if (r) {
		free(w.p);
		w.p = NULL;
		w.len = 0;
	} else {
		wb_set_size(&w);
	}
	*msg = w.p;
	*len = w.len;
	return r;
}

int p9c_call(struct p9c *c, uint8_t type, const char *fmt, ...)
{
	uint16_t tag;
	va_list ap;
	int r;

	free(c->req);
	tag = type == P9_TVERSION ? P9_NOTAG : p9c_tag(c);
	va_start(ap, fmt);
	r = p9c_encode(&c->req, &c->req_len, type, tag, fmt, ap);
	va_end(ap);
	return r ? r : run(c, type, tag);
}

int p9c_call_raw(struct p9c *c, const void *msg, size_t len)
{
	const uint8_t *m = msg;

	free(c->req);
	c->req = malloc(len ? len : 1);
	c->req_len = 0;
	if (!c->req)
		return -ENOMEM;
	if (len)
		memcpy(c->req, msg, len);
	c->req_len = len;
	if (len < P9_HDR_LEN) {
		/* No tag to echo: only a zero-length reply is right. */
		struct iovec iov[2] = {
			{ c->req, c->req_len },
			{ c->resp, c->resp_cap },
		};

		c->resp_len = p9_handle(c->s, iov, 1, 1);
		return -EPROTO;
	}
	return run(c, m[4], (uint16_t)(m[5] | m[6] << 8));
}

int p9c_reply(struct p9c *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = decode(&c->rin, fmt, ap);
	va_end(ap);
	return r;
}

int p9c_version_attach(struct p9c *c, uint32_t msize, uint32_t root_fid)
{
	char version[P9_STR_MAX + 1];
	struct p9_qid qid;
	uint32_t got;
	int r;

	r = p9c_call(c, P9_TVERSION, "ds", msize, "9P2000.L");
	if (r)
		return r;
	if (p9c_reply(c, "ds", &got, version) || strcmp(version, "9P2000.L"))
		return -EPROTO;
	r = p9c_call(c, P9_TATTACH, "ddssd", root_fid, P9_NOFID, "root", "",
		     (uint32_t)0);
	if (r)
		return r;
	return p9c_reply(c, "Q", &qid);
}

int p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid, const char *path)
{
	struct wbuf w = { 0 };
	char *copy, *name, *save = NULL;
	uint16_t nwname = 0, nwqid;
	uint16_t tag;
	int r;

	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	/* Count and encode the names after the fixed fields, then patch the
	 * count in: strsep keeps empty components ("a//b" sends "" too). */
	wb_le(&w, 0, 4);
	wb_le(&w, P9_TWALK, 1);
	tag = p9c_tag(c);
	wb_le(&w, tag, 2);
	wb_le(&w, fid, 4);
	wb_le(&w, newfid, 4);
	wb_le(&w, 0, 2);
	save = copy;
	while (*path && (name = strsep(&save, "/")) != NULL) {
		wb_le(&w, (uint16_t)strlen(name), 2);
		wb_bytes(&w, name, strlen(name));
		nwname++;
	}
	free(copy);
	if (w.err) {
		free(w.p);
		return -ENOMEM;
	}
	wb_set_size(&w);
	w.p[15] = (uint8_t)nwname;
	w.p[16] = (uint8_t)(nwname >> 8);
	free(c->req);
	c->req = w.p;
	c->req_len = w.len;
	r = run(c, P9_TWALK, tag);
	if (r)
		return r;
	if (p9c_reply(c, "w", &nwqid))
		return -EPROTO;
	/* A walk that stopped part-way did not create newfid. */
	return nwqid == nwname ? 0 : -ENOENT;
}

int p9c_clunk(struct p9c *c, uint32_t fid)
{
	return p9c_call(c, P9_TCLUNK, "d", fid);
}
