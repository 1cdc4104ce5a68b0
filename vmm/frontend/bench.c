// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm bench boot`: boot-time statistics over several runs of one
 * configuration (include/lkvm/bench.h, Documentation/lkvm-bench.txt).
 *
 * Each boot is a child `lkvm run --boot-trace FILE ...`, so what is
 * measured is what a user's `lkvm run` does, exec and dynamic loading
 * included; the child's trace is timed from the moment this process
 * spawned it (LKVM_TRACE_SPAWN_NS), and the parent measures spawn to exit
 * itself.
 */
#include "lkvm/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/trace-read.h"
#include "lkvm/trace.h"
#include "lkvm/util.h"

#ifndef LKVM_VERSION
#define LKVM_VERSION "0.1.0"
#endif

extern char **environ;

#define BENCH_USAGE_SHORT "lkvm bench boot [-n RUNS] [--json] [--timeout S] [RUN OPTIONS] [KERNEL]"
#define PARENT_EVENT "spawn to exit (parent)"
/* What lkvm's stderr and the console show of a failed run. */
#define FAIL_STDERR_LINES 40
#define FAIL_CONSOLE_LINES 15
/* After a timeout or ^C: how long SIGTERM gets before SIGKILL. */
#define KILL_GRACE_NS (5ULL * 1000000000ULL)

/* --- options --- */

/*
 * cli_option's apply() fills a vm_config; bench's settings are not a VM's,
 * so while bench_parse() runs they go to the bench_config it is given.
 */
static struct bench_config *parsing;

static int apply_runs(struct vm_config *cfg, const struct cli_use *use)
{
	(void)cfg;
	if (parse_uint(use->arg, &parsing->runs) || parsing->runs < 1 ||
	    parsing->runs > BENCH_MAX_RUNS)
		return cli_error(use->err, "invalid number of runs '%s' for %s (1 to %u%s)",
				 use->arg, use->name, BENCH_MAX_RUNS,
				 use->name[1] == '-' ? "" :
				 "; run's -n, the network, goes after bench's options");
	return 0;
}

static int apply_timeout(struct vm_config *cfg, const struct cli_use *use)
{
	(void)cfg;
	if (parse_uint(use->arg, &parsing->timeout_s) || !parsing->timeout_s ||
	    parsing->timeout_s > BENCH_MAX_TIMEOUT_S)
		return cli_error(use->err, "invalid timeout '%s' for %s (seconds, 1 to %u)",
				 use->arg, use->name, BENCH_MAX_TIMEOUT_S);
	return 0;
}

static int apply_json(struct vm_config *cfg, const struct cli_use *use)
{
	(void)cfg;
	(void)use;
	parsing->json = true;
	return 0;
}

#define STR_(x) #x
#define STR(x) STR_(x)

static const struct cli_option bench_options[] = {
	{ .short_name = 'n', .long_name = "runs", .arg = "N",
	  .help = "boots measured, after one warm-up boot that is\n"
		  "reported apart (default: " STR(BENCH_DEFAULT_RUNS)
		  "; at most " STR(BENCH_MAX_RUNS) ")",
	  .apply = apply_runs },
	{ .long_name = "json", .help = "print one JSON object instead of the table",
	  .apply = apply_json },
	{ .long_name = "timeout", .arg = "S",
	  .help = "seconds one boot may take; a boot still running\n"
		  "then is killed and fails the bench (default: "
		  STR(BENCH_DEFAULT_TIMEOUT_S) ")",
	  .apply = apply_timeout },
	CLI_HELP,
	CLI_END,
};

const struct cli_command cli_bench_command = {
	.name = "bench",
	.summary = "Measure boot time over several boots (lkvm bench boot -n RUNS\n"
		   "[RUN OPTIONS])",
	.usage = "usage: " BENCH_USAGE_SHORT,
	.description =
		"Boot the guest that RUN OPTIONS describe (those of 'lkvm run', see 'lkvm\n"
		"help run') once to warm up and then RUNS times, each as a new\n"
		"'lkvm run --boot-trace FILE', and print for every phase, guest milestone\n"
		"and marker in the traces min / median / p90 / max and p90-min, in ms from\n"
		"the spawn of lkvm, and the time from spawn to exit.  The guest must stop\n"
		"by itself (power-off, reboot) or with --until-marker N; its console\n"
		"output is discarded.  Bench's options come before the run options.\n",
	.options = bench_options,
	.list_options = true,
	.epilogue =
		"The page cache is not dropped (that needs root): the numbers are\n"
		"warm-cache ones, and the kernel's and initrd's residency before and after\n"
		"the warm-up is shown.  A CPU frequency governor other than 'performance'\n"
		"is pointed out.\n"
		"\n"
		"Exit status: 0; 1 when a boot fails (exits non-zero or times out: its\n"
		"stderr and the console's last lines are shown) or its trace cannot be\n"
		"read; 2 on a usage error.\n",
	.see = "lkvm help bench",
};

