// SPDX-License-Identifier: GPL-2.0
/* Loading optional libraries when first used (include/lkvm/dlib.h). */
#include "lkvm/dlib.h"

/* A static build links the libraries instead (and dlopen there would tie
 * the binary to the build host's glibc). */
#ifdef LKVM_DLOPEN
#include <dlfcn.h>

#include "lkvm/util.h"

int lkvm_dlopen(const char *soname, const char *pkg, const char *what,
		const struct lkvm_dlsym *syms, size_t n)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	size_t i;

	if (!h) {
		pr_err("%s needs %s, which cannot be loaded (Debian package %s): %s",
		       what, soname, pkg, dlerror());
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* dlerror() tells a missing symbol from one whose value is NULL. */
		dlerror();
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			const char *why = dlerror();

			pr_err("%s needs %s, whose %s is missing (Debian package %s): %s",
			       what, soname, syms[i].name, pkg,
			       why ? why : "a NULL symbol");
			dlclose(h);
			return -1;
		}
	}
	/* Kept open for the rest of the run: the slots point into it. */
	return 0;
}
#endif
