// SPDX-License-Identifier: GPL-2.0
/*
 * Reading a kernel's release string ("6.1.0-18-amd64", what `uname -r` says
 * in the guest, naming /lib/modules/RELEASE) out of an image: the parts
 * every architecture shares.  The image is untrusted input: every read stays
 * inside it and the word must look like a release.
 */
#include "lkvm/kernel-release.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define RELEASE_MAX 64 /* struct new_utsname.release */

static bool release_char(unsigned char c)
{
	return isgraph(c) && c != '/';
}

/*
 * Copy the word starting at @p (at most @avail bytes to the end of the
 * image) into @buf.  The word must end inside the image, at a space or NUL.
 */
int kernel_release_word(const uint8_t *p, size_t avail, char *buf, size_t cap)
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

int kernel_release_from_banner(const uint8_t *img, size_t len, char *buf,
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
			err = kernel_release_word(word, (size_t)(end - word), buf, cap);
			if (!err)
				return 0;
		}
		p = hit + 1;
	}
	return err;
}

