// SPDX-License-Identifier: GPL-2.0
/*
 * Tversion, Tauth and Tattach start a session at the export's root; Twalk
 * reaches files from there, one checked component at a time (path.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/util.h"
#include "internal.h"

/* --- Session: Tversion, Tauth, Tattach --- */

static bool version_is_dotl(const char *v)
{
	/* "9P2000.L", or a variant of it after a '.' (version(5) rule). */
	return !strncmp(v, "9P2000.L", 8) && (v[8] == '\0' || v[8] == '.');
}

int p9_op_version(struct p9_ctx *ctx)
{
	char version[P9_STR_MAX + 1];
	uint32_t msize = p9_get32(&ctx->in);
	int r = p9_getstr(&ctx->in, version, sizeof(version));

	r = p9_parsed(&ctx->in, r);
	if (r)
		return r;
	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	msize = MIN(msize, P9_MAX_MSIZE);
	/* A new session: every fid of the old one is gone, and requests
	 * still running from it are stale (this one belongs to the new). */
	ctx->session = p9_fids_clunk_all(ctx->s);
	__atomic_store_n(&ctx->s->msize, msize, __ATOMIC_RELAXED);
	p9_put32(&ctx->out, msize);
	p9_putstr(&ctx->out, version_is_dotl(version) ? "9P2000.L" : "unknown");
	return 0;
}

int p9_op_auth(struct p9_ctx *ctx)
{
	(void)ctx;
	return -EOPNOTSUPP; /* no authentication: Tattach with afid NOFID */
}

int p9_op_attach(struct p9_ctx *ctx)
{
	struct p9_server *s = ctx->s;
	char uname[P9_STR_MAX + 1], aname[P9_STR_MAX + 1];
	uint32_t fid = p9_get32(&ctx->in), afid = p9_get32(&ctx->in);
	int r = p9_getstr(&ctx->in, uname, sizeof(uname));
	int r2 = p9_getstr(&ctx->in, aname, sizeof(aname));
	uint32_t n_uname = p9_get32(&ctx->in);
	struct p9_fid *f;
	struct stat st;

	/* uname and aname are read and ignored: the export is the device's
	 * directory (a guest cannot pick another by naming it), and users
	 * are not authenticated; n_uname only matters for passthrough. */
	r = p9_parsed(&ctx->in, r ? r : r2);
	if (r)
		return r;
	if (afid != P9_NOFID || fid == P9_NOFID)
		return -EINVAL;
	f = p9_fid_alloc(fid);
	if (!f)
		return -ENOMEM;
	f->fd = fcntl(s->root_fd, F_DUPFD_CLOEXEC, 0);
	r = f->fd < 0 ? -errno : p9_fstat(f->fd, &st);
	if (!r) {
		f->type = S_IFDIR;
		f->uid = n_uname;
		p9_stat_qid(s, &st, &f->qid);
		r = p9_fid_install(s, f, NULL, ctx->session);
	}
	if (!r)
		p9_putqid(&ctx->out, &f->qid);
	p9_fid_put(s, f);
	return r;
}

/* --- Twalk --- */

struct walk {
	uint32_t fid, newfid;
	uint16_t nwname, nwqid;
	char names[P9_MAXWELEM][P9_NAME_MAX + 1];
	int base_fd;             /* a duplicate of the starting fid's fd */
	mode_t base_type;
	int fds[P9_MAXWELEM];
	struct p9_qid qids[P9_MAXWELEM];
	mode_t last_type;
	unsigned int session;    /* the request's (p9_fid_install()) */
};

static int walk_parse(struct p9_in *in, struct walk *w)
{
	unsigned int i;
	int r = 0;

	w->fid = p9_get32(in);
	w->newfid = p9_get32(in);
	w->nwname = p9_get16(in);
	if (!p9_in_ok(in))
		return -EINVAL;
	if (w->nwname > P9_MAXWELEM)
		return -EINVAL;
	for (i = 0; i < w->nwname && !r; i++)
		r = p9_getstr(in, w->names[i], sizeof(w->names[i]));
	return p9_parsed(in, r);
}

/* Resolve the names from w->base_fd; w->nwqid steps succeeded (their fds
 * kept in w->fds). */
