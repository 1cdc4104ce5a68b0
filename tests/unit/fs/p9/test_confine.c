// SPDX-License-Identifier: GPL-2.0
/*
 * Confinement and ownership of the 9P server (fs/) on a real temporary
 * directory tree: an export directory with a "secret" file and an
 * "outside" directory NEXT TO it.  Hostile names, symlinks made by the
 * guest and by the host, ".." walks, special files, setuid bits, owners,
 * xattr namespaces, read-only exports and a symlink swapped in under a
 * walk must never reach, change or create anything outside the export.
 * Every check that "nothing changed" compares a full snapshot of the tree
 * (types, modes, owners, sizes, mtimes, contents, link targets, xattrs).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include "lkvm/util.h"
#include "host_files.h"
#include "p9_client.h"
#include "test.h"

#define MSIZE 65536u
#define ROOT 0u                 /* the attach fid */
#define SECRET "TOPSECRET\n"
#define OUTSIDE "OUTSIDE\n"
#define INSIDE "INSIDE\n"
#define RACE_ROUNDS 2000

static char long_name[257]; /* 256 bytes: one more than a name may have */

struct env {
	char base[64];             /* the temporary directory */
	char exp[128];             /* base/export: what the server exports */
	char secret[128];          /* base/secret: must stay untouched */
	struct p9_server *s;
	struct p9c c;
};

/* --- Host-side helpers --- */

static void write_file(const char *path, const char *data, mode_t mode)
{
	CHECK_EQ(file_put(path, data, strlen(data), mode), 0);
}

static char *env_path(struct env *e, const char *rel)
{
	static char buf[4][PATH_MAX];
	static unsigned int next;
	char *p = buf[next++ % 4];

	if (snprintf(p, PATH_MAX, "%s/%s", e->exp, rel) >= PATH_MAX)
		abort();
	return p;
}

static bool host_exists(struct env *e, const char *rel)
{
	struct stat st;

	return !lstat(env_path(e, rel), &st);
}

static mode_t host_mode(struct env *e, const char *rel)
{
	struct stat st;

	return lstat(env_path(e, rel), &st) ? (mode_t)-1 : st.st_mode;
}

static void make_tree(struct env *e)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/outside", e->base);
	CHECK_EQ(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/outside/f", e->base);
	write_file(p, OUTSIDE, 0644);
	write_file(e->secret, SECRET, 0640);
	CHECK_EQ(mkdir(e->exp, 0755), 0);
	write_file(env_path(e, "file"), "hello\n", 0644);
	CHECK_EQ(mkdir(env_path(e, "a"), 0755), 0);
	write_file(env_path(e, "a/b"), "ab\n", 0644);
	CHECK_EQ(mkdir(env_path(e, "sub"), 0755), 0);
	/* Host-made symlinks that point out of the export. */
	CHECK_EQ(symlink("../secret", env_path(e, "esc")), 0);
	CHECK_EQ(symlink(e->secret, env_path(e, "abs")), 0);
	CHECK_EQ(symlink("../outside", env_path(e, "escdir")), 0);
}

static bool env_init(struct env *e, unsigned int flags)
{
	struct p9_server_config cfg = {
		.tag = "confine",
		.flags = flags,
		.nr_threads = -1u,
	};
	int r;

	memset(e, 0, sizeof(*e));
	memset(long_name, 'a', 256);
	if (!CHECK(tmp_dir_make(e->base, sizeof(e->base), "p9-confine")))
		return false;
	snprintf(e->exp, sizeof(e->exp), "%s/export", e->base);
	snprintf(e->secret, sizeof(e->secret), "%s/secret", e->base);
	make_tree(e);
	cfg.path = e->exp;
	r = p9c_start(&e->c, &cfg, MSIZE, ROOT);
	e->s = e->c.s;
	return CHECK_EQ(r, 0);
}

static void env_fini(struct env *e)
{
	p9c_stop(&e->c);
	e->s = NULL;
	tmp_dir_remove(e->base);
}

/*
 * A snapshot of everything under the temporary directory (export, secret
 * and outside), one sorted line per entry.
 */
static char **snap_lines;
static size_t snap_n, snap_cap, snap_skip;

static uint64_t file_hash(const char *path)
{
	uint64_t h = 1469598103934665603ULL;
	uint8_t buf[4096];
	ssize_t n, i;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
	close(fd);
	return h;
}

static void snap_xattrs(const char *path, char *out, size_t cap)
{
	char names[1024], val[256];
	ssize_t n = llistxattr(path, names, sizeof(names)), len;
	size_t used = 0;

	out[0] = '\0';
	for (char *p = names; n > 0 && p < names + n; p += strlen(p) + 1) {
		len = lgetxattr(path, p, val, sizeof(val) - 1);
		val[len > 0 ? len : 0] = '\0';
		used += (size_t)snprintf(out + used, cap - used, " %s=%s", p,
					 val);
		if (used >= cap)
			break;
	}
}

static int snap_cb(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	char line[PATH_MAX + 1024], extra[PATH_MAX], xattrs[512];
	ssize_t n;

	(void)flag;
	(void)ftw;
	extra[0] = '\0';
	if (S_ISREG(st->st_mode)) {
		snprintf(extra, sizeof(extra), "data=%016llx",
			 (unsigned long long)file_hash(path));
	} else if (S_ISLNK(st->st_mode)) {
		n = readlink(path, extra, sizeof(extra) - 1);
		extra[n > 0 ? n : 0] = '\0';
	}
	snap_xattrs(path, xattrs, sizeof(xattrs));
	/* A directory's mtime changes when an entry comes and goes. */
	snprintf(line, sizeof(line), "%s %o %u:%u n%lu s%lld m%lld.%09ld %s%s",
		 path + snap_skip, (unsigned int)st->st_mode,
		 (unsigned int)st->st_uid, (unsigned int)st->st_gid,
		 (unsigned long)st->st_nlink, (long long)st->st_size,
		 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, extra,
		 xattrs);
	if (snap_n == snap_cap) {
		snap_cap = snap_cap ? 2 * snap_cap : 64;
		snap_lines = realloc(snap_lines, snap_cap * sizeof(*snap_lines));
		if (!snap_lines)
			abort();
	}
	snap_lines[snap_n++] = strdup(line);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *snapshot(struct env *e)
{
	size_t i, len = 1;
	char *out;

	snap_n = 0;
	snap_skip = strlen(e->base);
	nftw(e->base, snap_cb, 16, FTW_PHYS);
	qsort(snap_lines, snap_n, sizeof(*snap_lines), cmp_str);
	for (i = 0; i < snap_n; i++)
		len += strlen(snap_lines[i]) + 1;
	out = calloc(1, len);
	for (i = 0; i < snap_n; i++) {
		if (out) {
			strcat(out, snap_lines[i]);
			strcat(out, "\n");
		}
		free(snap_lines[i]);
	}
	free(snap_lines);
	snap_lines = NULL;
	snap_n = snap_cap = 0;
	return out;
}

/* The tree is exactly as @before (a snapshot(), freed here) shows it. */
static void check_unchanged(struct env *e, char *before)
{
	char *after = snapshot(e);

	CHECK_STREQ(after, before);
	free(before);
	free(after);
}

static void check_secret(struct env *e)
{
	char buf[64] = { 0 };
	struct stat st;
	int fd = open(e->secret, O_RDONLY | O_CLOEXEC);

	if (!CHECK(fd >= 0))
		return;
	CHECK_EQ(read(fd, buf, sizeof(buf) - 1), strlen(SECRET));
	CHECK_STREQ(buf, SECRET);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0640);
	CHECK_EQ(st.st_nlink, 1);
	close(fd);
}

