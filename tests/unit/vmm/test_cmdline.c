// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel command line (vmm/cmdline.c): kvmtool's default root for a
 * disk boot, "root=/dev/vda rw", among lkvm's defaults and before the -p
 * parameters, and only when the user's parameters set no root=.
 */
#include <stdlib.h>
#include <string.h>

#include "lkvm/config.h"
#include "lkvm/vm.h"
#include "test.h"

#define ARCH "console=ttyS0 panic=1"

static struct disk_config disks[2];

/* A configuration with @nr_disks image disks and -p @params. */
static void config(struct vm_config *c, unsigned int nr_disks,
		   const char *params)
{
	memset(c, 0, sizeof(*c));
	memset(disks, 0, sizeof(disks));
	disks[0].path = "rootfs.img";
	disks[1].path = "data.img";
	c->disks = disks;
	c->nr_disks = nr_disks;
	c->params = params;
}

/* vm_cmdline_init()'s command line for @c (freed by the next call; the
 * last one stays reachable). */
static const char *cmdline(const struct vm_config *c)
{
	static struct vm vm;

	free(vm.cmdline);
	memset(&vm, 0, sizeof(vm));
	if (!CHECK_EQ(vm_cmdline_init(&vm, ARCH, c), 0))
		return NULL;
	return vm.cmdline;
}

TEST(disk_boot_gets_root)
{
	struct vm_config c;

	/* The Debian rootfs case: -d rootfs.img and no root= in -p. */
	config(&c, 1, NULL);
	CHECK_STREQ(vm_default_root(&c), "root=/dev/vda rw");
	CHECK_STREQ(cmdline(&c), ARCH " root=/dev/vda rw");
	/* Before the user's parameters, which may override "rw" and
	 * may end in arguments for init. */
	config(&c, 2, "ro quiet -- init-arg");
	CHECK_STREQ(cmdline(&c), ARCH " root=/dev/vda rw ro quiet -- init-arg");
	/* With an initrd too (kvmtool's rule: a Debian initramfs mounts
	 * what root= says). */
	config(&c, 1, "quiet");
	c.initrd_path = "initrd.img";
	CHECK_STREQ(cmdline(&c), ARCH " root=/dev/vda rw quiet");
	/* A read-only first disk is mounted read-only; only the first
	 * counts (it is /dev/vda). */
	config(&c, 2, NULL);
	disks[0].readonly = true;
	CHECK_STREQ(vm_default_root(&c), "root=/dev/vda ro");
	config(&c, 2, NULL);
	disks[1].readonly = true;
	CHECK_STREQ(vm_default_root(&c), "root=/dev/vda rw");
}

TEST(no_disk_no_root)
{
	struct vm_config c;

	config(&c, 0, NULL);
	CHECK_NULL(vm_default_root(&c));
	CHECK_STREQ(cmdline(&c), ARCH);
	config(&c, 0, "quiet");
	c.initrd_path = "initrd.img";
	CHECK_NULL(vm_default_root(&c));
	CHECK_STREQ(cmdline(&c), ARCH " quiet");
	/* lkvm's own initramfs (the 9p root, image disks beside it) mounts
	 * its root itself. */
	config(&c, 1, NULL);
	c.initrd_what = "lkvm's initramfs";
	CHECK_NULL(vm_default_root(&c));
	CHECK_STREQ(cmdline(&c), ARCH);
}

/* The user's root= wins, wherever it is and however it is quoted. */
TEST(user_root_wins)
{
	static const char *const sets_root[] = {
		"root=/dev/vdb",
		"quiet root=PARTUUID=1234-01 ro",
		"console=hvc0\troot=/dev/vdb2",
		"\"root=/dev/vdb\"",
		"foo=\"a b\" root=/dev/sda1",
		"root=",
		/* sandbox_prepare() with the user's initrd: the 9p root. */
		"root=/dev/root rootfstype=9p rootflags=trans=virtio rw",
	};
	static const char *const no_root[] = {
		"",
		"quiet",
		"nfsroot=10.0.0.1:/srv",
		"rootfstype=ext4 rootwait",
		"lkvmroot=x root",
		"foo=\"x root=/dev/vdb\"",
		/* After "--": init's arguments, not the kernel's. */
		"quiet -- root=/dev/vdb",
		"-- root=/dev/vdb",
	};
	struct vm_config c;
	unsigned int i;

	for (i = 0; i < sizeof(sets_root) / sizeof(sets_root[0]); i++) {
		config(&c, 1, sets_root[i]);
		if (!CHECK_NULL(vm_default_root(&c)))
			printf("  -p '%s'\n", sets_root[i]);
	}
	config(&c, 1, "quiet root=/dev/vdb");
	CHECK_STREQ(cmdline(&c), ARCH " quiet root=/dev/vdb");
	for (i = 0; i < sizeof(no_root) / sizeof(no_root[0]); i++) {
		config(&c, 1, no_root[i]);
		if (!CHECK_STREQ(vm_default_root(&c), "root=/dev/vda rw"))
			printf("  -p '%s'\n", no_root[i]);
	}
	config(&c, 1, "quiet -- root=/dev/vdb");
	CHECK_STREQ(cmdline(&c), ARCH " root=/dev/vda rw quiet -- root=/dev/vdb");
}

/* What devices add later goes after the root, still before -p. */
TEST(devices_after_root)
{
	struct vm_config c;
	struct vm vm;

	config(&c, 1, "quiet -- x");
	memset(&vm, 0, sizeof(vm));
	REQUIRE(vm_cmdline_init(&vm, ARCH, &c) == 0);
	CHECK_EQ(vm_cmdline_add(&vm, "virtio_mmio.device=0x200@0xd0000000:5"), 0);
	CHECK_STREQ(vm.cmdline, ARCH " root=/dev/vda rw "
		    "virtio_mmio.device=0x200@0xd0000000:5 quiet -- x");
	CHECK_EQ(vm.cmdline_defaults_len,
		 strlen(ARCH " root=/dev/vda rw virtio_mmio.device=0x200@0xd0000000:5"));
	free(vm.cmdline);
}

int main(void)
{
	RUN(disk_boot_gets_root);
	RUN(no_disk_no_root);
	RUN(user_root_wins);
	RUN(devices_after_root);
	return test_summary();
}
