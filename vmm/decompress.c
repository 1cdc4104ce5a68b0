// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side decompression of kernel payloads with Debian's libraries.
 * Each library is dlopen()ed by SONAME the first time its format is needed:
 * lkvm's start-up must not pay for five libraries on the boots (cache hits,
 * vmlinux, riscv Images) that use none.  The -dev headers give only the
 * prototypes, through typeof, so a signature mismatch is a compile error.
 */
#include <bzlib.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

#include "lkvm/decompress.h"
#include "lkvm/dlib.h"
#include "lkvm/util.h"

enum decomp_format decomp_detect(const uint8_t *p, size_t len)
{
	static const struct {
		uint8_t magic[6];
		uint8_t len;
		enum decomp_format f;
	} magics[] = {
		{ { 0x1f, 0x8b }, 2, DECOMP_GZIP },
		{ { 0xfd, '7', 'z', 'X', 'Z', 0 }, 6, DECOMP_XZ },
		/* Legacy .lzma as `lzma -9` writes it: properties 0x5d
		 * (lc=3 lp=0 pb=2), then a 32-bit dictionary size that is a
		 * multiple of 64 KiB (its low two bytes 0). */
		{ { 0x5d, 0, 0 }, 3, DECOMP_LZMA },
		{ { 0x28, 0xb5, 0x2f, 0xfd }, 4, DECOMP_ZSTD },
		{ { 0x02, 0x21, 0x4c, 0x18 }, 4, DECOMP_LZ4 },
		{ { 0x04, 0x22, 0x4d, 0x18 }, 4, DECOMP_LZ4F },
		{ { 'B', 'Z', 'h' }, 3, DECOMP_BZIP2 },
		{ { 0x89, 'L', 'Z', 'O', 0 }, 5, DECOMP_LZO },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(magics); i++)
		if (len >= magics[i].len && !memcmp(p, magics[i].magic, magics[i].len))
			return magics[i].f;
	return DECOMP_UNKNOWN;
}

const char *decomp_name(enum decomp_format f)
{
	switch (f) {
	case DECOMP_GZIP: return "gzip";
	case DECOMP_XZ: return "xz";
	case DECOMP_LZMA: return "lzma";
	case DECOMP_ZSTD: return "zstd";
	case DECOMP_LZ4: return "lz4";
	case DECOMP_BZIP2: return "bzip2";
	case DECOMP_LZO: return "lzo";
	case DECOMP_LZ4F: return "lz4 (frame format)";
	default: return "unknown";
	}
}

void kernel_blob_release(struct kernel_blob *b)
{
	if (b->map)
		munmap(b->map, b->map_len);
	if (b->has_fd)
		close(b->fd);
	memset(b, 0, sizeof(*b));
}

/* --- The libraries, loaded on demand --- */

#define FN(name) typeof(&name) name
static struct {
	FN(inflateInit2_);
	FN(inflate);
	FN(inflateEnd);
} z;
static struct {
	FN(lzma_stream_decoder);
	FN(lzma_alone_decoder);
	FN(lzma_code);
	FN(lzma_end);
} xz;
static struct {
	FN(ZSTD_createDCtx);
	FN(ZSTD_freeDCtx);
	FN(ZSTD_decompressStream);
	FN(ZSTD_isError);
	FN(ZSTD_getErrorName);
} zs;
static struct {
	FN(LZ4_decompress_safe);
} lz4;
static struct {
	FN(BZ2_bzDecompressInit);
	FN(BZ2_bzDecompress);
	FN(BZ2_bzDecompressEnd);
} bz;
#undef FN

