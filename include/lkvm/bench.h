/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_BENCH_H
#define LKVM_BENCH_H

/*
 * `lkvm bench boot` (vmm/frontend/bench.c, Documentation/lkvm-bench.txt):
 * boot one configuration RUNS times, each as a child
 * `lkvm run --boot-trace FILE RUN OPTIONS...` spawned with
 * LKVM_TRACE_SPAWN_NS, read the traces back (include/lkvm/trace-read.h)
 * and print min / median / p90 / max per event.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* 10: a boot takes a fraction of a second to a few seconds, so ten cost
 * little, and with ten the nearest-rank p90 is the 9th value, not simply
 * the worst run. */
#define BENCH_DEFAULT_RUNS 10
#define BENCH_MAX_RUNS 1000
#define BENCH_DEFAULT_TIMEOUT_S 120
#define BENCH_MAX_TIMEOUT_S 86400

/*
 * TEST HOOK, not for users: the program spawned instead of lkvm itself
 * (/proc/self/exe).  It gets the same arguments ("run --boot-trace PATH
 * ..."), so a unit test's shell script can write a fake trace without
 * /dev/kvm.
 */
#define BENCH_CHILD_ENV "LKVM_BENCH_CHILD"

struct bench_config {
	unsigned int runs;
	unsigned int timeout_s;
	bool json;
	bool help;
	int run_argc;     /* the run options (and KERNEL), as given */
	char **run_argv;
};

/*
 * `lkvm bench ...` with argv[0] "bench": bench's own options first, then
 * run's.  0, or LKVM_EXIT_USAGE after one line on @err.  The run options
 * are only split off here; bench_main() checks them with run's parser.
 */
int bench_parse(int argc, char **argv, struct bench_config *bc, FILE *err);

/* min / median / p90 / max of a sample. */
struct bench_stats {
	unsigned int n;   /* values that were not NaN ("absent") */
	double min, median, p90, max;
};
/*
 * Of the @n values at @v, NaNs skipped: the median of an even count is
 * the mean of the middle two, p90 the nearest-rank one (the
 * ceil(0.9 n)-th smallest).  All 0 when no value is left.
 */
void bench_stats(const double *v, size_t n, struct bench_stats *s);

/* Percent of @path's pages in the page cache (mincore), or -1. */
double bench_resident_pct(const char *path);

/* The whole command: output on @out, errors on @err; lkvm's exit status. */
int bench_main(int argc, char **argv, FILE *out, FILE *err);

#endif
