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
static int parse_n(struct vm_config *cfg, const char *opt, const char *fmt,
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

/* One line before anything starts, naming the transport's real limit,
 * and the other transport only when it takes them all. */
TEST(device_count_per_transport)
{
	struct vm_config c;

	CHECK_OK(parse_n(&c, "-d", "x%d.img", 31, NULL, NULL));
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 32, NULL, NULL),
			  "too many virtio devices for --virtio-transport pci (the default): 32 given (32 virtio-blk), at most 31 on x86 (one PCI slot each)\n");
	cli_free_config(&c);
	/* Every device type counts, in creation order. */
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 30, "--rng",
				  "--console=virtio"),
			  "32 given (1 virtio-console, 1 virtio-rng, 30 virtio-blk), at most 31");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "--9p", "/d,t%d", 31, "-d", "a.img"),
			  "32 given (1 virtio-blk, 31 virtio-9p)");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 32, "--virtio-transport",
				  "pci-legacy"),
			  "--virtio-transport pci-legacy: 32 given (32 virtio-blk), at most 31 on x86 (one PCI slot each)\n");
	cli_free_config(&c);

	/* mmio: 15 interrupt lines on x86; pci takes 16 (said), not 32. */
	CHECK_OK(parse_n(&c, "-d", "x%d.img", 15, "--virtio-transport", "mmio"));
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 16, "--virtio-transport",
				  "mmio"),
			  "too many virtio devices for --virtio-transport mmio: 16 given (16 virtio-blk), at most 15 on x86 (one interrupt line each); --virtio-transport pci allows 31\n");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "--9p", "/d,t%d", 16,
				  "--virtio-transport", "mmio-legacy"),
			  "--virtio-transport mmio-legacy: 16 given (16 virtio-9p), at most 15 on x86");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 32, "--virtio-transport",
				  "mmio"),
			  "at most 15 on x86 (one interrupt line each)\n");
	cli_free_config(&c);

	/* lkvm's default network card takes a slot only when one is free
	 * (31 disks above, 15 on mmio: fine); a card asked for counts. */
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 31, "-nmode=user", NULL),
			  "32 given (31 virtio-blk, 1 virtio-net), at most 31");
	cli_free_config(&c);
	CHECK_OK(parse_n(&c, "-d", "x%d.img", 14, "-nmode=user",
			 "--virtio-transport=mmio"));
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse_n(&c, "-d", "x%d.img", 15, "-nmode=tap",
				  "--virtio-transport=mmio"),
			  "16 given (15 virtio-blk, 1 virtio-net), at most 15");
	cli_free_config(&c);
	CHECK_OK(parse_n(&c, "-d", "x%d.img", 31, "-nnone", NULL));
	cli_free_config(&c);

	CHECK_EQ(virtio_transport_max_devices(VIRTIO_TRANSPORT_DEFAULT), 31);
	CHECK_EQ(virtio_transport_max_devices(VIRTIO_TRANSPORT_MMIO_LEGACY), 15);
}

/* The same image twice would fail on its own lock as "locked by another
 * process": said as what it is, by any path, before anything is opened. */
TEST(disk_given_twice)
{
	char dir[128], a[256], b[256], via[300], want[700];
	struct vm_config c;

	REQUIRE(tmp_dir_make(dir, sizeof(dir), "commands"));
	snprintf(a, sizeof(a), "%s/a.img", dir);
	snprintf(b, sizeof(b), "%s/b.img", dir);
	snprintf(via, sizeof(via), "%s/../%s/a.img", dir, strrchr(dir, '/') + 1);
	REQUIRE(file_put(a, "x", 1, 0644) == 0);
	REQUIRE(file_put(b, "x", 1, 0644) == 0);

	snprintf(want, sizeof(want), "lkvm: error: disk '%s' given twice\n", a);
	CHECK_USAGE_ERROR(parse(&c, "-d", a, "-d", b, "-d", a, "k", NULL), "");
	CHECK_STREQ(errbuf, want);
	cli_free_config(&c);
	snprintf(want, sizeof(want),
		 "lkvm: error: disk '%s' given twice (it is the same file as disk '%s')\n",
		 via, a);
	CHECK_USAGE_ERROR(parse(&c, "-d", a, "-d", via, "k", NULL), "");
	CHECK_STREQ(errbuf, want);
	cli_free_config(&c);
	/* Read-only and read-write: the write lock would conflict. */
	CHECK_USAGE_ERROR(parse(&c, "-d", a, "-d", via, "k", NULL),
			  "given twice");
	cli_free_config(&c);
	CHECK_USAGE_ERROR(parse(&c, "-d", a, "-d", strcat(strcpy(want, a), ",ro"),
				"k", NULL),
			  "given twice");
	cli_free_config(&c);
	/* Twice read-only shares read locks: allowed. */
	snprintf(want, sizeof(want), "%s,ro", a);
	CHECK_OK(parse(&c, "-d", want, "-d", want, "k", NULL));
	cli_free_config(&c);
	/* Different files, and a missing one (disk_open() reports it). */
	CHECK_OK(parse(&c, "-d", a, "-d", b, "-d", "/nonexistent.img", "-d",
		       "/nonexistent.img", "k", NULL));
	cli_free_config(&c);
	tmp_dir_remove(dir);
}

/* -m 0 and -m 3 are the same mistake: one message, with the range. */
TEST(mem_range)
{
	static const char *const small[] = { "0", "00", "0M", "0g", "3", "1024K" };
	struct vm_config c;
	char want[128];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(small); i++) {
		snprintf(want, sizeof(want),
			 "lkvm: error: memory size '%s' for -m is out of range: give 4 MiB to 1 TiB\n",
			 small[i]);
		CHECK_USAGE_ERROR(parse(&c, "-m", small[i], "k", NULL), "");
		CHECK_STREQ(errbuf, want);
	}
	CHECK_USAGE_ERROR(parse(&c, "--mem", "1025G", "k", NULL),
			  "memory size '1025G' for --mem is out of range: give 4 MiB to 1 TiB");
	/* Not a size at all: still "invalid". */
	CHECK_USAGE_ERROR(parse(&c, "-m", "0x", "k", NULL), "invalid memory size '0x'");
	CHECK_USAGE_ERROR(parse(&c, "-m", "0.5G", "k", NULL), "invalid memory size");
	CHECK_OK(parse(&c, "-m", "4100K", "k", NULL));
	CHECK_EQ(c.mem_bytes, 4100 * KiB);
}

int main(void)
{
	RUN(field_tokenizer);
	RUN(commas_in_paths);
	RUN(disk_serial_and_format);
	RUN(device_count_per_transport);
	RUN(disk_given_twice);
	RUN(mem_range);
	return test_summary();
}
