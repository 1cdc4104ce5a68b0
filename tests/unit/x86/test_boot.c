// SPDX-License-Identifier: GPL-2.0
/*
 * x86 boot helpers (x86/boot.c): bzImage header parsing, the e820 map, the
 * zero page, initrd placement, page tables and the GDT.  Kernel images are
 * synthetic buffers laid out as Documentation/arch/x86/boot.rst describes.
 */
#include <asm/bootparam.h>
#include <errno.h>

#include "arch/arch.h"
#include "lkvm/util.h"
#include "host_files.h"
#include "test.h"

#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD 8192
#define IMG_SIZE (SETUP_SIZE + PAYLOAD)

/* A plausible 64-bit bzImage, protocol 2.15. */
static void make_bzimage(uint8_t *img, size_t len)
{
	size_t i;

	memset(img, 0, len);
	for (i = SETUP_SIZE; i < len; i++)
		img[i] = (uint8_t)(i * 7);
	img[0x1f1] = SETUP_SECTS;
	put_le16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;           /* jmp short */
	img[0x201] = 0x66;           /* ... to 0x268: the header ends there */
	memcpy(img + 0x202, "HdrS", 4);
	put_le16(img + 0x206, 0x020f);
	img[0x211] = LOADED_HIGH | QUIET_FLAG; /* loadflags */
	put_le32(img + 0x214, 0x100000);          /* code32_start */
	put_le32(img + 0x22c, 0x7fffffff);        /* initrd_addr_max */
	put_le32(img + 0x230, 0x200000);          /* kernel_alignment */
	img[0x234] = 1;                        /* relocatable_kernel */
	img[0x235] = 21;                       /* min_alignment */
	put_le16(img + 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	put_le32(img + 0x238, 2047);              /* cmdline_size */
	put_le64(img + 0x258, 0x1000000);         /* pref_address */
	put_le32(img + 0x260, 0x2345000);         /* init_size */
	put_le32(img + 0x264, 0x190);             /* handover_offset */
	put_le32(img + 0x268, 0xabcd);            /* kernel_info_offset: 2.15 */
}

static uint8_t img[IMG_SIZE];

TEST(bzimage_valid)
{
	struct bzimage_info info;
	char why[160] = "";

	make_bzimage(img, sizeof(img));
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_STREQ(why, "");
	CHECK_EQ(info.version, 0x020f);
	CHECK_EQ(info.setup_size, SETUP_SIZE);
	CHECK_EQ(info.header_end, 0x268);
	CHECK_EQ(info.pref_address, 0x1000000);
	CHECK_EQ(info.init_size, 0x2345000);
	CHECK_EQ(info.initrd_addr_max, 0x7fffffff);
	CHECK_EQ(info.cmdline_size, 2047);
	CHECK_EQ(info.kernel_alignment, 0x200000);
	CHECK_EQ(info.relocatable, 1);
}

TEST(bzimage_header_variants)
{
	struct bzimage_info info;
	char why[160];

	/* setup_sects 0 means 4. */
	make_bzimage(img, sizeof(img));
	img[0x1f1] = 0;
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_EQ(info.setup_size, 5 * 512);
	/* More setup sectors. */
	img[0x1f1] = 10;
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_EQ(info.setup_size, 11 * 512);
	/* No preferred address (old kernels): the classic 1 MiB. */
	make_bzimage(img, sizeof(img));
	put_le64(img + 0x258, 0);
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_EQ(info.pref_address, 0x100000);
	/* A 64-bit pref_address is read whole. */
	put_le64(img + 0x258, 0x123456789000ULL);
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_EQ(info.pref_address, 0x123456789000ULL);
	/* A jump past the setup header is clamped to the header's size. */
	make_bzimage(img, sizeof(img));
	img[0x201] = 0xff;
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_EQ(info.header_end, 0x1f1 + sizeof(struct setup_header));
	/* Exactly protocol 2.12 is accepted. */
	make_bzimage(img, sizeof(img));
	put_le16(img + 0x206, 0x020c);
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)), 0);
	CHECK_EQ(info.version, 0x020c);
	/* The smallest file that still has a payload byte. */
	make_bzimage(img, sizeof(img));
	CHECK_EQ(bzimage_parse(img, SETUP_SIZE + 1, &info, why, sizeof(why)), 0);
}

