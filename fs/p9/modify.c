// SPDX-License-Identifier: GPL-2.0
/*
 * The modifying operations of the 9P2000.L server that change names:
 * link, rename, unlink and remove; and what every modifying operation
 * shares (create.c, attr.c's Tsetattr, xattr.c's Txattrcreate): its
 * checks, mode sanitizing and the directory fid a name is made in.  The
 * ownership model they enforce is in Documentation/9p.md.
 *
 * Every host call is relative to a fid's file descriptor and takes one
 * checked name component, or goes through the fid's own /proc/self/fd
 * magic link, which names exactly the inode the fid holds: no host path is
 * ever built from guest strings.
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
#include <unistd.h>

#include "internal.h"

mode_t p9_sanitize_mode(const struct p9_server *s, mode_t mode)
{
	if (s->passthrough)
		return mode;
	/* The guest must not leave a setuid/setgid file behind on the host. */
	return mode & ~(mode_t)(S_ISUID | S_ISGID);
}

int p9_modify_checks(struct p9_server *s, const struct p9_in *in,
		     int str_err, const char *name)
{
	int r = p9_parsed(in, str_err);

	if (r)
		return r;
	if (s->readonly)
		return -EROFS;
	return name ? p9_check_name(name) : 0;
}

int p9_dirfid_get(struct p9_server *s, uint32_t id,
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
		r = p9_dup_fd(f->fd);
	d->uid = f->uid;
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
	if (r < 0)
		return r;
	d->fd = r;
	return 0;
}

void p9_dirfid_put(struct p9_dirfid *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
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
	return r ? r : p9_check_identity(f->parent->fd, f->name, st);
}

/* The checks of an operation that puts @name into directory fid @did
 * (p9_modify_checks()), then that directory as @d. */
static int checked_dirfid(struct p9_ctx *ctx, int str_err, const char *name,
			  uint32_t did, struct p9_dirfid *d)
{
	int r = p9_modify_checks(ctx->s, &ctx->in, str_err, name);

	return r ? r : p9_dirfid_get(ctx->s, did, ctx->session, d);
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
	r = checked_dirfid(ctx, r, name, did, &d);
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
	p9_dirfid_put(&d);
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
	r = checked_dirfid(ctx, r, name, did, &d);
	if (r)
		return r;
	/* Everything that can fail before the rename, so the fid's name
	 * always follows the file once it moved. */
	namedup = strdup(name);
	if (!namedup) {
		p9_dirfid_put(&d);
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
	r = p9_modify_checks(s, &ctx->in, r ? r : rn, oldname);
	if (!r)
		r = p9_check_name(newname);
	if (r)
		return r;
	r = p9_dirfid_get(s, oid, ctx->session, &od);
	if (r)
		return r;
	r = p9_dirfid_get(s, nid, ctx->session, &nd);
	if (!r && renameat(od.fd, oldname, nd.fd, newname))
		r = -errno;
	p9_dirfid_put(&nd);
	p9_dirfid_put(&od);
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
	r = p9_modify_checks(s, &ctx->in, r, name);
	if (r)
		return r;
	if (flags & ~(uint32_t)P9_AT_REMOVEDIR)
		return -EINVAL;
	r = p9_dirfid_get(s, id, ctx->session, &d);
	if (r)
		return r;
	if (unlinkat(d.fd, name,
		     flags & P9_AT_REMOVEDIR ? AT_REMOVEDIR : 0))
		r = -errno;
	p9_dirfid_put(&d);
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
