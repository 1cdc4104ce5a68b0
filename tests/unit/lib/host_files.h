/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UNIT_HOST_FILES_H
#define LKVM_UNIT_HOST_FILES_H

/*
 * Host files for the unit tests: private temporary directories, small
 * files, and stderr captured while a call runs.  Failures are returned,
 * not CHECKed: test.h's counters belong to each test binary, so the
 * caller checks the result.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh directory ${TMPDIR:-/tmp}/lkvm-test-@tag.XXXXXX, its path in
 * @buf; false (after a message on stdout, @buf "") if it cannot be made. */
bool tmp_dir_make(char *buf, size_t cap, const char *tag);
/* Remove @path and everything below it; links are removed, not followed. */
void tmp_dir_remove(const char *path);

/* @path created or truncated, holding @len bytes of @data, with exactly
 * the mode @mode (no umask): 0 or -errno. */
int file_put(const char *path, const void *data, size_t len, mode_t mode);
/* The same for @name in directory @dir. */
int file_put_at(const char *dir, const char *name, const void *data,
		size_t len, mode_t mode);
/* file_put() of a fixture the tests cannot do without, mode 0644: a
 * failure ends the test binary. */
void file_put_or_exit(const char *path, const void *data, size_t len);

/* stderr (where pr_err writes) collected while a call runs. */
struct capture {
	int saved, fd;
	char text[4096];
};

void capture_start(struct capture *c);
/* Restore stderr; returns what was written (c->text, NUL-terminated,
 * cut at sizeof(c->text) - 1 bytes). */
const char *capture_end(struct capture *c);
unsigned int count_lines(const char *s);
/* How often @needle occurs in @hay (overlaps counted). */
unsigned int count_substr(const char *hay, const char *needle);
/* The text of @path (its first 2 MiB), NUL-terminated, in a buffer that
 * the next call reuses; "" when it cannot be read. */
const char *file_text(const char *path);

#endif
