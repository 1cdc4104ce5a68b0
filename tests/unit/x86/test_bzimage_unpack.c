// SPDX-License-Identifier: GPL-2.0
/*
 * A bzImage's payload unpacked on the host (x86/bzimage-unpack.c) and the
 * cache behind it (vmm/kernel-cache.c): fake bzImages whose payload, a small
 * vmlinux with a PVH note (followed by relocation data, as Linux's
 * vmlinux.bin is), is compressed at test time by the tools a kernel build
 * uses.  XDG_CACHE_HOME points into a private directory.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "compress_tool.h"
#include "host_files.h"
#include "lkvm/arch-hooks.h"
#include "lkvm/config.h"
#include "lkvm/kernel-cache.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"
#include "test.h"

#define LOAD_PADDR 0x1000000ULL
#define LOAD_OFF 0x1000
#define LOAD_FILESZ (64u << 10)
#define LOAD_MEMSZ (LOAD_FILESZ + 0x3000)
#define NOTE_OFF 0x200
#define ENTRY (LOAD_PADDR + 0x40)
#define RELOCS 0x400 /* trailing bytes after the ELF's last segment */
#define VMLINUX_LEN (LOAD_OFF + LOAD_FILESZ + RELOCS)

static char cache_root[256];
/* Room for a kcache_entry's dir, "/" and name. */
#define PATH_CAP (sizeof(((struct kcache_entry *)0)->dir) + 80)

/* An x86-64 vmlinux: one PT_LOAD, a PT_NOTE with Xen's PHYS32_ENTRY
 * (@note_type 18) or another note. */
static uint8_t *fake_vmlinux(uint32_t note_type)
{
	uint8_t *f = calloc(1, VMLINUX_LEN);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
	Elf64_Phdr *ph = (Elf64_Phdr *)(f + sizeof(*eh));
	Elf64_Nhdr *n = (Elf64_Nhdr *)(f + NOTE_OFF);
	uint64_t entry = ENTRY;
	size_t i;

	if (!f)
		return NULL;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = LOAD_OFF,
			      .p_paddr = LOAD_PADDR, .p_filesz = LOAD_FILESZ,
			      .p_memsz = LOAD_MEMSZ };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = NOTE_OFF,
			      .p_filesz = sizeof(*n) + 4 + 8 };
	n->n_namesz = 4;
	n->n_descsz = 8;
	n->n_type = note_type;
	memcpy(n + 1, "Xen", 4);
	memcpy((uint8_t *)(n + 1) + 4, &entry, 8);
	for (i = LOAD_OFF; i < VMLINUX_LEN; i++)
		f[i] = (uint8_t)(i * 7 + (i >> 9));
	return f;
}

struct fake_bz {
	uint8_t *img;
	size_t len;
	struct bzimage_info info;
	size_t payload_at, payload_len; /* in img */
};

#define SETUP_SIZE 1024 /* setup_sects = 1 */
#define PAYLOAD_OFF 0x80  /* from the protected-mode code */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A bzImage whose payload is @payload (already with Linux's size field). */
static bool fake_bzimage_raw(struct fake_bz *bz, const uint8_t *payload,
			     size_t plen)
{
	char why[160];

	bz->len = SETUP_SIZE + PAYLOAD_OFF + plen + 0x100;
	bz->img = calloc(1, bz->len);
	if (!bz->img)
		return false;
	bz->img[0x1f1] = 1;              /* setup_sects */
	bz->img[0x201] = 0x66;           /* jump: header end */
	put32(bz->img + 0x202, 0x53726448); /* "HdrS" */
	bz->img[0x206] = 0x0f;           /* protocol 2.15 */
	bz->img[0x207] = 0x02;
	bz->img[0x236] = 1;              /* XLF_KERNEL_64 */
	put32(bz->img + 0x248, PAYLOAD_OFF);
	put32(bz->img + 0x24c, (uint32_t)plen);
	put32(bz->img + 0x260, 32u << 20); /* init_size */
	bz->payload_at = SETUP_SIZE + PAYLOAD_OFF;
	bz->payload_len = plen;
	memcpy(bz->img + bz->payload_at, payload, plen);
	return bzimage_parse(bz->img, bz->len, &bz->info, why, sizeof(why)) == 0;
}

/* @raw (@len bytes) compressed in format @f, as Linux's build lays it out:
 * the stream, then (but for gzip, whose trailer has it) the 32-bit size. */
