// SPDX-License-Identifier: GPL-2.0
/*
 * The 9P server's fid table and read-side operations on a temp directory
 * (fs/p9/): the fid limit, EEXIST/ENOENT rules,
 * walks (partial, "..", clone onto itself), reads and writes straight
 * through split iovecs, a 2000-entry directory read in small pieces, opens
 * of FIFOs/sockets/symlinks refused, locks and xattrs, and the worker pool:
 * many submitters, Tflush of queued and running requests.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "host_files.h"
#include "p9_client.h"
#include "p9_treq.h"
#include "test.h"

#define ROOT 1u
#define MSIZE 16384u

/* A server on a temporary directory, a client attached as ROOT. */
static bool fx_init_cfg(struct p9c_export *fx,
			const struct p9_server_config *cfg)
{
	return CHECK_EQ(p9c_export_init(fx, cfg, "p9-fid", MSIZE, ROOT), 0);
}

static bool fx_init(struct p9c_export *fx)
{
	struct p9_server_config cfg = { .nr_threads = -1u };

	return fx_init_cfg(fx, &cfg);
}

static void host_path(struct p9c_export *fx, const char *name, char *buf,
		      size_t n)
{
	snprintf(buf, n, "%s/%s", fx->dir, name);
}

static void host_write(struct p9c_export *fx, const char *name,
		       const void *data, size_t len)
{
	REQUIRE(file_put_at(fx->dir, name, data, len, 0644) == 0);
}

static void host_mkdir(struct p9c_export *fx, const char *name)
{
	char path[300];

	host_path(fx, name, path, sizeof(path));
	CHECK_EQ(mkdir(path, 0755), 0);
}

static int walk_qid(struct p9c_export *fx, uint32_t fid, uint32_t newfid,
		    const char *path, struct p9_qid *last)
{
	uint16_t n, i;
	int r = p9c_walk(&fx->c, fid, newfid, path);

	if (r)
		return r;
	fx->c.rin.pos = 0;
	if (p9c_reply(&fx->c, "w", &n))
		return -EPROTO;
	for (i = 0; i < n; i++)
		if (p9c_reply(&fx->c, "Q", last))
			return -EPROTO;
	return 0;
}

static int getattr_qid(struct p9c_export *fx, uint32_t fid, struct p9_qid *qid)
{
	uint64_t valid;
	int r = p9c_call(&fx->c, P9_TGETATTR, "dq", fid, P9_GETATTR_BASIC);

	return r ? r : p9c_reply(&fx->c, "qQ", &valid, qid);
}

/* --- The fid table --- */

TEST(fid_limit)
{
	struct p9_server_config cfg = { .max_fids = 16, .nr_threads = -1u };
	struct p9c_export fx;
	uint32_t i;

	if (!fx_init_cfg(&fx, &cfg))
		goto out;
	for (i = 2; i <= 16; i++)
		CHECK_EQ(p9c_walk(&fx.c, ROOT, i, ""), 0);
	CHECK_EQ(p9_server_nr_fids(fx.s), 16);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 17, ""), -EMFILE);
	CHECK_EQ(p9c_call(&fx.c, P9_TATTACH, "ddssd", 17, P9_NOFID, "u", "", 0),
		 -EMFILE);
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", ROOT, 17, ""), -EMFILE);
	/* Replacing a fid in place does not need a free slot. */
	host_mkdir(&fx, "d");
	CHECK_EQ(p9c_walk(&fx.c, 16, 16, "d"), 0);
	CHECK_EQ(p9c_clunk(&fx.c, 5), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 17, ""), 0);
	CHECK_EQ(p9_server_nr_fids(fx.s), 16);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 18, ""), -EMFILE);
out:
	p9c_export_fini(&fx);
}

