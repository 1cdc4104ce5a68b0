// SPDX-License-Identifier: GPL-2.0
/*
 * 9P message codec: bounded little-endian readers and writers over a
 * copied T-message body and an R-message buffer, and iovec slicing for the
 * data that goes straight between guest buffers and host files.
 *
 * Every reader is bounded: a field past the end of the message sets a
 * sticky error and reads as zero, so handlers parse all their fields and
 * check once.  Writers never go past their buffer either.
 */
#include <errno.h>
#include <string.h>

#include "lkvm/util.h"
#include "internal.h"

/* Room for @n more bytes in @in, else the sticky error (and position at
 * the end so later getters fail too). */
static bool in_take(struct p9_in *in, size_t n)
{
	if (in->err || in->len - in->pos < n) {
		in->err = true;
		in->pos = in->len;
		return false;
	}
	return true;
}

static uint64_t get_le(struct p9_in *in, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (!in_take(in, n))
		return 0;
	for (i = 0; i < n; i++)
		v |= (uint64_t)in->buf[in->pos + i] << (8 * i);
	in->pos += n;
	return v;
}

uint8_t p9_get8(struct p9_in *in)
{
	return (uint8_t)get_le(in, 1);
}

uint16_t p9_get16(struct p9_in *in)
{
	return (uint16_t)get_le(in, 2);
}

uint32_t p9_get32(struct p9_in *in)
{
	return (uint32_t)get_le(in, 4);
}

uint64_t p9_get64(struct p9_in *in)
{
	return get_le(in, 8);
}

int p9_getstr(struct p9_in *in, char *dst, size_t cap)
{
	uint16_t len = p9_get16(in);
	const uint8_t *src;

	if (cap)
		dst[0] = '\0';
	if (!in_take(in, len))
		return -EINVAL;
	src = in->buf + in->pos;
	in->pos += len;
	if (memchr(src, '\0', len)) {
		in->err = true;
		return -EINVAL;
	}
	if (!cap || len > cap - 1) {
		in->err = true;
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static uint8_t *out_take(struct p9_out *out, size_t n)
{
	uint8_t *p;

	if (out->err || out->cap - out->pos < n) {
		out->err = true;
		return NULL;
	}
	p = out->buf + out->pos;
	out->pos += n;
	return p;
}

static void put_le(struct p9_out *out, uint64_t v, size_t n)
{
	uint8_t *p = out_take(out, n);
	size_t i;

	if (!p)
		return;
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void p9_put8(struct p9_out *out, uint8_t v)
{
	put_le(out, v, 1);
}

void p9_put16(struct p9_out *out, uint16_t v)
{
	put_le(out, v, 2);
}

void p9_put32(struct p9_out *out, uint32_t v)
{
	put_le(out, v, 4);
}

void p9_put64(struct p9_out *out, uint64_t v)
{
	put_le(out, v, 8);
}

void p9_putstr(struct p9_out *out, const char *s)
{
	size_t len = strlen(s);
	uint8_t *p;

	if (len > UINT16_MAX) {
		out->err = true;
		return;
	}
	p9_put16(out, (uint16_t)len);
	p = out_take(out, len);
	if (p)
		memcpy(p, s, len);
}

void p9_putqid(struct p9_out *out, const struct p9_qid *q)
{
	p9_put8(out, q->type);
	p9_put32(out, q->version);
	p9_put64(out, q->path);
}

/* --- Guest iovecs --- */

size_t p9_iov_total(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += MIN(iov[i].iov_len, SIZE_MAX - total);
	return total;
}

/* Copy @len bytes between @buf and offset @off of an iovec array;
 * returns the bytes copied (fewer if the iovecs end first). */
size_t p9_iov_copy(const struct iovec *iov, unsigned int n, size_t off,
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

unsigned int p9_iov_slice(const struct iovec *iov, unsigned int n, size_t off,
			  size_t len, struct iovec *dst, unsigned int cap,
			  size_t *got)
{
	unsigned int i, nr = 0;
	size_t done = 0;

	for (i = 0; i < n && done < len && nr < cap; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = MIN(iov[i].iov_len - off, len - done);
		dst[nr].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[nr].iov_len = take;
		nr++;
		done += take;
		off = 0;
	}
	*got = done;
	return nr;
}

#define P9_IOHDRSZ 24u /* Twrite header: what msize must leave room for */

uint32_t p9_iounit(const struct p9_server *s)
{
	uint32_t room = s->msize > P9_IOHDRSZ ? s->msize - P9_IOHDRSZ : 0;

	return room >= 4096 ? room & ~4095u : room;
}