/* --- 9P helpers --- */

static int walk(struct env *e, uint32_t fid, uint32_t newfid, const char *p)
{
	return p9c_walk(&e->c, fid, newfid, p);
}

static int lopen(struct env *e, uint32_t fid, uint32_t flags)
{
	return p9c_call(&e->c, P9_TLOPEN, "dd", fid, flags);
}

/* Tread of up to @cap - 1 bytes at 0 into @buf (NUL-terminated). */
static int read_str(struct env *e, uint32_t fid, char *buf, uint32_t cap)
{
	uint32_t n = 0;
	int r = p9c_call(&e->c, P9_TREAD, "dqd", fid, (uint64_t)0, cap - 1);

	if (!r)
		r = p9c_reply(&e->c, "D", &n, buf);
	buf[r ? 0 : n] = '\0';
	return r;
}

static int clunk(struct env *e, uint32_t fid)
{
	return p9c_clunk(&e->c, fid);
}

struct attr {
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size;
};

static int getattr(struct env *e, uint32_t fid, struct attr *a)
{
	uint64_t valid;
	int r = p9c_call(&e->c, P9_TGETATTR, "dq", fid, P9_GETATTR_BASIC);

	if (!r)
		r = p9c_reply(&e->c, "qQdddqqq", &valid, &a->qid, &a->mode,
			      &a->uid, &a->gid, &a->nlink, &a->rdev, &a->size);
	return r;
}

static int setattr(struct env *e, uint32_t fid, uint32_t valid, uint32_t mode,
		   uint32_t uid, uint32_t gid, uint64_t size)
{
	return p9c_call(&e->c, P9_TSETATTR, "dddddqqqqq", fid, valid, mode, uid,
			gid, size, (uint64_t)0, (uint64_t)0, (uint64_t)0,
			(uint64_t)0);
}

static int readlink9(struct env *e, uint32_t fid, char *target)
{
	int r = p9c_call(&e->c, P9_TREADLINK, "d", fid);

	return r ? r : p9c_reply(&e->c, "s", target);
}

/*
 * A raw T-message whose strings may hold any bytes (embedded NULs):
 * 's' takes (size_t len, const char *bytes); b/w/d/q as in p9_client.h.
 */
static int raw_call(struct env *e, uint8_t type, const char *fmt, ...)
{
	uint8_t msg[4096];
	size_t n = P9_HDR_LEN, len, i;
	const char *str;
	uint64_t v;
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		size_t w = *fmt == 'b' ? 1 : *fmt == 'w' ? 2 : *fmt == 'd' ? 4 : 8;

		if (*fmt == 's') {
			len = va_arg(ap, size_t);
			str = va_arg(ap, const char *);
			if (n + 2 + len > sizeof(msg))
				abort();
			msg[n++] = (uint8_t)len;
			msg[n++] = (uint8_t)(len >> 8);
			memcpy(msg + n, str, len);
			n += len;
			continue;
		}
		v = *fmt == 'q' ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
		for (i = 0; i < w; i++)
			msg[n++] = (uint8_t)(v >> (8 * i));
	}
	va_end(ap);
	msg[0] = (uint8_t)n;
	msg[1] = (uint8_t)(n >> 8);
	msg[2] = msg[3] = 0;
	msg[4] = type;
	msg[5] = 0x42;
	msg[6] = 0x42;
	return p9c_call_raw(&e->c, msg, n);
}

/* --- Hostile names --- */

struct hname {
	const char *what;
	size_t len;
	const char *bytes;
};

static char abs_name[PATH_MAX];

static size_t hostile_names(struct env *e, struct hname *h)
{
	size_t n = 0;

	snprintf(abs_name, sizeof(abs_name), "%s/made", e->base);
	h[n++] = (struct hname){ "empty", 0, "" };
	h[n++] = (struct hname){ ".", 1, "." };
	h[n++] = (struct hname){ "..", 2, ".." };
	h[n++] = (struct hname){ "a/b", 3, "a/b" };
	h[n++] = (struct hname){ "/etc", 4, "/etc" };
	h[n++] = (struct hname){ "../made", 7, "../made" };
	h[n++] = (struct hname){ "../secret", 9, "../secret" };
	h[n++] = (struct hname){ "absolute", strlen(abs_name), abs_name };
	h[n++] = (struct hname){ "256 bytes", 256, long_name };
	h[n++] = (struct hname){ "a NUL b", 3, "a\0b" };
	h[n++] = (struct hname){ "file NUL x", 6, "file\0x" };
	return n;
}

TEST(hostile_names_in_walk)
{
	struct hname h[16];
	struct env e;
	size_t i, n;
	char *before;
	uint16_t nwqid;
	int r;

	if (!env_init(&e, 0))
		goto out;
	n = hostile_names(&e, h);
	before = snapshot(&e);
	for (i = 0; i < n; i++) {
		/* ".." is legal in a walk (and stays at the root). */
		if (!strcmp(h[i].what, ".."))
			continue;
		if (!CHECK(raw_call(&e, P9_TWALK, "ddws", ROOT, 1u, 1u,
				    h[i].len, h[i].bytes) < 0))
			printf("  walk of '%s' succeeded\n", h[i].what);
		/* The same name after a good one: an error, or an Rwalk
		 * that stops before it. */
		nwqid = 0;
		r = raw_call(&e, P9_TWALK, "ddwss", ROOT, 1u, 2u, (size_t)3,
			     "sub", h[i].len, h[i].bytes);
		CHECK(r < 0 || (p9c_reply(&e.c, "w", &nwqid) == 0 &&
				nwqid == 1));
	}
	/* A partial walk never made fid 1. */
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	check_unchanged(&e, before);
out:
	env_fini(&e);
}

