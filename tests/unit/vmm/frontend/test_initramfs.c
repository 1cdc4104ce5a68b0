// SPDX-License-Identifier: GPL-2.0
/*
 * The 9p-root initramfs (vmm/frontend/initramfs.c): module dependency closure from a
 * fake /lib/modules/RELEASE tree, decompression of .ko.xz/.ko.zst/.ko.gz,
 * and the cpio archive read back with libarchive.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lkvm/config.h"
#include "lkvm/initramfs.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/util.h"
#include "host_files.h"
#include "test.h"

static char tmpdir[64];
static char moddir[256];

/* --- the fake modules tree --- */

/* Known module contents: an ELF magic, the name, then a pattern. */
static size_t module_bytes(const char *name, uint8_t *buf, size_t cap)
{
	size_t n = 3000 + strlen(name) * 101, i;

	if (n > cap)
		n = cap;
	memcpy(buf, "\177ELF", 4);
	for (i = 4; i < n; i++)
		buf[i] = (uint8_t)(name[i % strlen(name)] ^ (i * 7));
	return n;
}

static void write_file(const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", moddir, rel);
	file_put_or_exit(path, data, len);
}

/* Compress @data into @rel with a libarchive filter, as one raw stream. */
static void write_compressed(const char *rel, int (*filter)(struct archive *),
			     const void *data, size_t len)
{
	char path[512];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	snprintf(path, sizeof(path), "%s/%s", moddir, rel);
	archive_write_set_format_raw(a);
	filter(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		printf("cannot write %s: %s\n", path, archive_error_string(a));
		exit(1);
	}
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_write_header(a, e);
	archive_write_data(a, data, len);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
}

static void write_module(const char *rel, const char *name)
{
	uint8_t buf[16384];
	size_t n = module_bytes(name, buf, sizeof(buf));
	size_t len = strlen(rel);

	if (len > 3 && !strcmp(rel + len - 3, ".xz")) {
		/* As Debian makes them: the xz command. */
		char raw[300], cmd[700];
		int st;

		snprintf(raw, sizeof(raw), "%.*s", (int)(len - 3), rel);
		write_file(raw, buf, n);
		snprintf(cmd, sizeof(cmd), "xz -f --check=crc32 '%s/%s' 2>/dev/null",
			 moddir, raw);
		st = system(cmd);
		if (st != 0) /* no xz command: libarchive's filter */
			write_compressed(rel, archive_write_add_filter_xz, buf, n);
	} else if (len > 4 && !strcmp(rel + len - 4, ".zst")) {
		write_compressed(rel, archive_write_add_filter_zstd, buf, n);
	} else if (len > 3 && !strcmp(rel + len - 3, ".gz")) {
		write_compressed(rel, archive_write_add_filter_gzip, buf, n);
	} else {
		write_file(rel, buf, n);
	}
}

static const char modules_dep[] =
	"kernel/drivers/virtio/virtio_ring.ko:\n"
	"kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz:\n"
	/* depmod's order: modprobe loads right to left. */
	"kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/net/9p/9pnet.ko.zst:\n"
	"kernel/net/9p/9pnet_virtio.ko:\tkernel/net/9p/9pnet.ko.zst  kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/fs/netfs/netfs.ko.gz:\n"
	"kernel/fs/9p/9p.ko: kernel/fs/netfs/netfs.ko.gz kernel/net/9p/9pnet.ko.zst\n"
	"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
	"kernel/x/loop_a.ko: kernel/x/loop_b.ko\n"
	"kernel/x/loop_b.ko: kernel/x/loop_a.ko\n"
	"kernel/x/orphan.ko: kernel/x/gone.ko\n"
	"kernel/x/broken.ko.xz:\n"
	"kernel/drivers/misc/pvpanic/pvpanic.ko:\n"
	"kernel/drivers/misc/pvpanic/pvpanic-mmio.ko: kernel/drivers/misc/pvpanic/pvpanic.ko\n"
	/* Listed, but their files (or a dependency's) are not there. */
	"kernel/x/nofile.ko:\n"
	"kernel/x/depgone.ko: kernel/x/nofile.ko\n"
	"not a module line\n"
	"\n";

