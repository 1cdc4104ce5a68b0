// SPDX-License-Identifier: GPL-2.0
/*
 * The creating operations of the 9P2000.L server: Tlcreate, Tmkdir,
 * Tsymlink and Tmknod, and the owner and mode of what they make.  Without
 * passthrough, new files belong to the user lkvm runs as, setuid/setgid
 * bits are dropped and device nodes cannot be made (Documentation/9p.md).
 *
 * Every host call is relative to a fid's file descriptor and takes one
 * checked name component, or goes through the fid's own /proc/self/fd
 * magic link, which names exactly the inode the fid holds: no host path is
 * ever built from guest strings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "internal.h"

/* Take back a node this request made when finishing it failed (only if
 * @name still is that node). */
static void undo_create(int dirfd, const char *name, const struct stat *st)
{
	if (p9_check_identity(dirfd, name, st))
		return;
	if (unlinkat(dirfd, name, S_ISDIR(st->st_mode) ? AT_REMOVEDIR : 0))
		pr_debug("9p: could not remove half-made '%s': %s", name,
			 strerror(errno));
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
	return p9_chmod_fd(s, fd, want);
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

	r = p9_dirfid_get(s, dirid, ctx->session, &d);
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
	p9_dirfid_put(&d);
	return r;
}

/* The new file of a Tlcreate, ready to become its fid's. */
struct created_file {
	int open_fd;             /* open with the request's flags */
	int path_fd;             /* O_PATH of it */
	struct p9_dir_ref *dir;  /* for the fid's directory (a duplicate fd,
				  * swapped with the fid's) */
	char *name;              /* malloc'ed */
	struct stat st;
};

/*
 * Create @name in directory fid @f (locked) and prepare everything @f
 * will hold as the new file, so nothing can fail once it changes.  On
 * failure the new file is removed again.
 */
static int create_file(struct p9_server *s, struct p9_fid *f,
		       const char *name, int hflags, mode_t mode, uint32_t gid,
		       struct created_file *cf)
{
	int nfd, pfd = -1, oldfd = -1, r;
	char fdname[16], *namedup = NULL;

	nfd = p9_open_beneath(s, f->fd, name, hflags, mode);
	if (nfd < 0)
		return nfd;
	if (fstat(nfd, &cf->st)) {
		r = -errno;
		close(nfd);
		return r;
	}
	r = own_node(s, nfd, f->uid, gid, mode, &cf->st);
	if (r)
		goto undo;
	p9_fd_name(nfd, fdname);
	pfd = openat(s->proc_fd, fdname, O_PATH | O_CLOEXEC);
	oldfd = p9_dup_fd(f->fd);
	namedup = strdup(name);
	if (pfd < 0 || oldfd < 0 || !namedup) {
		r = pfd < 0 ? -errno : oldfd < 0 ? oldfd : -ENOMEM;
		goto undo;
	}
	cf->dir = p9_dir_ref_new(oldfd);
	oldfd = -1;
	if (!cf->dir) {
		r = -ENOMEM;
		goto undo;
	}
	cf->open_fd = nfd;
	cf->path_fd = pfd;
	cf->name = namedup;
	return 0;

undo:
	free(namedup);
	if (oldfd >= 0)
		close(oldfd);
	if (pfd >= 0)
		close(pfd);
	close(nfd);
	undo_create(f->fd, name, &cf->st);
	return r;
}

/*
 * @f (locked) becomes the file @cf, named cf->name in its old directory.
 * The directory keeps its fd number (the reference takes it, the
 * duplicate is closed instead): a number a fid held is never closed here
 * while another request might still be looking at it.
 */
static void fid_become_file(struct p9_server *s, struct p9_fid *f,
			    struct created_file *cf, int hflags)
{
	int dup_fd = cf->dir->fd;

	cf->dir->fd = f->fd;
	close(dup_fd);
	p9_dir_ref_put(f->parent);
	f->parent = cf->dir;
	free(f->name);
	f->name = cf->name;
	f->fd = cf->path_fd;
	f->open_fd = cf->open_fd;
	f->open_flags = hflags & ~(O_CREAT | O_EXCL | O_TRUNC);
	f->kind = P9_FID_FILE;
	f->type = S_IFREG;
	p9_stat_qid(s, &cf->st, &f->qid);
}

/*
 * Tlcreate fid name[s] flags[4] mode[4] gid[4] -> qid iounit[4]
 * @fid, a walked directory, becomes the new file, open.
 */
int p9_op_lcreate(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char name[P9_NAME_MAX + 1];
	uint32_t id, flags, mode, gid;
	struct created_file cf;
	struct p9_fid *f;
	int hflags, r;

	id = p9_get32(&ctx->in);
	r = p9_getstr(&ctx->in, name, sizeof(name));
	flags = p9_get32(&ctx->in);
	mode = p9_get32(&ctx->in);
	gid = p9_get32(&ctx->in);
	r = p9_modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	mode = p9_sanitize_mode(s, mode & 07777);
	/* O_EXCL: never open a node that already exists (a FIFO, say). */
	hflags = (p9_host_open_flags(flags) & ~O_DIRECTORY) | O_CREAT | O_EXCL;

	f = p9_fid_get_locked(ctx, id);
	if (!f)
		return -ENOENT;
	if (f->kind != P9_FID_PATH)
		r = -EINVAL;
	else if (!S_ISDIR(f->type))
		r = -ENOTDIR;
	else
		r = create_file(s, f, name, hflags, mode, gid, &cf);
	if (!r) {
		fid_become_file(s, f, &cf, hflags);
		p9_putqid(&ctx->out, &f->qid);
		p9_put32(&ctx->out, p9_iounit(s));
	}
	p9_fid_unlock_put(s, f);
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
	r = p9_modify_checks(s, &ctx->in, r, name);
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
	r = p9_modify_checks(s, &ctx->in, r ? r : rt, name);
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
	r = p9_modify_checks(s, &ctx->in, r, name);
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
