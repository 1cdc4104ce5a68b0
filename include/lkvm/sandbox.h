/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_SANDBOX_H
#define LKVM_SANDBOX_H

/*
 * The 9p-root boot (vmm/frontend/sandbox.c): `lkvm sandbox -- CMD`, `lkvm run` with
 * no disk and no initrd, and `lkvm run -d DIR` / `-d NAME` (~/.lkvm/NAME).
 * The guest's root is a host directory shared over 9p; lkvm boots it through
 * an initramfs of its own (include/lkvm/initramfs.h) whose init mounts it,
 * runs the command (or a shell) and reports its exit status back through a
 * private control share.  Also `lkvm setup NAME` and the default kernel.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

struct vm_config;

#define LKVM_DEFAULT_BOOT_DIR "/boot"
#define LKVM_DEFAULT_MODULES_DIR "/lib/modules"
#define LKVM_INSTANCES_DIR ".lkvm"         /* under $HOME */
#define LKVM_DEFAULT_INSTANCE "default"
#define LKVM_CTL_TAG "lkvm-ctl"
#define LKVM_STATUS_FILE "status"          /* in the control share */
#define LKVM_INITRAMFS_WHAT "lkvm's initramfs" /* vm_config.initrd_what */
/* What lkvm's init gives the first user-mode network card: libslirp's
 * addresses for the guest (net/slirp.c; test_sandbox checks they agree). */
#define LKVM_GUEST_USER_ADDR "10.0.2.15/24"
#define LKVM_GUEST_USER_GATEWAY "10.0.2.2"
#define LKVM_GUEST_USER_DNS "10.0.2.3"
/* How lkvm's init mounts a 9p filesystem. */
#define LKVM_9P_MOUNT_OPTS "trans=virtio,version=9p2000.L,msize=524288"

struct sandbox {
	/* Where to look; tests point them at temporary trees. */
	const char *boot_dir;    /* default kernel: BOOT_DIR/vmlinuz-RELEASE */
	const char *modules_dir; /* modules: MODULES_DIR/RELEASE */
	const char *home;        /* NULL: $HOME, else the password database */

	char kernel[PATH_MAX];   /* the default kernel, when no -k was given */
	bool active;             /* a 9p-root boot */
	bool own_init;           /* lkvm's initramfs (no -i from the user) */
	bool is_sandbox;         /* `lkvm sandbox`: the guest runs a command */
	bool hostfs;             /* the root is a setup instance: export / */
	char *root;              /* the guest's root directory (malloc'ed) */
	char *ctl_dir;           /* the control share (malloc'ed; removed) */
	int initrd_fd;           /* the initramfs memfd, or -1 */
	char *params;            /* kernel parameters: lkvm's + the user's */
	bool net_driver;         /* the guest kernel has virtio_net (as a
				  * module or built in): the init configures
				  * the network cards */
	char release[65];        /* the guest kernel's release */
};

void sandbox_init(struct sandbox *sb);
/* Close and remove what sandbox_prepare() made (the control directory). */
void sandbox_free(struct sandbox *sb);

/*
 * No -k: use BOOT_DIR/vmlinuz-$(uname -r), as kvmtool does.  Returns 0, or
 * LKVM_EXIT_USAGE after one line on @err when it does not exist.
 */
int sandbox_default_kernel(struct vm_config *cfg, struct sandbox *sb,
			   FILE *err);
/* The same for a given release (exposed for tests). */
int sandbox_default_kernel_for(const char *boot_dir, const char *release,
			       char *buf, size_t cap, FILE *err);

/*
 * Decide whether @cfg is a 9p-root boot and, if so, prepare it: pick the
 * root (taking a --disk DIR out of cfg->disks), create ~/.lkvm/default on
 * first use, build the initramfs and the control directory, add the exports
 * to cfg->shares and the kernel parameters to cfg->params.
 * cfg->guest_argv is the command (`lkvm sandbox`), or NULL.  Returns 0 or
 * lkvm's exit status after one error line.
 */
int sandbox_prepare(struct vm_config *cfg, struct sandbox *sb);
/* After vm_run() returned @vm_status: lkvm's exit status (the guest
 * command's, when it reported one). */
int sandbox_finish(struct sandbox *sb, int vm_status);

/* --- pieces, exposed for tests --- */

/* $HOME, else the user's home directory from the password database. */
int sandbox_home_dir(const struct sandbox *sb, char *buf, size_t cap);
/* A valid instance NAME: 1-64 of [A-Za-z0-9._-], not starting with '.'. */
bool sandbox_valid_name(const char *name);
/* Create HOME/.lkvm/NAME with the setup layout.  0 or -errno (-EEXIST when
 * it exists), after one error line on @err. */
int sandbox_setup_instance(const char *home, const char *name, FILE *err);
/* `lkvm setup NAME` (argv[0] is "setup"): lkvm's exit status. */
int sandbox_cmd_setup(int argc, char **argv, const struct sandbox *sb,
		      FILE *out, FILE *err);
/* Pick the root: a --disk that is a directory (or names one in
 * HOME/.lkvm), taken out of cfg->disks; NULL @*root when there is none. */
int sandbox_select_root(struct vm_config *cfg, const char *home, char **root,
			bool *readonly);
/* Append the root, hostfs (when @hostfs) and control (when @ctl_dir)
 * exports to cfg->shares. */
int sandbox_add_exports(struct vm_config *cfg, const char *root,
			bool readonly, bool hostfs, const char *ctl_dir);
/* The /lkvm/config text for lkvm's init (malloc'ed; NULL after a line
 * on stderr), with a "net=" line per network card of @cfg when
 * sb->net_driver (guest/init.c configures them). */
char *sandbox_init_config(const struct sandbox *sb,
			  const struct vm_config *cfg, bool stdout_tty,
			  bool stdin_tty, const char *term);
/* The exit status the guest left in @ctl_dir (0-255), or -errno. */
int sandbox_read_status(const char *ctl_dir);

#endif
