/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Disk-image fixtures shared by the disk-layer and virtio-blk tests: a
 * private temporary directory and images filled with a known pattern.
 */
#ifndef LKVM_UNIT_TEST_IMAGES_H
#define LKVM_UNIT_TEST_IMAGES_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
