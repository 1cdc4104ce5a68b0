/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_MEMORY_H
#define LKVM_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 4

/* One contiguous span of guest-physical RAM backed by host memory. */
struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint32_t slot;
};

struct guest_memory {
	uint8_t *base; /* one host mapping that backs every region */
	uint64_t mapped_size;
	unsigned int nr_regions;
	struct mem_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int pinned;   /* guest_memory_pin_forever() calls (atomic) */
};

/* Map @size bytes of anonymous host memory (MAP_NORESERVE). */
int guest_memory_alloc(struct guest_memory *mem, uint64_t size);
/*
 * Map @size bytes of huge pages from a file created (and unlinked at once)
 * in the hugetlbfs mounted at @dir (--hugetlbfs).  The pages are reserved
 * now, so a shortage shows here, not as a SIGBUS when the guest touches
 * them.  0, or -errno with the reason, one line naming @dir, in @why.
 */
int guest_memory_alloc_hugetlbfs(struct guest_memory *mem, uint64_t size,
				 const char *dir, char *why, size_t cap);
/* Forget @mem; the mapping is unmapped unless it was pinned. */
void guest_memory_free(struct guest_memory *mem);
/*
 * Keep the mapping until the process exits: guest_memory_free() will not
 * unmap it.  For a device that had to leave a thread behind that may
 * still read or write guest buffers (a 9p worker stuck in the host
 * filesystem at exit, see virtio/9p.c).  Any thread may call it.
 */
void guest_memory_pin_forever(struct guest_memory *mem);

/*
 * Add a RAM region at @gpa, backed by host memory at @host_offset into the
 * mapping.  Regions must not overlap in either space.
 */
int guest_memory_add_region(struct guest_memory *mem, uint64_t gpa,
			    uint64_t size, uint64_t host_offset);

/*
 * Translate [gpa, gpa + len) to a host pointer.  Returns NULL unless the
 * whole range lies inside a single RAM region: this is the one place that
 * guards the host from guest-supplied addresses, so it checks for overflow.
 */
void *gpa_to_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

bool gpa_is_ram(const struct guest_memory *mem, uint64_t gpa, uint64_t len);

/* Total RAM across regions. */
uint64_t guest_memory_ram_size(const struct guest_memory *mem);

#endif
