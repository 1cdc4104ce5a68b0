// SPDX-License-Identifier: GPL-2.0
/*
 * vmm/util.c: the standard descriptors lkvm keeps open; the escaping of
 * control characters in its messages (pr_err() and friends); opening and
 * reading the files a user names (kernel, initrd, modules) -- only regular
 * files, never blocking on a FIFO -- and the one line that says why one
 * cannot be read; sizes printed exactly.  The number parsers are tested
 * with the command line (frontend/test_cli.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lkvm/util.h"
#include "host_files.h"
#include "test.h"

static char dir[256];

/* Whether @fd is open on /dev/null. */
static bool is_dev_null(int fd)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 &&
	       S_ISCHR(a.st_mode) && a.st_rdev == b.st_rdev;
}

/* `lkvm <&- >&- 2>&-`: each closed one becomes /dev/null, read-write. */
static void std_fds_all_closed(void)
{
	int saved = dup(STDOUT_FILENO), ret;
	char c;

	REQUIRE(saved > STDERR_FILENO);
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	ret = keep_std_fds_open();
	/* Checks print to stdout: bring it back, /dev/null's number aside. */
	dup2(STDOUT_FILENO, 3 + saved);
	dup2(saved, STDOUT_FILENO);
	CHECK_EQ(ret, 0);
	CHECK(is_dev_null(STDIN_FILENO));
	CHECK(is_dev_null(3 + saved));
	CHECK(is_dev_null(STDERR_FILENO));
	CHECK_EQ(fcntl(STDIN_FILENO, F_GETFL) & O_ACCMODE, O_RDWR);
	CHECK_EQ(read(STDIN_FILENO, &c, 1), 0);
	CHECK_EQ(write(STDERR_FILENO, "x", 1), 1);
}

TEST(keep_std_fds_all_closed)
{
	t_run_child(std_fds_all_closed, 5, true);
}

/* Only fd 0 closed (`lkvm run <&-`); 1 and 2 stay as they are. */
static void std_fds_stdin_closed(void)
{
	struct stat before, after;
	int pipefd[2];

	REQUIRE(pipe(pipefd) == 0);
	REQUIRE(dup2(pipefd[1], STDERR_FILENO) == STDERR_FILENO);
	REQUIRE(fstat(STDERR_FILENO, &before) == 0);
	close(STDIN_FILENO);
	CHECK_EQ(keep_std_fds_open(), 0);
	CHECK(is_dev_null(STDIN_FILENO));
	CHECK(fstat(STDERR_FILENO, &after) == 0 &&
	      after.st_ino == before.st_ino); /* still the pipe */
	CHECK(!is_dev_null(STDOUT_FILENO));
	/* The eventfd-like next file does not become fd 0. */
	CHECK(open("/dev/null", O_RDONLY) > STDERR_FILENO);
}

TEST(keep_std_fds_stdin_closed)
{
	t_run_child(std_fds_stdin_closed, 5, true);
}

/* All open: nothing changes. */
TEST(keep_std_fds_all_open)
{
	int fd = open("/dev/null", O_RDONLY), next;

	REQUIRE(fd >= 0);
	close(fd);
	CHECK_EQ(keep_std_fds_open(), 0);
	next = open("/dev/null", O_RDONLY);
	CHECK_EQ(next, fd);
	close(next);
}