static bool fake_bzimage(struct fake_bz *bz, enum decomp_format f,
			 const uint8_t *raw, size_t len)
{
	size_t clen;
	uint8_t *c = compress_with_tool(f, raw, len, &clen), *p;
	bool ok;

	if (!c)
		return false;
	p = realloc(c, clen + 4);
	if (!p) {
		free(c);
		return false;
	}
	if (f != DECOMP_GZIP) {
		put32(p + clen, (uint32_t)len);
		clen += 4;
	}
	ok = fake_bzimage_raw(bz, p, clen);
	free(p);
	return ok;
}

static void fake_free(struct fake_bz *bz)
{
	free(bz->img);
	bz->img = NULL;
}

struct result {
	int ret;
	struct kernel_blob blob;
	struct pvh_info pvh;
	char how[80];
	struct capture cap;
	const char *err;
};

static int unpack(struct fake_bz *bz, struct result *r)
{
	memset(r, 0, sizeof(*r));
	capture_start(&r->cap);
	r->ret = bzimage_unpack("bz", bz->img, bz->len, &bz->info, &r->blob,
				&r->pvh, r->how, sizeof(r->how));
	r->err = capture_end(&r->cap);
	return r->ret;
}

static void cache_path(const struct fake_bz *bz, char *buf, size_t cap)
{
	struct kcache_entry e;

	kcache_entry_for(bz->img, bz->len, &e);
	snprintf(buf, cap, "%s/%s", e.dir, e.name);
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void fresh_cache(void)
{
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/xdg", cache_root);
	tmp_dir_remove(dir);
	setenv("XDG_CACHE_HOME", dir, 1);
}

TEST(every_format_boots_pvh_then_hits_the_cache)
{
	static const enum decomp_format formats[] = {
		DECOMP_GZIP, DECOMP_XZ, DECOMP_LZMA, DECOMP_ZSTD, DECOMP_LZ4,
		DECOMP_BZIP2,
	};
	uint8_t *vm = fake_vmlinux(18);
	size_t i;

	REQUIRE(vm);
	fresh_cache();
	for (i = 0; i < ARRAY_SIZE(formats); i++) {
		struct fake_bz bz;
		struct result r;
		char path[PATH_CAP];

		if (!CHECK(fake_bzimage(&bz, formats[i], vm, VMLINUX_LEN)))
			continue;
		CHECK_EQ(unpack(&bz, &r), 1);
		CHECK_CONTAINS(r.how, decomp_name(formats[i]));
		CHECK_CONTAINS(r.how, "cache miss");
		CHECK_EQ(r.pvh.entry, ENTRY);
		CHECK_EQ(r.blob.len, VMLINUX_LEN);
		CHECK(r.blob.data && !memcmp(r.blob.data, vm, VMLINUX_LEN));
		kernel_blob_release(&r.blob);
		cache_path(&bz, path, sizeof(path));
		CHECK(exists(path));

		CHECK_EQ(unpack(&bz, &r), 1);
		CHECK_CONTAINS(r.how, "cache hit");
		CHECK(r.blob.data && !memcmp(r.blob.data, vm, VMLINUX_LEN));
		CHECK_EQ(r.pvh.entry, ENTRY);
		kernel_blob_release(&r.blob);
		fake_free(&bz);
	}
	free(vm);
}

/* Only the KCACHE_MAX_ENTRIES most recently used entries stay. */
TEST(cache_is_bounded)
{
	uint8_t *vm = fake_vmlinux(18);
	char first[PATH_CAP], path[PATH_CAP];
	struct fake_bz bz;
	struct result r;
	unsigned int i, n = 0;

	REQUIRE(vm);
	fresh_cache();
	for (i = 0; i < KCACHE_MAX_ENTRIES + 2; i++) {
		vm[LOAD_OFF] = (uint8_t)i; /* each a different kernel */
		if (!CHECK(fake_bzimage(&bz, DECOMP_GZIP, vm, VMLINUX_LEN)))
			break;
		CHECK_EQ(unpack(&bz, &r), 1);
		kernel_blob_release(&r.blob);
		cache_path(&bz, path, sizeof(path));
		if (!i)
			snprintf(first, sizeof(first), "%s", path);
		CHECK(exists(path));
		fake_free(&bz);
		usleep(10000); /* distinct mtimes */
	}
	CHECK(!exists(first));
	{
		char dir[300];
		DIR *d;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "%s/xdg/lkvm", cache_root);
		d = opendir(dir);
		REQUIRE(d);
		while ((de = readdir(d)))
			n += !strncmp(de->d_name, "vmlinux-", 8);
		closedir(d);
	}
	CHECK_EQ(n, KCACHE_MAX_ENTRIES);
	free(vm);
}

