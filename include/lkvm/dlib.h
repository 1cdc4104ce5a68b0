/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_DLIB_H
#define LKVM_DLIB_H

#include <stddef.h>

/*
 * Libraries that only some runs need (libarchive for the sandbox's
 * initramfs, libslirp for -n user) are loaded when first used, so that every
 * other run neither maps them nor pays the dynamic loader for them and
 * their dependencies (libxml2, ICU, libstdc++, glib...).  A static build
 * (LKVM_DLOPEN undefined: the riscv cross build) links them instead.
 *
 * A user declares a table of the functions it calls with the prototypes
 * from the library's header:
 *
 *   #define FOO_FNS(X) X(foo_new) X(foo_free)
 *   LKVM_DLIB_TABLE(foo, FOO_FNS);
 *
 * and calls foo.foo_new() after lkvm_dlib_load_foo() returned 0.
 */
struct lkvm_dlsym {
	const char *name;
	void **slot;
};

/*
 * Open @soname and resolve @syms into their slots.  0, or -1 after one
 * error line naming what needed the library (@what), the library and the
 * Debian package that has it (@pkg).
 */
int lkvm_dlopen(const char *soname, const char *pkg, const char *what,
		const struct lkvm_dlsym *syms, size_t n);
/* The same without the line, for a caller with a fall-back (the kernel
 * decompressors, vmm/decompress.c): 0, or -1 with @why (one clause) set.
 * Built into every lkvm, static ones too. */
int lkvm_dlopen_quiet(const char *soname, const struct lkvm_dlsym *syms,
		      size_t n, char *why, size_t why_len);

#define LKVM_DLIB_MEMBER_(f) __typeof__(f) *f;
#define LKVM_DLIB_SYM_(f) { #f, (void **)&lkvm_dlib_tbl_.f },
#define LKVM_DLIB_ADDR_(f) .f = f,

#ifdef LKVM_DLOPEN
#define LKVM_DLIB_TABLE(tbl, FNS, soname, pkg, what)                          \
	static struct { FNS(LKVM_DLIB_MEMBER_) } tbl;                         \
	static int lkvm_dlib_load_##tbl(void)                                 \
	{                                                                     \
		static int state; /* 0: not tried, 1: loaded, -1: failed */  \
		__typeof__(tbl) lkvm_dlib_tbl_;                               \
		const struct lkvm_dlsym syms[] = { FNS(LKVM_DLIB_SYM_) };     \
                                                                              \
		if (!state) {                                                 \
			state = lkvm_dlopen(soname, pkg, what, syms,          \
					    sizeof(syms) / sizeof(syms[0]))   \
					? -1 : 1;                             \
			if (state > 0)                                        \
				tbl = lkvm_dlib_tbl_;                         \
		}                                                             \
		return state > 0 ? 0 : -1;                                    \
	}
#else
#define LKVM_DLIB_TABLE(tbl, FNS, soname, pkg, what)                          \
	static const struct { FNS(LKVM_DLIB_MEMBER_) } tbl = {               \
		FNS(LKVM_DLIB_ADDR_)                                          \
	};                                                                    \
	static int lkvm_dlib_load_##tbl(void) { return 0; }
#endif

#endif
