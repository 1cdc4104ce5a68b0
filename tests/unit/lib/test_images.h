/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Disk-image fixtures shared by the disk-layer and virtio-blk tests: a
 * private temporary directory and images filled with a known pattern.
 */
#ifndef LKVM_UNIT_TEST_IMAGES_H
#define LKVM_UNIT_TEST_IMAGES_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_files.h"

static char tmpdir[64];

/* Byte @i of a fresh image. */
static inline uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 9) * 13 + 1);
}

/* A fresh image of @size bytes filled with pattern(); returns its path
 * (malloc'ed). */
static inline char *make_image(uint64_t size)
{
	static unsigned int seq;
	uint8_t *buf = malloc(size ? size : 1);
	char *path = malloc(128);
	int fd;

	snprintf(path, 128, "%s/img%u", tmpdir, seq++);
	for (uint64_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (size)
			(void)!write(fd, buf, size);
		close(fd);
	}
	free(buf);
	return path;
}

/* The @len bytes at @off of the image open on @fd are @want. */
static inline bool image_is(int fd, uint64_t off, const uint8_t *want,
			    size_t len)
{
	uint8_t *got = malloc(len);
	bool ok = pread(fd, got, len, (off_t)off) == (ssize_t)len &&
		  !memcmp(got, want, len);

	free(got);
	return ok;
}

/* ...are zeroes. */
static inline bool image_is_zero(int fd, uint64_t off, size_t len)
{
	uint8_t *zero = calloc(1, len);
	bool ok = image_is(fd, off, zero, len);

	free(zero);
	return ok;
}

/* ...are still those of a fresh image (pattern()). */
static inline bool image_is_pattern(int fd, uint64_t off, size_t len)
{
	uint8_t *want = malloc(len);
	bool ok;

	for (size_t i = 0; i < len; i++)
		want[i] = pattern(off + i);
	ok = image_is(fd, off, want, len);
	free(want);
	return ok;
}

/* Create tmpdir as ${TMPDIR:-/tmp}/lkvm-test-@tag.XXXXXX; 0 or -1. */
static inline int tmpdir_create(const char *tag)
{
	return tmp_dir_make(tmpdir, sizeof(tmpdir), tag) ? 0 : -1;
}

/* Remove whatever a failed case left behind, then the directory. */
static inline void tmpdir_remove(void)
{
	tmp_dir_remove(tmpdir);
}

#endif
