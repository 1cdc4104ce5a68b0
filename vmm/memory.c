// SPDX-License-Identifier: GPL-2.0
#include "lkvm/memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lkvm/util.h"

int guest_memory_alloc(struct guest_memory *mem, uint64_t size)
{
	void *p;

	memset(mem, 0, sizeof(*mem));
	if (!size || size != (size_t)size)
		return -EINVAL;
	/*
	 * NORESERVE: a guest that never touches its RAM costs nothing, like a
	 * real machine's untouched pages.
	 */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Huge pages cut EPT/NPT misses; THP here is "madvise" by default. */
	madvise(p, size, MADV_HUGEPAGE);
	mem->base = p;
	mem->mapped_size = size;
	return 0;
}

/* Free huge pages of @page_kib KiB (free minus reserved), or -1. */
static long hugepages_free(uint64_t page_kib)
{
	long v[2];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		char path[96];
		FILE *f;

		snprintf(path, sizeof(path),
			 "/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s",
			 page_kib, i ? "resv_hugepages" : "free_hugepages");
		f = fopen(path, "re");
		if (!f)
			return -1;
		if (fscanf(f, "%ld", &v[i]) != 1)
			v[i] = -1;
		fclose(f);
		if (v[i] < 0)
			return -1;
	}
	return v[0] > v[1] ? v[0] - v[1] : 0;
}

int guest_memory_alloc_hugetlbfs(struct guest_memory *mem, uint64_t size,
				 const char *dir, char *why, size_t cap)
{
	char path[4096];
	struct statfs sfs;
	uint64_t page;
	void *p;
	int fd, err;

	memset(mem, 0, sizeof(*mem));
	if (!size || size != (size_t)size)
		return -EINVAL;
	if (statfs(dir, &sfs) < 0) {
		err = -errno;
		snprintf(why, cap, "--hugetlbfs %s: %s", dir, strerror(errno));
		return err;
	}
	if (sfs.f_type != HUGETLBFS_MAGIC) {
		snprintf(why, cap, "--hugetlbfs %s is not a hugetlbfs mount (mount one: mount -t hugetlbfs none /dev/hugepages)",
			 dir);
		return -EINVAL;
	}
	page = (uint64_t)sfs.f_bsize; /* the mount's huge page size */
	if (!page || size % page) {
		snprintf(why, cap, "--hugetlbfs %s: guest RAM (%s) is not a multiple of its huge page size (%s)",
			 dir, size_str(size).s, size_str(page).s);
		return -EINVAL;
	}
	if (snprintf(path, sizeof(path), "%s/lkvm-guest-XXXXXX", dir) >=
	    (int)sizeof(path)) {
		snprintf(why, cap, "--hugetlbfs %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, cap, "--hugetlbfs %s: cannot create a file there: %s",
			 dir, strerror(errno));
		return err;
	}
	/* Nothing to clean up at exit, however lkvm ends. */
	unlink(path);
	if (ftruncate(fd, (off_t)size) < 0) {
		err = -errno;
		snprintf(why, cap, "--hugetlbfs %s: cannot size the file to %s: %s",
			 dir, size_str(size).s, strerror(errno));
		close(fd);
		return err;
	}
	/* No MAP_NORESERVE: mmap reserves every page or fails now. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = p == MAP_FAILED ? -errno : 0;
	close(fd); /* the mapping keeps the file */
	if (err == -ENOMEM) {
		long avail = hugepages_free(page / 1024);
		char n[32] = "too few";

		if (avail >= 0)
			snprintf(n, sizeof(n), "%ld", avail);
		snprintf(why, cap, "--hugetlbfs %s: guest RAM (%s) needs %" PRIu64 " huge pages of %s, %s free (raise /proc/sys/vm/nr_hugepages)",
			 dir, size_str(size).s, size / page,
			 size_str(page).s, n);
		return err;
	}
	if (err) {
		snprintf(why, cap, "--hugetlbfs %s: cannot map %s: %s", dir,
			 size_str(size).s, strerror(-err));
		return err;
	}
	mem->base = p;
	mem->mapped_size = size;
	return 0;
}

void guest_memory_free(struct guest_memory *mem)
{
	/* Pinned: a device's thread left behind may still copy into guest
	 * buffers; unmapping would turn that into a crash (or a write into
	 * whatever gets mapped there next).  Only done at exit, so the
	 * memory goes with the process. */
	if (mem->base && !__atomic_load_n(&mem->pinned, __ATOMIC_ACQUIRE))
		munmap(mem->base, mem->mapped_size);
	memset(mem, 0, sizeof(*mem));
}

void guest_memory_pin_forever(struct guest_memory *mem)
{
	__atomic_add_fetch(&mem->pinned, 1, __ATOMIC_RELEASE);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int guest_memory_add_region(struct guest_memory *mem, uint64_t gpa,
			    uint64_t size, uint64_t host_offset)
{
	unsigned int i;

	if (!size || mem->nr_regions >= GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	if (gpa + size < gpa || host_offset > mem->mapped_size ||
	    size > mem->mapped_size - host_offset)
		return -EINVAL;
	for (i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];
		if (ranges_overlap(gpa, size, r->gpa, r->size) ||
		    ranges_overlap(host_offset, size,
				   (uint64_t)(r->hva - mem->base), r->size))
			return -EEXIST;
	}
	mem->regions[mem->nr_regions] = (struct mem_region){
		.gpa = gpa,
		.size = size,
		.hva = mem->base + host_offset,
		.slot = mem->nr_regions,
	};
	mem->nr_regions++;
	return 0;
}

void *gpa_to_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];
		/* Written to avoid gpa + len overflowing. */
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool gpa_is_ram(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	return gpa_to_hva(mem, gpa, len) != NULL;
}

uint64_t guest_memory_ram_size(const struct guest_memory *mem)
{
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++)
		total += mem->regions[i].size;
	return total;
}
