/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_P9_H
#define LKVM_P9_H

/*
 * A 9P2000.L file server exporting one host directory (fs/).
 *
 * Transport-neutral: virtio/9p.c pops requests off its virtqueue and hands
 * them to p9_submit(); the server's own worker threads execute them (several
 * at once) and call req->complete().  Everything in a request is
 * guest-controlled.
 *
 * Confinement is by construction: every fid holds a file descriptor, never
 * a path; names arrive one component at a time and are resolved relative to
 * a directory fd with O_NOFOLLOW / openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS); ".." at the export root
 * stays at the root; device nodes, FIFOs and sockets are never opened.
 * See Documentation/9p.md for the ownership model.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define P9_DEFAULT_MAX_FIDS 8192u   /* per export; more gets EMFILE */
#define P9_MAX_MSIZE (8u << 20)     /* largest msize Tversion may settle on */
#define P9_MIN_MSIZE 4096u          /* smaller is refused */
#define P9_DEFAULT_THREADS 4u
/*
 * How long reset, teardown and a Tflush wait for a request that is still
 * executing (a handler stuck in the host filesystem, say) before they go on
 * without it.  See p9_server_drain() and Documentation/9p.md.
 */
#define P9_STUCK_TIMEOUT_MS 3000u

/* struct p9_server_config.flags */
#define P9_EXPORT_RO          0x1u /* every modifying request gets EROFS */
#define P9_EXPORT_PASSTHROUGH 0x2u /* honour chown, setuid/setgid bits,
				    * device-node mknod (needs root) */

struct p9_server;

struct p9_server_config {
	const char *path;        /* the directory to export */
	const char *tag;         /* for messages only ("kvm_9p") */
	unsigned int flags;      /* P9_EXPORT_* */
	unsigned int max_fids;   /* 0: P9_DEFAULT_MAX_FIDS */
	unsigned int nr_threads; /* 0: P9_DEFAULT_THREADS; -1u: none (tests
				  * drive p9_handle() synchronously) */
	unsigned int stuck_timeout_ms; /* 0: P9_STUCK_TIMEOUT_MS (tests use
					* less) */
};

/*
 * Open the export (an O_PATH directory fd) and start the worker threads.
 * On failure prints one line naming the problem and returns NULL.
 */
struct p9_server *p9_server_new(const struct p9_server_config *cfg);
/*
 * Drain, clunk every fid, stop the workers, close everything; returns true.
 * If a request is still executing after the stuck timeout (and a short
 * grace period for workers to exit), returns false instead: the server then stays allocated until that worker finishes (the
 * last one frees it), never calls complete() again, and the caller must
 * keep alive whatever a complete() already under way may touch.
 */
bool p9_server_free(struct p9_server *s);

/* One request as the transport hands it over. */
struct p9_request {
	/* iov[0 .. nr_out): the T-message (device-readable buffers);
	 * iov[nr_out .. nr_out + nr_in): room for the R-message. */
	struct iovec *iov;
	unsigned int nr_out, nr_in;
	/* Called exactly once, from a server thread, with the number of
	 * bytes written into the R-message buffers (0 if they could not
	 * even hold an Rlerror). */
	void (*complete)(struct p9_request *req, uint32_t written);
	void *opaque;            /* the transport's */

	/* Private to the server: the header, copied from the guest once
	 * by p9_submit() and never read from guest memory again. */
	struct p9_request *next;
	uint32_t size;
	uint16_t tag;
	uint8_t type;
	bool hdr_ok;             /* all 7 header bytes were there */
	bool running;
	unsigned int session;    /* the session it was dispatched under */
};

/* Queue @req for a worker thread.  Never blocks on the filesystem. */
void p9_submit(struct p9_server *s, struct p9_request *req);
/* Wait until every submitted request has completed, but no longer than
 * the stuck timeout: 0, or -ETIMEDOUT with requests still in flight. */
int p9_server_drain(struct p9_server *s);
/*
 * Forget the session (as a new Tversion does): drain, then clunk every
 * fid and start a new session.  Used by the transport on device reset.
 * Returns within the stuck timeout: requests still queued then are
 * answered Rlerror(EINTR) before it returns; one still executing completes
 * later, on its worker, with no reply written (0 bytes) and no fid
 * created in the new session, and the transport must discard that late
 * completion (virtio/9p.c counts resets).  Returns 0 or -ETIMEDOUT.
 */
int p9_server_reset(struct p9_server *s);

/*
 * Execute one message synchronously on the calling thread and write the
 * reply; returns the reply's length.  Used by the workers and by tests.
 */
uint32_t p9_handle(struct p9_server *s, const struct iovec *iov,
		   unsigned int nr_out, unsigned int nr_in);

/* Statistics for tests: fids currently in the table. */
unsigned int p9_server_nr_fids(struct p9_server *s);

#endif