TEST(fid_exists_and_unknown)
{
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	CHECK_EQ(p9c_call(&fx.c, P9_TATTACH, "ddssd", ROOT, P9_NOFID, "u", "", 0),
		 -EEXIST);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, ""), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, ""), -EEXIST);
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", ROOT, 2, ""), -EEXIST);
	CHECK_EQ(p9c_walk(&fx.c, 3, 4, ""), -ENOENT);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, P9_NOFID, ""), -EINVAL);
	CHECK_EQ(p9c_clunk(&fx.c, 2), 0);
	CHECK_EQ(p9c_clunk(&fx.c, 2), -ENOENT);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETATTR, "dq", 2, (uint64_t)0), -ENOENT);
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 9, (uint64_t)0, 10), -ENOENT);
	CHECK_EQ(p9_server_nr_fids(fx.s), 1);
	/* A device reset forgets every fid. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, ""), 0);
	p9_server_reset(fx.s);
	CHECK_EQ(p9_server_nr_fids(fx.s), 0);
	CHECK_EQ(p9c_clunk(&fx.c, ROOT), -ENOENT);
out:
	p9c_export_fini(&fx);
}

/* --- Walks --- */

TEST(walk_partial_and_notdir)
{
	struct p9_qid q, qa;
	uint16_t n;
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_mkdir(&fx, "a");
	host_write(&fx, "a/f", "x", 1);
	/* The first name fails: an error. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "nope"), -ENOENT);
	/* A later one: Rwalk with the qids so far, and no newfid. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "a/nope/x"), -ENOENT);
	fx.c.rin.pos = 0;
	CHECK_EQ(p9c_reply(&fx.c, "wQ", &n, &qa), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(qa.type, P9_QTDIR);
	CHECK_EQ(p9c_clunk(&fx.c, 2), -ENOENT);
	/* Through a file. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "a/f/x"), -ENOENT);
	CHECK_EQ(walk_qid(&fx, ROOT, 2, "a/f", &q), 0);
	CHECK_EQ(q.type, P9_QTFILE);
	CHECK_EQ(p9c_walk(&fx.c, 2, 3, "x"), -ENOTDIR);
	CHECK_EQ(p9c_walk(&fx.c, 2, 3, ".."), -ENOTDIR);
	CHECK_EQ(p9c_walk(&fx.c, 2, 3, ""), 0); /* a clone of a file is fine */
	/* newfid == fid: replaced only on full success. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 4, ""), 0);
	CHECK_EQ(p9c_walk(&fx.c, 4, 4, "a/nope"), -ENOENT);
	CHECK_EQ(getattr_qid(&fx, 4, &q), 0);
	CHECK_EQ(q.type, P9_QTDIR);
	CHECK(q.path != qa.path);
	CHECK_EQ(p9c_walk(&fx.c, 4, 4, "a"), 0);
	CHECK_EQ(getattr_qid(&fx, 4, &q), 0);
	CHECK_EQ(q.path, qa.path);
	CHECK_EQ(p9c_walk(&fx.c, 4, 4, ""), 0);
	CHECK_EQ(p9_server_nr_fids(fx.s), 4);
out:
	p9c_export_fini(&fx);
}

TEST(dotdot_at_root_stays)
{
	struct p9_qid root, q, sub;
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_mkdir(&fx, "sub");
	host_mkdir(&fx, "sub/sub2");
	CHECK_EQ(getattr_qid(&fx, ROOT, &root), 0);
	CHECK_EQ(walk_qid(&fx, ROOT, 2, "..", &q), 0);
	CHECK_EQ(q.path, root.path);
	CHECK_EQ(getattr_qid(&fx, 2, &q), 0);
	CHECK_EQ(q.path, root.path);
	CHECK_EQ(walk_qid(&fx, ROOT, 3, "../../../..", &q), 0);
	CHECK_EQ(q.path, root.path);
	CHECK_EQ(walk_qid(&fx, 2, 4, "../sub/../..", &q), 0);
	CHECK_EQ(q.path, root.path);
	/* Ordinary ".." below the root. */
	CHECK_EQ(walk_qid(&fx, ROOT, 5, "sub", &sub), 0);
	CHECK_EQ(walk_qid(&fx, ROOT, 6, "sub/sub2/..", &q), 0);
	CHECK_EQ(q.path, sub.path);
	CHECK_EQ(walk_qid(&fx, 5, 7, "..", &q), 0);
	CHECK_EQ(q.path, root.path);
	CHECK_EQ(walk_qid(&fx, 5, 8, "../..", &q), 0);
	CHECK_EQ(q.path, root.path);
	/* Still inside: a file walked from there is the export's. */
	host_write(&fx, "marker", "m", 1);
	CHECK_EQ(p9c_walk(&fx.c, 8, 9, "marker"), 0);
out:
	p9c_export_fini(&fx);
}

