// SPDX-License-Identifier: GPL-2.0
/*
 * The release string of an x86 kernel image ("6.1.0-18-amd64"), which names
 * its modules directory /lib/modules/RELEASE.  A bzImage points at its
 * version string from the setup header; an ELF vmlinux (PVH) only has the
 * "Linux version RELEASE (...)" banner somewhere in its data.
 */
#include <errno.h>
#include <string.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/kernel-release.h"

#define HDRS_OFFSET 0x202
#define HDRS_MAGIC "HdrS"
#define KERNEL_VERSION_OFFSET 0x20e /* u16, relative to 0x200 */

static int bzimage_release(const uint8_t *img, size_t len, char *buf,
			   size_t cap)
{
	size_t off;

	if (len < KERNEL_VERSION_OFFSET + 2)
		return -ENOEXEC;
	off = (size_t)(img[KERNEL_VERSION_OFFSET] |
		       img[KERNEL_VERSION_OFFSET + 1] << 8);
	if (!off)
		return -ENOENT; /* boot protocol < 2.00, or no string */
	off += 0x200;
	if (off >= len)
		return -EINVAL;
	return kernel_release_word(img + off, len - off, buf, cap);
}

int arch_kernel_release(const uint8_t *img, size_t len, char *buf, size_t cap)
{
	if (!cap)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (len >= 4 && !memcmp(img, "\177ELF", 4))
		return kernel_release_from_banner(img, len, buf, cap);
	if (len >= HDRS_OFFSET + 4 && !memcmp(img + HDRS_OFFSET, HDRS_MAGIC, 4))
		return bzimage_release(img, len, buf, cap);
	return -ENOEXEC;
}