/* Rejected, with a reason that mentions @what. */
#define CHECK_REJECT(buf, len, what)                                           \
	do {                                                                   \
		struct bzimage_info i_;                                        \
		char w_[160] = "";                                             \
		CHECK_EQ(bzimage_parse((buf), (len), &i_, w_, sizeof(w_)),     \
			 -EINVAL);                                             \
		CHECK_CONTAINS(w_, (what));                                    \
	} while (0)

TEST(bzimage_rejects)
{
	static const uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	uint8_t tiny[16] = { 0 };

	CHECK_REJECT(elf, sizeof(elf), "ELF");
	/* ELF magic wins even when the rest looks like a bzImage. */
	make_bzimage(img, sizeof(img));
	memcpy(img, "\177ELF", 4);
	CHECK_REJECT(img, sizeof(img), "ELF vmlinux");

	make_bzimage(img, sizeof(img));
	memcpy(img + 0x202, "HdrT", 4);
	CHECK_REJECT(img, sizeof(img), "HdrS");

	make_bzimage(img, sizeof(img));
	put_le16(img + 0x206, 0x0209);
	CHECK_REJECT(img, sizeof(img), "2.09");
	CHECK_REJECT(img, sizeof(img), "2.12");
	put_le16(img + 0x206, 0x020b);
	CHECK_REJECT(img, sizeof(img), "protocol 2.11");

	make_bzimage(img, sizeof(img));
	put_le16(img + 0x236, XLF_CAN_BE_LOADED_ABOVE_4G); /* no XLF_KERNEL_64 */
	CHECK_REJECT(img, sizeof(img), "64-bit");

	/* Setup code longer than the file, or nothing after it. */
	make_bzimage(img, sizeof(img));
	img[0x1f1] = 200;
	CHECK_REJECT(img, sizeof(img), "truncated");
	make_bzimage(img, sizeof(img));
	CHECK_REJECT(img, SETUP_SIZE, "truncated");

	/* Too short to hold a setup header at all. */
	make_bzimage(img, sizeof(img));
	CHECK_REJECT(img, 0x26f, "not a bzImage");
	CHECK_REJECT(img, 0x200, "not a bzImage");
	CHECK_REJECT(tiny, 0, "not a bzImage");
	CHECK_REJECT(tiny, 3, "not a bzImage");
	CHECK_REJECT(tiny, sizeof(tiny), "not a bzImage");
}

TEST(bzimage_why_truncation)
{
	struct bzimage_info info;
	char why[8];

	memset(why, 'x', sizeof(why));
	make_bzimage(img, sizeof(img));
	memcpy(img + 0x202, "XXXX", 4);
	CHECK_EQ(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)),
		 -EINVAL);
	CHECK_EQ(why[sizeof(why) - 1], '\0');
	CHECK_EQ(strlen(why), sizeof(why) - 1);
}

/* ---- e820 ---- */

static uint64_t e820_end(const struct e820_layout *e, unsigned int i)
{
	return e->entries[i].addr + e->entries[i].size;
}

/* Sorted, non-empty, non-overlapping; no RAM in [3 GiB, 4 GiB). */
static void check_e820_shape(const struct e820_layout *e)
{
	unsigned int i;

	CHECK(e->nr > 0 && e->nr <= ARRAY_SIZE(e->entries));
	for (i = 0; i < e->nr; i++) {
		CHECK(e->entries[i].size > 0);
		CHECK(e->entries[i].type == E820_TYPE_RAM ||
		      e->entries[i].type == E820_TYPE_RESERVED);
		if (i)
			CHECK(e820_end(e, i - 1) <= e->entries[i].addr);
		if (e->entries[i].type == E820_TYPE_RAM)
			CHECK(e820_end(e, i) <= X86_MMIO_HOLE_START ||
			      e->entries[i].addr >= X86_4GIB);
	}
}

