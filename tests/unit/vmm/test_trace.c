// SPDX-License-Identifier: GPL-2.0
/*
 * The boot trace (vmm/trace.c): the file it writes (one event per line,
 * fixed key order, JSON escaping of guest text), its bounds, the console
 * scan, the origin a parent passes down, and the summary.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "lkvm/trace.h"
#include "host_files.h"
#include "json_mini.h"
#include "test.h"

static char dir[256], path[320];

/* The whole file is one JSON value (RFC 8259), as Perfetto reads it. */
static bool json_valid(const char *text)
{
	char why[128];

	if (json_mini_valid(text, why, sizeof(why)))
		return true;
	printf("  not JSON: %s\n", why);
	return false;
}

static struct boot_trace *open_file(void)
{
	int err = 1;
	struct boot_trace *t;

	snprintf(path, sizeof(path), "%s/trace.json", dir);
	t = trace_open(path, &err);
	CHECK_EQ(err, 0);
	return t;
}

/* Every kind of event, each on its own line with its keys in the
 * documented order; the file is a JSON object ending "]}". */
TEST(file_format)
{
	static const char *const keys[] = { "IO", "MMIO" };
	static const uint64_t vals[] = { 12, 3 };
	struct boot_trace *t = open_file();
	const char *s;
	uint64_t t0;

	REQUIRE(t);
	trace_thread_name(t, "main");
	t0 = trace_now(t);
	trace_span(t, "guest memory", t0);
	trace_span_at(t, "fixed", 100, 350);
	trace_instant(t, TRACE_CAT_GUEST, "first console byte", NULL);
	trace_instant(t, TRACE_CAT_MARKER, "marker 7", "\"k\":1");
	trace_counters(t, "exits", 2, keys, vals, false);
	CHECK_EQ(trace_close(t), 0);
	s = file_text(path);
	CHECK(json_valid(s));
	CHECK(!strncmp(s, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"origin\":\"", 47));
	CHECK_CONTAINS(s, "\"dropped_events\":0},\n\"traceEvents\":[\n");
	CHECK_CONTAINS(s, "{\"name\":\"thread_name\",\"cat\":\"phase\",\"ph\":\"M\",\"ts\":0,\"pid\":");
	CHECK_CONTAINS(s, ",\"args\":{\"name\":\"main\"}},\n");
	CHECK_CONTAINS(s, "{\"name\":\"fixed\",\"cat\":\"phase\",\"ph\":\"X\",\"ts\":100,\"dur\":250,\"pid\":");
	CHECK_CONTAINS(s, "{\"name\":\"first console byte\",\"cat\":\"guest\",\"ph\":\"i\",\"ts\":");
	CHECK_CONTAINS(s, ",\"s\":\"g\"");
	CHECK_CONTAINS(s, "\"cat\":\"marker\",\"ph\":\"i\"");
	CHECK_CONTAINS(s, ",\"args\":{\"k\":1}}");
	CHECK_CONTAINS(s, "{\"name\":\"exits\",\"cat\":\"exits\",\"ph\":\"C\",");
	CHECK_CONTAINS(s, ",\"args\":{\"IO\":12,\"MMIO\":3}}\n");
	/* One event per line; the last without a comma, then the end. */
	CHECK_EQ(count_substr(s, "\n{\"name\":"), 6);
	CHECK_EQ(count_substr(s, "},\n"), 5 + 1 /* otherData */);
	CHECK_CONTAINS(s, "}}\n]}\n");
	CHECK_EQ(strlen(s) - strlen(strstr(s, "]}\n")), strlen(s) - 3);
}

/* Guest text (the kernel banner) is escaped: quotes, backslashes,
 * control and non-ASCII bytes cannot break the JSON. */
TEST(escaping)
{
	char buf[64] = "";

	trace_json_escape(buf, sizeof(buf), "a\"b\\c\n\x01\xff", 8);
	CHECK_STREQ(buf, "a\\\"b\\\\c\\u000a\\u0001\\u00ff");
	/* Truncation keeps whole escapes and the NUL. */
	strcpy(buf, "");
	trace_json_escape(buf, 6, "\"\"\"\"", 4);
	CHECK_STREQ(buf, "\\\"\\\"");
}

/* The console scan sees the banner and init across split writes, each
 * once, and the first byte once. */
TEST(console_milestones)
{
	struct trace_console_scan scan = { 0 };
	struct boot_trace *t = open_file();
	const char *s;

	REQUIRE(t);
	trace_console(t, &scan, (const uint8_t *)"early\r\nLin", 10);
	trace_console(t, &scan, (const uint8_t *)"ux version 6.1.0 \"x\" (gcc)\n", 27);
	trace_console(t, &scan, (const uint8_t *)"Linux version again\n", 20);
	trace_console(t, &scan, (const uint8_t *)"Run /init as init process\n", 26);
	trace_console(t, &scan, (const uint8_t *)"Run /init as init process\n", 26);
	CHECK_EQ(trace_close(t), 0);
	s = file_text(path);
	CHECK(json_valid(s));
	CHECK_EQ(count_substr(s, "\"first console byte\""), 1);
	CHECK_EQ(count_substr(s, "\"kernel banner\""), 1);
	CHECK_CONTAINS(s, "\"args\":{\"line\":\"Linux version 6.1.0 \\\"x\\\" (gcc)\"}");
	CHECK_EQ(count_substr(s, "\"init started\""), 1);
	CHECK_EQ(count_substr(s, "\"kernel panic\""), 0);
}

