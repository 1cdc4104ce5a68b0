/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_KERNEL_RELEASE_H
#define LKVM_KERNEL_RELEASE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Copy the release word at @p (@avail bytes to the end of the image) into
 * @buf: it must end inside the image at a space or NUL.  0, -ENOENT (no
 * word), -EINVAL (not a release) or -ENAMETOOLONG.
 */
int kernel_release_word(const uint8_t *p, size_t avail, char *buf, size_t cap);
/* The release from the first "Linux version RELEASE " banner in the image
 * (an uncompressed kernel); the same results. */
int kernel_release_from_banner(const uint8_t *img, size_t len, char *buf,
			       size_t cap);

#endif