static const char modules_builtin[] =
	"kernel/drivers/char/hw_random/virtio-rng.ko\n"
	"kernel/fs/ext4/ext4.ko\n";

static void make_tree(void)
{
	static const char *const dirs[] = {
		"kernel", "kernel/drivers", "kernel/drivers/virtio",
		"kernel/drivers/block", "kernel/net", "kernel/net/9p",
		"kernel/fs", "kernel/fs/netfs", "kernel/fs/9p", "kernel/x",
		"kernel/drivers/misc", "kernel/drivers/misc/pvpanic",
	};
	static const struct { const char *rel, *name; } mods[] = {
		{ "kernel/drivers/virtio/virtio_ring.ko", "virtio_ring" },
		{ "kernel/drivers/virtio/virtio.ko", "virtio" },
		{ "kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz",
		  "virtio_pci_modern_dev" },
		{ "kernel/drivers/virtio/virtio_pci.ko", "virtio_pci" },
		{ "kernel/drivers/virtio/virtio_mmio.ko", "virtio_mmio" },
		{ "kernel/net/9p/9pnet.ko.zst", "9pnet" },
		{ "kernel/net/9p/9pnet_virtio.ko", "9pnet_virtio" },
		{ "kernel/fs/netfs/netfs.ko.gz", "netfs" },
		{ "kernel/fs/9p/9p.ko", "9p" },
		{ "kernel/drivers/block/virtio_blk.ko", "virtio_blk" },
		{ "kernel/x/loop_a.ko", "loop_a" },
		{ "kernel/x/loop_b.ko", "loop_b" },
		{ "kernel/x/orphan.ko", "orphan" },
		{ "kernel/drivers/misc/pvpanic/pvpanic.ko", "pvpanic" },
		{ "kernel/drivers/misc/pvpanic/pvpanic-mmio.ko", "pvpanic_mmio" },
		{ "kernel/x/depgone.ko", "depgone" },
	};
	char path[512];
	unsigned int i;

	if (!tmp_dir_make(tmpdir, sizeof(tmpdir), "initramfs"))
		exit(1);
	snprintf(moddir, sizeof(moddir), "%s/6.1.0-test", tmpdir);
	mkdir(moddir, 0755);
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", moddir, dirs[i]);
		mkdir(path, 0755);
	}
	for (i = 0; i < ARRAY_SIZE(mods); i++)
		write_module(mods[i].rel, mods[i].name);
	/* xz's magic, then garbage; and a raw module misnamed .ko.gz. */
	write_file("kernel/x/broken.ko.xz", "\3757zXZ\0garbage-garbage-garbage", 30);
	write_file("kernel/x/raw.ko.gz", "\177ELF not compressed", 20);
	write_file("modules.dep", modules_dep, strlen(modules_dep));
	write_file("modules.builtin", modules_builtin, strlen(modules_builtin));
}

static int resolve(struct module_set *ms, const char *const *names,
		   unsigned int n, struct capture *cap)
{
	int err;

	capture_start(cap);
	err = modules_resolve(moddir, names, n, true, ms);
	capture_end(cap);
	return err;
}

static bool set_is(const struct module_set *ms, const char *const *want,
		   unsigned int n)
{
	unsigned int i;

	if (ms->nr != n) {
		printf("  got %u modules:", ms->nr);
		for (i = 0; i < ms->nr; i++)
			printf(" %s", ms->mods[i].name);
		printf("\n");
		return false;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(ms->mods[i].name, want[i])) {
			printf("  module %u is %s, expected %s\n", i,
			       ms->mods[i].name, want[i]);
			return false;
		}
	}
	return true;
}

