// SPDX-License-Identifier: GPL-2.0
/* Guest memory regions and the GPA -> HVA translation (vmm/memory.c). */
#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lkvm/memory.h"
#include "lkvm/util.h"
#include "test.h"

#define MAP_SIZE (8 * MiB)
#define LOW_SIZE (4 * MiB)
#define HIGH_GPA (4 * GiB)
#define HIGH_SIZE (4 * MiB)

/* x86-like: 4 MiB at 0 backed by the first half, 4 MiB at 4 GiB the second. */
static bool setup_two(struct guest_memory *m)
{
	if (guest_memory_alloc(m, MAP_SIZE))
		return false;
	return !guest_memory_add_region(m, 0, LOW_SIZE, 0) &&
	       !guest_memory_add_region(m, HIGH_GPA, HIGH_SIZE, LOW_SIZE);
}

TEST(alloc_and_free)
{
	struct guest_memory m;

	CHECK_EQ(guest_memory_alloc(&m, MAP_SIZE), 0);
	REQUIRE(m.base != NULL);
	CHECK_EQ(m.mapped_size, MAP_SIZE);
	CHECK_EQ(m.nr_regions, 0);
	CHECK_EQ(guest_memory_ram_size(&m), 0);
	/* Anonymous memory starts zeroed and is writable end to end. */
	CHECK_EQ(m.base[0], 0);
	CHECK_EQ(m.base[MAP_SIZE - 1], 0);
	m.base[0] = 1;
	m.base[MAP_SIZE - 1] = 2;
	guest_memory_free(&m);
	CHECK_NULL(m.base);
	CHECK_EQ(m.mapped_size, 0);
	guest_memory_free(&m); /* twice is harmless */

	CHECK_EQ(guest_memory_alloc(&m, 0), -EINVAL);
	CHECK_NULL(m.base);
}

TEST(single_region_bounds)
{
	struct guest_memory m;
	uint8_t *b;

	REQUIRE(guest_memory_alloc(&m, MAP_SIZE) == 0);
	b = m.base;
	REQUIRE(guest_memory_add_region(&m, 0, LOW_SIZE, 0) == 0);
	CHECK_PTR_EQ(gpa_to_hva(&m, 0, 1), b);
	CHECK_PTR_EQ(gpa_to_hva(&m, 0, LOW_SIZE), b);
	CHECK_PTR_EQ(gpa_to_hva(&m, 0x1234, 16), b + 0x1234);
	CHECK_PTR_EQ(gpa_to_hva(&m, LOW_SIZE - 1, 1), b + LOW_SIZE - 1);
	CHECK_PTR_EQ(gpa_to_hva(&m, LOW_SIZE - 16, 16), b + LOW_SIZE - 16);
	/* Straddling the end, or past it. */
	CHECK_NULL(gpa_to_hva(&m, LOW_SIZE - 1, 2));
	CHECK_NULL(gpa_to_hva(&m, LOW_SIZE - 16, 17));
	CHECK_NULL(gpa_to_hva(&m, 0, LOW_SIZE + 1));
	CHECK_NULL(gpa_to_hva(&m, LOW_SIZE, 1));
	/* An empty range inside RAM is fine; one at the end is not RAM. */
	CHECK_PTR_EQ(gpa_to_hva(&m, 0x10, 0), b + 0x10);
	CHECK_NULL(gpa_to_hva(&m, LOW_SIZE, 0));
	CHECK(gpa_is_ram(&m, LOW_SIZE - 1, 1));
	CHECK(!gpa_is_ram(&m, LOW_SIZE - 1, 2));
	CHECK_EQ(guest_memory_ram_size(&m), LOW_SIZE);
	guest_memory_free(&m);
}

