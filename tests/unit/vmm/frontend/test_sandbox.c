// SPDX-License-Identifier: GPL-2.0
/*
 * The 9p-root boot on the host side (vmm/frontend/sandbox.c): `lkvm setup`, root
 * selection, the exports, the whole preparation against a fake kernel and
 * modules tree, the exit-status channel, and the kernel-release parser
 * (x86/kernel-release.c) on crafted and hostile images.
 */
#include <arpa/inet.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "lkvm/arch-hooks.h"
#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/initramfs.h"
#include "lkvm/sandbox.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "net/backend.h"
#include "host_files.h"
#include "test.h"

static char tmpdir[64];
static char home[300];

static bool file_is(const char *path, const char *text)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, text);
}

static bool link_is(const char *path, const char *target)
{
	char buf[256];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, target);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 ? 0 : st.st_mode;
}

/* Entries of HOME/.lkvm (to see that no half-made instance is left). */
static unsigned int instances(void)
{
	char cmd[400], buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s/.lkvm' 2>/dev/null | wc -l", home);
	p = popen(cmd, "r");
	if (!p)
		return 999;
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	pclose(p);
	return (unsigned int)atoi(buf);
}

/* --- lkvm setup --- */

TEST(setup_layout)
{
	static const char *const dirs[] = {
		"dev", "etc", "home", "host", "proc", "sys", "var", "var/lib",
		"virt", "run",
	};
	static const char *const links[] = { "bin", "lib", "lib64", "sbin",
					     "usr" };
	char path[PATH_MAX], target[64], out[1024] = "";
	char *argv[] = { "setup", "box-1.a_b", NULL };
	struct sandbox sb;
	struct capture cap;
	unsigned int i;
	FILE *o;

	sandbox_init(&sb);
	sb.home = home;
	o = fmemopen(out, sizeof(out) - 1, "w");
	REQUIRE(o);
	capture_start(&cap);
	CHECK_EQ(sandbox_cmd_setup(2, argv, &sb, o, stderr), LKVM_EXIT_OK);
	capture_end(&cap);
	fclose(o);
	CHECK_STREQ(cap.text, "");
	CHECK_CONTAINS(out, "/.lkvm/box-1.a_b");
	CHECK_CONTAINS(out, "lkvm run -d box-1.a_b");
	CHECK_CONTAINS(out, "lkvm sandbox -d box-1.a_b -- ");

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/%s", home, dirs[i]);
		CHECK_EQ(mode_of(path), S_IFDIR | 0755);
	}
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b", home);
	CHECK_EQ(mode_of(path), S_IFDIR | 0755);
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/tmp", home);
	CHECK_EQ(mode_of(path), S_IFDIR | 01777);
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/root", home);
	CHECK_EQ(mode_of(path), S_IFDIR | 0700);
	for (i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/%s", home, links[i]);
		snprintf(target, sizeof(target), "/host/%s", links[i]);
		CHECK(S_ISLNK(mode_of(path)));
		CHECK(link_is(path, target));
	}
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/etc/passwd", home);
	CHECK(file_is(path, "root:x:0:0:root:/root:/bin/sh\n"));
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/etc/group", home);
	CHECK(file_is(path, "root:x:0:\n"));
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/etc/hostname", home);
	CHECK(file_is(path, "box-1.a_b\n"));
	/* Empty: where lkvm's init mounts the DNS server's file. */
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/etc/resolv.conf", home);
	CHECK_EQ(mode_of(path), S_IFREG | 0644);
	CHECK(file_is(path, ""));
	CHECK_EQ(instances(), 1); /* no temporary directory left */

	/* A second time: one error line, exit 1, nothing touched. */
	snprintf(path, sizeof(path), "%s/.lkvm/box-1.a_b/etc/hostname", home);
	file_put_or_exit(path, "mine\n", 5);
	o = fmemopen(out, sizeof(out) - 1, "w");
	REQUIRE(o);
	capture_start(&cap);
	CHECK_EQ(sandbox_cmd_setup(2, argv, &sb, o, stderr), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	fclose(o);
	CHECK_CONTAINS(cap.text, "lkvm: error: ");
	CHECK_CONTAINS(cap.text, "/.lkvm/box-1.a_b already exists");
	CHECK_EQ(count_lines(cap.text), 1);
	CHECK(file_is(path, "mine\n"));
	CHECK_EQ(instances(), 1);
	o = fopen("/dev/null", "w");
	REQUIRE(o);
	CHECK_EQ(sandbox_setup_instance(home, "box-1.a_b", o), -EEXIST);
	fclose(o);
}

TEST(setup_names)
{
	static const char *const bad[] = {
		".hidden", "a/b", "..", ".", "a b", "a\nb", "caf\xc3\xa9", "x*",
		"0123456789012345678901234567890123456789012345678901234567890123X",
	};
	char *argv[3] = { "setup", NULL, NULL };
	struct sandbox sb;
	struct capture cap;
	unsigned int i;
	FILE *devnull = fopen("/dev/null", "w");

	REQUIRE(devnull);
	CHECK(sandbox_valid_name("a"));
	CHECK(sandbox_valid_name("default"));
	CHECK(sandbox_valid_name("A.b_c-9"));
	CHECK(sandbox_valid_name("a.."));
	CHECK(sandbox_valid_name(
		"0123456789012345678901234567890123456789012345678901234567890123"));
	CHECK(!sandbox_valid_name(""));
	sandbox_init(&sb);
	sb.home = home;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(!sandbox_valid_name(bad[i]));
		argv[1] = (char *)bad[i];
		capture_start(&cap);
		CHECK_EQ(sandbox_cmd_setup(2, argv, &sb, devnull, stderr),
			 LKVM_EXIT_USAGE);
		capture_end(&cap);
		CHECK_CONTAINS(cap.text, "lkvm: error: invalid name");
		CHECK_EQ(count_lines(cap.text), 1);
	}
	/* A control character is shown escaped, as in every message. */
	argv[1] = "a\x1b[31m";
	capture_start(&cap);
	CHECK_EQ(sandbox_cmd_setup(2, argv, &sb, devnull, stderr),
		 LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "invalid name 'a\\x1b[31m'");
	/* No NAME, two NAMEs, an option. */
	capture_start(&cap);
	CHECK_EQ(sandbox_cmd_setup(1, argv, &sb, devnull, stderr), LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "lkvm setup needs one NAME");
	argv[1] = "a";
	argv[2] = "b";
	capture_start(&cap);
	CHECK_EQ(sandbox_cmd_setup(3, argv, &sb, devnull, stderr), LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_EQ(count_lines(cap.text), 1);
	argv[1] = "--bogus";
	argv[2] = NULL;
	capture_start(&cap);
	CHECK_EQ(sandbox_cmd_setup(2, argv, &sb, devnull, stderr), LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "unknown option '--bogus'");
	argv[1] = "--help";
	CHECK_EQ(sandbox_cmd_setup(2, argv, &sb, devnull, stderr), LKVM_EXIT_OK);
	fclose(devnull);
}