/* The modules the initramfs wants for @cfg: @nr of them (NULL after the
 * last), the first ones @want (NULL-terminated). */
static void check_wanted(const struct vm_config *cfg, unsigned int nr,
			 const char *const *want)
{
	const char **names;
	unsigned int n;

	names = initramfs_wanted_modules(cfg, &n);
	REQUIRE(names);
	CHECK_EQ(n, nr);
	for (unsigned int i = 0; want[i] && i < n; i++)
		CHECK_STREQ(names[i], want[i]);
	CHECK_NULL(names[n]);
	free(names);
}

TEST(wanted_modules)
{
	struct vm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	check_wanted(&cfg, 3, (const char *const[]){
		"virtio_pci", "9pnet_virtio", "9p", NULL });

	cfg.transport = VIRTIO_TRANSPORT_MMIO_LEGACY;
	cfg.console = CONSOLE_VIRTIO;
	REQUIRE(virtio_device_request(&cfg, &virtio_rng_type, NULL) == 0);
	cfg.nr_disks = 1;
	check_wanted(&cfg, 6, (const char *const[]){
		"virtio_mmio", "virtio_console", "virtio_rng", "virtio_blk",
		"9pnet_virtio", "9p", NULL });

	cfg.transport = VIRTIO_TRANSPORT_PCI_LEGACY;
	cfg.console = CONSOLE_SERIAL;
	cfg.nr_dev_reqs = 0;
	check_wanted(&cfg, 4, (const char *const[]){
		"virtio_pci", "virtio_blk", NULL });

	/* No -n: lkvm's default NIC, whose driver is optional (below), not
	 * wanted; a NIC asked for wants virtio_net, after the 9p modules
	 * (the table's order); -n none wants nothing more. */
	CHECK_EQ(virtio_net_type.count(&cfg), 1);
	REQUIRE(virtio_device_request(&cfg, &virtio_net_type, "mode=user") == 0);
	check_wanted(&cfg, 5, (const char *const[]){
		"virtio_pci", "virtio_blk", "9pnet_virtio", "9p", "virtio_net",
		NULL });
	REQUIRE(virtio_device_request(&cfg, &virtio_net_type, "tapif=tap0") == 0);
	check_wanted(&cfg, 5, (const char *const[]){
		"virtio_pci", "virtio_blk", "9pnet_virtio", "9p", "virtio_net",
		NULL });
	cfg.nr_dev_reqs = 0;
	REQUIRE(virtio_device_request(&cfg, &virtio_net_type, "none") == 0);
	check_wanted(&cfg, 4, (const char *const[]){
		"virtio_pci", "virtio_blk", "9pnet_virtio", "9p", NULL });
}

/* The optional list for @cfg is exactly @want (NULL-terminated). */
static void check_optional(const struct vm_config *cfg,
			   const char *const *want)
{
	const char **opt = initramfs_optional_modules(cfg);
	unsigned int i;

	REQUIRE(opt);
	for (i = 0; want[i]; i++)
		CHECK_STREQ(opt[i] ? opt[i] : "(end)", want[i]);
	CHECK_NULL(opt[i]);
	free(opt);
}

/* Optional: the pvpanic driver always, virtio_net for the default NIC
 * only (one asked for is required; none has none). */
