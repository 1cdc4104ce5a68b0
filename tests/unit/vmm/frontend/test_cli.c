// SPDX-License-Identifier: GPL-2.0
/*
 * The command line (vmm/frontend/cli.c, commands.c): run, sandbox and setup
 * parsing, the option tables, --help, the man page's lists against the
 * tables; and the number parsers (vmm/util.c).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/net.h"
#include "lkvm/sandbox.h"
#include "lkvm/vm.h"
#include "lkvm/util.h"
#include "lkvm/vcpu.h"
#include "lkvm/virtio-devices.h"
#include "host_files.h"
#include "test.h"

#define MAX_ARGS 32

static char *args[MAX_ARGS];
static char errbuf[4096];

/* A fresh, empty errbuf as a stream (NULL if fmemopen fails). */
static FILE *errbuf_open(void)
{
	memset(errbuf, 0, sizeof(errbuf));
	return fmemopen(errbuf, sizeof(errbuf) - 1, "w");
}

/* A stream into memory: memout_end() closes it and returns the text
 * (malloc'ed; NULL when the stream could not be made). */
struct memout {
	FILE *f;
	char *buf;
	size_t len;
};

static FILE *memout_start(struct memout *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	return m->f;
}

static char *memout_end(struct memout *m)
{
	if (m->f)
		fclose(m->f);
	return m->buf;
}

/*
 * @cmd's parser on argv[0..argc) (argv[0] is the command's name), its
 * error stream captured in errbuf.  @cfg is scribbled over first: the
 * parser must reset everything.
 */
static int parse_argv(const struct cli_command *cmd, struct vm_config *cfg,
		      int argc, char **argv)
{
	FILE *err = errbuf_open();
	int ret;

	if (!err) {
		perror("fmemopen");
		exit(1);
	}
	memset(cfg, 0xa5, sizeof(*cfg));
	ret = cli_parse(cmd, argc, argv, cfg, err);
	fclose(err);
	return ret;
}

/* parse_argv() of @cmd's name and the arguments up to a NULL.  They are
 * literals, so pointers into them stay valid. */
static int vparse(const struct cli_command *cmd, struct vm_config *cfg,
		  va_list ap)
{
	int argc = 0;
	char *a;

	args[argc++] = (char *)cmd->name;
	while ((a = va_arg(ap, char *)) != NULL && argc < MAX_ARGS - 1)
		args[argc++] = a;
	args[argc] = NULL;
	return parse_argv(cmd, cfg, argc, args);
}

/* `lkvm run ARGS...` (NULL-terminated). */
static int parse(struct vm_config *cfg, ...)
{
	va_list ap;
	int ret;

	va_start(ap, cfg);
	ret = vparse(&cli_run_command, cfg, ap);
	va_end(ap);
	return ret;
}

/* `lkvm CMD ARGS...` (NULL-terminated). */
static int parse_cmd(const struct cli_command *cmd, struct vm_config *cfg,
		     ...)
{
	va_list ap;
	int ret;

	va_start(ap, cfg);
	ret = vparse(cmd, cfg, ap);
	va_end(ap);
	return ret;
}

/* `lkvm run OPT VALUE0 ... OPT VALUE(n-1) k`, VALUEi being @fmt printed
 * with i (twice). */
static int parse_many(struct vm_config *cfg, char *opt, const char *fmt,
		      int n)
{
	static char val[LKVM_MAX_DISKS + 1][32];
	char *argv[2 * (LKVM_MAX_DISKS + 1) + 3];
	int argc = 0, i;

	argv[argc++] = "run";
	for (i = 0; i < n && i <= LKVM_MAX_DISKS; i++) {
		snprintf(val[i], sizeof(val[i]), fmt, i, i);
		argv[argc++] = opt;
		argv[argc++] = val[i];
	}
	argv[argc++] = "k";
	argv[argc] = NULL;
	return parse_argv(&cli_run_command, cfg, argc, argv);
}

/*
 * A usage error: status 2, exactly one line on the error stream, starting
 * "lkvm: error: ", ending in a newline and mentioning @what.
 */
#define CHECK_USAGE_ERROR(ret, what)                                           \
	do {                                                                   \
		CHECK_EQ((ret), LKVM_EXIT_USAGE);                              \
		CHECK_EQ(count_lines(errbuf), 1);                              \
		CHECK(!strncmp(errbuf, "lkvm: error: ", 13));                  \
		CHECK(strlen(errbuf) > 13 &&                                   \
		      errbuf[strlen(errbuf) - 1] == '\n');                     \
		CHECK_CONTAINS(errbuf, (what));                                \
	} while (0)

/* `lkvm run ARGS...` fails with a usage error mentioning @what; what the
 * parser allocated is freed. */
#define CHECK_PARSE_FAILS(what, ...)                                           \
	do {                                                                   \
		struct vm_config c_;                                           \
		CHECK_USAGE_ERROR(parse(&c_, __VA_ARGS__, NULL), (what));      \
		cli_free_config(&c_);                                          \
	} while (0)

/* Success: status 0 and nothing printed. */
#define CHECK_OK(ret)                                                          \
	do {                                                                   \
		CHECK_EQ((ret), 0);                                            \
		CHECK_STREQ(errbuf, "");                                       \
	} while (0)

/* `lkvm run ARG [ARG2] k` fails with a usage error mentioning @what. */
struct bad_args {
	const char *arg, *arg2;
	const char *what;
};

static void check_bad_args(const struct bad_args *b, size_t n)
{
	struct vm_config c;
	int failures;

	for (; n--; b++) {
		failures = t_case_failures;
		CHECK_USAGE_ERROR(b->arg2 ? parse(&c, b->arg, b->arg2, "k", NULL)
					  : parse(&c, b->arg, "k", NULL),
				  b->what);
		if (t_case_failures != failures)
			printf("  (that was: lkvm run %s %s k)\n", b->arg,
			       b->arg2 ? b->arg2 : "");
	}
}

TEST(defaults)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "-k", "bzImage", NULL));
	CHECK_STREQ(c.kernel_path, "bzImage");
	CHECK_EQ(c.mem_bytes, 512 * MiB);
	CHECK(!c.mem_set);
	CHECK(!c.cpus_set);
	CHECK_EQ(c.nr_cpus, 0);
	CHECK_EQ(c.console, CONSOLE_SERIAL);
	CHECK_NULL(c.initrd_path);
	CHECK_NULL(c.params);
	CHECK_NULL(c.name);
	CHECK(!c.debug);
	CHECK(!c.help);
}

TEST(kernel_spellings)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "--kernel=/boot/a", NULL));
	CHECK_STREQ(c.kernel_path, "/boot/a");
	CHECK_OK(parse(&c, "--kernel", "/boot/b", NULL));
	CHECK_STREQ(c.kernel_path, "/boot/b");
	CHECK_OK(parse(&c, "-k/boot/c", NULL));
	CHECK_STREQ(c.kernel_path, "/boot/c");
	/* A bare argument is the kernel, wherever it appears. */
	CHECK_OK(parse(&c, "-m", "1G", "bzImage", NULL));
	CHECK_STREQ(c.kernel_path, "bzImage");
	CHECK_EQ(c.mem_bytes, 1 * GiB);
	CHECK_OK(parse(&c, "bzImage", "-c", "2", NULL));
	CHECK_STREQ(c.kernel_path, "bzImage");
	CHECK_EQ(c.nr_cpus, 2);
	/* "-" on its own is an argument, not an option. */
	CHECK_OK(parse(&c, "-", NULL));
	CHECK_STREQ(c.kernel_path, "-");
}

TEST(initrd_and_params)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "-i", "initrd.img", "-p", "quiet loglevel=3", "k",
		       NULL));
	CHECK_STREQ(c.initrd_path, "initrd.img");
	CHECK_STREQ(c.params, "quiet loglevel=3");
	CHECK_OK(parse(&c, "--initrd=ird", "--params=a=b c", "k", NULL));
	CHECK_STREQ(c.initrd_path, "ird");
	CHECK_STREQ(c.params, "a=b c");
	/* -p may be empty, and its value may look like an option. */
	CHECK_OK(parse(&c, "-p", "", "k", NULL));
	CHECK_STREQ(c.params, "");
	CHECK_OK(parse(&c, "-p", "--debug", "k", NULL));
	CHECK_STREQ(c.params, "--debug");
	CHECK(!c.debug);
}

TEST(mem_sizes)
{
	static const struct {
		const char *arg, *arg2;
		uint64_t bytes;
	} good[] = {
		{ "-m512", NULL, 512 * MiB },
		{ "--mem", "2G", 2 * GiB },
		{ "--mem=3g", NULL, 3 * GiB },
		{ "-m", "8192K", 8 * MiB },
		{ "-m", "4096k", 4 * MiB }, /* the 4 MiB minimum */
		{ "-m", "4", 4 * MiB },
		{ "-m", "1T", 1024 * GiB }, /* the 1 TiB maximum */
		{ "-m", "1024G", 1024 * GiB },
		{ "-m", "512MB", 512 * MiB },
		{ "-m", "512MiB", 512 * MiB },
	};
	struct vm_config c;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		CHECK_OK(good[i].arg2 ? parse(&c, good[i].arg, good[i].arg2,
					      "k", NULL)
				      : parse(&c, good[i].arg, "k", NULL));
		CHECK(c.mem_set);
		if (!CHECK_EQ(c.mem_bytes, good[i].bytes))
			printf("  (that was: lkvm run %s %s k)\n", good[i].arg,
			       good[i].arg2 ? good[i].arg2 : "");
	}
	/* -m once (repeated_options). */
	CHECK_USAGE_ERROR(parse(&c, "-m", "64", "-m", "128", "k", NULL),
			  "--mem given twice ('64' and '128')");
}

TEST(mem_errors)
{
	static const struct bad_args bad[] = {
		{ "-m", "0", "memory size '0' for -m is out of range: give 4 MiB to 1 TiB" },
		{ "-m", "abc", "invalid memory size 'abc' for -m" },
		{ "-m", "12X", "invalid memory size '12X'" },
		{ "--mem=", NULL, "invalid memory size '' for --mem" },
		{ "--mem=-512", NULL, "invalid memory size '-512'" },
		{ "-m-512", NULL, "invalid memory size '-512'" },
		{ "-m", " 512", "invalid memory size" },
		{ "-m", "512 ", "invalid memory size" },
		{ "-m", "1.5G", "invalid memory size '1.5G'" },
		{ "-m", "2GG", "invalid memory size '2GG'" },
		/* Overflow: of strtoull, and of the unit multiplication. */
		{ "-m", "99999999999999999999",
		  "invalid memory size '99999999999999999999'" },
		{ "-m", "17179869184G", "invalid memory size" },
		{ "-m", "18446744073709551615", "invalid memory size" },
		/* Not a multiple of 4 KiB; too small comes first. */
		{ "-m", "4097K", "multiple of 4 KiB" },
		{ "-m", "1K", "out of range: give 4 MiB to" },
		/* Below 4 MiB, above 1 TiB. */
		{ "-m", "1024K", "out of range" },
		{ "-m", "3", "out of range" },
		{ "-m", "1025G", "out of range" },
		{ "--mem", "2T", "'2T' for --mem is out of range" },
		{ "-m", "17179869183G", "out of range" },
	};

	check_bad_args(bad, ARRAY_SIZE(bad));
}

