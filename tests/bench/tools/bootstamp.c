// SPDX-License-Identifier: GPL-2.0
/*
 * bootstamp: time a VMM boot.
 *
 *   bootstamp [-q] [-o FILE] MARKER -- COMMAND [ARGS...]
 *
 * Runs COMMAND with its stdout on a pipe, reads that output and prints one
 * line on stdout:
 *
 *   marker_ms=<ms> exit_ms=<ms> status=<n>
 *
 * marker_ms: milliseconds from spawning COMMAND to the first occurrence of
 *            MARKER in its output (-1 if it never appeared);
 * exit_ms:   milliseconds from spawning COMMAND to its exit;
 * status:    its exit status, or 128 + the signal that killed it.
 *
 * Times are CLOCK_MONOTONIC. The child's output is copied to stderr (or to
 * FILE with -o, or dropped with -q); its stdin and stderr are inherited.
 * Exit status: 0 if the command ran (whatever its status), 2 on usage or
 * system errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bootstamp [-q] [-o FILE] MARKER -- COMMAND [ARGS...]\n");
	exit(2);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *marker, *outfile = NULL;
	int quiet = 0, opt, pfd[2], pidfd, copy_fd = -1;
	size_t mlen, keep = 0;
	char *window;
	int64_t t0, marker_ns = -1, exit_ns = -1;
	int status = 0, exited = 0, eof = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+qo:")) != -1) {
		switch (opt) {
		case 'q':
			quiet = 1;
			break;
		case 'o':
			outfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 3 || strcmp(argv[optind + 1], "--") != 0)
		usage();
	marker = argv[optind];
	mlen = strlen(marker);
	if (mlen == 0)
		usage();
	argv += optind + 2;

	if (outfile) {
		copy_fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (copy_fd < 0) {
			fprintf(stderr, "bootstamp: %s: %s\n", outfile, strerror(errno));
			return 2;
		}
	} else if (!quiet) {
		copy_fd = STDERR_FILENO;
	}

	/* Room for the marker's length - 1 carried over plus one read. */
	window = malloc(mlen + 65536);
	if (!window) {
		perror("bootstamp: malloc");
		return 2;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("bootstamp: pipe");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("bootstamp: fork");
		return 2;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "bootstamp: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	/*
	 * Read until the child has exited and its output is drained. The exit
	 * is noticed through a pidfd where the kernel has them (5.3+), so a
	 * grandchild that keeps the pipe open cannot delay exit_ms; without
	 * one, through polling waitpid every millisecond.
	 */
	while (!exited || !eof) {
		struct pollfd p[2];
		int np = 0, timeout = -1, r;

		if (!eof) {
			p[np].fd = pfd[0];
			p[np].events = POLLIN;
			np++;
		}
		if (!exited && pidfd >= 0) {
			p[np].fd = pidfd;
			p[np].events = POLLIN;
			np++;
		}
		if (!exited && pidfd < 0)
			timeout = 1;
		if (exited)
			timeout = 1000; /* drain what is left, briefly */

		r = poll(p, (nfds_t)np, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("bootstamp: poll");
			return 2;
		}
		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				exit_ns = now_ns() - t0;
				exited = 1;
			}
		}
		if (r == 0 && exited)
			break; /* a grandchild holds the pipe: stop reading */
		if (!eof && np > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(pfd[0], window + keep, 65536);

			if (n < 0 && errno != EINTR && errno != EAGAIN) {
				perror("bootstamp: read");
				return 2;
			}
			if (n == 0)
				eof = 1;
			if (n > 0) {
				size_t len = keep + (size_t)n;

				if (marker_ns < 0 && memmem(window, len, marker, mlen))
					marker_ns = now_ns() - t0;
				if (copy_fd >= 0 && write_all(copy_fd, window + keep, (size_t)n) < 0)
					copy_fd = -1;
				/* Keep a marker's length - 1 for a match split across reads. */
				keep = len < mlen - 1 ? len : mlen - 1;
				memmove(window, window + len - keep, keep);
			}
		}
	}
	if (!exited) {
		if (waitpid(pid, &status, 0) < 0) {
			perror("bootstamp: waitpid");
			return 2;
		}
		exit_ns = now_ns() - t0;
	}

	if (WIFEXITED(status))
		status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		status = 128 + WTERMSIG(status);
	printf("marker_ms=%lld exit_ms=%lld status=%d\n",
	       marker_ns < 0 ? -1LL : (long long)(marker_ns / 1000000),
	       (long long)(exit_ns / 1000000), status);
	return 0;
}