TEST(optional_modules_follow_the_config)
{
	struct vm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	check_optional(&cfg, (const char *const[]){ "pvpanic_mmio",
						    "virtio_net", NULL });
	REQUIRE(virtio_device_request(&cfg, &virtio_net_type, "none") == 0);
	check_optional(&cfg, (const char *const[]){ "pvpanic_mmio", NULL });
	cfg.nr_dev_reqs = 0;
	REQUIRE(virtio_device_request(&cfg, &virtio_net_type, "mode=user") == 0);
	check_optional(&cfg, (const char *const[]){ "pvpanic_mmio", NULL });
	/* Every mmio line taken: no default NIC, no driver for it. */
	cfg.nr_dev_reqs = 0;
	cfg.transport = VIRTIO_TRANSPORT_MMIO;
	cfg.nr_disks = virtio_transport_max_devices(VIRTIO_TRANSPORT_MMIO);
	CHECK_EQ(virtio_net_type.count(&cfg), 0);
	check_optional(&cfg, (const char *const[]){ "pvpanic_mmio", NULL });
	cfg.nr_disks--;
	CHECK_EQ(virtio_net_type.count(&cfg), 1);
	check_optional(&cfg, (const char *const[]){ "pvpanic_mmio",
						    "virtio_net", NULL });
}

TEST(module_names)
{
	char name[INITRAMFS_MODULE_NAME_MAX], longp[200];

	CHECK(module_name_of("kernel/fs/9p/9p.ko.xz", name, sizeof(name)));
	CHECK_STREQ(name, "9p");
	CHECK(module_name_of("/abs/virtio-rng.ko", name, sizeof(name)));
	CHECK_STREQ(name, "virtio_rng");
	CHECK(module_name_of("a-b-c.ko.zst", name, sizeof(name)));
	CHECK_STREQ(name, "a_b_c");
	CHECK(module_name_of("x.ko.gz", name, sizeof(name)));
	CHECK_STREQ(name, "x");
	CHECK(!module_name_of("kernel/x.o", name, sizeof(name)));
	CHECK(!module_name_of("kernel/.ko", name, sizeof(name)));
	CHECK(!module_name_of("x.ko.bz2", name, sizeof(name)));
	CHECK(!module_name_of("", name, sizeof(name)));
	memset(longp, 'a', 100);
	strcpy(longp + 100, ".ko");
	CHECK(!module_name_of(longp, name, sizeof(name)));
	CHECK(!module_name_of("abcd.ko", name, 4));
	CHECK(module_name_of("abc.ko", name, 4));
}

TEST(closure_order)
{
	static const char *const want[] = {
		"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci",
		"9pnet", "9pnet_virtio", "netfs", "9p",
	};
	const char *names[] = { "virtio_pci", "9pnet_virtio", "9p" };
	struct module_set ms;
	struct capture cap;
	unsigned int i, j;

	CHECK_EQ(resolve(&ms, names, 3, &cap), 0);
	CHECK_STREQ(cap.text, "");
	CHECK(set_is(&ms, want, ARRAY_SIZE(want)));
	/* Paths are relative to the modules directory. */
	for (i = 0; i < ms.nr; i++)
		CHECK(!strncmp(ms.mods[i].path, moddir, strlen(moddir)));
	if (ms.nr > 2)
		CHECK(strstr(ms.mods[2].path,
			     "/kernel/drivers/virtio/virtio-pci-modern-dev.ko.xz"));
	/* Each module comes once, and only after every module it needs. */
	for (i = 0; i < ms.nr; i++)
		for (j = i + 1; j < ms.nr; j++)
			CHECK(strcmp(ms.mods[i].name, ms.mods[j].name));
	modules_free(&ms);
	CHECK_EQ(ms.nr, 0);
	CHECK_NULL(ms.mods);
}

TEST(builtin_and_spellings)
{
	static const char *const want[] = { "virtio_ring", "virtio",
					    "virtio_mmio", "virtio_blk" };
	/* '-' and '_' are the same; built-ins need nothing. */
	const char *names[] = { "virtio-mmio", "virtio-rng", "virtio_rng",
				"ext4", "virtio-blk" };
	struct module_set ms;
	struct capture cap;

	CHECK_EQ(resolve(&ms, names, ARRAY_SIZE(names), &cap), 0);
	CHECK_STREQ(cap.text, "");
	CHECK(set_is(&ms, want, ARRAY_SIZE(want)));
	modules_free(&ms);

	/* A dependency cycle terminates, each module once. */
	names[0] = "loop_a";
	CHECK_EQ(resolve(&ms, names, 1, &cap), 0);
	CHECK_EQ(ms.nr, 2);
	if (ms.nr == 2) {
		CHECK_STREQ(ms.mods[0].name, "loop_b");
		CHECK_STREQ(ms.mods[1].name, "loop_a");
	}
	modules_free(&ms);
}

