// SPDX-License-Identifier: GPL-2.0
/*
 * vmm/frontend/bench.c, `lkvm bench boot`: the statistics on known
 * samples, the option parsing (bench's options first, run's after; one
 * error line, exit 2), and whole benches without /dev/kvm: the test hook
 * LKVM_BENCH_CHILD spawns a shell script that writes a fake trace, so the
 * spawning, timeouts, failures, the table (80 columns) and the JSON (which
 * must parse) are exercised.  Documentation/lkvm-bench.txt lists bench's
 * options in --help's order.
 */
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "lkvm/bench.h"
#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "json_mini.h"
#include "test.h"

static char tmpdir[] = "/tmp/lkvm-bench-test.XXXXXX";
static char script[256];

/* A stand-in for `lkvm run --boot-trace PATH ...`: FAKE selects a
 * misbehaviour; the runs counted in a file make "late" appear in odd
 * runs only. */
static const char fake_child[] =
	"#!/bin/sh\n"
	"[ \"$1 $2\" = 'run --boot-trace' ] || { echo \"bad args: $*\" >&2; exit 9; }\n"
	"t=$3; d=$(dirname \"$0\")\n"
	"n=$(cat \"$d/count\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >\"$d/count\"\n"
	"echo \"$@\" >\"$d/args\"; env | grep '^LKVM_TRACE_SPAWN_NS=' >\"$d/env\"\n"
	"echo 'guest console line'\n"
	"case \"$FAKE\" in\n"
	"fail) echo 'lkvm: error: cannot boot' >&2; exit 3 ;;\n"
	"hang) exec sleep 20 ;;\n"
	"cut) printf '{\"displayTimeUnit\":\"ms\",\"otherData\":{}},\\n\"traceEvents\":[\\n{\"name\":\"x\",' >\"$t\"; exit 0 ;;\n"
	"none) exit 0 ;;\n"
	"esac\n"
	"{\n"
	"echo '{\"displayTimeUnit\":\"ms\",\"otherData\":{\"origin\":\"spawn\",\"dropped_events\":0},'\n"
	"echo '\"traceEvents\":['\n"
	"echo '{\"name\":\"thread_name\",\"cat\":\"phase\",\"ph\":\"M\",\"ts\":0,\"pid\":1,\"tid\":1,\"args\":{\"name\":\"main\"}},'\n"
	"echo \"{\\\"name\\\":\\\"parse options\\\",\\\"cat\\\":\\\"phase\\\",\\\"ph\\\":\\\"X\\\",\\\"ts\\\":100,\\\"dur\\\":$((n * 100)),\\\"pid\\\":1,\\\"tid\\\":1},\"\n"
	"[ $((n % 2)) = 0 ] && echo '{\"name\":\"late\",\"cat\":\"guest\",\"ph\":\"i\",\"ts\":9000,\"pid\":1,\"tid\":1,\"s\":\"g\"},'\n"
	"echo \"{\\\"name\\\":\\\"marker 7\\\",\\\"cat\\\":\\\"marker\\\",\\\"ph\\\":\\\"i\\\",\\\"ts\\\":$((5000 + n)),\\\"pid\\\":1,\\\"tid\\\":2,\\\"s\\\":\\\"g\\\"},\"\n"
	"echo '{\"name\":\"exits\",\"cat\":\"exits\",\"ph\":\"C\",\"ts\":10,\"pid\":1,\"tid\":2,\"args\":{\"io\":1}},'\n"
	"echo \"{\\\"name\\\":\\\"exits\\\",\\\"cat\\\":\\\"exits\\\",\\\"ph\\\":\\\"C\\\",\\\"ts\\\":20,\\\"pid\\\":1,\\\"tid\\\":2,\\\"args\\\":{\\\"io\\\":$((n * 10)),\\\"hlt\\\":2}},\"\n"
	"echo '{\"name\":\"exits\",\"cat\":\"exits\",\"ph\":\"C\",\"ts\":20,\"pid\":1,\"tid\":3,\"args\":{\"io\":5}},'\n"
	"echo '{\"name\":\"vcpu0 busiest exit sites\",\"cat\":\"exits\",\"ph\":\"i\",\"ts\":21,\"pid\":1,\"tid\":2,\"s\":\"g\",\"args\":{\"pio 0x3f8 w\":9}},'\n"
	"echo '{\"name\":\"exit\",\"cat\":\"phase\",\"ph\":\"i\",\"ts\":6000,\"pid\":1,\"tid\":1,\"s\":\"g\"}'\n"
	"echo ']}'\n"
	"} >\"$t\"\n";