TEST(overflowing_ranges)
{
	struct guest_memory m;

	REQUIRE(setup_two(&m));
	CHECK_NULL(gpa_to_hva(&m, UINT64_MAX - 1, 16));
	CHECK_NULL(gpa_to_hva(&m, UINT64_MAX, 1));
	CHECK_NULL(gpa_to_hva(&m, UINT64_MAX, 0));
	CHECK_NULL(gpa_to_hva(&m, 0, UINT64_MAX));
	CHECK_NULL(gpa_to_hva(&m, 1, UINT64_MAX));
	CHECK_NULL(gpa_to_hva(&m, 0x1000, UINT64_MAX - 0x800)); /* wraps to 0x800 */
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA + 1, UINT64_MAX));
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA, (uint64_t)0 - HIGH_GPA)); /* to 2^64 */
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA + HIGH_SIZE - 1, UINT64_MAX));
	guest_memory_free(&m);
}

TEST(two_regions)
{
	struct guest_memory m;
	uint8_t *b, *p;

	REQUIRE(setup_two(&m));
	b = m.base;
	CHECK_EQ(m.nr_regions, 2);
	CHECK_EQ(m.regions[0].slot, 0);
	CHECK_EQ(m.regions[1].slot, 1);
	CHECK_PTR_EQ(m.regions[1].hva, b + LOW_SIZE);
	CHECK_EQ(guest_memory_ram_size(&m), LOW_SIZE + HIGH_SIZE);

	/* Each region maps to its own host offset. */
	CHECK_PTR_EQ(gpa_to_hva(&m, 0, 1), b);
	CHECK_PTR_EQ(gpa_to_hva(&m, HIGH_GPA, 1), b + LOW_SIZE);
	CHECK_PTR_EQ(gpa_to_hva(&m, HIGH_GPA + 0x1000, 8), b + LOW_SIZE + 0x1000);
	CHECK_PTR_EQ(gpa_to_hva(&m, HIGH_GPA + HIGH_SIZE - 1, 1),
		     b + MAP_SIZE - 1);
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA + HIGH_SIZE - 1, 2));
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA + HIGH_SIZE, 1));
	/* The gap between them: not RAM, even though host memory follows. */
	CHECK_NULL(gpa_to_hva(&m, LOW_SIZE, 1));
	CHECK_NULL(gpa_to_hva(&m, 3 * GiB, 1));
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA - 1, 1));
	CHECK_NULL(gpa_to_hva(&m, HIGH_GPA - 1, 2)); /* gap into region */
	CHECK_NULL(gpa_to_hva(&m, LOW_SIZE - 1, HIGH_GPA)); /* spans both */
	/* Writes through one translation are seen through the mapping. */
	p = gpa_to_hva(&m, HIGH_GPA + 0x10, 4);
	REQUIRE(p != NULL);
	memcpy(p, "lkvm", 4);
	CHECK_EQ(memcmp(b + LOW_SIZE + 0x10, "lkvm", 4), 0);
	CHECK(gpa_is_ram(&m, HIGH_GPA, HIGH_SIZE));
	CHECK(!gpa_is_ram(&m, HIGH_GPA, HIGH_SIZE + 1));
	guest_memory_free(&m);
}