/* Every creating / naming operation with hostile name @h. */
static void hostile_ops(struct env *e, const struct hname *h)
{
	size_t len = h->len;
	const char *b = h->bytes;
	int r;

#define HOSTILE(call)                                                          \
	do {                                                                   \
		r = (call);                                                    \
		if (!CHECK(r < 0))                                             \
			printf("  '%s': %s succeeded\n", h->what, #call);       \
	} while (0)

	/* lcreate turns its fid into the file: a fresh clone each time. */
	CHECK_EQ(walk(e, ROOT, 10, ""), 0);
	HOSTILE(raw_call(e, P9_TLCREATE, "dsddd", 10u, len, b,
			 (uint32_t)P9_DOTL_RDWR, 0644u, 0u));
	clunk(e, 10);
	HOSTILE(raw_call(e, P9_TMKDIR, "dsdd", ROOT, len, b, 0755u, 0u));
	HOSTILE(raw_call(e, P9_TSYMLINK, "dssd", ROOT, len, b, (size_t)1, "x",
			 0u));
	HOSTILE(raw_call(e, P9_TMKNOD, "dsdddd", ROOT, len, b,
			 (uint32_t)(S_IFIFO | 0644), 0u, 0u, 0u));
	HOSTILE(raw_call(e, P9_TMKNOD, "dsdddd", ROOT, len, b,
			 (uint32_t)(S_IFREG | 0644), 0u, 0u, 0u));
	CHECK_EQ(walk(e, ROOT, 11, "file"), 0);
	HOSTILE(raw_call(e, P9_TLINK, "dds", ROOT, 11u, len, b));
	HOSTILE(raw_call(e, P9_TRENAME, "dds", 11u, ROOT, len, b));
	clunk(e, 11);
	HOSTILE(raw_call(e, P9_TRENAMEAT, "dsds", ROOT, (size_t)4, "file",
			 ROOT, len, b));
	HOSTILE(raw_call(e, P9_TRENAMEAT, "dsds", ROOT, len, b, ROOT,
			 (size_t)5, "moved"));
	HOSTILE(raw_call(e, P9_TUNLINKAT, "dsd", ROOT, len, b, 0u));
	HOSTILE(raw_call(e, P9_TUNLINKAT, "dsd", ROOT, len, b,
			 (uint32_t)P9_AT_REMOVEDIR));
#undef HOSTILE
}

TEST(hostile_names_in_creating_ops)
{
	struct hname h[16];
	struct env e;
	size_t i, n;
	char *before;

	if (!env_init(&e, 0))
		goto out;
	n = hostile_names(&e, h);
	before = snapshot(&e);
	for (i = 0; i < n; i++)
		hostile_ops(&e, &h[i]);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	check_unchanged(&e, before);
	check_secret(&e);
out:
	env_fini(&e);
}

TEST(guest_symlink_to_root_is_never_followed)
{
	char target[P9_STR_MAX + 1], host[64];
	struct p9_qid qid;
	struct attr a;
	struct env e;
	ssize_t n;

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(p9c_call(&e.c, P9_TSYMLINK, "dssd", ROOT, "x", "/", 0u) == 0);
	CHECK_EQ(p9c_reply(&e.c, "Q", &qid), 0);
	CHECK_EQ(qid.type, P9_QTSYMLINK);
	n = readlink(env_path(&e, "x"), host, sizeof(host) - 1);
	CHECK_EQ(n, 1);
	host[n > 0 ? n : 0] = '\0';
	CHECK_STREQ(host, "/");

	CHECK(walk(&e, ROOT, 1, "x/etc") < 0);
	CHECK(walk(&e, ROOT, 1, "x/etc/passwd") < 0);
	CHECK(walk(&e, ROOT, 1, "x/tmp") < 0);
	/* The link itself: a symlink qid, a symlink in getattr. */
	REQUIRE(walk(&e, ROOT, 1, "x") == 0);
	CHECK_EQ(getattr(&e, 1, &a), 0);
	CHECK(S_ISLNK(a.mode));
	CHECK_EQ(a.qid.type, P9_QTSYMLINK);
	CHECK_EQ(readlink9(&e, 1, target), 0);
	CHECK_STREQ(target, "/");
	CHECK(lopen(&e, 1, P9_DOTL_RDONLY) < 0);
	CHECK(walk(&e, 1, 2, "etc") < 0);
	clunk(&e, 1);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
out:
	env_fini(&e);
}

TEST(host_symlinks_out_of_the_export_lead_nowhere)
{
	static const char *const links[] = { "esc", "abs", "escdir" };
	char target[P9_STR_MAX + 1], buf[64];
	char *before;
	struct attr a;
	struct env e;
	size_t i;

	if (!env_init(&e, 0))
		goto out;
	before = snapshot(&e);
	CHECK(walk(&e, ROOT, 1, "escdir/f") < 0);
	CHECK(walk(&e, ROOT, 1, "escdir/..") < 0);
	for (i = 0; i < ARRAY_SIZE(links); i++) {
		REQUIRE(walk(&e, ROOT, 1, links[i]) == 0);
		CHECK_EQ(getattr(&e, 1, &a), 0);
		CHECK(S_ISLNK(a.mode));
		CHECK(lopen(&e, 1, P9_DOTL_RDONLY) < 0);
		CHECK(read_str(&e, 1, buf, sizeof(buf)) < 0);
		CHECK(lopen(&e, 1, P9_DOTL_RDWR | P9_DOTL_TRUNC) < 0);
		CHECK_EQ(setattr(&e, 1, P9_ATTR_MODE, 0777, 0, 0, 0),
			 -EOPNOTSUPP);
		CHECK(setattr(&e, 1, P9_ATTR_SIZE, 0, 0, 0, 0) < 0);
		CHECK_EQ(p9c_call(&e.c, P9_TXATTRCREATE, "dsqd", 1u,
				  "user.x", (uint64_t)1, 0u),
			 -EPERM);
		CHECK(walk(&e, 1, 2, "f") < 0);
		clunk(&e, 1);
	}
	check_unchanged(&e, before);

	/* readlink returns the host's targets verbatim. */
	REQUIRE(walk(&e, ROOT, 1, "esc") == 0);
	CHECK_EQ(readlink9(&e, 1, target), 0);
	CHECK_STREQ(target, "../secret");
	clunk(&e, 1);
	REQUIRE(walk(&e, ROOT, 1, "abs") == 0);
	CHECK_EQ(readlink9(&e, 1, target), 0);
	CHECK_STREQ(target, e.secret);

	/* A hard link of the symlink is a link to the symlink, not to the
	 * secret. */
	if (p9c_call(&e.c, P9_TLINK, "dds", ROOT, 1u, "abs2") == 0) {
		CHECK(S_ISLNK(host_mode(&e, "abs2")));
	}
	clunk(&e, 1);
	check_secret(&e);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
out:
	env_fini(&e);
}

TEST(dotdot_stays_at_the_root)
{
	struct attr root, a;
	struct env e;
	char buf[64];
	int i;

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(getattr(&e, ROOT, &root) == 0);
	REQUIRE(walk(&e, ROOT, 1, "..") == 0);
	CHECK_EQ(getattr(&e, 1, &a), 0);
	CHECK_EQ(a.qid.path, root.qid.path);
	for (i = 0; i < 20; i++)
		CHECK_EQ(walk(&e, 1, 1, "../../../../../../../../.."), 0);
	CHECK_EQ(getattr(&e, 1, &a), 0);
	CHECK_EQ(a.qid.path, root.qid.path);
	CHECK(walk(&e, 1, 2, "../secret") < 0);
	CHECK(walk(&e, 1, 2, "../../outside/f") < 0);
	CHECK(walk(&e, ROOT, 2, "sub/../../secret") < 0);
	CHECK(walk(&e, ROOT, 2, "a/../../../outside") < 0);
	/* From a subdirectory ".." goes up, but not past the root. */
	REQUIRE(walk(&e, ROOT, 2, "a/../../../file") == 0);
	CHECK_EQ(lopen(&e, 2, P9_DOTL_RDONLY), 0);
	CHECK_EQ(read_str(&e, 2, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "hello\n");
	clunk(&e, 2);
	/* A fid reached by ".." has no name: it cannot be renamed/removed. */
	REQUIRE(walk(&e, ROOT, 3, "a/..") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 3u, ROOT, "zz"), -EBUSY);
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 3u), -EBUSY);
	CHECK(host_exists(&e, "a/b"));
	clunk(&e, 1);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	check_secret(&e);
