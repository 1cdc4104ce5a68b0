// SPDX-License-Identifier: GPL-2.0
/* Loading optional libraries when first used (include/lkvm/dlib.h). */
#include "lkvm/dlib.h"

#include <dlfcn.h>
#include <stdio.h>

#include "lkvm/util.h"

int lkvm_dlopen_quiet(const char *soname, const struct lkvm_dlsym *syms,
		      size_t n, char *why, size_t why_len)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		snprintf(why, why_len, "%s cannot be loaded: %s", soname,
			 dlerror());
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* dlerror() tells a missing symbol from one whose value is NULL. */
		dlerror();
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			const char *e = dlerror();

			snprintf(why, why_len, "%s's %s is missing: %s", soname,
				 syms[i].name, e ? e : "a NULL symbol");
			dlclose(h);
			return -1;
		}
	}
	/* Kept open for the rest of the run: the slots point into it. */
	return 0;
}

/* A static build links the libraries instead (and dlopen there would tie
 * the binary to the build host's glibc). */
#ifdef LKVM_DLOPEN
int lkvm_dlopen(const char *soname, const char *pkg, const char *what,
		const struct lkvm_dlsym *syms, size_t n)
{
	char why[512];

	if (lkvm_dlopen_quiet(soname, syms, n, why, sizeof(why)) == 0)
		return 0;
	pr_err("%s needs %s (Debian package %s): %s", what, soname, pkg, why);
	return -1;
}
#endif
