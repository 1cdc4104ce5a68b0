// SPDX-License-Identifier: GPL-2.0
/*
 * blkio: the guest side of the block benchmark (tests/bench/blk-io.sh).
 * A tiny static stand-in for fio, small enough for the L2 initramfs (the
 * distribution's fio drags in ~100 MB of libraries):
 *
 *   blkio seqwrite DEV MiB        O_DIRECT sequential 1 MiB writes, fdatasync
 *   blkio seqread  DEV MiB        O_DIRECT sequential 1 MiB reads
 *   blkio randread DEV SECS DEPTH MiB
 *                                 O_DIRECT 4 KiB random reads within the
 *                                 first MiB of DEV, DEPTH in flight through
 *                                 Linux AIO (io_submit), for SECS seconds
 *
 * Prints one line: "BLKIO op=... bytes=N usecs=N mbps=X iops=Y".
 * Linux AIO is used through its system calls, so no libaio is needed.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS (1u << 20)
#define RAND_BS 4096u
#define MAX_DEPTH 256

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void report(const char *op, uint64_t bytes, uint64_t ios, uint64_t us)
{
	if (us == 0)
		us = 1;
	printf("BLKIO op=%s bytes=%" PRIu64 " usecs=%" PRIu64 " mbps=%.1f iops=%.0f\n",
	       op, bytes, us, (double)bytes / (double)us, (double)ios * 1e6 / (double)us);
	fflush(stdout);
}

static void *xalign(size_t n)
{
	void *p;

	/* O_DIRECT wants buffers aligned to the logical block size. */
	if (posix_memalign(&p, 4096, n)) {
		fprintf(stderr, "blkio: out of memory\n");
		exit(1);
	}
	memset(p, 0x5a, n);
	return p;
}

static int open_dev(const char *dev, int flags)
{
	int fd = open(dev, flags | O_DIRECT);

	if (fd < 0) {
		fprintf(stderr, "blkio: open %s: %s\n", dev, strerror(errno));
		exit(1);
	}
	return fd;
}

static int seq(const char *op, const char *dev, uint64_t mib)
{
	int wr = strcmp(op, "seqwrite") == 0;
	int fd = open_dev(dev, wr ? O_WRONLY : O_RDONLY);
	char *buf = xalign(SEQ_BS);
	uint64_t t0 = now_us(), off;

	for (off = 0; off < mib * SEQ_BS; off += SEQ_BS) {
		ssize_t n = wr ? pwrite(fd, buf, SEQ_BS, (off_t)off)
			       : pread(fd, buf, SEQ_BS, (off_t)off);
		if (n != (ssize_t)SEQ_BS) {
			fprintf(stderr, "blkio: %s at %" PRIu64 ": %s\n", op, off,
				n < 0 ? strerror(errno) : "short transfer");
			return 1;
		}
	}
	if (wr && fdatasync(fd)) {
		fprintf(stderr, "blkio: fdatasync: %s\n", strerror(errno));
		return 1;
	}
	report(op, off, off / SEQ_BS, now_us() - t0);
	close(fd);
	free(buf);
	return 0;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64: cheap and good enough to scatter offsets. */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int randread(const char *dev, unsigned int secs, unsigned int depth, uint64_t mib)
{
	static struct iocb cbs[MAX_DEPTH];
	static struct iocb *ptrs[MAX_DEPTH];
	static struct io_event evs[MAX_DEPTH];
	aio_context_t ctx = 0;
	uint64_t blocks = mib * (SEQ_BS / RAND_BS), ios = 0, t0, end;
	int fd = open_dev(dev, O_RDONLY);
	char *bufs = xalign((size_t)depth * RAND_BS);
	unsigned int i;

	if (syscall(SYS_io_setup, depth, &ctx)) {
		fprintf(stderr, "blkio: io_setup: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < depth; i++) {
		memset(&cbs[i], 0, sizeof(cbs[i]));
		cbs[i].aio_fildes = (uint32_t)fd;
		cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uint64_t)(uintptr_t)(bufs + (size_t)i * RAND_BS);
		cbs[i].aio_nbytes = RAND_BS;
		cbs[i].aio_data = i;
	}
	t0 = now_us();
	end = t0 + (uint64_t)secs * 1000000u;
	/* Keep DEPTH reads in flight; resubmit each one as it completes. */
	for (i = 0; i < depth; i++) {
		cbs[i].aio_offset = (int64_t)((rnd() % blocks) * RAND_BS);
		ptrs[i] = &cbs[i];
	}
	if (syscall(SYS_io_submit, ctx, (long)depth, ptrs) != (long)depth) {
		fprintf(stderr, "blkio: io_submit: %s\n", strerror(errno));
		return 1;
	}
	unsigned int inflight = depth;
	while (inflight) {
		long n = syscall(SYS_io_getevents, ctx, 1L, (long)inflight, evs, NULL);
		long k, nsub = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "blkio: io_getevents: %s\n", strerror(errno));
			return 1;
		}
		inflight -= (unsigned int)n;
		int more = now_us() < end;
		for (k = 0; k < n; k++) {
			struct iocb *cb = (struct iocb *)(uintptr_t)evs[k].obj;

			if (evs[k].res != (int64_t)RAND_BS) {
				fprintf(stderr, "blkio: read at %" PRId64 " returned %" PRId64 "\n",
					(int64_t)cb->aio_offset, (int64_t)evs[k].res);
				return 1;
			}
			ios++;
			if (more) {
				cb->aio_offset = (int64_t)((rnd() % blocks) * RAND_BS);
				ptrs[nsub++] = cb;
			}
		}
		if (nsub) {
			if (syscall(SYS_io_submit, ctx, nsub, ptrs) != nsub) {
				fprintf(stderr, "blkio: io_submit: %s\n", strerror(errno));
				return 1;
			}
			inflight += (unsigned int)nsub;
		}
	}
	report("randread", ios * RAND_BS, ios, now_us() - t0);
	syscall(SYS_io_destroy, ctx);
	close(fd);
	free(bufs);
	return 0;
}

static uint64_t num(const char *s, uint64_t lo, uint64_t hi)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || *s == '\0' || *e != '\0' || v < lo || v > hi) {
		fprintf(stderr, "blkio: bad number '%s' (%" PRIu64 "..%" PRIu64 ")\n", s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc == 4 && (!strcmp(argv[1], "seqwrite") || !strcmp(argv[1], "seqread")))
		return seq(argv[1], argv[2], num(argv[3], 1, 1u << 20));
	if (argc == 6 && !strcmp(argv[1], "randread"))
		return randread(argv[2], (unsigned int)num(argv[3], 1, 3600),
				(unsigned int)num(argv[4], 1, MAX_DEPTH), num(argv[5], 1, 1u << 20));
	fprintf(stderr, "usage: blkio seqwrite|seqread DEV MiB | blkio randread DEV SECS DEPTH MiB\n");
	return 2;
}