static const struct cli_option *bench_option(const char *a)
{
	const struct cli_option *o;
	size_t len;

	if (a[0] != '-' || !a[1])
		return NULL;
	for (o = bench_options; o->long_name; o++) {
		if (a[1] == '-') {
			len = strcspn(a + 2, "=");
			if (strlen(o->long_name) == len &&
			    !strncmp(a + 2, o->long_name, len))
				return o;
		} else if (o->short_name && a[1] == o->short_name) {
			return o;
		}
	}
	return NULL;
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* An option of bench's given among the run options, where it would be
 * run's (-n is run's network) or unknown. */
static int misplaced(int argc, char **argv, FILE *err)
{
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_option *o;

		if (!strcmp(a, "--"))
			break;
		o = bench_option(a);
		if (!o || o->short_name == 'h')
			continue;
		if (o->short_name == 'n' && a[1] != '-' &&
		    !(a[2] ? all_digits(a + 2) : i + 1 < argc && all_digits(argv[i + 1])))
			continue; /* run's -n (network) */
		return cli_error(err, "'%s' is an option of lkvm bench: give it before the run options (%s)",
				 a, BENCH_USAGE_SHORT);
	}
	return 0;
}

int bench_parse(int argc, char **argv, struct bench_config *bc, FILE *err)
{
	struct vm_config scratch;
	const char *seen[8] = { NULL };
	bool dashdash = false;
	int i, ret = 0;

	memset(bc, 0, sizeof(*bc));
	bc->runs = BENCH_DEFAULT_RUNS;
	bc->timeout_s = BENCH_DEFAULT_TIMEOUT_S;
	if (argc < 2)
		return cli_error(err, "lkvm bench needs a benchmark: %s (see 'lkvm help bench')",
				 BENCH_USAGE_SHORT);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		bc->help = true;
		return 0;
	}
	if (argv[1][0] == '-')
		return cli_error(err, "lkvm bench needs a benchmark before its options: %s",
				 BENCH_USAGE_SHORT);
	if (strcmp(argv[1], "boot"))
		return cli_error(err, "unknown benchmark '%s' (there is 'boot': %s)",
				 argv[1], BENCH_USAGE_SHORT);
	memset(&scratch, 0, sizeof(scratch));
	parsing = bc;
	/* Bench's options until the first argument that is not one. */
	for (i = 2; i < argc && !ret; i++) {
		const char *a = argv[i], *val = NULL;
		const struct cli_option *o = bench_option(a);
		char name[32];
		struct cli_use use;
		unsigned int k;

		if (!strcmp(a, "--")) {
			dashdash = true;
			i++;
			break;
		}
		if (!o)
			break;
		k = (unsigned int)(o - bench_options);
		if (a[1] == '-') {
			snprintf(name, sizeof(name), "--%s", o->long_name);
			if (a[2 + strlen(o->long_name)])
				val = a + 3 + strlen(o->long_name);
		} else {
			snprintf(name, sizeof(name), "-%c", o->short_name);
			if (a[2])
				val = a + 2;
		}
		if (val && !o->arg) {
			ret = cli_error(err, "option '%s' takes no value", name);
			break;
		}
		if (o->arg && !val) {
			if (i + 1 >= argc) {
				ret = cli_error(err, "option '%s' needs a value", name);
				break;
			}
			val = argv[++i];
		}
		if (o->arg && k < ARRAY_SIZE(seen)) {
			if (seen[k]) {
				ret = cli_error(err, "--%s given twice ('%s' and '%s')",
						o->long_name, seen[k], val);
				break;
			}
			seen[k] = val;
		}
		use = (struct cli_use){ .opt = o, .name = name,
					.arg = val ? val : "", .err = err };
		ret = o->apply(&scratch, &use);
		if (scratch.help) {
			bc->help = true;
			break;
		}
	}
	parsing = NULL;
	if (ret || bc->help)
		return ret;
	bc->run_argc = argc - i;
	bc->run_argv = argv + i;
	/* After bench's "--", everything is run's, as the user said. */
	return dashdash ? 0 : misplaced(bc->run_argc, bc->run_argv, err);
}

/* --- statistics --- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_stats(const double *v, size_t n, struct bench_stats *s)
{
	double *sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
	size_t i, m = 0;

	memset(s, 0, sizeof(*s));
	if (!sorted)
		return;
	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			sorted[m++] = v[i];
	if (m) {
		qsort(sorted, m, sizeof(*sorted), cmp_double);
		s->n = (unsigned int)m;
		s->min = sorted[0];
		s->max = sorted[m - 1];
		s->median = m % 2 ? sorted[m / 2]
				  : (sorted[m / 2 - 1] + sorted[m / 2]) / 2;
		s->p90 = sorted[(9 * m + 9) / 10 - 1]; /* ceil(0.9 m)-th */
	}
	free(sorted);
}

/* --- the host --- */

