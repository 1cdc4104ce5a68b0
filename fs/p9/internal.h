/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FS_P9_INTERNAL_H
#define LKVM_FS_P9_INTERNAL_H

/*
 * Internals of the 9P2000.L server shared by its files (fs/p9/):
 *   server.c    server object: export, lifetime, reset and drain
 *   worker.c    worker pool: request queue, worker threads, Tflush
 *   dispatch.c  framing and dispatch: header, handler, reply or Rlerror
 *   fid.c       fid table, directory references, sessions
 *   msg.c       message codec (bounded reader/writer), guest iovecs
 *   path.c      fd-relative resolution helpers (confinement), qids
 *   walk.c      Tversion, Tauth, Tattach, Twalk
 *   io.c        Tlopen, Tread, Twrite, Tclunk, Tfsync
 *   attr.c      Tgetattr, Tsetattr, Tstatfs, Treadlink
 *   lock.c      Tlock, Tgetlock
 *   readdir.c   Treaddir
 *   xattr.c     Txattrwalk, Txattrcreate (set at Tclunk)
 *   create.c    Tlcreate, Tmkdir, Tsymlink, Tmknod: owner and mode of new
 *               nodes
 *   modify.c    Tlink, Trename, Trenameat, Tunlinkat, Tremove, and what
 *               every modifying operation checks
 * Not part of the VMM's API: only fs/ and tests/unit include this.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "lkvm/p9.h"

/* --- Protocol constants (Linux include/net/9p/9p.h values) --- */
enum p9_msg_type {
	P9_TLERROR = 6, P9_RLERROR,
	P9_TSTATFS = 8, P9_RSTATFS,
	P9_TLOPEN = 12, P9_RLOPEN,
	P9_TLCREATE = 14, P9_RLCREATE,
	P9_TSYMLINK = 16, P9_RSYMLINK,
	P9_TMKNOD = 18, P9_RMKNOD,
	P9_TRENAME = 20, P9_RRENAME,
	P9_TREADLINK = 22, P9_RREADLINK,
	P9_TGETATTR = 24, P9_RGETATTR,
	P9_TSETATTR = 26, P9_RSETATTR,
	P9_TXATTRWALK = 30, P9_RXATTRWALK,
	P9_TXATTRCREATE = 32, P9_RXATTRCREATE,
	P9_TREADDIR = 40, P9_RREADDIR,
	P9_TFSYNC = 50, P9_RFSYNC,
	P9_TLOCK = 52, P9_RLOCK,
	P9_TGETLOCK = 54, P9_RGETLOCK,
	P9_TLINK = 70, P9_RLINK,
	P9_TMKDIR = 72, P9_RMKDIR,
	P9_TRENAMEAT = 74, P9_RRENAMEAT,
	P9_TUNLINKAT = 76, P9_RUNLINKAT,
	P9_TVERSION = 100, P9_RVERSION,
	P9_TAUTH = 102, P9_RAUTH,
	P9_TATTACH = 104, P9_RATTACH,
	P9_TERROR = 106, P9_RERROR,
	P9_TFLUSH = 108, P9_RFLUSH,
	P9_TWALK = 110, P9_RWALK,
	P9_TOPEN = 112, P9_ROPEN,
	P9_TCREATE = 114, P9_RCREATE,
	P9_TREAD = 116, P9_RREAD,
	P9_TWRITE = 118, P9_RWRITE,
	P9_TCLUNK = 120, P9_RCLUNK,
	P9_TREMOVE = 122, P9_RREMOVE,
	P9_TSTAT = 124, P9_RSTAT,
	P9_TWSTAT = 126, P9_RWSTAT,
};

#define P9_HDR_LEN 7u            /* size[4] type[1] tag[2] */
#define P9_IOHDR_LEN (P9_HDR_LEN + 4)       /* Rread/Rreaddir: + count[4] */
#define P9_TWRITE_HDR_LEN (P9_HDR_LEN + 16) /* fid[4] offset[8] count[4] */
#define P9_NOTAG 0xffffu
#define P9_NOFID 0xffffffffu
#define P9_MAXWELEM 16u          /* names per Twalk */
#define P9_NAME_MAX 255u         /* one path component */
#define P9_STR_MAX 4096u         /* longest string we accept (symlink
				  * targets, xattr names, unames) */
