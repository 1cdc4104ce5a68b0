// SPDX-License-Identifier: GPL-2.0
/* Loading libraries when first used (vmm/dlib.c, include/lkvm/dlib.h). */
#include <string.h>

#include "lkvm/dlib.h"
#include "host_files.h"
#include "test.h"

TEST(loads_and_resolves)
{
	size_t (*my_strlen)(const char *) = NULL;
	const struct lkvm_dlsym syms[] = { { "strlen", (void **)&my_strlen } };
	struct capture cap;

	capture_start(&cap);
	CHECK_EQ(lkvm_dlopen("libc.so.6", "libc6", "a test", syms, 1), 0);
	CHECK_STREQ(capture_end(&cap), "");
	if (CHECK(my_strlen))
		CHECK_EQ(my_strlen("four"), 4);
}

/* A missing library is one line naming who needed it, the library and its
 * Debian package. */
TEST(missing_library)
{
	void *slot = NULL;
	const struct lkvm_dlsym syms[] = { { "x", &slot } };
	struct capture cap;
	const char *out;

	capture_start(&cap);
	CHECK_EQ(lkvm_dlopen("liblkvm-none.so.7", "liblkvm-none7",
			     "user-mode networking (-n user)", syms, 1), -1);
	out = capture_end(&cap);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "lkvm: error: user-mode networking (-n user) needs liblkvm-none.so.7 (Debian package liblkvm-none7): liblkvm-none.so.7 cannot be loaded: ");
	CHECK_CONTAINS(out, "cannot open shared object file");
	CHECK_NULL(slot);
}

TEST(missing_symbol)
{
	void *a = NULL, *b = NULL;
	const struct lkvm_dlsym syms[] = { { "strlen", &a },
					   { "lkvm_no_such_fn", &b } };
	struct capture cap;
	const char *out;

	capture_start(&cap);
	CHECK_EQ(lkvm_dlopen("libc.so.6", "libc6", "a test", syms, 2), -1);
	out = capture_end(&cap);
	CHECK_EQ(count_lines(out), 1);
	CHECK_CONTAINS(out, "a test needs libc.so.6 (Debian package libc6): libc.so.6's lkvm_no_such_fn is missing");
}

int main(void)
{
	RUN(loads_and_resolves);
	RUN(missing_library);
	RUN(missing_symbol);
	return test_summary();
}