TEST(home_directory)
{
	char buf[PATH_MAX], *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	struct sandbox sb;

	sandbox_init(&sb);
	sb.home = "/some/where";
	CHECK_EQ(sandbox_home_dir(&sb, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "/some/where");
	CHECK_EQ(sandbox_home_dir(&sb, buf, 5), -ENAMETOOLONG);
	sb.home = NULL;
	setenv("HOME", "/from/env", 1);
	CHECK_EQ(sandbox_home_dir(&sb, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "/from/env");
	/* No HOME: the password database. */
	unsetenv("HOME");
	CHECK_EQ(sandbox_home_dir(NULL, buf, sizeof(buf)), 0);
	CHECK(buf[0] == '/');
	if (saved)
		setenv("HOME", saved, 1);
	free(saved);
}

/* --- the root and the exports --- */

static int parse(struct vm_config *cfg, ...)
{
	static char *args[32];
	va_list ap;
	int argc = 0, ret;
	char *a;
	FILE *devnull = fopen("/dev/null", "w");

	args[argc++] = "run";
	va_start(ap, cfg);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		args[argc++] = a;
	va_end(ap);
	args[argc] = NULL;
	ret = cli_parse_run(argc, args, cfg, devnull);
	fclose(devnull);
	return ret;
}

TEST(root_selection)
{
	char dir[400], img[400], dirro[PATH_MAX], real[PATH_MAX], inst[PATH_MAX];
	struct vm_config c;
	struct capture cap;
	char *root;
	bool ro;

	snprintf(dir, sizeof(dir), "%s/rootdir", tmpdir);
	mkdir(dir, 0755);
	snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
	file_put_or_exit(img, "x", 1);
	REQUIRE(realpath(dir, real));

	/* --disk DIR: the root, taken out of the disks; the others stay. */
	snprintf(dirro, sizeof(dirro), "%s,ro", dir);
	REQUIRE(parse(&c, "-d", img, "-d", dirro, "-d", "nosuchthing", "k",
		      NULL) == 0);
	CHECK_EQ(sandbox_select_root(&c, home, &root, &ro), 0);
	CHECK_STREQ(root, real);
	CHECK(ro);
	CHECK_EQ(c.nr_disks, 2);
	if (c.nr_disks == 2) {
		CHECK_STREQ(c.disks[0].path, img);
		CHECK_STREQ(c.disks[1].path, "nosuchthing");
	}
	free(root);
	cli_free_config(&c);

	/* --disk NAME: ~/.lkvm/NAME (made by setup_layout). */
	snprintf(inst, sizeof(inst), "%s/.lkvm/box-1.a_b", home);
	REQUIRE(realpath(inst, real));
	REQUIRE(parse(&c, "-d", "box-1.a_b", "k", NULL) == 0);
	CHECK_EQ(sandbox_select_root(&c, home, &root, &ro), 0);
	CHECK_STREQ(root, real);
	CHECK(!ro);
	CHECK_EQ(c.nr_disks, 0);
	free(root);
	cli_free_config(&c);
	/* ...but not without a home, nor for a name that is not there. */
	REQUIRE(parse(&c, "-d", "box-1.a_b", "-d", "other", "k", NULL) == 0);
	CHECK_EQ(sandbox_select_root(&c, NULL, &root, &ro), 0);
	CHECK_NULL(root);
	CHECK_EQ(c.nr_disks, 2);
	CHECK_EQ(sandbox_select_root(&c, home, &root, &ro), 0);
	CHECK(root != NULL);
	CHECK_EQ(c.nr_disks, 1);
	free(root);
	cli_free_config(&c);

	/* No directory: no root (an ordinary boot, or the default). */
	REQUIRE(parse(&c, "-d", img, "k", NULL) == 0);
	CHECK_EQ(sandbox_select_root(&c, home, &root, &ro), 0);
	CHECK_NULL(root);
	CHECK_EQ(c.nr_disks, 1);
	cli_free_config(&c);

	/* Two directories, or disk options on one: usage errors. */
	REQUIRE(parse(&c, "-d", dir, "-d", "box-1.a_b", "k", NULL) == 0);
	capture_start(&cap);
	CHECK_EQ(sandbox_select_root(&c, home, &root, &ro), LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_NULL(root);
	CHECK_CONTAINS(cap.text, "two --disk directories");
	CHECK_EQ(count_lines(cap.text), 1);
	cli_free_config(&c);
	REQUIRE(parse(&c, "-d", "box-1.a_b,direct", "k", NULL) == 0);
	capture_start(&cap);
	CHECK_EQ(sandbox_select_root(&c, home, &root, &ro), LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "only ro applies");
	cli_free_config(&c);
}

TEST(exports)
{
	struct vm_config c;
	struct capture cap;
	unsigned int i;
	char tag[16];

	REQUIRE(parse(&c, "--9p", "/srv,data", "k", NULL) == 0);
	CHECK_EQ(sandbox_add_exports(&c, "/r", false, true, "/run/ctl"), 0);
	CHECK_EQ(c.nr_shares, 4);
	if (c.nr_shares == 4) {
		CHECK_STREQ(c.shares[0].tag, "data");
		CHECK_STREQ(c.shares[1].path, "/r");
		CHECK_STREQ(c.shares[1].tag, "/dev/root");
		CHECK(!c.shares[1].readonly && !c.shares[1].passthrough);
		CHECK_STREQ(c.shares[2].path, "/");
		CHECK_STREQ(c.shares[2].tag, "hostfs");
		CHECK(c.shares[2].readonly && !c.shares[2].passthrough);
		CHECK_STREQ(c.shares[3].path, "/run/ctl");
		CHECK_STREQ(c.shares[3].tag, "lkvm-ctl");
		CHECK(!c.shares[3].readonly);
	}
	cli_free_config(&c);

	/* A read-only root, no hostfs, no control share. */
	REQUIRE(parse(&c, "k", NULL) == 0);
	CHECK_EQ(sandbox_add_exports(&c, "/r", true, false, NULL), 0);
	CHECK_EQ(c.nr_shares, 1);
	CHECK(c.nr_shares == 1 && c.shares[0].readonly);
	cli_free_config(&c);

	/* The user took one of lkvm's tags. */
	REQUIRE(parse(&c, "--9p", "/srv,hostfs", "k", NULL) == 0);
	capture_start(&cap);
	CHECK_EQ(sandbox_add_exports(&c, "/r", false, true, "/c"),
		 LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "9p tag 'hostfs' is lkvm's own");
	CHECK_EQ(count_lines(cap.text), 1);
	cli_free_config(&c);

	/* No room for lkvm's exports. */
	REQUIRE(parse(&c, "k", NULL) == 0);
	for (i = 0; i < LKVM_MAX_SHARES - 1; i++) {
		snprintf(tag, sizeof(tag), "t%u", i);
		c.shares = realloc(c.shares, (i + 1) * sizeof(*c.shares));
		REQUIRE(c.shares);
		memset(&c.shares[i], 0, sizeof(c.shares[i]));
		c.shares[i].path = strdup("/x");
		snprintf(c.shares[i].tag, sizeof(c.shares[i].tag), "%s", tag);
		c.nr_shares = i + 1;
	}
	capture_start(&cap);
	CHECK_EQ(sandbox_add_exports(&c, "/r", false, true, NULL),
		 LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "too many --9p shares");
	CHECK_EQ(c.nr_shares, LKVM_MAX_SHARES);
	cli_free_config(&c);
}

/* --- the exit-status channel --- */

static void status_file(const char *dir, const char *text, size_t len)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/status", dir);
	unlink(path);
	file_put_or_exit(path, text, len);
}

TEST(status_parsing)
{
	char dir[400], path[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/ctl-status", tmpdir);
	mkdir(dir, 0700);
	CHECK_EQ(sandbox_read_status(dir), -ENOENT);
	status_file(dir, "7\n", 2);
	CHECK_EQ(sandbox_read_status(dir), 7);
	status_file(dir, "0", 1);
	CHECK_EQ(sandbox_read_status(dir), 0);
	status_file(dir, "255\n", 4);
	CHECK_EQ(sandbox_read_status(dir), 255);
	status_file(dir, "137\n", 4);
	CHECK_EQ(sandbox_read_status(dir), 137);
	status_file(dir, "256\n", 4);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "", 0);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "\n", 1);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "-1\n", 3);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "7\n\n", 3);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "7 \n", 3);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "0000000000000000000000000000007\n", 32);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	status_file(dir, "99999999999999999999\n", 21);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL);
	/* What a hostile guest might leave instead of a file. */
	snprintf(path, sizeof(path), "%s/status", dir);
	unlink(path);
	CHECK_EQ(symlink("/etc/hostname", path), 0);
	CHECK(sandbox_read_status(dir) < 0);
	unlink(path);
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(sandbox_read_status(dir), -EINVAL); /* and does not block */
	unlink(path);
	CHECK_EQ(mkdir(path, 0700), 0);
	CHECK(sandbox_read_status(dir) < 0);
	rmdir(path);
	rmdir(dir);
}

