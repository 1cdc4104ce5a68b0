/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KERNEL_CACHE_H
#define LKVM_KERNEL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lkvm/decompress.h"

/*
 * A small on-disk cache of kernels decompressed on the host
 * (vmm/kernel-cache.c), in ${XDG_CACHE_HOME:-$HOME/.cache}/lkvm/: one file
 * per compressed image, named after an XXH3-128 hash of the whole image, so
 * a changed image is a new entry.  Files are written atomically (a temporary
 * file renamed into place) and the directory is pruned to the
 * KCACHE_MAX_ENTRIES most recently used.  Every failure to use the cache is
 * silent (pr_debug): the caller decompresses into memory instead.
 */
#define KCACHE_MAX_ENTRIES 4

struct kcache_entry {
	char dir[4096];  /* "" when there is no usable cache directory */
	char name[64];   /* "vmlinux-<32 hex digits>" */
};

/* The entry for the image at @img (@len bytes); creates the directory.
 * false (and entry->dir "") when the cache cannot be used. */
bool kcache_entry_for(const uint8_t *img, size_t len, struct kcache_entry *e);
/*
 * Map the entry read-only: 0 and @out filled, or -ENOENT (missing) or
 * -EINVAL (its size is not @expect_len: truncated, removed here).  The
 * caller must still verify the contents and kcache_discard() a bad entry.
 * A hit marks the entry as recently used.
 */
int kcache_open(const struct kcache_entry *e, size_t expect_len,
		struct kernel_blob *out);
/* Remove a corrupt entry. */
void kcache_discard(const struct kcache_entry *e);
/* Write @len bytes as the entry (temporary file + rename) and prune. */
int kcache_store(const struct kcache_entry *e, const void *data, size_t len);

#endif
