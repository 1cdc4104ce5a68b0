// SPDX-License-Identifier: GPL-2.0
/*
 * Booting a bzImage through PVH: decompress its payload (vmlinux.bin, the
 * kernel's ELF, perhaps followed by relocation data) on the host and, when
 * that ELF has a PVH entry note, boot it as a vmlinux.  This skips the
 * guest's own decompressor, which costs seconds under nested emulation.
 * The result is cached on disk (vmm/kernel-cache.c) so the next boot of
 * the same image only maps a file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "lkvm/decompress.h"
#include "lkvm/kernel-cache.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

/* Boot protocol 2.08 fields, relative to the protected-mode code. */
#define PAYLOAD_OFFSET_FIELD 0x248
#define PAYLOAD_LENGTH_FIELD 0x24c

/* Checks a decompressed (or cached) vmlinux: 0 when it boots through PVH. */
static int check_vmlinux(const struct kernel_blob *b, struct pvh_info *pvh,
			 char *why, size_t why_len)
{
	return pvh_parse(b->data, b->len, pvh, why, why_len);
}

int bzimage_unpack(const char *path, const uint8_t *img, size_t len,
		   const struct bzimage_info *bz, struct kernel_blob *out,
		   struct pvh_info *pvh, char *how, size_t how_len)
{
	const uint8_t *payload;
	uint32_t off, plen, size;
	enum decomp_format f;
	struct kcache_entry ce;
	bool cached;
	char why[160];
	int err;

	memset(out, 0, sizeof(*out));
	snprintf(how, how_len, "not unpacked");
	if (len < PAYLOAD_LENGTH_FIELD + 4)
		return 0;
	off = get_le32(img + PAYLOAD_OFFSET_FIELD);
	plen = get_le32(img + PAYLOAD_LENGTH_FIELD);
	if (bz->version >= 0x0208 && plen && off <= len - bz->setup_size &&
	    plen > len - bz->setup_size - off) {
		/* The guest's decompressor would read past the image too. */
		pr_err("kernel '%s' is truncated (its payload runs %llu bytes past the end of the file)",
		       path, (unsigned long long)plen - (len - bz->setup_size - off));
		return -EINVAL;
	}
	if (bz->version < 0x0208 || plen < 8 || off > len - bz->setup_size) {
		pr_debug("kernel '%s': no payload in its setup header; booting the bzImage",
			 path);
		return 0;
	}
	payload = img + bz->setup_size + off;
	f = decomp_detect(payload, plen);
	/*
	 * Linux's build appends the payload's uncompressed size (32-bit,
	 * little-endian) to every format; gzip's own trailer ends with it.
	 * It bounds the output exactly, with a fixed ceiling too: KERNEL_IMAGE_SIZE
	 * is at most 1 GiB, and no real vmlinux.bin comes near 512 MiB.
	 */
	size = get_le32(payload + plen - 4);
	if (f != DECOMP_GZIP)
		plen -= 4;
	if (f == DECOMP_UNKNOWN || f == DECOMP_LZO || f == DECOMP_LZ4F) {
		pr_debug("kernel '%s': its payload is %s, which lkvm does not decompress on the host; booting the bzImage",
			 path, decomp_name(f));
		return 0;
	}
	if (!size || size > BZIMAGE_UNPACK_MAX) {
		pr_debug("kernel '%s': its %s payload claims to unpack to %u bytes (lkvm unpacks up to %u); booting the bzImage",
			 path, decomp_name(f), size, BZIMAGE_UNPACK_MAX);
		return 0;
	}

	cached = kcache_entry_for(img, len, &ce);
	if (cached && !kcache_open(&ce, size, out)) {
		if (!check_vmlinux(out, pvh, why, sizeof(why))) {
			snprintf(how, how_len, "%s, cache hit", decomp_name(f));
			return 1;
		}
		/* Never trusted blindly: a bad entry is rewritten below. */
		pr_debug("kernel cache: %s/%s %s; discarded", ce.dir, ce.name, why);
		kernel_blob_release(out);
		kcache_discard(&ce);
	}

	err = decompress(f, payload, plen, size, out, why, sizeof(why));
	if (err == -ENOTSUP || err == -ENOMEM) {
		pr_debug("kernel '%s': cannot decompress its %s payload on the host (%s); booting the bzImage",
			 path, decomp_name(f), why);
		return 0;
	}
	if (err) {
		/* The guest's decompressor would fail on it as well. */
		pr_err("kernel '%s': its %s payload is corrupt (%s)", path,
		       decomp_name(f), why);
		return -EINVAL;
	}
	if (check_vmlinux(out, pvh, why, sizeof(why))) {
		pr_debug("kernel '%s': its decompressed payload %s; booting the bzImage",
			 path, why);
		kernel_blob_release(out);
		return 0;
	}
	if (cached)
		cached = !kcache_store(&ce, out->data, out->len);
	snprintf(how, how_len, "%s, %s", decomp_name(f),
		 cached ? "cache miss, now cached" : "not cached");
	return 1;
}

static void release_unpacked(void *opaque)
{
	kernel_blob_release(opaque);
}

int x86_unpack_bzimage(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	char how[80];
	int ret;

	ret = bzimage_unpack(vm->cfg->kernel_path, vm->kernel_image,
			     vm->kernel_size, &a->kernel, &a->unpacked,
			     &a->pvh, how, sizeof(how));
	if (ret <= 0)
		return ret;
	if (vm_add_cleanup(vm, release_unpacked, &a->unpacked))
		return -ENOMEM;
	a->kind = X86_KERNEL_PVH;
	pr_debug("kernel: booting its PVH entry, payload decompressed on the host (%s)",
		 how);
	return 0;
}