out:
	env_fini(&e);
}

TEST(device_nodes_cannot_be_made)
{
	char *before;
	struct env e;

	if (!env_init(&e, 0))
		goto out;
	before = snapshot(&e);
	/* /dev/null and /dev/sda would be 1:3 and 8:0. */
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "null",
			  (uint32_t)(S_IFCHR | 0666), 1u, 3u, 0u),
		 -EPERM);
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "sda",
			  (uint32_t)(S_IFBLK | 0666), 8u, 0u, 0u),
		 -EPERM);
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "bad",
			  (uint32_t)(0170000 | 0666), 0u, 0u, 0u),
		 -EINVAL);
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "dir",
			  (uint32_t)(S_IFDIR | 0755), 0u, 0u, 0u),
		 -EINVAL);
	check_unchanged(&e, before);
out:
	env_fini(&e);
}

TEST(fifos_and_sockets_are_made_but_never_opened)
{
	struct p9_qid qid;
	struct attr a;
	struct env e;
	time_t t0;

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "fifo",
			 (uint32_t)(S_IFIFO | 0644), 0u, 0u, 0u) == 0);
	CHECK_EQ(p9c_reply(&e.c, "Q", &qid), 0);
	CHECK(S_ISFIFO(host_mode(&e, "fifo")));
	CHECK_EQ(host_mode(&e, "fifo") & 07777, 0644);
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "sock",
			  (uint32_t)(S_IFSOCK | 0600), 0u, 0u, 0u),
		 0);
	CHECK(S_ISSOCK(host_mode(&e, "sock")));
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "reg",
			  (uint32_t)(S_IFREG | 0640), 0u, 0u, 0u),
		 0);
	CHECK(S_ISREG(host_mode(&e, "reg")));

	REQUIRE(walk(&e, ROOT, 1, "fifo") == 0);
	CHECK_EQ(getattr(&e, 1, &a), 0);
	CHECK(S_ISFIFO(a.mode));
	/* No writer: an open that was let through would block forever. */
	alarm(30);
	t0 = time(NULL);
	CHECK_EQ(lopen(&e, 1, P9_DOTL_RDONLY), -EPERM);
	CHECK_EQ(lopen(&e, 1, P9_DOTL_WRONLY), -EPERM);
	CHECK_EQ(lopen(&e, 1, P9_DOTL_RDONLY | P9_DOTL_NONBLOCK), -EPERM);
	CHECK(time(NULL) - t0 < 5);
	alarm(0);
	/* Nor through setattr or xattrs. */
	CHECK_EQ(setattr(&e, 1, P9_ATTR_SIZE, 0, 0, 0, 0), -EINVAL);
	CHECK_EQ(p9c_call(&e.c, P9_TXATTRCREATE, "dsqd", 1u, "user.x",
			  (uint64_t)1, 0u),
		 -EPERM);
	/* chmod of a FIFO is fine: it does not open it. */
	CHECK_EQ(setattr(&e, 1, P9_ATTR_MODE, 0600, 0, 0, 0), 0);
	CHECK_EQ(host_mode(&e, "fifo") & 07777, 0600);
	clunk(&e, 1);
	REQUIRE(walk(&e, ROOT, 1, "sock") == 0);
	CHECK_EQ(lopen(&e, 1, P9_DOTL_RDWR), -EPERM);
	clunk(&e, 1);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
out:
	env_fini(&e);
}

TEST(setuid_and_setgid_bits_are_dropped)
{
	struct p9_qid qid;
	struct env e;
	uint32_t iounit;
	mode_t old = umask(022);

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(walk(&e, ROOT, 1, "") == 0);
	REQUIRE(p9c_call(&e.c, P9_TLCREATE, "dsddd", 1u, "suid",
			 (uint32_t)P9_DOTL_RDWR, 04755u, 0u) == 0);
	CHECK_EQ(p9c_reply(&e.c, "Qd", &qid, &iounit), 0);
	CHECK_EQ(qid.type, P9_QTFILE);
	CHECK_EQ(host_mode(&e, "suid"), S_IFREG | 0755);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_MODE, 06777, 0, 0, 0), 0);
	CHECK_EQ(host_mode(&e, "suid"), S_IFREG | 0777);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_MODE, 02755, 0, 0, 0), 0);
	CHECK_EQ(host_mode(&e, "suid"), S_IFREG | 0755);
	clunk(&e, 1);
	CHECK_EQ(p9c_call(&e.c, P9_TMKDIR, "dsdd", ROOT, "sgid", 02775u, 0u),
		 0);
	CHECK_EQ(host_mode(&e, "sgid"), S_IFDIR | 0775);
	CHECK_EQ(p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "suid2",
			  (uint32_t)(S_IFREG | 06755), 0u, 0u, 0u),
		 0);
	CHECK_EQ(host_mode(&e, "suid2"), S_IFREG | 0755);
	/* Modes are the guest's, exactly: lkvm's umask does not apply. */
	REQUIRE(walk(&e, ROOT, 1, "") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TLCREATE, "dsddd", 1u, "shared",
			  (uint32_t)P9_DOTL_WRONLY, 0666u, 0u),
		 0);
	CHECK_EQ(host_mode(&e, "shared"), S_IFREG | 0666);
	clunk(&e, 1);
	CHECK_EQ(p9c_call(&e.c, P9_TMKDIR, "dsdd", ROOT, "open", 0777u, 0u),
		 0);
	CHECK_EQ(host_mode(&e, "open"), S_IFDIR | 0777);