double bench_resident_pct(const char *path)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t pages, i, resident = 0;
	unsigned char *vec;
	struct stat st;
	void *map;
	int fd;

	fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || page <= 0) {
		close(fd);
		return -1;
	}
	if (!st.st_size) {
		close(fd);
		return 100;
	}
	/* Mapping reads nothing: mincore() only looks at the page cache. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	pages = ((size_t)st.st_size + (size_t)page - 1) / (size_t)page;
	vec = malloc(pages);
	if (vec && !mincore(map, (size_t)st.st_size, vec))
		for (i = 0; i < pages; i++)
			resident += vec[i] & 1;
	else
		resident = SIZE_MAX;
	free(vec);
	munmap(map, (size_t)st.st_size);
	return resident == SIZE_MAX ? -1 : 100.0 * (double)resident / (double)pages;
}

/* The first line of @path, blanks at the end dropped, or "". */
static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* /proc/cpuinfo's "model name" (x86) or "uarch"/"isa" (riscv), or "". */
static void cpu_model(char *buf, size_t size)
{
	static const char *const keys[] = { "model name", "uarch", "isa" };
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[512];
	size_t k;

	buf[0] = '\0';
	if (!f)
		return;
	for (k = 0; k < ARRAY_SIZE(keys) && !buf[0]; k++) {
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			char *colon = strchr(line, ':');

			if (strncmp(line, keys[k], strlen(keys[k])) || !colon)
				continue;
			colon += 1 + strspn(colon + 1, " \t");
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, size, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* --- the runs --- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct bench_ctx {
	const char *child;    /* what is spawned */
	char **argv;          /* lkvm run --boot-trace TRACE RUN OPTIONS... */
	char **envp;          /* environ, LKVM_TRACE_SPAWN_NS=spawn_env */
	char spawn_env[64];
	char dir[PATH_MAX];   /* the temporary files */
	char trace[PATH_MAX + 16], console[PATH_MAX + 16], errlog[PATH_MAX + 16];
	unsigned int timeout_s;
	FILE *err;
};

/*
 * Wait for @pid until @deadline (CLOCK_MONOTONIC ns): 1 when it exited
 * (*@status, *@end_ns), 0 at the deadline, -1 on a signal to bench.  A
 * pidfd wakes this at the exit itself; without one (kernels before 5.3)
 * waitpid() is polled every 100 µs.
 */
static int wait_child(pid_t pid, int pfd, uint64_t deadline, int *status,
		      uint64_t *end_ns)
{
	for (;;) {
		uint64_t now = now_ns();

		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			uint64_t left = deadline > now ? deadline - now : 0;
			int r;

			if (interrupted)
				return -1;
			r = poll(&p, 1, (int)MIN(left / 1000000 + 1, (uint64_t)INT_MAX));
			if (r > 0) {
				*end_ns = now_ns();
				if (waitpid(pid, status, 0) == pid)
					return 1;
				return 1; /* cannot happen: reaped elsewhere */
			}
			if (r < 0 && errno != EINTR)
				pfd = -1; /* fall back to polling */
			else if (!r && now_ns() >= deadline)
				return 0;
		} else {
			struct timespec nap = { .tv_nsec = 100000 };
			pid_t r = waitpid(pid, status, WNOHANG);

			if (r == pid) {
				*end_ns = now_ns();
				return 1;
			}
			if (interrupted)
				return -1;
			if (now >= deadline)
				return 0;
			nanosleep(&nap, NULL);
		}
	}
}

/* SIGTERM (lkvm stops the VM and writes its trace), then SIGKILL. */
static void stop_child(pid_t pid, int pfd)
{
	uint64_t end;
	int status;

	kill(pid, SIGTERM);
	interrupted = 0; /* one signal to bench is enough to stop it */
	if (wait_child(pid, pfd, now_ns() + KILL_GRACE_NS, &status, &end) == 1)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* The last @max bytes of @path (fewer if it is shorter) into a new @buf. */
static int read_tail(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	off_t from;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	*buf = malloc(max);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	r = pread(fd, *buf, max, from);
	close(fd);
	if (r < 0) {
		free(*buf);
		return -EIO;
	}
	*len = (size_t)r;
	return 0;
}

/* The last @lines lines of @path (at most 8 KiB) on @out, each after
 * @prefix. */
static void show_tail(FILE *out, const char *path, unsigned int lines,
		      const char *prefix)
{
	uint8_t *buf = NULL;
	size_t len = 0, start, i;
	unsigned int n = 0;

	/* Only the end is read: a guest can make its console log as large
	 * as the timeout lets it, and all of it must not be loaded. */
	if (read_tail(path, 8192, &buf, &len))
		return;
	if (!len) {
		free(buf);
		return;
	}
	start = len;
	if (buf[start - 1] == '\n')
		start--;
	while (start > 0 && len - start < 8192) {
		if (buf[start - 1] == '\n' && ++n == lines)
			break;
		start--;
	}
	fputs(prefix, out);
	for (i = start; i < len; i++) {
		fputc(buf[i], out);
		if (buf[i] == '\n' && i + 1 < len)
			fputs(prefix, out);
	}
	if (buf[len - 1] != '\n')
		fputc('\n', out);
	free(buf);
}

/* The failure of @label: what lkvm said and the console's end, then the
 * one error line. */
static int run_failed(struct bench_ctx *c, const char *label,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int run_failed(struct bench_ctx *c, const char *label,
		      const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	show_tail(c->err, c->errlog, FAIL_STDERR_LINES, "");
	fprintf(c->err, "lkvm bench: the console's last lines (%s):\n", label);
	show_tail(c->err, c->console, FAIL_CONSOLE_LINES, "  | ");
	cli_print_error(c->err, "bench boot: %s %s", label, what);
	return LKVM_EXIT_FAILURE;
}

/* One boot: spawned, waited for, and its trace read into @tr. */
static int run_once(struct bench_ctx *c, const char *label, double *ms,
		    struct trace_read *tr)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	uint64_t t0, end = 0;
	sigset_t none, dflt;
	char why[256];
	int status = 0, pfd = -1, r;
	pid_t pid;
	FILE *f;

	unlink(c->trace); /* a child that writes none must not pass */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, c->console,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, c->errlog,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE); /* lkvm ignores it; its child must not */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
					POSIX_SPAWN_SETSIGDEF);
	/* The origin of the child's trace: taken last, just before spawning. */
	t0 = now_ns();
	snprintf(c->spawn_env, sizeof(c->spawn_env), "%s=%llu",
		 LKVM_TRACE_SPAWN_ENV, (unsigned long long)t0);
	r = posix_spawn(&pid, c->child, &fa, &attr, c->argv, c->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r) {
		cli_print_error(c->err, "bench boot: cannot start %s: %s",
				c->child, strerror(r));
		return LKVM_EXIT_FAILURE;
	}
#ifdef SYS_pidfd_open
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	r = wait_child(pid, pfd, t0 + c->timeout_s * 1000000000ULL, &status,
		       &end);
	if (r <= 0) {
		stop_child(pid, pfd);
		if (pfd >= 0)
			close(pfd);
		if (!r)
			return run_failed(c, label, "did not finish within %u s: killed it (the guest must power off, reboot or write the --until-marker marker; --timeout S allows longer)",
					  c->timeout_s);
		return run_failed(c, label, "interrupted: stopped it");
	}
	if (pfd >= 0)
		close(pfd);
	if (WIFSIGNALED(status))
		return run_failed(c, label, "was killed by signal %d (%s)",
				  WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return run_failed(c, label, "exited with status %d (lkvm's stderr and the console's end are above)",
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	*ms = (double)(end - t0) / 1e6;
	f = fopen(c->trace, "re");
	if (!f)
		return run_failed(c, label, "wrote no trace (%s: %s)", c->trace,
				  strerror(errno));
	r = trace_read_file(f, tr, why, sizeof(why));
	fclose(f);
	if (r) {
		trace_read_free(tr);
		return run_failed(c, label, "left a trace that cannot be read: %s",
				  why);
	}
	return 0;
}

/* --- aggregation --- */

struct bench_event {
	char name[TRACE_READ_NAME_MAX];
	char cat[16];
	char ph;              /* 'X' phase, 'i' milestone, 'P' the parent's */
	unsigned int order;   /* first seen */
	double *at, *took;    /* per run, ms; NaN: not in that run */
	struct bench_stats s_at, s_took;
};

struct bench_counter {
	char key[TRACE_READ_NAME_MAX];
	double *total;        /* per run; NaN: that run had no counters */
	struct bench_stats s;
};

struct bench_result {
	unsigned int runs;
	double warmup_ms;
	struct bench_event *ev;
	size_t nev;
	struct bench_counter *ctr;
	size_t nctr;
	bool *had_ctr;             /* per run */
	unsigned int not_spawn;    /* traces not timed from the spawn */
	unsigned long dropped;     /* events the traces dropped, in all */
};

static double *nan_array(unsigned int n)
{
	double *a = malloc(n * sizeof(*a));
	unsigned int i;

	if (a)
		for (i = 0; i < n; i++)
			a[i] = NAN;
	return a;
}

static struct bench_event *find_event(struct bench_result *res,
				      const char *name, char ph,
				      const char *cat)
{
	struct bench_event *e;
	size_t i;

	for (i = 0; i < res->nev; i++)
		if (res->ev[i].ph == ph && !strcmp(res->ev[i].name, name))
			return &res->ev[i];
	e = realloc(res->ev, (res->nev + 1) * sizeof(*e));
	if (!e)
		return NULL;
	res->ev = e;
	e = &res->ev[res->nev];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->cat, sizeof(e->cat), "%s", cat);
	e->ph = ph;
	e->order = (unsigned int)res->nev;
	e->at = nan_array(res->runs);
	e->took = nan_array(res->runs);
	if (!e->at || !e->took) {
		free(e->at);
		free(e->took);
		return NULL;
	}
	res->nev++;
	return e;
}

static struct bench_counter *find_counter(struct bench_result *res,
					  const char *key)
{
	struct bench_counter *c;
	size_t i;

	for (i = 0; i < res->nctr; i++)
		if (!strcmp(res->ctr[i].key, key))
			return &res->ctr[i];
	c = realloc(res->ctr, (res->nctr + 1) * sizeof(*c));
	if (!c)
		return NULL;
	res->ctr = c;
	c = &res->ctr[res->nctr];
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	/* 0 in the runs so far: those with counters had none of this. */
	c->total = calloc(res->runs, sizeof(*c->total));
	if (!c->total)
		return NULL;
	res->nctr++;
	return c;
}

/* Run @r's trace and spawn-to-exit time into @res. */
static int add_run(struct bench_result *res, unsigned int r, double ms,
		   const struct trace_read *tr)
{
	struct bench_event *e = find_event(res, PARENT_EVENT, 'P', "parent");
	size_t i, j;

	if (!e)
		return -ENOMEM;
	e->at[r] = ms;
	if (strcmp(tr->origin, "spawn"))
		res->not_spawn++;
	res->dropped += tr->dropped;
	for (i = 0; i < tr->nr; i++) {
		const struct trace_read_event *t = &tr->ev[i];

		if (t->ph == 'C') {
			bool later = false;

			/* A thread's last sample holds its totals. */
			for (j = i + 1; j < tr->nr && !later; j++)
				later = tr->ev[j].ph == 'C' &&
					tr->ev[j].tid == t->tid &&
					!strcmp(tr->ev[j].name, t->name);
			if (later)
				continue;
			res->had_ctr[r] = true;
			for (j = 0; j < t->nargs; j++) {
				struct bench_counter *c =
					find_counter(res, t->args[j].key);

				if (!c)
					return -ENOMEM;
				c->total[r] += (double)t->args[j].value;
			}
			continue;
		}
		/* Thread names, and the exit-site lists: no times. */
		if ((t->ph != 'X' && t->ph != 'i') ||
		    !strcmp(t->cat, TRACE_CAT_EXITS))
			continue;
		e = find_event(res, t->name, t->ph, t->cat);
		if (!e)
			return -ENOMEM;
		if (!isnan(e->at[r]))
			continue; /* the first of a name counts */
		e->at[r] = (double)(t->ts + (t->ph == 'X' ? t->dur : 0)) / 1000.0;
		if (t->ph == 'X')
			e->took[r] = (double)t->dur / 1000.0;
	}
	return 0;
}

static int by_median(const void *a, const void *b)
{
	const struct bench_event *x = a, *y = b;

	if (x->s_at.median != y->s_at.median)
		return x->s_at.median < y->s_at.median ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int by_count(const void *a, const void *b)
{
	const struct bench_counter *x = a, *y = b;

	if (x->s.median != y->s.median)
		return x->s.median > y->s.median ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void finish_stats(struct bench_result *res)
{
	unsigned int r;
	size_t i;

	for (i = 0; i < res->nev; i++) {
		bench_stats(res->ev[i].at, res->runs, &res->ev[i].s_at);
		bench_stats(res->ev[i].took, res->runs, &res->ev[i].s_took);
	}
	qsort(res->ev, res->nev, sizeof(*res->ev), by_median);
	for (i = 0; i < res->nctr; i++) {
		for (r = 0; r < res->runs; r++)
			if (!res->had_ctr[r])
				res->ctr[i].total[r] = NAN;
		bench_stats(res->ctr[i].total, res->runs, &res->ctr[i].s);
	}
	qsort(res->ctr, res->nctr, sizeof(*res->ctr), by_count);
}

static void free_result(struct bench_result *res)
{
	size_t i;

	for (i = 0; i < res->nev; i++) {
		free(res->ev[i].at);
		free(res->ev[i].took);
	}
	for (i = 0; i < res->nctr; i++)
		free(res->ctr[i].total);
	free(res->ev);
	free(res->ctr);
	free(res->had_ctr);
}

/* --- output --- */

struct bench_info {
	const struct bench_config *bc;
	int argc;
	char **argv;          /* bench's own, for the record */
	const char *files[2]; /* kernel, initrd (or NULL) */
	double before[2], after[2];
	char kernel[1024], release[512], cpu[256], governor[64];
	bool until_marker_set;
	unsigned int until_marker;
};

static const char *const file_what[2] = { "kernel", "initrd" };

static void print_pct(FILE *out, double pct)
{
	if (pct < 0)
		fputs("unknown", out);
	else
		fprintf(out, "%.1f%%", pct);
}

static void table_row(FILE *out, const char *label, const char *runs,
		      const struct bench_stats *s)
{
	fprintf(out, "%-30.30s %4s %8.3f %8.3f %8.3f %8.3f %8.3f\n", label, runs,
		s->min, s->median, s->p90, s->max, s->p90 - s->min);
}

static void print_table(FILE *out, const struct bench_result *res,
			const struct bench_info *in)
{
	bool partial = false;
	char runs[16];
	size_t i;

	fprintf(out, "lkvm bench boot: %u run%s, after a warm-up run of %.3f ms (not counted)\n",
		res->runs, res->runs == 1 ? "" : "s", res->warmup_ms);
	fprintf(out, "lkvm %s on %s\nCPU: %s\n", LKVM_VERSION, in->release,
		in->cpu[0] ? in->cpu : "unknown");
	fputs("page cache (warm: not dropped, which needs root):\n", out);
	for (i = 0; i < 2; i++) {
		if (!in->files[i])
			continue;
		fprintf(out, "  %s: ", file_what[i]);
		print_pct(out, in->before[i]);
		fputs(" resident before the warm-up, ", out);
		print_pct(out, in->after[i]);
		fprintf(out, " after\n    %s\n", in->files[i]);
	}
	if (in->governor[0] && strcmp(in->governor, "performance"))
		fprintf(out, "note: the CPU frequency governor is '%s', not 'performance': expect more spread\n",
			in->governor);
	if (res->not_spawn)
		fprintf(out, "note: %u trace%s timed from lkvm's exec, not its spawn\n",
			res->not_spawn, res->not_spawn == 1 ? " was" : "s were");
	if (res->dropped)
		fprintf(out, "note: the traces dropped %lu events\n", res->dropped);
	fputs("\nms from spawn; a phase's line is its end, the 'took' line under it its\n"
	      "duration; p90 is the nearest-rank one\n", out);
	fprintf(out, "%-30s %4s %8s %8s %8s %8s %8s\n", "event", "runs", "min",
		"median", "p90", "max", "p90-min");
	for (i = 0; i < res->nev; i++) {
		const struct bench_event *e = &res->ev[i];

		snprintf(runs, sizeof(runs), "%u%s", e->s_at.n,
			 e->s_at.n < res->runs ? "*" : "");
		partial |= e->s_at.n < res->runs;
		table_row(out, e->name, runs, &e->s_at);
		if (e->ph == 'X')
			table_row(out, "  took", "", &e->s_took);
	}
	if (partial)
		fputs("* in only that many runs; the statistics are over those\n",
		      out);
	if (!res->nctr)
		return;
	fputs("\nvCPU exits by reason (all vCPUs' totals; over the runs)\n", out);
	fprintf(out, "%-30s %4s %8s %8s %8s\n", "reason", "runs", "min",
		"median", "max");
	for (i = 0; i < res->nctr; i++) {
		const struct bench_counter *c = &res->ctr[i];

		fprintf(out, "%-30.30s %4u %8.0f %8.0f %8.0f\n", c->key, c->s.n,
			c->s.min, c->s.median, c->s.max);
	}
}

/* @s as a JSON string. */
static void json_str(FILE *out, const char *s)
{
	size_t n = strlen(s) * 6 + 1;
	char *buf = malloc(n);

	if (!buf) {
		fputs("\"\"", out);
		return;
	}
	buf[0] = '\0';
	trace_json_escape(buf, n, s, strlen(s));
	fprintf(out, "\"%s\"", buf);
	free(buf);
}

static void json_num(FILE *out, double v)
{
	if (isnan(v) || v < 0)
		fputs("null", out);
	else
		fprintf(out, "%.3f", v);
}

static void json_stats(FILE *out, const struct bench_stats *s)
{
	fprintf(out, "{\"min\":%.3f,\"median\":%.3f,\"p90\":%.3f,\"max\":%.3f,\"p90_minus_min\":%.3f}",
		s->min, s->median, s->p90, s->max, s->p90 - s->min);
}

static void json_values(FILE *out, const double *v, unsigned int n)
{
	unsigned int i;

	fputc('[', out);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		json_num(out, v[i]);
	}
	fputc(']', out);
}

/* The elements of a JSON array of @argv's strings. */
static void json_argv(FILE *out, int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (i)
			fputc(',', out);
		json_str(out, argv[i]);
	}
}

static void print_json(FILE *out, const struct bench_result *res,
		       const struct bench_info *in)
{
	size_t i;

	fprintf(out, "{\"benchmark\":\"boot\",\"runs\":%u,\n", res->runs);
	fprintf(out, "\"warmup\":{\"spawn_to_exit_ms\":%.3f},\n", res->warmup_ms);
	fputs("\"config\":{\"argv\":[\"lkvm\",", out);
	json_argv(out, in->argc, in->argv);
	fputc(']', out);
	fputs(",\"run_options\":[", out);
	json_argv(out, in->bc->run_argc, in->bc->run_argv);
	fputc(']', out);
	fputs(",\"until_marker\":", out);
	if (in->until_marker_set)
		fprintf(out, "%u", in->until_marker);
	else
		fputs("null", out);
	fprintf(out, ",\"timeout_s\":%u,\"lkvm_version\":", in->bc->timeout_s);
	json_str(out, LKVM_VERSION);
	fputs(",\"host_kernel\":", out);
	json_str(out, in->kernel);
	fputs(",\"cpu_model\":", out);
	if (in->cpu[0])
		json_str(out, in->cpu);
	else
		fputs("null", out);
	fputs(",\"cpufreq_governor\":", out);
	if (in->governor[0])
		json_str(out, in->governor);
	else
		fputs("null", out);
	fputs("},\n\"page_cache\":{\"dropped\":false,\"files\":[", out);
	for (i = 0; i < 2; i++) {
		if (!in->files[i])
			continue;
		fprintf(out, "%s{\"what\":\"%s\",\"path\":", i ? "," : "",
			file_what[i]);
		json_str(out, in->files[i]);
		fputs(",\"resident_pct_before_warmup\":", out);
		json_num(out, in->before[i]);
		fputs(",\"resident_pct_after_warmup\":", out);
		json_num(out, in->after[i]);
		fputc('}', out);
	}
	fprintf(out, "]},\n\"traces_not_from_spawn\":%u,\"dropped_events\":%lu,\n",
		res->not_spawn, res->dropped);
	fputs("\"units\":\"ms from spawn; phases: at_ms is the end, took_ms the duration; p90 nearest-rank\",\n", out);
	fputs("\"events\":[\n", out);
	for (i = 0; i < res->nev; i++) {
		const struct bench_event *e = &res->ev[i];

		fputs("{\"name\":", out);
		json_str(out, e->name);
		fprintf(out, ",\"kind\":\"%s\",\"cat\":",
			e->ph == 'X' ? "phase" : e->ph == 'P' ? "parent"
				     : !strcmp(e->cat, TRACE_CAT_MARKER) ? "marker"
				     : "milestone");
		json_str(out, e->cat);
		fprintf(out, ",\"runs\":%u,\"at_ms\":", e->s_at.n);
		json_stats(out, &e->s_at);
		if (e->ph == 'X') {
			fputs(",\"took_ms\":", out);
			json_stats(out, &e->s_took);
		}
		fputs(",\"values_at_ms\":", out);
		json_values(out, e->at, res->runs);
		if (e->ph == 'X') {
			fputs(",\"values_took_ms\":", out);
			json_values(out, e->took, res->runs);
		}
		fprintf(out, "}%s\n", i + 1 < res->nev ? "," : "");
	}
	fputs("],\n\"exits\":[", out);
	for (i = 0; i < res->nctr; i++) {
		const struct bench_counter *c = &res->ctr[i];

		fputs(i ? ",\n{\"reason\":" : "\n{\"reason\":", out);
		json_str(out, c->key);
		fprintf(out, ",\"runs\":%u,\"min\":%.0f,\"median\":%.1f,\"max\":%.0f,\"values\":",
			c->s.n, c->s.min, c->s.median, c->s.max);
		json_values(out, c->total, res->runs);
		fputc('}', out);
	}
	fputs("]}\n", out);
}

/* --- the command --- */

/* environ without LKVM_TRACE_SPAWN_NS, and c->spawn_env in its place. */
static char **child_env(struct bench_ctx *c)
{
	size_t n = 0, k = 0, len = strlen(LKVM_TRACE_SPAWN_ENV);
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (n = 0; environ && environ[n]; n++)
		if (strncmp(environ[n], LKVM_TRACE_SPAWN_ENV, len) ||
		    environ[n][len] != '=')
			env[k++] = environ[n];
	env[k] = c->spawn_env;
	return env;
}

static void remove_temp(struct bench_ctx *c)
{
	if (!c->dir[0])
		return;
	unlink(c->trace);
	unlink(c->console);
	unlink(c->errlog);
	rmdir(c->dir);
}

/* The run options, checked by run's own parser; what bench records. */
static int check_run_options(const struct bench_config *bc,
			     struct bench_info *in, char *kernel,
			     size_t kcap, FILE *err)
{
	char **args = calloc((size_t)bc->run_argc + 2, sizeof(*args));
	struct vm_config cfg;
	struct utsname u;
	int ret;

	if (!args) {
		cli_print_error(err, "out of memory");
		return LKVM_EXIT_FAILURE;
	}
	args[0] = "run";
	memcpy(args + 1, bc->run_argv, (size_t)bc->run_argc * sizeof(*args));
	ret = cli_parse(&cli_run_command, bc->run_argc + 1, args, &cfg, err);
	if (!ret && cfg.boot_trace)
		ret = cli_error(err, "lkvm bench gives each boot its own --boot-trace: leave it out");
	else if (!ret && cfg.dump_dtb)
		ret = cli_error(err, "--dump-dtb boots no guest: there is nothing to measure");
	if (!ret) {
		/* Pointers into run_argv, which outlives this. */
		in->files[0] = cfg.kernel_path;
		in->files[1] = cfg.initrd_path;
		in->until_marker_set = cfg.until_marker_set;
		in->until_marker = cfg.until_marker;
		if (!in->files[0] && !uname(&u)) {
			snprintf(kernel, kcap, "/boot/vmlinuz-%s", u.release);
			in->files[0] = kernel;
		}
	}
	if (!ret && cfg.help)
		ret = -1; /* bench's help, below */
	cli_free_config(&cfg);
	free(args);
	return ret;
}

static int make_temp(struct bench_ctx *c)
{
	const char *tmp = getenv("TMPDIR");

	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(c->dir, sizeof(c->dir), "%s/lkvm-bench.XXXXXX", tmp);
	if (!mkdtemp(c->dir)) {
		cli_print_error(c->err, "bench boot: cannot create a directory in %s: %s",
				tmp, strerror(errno));
		c->dir[0] = '\0';
		return LKVM_EXIT_FAILURE;
	}
	snprintf(c->trace, sizeof(c->trace), "%s/trace.json", c->dir);
	snprintf(c->console, sizeof(c->console), "%s/console.log", c->dir);
	snprintf(c->errlog, sizeof(c->errlog), "%s/stderr.log", c->dir);
	return 0;
}

static int bench_boot(const struct bench_config *bc, struct bench_info *in,
		      FILE *out, FILE *err)
{
	struct bench_ctx c = { .err = err, .timeout_s = bc->timeout_s };
	struct bench_result res = { .runs = bc->runs };
	struct trace_read tr;
	char label[64];
	unsigned int r;
	size_t i;
	int ret;

	c.child = getenv(BENCH_CHILD_ENV);
	if (!c.child || !*c.child)
		c.child = "/proc/self/exe";
	c.argv = calloc((size_t)bc->run_argc + 5, sizeof(*c.argv));
	c.envp = child_env(&c);
	res.had_ctr = calloc(bc->runs, sizeof(*res.had_ctr));
	if (!c.argv || !c.envp || !res.had_ctr) {
		cli_print_error(err, "out of memory");
		ret = LKVM_EXIT_FAILURE;
		goto out;
	}
	ret = make_temp(&c);
	if (ret)
		goto out;
	c.argv[0] = "lkvm";
	c.argv[1] = "run";
	c.argv[2] = "--boot-trace";
	c.argv[3] = c.trace;
	memcpy(c.argv + 4, bc->run_argv, (size_t)bc->run_argc * sizeof(char *));

	for (i = 0; i < 2; i++)
		in->before[i] = bench_resident_pct(in->files[i]);
	ret = run_once(&c, "the warm-up run", &res.warmup_ms, &tr);
	if (ret)
		goto out;
	trace_read_free(&tr);
	for (i = 0; i < 2; i++)
		in->after[i] = bench_resident_pct(in->files[i]);
	for (r = 0; r < bc->runs; r++) {
		double ms;

		snprintf(label, sizeof(label), "run %u of %u", r + 1, bc->runs);
		ret = run_once(&c, label, &ms, &tr);
		if (ret)
			goto out;
		ret = add_run(&res, r, ms, &tr);
		trace_read_free(&tr);
		if (ret) {
			cli_print_error(err, "out of memory");
			ret = LKVM_EXIT_FAILURE;
			goto out;
		}
	}
	finish_stats(&res);
	if (bc->json)
		print_json(out, &res, in);
	else
		print_table(out, &res, in);
out:
	remove_temp(&c);
	free_result(&res);
	free(c.argv);
	free(c.envp);
	return ret;
}

int bench_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	struct bench_info in = { .argc = argc, .argv = argv };
	struct bench_config bc;
	char kernel[PATH_MAX];
	struct utsname u;
	int ret;

	ret = bench_parse(argc, argv, &bc, err);
	if (!ret && !bc.help)
		ret = check_run_options(&bc, &in, kernel, sizeof(kernel), err);
	if (ret < 0 || (!ret && bc.help)) {
		cli_print_usage(&cli_bench_command, out);
		return LKVM_EXIT_OK;
	}
	if (ret)
		return ret;
	in.bc = &bc;
	if (!uname(&u)) {
		snprintf(in.kernel, sizeof(in.kernel), "%s %s %s %s", u.sysname,
			 u.release, u.version, u.machine);
		snprintf(in.release, sizeof(in.release), "%s %s %s", u.sysname,
			 u.release, u.machine);
	}
	cpu_model(in.cpu, sizeof(in.cpu));
	read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
		  in.governor, sizeof(in.governor));
	/* ^C reaches the child lkvm too, which stops its guest and exits 0:
	 * that boot must not count. */
	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup); /* a closed terminal: clean up too */
	ret = bench_boot(&bc, &in, out, err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return ret;
}
