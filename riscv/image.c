// SPDX-License-Identifier: GPL-2.0
/*
 * The riscv64 Image header (Documentation/arch/riscv/boot-image-header.rst):
 * 64 bytes at the start of the kernel, giving the load offset from a 2 MiB
 * aligned RAM base and the memory the kernel needs.  Untrusted input: every
 * field is checked before lkvm places anything by it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "lkvm/kernel-release.h"

#define IMAGE_HEADER_SIZE 64
#define IMAGE_TEXT_OFFSET 8
#define IMAGE_SIZE 16
#define IMAGE_MAGIC 48   /* "RISCV\0\0\0", deprecated but still written */
#define IMAGE_MAGIC2 56  /* "RSC\x05" since header version 0.2 */

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool has_magic(const uint8_t *img, size_t len)
{
	return len >= IMAGE_HEADER_SIZE &&
	       (!memcmp(img + IMAGE_MAGIC2, "RSC\x05", 4) ||
		!memcmp(img + IMAGE_MAGIC, "RISCV\0\0\0", 8));
}

int riscv_image_parse(const uint8_t *img, size_t len,
		      struct riscv_image_info *info, char *why, size_t why_len)
{
	memset(info, 0, sizeof(*info));
	if (!has_magic(img, len)) {
		snprintf(why, why_len, "is not a riscv64 Image (no RISC-V image header magic)");
		return -EINVAL;
	}
	info->text_offset = get64(img + IMAGE_TEXT_OFFSET);
	info->image_size = get64(img + IMAGE_SIZE);
	/* Old headers leave image_size 0: the file is all there is. */
	if (!info->image_size)
		info->image_size = len;
	if (info->text_offset % 4096 || info->text_offset > (1ULL << 30) ||
	    info->image_size < len || info->image_size > (1ULL << 32)) {
		snprintf(why, why_len,
			 "has an unusable Image header (text_offset %#llx, image_size %#llx, file %zu bytes)",
			 (unsigned long long)info->text_offset,
			 (unsigned long long)info->image_size, len);
		return -EINVAL;
	}
	return 0;
}

int riscv_kernel_release(const uint8_t *img, size_t len, char *buf, size_t cap)
{
	if (!cap)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (!has_magic(img, len))
		return -ENOEXEC;
	/* An Image is the uncompressed kernel: its banner is in there. */
	return kernel_release_from_banner(img, len, buf, cap);
}