TEST(cpus)
{
	static const struct bad_args bad[] = {
		{ "-c", "0", "invalid CPU count '0' for -c" },
		{ "-c", "255", "invalid CPU count '255'" },
		{ "--cpus=-1", NULL, "invalid CPU count '-1'" },
		{ "-c", "2x", "invalid CPU count '2x'" },
		{ "--cpus", "", "invalid CPU count '' for --cpus" },
		{ "-c", "4294967297", "invalid CPU count" },
		{ "-c", "99999999999999999999", "invalid CPU count" },
		{ "-c", "0x4", "invalid CPU count '0x4'" },
	};
	struct vm_config c;

	CHECK_OK(parse(&c, "-c", "4", "k", NULL));
	CHECK_EQ(c.nr_cpus, 4);
	CHECK(c.cpus_set);
	CHECK_OK(parse(&c, "--cpus=1", "k", NULL));
	CHECK_EQ(c.nr_cpus, 1);
	CHECK_OK(parse(&c, "-c254", "k", NULL));
	CHECK_EQ(c.nr_cpus, LKVM_MAX_CPUS);
	CHECK_OK(parse(&c, "-c", "007", "k", NULL));
	CHECK_EQ(c.nr_cpus, 7);

	check_bad_args(bad, ARRAY_SIZE(bad));
}

TEST(name_console_debug)
{
	struct vm_config c;
	/* 64 characters: the longest valid name. */
	static char name64[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678-_.";
	static char name65[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678-_.x";

	CHECK_EQ(strlen(name64), LKVM_MAX_NAME);
	CHECK_OK(parse(&c, "--name", "web-1_a.b", "--console", "serial",
		       "--debug", "k", NULL));
	CHECK_STREQ(c.name, "web-1_a.b");
	CHECK_EQ(c.console, CONSOLE_SERIAL);
	CHECK(c.debug);
	CHECK_OK(parse(&c, "--name=x", "--console=serial", "k", NULL));
	CHECK_STREQ(c.name, "x");
	CHECK_OK(parse(&c, "--name", name64, "k", NULL));
	CHECK_STREQ(c.name, name64);

	CHECK_USAGE_ERROR(parse(&c, "--name", name65, "k", NULL),
			  "invalid guest name");
	CHECK_USAGE_ERROR(parse(&c, "--name", "a b", "k", NULL),
			  "invalid guest name 'a b'");
	CHECK_USAGE_ERROR(parse(&c, "--name", "a/b", "k", NULL),
			  "invalid guest name 'a/b'");
	CHECK_USAGE_ERROR(parse(&c, "--name=", "k", NULL),
			  "invalid guest name ''");
	CHECK_OK(parse(&c, "--console", "virtio", "k", NULL));
	CHECK_EQ(c.console, CONSOLE_VIRTIO);
	CHECK_USAGE_ERROR(parse(&c, "--console", "hvc", "k", NULL),
			  "unsupported console 'hvc'");
	CHECK_USAGE_ERROR(parse(&c, "--console=Serial", "k", NULL),
			  "unsupported console 'Serial'");
	CHECK_USAGE_ERROR(parse(&c, "--debug=1", "k", NULL),
			  "option '--debug' takes no value");
	CHECK_USAGE_ERROR(parse(&c, "--debug=", "k", NULL),
			  "'--debug' takes no value");
	CHECK_USAGE_ERROR(parse(&c, "-hx", NULL), "'-h' takes no value");
}

TEST(double_dash)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "--", "-odd-kernel-name", NULL));
	CHECK_STREQ(c.kernel_path, "-odd-kernel-name");
	CHECK_OK(parse(&c, "-m", "1G", "--", "--debug", NULL));
	CHECK_STREQ(c.kernel_path, "--debug");
	CHECK(!c.debug);
	CHECK_EQ(c.mem_bytes, 1 * GiB);
	/* A second "--" after the first is an ordinary argument. */
	CHECK_OK(parse(&c, "--", "--", NULL));
	CHECK_STREQ(c.kernel_path, "--");
	CHECK_USAGE_ERROR(parse(&c, "-k", "a", "--", "b", NULL),
			  "unexpected argument 'b'");
	/* No kernel is not an error here: main.c picks the default one. */
	CHECK_OK(parse(&c, "--", NULL));
	CHECK_NULL(c.kernel_path);
	/* "--" is not consumed as an option's value... it *is* the value. */
	CHECK_OK(parse(&c, "-p", "--", "k", NULL));
	CHECK_STREQ(c.params, "--");
	CHECK_STREQ(c.kernel_path, "k");
}

TEST(help)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "--help", NULL));
	CHECK(c.help);
	CHECK_NULL(c.kernel_path);
	CHECK_OK(parse(&c, "-h", NULL));
	CHECK(c.help);
	/* Stops parsing: what follows is not validated. */
	CHECK_OK(parse(&c, "-k", "a", "--help", "--bogus", NULL));
	CHECK(c.help);
	CHECK_USAGE_ERROR(parse(&c, "--help=yes", NULL),
			  "option '--help' takes no value");
}

TEST(unknown_options)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "--bogus", "k", NULL),
			  "unknown option '--bogus'");
	CHECK_USAGE_ERROR(parse(&c, "--bogus=3", "k", NULL),
			  "unknown option '--bogus'");
	CHECK(!strstr(errbuf, "=3"));
	CHECK_USAGE_ERROR(parse(&c, "-z", "k", NULL), "unknown option '-z'");
	CHECK_USAGE_ERROR(parse(&c, "-zfoo", "k", NULL), "unknown option '-z'");
	/* Prefixes are not abbreviations. */
	CHECK_USAGE_ERROR(parse(&c, "--kern", "k", NULL),
			  "unknown option '--kern'");
	CHECK_USAGE_ERROR(parse(&c, "--kernels", "k", NULL),
			  "unknown option '--kernels'");
	CHECK_USAGE_ERROR(parse(&c, "---kernel", "k", NULL),
			  "unknown option '---kernel'");
}

TEST(missing_values)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "-k", NULL), "option '-k' needs a value");
	CHECK_USAGE_ERROR(parse(&c, "k", "--mem", NULL),
			  "option '--mem' needs a value");
	CHECK_USAGE_ERROR(parse(&c, "k", "-c", NULL),
			  "option '-c' needs a value");
	CHECK_USAGE_ERROR(parse(&c, "k", "--name", NULL),
			  "option '--name' needs a value");
	CHECK_USAGE_ERROR(parse(&c, "--kernel=", NULL),
			  "--kernel needs a path");
	CHECK_USAGE_ERROR(parse(&c, "-k", "", NULL), "-k needs a path");
	CHECK_USAGE_ERROR(parse(&c, "-i", "", "k", NULL), "-i needs a path");
}

TEST(kernel_errors)
{
	struct vm_config c;

	/* A missing kernel is resolved later (sandbox_default_kernel()). */
	CHECK_OK(parse(&c, NULL));
	CHECK_NULL(c.kernel_path);
	CHECK_OK(parse(&c, "-m", "1G", "-c", "2", NULL));
	CHECK_NULL(c.kernel_path);
	CHECK_USAGE_ERROR(parse(&c, "-k", "a", "-k", "b", NULL),
			  "kernel given twice ('a' and 'b')");
	CHECK_USAGE_ERROR(parse(&c, "a", "--kernel=b", NULL),
			  "kernel given twice");
	CHECK_USAGE_ERROR(parse(&c, "-k", "a", "b", NULL),
			  "unexpected argument 'b' (kernel already given as 'a'");
	/* run -- CMD: the user wanted sandbox. */
	CHECK_USAGE_ERROR(parse(&c, "-k", "a", "--", "ls", NULL),
			  "unexpected argument 'ls' (kernel already given as 'a'; to run a command in a guest: lkvm sandbox [OPTIONS] -- CMD)");
	CHECK_USAGE_ERROR(parse(&c, "a", "b", NULL), "unexpected argument 'b'");
}

/* No -k: /boot/vmlinuz-RELEASE, or one usage error naming it. */
TEST(default_kernel)
{
	char dir[64], path[256], buf[256];
	struct vm_config c;
	struct sandbox sb;
	FILE *err;

	REQUIRE(tmp_dir_make(dir, sizeof(dir), "boot"));
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(sandbox_default_kernel_for(dir, "6.1.0-9-amd64", buf,
					    sizeof(buf), err), LKVM_EXIT_USAGE);
	fclose(err);
	snprintf(path, sizeof(path),
		 "lkvm: error: no kernel given and %s/vmlinuz-6.1.0-9-amd64 does not exist (use -k/--kernel PATH)\n",
		 dir);
	CHECK_STREQ(errbuf, path);
	CHECK_EQ(count_lines(errbuf), 1);

	snprintf(path, sizeof(path), "%s/vmlinuz-6.1.0-9-amd64", dir);
	REQUIRE(file_put(path, "", 0, 0644) == 0);
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(sandbox_default_kernel_for(dir, "6.1.0-9-amd64", buf,
					    sizeof(buf), err), 0);
	CHECK_STREQ(buf, path);
	/* A path that does not fit is an error, not a truncated path. */
	CHECK_EQ(sandbox_default_kernel_for(dir, "6.1.0-9-amd64", buf, 10, err),
		 LKVM_EXIT_USAGE);
	fclose(err);

	/* -k wins; without it the host's release names the file. */
	CHECK_OK(parse(&c, "-k", "mine", NULL));
	sandbox_init(&sb);
	sb.boot_dir = dir;
	CHECK_EQ(sandbox_default_kernel(&c, &sb, stderr), 0);
	CHECK_STREQ(c.kernel_path, "mine");
	CHECK_OK(parse(&c, NULL));
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(sandbox_default_kernel(&c, &sb, err), LKVM_EXIT_USAGE);
	fclose(err);
	CHECK_CONTAINS(errbuf, "no kernel given and ");
	CHECK_CONTAINS(errbuf, dir);
	CHECK_NULL(c.kernel_path);
	tmp_dir_remove(dir);
}

TEST(first_error_wins)
{
	struct vm_config c;

	/* Only one line even when several things are wrong. */
	CHECK_USAGE_ERROR(parse(&c, "-c", "0", "-m", "abc", "--bogus", NULL),
			  "CPU count");
	CHECK(!strstr(errbuf, "memory"));
}