static void make_ctl(struct sandbox *sb, const char *status)
{
	char *p;

	if (asprintf(&p, "%s/ctl.XXXXXX", tmpdir) < 0 || !mkdtemp(p)) {
		printf("cannot make a control directory\n");
		exit(1);
	}
	sb->ctl_dir = p;
	if (status)
		status_file(p, status, strlen(status));
}

TEST(finish)
{
	struct sandbox sb;
	struct capture cap;
	char sub[PATH_MAX], *dir;

	/* The command's status wins, and the directory is gone after. */
	sandbox_init(&sb);
	sb.is_sandbox = true;
	make_ctl(&sb, "7\n");
	dir = strdup(sb.ctl_dir);
	/* Whatever else the guest left there goes too, without following. */
	snprintf(sub, sizeof(sub), "%s/d", dir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/d/link", dir);
	CHECK_EQ(symlink(tmpdir, sub), 0);
	CHECK_EQ(sandbox_finish(&sb, 0), 7);
	CHECK_NULL(sb.ctl_dir);
	CHECK_EQ(access(dir, F_OK), -1);
	CHECK_EQ(access(tmpdir, F_OK), 0);
	free(dir);
	sandbox_free(&sb);

	/* sandbox: no status -> one error line, exit 1. */
	sandbox_init(&sb);
	sb.is_sandbox = true;
	make_ctl(&sb, NULL);
	capture_start(&cap);
	CHECK_EQ(sandbox_finish(&sb, 0), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "lkvm: error: the guest stopped before the command finished");
	CHECK_EQ(count_lines(cap.text), 1);
	sandbox_free(&sb);

	/* lkvm failed itself (it said why): its status, no second line. */
	sandbox_init(&sb);
	sb.is_sandbox = true;
	make_ctl(&sb, NULL);
	capture_start(&cap);
	CHECK_EQ(sandbox_finish(&sb, LKVM_EXIT_FAILURE), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "");
	sandbox_free(&sb);

	/* The guest kernel panicked before the command finished (lkvm said
	 * "guest kernel panicked"): 3, not 1, and no second line. */
	sandbox_init(&sb);
	sb.is_sandbox = true;
	make_ctl(&sb, NULL);
	capture_start(&cap);
	CHECK_EQ(sandbox_finish(&sb, LKVM_EXIT_GUEST_PANIC), 3);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "");
	sandbox_free(&sb);
	/* ... but a command that finished keeps its status. */
	sandbox_init(&sb);
	sb.is_sandbox = true;
	make_ctl(&sb, "0\n");
	CHECK_EQ(sandbox_finish(&sb, LKVM_EXIT_GUEST_PANIC), 0);
	sandbox_free(&sb);

	/* run: no status (Ctrl-A x) keeps the VM's status; a shell's exit
	 * status is lkvm's. */
	sandbox_init(&sb);
	make_ctl(&sb, NULL);
	CHECK_EQ(sandbox_finish(&sb, 0), 0);
	sandbox_free(&sb);
	sandbox_init(&sb);
	make_ctl(&sb, "3\n");
	CHECK_EQ(sandbox_finish(&sb, 0), 3);
	sandbox_free(&sb);

	/* Not a 9p-root boot: vm_run's status as it is. */
	sandbox_init(&sb);
	CHECK_EQ(sandbox_finish(&sb, 2), 2);
	sandbox_free(&sb);
}

