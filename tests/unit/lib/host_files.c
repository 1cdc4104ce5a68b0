// SPDX-License-Identifier: GPL-2.0
/* Host files for the unit tests (see host_files.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "host_files.h"

bool tmp_dir_make(char *buf, size_t cap, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(buf, cap, "%s/lkvm-test-%s.XXXXXX", tmp, tag);
	if (n < 0 || (size_t)n >= cap) {
		printf("temporary directory name too long: %s/lkvm-test-%s\n",
		       tmp, tag);
		buf[0] = '\0';
		return false;
	}
	if (!mkdtemp(buf)) {
		printf("cannot create %s: %s\n", buf, strerror(errno));
		buf[0] = '\0';
		return false;
	}
	return true;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path))
		printf("cannot remove %s: %s\n", path, strerror(errno));
	return 0; /* remove as much as possible */
}

void tmp_dir_remove(const char *path)
{
	if (path && path[0])
		nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int file_put(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (!r && fchmod(fd, mode))
		r = -errno;
	close(fd);
	return r;
}

int file_put_at(const char *dir, const char *name, const void *data,
		size_t len, mode_t mode)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return file_put(path, data, len, mode);
}

void file_put_or_exit(const char *path, const void *data, size_t len)
{
	int r = file_put(path, data, len, 0644);

	if (r) {
		printf("cannot write %s: %s\n", path, strerror(-r));
		exit(1);
	}
}

/* An anonymous file: nothing to clean up, whatever directory is in use. */
void capture_start(struct capture *c)
{
	c->fd = memfd_create("lkvm-test-stderr", MFD_CLOEXEC);
	c->saved = dup(STDERR_FILENO);
	dup2(c->fd, STDERR_FILENO);
}

const char *capture_end(struct capture *c)
{
	ssize_t n;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	n = pread(c->fd, c->text, sizeof(c->text) - 1, 0);
	c->text[n > 0 ? n : 0] = '\0';
	close(c->fd);
	return c->text;
}

unsigned int count_lines(const char *s)
{
	unsigned int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

unsigned int count_substr(const char *hay, const char *needle)
{
	unsigned int n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

const char *file_text(const char *path)
{
	static char buf[2 << 20];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}