TEST(region_validation)
{
	struct guest_memory m;

	REQUIRE(guest_memory_alloc(&m, MAP_SIZE) == 0);
	CHECK_EQ(guest_memory_add_region(&m, 0, 0, 0), -EINVAL);
	CHECK_EQ(guest_memory_add_region(&m, 0, MAP_SIZE + 4096, 0), -EINVAL);
	CHECK_EQ(guest_memory_add_region(&m, 0, 4096, MAP_SIZE), -EINVAL);
	CHECK_EQ(guest_memory_add_region(&m, 0, 8192, MAP_SIZE - 4096), -EINVAL);
	CHECK_EQ(guest_memory_add_region(&m, 0, 4096, UINT64_MAX), -EINVAL);
	CHECK_EQ(guest_memory_add_region(&m, UINT64_MAX - 0xfff, 0x2000, 0),
		 -EINVAL);
	CHECK_EQ(m.nr_regions, 0);

	CHECK_EQ(guest_memory_add_region(&m, 1 * MiB, 1 * MiB, 0), 0);
	/* Overlaps in guest-physical space, from either side or inside. */
	CHECK_EQ(guest_memory_add_region(&m, 0, 1 * MiB + 1, 2 * MiB), -EEXIST);
	CHECK_EQ(guest_memory_add_region(&m, 2 * MiB - 1, 1, 2 * MiB), -EEXIST);
	CHECK_EQ(guest_memory_add_region(&m, 1 * MiB + 4096, 4096, 2 * MiB),
		 -EEXIST);
	CHECK_EQ(guest_memory_add_region(&m, 0, 4 * MiB, 4 * MiB), -EEXIST);
	/* Overlaps in the host mapping. */
	CHECK_EQ(guest_memory_add_region(&m, 8 * MiB, 4096, 1 * MiB - 4096),
		 -EEXIST);
	CHECK_EQ(guest_memory_add_region(&m, 8 * MiB, 2 * MiB, 0), -EEXIST);
	CHECK_EQ(m.nr_regions, 1);
	/* Adjacent in both spaces is fine. */
	CHECK_EQ(guest_memory_add_region(&m, 0, 1 * MiB, 1 * MiB), 0);
	CHECK_EQ(guest_memory_add_region(&m, 2 * MiB, 1 * MiB, 2 * MiB), 0);
	CHECK_EQ(guest_memory_add_region(&m, 3 * MiB, 1 * MiB, 3 * MiB), 0);
	CHECK_EQ(m.nr_regions, GUEST_MEM_MAX_REGIONS);
	/* No room for a fifth. */
	CHECK_EQ(guest_memory_add_region(&m, 16 * MiB, 1 * MiB, 4 * MiB),
		 -EINVAL);
	CHECK_EQ(guest_memory_ram_size(&m), 4 * MiB);
	/* gpa 0..4 MiB is now contiguous RAM but split across regions. */
	CHECK_PTR_EQ(gpa_to_hva(&m, 0, 1), m.base + 1 * MiB);
	CHECK_PTR_EQ(gpa_to_hva(&m, 1 * MiB, 1), m.base);
	CHECK_NULL(gpa_to_hva(&m, 1 * MiB - 1, 2)); /* not one host range */
	guest_memory_free(&m);
}

/* Whether the page at @p (page-aligned) is mapped: mincore() fails with
 * ENOMEM if not. */
static bool page_mapped(void *p)
{
	unsigned char vec;

	return mincore(p, (size_t)sysconf(_SC_PAGESIZE), &vec) == 0;
}

/* A pinned mapping survives guest_memory_free() (a 9p worker left
 * running at exit may still write to it); an unpinned one does not. */
TEST(pinned_memory_stays_mapped)
{
	struct guest_memory m;
	uint8_t *b;

	REQUIRE(guest_memory_alloc(&m, MAP_SIZE) == 0);
	b = m.base;
	CHECK(page_mapped(b));
	guest_memory_free(&m);
	CHECK(!page_mapped(b));

	REQUIRE(guest_memory_alloc(&m, MAP_SIZE) == 0);
	b = m.base;
	guest_memory_pin_forever(&m);
	guest_memory_pin_forever(&m); /* twice is fine */
	guest_memory_free(&m);
	CHECK_NULL(m.base);
	CHECK_EQ(m.pinned, 0);
	if (CHECK(page_mapped(b)) && CHECK(page_mapped(b + MAP_SIZE - 4096))) {
		b[0] = 1;
		b[MAP_SIZE - 1] = 2;
	}
	munmap(b, MAP_SIZE);
}

