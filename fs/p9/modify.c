// SPDX-License-Identifier: GPL-2.0
/*
 * The modifying operations of the 9P2000.L server: create, mkdir, symlink,
 * mknod, link, rename, unlink, remove, setattr and xattr set, and the
 * ownership model they enforce (Documentation/9p.md).
 *
 * Every host call is relative to a fid's file descriptor and takes one
 * checked name component, or goes through the fid's own /proc/self/fd
 * magic link, which names exactly the inode the fid holds: no host path is
 * ever built from guest strings.  Without passthrough, new files belong to
 * the user lkvm runs as, chown is accepted and ignored, setuid/setgid bits
 * are dropped, device nodes cannot be made and only user.* xattrs can be
 * set.
 *
 * Locking: an operation that changes a fid holds that fid's lock; a
 * directory fid an operation only creates in is looked at under its lock
 * just long enough to duplicate its fd, so no thread ever holds two fid
 * locks and creations in one directory run concurrently.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "internal.h"

#define P9_XATTR_NAME_MAX 255 /* XATTR_NAME_MAX */

mode_t p9_sanitize_mode(const struct p9_server *s, mode_t mode)
{
	if (s->passthrough)
		return mode;
	/* The guest must not leave a setuid/setgid file behind on the host. */
	return mode & ~(mode_t)(S_ISUID | S_ISGID);
}

/*
 * What every modifying operation checks once its message is parsed, in
 * this order: a complete message (@str_err: its first string's error), a
 * writable export, and @name (if any) one usable component.
 */
static int modify_checks(struct p9_server *s, const struct p9_in *in,
			 int str_err, const char *name)
{
	int r = p9_parsed(in, str_err);

	if (r)
		return r;
	if (s->readonly)
		return -EROFS;
	return name ? p9_check_name(name) : 0;
}

static int dup_fd(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return nfd < 0 ? -errno : nfd;
}

/* The directory a creating operation works in. */
struct p9_dirfid {
	int fd;       /* a dup of the fid's O_PATH fd: close it */
	uint32_t uid; /* the fid's attach uid, for passthrough chown */
};

static int dirfid_get(struct p9_server *s, uint32_t id,
		      unsigned int session, struct p9_dirfid *d)
{
	struct p9_fid *f = p9_fid_get(s, id, session);
	int r;

	d->fd = -1;
	if (!f)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	if (f->kind != P9_FID_PATH && f->kind != P9_FID_DIR)
		r = -EINVAL;
	else if (!S_ISDIR(f->type))
		r = -ENOTDIR;
	else
		r = dup_fd(f->fd);
	d->uid = f->uid;
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	if (r < 0)
		return r;
	d->fd = r;
	return 0;
}

static void dirfid_put(struct p9_dirfid *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Whether @name in @dirfd is still the inode @st describes: the host may
 * have renamed or replaced it since the fid was walked.
 */
static int check_identity(int dirfd, const char *name, const struct stat *st)
{
	struct stat now;

	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW))
		return errno == ENOENT ? -ESTALE : -errno;
	return same_file(&now, st) ? 0 : -ESTALE;
}

/*
 * @f (locked) still is the file named f->name in its parent directory;
 * its stat in @st.  The export root has no name to rename or remove.
 */
static int check_named(const struct p9_fid *f, struct stat *st)
{
	int r;

	if (!f->parent || !f->name)
		return -EBUSY;
	r = p9_fstat(f->fd, st);
	return r ? r : check_identity(f->parent->fd, f->name, st);
}

/* Take back a node this request made when finishing it failed (only if
 * @name still is that node). */
static void undo_create(int dirfd, const char *name, const struct stat *st)
{
	if (check_identity(dirfd, name, st))
		return;
	if (unlinkat(dirfd, name, S_ISDIR(st->st_mode) ? AT_REMOVEDIR : 0))
		pr_debug("9p: could not remove half-made '%s': %s", name,
			 strerror(errno));
}

/* chmod the file behind O_PATH @fd through its magic link (fchmod refuses
 * O_PATH fds); never called for symlinks. */
static int chmod_fd(struct p9_server *s, int fd, mode_t mode)
{
	char fdname[16];

	p9_fd_name(fd, fdname);
	if (fchmodat(s->proc_fd, fdname, mode, 0))
		return -errno;
	return 0;
}