out:
	umask(old);
	env_fini(&e);
}

TEST(chown_is_accepted_and_not_applied)
{
	struct stat before, after;
	struct attr a;
	struct env e;

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(lstat(env_path(&e, "file"), &before) == 0);
	REQUIRE(walk(&e, ROOT, 1, "file") == 0);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_UID | P9_ATTR_GID, 0, 1234, 5678, 0),
		 0);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_UID, 0, 0, 0, 0), 0);
	REQUIRE(lstat(env_path(&e, "file"), &after) == 0);
	CHECK_EQ(after.st_uid, before.st_uid);
	CHECK_EQ(after.st_gid, before.st_gid);
	/* getattr shows the real host owner. */
	CHECK_EQ(getattr(&e, 1, &a), 0);
	CHECK_EQ(a.uid, before.st_uid);
	CHECK_EQ(a.gid, before.st_gid);
	clunk(&e, 1);
	/* New files belong to the user lkvm runs as, whatever gid is asked. */
	REQUIRE(walk(&e, ROOT, 1, "") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TLCREATE, "dsddd", 1u, "mine",
			  (uint32_t)P9_DOTL_RDWR, 0644u, 4321u),
		 0);
	REQUIRE(lstat(env_path(&e, "mine"), &after) == 0);
	CHECK_EQ(after.st_uid, geteuid());
	CHECK(after.st_gid != 4321 || getegid() == 4321);
	clunk(&e, 1);
	CHECK_EQ(p9c_call(&e.c, P9_TSYMLINK, "dssd", ROOT, "ln", "file", 4321u),
		 0);
	REQUIRE(lstat(env_path(&e, "ln"), &after) == 0);
	CHECK_EQ(after.st_uid, geteuid());
out:
	env_fini(&e);
}

TEST(passthrough_honours_owners_and_setuid)
{
	struct stat st;
	struct env e;
	int r;

	if (geteuid() != 0) {
		printf("  (skipped: passthrough needs root)\n");
		return;
	}
	if (!env_init(&e, P9_EXPORT_PASSTHROUGH))
		goto out;
	REQUIRE(walk(&e, ROOT, 1, "") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TLCREATE, "dsddd", 1u, "suid",
			  (uint32_t)P9_DOTL_RDWR, 04755u, 4321u),
		 0);
	REQUIRE(lstat(env_path(&e, "suid"), &st) == 0);
	CHECK_EQ(st.st_mode, S_IFREG | 04755);
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_UID | P9_ATTR_GID, 0, 1234, 5678, 0),
		 0);
	REQUIRE(lstat(env_path(&e, "suid"), &st) == 0);
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 5678);
	clunk(&e, 1);
	/* Every xattr namespace the host allows. */
	REQUIRE(walk(&e, ROOT, 1, "suid") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TXATTRCREATE, "dsqd", 1u, "trusted.lkvm",
			  (uint64_t)1, 0u),
		 0);
	CHECK_EQ(p9c_call(&e.c, P9_TWRITE, "dqD", 1u, (uint64_t)0, 1u, "t"),
		 0);
	r = clunk(&e, 1);
	if (r == -EOPNOTSUPP)
		printf("  (trusted.* xattrs not supported here)\n");
	else
		CHECK_EQ(r, 0);
	/* Device nodes (a container may still refuse them). */
	r = p9c_call(&e.c, P9_TMKNOD, "dsdddd", ROOT, "null",
		     (uint32_t)(S_IFCHR | 0666), 1u, 3u, 0u);
	if (r == -EPERM) {
		printf("  (device-node part skipped: mknod refused by the host)\n");
	} else {
		CHECK_EQ(r, 0);
		REQUIRE(lstat(env_path(&e, "null"), &st) == 0);
		CHECK(S_ISCHR(st.st_mode));
		CHECK_EQ(st.st_rdev, makedev(1, 3));
		/* Made, but never opened by the server. */
		REQUIRE(walk(&e, ROOT, 1, "null") == 0);
		CHECK_EQ(lopen(&e, 1, P9_DOTL_RDWR), -EPERM);
		clunk(&e, 1);
	}
out:
	env_fini(&e);
}

static bool user_xattrs_work(struct env *e)
{
	const char *p = env_path(e, "probe");
	bool ok;

	write_file(p, "", 0644);
	ok = !setxattr(p, "user.probe", "1", 1, 0) || errno != EOPNOTSUPP;
	unlink(p);
	return ok;
}

/* Txattrcreate on a fresh clone of @path; the fid (5) stays. */
static int xattr_create(struct env *e, const char *path, const char *name,
			uint64_t size, uint32_t flags)
{
	int r = walk(e, ROOT, 5, path);

	if (r)
		return r;
	r = p9c_call(&e->c, P9_TXATTRCREATE, "dsqd", 5u, name, size, flags);
	if (r)
		clunk(e, 5);
	return r;
}