#define P9_XATTR_SIZE_MAX 65536u /* XATTR_SIZE_MAX */
#define P9_REQ_COPY_MAX 65536u   /* T-message bytes copied to the host
				  * (Twrite/xattr data is read in place) */
/*
 * Bytes of xattr values (Txattrcreate before its Tclunk, Txattrwalk
 * results) and readdir buffers all fids of one export may hold together.
 * Without it a guest could pin 8192 fids x 64 KiB (0.5 GiB) per export.
 * Past it: ENOSPC for the xattr requests; Treaddir uses a buffer for that
 * request only (one per worker thread at most, see dir_fill()) and keeps
 * none.  Enforced by p9_buf_charge().
 */
#define P9_BUF_BUDGET (4u << 20)
#define P9_DIRBUF_SIZE (32u * 1024) /* one open directory's getdents buffer */

/* qid.type */
#define P9_QTDIR 0x80
#define P9_QTAPPEND 0x40
#define P9_QTEXCL 0x20
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* Tlopen/Tlcreate flags (9P2000.L uses Linux's generic O_ values). */
#define P9_DOTL_RDONLY    00000000
#define P9_DOTL_WRONLY    00000001
#define P9_DOTL_RDWR      00000002
#define P9_DOTL_NOACCESS  00000003
#define P9_DOTL_CREATE    00000100
#define P9_DOTL_EXCL      00000200
#define P9_DOTL_NOCTTY    00000400
#define P9_DOTL_TRUNC     00001000
#define P9_DOTL_APPEND    00002000
#define P9_DOTL_NONBLOCK  00004000
#define P9_DOTL_DSYNC     00010000
#define P9_DOTL_FASYNC    00020000
#define P9_DOTL_DIRECT    00040000
#define P9_DOTL_LARGEFILE 00100000
#define P9_DOTL_DIRECTORY 00200000
#define P9_DOTL_NOFOLLOW  00400000
#define P9_DOTL_NOATIME   01000000
#define P9_DOTL_CLOEXEC   02000000
#define P9_DOTL_SYNC      04000000

/* Tgetattr request mask / Rgetattr valid */
#define P9_GETATTR_MODE 0x00000001ULL
#define P9_GETATTR_NLINK 0x00000002ULL
#define P9_GETATTR_UID 0x00000004ULL
#define P9_GETATTR_GID 0x00000008ULL
#define P9_GETATTR_RDEV 0x00000010ULL
#define P9_GETATTR_ATIME 0x00000020ULL
#define P9_GETATTR_MTIME 0x00000040ULL
#define P9_GETATTR_CTIME 0x00000080ULL
#define P9_GETATTR_INO 0x00000100ULL
#define P9_GETATTR_SIZE 0x00000200ULL
#define P9_GETATTR_BLOCKS 0x00000400ULL
#define P9_GETATTR_BTIME 0x00000800ULL
#define P9_GETATTR_GEN 0x00001000ULL
#define P9_GETATTR_DATA_VERSION 0x00002000ULL
#define P9_GETATTR_BASIC 0x000007ffULL
#define P9_GETATTR_ALL 0x00003fffULL

/* Tsetattr valid */
#define P9_ATTR_MODE (1u << 0)
#define P9_ATTR_UID (1u << 1)
#define P9_ATTR_GID (1u << 2)
#define P9_ATTR_SIZE (1u << 3)
#define P9_ATTR_ATIME (1u << 4)
#define P9_ATTR_MTIME (1u << 5)
#define P9_ATTR_CTIME (1u << 6)
#define P9_ATTR_ATIME_SET (1u << 7)
#define P9_ATTR_MTIME_SET (1u << 8)

/* Tunlinkat flags */
#define P9_AT_REMOVEDIR 0x200

/* Tlock */
#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_FLAGS_BLOCK 1
#define P9_LOCK_FLAGS_RECLAIM 2
#define P9_LOCK_SUCCESS 0
#define P9_LOCK_BLOCKED 1
#define P9_LOCK_ERROR 2
#define P9_LOCK_GRACE 3

/* Txattrcreate flags (XATTR_CREATE / XATTR_REPLACE) */
#define P9_XATTR_CREATE 1
#define P9_XATTR_REPLACE 2

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

/* --- Codec (fs/p9/msg.c) --- */

/*
 * Reader over a copied T-message body.  Every getter is bounded: reading
 * past the end sets @err (sticky) and yields zeroes, so a handler reads all
 * its fields and checks p9_in_ok() once.
 */
struct p9_in {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool err;
};

uint8_t p9_get8(struct p9_in *in);
uint16_t p9_get16(struct p9_in *in);
uint32_t p9_get32(struct p9_in *in);
uint64_t p9_get64(struct p9_in *in);
/*
 * A string[s] (len[2] + bytes) copied to @dst as a C string.  Sets @err and
 * returns -EINVAL on a short buffer or an embedded NUL, -ENAMETOOLONG if it
 * does not fit in @cap - 1 bytes (the bytes are skipped either way, so the
 * caller may still reply).
 */
int p9_getstr(struct p9_in *in, char *dst, size_t cap);
static inline bool p9_in_ok(const struct p9_in *in) { return !in->err; }
/* After a handler read all its fields: 0, else the first string's error
 * (@str_err, from p9_getstr) or -EINVAL for a short message. */
static inline int p9_parsed(const struct p9_in *in, int str_err)
{
	if (p9_in_ok(in))
		return 0;
	return str_err ? str_err : -EINVAL;
}

/* Writer for an R-message body; overflow sets @err (sticky). */
struct p9_out {
	uint8_t *buf;
	size_t cap;
	size_t pos;
	bool err;
};

void p9_put8(struct p9_out *out, uint8_t v);
void p9_put16(struct p9_out *out, uint16_t v);
void p9_put32(struct p9_out *out, uint32_t v);
void p9_put64(struct p9_out *out, uint64_t v);
void p9_putstr(struct p9_out *out, const char *s); /* len[2] + bytes */
void p9_putqid(struct p9_out *out, const struct p9_qid *q);

/* Bytes in an iovec array (saturating at SIZE_MAX). */
size_t p9_iov_total(const struct iovec *iov, unsigned int n);
/* Copy @len bytes between @buf and offset @off of an iovec array (into the
 * iovecs if @to_iov); returns the bytes copied (fewer if the iovecs end
 * first). */
size_t p9_iov_copy(const struct iovec *iov, unsigned int n, size_t off,
		   void *buf, size_t len, bool to_iov);
/* Bytes [@off, @off + @len) of an iovec array as another iovec array (no
 * copy); returns the entry count (<= @cap) and the bytes covered in @got. */
unsigned int p9_iov_slice(const struct iovec *iov, unsigned int n, size_t off,
			  size_t len, struct iovec *dst, unsigned int cap,
			  size_t *got);

/* --- Server objects --- */

/* A directory a fid was reached from, shared by its children (refcounted)
 * so Trename/Tremove know where the fid's name lives. */
struct p9_dir_ref {
	int fd;       /* O_PATH */
	int refs;     /* atomic */
};
struct p9_dir_ref *p9_dir_ref_new(int fd); /* takes ownership of @fd */
struct p9_dir_ref *p9_dir_ref_get(struct p9_dir_ref *d);
void p9_dir_ref_put(struct p9_dir_ref *d);

enum p9_fid_kind {
	P9_FID_PATH,        /* after attach/walk: fd is O_PATH */
	P9_FID_FILE,        /* lopen/lcreate of a regular file: open_fd */
	P9_FID_DIR,         /* lopen of a directory: open_fd + dirent state */
	P9_FID_XATTR_READ,  /* after xattrwalk: xattr_buf holds the value */
	P9_FID_XATTR_WRITE, /* after xattrcreate: writes fill xattr_buf,
			     * clunk commits (p9_xattr_commit) */
};

struct p9_fid {
	uint32_t fid;
	int refs;                /* under s->fid_lock */
	struct p9_fid *hnext;    /* hash chain, under s->fid_lock */

	pthread_mutex_t lock;    /* everything below that changes */
	enum p9_fid_kind kind;
	int fd;                  /* O_PATH fd of the file (always valid) */
	int open_fd;             /* lopen/lcreate result, else -1 */
	int open_flags;          /* host O_ flags of open_fd */
	mode_t type;             /* S_IFMT of the file, fixed at walk */
	struct p9_qid qid;
	struct p9_dir_ref *parent; /* NULL for the export root */
	char *name;              /* name in @parent (malloc'ed), or NULL */
	uint32_t uid;            /* n_uname of the attach (passthrough) */

	/* P9_FID_DIR: getdents64 buffer and the offset it continues */
	uint8_t *dirbuf;
	size_t dirbuf_len, dirbuf_pos;
	uint64_t dir_offset;     /* offset of the next entry to return */
	bool dir_pos_lost;       /* the directory fd is not at dir_offset:
				  * the next Treaddir seeks, whatever its
				  * offset (a flag, not a magic offset:
				  * some filesystems use all 64 bits) */

	/* P9_FID_XATTR_*: name (write side), value and sizes */
	char *xattr_name;
	uint8_t *xattr_buf;
	uint64_t xattr_size;     /* declared size (write) / value size (read) */
	uint64_t xattr_len;      /* bytes written so far (write) */
	int xattr_flags;

	/* Bytes of dirbuf + xattr_buf charged to s->buf_used; given back
	 * when the buffers go (fid_free, end of a directory). */
	size_t charged;
};

struct p9_server {
	struct p9_server_config cfg;
	char *path;              /* copy of cfg.path */
	char *tag;               /* copy of cfg.tag (may be NULL) */
	int root_fd;             /* O_PATH|O_DIRECTORY of the export */
	dev_t root_dev;
	ino_t root_ino;
	int proc_fd;             /* O_PATH of /proc/self/fd, for re-opens */
	bool readonly, passthrough;
	bool have_openat2;       /* probed at start */
	uint32_t msize;          /* negotiated (Tversion) */
	unsigned int session;    /* sessions so far: Tversion and reset start
				  * one (p9_fids_clunk_all(); atomic, changed
				  * under fid_lock) */

	pthread_mutex_t fid_lock;
	struct p9_fid **fid_hash;
	unsigned int fid_hash_size;
	unsigned int nr_fids, max_fids;

	/* Worker pool and the queue of submitted requests (worker.c). */
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;   /* work queued or stop */
	pthread_cond_t q_done;   /* a request finished, a worker exited
				  * (CLOCK_MONOTONIC, for timed waits) */
	struct p9_request *q_head, *q_tail;
	/* Per worker: a copy of the header of the request it runs, or NULL
	 * (for Tflush, which looks for a tag). */
	struct p9_request **worker_req;
	/* Per worker: the Tflushes of the request it runs, answered right
	 * after that request completes (p9_op_flush()).  At most one per
	 * queued request object: the transport bounds those. */
	struct p9_request **parked_flushes;
	unsigned int nr_inflight;    /* queued + running */
	bool q_stop;
	bool closing;            /* p9_server_free() is giving up on a stuck
				  * worker: no complete(), no reply written
				  * (read unlocked by run_op) */
	bool abandoned;          /* it gave up: the last worker out frees
				  * the server (set last, under q_lock) */
	pthread_t *threads;
	unsigned int nr_threads;
	unsigned int nr_live;    /* workers not yet exited */
	unsigned int nr_completing; /* complete() calls under way (workers,
				     * Tflush, p9_cancel_queued) */
	bool warned_stuck;

	/* Bytes charged by fids' buffers, at most P9_BUF_BUDGET (atomic). */
	size_t buf_used;
	unsigned int stuck_ms;   /* cfg.stuck_timeout_ms or the default */

	/* qid.path: (device index << 48) | inode, see p9_stat_qid() */
	pthread_mutex_t dev_lock;
	dev_t *devs;
	unsigned int nr_devs;
};

/* Per-request context handed to every operation handler. */
struct p9_ctx {
	struct p9_server *s;
	int slot;                /* the worker's s->worker_req index, or -1 */
	struct p9_request *req;  /* the request on a worker, or NULL */
	bool parked;             /* Tflush: answered later, by the worker
				  * of the request it flushes; from then
				  * on req is not ours to touch */
	unsigned int session;    /* s->session it was dispatched under: a
				  * stale request installs no fid and
				  * writes no reply */
	uint8_t type;
	uint16_t tag;
	struct p9_in in;         /* T-message body (after the header) */
	struct p9_out out;       /* R-message body (after the header) */
	/* The whole request and reply buffers in guest memory. */
	const struct iovec *req_iov;
	unsigned int nr_req;
	size_t req_len;          /* min(size field, bytes in the buffers) */
	const struct iovec *resp_iov;
	unsigned int nr_resp;
	size_t resp_cap;         /* min(bytes in the buffers, msize) */
	/* Bytes a handler stored straight into resp_iov after the header
	 * and out's body (Rread data); added to the reply length. */
	size_t direct_len;
};

/*
 * An operation handler: parse ctx->in, do the work, write the R-message
 * body to ctx->out and return 0; or return a negative errno for Rlerror
 * (the body is then discarded).  Reply overflow is turned into an error by
 * the dispatcher.
 */
typedef int (*p9_op_fn)(struct p9_ctx *ctx);

/* --- Framing and dispatch (dispatch.c) --- */

/* The header a request is dispatched on: copied from the guest once (at
 * submit for queued requests) and never re-read, so a guest rewriting it
 * meanwhile cannot make the server act on two different headers. */
struct p9_hdr {
	uint32_t size;
	uint16_t tag;
	uint8_t type;
	bool ok;                 /* all P9_HDR_LEN bytes were there */
};

void p9_hdr_read(const struct iovec *iov, unsigned int n, struct p9_hdr *h);
/*
 * Execute a message whose header is already in @h: the request's @nr_out
 * readable iovecs, then @nr_in writable ones for the reply.  @req and @slot
 * are the request and its worker's s->worker_req index (NULL and -1 on a
 * caller's thread); *@parked (if given) says a Tflush was parked.  Returns
 * the reply's length (0: nothing written).
 */
uint32_t p9_handle_msg(struct p9_server *s, const struct iovec *iov,
		       unsigned int nr_out, unsigned int nr_in,
		       const struct p9_hdr *h, struct p9_request *req,
		       int slot, unsigned int session, bool *parked);
void p9_put_hdr(uint8_t *p, uint32_t size, uint8_t type, uint16_t tag);
/* Room for a reply in @n writable iovecs: 0 if not even an Rlerror fits. */
size_t p9_resp_room(struct p9_server *s, const struct iovec *iov,
		    unsigned int n);
/* Rlerror(@err) with @tag into @n writable iovecs; returns its length. */
uint32_t p9_reply_error(const struct iovec *iov, unsigned int n,
			uint16_t tag, int err);
/* Room for Rread/Rreaddir data after the 11-byte header. */
size_t p9_data_room(const struct p9_ctx *ctx, uint32_t count);

/* --- Worker pool (worker.c) and server object (server.c) --- */

/* A deadline @ms from now, for pthread_cond_timedwait() on q_done (a
 * CLOCK_MONOTONIC condition variable). */
void p9_deadline_in(unsigned int ms, struct timespec *ts);
/* The stuck timeout from now. */
void p9_stuck_deadline(const struct p9_server *s, struct timespec *ts);
/* Wait (q_lock held) until nothing is in flight or @dl passed:
 * 0 or -ETIMEDOUT. */
int p9_wait_idle(struct p9_server *s, const struct timespec *dl);
/* Answer every queued request Rlerror(EINTR) and every parked Tflush
 * Rflush (q_lock held; dropped while the transport's complete() runs). */
void p9_cancel_queued(struct p9_server *s);
/* Start @n worker threads: 0 or -errno (those started keep running). */
int p9_workers_start(struct p9_server *s, unsigned int n);
/* Free everything but the workers (stopped, or exiting on this thread). */
void p9_server_release(struct p9_server *s);

/* --- Fid table and sessions (fid.c) --- */

/*
 * get/new return a referenced fid.  get and
 * unhash take the session the request was dispatched under
 * (ctx->session): a request that outlived its session (stuck across a
 * reset) finds no fid, so it cannot act on the next session's fids.
 */
struct p9_fid *p9_fid_get(struct p9_server *s, uint32_t fid,
			  unsigned int session);
/* A fresh fid (kind PATH, fds -1) inserted as @fid: -EEXIST if in use,
 * -EMFILE when the table is full. */
struct p9_fid *p9_fid_new(struct p9_server *s, uint32_t fid, int *err);
void p9_fid_put(struct p9_server *s, struct p9_fid *f);
/* Take @fid out of the table (Tclunk/Tremove); the last put frees it
 * (closing its fds).  Returns the fid still referenced, or NULL. */
struct p9_fid *p9_fid_unhash(struct p9_server *s, uint32_t fid,
			     unsigned int session);
/* A fid not yet in the table, holding one reference (the caller's). */
struct p9_fid *p9_fid_alloc(uint32_t fid);
/*
 * Put @f (fully built) into the table as f->fid, taking a reference for
 * the table.  With @old, replace that fid (Twalk with newfid == fid):
 * operations running on @old keep their reference and its descriptors.
 * @session is the one the request was dispatched under: a request that
 * outlived its session (stuck across a reset) gets -EINTR and never puts
 * a fid into the next session's table.
 */
int p9_fid_install(struct p9_server *s, struct p9_fid *f,
		   struct p9_fid *old, unsigned int session);
/* The current session (see p9_fids_detach_all()). */
unsigned int p9_server_session(struct p9_server *s);
/* Start a new session and take every fid out of the table: the list of
 * them (linked through hnext), each still holding the table's reference;
 * the new session in *@session. */
struct p9_fid *p9_fids_detach_all(struct p9_server *s,
				  unsigned int *session);
/* Drop the table's reference to each fid of @list (p9_fids_detach_all()). */
void p9_fids_put_list(struct p9_server *s, struct p9_fid *list);
/* Both: a new session without the old one's fids; returns the session. */
unsigned int p9_fids_clunk_all(struct p9_server *s);
/* A duplicate of @f's O_PATH fd (or -errno) and its type, under the fid's
 * lock. */
int p9_fid_dup_fd(struct p9_fid *f, mode_t *type);
/* open_fd of an opened fid (a reference keeps it open), or -1. */
int p9_fid_open_fd(struct p9_fid *f);
/* The fid a request named in @fid, once all its fields were read
 * (-EINVAL for a short message, -ENOENT for an unknown fid). */
int p9_lookup_fid(struct p9_ctx *ctx, uint32_t fid, struct p9_fid **f);
/* The fid @fid of the request's session, referenced and locked (f->lock),
 * or NULL; let go of it with p9_fid_unlock_put(). */
struct p9_fid *p9_fid_get_locked(struct p9_ctx *ctx, uint32_t fid);
void p9_fid_unlock_put(struct p9_server *s, struct p9_fid *f);
/* The fid of a request's first field (read from ctx->in). */
int p9_parse_fid(struct p9_ctx *ctx, struct p9_fid **f);

/*
 * Charge @n bytes of a buffer @f is about to hold (f->lock held, or @f not
 * yet in the table) against the export's P9_BUF_BUDGET: 0 (f->charged
 * grows by @n), or -ENOSPC past the budget.  p9_buf_uncharge() gives @n
 * back when that buffer is freed early; whatever is still charged is
 * given back when the fid is freed.
 */
int p9_buf_charge(struct p9_server *s, struct p9_fid *f, size_t n);
void p9_buf_uncharge(struct p9_server *s, struct p9_fid *f, size_t n);

/*
 * Rlopen/Rlcreate iounit: the largest whole number of pages that fits in
 * one Tread/Twrite at the negotiated msize.  With 0 the Linux client uses
 * msize - 24, so every I/O after the first starts mid-page: unaligned
 * guest buffers and partial-page writes on the host (fs/p9/msg.c).
 */
uint32_t p9_iounit(const struct p9_server *s);

/* Resolution helpers (fs/p9/path.c) */
/* 0 if @name is one usable component: not empty, not "." or "..", no
 * '/', at most P9_NAME_MAX bytes; else -EINVAL / -ENAMETOOLONG. */
int p9_check_name(const char *name);
/* openat2(@dirfd, @name, @flags | O_NOFOLLOW | O_CLOEXEC, @mode) with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or openat
 * with O_NOFOLLOW where openat2 is missing.  @name must have passed
 * p9_check_name().  Returns an fd or -errno. */
int p9_open_beneath(struct p9_server *s, int dirfd, const char *name,
		    int flags, mode_t mode);
/* Whether openat2() works on this host (sets s->have_openat2 at start). */
bool p9_probe_openat2(int dirfd);
/* Walk one step from @dirfd: ".." stays at the export root, other names
 * as p9_open_beneath(O_PATH).  Returns an O_PATH fd or -errno. */
int p9_walk_one(struct p9_server *s, int dirfd, const char *name);
/* Re-open @f's file with host @flags through /proc/self/fd (regular files
 * and directories only: anything else is -EPERM and is never opened). */
int p9_reopen(struct p9_server *s, struct p9_fid *f, int flags);
/* "/proc/self/fd" relative name of @fd for *at() calls on s->proc_fd. */
void p9_fd_name(int fd, char buf[16]);
/* stat of the file behind @fd (AT_EMPTY_PATH, no follow). */
int p9_fstat(int fd, struct stat *st);
/* A file just opened as @fd (or a -errno, passed on) and its stat: @fd, or
 * -errno with @fd closed. */
int p9_fstat_or_close(int fd, struct stat *st);
/* A close-on-exec duplicate of @fd, or -errno. */
int p9_dup_fd(int fd);
/* 0 if @name in @dirfd is still the inode @st describes, else -ESTALE
 * (the host may have renamed or replaced it since the fid was walked) or
 * -errno. */
int p9_check_identity(int dirfd, const char *name, const struct stat *st);
/* chmod the file behind O_PATH @fd (never a symlink): 0 or -errno. */
int p9_chmod_fd(struct p9_server *s, int fd, mode_t mode);
/* qid for @st: type from the mode, version from mtime, path unique
 * across the devices under the export. */
void p9_stat_qid(struct p9_server *s, const struct stat *st,
		 struct p9_qid *q);
/* Host open(2) flags for 9P2000.L Tlopen/Tlcreate @flags (access mode,
 * TRUNC, APPEND, NONBLOCK, DSYNC, SYNC, DIRECTORY, NOATIME kept; CREATE,
 * EXCL, NOCTTY, NOFOLLOW, CLOEXEC, FASYNC, DIRECT decided by the server). */
int p9_host_open_flags(uint32_t dotl_flags);

/* Operations, by file. */
int p9_op_flush(struct p9_ctx *ctx);      /* worker.c */
int p9_op_version(struct p9_ctx *ctx);    /* walk.c */
int p9_op_auth(struct p9_ctx *ctx);
int p9_op_attach(struct p9_ctx *ctx);
int p9_op_walk(struct p9_ctx *ctx);
int p9_op_lopen(struct p9_ctx *ctx);      /* io.c */
int p9_op_read(struct p9_ctx *ctx);
int p9_op_write(struct p9_ctx *ctx);
int p9_op_clunk(struct p9_ctx *ctx);
int p9_op_fsync(struct p9_ctx *ctx);
int p9_op_getattr(struct p9_ctx *ctx);    /* attr.c */
int p9_op_statfs(struct p9_ctx *ctx);
int p9_op_readlink(struct p9_ctx *ctx);
int p9_op_lock(struct p9_ctx *ctx);       /* lock.c */
int p9_op_getlock(struct p9_ctx *ctx);
int p9_op_readdir(struct p9_ctx *ctx);    /* readdir.c */
int p9_op_xattrwalk(struct p9_ctx *ctx);  /* xattr.c */
/* The modifying ones each refuse with -EROFS on a read-only export. */
int p9_op_setattr(struct p9_ctx *ctx);    /* attr.c */
int p9_op_xattrcreate(struct p9_ctx *ctx); /* xattr.c */
int p9_op_lcreate(struct p9_ctx *ctx);    /* create.c */
int p9_op_mkdir(struct p9_ctx *ctx);
int p9_op_symlink(struct p9_ctx *ctx);
int p9_op_mknod(struct p9_ctx *ctx);
int p9_op_link(struct p9_ctx *ctx);       /* modify.c */
int p9_op_rename(struct p9_ctx *ctx);
int p9_op_renameat(struct p9_ctx *ctx);
int p9_op_unlinkat(struct p9_ctx *ctx);
int p9_op_remove(struct p9_ctx *ctx);    /* clunks the fid whatever happens */
/* Tclunk of a P9_FID_XATTR_WRITE fid: set (or, size 0, remove) the
 * attribute; 0 or -errno (xattr.c). */
int p9_xattr_commit(struct p9_server *s, struct p9_fid *f);

/* --- What the modifying operations share (modify.c) --- */

/* Mode bits a guest may set: without passthrough S_ISUID/S_ISGID are
 * dropped. */
mode_t p9_sanitize_mode(const struct p9_server *s, mode_t mode);
/*
 * What every modifying operation checks once its message is parsed, in
 * this order: a complete message (@str_err: its first string's error), a
 * writable export, and @name (if any) one usable component.
 */
int p9_modify_checks(struct p9_server *s, const struct p9_in *in,
		     int str_err, const char *name);
/* The directory a creating operation works in. */
struct p9_dirfid {
	int fd;       /* a dup of the fid's O_PATH fd: close it */
	uint32_t uid; /* the fid's attach uid, for passthrough chown */
};
/* Directory fid @id (walked or opened) as @d: 0, or -ENOENT, -EINVAL (an
 * xattr fid), -ENOTDIR, -errno. */
int p9_dirfid_get(struct p9_server *s, uint32_t id, unsigned int session,
		  struct p9_dirfid *d);
void p9_dirfid_put(struct p9_dirfid *d);

#endif