TEST(parse_size_edges)
{
	uint64_t v = 12345;

	CHECK_EQ(parse_size("1", 1, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(parse_size("7", MiB, &v), 0);
	CHECK_EQ(v, 7 * MiB);
	CHECK_EQ(parse_size("7k", MiB, &v), 0);
	CHECK_EQ(v, 7 * KiB);
	CHECK_EQ(parse_size("7KiB", MiB, &v), 0);
	CHECK_EQ(v, 7 * KiB);
	CHECK_EQ(parse_size("3t", 1, &v), 0);
	CHECK_EQ(v, 3 * 1024 * GiB);
	CHECK_EQ(parse_size("18446744073709551615", 1, &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	CHECK_EQ(parse_size("16777215T", 1, &v), 0);
	CHECK_EQ(v, 16777215ULL << 40);

	v = 12345;
	CHECK_EQ(parse_size("18446744073709551616", 1, &v), -1);
	CHECK_EQ(parse_size("16777216T", 1, &v), -1); /* 2^64 */
	CHECK_EQ(parse_size("17592186044416", MiB, &v), -1); /* 2^64 too */
	CHECK_EQ(parse_size("0", MiB, &v), -1);
	CHECK_EQ(parse_size("0G", MiB, &v), -1);
	CHECK_EQ(parse_size("", MiB, &v), -1);
	CHECK_EQ(parse_size(NULL, MiB, &v), -1);
	CHECK_EQ(parse_size("G", MiB, &v), -1);
	CHECK_EQ(parse_size("+1", MiB, &v), -1);
	CHECK_EQ(parse_size("1iB", MiB, &v), -1);
	CHECK_EQ(parse_size("1MBi", MiB, &v), -1);
	CHECK_EQ(parse_size("1M ", MiB, &v), -1);
	CHECK_EQ(parse_size("1P", MiB, &v), -1);
	CHECK_EQ(v, 12345); /* untouched on error */
}

TEST(parse_uint_edges)
{
	unsigned int v = 77;

	CHECK_EQ(parse_uint("0", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(parse_uint("4294967295", &v), 0);
	CHECK_EQ(v, 4294967295u);
	v = 77;
	CHECK_EQ(parse_uint("4294967296", &v), -1);
	CHECK_EQ(parse_uint("18446744073709551615", &v), -1);
	CHECK_EQ(parse_uint("99999999999999999999", &v), -1);
	CHECK_EQ(parse_uint("-1", &v), -1);
	CHECK_EQ(parse_uint("+1", &v), -1);
	CHECK_EQ(parse_uint(" 1", &v), -1);
	CHECK_EQ(parse_uint("1 ", &v), -1);
	CHECK_EQ(parse_uint("", &v), -1);
	CHECK_EQ(parse_uint(NULL, &v), -1);
	CHECK_EQ(parse_uint("1e3", &v), -1);
	CHECK_EQ(v, 77);
}

TEST(cmdline_build)
{
	char *s = vm_build_cmdline("console=ttyS0 panic=1", "panic=-1 foo=bar");

	/* User parameters come last so the kernel lets them override. */
	CHECK_STREQ(s, "console=ttyS0 panic=1 panic=-1 foo=bar");
	free(s);
	s = vm_build_cmdline("console=ttyS0", NULL);
	CHECK_STREQ(s, "console=ttyS0");
	free(s);
	s = vm_build_cmdline("console=ttyS0", "");
	CHECK_STREQ(s, "console=ttyS0");
	free(s);
}

TEST(disks)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "k", NULL));
	CHECK_EQ(c.nr_disks, 0);
	CHECK(c.disks == NULL);
	CHECK_EQ(virtio_device_requests(&c, &virtio_rng_type), 0);
	CHECK_EQ(c.transport, VIRTIO_TRANSPORT_DEFAULT);

	CHECK_OK(parse(&c, "-d", "a.img", "--disk", "/dev/sdb,ro,direct,aio=libaio,serial=SN-1",
		       "--disk=c.img,aio=sync", "-dd.img,aio=io_uring", "k", NULL));
	CHECK_EQ(c.nr_disks, 4);
	if (c.nr_disks == 4) {
		CHECK_STREQ(c.disks[0].path, "a.img");
		CHECK(!c.disks[0].readonly && !c.disks[0].direct);
		CHECK_EQ(c.disks[0].aio, DISK_AIO_AUTO);
		CHECK_STREQ(c.disks[0].serial, "");
		CHECK_STREQ(c.disks[1].path, "/dev/sdb");
		CHECK(c.disks[1].readonly && c.disks[1].direct);
		CHECK_EQ(c.disks[1].aio, DISK_AIO_LIBAIO);
		CHECK_STREQ(c.disks[1].serial, "SN-1");
		CHECK_STREQ(c.disks[2].path, "c.img");
		CHECK_EQ(c.disks[2].aio, DISK_AIO_SYNC);
		CHECK_STREQ(c.disks[3].path, "d.img");
		CHECK_EQ(c.disks[3].aio, DISK_AIO_IO_URING);
	}
	cli_free_config(&c);
	CHECK_EQ(c.nr_disks, 0);
}

TEST(many_disks)
{
	struct vm_config c;

	/* No four-disk limit: as many as virtio-pci takes (31). */
	CHECK_OK(parse_many(&c, "-d", "x%d.img", 31));
	CHECK_EQ(c.nr_disks, 31);
	cli_free_config(&c);
}

TEST(disk_errors)
{
	CHECK_PARSE_FAILS("--disk needs a path", "-d", "", "k");
	CHECK_PARSE_FAILS("--disk needs a path", "-d", ",ro", "k");
	CHECK_PARSE_FAILS("unknown disk option 'rw' in --disk a,rw",
			  "-d", "a,rw", "k");
	CHECK_PARSE_FAILS("unknown disk I/O backend 'posix'",
			  "-d", "a,aio=posix", "k");
	CHECK_PARSE_FAILS("must be 1-20 characters", "-d", "a,serial=", "k");
	CHECK_PARSE_FAILS("must be 1-20 characters",
			  "-d", "a,serial=123456789012345678901", "k");
	CHECK_PARSE_FAILS("not printable ASCII", "-d", "a,serial=a\tb", "k");
	CHECK_PARSE_FAILS("unknown disk option ''", "-d", "a,", "k");
	/* An error after a good disk: the first disk is still freed. */
	CHECK_PARSE_FAILS("unknown disk option 'x'",
			  "-d", "a", "-d", "b,x", "k");
	CHECK_PARSE_FAILS("option '-d' needs a value", "-d");
	/* A KEY=VALUE option twice is an error, like an option twice. */
	CHECK_PARSE_FAILS("disk option 'aio' given twice in --disk a,aio=sync,aio=libaio",
			  "-d", "a,aio=sync,aio=libaio", "k");
	CHECK_PARSE_FAILS("disk option 'serial' given twice",
			  "-d", "a,serial=x,ro,serial=x", "k");
	CHECK_PARSE_FAILS("disk option 'format' given twice",
			  "-d", "a,format=raw,format=raw", "k");
}

TEST(transport_and_rng)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "--rng", "k", NULL));
	CHECK_EQ(virtio_device_requests(&c, &virtio_rng_type), 1);
	CHECK_NULL(virtio_device_request_arg(&c, &virtio_rng_type, 0));
	/* A device flag twice is still one device. */
	CHECK_OK(parse(&c, "--rng", "--rng", "k", NULL));
	CHECK_EQ(virtio_device_requests(&c, &virtio_rng_type), 1);
	CHECK_OK(parse(&c, "--virtio-transport", "pci", "k", NULL));
	CHECK_EQ(c.transport, VIRTIO_TRANSPORT_PCI);
	CHECK_OK(parse(&c, "--virtio-transport=pci-legacy", "k", NULL));
	CHECK_EQ(c.transport, VIRTIO_TRANSPORT_PCI_LEGACY);
	CHECK_OK(parse(&c, "--virtio-transport", "mmio", "k", NULL));
	CHECK_EQ(c.transport, VIRTIO_TRANSPORT_MMIO);
	CHECK_OK(parse(&c, "--virtio-transport", "mmio-legacy", "k", NULL));
	CHECK_EQ(c.transport, VIRTIO_TRANSPORT_MMIO_LEGACY);
	CHECK_USAGE_ERROR(parse(&c, "--virtio-transport", "ccw", "k", NULL),
			  "unknown virtio transport 'ccw'");
	CHECK_USAGE_ERROR(parse(&c, "--rng=1", "k", NULL),
			  "option '--rng' takes no value");
}

TEST(shares)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "k", NULL));
	CHECK_EQ(c.nr_shares, 0);
	CHECK(c.shares == NULL);

	/* kvmtool's spelling, the default tag, keywords in any order and the
	 * tag after them. */
	CHECK_OK(parse(&c, "--9p", "/srv/a", "--9p", "/srv/b,data",
		       "--9p=/srv/c,ro,passthrough,t3", "--9p", "d,passthrough,ro,t4",
		       "--9p", "e,t5,ro", "k", NULL));
	CHECK_EQ(c.nr_shares, 5);
	if (c.nr_shares == 5) {
		CHECK_STREQ(c.shares[0].path, "/srv/a");
		CHECK_STREQ(c.shares[0].tag, "kvm_9p");
		CHECK(!c.shares[0].readonly && !c.shares[0].passthrough);
		CHECK_STREQ(c.shares[1].path, "/srv/b");
		CHECK_STREQ(c.shares[1].tag, "data");
		CHECK(!c.shares[1].readonly && !c.shares[1].passthrough);
		CHECK_STREQ(c.shares[2].path, "/srv/c");
		CHECK_STREQ(c.shares[2].tag, "t3");
		CHECK(c.shares[2].readonly && c.shares[2].passthrough);
		CHECK_STREQ(c.shares[3].path, "d");
		CHECK_STREQ(c.shares[3].tag, "t4");
		CHECK(c.shares[3].readonly && c.shares[3].passthrough);
		CHECK_STREQ(c.shares[4].tag, "t5");
		CHECK(c.shares[4].readonly && !c.shares[4].passthrough);
	}
	/* --9p and --disk are independent lists. */
	CHECK_EQ(c.nr_disks, 0);
	cli_free_config(&c);
	CHECK_EQ(c.nr_shares, 0);
	CHECK(c.shares == NULL);
}

TEST(share_tags)
{
	struct share_config sh;
	char tag[LKVM_9P_TAG_MAX + 1], arg[LKVM_9P_TAG_MAX + 16];
	FILE *err;

	err = errbuf_open();
	REQUIRE(err);
	/* The longest tag, and every printable character but the comma. */
	memset(tag, 'x', LKVM_9P_TAG_MAX);
	tag[LKVM_9P_TAG_MAX] = '\0';
	snprintf(arg, sizeof(arg), "dir,%s", tag);
	CHECK_EQ(cli_parse_9p(arg, &sh, err), 0);
	CHECK_STREQ(sh.tag, tag);
	free(sh.path);
	CHECK_EQ(cli_parse_9p("dir,/dev/root", &sh, err), 0);
	CHECK_STREQ(sh.tag, "/dev/root");
	free(sh.path);
	CHECK_EQ(cli_parse_9p("dir,a b~!@#$%^&*()", &sh, err), 0);
	CHECK_STREQ(sh.tag, "a b~!@#$%^&*()");
	free(sh.path);
	/* A tag that looks like a path or an option is still a tag. */
	CHECK_EQ(cli_parse_9p("dir,rw", &sh, err), 0);
	CHECK_STREQ(sh.tag, "rw");
	CHECK(!sh.readonly);
	free(sh.path);
	fclose(err);
	CHECK_STREQ(errbuf, "");
}