static const char *tmp_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

struct captured {
	int ret;
	char *out, *err;
	size_t out_len, err_len;
};

/* bench_main(NULL-terminated args after "bench"), output captured. */
static struct captured bench(const char *first, ...)
{
	char *args[64];
	struct captured c = { 0 };
	FILE *out, *err;
	va_list ap;
	int argc = 0;
	const char *a;

	args[argc++] = "bench";
	va_start(ap, first);
	for (a = first; a && argc < 63; a = va_arg(ap, const char *))
		args[argc++] = (char *)a;
	va_end(ap);
	args[argc] = NULL;
	out = open_memstream(&c.out, &c.out_len);
	err = open_memstream(&c.err, &c.err_len);
	if (!out || !err)
		exit(1);
	unlink(tmp_path("count"));
	c.ret = bench_main(argc, args, out, err);
	fclose(out);
	fclose(err);
	return c;
}

static void free_captured(struct captured *c)
{
	free(c->out);
	free(c->err);
}

/* A usage error: exactly one line "lkvm: error: ...", status 2. */
static bool usage_error(struct captured *c, const char *want)
{
	bool ok = CHECK_EQ(c->ret, LKVM_EXIT_USAGE) &&
		  CHECK(!strncmp(c->err, "lkvm: error: ", 13)) &&
		  CHECK(strchr(c->err, '\n') == c->err + c->err_len - 1) &&
		  CHECK_CONTAINS(c->err, want) && CHECK_STREQ(c->out, "");

	if (!ok)
		printf("  stderr: %s\n", c->err);
	free_captured(c);
	return ok;
}

