/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TESTS_P9_CLIENT_H
#define LKVM_TESTS_P9_CLIENT_H

/*
 * A host-side 9P2000.L client for unit tests: builds T-messages, runs them
 * through p9_handle() (no transport, no threads) and parses the replies.
 *
 * Formats (as Linux's p9pdu_writef/readf):
 *   b u8   w u16   d u32   q u64
 *   s      string: const char * when writing, char * (room for
 *          P9_STR_MAX + 1 bytes) when reading
 *   Q      qid: struct p9_qid * (reading only)
 *   D      raw bytes: (uint32_t len, const void *data) when writing,
 *          (uint32_t *len, void *buf) when reading (count[4] + data,
 *          as in Rread/Rreaddir; buf needs room for the count read)
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/p9/internal.h"

struct p9c {
	struct p9_server *s;
	uint16_t next_tag;
	uint8_t *req;            /* the last T-message */
	size_t req_len;
	uint8_t *resp;           /* the last R-message */
	size_t resp_cap;         /* room offered for replies */
	size_t resp_len;         /* what p9_handle() wrote */
	struct p9_in rin;        /* reader positioned after the header */
};

/* Client over @s offering @resp_cap bytes per reply (the msize to use). */
int p9c_init(struct p9c *c, struct p9_server *s, size_t resp_cap);
void p9c_fini(struct p9c *c);

/*
 * A server for @cfg and a client on it (c->s), after Tversion(@msize)
 * and Tattach(@root_fid): 0 or -errno.
 * p9c_stop() frees both, also after a failed start.
 */
int p9c_start(struct p9c *c, const struct p9_server_config *cfg,
	      uint32_t msize, uint32_t root_fid);
void p9c_stop(struct p9c *c);

/* p9c_start() on a fresh temporary directory (host_files.h, @tag). */
struct p9c_export {
	char dir[64];            /* the exported directory */
	struct p9_server *s;     /* == c.s */
	struct p9c c;
};

int p9c_export_init(struct p9c_export *x, const struct p9_server_config *cfg,
		    const char *tag, uint32_t msize, uint32_t root_fid);
/* Stop the server and remove the directory. */
void p9c_export_fini(struct p9c_export *x);

/* A T-message of @type with @tag and body @fmt... (formats above) in a
 * malloc'ed *@msg of *@len bytes: 0, -EINVAL for a bad format, -ENOMEM
 * or -E2BIG (*@msg is then NULL). */
int p9c_encode(uint8_t **msg, size_t *len, uint8_t type, uint16_t tag,
	       const char *fmt, va_list ap);

/*
 * Send a T-message of @type with body @fmt... and run it.  Returns 0 when
 * the reply is type + 1 (its body then readable with p9c_reply()), the
 * negated errno of an Rlerror, or -EPROTO for anything else (including a
 * zero-length reply).
 */
int p9c_call(struct p9c *c, uint8_t type, const char *fmt, ...);
/* Send raw message bytes (tests of malformed input); same return as
 * p9c_call, with -EPROTO also for a reply to the wrong tag. */
int p9c_call_raw(struct p9c *c, const void *msg, size_t len);
/* Read the last reply's body fields; 0, or -EPROTO on a short reply. */
int p9c_reply(struct p9c *c, const char *fmt, ...);

/* Common sequences (0 or -errno). */
int p9c_version_attach(struct p9c *c, uint32_t msize, uint32_t root_fid);
int p9c_walk(struct p9c *c, uint32_t fid, uint32_t newfid, const char *path);
/* ^ @path is split on '/' into names (at most P9_MAXWELEM); "" clones. */
int p9c_clunk(struct p9c *c, uint32_t fid);

#endif