TEST(symlinks_not_followed)
{
	char path[300], target[P9_STR_MAX + 1];
	struct p9_qid q;
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_mkdir(&fx, "d");
	host_path(&fx, "up", path, sizeof(path));
	CHECK_EQ(symlink("/", path), 0);
	host_path(&fx, "d/dl", path, sizeof(path));
	CHECK_EQ(symlink("..", path), 0);
	CHECK_EQ(walk_qid(&fx, ROOT, 2, "up", &q), 0);
	CHECK_EQ(q.type, P9_QTSYMLINK);
	CHECK_EQ(p9c_call(&fx.c, P9_TREADLINK, "d", 2), 0);
	CHECK_EQ(p9c_reply(&fx.c, "s", target), 0);
	CHECK_STREQ(target, "/");
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDONLY), -ELOOP);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 3, "up/etc"), -ENOENT);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 3, "d/dl/d"), -ENOENT);
	CHECK_EQ(p9c_call(&fx.c, P9_TREADLINK, "d", ROOT), -EINVAL);
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", 2, 3, "user.x"), -ENODATA);
	CHECK_EQ(p9_server_nr_fids(fx.s), 2);
out:
	p9c_export_fini(&fx);
}

/* --- Opens --- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(special_files_never_opened)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[300];
	struct p9c_export fx;
	double t0;
	int sk = -1;

	if (!fx_init(&fx))
		goto out;
	host_path(&fx, "fifo", path, sizeof(path));
	CHECK_EQ(mkfifo(path, 0666), 0);
	host_path(&fx, "sock", sa.sun_path, sizeof(sa.sun_path));
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(sk, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "fifo"), 0);
	/* Opening a FIFO with no writer would block: it must not. */
	t0 = now_s();
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDONLY), -EPERM);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_WRONLY), -EPERM);
	CHECK(now_s() - t0 < 5);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 3, "sock"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 3, P9_DOTL_RDWR), -EPERM);
	/* Still PATH fids: reads are refused, getattr works. */
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 2, (uint64_t)0, 10), -EBADF);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETATTR, "dq", 2, (uint64_t)0), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", 2, 4, ""), 0);
out:
	if (sk >= 0)
		close(sk);
	p9c_export_fini(&fx);
}

TEST(lopen_rules)
{
	struct p9_server_config ro = { .flags = P9_EXPORT_RO, .nr_threads = -1u };
	struct p9_qid q;
	uint32_t iounit;
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_write(&fx, "f", "hello", 5);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "f"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDWR), 0);
	CHECK_EQ(p9c_reply(&fx.c, "Qd", &q, &iounit), 0);
	CHECK_EQ(q.type, P9_QTFILE);
	/* Whole pages per Tread/Twrite, as big as msize allows. */
	CHECK_EQ(iounit % 4096, 0);
	CHECK(iounit <= MSIZE - 24 && iounit > MSIZE - 24 - 4096);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDONLY), -EINVAL);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 3, ""), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 3, P9_DOTL_WRONLY), -EISDIR);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 3, P9_DOTL_RDONLY), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 3, (uint64_t)0, 10), -EISDIR);
	CHECK_EQ(p9c_call(&fx.c, P9_TWRITE, "dqD", 3, (uint64_t)0, 1, "x"), -EISDIR);
	CHECK_EQ(p9c_call(&fx.c, P9_TREADDIR, "dqd", 2, (uint64_t)0, 100), -ENOTDIR);
	CHECK_EQ(p9c_call(&fx.c, P9_TFSYNC, "dd", 2, 0), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TFSYNC, "dd", 2, 1), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TFSYNC, "dd", ROOT, 0), -EBADF);
	/* O_TRUNC through the flags mapping. */
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 4, "f"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 4,
			  P9_DOTL_WRONLY | P9_DOTL_TRUNC), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETATTR, "dq", 4, (uint64_t)0), 0);
	{
		char path[300];
		struct stat st;

		host_path(&fx, "f", path, sizeof(path));
		CHECK_EQ(stat(path, &st), 0);
		CHECK_EQ(st.st_size, 0);
	}
	p9c_export_fini(&fx);

	/* A read-only export. */
	if (!fx_init_cfg(&fx, &ro))
		goto out;
	host_write(&fx, "f", "hello", 5);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "f"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_WRONLY), -EROFS);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDWR), -EROFS);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2,
			  P9_DOTL_RDONLY | P9_DOTL_TRUNC), -EROFS);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDONLY), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TWRITE, "dqD", 2, (uint64_t)0, 1, "x"), -EROFS);
