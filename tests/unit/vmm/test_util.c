// SPDX-License-Identifier: GPL-2.0
/*
 * vmm/util.c: opening and reading the files a user names (kernel, initrd,
 * modules) -- only regular files, never blocking on a FIFO -- and the one
 * line that says why one cannot be read; sizes printed exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lkvm/util.h"
#include "host_files.h"
#include "test.h"

static char dir[256];

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
	CHECK_STREQ(cap.text, "lkvm: error: kernel 'f' is not a regular file\r\n");
	capture_start(&cap);
	pr_file_error("initrd", "/tmp", -EISDIR);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: initrd '/tmp' is a directory, not a file\r\n");
	capture_start(&cap);
	pr_file_error("kernel", "/x", -ENOENT);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: cannot read kernel '/x': No such file or directory\r\n");
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
	RUN(fifo_refused_without_blocking);
	RUN(devices_and_directories_refused);
	RUN(regular_file_read);
	RUN(file_error_lines);
	RUN(sizes_exact);
	tmp_dir_remove(dir);
	return test_summary();
}
