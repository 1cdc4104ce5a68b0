/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_TRACE_H
#define LKVM_TRACE_H

/*
 * Boot tracing (`lkvm run --boot-trace FILE`, Documentation/boot-trace.md).
 *
 * Events are kept in memory while the VM runs (writing a file during the
 * boot would disturb what is measured) and written when the trace is
 * closed: a Chrome trace-event JSON file (Perfetto, chrome://tracing), or
 * with FILE "-" a one-screen summary on stderr.  Timestamps are
 * microseconds from the trace's origin: the moment `lkvm bench boot`
 * spawned this process (LKVM_TRACE_SPAWN_NS), or else the process's exec,
 * estimated from the CPU time it had used when lkvm's code first ran.
 *
 * Every function accepts a NULL trace and then does nothing, so callers
 * need no "is tracing on" test of their own.  All are thread-safe.
 *
 * The file has one event per line, keys always in this order, so that
 * `lkvm bench boot` (and a shell script) can read it back line by line:
 *   {"name":N,"cat":C,"ph":P,"ts":T[,"dur":D],"pid":X,"tid":Y[,"s":"g"][,"args":{...}]}
 * ph "X" is a phase (ts + dur), "i" a milestone, "C" a counter sample,
 * "M" thread-name metadata.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct boot_trace;

/* Environment variable: CLOCK_MONOTONIC nanoseconds at which the parent
 * spawned lkvm; the trace's origin when set (and not in the future). */
#define LKVM_TRACE_SPAWN_ENV "LKVM_TRACE_SPAWN_NS"

/* At most this many events are kept (bounds the memory a long-running or
 * chatty guest can make lkvm use); later ones are counted as dropped. */
#define TRACE_MAX_EVENTS 8192
/* Per-vCPU exit counters are sampled at most this often. */
#define TRACE_COUNTER_INTERVAL_US 10000

/* Categories, also the "cat" strings of the file. */
#define TRACE_CAT_PHASE "phase"     /* VMM set-up and tear-down steps */
#define TRACE_CAT_GUEST "guest"     /* guest milestones seen from outside */
#define TRACE_CAT_DEVICE "device"   /* virtio DRIVER_OK, first notification */
#define TRACE_CAT_MARKER "marker"   /* guest writes to the marker port */
#define TRACE_CAT_EXITS "exits"     /* per-vCPU exit counters */

/*
 * Start a trace written to @path ("-": a summary on stderr) when closed.
 * NULL with *err set (-ENOMEM; or the path cannot be created: reported
 * now, so a typo fails before the boot).
 */
struct boot_trace *trace_open(const char *path, int *err);
/* Write the trace out and free it: 0, or -errno (reported). */
int trace_close(struct boot_trace *t);

/* Microseconds from the trace's origin to now (0 without a trace). */
uint64_t trace_now(const struct boot_trace *t);
/* Microseconds from the origin to the process's first own code. */
uint64_t trace_main_us(const struct boot_trace *t);

/* A phase on the calling thread, from @start_us (a trace_now()) to now. */
void trace_span(struct boot_trace *t, const char *name, uint64_t start_us);
/* A phase with explicit start and end. */
void trace_span_at(struct boot_trace *t, const char *name, uint64_t start_us,
		   uint64_t end_us);
/* A milestone now; @args NULL or a JSON object body ("\"k\":1"). */
void trace_instant(struct boot_trace *t, const char *cat, const char *name,
		   const char *args);
/* Name the calling thread in the trace ("vcpu0", "main"). */
void trace_thread_name(struct boot_trace *t, const char *name);
/* A counter sample of the calling thread: @n named values; @final for a
 * thread's last (totals), which always finds room. */
void trace_counters(struct boot_trace *t, const char *name, unsigned int n,
		    const char *const *keys, const uint64_t *values, bool final);

/* Append @s to @buf (of @size, NUL-terminated) as a JSON string body:
 * quotes, backslashes, control and non-ASCII bytes escaped; truncates. */
void trace_json_escape(char *buf, size_t size, const char *s, size_t len);

/*
 * Guest console output, scanned for milestones: the first byte, the
 * kernel's banner ("Linux version ..."), the start of init ("Run /init as
 * init process", printed without "quiet") and a panic.  @scan is the
 * caller's per-console state.
 */
struct trace_console_scan {
	char line[160];
	unsigned int len;
	bool seen_byte, seen_banner, seen_init, seen_panic;
};
void trace_console(struct boot_trace *t, struct trace_console_scan *scan,
		   const uint8_t *buf, size_t len);

#endif