/*
 * The guest can leave a tree in the control directory far deeper than any
 * recursion limit, with big files at the bottom (in what is often a RAM
 * filesystem) and links out of it: all of it goes, and nothing outside is
 * touched through a symlink or a hard link.
 */
#define DEEP_LEVELS 300

TEST(finish_deep_tree)
{
	char outside[128], canary[PATH_MAX], keep[PATH_MAX];
	static char big[1 << 20];
	struct sandbox sb;
	struct stat st;
	char *dir;
	int fd, i;

	snprintf(outside, sizeof(outside), "%s/outside", tmpdir);
	snprintf(canary, sizeof(canary), "%s/canary", outside);
	snprintf(keep, sizeof(keep), "%s/keep", outside);
	REQUIRE(mkdir(outside, 0700) == 0 && mkdir(keep, 0700) == 0);
	REQUIRE(file_put(canary, "precious\n", 9, 0600) == 0);
	memset(big, 0xab, sizeof(big));

	sandbox_init(&sb);
	sb.is_sandbox = true;
	make_ctl(&sb, "5\n");
	dir = strdup(sb.ctl_dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < DEEP_LEVELS && fd >= 0; i++) {
		int sub;

		/* Links out of the tree at every level. */
		CHECK_EQ(symlinkat(outside, fd, "out"), 0);
		CHECK_EQ(symlinkat("/", fd, "root"), 0);
		CHECK_EQ(symlinkat("..", fd, "up"), 0);
		if (i == DEEP_LEVELS / 2) {
			/* A wide level too. */
			for (int k = 0; k < 40; k++) {
				char name[16];

				snprintf(name, sizeof(name), "w%d", k);
				CHECK_EQ(mkdirat(fd, name, 0700), 0);
			}
		}
		CHECK_EQ(mkdirat(fd, "d", 0700), 0);
		sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	REQUIRE(fd >= 0);
	/* At the bottom: a big file, a hard link to the canary, a directory
	 * nobody may enter with a file in it. */
	{
		int f = openat(fd, "big", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		CHECK(f >= 0 && write(f, big, sizeof(big)) ==
				(ssize_t)sizeof(big));
		close(f);
	}
	CHECK_EQ(linkat(AT_FDCWD, canary, fd, "hard", 0), 0);
	CHECK_EQ(mkdirat(fd, "locked", 0700), 0);
	{
		int f = openat(fd, "locked/file", O_WRONLY | O_CREAT | O_CLOEXEC,
			       0600);

		CHECK(f >= 0);
		close(f);
	}
	CHECK_EQ(fchmodat(fd, "locked", 0, 0), 0);
	close(fd);

	CHECK_EQ(sandbox_finish(&sb, 0), 5);
	CHECK_NULL(sb.ctl_dir);
	CHECK_EQ(access(dir, F_OK), -1);
	CHECK_EQ(errno, ENOENT);
	/* Outside: untouched. */
	CHECK(file_is(canary, "precious\n"));
	CHECK(stat(canary, &st) == 0 && st.st_nlink == 1);
	CHECK_EQ(access(keep, F_OK), 0);
	CHECK_EQ(access(tmpdir, F_OK), 0);
	free(dir);
	sandbox_free(&sb);
}

/* --- the kernel release --- */

#define VERSION_STR "6.1.0-18-amd64 (debian-kernel@lists.debian.org) #1 SMP"

/* A bzImage-looking buffer of exactly @len bytes (ASan sees overreads)
 * with the version string at 0x200 + @ptr, if it fits. */
static uint8_t *bzimage(size_t len, uint16_t ptr, const char *version,
			bool terminate)
{
	uint8_t *img = calloc(1, len);
	size_t off = 0x200 + (size_t)ptr, n = strlen(version);

	if (!img)
		exit(1);
	if (len >= 0x206)
		memcpy(img + 0x202, "HdrS", 4);
	if (len >= 0x210) {
		img[0x20e] = (uint8_t)ptr;
		img[0x20f] = (uint8_t)(ptr >> 8);
	}
	if (off < len) {
		if (n > len - off)
			n = len - off;
		memcpy(img + off, version, n);
		if (terminate && off + n < len)
			img[off + n] = '\0';
	}
	return img;
}

TEST(release_bzimage)
{
	char buf[65];
	uint8_t *img;
	size_t len;

	img = bzimage(0x1000, 0x300, VERSION_STR, true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "6.1.0-18-amd64");
	/* The buffer must hold it, NUL included. */
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, 14), -ENAMETOOLONG);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, 15), 0);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, 0), -ENAMETOOLONG);
	free(img);

	/* A release alone, ending at a NUL. */
	img = bzimage(0x1000, 0x300, "6.18.44-fc-v669", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "6.18.44-fc-v669");
	free(img);

	/* The string runs into the end of the file: no overread, an error. */
	len = 0x500 + 5;
	img = bzimage(len, 0x300, "6.1.0-18-amd64", false);
	CHECK_EQ(arch_kernel_release(img, len, buf, sizeof(buf)), -EINVAL);
	free(img);
	/* The pointer is past the end. */
	img = bzimage(0x400, 0x300, "6.1.0", true);
	CHECK_EQ(arch_kernel_release(img, 0x400, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(arch_kernel_release(img, 0x400, buf, sizeof(buf)), -EINVAL);
	free(img);
	img = bzimage(0x1000, 0xffff, "6.1.0", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -EINVAL);
	free(img);
	/* No version string (kernel_version 0). */
	img = bzimage(0x1000, 0, "", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -ENOENT);
	CHECK_STREQ(buf, "");
	free(img);
	/* Empty, or not a path component. */
	img = bzimage(0x1000, 0x300, " 6.1", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -ENOENT);
	free(img);
	img = bzimage(0x1000, 0x300, "../../etc x", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -EINVAL);
	free(img);
	img = bzimage(0x1000, 0x300, ".. x", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -EINVAL);
	free(img);
	img = bzimage(0x1000, 0x300, "6.1\x01x", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -EINVAL);
	free(img);
	img = bzimage(0x1000, 0x300,
		      "6.1.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -EINVAL);
	free(img);
	/* Truncated inside the header. */
	img = bzimage(0x20f, 0x300, "", true);
	CHECK_EQ(arch_kernel_release(img, 0x20f, buf, sizeof(buf)), -ENOEXEC);
	free(img);
	img = bzimage(0x205, 0x300, "", true);
	CHECK_EQ(arch_kernel_release(img, 0x205, buf, sizeof(buf)), -ENOEXEC);
	free(img);
}

/* An "ELF" of exactly @len bytes with @text at @off. */
static uint8_t *elf(size_t len, size_t off, const char *text, size_t n)
{
	uint8_t *img = calloc(1, len);

	if (!img)
		exit(1);
	memcpy(img, "\177ELF", 4);
	memcpy(img + off, text, n);
	return img;
}

TEST(release_vmlinux)
{
	static const char banner[] =
		"Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc)";
	static const char fmt[] = "%s version %s\0Linux version %s\0";
	char buf[65];
	uint8_t *img, *garbage;
	size_t len;

	img = elf(0x2000, 0x1000, banner, sizeof(banner));
	CHECK_EQ(arch_kernel_release(img, 0x2000, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "6.1.0-18-amd64");
	/* Format strings saying "Linux version " first are skipped. */
	memcpy(img + 0x800, fmt, sizeof(fmt));
	CHECK_EQ(arch_kernel_release(img, 0x2000, buf, sizeof(buf)), 0);
	CHECK_STREQ(buf, "6.1.0-18-amd64");
	free(img);

	/* The banner at the very end: no overread. */
	len = 0x100 + 28;
	img = elf(len, 0x100, banner, 28); /* "Linux version 6.1.0-18-amd64" */
	CHECK_EQ(arch_kernel_release(img, len, buf, sizeof(buf)), -EINVAL);
	free(img);
	len = 0x100 + 14;
	img = elf(len, 0x100, banner, 14); /* "Linux version " */
	CHECK_EQ(arch_kernel_release(img, len, buf, sizeof(buf)), -ENOENT);
	free(img);
	len = 0x100 + 10;
	img = elf(len, 0x100, banner, 10);
	CHECK_EQ(arch_kernel_release(img, len, buf, sizeof(buf)), -ENOENT);
	free(img);
	/* No banner at all. */
	img = elf(0x1000, 0x100, "Linux", 5);
	CHECK_EQ(arch_kernel_release(img, 0x1000, buf, sizeof(buf)), -ENOENT);
	free(img);
	img = elf(4, 0, "", 0);
	CHECK_EQ(arch_kernel_release(img, 4, buf, sizeof(buf)), -ENOENT);
	free(img);

	/* Neither format. */
	garbage = malloc(3000);
	REQUIRE(garbage);
	memset(garbage, 0x5a, 3000);
	CHECK_EQ(arch_kernel_release(garbage, 3000, buf, sizeof(buf)), -ENOEXEC);
	CHECK_EQ(arch_kernel_release(garbage, 0, buf, sizeof(buf)), -ENOEXEC);
	CHECK_EQ(arch_kernel_release(garbage, 3, buf, sizeof(buf)), -ENOEXEC);
	free(garbage);
}

/* --- the whole preparation, against fake files --- */

static char *archive_file(int fd, const char *want, size_t *len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *data = NULL;

	lseek(fd, 0, SEEK_SET);
	archive_read_support_format_cpio(a);
	if (archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK) {
		while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
			la_int64_t size = archive_entry_size(e);

			if (strcmp(archive_entry_pathname(e), want))
				continue;
			data = calloc(1, (size_t)size + 1);
			if (data)
				archive_read_data(a, data, (size_t)size);
			*len = (size_t)size;
			break;
		}
	}
	archive_read_free(a);
	return data;
}

static void fake_kernel_and_modules(char *kernel, size_t cap, char *mods,
				    size_t mcap)
{
	static const char dep[] =
		"kernel/virtio_ring.ko:\n"
		"kernel/virtio_pci.ko: kernel/virtio_ring.ko\n"
		"kernel/virtio_mmio.ko: kernel/virtio_ring.ko\n"
		"kernel/9pnet.ko:\n"
		"kernel/9pnet_virtio.ko: kernel/9pnet.ko kernel/virtio_ring.ko\n"
		"kernel/9p.ko: kernel/9pnet.ko\n"
		"kernel/failover.ko:\n"
		"kernel/net_failover.ko: kernel/failover.ko\n"
		"kernel/virtio_net.ko: kernel/net_failover.ko kernel/failover.ko kernel/virtio_ring.ko\n";
	static const char *const names[] = { "virtio_ring", "virtio_pci",
					     "virtio_mmio", "9pnet",
					     "9pnet_virtio", "9p",
					     "failover", "net_failover",
					     "virtio_net" };
	char path[PATH_MAX];
	uint8_t *img = bzimage(0x1000, 0x300, "9.9.9-test (x) #1", true);
	unsigned int i;

	snprintf(kernel, cap, "%s/bzImage", tmpdir);
	file_put_or_exit(kernel, img, 0x1000);
	free(img);
	snprintf(mods, mcap, "%s/modules", tmpdir);
	mkdir(mods, 0755);
	snprintf(path, sizeof(path), "%s/9.9.9-test", mods);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/9.9.9-test/kernel", mods);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/9.9.9-test/modules.dep", mods);
	file_put_or_exit(path, dep, strlen(dep));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		char body[64];

		snprintf(path, sizeof(path), "%s/9.9.9-test/kernel/%s.ko", mods,
			 names[i]);
		snprintf(body, sizeof(body), "\177ELF%s", names[i]);
		file_put_or_exit(path, body, strlen(body));
	}
}