/*
 * The permission bits the guest asked for, exactly: the host umask of lkvm
 * must not apply on top of the guest's own.  A directory keeps the setgid
 * bit it inherited from a setgid parent (host group policy, not a
 * privilege).
 */
static int apply_mode(struct p9_server *s, int fd, const struct stat *st,
		      mode_t want)
{
	if (S_ISDIR(st->st_mode))
		want |= st->st_mode & S_ISGID;
	if ((st->st_mode & 07777) == want)
		return 0;
	return chmod_fd(s, fd, want);
}

/*
 * A node this request made, behind @fd (@st its stat, kept current): the
 * owner @uid:@gid with passthrough, and the exact mode @want (unless
 * (mode_t)-1 or a symlink).
 */
static int own_node(struct p9_server *s, int fd, uint32_t uid, uint32_t gid,
		    mode_t want, struct stat *st)
{
	int r;

	if (s->passthrough) {
		/* chown clears setuid bits: look at the mode again after. */
		r = fchownat(fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ? -errno :
								    p9_fstat(fd, st);
		if (r)
			return r;
	}
	if (want == (mode_t)-1 || S_ISLNK(st->st_mode))
		return 0;
	return apply_mode(s, fd, st, want);
}

/*
 * After mkdir/symlink/mknod made @name in @d: set the owner and the mode
 * (own_node) and fill @qid.  On failure the new node is removed again.
 */
static int finish_node(struct p9_server *s, const struct p9_dirfid *d,
		       const char *name, uint32_t gid, mode_t want,
		       struct p9_qid *qid)
{
	struct stat st;
	int fd, r;

	/* O_PATH | O_NOFOLLOW: a FIFO or device is not opened, a symlink
	 * is not followed. */
	fd = p9_open_beneath(s, d->fd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	r = p9_fstat(fd, &st);
	if (!r) {
		r = own_node(s, fd, d->uid, gid, want, &st);
		if (r)
			undo_create(d->fd, name, &st);
		else
			p9_stat_qid(s, &st, qid);
	}
	close(fd);
	return r;
}

/* What Tmkdir, Tsymlink or Tmknod makes. */
struct p9_new_node {
	mode_t type;        /* S_IFDIR, S_IFLNK, or Tmknod's file type */
	mode_t perm;        /* sanitized permission bits (not for symlinks) */
	dev_t dev;          /* Tmknod of a device */
	const char *target; /* S_IFLNK */
};

/* Make @n as @name in directory fid @dirid, finish it and reply its qid. */
static int make_node(struct p9_ctx *ctx, uint32_t dirid, const char *name,
		     uint32_t gid, const struct p9_new_node *n)
{
	struct p9_server *s = ctx->s;
	struct p9_dirfid d;
	struct p9_qid qid;
	int r;

	r = dirfid_get(s, dirid, ctx->session, &d);
	if (r)
		return r;
	if (S_ISDIR(n->type))
		r = mkdirat(d.fd, name, n->perm);
	else if (S_ISLNK(n->type))
		r = symlinkat(n->target, d.fd, name);
	else
		r = mknodat(d.fd, name, n->type | n->perm, n->dev);
	if (r)
		r = -errno;
	else
		r = finish_node(s, &d, name, gid,
				S_ISLNK(n->type) ? (mode_t)-1 : n->perm, &qid);
	if (!r)
		p9_putqid(&ctx->out, &qid);
	dirfid_put(&d);
	return r;
}

/*
 * Tlcreate fid name[s] flags[4] mode[4] gid[4] -> qid iounit[4]
 * @fid, a walked directory, becomes the new file, open.
 */
int p9_op_lcreate(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1], fdname[16];
	struct p9_dir_ref *dref = NULL;
	uint32_t id, flags, mode, gid;
	char *namedup = NULL;
	int nfd = -1, pfd = -1, oldfd = -1, hflags, r;
	struct p9_fid *f;
	struct stat st;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	flags = p9_get32(&ctx->in);
	mode = p9_get32(&ctx->in);
	gid = p9_get32(&ctx->in);
	r = modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	mode = p9_sanitize_mode(s, mode & 07777);
	/* O_EXCL: never open a node that already exists (a FIFO, say). */
	hflags = (p9_host_open_flags(flags) & ~O_DIRECTORY) | O_CREAT | O_EXCL;

	f = p9_fid_get(s, id, ctx->session);
	if (!f)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	if (f->kind != P9_FID_PATH) {
		r = -EINVAL;
		goto unlock;
	}
	if (!S_ISDIR(f->type)) {
		r = -ENOTDIR;
		goto unlock;
	}
	nfd = p9_open_beneath(s, f->fd, name, hflags, mode);
	if (nfd < 0) {
		r = nfd;
		goto unlock;
	}
	if (fstat(nfd, &st)) {
		r = -errno;
		close(nfd);
		goto unlock;
	}
	r = own_node(s, nfd, f->uid, gid, mode, &st);
	if (r)
		goto undo;
	p9_fd_name(nfd, fdname);
	pfd = openat(s->proc_fd, fdname, O_PATH | O_CLOEXEC);
	oldfd = dup_fd(f->fd);
	namedup = strdup(name);
	if (pfd < 0 || oldfd < 0 || !namedup) {
		r = pfd < 0 ? -errno : oldfd < 0 ? oldfd : -ENOMEM;
		goto undo;
	}
	dref = p9_dir_ref_new(oldfd);
	oldfd = -1;
	if (!dref) {
		r = -ENOMEM;
		goto undo;
	}

	/*
	 * The fid now is the new file, named @name in its old directory.
	 * The directory keeps its fd number (the reference takes it, the
	 * duplicate is closed instead): a number a fid held is never closed
	 * here while another request might still be looking at it.
	 */
	oldfd = dref->fd;
	dref->fd = f->fd;
	close(oldfd);
	oldfd = -1;
	p9_dir_ref_put(f->parent);
	f->parent = dref;
	free(f->name);
	f->name = namedup;
	f->fd = pfd;
	f->open_fd = nfd;
	f->open_flags = hflags & ~(O_CREAT | O_EXCL | O_TRUNC);
	f->kind = P9_FID_FILE;
	f->type = S_IFREG;
	p9_stat_qid(s, &st, &f->qid);
	p9_putqid(&ctx->out, &f->qid);
	p9_put32(&ctx->out, p9_iounit(s));
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	return 0;

undo:
	free(namedup);
	if (oldfd >= 0)
		close(oldfd);
	if (pfd >= 0)
		close(pfd);
	close(nfd);
	undo_create(f->fd, name, &st);
unlock:
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	return r;
}

/* Tmkdir dfid name[s] mode[4] gid[4] -> qid */
int p9_op_mkdir(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1];
	struct p9_new_node n = { .type = S_IFDIR };
	uint32_t id, mode, gid;
	int r;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	mode = p9_get32(&ctx->in);
	gid = p9_get32(&ctx->in);
	r = modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	n.perm = p9_sanitize_mode(s, mode & 07777);
	return make_node(ctx, id, name, gid, &n);
}