out:
	p9c_export_fini(&fx);
}

/* --- Data through split iovecs --- */

TEST(read_write_split_iovecs)
{
	static uint8_t data[70000], back[70000];
	static const size_t rsplit[] = { 1, 10, 3, 4096, 7, 20000, 50000 };
	static const size_t wsplit[] = { 5, 13, 1, 3, 30000, 1, 40000 };
	struct iovec iov[8];
	uint8_t *bufs[8] = { 0 };
	uint8_t req[23], rhdr[11];
	struct p9c_export fx;
	size_t i, off;
	uint32_t n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + (i >> 8));
	{
		struct p9_server_config cfg = { .nr_threads = -1u };

		if (!fx_init_cfg(&fx, &cfg))
			goto out;
	}
	CHECK_EQ(p9c_call(&fx.c, P9_TVERSION, "ds", 1u << 20, "9P2000.L"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TATTACH, "ddssd", ROOT, P9_NOFID, "u", "", 0), 0);
	host_write(&fx, "f", "", 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "f"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDWR), 0);

	/* Twrite: the 23-byte header split after 5 and 18 bytes, the
	 * payload spread over the remaining buffers. */
	req[0] = (uint8_t)(23 + sizeof(data));
	req[1] = (uint8_t)((23 + sizeof(data)) >> 8);
	req[2] = (uint8_t)((23 + sizeof(data)) >> 16);
	req[3] = 0;
	req[4] = P9_TWRITE;
	req[5] = 0x10;
	req[6] = 0;
	memset(req + 7, 0, 16);
	req[7] = 2;
	req[19] = (uint8_t)sizeof(data);
	req[20] = (uint8_t)(sizeof(data) >> 8);
	req[21] = (uint8_t)(sizeof(data) >> 16);
	iov[0] = (struct iovec){ req, 5 };
	iov[1] = (struct iovec){ req + 5, 18 };
	off = 0;
	for (i = 2; i < 7; i++) {
		size_t len = i == 6 ? sizeof(data) - off : wsplit[i];

		iov[i] = (struct iovec){ data + off, len };
		off += len;
	}
	iov[7] = (struct iovec){ rhdr, sizeof(rhdr) };
	n = p9_handle(fx.s, iov, 7, 1);
	CHECK_EQ(n, 11);
	CHECK_EQ(rhdr[4], P9_RWRITE);
	CHECK_EQ(rhdr[7] | rhdr[8] << 8 | rhdr[9] << 16, sizeof(data));

	/* Tread into reply buffers of odd sizes. */
	memset(req, 0, sizeof(req));
	req[0] = 23;
	req[4] = P9_TREAD;
	req[7] = 2;
	req[19] = (uint8_t)sizeof(data);
	req[20] = (uint8_t)(sizeof(data) >> 8);
	req[21] = (uint8_t)(sizeof(data) >> 16);
	iov[0] = (struct iovec){ req, 23 };
	for (i = 0; i < ARRAY_SIZE(rsplit); i++) {
		bufs[i] = malloc(rsplit[i]);
		REQUIRE(bufs[i]);
		iov[1 + i] = (struct iovec){ bufs[i], rsplit[i] };
	}
	n = p9_handle(fx.s, iov, 1, ARRAY_SIZE(rsplit));
	CHECK_EQ(n, 11 + sizeof(data));
	CHECK_EQ(bufs[1][3], P9_RREAD);
	/* Gather the reply back. */
	{
		uint8_t *all = malloc(n);
		size_t pos = 0;

		REQUIRE(all);
		for (i = 0; i < ARRAY_SIZE(rsplit) && pos < n; i++) {
			size_t take = MIN(rsplit[i], n - pos);

			memcpy(all + pos, bufs[i], take);
			pos += take;
		}
		memcpy(back, all + 11, sizeof(data));
		CHECK_EQ(all[7] | all[8] << 8 | all[9] << 16, sizeof(data));
		free(all);
	}
	CHECK(!memcmp(back, data, sizeof(data)));