TEST(stats)
{
	static const double one[] = { 4.5 };
	static const double two[] = { 3, 1 };
	static const double ten[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	static const double five[] = { 5, 1, 4, 2, 3 };
	const double gaps[] = { NAN, 2, NAN, 8, 4 };
	const double none[] = { NAN, NAN };
	struct bench_stats s;

	bench_stats(one, 1, &s);
	CHECK(s.n == 1 && s.min == 4.5 && s.median == 4.5 && s.p90 == 4.5 &&
	      s.max == 4.5);
	bench_stats(two, 2, &s);
	CHECK(s.n == 2 && s.min == 1 && s.median == 2 && s.p90 == 3 &&
	      s.max == 3);
	bench_stats(ten, 10, &s); /* nearest rank: the 9th of 10 */
	CHECK(s.n == 10 && s.min == 1 && s.median == 5.5 && s.p90 == 9 &&
	      s.max == 10);
	bench_stats(five, 5, &s);
	CHECK(s.median == 3 && s.p90 == 5);
	bench_stats(gaps, 5, &s); /* NaN: absent from that run */
	CHECK(s.n == 3 && s.min == 2 && s.median == 4 && s.p90 == 8);
	bench_stats(none, 2, &s);
	CHECK(s.n == 0 && s.min == 0 && s.max == 0);
	bench_stats(NULL, 0, &s);
	CHECK_EQ(s.n, 0);
}

TEST(parse_good)
{
	char *a1[] = { "bench", "boot", NULL };
	char *a2[] = { "bench", "boot", "-n3", "--json", "--timeout=5", "-k",
		       "K", "-n", "none", NULL };
	char *a3[] = { "bench", "boot", "--runs", "7", "--", "--json", NULL };
	char *a4[] = { "bench", "boot", "-k", "K", "--help", NULL };
	struct bench_config bc;

	CHECK_EQ(bench_parse(2, a1, &bc, stderr), 0);
	CHECK(bc.runs == BENCH_DEFAULT_RUNS && !bc.json &&
	      bc.timeout_s == BENCH_DEFAULT_TIMEOUT_S && bc.run_argc == 0);
	CHECK_EQ(bench_parse(9, a2, &bc, stderr), 0);
	CHECK(bc.runs == 3 && bc.json && bc.timeout_s == 5);
	/* Run's -n (the network) after bench's options is run's. */
	CHECK(bc.run_argc == 4 && bc.run_argv == a2 + 5);
	/* After "--", everything is run's (and run's parser judges it). */
	CHECK_EQ(bench_parse(6, a3, &bc, stderr), 0);
	CHECK(bc.runs == 7 && !bc.json && bc.run_argc == 1);
	CHECK_EQ(bench_parse(5, a4, &bc, stderr), 0);
	CHECK(bc.run_argc == 3); /* --help: run's parser finds it */
}

TEST(usage_errors)
{
	struct captured c;

	c = bench(NULL);
	usage_error(&c, "lkvm bench needs a benchmark");
	c = bench("boat", NULL);
	usage_error(&c, "unknown benchmark 'boat'");
	c = bench("-n", "3", NULL);
	usage_error(&c, "needs a benchmark before its options");
	c = bench("boot", "-n", NULL);
	usage_error(&c, "option '-n' needs a value");
	c = bench("boot", "-n", "0", NULL);
	usage_error(&c, "invalid number of runs '0' for -n (1 to 1000");
	c = bench("boot", "-n", "1001", NULL);
	usage_error(&c, "invalid number of runs '1001'");
	c = bench("boot", "--runs=x", NULL);
	usage_error(&c, "invalid number of runs 'x' for --runs (1 to 1000)");
	c = bench("boot", "-n", "mode=user", NULL);
	usage_error(&c, "run's -n, the network, goes after bench's options");
	c = bench("boot", "-n", "2", "-n", "3", NULL);
	usage_error(&c, "--runs given twice ('2' and '3')");
	c = bench("boot", "-n", "2", "-k", "K", "-n", "3", NULL);
	usage_error(&c, "'-n' is an option of lkvm bench: give it before the run options");
	c = bench("boot", "--runs", "2", "--runs", "3", NULL);
	usage_error(&c, "--runs given twice ('2' and '3')");
	c = bench("boot", "--json=yes", NULL);
	usage_error(&c, "option '--json' takes no value");
	c = bench("boot", "-k", "K", "--json", NULL);
	usage_error(&c, "'--json' is an option of lkvm bench");
	c = bench("boot", "--timeout", "0", NULL);
	usage_error(&c, "invalid timeout '0' for --timeout");
	c = bench("boot", "--bogus", NULL);
	usage_error(&c, "unknown option '--bogus'");
	c = bench("boot", "-m", "-1", NULL);
	usage_error(&c, "option '-m' needs a value");
	c = bench("boot", "--boot-trace", "x", NULL);
	usage_error(&c, "lkvm bench gives each boot its own --boot-trace");
	c = bench("boot", "--until-marker", "300", NULL);
	usage_error(&c, "invalid marker '300'");
}

TEST(help)
{
	struct captured c = bench("--help", NULL);

	CHECK_EQ(c.ret, 0);
	CHECK(!strncmp(c.out, "usage: lkvm bench boot [-n RUNS]", 32));
	CHECK_CONTAINS(c.out, "  -n, --runs N ");
	free_captured(&c);
	c = bench("boot", "-n", "2", "-k", "K", "-h", NULL);
	CHECK_EQ(c.ret, 0);
	CHECK_CONTAINS(c.out, "Exit status:");
	free_captured(&c);
	CHECK_PTR_EQ(cli_find_command("bench"), &cli_bench_command);
}

static bool lines_fit(const char *text, size_t cols)
{
	const char *l;

	for (l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
		if (strcspn(l, "\n") > cols) {
			printf("  too long: %.*s\n", (int)strcspn(l, "\n"), l);
			return false;
		}
	return true;
}

/* Three runs of the fake child, the table: every event, in median order;
 * "late" in only one of the three measured runs. */
TEST(table)
{
	struct captured c;
	const char *p, *m, *e, *late;

	setenv("FAKE", "", 1);
	c = bench("boot", "-n", "3", "-k", script, "--until-marker", "7", NULL);
	if (!CHECK_EQ(c.ret, 0))
		printf("  stderr: %s\n", c.err);
	CHECK_STREQ(c.err, "");
	CHECK_CONTAINS(c.out, "lkvm bench boot: 3 runs, after a warm-up run of");
	CHECK_CONTAINS(c.out, "  kernel: 100.0% resident before the warm-up, 100.0% after\n");
	p = strstr(c.out, "\nparse options                     3    0.300    0.400    0.500    0.500    0.200\n"
			  "  took                                 0.200    0.300    0.400    0.400    0.200\n");
	m = strstr(c.out, "\nmarker 7                          3    5.002    5.003    5.004    5.004    0.002\n");
	e = strstr(c.out, "\nexit                              3    6.000");
	late = strstr(c.out, "\nlate                             2*    9.000");
	if (!CHECK(p && m && e && late && p < m && m < e && e < late))
		printf("%s", c.out);
	CHECK_CONTAINS(c.out, "spawn to exit (parent)            3 ");
	CHECK_CONTAINS(c.out, "* in only that many runs");
	CHECK(!strstr(c.out, "busiest") && !strstr(c.out, "thread_name"));
	/* io: tid 2's last sample (10 n) + tid 3's 5, for n = 2, 3, 4. */
	CHECK_CONTAINS(c.out, "\nio                                3       25       35       45\n");
	CHECK_CONTAINS(c.out, "\nhlt                               3        2        2        2\n");
	CHECK(lines_fit(c.out, 80));
	free_captured(&c);
	/* What the child got: run --boot-trace FILE, then the run options;
	 * the spawn time in its environment. */
	{
		char buf[512] = "";
		FILE *f = fopen(tmp_path("args"), "r");

		REQUIRE(f);
		CHECK(fgets(buf, sizeof(buf), f) != NULL);
		fclose(f);
		CHECK(!strncmp(buf, "run --boot-trace /", 18));
		CHECK_CONTAINS(buf, "/trace.json -k ");
		CHECK_CONTAINS(buf, " --until-marker 7\n");
		f = fopen(tmp_path("env"), "r");
		REQUIRE(f);
		CHECK(fgets(buf, sizeof(buf), f) != NULL);
		fclose(f);
		CHECK(!strncmp(buf, "LKVM_TRACE_SPAWN_NS=", 20));
	}
}

TEST(json)
{
	struct captured c;
	char why[160];

	setenv("FAKE", "", 1);
	c = bench("boot", "-n", "2", "--json", "-k", script, "--until-marker",
		  "7", NULL);
	CHECK_EQ(c.ret, 0);
	if (!CHECK(json_mini_valid(c.out, why, sizeof(why))))
		printf("  %s in:\n%s\n", why, c.out);
	CHECK_CONTAINS(c.out, "{\"benchmark\":\"boot\",\"runs\":2,");
	CHECK_CONTAINS(c.out, "\"argv\":[\"lkvm\",\"bench\",\"boot\",\"-n\",\"2\",\"--json\",");
	CHECK_CONTAINS(c.out, "\"until_marker\":7,");
	CHECK_CONTAINS(c.out, "\"lkvm_version\":\"");
	CHECK_CONTAINS(c.out, "{\"name\":\"marker 7\",\"kind\":\"marker\",\"cat\":\"marker\",\"runs\":2,\"at_ms\":{\"min\":5.002,");
	CHECK_CONTAINS(c.out, "\"values_at_ms\":[5.002,5.003]");
	CHECK_CONTAINS(c.out, "{\"name\":\"parse options\",\"kind\":\"phase\"");
	CHECK_CONTAINS(c.out, "\"values_took_ms\":[0.200,0.300]");
	/* "late" only in the first run: null in the second. */
	CHECK_CONTAINS(c.out, "\"name\":\"late\",\"kind\":\"milestone\",\"cat\":\"guest\",\"runs\":1,");
	CHECK_CONTAINS(c.out, "\"values_at_ms\":[9.000,null]");
	CHECK_CONTAINS(c.out, "\"name\":\"spawn to exit (parent)\",\"kind\":\"parent\"");
	CHECK_CONTAINS(c.out, "{\"reason\":\"io\",\"runs\":2,\"min\":25,\"median\":30.0,\"max\":35,\"values\":[25.000,35.000]}");
	free_captured(&c);
}

/* A boot that fails, hangs, writes no trace or half of one: status 1,
 * lkvm's stderr and the console shown, then one error line. */
TEST(failures)
{
	struct captured c;

	setenv("FAKE", "fail", 1);
	c = bench("boot", "-k", script, NULL);
	CHECK_EQ(c.ret, LKVM_EXIT_FAILURE);
	CHECK_CONTAINS(c.err, "lkvm: error: cannot boot\n");
	CHECK_CONTAINS(c.err, "  | guest console line\n");
	CHECK_CONTAINS(c.err, "lkvm: error: bench boot: the warm-up run exited with status 3");
	CHECK_STREQ(c.out, "");
	free_captured(&c);

	setenv("FAKE", "hang", 1);
	c = bench("boot", "--timeout", "1", "-k", script, NULL);
	CHECK_EQ(c.ret, LKVM_EXIT_FAILURE);
	CHECK_CONTAINS(c.err, "the warm-up run did not finish within 1 s: killed it");
	free_captured(&c);

	setenv("FAKE", "none", 1);
	c = bench("boot", "-k", script, NULL);
	CHECK_EQ(c.ret, LKVM_EXIT_FAILURE);
	CHECK_CONTAINS(c.err, "the warm-up run wrote no trace");
	free_captured(&c);

	setenv("FAKE", "cut", 1);
	c = bench("boot", "-k", script, NULL);
	CHECK_EQ(c.ret, LKVM_EXIT_FAILURE);
	CHECK_CONTAINS(c.err, "left a trace that cannot be read: line 3: ");
	free_captured(&c);

	setenv(BENCH_CHILD_ENV, tmp_path("no-such-program"), 1);
	setenv("FAKE", "", 1);
	c = bench("boot", "-k", script, NULL);
	CHECK_EQ(c.ret, LKVM_EXIT_FAILURE);
	CHECK_CONTAINS(c.err, "cannot start ");
	free_captured(&c);
	setenv(BENCH_CHILD_ENV, script, 1);
}

TEST(resident)
{
	int fd = open(tmp_path("empty"), O_CREAT | O_WRONLY, 0600);

	REQUIRE(fd >= 0);
	close(fd);
	CHECK(bench_resident_pct(tmp_path("empty")) == 100);
	CHECK(bench_resident_pct(tmp_path("nothing-here")) == -1);
	CHECK(bench_resident_pct(tmpdir) == -1); /* not a file */
	/* Just written: in the page cache. */
	CHECK(bench_resident_pct(script) > 0);
	unlink(tmp_path("empty"));
}

/* Documentation/lkvm-bench.txt's OPTIONS: one heading per bench option,
 * in --help's order, each spelled as --help does. */
TEST(man_page)
{
	const char *t = strstr(__FILE__, "tests/");
	char path[512], *page = NULL, *sect, *line, *save, *gap, want[128];
	const struct cli_option *o;
	struct cli_option_iter it;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%.*sDocumentation/lkvm-bench.txt",
		 t ? (int)(t - __FILE__) : 0, __FILE__);
	f = fopen(path, "r");
	REQUIRE(f);
	CHECK(getdelim(&page, &len, '\0', f) > 0);
	fclose(f);
	REQUIRE(page);
	sect = strstr(page, "\nOPTIONS\n");
	REQUIRE(sect);
	gap = strstr(sect + 1, "\n\n"
			       "RUN OPTIONS\n");
	REQUIRE(gap);
	gap[1] = '\0';
	cli_options_begin(&it, &cli_bench_command);
	for (line = strtok_r(sect, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "       -", 8))
			continue;
		line += 7;
		o = cli_options_next(&it);
		if (o)
			cli_format_option(o, want, sizeof(want));
		CHECK_STREQ(line, o ? want : "(no more options)");
	}
	o = cli_options_next(&it);
	CHECK_STREQ(o ? o->long_name : NULL, NULL);
	free(page);
}

int main(void)
{
	FILE *f;

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(script, sizeof(script), "%s/fake-lkvm", tmpdir);
	f = fopen(script, "w");
	if (!f || fputs(fake_child, f) < 0 || fclose(f) || chmod(script, 0755)) {
		perror(script);
		return 1;
	}
	setenv(BENCH_CHILD_ENV, script, 1);
	RUN(stats);
	RUN(parse_good);
	RUN(usage_errors);
	RUN(help);
	RUN(table);
	RUN(json);
	RUN(failures);
	RUN(resident);
	RUN(man_page);
	unlink(tmp_path("count"));
	unlink(tmp_path("args"));
	unlink(tmp_path("env"));
	unlink(script);
	rmdir(tmpdir);
	return test_summary();
}
