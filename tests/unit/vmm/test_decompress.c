// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side decompression (vmm/decompress.c): every format Linux builds a
 * bzImage payload with, compressed by the real tools at test time; corrupt,
 * truncated and wrongly sized streams are clean errors (ASan/UBSan watch).
 */
#include <errno.h>

#include "compress_tool.h"
#include "lkvm/decompress.h"
#include "lkvm/util.h"
#include "test.h"

static const enum decomp_format formats[] = {
	DECOMP_GZIP, DECOMP_XZ, DECOMP_LZMA, DECOMP_ZSTD, DECOMP_LZ4, DECOMP_BZIP2,
};

/* Compressible but not trivial, and over 8 MiB: lz4 -l writes 2 blocks. */
#define RAW_LEN (9u << 20)

static uint8_t *raw_data(void)
{
	uint8_t *p = malloc(RAW_LEN);
	uint32_t x = 12345;
	size_t i;

	for (i = 0; p && i < RAW_LEN; i++) {
		x = x * 1103515245 + 12345;
		p[i] = (i & 64) ? (uint8_t)(x >> 24) & 0x0f : (uint8_t)i;
	}
	return p;
}

TEST(detects_magics)
{
	static const uint8_t lzo[] = { 0x89, 'L', 'Z', 'O', 0 };
	static const uint8_t lz4f[] = { 0x04, 0x22, 0x4d, 0x18 };

	CHECK_EQ(decomp_detect(lzo, sizeof(lzo)), DECOMP_LZO);
	CHECK_EQ(decomp_detect(lz4f, sizeof(lz4f)), DECOMP_LZ4F);
	CHECK_EQ(decomp_detect((const uint8_t *)"\177ELF", 4), DECOMP_UNKNOWN);
	CHECK_EQ(decomp_detect(lzo, 1), DECOMP_UNKNOWN);
	CHECK_STREQ(decomp_name(DECOMP_XZ), "xz");
}

TEST(round_trip_every_format)
{
	uint8_t *raw = raw_data();
	size_t i;

	REQUIRE(raw);
	for (i = 0; i < ARRAY_SIZE(formats); i++) {
		struct kernel_blob b;
		char why[160] = "";
		size_t clen;
		uint8_t *c = compress_with_tool(formats[i], raw, RAW_LEN, &clen);

		if (!CHECK(c))
			continue;
		CHECK_EQ(decomp_detect(c, clen), formats[i]);
		/* Bytes after the stream (Linux's size field) are ignored,
		 * except by lz4's legacy format, which has no end marker. */
		CHECK_EQ(decompress(formats[i], c, clen, RAW_LEN, &b, why,
				    sizeof(why)), 0);
		if (!CHECK(b.data)) {
			printf("  %s: %s\n", decomp_name(formats[i]), why);
		} else {
			CHECK_EQ(b.len, RAW_LEN);
			CHECK(!memcmp(b.data, raw, RAW_LEN));
		}
		kernel_blob_release(&b);
		CHECK_NULL(b.data);
		free(c);
	}
	free(raw);
}

/* Corrupt: bytes flipped in the middle; truncated: the second half cut;
 * sized wrong: one byte more or less expected than the stream holds. */
TEST(bad_streams_are_clean_errors)
{
	uint8_t *raw = raw_data();
	size_t i;

	REQUIRE(raw);
	for (i = 0; i < ARRAY_SIZE(formats); i++) {
		enum decomp_format f = formats[i];
		struct kernel_blob b;
		char why[160];
		size_t clen, k;
		uint8_t *c = compress_with_tool(f, raw, RAW_LEN, &clen);

		if (!CHECK(c))
			continue;
		why[0] = 0;
		CHECK_EQ(decompress(f, c, clen / 2, RAW_LEN, &b, why, sizeof(why)),
			 -EINVAL);
		CHECK(why[0]);
		CHECK_NULL(b.data);
		why[0] = 0;
		CHECK_EQ(decompress(f, c, clen, RAW_LEN - 1, &b, why, sizeof(why)),
			 -EINVAL);
		CHECK(why[0]);
		why[0] = 0;
		CHECK_EQ(decompress(f, c, clen, RAW_LEN + 1, &b, why, sizeof(why)),
			 -EINVAL);
		CHECK(why[0]);
		for (k = clen / 3; k < clen / 3 + 64; k++)
			c[k] ^= 0x5a;
		why[0] = 0;
		CHECK_EQ(decompress(f, c, clen, RAW_LEN, &b, why, sizeof(why)),
			 -EINVAL);
		if (!CHECK(why[0]))
			printf("  %s: no reason\n", decomp_name(f));
		free(c);
	}
	free(raw);
}

TEST(unsupported_formats)
{
	static const uint8_t lzo[] = { 0x89, 'L', 'Z', 'O', 0, 0, 0, 0 };
	struct kernel_blob b;
	char why[160] = "";

	CHECK_EQ(decompress(DECOMP_LZO, lzo, sizeof(lzo), 100, &b, why,
			    sizeof(why)), -ENOTSUP);
	CHECK_CONTAINS(why, "lzo");
	CHECK_EQ(decompress(DECOMP_UNKNOWN, lzo, sizeof(lzo), 100, &b, why,
			    sizeof(why)), -ENOTSUP);
}

int main(void)
{
	RUN(detects_magics);
	RUN(round_trip_every_format);
	RUN(bad_streams_are_clean_errors);
	RUN(unsupported_formats);
	return test_summary();
}