TEST(missing_modules)
{
	const char *names[] = { "virtio_pci", "virtio_console" };
	struct module_set ms;
	struct capture cap;
	char path[300];

	CHECK_EQ(resolve(&ms, names, 2, &cap), -ENOENT);
	CHECK_CONTAINS(cap.text, "lkvm: error: ");
	CHECK_CONTAINS(cap.text, "no module virtio_console in ");
	CHECK_CONTAINS(cap.text, moddir);
	CHECK_CONTAINS(cap.text, "-i");
	CHECK_EQ(count_lines(cap.text), 1);
	CHECK_EQ(ms.nr, 0);
	CHECK_NULL(ms.mods);

	/* A dependency modules.dep names but does not list. */
	names[0] = "orphan";
	CHECK_EQ(resolve(&ms, names, 1, &cap), -ENOENT);
	CHECK_CONTAINS(cap.text, "module gone (needed by orphan)");
	CHECK_EQ(count_lines(cap.text), 1);

	/* No modules directory at all. */
	snprintf(path, sizeof(path), "%s/no-such-release", tmpdir);
	capture_start(&cap);
	CHECK_EQ(modules_resolve(path, names, 1, true, &ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, path);
	CHECK_CONTAINS(cap.text, "does not exist");
	CHECK_CONTAINS(cap.text, "-i");
	CHECK_EQ(count_lines(cap.text), 1);

	/* A directory without modules.dep. */
	capture_start(&cap);
	CHECK_EQ(modules_resolve(tmpdir, names, 1, true, &ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "modules.dep");
	CHECK_CONTAINS(cap.text, "depmod");
	CHECK_EQ(count_lines(cap.text), 1);

	/* lkvm sandbox takes no -i: advice that works for it. */
	capture_start(&cap);
	CHECK_EQ(modules_resolve(path, names, 1, false, &ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "does not exist (install the kernel's modules, or use -k with a kernel whose modules are installed)");
	CHECK(!strstr(cap.text, " -i"));
	capture_start(&cap);
	CHECK_EQ(modules_resolve(tmpdir, names, 1, false, &ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "(run depmod for that kernel, or use -k with a kernel whose modules are installed)");
	CHECK(!strstr(cap.text, " -i"));
	capture_start(&cap);
	CHECK_EQ(modules_resolve(moddir, (const char *[]){ "nonesuch" }, 1,
				 false, &ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "(it is needed for the 9p root; use -k with a kernel that has it)");
	CHECK(!strstr(cap.text, " -i"));
}

/* Optional modules (the pvpanic driver): loaded with their dependencies
 * when the kernel has them, silently left out when it has not. */
TEST(optional_modules)
{
	static const char *const want[] = { "virtio_ring", "virtio",
					    "virtio_pci_modern_dev",
					    "virtio_pci", "pvpanic",
					    "pvpanic_mmio" };
	static const char *const absent[] = {
		"not_there", /* not in modules.dep */
		"nofile",    /* listed, no file */
		"depgone",   /* its dependency has no file */
		"ext4",      /* built in */
		"virtio",    /* already loaded: once */
		NULL,
	};
	const char *names[] = { "virtio_pci" };
	struct vm_config cfg;
	const char **opt;
	struct module_set ms;
	struct capture cap;

	/* lkvm's list with -n none: the pvpanic driver. */
	memset(&cfg, 0, sizeof(cfg));
	REQUIRE(virtio_device_request(&cfg, &virtio_net_type, "none") == 0);
	opt = initramfs_optional_modules(&cfg);
	REQUIRE(opt && opt[0]);
	CHECK_STREQ(opt[0], "pvpanic_mmio");
	CHECK_NULL(opt[1]);

	capture_start(&cap);
	CHECK_EQ(modules_resolve_with(moddir, names, 1, opt, true, &ms), 0);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "");
	CHECK(set_is(&ms, want, ARRAY_SIZE(want)));
	modules_free(&ms);

	capture_start(&cap);
	CHECK_EQ(modules_resolve_with(moddir, names, 1, absent, true, &ms), 0);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "");
	CHECK(set_is(&ms, want, 4));
	/* What the kernel lacks is noted; built-ins and loaded ones not. */
	CHECK_EQ(ms.nr_missing, 3);
	CHECK(module_set_lacks(&ms, "not_there"));
	CHECK(module_set_lacks(&ms, "nofile"));
	CHECK(module_set_lacks(&ms, "depgone"));
	CHECK(!module_set_lacks(&ms, "ext4"));
	CHECK(!module_set_lacks(&ms, "virtio"));
	CHECK(!module_set_lacks(&ms, "virtio_pci"));
	modules_free(&ms);
	CHECK_EQ(ms.nr_missing, 0);
	CHECK_NULL(ms.missing);

	/* Optional ones do not excuse a missing required one. */
	names[0] = "virtio_console";
	capture_start(&cap);
	CHECK_EQ(modules_resolve_with(moddir, names, 1, opt, true, &ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "no module virtio_console");
	CHECK_EQ(count_lines(cap.text), 1);
	CHECK_EQ(ms.nr, 0);
	/* Nothing required, no optional list: an empty set. */
	CHECK_EQ(modules_resolve_with(moddir, names, 0, NULL, true, &ms), 0);
	CHECK_EQ(ms.nr, 0);
	modules_free(&ms);
	free(opt);
}

TEST(decompression)
{
	const char *names[] = { "9p", "virtio_pci" };
	struct module_set ms;
	struct capture cap;
	unsigned int i;

	CHECK_EQ(resolve(&ms, names, 2, &cap), 0);
	CHECK_EQ(ms.nr, 7);
	capture_start(&cap);
	CHECK_EQ(modules_read(&ms), 0);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "");
	/* .ko, .ko.xz, .ko.zst and .ko.gz all come back as the original. */
	for (i = 0; i < ms.nr; i++) {
		uint8_t want[16384];
		size_t n = module_bytes(ms.mods[i].name, want, sizeof(want));

		CHECK_EQ(ms.mods[i].size, n);
		CHECK(ms.mods[i].data && ms.mods[i].size == n &&
		      !memcmp(ms.mods[i].data, want, n));
	}
	modules_free(&ms);
}

TEST(bad_module_files)
{
	char path[512];
	uint8_t *data;
	size_t size;
	struct module_set ms = { 0 };
	struct initramfs_module m = { .name = "broken" };
	struct capture cap;

	snprintf(path, sizeof(path), "%s/kernel/x/broken.ko.xz", moddir);
	CHECK(module_file_read(path, &data, &size) < 0);
	/* Like kmod, the data decides, not the name. */
	snprintf(path, sizeof(path), "%s/kernel/x/raw.ko.gz", moddir);
	CHECK_EQ(module_file_read(path, &data, &size), 0);
	CHECK(size == 20 && !memcmp(data, "\177ELF not compressed", 20));
	free(data);
	snprintf(path, sizeof(path), "%s/kernel/x/none.ko.zst", moddir);
	CHECK_EQ(module_file_read(path, &data, &size), -ENOENT);
	snprintf(path, sizeof(path), "%s/kernel/x/none.ko", moddir);
	CHECK_EQ(module_file_read(path, &data, &size), -ENOENT);

	/* A module that cannot be read: one line naming it. */
	m.path = strdup(path);
	ms.mods = malloc(sizeof(m));
	REQUIRE(ms.mods && m.path);
	ms.mods[0] = m;
	ms.nr = 1;
	capture_start(&cap);
	CHECK_EQ(modules_read(&ms), -ENOENT);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "cannot read module broken");
	CHECK_CONTAINS(cap.text, path);
	CHECK_EQ(count_lines(cap.text), 1);
	modules_free(&ms);

	/* Not an ELF object once read. */
	snprintf(path, sizeof(path), "%s/modules.dep", moddir);
	ms.mods = calloc(1, sizeof(m));
	REQUIRE(ms.mods);
	ms.mods[0].path = strdup(path);
	snprintf(ms.mods[0].name, sizeof(ms.mods[0].name), "dep");
	ms.nr = 1;
	capture_start(&cap);
	CHECK_EQ(modules_read(&ms), -ENOEXEC);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "is not an ELF object");
	modules_free(&ms);
}

TEST(argv_encoding)
{
	char *argv[] = { "sh", "-c", "", "exit 7", NULL };
	char *none[] = { NULL };
	char *big[3];
	size_t len = 0;
	char *buf;

	buf = initramfs_encode_argv(argv, &len);
	REQUIRE(buf);
	CHECK_EQ(len, 3 + 3 + 1 + 7);
	CHECK(!memcmp(buf, "sh\0-c\0\0exit 7\0", 14));
	free(buf);
	buf = initramfs_encode_argv(none, &len);
	CHECK(buf != NULL);
	CHECK_EQ(len, 0);
	free(buf);

	big[0] = malloc(INITRAMFS_ARGV_MAX);
	REQUIRE(big[0]);
	memset(big[0], 'x', INITRAMFS_ARGV_MAX - 1);
	big[0][INITRAMFS_ARGV_MAX - 1] = '\0';
	big[1] = NULL;
	buf = initramfs_encode_argv(big, &len);
	CHECK(buf != NULL); /* exactly the limit */
	CHECK_EQ(len, INITRAMFS_ARGV_MAX);
	free(buf);
	big[1] = "y";
	big[2] = NULL;
	CHECK_NULL(initramfs_encode_argv(big, &len));
	free(big[0]);
}

/* One entry read back from the archive. */
struct entry {
	char path[128];
	mode_t mode;
	unsigned int rmaj, rmin;
	uint8_t *data;
	size_t size;
};

static unsigned int read_archive(int fd, struct entry *out, unsigned int max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	unsigned int n = 0;
	struct stat st;

	if (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return 0;
	archive_read_support_format_cpio(a);
	archive_read_support_filter_none(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		archive_read_free(a);
		return 0;
	}
	while (n < max && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		struct entry *x = &out[n++];
		la_int64_t size = archive_entry_size(e);

		snprintf(x->path, sizeof(x->path), "%s", archive_entry_pathname(e));
		x->mode = archive_entry_mode(e);
		x->rmaj = archive_entry_rdevmajor(e);
		x->rmin = archive_entry_rdevminor(e);
		x->size = size > 0 ? (size_t)size : 0;
		x->data = malloc(x->size + 1);
		if (x->size && x->data &&
		    archive_read_data(a, x->data, x->size) != (la_ssize_t)x->size)
			x->size = (size_t)-1;
	}
	CHECK_CONTAINS(archive_format_name(a), "SVR4 with no CRC"); /* newc */
	archive_read_free(a);
	return n;
}

static const struct entry *find(const struct entry *e, unsigned int n,
				const char *path)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(e[i].path, path))
			return &e[i];
	return NULL;
}