static uint64_t e820_ram(const struct e820_layout *e)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < e->nr; i++)
		if (e->entries[i].type == E820_TYPE_RAM)
			sum += e->entries[i].size;
	return sum;
}

/* RAM lost to the legacy holes below 1 MiB: 0x9fc00..0x100000. */
#define LOW_HOLE (0x100000 - 0x9fc00)

/* The type covering @addr, or 0 when no entry does. */
static uint32_t e820_type_at(const struct e820_layout *e, uint64_t addr)
{
	unsigned int i;

	for (i = 0; i < e->nr; i++)
		if (addr >= e->entries[i].addr && addr < e820_end(e, i))
			return e->entries[i].type;
	return 0;
}

/* What every layout shares below 1 MiB. */
static void check_e820_low(const struct e820_layout *e)
{
	/* Conventional memory up to the EBDA, as the first entry. */
	CHECK_EQ(e->entries[0].addr, 0);
	CHECK_EQ(e->entries[0].size, X86_EBDA_ADDR);
	CHECK_EQ(e->entries[0].type, E820_TYPE_RAM);
	/*
	 * EBDA and BIOS area (ACPI at 0xe0000, MP table at 0xf0000) reserved;
	 * the VGA hole is in no entry.
	 */
	CHECK_EQ(e820_type_at(e, X86_EBDA_ADDR), E820_TYPE_RESERVED);
	CHECK_EQ(e820_type_at(e, 0x9ffff), E820_TYPE_RESERVED);
	CHECK_EQ(e820_type_at(e, 0xa0000), 0);
	CHECK_EQ(e820_type_at(e, 0xbffff), 0);
	CHECK_EQ(e820_type_at(e, X86_BIOS_AREA), E820_TYPE_RESERVED);
	CHECK_EQ(e820_type_at(e, X86_ACPI_AREA), E820_TYPE_RESERVED);
	CHECK_EQ(e820_type_at(e, X86_HIGH_MEM - 1), E820_TYPE_RESERVED);
	CHECK_EQ(e820_type_at(e, X86_HIGH_MEM), E820_TYPE_RAM);
}

TEST(e820_256m)
{
	struct e820_layout e;

	memset(&e, 0xa5, sizeof(e));
	x86_build_e820(256 * MiB, 0, &e);
	check_e820_shape(&e);
	check_e820_low(&e);
	/* Last entry: RAM from 1 MiB to the end. */
	CHECK_EQ(e.entries[e.nr - 1].addr, X86_HIGH_MEM);
	CHECK_EQ(e820_end(&e, e.nr - 1), 256 * MiB);
	CHECK_EQ(e.entries[e.nr - 1].type, E820_TYPE_RAM);
	CHECK_EQ(e820_ram(&e), 256 * MiB - LOW_HOLE);
	CHECK_EQ(e820_type_at(&e, 256 * MiB), 0);
	/* Unused entries were cleared. */
	CHECK_EQ(e.entries[e.nr].size, 0);
	CHECK_EQ(e.entries[e.nr].addr, 0);
}

TEST(e820_3g)
{
	struct e820_layout e;

	x86_build_e820(3 * GiB, 0, &e);
	check_e820_shape(&e);
	check_e820_low(&e);
	CHECK_EQ(e.entries[e.nr - 1].addr, X86_HIGH_MEM);
	CHECK_EQ(e820_end(&e, e.nr - 1), 0xc0000000ULL);
	CHECK_EQ(e820_ram(&e), 3 * GiB - LOW_HOLE);
	CHECK_EQ(e820_type_at(&e, 0xc0000000ULL), 0);
	CHECK_EQ(e820_type_at(&e, X86_4GIB), 0);
}