TEST(share_errors)
{
	char tag[LKVM_9P_TAG_MAX + 2], arg[LKVM_9P_TAG_MAX + 16];

	CHECK_PARSE_FAILS("--9p needs a directory", "--9p", "", "k");
	CHECK_PARSE_FAILS("--9p needs a directory", "--9p", ",tag", "k");
	CHECK_PARSE_FAILS("empty 9p tag in --9p dir,", "--9p", "dir,", "k");
	CHECK_PARSE_FAILS("empty 9p tag", "--9p", "dir,ro,", "k");
	memset(tag, 'x', LKVM_9P_TAG_MAX + 1);
	tag[LKVM_9P_TAG_MAX + 1] = '\0';
	snprintf(arg, sizeof(arg), "dir,%s", tag);
	CHECK_PARSE_FAILS("is longer than 64 bytes", "--9p", arg, "k");
	CHECK_PARSE_FAILS("not printable ASCII", "--9p", "dir,t\tab", "k");
	CHECK_PARSE_FAILS("not printable ASCII", "--9p", "dir,t\xc3\xa9", "k");
	/* A second non-keyword field is not a second tag. */
	CHECK_PARSE_FAILS("unknown 9p option 'rw' in --9p dir,tag,rw (the tag is 'tag'",
			  "--9p", "dir,tag,rw", "k");
	CHECK_PARSE_FAILS("unknown 9p option ''", "--9p", "dir,tag,", "k");
	/* The same tag twice, also when it is the default. */
	CHECK_PARSE_FAILS("9p tag 'kvm_9p' is used twice; give each --9p its own tag: --9p DIR,TAG",
			  "--9p", "a", "--9p", "b", "k");
	CHECK_PARSE_FAILS("9p tag 't' is used twice",
			  "--9p", "a,t", "--9p", "b,u", "--9p", "c,ro,t", "k");
	CHECK_PARSE_FAILS("option '--9p' needs a value", "--9p");
}

TEST(too_many_shares)
{
	struct vm_config c;

	/* As many as virtio-pci takes. */
	CHECK_OK(parse_many(&c, "--9p", "/d%d,tag%d", 31));
	CHECK_EQ(c.nr_shares, 31);
	if (c.nr_shares == 31)
		CHECK_STREQ(c.shares[30].tag, "tag30");
	cli_free_config(&c);

	/* One more is a usage error naming the transport's limit. */
	CHECK_USAGE_ERROR(parse_many(&c, "--9p", "/d%d,tag%d", 32),
			  "too many virtio devices for --virtio-transport pci (the default): 32 given (32 virtio-9p), at most 31 on x86 (one PCI slot each)");
	cli_free_config(&c);
	/* Past the array's cap, before the count: still the real limits. */
	CHECK_USAGE_ERROR(parse_many(&c, "--9p", "/d%d,tag%d",
				     LKVM_MAX_SHARES + 1),
			  "too many --9p shares: more than 64 given; lkvm's virtio transports take at most 31 devices (pci) and 15 (mmio) on x86");
	cli_free_config(&c);
}

/* sandbox: run's options (device types' too), then "-- CMD [ARGS...]". */
/* cli_parse_net() alone, its error stream captured in errbuf. */
static int parse_net(const char *arg, struct net_config *n)
{
	FILE *err = errbuf_open();
	int ret;

	if (!err) {
		perror("fmemopen");
		exit(1);
	}
	memset(n, 0xa5, sizeof(*n));
	ret = cli_parse_net(arg, n, err);
	fclose(err);
	return ret;
}

/* -n/--network: kvmtool's syntax into struct net_config. */
TEST(network)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x0a };
	struct net_config n;
	struct vm_config c;

	CHECK_OK(parse_net("mode=user", &n));
	CHECK_EQ(n.mode, NET_MODE_USER);
	CHECK(!n.mac_set);
	CHECK_EQ(n.nr_hostfwd, 0);
	CHECK_NULL(n.tapif);
	CHECK_NULL(n.script);
	CHECK_EQ(n.mq, 0);
	CHECK(!n.vhost);
	cli_free_net(&n);

	CHECK_OK(parse_net("mode=tap,tapif=tap0,guest_mac=52:54:00:12:34:0A,script=/etc/x,,y,mq=4,vhost=off",
			   &n));
	CHECK_EQ(n.mode, NET_MODE_TAP);
	CHECK_STREQ(n.tapif, "tap0");
	CHECK_STREQ(n.script, "/etc/x,y");
	CHECK(n.mac_set && !memcmp(n.guest_mac, mac, 6));
	CHECK_EQ(n.mq, 4);
	CHECK(!n.vhost);
	cli_free_net(&n);

	/* No mode=: a tap, as in kvmtool; a macvtap by its device. */
	CHECK_OK(parse_net("tapif=/dev/tap12", &n));
	CHECK_EQ(n.mode, NET_MODE_TAP);
	CHECK_STREQ(n.tapif, "/dev/tap12");
	cli_free_net(&n);
	CHECK_OK(parse_net("mode=tap,vhost=on", &n));
	CHECK(n.vhost);
	cli_free_net(&n);
	CHECK_OK(parse_net("mode=tap,vhost=1", &n));
	CHECK(n.vhost);
	cli_free_net(&n);
	CHECK_OK(parse_net("script=none,mq=16", &n));
	CHECK_STREQ(n.script, "none");
	CHECK_EQ(n.mq, NET_MAX_QUEUE_PAIRS);
	cli_free_net(&n);

	/* hostfwd=, repeatable; QEMU's empty protocol is tcp. */
	CHECK_OK(parse_net("mode=user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,hostfwd=:0.0.0.0:8080-:80,guest_mac=2:0:0:0:0:1",
			   &n));
	CHECK_EQ(n.nr_hostfwd, 3);
	CHECK(!n.hostfwd[0].udp);
	CHECK_EQ(n.hostfwd[0].host_addr, 0);
	CHECK_EQ(n.hostfwd[0].host_port, 2222);
	CHECK_EQ(n.hostfwd[0].guest_addr, 0);
	CHECK_EQ(n.hostfwd[0].guest_port, 22);
	CHECK(n.hostfwd[1].udp);
	CHECK_EQ(n.hostfwd[1].host_addr, htonl(0x7f000001));
	CHECK_EQ(n.hostfwd[1].host_port, 5353);
	CHECK_EQ(n.hostfwd[1].guest_addr, htonl(0x0a00020f));
	CHECK_EQ(n.hostfwd[1].guest_port, 53);
	CHECK(!n.hostfwd[2].udp);
	CHECK_EQ(n.hostfwd[2].host_port, 8080);
	CHECK(n.mac_set && n.guest_mac[0] == 2 && n.guest_mac[5] == 1);
	cli_free_net(&n);

	CHECK_OK(parse_net("none", &n));
	CHECK_EQ(n.mode, NET_MODE_NONE);
	CHECK_OK(parse_net("mode=none", &n));
	CHECK_EQ(n.mode, NET_MODE_NONE);
	CHECK(cli_net_is_none("none") && cli_net_is_none("mode=none"));
	CHECK(!cli_net_is_none("mode=user"));

	/* On the command line: one device request per -n, in order. */
	CHECK_OK(parse(&c, "-n", "mode=user", "--network", "mode=tap",
		       "-nmode=user,hostfwd=tcp::1-:2", "k", NULL));
	CHECK_EQ(virtio_device_requests(&c, &virtio_net_type), 3);
	CHECK_STREQ(virtio_device_request_arg(&c, &virtio_net_type, 1),
		    "mode=tap");
	CHECK_EQ(virtio_net_type.count(&c), 3);
	cli_free_config(&c);
	CHECK_OK(parse(&c, "-n", "none", "-n", "mode=none", "k", NULL));
	CHECK_EQ(virtio_device_requests(&c, &virtio_net_type), 2);
	CHECK_EQ(virtio_net_type.count(&c), 0);
	cli_free_config(&c);
	/* No -n: one user-mode card, as kvmtool gives (virtio/net.c). */
	CHECK_OK(parse(&c, "k", NULL));
	CHECK_EQ(virtio_device_requests(&c, &virtio_net_type), 0);
	CHECK_EQ(virtio_net_type.count(&c), 1);
	CHECK(virtio_net_type.implicit(&c));
	cli_free_config(&c);
	CHECK_OK(parse(&c, "-n", "none", "k", NULL));
	CHECK_EQ(virtio_net_type.count(&c), 0);
	CHECK(!virtio_net_type.implicit(&c));
	cli_free_config(&c);
}

