// SPDX-License-Identifier: GPL-2.0
/* riscv/image.c: the riscv64 Image header and the kernel release, on crafted
 * and truncated images. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "test.h"

#define HDR 64

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A @len-byte image with a v0.2 header (both magics unless told). */
static uint8_t *image(size_t len, uint64_t text_offset, uint64_t image_size,
		      bool magic, bool magic2)
{
	uint8_t *img = calloc(1, len);

	if (!img)
		abort();
	if (len >= HDR) {
		put64(img + 8, text_offset);
		put64(img + 16, image_size);
		if (magic)
			memcpy(img + 48, "RISCV\0\0\0", 8);
		if (magic2)
			memcpy(img + 56, "RSC\x05", 4);
	}
	return img;
}

TEST(parses_a_debian_like_header)
{
	uint8_t *img = image(4096, 0x200000, 0x2000000, true, true);
	struct riscv_image_info info;
	char why[160] = "";

	CHECK_EQ(riscv_image_parse(img, 4096, &info, why, sizeof(why)), 0);
	CHECK_EQ(info.text_offset, 0x200000ULL);
	CHECK_EQ(info.image_size, 0x2000000ULL);
	free(img);
}

TEST(either_magic_is_enough)
{
	struct riscv_image_info info;
	char why[160];
	uint8_t *a = image(HDR, 0x200000, 0x100000, true, false);
	uint8_t *b = image(HDR, 0x200000, 0x100000, false, true);

	CHECK_EQ(riscv_image_parse(a, HDR, &info, why, sizeof(why)), 0);
	CHECK_EQ(riscv_image_parse(b, HDR, &info, why, sizeof(why)), 0);
	free(a);
	free(b);
}

TEST(rejects_non_images)
{
	struct riscv_image_info info;
	char why[160] = "";
	uint8_t *none = image(4096, 0x200000, 0x100000, false, false);
	uint8_t bz[HDR + 0x300] = { 0 };

	CHECK_EQ(riscv_image_parse(none, 4096, &info, why, sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, "is not a riscv64 Image");
	/* An x86 bzImage ("HdrS" at 0x202) is not one either. */
	memcpy(bz + 0x202, "HdrS", 4);
	CHECK_EQ(riscv_image_parse(bz, sizeof(bz), &info, why, sizeof(why)), -EINVAL);
	free(none);
}

TEST(truncated_header_is_refused_without_reading_past_it)
{
	struct riscv_image_info info;
	char why[160];
	uint8_t *full = image(HDR, 0x200000, 0x100000, true, true);

	/* Every shorter length: the magic lies beyond the end. */
	for (size_t len = 0; len < HDR; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, full, len);
		CHECK_EQ(riscv_image_parse(copy, len, &info, why, sizeof(why)),
			 -EINVAL);
		free(copy);
	}
	free(full);
}

TEST(zero_image_size_means_the_file)
{
	struct riscv_image_info info;
	char why[160];
	uint8_t *img = image(8192, 0x200000, 0, true, true);

	CHECK_EQ(riscv_image_parse(img, 8192, &info, why, sizeof(why)), 0);
	CHECK_EQ(info.image_size, 8192ULL);
	free(img);
}

TEST(hostile_header_fields)
{
	static const struct {
		uint64_t text_offset, image_size;
	} bad[] = {
		{ 0x200001, 0x100000 },        /* unaligned load offset */
		{ 1ULL << 40, 0x100000 },      /* beyond any RAM */
		{ 0x200000, 100 },             /* smaller than the file */
		{ 0x200000, 1ULL << 40 },      /* absurd memory need */
		{ UINT64_MAX, UINT64_MAX },
	};
	struct riscv_image_info info;
	char why[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *img = image(4096, bad[i].text_offset,
				     bad[i].image_size, true, true);

		why[0] = '\0';
		CHECK_EQ(riscv_image_parse(img, 4096, &info, why, sizeof(why)),
			 -EINVAL);
		CHECK_CONTAINS(why, "unusable Image header");
		free(img);
	}
}

static uint8_t *image_with(const char *text, size_t at, size_t len)
{
	uint8_t *img = image(len, 0x200000, 0, true, true);

	memcpy(img + at, text, strlen(text));
	return img;
}

TEST(release_from_the_banner)
{
	const char *banner = "Linux version 6.12.57+deb13-riscv64 (debian-kernel@lists.debian.org) (gcc)";
	uint8_t *img = image_with(banner, 3000, 8192);
	char rel[65];

	CHECK_EQ(riscv_kernel_release(img, 8192, rel, sizeof(rel)), 0);
	CHECK_STREQ(rel, "6.12.57+deb13-riscv64");
	free(img);
}

TEST(release_skips_format_strings)
{
	/* printk formats say "Linux version " too; the first real one wins. */
	uint8_t *img = image(8192, 0x200000, 0, true, true);
	char rel[65];

	memcpy(img + 1000, "Linux version %s", 16);
	memcpy(img + 5000, "Linux version 6.1.0-9-riscv64 #1", 32);
	CHECK_EQ(riscv_kernel_release(img, 8192, rel, sizeof(rel)), 0);
	CHECK_STREQ(rel, "6.1.0-9-riscv64");
	free(img);
}

TEST(release_errors)
{
	char rel[65], tiny[4];
	uint8_t *none = image(4096, 0x200000, 0, true, true);
	uint8_t *cut = image_with("Linux version 6.12.1", 4096 - 20, 4096);
	uint8_t *dots = image_with("Linux version 6/../x ", 100, 4096);
	uint8_t *plain = image(4096, 0x200000, 0, false, false);
	uint8_t *ok = image_with("Linux version 6.12.1 (x)", 100, 4096);

	CHECK_EQ(riscv_kernel_release(none, 4096, rel, sizeof(rel)), -ENOENT);
	/* The word runs into the end of the image. */
	CHECK(riscv_kernel_release(cut, 4096, rel, sizeof(rel)) < 0);
	CHECK(riscv_kernel_release(dots, 4096, rel, sizeof(rel)) < 0);
	CHECK_EQ(riscv_kernel_release(plain, 4096, rel, sizeof(rel)), -ENOEXEC);
	CHECK_EQ(riscv_kernel_release(ok, 4096, tiny, sizeof(tiny)), -ENAMETOOLONG);
	CHECK_EQ(riscv_kernel_release(ok, 4096, rel, 0), -ENAMETOOLONG);
	CHECK_EQ(riscv_kernel_release(ok, 10, rel, sizeof(rel)), -ENOEXEC);
	free(none);
	free(cut);
	free(dots);
	free(plain);
	free(ok);
}

int main(void)
{
	RUN(parses_a_debian_like_header);
	RUN(either_magic_is_enough);
	RUN(rejects_non_images);
	RUN(truncated_header_is_refused_without_reading_past_it);
	RUN(zero_image_size_means_the_file);
	RUN(hostile_header_fields);
	RUN(release_from_the_banner);
	RUN(release_skips_format_strings);
	RUN(release_errors);
	return test_summary();
}
