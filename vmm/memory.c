// SPDX-License-Identifier: GPL-2.0
#include "lkvm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

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
	mem->anonymous = true;
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