TEST(network_errors)
{
	struct net_config n;
	char many[1024];
	int i;

	CHECK_PARSE_FAILS("unknown network mode 'bridge' in -n mode=bridge (tap, user, none)",
			  "-n", "mode=bridge", "k");
	CHECK_PARSE_FAILS("unknown -n option 'foo' in -n mode=tap,foo=1",
			  "-n", "mode=tap,foo=1", "k");
	CHECK_PARSE_FAILS("unknown -n option 'user'", "--network", "user", "k");
	CHECK_PARSE_FAILS("'host_ip' (a kvmtool option) is not supported",
			  "-n", "mode=tap,host_ip=192.168.33.1", "k");
	CHECK_PARSE_FAILS("empty option in -n mode=user,", "-n", "mode=user,",
			  "k");
	CHECK_PARSE_FAILS("-n needs a value", "--network=", "k");
	CHECK_PARSE_FAILS("option '-n' needs a value", "-n");
	CHECK_PARSE_FAILS("'tapif' needs a value", "-n", "tapif", "k");
	/* MACs */
	CHECK_PARSE_FAILS("invalid MAC address '02:15:15:15:15' in -n",
			  "-n", "mode=user,guest_mac=02:15:15:15:15", "k");
	CHECK_PARSE_FAILS("invalid MAC address",
			  "-n", "guest_mac=02:15:15:15:15:15:15", "k");
	CHECK_PARSE_FAILS("invalid MAC address", "-n", "guest_mac=0g:1:2:3:4:5",
			  "k");
	CHECK_PARSE_FAILS("invalid MAC address", "-n", "guest_mac=022:1:2:3:4:5",
			  "k");
	CHECK_PARSE_FAILS("invalid MAC address", "-n", "guest_mac=", "k");
	CHECK_PARSE_FAILS("is a multicast address",
			  "-n", "guest_mac=01:00:5e:00:00:01", "k");
	CHECK_PARSE_FAILS("is a multicast address",
			  "-n", "guest_mac=ff:ff:ff:ff:ff:ff", "k");
	CHECK_PARSE_FAILS("is all zeros", "-n", "guest_mac=0:0:0:0:0:0", "k");
	/* hostfwd */
	static const char *const bad_fwd[] = {
		"tcp:2222-:22", "tcp::2222", "tcp::2222-22", "sctp::1-:2",
		"tcp::0-:22", "tcp::1-:65536", "tcp::x-:22",
		"tcp:1.2.3:1-:2", "tcp::1-10.0.2.300:2", "tcp::1--:2",
		"tcp::1-:2-:3", "", "tcp", "tcp::-:22", "tcp:[::1]:1-:2",
	};
	for (i = 0; i < (int)ARRAY_SIZE(bad_fwd); i++) {
		char arg[128];

		snprintf(arg, sizeof(arg), "mode=user,hostfwd=%s", bad_fwd[i]);
		if (!CHECK_EQ(parse_net(arg, &n), LKVM_EXIT_USAGE)) {
			printf("  -n %s was accepted\n", arg);
			cli_free_net(&n);
			continue;
		}
		CHECK_CONTAINS(errbuf, "malformed hostfwd=");
		CHECK_CONTAINS(errbuf, "hostfwd=[tcp|udp]:[HOSTIP]:HOSTPORT-[GUESTIP]:GUESTPORT");
	}
	snprintf(many, sizeof(many), "mode=user");
	for (i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 ",hostfwd=tcp::%d-:22", 2000 + i);
	CHECK_EQ(parse_net(many, &n), LKVM_EXIT_USAGE);
	CHECK_CONTAINS(errbuf, "too many hostfwd= in -n");
	/* A key twice (hostfwd= excepted), as an option twice. */
	CHECK_PARSE_FAILS("-n option 'mode' given twice in -n mode=tap,mode=user",
			  "-n", "mode=tap,mode=user", "k");
	CHECK_PARSE_FAILS("-n option 'guest_mac' given twice",
			  "-n", "guest_mac=2:0:0:0:0:1,guest_mac=2:0:0:0:0:1",
			  "k");
	CHECK_PARSE_FAILS("-n option 'tapif' given twice",
			  "-n", "tapif=a,tapif=a", "k");
	/* vhost */
	CHECK_PARSE_FAILS("vhost= is for mode=tap, not mode=user",
			  "-n", "mode=user,vhost=on", "k");
	CHECK_PARSE_FAILS("invalid vhost= value 'maybe'",
			  "-n", "mode=tap,vhost=maybe", "k");
	/* mq */
	CHECK_PARSE_FAILS("invalid queue pair count mq=0 in -n mode=tap,mq=0 (1 to 16)",
			  "-n", "mode=tap,mq=0", "k");
	CHECK_PARSE_FAILS("invalid queue pair count mq=17",
			  "-n", "mode=tap,mq=17", "k");
	CHECK_PARSE_FAILS("invalid queue pair count mq=-1",
			  "-n", "mode=tap,mq=-1", "k");
	/* tapif, script */
	CHECK_PARSE_FAILS("tap name 'abcdefghijklmnop' in -n tapif=abcdefghijklmnop is longer than 15 bytes",
			  "-n", "tapif=abcdefghijklmnop", "k");
	CHECK_PARSE_FAILS("empty tapif=", "-n", "tapif=", "k");
	CHECK_PARSE_FAILS("empty script=", "-n", "script=", "k");
	/* Keys of the other mode. */
	CHECK_PARSE_FAILS("tapif= is for mode=tap, not mode=user",
			  "-n", "tapif=tap0,mode=user", "k");
	CHECK_PARSE_FAILS("mq= is for mode=tap", "-n", "mode=user,mq=2", "k");
	CHECK_PARSE_FAILS("script= is for mode=tap",
			  "-n", "mode=user,script=none", "k");
	CHECK_PARSE_FAILS("vhost= is for mode=tap",
			  "-n", "mode=user,vhost=off", "k");
	CHECK_PARSE_FAILS("hostfwd= is for mode=user, not mode=tap",
			  "-n", "hostfwd=tcp::1-:2", "k");
	/* none: alone, and not with another -n (either order). */
	CHECK_PARSE_FAILS("-n none takes no other option",
			  "-n", "mode=none,guest_mac=2:0:0:0:0:1", "k");
	CHECK_PARSE_FAILS("unknown -n option 'none'", "-n", "none,", "k");
	CHECK_PARSE_FAILS("-n none (no network card) cannot be combined with another -n",
			  "-n", "none", "-n", "mode=user", "k");
	CHECK_PARSE_FAILS("cannot be combined with another -n",
			  "-n", "mode=user", "--network=mode=none", "k");
	/* Nothing allocated is left behind on an error (ASan checks). */
	CHECK_EQ(parse_net("tapif=x,script=y,mq=99", &n), LKVM_EXIT_USAGE);
}

TEST(sandbox_command)
{
	struct vm_config c;

	CHECK_OK(parse_cmd(&cli_sandbox_command, &c, "--rng", "-m", "1G", "k",
			   "--", "cmd", "--rng", "-x", NULL));
	CHECK_EQ(virtio_device_requests(&c, &virtio_rng_type), 1);
	CHECK_EQ(c.mem_bytes, 1 * GiB);
	CHECK_STREQ(c.kernel_path, "k");
	REQUIRE(c.guest_argv);
	CHECK_STREQ(c.guest_argv[0], "cmd");
	CHECK_STREQ(c.guest_argv[1], "--rng");
	CHECK_STREQ(c.guest_argv[2], "-x");
	CHECK_NULL(c.guest_argv[3]);
	/* Only the first "--" counts. */
	CHECK_OK(parse_cmd(&cli_sandbox_command, &c, "--", "--", NULL));
	CHECK_STREQ(c.guest_argv[0], "--");
	CHECK_NULL(c.kernel_path);
	/* run has no command. */
	CHECK_OK(parse(&c, "k", NULL));
	CHECK_NULL(c.guest_argv);
	/* The sandbox's network card: the default, or -n's. */
	CHECK_OK(parse_cmd(&cli_sandbox_command, &c, "--", "true", NULL));
	CHECK_EQ(virtio_net_type.count(&c), 1);
	CHECK_OK(parse_cmd(&cli_sandbox_command, &c, "-n", "none", "--",
			   "true", NULL));
	CHECK_EQ(virtio_net_type.count(&c), 0);
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "-n", "none",
				    "-n", "mode=user", "--", "true", NULL),
			  "-n none (no network card) cannot be combined with another -n");

	/* No command: only --help means something. */
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, NULL),
			  "lkvm sandbox needs a command: lkvm sandbox [OPTIONS] -- CMD [ARGS...] (see 'lkvm help sandbox')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "--bogus", "--",
				    NULL),
			  "lkvm sandbox needs a command");
	CHECK_OK(parse_cmd(&cli_sandbox_command, &c, "-m", "x", "-h", NULL));
	CHECK(c.help);
	CHECK_OK(parse_cmd(&cli_sandbox_command, &c, "--help", "--", "ls",
			   NULL));
	CHECK(c.help);
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "--bogus", "--",
				    "ls", NULL),
			  "unknown option '--bogus' (see 'lkvm run --help')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "--rng=1", "--",
				    "ls", NULL),
			  "option '--rng' takes no value");
}

/* setup: one NAME, and --help. */
TEST(setup_command)
{
	struct vm_config c;

	CHECK_OK(parse_cmd(&cli_setup_command, &c, "box", NULL));
	CHECK_STREQ(c.name, "box");
	CHECK(!c.help);
	CHECK_OK(parse_cmd(&cli_setup_command, &c, "--", "box", NULL));
	CHECK_STREQ(c.name, "box");
	CHECK_OK(parse_cmd(&cli_setup_command, &c, "box", "--help", NULL));
	CHECK(c.help);
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, NULL),
			  "lkvm setup needs one NAME (lkvm setup NAME; see 'lkvm help setup')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, "a", "b", NULL),
			  "lkvm setup needs one NAME");
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, "--", NULL),
			  "lkvm setup needs one NAME");
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, "-x", NULL),
			  "unknown option '-x' (see 'lkvm help setup')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, "-", NULL),
			  "unknown option '-' (see 'lkvm help setup')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, "--mem", "1G",
				    "box", NULL),
			  "unknown option '--mem' (see 'lkvm help setup')");
}

/* The tables: each option once (device types' included), with what
 * --help and the parser need; each command findable by name. */
TEST(option_tables)
{
	const struct cli_command *const *cmd;
	struct cli_option_iter it, it2;
	const struct cli_option *o, *p;
	bool rng = false;

	for (cmd = cli_commands; *cmd; cmd++) {
		CHECK_PTR_EQ(cli_find_command((*cmd)->name), *cmd);
		CHECK((*cmd)->summary && *(*cmd)->summary);
		cli_options_begin(&it, *cmd);
		while ((o = cli_options_next(&it))) {
			CHECK(o->long_name && *o->long_name && o->apply);
			CHECK(o->hidden || (o->help && *o->help));
			rng |= *cmd == &cli_run_command &&
			       o == virtio_rng_type.options;
			it2 = it;
			while ((p = cli_options_next(&it2)))
				if (!CHECK(strcmp(o->long_name, p->long_name) &&
					   (!o->short_name ||
					    o->short_name != p->short_name)))
					printf("  --%s and --%s clash\n",
					       o->long_name, p->long_name);
		}
	}
	CHECK(rng); /* run's table has virtio-rng's --rng */
	CHECK_NULL(cli_find_command("bogus"));
}

/* x86 has no device tree and one irqchip: both riscv options are usage
 * errors that say so (the unit tests build the x86 CLI). */
TEST(riscv_only_options)
{
	CHECK_PARSE_FAILS("--dump-dtb: x86 guests have no device tree",
			  "--dump-dtb", "/tmp/x.dtb", "k");
	CHECK_PARSE_FAILS("--irqchip: x86 has one interrupt controller",
			  "--irqchip", "aia", "k");
	CHECK_PARSE_FAILS("option '--dump-dtb' needs a value", "--dump-dtb");
}

TEST(cmdline_add_before_user_params)
{
	struct vm vm;

	memset(&vm, 0, sizeof(vm));
	vm.cmdline = vm_build_cmdline("console=ttyS0 panic=1", "quiet -- init-arg");
	vm.cmdline_defaults_len = strlen("console=ttyS0 panic=1");
	/* Device announcements go after lkvm's defaults, before -p params:
	 * anything after "--" would reach init instead of the kernel. */
	CHECK_EQ(vm_cmdline_add(&vm, "virtio_mmio.device=0x200@0xd0000000:5"), 0);
	CHECK_EQ(vm_cmdline_add(&vm, "virtio_mmio.device=0x200@0xd0001000:6"), 0);
	CHECK_STREQ(vm.cmdline, "console=ttyS0 panic=1 virtio_mmio.device=0x200@0xd0000000:5 "
		    "virtio_mmio.device=0x200@0xd0001000:6 quiet -- init-arg");
	free(vm.cmdline);

	vm.cmdline = vm_build_cmdline("console=ttyS0", NULL);
	vm.cmdline_defaults_len = strlen("console=ttyS0");
	CHECK_EQ(vm_cmdline_add(&vm, "a=b"), 0);
	CHECK_STREQ(vm.cmdline, "console=ttyS0 a=b");
	free(vm.cmdline);
}

/* --- other tools' habits (include/lkvm/cli.h) --- */

/* A value from the next argument may not start with '-' (-p's may);
 * attached, or after "=", it may. */
