// SPDX-License-Identifier: GPL-2.0
/* `lkvm run` option parsing (vmm/frontend/cli.c) and the number parsers (vmm/util.c). */
#include <stdarg.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
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

/*
 * cli_parse_run("run", ...NULL) with its error stream captured in errbuf.
 * The argument strings are literals, so pointers into them stay valid.
 */
static int parse(struct vm_config *cfg, ...)
{
	va_list ap;
	int argc = 0, ret;
	char *a;
	FILE *err;

	args[argc++] = "run";
	va_start(ap, cfg);
	while ((a = va_arg(ap, char *)) != NULL && argc < MAX_ARGS - 1)
		args[argc++] = a;
	va_end(ap);
	args[argc] = NULL;

	err = errbuf_open();
	if (!err) {
		perror("fmemopen");
		exit(1);
	}
	memset(cfg, 0xa5, sizeof(*cfg)); /* the parser must reset everything */
	ret = cli_parse_run(argc, args, cfg, err);
	fclose(err);
	return ret;
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

/* Success: status 0 and nothing printed. */
#define CHECK_OK(ret)                                                          \
	do {                                                                   \
		CHECK_EQ((ret), 0);                                            \
		CHECK_STREQ(errbuf, "");                                       \
	} while (0)

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
	struct vm_config c;

	CHECK_OK(parse(&c, "-m512", "k", NULL));
	CHECK_EQ(c.mem_bytes, 512 * MiB);
	CHECK(c.mem_set);
	CHECK_OK(parse(&c, "--mem", "2G", "k", NULL));
	CHECK_EQ(c.mem_bytes, 2 * GiB);
	CHECK_OK(parse(&c, "--mem=3g", "k", NULL));
	CHECK_EQ(c.mem_bytes, 3 * GiB);
	CHECK_OK(parse(&c, "-m", "8192K", "k", NULL));
	CHECK_EQ(c.mem_bytes, 8 * MiB);
	CHECK_OK(parse(&c, "-m", "4096k", "k", NULL)); /* the 4 MiB minimum */
	CHECK_EQ(c.mem_bytes, 4 * MiB);
	CHECK_OK(parse(&c, "-m", "4", "k", NULL));
	CHECK_EQ(c.mem_bytes, 4 * MiB);
	CHECK_OK(parse(&c, "-m", "1T", "k", NULL)); /* the 1 TiB maximum */
	CHECK_EQ(c.mem_bytes, 1024 * GiB);
	CHECK_OK(parse(&c, "-m", "1024G", "k", NULL));
	CHECK_EQ(c.mem_bytes, 1024 * GiB);
	CHECK_OK(parse(&c, "-m", "512MB", "k", NULL));
	CHECK_EQ(c.mem_bytes, 512 * MiB);
	CHECK_OK(parse(&c, "-m", "512MiB", "k", NULL));
	CHECK_EQ(c.mem_bytes, 512 * MiB);
	/* The last -m wins. */
	CHECK_OK(parse(&c, "-m", "64", "-m", "128", "k", NULL));
	CHECK_EQ(c.mem_bytes, 128 * MiB);
}