TEST(prepare_sandbox)
{
	char kernel[400], mods[400], xdg[400], def[400], real[PATH_MAX];
	char *argv[] = { "sh", "-c", "exit 7", NULL };
	struct vm_config c;
	struct sandbox sb;
	struct capture cap;
	struct stat st;
	char *text;
	size_t len;

	fake_kernel_and_modules(kernel, sizeof(kernel), mods, sizeof(mods));
	snprintf(xdg, sizeof(xdg), "%s/xdg", tmpdir);
	mkdir(xdg, 0700);
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	snprintf(def, sizeof(def), "%s/.lkvm/default", home);

	REQUIRE(parse(&c, "-k", kernel, "-p", "loglevel=7", NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = mods;
	c.guest_argv = argv;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), 0);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "created the default guest root");
	CHECK(sb.active && sb.own_init && sb.is_sandbox && sb.hostfs);
	CHECK_STREQ(sb.release, "9.9.9-test");

	/* ~/.lkvm/default, made on first use with the setup layout. */
	CHECK_STREQ(sb.root, def);
	snprintf(real, sizeof(real), "%s/host", def);
	CHECK_EQ(mode_of(real), S_IFDIR | 0755);
	snprintf(real, sizeof(real), "%s/etc/hostname", def);
	CHECK(file_is(real, "default\n"));

	/* The control directory: private, under $XDG_RUNTIME_DIR. */
	REQUIRE(sb.ctl_dir);
	CHECK(!strncmp(sb.ctl_dir, xdg, strlen(xdg)));
	CHECK(stat(sb.ctl_dir, &st) == 0 && st.st_mode == (S_IFDIR | 0700));

	/* Exports: root, host /, control. */
	CHECK_EQ(c.nr_shares, 3);
	if (c.nr_shares == 3) {
		CHECK_STREQ(c.shares[0].path, def);
		CHECK_STREQ(c.shares[0].tag, LKVM_9P_ROOT_TAG);
		CHECK_STREQ(c.shares[1].path, "/");
		CHECK(c.shares[1].readonly);
		CHECK_STREQ(c.shares[2].path, sb.ctl_dir);
		CHECK_STREQ(c.shares[2].tag, LKVM_CTL_TAG);
	}
	/* "quiet" before the user's parameters. */
	CHECK_STREQ(c.params, "quiet loglevel=7");

	/* The initramfs: the command, the configuration, the modules. */
	CHECK_STREQ(c.initrd_what, LKVM_INITRAMFS_WHAT);
	CHECK(c.initrd_fd >= 0 && c.initrd_fd == sb.initrd_fd);
	text = archive_file(c.initrd_fd, "lkvm/argv", &len);
	CHECK(text && len == 13 && !memcmp(text, "sh\0-c\0exit 7\0", 13));
	free(text);
	text = archive_file(c.initrd_fd, "lkvm/config", &len);
	REQUIRE(text);
	CHECK_CONTAINS(text, "root=/dev/root\n");
	CHECK_CONTAINS(text, "hostfs=hostfs\n");
	CHECK_CONTAINS(text, "ctl=lkvm-ctl\n");
	CHECK_CONTAINS(text, "quiet=1\n");
	/* No -n: the default card, user mode, configured by the init. */
	CHECK(sb.net_driver);
	CHECK_CONTAINS(text, "\nnet=user 02:15:15:15:15:15 10.0.2.15/24 10.0.2.2 10.0.2.3\n");
	free(text);
	text = archive_file(c.initrd_fd, "lkvm/modules/03-9pnet_virtio.ko", &len);
	CHECK(text && !strcmp(text, "\177ELF9pnet_virtio"));
	free(text);
	/* Its driver after the required ones, dependencies first. */
	text = archive_file(c.initrd_fd, "lkvm/modules/05-failover.ko", &len);
	CHECK(text && !strcmp(text, "\177ELFfailover"));
	free(text);
	text = archive_file(c.initrd_fd, "lkvm/modules/07-virtio_net.ko", &len);
	CHECK(text && !strcmp(text, "\177ELFvirtio_net"));
	free(text);

	/* The command's status comes back; everything is cleaned up. */
	status_file(sb.ctl_dir, "7\n", 2);
	snprintf(real, sizeof(real), "%s", sb.ctl_dir);
	CHECK_EQ(sandbox_finish(&sb, 0), 7);
	CHECK_EQ(access(real, F_OK), -1);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* The second time the default root is used as it is. */
	REQUIRE(parse(&c, "-k", kernel, NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = mods;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), 0);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "");
	/* `lkvm run`: a shell (no argv), no "quiet". */
	CHECK(sb.active && !sb.is_sandbox);
	CHECK_NULL(c.params);
	text = archive_file(c.initrd_fd, "lkvm/argv", &len);
	CHECK_NULL(text);
	snprintf(real, sizeof(real), "%s", sb.ctl_dir);
	sandbox_free(&sb); /* removes the control directory too */
	CHECK_EQ(access(real, F_OK), -1);
	cli_free_config(&c);
	unsetenv("XDG_RUNTIME_DIR");
}