TEST(values_that_look_like_options)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "-k", "-i", "initrd", NULL),
			  "option '-k' needs a value (got option '-i')");
	CHECK_USAGE_ERROR(parse(&c, "-k", "--initrd=x", NULL),
			  "option '-k' needs a value (got option '--initrd=x')");
	CHECK_USAGE_ERROR(parse(&c, "--initrd", "--rng", "k", NULL),
			  "option '--initrd' needs a value (got option '--rng')");
	CHECK_USAGE_ERROR(parse(&c, "-k", "-weird", NULL),
			  "option '-k' needs a value (got '-weird'; write --kernel=-weird for a value that starts with '-')");
	CHECK_USAGE_ERROR(parse(&c, "-k", "--", "x", NULL),
			  "option '-k' needs a value (got '--'");
	/* A negative number: no "write --mem=-1" advice that cannot work. */
	CHECK_USAGE_ERROR(parse(&c, "-m", "-1", "k", NULL),
			  "option '-m' needs a value (got '-1'; a negative number is never valid)");
	CHECK_USAGE_ERROR(parse(&c, "-c", "-2", "k", NULL),
			  "option '-c' needs a value (got '-2'; a negative number is never valid)");
	/* A path may be called "-1". */
	CHECK_USAGE_ERROR(parse(&c, "-k", "-1", NULL),
			  "option '-k' needs a value (got '-1'; write --kernel=-1 for a value that starts with '-')");
	CHECK_USAGE_ERROR(parse(&c, "-d", "-x.img", "k", NULL),
			  "option '-d' needs a value (got '-x.img'");
	CHECK_USAGE_ERROR(parse(&c, "--9p", "-weird", "k", NULL),
			  "option '--9p' needs a value (got '-weird'");
	CHECK_USAGE_ERROR(parse(&c, "--9p", "-dir", "k", NULL), /* -d "ir" */
			  "option '--9p' needs a value (got option '-dir')");
	CHECK_USAGE_ERROR(parse(&c, "--name", "-n", "k", NULL),
			  "needs a value (got option '-n')"); /* kvmtool's -n */
	CHECK_USAGE_ERROR(parse(&c, "--console", "--sandbox", "k", NULL),
			  "needs a value (got option '--sandbox')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "-k", "-i", "x",
				    "--", "ls", NULL),
			  "option '-k' needs a value (got option '-i')");
	/* sandbox refuses -i at parse time, before looking for a kernel. */
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "-i", "x",
				    "--", "ls", NULL),
			  "lkvm sandbox boots lkvm's own initramfs: -i/--initrd cannot be used with it");

	/* Written so that it cannot be an option, it is the value. */
	CHECK_OK(parse(&c, "--kernel=-weird", NULL));
	CHECK_STREQ(c.kernel_path, "-weird");
	CHECK_OK(parse(&c, "-k-weird", NULL));
	CHECK_STREQ(c.kernel_path, "-weird");
	CHECK_OK(parse(&c, "-k", "./-weird", NULL));
	CHECK_STREQ(c.kernel_path, "./-weird");
	CHECK_OK(parse(&c, "-k", "-", NULL)); /* "-" alone is no option */
	CHECK_STREQ(c.kernel_path, "-");
	/* -p's value is free text. */
	CHECK_OK(parse(&c, "-p", "-- init-arg", "k", NULL));
	CHECK_STREQ(c.params, "-- init-arg");
}

/* One value for the k-th value of option @o in repeated_options(). */
static const char *sample_value(const struct cli_option *o, int k)
{
	static const struct {
		const char *name, *values[2];
	} samples[] = {
		{ "mem", { "64", "128" } },
		{ "cpus", { "1", "2" } },
		{ "console", { "serial", "virtio" } },
		{ "virtio-transport", { "pci", "mmio" } },
		{ "irqchip", { "plic", "aia" } },
	};
	static const char *const paths[2] = { "v1", "v2" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(samples); i++)
		if (!strcmp(o->long_name, samples[i].name))
			return samples[i].values[k];
	return paths[k];
}

/* An option with a value that is not repeatable may be given once;
 * repeatable ones and flags may be repeated.  Every option of run's table
 * (and of any device type) is checked, also those added later. */
TEST(repeated_options)
{
	struct cli_option_iter it;
	const struct cli_option *o;
	struct vm_config c;
	char a1[64], a2[64], want[64];
	unsigned int once = 0;
	int failures;

	cli_options_begin(&it, &cli_run_command);
	while ((o = cli_options_next(&it))) {
		if (!o->arg || o->repeatable)
			continue;
		once++;
		snprintf(a1, sizeof(a1), "--%s=%s", o->long_name,
			 sample_value(o, 0));
		snprintf(a2, sizeof(a2), "--%s=%s", o->long_name,
			 sample_value(o, 1));
		if (parse(&c, a1, "k", NULL)) /* another arch's: an error */
			continue;
		failures = t_case_failures;
		snprintf(want, sizeof(want), "--%s given twice ('%s' and '%s')",
			 o->long_name, sample_value(o, 0), sample_value(o, 1));
		CHECK_USAGE_ERROR(parse(&c, a1, a2, "k", NULL), want);
		if (t_case_failures != failures)
			printf("  (that was: lkvm run %s %s k)\n", a1, a2);
		cli_free_config(&c);
	}
	CHECK(once >= 7); /* -k -i -m -c --name --console --virtio-transport */
	CHECK(once <= CLI_MAX_ONCE_OPTIONS);

	/* Whatever the spelling, and the same value twice too. */
	CHECK_USAGE_ERROR(parse(&c, "-i", "a", "--initrd", "b", "k", NULL),
			  "--initrd given twice ('a' and 'b')");
	CHECK_USAGE_ERROR(parse(&c, "-c", "2", "-c2", "k", NULL),
			  "--cpus given twice ('2' and '2')");
	CHECK_USAGE_ERROR(parse(&c, "--name=x", "--name", "y", "k", NULL),
			  "--name given twice ('x' and 'y')");
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "-m", "1G", "-m",
				    "2G", "--", "ls", NULL),
			  "--mem given twice");

	/* Flags and repeatable options. */
	CHECK_OK(parse(&c, "--debug", "--debug", "--rng", "--rng", "k", NULL));
	CHECK(c.debug);
	CHECK_OK(parse(&c, "-d", "a", "-d", "b", "--9p", "x,t1", "--9p", "y,t2",
		       "k", NULL));
	CHECK_EQ(c.nr_disks, 2);
	CHECK_EQ(c.nr_shares, 2);
	cli_free_config(&c);
}

/* -p given again adds to the parameters. */
TEST(params_append)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "-p", "quiet", "--params=loglevel=3", "-pfoo=bar",
		       "k", NULL));
	CHECK_STREQ(c.params, "quiet loglevel=3 foo=bar");
	cli_free_config(&c);
	CHECK_NULL(c.params);
	CHECK_NULL(c.params_joined);
	/* Empty values add nothing. */
	CHECK_OK(parse(&c, "-p", "", "-p", "a", "-p", "", "k", NULL));
	CHECK_STREQ(c.params, "a");
	cli_free_config(&c);
	CHECK_OK(parse(&c, "-p", "a", "k", NULL));
	CHECK_STREQ(c.params, "a");
	CHECK_NULL(c.params_joined);
	cli_free_config(&c);
	/* Kernel parameters stay before a "--" (init's arguments follow). */
	CHECK_OK(parse(&c, "-p", "init=/bin/sh -- arg", "-p", "quiet", "k",
		       NULL));
	CHECK_STREQ(c.params, "init=/bin/sh quiet -- arg");
	cli_free_config(&c);
	CHECK_OK(parse(&c, "-p", "a -- x", "-p", "b -- y", "-p", "-- z", "k",
		       NULL));
	CHECK_STREQ(c.params, "a b -- x y z");
	cli_free_config(&c);
	CHECK_OK(parse(&c, "-p", "a", "-p", "-- x", "-p", "root=/dev/vdb", "k",
		       NULL));
	CHECK_STREQ(c.params, "a root=/dev/vdb -- x");
	cli_free_config(&c);
	/* A quoted value with blanks stays whole; "--" inside it is not one. */
	CHECK_OK(parse(&c, "-p", "x=\"a -- b\"", "-p", "c", "k", NULL));
	CHECK_STREQ(c.params, "x=\"a -- b\" c");
	cli_free_config(&c);
}

/* kvmtool's and QEMU's options and commands that lkvm lacks: one line
 * naming them and, where there is one, lkvm's way. */
TEST(foreign_names)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "--sandbox", "x.sh", "k", NULL),
			  "lkvm: error: --sandbox (a kvmtool option) is not supported by lkvm; use 'lkvm sandbox -- CMD'");
	CHECK_USAGE_ERROR(parse(&c, "--sandbox=x.sh", "k", NULL),
			  "--sandbox (a kvmtool option) is not supported");
	CHECK(!strstr(errbuf, "x.sh"));
	CHECK_USAGE_ERROR(parse(&c, "--no-dhcp", "k", NULL),
			  "--no-dhcp (a kvmtool option) is not supported by lkvm; lkvm's init gives a user-mode card its addresses without DHCP");
	CHECK_USAGE_ERROR(parse(&c, "--nodefaults", "k", NULL),
			  "--nodefaults (a kvmtool option) is not supported by lkvm; lkvm's one default device is the user-mode network card: -n none leaves it out");
	/* QEMU's network options, also where -n would take the rest as its
	 * value ("-nic": -n "ic"). */
	CHECK_USAGE_ERROR(parse(&c, "-nic", "user", "k", NULL),
			  "-nic (a QEMU option) is not supported by lkvm; lkvm's is kvmtool's -n: -n mode=user");
	CHECK_USAGE_ERROR(parse(&c, "-netdev", "user,id=n0", "k", NULL),
			  "-netdev (a QEMU option) is not supported by lkvm; lkvm's is kvmtool's -n");
	CHECK_USAGE_ERROR(parse(&c, "-net", "nic", "k", NULL),
			  "-net (a QEMU option)");
	CHECK_USAGE_ERROR(parse(&c, "--virtio-legacy", "k", NULL),
			  "--virtio-legacy (a kvmtool option) is not supported by lkvm; did you mean '--virtio-transport pci-legacy'?");
	CHECK_USAGE_ERROR(parse(&c, "--tty", "0", "k", NULL),
			  "see --console");
	CHECK_USAGE_ERROR(parse(&c, "--disable-sstc", "k", NULL),
			  "--disable-sstc (a kvmtool option)");
	CHECK_USAGE_ERROR(parse_cmd(&cli_sandbox_command, &c, "--balloon", "--",
				    "ls", NULL),
			  "--balloon (a kvmtool option) is not supported by lkvm");
	/* QEMU's spellings, also where a short option would take the rest
	 * as its value (-d "rive", -h "da", -p "idfile", -m "onitor",
	 * -c "drom", -q "mp", -n "odefaults"). */
	CHECK_USAGE_ERROR(parse(&c, "-pidfile", "/tmp/p", "k", NULL),
			  "-pidfile (a QEMU option) is not supported by lkvm");
	CHECK_USAGE_ERROR(parse(&c, "-monitor", "stdio", "k", NULL),
			  "-monitor (a QEMU option) is not supported by lkvm\n");
	CHECK_USAGE_ERROR(parse(&c, "-cdrom", "x.iso", "k", NULL),
			  "-cdrom (a QEMU option) is not supported by lkvm; did you mean '--disk'?");
	CHECK_USAGE_ERROR(parse(&c, "-qmp", "x", "k", NULL),
			  "-qmp (a QEMU option) is not supported by lkvm");
	CHECK_USAGE_ERROR(parse(&c, "-nodefaults", "k", NULL),
			  "-nodefaults (a QEMU option) is not supported by lkvm");
	CHECK_USAGE_ERROR(parse(&c, "-daemonize", "k", NULL),
			  "-daemonize (a QEMU option)");
	CHECK_USAGE_ERROR(parse(&c, "-version", NULL),
			  "did you mean '--version'?");
	CHECK_USAGE_ERROR(parse(&c, "-append", "quiet", "k", NULL),
			  "-append (a QEMU option) is not supported by lkvm; did you mean '--params'?");
	CHECK_USAGE_ERROR(parse(&c, "-smp", "2", "k", NULL),
			  "did you mean '--cpus'?");
	CHECK_USAGE_ERROR(parse(&c, "-drive", "file=x", "k", NULL),
			  "did you mean '--disk'?");
	CHECK_USAGE_ERROR(parse(&c, "-hda", "x", "k", NULL),
			  "-hda (a QEMU option)");
	CHECK_USAGE_ERROR(parse(&c, "-nographic", "k", NULL),
			  "-nographic (a QEMU option) is not supported by lkvm; the guest's console is always");
	CHECK_USAGE_ERROR(parse(&c, "-enable-kvm", "k", NULL),
			  "lkvm always uses KVM");
	CHECK_USAGE_ERROR(parse(&c, "-M", "microvm", "k", NULL),
			  "-M (a QEMU option)");
	CHECK_USAGE_ERROR(parse(&c, "-cpu", "host", "k", NULL),
			  "-cpu (a QEMU option)");
	/* Only run's and sandbox's options are looked up. */
	CHECK_USAGE_ERROR(parse_cmd(&cli_setup_command, &c, "--sandbox", "box",
				    NULL),
			  "unknown option '--sandbox' (see 'lkvm help setup')");
}

