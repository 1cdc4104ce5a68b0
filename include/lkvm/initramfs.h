/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_INITRAMFS_H
#define LKVM_INITRAMFS_H

/*
 * The initramfs of a 9p-root boot, built in memory (vmm/frontend/initramfs.c): lkvm's
 * static guest init as /init, the kernel modules the guest needs (read from
 * the kernel's own /lib/modules/RELEASE, decompressed, dependencies first),
 * the command to run and a small key=value configuration for the init.
 *
 *   /init                      guest/init.c (embedded in lkvm)
 *   /dev/console, /dev /proc /sys /newroot
 *   /lkvm/modules/NN-NAME.ko   loaded in NN order
 *   /lkvm/argv                 NUL-terminated arguments (absent: a shell)
 *   /lkvm/config               key=value lines (see guest/init.c)
 *   /lkvm/ctl                  where the init mounts the control share
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_config;

/* guest/init-blob.S */
extern const uint8_t lkvm_guest_init[];
extern const uint8_t lkvm_guest_init_end[];

#define INITRAMFS_MODULE_NAME_MAX 64
#define INITRAMFS_MAX_MODULES 256
#define INITRAMFS_ARGV_MAX (256 * 1024) /* bytes of /lkvm/argv */

/* One module to load, in load order. */
struct initramfs_module {
	char name[INITRAMFS_MODULE_NAME_MAX]; /* '-' spelled '_' */
	char *path;    /* the file (malloc'ed) */
	uint8_t *data; /* its decompressed contents (modules_read()) */
	size_t size;
};

struct module_set {
	struct initramfs_module *mods;
	unsigned int nr;
	/* Optional modules the kernel has neither as a file nor built in
	 * (the caller's strings). */
	const char **missing;
	unsigned int nr_missing;
};

/*
 * The modules a guest with @cfg needs before it can mount its 9p root: the
 * virtio transport's, then, in virtio_device_types[] order, those of every
 * device type @cfg asks for (each type's .modules), 9p's always.  Returns
 * a calloc'ed array of *@nr names (free() it; the names are static), or
 * NULL when out of memory.  Devices lkvm adds unasked (the default NIC,
 * virtio_device_type.implicit) are not in it.
 */
const char **initramfs_wanted_modules(const struct vm_config *cfg,
				      unsigned int *nr);

/*
 * The modules a guest with @cfg can go without, NULL-ended and calloc'ed
 * (free() it; the names are static), or NULL when out of memory: the
 * drivers of the platform devices every guest has (pvpanic), then those
 * of the devices lkvm adds unasked (no -n: virtio_net).  The initramfs
 * loads them when the kernel has them.
 */
const char **initramfs_optional_modules(const struct vm_config *cfg);

/* Whether @name (an optional module) was left out of @set because the
 * kernel has no such module, neither as a file nor built in. */
bool module_set_lacks(const struct module_set *set, const char *name);

/*
 * Resolve @names in @moddir (modules.dep; modules.builtin: built-ins need
 * nothing) into @set: the closure, each module after its dependencies, as
 * modprobe loads them.  Names compare with '-' and '_' equal.  Prints one
 * error line naming what is missing and what to do -- with @initrd_ok
 * (lkvm run) "or give an initrd with -i", otherwise (lkvm sandbox, which
 * takes none) "use -k with a kernel whose modules are installed" -- and
 * returns -errno on failure.
 */
int modules_resolve(const char *moddir, const char *const *names,
		    unsigned int nr, bool initrd_ok, struct module_set *set);
/* The same, then the NULL-ended @optional (may be NULL) after them: one
 * that modules.dep does not list is left out, silently. */
int modules_resolve_with(const char *moddir, const char *const *names,
			 unsigned int nr, const char *const *optional,
			 bool initrd_ok, struct module_set *set);
/* Read every module of @set into memory, decompressing .ko.xz, .ko.zst
 * and .ko.gz.  Prints one error line on failure. */
int modules_read(struct module_set *set);
void modules_free(struct module_set *set);

/* A module file's contents, decompressed when its name says so; 0 or
 * -errno (nothing printed). */
int module_file_read(const char *path, uint8_t **data, size_t *size);

/* Module name of a modules.dep path ("kernel/fs/9p/9p.ko.xz" -> "9p");
 * false when it is not a module file name or too long. */
bool module_name_of(const char *path, char *name, size_t cap);

/* @argv as /lkvm/argv: each argument followed by a NUL.  NULL on no
 * memory or when the result exceeds INITRAMFS_ARGV_MAX. */
char *initramfs_encode_argv(char *const *argv, size_t *len);

struct initramfs_spec {
	const struct module_set *modules;
	char *const *argv;  /* NULL: an interactive shell */
	const char *config; /* /lkvm/config text */
};

/* Write the initramfs (cpio newc) into a new memfd; returns the fd
 * (close-on-exec) or -errno, after printing one error line. */
int initramfs_build(const struct initramfs_spec *spec);

#endif
