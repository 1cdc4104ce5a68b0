/*
 * The C23 entry points that glibc 2.38 added and that Debian 13's static
 * libraries (libcap-ng.a, libarchive.a, libglib-2.0.a) call, for a cross
 * toolchain whose libc is older (Debian 12's riscv64 cross glibc is 2.36);
 * strlcpy() and strlcat() came with 2.38 too (glib calls them).
 *
 * glibc 2.38 redirects strtol() and friends to __isoc23_*() under
 * _GNU_SOURCE; the C23 variants differ only in also accepting a "0b"
 * binary prefix, which no caller in those libraries relies on. Built by
 * tools/riscv-sysroot/sysroot.sh into the sysroot's liblkvm-isoc23.a, and
 * linked only when the toolchain's libc.a lacks these symbols.
 */
#define _GNU_SOURCE /* strtoll_l */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

long __isoc23_strtol(const char *s, char **end, int base);
unsigned long __isoc23_strtoul(const char *s, char **end, int base);
long long __isoc23_strtoll(const char *s, char **end, int base);
unsigned long long __isoc23_strtoull(const char *s, char **end, int base);
intmax_t __isoc23_strtoimax(const char *s, char **end, int base);
uintmax_t __isoc23_strtoumax(const char *s, char **end, int base);
int __isoc23_vsscanf(const char *s, const char *fmt, va_list ap);
int __isoc23_sscanf(const char *s, const char *fmt, ...);
int __isoc23_vfscanf(FILE *f, const char *fmt, va_list ap);
int __isoc23_fscanf(FILE *f, const char *fmt, ...);
int __isoc23_vscanf(const char *fmt, va_list ap);
int __isoc23_scanf(const char *fmt, ...);
long long __isoc23_strtoll_l(const char *s, char **end, int base, locale_t l);
unsigned long long __isoc23_strtoull_l(const char *s, char **end, int base,
				       locale_t l);
size_t strlcpy(char *dst, const char *src, size_t size);
size_t strlcat(char *dst, const char *src, size_t size);

long __isoc23_strtol(const char *s, char **end, int base)
{
	return strtol(s, end, base);
}

unsigned long __isoc23_strtoul(const char *s, char **end, int base)
{
	return strtoul(s, end, base);
}

long long __isoc23_strtoll(const char *s, char **end, int base)
{
	return strtoll(s, end, base);
}

unsigned long long __isoc23_strtoull(const char *s, char **end, int base)
{
	return strtoull(s, end, base);
}

intmax_t __isoc23_strtoimax(const char *s, char **end, int base)
{
	return strtoimax(s, end, base);
}

uintmax_t __isoc23_strtoumax(const char *s, char **end, int base)
{
	return strtoumax(s, end, base);
}

int __isoc23_vsscanf(const char *s, const char *fmt, va_list ap)
{
	return vsscanf(s, fmt, ap);
}

int __isoc23_sscanf(const char *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsscanf(s, fmt, ap);
	va_end(ap);
	return n;
}

int __isoc23_vfscanf(FILE *f, const char *fmt, va_list ap)
{
	return vfscanf(f, fmt, ap);
}

int __isoc23_fscanf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfscanf(f, fmt, ap);
	va_end(ap);
	return n;
}

int __isoc23_vscanf(const char *fmt, va_list ap)
{
	return vscanf(fmt, ap);
}

int __isoc23_scanf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vscanf(fmt, ap);
	va_end(ap);
	return n;
}

long long __isoc23_strtoll_l(const char *s, char **end, int base, locale_t l)
{
	return strtoll_l(s, end, base, l);
}

unsigned long long __isoc23_strtoull_l(const char *s, char **end, int base,
				       locale_t l)
{
	return strtoull_l(s, end, base, l);
}

/* BSD's: copy what fits, always terminated; strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/* BSD's: append what fits, always terminated; the length it tried for. */
size_t strlcat(char *dst, const char *src, size_t size)
{
	size_t dlen = strnlen(dst, size);

	if (dlen == size)
		return size + strlen(src);
	return dlen + strlcpy(dst + dlen, src, size - dlen);
}