/* "-kernel" is not "-k ernel": a single-dash word that spells a long
 * option is refused with the right spelling; other attached values stay. */
TEST(single_dash_long_options)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "-kernel", "bzImage", NULL),
			  "unknown option '-kernel' (did you mean '--kernel'?)");
	CHECK_USAGE_ERROR(parse(&c, "-kernel=bzImage", NULL),
			  "unknown option '-kernel' (did you mean '--kernel'?)");
	CHECK_USAGE_ERROR(parse(&c, "-initrd", "i", "k", NULL),
			  "did you mean '--initrd'?");
	CHECK_USAGE_ERROR(parse(&c, "-name", "x", "k", NULL),
			  "did you mean '--name'?");
	CHECK_USAGE_ERROR(parse(&c, "-debug", "k", NULL),
			  "did you mean '--debug'?");
	CHECK_USAGE_ERROR(parse(&c, "-rng", "k", NULL),
			  "did you mean '--rng'?");
	CHECK_USAGE_ERROR(parse(&c, "-9p", "dir", "k", NULL),
			  "did you mean '--9p'?");
	/* Attached values that spell nothing are values. */
	CHECK_OK(parse(&c, "-dimage.img", "-m512", "-kbzImage", NULL));
	CHECK_EQ(c.nr_disks, 1);
	if (c.nr_disks == 1)
		CHECK_STREQ(c.disks[0].path, "image.img");
	CHECK_EQ(c.mem_bytes, 512 * MiB);
	CHECK_STREQ(c.kernel_path, "bzImage");
	cli_free_config(&c);
	/* Separated, a value may spell an option's name. */
	CHECK_OK(parse(&c, "-d", "ebug", "k", NULL));
	CHECK_EQ(c.nr_disks, 1);
	CHECK(!c.debug);
	cli_free_config(&c);
}

/* cli_foreign[] never hides one of lkvm's options or commands: an entry
 * only speaks for what lkvm does not know. */
TEST(foreign_table_shadows_nothing)
{
	const struct cli_command *const *cmd;
	const struct cli_foreign *f;
	struct cli_option_iter it;
	const struct cli_option *o;
	char spelled[80];
	size_t n;

	for (f = cli_foreign; f->name; f++) {
		n = strlen(f->name);
		CHECK(n && f->tool && *f->tool);
		CHECK(!(f->instead && f->hint)); /* one or the other */
		if (f->name[0] != '-') {
			if (!CHECK_NULL(cli_find_command(f->name)))
				printf("  'lkvm %s' is lkvm's now\n", f->name);
			continue;
		}
		for (cmd = cli_commands; *cmd; cmd++) {
			cli_options_begin(&it, *cmd);
			while ((o = cli_options_next(&it))) {
				bool clash = f->name[1] == '-'
					? !strcmp(f->name + 2, o->long_name)
					: n == 2 ? f->name[1] == o->short_name
						 : !strcmp(f->name + 1, o->long_name);

				if (!CHECK(!clash))
					printf("  %s shadows --%s\n", f->name,
					       o->long_name);
			}
		}
	}
	/* Prefix entries ("--disable-*") included: no option of lkvm's
	 * spelling matches an entry. */
	for (cmd = cli_commands; *cmd; cmd++) {
		CHECK_NULL(cli_find_foreign((*cmd)->name,
					    strlen((*cmd)->name)));
		cli_options_begin(&it, *cmd);
		while ((o = cli_options_next(&it))) {
			snprintf(spelled, sizeof(spelled), "--%s",
				 o->long_name);
			if (!CHECK_NULL(cli_find_foreign(spelled,
							 strlen(spelled))))
				printf("  %s is in cli_foreign[]\n", spelled);
			snprintf(spelled, sizeof(spelled), "-%c",
				 o->short_name);
			if (o->short_name)
				CHECK_NULL(cli_find_foreign(spelled, 2));
		}
	}
	CHECK_NULL(cli_find_foreign("--disable", 9));
	CHECK(cli_find_foreign("--disable-zbb", 13) != NULL);
	CHECK_NULL(cli_find_foreign("stopped", 7));
}

TEST(edit_distance)
{
	CHECK_EQ(cli_edit_distance("run", 3, "run"), 0);
	CHECK_EQ(cli_edit_distance("rnu", 3, "run"), 1);   /* a swap */
	CHECK_EQ(cli_edit_distance("dsik", 4, "disk"), 1);
	CHECK_EQ(cli_edit_distance("rn", 2, "run"), 1);    /* a deletion */
	CHECK_EQ(cli_edit_distance("runn", 4, "run"), 1);  /* an insertion */
	CHECK_EQ(cli_edit_distance("rum", 3, "run"), 1);   /* a substitution */
	CHECK_EQ(cli_edit_distance("sandbx", 6, "sandbox"), 1);
	CHECK_EQ(cli_edit_distance("kern", 4, "kernel"), 2);
	CHECK_EQ(cli_edit_distance("", 0, "abc"), 3);
	CHECK_EQ(cli_edit_distance("abc", 3, ""), 3);
	CHECK_EQ(cli_edit_distance("ca", 2, "abc"), 3);    /* OSA, not DL */
	CHECK_EQ(cli_edit_distance("runXXX", 3, "run"), 0); /* @la bytes */
	CHECK_EQ(cli_edit_distance("x", 1,
				   "0123456789012345678901234567890123456789012345678901234567890123"),
		 UINT_MAX);
}

/* A near miss of a long option is suggested. */
TEST(option_typos)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "--dsik", "a.img", "k", NULL),
			  "unknown option '--dsik' (did you mean '--disk'? see 'lkvm run --help')");
	CHECK_USAGE_ERROR(parse(&c, "--kernal=x", NULL),
			  "unknown option '--kernal' (did you mean '--kernel'?");
	CHECK_USAGE_ERROR(parse(&c, "--cpu", "2", "k", NULL),
			  "did you mean '--cpus'?");
	CHECK_USAGE_ERROR(parse(&c, "--virtio-transprot", "pci", "k", NULL),
			  "did you mean '--virtio-transport'?");
	/* Another case, or a longer or shorter word for the same thing. */
	CHECK_USAGE_ERROR(parse(&c, "--KERNEL", "x", NULL),
			  "did you mean '--kernel'?");
	CHECK_USAGE_ERROR(parse(&c, "--memory", "1G", "k", NULL),
			  "did you mean '--mem'?");
	CHECK_USAGE_ERROR(parse(&c, "--init", "i", "k", NULL),
			  "did you mean '--initrd'?");
	/* Nothing near: no guess. */
	CHECK_USAGE_ERROR(parse(&c, "--bogus", "k", NULL),
			  "unknown option '--bogus' (see 'lkvm run --help')");
	CHECK_USAGE_ERROR(parse(&c, "--xy", "k", NULL),
			  "unknown option '--xy' (see 'lkvm run --help')");
}

/* `lkvm NAME`: kvmtool's commands, run's options, near misses. */
TEST(unknown_commands)
{
	FILE *err;

#define CHECK_UNKNOWN_COMMAND(name, what)                                      \
	do {                                                                   \
		err = errbuf_open();                                           \
		REQUIRE(err);                                                  \
		CHECK_EQ(cli_unknown_command((name), err), LKVM_EXIT_USAGE);   \
		fclose(err);                                                   \
		CHECK_USAGE_ERROR(LKVM_EXIT_USAGE, (what));                    \
	} while (0)

	CHECK_UNKNOWN_COMMAND("rnu", "unknown command 'rnu' (did you mean 'run'? see 'lkvm help')");
	CHECK_UNKNOWN_COMMAND("sandbx", "did you mean 'sandbox'?");
	CHECK_UNKNOWN_COMMAND("verison", "did you mean 'version'?");
	CHECK_UNKNOWN_COMMAND("bogus", "unknown command 'bogus' (see 'lkvm help')");
	CHECK_UNKNOWN_COMMAND("RUN", "did you mean 'run'?");
	CHECK_UNKNOWN_COMMAND("--versoin", "unknown option '--versoin' (did you mean '--version'? see 'lkvm help')");
	CHECK_UNKNOWN_COMMAND("--hlep", "did you mean '--help'?");
	CHECK_UNKNOWN_COMMAND("stop", "'lkvm stop' (a kvmtool command) is not supported by lkvm; stop a VM with Ctrl-A x");
	CHECK_UNKNOWN_COMMAND("list", "'lkvm list' (a kvmtool command)");
	CHECK_UNKNOWN_COMMAND("balloon", "'lkvm balloon' (a kvmtool command) is not supported by lkvm\n");
	CHECK_UNKNOWN_COMMAND("-k", "unknown command '-k' (did you mean 'lkvm run -k ...'?)");
	CHECK_UNKNOWN_COMMAND("-m512", "did you mean 'lkvm run -m512 ...'?");
	CHECK_UNKNOWN_COMMAND("--kernel=bzImage", "did you mean 'lkvm run --kernel=bzImage ...'?");
	CHECK_UNKNOWN_COMMAND("-kernel", "unknown command '-kernel' (did you mean 'lkvm run --kernel ...'?)");
	CHECK_UNKNOWN_COMMAND("--sandbox", "--sandbox (a kvmtool option) is not supported");
	CHECK_UNKNOWN_COMMAND("--bogus", "unknown option '--bogus' (see 'lkvm help')");
	CHECK_UNKNOWN_COMMAND("-", "unknown command '-' (see 'lkvm help')");
#undef CHECK_UNKNOWN_COMMAND
}

