/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_COMPRESS_TOOL_H
#define LKVM_UNIT_COMPRESS_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "lkvm/decompress.h"

/*
 * Data compressed at test time by the command-line tools Linux's build uses
 * for a bzImage's payload (gzip, xz, xz --format=lzma, zstd, lz4 -l,
 * bzip2; deps.sh installs them), so the tests decode what a kernel build
 * produces.  Returns a malloc()ed buffer and its length in @out_len, or NULL
 * after a line on stdout naming the missing tool.
 */
uint8_t *compress_with_tool(enum decomp_format f, const void *data,
			    size_t len, size_t *out_len);

#endif
