// SPDX-License-Identifier: GPL-2.0
/* PVH vmlinux parsing (x86/pvh.c): synthetic ELF images built in memory. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "arch/arch.h"
#include "lkvm/decompress.h"
#include "lkvm/vm.h"
#include "host_files.h"
#include "test.h"

/* An ELF64 x86-64 image: 2 program headers (LOAD, NOTE) and a Xen note. */
struct fake_elf {
	uint8_t buf[0x400];
	size_t len;
};

#define LOAD_PADDR 0x1000000ULL
#define LOAD_FILESZ 0x100
#define LOAD_MEMSZ 0x3000
#define NOTE_OFF 0x200
#define ENTRY (LOAD_PADDR + 0x40)

static Elf64_Phdr *phdr(struct fake_elf *f, unsigned int i)
{
	return (Elf64_Phdr *)(f->buf + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static void build(struct fake_elf *f, uint32_t note_type, uint32_t descsz)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f->buf;
	Elf64_Nhdr *n = (Elf64_Nhdr *)(f->buf + NOTE_OFF);
	uint64_t entry = ENTRY;

	memset(f, 0, sizeof(*f));
	f->len = sizeof(f->buf);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	*phdr(f, 0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x300,
				    .p_paddr = LOAD_PADDR, .p_filesz = LOAD_FILESZ,
				    .p_memsz = LOAD_MEMSZ };
	*phdr(f, 1) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
				    .p_filesz = sizeof(*n) + 4 + 8 };
	/* A note of another owner first would be skipped; keep one note. */
	n->n_namesz = 4;
	n->n_descsz = descsz;
	n->n_type = note_type;
	memcpy(n + 1, "Xen", 4);
	memcpy((uint8_t *)(n + 1) + 4, &entry, descsz);
}

TEST(valid_vmlinux)
{
	struct fake_elf f;
	struct pvh_info info;
	char why[160] = "";

	build(&f, 18, 8);
	CHECK_EQ(pvh_parse(f.buf, f.len, &info, why, sizeof(why)), 0);
	CHECK_EQ(info.entry, ENTRY);
	CHECK_EQ(info.low, LOAD_PADDR);
	CHECK_EQ(info.end, LOAD_PADDR + LOAD_MEMSZ); /* bss counts */
	CHECK_EQ(info.nr_load, 1);
	/* A 4-byte descriptor (32-bit kernels' _ASM_PTR) works too. */
	build(&f, 18, 4);
	CHECK_EQ(pvh_parse(f.buf, f.len, &info, why, sizeof(why)), 0);
	CHECK_EQ(info.entry, ENTRY);
}

static void expect_reject(struct fake_elf *f, const char *needle)
{
	struct pvh_info info;
	char why[160] = "";

	CHECK_EQ(pvh_parse(f->buf, f->len, &info, why, sizeof(why)), -EINVAL);
	CHECK_CONTAINS(why, needle);
}

TEST(rejects)
{
	struct fake_elf f;

	build(&f, 17, 8); /* some other Xen note: no PVH entry */
	expect_reject(&f, "PVH entry note");

	build(&f, 18, 8);
	f.buf[EI_CLASS] = ELFCLASS32;
	expect_reject(&f, "not an x86-64 vmlinux");

	build(&f, 18, 8);
	((Elf64_Ehdr *)f.buf)->e_machine = EM_AARCH64;
	expect_reject(&f, "not an x86-64 vmlinux");

	build(&f, 18, 8);
	((Elf64_Ehdr *)f.buf)->e_phoff = 0x3f0; /* table runs off the file */
	expect_reject(&f, "program header");

	build(&f, 18, 8);
	phdr(&f, 0)->p_filesz = 0x1000; /* segment data beyond the file */
	expect_reject(&f, "PT_LOAD");

	build(&f, 18, 8);
	phdr(&f, 0)->p_filesz = LOAD_MEMSZ + 1; /* filesz > memsz */
	expect_reject(&f, "PT_LOAD");

	build(&f, 18, 8);
	phdr(&f, 0)->p_paddr = UINT64_MAX - 0x10; /* wraps */
	expect_reject(&f, "PT_LOAD");

	build(&f, 18, 8);
	phdr(&f, 0)->p_type = PT_NULL;
	expect_reject(&f, "no loadable segments");

	build(&f, 18, 8);
	phdr(&f, 0)->p_paddr = 0x2000000; /* entry no longer inside */
	expect_reject(&f, "outside its segments");

	build(&f, 18, 8);
	((Elf64_Nhdr *)(f.buf + NOTE_OFF))->n_descsz = 0x7fffffff; /* huge note */
	expect_reject(&f, "PVH entry note");

	build(&f, 18, 8);
	f.len = 40; /* truncated header */
	expect_reject(&f, "not an ELF file");

	memset(f.buf, 0, sizeof(f.buf));
	f.len = sizeof(f.buf);
	expect_reject(&f, "not an ELF file");
}