TEST(mem_errors)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "-m", "0", "k", NULL), "'0'");
	CHECK_CONTAINS(errbuf, "memory size");
	CHECK_USAGE_ERROR(parse(&c, "-m", "abc", "k", NULL),
			  "invalid memory size 'abc' for -m");
	CHECK_USAGE_ERROR(parse(&c, "-m", "12X", "k", NULL),
			  "invalid memory size '12X'");
	CHECK_USAGE_ERROR(parse(&c, "--mem=", "k", NULL),
			  "invalid memory size '' for --mem");
	CHECK_USAGE_ERROR(parse(&c, "-m", "-512", "k", NULL),
			  "invalid memory size '-512'");
	CHECK_USAGE_ERROR(parse(&c, "-m", " 512", "k", NULL),
			  "invalid memory size");
	CHECK_USAGE_ERROR(parse(&c, "-m", "512 ", "k", NULL),
			  "invalid memory size");
	CHECK_USAGE_ERROR(parse(&c, "-m", "1.5G", "k", NULL),
			  "invalid memory size '1.5G'");
	CHECK_USAGE_ERROR(parse(&c, "-m", "2GG", "k", NULL),
			  "invalid memory size '2GG'");
	/* Overflow: of strtoull, and of the unit multiplication. */
	CHECK_USAGE_ERROR(parse(&c, "-m", "99999999999999999999", "k", NULL),
			  "invalid memory size '99999999999999999999'");
	CHECK_USAGE_ERROR(parse(&c, "-m", "17179869184G", "k", NULL),
			  "invalid memory size");
	CHECK_USAGE_ERROR(parse(&c, "-m", "18446744073709551615", "k", NULL),
			  "invalid memory size");
	/* Not a multiple of 4 KiB (checked before the range). */
	CHECK_USAGE_ERROR(parse(&c, "-m", "4097K", "k", NULL),
			  "multiple of 4 KiB");
	CHECK_USAGE_ERROR(parse(&c, "-m", "1K", "k", NULL), "multiple of 4 KiB");
	/* Below 4 MiB, above 1 TiB. */
	CHECK_USAGE_ERROR(parse(&c, "-m", "1024K", "k", NULL), "out of range");
	CHECK_USAGE_ERROR(parse(&c, "-m", "3", "k", NULL), "out of range");
	CHECK_USAGE_ERROR(parse(&c, "-m", "1025G", "k", NULL), "out of range");
	CHECK_USAGE_ERROR(parse(&c, "--mem", "2T", "k", NULL),
			  "'2T' for --mem is out of range");
	CHECK_USAGE_ERROR(parse(&c, "-m", "17179869183G", "k", NULL),
			  "out of range");
}

TEST(cpus)
{
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

	CHECK_USAGE_ERROR(parse(&c, "-c", "0", "k", NULL),
			  "invalid CPU count '0' for -c");
	CHECK_USAGE_ERROR(parse(&c, "-c", "255", "k", NULL),
			  "invalid CPU count '255'");
	CHECK_USAGE_ERROR(parse(&c, "-c", "-1", "k", NULL),
			  "invalid CPU count '-1'");
	CHECK_USAGE_ERROR(parse(&c, "-c", "2x", "k", NULL),
			  "invalid CPU count '2x'");
	CHECK_USAGE_ERROR(parse(&c, "--cpus", "", "k", NULL),
			  "invalid CPU count '' for --cpus");
	CHECK_USAGE_ERROR(parse(&c, "-c", "4294967297", "k", NULL),
			  "invalid CPU count");
	CHECK_USAGE_ERROR(parse(&c, "-c", "99999999999999999999", "k", NULL),
			  "invalid CPU count");
	CHECK_USAGE_ERROR(parse(&c, "-c", "0x4", "k", NULL),
			  "invalid CPU count '0x4'");
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
			  "unexpected argument 'b' (kernel already given as 'a')");
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
	CHECK_EQ(c.rng, false);
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
	char *argv[2 * 40 + 3];
	int argc = 0, i;
	FILE *err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");

	/* No four-disk limit. */
	argv[argc++] = "run";
	for (i = 0; i < 40; i++) {
		argv[argc++] = "-d";
		argv[argc++] = "x.img";
	}
	argv[argc++] = "k";
	argv[argc] = NULL;
	CHECK_EQ(cli_parse_run(argc, argv, &c, err), 0);
	CHECK_EQ(c.nr_disks, 40);
	cli_free_config(&c);
	fclose(err);
}

TEST(disk_errors)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "-d", "", "k", NULL), "--disk needs a path");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", ",ro", "k", NULL), "--disk needs a path");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,rw", "k", NULL),
			  "unknown disk option 'rw' in --disk a,rw");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,aio=posix", "k", NULL),
			  "unknown disk I/O backend 'posix'");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,serial=", "k", NULL),
			  "must be 1-20 characters");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,serial=123456789012345678901", "k", NULL),
			  "must be 1-20 characters");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,serial=a b", "k", NULL),
			  "not printable ASCII");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,", "k", NULL),
			  "unknown disk option ''");
	cli_free_config(&c);
	/* An error after a good disk: the first disk is still freed. */
	CHECK_USAGE_ERROR(parse(&c, "-d", "a", "-d", "b,x", "k", NULL),
			  "unknown disk option 'x'");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", NULL), "option '-d' needs a value");
	cli_free_config(&c);
}

