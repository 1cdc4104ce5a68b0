// SPDX-License-Identifier: GPL-2.0
/*
 * vmm/frontend/trace-read.c: a trace that vmm/trace.c itself wrote reads
 * back event for event; malformed, truncated and foreign lines are errors
 * (every prefix of a valid line included), never a crash or a half event.
 */
#include <stdlib.h>

#include "lkvm/trace-read.h"
#include "lkvm/trace.h"
#include "test.h"

static char tmpdir[] = "/tmp/lkvm-trace-read.XXXXXX";

static const char *tmp_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

/* @text written to a file and read back: trace_read_file()'s result. */
static int read_text(const char *text, struct trace_read *tr, char *why,
		     size_t cap)
{
	FILE *f = fopen(tmp_path("t.json"), "w+");
	int r;

	if (!f)
		return -99;
	fputs(text, f);
	rewind(f);
	r = trace_read_file(f, tr, why, cap);
	fclose(f);
	return r;
}

static const struct trace_read_event *find(const struct trace_read *tr,
					   const char *name)
{
	size_t i;

	for (i = 0; i < tr->nr; i++)
		if (!strcmp(tr->ev[i].name, name))
			return &tr->ev[i];
	return NULL;
}

/* What vmm/trace.c writes, read back. */
TEST(round_trip)
{
	static const char *const keys[] = { "io", "mmio", "hlt" };
	static const uint64_t vals[] = { 1234, 56, 7 };
	static const uint64_t later[] = { 2000, 60, 9 };
	const struct trace_read_event *e;
	struct boot_trace *t;
	struct trace_read tr;
	char why[160] = "";
	FILE *f;
	int err;

	setenv(LKVM_TRACE_SPAWN_ENV, "1", 1); /* the origin: "spawn" */
	t = trace_open(tmp_path("rt.json"), &err);
	unsetenv(LKVM_TRACE_SPAWN_ENV);
	REQUIRE(t);
	trace_thread_name(t, "main");
	trace_span_at(t, "parse options", 100, 350);
	trace_instant(t, TRACE_CAT_GUEST, "kernel banner",
		      "\"line\":\"Linux version 6.1 \\\"x\\\"\"");
	trace_instant(t, TRACE_CAT_MARKER, "marker 7", NULL);
	trace_instant(t, TRACE_CAT_PHASE, "odd \"name\"\\ \x01\xc3\xa9", NULL);
	trace_counters(t, "exits", 3, keys, vals, false);
	trace_counters(t, "exits", 3, keys, later, true);
	CHECK_EQ(trace_close(t), 0);

	f = fopen(tmp_path("rt.json"), "r");
	REQUIRE(f);
	err = trace_read_file(f, &tr, why, sizeof(why));
	fclose(f);
	if (!CHECK_EQ(err, 0))
		printf("  %s\n", why);
	CHECK_STREQ(tr.origin, "spawn");
	CHECK_EQ(tr.dropped, 0);
	CHECK_EQ(tr.nr, 7);
	e = find(&tr, "parse options");
	REQUIRE(e);
	CHECK_EQ(e->ph, 'X');
	CHECK_STREQ(e->cat, "phase");
	CHECK_EQ(e->ts, 100);
	CHECK_EQ(e->dur, 250);
	CHECK(e->tid != 0);
	e = find(&tr, "kernel banner");
	REQUIRE(e);
	CHECK_EQ(e->ph, 'i');
	CHECK_STREQ(e->cat, "guest");
	CHECK_EQ(e->nargs, 0); /* a string arg is not a number */
	e = find(&tr, "marker 7");
	CHECK(e && !strcmp(e->cat, "marker"));
	/* Escapes undone: the name is what was given. */
	CHECK(find(&tr, "odd \"name\"\\ \x01\xc3\xa9") != NULL);
	e = find(&tr, "thread_name");
	CHECK(e && e->ph == 'M');
	/* The last counter sample: its values, in order. */
	e = &tr.ev[tr.nr - 1];
	CHECK_EQ(e->ph, 'C');
	CHECK_STREQ(e->name, "exits");
	REQUIRE(e->nargs == 3);
	CHECK_STREQ(e->args[0].key, "io");
	CHECK_EQ(e->args[0].value, 2000);
	CHECK_STREQ(e->args[2].key, "hlt");
	CHECK_EQ(e->args[2].value, 9);
	trace_read_free(&tr);
	CHECK_NULL(tr.ev);
}

#define GOOD_LINE "{\"name\":\"a b\",\"cat\":\"phase\",\"ph\":\"X\",\"ts\":12,\"dur\":34,\"pid\":5,\"tid\":6,\"args\":{\"k\":1,\"s\":\"v\"}},\n"

/* Every prefix of a good line is refused (or, cut before the event
 * starts, no event); only the whole line is an event. */
TEST(every_prefix)
{
	struct trace_read_event ev;
	char buf[sizeof(GOOD_LINE)], why[160];
	size_t n, full = strlen(GOOD_LINE);
	int r;

	for (n = 0; n <= full; n++) {
		memcpy(buf, GOOD_LINE, n);
		buf[n] = '\0';
		r = trace_read_line(buf, &ev, NULL, why, sizeof(why));
		/* "...}" and "...}," are whole events too. */
		if (n >= full - 2 && n > 0 && (buf[n - 1] == '}' || buf[n - 1] == ',' ||
				      buf[n - 1] == '\n'))
			CHECK_EQ(r, 1);
		else if (n == 0)
			CHECK_EQ(r, 0);
		else if (!CHECK_EQ(r, -1))
			printf("  prefix %zu: \"%s\"\n", n, buf);
	}
	REQUIRE(trace_read_line(GOOD_LINE, &ev, NULL, why, sizeof(why)) == 1);
	CHECK_STREQ(ev.name, "a b");
	CHECK_EQ(ev.ts, 12);
	CHECK_EQ(ev.dur, 34);
	CHECK_EQ(ev.tid, 6);
	CHECK_EQ(ev.nargs, 1);
}

