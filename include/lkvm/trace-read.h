/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TRACE_READ_H
#define LKVM_TRACE_READ_H

/*
 * Reading back a `lkvm run --boot-trace FILE` file (include/lkvm/trace.h),
 * for `lkvm bench boot`.  Not a JSON parser: the file has one event per
 * line, a flat object whose values are strings, numbers or (args) one
 * flat object of them, and that is all this reads.  The first line
 * ({"displayTimeUnit":...,"otherData":{...},) gives the origin and the
 * dropped-events count; "traceEvents":[ and ]} are skipped.  Keys are
 * looked up by name, so a key added later is skipped, not an error.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_READ_NAME_MAX 64
#define TRACE_READ_ARGS_MAX 24   /* numeric args kept per event ('C') */

struct trace_read_arg {
	char key[TRACE_READ_NAME_MAX];
	uint64_t value;
};

struct trace_read_event {
	char ph;                          /* 'X', 'i', 'C', 'M' */
	char name[TRACE_READ_NAME_MAX];   /* unescaped (truncated) */
	char cat[16];
	uint64_t ts, dur;                 /* µs; dur for 'X' only */
	uint32_t tid;
	unsigned int nargs;               /* the numeric args, in order */
	struct trace_read_arg args[TRACE_READ_ARGS_MAX];
};

struct trace_read {
	struct trace_read_event *ev;
	size_t nr, cap;
	char origin[16];          /* "spawn", "exec", or "" when not given */
	unsigned long dropped;    /* otherData.dropped_events */
};

/*
 * Read @f into @out (zeroed first).  0; or -1 with @why ("line 7: ...")
 * for a line that is not an event of the documented form: the file is
 * lkvm's own, so a bad line means a truncated or foreign file, which the
 * caller reports rather than measuring half a boot.  -ENOMEM-style
 * failures are also -1 with @why.  trace_read_free() in every case.
 */
int trace_read_file(FILE *f, struct trace_read *out, char *why, size_t cap);
/* The same for one line (exposed for tests): 1 an event (in @ev), 0 a
 * line with no event (header, brackets, blank), -1 malformed (@why). */
int trace_read_line(const char *line, struct trace_read_event *ev,
		    struct trace_read *hdr, char *why, size_t cap);
void trace_read_free(struct trace_read *t);

#endif