/*
 * Tsymlink fid name[s] symtgt[s] gid[4] -> qid
 * The target is stored as the guest wrote it; the server never follows it.
 */
int p9_op_symlink(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1], target[P9_STR_MAX + 1];
	struct p9_new_node n = { .type = S_IFLNK, .target = target };
	uint32_t id, gid;
	int r, rt;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	rt = p9_getstr(&ctx->in, target, sizeof(target));
	gid = p9_get32(&ctx->in);
	r = modify_checks(s, &ctx->in, r ? r : rt, name);
	if (r)
		return r;
	if (!target[0])
		return -ENOENT; /* as symlink(2) */
	return make_node(ctx, id, name, gid, &n);
}

/*
 * Tmknod dfid name[s] mode[4] major[4] minor[4] gid[4] -> qid
 * FIFOs, sockets and regular files; device nodes only with passthrough.
 * None of them is ever opened by the server.
 */
int p9_op_mknod(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1];
	uint32_t id, mode, major, minor, gid;
	struct p9_new_node n = { 0 };
	int r;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	mode = p9_get32(&ctx->in);
	major = p9_get32(&ctx->in);
	minor = p9_get32(&ctx->in);
	gid = p9_get32(&ctx->in);
	r = modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	switch (mode & S_IFMT) {
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFREG:
		break;
	case S_IFCHR:
	case S_IFBLK:
		if (!s->passthrough)
			return -EPERM;
		n.dev = makedev(major, minor);
		break;
	default:
		return -EINVAL;
	}
	n.type = mode & S_IFMT;
	n.perm = p9_sanitize_mode(s, mode & 07777);
	return make_node(ctx, id, name, gid, &n);
}