#define SYM(tbl, f) { #f, (void **)&tbl.f }
static const struct lkvm_dlsym z_syms[] = {
	SYM(z, inflateInit2_), SYM(z, inflate), SYM(z, inflateEnd),
};
static const struct lkvm_dlsym xz_syms[] = {
	SYM(xz, lzma_stream_decoder), SYM(xz, lzma_alone_decoder),
	SYM(xz, lzma_code), SYM(xz, lzma_end),
};
static const struct lkvm_dlsym zs_syms[] = {
	SYM(zs, ZSTD_createDCtx), SYM(zs, ZSTD_freeDCtx),
	SYM(zs, ZSTD_decompressStream), SYM(zs, ZSTD_isError),
	SYM(zs, ZSTD_getErrorName),
};
static const struct lkvm_dlsym lz4_syms[] = { SYM(lz4, LZ4_decompress_safe) };
static const struct lkvm_dlsym bz_syms[] = {
	SYM(bz, BZ2_bzDecompressInit), SYM(bz, BZ2_bzDecompress),
	SYM(bz, BZ2_bzDecompressEnd),
};
#undef SYM

static struct lib {
	const char *soname;
	const struct lkvm_dlsym *syms;
	size_t n;
	bool tried, ok;
	char why[160];
} libs[] = {
	[DECOMP_GZIP] = { .soname = "libz.so.1", .syms = z_syms, .n = ARRAY_SIZE(z_syms) },
	[DECOMP_XZ] = { .soname = "liblzma.so.5", .syms = xz_syms, .n = ARRAY_SIZE(xz_syms) },
	[DECOMP_LZMA] = { .soname = "liblzma.so.5", .syms = xz_syms, .n = ARRAY_SIZE(xz_syms) },
	[DECOMP_ZSTD] = { .soname = "libzstd.so.1", .syms = zs_syms, .n = ARRAY_SIZE(zs_syms) },
	[DECOMP_LZ4] = { .soname = "liblz4.so.1", .syms = lz4_syms, .n = ARRAY_SIZE(lz4_syms) },
	[DECOMP_BZIP2] = { .soname = "libbz2.so.1.0", .syms = bz_syms, .n = ARRAY_SIZE(bz_syms) },
};
static pthread_mutex_t libs_lock = PTHREAD_MUTEX_INITIALIZER;

/* The library for @f loaded and its table filled; false with @why set. */
static bool load_lib(enum decomp_format f, char *why, size_t why_len)
{
	struct lib *l = &libs[f];

	pthread_mutex_lock(&libs_lock);
	if (!l->tried) {
		l->tried = true;
		l->ok = !lkvm_dlopen_quiet(l->soname, l->syms, l->n, l->why,
					   sizeof(l->why));
	}
	pthread_mutex_unlock(&libs_lock);
	if (!l->ok)
		snprintf(why, why_len, "%s", l->why);
	return l->ok;
}

/* --- One decoder per format: 0, or -EINVAL with @why --- */

#define TOO_BIG "unpacks to more bytes than its size field says"
#define TRUNCATED "truncated"

static int inflate_gzip(const uint8_t *in, size_t in_len, uint8_t *out,
			size_t *out_len, char *why, size_t why_len)
{
	z_stream s;
	int ret;

	/* zlib counts in uInt; payloads and outputs are far below 4 GiB. */
	if (in_len > UINT32_MAX || *out_len > UINT32_MAX) {
		snprintf(why, why_len, "too large for zlib");
		return -EINVAL;
	}
	memset(&s, 0, sizeof(s));
	/* 16 + MAX_WBITS: a gzip wrapper (header and CRC-32 checked). */
	if (z.inflateInit2_(&s, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof(s)) != Z_OK)
		return -ENOMEM;
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)in_len;
	s.next_out = out;
	s.avail_out = (uInt)*out_len;
	ret = z.inflate(&s, Z_FINISH);
	*out_len = s.total_out;
	if (ret == Z_BUF_ERROR || ret == Z_OK)
		snprintf(why, why_len, "%s", s.avail_out ? TRUNCATED : TOO_BIG);
	else if (ret == Z_MEM_ERROR)
		ret = -ENOMEM;
	else if (ret != Z_STREAM_END)
		snprintf(why, why_len, "zlib: %s", s.msg ? s.msg : "data error");
	z.inflateEnd(&s);
	return ret == Z_STREAM_END ? 0 : ret == -ENOMEM ? -ENOMEM : -EINVAL;
}

static const char *lzma_err(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR: return "not in the format its magic says";
	case LZMA_OPTIONS_ERROR: return "unsupported options";
	case LZMA_DATA_ERROR: return "data error";
	case LZMA_MEMLIMIT_ERROR: return "needs more than the memory limit";
	case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
	default: return "error";
	}
}

