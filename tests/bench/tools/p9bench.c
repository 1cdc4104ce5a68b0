// SPDX-License-Identifier: GPL-2.0
/*
 * p9bench: the guest side of tests/bench/9p.sh, built static and run in
 * the L2 guest on a 9p mount (Debian's fio needs ~100 MB of libraries).
 *
 *   p9bench seqwrite FILE MIB   write MIB MiB in 1 MiB writes, then fsync
 *   p9bench seqread FILE MIB    read the first MIB MiB in 1 MiB reads
 *   p9bench meta DIR N          create N empty files, stat each, unlink each
 *
 * One line per measurement:
 *   P9BENCH op=seqwrite mib=256 secs=1.234 mbps=207.4
 *   P9BENCH op=create files=5000 secs=2.345 ops=2132.2
 * (meta prints create, stat, unlink and "meta", the three together).
 * MB/s are 10^6 bytes per second. Exit status 0 only if every operation
 * succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "p9bench: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static long parse_count(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > (1L << 30)) {
		fprintf(stderr, "p9bench: bad count '%s'\n", s);
		exit(2);
	}
	return v;
}

static void report_mbps(const char *op, long mib, double secs)
{
	printf("P9BENCH op=%s mib=%ld secs=%.3f mbps=%.1f\n", op, mib, secs,
	       mib * (double)CHUNK / secs / 1e6);
}

static int seq(const char *path, long mib, int writing)
{
	char *buf = malloc(CHUNK);
	double t0;
	int fd;
	long i;

	if (!buf)
		return fail("malloc", "");
	for (i = 0; i < CHUNK; i++)
		buf[i] = 'a' + i % 26;
	fd = writing ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : open(path, O_RDONLY);
	if (fd < 0)
		return fail("open", path);
	t0 = now();
	for (i = 0; i < mib; i++) {
		size_t done = 0;

		while (done < CHUNK) {
			ssize_t r = writing ? write(fd, buf + done, CHUNK - done) :
					      read(fd, buf + done, CHUNK - done);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return fail(writing ? "write" : "read", path);
			if (r == 0) {
				errno = EIO;
				return fail("short file", path);
			}
			done += r;
		}
	}
	if (writing && fsync(fd) < 0)
		return fail("fsync", path);
	report_mbps(writing ? "seqwrite" : "seqread", mib, now() - t0);
	close(fd);
	free(buf);
	return 0;
}

static void report_ops(const char *op, long n, double secs)
{
	printf("P9BENCH op=%s files=%ld secs=%.3f ops=%.1f\n", op, n, secs, n / secs);
}

static int meta(const char *dir, long n)
{
	char path[4096];
	struct stat st;
	double t0, t1, t2, t3;
	long i;
	int fd;

	t0 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/file-%ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			return fail("create", path);
		close(fd);
	}
	t1 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/file-%ld", dir, i);
		if (stat(path, &st) < 0)
			return fail("stat", path);
	}
	t2 = now();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/file-%ld", dir, i);
		if (unlink(path) < 0)
			return fail("unlink", path);
	}
	t3 = now();
	report_ops("create", n, t1 - t0);
	report_ops("stat", n, t2 - t1);
	report_ops("unlink", n, t3 - t2);
	report_ops("meta", 3 * n, t3 - t0);
	return 0;
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: p9bench seqwrite|seqread FILE MIB | p9bench meta DIR N\n");
		return 2;
	}
	if (!strcmp(argv[1], "seqwrite"))
		r = seq(argv[2], parse_count(argv[3]), 1);
	else if (!strcmp(argv[1], "seqread"))
		r = seq(argv[2], parse_count(argv[3]), 0);
	else if (!strcmp(argv[1], "meta"))
		r = meta(argv[2], parse_count(argv[3]));
	else {
		fprintf(stderr, "p9bench: unknown operation '%s'\n", argv[1]);
		return 2;
	}
	fflush(stdout);
	return r;
}