/* help takes at most a COMMAND, version nothing. */
TEST(help_and_version_arguments)
{
	struct vm_config c;

	CHECK_OK(parse_cmd(&cli_version_command, &c, NULL));
	CHECK(!c.help);
	CHECK_OK(parse_cmd(&cli_version_command, &c, "--help", NULL));
	CHECK(c.help);
	CHECK_USAGE_ERROR(parse_cmd(&cli_version_command, &c, "extra", NULL),
			  "unexpected argument 'extra' (lkvm version takes none)");
	CHECK_USAGE_ERROR(parse_cmd(&cli_version_command, &c, "-x", NULL),
			  "unknown option '-x' (see 'lkvm help')");

	CHECK_OK(parse_cmd(&cli_help_command, &c, NULL));
	CHECK_NULL(c.name);
	CHECK_OK(parse_cmd(&cli_help_command, &c, "run", NULL));
	CHECK_STREQ(c.name, "run");
	CHECK_USAGE_ERROR(parse_cmd(&cli_help_command, &c, "run", "extra",
				    NULL),
			  "unexpected argument 'extra' (lkvm help [COMMAND])");
	CHECK_USAGE_ERROR(parse_cmd(&cli_help_command, &c, "rnu", NULL),
			  "unknown command 'rnu' (did you mean 'run'?");
	CHECK_USAGE_ERROR(parse_cmd(&cli_help_command, &c, "stop", NULL),
			  "'lkvm stop' (a kvmtool command)");
}

/* What could not be written to standard output is an error. */
TEST(output_errors)
{
	FILE *out, *err;

	out = fopen("/dev/full", "w");
	REQUIRE(out);
	fputs("lkvm version 0.1.0\n", out);
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(cli_close_output(out, err), LKVM_EXIT_FAILURE);
	fclose(err);
	CHECK_STREQ(errbuf, "lkvm: error: cannot write to standard output: No space left on device\n");

	/* More than a buffer: the error comes before the flush. */
	out = fopen("/dev/full", "w");
	REQUIRE(out);
	for (int i = 0; i < 10000; i++)
		fputs("0123456789", out);
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(cli_close_output(out, err), LKVM_EXIT_FAILURE);
	fclose(err);
	CHECK_EQ(count_lines(errbuf), 1);
	CHECK_CONTAINS(errbuf, "lkvm: error: cannot write to standard output: ");

	/* A closed pipe (lkvm help run | head -1): no error line. */
	{
		int fds[2];

		REQUIRE(pipe(fds) == 0);
		close(fds[0]);
		signal(SIGPIPE, SIG_IGN);
		out = fdopen(fds[1], "w");
		REQUIRE(out);
		fputs("usage: lkvm run\n", out);
		err = errbuf_open();
		REQUIRE(err);
		CHECK_EQ(cli_close_output(out, err), LKVM_EXIT_FAILURE);
		fclose(err);
		CHECK_STREQ(errbuf, "");
	}

	/* Nothing to write, or written: fine. */
	out = fopen("/dev/full", "w");
	REQUIRE(out);
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(cli_close_output(out, err), 0);
	out = fopen("/dev/null", "w");
	REQUIRE(out);
	fputs("text\n", out);
	CHECK_EQ(cli_close_output(out, err), 0);
	fclose(err);
	CHECK_STREQ(errbuf, "");
}

/* User strings in messages cannot drive the terminal. */
TEST(escaped_errors)
{
	struct vm_config c;
	FILE *err;

	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(cli_error(err, "cannot read kernel '%s'", "\x1b[31mX\ny"),
		 LKVM_EXIT_USAGE);
	fclose(err);
	CHECK_STREQ(errbuf, "lkvm: error: cannot read kernel '\\x1b[31mX\\x0ay'\n");

	/* UTF-8 stays; DEL and C1 controls do not. */
	err = errbuf_open();
	REQUIRE(err);
	cli_print_error(err, "%s", "caf\xc3\xa9 \x7f \xc2\x9b" "1m");
	fclose(err);
	CHECK_STREQ(errbuf, "lkvm: error: caf\xc3\xa9 \\x7f \\xc2\\x9b1m\n");

	/* Through the parser: still one line. */
	CHECK_USAGE_ERROR(parse(&c, "--name", "a\nb\x1b", "k", NULL),
			  "invalid guest name 'a\\x0ab\\x1b'");

	/* Longer than any fixed buffer: whole. */
	{
		static char longname[3000];
		struct memout m;
		char *text;

		memset(longname, '\t', sizeof(longname) - 1);
		if (memout_start(&m))
			cli_print_error(m.f, "%s", longname);
		text = memout_end(&m);
		REQUIRE(text);
		CHECK_EQ(strlen(text), 13 + 4 * (sizeof(longname) - 1) + 1);
		CHECK_CONTAINS(text, "\\x09\n");
		free(text);
	}
}

/* --- help texts; the man page follows the tables --- */

/* Documentation/@name, whole (malloc'ed; NULL after a message).  The tests
 * run from the top of the tree, which is what precedes "tests/" here. */
static char *read_doc(const char *name)
{
	const char *t = strstr(__FILE__, "tests/");
	char path[512];
	struct memout m;
	FILE *f;
	int c;

	snprintf(path, sizeof(path), "%.*sDocumentation/%s",
		 t ? (int)(t - __FILE__) : 0, __FILE__, name);
	f = fopen(path, "r");
	if (!f) {
		printf("  cannot open %s\n", path);
		return NULL;
	}
	if (memout_start(&m))
		while ((c = fgetc(f)) != EOF)
			fputc(c, m.f);
	fclose(f);
	return memout_end(&m);
}

/* lkvm's usage, generated from cli_commands[], is what it always was. */
TEST(main_usage)
{
	struct memout m;
	char *text;

	if (memout_start(&m))
		cli_print_main_usage(m.f);
	text = memout_end(&m);
	CHECK_STREQ(text,
		    "usage: lkvm COMMAND [ARGS]\n"
		    "\n"
		    "Commands:\n"
		    "  run       Start a virtual machine\n"
		    "  sandbox   Run one command in a virtual machine whose root is a host\n"
		    "            directory (lkvm sandbox [OPTIONS] -- CMD [ARGS...])\n"
		    "  setup     Create a guest root directory in ~/.lkvm (lkvm setup NAME)\n"
		    "  bench     Measure boot time over several boots (lkvm bench boot -n RUNS\n"
		    "            [RUN OPTIONS])\n"
		    "  help      Show help for lkvm or for a command (lkvm help run)\n"
		    "  version   Print lkvm's version\n"
		    "\n"
		    "See 'lkvm help COMMAND' for a command's options.\n");
	free(text);
}

/* `lkvm help run`: --rng (virtio-rng's) where it always was, and the
 * device types after the options, with their help lines. */
TEST(run_help)
{
	const struct virtio_device_type *const *t;
	char *text, *devices, *line, *help;
	struct memout m;

	if (memout_start(&m))
		cli_print_usage(&cli_run_command, m.f);
	text = memout_end(&m);
	REQUIRE(text);
	line = strstr(text, "\n      --rng            virtio-rng device fed by the host's getrandom()\n");
	CHECK(line && strstr(text, "--console TYPE") < line &&
	      line < strstr(text, "--9p DIR"));
	devices = strstr(text, "\nOptions:\n");
	devices = devices ? strstr(devices, "\n\nDevices:\n") : NULL;
	REQUIRE(devices);
	for (t = virtio_device_types; *t; t++) {
		line = strstr(devices, (*t)->name);
		help = line ? strstr(line, (*t)->help) : NULL;
		CHECK(help && !memchr(line, '\n', help - line) &&
		      help[strlen((*t)->help)] == '\n');
	}
	CHECK_CONTAINS(devices, "\n\nThe console is");
	for (line = text; *line; line += strcspn(line, "\n") + 1)
		CHECK(strcspn(line, "\n") <= 80);
	free(text);
}

/* The DEVICES list between the markers is cli_print_devices()'s. */
TEST(man_page_devices)
{
	char *page = read_doc("lkvm-run.txt"), *want, *begin, *end;
	struct memout m;

	if (memout_start(&m))
		cli_print_devices(m.f, 7);
	want = memout_end(&m);
	REQUIRE(page && want);
	begin = strstr(page, "\n       .. devices begin\n");
	end = strstr(page, "\n       .. devices end\n");
	REQUIRE(begin && end && begin < end);
	begin += strlen("\n       .. devices begin\n");
	end[1] = '\0';
	if (!CHECK_STREQ(begin, want))
		printf("  Documentation/lkvm-run.txt is stale: run 'make doc'\n");
	free(page);
	free(want);
}

/* The OPTIONS section has one heading per option of `lkvm run` (device
 * types' and other architectures' included), in --help's order, each the
 * option's --help spelling: "-m, --mem SIZE". */
TEST(man_page_options)
{
	char *page = read_doc("lkvm-run.txt");
	char *sect, *end, *line, *save, *gap, want[128];
	struct cli_option_iter it;
	const struct cli_option *o;

	REQUIRE(page);
	sect = strstr(page, "\nOPTIONS\n");
	REQUIRE(sect);
	for (end = sect + 1; (end = strchr(end, '\n')) && end[1] &&
			     (end[1] == ' ' || end[1] == '\n'); end++)
		;
	if (end)
		*end = '\0';
	cli_options_begin(&it, &cli_run_command);
	for (line = strtok_r(sect, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "       -", 8))
			continue;
		line += 7;
		gap = strstr(line, "  "); /* "--rng  A virtio-rng device..." */
		if (gap)
			*gap = '\0';
		o = cli_options_next(&it);
		if (o)
			cli_format_option(o, want, sizeof(want));
		CHECK_STREQ(line, o ? want : "(no more options)");
	}
	o = cli_options_next(&it);
	CHECK_STREQ(o ? o->long_name : NULL, NULL); /* every one has its heading */
	free(page);
}

int main(void)
{
	RUN(defaults);
	RUN(kernel_spellings);
	RUN(initrd_and_params);
	RUN(mem_sizes);
	RUN(mem_errors);
	RUN(cpus);
	RUN(name_console_debug);
	RUN(double_dash);
	RUN(help);
	RUN(unknown_options);
	RUN(missing_values);
	RUN(kernel_errors);
	RUN(default_kernel);
	RUN(first_error_wins);
	RUN(parse_size_edges);
	RUN(parse_uint_edges);
	RUN(cmdline_build);
	RUN(disks);
	RUN(many_disks);
	RUN(disk_errors);
	RUN(transport_and_rng);
	RUN(shares);
	RUN(share_tags);
	RUN(share_errors);
	RUN(too_many_shares);
	RUN(network);
	RUN(network_errors);
	RUN(sandbox_command);
	RUN(setup_command);
	RUN(option_tables);
	RUN(riscv_only_options);
	RUN(cmdline_add_before_user_params);
	RUN(main_usage);
	RUN(run_help);
	RUN(man_page_devices);
	RUN(man_page_options);
	RUN(values_that_look_like_options);
	RUN(repeated_options);
	RUN(params_append);
	RUN(foreign_names);
	RUN(single_dash_long_options);
	RUN(foreign_table_shadows_nothing);
	RUN(edit_distance);
	RUN(option_typos);
	RUN(unknown_commands);
	RUN(help_and_version_arguments);
	RUN(output_errors);
	RUN(escaped_errors);
	return test_summary();
}