out:
	for (i = 0; i < ARRAY_SIZE(bufs); i++)
		free(bufs[i]);
	p9c_export_fini(&fx);
}

/* --- Readdir --- */

#define NR_ENTRIES 2000

/* Read the whole directory of fid 2 with @count-byte requests; marks each
 * name in @seen and returns the number of entries. */
static int read_dir(struct p9c_export *fx, uint32_t count, unsigned int *seen,
		    unsigned int *dots, uint64_t *mid_off, unsigned int *calls)
{
	uint8_t *buf = malloc(MSIZE);
	uint64_t offset = 0;
	int total = 0;

	*calls = 0;
	while (buf) {
		struct p9_in in;
		uint32_t len;

		if (!CHECK_EQ(p9c_call(&fx->c, P9_TREADDIR, "dqd", 2, offset,
				       count), 0) ||
		    !CHECK_EQ(p9c_reply(&fx->c, "D", &len, buf), 0))
			break;
		(*calls)++;
		CHECK(len <= count);
		if (!len)
			break;
		in = (struct p9_in){ .buf = buf, .len = len };
		while (in.pos < in.len) {
			char name[P9_NAME_MAX + 1];
			struct p9_qid q;
			unsigned int k;
			uint8_t type;

			q.type = p9_get8(&in);
			q.version = p9_get32(&in);
			q.path = p9_get64(&in);
			offset = p9_get64(&in);
			type = p9_get8(&in);
			p9_getstr(&in, name, sizeof(name));
			if (!CHECK(p9_in_ok(&in)))
				break;
			total++;
			if (!strcmp(name, ".") || !strcmp(name, "..")) {
				CHECK_EQ(type, DT_DIR);
				CHECK_EQ(q.type, P9_QTDIR);
				(*dots)++;
			} else if (CHECK_EQ(sscanf(name, "file-%u", &k), 1) &&
				   CHECK(k < NR_ENTRIES)) {
				CHECK_EQ(type, DT_REG);
				seen[k]++;
				if (k == NR_ENTRIES / 2)
					*mid_off = offset;
			}
		}
	}
	free(buf);
	return total;
}