/* --hugetlbfs on what is not a hugetlbfs mount: one line naming it. */
TEST(hugetlbfs_refuses_other_dirs)
{
	struct guest_memory m;
	char why[4200] = "";

	CHECK_EQ(guest_memory_alloc_hugetlbfs(&m, MAP_SIZE, "/tmp", why,
					      sizeof(why)), -EINVAL);
	CHECK_STREQ(why, "--hugetlbfs /tmp is not a hugetlbfs mount (mount one: mount -t hugetlbfs none /dev/hugepages)");
	CHECK_NULL(m.base);
	CHECK_EQ(guest_memory_alloc_hugetlbfs(&m, MAP_SIZE, "/nonexistent-lkvm",
					      why, sizeof(why)), -ENOENT);
	CHECK_STREQ(why, "--hugetlbfs /nonexistent-lkvm: No such file or directory");
	CHECK(!strchr(why, '\n'));
}

/* Free huge pages of @kib KiB (free minus reserved); -1 if unknown. */
static long free_huge(unsigned long kib)
{
	long v[2] = { -1, -1 };
	int i;

	for (i = 0; i < 2; i++) {
		char path[96];
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%lukB/%s", kib,
			 i ? "resv_hugepages" : "free_hugepages");
		f = fopen(path, "r");
		if (!f || fscanf(f, "%ld", &v[i]) != 1)
			v[i] = -1;
		if (f)
			fclose(f);
	}
	return v[0] < 0 || v[1] < 0 ? -1 : v[0] - v[1];
}

/* Does @dir hold a file named lkvm-guest-*?  (They are unlinked at once.) */
static bool has_guest_file(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d && (e = readdir(d)))
		found |= !strncmp(e->d_name, "lkvm-guest-", 11);
	if (d)
		closedir(d);
	return found;
}

/*
 * The real thing, where a hugetlbfs with a free huge page is mounted at
 * $LKVM_TEST_HUGETLBFS or /dev/hugepages (as root: mount -t hugetlbfs none
 * DIR; echo 4 > /proc/sys/vm/nr_hugepages); said and skipped otherwise.
 */
TEST(hugetlbfs_real_mount)
{
	const char *dir = getenv("LKVM_TEST_HUGETLBFS");
	struct guest_memory m;
	char why[4200] = "", want[64];
	struct statfs sfs;
	uint64_t page;
	long avail;

	if (!dir)
		dir = "/dev/hugepages";
	if (statfs(dir, &sfs) || sfs.f_type != HUGETLBFS_MAGIC ||
	    (avail = free_huge((unsigned long)sfs.f_bsize / 1024)) < 1) {
		printf("  skipped: no hugetlbfs with a free huge page at %s (set LKVM_TEST_HUGETLBFS=DIR)\n",
		       dir);
		return;
	}
	page = (uint64_t)sfs.f_bsize;
	if (CHECK_EQ(guest_memory_alloc_hugetlbfs(&m, page, dir, why,
						  sizeof(why)), 0)) {
		CHECK_EQ(m.mapped_size, page);
		CHECK(!has_guest_file(dir));
		/* Every page was reserved at mmap: touching them all is safe. */
		m.base[0] = 1;
		m.base[page - 1] = 2;
		CHECK_EQ(free_huge(page / 1024), avail - 1);
		guest_memory_free(&m);
	} else {
		printf("  %s\n", why);
	}
	CHECK_EQ(guest_memory_alloc_hugetlbfs(&m, page * (uint64_t)(avail + 1),
					      dir, why, sizeof(why)), -ENOMEM);
	snprintf(want, sizeof(want), "huge pages of %s", size_str(page).s);
	CHECK_CONTAINS(why, want);
	CHECK_CONTAINS(why, "raise /proc/sys/vm/nr_hugepages");
	CHECK(!has_guest_file(dir));
	CHECK_EQ(guest_memory_alloc_hugetlbfs(&m, page + 4096, dir, why,
					      sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, "is not a multiple of its huge page size");
	CHECK_NULL(m.base);
}

int main(void)
{
	RUN(alloc_and_free);
	RUN(single_region_bounds);
	RUN(overflowing_ranges);
	RUN(two_regions);
	RUN(region_validation);
	RUN(pinned_memory_stays_mapped);
	RUN(hugetlbfs_refuses_other_dirs);
	RUN(hugetlbfs_real_mount);
	return test_summary();
}