TEST(escape_controls_text)
{
	char out[256];

	CHECK_EQ(escape_controls(out, sizeof(out), "plain text"), 10);
	CHECK_STREQ(out, "plain text");
	escape_controls(out, sizeof(out), "\x1b[31mred\x1b[0m");
	CHECK_STREQ(out, "\\x1b[31mred\\x1b[0m");
	escape_controls(out, sizeof(out), "a\nb\tc\rd\x01\x7f");
	CHECK_STREQ(out, "a\\x0ab\\x09c\\x0dd\\x01\\x7f");
	/* UTF-8 stays; the C1 controls' encodings (U+0080..U+009F) do not. */
	escape_controls(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac \xc2\x9b\xc2\x80\xc2\xa0");
	CHECK_STREQ(out, "caf\xc3\xa9 \xe2\x82\xac \\xc2\\x9b\\xc2\\x80\xc2\xa0");
	/* Bytes that are not well-formed UTF-8 are escaped: a lone lead
	 * byte, stray continuation bytes, 0xff/0xfe, overlong encodings,
	 * surrogates. */
	escape_controls(out, sizeof(out), "x\xc2");
	CHECK_STREQ(out, "x\\xc2");
	escape_controls(out, sizeof(out), "\xff\xfe-\x80-\xc0\xaf-\xe0\x80\x80-\xed\xa0\x80");
	CHECK_STREQ(out, "\\xff\\xfe-\\x80-\\xc0\\xaf-\\xe0\\x80\\x80-\\xed\\xa0\\x80");
	escape_controls(out, sizeof(out), "\xf0\x9f\x98\x80 \xe2\x82");
	CHECK_STREQ(out, "\xf0\x9f\x98\x80 \\xe2\\x82");
	/* A backslash is not a control character. */
	escape_controls(out, sizeof(out), "a\\x1b");
	CHECK_STREQ(out, "a\\x1b");
}

/* Too small a buffer: what fits, never half an escape. */
TEST(escape_controls_truncation)
{
	char out[16];

	memset(out, 'z', sizeof(out));
	CHECK_EQ(escape_controls(out, 0, "abc"), 0);
	CHECK_EQ(out[0], 'z');
	CHECK_EQ(escape_controls(out, 1, "abc"), 0);
	CHECK_STREQ(out, "");
	CHECK_EQ(escape_controls(out, 3, "abc"), 2);
	CHECK_STREQ(out, "ab");
	CHECK_EQ(escape_controls(out, 6, "ab\x1b"), 2);
	CHECK_STREQ(out, "ab");
	CHECK_EQ(escape_controls(out, 7, "ab\x1b"), 6);
	CHECK_STREQ(out, "ab\\x1b");
	CHECK_EQ(escape_controls(out, 9, "a\xc2\x9b"), 1); /* 9 + NUL */
	CHECK_STREQ(out, "a");
	CHECK_EQ(escape_controls(out, 10, "a\xc2\x9b"), 9);
	CHECK_STREQ(out, "a\\xc2\\x9b");
}

/* What pr_err() writes to fd 2 for @arg (one message). */
static void capture_pr_err(const char *arg, char *buf, size_t cap)
{
	int saved = dup(STDERR_FILENO), fd;
	FILE *f = tmpfile();
	ssize_t n;

	memset(buf, 0, cap);
	if (!CHECK(saved >= 0 && f))
		return;
	fd = fileno(f);
	dup2(fd, STDERR_FILENO);
	pr_err("cannot open '%s'", arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, cap - 1, 0);
	CHECK(n > 0);
	fclose(f);
}

/* pr_err() and friends: one line (LF into a file; CR LF only at a
 * terminal, which may be in raw mode), control characters escaped. */
TEST(log_messages_escaped)
{
	char buf[512];

	capture_pr_err("\x1b]0;pwned\x07\nx", buf, sizeof(buf));
	CHECK_STREQ(buf, "lkvm: error: cannot open '\\x1b]0;pwned\\x07\\x0ax'\n");
	capture_pr_err("d\xc3\xa9j\xc3\xa0", buf, sizeof(buf));
	CHECK_STREQ(buf, "lkvm: error: cannot open 'd\xc3\xa9j\xc3\xa0'\n");
}

/* A FIFO with no writer: open_regular_file() and read_whole_file() refuse
 * it at once (a child with an alarm: before the fix, open() hung). */
static void fifo_child(void)
{
	char path[300];
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK_EQ(open_regular_file(path, false, &st), -LKVM_ENOTREG);
	CHECK_EQ(open_regular_file(path, true, &st), -LKVM_ENOTREG);
	CHECK_EQ(read_whole_file(path, &buf, &len), -LKVM_ENOTREG);
	CHECK_NULL(buf);
}

TEST(fifo_refused_without_blocking)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/fifo", dir);
	REQUIRE(mkfifo(path, 0600) == 0);
	t_run_child(fifo_child, 5, true);
}

TEST(devices_and_directories_refused)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len;

	/* A character device: refused, not read as an empty or endless file. */
	CHECK_EQ(read_whole_file("/dev/zero", &buf, &len), -LKVM_ENOTREG);
	CHECK_EQ(open_regular_file("/dev/null", true, &st), -LKVM_ENOTREG);
	CHECK_EQ(read_whole_file(dir, &buf, &len), -EISDIR);
	CHECK_EQ(read_whole_file("/nonexistent-lkvm", &buf, &len), -ENOENT);
	CHECK_NULL(buf);
}