TEST(e820_6g)
{
	struct e820_layout e;

	/* 6 GiB: 3 GiB below the hole, the other 3 GiB from 4 GiB. */
	x86_build_e820(X86_MMIO_HOLE_START, 6 * GiB - X86_MMIO_HOLE_START, &e);
	check_e820_shape(&e);
	check_e820_low(&e);
	CHECK_EQ(e.entries[e.nr - 2].addr, X86_HIGH_MEM);
	CHECK_EQ(e820_end(&e, e.nr - 2), 0xc0000000ULL);
	CHECK_EQ(e.entries[e.nr - 1].addr, 0x100000000ULL);
	CHECK_EQ(e.entries[e.nr - 1].size, 3 * GiB);
	CHECK_EQ(e.entries[e.nr - 1].type, E820_TYPE_RAM);
	CHECK_EQ(e820_ram(&e), 6 * GiB - LOW_HOLE);
	CHECK_EQ(e820_type_at(&e, 0xc0000000ULL), 0);
	CHECK_EQ(e820_type_at(&e, 0xfec00000ULL), 0);
	CHECK_EQ(e820_type_at(&e, 0xffffffffULL), 0);
	CHECK_EQ(e820_type_at(&e, 7 * GiB - 1), E820_TYPE_RAM);
	CHECK_EQ(e820_type_at(&e, 7 * GiB), 0);
}

/* ---- zero page ---- */

