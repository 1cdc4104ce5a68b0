// SPDX-License-Identifier: GPL-2.0
/*
 * The 9P server's fid table and sessions: fids and the directory references
 * they share, the hash table they live in, and the session count that
 * keeps a request outliving its session (a reset, Tversion) away from the
 * next session's fids.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* --- Directory references --- */

struct p9_dir_ref *p9_dir_ref_new(int fd)
{
	struct p9_dir_ref *d;

	if (fd < 0)
		return NULL;
	d = malloc(sizeof(*d));
	if (!d) {
		close(fd);
		return NULL;
	}
	d->fd = fd;
	d->refs = 1;
	return d;
}

struct p9_dir_ref *p9_dir_ref_get(struct p9_dir_ref *d)
{
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

void p9_dir_ref_put(struct p9_dir_ref *d)
{
	if (!d || __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL))
		return;
	close(d->fd);
	free(d);
}

/* --- Fid table --- */

struct p9_fid *p9_fid_alloc(uint32_t fid)
{
	struct p9_fid *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fid = fid;
	f->refs = 1;
	f->kind = P9_FID_PATH;
	f->fd = -1;
	f->open_fd = -1;
	pthread_mutex_init(&f->lock, NULL);
	return f;
}

int p9_buf_charge(struct p9_server *s, struct p9_fid *f, size_t n)
{
	size_t used = __atomic_load_n(&s->buf_used, __ATOMIC_RELAXED);

	/* The export's whole budget, whatever the number of fids. */
	do {
		if (n > P9_BUF_BUDGET - used)
			return -ENOSPC;
	} while (!__atomic_compare_exchange_n(&s->buf_used, &used, used + n,
					      true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	f->charged += n;
	return 0;
}

void p9_buf_uncharge(struct p9_server *s, struct p9_fid *f, size_t n)
{
	f->charged -= n;
	__atomic_sub_fetch(&s->buf_used, n, __ATOMIC_RELAXED);
}

static void fid_free(struct p9_server *s, struct p9_fid *f)
{
	p9_buf_uncharge(s, f, f->charged);
	if (f->fd >= 0)
		close(f->fd);
	if (f->open_fd >= 0)
		close(f->open_fd);
	p9_dir_ref_put(f->parent);
	free(f->name);
	free(f->dirbuf);
	free(f->xattr_name);
	free(f->xattr_buf);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static struct p9_fid **fid_slot(struct p9_server *s, uint32_t fid)
{
	/* Multiplying by an odd constant permutes the low bits, so dense
	 * fid numbers (what Linux uses) spread evenly. */
	unsigned int b = (fid * 2654435761u) & (s->fid_hash_size - 1);
	struct p9_fid **pp = &s->fid_hash[b];

	while (*pp && (*pp)->fid != fid)
		pp = &(*pp)->hnext;
	return pp;
}

/* The current session (see p9_fids_clunk_all()). */
unsigned int p9_server_session(struct p9_server *s)
{
	return __atomic_load_n(&s->session, __ATOMIC_ACQUIRE);
}

int p9_fid_install(struct p9_server *s, struct p9_fid *f,
		   struct p9_fid *old, unsigned int session)
{
	struct p9_fid **pp;
	int r = 0;

	pthread_mutex_lock(&s->fid_lock);
	pp = fid_slot(s, f->fid);
	if (session != s->session) {
		r = -EINTR;
		goto out;
	}
	if (old) {
		if (*pp != old) {
			r = -ENOENT; /* clunked meanwhile */
			goto out;
		}
		f->hnext = old->hnext;
		old->hnext = NULL;
		old->refs--; /* the table's; the caller still holds one */
	} else if (*pp) {
		r = -EEXIST;
		goto out;
	} else if (s->nr_fids >= s->max_fids) {
		r = -EMFILE;
		goto out;
	} else {
		f->hnext = NULL;
		s->nr_fids++;
	}
	*pp = f;
	f->refs++;
out:
	pthread_mutex_unlock(&s->fid_lock);
	return r;
}

struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t fid,
			  unsigned int session)
{
	struct p9_fid *f;

	pthread_mutex_lock(&s->fid_lock);
	/* The session only changes under fid_lock, with the table. */
	f = session == s->session ? *fid_slot(s, fid) : NULL;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&s->fid_lock);
	return f;
}

struct p9_fid *p9_fid_new(struct p9_server *s, uint32_t fid, int *err)
{
	struct p9_fid *f;

	*err = -EINVAL;
	if (fid == P9_NOFID)
		return NULL;
	f = p9_fid_alloc(fid);
	*err = f ? p9_fid_install(s, f, NULL, p9_server_session(s)) : -ENOMEM;
	if (*err && f) {
		fid_free(s, f);
		f = NULL;
	}
	return f;
}

void p9_fid_put(struct p9_server *s, struct p9_fid *f)
{
	int refs;

	if (!f)
		return;
	pthread_mutex_lock(&s->fid_lock);
	refs = --f->refs;
	pthread_mutex_unlock(&s->fid_lock);
	if (!refs)
		fid_free(s, f);
}

struct p9_fid *p9_fid_unhash(struct p9_server *s, uint32_t fid,
			     unsigned int session)
{
	struct p9_fid **pp, *f = NULL;

	pthread_mutex_lock(&s->fid_lock);
	pp = fid_slot(s, fid);
	if (session == s->session)
		f = *pp;
	if (f) {
		*pp = f->hnext;
		f->hnext = NULL;
		s->nr_fids--;
	}
	pthread_mutex_unlock(&s->fid_lock);
	return f;
}

/*
 * Session reset (Tversion, device reset): start a new session and forget
 * every fid.  Pending xattr writes are dropped, as an aborted session
 * implies.  The new session goes to *@session.  The count goes up under
 * fid_lock, with the table emptied: a request of the old session installs
 * its fid before (and it is clunked here) or is refused (p9_fid_install()).
 */
struct p9_fid *p9_fids_detach_all(struct p9_server *s,
				  unsigned int *session)
{
	struct p9_fid *list = NULL, *f;
	unsigned int b;

	*session = 0;
	if (!s->fid_hash)
		return NULL;
	pthread_mutex_lock(&s->fid_lock);
	*session = __atomic_add_fetch(&s->session, 1, __ATOMIC_RELEASE);
	for (b = 0; b < s->fid_hash_size; b++) {
		while ((f = s->fid_hash[b]) != NULL) {
			s->fid_hash[b] = f->hnext;
			f->hnext = list;
			list = f;
		}
	}
	s->nr_fids = 0;
	pthread_mutex_unlock(&s->fid_lock);
	return list;
}

/* Drop the table's reference to each fid of @list (p9_fids_detach_all()). */
void p9_fids_put_list(struct p9_server *s, struct p9_fid *list)
{
	struct p9_fid *f;

	while ((f = list) != NULL) {
		list = f->hnext;
		f->hnext = NULL;
		p9_fid_put(s, f);
	}
}

unsigned int p9_fids_clunk_all(struct p9_server *s)
{
	unsigned int session;

	p9_fids_put_list(s, p9_fids_detach_all(s, &session));
	return session;
}

unsigned int p9_server_nr_fids(struct p9_server *s)
{
	unsigned int n;

	pthread_mutex_lock(&s->fid_lock);
	n = s->nr_fids;
	pthread_mutex_unlock(&s->fid_lock);
	return n;
}

/* --- Fids for requests --- */

/*
 * A duplicate of @f's O_PATH fd, with its type, taken under the fid's
 * lock: Tlcreate turns a fid into the file it created, and the directory
 * fd it held may be closed later (Trename), so an fd number read from a
 * fid outside its lock could name an unrelated file by the time it is used.
 */
int p9_fid_dup_fd(struct p9_fid *f, mode_t *type)
{
	int fd;

	pthread_mutex_lock(&f->lock);
	fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	*type = f->type;
	pthread_mutex_unlock(&f->lock);
	return fd < 0 ? -errno : fd;
}

/* open_fd of an opened fid (a reference keeps it open), or -1. */
int p9_fid_open_fd(struct p9_fid *f)
{
	int fd;

	pthread_mutex_lock(&f->lock);
	fd = f->kind == P9_FID_FILE || f->kind == P9_FID_DIR ? f->open_fd : -1;
	pthread_mutex_unlock(&f->lock);
	return fd;
}

/* The fid a request named in @fid, once all its fields were read. */
int p9_lookup_fid(struct p9_ctx *ctx, uint32_t fid, struct p9_fid **f)
{
	if (!p9_in_ok(&ctx->in))
		return -EINVAL;
	*f = p9_fid_get(ctx->s, fid, ctx->session);
	return *f ? 0 : -ENOENT;
}

struct p9_fid *p9_fid_get_locked(struct p9_ctx *ctx, uint32_t fid)
{
	struct p9_fid *f = p9_fid_get(ctx->s, fid, ctx->session);

	if (f)
		pthread_mutex_lock(&f->lock);
	return f;
}

void p9_fid_unlock_put(struct p9_server *s, struct p9_fid *f)
{
	pthread_mutex_unlock(&f->lock);
	p9_fid_put(s, f);
}

/* The fid of a request's first field. */
int p9_parse_fid(struct p9_ctx *ctx, struct p9_fid **f)
{
	return p9_lookup_fid(ctx, p9_get32(&ctx->in), f);
}