TEST(readdir_2000_entries)
{
	static unsigned int seen[NR_ENTRIES];
	uint64_t mid = 0, dummy;
	unsigned int i, dots = 0, calls, bad = 0;
	char name[32];
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	for (i = 0; i < NR_ENTRIES; i++) {
		snprintf(name, sizeof(name), "file-%u", i);
		host_write(&fx, name, "", 0);
	}
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, ""), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TREADDIR, "dqd", 2, (uint64_t)0, 1000), -EBADF);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDONLY), 0);
	/* Small requests: a few entries each. */
	CHECK_EQ(read_dir(&fx, 150, seen, &dots, &mid, &calls), NR_ENTRIES + 2);
	CHECK(calls > NR_ENTRIES / 6);
	for (i = 0; i < NR_ENTRIES; i++)
		bad += seen[i] != 1;
	CHECK_EQ(bad, 0);
	CHECK_EQ(dots, 2);
	/* Again from offset 0 with big requests: everything once more. */
	memset(seen, 0, sizeof(seen));
	dots = 0;
	CHECK_EQ(read_dir(&fx, MSIZE, seen, &dots, &dummy, &calls), NR_ENTRIES + 2);
	CHECK(calls < 20);
	bad = 0;
	for (i = 0; i < NR_ENTRIES; i++)
		bad += seen[i] != 1;
	CHECK_EQ(bad, 0);
	/* Resuming at an entry's offset gives what follows it. */
	CHECK_EQ(p9c_call(&fx.c, P9_TREADDIR, "dqd", 2, mid, 1000), 0);
	{
		uint32_t len;
		uint8_t buf[1000];

		CHECK_EQ(p9c_reply(&fx.c, "D", &len, buf), 0);
		CHECK(len > 0);
	}
	/* Too small for a single entry. */
	CHECK_EQ(p9c_call(&fx.c, P9_TREADDIR, "dqd", 2, (uint64_t)0, 10), -ENOSPC);
out:
	p9c_export_fini(&fx);
}

/* --- Locks and xattrs --- */

TEST(locks_never_block)
{
	uint8_t status, type;
	uint64_t start, length;
	uint32_t proc;
	char client[P9_STR_MAX + 1];
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_write(&fx, "l", "data", 4);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "l"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 2, P9_DOTL_RDWR), 0);
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 3, "l"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOCK, "dbdqqds", 3, P9_LOCK_TYPE_WRLCK, 0,
			  (uint64_t)0, (uint64_t)0, 1, "c"), -EBADF);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOPEN, "dd", 3, P9_DOTL_RDWR), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOCK, "dbdqqds", 2, P9_LOCK_TYPE_WRLCK,
			  P9_LOCK_FLAGS_BLOCK, (uint64_t)0, (uint64_t)0, 1, "c"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "b", &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOCK, "dbdqqds", 3, P9_LOCK_TYPE_RDLCK,
			  P9_LOCK_FLAGS_BLOCK, (uint64_t)0, (uint64_t)2, 2, "c"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "b", &status), 0);
	CHECK_EQ(status, P9_LOCK_BLOCKED);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETLOCK, "dbqqds", 3, P9_LOCK_TYPE_RDLCK,
			  (uint64_t)0, (uint64_t)2, 2, "client"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "bqqds", &type, &start, &length, &proc, client), 0);
	CHECK_EQ(type, P9_LOCK_TYPE_WRLCK);
	CHECK_STREQ(client, "client");
	/* Bad lock type: an error status, not a crash. */
	CHECK_EQ(p9c_call(&fx.c, P9_TLOCK, "dbdqqds", 3, 9, 0, (uint64_t)0,
			  (uint64_t)0, 2, "c"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "b", &status), 0);
	CHECK_EQ(status, P9_LOCK_ERROR);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOCK, "dbdqqds", 2, P9_LOCK_TYPE_UNLCK, 0,
			  (uint64_t)0, (uint64_t)0, 1, "c"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TLOCK, "dbdqqds", 3, P9_LOCK_TYPE_RDLCK, 0,
			  (uint64_t)0, (uint64_t)2, 2, "c"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "b", &status), 0);
	CHECK_EQ(status, P9_LOCK_SUCCESS);
	CHECK_EQ(p9c_call(&fx.c, P9_TGETLOCK, "dbqqds", 2, P9_LOCK_TYPE_RDLCK,
			  (uint64_t)0, (uint64_t)0, 1, "c"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "b", &type), 0);
	CHECK_EQ(type, P9_LOCK_TYPE_UNLCK);
out:
	p9c_export_fini(&fx);
}