TEST(boot_params_fill)
{
	static struct boot_params bp;
	struct bzimage_info info;
	struct e820_layout e;
	char why[160];
	unsigned int i;

	make_bzimage(img, sizeof(img));
	REQUIRE(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)) == 0);
	x86_build_e820(3 * GiB, 1 * GiB, &e);
	memset(&bp, 0xcc, sizeof(bp));
	x86_fill_boot_params(&bp, img, &info, &e, X86_CMDLINE_ADDR,
			     0x123456000ULL, 0x100001234ULL);

	/* Copied from the image. */
	CHECK_EQ(bp.hdr.setup_sects, SETUP_SECTS);
	CHECK_EQ(bp.hdr.boot_flag, 0xaa55);
	CHECK_EQ(bp.hdr.header, 0x53726448);
	CHECK_EQ(bp.hdr.version, 0x020f);
	CHECK_EQ(bp.hdr.code32_start, 0x100000);
	CHECK_EQ(bp.hdr.initrd_addr_max, 0x7fffffff);
	CHECK_EQ(bp.hdr.kernel_alignment, 0x200000);
	CHECK_EQ(bp.hdr.xloadflags, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
	CHECK_EQ(bp.hdr.cmdline_size, 2047);
	CHECK_EQ(bp.hdr.pref_address, 0x1000000);
	CHECK_EQ(bp.hdr.init_size, 0x2345000);
	CHECK_EQ(bp.hdr.handover_offset, 0x190);
	/* ...but nothing past the header's end (0x268). */
	CHECK_EQ(bp.hdr.kernel_info_offset, 0);

	/* Set by the loader. */
	CHECK_EQ(bp.hdr.type_of_loader, 0xff);
	CHECK(bp.hdr.loadflags & CAN_USE_HEAP);
	CHECK(bp.hdr.loadflags & LOADED_HIGH);
	CHECK(!(bp.hdr.loadflags & QUIET_FLAG));
	CHECK_EQ(bp.hdr.heap_end_ptr, 0xfe00 - 0x200);
	CHECK_EQ(bp.hdr.vid_mode, 0xffff);
	CHECK_EQ(bp.hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	CHECK_EQ(bp.ext_cmd_line_ptr, 0);
	CHECK_EQ(bp.hdr.ramdisk_image, 0x23456000);
	CHECK_EQ(bp.ext_ramdisk_image, 1);
	CHECK_EQ(bp.hdr.ramdisk_size, 0x1234);
	CHECK_EQ(bp.ext_ramdisk_size, 1);

	CHECK_EQ(bp.e820_entries, e.nr);
	for (i = 0; i < e.nr; i++) {
		CHECK_EQ(bp.e820_table[i].addr, e.entries[i].addr);
		CHECK_EQ(bp.e820_table[i].size, e.entries[i].size);
		CHECK_EQ(bp.e820_table[i].type, e.entries[i].type);
	}
	/* Everything else starts from zero. */
	CHECK_EQ(bp.e820_table[e.nr].size, 0);
	CHECK_EQ(bp.screen_info.orig_video_isVGA, 0);
	CHECK_EQ(bp.sentinel, 0);
	CHECK_EQ(bp.hdr.setup_data, 0);
	/* Protocol 2.14+ kernels are told where the RSDP is. */
	CHECK_EQ(bp.acpi_rsdp_addr, X86_ACPI_AREA);
}

TEST(boot_params_no_initrd)
{
	static struct boot_params bp;
	struct bzimage_info info;
	struct e820_layout e;
	char why[160];

	make_bzimage(img, sizeof(img));
	img[0x201] = 0x62; /* a 2.12-era header ending at 0x264 */
	put_le16(img + 0x206, 0x020c);
	put_le32(img + 0x264, 0x777);
	REQUIRE(bzimage_parse(img, sizeof(img), &info, why, sizeof(why)) == 0);
	x86_build_e820(64 * MiB, 0, &e);
	memset(&bp, 0xcc, sizeof(bp));
	x86_fill_boot_params(&bp, img, &info, &e, 0x20000, 0, 0);
	CHECK_EQ(bp.hdr.version, 0x020c);
	CHECK_EQ(bp.hdr.init_size, 0x2345000);
	CHECK_EQ(bp.hdr.handover_offset, 0); /* past this header's end */
	CHECK_EQ(bp.hdr.ramdisk_image, 0);
	CHECK_EQ(bp.hdr.ramdisk_size, 0);
	CHECK_EQ(bp.ext_ramdisk_image, 0);
	CHECK_EQ(bp.ext_ramdisk_size, 0);
	CHECK_EQ(bp.e820_entries, e.nr);
	CHECK_EQ(bp.acpi_rsdp_addr, 0); /* protocol 2.12 has no such field */
}

/* ---- initrd placement ---- */

TEST(initrd_top_of_ram)
{
	uint64_t a = 0;

	CHECK_EQ(x86_place_initrd(256 * MiB, 0x3400000, 0x7fffffff,
				  16 * MiB + 123, &a),
		 0);
	CHECK_EQ(a % 4096, 0);
	CHECK(a + 16 * MiB + 123 <= 256 * MiB);
	CHECK_EQ(a, ALIGN_DOWN(256 * MiB - (16 * MiB + 123), 4096));
	CHECK(a >= 0x3400000);
	/* A page-sized multiple ends exactly at the top of RAM. */
	CHECK_EQ(x86_place_initrd(256 * MiB, 0x3400000, 0x7fffffff, 8 * MiB, &a),
		 0);
	CHECK_EQ(a, 248 * MiB);
}

TEST(initrd_addr_max)
{
	uint64_t a = 0;

	/* RAM goes higher than the kernel can reach: stay under the limit. */
	CHECK_EQ(x86_place_initrd(3 * GiB, 0x3400000, 0x37ffffff, 10 * MiB + 1,
				  &a),
		 0);
	CHECK_EQ(a % 4096, 0);
	CHECK(a + 10 * MiB + 1 - 1 <= 0x37ffffff);
	CHECK_EQ(a, ALIGN_DOWN(0x38000000 - (10 * MiB + 1), 4096));
	/* initrd_addr_max = 4 GiB - 1 with 3 GiB of low RAM. */
	CHECK_EQ(x86_place_initrd(3 * GiB, 0x3400000, 0xffffffff, 4096, &a), 0);
	CHECK_EQ(a, 3 * GiB - 4096);
	/* 0 (left unset by protocols before 2.03) means 0x37ffffff. */
	CHECK_EQ(x86_place_initrd(3 * GiB, 0x3400000, 0, 4096, &a), 0);
	CHECK_EQ(a, 0x38000000 - 4096);
}

TEST(initrd_does_not_fit)
{
	uint64_t a = 0xdead;

	/* Would run into the kernel. */
	CHECK_EQ(x86_place_initrd(64 * MiB, 60 * MiB, 0x7fffffff, 4 * MiB + 1,
				  &a),
		 -ENOSPC);
	/* Exactly fits between the kernel's end and the top. */
	CHECK_EQ(x86_place_initrd(64 * MiB, 60 * MiB, 0x7fffffff, 4 * MiB, &a),
		 0);
	CHECK_EQ(a, 60 * MiB);
	a = 0xdead;
	/* Larger than RAM, or than what initrd_addr_max allows. */
	CHECK_EQ(x86_place_initrd(256 * MiB, 16 * MiB, 0x7fffffff, 300 * MiB,
				  &a),
		 -ENOSPC);
	CHECK_EQ(x86_place_initrd(256 * MiB, 16 * MiB, 0x7fffffff,
				  UINT64_MAX, &a),
		 -ENOSPC);
	CHECK_EQ(x86_place_initrd(3 * GiB, 16 * MiB, 0x0fffffff, 250 * MiB,
				  &a),
		 -ENOSPC);
	CHECK_EQ(a, 0xdead); /* untouched on failure */
}

/* x86_min_ram() is exactly what x86_place_initrd() needs. */
TEST(min_ram_matches_placement)
{
	static const struct {
		uint64_t kernel_end, size;
		uint32_t addr_max;
	} c[] = {
		{ 79 * MiB, 100 * MiB, 0x7fffffff },
		{ 79 * MiB + 1, 4097, 0x7fffffff },
		{ 16 * MiB, 1, 0xffffffff },
		{ 60 * MiB, 4 * MiB, 0 },
	};
	unsigned int i;
	uint64_t a, min;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		min = x86_min_ram(c[i].kernel_end, c[i].size, c[i].addr_max);
		REQUIRE(min);
		CHECK_EQ(x86_place_initrd(min, ALIGN_UP(c[i].kernel_end, 4096),
					  c[i].addr_max, c[i].size, &a), 0);
		CHECK_EQ(x86_place_initrd(min - 4096,
					  ALIGN_UP(c[i].kernel_end, 4096),
					  c[i].addr_max, c[i].size, &a),
			 -ENOSPC);
	}
	/* No RAM is enough: past initrd_addr_max, or past 3 GiB. */
	CHECK_EQ(x86_min_ram(79 * MiB, 2100 * MiB, 0x7fffffff), 0);
	CHECK_EQ(x86_min_ram(79 * MiB, 3 * GiB, 0xffffffff), 0);
	CHECK_EQ(x86_min_ram(79 * MiB, UINT64_MAX, 0xffffffff), 0);
	CHECK_EQ(x86_min_ram(79 * MiB, 0, 0x7fffffff), 79 * MiB);
}

