// SPDX-License-Identifier: GPL-2.0
/*
 * The option values of vmm/frontend/commands.c that test_cli.c does not
 * cover: the PATH[,OPT...] tokenizer shared by --disk and --9p (",," is a
 * literal comma), ,format=raw, disk serials with spaces, -m's range
 * message, and the up-front count of virtio devices per transport.
 */
#include <stdarg.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "host_files.h"
#include "test.h"

#define MAX_ARGS 160

static char errbuf[4096];

/* `lkvm run ARGS...` (NULL-terminated), errors into errbuf. */
static int parse(struct vm_config *cfg, ...)
{
	static char *args[MAX_ARGS];
	FILE *err;
	va_list ap;
	int argc = 0, ret;
	char *a;

	args[argc++] = "run";
	va_start(ap, cfg);
	while ((a = va_arg(ap, char *)) != NULL && argc < MAX_ARGS - 1)
		args[argc++] = a;
	va_end(ap);
	args[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	if (!err)
		exit(1);
	memset(cfg, 0xa5, sizeof(*cfg));
	ret = cli_parse(&cli_run_command, argc, args, cfg, err);
	fclose(err);
	return ret;
}

/* `lkvm run` with @n times "@opt VALUE" (VALUE: @fmt with i), then
 * @extra (or nothing) and the kernel. */
static __attribute__((unused)) int parse_n(struct vm_config *cfg, const char *opt, const char *fmt,
		   int n, const char *extra, const char *extra2)
{
	static char vals[MAX_ARGS][32];
	static char *args[2 * MAX_ARGS];
	FILE *err;
	int argc = 0, i, ret;

	args[argc++] = "run";
	for (i = 0; i < n && i < MAX_ARGS / 2 - 4; i++) {
		snprintf(vals[i], sizeof(vals[i]), fmt, i);
		args[argc++] = (char *)opt;
		args[argc++] = vals[i];
	}
	if (extra)
		args[argc++] = (char *)extra;
	if (extra2)
		args[argc++] = (char *)extra2;
	args[argc++] = "k";
	args[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	err = fmemopen(errbuf, sizeof(errbuf) - 1, "w");
	if (!err)
		exit(1);
	ret = cli_parse(&cli_run_command, argc, args, cfg, err);
	fclose(err);
	return ret;
}

#define CHECK_USAGE_ERROR(ret, what)                                           \
	do {                                                                   \
		CHECK_EQ((ret), LKVM_EXIT_USAGE);                              \
		CHECK_EQ(count_lines(errbuf), 1);                              \
		CHECK(!strncmp(errbuf, "lkvm: error: ", 13));                  \
		CHECK_CONTAINS(errbuf, (what));                                \
	} while (0)

#define CHECK_OK(ret)                                                          \
	do {                                                                   \
		CHECK_EQ((ret), 0);                                            \
		CHECK_STREQ(errbuf, "");                                       \
	} while (0)

/* The fields of @arg, joined with '|' ("a,b|ro"). */
static void fields(const char *arg, char *out, size_t cap)
{
	const char *pos = arg;
	bool more = true;
	size_t len = 0;

	out[0] = '\0';
	while (more) {
		char *f = cli_next_field(&pos, &more);

		if (!f)
			return;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", f,
					more ? "|" : "");
		free(f);
		if (len >= cap)
			return;
	}
}

TEST(field_tokenizer)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a.img", "a.img" },
		{ "a.img,ro", "a.img|ro" },
		{ "a,,b.img,ro", "a,b.img|ro" },
		{ "a,,,ro", "a,|ro" },
		{ "a,,", "a," },
		{ ",,a", ",a" },
		{ "a,,,,b", "a,,b" },
		{ "a,", "a|" },
		{ "a,,b,serial=x,,y,direct", "a,b|serial=x,y|direct" },
		{ "", "" },
		{ ",ro", "|ro" },
	};
	char out[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fields(cases[i].in, out, sizeof(out));
		if (!CHECK_STREQ(out, cases[i].out))
			printf("  (that was: '%s')\n", cases[i].in);
	}
}

TEST(commas_in_paths)
{
	struct vm_config c;

	CHECK_OK(parse(&c, "-d", "a,,b.img,ro", "--9p", "/srv/x,,y,,,tag,,1,ro",
		       "-d", "c,,", "k", NULL));
	REQUIRE(c.nr_disks == 2 && c.nr_shares == 1);
	CHECK_STREQ(c.disks[0].path, "a,b.img");
	CHECK(c.disks[0].readonly);
	CHECK_STREQ(c.disks[1].path, "c,");
	CHECK(!c.disks[1].readonly);
	CHECK_STREQ(c.shares[0].path, "/srv/x,y,");
	CHECK_STREQ(c.shares[0].tag, "tag,1");
	CHECK(c.shares[0].readonly);
	cli_free_config(&c);

	/* A lone comma still ends the path. */
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,b.img", "k", NULL),
			  "unknown disk option 'b.img'");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", ",,", "-d", ",ro", "k", NULL),
			  "--disk needs a path");
	cli_free_config(&c);
}

TEST(disk_serial_and_format)
{
	struct vm_config c;

	/* A space is printable; so is a comma, written ",,". */
	CHECK_OK(parse(&c, "-d", "a.img,serial=my disk 1", "-d",
		       "b.img,serial=x,,y,format=raw", "k", NULL));
	REQUIRE(c.nr_disks == 2);
	CHECK_STREQ(c.disks[0].serial, "my disk 1");
	CHECK(!c.disks[0].format_raw);
	CHECK_STREQ(c.disks[1].serial, "x,y");
	CHECK(c.disks[1].format_raw);
	cli_free_config(&c);

	CHECK_USAGE_ERROR(parse(&c, "-d", "a,serial=a\tb", "k", NULL),
			  "not printable ASCII (allowed: letters, digits, space and punctuation)");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,serial=\x7f", "k", NULL),
			  "not printable ASCII");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a.qcow2,format=qcow2", "k", NULL),
			  "unsupported disk format 'qcow2' in --disk a.qcow2,format=qcow2: lkvm reads raw images only (format=raw)");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", "a,bogus", "k", NULL),
			  "(ro, direct, aio=, serial=, format=raw)");
	cli_free_config(&c);
}

int main(void)
{
	RUN(field_tokenizer);
	RUN(commas_in_paths);
	RUN(disk_serial_and_format);
	return test_summary();
}
