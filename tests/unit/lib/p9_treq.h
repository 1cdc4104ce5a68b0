/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TESTS_P9_TREQ_H
#define LKVM_TESTS_P9_TREQ_H

/*
 * Requests for the 9P server's worker pool (p9_submit()), for the unit
 * tests of the pool, Tflush and the stuck-request bounds: a T-message and
 * its reply buffer in one object, and a gate that holds the completions of
 * requests marked @block inside complete() until released, so a test can
 * keep workers busy at a point it chooses.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lkvm/p9.h"

struct p9_fid;

struct treq {
	struct p9_request req;
	struct iovec iov[2];
	uint8_t msg[32];
	uint8_t resp[256];
	uint32_t written;
	int completions;
	int order;           /* sequence number of its completion */
	bool block;          /* wait in complete() until gate_release() */
};

/* Tgetattr(@fid) with @tag in @t (cleared first), completing into @t. */
void treq_getattr(struct treq *t, uint16_t tag, uint32_t fid);
/* Twalk(@fid -> @newfid, one @name of at most 8 bytes) with @tag in @t
 * (cleared first). */
void treq_walk(struct treq *t, uint16_t tag, uint32_t fid, uint32_t newfid,
	       const char *name);
/* Tlink(@dfid, @fid, @name of at most 8 bytes) with @tag in @t (cleared
 * first). */
void treq_link(struct treq *t, uint16_t tag, uint32_t dfid, uint32_t fid,
	       const char *name);
/* Tflush(@oldtag) with @tag in @t (cleared first). */
void treq_flush(struct treq *t, uint16_t tag, uint16_t oldtag);
/* The tag of @t's reply. */
uint16_t treq_resp_tag(const struct treq *t);
/* Wait up to @ms for @t's completion. */
bool treq_wait(struct treq *t, unsigned int ms);

/*
 * Hold @fid's lock, with a reference: a handler on that fid object (a
 * Tgetattr) is stuck until unstick_fid() -- a stand-in for a handler
 * stuck in the host filesystem.  NULL if there is no such fid.
 */
struct p9_fid *stick_fid(struct p9_server *s, uint32_t fid);
void unstick_fid(struct p9_server *s, struct p9_fid *f);

/* Close the gate, forget who entered it and restart the order count. */
void gate_reset(void);
/* Wait up to @ms until @n completions wait in the gate. */
bool gate_wait_entered(unsigned int n, unsigned int ms);
void gate_release(void);

/* @n little-endian bytes of @v at @p. */
void put_le(uint8_t *p, uint64_t v, unsigned int n);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t now_ms(void);

#endif