TEST(xattr_read)
{
	char path[300], list[64];
	uint64_t size;
	uint32_t count;
	struct p9c_export fx;

	if (!fx_init(&fx))
		goto out;
	host_write(&fx, "x", "", 0);
	host_path(&fx, "x", path, sizeof(path));
	if (setxattr(path, "user.lkvm", "value", 5, 0)) {
		printf("  (no user xattrs here: %s)\n", strerror(errno));
		goto out;
	}
	CHECK_EQ(p9c_walk(&fx.c, ROOT, 2, "x"), 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", 2, 3, "user.lkvm"), 0);
	CHECK_EQ(p9c_reply(&fx.c, "q", &size), 0);
	CHECK_EQ(size, 5);
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 3, (uint64_t)1, 100), 0);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, list), 0);
	CHECK_EQ(count, 4);
	CHECK(!memcmp(list, "alue", 4));
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 3, (uint64_t)9, 100), 0);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, list), 0);
	CHECK_EQ(count, 0);
	CHECK_EQ(p9c_call(&fx.c, P9_TWRITE, "dqD", 3, (uint64_t)0, 1, "x"), -EBADF);
	CHECK_EQ(p9c_clunk(&fx.c, 3), 0);
	/* The list. */
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", 2, 3, ""), 0);
	CHECK_EQ(p9c_reply(&fx.c, "q", &size), 0);
	CHECK(size >= 10);
	CHECK_EQ(p9c_call(&fx.c, P9_TREAD, "dqd", 3, (uint64_t)0, 64), 0);
	CHECK_EQ(p9c_reply(&fx.c, "D", &count, list), 0);
	CHECK(memmem(list, count, "user.lkvm", 10) != NULL);
	CHECK_EQ(p9c_call(&fx.c, P9_TXATTRWALK, "dds", 2, 4, "user.none"), -ENODATA);
	CHECK_EQ(p9_server_nr_fids(fx.s), 3);
out:
	p9c_export_fini(&fx);
}

/* --- The worker pool --- */

#define NR_SUBMITTERS 4
#define PER_SUBMITTER 50

struct submitter {
	struct p9_server *s;
	struct treq *reqs;
	unsigned int first;
};

static void *submit_many(void *arg)
{
	struct submitter *sb = arg;
	unsigned int i;

	for (i = 0; i < PER_SUBMITTER; i++)
		p9_submit(sb->s, &sb->reqs[sb->first + i].req);
	return NULL;
}

TEST(submit_from_many_threads)
{
	struct p9_server_config cfg = { .nr_threads = 4 };
	struct submitter sb[NR_SUBMITTERS];
	pthread_t th[NR_SUBMITTERS];
	struct treq *reqs = calloc(NR_SUBMITTERS * PER_SUBMITTER, sizeof(*reqs));
	unsigned int i, ok = 0;
	struct p9c_export fx;

	gate_reset();
	if (!reqs || !fx_init_cfg(&fx, &cfg))
		goto out;
	for (i = 0; i < NR_SUBMITTERS * PER_SUBMITTER; i++)
		treq_getattr(&reqs[i], (uint16_t)(100 + i), i % 3 ? ROOT : 999);
	for (i = 0; i < NR_SUBMITTERS; i++) {
		sb[i] = (struct submitter){ fx.s, reqs, i * PER_SUBMITTER };
		CHECK_EQ(pthread_create(&th[i], NULL, submit_many, &sb[i]), 0);
	}
	for (i = 0; i < NR_SUBMITTERS; i++)
		pthread_join(th[i], NULL);
	p9_server_drain(fx.s);
	for (i = 0; i < NR_SUBMITTERS * PER_SUBMITTER; i++) {
		struct treq *t = &reqs[i];
		bool good = t->completions == 1 && treq_resp_tag(t) == 100 + i &&
			    (i % 3 ? t->written == 160 && t->resp[4] == P9_RGETATTR :
				     t->written == 11 && t->resp[4] == P9_RLERROR);

		ok += good;
	}
	CHECK_EQ(ok, NR_SUBMITTERS * PER_SUBMITTER);
out:
	p9c_export_fini(&fx);
	free(reqs);
}