/* Tlink dfid fid name[s] -> (): a new name for @fid's file in @dfid. */
int p9_op_link(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1], fdname[16];
	struct p9_dirfid d;
	uint32_t did, id;
	struct p9_fid *f;
	int r;

	did = p9_get32(&ctx->in);
	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	r = modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	r = dirfid_get(s, did, ctx->session, &d);
	if (r)
		return r;
	f = p9_fid_get(s, id, ctx->session);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	if (S_ISDIR(f->type)) {
		r = -EPERM; /* as link(2) */
		goto unlock;
	}
	r = 0;
	if (linkat(f->fd, "", d.fd, name, AT_EMPTY_PATH)) {
		r = -errno;
		/*
		 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the fd's magic
		 * link, followed, names the same inode (a symlink's own
		 * inode when the fid is a symlink) and needs nothing.
		 */
		if (r == -ENOENT || r == -EPERM) {
			p9_fd_name(f->fd, fdname);
			r = linkat(s->proc_fd, fdname, d.fd, name,
				   AT_SYMLINK_FOLLOW) ? -errno : 0;
		}
	}
unlock:
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
out:
	dirfid_put(&d);
	return r;
}

/*
 * Trename fid dfid name[s] -> (): move @fid's file, found through the
 * directory and name it was walked by, to @name in @dfid.
 */
int p9_op_rename(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1];
	struct p9_dir_ref *dref = NULL;
	struct p9_dirfid d;
	char *namedup = NULL;
	uint32_t id, did;
	struct p9_fid *f;
	struct stat st;
	int r;

	id = p9_get32(&ctx->in);
	did = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	r = modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	r = dirfid_get(s, did, ctx->session, &d);
	if (r)
		return r;
	/* Everything that can fail before the rename, so the fid's name
	 * always follows the file once it moved. */
	namedup = strdup(name);
	if (!namedup) {
		dirfid_put(&d);
		return -ENOMEM;
	}
	dref = p9_dir_ref_new(d.fd); /* takes d.fd, even on failure */
	if (!dref) {
		free(namedup);
		return -ENOMEM;
	}

	f = p9_fid_get(s, id, ctx->session);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	pthread_mutex_lock(&f->lock);
	r = check_named(f, &st);
	if (r)
		goto unlock;
	if (renameat(f->parent->fd, f->name, dref->fd, name)) {
		r = -errno;
		goto unlock;
	}
	p9_dir_ref_put(f->parent);
	f->parent = dref;
	dref = NULL;
	free(f->name);
	f->name = namedup;
	namedup = NULL;
unlock:
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
out:
	free(namedup);
	if (dref)
		p9_dir_ref_put(dref);
	return r;
}

/* Trenameat olddirfid oldname[s] newdirfid newname[s] -> () */
int p9_op_renameat(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char oldname[P9_NAME_MAX + 1], newname[P9_NAME_MAX + 1];
	struct p9_dirfid od, nd;
	uint32_t oid, nid;
	int r, rn;

	oid = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, oldname, sizeof(oldname));
	nid = p9_get32(&ctx->in);
	rn = p9_getstr(&ctx->in, newname, sizeof(newname));
	r = modify_checks(s, &ctx->in, r ? r : rn, oldname);
	if (!r)
		r = p9_check_name(newname);
	if (r)
		return r;
	r = dirfid_get(s, oid, ctx->session, &od);
	if (r)
		return r;
	r = dirfid_get(s, nid, ctx->session, &nd);
	if (!r && renameat(od.fd, oldname, nd.fd, newname))
		r = -errno;
	dirfid_put(&nd);
	dirfid_put(&od);
	return r;
}

/* Tunlinkat dirfd name[s] flags[4] -> () */
int p9_op_unlinkat(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1];
	struct p9_dirfid d;
	uint32_t id, flags;
	int r;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	flags = p9_get32(&ctx->in);
	r = modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	if (flags & ~(uint32_t)P9_AT_REMOVEDIR)
		return -EINVAL;
	r = dirfid_get(s, id, ctx->session, &d);
	if (r)
		return r;
	if (unlinkat(d.fd, name,
		     flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0))
		r = -errno;
	dirfid_put(&d);
	return r;
}

/* Tremove fid -> (): unlink @fid's file by the name it was walked by, and
 * clunk the fid whatever happens (the protocol says so). */