/* A chatty guest cannot grow the trace past TRACE_MAX_EVENTS: the rest is
 * counted; periodic counters stop at half, and a thread's final totals
 * and the exit still find room. */
TEST(bounded)
{
	static const char *const keys[] = { "IO" };
	uint64_t v = 1;
	struct boot_trace *t = open_file();
	unsigned int i;
	const char *s;

	REQUIRE(t);
	for (i = 0; i < TRACE_MAX_EVENTS; i++)
		trace_counters(t, "exits", 1, keys, &v, false);
	for (i = 0; i < TRACE_MAX_EVENTS; i++)
		trace_instant(t, TRACE_CAT_MARKER, "m", NULL);
	v = 99;
	trace_counters(t, "exits", 1, keys, &v, true);
	trace_instant(t, TRACE_CAT_PHASE, "exit", NULL);
	CHECK_EQ(trace_close(t), 0);
	s = file_text(path);
	CHECK(json_valid(s));
	CHECK_EQ(count_substr(s, "\"ph\":\"C\""), TRACE_MAX_EVENTS / 2 + 1);
	CHECK_CONTAINS(s, "\"args\":{\"IO\":99}");
	CHECK_EQ(count_substr(s, "\n{\"name\":"), TRACE_MAX_EVENTS - 63);
	CHECK_CONTAINS(s, "\"dropped_events\":");
	CHECK(!strstr(s, "\"dropped_events\":0"));
	/* ("exit" itself is past the limit too: only reserved slots for
	 * final counters.) */
}

/* A parent's spawn time becomes the origin; nonsense is ignored. */
TEST(spawn_origin)
{
	struct timespec ts;
	char v[32];
	struct boot_trace *t;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(v, sizeof(v), "%llu",
		 (unsigned long long)ts.tv_sec * 1000000000ULL +
		 (unsigned long long)ts.tv_nsec - 50000000ULL);
	setenv(LKVM_TRACE_SPAWN_ENV, v, 1);
	snprintf(path, sizeof(path), "%s/t2.json", dir);
	t = trace_open(path, &err);
	REQUIRE(t);
	CHECK(trace_now(t) >= 50000);
	CHECK(trace_now(t) < 50000 + 10000000);
	trace_close(t);
	CHECK_CONTAINS(file_text(path), "\"origin\":\"spawn\"");

	setenv(LKVM_TRACE_SPAWN_ENV, "99999999999999999999999", 1);
	t = trace_open(path, &err);
	REQUIRE(t);
	trace_close(t);
	CHECK_CONTAINS(file_text(path), "\"origin\":\"exec\"");
	unsetenv(LKVM_TRACE_SPAWN_ENV);
}

/* An uncreatable file is one line at open, before any boot. */
TEST(bad_path)
{
	struct capture cap;
	int err = 0;

	capture_start(&cap);
	CHECK_NULL(trace_open("/nonexistent-dir/x.json", &err));
	CHECK_CONTAINS(capture_end(&cap), "--boot-trace /nonexistent-dir/x.json: No such file");
	CHECK_EQ(count_lines(cap.text), 1);
	CHECK_EQ(err, -ENOENT);
}

/* "-": the summary on stderr, phases with their durations in time
 * order, and each thread's totals. */
TEST(summary)
{
	static const char *const keys[] = { "IO", "HLT" };
	static const uint64_t vals[] = { 5, 2 };
	struct capture cap;
	struct boot_trace *t;
	const char *s;
	int err;

	t = trace_open("-", &err);
	REQUIRE(t);
	trace_thread_name(t, "vcpu0");
	trace_span_at(t, "later phase", 2000, 3000);
	trace_span_at(t, "early phase", 1000, 1500);
	trace_counters(t, "exits", 2, keys, vals, true);
	capture_start(&cap);
	CHECK_EQ(trace_close(t), 0);
	s = capture_end(&cap);
	CHECK_CONTAINS(s, "lkvm boot trace (ms from ");
	CHECK_CONTAINS(s, "early phase");
	CHECK(strstr(s, "early phase") < strstr(s, "later phase"));
	CHECK_CONTAINS(s, "1.000      0.500");
	CHECK_CONTAINS(s, "exits vcpu0: \"IO\":5,\"HLT\":2");
}

/* Events from many threads at once all land. */
static struct boot_trace *mt_trace;
static void *mt_worker(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < 500; i++)
		trace_instant(mt_trace, TRACE_CAT_DEVICE, "x", NULL);
	return NULL;
}

TEST(threads)
{
	pthread_t th[4];
	unsigned int i;

	mt_trace = open_file();
	REQUIRE(mt_trace);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, mt_worker, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(trace_close(mt_trace), 0);
	CHECK_EQ(count_substr(file_text(path), "\"name\":\"x\""), 2000);
}

/* Without a trace everything is a no-op. */
TEST(null_trace)
{
	struct trace_console_scan scan = { 0 };

	CHECK_EQ(trace_now(NULL), 0);
	trace_span(NULL, "x", 0);
	trace_instant(NULL, TRACE_CAT_GUEST, "x", NULL);
	trace_console(NULL, &scan, (const uint8_t *)"Linux version ", 14);
	CHECK(!scan.seen_byte);
	CHECK_EQ(trace_close(NULL), 0);
}

int main(void)
{
	if (!tmp_dir_make(dir, sizeof(dir), "trace"))
		return 1;
	RUN(file_format);
	RUN(escaping);
	RUN(console_milestones);
	RUN(bounded);
	RUN(spawn_origin);
	RUN(bad_path);
	RUN(summary);
	RUN(threads);
	RUN(null_trace);
	tmp_dir_remove(dir);
	return test_summary();
}