static int walk_names(struct p9_server *s, struct walk *w)
{
	int cur = w->base_fd, fd;
	struct stat st;

	if (w->nwname && !S_ISDIR(w->base_type))
		return -ENOTDIR;
	for (w->nwqid = 0; w->nwqid < w->nwname; w->nwqid++) {
		fd = p9_fstat_or_close(p9_walk_one(s, cur, w->names[w->nwqid]),
				       &st);
		if (fd < 0)
			return fd;
		p9_stat_qid(s, &st, &w->qids[w->nwqid]);
		w->fds[w->nwqid] = fd;
		w->last_type = st.st_mode & S_IFMT;
		cur = fd;
	}
	return 0;
}

/* Close every fd the walk did not hand over to a fid. */
static void walk_close(struct walk *w)
{
	unsigned int i;

	for (i = 0; i < w->nwqid; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
	if (w->base_fd >= 0)
		close(w->base_fd);
}

/* A zero-name walk: a new fid on the same file, same place (all of it
 * read at once under the fid's lock). */
static int walk_clone(struct p9_fid *f, struct p9_fid *nf)
{
	pthread_mutex_lock(&f->lock);
	nf->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	if (nf->fd < 0) {
		pthread_mutex_unlock(&f->lock);
		return -errno;
	}
	nf->type = f->type;
	nf->qid = f->qid;
	nf->parent = p9_dir_ref_get(f->parent);
	nf->name = f->name ? strdup(f->name) : NULL;
	pthread_mutex_unlock(&f->lock);
	return nf->name || !f->name ? 0 : -ENOMEM;
}

/* The fid at the end of a full walk: the last fd, and the directory the
 * last name was found in as its parent. */
static int walk_result(struct walk *w, struct p9_fid *nf)
{
	unsigned int n = w->nwname;
	const char *last = w->names[n - 1];
	int *dirfd = n >= 2 ? &w->fds[n - 2] : &w->base_fd;

	nf->fd = w->fds[n - 1];
	w->fds[n - 1] = -1;
	nf->type = w->last_type;
	nf->qid = w->qids[n - 1];
	if (!strcmp(last, ".."))
		return 0; /* the name of a parent is unknown: no rename/remove */
	nf->parent = p9_dir_ref_new(*dirfd);
	*dirfd = -1;
	nf->name = strdup(last);
	return nf->parent && nf->name ? 0 : -ENOMEM;
}

static int walk_make_fid(struct p9_server *s, struct p9_fid *f,
			 struct walk *w)
{
	struct p9_fid *nf = p9_fid_alloc(w->newfid);
	int r;

	if (!nf)
		return -ENOMEM;
	nf->uid = f->uid;
	r = w->nwname ? walk_result(w, nf) : walk_clone(f, nf);
	if (!r)
		r = p9_fid_install(s, nf, w->newfid == w->fid ? f : NULL,
				   w->session);
	p9_fid_put(s, nf);
	return r;
}

static int walk_from(struct p9_server *s, struct p9_fid *f, struct walk *w,
		     struct p9_out *out)
{
	struct p9_fid *other;
	unsigned int i;
	int r;

	if (w->newfid != w->fid) {
		if (w->newfid == P9_NOFID)
			return -EINVAL;
		other = p9_fid_get(s, w->newfid, w->session);
		if (other) {
			p9_fid_put(s, other);
			return -EEXIST;
		}
	} else if (!w->nwname) {
		p9_put16(out, 0); /* a clone onto itself changes nothing */
		return 0;
	}
	if (w->nwname) {
		w->base_fd = p9_fid_dup_fd(f, &w->base_type);
		if (w->base_fd < 0)
			return w->base_fd;
	}
	r = walk_names(s, w);
	/* A failure on the first name is an error; a later one is an Rwalk
	 * with the qids so far, and newfid is not created. */
	if (r && !w->nwqid)
		return r;
	if (!r) {
		r = walk_make_fid(s, f, w);
		if (r)
			return r;
	}
	p9_put16(out, w->nwqid);
	for (i = 0; i < w->nwqid; i++)
		p9_putqid(out, &w->qids[i]);
	return 0;
}

int p9_op_walk(struct p9_ctx *ctx)
{
	struct walk *w = malloc(sizeof(*w));
	struct p9_fid *f;
	int r;

	if (!w)
		return -ENOMEM;
	w->nwqid = 0;
	w->base_fd = -1;
	w->session = ctx->session;
	r = walk_parse(&ctx->in, w);
	if (r)
		goto out;
	f = p9_fid_get(ctx->s, w->fid, ctx->session);
	if (!f) {
		r = -ENOENT;
		goto out;
	}
	r = walk_from(ctx->s, f, w, &ctx->out);
	walk_close(w);
	p9_fid_put(ctx->s, f);
out:
	free(w);
	return r;
}