int p9_op_remove(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	struct p9_fid *f;
	struct stat st;
	uint32_t id;
	int r;

	id = p9_get32(&ctx->in);
	if (!p9_in_ok(&ctx->in))
		return -EINVAL;
	f = p9_fid_unhash(s, id, ctx->session);
	if (!f)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	r = s->readonly ? -EROFS : check_named(f, &st);
	if (!r && unlinkat(f->parent->fd, f->name,
			   S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0))
		r = -errno;
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	return r;
}

struct p9_setattr {
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

static int setattr_size(struct p9_server *s, struct p9_fid *f, uint64_t size)
{
	int fd, r = 0;

	if (S_ISDIR(f->type))
		return -EISDIR;
	if (!S_ISREG(f->type))
		return -EINVAL; /* as truncate(2) */
	if (size > INT64_MAX)
		return -EFBIG;
	if (f->open_fd >= 0 && (f->open_flags & O_ACCMODE) != O_RDONLY)
		return ftruncate(f->open_fd, (off_t)size) ? -errno : 0;
	fd = p9_reopen(s, f, O_WRONLY);
	if (fd < 0)
		return fd;
	if (ftruncate(fd, (off_t)size))
		r = -errno;
	close(fd);
	return r;
}

static int setattr_times(struct p9_server *s, struct p9_fid *f,
			 const struct p9_setattr *a)
{
	struct timespec ts[2] = {
		{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
	};
	char fdname[16];

	if (a->valid & P9_ATTR_ATIME) {
		if (!(a->valid & P9_ATTR_ATIME_SET))
			ts[0].tv_nsec = UTIME_NOW;
		else if (a->atime_nsec >= 1000000000u ||
			 a->atime_sec > INT64_MAX)
			return -EINVAL;
		else
			ts[0] = (struct timespec){ (time_t)a->atime_sec,
						   (long)a->atime_nsec };
	}
	if (a->valid & P9_ATTR_MTIME) {
		if (!(a->valid & P9_ATTR_MTIME_SET))
			ts[1].tv_nsec = UTIME_NOW;
		else if (a->mtime_nsec >= 1000000000u ||
			 a->mtime_sec > INT64_MAX)
			return -EINVAL;
		else
			ts[1] = (struct timespec){ (time_t)a->mtime_sec,
						   (long)a->mtime_nsec };
	}
	if (!utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return 0;
	/* Kernels without AT_EMPTY_PATH for utimensat: the magic link
	 * (followed, so not for a symlink's own times). */
	if ((errno != EINVAL && errno != ENOENT && errno != EBADF) ||
	    S_ISLNK(f->type))
		return -errno;
	p9_fd_name(f->fd, fdname);
	return utimensat(s->proc_fd, fdname, ts, 0) ? -errno : 0;
}

/*
 * Tsetattr fid valid[4] mode[4] uid[4] gid[4] size[8] atime_sec[8]
 * atime_nsec[8] mtime_sec[8] mtime_nsec[8] -> ()
 * Applied in order mode, owner, size, times; the first failure stops.
 */
int p9_op_setattr(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	struct p9_setattr a;
	struct p9_fid *f;
	uint32_t id;
	int r;

	id = p9_get32(&ctx->in);
	a.valid = p9_get32(&ctx->in);
	a.mode = p9_get32(&ctx->in);
	a.uid = p9_get32(&ctx->in);
	a.gid = p9_get32(&ctx->in);
	a.size = p9_get64(&ctx->in);
	a.atime_sec = p9_get64(&ctx->in);
	a.atime_nsec = p9_get64(&ctx->in);
	a.mtime_sec = p9_get64(&ctx->in);
	a.mtime_nsec = p9_get64(&ctx->in);
	r = modify_checks(s, &ctx->in, 0, NULL);
	if (r)
		return r;
	f = p9_fid_get(s, id, ctx->session);
	if (!f)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	if (f->kind == P9_FID_XATTR_READ || f->kind == P9_FID_XATTR_WRITE) {
		r = -EINVAL;
		goto out;
	}
	if (a.valid & P9_ATTR_MODE) {
		if (S_ISLNK(f->type)) {
			r = -EOPNOTSUPP; /* as fchmodat(AT_SYMLINK_NOFOLLOW) */
			goto out;
		}
		r = chmod_fd(s, f->fd, p9_sanitize_mode(s, a.mode & 07777));
		if (r)
			goto out;
	}
	/* Without passthrough an owner change is accepted and not applied:
	 * new files belong to lkvm's user (Documentation/9p.md). */
	if ((a.valid & (P9_ATTR_UID | P9_ATTR_GID)) && s->passthrough &&
	    fchownat(f->fd, "",
		     a.valid & P9_ATTR_UID ? (uid_t)a.uid : (uid_t)-1,
		     a.valid & P9_ATTR_GID ? (gid_t)a.gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		r = -errno;
		goto out;
	}
	if (a.valid & P9_ATTR_SIZE) {
		r = setattr_size(s, f, a.size);
		if (r)
			goto out;
	}
	/* P9_ATTR_CTIME alone: every change above already set ctime. */
	if (a.valid & (P9_ATTR_ATIME | P9_ATTR_MTIME))
		r = setattr_times(s, f, &a);
out:
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	return r;
}

/*
 * Without passthrough only the user namespace: security.capability would
 * grant file capabilities, trusted.* needs root anyway, and system.*
 * (POSIX ACLs) can grant access the mode bits do not show.
 */
static bool xattr_name_allowed(const struct p9_server *s, const char *name)
{
	return s->passthrough || !strncmp(name, "user.", 5);
}

/*
 * Txattrcreate fid name[s] attr_size[8] flags[4] -> ()
 * The fid becomes the write side of one attribute: Twrite fills the value,
 * Tclunk sets it (p9_xattr_commit).
 */
int p9_op_xattrcreate(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_XATTR_NAME_MAX + 1];
	uint8_t *buf = NULL;
	char *namedup = NULL;
	uint64_t size;
	uint32_t id, flags;
	struct p9_fid *f;
	int r;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	size = p9_get64(&ctx->in);
	flags = p9_get32(&ctx->in);
	if (r == -ENAMETOOLONG)
		r = -ERANGE; /* as setxattr(2) */
	r = modify_checks(s, &ctx->in, r, NULL);
	if (r)
		return r;
	if (!name[0])
		return -ERANGE;
	if (size > P9_XATTR_SIZE_MAX)
		return -E2BIG;
	if (flags & ~(uint32_t)(P9_XATTR_CREATE | P9_XATTR_REPLACE))
		return -EINVAL;
	if (!xattr_name_allowed(s, name))
		return -EOPNOTSUPP;
	f = p9_fid_get(s, id, ctx->session);
	if (!f)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	if (f->kind != P9_FID_PATH)
		r = -EINVAL;
	else if (!S_ISREG(f->type) && !S_ISDIR(f->type))
		r = -EPERM; /* as user xattrs on special files */
	else
		/* The value waits for the clunk: bounded per export. */
		r = p9_buf_charge(s, f, (size_t)size);
	if (r)
		goto unlock;
	namedup = strdup(name);
	buf = calloc(size ? size : 1, 1);
	if (!namedup || !buf) {
		p9_buf_uncharge(s, f, (size_t)size);
		r = -ENOMEM;
		goto unlock;
	}
	f->kind = P9_FID_XATTR_WRITE;
	f->xattr_name = namedup;
	f->xattr_buf = buf;
	f->xattr_size = size;
	f->xattr_len = 0;
	f->xattr_flags = (int)flags;
	namedup = NULL;
	buf = NULL;
unlock:
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	free(namedup);
	free(buf);
	return r;
}

static int xattr_commit_locked(struct p9_server *s, struct p9_fid *f)
{
	char path[32];
	struct stat st;
	int r;

	if (f->kind != P9_FID_XATTR_WRITE || !f->xattr_name)
		return -EINVAL;
	if (s->readonly)
		return -EROFS;
	if (f->xattr_len != f->xattr_size)
		return -EINVAL; /* the value was not written completely */
	r = p9_fstat(f->fd, &st);
	if (r)
		return r;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EPERM;
	/* The fd's magic link, followed: the inode the fid holds. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->fd);
	if (!f->xattr_size)
		r = removexattr(path, f->xattr_name);
	else
		r = setxattr(path, f->xattr_name, f->xattr_buf,
			     (size_t)f->xattr_size, f->xattr_flags);
	return r ? -errno : 0;
}

/* Called by Tclunk (the fid already out of the table, its lock free). */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f)
{
	int r;

	pthread_mutex_lock(&f->lock);
	r = xattr_commit_locked(s, f);
	pthread_mutex_unlock(&f->lock);
	return r;
}