TEST(xattr_namespaces)
{
	static const char *const refused[] = {
		"security.capability", "security.selinux", "trusted.overlay.opaque",
		"system.posix_acl_access", "system.posix_acl_default", "other",
	};
	char val[64], *before;
	struct env e;
	ssize_t n;
	size_t i;

	if (!env_init(&e, 0))
		goto out;
	before = snapshot(&e);
	for (i = 0; i < ARRAY_SIZE(refused); i++)
		if (!CHECK_EQ(xattr_create(&e, "file", refused[i], 4, 0),
			      -EOPNOTSUPP))
			printf("  xattr '%s' accepted\n", refused[i]);
	CHECK_EQ(xattr_create(&e, "file", "", 4, 0), -ERANGE);
	CHECK_EQ(xattr_create(&e, "file", long_name, 4, 0), -ERANGE);
	CHECK_EQ(xattr_create(&e, "file", "user.big", P9_XATTR_SIZE_MAX + 1,
			      0),
		 -E2BIG);
	CHECK_EQ(xattr_create(&e, "file", "user.flags", 4, 4), -EINVAL);
	check_unchanged(&e, before);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);

	if (!user_xattrs_work(&e)) {
		printf("  (user.* xattr part skipped: the temporary filesystem reports EOPNOTSUPP)\n");
		goto out;
	}
	REQUIRE(xattr_create(&e, "file", "user.test", 5, 0) == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TWRITE, "dqD", 5u, (uint64_t)0, 5u,
			  "hello"),
		 0);
	CHECK_EQ(clunk(&e, 5), 0);
	n = getxattr(env_path(&e, "file"), "user.test", val, sizeof(val));
	CHECK_EQ(n, 5);
	CHECK(n == 5 && !memcmp(val, "hello", 5));
	/* XATTR_CREATE on an existing one fails at commit. */
	REQUIRE(xattr_create(&e, "file", "user.test", 2, P9_XATTR_CREATE) ==
		0);
	CHECK_EQ(p9c_call(&e.c, P9_TWRITE, "dqD", 5u, (uint64_t)0, 2u, "no"),
		 0);
	CHECK_EQ(clunk(&e, 5), -EEXIST);
	/* A value not written completely is not set. */
	REQUIRE(xattr_create(&e, "file", "user.part", 5, 0) == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TWRITE, "dqD", 5u, (uint64_t)0, 3u, "hel"),
		 0);
	CHECK_EQ(clunk(&e, 5), -EINVAL);
	CHECK(getxattr(env_path(&e, "file"), "user.part", val, sizeof(val)) <
	      0);
	/* Size 0 removes it. */
	REQUIRE(xattr_create(&e, "file", "user.test", 0, P9_XATTR_REPLACE) ==
		0);
	CHECK_EQ(clunk(&e, 5), 0);
	CHECK(getxattr(env_path(&e, "file"), "user.test", val, sizeof(val)) <
	      0);
	/* Directories too. */
	REQUIRE(xattr_create(&e, "sub", "user.dir", 1, 0) == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TWRITE, "dqD", 5u, (uint64_t)0, 1u, "d"),
		 0);
	CHECK_EQ(clunk(&e, 5), 0);
	CHECK_EQ(getxattr(env_path(&e, "sub"), "user.dir", val, sizeof(val)),
		 1);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	check_secret(&e);
out:
	env_fini(&e);
}

/* Every modifying request on fids 1 ("file"), 2 ("sub"), 3 (a clone of
 * the root): each must answer EROFS. */