/* Different bytes anywhere in the image: a new entry; the old one stays
 * for the old image but is not used for the new. */
TEST(changed_image_is_a_new_entry)
{
	uint8_t *vm = fake_vmlinux(18);
	char old_path[PATH_CAP], new_path[PATH_CAP];
	struct fake_bz bz;
	struct result r;

	REQUIRE(vm);
	fresh_cache();
	REQUIRE(fake_bzimage(&bz, DECOMP_XZ, vm, VMLINUX_LEN));
	CHECK_EQ(unpack(&bz, &r), 1);
	kernel_blob_release(&r.blob);
	cache_path(&bz, old_path, sizeof(old_path));
	bz.img[bz.len - 1] ^= 1; /* outside the payload: still a new image */
	cache_path(&bz, new_path, sizeof(new_path));
	CHECK(strcmp(old_path, new_path));
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache miss");
	kernel_blob_release(&r.blob);
	CHECK(exists(old_path));
	CHECK(exists(new_path));
	fake_free(&bz);
	free(vm);
}

/* A cache entry that does not check out is rewritten, never used. */
TEST(bad_cache_entry_is_regenerated)
{
	uint8_t *vm = fake_vmlinux(18), *junk = calloc(1, VMLINUX_LEN);
	char path[PATH_CAP];
	struct fake_bz bz;
	struct result r;

	REQUIRE(vm && junk);
	fresh_cache();
	lkvm_debug_enabled = true;
	REQUIRE(fake_bzimage(&bz, DECOMP_ZSTD, vm, VMLINUX_LEN));
	CHECK_EQ(unpack(&bz, &r), 1);
	kernel_blob_release(&r.blob);
	cache_path(&bz, path, sizeof(path));

	/* Same size, not an ELF. */
	CHECK_EQ(file_put(path, junk, VMLINUX_LEN, 0644), 0);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache miss");
	CHECK_CONTAINS(r.err, "discarded");
	CHECK(r.blob.data && !memcmp(r.blob.data, vm, VMLINUX_LEN));
	kernel_blob_release(&r.blob);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache hit");
	kernel_blob_release(&r.blob);

	/* Truncated (the ELF header and notes intact). */
	CHECK_EQ(truncate(path, VMLINUX_LEN / 2), 0);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache miss");
	CHECK(r.blob.data && !memcmp(r.blob.data, vm, VMLINUX_LEN));
	kernel_blob_release(&r.blob);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache hit");
	kernel_blob_release(&r.blob);
	lkvm_debug_enabled = false;
	fake_free(&bz);
	free(junk);
	free(vm);
}

/* No usable cache directory: decompressed into memory every time. */
TEST(unusable_cache_dir_falls_back_to_memory)
{
	uint8_t *vm = fake_vmlinux(18);
	char file[300], *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	struct fake_bz bz;
	struct result r;

	REQUIRE(vm);
	REQUIRE(fake_bzimage(&bz, DECOMP_GZIP, vm, VMLINUX_LEN));
	/* XDG_CACHE_HOME is a file: the directory cannot be made. */
	snprintf(file, sizeof(file), "%s/not-a-dir", cache_root);
	CHECK_EQ(file_put(file, "x", 1, 0644), 0);
	setenv("XDG_CACHE_HOME", file, 1);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "not cached");
	CHECK_STREQ(r.err, "");
	CHECK(r.blob.data && !memcmp(r.blob.data, vm, VMLINUX_LEN));
	kernel_blob_release(&r.blob);
	/* Neither XDG_CACHE_HOME nor HOME. */
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "not cached");
	kernel_blob_release(&r.blob);
	if (home)
		setenv("HOME", home, 1);
	free(home);
	fake_free(&bz);
	free(vm);
}

/*
 * A cache directory or entry someone else could have written (another
 * user's, group- or world-writable, a symlink) would let them choose the
 * kernel: not used, the payload decompressed into memory instead.
 */
