// SPDX-License-Identifier: GPL-2.0
/* riscv/sbi.c: the SBI console calls KVM forwards, with honest and hostile
 * guest arguments.  Guest RAM is a real guest_memory at the riscv base. */
#include <string.h>

#include "arch/arch.h"
#include "lkvm/memory.h"
#include "test.h"

#define RAM_BASE 0x80000000UL
#define RAM_SIZE (1UL << 20)
#define EXT_PUTCHAR 0x01
#define EXT_GETCHAR 0x02
#define EXT_DBCN 0x4442434eUL

static char out[8192];
static size_t out_len;

static void capture(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	if (out_len + len <= sizeof(out)) {
		memcpy(out + out_len, buf, len);
		out_len += len;
	}
}

static struct guest_memory mem;

static int setup(void)
{
	out_len = 0;
	if (mem.base)
		return 1;
	return !guest_memory_alloc(&mem, RAM_SIZE) &&
	       !guest_memory_add_region(&mem, RAM_BASE, RAM_SIZE, 0);
}

static int call(unsigned long ext, unsigned long fn, unsigned long a0,
		unsigned long a1, unsigned long a2, unsigned long ret[2])
{
	const unsigned long args[6] = { a0, a1, a2, 0, 0, 0 };

	ret[0] = ret[1] = 0xdead;
	return riscv_sbi_console(&mem, ext, fn, args, ret, capture, NULL);
}

/* DBCN function @fn with (@a0, @a1, @a2) is handled here and answers
 * (@error, @value). */
static void check_dbcn(unsigned long fn, unsigned long a0, unsigned long a1,
		       unsigned long a2, long error, unsigned long value)
{
	unsigned long ret[2];

	CHECK_EQ(call(EXT_DBCN, fn, a0, a1, a2, ret), 0);
	CHECK_EQ((long)ret[0], error);
	CHECK_EQ(ret[1], value);
}

TEST(legacy_console)
{
	unsigned long ret[2];

	CHECK(setup());
	CHECK_EQ(call(EXT_PUTCHAR, 0, 'h', 0, 0, ret), 0);
	CHECK_EQ(call(EXT_PUTCHAR, 0, 0x100 | 'i', 0, 0, ret), 0);
	CHECK_EQ(ret[0], 0UL);
	CHECK_EQ(out_len, 2UL);
	CHECK(!memcmp(out, "hi", 2));
	/* No input on this console: getchar says -1. */
	CHECK_EQ(call(EXT_GETCHAR, 0, 0, 0, 0, ret), 0);
	CHECK_EQ(ret[0], (unsigned long)-1L);
}

TEST(dbcn_write_from_guest_ram)
{
	char *g;

	CHECK(setup());
	g = gpa_to_hva(&mem, RAM_BASE + 0x1000, 16);
	memcpy(g, "hello, earlycon\n", 16);
	check_dbcn(0, 16, RAM_BASE + 0x1000, 0, SBI_SUCCESS, 16UL);
	CHECK_EQ(out_len, 16UL);
	CHECK(!memcmp(out, "hello, earlycon\n", 16));
	/* Zero bytes: success, nothing written, the address unchecked. */
	out_len = 0;
	check_dbcn(0, 0, 0, 0, SBI_SUCCESS, 0UL);
	CHECK_EQ(out_len, 0UL);
}

TEST(dbcn_write_is_capped_to_a_page)
{
	CHECK(setup());
	/* The guest loops for the rest. */
	check_dbcn(0, 100000, RAM_BASE, 0, SBI_SUCCESS, 4096UL);
	CHECK_EQ(out_len, 4096UL);
}

TEST(dbcn_write_hostile_buffers)
{
	static const struct {
		unsigned long len, lo, hi;
	} bad[] = {
		{ 16, 0, 0 },                           /* below RAM */
		{ 16, RAM_BASE + RAM_SIZE, 0 },         /* just past RAM */
		{ 16, RAM_BASE + RAM_SIZE - 8, 0 },     /* straddles the end */
		{ 16, RAM_BASE - 8, 0 },                /* straddles the start */
		{ 16, ~0UL - 4, 0 },                    /* wraps around */
		{ 16, RAM_BASE, 1 },                    /* high half set on rv64 */
		{ ~0UL, RAM_BASE + RAM_SIZE - 100, 0 }, /* capped, still past the end */
	};

	CHECK(setup());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_dbcn(0, bad[i].len, bad[i].lo, bad[i].hi,
			   SBI_ERR_INVALID_PARAM, 0UL);
	CHECK_EQ(out_len, 0UL);
}

TEST(dbcn_read_and_write_byte)
{
	unsigned long ret[2];

	CHECK(setup());
	check_dbcn(1, 64, RAM_BASE, 0, SBI_SUCCESS, 0UL); /* nothing to read */
	CHECK_EQ(call(EXT_DBCN, 2, 'x', 0, 0, ret), 0);
	CHECK_EQ((long)ret[0], SBI_SUCCESS);
	CHECK_EQ(out_len, 1UL);
	CHECK_EQ(out[0], 'x');
}

TEST(unknown_calls_are_not_supported)
{
	unsigned long ret[2];

	CHECK(setup());
	CHECK_EQ(call(EXT_DBCN, 3, 0, 0, 0, ret), -1);
	CHECK_EQ((long)ret[0], SBI_ERR_NOT_SUPPORTED);
	CHECK_EQ(call(0x0A000000UL, 0, 0, 0, 0, ret), -1); /* vendor space */
	CHECK_EQ((long)ret[0], SBI_ERR_NOT_SUPPORTED);
	CHECK_EQ(call(0x08, 0, 0, 0, 0, ret), -1); /* legacy shutdown: KVM's */
	CHECK_EQ((long)ret[0], SBI_ERR_NOT_SUPPORTED);
	CHECK_EQ(out_len, 0UL);
}

int main(void)
{
	RUN(legacy_console);
	RUN(dbcn_write_from_guest_ram);
	RUN(dbcn_write_is_capped_to_a_page);
	RUN(dbcn_write_hostile_buffers);
	RUN(dbcn_read_and_write_byte);
	RUN(unknown_calls_are_not_supported);
	return test_summary();
}
