// SPDX-License-Identifier: GPL-2.0
/*
 * The release string of an x86 kernel image ("6.1.0-18-amd64"), which names
 * its modules directory /lib/modules/RELEASE.  A bzImage points at its
 * version string from the setup header; an ELF vmlinux (PVH) only has the
 * "Linux version RELEASE (...)" banner somewhere in its data.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lkvm/arch-hooks.h"

#define HDRS_OFFSET 0x202
#define HDRS_MAGIC "HdrS"
#define KERNEL_VERSION_OFFSET 0x20e /* u16, relative to 0x200 */
#define RELEASE_MAX 64              /* struct new_utsname.release */

static bool release_char(unsigned char c)
{
	return isgraph(c) && c != '/';
}

/*
 * Copy the word starting at @p (at most @avail bytes to the end of the
 * image) into @buf.  The word must end inside the image, at a space or NUL.
 */
static int copy_word(const uint8_t *p, size_t avail, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < avail && n <= RELEASE_MAX && release_char(p[n]))
		n++;
	if (!n)
		return -ENOENT;
	if (n > RELEASE_MAX || n == avail || (p[n] != ' ' && p[n] != '\0'))
		return -EINVAL;
	if ((n == 1 && p[0] == '.') || (n == 2 && !memcmp(p, "..", 2)))
		return -EINVAL;
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

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
	return copy_word(img + off, len - off, buf, cap);
}

static int vmlinux_release(const uint8_t *img, size_t len, char *buf,
			   size_t cap)
{
	static const char banner[] = "Linux version ";
	const size_t blen = sizeof(banner) - 1;
	const uint8_t *p = img, *end = img + len;
	int err = -ENOENT;

	/* The first banner followed by something that looks like a release:
	 * format strings and messages may say "Linux version " too. */
	while ((size_t)(end - p) > blen) {
		const uint8_t *hit = memmem(p, (size_t)(end - p), banner, blen);
		const uint8_t *word;

		if (!hit)
			break;
		word = hit + blen;
		if (word < end && isdigit(*word)) {
			err = copy_word(word, (size_t)(end - word), buf, cap);
			if (!err)
				return 0;
		}
		p = hit + 1;
	}
	return err;
}

int arch_kernel_release(const uint8_t *img, size_t len, char *buf, size_t cap)
{
	if (!cap)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	if (len >= 4 && !memcmp(img, "\177ELF", 4))
		return vmlinux_release(img, len, buf, cap);
	if (len >= HDRS_OFFSET + 4 && !memcmp(img + HDRS_OFFSET, HDRS_MAGIC, 4))
		return bzimage_release(img, len, buf, cap);
	return -ENOEXEC;
}