static int unxz(bool alone, const uint8_t *in, size_t in_len, uint8_t *out,
		size_t *out_len, char *why, size_t why_len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	/* Linux's payloads use dictionaries of 32 MiB (xz, per
	 * scripts/xz_wrap.sh) or 64 MiB (lzma -9); 256 MiB bounds what a
	 * hostile header can make liblzma allocate. */
	const uint64_t memlimit = 256ULL << 20;
	lzma_ret r;

	/* No LZMA_CONCATENATED: the stream's end is the end, and the size
	 * field Linux appends after it is not read as a second stream. */
	r = alone ? xz.lzma_alone_decoder(&s, memlimit) :
		    xz.lzma_stream_decoder(&s, memlimit, 0);
	if (r != LZMA_OK)
		return -ENOMEM;
	s.next_in = in;
	s.avail_in = in_len;
	s.next_out = out;
	s.avail_out = *out_len;
	/* LZMA_OK until the end, or LZMA_BUF_ERROR once no progress is
	 * possible (input used up, or output full). */
	do
		r = xz.lzma_code(&s, LZMA_FINISH);
	while (r == LZMA_OK);
	*out_len = s.total_out;
	xz.lzma_end(&s);
	if (r == LZMA_STREAM_END)
		return 0;
	if (r == LZMA_MEM_ERROR)
		return -ENOMEM;
	if (r == LZMA_BUF_ERROR)
		snprintf(why, why_len, "%s", s.avail_out ? TRUNCATED : TOO_BIG);
	else
		snprintf(why, why_len, "liblzma: %s", lzma_err(r));
	return -EINVAL;
}

static int unzstd(const uint8_t *in, size_t in_len, uint8_t *out,
		  size_t *out_len, char *why, size_t why_len)
{
	ZSTD_DCtx *d = zs.ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, *out_len, 0 };
	size_t r;
	int err = -EINVAL;

	if (!d)
		return -ENOMEM;
	for (;;) {
		size_t in_was = ib.pos, out_was = ob.pos;

		r = zs.ZSTD_decompressStream(d, &ob, &ib);
		if (zs.ZSTD_isError(r)) {
			snprintf(why, why_len, "libzstd: %s", zs.ZSTD_getErrorName(r));
			break;
		}
		if (!r) { /* the frame is complete */
			err = 0;
			break;
		}
		/* A full output may still end the frame (its checksum is read
		 * without room to write): stop only when a call got nowhere. */
		if (ib.pos == in_was && ob.pos == out_was) {
			snprintf(why, why_len, "%s",
				 ib.pos == ib.size ? TRUNCATED : TOO_BIG);
			break;
		}
	}
	*out_len = ob.pos;
	zs.ZSTD_freeDCtx(d);
	return err;
}

/*
 * lz4's legacy format: the magic, then blocks of a 32-bit little-endian
 * compressed size and that many bytes of one LZ4 block, each unpacking to
 * at most 8 MiB; a repeated magic starts a concatenated stream.  There is no
 * end marker: the input ends it.
 */
#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK (8u << 20)

static int unlz4_legacy(const uint8_t *in, size_t in_len, uint8_t *out,
			size_t *out_len, char *why, size_t why_len)
{
	size_t pos = 4, done = 0;

	while (pos < in_len) {
		uint32_t n;
		int got;

		if (in_len - pos < 4) {
			snprintf(why, why_len, TRUNCATED);
			goto fail;
		}
		n = get_le32(in + pos);
		pos += 4;
		if (n == LZ4_LEGACY_MAGIC)
			continue;
		if (n > in_len - pos || n > INT32_MAX) {
			snprintf(why, why_len, TRUNCATED);
			goto fail;
		}
		if (done == *out_len) {
			snprintf(why, why_len, TOO_BIG);
			goto fail;
		}
		/* LZ4_decompress_safe never writes past its capacity. */
		got = lz4.LZ4_decompress_safe((const char *)in + pos,
					      (char *)out + done, (int)n,
					      (int)MIN((size_t)LZ4_LEGACY_BLOCK,
						       *out_len - done));
		if (got < 0) {
			snprintf(why, why_len, "liblz4: malformed block at offset %zu",
				 pos - 4);
			goto fail;
		}
		done += (size_t)got;
		pos += n;
	}
	*out_len = done;
	return 0;
fail:
	*out_len = done;
	return -EINVAL;
}