TEST(foreign_cache_dir_is_not_used)
{
	uint8_t *vm = fake_vmlinux(18);
	char xdg[300], lk[320], other[300], path[PATH_CAP];
	struct fake_bz bz;
	struct result r;

	REQUIRE(vm);
	REQUIRE(fake_bzimage(&bz, DECOMP_GZIP, vm, VMLINUX_LEN));
	fresh_cache();
	snprintf(xdg, sizeof(xdg), "%s/xdg", cache_root);
	snprintf(lk, sizeof(lk), "%s/lkvm", xdg);
	REQUIRE(mkdir(xdg, 0700) == 0 && mkdir(lk, 0700) == 0);
	/* World-writable (someone made it for everyone). */
	REQUIRE(chmod(lk, 0777) == 0);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "not cached");
	kernel_blob_release(&r.blob);
	/* A symlink to a directory elsewhere. */
	REQUIRE(rmdir(lk) == 0);
	snprintf(other, sizeof(other), "%s/elsewhere", cache_root);
	tmp_dir_remove(other);
	REQUIRE(mkdir(other, 0700) == 0 && symlink(other, lk) == 0);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "not cached");
	kernel_blob_release(&r.blob);
	REQUIRE(unlink(lk) == 0);
	/* Another user's entry in our directory: replaced, not booted. */
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "now cached");
	kernel_blob_release(&r.blob);
	cache_path(&bz, path, sizeof(path));
	REQUIRE(chmod(path, 0666) == 0);
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache miss");
	kernel_blob_release(&r.blob);
	if (geteuid() == 0) {
		REQUIRE(chown(path, 65534, 65534) == 0);
		CHECK_EQ(unpack(&bz, &r), 1);
		CHECK_CONTAINS(r.how, "cache miss");
		kernel_blob_release(&r.blob);
	}
	CHECK_EQ(unpack(&bz, &r), 1);
	CHECK_CONTAINS(r.how, "cache hit");
	kernel_blob_release(&r.blob);
	tmp_dir_remove(other);
	fake_free(&bz);
	free(vm);
}

/* The guest's decompressor would fail too: one error line, no crash. */
TEST(corrupt_payload_is_an_error)
{
	uint8_t *vm = fake_vmlinux(18);
	struct fake_bz bz;
	struct result r;
	size_t k;

	REQUIRE(vm);
	fresh_cache();
	REQUIRE(fake_bzimage(&bz, DECOMP_XZ, vm, VMLINUX_LEN));
	for (k = bz.payload_at + 40; k < bz.payload_at + 80; k++)
		bz.img[k] ^= 0xa5;
	CHECK_EQ(unpack(&bz, &r), -EINVAL);
	CHECK_CONTAINS(r.err, "kernel 'bz': its xz payload is corrupt (");
	CHECK_EQ(count_lines(r.err), 1);
	CHECK_NULL(r.blob.data);
	fake_free(&bz);

	/* The file cut inside the payload. */
	REQUIRE(fake_bzimage(&bz, DECOMP_GZIP, vm, VMLINUX_LEN));
	bz.len = bz.payload_at + bz.payload_len - 10;
	CHECK_EQ(unpack(&bz, &r), -EINVAL);
	CHECK_STREQ(r.err, "lkvm: error: kernel 'bz' is truncated (its payload runs 10 bytes past the end of the file)\n");
	fake_free(&bz);

	/* Truncated: half the stream, then the size field. */
	{
		size_t clen;
		uint8_t *c = compress_with_tool(DECOMP_BZIP2, vm, VMLINUX_LEN, &clen);

		REQUIRE(c);
		put32(c + clen / 2, VMLINUX_LEN);
		REQUIRE(fake_bzimage_raw(&bz, c, clen / 2 + 4));
		free(c);
		CHECK_EQ(unpack(&bz, &r), -EINVAL);
		CHECK_CONTAINS(r.err, "its bzip2 payload is corrupt (truncated)");
		CHECK_EQ(count_lines(r.err), 1);
		fake_free(&bz);
	}
	free(vm);
}