/* The reported issue: 2100 MiB with -m 64G cannot fit below a 2 GiB
 * initrd_addr_max, so "raise -m" was wrong advice. */
TEST(initrd_fit_messages)
{
	struct capture cap;

	capture_start(&cap);
	x86_report_initrd_fit("big.img", 2100 * MiB, 79 * MiB, 0x7fffffff,
			      64 * GiB);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: initrd 'big.img' (2100 MiB) does not fit below the kernel's initrd_addr_max (2 GiB - 1) after the kernel, which ends at 79 MiB\n");

	/* More RAM helps: the exact -m. */
	capture_start(&cap);
	x86_report_initrd_fit("i.img", 100 * MiB, 79 * MiB, 0x7fffffff,
			      4100 * KiB);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: initrd 'i.img' (100 MiB) does not fit in guest memory beside the kernel (the guest has 4100 KiB; give -m 179M or more)\n");

	/* PVH: no initrd_addr_max below 4 GiB; 3 GiB is the limit. */
	capture_start(&cap);
	x86_report_initrd_fit("i.img", 3 * GiB, 16 * MiB, 0xffffffff, 64 * GiB);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "does not fit between the kernel, which ends at 16 MiB, and 3 GiB");
	CHECK(!strstr(cap.text, "-m"));
}

/* The reported issue: a kernel needing 63 MiB from 16 MiB said "needs 63
 * MiB" with -m 64; it needs 79. */