static int unbzip2(const uint8_t *in, size_t in_len, uint8_t *out,
		   size_t *out_len, char *why, size_t why_len)
{
	bz_stream s;
	size_t done;
	int ret;

	if (in_len > UINT32_MAX || *out_len > UINT32_MAX) {
		snprintf(why, why_len, "too large for libbz2");
		return -EINVAL;
	}
	memset(&s, 0, sizeof(s));
	if (bz.BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return -ENOMEM;
	s.next_in = (char *)in;
	s.avail_in = (unsigned int)in_len;
	s.next_out = (char *)out;
	s.avail_out = (unsigned int)*out_len;
	/* libbz2 says BZ_OK also when it is stuck: stop when a call got
	 * nowhere (input used up, or output full). */
	do {
		unsigned int in_was = s.avail_in, out_was = s.avail_out;

		ret = bz.BZ2_bzDecompress(&s);
		if (ret == BZ_OK && s.avail_in == in_was && s.avail_out == out_was)
			break;
	} while (ret == BZ_OK);
	done = (size_t)s.total_out_lo32 | (size_t)s.total_out_hi32 << 32;
	*out_len = done;
	bz.BZ2_bzDecompressEnd(&s);
	if (ret == BZ_STREAM_END)
		return 0;
	if (ret == BZ_MEM_ERROR)
		return -ENOMEM;
	if (ret == BZ_OK)
		snprintf(why, why_len, "%s", s.avail_out ? TRUNCATED : TOO_BIG);
	else
		snprintf(why, why_len, "libbz2: data error (%d)", ret);
	return -EINVAL;
}

int decompress(enum decomp_format f, const uint8_t *in, size_t in_len,
	       size_t out_len, struct kernel_blob *out, char *why,
	       size_t why_len)
{
	size_t map_len = ALIGN_UP(out_len ? out_len : 1, 4096), got = out_len;
	uint8_t *buf;
	int err;

	memset(out, 0, sizeof(*out));
	if (f != DECOMP_GZIP && f != DECOMP_XZ && f != DECOMP_LZMA &&
	    f != DECOMP_ZSTD && f != DECOMP_LZ4 && f != DECOMP_BZIP2) {
		snprintf(why, why_len, "lkvm does not decompress %s on the host",
			 decomp_name(f));
		return -ENOTSUP;
	}
	if (!load_lib(f, why, why_len))
		return -ENOTSUP;
	/* Anonymous memory: pages are only committed as they are written,
	 * and the result is handed on without a copy. */
	buf = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -ENOMEM;
	switch (f) {
	case DECOMP_GZIP:
		err = inflate_gzip(in, in_len, buf, &got, why, why_len);
		break;
	case DECOMP_XZ:
	case DECOMP_LZMA:
		err = unxz(f == DECOMP_LZMA, in, in_len, buf, &got, why, why_len);
		break;
	case DECOMP_ZSTD:
		err = unzstd(in, in_len, buf, &got, why, why_len);
		break;
	case DECOMP_LZ4:
		err = unlz4_legacy(in, in_len, buf, &got, why, why_len);
		break;
	default:
		err = unbzip2(in, in_len, buf, &got, why, why_len);
		break;
	}
	if (!err && got != out_len) {
		snprintf(why, why_len, "unpacks to %zu bytes, its size field says %zu",
			 got, out_len);
		err = -EINVAL;
	}
	if (err) {
		if (err == -ENOMEM)
			snprintf(why, why_len, "out of memory");
		munmap(buf, map_len);
		return err;
	}
	mprotect(buf, map_len, PROT_READ);
	*out = (struct kernel_blob){ buf, out_len, buf, map_len, false, -1 };
	return 0;
}