static void readonly_ops(struct env *e)
{
#define ROFS(call)                                                             \
	do {                                                                   \
		if (!CHECK_EQ((call), -EROFS))                                 \
			printf("  %s\n", #call);                               \
	} while (0)
	ROFS(p9c_call(&e->c, P9_TLCREATE, "dsddd", 3u, "new",
		      (uint32_t)P9_DOTL_RDWR, 0644u, 0u));
	ROFS(p9c_call(&e->c, P9_TMKDIR, "dsdd", ROOT, "new", 0755u, 0u));
	ROFS(p9c_call(&e->c, P9_TSYMLINK, "dssd", ROOT, "new", "file", 0u));
	ROFS(p9c_call(&e->c, P9_TMKNOD, "dsdddd", ROOT, "new",
		      (uint32_t)(S_IFIFO | 0644), 0u, 0u, 0u));
	ROFS(p9c_call(&e->c, P9_TLINK, "dds", ROOT, 1u, "new"));
	ROFS(p9c_call(&e->c, P9_TRENAME, "dds", 1u, ROOT, "new"));
	ROFS(p9c_call(&e->c, P9_TRENAMEAT, "dsds", ROOT, "file", ROOT, "new"));
	ROFS(p9c_call(&e->c, P9_TUNLINKAT, "dsd", ROOT, "file", 0u));
	ROFS(p9c_call(&e->c, P9_TUNLINKAT, "dsd", ROOT, "sub",
		      (uint32_t)P9_AT_REMOVEDIR));
	ROFS(setattr(e, 1, P9_ATTR_MODE, 0600, 0, 0, 0));
	ROFS(setattr(e, 1, P9_ATTR_SIZE, 0, 0, 0, 0));
	ROFS(setattr(e, 1, P9_ATTR_UID | P9_ATTR_GID, 0, 1, 1, 0));
	ROFS(setattr(e, 1, P9_ATTR_ATIME | P9_ATTR_MTIME, 0, 0, 0, 0));
	ROFS(setattr(e, 2, P9_ATTR_CTIME, 0, 0, 0, 0));
	ROFS(p9c_call(&e->c, P9_TXATTRCREATE, "dsqd", 3u, "user.x",
		      (uint64_t)1, 0u));
	ROFS(lopen(e, 1, P9_DOTL_WRONLY));
	ROFS(lopen(e, 1, P9_DOTL_RDWR));
	ROFS(lopen(e, 1, P9_DOTL_RDONLY | P9_DOTL_TRUNC));
	/* Tremove clunks the fid even when it refuses. */
	ROFS(p9c_call(&e->c, P9_TREMOVE, "d", 2u));
	CHECK_EQ(clunk(e, 2), -ENOENT);
#undef ROFS
}

TEST(readonly_export_refuses_every_change)
{
	char *before, buf[64];
	struct env e;

	if (!env_init(&e, P9_EXPORT_RO))
		goto out;
	before = snapshot(&e);
	REQUIRE(walk(&e, ROOT, 1, "file") == 0);
	REQUIRE(walk(&e, ROOT, 2, "sub") == 0);
	REQUIRE(walk(&e, ROOT, 3, "") == 0);
	readonly_ops(&e);
	/* Reading still works. */
	CHECK_EQ(lopen(&e, 1, P9_DOTL_RDONLY), 0);
	CHECK_EQ(read_str(&e, 1, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "hello\n");
	CHECK(p9c_call(&e.c, P9_TWRITE, "dqD", 1u, (uint64_t)0, 1u, "x") <
	      0);
	clunk(&e, 1);
	clunk(&e, 3);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	check_unchanged(&e, before);
out:
	env_fini(&e);
}

/* --- A symlink swapped in under a walk --- */

struct swapper {
	struct env *e;
	bool stop;
	unsigned long swaps;
};

static void *swap_thread(void *arg)
{
	struct swapper *sw = arg;
	char d[PATH_MAX], tmp[PATH_MAX], lnk[PATH_MAX];

	snprintf(d, sizeof(d), "%s/d", sw->e->exp);
	snprintf(tmp, sizeof(tmp), "%s/d.real", sw->e->exp);
	snprintf(lnk, sizeof(lnk), "%s/d.link", sw->e->exp);
	while (!__atomic_load_n(&sw->stop, __ATOMIC_RELAXED)) {
		/* d: the directory, then the symlink to ../outside, then
		 * the directory again. */
		if (rename(d, tmp) || rename(lnk, d) || rename(d, lnk) ||
		    rename(tmp, d))
			break;
		sw->swaps++;
	}
	return NULL;
}

TEST(symlink_swapped_in_under_a_walk)
{
	unsigned int i, reads = 0, fails = 0, bad = 0;
	struct swapper sw = { 0 };
	char buf[64], p[PATH_MAX];
	struct env e;
	pthread_t t;

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(mkdir(env_path(&e, "d"), 0755) == 0);
	write_file(env_path(&e, "d/f"), INSIDE, 0644);
	REQUIRE(symlink("../outside", env_path(&e, "d.link")) == 0);
	sw.e = &e;
	REQUIRE(pthread_create(&t, NULL, swap_thread, &sw) == 0);
	for (i = 0; i < RACE_ROUNDS; i++) {
		if (walk(&e, ROOT, 1, "d/f")) {
			fails++;
			continue;
		}
		if (lopen(&e, 1, P9_DOTL_RDONLY) == 0 &&
		    read_str(&e, 1, buf, sizeof(buf)) == 0) {
			reads++;
			if (strcmp(buf, INSIDE))
				bad++;
		}
		clunk(&e, 1);
	}
	__atomic_store_n(&sw.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("  %u rounds: %u reads, %u failed walks, %lu swaps\n",
	       RACE_ROUNDS, reads, fails, sw.swaps);
	CHECK_EQ(bad, 0);
	CHECK(reads > 0);
	CHECK(sw.swaps > 0);
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	snprintf(p, sizeof(p), "%s/outside/f", e.base);
	CHECK_EQ(access(p, F_OK), 0);
	check_secret(&e);
out:
	env_fini(&e);
}

/* --- Trename / Tremove through the name a fid was walked by --- */

TEST(rename_and_remove_follow_the_fid)
{
	char buf[64];
	struct env e;

	if (!env_init(&e, 0))
		goto out;
	/* Rename a walked file into a subdirectory, then remove it. */
	REQUIRE(walk(&e, ROOT, 1, "file") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, ROOT, "a/x"), -EINVAL);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, 1u, "x"), -ENOTDIR);
	REQUIRE(walk(&e, ROOT, 2, "sub") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, 2u, "moved"), 0);
	CHECK(!host_exists(&e, "file"));
	CHECK(host_exists(&e, "sub/moved"));
	/* The fid follows its file: rename again, then read it. */
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, ROOT, "back"), 0);
	CHECK(host_exists(&e, "back"));
	CHECK(!host_exists(&e, "sub/moved"));
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), 0);
	CHECK(!host_exists(&e, "back"));
	CHECK_EQ(clunk(&e, 1), -ENOENT);

	/* Renamed on the host, and another file put under the old name:
	 * the fid's name is stale, the other file is never touched. */
	write_file(env_path(&e, "c"), "c1\n", 0644);
	REQUIRE(walk(&e, ROOT, 1, "c") == 0);
	REQUIRE(rename(env_path(&e, "c"), env_path(&e, "c2")) == 0);
	write_file(env_path(&e, "c"), "other\n", 0644);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, ROOT, "d"), -ESTALE);
	CHECK(!host_exists(&e, "d"));
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), -ESTALE);
	CHECK(host_exists(&e, "c"));
	CHECK(host_exists(&e, "c2"));
	CHECK_EQ(clunk(&e, 1), -ENOENT); /* removed from the table anyway */
	/* Renamed on the host, nothing under the old name. */
	REQUIRE(walk(&e, ROOT, 1, "c2") == 0);
	REQUIRE(rename(env_path(&e, "c2"), env_path(&e, "c3")) == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, ROOT, "c4"), -ESTALE);
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), -ESTALE);
	CHECK(host_exists(&e, "c3"));
	/* A symlink swapped in under the name: not the same inode either. */
	REQUIRE(walk(&e, ROOT, 1, "c3") == 0);
	REQUIRE(rename(env_path(&e, "c3"), env_path(&e, "c5")) == 0);
	REQUIRE(symlink("../secret", env_path(&e, "c3")) == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), -ESTALE);
	CHECK(S_ISLNK(host_mode(&e, "c3")));

	/* The root cannot be renamed or removed; clunked all the same. */
	REQUIRE(walk(&e, ROOT, 1, "") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, 2u, "root"), -EBUSY);
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), -EBUSY);
	CHECK_EQ(clunk(&e, 1), -ENOENT);

	/* Tremove of a directory, and of a non-empty one. */
	REQUIRE(walk(&e, ROOT, 1, "a") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), -ENOTEMPTY);
	CHECK(host_exists(&e, "a/b"));
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 2u), 0);
	CHECK(!host_exists(&e, "sub"));

	/* A file made by Tlcreate knows its name too. */
	REQUIRE(walk(&e, ROOT, 1, "") == 0);
	REQUIRE(p9c_call(&e.c, P9_TLCREATE, "dsddd", 1u, "new",
			 (uint32_t)P9_DOTL_RDWR, 0644u, 0u) == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TWRITE, "dqD", 1u, (uint64_t)0, 4u,
			  "new\n"),
		 0);
	CHECK_EQ(read_str(&e, 1, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "new\n");
	CHECK_EQ(p9c_call(&e.c, P9_TRENAME, "dds", 1u, ROOT, "newer"), 0);
	CHECK(host_exists(&e, "newer"));
	CHECK_EQ(p9c_call(&e.c, P9_TREMOVE, "d", 1u), 0);
	CHECK(!host_exists(&e, "newer"));
	CHECK_EQ(p9_server_nr_fids(e.s), 1);
	check_secret(&e);
out:
	env_fini(&e);
}

TEST(renameat_link_unlinkat)
{
	struct stat st;
	struct env e;

	if (!env_init(&e, 0))
		goto out;
	CHECK_EQ(p9c_call(&e.c, P9_TRENAMEAT, "dsds", ROOT, "file", ROOT,
			  "../file"),
		 -EINVAL);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAMEAT, "dsds", ROOT, "a/b", ROOT, "b"),
		 -EINVAL);
	REQUIRE(walk(&e, ROOT, 1, "sub") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TRENAMEAT, "dsds", ROOT, "file", 1u, "f"),
		 0);
	CHECK(host_exists(&e, "sub/f"));
	/* Tlink: a regular file gets a second name; a directory does not. */
	REQUIRE(walk(&e, 1, 2, "f") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TLINK, "dds", ROOT, 2u, "hard"), 0);
	REQUIRE(lstat(env_path(&e, "hard"), &st) == 0);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(p9c_call(&e.c, P9_TLINK, "dds", ROOT, 2u, "../hard"),
		 -EINVAL);
	CHECK_EQ(p9c_call(&e.c, P9_TLINK, "dds", ROOT, 1u, "dirlink"), -EPERM);
	CHECK_EQ(p9c_call(&e.c, P9_TLINK, "dds", 2u, 2u, "x"), -ENOTDIR);
	CHECK(!host_exists(&e, "dirlink"));
	/* Tunlinkat */
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", ROOT, "hard", 0u), 0);
	CHECK(!host_exists(&e, "hard"));
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", ROOT, "a", 0u), -EISDIR);
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", ROOT, "a",
			  (uint32_t)P9_AT_REMOVEDIR),
		 -ENOTEMPTY);
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", ROOT, "file", 0x1000u),
		 -EINVAL);
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", 2u, "x", 0u), -ENOTDIR);
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", 99u, "file", 0u),
		 -ENOENT);
	/* Unlinking a host symlink removes the link, not its target. */
	CHECK_EQ(p9c_call(&e.c, P9_TUNLINKAT, "dsd", ROOT, "esc", 0u), 0);
	CHECK(!host_exists(&e, "esc"));
	clunk(&e, 2);
	clunk(&e, 1);
	check_secret(&e);
