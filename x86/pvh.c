// SPDX-License-Identifier: GPL-2.0
/*
 * PVH boot of an uncompressed ELF vmlinux (Linux's CONFIG_PVH=y): load the
 * PT_LOAD segments at their physical addresses, hand the kernel an
 * hvm_start_info (command line, memory map, initrd as module 0, RSDP), and
 * enter at the address in its XEN_ELFNOTE_PHYS32_ENTRY note in 32-bit
 * protected mode with paging off.  Skipping the bzImage decompressor is what
 * makes this the fast way to boot.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info");

static bool in_file(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* A PT_LOAD header (a copy) whose bytes lie in the file and whose
 * addresses do not wrap. */
static bool load_ok(size_t len, const Elf64_Phdr *ph)
{
	return ph->p_filesz <= ph->p_memsz &&
	       in_file(len, ph->p_offset, ph->p_filesz) &&
	       ph->p_paddr + ph->p_memsz >= ph->p_paddr;
}

/* Walk the notes in [p, p + size) for Xen's PHYS32_ENTRY. */
static bool find_pvh_note(const uint8_t *p, uint64_t size, uint64_t *entry)
{
	uint64_t off = 0;

	while (size - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;
		uint64_t name_len, desc_len;

		memcpy(&n, p + off, sizeof(n));
		name_len = ALIGN_UP((uint64_t)n.n_namesz, 4);
		desc_len = ALIGN_UP((uint64_t)n.n_descsz, 4);
		off += sizeof(n);
		if (name_len > size - off || desc_len > size - off - name_len)
			return false;
		if (n.n_type == XEN_ELFNOTE_PHYS32_ENTRY && n.n_namesz == 4 &&
		    !memcmp(p + off, "Xen", 4) &&
		    (n.n_descsz == 4 || n.n_descsz == 8)) {
			uint64_t v = 0;
			memcpy(&v, p + off + name_len, n.n_descsz);
			*entry = v;
			return true;
		}
		off += name_len + desc_len;
	}
	return false;
}

int pvh_parse(const uint8_t *img, size_t len, struct pvh_info *info,
	      char *why, size_t why_len)
{
	Elf64_Ehdr eh;
	unsigned int i;
	bool have_entry = false;

	memset(info, 0, sizeof(*info));
	if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG)) {
		snprintf(why, why_len, "is not an ELF file");
		return -EINVAL;
	}
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(why, why_len, "is an ELF file but not an x86-64 vmlinux");
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum ||
	    !in_file(len, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))) {
		snprintf(why, why_len, "has a broken ELF program header table");
		return -EINVAL;
	}
	info->low = UINT64_MAX;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && in_file(len, ph.p_offset, ph.p_filesz) &&
		    !have_entry)
			have_entry = find_pvh_note(img + ph.p_offset, ph.p_filesz,
						   &info->entry);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (!load_ok(len, &ph)) {
			snprintf(why, why_len, "has a broken PT_LOAD segment %u", i);
			return -EINVAL;
		}
		info->low = MIN(info->low, (uint64_t)ph.p_paddr);
		info->end = MAX(info->end, (uint64_t)(ph.p_paddr + ph.p_memsz));
		info->nr_load++;
	}
	if (!info->nr_load) {
		snprintf(why, why_len, "has no loadable segments");
		return -EINVAL;
	}
	if (!have_entry) {
		snprintf(why, why_len,
			 "is an ELF vmlinux without a PVH entry note (build with CONFIG_PVH=y, or boot the bzImage)");
		return -EINVAL;
	}
	if (info->entry < info->low || info->entry >= info->end ||
	    info->entry > 0xffffffffULL) {
		snprintf(why, why_len, "has a PVH entry point outside its segments");
		return -EINVAL;
	}
	return 0;
}

/*
 * One PT_LOAD segment's file bytes into guest RAM at @dst.  From the kernel
 * cache's file they are read with pread(), straight from the page cache
 * into guest RAM: a memcpy() from the file's mapping first takes a page
 * fault per 4 KiB of source, 15,000 for Debian's 60 MB of segments, which
 * under nesting took longer than the rest of lkvm's start-up.  (Mapping
 * the file's pages over guest RAM instead was slower still: the guest
 * then runs its kernel from 4 KiB pages, not huge ones, and the boot took
 * 15% longer in tests/bench/boot-time.sh.)
 */
