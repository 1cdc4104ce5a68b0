// SPDX-License-Identifier: GPL-2.0
/* Boot tracing: see include/lkvm/trace.h. */
#include "lkvm/trace.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/util.h"

#define TRACE_NAME_MAX 64
#define TRACE_ARGS_MAX 256
#define TRACE_EVENT_LIMIT (TRACE_MAX_EVENTS - TRACE_RESERVED_EVENTS)

struct trace_event {
	char ph;                 /* 'X', 'i', 'C', 'M' */
	const char *cat;         /* a TRACE_CAT_* literal */
	uint32_t tid;
	uint64_t ts, dur;        /* µs */
	char name[TRACE_NAME_MAX];
	char args[TRACE_ARGS_MAX]; /* a JSON object body, or "" */
};

struct boot_trace {
	char *path;              /* NULL: the summary on stderr */
	FILE *out;               /* opened at trace_open(), so errors come first */
	uint64_t origin_ns;      /* CLOCK_MONOTONIC */
	const char *origin_what; /* "spawn" or "exec" */
	pthread_mutex_t lock;
	struct trace_event *ev;  /* TRACE_MAX_EVENTS, allocated at open */
	unsigned int nr;
	unsigned long dropped;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * When lkvm's own code first ran, and the CPU time the process had used
 * by then: fork's child, exec and the dynamic loader, which the kernel
 * charges to it.  Taken in a constructor, before main(); two clock reads,
 * so every lkvm command pays next to nothing for it.
 */
static uint64_t first_code_ns, first_code_cpu_ns;

__attribute__((constructor)) static void note_first_code(void)
{
	first_code_ns = clock_ns(CLOCK_MONOTONIC);
	first_code_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static uint32_t this_tid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

/* The spawn time a parent passed down, if it makes sense. */
static bool spawn_time(uint64_t *ns)
{
	const char *s = getenv(LKVM_TRACE_SPAWN_ENV);
	unsigned long long v;
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	/* (Not after now: a stale or made-up value would make every
	 * timestamp wrong.) */
	if (errno || *end || !v || v > clock_ns(CLOCK_MONOTONIC))
		return false;
	*ns = v;
	return true;
}

struct boot_trace *trace_open(const char *path, int *err)
{
	struct boot_trace *t = calloc(1, sizeof(*t));

	*err = -ENOMEM;
	if (!t)
		return NULL;
	t->ev = malloc(TRACE_MAX_EVENTS * sizeof(*t->ev));
	if (!t->ev)
		goto fail;
	if (strcmp(path, "-")) {
		t->path = strdup(path);
		if (!t->path)
			goto fail;
		/* Created now: a bad path is reported before the boot. */
		t->out = fopen(path, "we");
		if (!t->out) {
			*err = -errno;
			pr_err("--boot-trace %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	pthread_mutex_init(&t->lock, NULL);
	if (spawn_time(&t->origin_ns)) {
		t->origin_what = "spawn";
	} else {
		t->origin_ns = first_code_ns - MIN(first_code_cpu_ns, first_code_ns);
		t->origin_what = "exec";
	}
	*err = 0;
	return t;
fail:
	free(t->path);
	free(t->ev);
	free(t);
	return NULL;
}

uint64_t trace_now(const struct boot_trace *t)
{
	uint64_t now;

	if (!t)
		return 0;
	now = clock_ns(CLOCK_MONOTONIC);
	return now > t->origin_ns ? (now - t->origin_ns) / 1000 : 0;
}

uint64_t trace_main_us(const struct boot_trace *t)
{
	if (!t || first_code_ns < t->origin_ns)
		return 0;
	return (first_code_ns - t->origin_ns) / 1000;
}

/*
 * A slot for one event, or NULL (dropped); called with the lock held.
 * Periodic counter samples may fill only half the buffer, and the last
 * TRACE_RESERVED_EVENTS slots are kept for the final samples and the
 * shutdown, so a long run still ends with its totals.
 */
#define TRACE_RESERVED_EVENTS 64
static struct trace_event *new_event(struct boot_trace *t, char ph,
				     const char *cat, const char *name,
				     unsigned int limit)
{
	struct trace_event *e;

	if (t->nr >= limit) {
		t->dropped++;
		return NULL;
	}
	e = &t->ev[t->nr++];
	e->ph = ph;
	e->cat = cat;
	e->tid = this_tid();
	e->ts = e->dur = 0;
	e->name[0] = e->args[0] = '\0';
	trace_json_escape(e->name, sizeof(e->name), name, strlen(name));
	return e;
}

void trace_span_at(struct boot_trace *t, const char *name, uint64_t start_us,
		   uint64_t end_us)
{
	struct trace_event *e;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	e = new_event(t, 'X', TRACE_CAT_PHASE, name, TRACE_EVENT_LIMIT);
	if (e) {
		e->ts = start_us;
		e->dur = end_us > start_us ? end_us - start_us : 0;
	}
	pthread_mutex_unlock(&t->lock);
}

void trace_span(struct boot_trace *t, const char *name, uint64_t start_us)
{
	trace_span_at(t, name, start_us, trace_now(t));
}

void trace_instant(struct boot_trace *t, const char *cat, const char *name,
		   const char *args)
{
	uint64_t now = trace_now(t);
	struct trace_event *e;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	e = new_event(t, 'i', cat, name, TRACE_EVENT_LIMIT);
	if (e) {
		e->ts = now;
		if (args)
			snprintf(e->args, sizeof(e->args), "%s", args);
	}
	pthread_mutex_unlock(&t->lock);
}

void trace_thread_name(struct boot_trace *t, const char *name)
{
	struct trace_event *e;
	char args[TRACE_NAME_MAX + 16];

	if (!t)
		return;
	snprintf(args, sizeof(args), "\"name\":\"");
	trace_json_escape(args, sizeof(args) - 1, name, strlen(name));
	strcat(args, "\"");
	pthread_mutex_lock(&t->lock);
	e = new_event(t, 'M', TRACE_CAT_PHASE, "thread_name",
		      TRACE_EVENT_LIMIT);
	if (e)
		snprintf(e->args, sizeof(e->args), "%s", args);
	pthread_mutex_unlock(&t->lock);
}

void trace_counters(struct boot_trace *t, const char *name, unsigned int n,
		    const char *const *keys, const uint64_t *values, bool final)
{
	uint64_t now = trace_now(t);
	char args[TRACE_ARGS_MAX];
	struct trace_event *e;
	size_t len = 0;
	unsigned int i;

	if (!t)
		return;
	args[0] = '\0';
	for (i = 0; i < n && len < sizeof(args); i++) {
		int w = snprintf(args + len, sizeof(args) - len, "%s\"%s\":%llu",
				 i ? "," : "", keys[i],
				 (unsigned long long)values[i]);
		if (w < 0 || (size_t)w >= sizeof(args) - len) {
			args[len] = '\0'; /* whole pairs only */
			break;
		}
		len += (size_t)w;
	}
	pthread_mutex_lock(&t->lock);
	e = new_event(t, 'C', TRACE_CAT_EXITS, name,
		      final ? TRACE_MAX_EVENTS : TRACE_MAX_EVENTS / 2);
	if (e) {
		e->ts = now;
		memcpy(e->args, args, sizeof(args));
	}
	pthread_mutex_unlock(&t->lock);
}

void trace_json_escape(char *buf, size_t size, const char *s, size_t len)
{
	size_t at = strlen(buf), i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t n;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (at + n >= size)
			break;
		memcpy(buf + at, tmp, n);
		at += n;
	}
	buf[at] = '\0';
}

/* --- console scanning --- */

static void scan_line(struct boot_trace *t, struct trace_console_scan *s)
{
	char args[TRACE_ARGS_MAX] = "\"line\":\"";

	s->line[s->len] = '\0';
	if (!s->seen_banner && strstr(s->line, "Linux version ")) {
		s->seen_banner = true;
		trace_json_escape(args, sizeof(args) - 2, s->line, s->len);
		strcat(args, "\"");
		trace_instant(t, TRACE_CAT_GUEST, "kernel banner", args);
	} else if (!s->seen_init && strstr(s->line, " as init process")) {
		s->seen_init = true;
		trace_instant(t, TRACE_CAT_GUEST, "init started", NULL);
	} else if (!s->seen_panic && strstr(s->line, "Kernel panic")) {
		s->seen_panic = true;
		trace_instant(t, TRACE_CAT_GUEST, "kernel panic", NULL);
	}
	s->len = 0;
}

void trace_console(struct boot_trace *t, struct trace_console_scan *scan,
		   const uint8_t *buf, size_t len)
{
	size_t i;

	if (!t || !len)
		return;
	if (!scan->seen_byte) {
		scan->seen_byte = true;
		trace_instant(t, TRACE_CAT_GUEST, "first console byte", NULL);
	}
	if (scan->seen_banner && scan->seen_init && scan->seen_panic)
		return;
	for (i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			if (scan->len)
				scan_line(t, scan);
			continue;
		}
		/* A long line is looked at in pieces; the strings sought are
		 * short and near a line's start. */
		if (scan->len == sizeof(scan->line) - 1)
			scan_line(t, scan);
		scan->line[scan->len++] = (char)buf[i];
	}
}

/* --- output --- */

static int write_json(struct boot_trace *t)
{
	unsigned int i;
	long pid = (long)getpid();
	FILE *f = t->out;

	fprintf(f, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"origin\":\"%s\",\"dropped_events\":%lu},\n\"traceEvents\":[\n",
		t->origin_what, t->dropped);
	for (i = 0; i < t->nr; i++) {
		const struct trace_event *e = &t->ev[i];

		fprintf(f, "{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"%c\",\"ts\":%llu",
			e->name, e->cat, e->ph, (unsigned long long)e->ts);
		if (e->ph == 'X')
			fprintf(f, ",\"dur\":%llu", (unsigned long long)e->dur);
		fprintf(f, ",\"pid\":%ld,\"tid\":%u", pid, e->tid);
		if (e->ph == 'i')
			fputs(",\"s\":\"g\"", f);
		if (e->args[0])
			fprintf(f, ",\"args\":{%s}", e->args);
		fprintf(f, "}%s\n", i + 1 < t->nr ? "," : "");
	}
	fputs("]}\n", f);
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct trace_event *x = *(const struct trace_event *const *)a;
	const struct trace_event *y = *(const struct trace_event *const *)b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The thread name a 'M' event gave @tid, or NULL. */
static const char *thread_name(const struct boot_trace *t, uint32_t tid,
			       char *buf, size_t size)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++) {
		const struct trace_event *e = &t->ev[i];
		const char *q;

		if (e->ph != 'M' || e->tid != tid)
			continue;
		/* args is "name":"X" */
		q = strchr(e->args + 8, '"');
		snprintf(buf, size, "%.*s", q ? (int)(q - (e->args + 8)) : 0,
			 e->args + 8);
		return buf;
	}
	return NULL;
}

/* The summary: phases and milestones in time order, then each thread's
 * last exit-counter sample. */
static void write_summary(struct boot_trace *t, FILE *f)
{
	const struct trace_event **order = calloc(t->nr ? t->nr : 1,
						  sizeof(*order));
	unsigned int i, j, n = 0;
	char tname[TRACE_NAME_MAX];

	if (!order)
		return;
	for (i = 0; i < t->nr; i++)
		if (t->ev[i].ph == 'X' || t->ev[i].ph == 'i')
			order[n++] = &t->ev[i];
	qsort(order, n, sizeof(*order), by_time);
	fprintf(f, "lkvm boot trace (ms from %s)\n", t->origin_what);
	fprintf(f, "  %-44s %10s %10s\n", "phase / milestone", "at", "took");
	for (i = 0; i < n; i++) {
		const struct trace_event *e = order[i];

		if (e->ph == 'X')
			fprintf(f, "  %-44.44s %10.3f %10.3f\n", e->name,
				e->ts / 1000.0, e->dur / 1000.0);
		else
			fprintf(f, "  %-44.44s %10.3f\n", e->name, e->ts / 1000.0);
		/* The busiest exit sites: what to look at first. */
		if (!strcmp(e->cat, TRACE_CAT_EXITS) && e->args[0])
			fprintf(f, "    %s\n", e->args);
	}
	/* The last counter sample of each thread: its totals. */
	for (i = t->nr; i-- > 0;) {
		const struct trace_event *e = &t->ev[i];
		bool later = false;

		if (e->ph != 'C')
			continue;
		for (j = i + 1; j < t->nr && !later; j++)
			later = t->ev[j].ph == 'C' && t->ev[j].tid == e->tid &&
				!strcmp(t->ev[j].name, e->name);
		if (later)
			continue;
		fprintf(f, "  %s %s: %s\n", e->name,
			thread_name(t, e->tid, tname, sizeof(tname)) ?: "thread",
			e->args);
	}
	if (t->dropped)
		fprintf(f, "  (%lu events dropped past %u)\n", t->dropped,
			TRACE_MAX_EVENTS);
	free(order);
}

int trace_close(struct boot_trace *t)
{
	int err = 0;

	if (!t)
		return 0;
	if (t->out) {
		errno = 0;
		write_json(t);
		if (ferror(t->out) | fclose(t->out)) {
			err = errno ? -errno : -EIO;
			pr_err("--boot-trace %s: %s", t->path, strerror(-err));
		}
	} else {
		write_summary(t, stderr);
	}
	pthread_mutex_destroy(&t->lock);
	free(t->path);
	free(t->ev);
	free(t);
	return err;
}