TEST(prepare_choices)
{
	char kernel[400], mods[400], dir[400], path[PATH_MAX];
	char *argv[] = { "true", NULL };
	struct vm_config c;
	struct sandbox sb;
	struct capture cap;

	fake_kernel_and_modules(kernel, sizeof(kernel), mods, sizeof(mods));
	snprintf(dir, sizeof(dir), "%s/plainroot", tmpdir);
	mkdir(dir, 0755);

	/* A disk image or an initrd: an ordinary boot, nothing changed. */
	REQUIRE(parse(&c, "-k", kernel, "-i", kernel, NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	CHECK_EQ(sandbox_prepare(&c, &sb), 0);
	CHECK(!sb.active);
	CHECK_EQ(c.nr_shares, 0);
	CHECK_NULL(c.initrd_what);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* --disk DIR that is no setup instance: no hostfs. */
	REQUIRE(parse(&c, "-k", kernel, "-d", dir, NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = mods;
	CHECK_EQ(sandbox_prepare(&c, &sb), 0);
	CHECK(sb.active && !sb.hostfs);
	CHECK_EQ(c.nr_disks, 0);
	CHECK_EQ(c.nr_shares, 2);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* --disk DIR with -i: the user's initramfs mounts it (root=). */
	REQUIRE(parse(&c, "-k", kernel, "-i", kernel, "-d", dir, NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	CHECK_EQ(sandbox_prepare(&c, &sb), 0);
	CHECK(sb.active && !sb.own_init);
	CHECK_EQ(c.nr_shares, 1);
	CHECK_NULL(sb.ctl_dir);
	CHECK_CONTAINS(c.params, "root=/dev/root rootfstype=9p");
	sandbox_free(&sb);
	cli_free_config(&c);

	/* sandbox with -i: a usage error. */
	REQUIRE(parse(&c, "-k", kernel, "-i", kernel, NULL) == 0);
	c.guest_argv = argv;
	sandbox_init(&sb);
	sb.home = home;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), LKVM_EXIT_USAGE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "-i/--initrd cannot be used");
	CHECK_EQ(count_lines(cap.text), 1);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* No modules for the kernel's release: one line, nothing created. */
	REQUIRE(parse(&c, "-k", kernel, "-d", dir, NULL) == 0);
	c.guest_argv = argv;
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = dir;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	snprintf(path, sizeof(path), "%s/9.9.9-test does not exist", dir);
	CHECK_CONTAINS(cap.text, path);
	CHECK_EQ(count_lines(cap.text), 1);
	/* sandbox refuses -i: the advice is one that works for it. */
	CHECK_CONTAINS(cap.text, "(install the kernel's modules, or use -k with a kernel whose modules are installed)");
	CHECK(!strstr(cap.text, " -i"));
	CHECK_NULL(sb.ctl_dir);
	CHECK(sb.initrd_fd < 0);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* A kernel with no release: one line suggesting -i. */
	snprintf(path, sizeof(path), "%s/notakernel", tmpdir);
	file_put_or_exit(path, "\177ELF nothing here", 17);
	REQUIRE(parse(&c, "-k", path, "-d", dir, NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = mods;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "cannot read the release of kernel");
	CHECK_CONTAINS(cap.text, "-i");
	CHECK_EQ(count_lines(cap.text), 1);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* The same for lkvm sandbox: no -i in the advice. */
	REQUIRE(parse(&c, "-k", path, "-d", dir, NULL) == 0);
	c.guest_argv = argv;
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = mods;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "use -k with a kernel that names its release, whose modules are installed");
	CHECK(!strstr(cap.text, " -i"));
	CHECK_EQ(count_lines(cap.text), 1);
	sandbox_free(&sb);
	cli_free_config(&c);

	/* lkvm run with its 9p root and no modules: -i still helps. */
	REQUIRE(parse(&c, "-k", kernel, "-d", dir, NULL) == 0);
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = dir;
	capture_start(&cap);
	CHECK_EQ(sandbox_prepare(&c, &sb), LKVM_EXIT_FAILURE);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "(install the kernel's modules, or give an initrd with -i)");
	CHECK_EQ(count_lines(cap.text), 1);
	sandbox_free(&sb);
	cli_free_config(&c);
}

/* The guest's network as lkvm's init is told of it, from the cards the
 * final configuration has (the exports included). */
static char *prepared_config(const char *kernel, const char *mods,
			     bool *net_driver, ...)
{
	static char *args[32];
	char *argv[] = { "true", NULL };
	struct vm_config c;
	struct sandbox sb;
	struct capture cap;
	char *text = NULL;
	size_t len;
	va_list ap;
	int argc = 0, ret;
	char *a;
	FILE *devnull = fopen("/dev/null", "w");

	args[argc++] = "run";
	args[argc++] = "-k";
	args[argc++] = (char *)kernel;
	va_start(ap, net_driver);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		args[argc++] = a;
	va_end(ap);
	args[argc] = NULL;
	ret = cli_parse_run(argc, args, &c, devnull);
	fclose(devnull);
	if (!CHECK_EQ(ret, 0))
		return NULL;
	c.guest_argv = argv;
	sandbox_init(&sb);
	sb.home = home;
	sb.modules_dir = mods;
	capture_start(&cap);
	ret = sandbox_prepare(&c, &sb);
	capture_end(&cap);
	if (CHECK_EQ(ret, 0)) {
		text = archive_file(c.initrd_fd, "lkvm/config", &len);
		*net_driver = sb.net_driver;
	} else {
		printf("  sandbox_prepare: %s", cap.text);
	}
	sandbox_free(&sb);
	cli_free_config(&c);
	return text;
}

TEST(prepare_network)
{
	char kernel[400], mods[400], path[PATH_MAX], d[12][32];
	bool drv = false;
	char *text;
	unsigned int i;

	fake_kernel_and_modules(kernel, sizeof(kernel), mods, sizeof(mods));
	for (i = 0; i < 12; i++)
		snprintf(d[i], sizeof(d[i]), "/nonexistent,t%u", i);

	/* -n none: no card, nothing for the init. */
	text = prepared_config(kernel, mods, &drv, "-n", "none", NULL);
	CHECK(text && !strstr(text, "net="));
	free(text);

	/* Cards found by MAC; only the first user-mode one gets slirp's
	 * addresses (a second is another 10.0.2.0/24), a tap none. */
	text = prepared_config(kernel, mods, &drv, "-n", "mode=tap,tapif=tap0",
			       "-n", "mode=user", "-n",
			       "mode=user,guest_mac=52:54:00:12:34:56", NULL);
	REQUIRE(text);
	CHECK(drv);
	CHECK_CONTAINS(text, "\nnet=tap 02:15:15:15:15:15\n"
			     "net=user 02:15:15:15:15:16 10.0.2.15/24 10.0.2.2 10.0.2.3\n"
			     "net=user 52:54:00:12:34:56\n");
	free(text);

	/* mmio on x86 takes 15: 12 --9p and the 3 exports fill it, and
	 * the default card (counted with the exports) is left out. */
	text = prepared_config(kernel, mods, &drv, "--virtio-transport", "mmio",
			       "--9p", d[0], "--9p", d[1], "--9p", d[2], "--9p", d[3],
			       "--9p", d[4], "--9p", d[5], "--9p", d[6], "--9p", d[7],
			       "--9p", d[8], "--9p", d[9], "--9p", d[10], "--9p", d[11],
			       NULL);
	CHECK(text && !strstr(text, "net="));
	free(text);
	text = prepared_config(kernel, mods, &drv, "--virtio-transport", "mmio",
			       "--9p", d[0], "--9p", d[1], "--9p", d[2], "--9p", d[3],
			       "--9p", d[4], "--9p", d[5], "--9p", d[6], "--9p", d[7],
			       "--9p", d[8], "--9p", d[9], "--9p", d[10], NULL);
	CHECK(text && strstr(text, "\nnet=user 02:15:15:15:15:15 "));
	free(text);

	/* A kernel without virtio_net: the default card's driver is
	 * optional (the guest boots, the init leaves the network alone);
	 * a card asked for needs it. */
	snprintf(path, sizeof(path), "%s/9.9.9-test/kernel/virtio_net.ko", mods);
	REQUIRE(unlink(path) == 0);
	drv = true;
	text = prepared_config(kernel, mods, &drv, NULL);
	CHECK(text && !strstr(text, "net="));
	CHECK(!drv);
	free(text);
	{
		char *argv[] = { "true", NULL };
		struct vm_config c;
		struct sandbox sb;
		struct capture cap;

		REQUIRE(parse(&c, "-k", kernel, "-n", "mode=user", NULL) == 0);
		c.guest_argv = argv;
		sandbox_init(&sb);
		sb.home = home;
		sb.modules_dir = mods;
		capture_start(&cap);
		CHECK_EQ(sandbox_prepare(&c, &sb), LKVM_EXIT_FAILURE);
		capture_end(&cap);
		CHECK_CONTAINS(cap.text, "virtio_net");
		CHECK_EQ(count_lines(cap.text), 1);
		CHECK_NULL(sb.ctl_dir);
		sandbox_free(&sb);
		cli_free_config(&c);
	}
	/* Put it back for the other tests. */
	file_put_or_exit(path, "\177ELFvirtio_net", 15);
}

TEST(init_config)
{
	struct vm_config cfg;
	struct sandbox sb;
	char *s;

	sandbox_init(&sb);
	memset(&cfg, 0, sizeof(cfg));
	sb.hostfs = false;
	sb.is_sandbox = false;
	s = sandbox_init_config(&sb, &cfg, true, true, "xterm-256color");
	REQUIRE(s);
	CHECK_STREQ(s, "root=/dev/root\nctl=lkvm-ctl\nstdout_tty=1\nstdin_tty=1\n"
		       "term=xterm-256color\nquiet=0\n");
	free(s);
	/* A guest kernel with virtio_net: the default card for the init. */
	sb.net_driver = true;
	s = sandbox_init_config(&sb, &cfg, true, true, "xterm-256color");
	REQUIRE(s);
	CHECK_STREQ(s, "root=/dev/root\nctl=lkvm-ctl\nstdout_tty=1\nstdin_tty=1\n"
		       "term=xterm-256color\nquiet=0\n"
		       "net=user 02:15:15:15:15:15 10.0.2.15/24 10.0.2.2 10.0.2.3\n");
	free(s);
	sb.net_driver = false;
	/* The addresses are libslirp's (net/slirp.c). */
	{
		struct in_addr mask;
		char want[32];

		snprintf(want, sizeof(want), "%s/", NET_USER_GUEST);
		CHECK(!strncmp(LKVM_GUEST_USER_ADDR, want, strlen(want)));
		REQUIRE(inet_pton(AF_INET, NET_USER_NETMASK, &mask) == 1);
		CHECK_EQ(strtoul(LKVM_GUEST_USER_ADDR + strlen(want), NULL, 10),
			 (unsigned long)__builtin_popcount(mask.s_addr));
		CHECK_STREQ(LKVM_GUEST_USER_GATEWAY, NET_USER_HOST);
		CHECK_STREQ(LKVM_GUEST_USER_DNS, NET_USER_DNS);
	}
	/* Output to a pipe: TERM=dumb; a TERM that could break the file: linux. */
	sb.hostfs = true;
	sb.is_sandbox = true;
	s = sandbox_init_config(&sb, &cfg, false, false, "xterm");
	REQUIRE(s);
	CHECK_CONTAINS(s, "hostfs=hostfs\n");
	CHECK_CONTAINS(s, "stdout_tty=0\nstdin_tty=0\nterm=dumb\nquiet=1\n");
	free(s);
	s = sandbox_init_config(&sb, &cfg, true, false, "x\nroot=evil");
	REQUIRE(s);
	CHECK_CONTAINS(s, "term=linux\n");
	CHECK(!strstr(s, "evil"));
	free(s);
	s = sandbox_init_config(&sb, &cfg, true, false, NULL);
	REQUIRE(s);
	CHECK_CONTAINS(s, "term=linux\n");
	free(s);
}

int main(void)
{
	if (!tmp_dir_make(tmpdir, sizeof(tmpdir), "sandbox"))
		return 1;
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	mkdir(home, 0755);
	RUN(setup_layout);
	RUN(setup_names);
	RUN(home_directory);
	RUN(root_selection);
	RUN(exports);
	RUN(status_parsing);
	RUN(finish);
	RUN(finish_deep_tree);
	RUN(release_bzimage);
	RUN(release_vmlinux);
	RUN(prepare_sandbox);
	RUN(prepare_choices);
	RUN(prepare_network);
	RUN(init_config);
	tmp_dir_remove(tmpdir);
	return test_summary();
}