out:
	env_fini(&e);
}

TEST(setattr_size_and_times)
{
	struct stat st;
	struct env e;

	if (!env_init(&e, 0))
		goto out;
	REQUIRE(walk(&e, ROOT, 1, "file") == 0);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_SIZE, 0, 0, 0, 2), 0);
	REQUIRE(lstat(env_path(&e, "file"), &st) == 0);
	CHECK_EQ(st.st_size, 2);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_SIZE, 0, 0, 0, UINT64_MAX), -EFBIG);
	CHECK_EQ(lopen(&e, 1, P9_DOTL_RDWR), 0);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_SIZE, 0, 0, 0, 100), 0);
	REQUIRE(lstat(env_path(&e, "file"), &st) == 0);
	CHECK_EQ(st.st_size, 100);
	CHECK_EQ(p9c_call(&e.c, P9_TSETATTR, "dddddqqqqq", 1u,
			  P9_ATTR_ATIME | P9_ATTR_ATIME_SET | P9_ATTR_MTIME |
				  P9_ATTR_MTIME_SET,
			  0u, 0u, 0u, (uint64_t)0, (uint64_t)1000000,
			  (uint64_t)5, (uint64_t)2000000, (uint64_t)7),
		 0);
	REQUIRE(lstat(env_path(&e, "file"), &st) == 0);
	CHECK_EQ(st.st_atim.tv_sec, 1000000);
	CHECK_EQ(st.st_atim.tv_nsec, 5);
	CHECK_EQ(st.st_mtim.tv_sec, 2000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 7);
	/* MTIME without _SET: now; atime left alone. */
	CHECK_EQ(setattr(&e, 1, P9_ATTR_MTIME, 0, 0, 0, 0), 0);
	REQUIRE(lstat(env_path(&e, "file"), &st) == 0);
	CHECK_EQ(st.st_atim.tv_sec, 1000000);
	CHECK(st.st_mtim.tv_sec > 2000000);
	CHECK_EQ(p9c_call(&e.c, P9_TSETATTR, "dddddqqqqq", 1u,
			  P9_ATTR_MTIME | P9_ATTR_MTIME_SET, 0u, 0u, 0u,
			  (uint64_t)0, (uint64_t)0, (uint64_t)0, (uint64_t)1,
			  (uint64_t)1000000000),
		 -EINVAL);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_CTIME, 0, 0, 0, 0), 0);
	clunk(&e, 1);
	REQUIRE(walk(&e, ROOT, 1, "sub") == 0);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_SIZE, 0, 0, 0, 0), -EISDIR);
	CHECK_EQ(setattr(&e, 1, P9_ATTR_MODE, 0700, 0, 0, 0), 0);
	CHECK_EQ(host_mode(&e, "sub"), S_IFDIR | 0700);
	clunk(&e, 1);
	/* A symlink's own times; never its target's. */
	REQUIRE(walk(&e, ROOT, 1, "esc") == 0);
	CHECK_EQ(p9c_call(&e.c, P9_TSETATTR, "dddddqqqqq", 1u,
			  P9_ATTR_MTIME | P9_ATTR_MTIME_SET, 0u, 0u, 0u,
			  (uint64_t)0, (uint64_t)0, (uint64_t)0,
			  (uint64_t)3000000, (uint64_t)0),
		 0);
	REQUIRE(lstat(env_path(&e, "esc"), &st) == 0);
	CHECK_EQ(st.st_mtim.tv_sec, 3000000);
	REQUIRE(stat(e.secret, &st) == 0);
	CHECK(st.st_mtim.tv_sec != 3000000);
	clunk(&e, 1);
	check_secret(&e);
out:
	env_fini(&e);
}

TEST(symlink_targets)
{
	char target[P9_STR_MAX + 1], big[P9_STR_MAX + 2];
	struct env e;

	if (!env_init(&e, 0))
		goto out;
	CHECK_EQ(p9c_call(&e.c, P9_TSYMLINK, "dssd", ROOT, "empty", "", 0u),
		 -ENOENT);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(p9c_call(&e.c, P9_TSYMLINK, "dssd", ROOT, "big", big, 0u),
		 -ENAMETOOLONG);
	CHECK_EQ(raw_call(&e, P9_TSYMLINK, "dssd", ROOT, (size_t)3, "nul",
			  (size_t)5, "ab\0cd", 0u),
		 -EINVAL);
	CHECK(!host_exists(&e, "empty") && !host_exists(&e, "big") &&
	      !host_exists(&e, "nul"));
	CHECK_EQ(p9c_call(&e.c, P9_TSYMLINK, "dssd", ROOT, "up",
			  "../../../etc/passwd", 0u),
		 0);
	REQUIRE(walk(&e, ROOT, 1, "up") == 0);
	CHECK_EQ(readlink9(&e, 1, target), 0);
	CHECK_STREQ(target, "../../../etc/passwd");
	CHECK(lopen(&e, 1, P9_DOTL_RDONLY) < 0);
	clunk(&e, 1);
	CHECK_EQ(p9c_call(&e.c, P9_TSYMLINK, "dssd", ROOT, "up", "x", 0u),
		 -EEXIST);
out:
	env_fini(&e);
}

int main(void)
{
	RUN(hostile_names_in_walk);
	RUN(hostile_names_in_creating_ops);
	RUN(guest_symlink_to_root_is_never_followed);
	RUN(host_symlinks_out_of_the_export_lead_nowhere);
	RUN(dotdot_stays_at_the_root);
	RUN(device_nodes_cannot_be_made);
	RUN(fifos_and_sockets_are_made_but_never_opened);
	RUN(setuid_and_setgid_bits_are_dropped);
	RUN(chown_is_accepted_and_not_applied);
	RUN(passthrough_honours_owners_and_setuid);
	RUN(xattr_namespaces);
	RUN(readonly_export_refuses_every_change);
	RUN(symlink_swapped_in_under_a_walk);
	RUN(rename_and_remove_follow_the_fid);
	RUN(renameat_link_unlinkat);
	RUN(setattr_size_and_times);
	RUN(symlink_targets);
	return test_summary();
}
