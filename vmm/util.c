// SPDX-License-Identifier: GPL-2.0
#include "lkvm/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool lkvm_debug_enabled;
bool lkvm_quiet;

/*
 * The length of the well-formed UTF-8 sequence at @s (1 for ASCII), or 0
 * when the bytes there are not one (a stray continuation byte, an overlong
 * or truncated sequence, a surrogate, past U+10FFFF).
 */
static size_t utf8_sequence(const unsigned char *s)
{
	size_t len, i;
	unsigned int lo = 0x80, hi = 0xbf; /* the second byte's range */

	if (*s < 0x80)
		return 1;
	if (*s >= 0xc2 && *s <= 0xdf)
		len = 2;
	else if (*s >= 0xe0 && *s <= 0xef)
		len = 3;
	else if (*s >= 0xf0 && *s <= 0xf4)
		len = 4;
	else
		return 0;
	if (*s == 0xe0)
		lo = 0xa0; /* overlong */
	else if (*s == 0xed)
		hi = 0x9f; /* surrogates */
	else if (*s == 0xf0)
		lo = 0x90; /* overlong */
	else if (*s == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

size_t escape_controls(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0;

	if (!cap)
		return 0;
	while (*s) {
		size_t len = utf8_sequence(s), esc, i;

		/*
		 * Printable ASCII and well-formed UTF-8 are copied.  Escaped
		 * are C0 controls, DEL, the C1 controls U+0080..U+009F (0xc2
		 * 0x80..0x9f, which some terminals obey) and every byte that is
		 * not part of well-formed UTF-8.
		 */
		if (len == 1)
			esc = *s < 0x20 || *s == 0x7f;
		else if (len == 2 && *s == 0xc2 && s[1] <= 0x9f)
			esc = 1;
		else
			esc = !len;
		if (!len)
			len = 1;
		if (!esc) {
			if (n + len >= cap)
				break;
			memcpy(dst + n, s, len);
			n += len;
			s += len;
			continue;
		}
		if (n + 4 * len >= cap)
			break;
		for (i = 0; i < len; i++, n += 4)
			snprintf(dst + n, 5, "\\x%02x", s[i]);
		s += len;
	}
	dst[n] = '\0';
	return n;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char fixed[1024], *msg = NULL, *line = fixed;
	size_t cap = sizeof(fixed), len;

	/* The whole message, however long (a 10 KiB path must not cut off
	 * the reason after it). */
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && 4 * strlen(msg) + 64 > cap) {
		cap = 4 * strlen(msg) + 64;
		line = malloc(cap);
		if (!line) {
			line = fixed;
			cap = sizeof(fixed);
		}
	}
	len = (size_t)snprintf(line, cap, "lkvm: %s", prefix);
	/* File names and guest-supplied strings must not drive the terminal. */
	len += escape_controls(line + len, cap - len - 2,
			       msg ? msg : "(out of memory)");
	/*
	 * A terminal may be in raw mode (no output post-processing): end the
	 * line with CR LF there ourselves; a log file gets a plain LF.  One
	 * write keeps lines from different threads from interleaving.
	 */
	if (isatty(STDERR_FILENO))
		line[len++] = '\r';
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
	if (line != fixed)
		free(line);
	free(msg);
}

int keep_std_fds_open(void)
{
	int fd, null;

	for (fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* The lowest free descriptor: @fd, as the ones below are open. */
		null = open("/dev/null", O_RDWR);
		if (null < 0)
			return -errno;
		if (null != fd) {
			if (dup2(null, fd) < 0) {
				int e = -errno;

				close(null);
				return e;
			}
			close(null);
		}
	}
	return 0;
}

#define DEFINE_LOG(name, prefix)                                               \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(prefix, fmt, ap);                                         \
		va_end(ap);                                                    \
	}

DEFINE_LOG(pr_err, "error: ")
DEFINE_LOG(pr_warn, "warning: ")
DEFINE_LOG(pr_info_impl, "")
DEFINE_LOG(pr_debug_impl, "debug: ")

int parse_uint(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xffffffffUL)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t unit = default_unit;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': unit = KiB; break;
		case 'M': unit = MiB; break;
		case 'G': unit = GiB; break;
		case 'T': unit = 1024ULL * GiB; break;
		default: return -1;
		}
		end++;
		/* Accept "512MB" / "512MiB" spellings too. */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v == 0 || v > UINT64_MAX / unit)
		return -1;
	*out = v * unit;
	return 0;
}