TEST(transport_and_rng)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "--rng", "k", NULL));
	CHECK_EQ(c.rng, true);
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
	struct vm_config c;
	char tag[LKVM_9P_TAG_MAX + 2], arg[LKVM_9P_TAG_MAX + 16];

	CHECK_USAGE_ERROR(parse(&c, "--9p", "", "k", NULL),
			  "--9p needs a directory");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", ",tag", "k", NULL),
			  "--9p needs a directory");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", "dir,", "k", NULL),
			  "empty 9p tag in --9p dir,");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", "dir,,ro", "k", NULL),
			  "empty 9p tag");
	cli_free_config(&c);
	memset(tag, 'x', LKVM_9P_TAG_MAX + 1);
	tag[LKVM_9P_TAG_MAX + 1] = '\0';
	snprintf(arg, sizeof(arg), "dir,%s", tag);
	CHECK_USAGE_ERROR(parse(&c, "--9p", arg, "k", NULL),
			  "is longer than 64 bytes");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", "dir,t\tab", "k", NULL),
			  "not printable ASCII");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", "dir,t\xc3\xa9", "k", NULL),
			  "not printable ASCII");
	cli_free_config(&c);
	/* A second non-keyword field is not a second tag. */
	CHECK_USAGE_ERROR(parse(&c, "--9p", "dir,tag,rw", "k", NULL),
			  "unknown 9p option 'rw' in --9p dir,tag,rw (the tag is 'tag'");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", "dir,tag,", "k", NULL),
			  "unknown 9p option ''");
	cli_free_config(&c);
	/* The same tag twice, also when it is the default. */
	CHECK_USAGE_ERROR(parse(&c, "--9p", "a", "--9p", "b", "k", NULL),
			  "9p tag 'kvm_9p' is used twice; give each --9p its own tag: --9p DIR,TAG");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", "a,t", "--9p", "b,u", "--9p", "c,ro,t",
				"k", NULL),
			  "9p tag 't' is used twice");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--9p", NULL), "option '--9p' needs a value");
	cli_free_config(&c);
}

TEST(too_many_shares)
{
	struct vm_config c;
	char *argv[2 * (LKVM_MAX_SHARES + 1) + 3];
	char arg[LKVM_MAX_SHARES + 1][32];
	int argc = 0, i;
	FILE *err;

	argv[argc++] = "run";
	for (i = 0; i < LKVM_MAX_SHARES; i++) {
		snprintf(arg[i], sizeof(arg[i]), "/d%d,tag%d", i, i);
		argv[argc++] = "--9p";
		argv[argc++] = arg[i];
	}
	argv[argc++] = "k";
	argv[argc] = NULL;
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(cli_parse_run(argc, argv, &c, err), 0);
	CHECK_EQ(c.nr_shares, LKVM_MAX_SHARES);
	if (c.nr_shares == LKVM_MAX_SHARES)
		CHECK_STREQ(c.shares[LKVM_MAX_SHARES - 1].tag, "tag31");
	cli_free_config(&c);
	fclose(err);
	CHECK_STREQ(errbuf, "");

	/* One more is a usage error. */
	argc--;
	snprintf(arg[i], sizeof(arg[i]), "/d%d,tag%d", i, i);
	argv[argc++] = "--9p";
	argv[argc++] = arg[i];
	argv[argc++] = "k";
	argv[argc] = NULL;
	err = errbuf_open();
	REQUIRE(err);
	CHECK_EQ(cli_parse_run(argc, argv, &c, err), LKVM_EXIT_USAGE);
	fclose(err);
	CHECK_CONTAINS(errbuf, "too many --9p shares (at most 32)");
	CHECK_EQ(count_lines(errbuf), 1);
	cli_free_config(&c);
}

/* x86 has no device tree and one irqchip: both riscv options are usage
 * errors that say so (the unit tests build the x86 CLI). */
TEST(riscv_only_options)
{
	struct vm_config c;

	CHECK_USAGE_ERROR(parse(&c, "--dump-dtb", "/tmp/x.dtb", "k", NULL),
			  "--dump-dtb: x86 guests have no device tree");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--irqchip", "aia", "k", NULL),
			  "--irqchip: x86 has one interrupt controller");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "--dump-dtb", NULL), "option '--dump-dtb' needs a value");
	cli_free_config(&c);
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

/* --- help texts, and the man page follows the tables --- */

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
	RUN(riscv_only_options);
	RUN(cmdline_add_before_user_params);
	RUN(run_help);
	RUN(man_page_devices);
	RUN(man_page_options);
	return test_summary();
}
