/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny unit-test harness, header-only, one per test binary.
 *
 *   TEST(name) { CHECK(x); CHECK_EQ(a, b); ... }
 *   int main(void) { RUN(name); ...; return test_summary(); }
 *
 * The counting unit is the test case: a case passes when none of its checks
 * failed.  Every failed check prints file:line, the expression and the values.
 * The binary's last line is exactly "N passed, N failed" (tests/unit/run.sh
 * sums those lines) and its exit status is non-zero when a case failed.
 * Checks may be made from several threads at once.
 */
#ifndef LKVM_UNIT_TEST_H
#define LKVM_UNIT_TEST_H

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *t_current = "(none)";
static int t_case_failures; /* failed checks in the current case (atomic) */
static int t_passed, t_failed;

static inline void t_fail_note(void)
{
	__atomic_add_fetch(&t_case_failures, 1, __ATOMIC_SEQ_CST);
}

static inline bool t_check(bool ok, const char *file, int line,
			   const char *expr)
{
	if (!ok) {
		printf("  FAIL %s:%d: [%s] CHECK(%s)\n", file, line, t_current,
		       expr);
		fflush(stdout);
		t_fail_note();
	}
	return ok;
}

static inline bool t_check_eq(unsigned long long a, unsigned long long b,
			      const char *file, int line, const char *ea,
			      const char *eb)
{
	if (a != b) {
		printf("  FAIL %s:%d: [%s] CHECK_EQ(%s, %s): %llu (%#llx, %lld) != %llu (%#llx, %lld)\n",
		       file, line, t_current, ea, eb, a, a, (long long)a, b, b,
		       (long long)b);
		fflush(stdout);
		t_fail_note();
	}
	return a == b;
}

static inline bool t_check_streq(const char *a, const char *b,
				 const char *file, int line, const char *ea,
				 const char *eb)
{
	bool ok = (a == NULL && b == NULL) || (a && b && !strcmp(a, b));

	if (!ok) {
		printf("  FAIL %s:%d: [%s] CHECK_STREQ(%s, %s): \"%s\" != \"%s\"\n",
		       file, line, t_current, ea, eb, a ? a : "(null)",
		       b ? b : "(null)");
		fflush(stdout);
		t_fail_note();
	}
	return ok;
}

static inline bool t_check_contains(const char *hay, const char *needle,
				    const char *file, int line, const char *eh)
{
	bool ok = hay && strstr(hay, needle);

	if (!ok) {
		printf("  FAIL %s:%d: [%s] CHECK_CONTAINS(%s, \"%s\"): got \"%s\"\n",
		       file, line, t_current, eh, needle, hay ? hay : "(null)");
		fflush(stdout);
		t_fail_note();
	}
	return ok;
}

static inline bool t_check_ptr_eq(const void *a, const void *b,
				  const char *file, int line, const char *ea,
				  const char *eb)
{
	if (a != b) {
		printf("  FAIL %s:%d: [%s] CHECK_PTR_EQ(%s, %s): %p != %p\n",
		       file, line, t_current, ea, eb, a, b);
		fflush(stdout);
		t_fail_note();
	}
	return a == b;
}

#define CHECK(cond) t_check(!!(cond), __FILE__, __LINE__, #cond)
/* Integers of any width or signedness; shown in decimal, hex and signed. */
#define CHECK_EQ(a, b)                                                         \
	t_check_eq((unsigned long long)(a), (unsigned long long)(b), __FILE__, \
		   __LINE__, #a, #b)
#define CHECK_STREQ(a, b) t_check_streq((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_CONTAINS(hay, needle)                                            \
	t_check_contains((hay), (needle), __FILE__, __LINE__, #hay)
#define CHECK_PTR_EQ(a, b)                                                     \
	t_check_ptr_eq((const void *)(a), (const void *)(b), __FILE__,        \
		       __LINE__, #a, #b)
#define CHECK_NULL(p) CHECK_PTR_EQ((p), NULL)

/* Abandon the current case when a check fails and later checks would crash. */
#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!CHECK(cond))                                              \
			return;                                                \
	} while (0)

#define TEST(name) static void name(void)

/*
 * Bytes the program has allocated and not freed, to check that something
 * does not grow.  Unit tests run under ASan, whose allocator mallinfo2()
 * cannot see; a build without it falls back to glibc's count.
 */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
/* From <sanitizer/allocator_interface.h>, which gcc does not install. */
size_t __sanitizer_get_current_allocated_bytes(void);
static inline size_t t_heap_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
static inline size_t t_heap_bytes(void)
{
	return mallinfo2().uordblks;
}
#endif

/*
 * Run @fn in a child killed by SIGALRM after @secs seconds, so code that
 * hangs fails the current case instead of hanging the suite; the child's
 * failed checks (or its death) fail the case.  @leak_check: the child
 * ends with exit(), so LeakSanitizer checks it too; without, _exit() (a
 * case that leaves memory to a thread on purpose).
 */
static inline void t_run_child(void (*fn)(void), unsigned int secs,
			       bool leak_check)
{
	int status = 0, failed;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		alarm(secs);
		fn();
		failed = __atomic_load_n(&t_case_failures, __ATOMIC_SEQ_CST);
		if (leak_check)
			exit(failed ? 1 : 0);
		_exit(failed ? 1 : 0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		printf("  child killed by signal %d (%s)\n", WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? "hung" : "crashed");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* If a case crashes, say which one before dying of the signal. */
static inline void t_crash_handler(int sig)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "  CRASH: signal %d in test case %s\n",
			 sig, t_current);

	if (n > 0)
		(void)!write(STDOUT_FILENO, buf, (size_t)n);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void t_run(const char *name, void (*fn)(void))
{
	static bool handlers;

	if (!handlers) {
		signal(SIGSEGV, t_crash_handler);
		signal(SIGBUS, t_crash_handler);
		signal(SIGABRT, t_crash_handler);
		signal(SIGFPE, t_crash_handler);
		signal(SIGILL, t_crash_handler);
		setvbuf(stdout, NULL, _IOLBF, 0);
		handlers = true;
	}
	t_current = name;
	__atomic_store_n(&t_case_failures, 0, __ATOMIC_SEQ_CST);
	fn();
	if (__atomic_load_n(&t_case_failures, __ATOMIC_SEQ_CST)) {
		printf("FAIL %s\n", name);
		t_failed++;
	} else {
		printf("ok   %s\n", name);
		t_passed++;
	}
	fflush(stdout);
	t_current = "(none)";
}

#define RUN(name) t_run(#name, name)

static inline int test_summary(void)
{
	printf("%d passed, %d failed\n", t_passed, t_failed);
	fflush(stdout);
	return t_failed || !t_passed ? 1 : 0;
}

#endif