TEST(kernel_fit_messages)
{
	struct capture cap;

	capture_start(&cap);
	x86_report_kernel_fit("bzImage", 16 * MiB, 63 * MiB, 0, 0x7fffffff,
			      64 * MiB);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: kernel 'bzImage' needs 79 MiB of guest RAM (63 MiB from 16 MiB), the guest has 64 MiB: give -m 79M or more\n");
	/* With an initrd, the -m that holds both. */
	capture_start(&cap);
	x86_report_kernel_fit("bzImage", 16 * MiB, 0x3f00123, 10 * MiB + 1,
			      0x7fffffff, 4100 * KiB);
	capture_end(&cap);
	CHECK_STREQ(cap.text, "lkvm: error: kernel 'bzImage' needs 82837795 bytes of guest RAM (66060579 bytes from 16 MiB), the guest has 4100 KiB: give -m 90M or more (kernel and initrd)\n");
	/* An initrd that can never fit after it: no -m advice. */
	capture_start(&cap);
	x86_report_kernel_fit("bzImage", 16 * MiB, 63 * MiB, 2100 * MiB,
			      0x7fffffff, 64 * MiB);
	capture_end(&cap);
	CHECK_CONTAINS(cap.text, "cannot fit after it below the kernel's initrd_addr_max (2 GiB - 1)");
	CHECK(!strstr(cap.text, "-m"));
}

/* ---- page tables and GDT ---- */

#define LOW_BUF (1 * MiB)

/* Walk 4-level tables rooted at X86_PML4_ADDR; returns false if unmapped. */
static bool translate(const uint8_t *mem, uint64_t va, uint64_t *pa)
{
	const uint64_t addr_mask = 0x000ffffffffff000ULL;
	uint64_t e, t = X86_PML4_ADDR;

	/* PML4 and PDPT: present, writable, pointing to the next table. */
	for (int shift = 39; shift > 21; shift -= 9) {
		e = *(const uint64_t *)(mem + t + ((va >> shift) & 511) * 8);
		if (!(e & 1) || !(e & 2) || (e & 0x80))
			return false;
		t = e & addr_mask;
		if (t + 4096 > LOW_BUF)
			return false;
	}
	e = *(const uint64_t *)(mem + t + ((va >> 21) & 511) * 8);
	if (!(e & 1) || !(e & 2) || !(e & 0x80)) /* must be a 2 MiB page */
		return false;
	*pa = (e & addr_mask & ~0x1fffffULL) | (va & 0x1fffff);
	return true;
}

TEST(page_tables_identity)
{
	static const uint64_t addrs[] = {
		0,          0x1000,     0x7000,     0x1fffff,   0x200000,
		0x1000000,  0x12345678, 0x7fffffff, 0xbfffffff, 0xc0000000,
		0xfec00000, 0xfee00000, 0xffffffff,
	};
	uint8_t *mem = malloc(LOW_BUF);
	uint64_t pa;
	unsigned int i;

	REQUIRE(mem != NULL);
	memset(mem, 0xcc, LOW_BUF);
	x86_build_page_tables(mem);
	for (i = 0; i < ARRAY_SIZE(addrs); i++) {
		pa = ~0ULL;
		CHECK(translate(mem, addrs[i], &pa));
		CHECK_EQ(pa, addrs[i]);
	}
	/* Every 2 MiB page of the first 4 GiB, at its first and last byte. */
	for (i = 0; i < 2048; i++) {
		uint64_t va = (uint64_t)i << 21;
		if (!translate(mem, va, &pa) || pa != va ||
		    !translate(mem, va + 0x1fffff, &pa) || pa != va + 0x1fffff) {
			CHECK_EQ(pa, va);
			break;
		}
	}
	/* Nothing at or above 4 GiB. */
	CHECK(!translate(mem, 0x100000000ULL, &pa));
	CHECK(!translate(mem, 0x8000000000ULL, &pa));
	CHECK(!translate(mem, 0x7fffffffffffULL, &pa));
	/* The tables sit where arch.h says and touch nothing else. */
	CHECK_EQ(*(uint64_t *)(mem + X86_PML4_ADDR) & ~0xfffULL, X86_PDPT_ADDR);
	CHECK_EQ(*(uint64_t *)(mem + X86_PDPT_ADDR) & ~0xfffULL, X86_PD_ADDR);
	CHECK_EQ(mem[X86_PML4_ADDR - 1], 0xcc);
	CHECK_EQ(mem[X86_PD_ADDR + 4 * 4096], 0xcc);
	CHECK_EQ(mem[X86_ZERO_PAGE_ADDR], 0xcc);
	CHECK_EQ(mem[X86_GDT_ADDR], 0xcc);
	free(mem);
}