/* 0 when @st is a file lkvm may read as a kernel, initrd or module. */
static int regular_or_error(const struct stat *st, bool allow_blockdev)
{
	if (S_ISREG(st->st_mode) || (allow_blockdev && S_ISBLK(st->st_mode)))
		return 0;
	return S_ISDIR(st->st_mode) ? -EISDIR : -LKVM_ENOTREG;
}

int open_regular_file(const char *path, bool allow_blockdev, struct stat *st)
{
	int fd, flags, err;

	/*
	 * Look before opening: opening a device can have effects of its own,
	 * and opening a FIFO for reading waits for a writer.  The type is
	 * checked again on the descriptor (the path may have changed), which
	 * O_NONBLOCK keeps from blocking in between.
	 */
	if (stat(path, st) < 0)
		return -errno;
	err = regular_or_error(st, allow_blockdev);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		err = -errno;
		goto out_close;
	}
	err = regular_or_error(st, allow_blockdev);
	if (err)
		goto out_close;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		err = -errno;
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
}

int read_whole_file(const char *path, uint8_t **buf, size_t *len)
{
	return read_file_max(path, UINT64_MAX, buf, len);
}

int read_file_max(const char *path, uint64_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t done = 0;
	int fd, err;

	fd = open_regular_file(path, false, &st);
	if (fd < 0)
		return fd;
	/* Before reading: a 2 GiB disk image given as the kernel must not
	 * take 2 GiB of memory and seconds to be refused. */
	if ((uint64_t)st.st_size > max || (uint64_t)st.st_size > SIZE_MAX) {
		err = -EFBIG;
		goto out_close;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		err = -ENOMEM;
		goto out_close;
	}
	while (done < (size_t)st.st_size) {
		ssize_t r = read(fd, p + done, (size_t)st.st_size - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			free(p);
			goto out_close;
		}
		done += (size_t)r;
	}
	close(fd);
	*buf = p;
	*len = done;
	return 0;
out_close:
	close(fd);
	return err;
}

/* Whether the regular file at @path begins with the @len bytes @magic. */
static bool file_starts_with(const char *path, const char *magic, size_t len)
{
	char head[16];
	struct stat st;
	int fd = open_regular_file(path, false, &st);
	bool match;

	if (fd < 0 || len > sizeof(head)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	match = pread(fd, head, len, 0) == (ssize_t)len &&
		!memcmp(head, magic, len);
	close(fd);
	return match;
}

int read_kernel_file(const char *path, uint64_t mem_bytes, uint8_t **buf,
		     size_t *len)
{
	int err = read_file_max(path, mem_bytes, buf, len);

	/* An ELF vmlinux (x86's PVH entry) loads only its segments: with
	 * debug info it may be larger than guest RAM and still boot. */
	if (err == -EFBIG && file_starts_with(path, "\177ELF", 4))
		err = read_whole_file(path, buf, len);
	if (err == -EFBIG) {
		struct stat st;

		if (stat(path, &st) < 0)
			st.st_size = 0;
		pr_err("kernel '%s' (%s) is larger than the guest's memory (%s): is it a disk image? (give disks with -d)",
		       path, size_str((uint64_t)st.st_size).s,
		       size_str(mem_bytes).s);
		return err;
	}
	if (err) {
		pr_file_error("kernel", path, err);
		return err;
	}
	if (!*len) {
		pr_err("kernel '%s' is empty", path);
		free(*buf);
		*buf = NULL;
		return -EINVAL;
	}
	return 0;
}

void pr_file_error(const char *what, const char *path, int err)
{
	if (err == -LKVM_ENOTREG)
		pr_err("%s '%s' is not a regular file", what, path);
	else if (err == -EISDIR)
		pr_err("%s '%s' is a directory, not a file", what, path);
	else
		pr_err("cannot read %s '%s': %s", what, path, strerror(-err));
}

struct size_str size_str(uint64_t bytes)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	struct size_str s;
	unsigned int u = 0;

	while (u + 1 < ARRAY_SIZE(units) && bytes && !(bytes % 1024)) {
		bytes /= 1024;
		u++;
	}
	snprintf(s.s, sizeof(s.s), "%llu %s", (unsigned long long)bytes,
		 bytes == 1 && !u ? "byte" : units[u]);
	return s;
}

int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

uint64_t bump_alloc(uint64_t *next, uint64_t start, uint64_t end,
		    uint64_t align, uint64_t size)
{
	uint64_t addr;

	if (!size)
		return 0;
	while (align < size)
		align <<= 1;
	if (!*next)
		*next = start;
	addr = ALIGN_UP(*next, align);
	if (addr < *next || addr > end || size > end - addr)
		return 0;
	*next = addr + size;
	return addr;
}
