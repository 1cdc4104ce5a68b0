/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DECOMPRESS_H
#define LKVM_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * In-memory decompression of a kernel's payload (vmm/decompress.c) through
 * Debian's libraries, dlopen()ed on first use so that a boot that needs no
 * decompression (a cache hit, a vmlinux) never loads them.
 */
enum decomp_format {
	DECOMP_UNKNOWN,
	DECOMP_GZIP,
	DECOMP_XZ,
	DECOMP_LZMA,  /* legacy .lzma ("LZMA_Alone") */
	DECOMP_ZSTD,
	DECOMP_LZ4,   /* lz4's legacy format (lz4 -l), what Linux builds */
	DECOMP_BZIP2,
	DECOMP_LZO,   /* lzop's format: recognised, not decompressed */
	DECOMP_LZ4F,  /* lz4's frame format: recognised, not decompressed */
};

/* The format @p starts with (its magic number), DECOMP_UNKNOWN if none. */
enum decomp_format decomp_detect(const uint8_t *p, size_t len);
/* "gzip", "xz", ... ("unknown" for DECOMP_UNKNOWN). */
const char *decomp_name(enum decomp_format f);

/* A read-only kernel image that lkvm owns: mapped (a cache file, or
 * anonymous memory holding what was decompressed) or NULL. */
struct kernel_blob {
	const uint8_t *data;
	size_t len;
	void *map;      /* munmap(map, map_len) releases it */
	size_t map_len;
	bool has_fd;    /* a file's mapping (the kernel cache's): @fd, read-only, */
	int fd;         /* kept so segments can be read, not copied from the map */
};
void kernel_blob_release(struct kernel_blob *b);

/*
 * Decompress the stream at @in (@in_len bytes; bytes after the end of the
 * stream are ignored, except for lz4's legacy format, which has no end
 * marker and must be given exactly) into a new anonymous mapping of
 * exactly @out_len bytes: the stream must produce that many bytes, no more
 * and no fewer.  0 and @out filled; otherwise @why (one clause, no
 * period) says why and the result is
 *   -ENOTSUP  lkvm cannot decompress the format here (unsupported format,
 *             or its library is not installed)
 *   -EINVAL   the stream is corrupt or truncated, or its size is not @out_len
 *   -ENOMEM   out of memory
 */
int decompress(enum decomp_format f, const uint8_t *in, size_t in_len,
	       size_t out_len, struct kernel_blob *out, char *why,
	       size_t why_len);

#endif
