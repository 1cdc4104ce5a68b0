/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_UTIL_H
#define LKVM_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
/* The structure embedding @ptr as its @member. */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/* Little-endian fields in byte buffers (PCI config space, boot headers). */
static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

/* Process-wide logging switches (set by --debug and --quiet); not per-VM
 * state. */
extern bool lkvm_debug_enabled;
extern bool lkvm_quiet;

void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_info_impl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Informational lines, which --quiet silences; errors and warnings stay. */
#define pr_info(...)                                                           \
	do {                                                                   \
		if (!lkvm_quiet)                                               \
			pr_info_impl(__VA_ARGS__);                             \
	} while (0)
void pr_debug_impl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define pr_debug(...)                                                          \
	do {                                                                   \
		if (lkvm_debug_enabled)                                        \
			pr_debug_impl(__VA_ARGS__);                            \
	} while (0)

/*
 * Copy @src to @dst (@cap bytes, always NUL-terminated) with each control
 * character written as "\xNN": bytes below 0x20 (newline and tab too), DEL,
 * and the UTF-8 encodings of U+0080..U+009F.  lkvm's messages echo file
 * names and other user strings, which must not drive the terminal or break
 * the one-line message; other UTF-8 is copied as it is.  An escape that
 * does not fit is left out whole.  Returns the length of @dst.
 */
size_t escape_controls(char *dst, size_t cap, const char *src);

/*
 * Open /dev/null on each of fds 0, 1 and 2 that is closed, so no file lkvm
 * opens later (an eventfd, a disk) becomes its standard input or output.
 * 0, or -errno.
 */
int keep_std_fds_open(void);

/*
 * Parse a size such as "512", "512M", "2G", "1024K".  A bare number is in
 * @default_unit bytes (kvmtool reads -m in MiB).  Returns 0 or -1 on syntax
 * error / overflow / zero.
 */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Parse a non-negative decimal integer that fits in an unsigned int. */
int parse_uint(const char *s, unsigned int *out);

/*
 * open_regular_file() and read_whole_file() refuse what is not a regular
 * file (a FIFO, a socket, a character device; a block device unless
 * allowed) with -LKVM_ENOTREG, and a directory with -EISDIR, without
 * blocking on it.
 */
#define LKVM_ENOTREG EMEDIUMTYPE

/*
 * Open @path read-only (close-on-exec, never a controlling terminal) if it
 * is a regular file, or with @allow_blockdev a block device: the
 * descriptor (blocking), its stat in *@st; or -errno.  A FIFO is refused
 * without waiting for a writer.
 */
struct stat;
int open_regular_file(const char *path, bool allow_blockdev, struct stat *st);

/* Read a whole regular file; returns 0 or -errno (see LKVM_ENOTREG).
 * *buf is malloc'ed. */
int read_whole_file(const char *path, uint8_t **buf, size_t *len);
/* The same, -EFBIG (before reading anything) when the file is larger than
 * @max bytes. */
int read_file_max(const char *path, uint64_t max, uint8_t **buf, size_t *len);

/* One line for open_regular_file()'s or read_whole_file()'s @err about
 * the @what ("kernel") at @path: "kernel 'f' is not a regular file",
 * "... is a directory, not a file", or "cannot read kernel 'f': ...". */
void pr_file_error(const char *what, const char *path, int err);

/* The kernel at @path into a malloc'ed *@buf; one error line (not a
 * regular file, larger than the guest's @mem_bytes, empty...) and -errno
 * on failure. */
int read_kernel_file(const char *path, uint64_t mem_bytes, uint8_t **buf,
		     size_t *len);

/*
 * @bytes exactly, in the largest binary unit that divides it, for
 * messages: "4100 KiB", "64 MiB", "2 GiB", "4097 bytes".  The string lives
 * in the returned value: pr_err("%s", size_str(n).s).
 */
struct size_str {
	char s[32];
};
struct size_str size_str(uint64_t bytes);

/* write() all of buf, retrying on EINTR/short writes. */
int write_all(int fd, const void *buf, size_t len);

/*
 * A bump allocator (the platforms' address-space allocators): take @size
 * bytes from the window [@start, @end) whose free part begins at *@next (0:
 * nothing taken yet), naturally aligned and at least to @align (a power of
 * two).  Returns the address, or 0 if @size is 0 or the window is full.
 */
uint64_t bump_alloc(uint64_t *next, uint64_t start, uint64_t end,
		    uint64_t align, uint64_t size);

#endif