/* What the host cannot or need not unpack boots the bzImage as it is. */
TEST(falls_back_to_the_bzimage)
{
	uint8_t *vm = fake_vmlinux(17); /* another note: no PVH entry */
	static const uint8_t lzo[16] = { 0x89, 'L', 'Z', 'O', 0, 1, 2, 3 };
	static const uint8_t lz4f[16] = { 0x04, 0x22, 0x4d, 0x18, 0x64 };
	uint8_t huge[16] = { 0x1f, 0x8b, 8 };
	struct fake_bz bz;
	struct result r;

	REQUIRE(vm);
	fresh_cache();
	lkvm_debug_enabled = true;
	REQUIRE(fake_bzimage(&bz, DECOMP_GZIP, vm, VMLINUX_LEN));
	CHECK_EQ(unpack(&bz, &r), 0);
	CHECK_CONTAINS(r.err, "without a PVH entry note");
	CHECK_CONTAINS(r.err, "booting the bzImage");
	CHECK_NULL(r.blob.data);
	fake_free(&bz);

	/* Not an ELF at all. */
	memset(vm, 0x33, 64);
	REQUIRE(fake_bzimage(&bz, DECOMP_LZ4, vm, VMLINUX_LEN));
	CHECK_EQ(unpack(&bz, &r), 0);
	CHECK_CONTAINS(r.err, "not an ELF");
	fake_free(&bz);

	REQUIRE(fake_bzimage_raw(&bz, lzo, sizeof(lzo)));
	CHECK_EQ(unpack(&bz, &r), 0);
	CHECK_CONTAINS(r.err, "payload is lzo, which lkvm does not decompress");
	fake_free(&bz);
	REQUIRE(fake_bzimage_raw(&bz, lz4f, sizeof(lz4f)));
	CHECK_EQ(unpack(&bz, &r), 0);
	CHECK_CONTAINS(r.err, "lz4 (frame format)");
	fake_free(&bz);

	/* A size field past the 512 MiB lkvm unpacks. */
	put32(huge + sizeof(huge) - 4, BZIMAGE_UNPACK_MAX + 1);
	REQUIRE(fake_bzimage_raw(&bz, huge, sizeof(huge)));
	CHECK_EQ(unpack(&bz, &r), 0);
	CHECK_CONTAINS(r.err, "claims to unpack to");
	/* No payload in the header (payload_length 0). */
	put32(bz.img + 0x24c, 0);
	CHECK_EQ(unpack(&bz, &r), 0);
	CHECK_CONTAINS(r.err, "no payload");
	fake_free(&bz);
	lkvm_debug_enabled = false;
	free(vm);
}

/* Overrides tests/unit/lib/stubs.c's: the VM's cleanups, run by hand. */
static void (*cleanup_fn)(void *);
static void *cleanup_opaque;
int vm_add_cleanup(struct vm *vm, void (*fn)(void *), void *opaque)
{
	(void)vm;
	cleanup_fn = fn;
	cleanup_opaque = opaque;
	return 0;
}

/* arch_check_kernel(): a bzImage boots through PVH unless --no-pvh, and
 * the unpacked vmlinux is released with the VM. */
TEST(check_kernel_picks_pvh_unless_no_pvh)
{
	uint8_t *vmlinux = fake_vmlinux(18);
	struct vm_config cfg = { .kernel_path = "bz" };
	struct fake_bz bz;
	struct vm vm;

	REQUIRE(vmlinux);
	fresh_cache();
	REQUIRE(fake_bzimage(&bz, DECOMP_XZ, vmlinux, VMLINUX_LEN));
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.kernel_image = bz.img;
	vm.kernel_size = bz.len;
	cleanup_fn = NULL;
	CHECK_EQ(arch_check_kernel(&vm), 0);
	CHECK_EQ(vm.arch.kind, X86_KERNEL_PVH);
	CHECK_EQ(vm.arch.pvh.entry, ENTRY);
	CHECK_EQ(vm.arch.unpacked.len, VMLINUX_LEN);
	REQUIRE(cleanup_fn);
	cleanup_fn(cleanup_opaque);
	CHECK_NULL(vm.arch.unpacked.data);

	memset(&vm.arch, 0, sizeof(vm.arch));
	cfg.no_pvh = true;
	cleanup_fn = NULL;
	CHECK_EQ(arch_check_kernel(&vm), 0);
	CHECK_EQ(vm.arch.kind, X86_KERNEL_BZIMAGE);
	CHECK_NULL(vm.arch.unpacked.data);
	CHECK_NULL(cleanup_fn);
	fake_free(&bz);
	free(vmlinux);
}

int main(void)
{
	if (!tmp_dir_make(cache_root, sizeof(cache_root), "bzunpack"))
		return 1;
	RUN(every_format_boots_pvh_then_hits_the_cache);
	RUN(cache_is_bounded);
	RUN(changed_image_is_a_new_entry);
	RUN(bad_cache_entry_is_regenerated);
	RUN(unusable_cache_dir_falls_back_to_memory);
	RUN(foreign_cache_dir_is_not_used);
	RUN(corrupt_payload_is_an_error);
	RUN(falls_back_to_the_bzimage);
	RUN(check_kernel_picks_pvh_unless_no_pvh);
	tmp_dir_remove(cache_root);
	return test_summary();
}