/*
 * A segment of the kernel cache's file is read into guest RAM (pread):
 * the bytes land exactly, guest RAM stays its own anonymous memory (no
 * 4 KiB file pages under the guest's kernel), and a guest write changes
 * only guest RAM.  A file that ends early is made up from the image.
 */
TEST(segment_read_from_cache)
{
	const size_t page = (size_t)getpagesize(), flen = 8 * page;
	struct kernel_blob b = { 0 };
	char dir[256], path[300];
	uint8_t *file, *ram, *dst;
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_offset = page + 0x123,
			  .p_filesz = 3 * page + 0x456 };
	size_t i;
	int fd;

	REQUIRE(tmp_dir_make(dir, sizeof(dir), "pvhseg"));
	snprintf(path, sizeof(path), "%s/vmlinux-test", dir);
	file = malloc(flen);
	for (i = 0; i < flen; i++)
		file[i] = (uint8_t)(i * 7 + i / 251);
	REQUIRE(file_put(path, file, flen, 0644) == 0);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	b.data = mmap(NULL, flen, PROT_READ, MAP_PRIVATE, fd, 0);
	REQUIRE(b.data != MAP_FAILED);
	b.len = flen;
	b.has_fd = true;
	b.fd = fd;
	ram = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ram != MAP_FAILED);

	dst = ram + 2 * page + 0x10;
	pvh_load_segment(&b, b.data, &ph, dst);
	CHECK(!memcmp(dst, file + ph.p_offset, ph.p_filesz));
	dst[page] ^= 0xff; /* the guest writes: the file is untouched */
	CHECK_EQ(b.data[ph.p_offset + page], file[ph.p_offset + page]);

	/* Without the file: copied from the image. */
	b.has_fd = false;
	dst = ram + 8 * page + 0x123;
	pvh_load_segment(&b, b.data, &ph, dst);
	CHECK(!memcmp(dst, file + ph.p_offset, ph.p_filesz));

	/* A file shorter than the image says: the rest from the image. */
	b.has_fd = true;
	REQUIRE(truncate(path, (off_t)(ph.p_offset + page)) == 0);
	memset(ram + 12 * page, 0, 4 * page);
	dst = ram + 12 * page;
	ph.p_filesz = 2 * page;
	pvh_load_segment(&b, file, &ph, dst);
	CHECK(!memcmp(dst, file + ph.p_offset, ph.p_filesz));

	munmap(ram, 16 * page);
	kernel_blob_release(&b);
	free(file);
	tmp_dir_remove(dir);
}

/*
 * pvh_load()'s segments come from an image that may be the kernel cache's
 * file, mapped: headers changed since pvh_parse() (another process
 * rewriting the file in place) are refused, never followed past the image
 * or a segment's end.
 */
TEST(load_rechecks_headers)
{
	struct vm_config cfg = { .kernel_path = "vmlinux-test" };
	struct vm *vm = calloc(1, sizeof(*vm));
	struct fake_elf f;
	char why[160] = "";

	REQUIRE(vm);
	vm->cfg = &cfg;
	REQUIRE(guest_memory_alloc(&vm->mem, 32ULL << 20) == 0);
	vm->mem.regions[0] = (struct mem_region){ .gpa = 0, .size = 32ULL << 20,
						  .hva = vm->mem.base };
	vm->mem.nr_regions = 1;
	build(&f, 18, 8);
	REQUIRE(pvh_parse(f.buf, f.len, &vm->arch.pvh, why, sizeof(why)) == 0);
	CHECK_EQ(pvh_load_segments(vm, f.buf, f.len), 0);
	CHECK(!memcmp(vm->mem.base + LOAD_PADDR, f.buf + 0x300, LOAD_FILESZ));

	phdr(&f, 0)->p_filesz = LOAD_MEMSZ + 0x1000; /* > memsz: memset wraps */
	CHECK_EQ(pvh_load_segments(vm, f.buf, f.len), -EINVAL);
	build(&f, 18, 8);
	phdr(&f, 0)->p_offset = 1ULL << 40; /* past the image */
	CHECK_EQ(pvh_load_segments(vm, f.buf, f.len), -EINVAL);
	build(&f, 18, 8);
	((Elf64_Ehdr *)f.buf)->e_phnum = 0xffff; /* table past the image */
	CHECK_EQ(pvh_load_segments(vm, f.buf, f.len), -EINVAL);
	build(&f, 18, 8);
	phdr(&f, 0)->p_paddr = 0x1000; /* below what was checked */
	CHECK_EQ(pvh_load_segments(vm, f.buf, f.len), -EINVAL);
	build(&f, 18, 8);
	phdr(&f, 0)->p_memsz = 16ULL << 20; /* past what was checked */
	CHECK_EQ(pvh_load_segments(vm, f.buf, f.len), -EINVAL);

	guest_memory_free(&vm->mem);
	free(vm);
}

int main(void)
{
	RUN(valid_vmlinux);
	RUN(rejects);
	RUN(segment_read_from_cache);
	RUN(load_rechecks_headers);
	return test_summary();
}