TEST(malformed_lines)
{
	static const char *const bad[] = {
		"garbage",
		"{}",
		"{\"name\":\"x\"}",                                  /* no ph, ts */
		"{\"name\":\"x\",\"ph\":\"X\",\"ts\":1}",            /* X, no dur */
		"{\"name\":\"x\",\"ph\":\"XX\",\"ts\":1}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":-1}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1.5}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":99999999999999999999999}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1} trailing",
		"{\"name\":\"x\" \"ph\":\"i\",\"ts\":1}",
		"{\"name\":\"x\\q\",\"ph\":\"i\",\"ts\":1}",
		"{\"name\":\"x\\u12\",\"ph\":\"i\",\"ts\":1}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1,\"args\":{\"a\":{}}}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1,\"args\":{\"a\":}}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1,\"other\":{\"a\":1}}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1,\"args\":{\"a\":1,}}",
		"{\"name\":\"x\",\"ph\":\"i\",\"ts\":1,}",
		"{\"name\":x,\"ph\":\"i\",\"ts\":1}",
		"{\"name\":\"x\x01\",\"ph\":\"i\",\"ts\":1}",
	};
	struct trace_read_event ev;
	char why[160];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (!CHECK_EQ(trace_read_line(bad[i], &ev, NULL, why,
					      sizeof(why)), -1))
			printf("  accepted: %s\n", bad[i]);
		CHECK(why[0]);
	}
}

/* Keys lkvm may add later are skipped; long names and many args are cut,
 * not overflowed. */
TEST(lenient_where_safe)
{
	struct trace_read_event ev;
	char line[4096], why[160];
	size_t n;
	int i;

	CHECK_EQ(trace_read_line("{\"id\":5,\"name\":\"x\",\"new\":\"y\",\"ph\":\"i\",\"ts\":3,\"s\":\"g\"}",
				 &ev, NULL, why, sizeof(why)), 1);
	CHECK_EQ(ev.ts, 3);
	n = (size_t)snprintf(line, sizeof(line), "{\"name\":\"");
	for (i = 0; i < 200; i++)
		line[n++] = 'a';
	n += (size_t)snprintf(line + n, sizeof(line) - n,
			      "\",\"ph\":\"C\",\"ts\":1,\"args\":{");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      "%s\"key%d\":%d", i ? "," : "", i, i);
	snprintf(line + n, sizeof(line) - n, "}}");
	REQUIRE(trace_read_line(line, &ev, NULL, why, sizeof(why)) == 1);
	CHECK_EQ(strlen(ev.name), TRACE_READ_NAME_MAX - 1);
	CHECK_EQ(ev.nargs, TRACE_READ_ARGS_MAX);
	CHECK_STREQ(ev.args[TRACE_READ_ARGS_MAX - 1].key, "key23");
	/* Not events: the header, the array's opening and end, blanks. */
	CHECK_EQ(trace_read_line("\"traceEvents\":[\n", &ev, NULL, why, sizeof(why)), 0);
	CHECK_EQ(trace_read_line("]}\n", &ev, NULL, why, sizeof(why)), 0);
	CHECK_EQ(trace_read_line("  \n", &ev, NULL, why, sizeof(why)), 0);
}

#define HEADER "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"origin\":\"exec\",\"dropped_events\":3},\n\"traceEvents\":[\n"
#define EVENT "{\"name\":\"m\",\"cat\":\"guest\",\"ph\":\"i\",\"ts\":5,\"pid\":1,\"tid\":1,\"s\":\"g\"}"

TEST(files)
{
	struct trace_read tr;
	char why[160];

	CHECK_EQ(read_text(HEADER EVENT ",\n" EVENT "\n]}\n", &tr, why,
			   sizeof(why)), 0);
	CHECK_EQ(tr.nr, 2);
	CHECK_STREQ(tr.origin, "exec");
	CHECK_EQ(tr.dropped, 3);
	trace_read_free(&tr);

	/* Cut short (lkvm killed while writing): no ]}. */
	CHECK_EQ(read_text(HEADER EVENT ",\n", &tr, why, sizeof(why)), -1);
	CHECK_CONTAINS(why, "truncated");
	trace_read_free(&tr);
	/* Cut inside a line. */
	CHECK_EQ(read_text(HEADER "{\"name\":\"m\",\"ca", &tr, why,
			   sizeof(why)), -1);
	CHECK_CONTAINS(why, "line 3: ");
	trace_read_free(&tr);
	CHECK_EQ(read_text("", &tr, why, sizeof(why)), -1);
	CHECK_CONTAINS(why, "empty");
	trace_read_free(&tr);
	CHECK_EQ(read_text(HEADER "]}\nmore\n", &tr, why, sizeof(why)), -1);
	CHECK_CONTAINS(why, "after the closing");
	trace_read_free(&tr);
	/* Not a trace at all. */
	CHECK_EQ(read_text("\x7f" "ELF\x02\x01\x01\n", &tr, why, sizeof(why)), -1);
	CHECK_CONTAINS(why, "line 1: ");
	trace_read_free(&tr);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(round_trip);
	RUN(every_prefix);
	RUN(malformed_lines);
	RUN(lenient_where_safe);
	RUN(files);
	unlink(tmp_path("t.json"));
	unlink(tmp_path("rt.json"));
	rmdir(tmpdir);
	return test_summary();
}