TEST(regular_file_read)
{
	char path[300];
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/file", dir);
	REQUIRE(file_put(path, "hello", 5, 0644) == 0);
	CHECK_EQ(read_whole_file(path, &buf, &len), 0);
	CHECK_EQ(len, 5);
	CHECK(buf && !memcmp(buf, "hello", 5));
	free(buf);
	/* The descriptor: blocking again, close-on-exec. */
	fd = open_regular_file(path, false, &st);
	REQUIRE(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(st.st_size, 5);
	close(fd);
}

TEST(file_error_lines)
{
	struct capture cap;

	capture_start(&cap);
	pr_file_error("kernel", "f", -LKVM_ENOTREG);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: kernel 'f' is not a regular file\n");
	capture_start(&cap);
	pr_file_error("initrd", "/tmp", -EISDIR);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: initrd '/tmp' is a directory, not a file\n");
	capture_start(&cap);
	pr_file_error("kernel", "/x", -ENOENT);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: cannot read kernel '/x': No such file or directory\n");
}

/* A disk image given as the kernel: refused by its size, before a byte
 * of it is read (not after reading 2 GiB into memory). */
TEST(kernel_larger_than_memory)
{
	char path[300], want[600];
	struct capture cap;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/disk.img", dir);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 2 * MiB) == 0);
	close(fd);
	CHECK_EQ(read_file_max(path, MiB, &buf, &len), -EFBIG);
	CHECK_NULL(buf);
	capture_start(&cap);
	CHECK_EQ(read_kernel_file(path, MiB, &buf, &len), -EFBIG);
	capture_end(&cap);
	snprintf(want, sizeof(want),
		 "lkvm: error: kernel '%s' (2 MiB) is larger than the guest's memory (1 MiB): is it a disk image? (give disks with -d)\n",
		 path);
	CHECK_STREQ(cap.text, want);
	/* Up to the limit it is read; an empty one is refused. */
	CHECK_EQ(read_kernel_file(path, 2 * MiB, &buf, &len), 0);
	CHECK_EQ(len, 2 * MiB);
	free(buf);
	REQUIRE(truncate(path, 0) == 0);
	capture_start(&cap);
	CHECK_EQ(read_kernel_file(path, MiB, &buf, &len), -EINVAL);
	capture_end(&cap);
	CHECK(strstr(cap.text, "is empty\n") != NULL);
	/* An ELF vmlinux larger than guest RAM is read: only its segments
	 * need to fit (x86's PVH boot checks them). */
	REQUIRE(file_put(path, "\177ELF", 4, 0644) == 0);
	REQUIRE(truncate(path, 2 * MiB) == 0);
	CHECK_EQ(read_kernel_file(path, MiB, &buf, &len), 0);
	CHECK_EQ(len, 2 * MiB);
	free(buf);
	unlink(path);
}

/* A message longer than any fixed buffer keeps its end (the reason). */
TEST(long_message_whole)
{
	static char name[10001];
	struct capture cap;

	memset(name, 'a', sizeof(name) - 1);
	capture_start(&cap);
	pr_file_error("kernel", name, -ENAMETOOLONG);
	capture_end(&cap);
	/* capture keeps 4 KiB: check the write's end through the file. */
	CHECK(strncmp(cap.text, "lkvm: error: cannot read kernel 'aaaa", 37) == 0);
	{
		FILE *f = tmpfile();
		int saved = dup(STDERR_FILENO);
		char tail[64] = { 0 };
		long size;

		REQUIRE(f && saved >= 0);
		dup2(fileno(f), STDERR_FILENO);
		pr_file_error("kernel", name, -ENAMETOOLONG);
		dup2(saved, STDERR_FILENO);
		close(saved);
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		CHECK_EQ(size, (long)strlen("lkvm: error: cannot read kernel '") +
			 10000 + (long)strlen("': File name too long\n"));
		fseek(f, -(long)strlen("': File name too long\n"), SEEK_END);
		CHECK(fread(tail, 1, sizeof(tail) - 1, f) > 0);
		CHECK_STREQ(tail, "': File name too long\n");
		fclose(f);
	}
}

/* Sizes exactly: -m 4100K is not "4 MiB". */
TEST(sizes_exact)
{
	CHECK_STREQ(size_str(4100 * KiB).s, "4100 KiB");
	CHECK_STREQ(size_str(4 * MiB).s, "4 MiB");
	CHECK_STREQ(size_str(2 * GiB).s, "2 GiB");
	CHECK_STREQ(size_str(1024 * GiB).s, "1 TiB");
	CHECK_STREQ(size_str(3 * 1024 * 1024 * GiB).s, "3072 TiB");
	CHECK_STREQ(size_str(4097).s, "4097 bytes");
	CHECK_STREQ(size_str(1).s, "1 byte");
	CHECK_STREQ(size_str(0).s, "0 bytes");
	CHECK_STREQ(size_str(0x7fffffff).s, "2147483647 bytes");
	CHECK_STREQ(size_str(UINT64_MAX).s, "18446744073709551615 bytes");
}

int main(void)
{
	if (!tmp_dir_make(dir, sizeof(dir), "util"))
		return 1;
	RUN(keep_std_fds_all_closed);
	RUN(keep_std_fds_stdin_closed);
	RUN(keep_std_fds_all_open);
	RUN(escape_controls_text);
	RUN(escape_controls_truncation);
	RUN(log_messages_escaped);
	RUN(fifo_refused_without_blocking);
	RUN(devices_and_directories_refused);
	RUN(regular_file_read);
	RUN(file_error_lines);
	RUN(kernel_larger_than_memory);
	RUN(long_message_whole);
	RUN(sizes_exact);
	tmp_dir_remove(dir);
	return test_summary();
}