TEST(flush_queued_request)
{
	struct p9_server_config cfg = { .nr_threads = 1 };
	struct treq a, b, c, f;
	struct p9c_export fx;

	gate_reset();
	if (!fx_init_cfg(&fx, &cfg))
		goto out;
	/* A holds the only worker (inside its completion). */
	treq_getattr(&a, 1, ROOT);
	a.block = true;
	p9_submit(fx.s, &a.req);
	REQUIRE(gate_wait_entered(1, 5000));
	treq_getattr(&b, 5, ROOT);
	treq_getattr(&c, 6, ROOT);
	treq_flush(&f, 7, 5);
	p9_submit(fx.s, &b.req);
	p9_submit(fx.s, &c.req);
	p9_submit(fx.s, &f.req);
	CHECK_EQ(b.completions + c.completions + f.completions, 0);
	gate_release();
	p9_server_drain(fx.s);
	CHECK_EQ(b.completions, 1);
	CHECK_EQ(f.completions, 1);
	CHECK_EQ(c.completions, 1);
	/* B never ran: Rlerror(EINTR), before the Rflush; C ran. */
	CHECK_EQ(b.written, 11);
	CHECK_EQ(b.resp[4], P9_RLERROR);
	CHECK_EQ(b.resp[7], EINTR);
	CHECK_EQ(treq_resp_tag(&b), 5);
	CHECK_EQ(f.written, 7);
	CHECK_EQ(f.resp[4], P9_RFLUSH);
	CHECK_EQ(treq_resp_tag(&f), 7);
	CHECK(b.order < f.order);
	CHECK_EQ(c.resp[4], P9_RGETATTR);
out:
	p9c_export_fini(&fx);
}

TEST(flush_running_request)
{
	struct p9_server_config cfg = { .nr_threads = 2 };
	struct treq a, f, u;
	struct p9c_export fx;

	gate_reset();
	if (!fx_init_cfg(&fx, &cfg))
		goto out;
	treq_getattr(&a, 9, ROOT);
	a.block = true;
	p9_submit(fx.s, &a.req);
	REQUIRE(gate_wait_entered(1, 5000));
	/* The flush waits for A, which is still running. */
	treq_flush(&f, 10, 9);
	p9_submit(fx.s, &f.req);
	usleep(100 * 1000);
	CHECK_EQ(__atomic_load_n(&f.completions, __ATOMIC_SEQ_CST), 0);
	gate_release();
	p9_server_drain(fx.s);
	CHECK_EQ(a.completions, 1);
	CHECK_EQ(f.completions, 1);
	CHECK_EQ(a.resp[4], P9_RGETATTR);
	CHECK_EQ(f.resp[4], P9_RFLUSH);
	CHECK(a.order < f.order);
	/* A tag nobody uses: Rflush at once. */
	treq_flush(&u, 11, 1234);
	p9_submit(fx.s, &u.req);
	p9_server_drain(fx.s);
	CHECK_EQ(u.completions, 1);
	CHECK_EQ(u.resp[4], P9_RFLUSH);
	/* And synchronously. */
	CHECK_EQ(p9c_call(&fx.c, P9_TFLUSH, "w", 4321), 0);
out:
	p9c_export_fini(&fx);
}

TEST(server_new_errors)
{
	struct p9_server_config cfg = { .path = "/nonexistent/lkvm-p9", .nr_threads = -1u };
	char file[] = "/tmp/lkvm-p9-fileXXXXXX";
	int fd;

	CHECK_NULL(p9_server_new(&cfg));
	fd = mkstemp(file);
	REQUIRE(fd >= 0);
	close(fd);
	cfg.path = file;
	CHECK_NULL(p9_server_new(&cfg));
	unlink(file);
}

int main(void)
{
	RUN(fid_limit);
	RUN(fid_exists_and_unknown);
	RUN(walk_partial_and_notdir);
	RUN(dotdot_at_root_stays);
	RUN(symlinks_not_followed);
	RUN(special_files_never_opened);
	RUN(lopen_rules);
	RUN(read_write_split_iovecs);
	RUN(readdir_2000_entries);
	RUN(locks_never_block);
	RUN(xattr_read);
	RUN(submit_from_many_threads);
	RUN(flush_queued_request);
	RUN(flush_running_request);
	RUN(server_new_errors);
	return test_summary();
}