TEST(archive_contents)
{
	static const char *const dirs[] = { "dev", "proc", "sys", "newroot",
					    "lkvm", "lkvm/modules", "lkvm/ctl" };
	const char *names[] = { "virtio_pci", "9pnet_virtio", "9p" };
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	const char *config = "root=/dev/root\nctl=lkvm-ctl\nquiet=1\n";
	struct initramfs_spec spec = { .argv = argv, .config = config };
	struct entry e[64];
	const struct entry *x;
	struct module_set ms;
	struct capture cap;
	unsigned int n, i;
	char path[128];
	size_t blob = (size_t)(lkvm_guest_init_end - lkvm_guest_init);
	int fd;

	REQUIRE(resolve(&ms, names, 3, &cap) == 0);
	REQUIRE(modules_read(&ms) == 0);
	spec.modules = &ms;
	fd = initramfs_build(&spec);
	REQUIRE(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	memset(e, 0, sizeof(e));
	n = read_archive(fd, e, ARRAY_SIZE(e));
	/* 7 directories, /dev/console, /init, 8 modules, argv, config. */
	CHECK_EQ(n, 7 + 1 + 1 + 8 + 2);

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		x = find(e, n, dirs[i]);
		CHECK(x && x->mode == (S_IFDIR | 0755));
	}
	x = find(e, n, "dev/console");
	CHECK(x && x->mode == (S_IFCHR | 0600) && x->rmaj == 5 && x->rmin == 1);

	/* /init is the embedded guest init, byte for byte, executable. */
	CHECK(blob > 1000);
	CHECK(!memcmp(lkvm_guest_init, "\177ELF", 4));
	x = find(e, n, "init");
	CHECK(x && x->mode == (S_IFREG | 0755) && x->size == blob &&
	      !memcmp(x->data, lkvm_guest_init, blob));

	/* Modules in load order, decompressed. */
	for (i = 0; i < ms.nr; i++) {
		uint8_t want[16384];
		size_t len = module_bytes(ms.mods[i].name, want, sizeof(want));

		snprintf(path, sizeof(path), "lkvm/modules/%02u-%s.ko", i,
			 ms.mods[i].name);
		x = find(e, n, path);
		CHECK(x != NULL);
		if (!x)
			printf("  no %s\n", path);
		else
			CHECK(x->mode == (S_IFREG | 0644) && x->size == len &&
			      !memcmp(x->data, want, len));
	}
	CHECK(find(e, n, "lkvm/modules/02-virtio_pci_modern_dev.ko"));
	CHECK(find(e, n, "lkvm/modules/07-9p.ko"));

	x = find(e, n, "lkvm/argv");
	CHECK(x && x->mode == (S_IFREG | 0644) && x->size == 13 &&
	      !memcmp(x->data, "sh\0-c\0exit 7\0", 13));
	x = find(e, n, "lkvm/config");
	CHECK(x && x->size == strlen(config) &&
	      !memcmp(x->data, config, strlen(config)));
	for (i = 0; i < n; i++)
		free(e[i].data);
	close(fd);

	/* No command: no /lkvm/argv (the init starts a shell); no modules. */
	spec.argv = NULL;
	spec.modules = NULL;
	fd = initramfs_build(&spec);
	REQUIRE(fd >= 0);
	memset(e, 0, sizeof(e));
	n = read_archive(fd, e, ARRAY_SIZE(e));
	CHECK_EQ(n, 7 + 1 + 1 + 1);
	CHECK_NULL(find(e, n, "lkvm/argv"));
	CHECK(find(e, n, "lkvm/config") != NULL);
	for (i = 0; i < n; i++)
		free(e[i].data);
	close(fd);
	modules_free(&ms);
}

int main(void)
{
	make_tree();
	RUN(wanted_modules);
	RUN(optional_modules_follow_the_config);
	RUN(module_names);
	RUN(closure_order);
	RUN(builtin_and_spellings);
	RUN(missing_modules);
	RUN(optional_modules);
	RUN(decompression);
	RUN(bad_module_files);
	RUN(argv_encoding);
	RUN(archive_contents);
	tmp_dir_remove(tmpdir);
	return test_summary();
}