void pvh_load_segment(const struct kernel_blob *b, const uint8_t *img,
		      const Elf64_Phdr *ph, uint8_t *dst)
{
	uint64_t done = 0;

	while (b->has_fd && done < ph->p_filesz) {
		ssize_t n = pread(b->fd, dst + done,
				  MIN(ph->p_filesz - done, 1ULL << 30),
				  (off_t)(ph->p_offset + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_debug("kernel segment at %#llx: reading the cache file: %s; copying",
				 (unsigned long long)ph->p_paddr,
				 n < 0 ? strerror(errno) : "end of file");
			break;
		}
		done += (uint64_t)n;
	}
	if (done < ph->p_filesz)
		memcpy(dst + done, img + ph->p_offset + done, ph->p_filesz - done);
}

/*
 * Every PT_LOAD segment of @img (@len bytes) into guest RAM.  The headers
 * are read again here, and the image may be the kernel cache's file,
 * mapped: one changed on disk since pvh_parse() must not make lkvm read
 * past the image or write past a segment, so each header is copied and
 * checked again, and must stay within what pvh_parse() accepted.
 */
int pvh_load_segments(struct vm *vm, const uint8_t *img, size_t len)
{
	const struct pvh_info *pvh = &vm->arch.pvh;
	Elf64_Ehdr eh;
	unsigned int i;

	if (len < sizeof(eh))
		goto changed;
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !in_file(len, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)))
		goto changed;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (!load_ok(len, &ph) || ph.p_paddr < pvh->low ||
		    ph.p_paddr + ph.p_memsz > pvh->end)
			goto changed;
		dst = gpa_to_hva(&vm->mem, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return -EFAULT;
		pvh_load_segment(&vm->arch.unpacked, img, &ph, dst);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
changed:
	pr_err("kernel '%s' changed while it was being loaded (its ELF headers no longer match)",
	       vm->cfg ? vm->cfg->kernel_path : "?");
	return -EINVAL;
}

int pvh_load(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	/* A bzImage's payload decompressed on the host, or the file itself. */
	const uint8_t *img = a->unpacked.data ? a->unpacked.data : vm->kernel_image;
	struct e820_layout e820;
	struct hvm_start_info *si;
	struct hvm_memmap_entry *mm;
	struct hvm_modlist_entry *mod;
	unsigned int i;
	int err;

	if (a->pvh.end > a->lowmem_size) {
		uint64_t low = MIN(a->pvh.low, a->pvh.end);

		x86_report_kernel_fit(vm->cfg->kernel_path, low,
				      a->pvh.end - low,
				      vm->initrd_fd >= 0 ? vm->initrd_size : 0,
				      0xffffffffu,
				      a->lowmem_size + a->highmem_size);
		return -ENOSPC;
	}
	if (a->pvh.low < X86_HIGH_MEM) {
		pr_err("kernel '%s' loads below 1 MiB, over lkvm's boot structures",
		       vm->cfg->kernel_path);
		return -EINVAL;
	}
	err = pvh_load_segments(vm, img, a->unpacked.data ? a->unpacked.len :
							   vm->kernel_size);
	if (err)
		return err;
	/* Loaded: the decompressed image (or its cache file's mapping, 66 MB
	 * for Debian's kernel) need not stay mapped; mapped segments keep
	 * their file. */
	kernel_blob_release(&a->unpacked);

	si = gpa_to_hva(&vm->mem, X86_PVH_INFO_ADDR, 0x1000);
	memset(si, 0, 0x1000);
	si->magic = HVM_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = X86_CMDLINE_ADDR;
	si->rsdp_paddr = X86_ACPI_AREA;

	x86_build_e820(a->lowmem_size, a->highmem_size, &e820);
	mm = (struct hvm_memmap_entry *)(si + 1);
	for (i = 0; i < e820.nr; i++) {
		mm[i].addr = e820.entries[i].addr;
		mm[i].size = e820.entries[i].size;
		mm[i].type = e820.entries[i].type;
	}
	si->memmap_paddr = X86_PVH_INFO_ADDR + sizeof(*si);
	si->memmap_entries = e820.nr;

	/* PVH has no initrd_addr_max: anywhere below 4 GiB will do. */
	err = x86_load_initrd(vm, ALIGN_UP(a->pvh.end, 4096), 0xffffffffu);
	if (err)
		return err;
	if (vm->initrd_fd >= 0) {
		mod = (struct hvm_modlist_entry *)(mm + e820.nr);
		mod->paddr = a->initrd_addr;
		mod->size = vm->initrd_size;
		si->modlist_paddr = X86_PVH_INFO_ADDR + (uint64_t)((uint8_t *)mod - (uint8_t *)si);
		si->nr_modules = 1;
	}
	return 0;
}