TEST(gdt_descriptors)
{
	static _Alignas(4096) uint8_t mem[0x1000];
	uint64_t cs, ds, tss;

	memset(mem, 0xcc, sizeof(mem));
	x86_build_gdt(mem);
	CHECK_EQ(*(uint64_t *)(mem + X86_GDT_ADDR), 0); /* null descriptor */
	cs = *(uint64_t *)(mem + X86_GDT_ADDR + 0x10);
	ds = *(uint64_t *)(mem + X86_GDT_ADDR + 0x18);
	tss = *(uint64_t *)(mem + X86_GDT_ADDR + 0x20);

	/* 0x10: present, DPL 0, code (S=1, type has E), long mode (L=1, D=0). */
	CHECK(cs & (1ULL << 47));           /* P */
	CHECK_EQ((cs >> 45) & 3, 0);         /* DPL */
	CHECK(cs & (1ULL << 44));           /* S */
	CHECK(cs & (1ULL << 43));           /* executable */
	CHECK(cs & (1ULL << 53));           /* L */
	CHECK(!(cs & (1ULL << 54)));        /* D must be 0 with L */
	/* 0x18: present, DPL 0, writable data, flat 4 GiB. */
	CHECK(ds & (1ULL << 47));
	CHECK_EQ((ds >> 45) & 3, 0);
	CHECK(ds & (1ULL << 44));
	CHECK(!(ds & (1ULL << 43)));        /* not code */
	CHECK(ds & (1ULL << 41));           /* writable */
	CHECK(ds & (1ULL << 55));           /* G: 4 KiB granularity */
	CHECK_EQ((ds & 0xffff) | ((ds >> 32) & 0xf0000), 0xfffff); /* limit */
	CHECK_EQ(((ds >> 16) & 0xffffff) | ((ds >> 32) & 0xff000000), 0);
	/* 0x20: a present system descriptor of type "busy 64-bit TSS". */
	CHECK(tss & (1ULL << 47));
	CHECK(!(tss & (1ULL << 44)));
	CHECK_EQ((tss >> 40) & 0xf, 0xb);
	/* 0x30: 32-bit flat code for the PVH entry (D=1, L=0). */
	uint64_t cs32 = *(uint64_t *)(mem + X86_GDT_ADDR + X86_BOOT_CS32);
	CHECK(cs32 & (1ULL << 47));
	CHECK(cs32 & (1ULL << 43));
	CHECK(!(cs32 & (1ULL << 53)));
	CHECK(cs32 & (1ULL << 54));
	CHECK_EQ((cs32 & 0xffff) | ((cs32 >> 32) & 0xf0000), 0xfffff);
	/* X86_GDT_ENTRIES descriptors and nothing after them. */
	CHECK_EQ(mem[X86_GDT_ADDR + X86_GDT_ENTRIES * 8], 0xcc);
	CHECK_EQ(mem[X86_GDT_ADDR - 1], 0xcc);
}

int main(void)
{
	RUN(bzimage_valid);
	RUN(bzimage_header_variants);
	RUN(bzimage_rejects);
	RUN(bzimage_why_truncation);
	RUN(e820_256m);
	RUN(e820_3g);
	RUN(e820_6g);
	RUN(boot_params_fill);
	RUN(boot_params_no_initrd);
	RUN(initrd_top_of_ram);
	RUN(initrd_addr_max);
	RUN(initrd_does_not_fit);
	RUN(min_ram_matches_placement);
	RUN(initrd_fit_messages);
	RUN(kernel_fit_messages);
	RUN(page_tables_identity);
	RUN(gdt_descriptors);
	return test_summary();
}
