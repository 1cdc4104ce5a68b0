// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm's commands and their options, one table each (include/lkvm/cli.h):
 * what `lkvm run`, `lkvm sandbox` and `lkvm setup` accept and what their
 * --help says.  The names are kvmtool's: -k/--kernel, -i/--initrd,
 * -p/--params, -m/--mem, -c/--cpus, -d/--disk, --name, --console, --9p,
 * --virtio-transport, --debug; device types add their own (--rng).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/util.h"
#include "lkvm/vcpu.h"
#include "lkvm/vm.h"

#define STR_(x) #x
#define STR(x) STR_(x) /* a number in a --help text */

/* --- apply functions --- */

static int apply_kernel(struct vm_config *cfg, const struct cli_use *use)
{
	if (cfg->kernel_path)
		return cli_error(use->err, "kernel given twice ('%s' and '%s')",
				 cfg->kernel_path, use->arg);
	return cli_set_path(cfg, use);
}

/* A bare argument is the kernel, as in kvmtool. */
static int run_operand(struct vm_config *cfg, const char *arg, FILE *err)
{
	if (cfg->kernel_path)
		return cli_error(err, "unexpected argument '%s' (kernel already given as '%s')",
				 arg, cfg->kernel_path);
	cfg->kernel_path = arg;
	return 0;
}

static int apply_mem(struct vm_config *cfg, const struct cli_use *use)
{
	const char *val = use->arg, *name = use->name;

	if (parse_size(val, MiB, &cfg->mem_bytes))
		return cli_error(use->err, "invalid memory size '%s' for %s (examples: 512, 512M, 2G)",
				 val, name);
	if (cfg->mem_bytes % 4096)
		return cli_error(use->err, "memory size '%s' for %s is not a multiple of 4 KiB",
				 val, name);
	if (cfg->mem_bytes < LKVM_MIN_MEM_BYTES ||
	    cfg->mem_bytes > LKVM_MAX_MEM_BYTES)
		return cli_error(use->err, "memory size '%s' for %s is out of range (4M to 1T)",
				 val, name);
	cfg->mem_set = true;
	return 0;
}

static int apply_cpus(struct vm_config *cfg, const struct cli_use *use)
{
	if (parse_uint(use->arg, &cfg->nr_cpus) || cfg->nr_cpus < 1 ||
	    cfg->nr_cpus > LKVM_MAX_CPUS)
		return cli_error(use->err, "invalid CPU count '%s' for %s (1 to %u)",
				 use->arg, use->name,
				 (unsigned int)LKVM_MAX_CPUS);
	cfg->cpus_set = true;
	return 0;
}

static int apply_name(struct vm_config *cfg, const struct cli_use *use)
{
	const char *s = use->arg;
	size_t n = strlen(s);
	bool ok = n && n <= LKVM_MAX_NAME;

	for (; ok && *s; s++)
		ok = isalnum((unsigned char)*s) || strchr("-_.", *s);
	if (!ok)
		return cli_error(use->err, "invalid guest name '%s' (1-%d of A-Z a-z 0-9 - _ .)",
				 use->arg, LKVM_MAX_NAME);
	cfg->name = use->arg;
	return 0;
}

/* cli_set_choice() stores these enums as ints. */
_Static_assert(sizeof(enum console_kind) == sizeof(int) &&
	       sizeof(enum virtio_transport_kind) == sizeof(int) &&
	       sizeof(enum irqchip_kind) == sizeof(int), "int-sized enums");

static const struct cli_choices consoles = {
	"unsupported console", "supported: serial, virtio", {
		{ "serial", CONSOLE_SERIAL },
		{ "virtio", CONSOLE_VIRTIO },
		{ NULL, 0 },
	},
};

static const struct cli_choices transports = {
	"unknown virtio transport", "pci, pci-legacy, mmio, mmio-legacy", {
		{ "pci", VIRTIO_TRANSPORT_PCI },
		{ "pci-legacy", VIRTIO_TRANSPORT_PCI_LEGACY },
		{ "mmio", VIRTIO_TRANSPORT_MMIO },
		{ "mmio-legacy", VIRTIO_TRANSPORT_MMIO_LEGACY },
		{ NULL, 0 },
	},
};

static const struct cli_choices irqchips = {
	"unknown interrupt controller", "plic, aia", {
		{ "plic", IRQCHIP_PLIC },
		{ "aia", IRQCHIP_AIA },
		{ NULL, 0 },
	},
};

static int apply_irqchip(struct vm_config *cfg, const struct cli_use *use)
{
	if (!LKVM_ARCH_HAS_IRQCHIP_CHOICE)
		return cli_error(use->err, "%s: %s has one interrupt controller (KVM's); nothing to choose",
				 use->name, LKVM_ARCH_NAME);
	return cli_set_choice(cfg, use);
}

static int apply_dump_dtb(struct vm_config *cfg, const struct cli_use *use)
{
	if (!LKVM_ARCH_HAS_FDT)
		return cli_error(use->err, "%s: %s guests have no device tree",
				 use->name, LKVM_ARCH_NAME);
	return cli_set_path(cfg, use);
}

/* Room for one more of the @n elements of @size at @arr (at most @max):
 * the array, reallocated, or NULL after a usage error. */
static void *grow(void *arr, unsigned int n, size_t size, unsigned int max,
		  const char *what, FILE *err)
{
	void *p;

	if (n >= max) {
		cli_error(err, "too many %s (at most %u)", what, max);
		return NULL;
	}
	p = realloc(arr, (n + 1) * size);
	if (!p)
		cli_error(err, "out of memory");
	return p;
}

static int apply_disk(struct vm_config *cfg, const struct cli_use *use)
{
	struct disk_config *d = grow(cfg->disks, cfg->nr_disks, sizeof(*d),
				     LKVM_MAX_DISKS, "disks", use->err);
	int ret;

	if (!d)
		return LKVM_EXIT_USAGE;
	cfg->disks = d;
	d += cfg->nr_disks;
	ret = cli_parse_disk(use->arg, d, use->err);
	if (ret) {
		free((char *)d->path);
		return ret;
	}
	cfg->nr_disks++;
	return 0;
}

/* One --9p: parse it into a new cfg->shares entry; tags must be unique. */
static int apply_9p(struct vm_config *cfg, const struct cli_use *use)
{
	struct share_config *sh = grow(cfg->shares, cfg->nr_shares, sizeof(*sh),
				       LKVM_MAX_SHARES, "--9p shares",
				       use->err);
	unsigned int i;
	int ret;

	if (!sh)
		return LKVM_EXIT_USAGE;
	cfg->shares = sh;
	sh += cfg->nr_shares;
	ret = cli_parse_9p(use->arg, sh, use->err);
	if (ret)
		return ret;
	for (i = 0; i < cfg->nr_shares; i++) {
		if (!strcmp(cfg->shares[i].tag, sh->tag)) {
			free(sh->path);
			return cli_error(use->err, "9p tag '%s' is used twice; give each --9p its own tag: --9p DIR,TAG",
					 sh->tag);
		}
	}
	cfg->nr_shares++;
	return 0;
}

/* --- lkvm run --- */

static const struct cli_option run_options[] = {
	{ .short_name = 'k', .long_name = "kernel", .arg = "PATH",
	  .help = "kernel to boot (a bare argument is also the kernel;\n"
		  "default: /boot/vmlinuz-$(uname -r))",
	  .apply = apply_kernel, .field = CLI_FIELD(kernel_path) },
	{ .short_name = 'i', .long_name = "initrd", .arg = "PATH",
	  .help = "initial ramdisk",
	  .apply = cli_set_path, .field = CLI_FIELD(initrd_path) },
	{ .short_name = 'p', .long_name = "params", .arg = "STR",
	  .help = "kernel parameters, appended to lkvm's defaults\n"
		  "(with a disk image and no root= here, those\n"
		  "include root=/dev/vda rw)",
	  .apply = cli_set_string, .field = CLI_FIELD(params) },
	{ .short_name = 'm', .long_name = "mem", .arg = "SIZE",
	  .help = "guest RAM; a bare number is MiB, or use a K/M/G/T\n"
		  "suffix (default: " STR(LKVM_DEFAULT_MEM_MIB) " MiB)",
	  .apply = apply_mem },
	{ .short_name = 'c', .long_name = "cpus", .arg = "N",
	  .help = "number of vCPUs (default: the host's online CPUs,\n"
		  "capped at KVM's recommended maximum; at most "
		  STR(LKVM_MAX_CPUS) ")",
	  .apply = apply_cpus },
	{ .long_name = "name", .arg = "NAME",
	  .help = "guest name (default: guest-<pid>)",
	  .apply = apply_name },
	{ .short_name = 'd', .long_name = "disk", .arg = "PATH[,OPT...]",
	  .help = "virtio-blk disk backed by a raw image file or a\n"
		  "host block device; repeatable; the first is\n"
		  "/dev/vda, the root unless -p sets root=.  Options:\n"
		  "  ro         read-only\n"
		  "  direct     O_DIRECT (bypass the host page cache)\n"
		  "  aio=io_uring|libaio|sync  I/O backend (default:\n"
		  "             io_uring; without it, libaio for\n"
		  "             direct disks, else sync)\n"
		  "  serial=ID  disk serial (up to "
		  STR(LKVM_DISK_SERIAL_MAX) " characters)",
	  .apply = apply_disk },
	{ .long_name = "console", .arg = "TYPE",
	  .help = "guest console on the terminal: serial (ttyS0) or\n"
		  "virtio (hvc0; ttyS0 stays) (default: serial)",
	  .apply = cli_set_choice, .field = CLI_FIELD(console),
	  .choices = &consoles },
	CLI_DEVICE_OPTIONS, /* --rng */
	{ .long_name = "9p", .arg = "DIR[,TAG][,ro][,passthrough]",
	  .help = "share host directory DIR over virtio-9p; repeatable.\n"
		  "TAG is the guest's mount tag (default: "
		  LKVM_9P_DEFAULT_TAG "):\n"
		  "  mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt\n"
		  "  ro           refuse every change (EROFS)\n"
		  "  passthrough  honour the guest's owners, setuid bits\n"
		  "               and device nodes (needs root)",
	  .apply = apply_9p },
	{ .long_name = "virtio-transport",
	  .arg = "pci|pci-legacy|mmio|mmio-legacy",
	  .help = "how virtio devices attach (default: "
		  LKVM_ARCH_DEFAULT_TRANSPORT ")",
	  .apply = cli_set_choice, .field = CLI_FIELD(transport),
	  .choices = &transports },
	/* riscv64's; elsewhere a usage error that says why. */
	{ .long_name = "irqchip", .arg = "plic|aia",
	  .help = "interrupt controller: lkvm's PLIC, or KVM's\n"
		  "in-kernel AIA when the host has it (default: plic)",
	  .apply = apply_irqchip, .field = CLI_FIELD(irqchip),
	  .choices = &irqchips, .hidden = !LKVM_ARCH_HAS_IRQCHIP_CHOICE },
	{ .long_name = "dump-dtb", .arg = "FILE",
	  .help = "write the guest's device tree to FILE and exit",
	  .apply = apply_dump_dtb, .field = CLI_FIELD(dump_dtb),
	  .hidden = !LKVM_ARCH_HAS_FDT },
	CLI_FLAG(0, "debug", debug, "log unhandled I/O and other diagnostics"),
	CLI_HELP,
	CLI_END,
};

const struct cli_command cli_run_command = {
	.name = "run",
	.summary = "Start a virtual machine",
	.usage = "usage: lkvm run [OPTIONS] [KERNEL]",
	.description =
		"Start a virtual machine that boots KERNEL: " LKVM_ARCH_KERNEL_DESC ".\n"
		"\n"
		"With no --disk and no --initrd, or with --disk DIR (a directory, or NAME\n"
		"for ~/.lkvm/NAME), the guest's root is that directory (default:\n"
		"~/.lkvm/default) shared over 9p, booted through an initramfs lkvm builds\n"
		"from the kernel's own modules; it runs a shell (see 'lkvm help sandbox').\n",
	.options = run_options,
	.list_options = true,
	.list_devices = true,
	.epilogue =
		"The console is the guest's ttyS0 (hvc0 with --console virtio) on lkvm's\n"
		"stdin/stdout. At a terminal, Ctrl-A x stops the VM.\n"
		"\n"
		"Exit status: 0 when the guest powers off, reboots or is stopped by\n"
		"SIGINT/SIGTERM; 1 on a run-time failure; 2 on a usage error; 3 when the\n"
		"guest kernel panicked (reported through lkvm's pvpanic device; a guest\n"
		"without that driver reboots on panic=1, status 0). With a 9p root, the\n"
		"exit status of the guest's shell when it exits.\n",
	.see = "lkvm run --help",
	.operand = run_operand,
};

/* --- lkvm sandbox: run's options, then "-- CMD [ARGS...]" --- */

const struct cli_command cli_sandbox_command = {
	.name = "sandbox",
	.summary = "Run one command in a virtual machine whose root is a host\n"
		   "directory (lkvm sandbox [OPTIONS] -- CMD [ARGS...])",
	.usage = "usage: lkvm sandbox [RUN OPTIONS] [KERNEL] -- CMD [ARGS...]",
	.description =
		"Boot a guest whose root filesystem is a host directory shared over 9p,\n"
		"run CMD in it as root, and exit with CMD's exit status (128+N when a\n"
		"signal N killed it).  The root is ~/.lkvm/default (created on first use,\n"
		"as by 'lkvm setup default': the host's / read-only at /host, its programs\n"
		"through /bin, /lib, /usr...), or the directory given with -d DIR or\n"
		"-d NAME (~/.lkvm/NAME).  The kernel is -k, or /boot/vmlinuz-$(uname -r);\n"
		"lkvm loads its virtio and 9p drivers from /lib/modules/RELEASE through an\n"
		"initramfs built in memory.  CMD's standard input and output are the\n"
		"guest's console on lkvm's standard input and output.\n"
		"\n"
		"Options are those of 'lkvm run' (see 'lkvm help run'), except -i.\n",
	.epilogue =
		"Exit status: CMD's; 3 when the guest kernel panicked before CMD finished;\n"
		"1 when the guest stopped otherwise before CMD finished or on a run-time\n"
		"failure; 2 on a usage error.\n",
	/* -i is refused by sandbox_prepare(), which says why. */
	.options = run_options,
	.see = "lkvm run --help",
	.operand = run_operand,
	.dashdash = CLI_DASHDASH_COMMAND,
	.needs = "lkvm sandbox needs a command: lkvm sandbox [OPTIONS] -- CMD [ARGS...] (see 'lkvm help sandbox')",
};

/* --- lkvm setup NAME: the NAME in cfg->name, checked by sandbox.c --- */

#define SETUP_NEEDS_NAME "lkvm setup needs one NAME (lkvm setup NAME; see 'lkvm help setup')"

static int setup_operand(struct vm_config *cfg, const char *arg, FILE *err)
{
	if (cfg->name)
		return cli_error(err, SETUP_NEEDS_NAME);
	if (arg[0] == '-') /* "-", or after "--" */
		return cli_error(err, "unknown option '%s' (see 'lkvm help setup')",
				 arg);
	cfg->name = arg;
	return 0;
}

static int setup_finish(struct vm_config *cfg, FILE *err)
{
	return cfg->name ? 0 : cli_error(err, SETUP_NEEDS_NAME);
}

static const struct cli_option setup_options[] = {
	CLI_HELP,
	CLI_END,
};

const struct cli_command cli_setup_command = {
	.name = "setup",
	.summary = "Create a guest root directory in ~/.lkvm (lkvm setup NAME)",
	.usage = "usage: lkvm setup NAME",
	.description =
		"Create ~/.lkvm/NAME, a guest root directory for 'lkvm run -d NAME' and\n"
		"'lkvm sandbox -d NAME -- CMD': the guest sees the host's / read-only at\n"
		"/host, and /bin, /lib, /lib64, /sbin and /usr are symlinks into it; the\n"
		"rest (/etc, /root, /home, /var...) is the guest's own.  NAME is 1-64 of\n"
		"A-Z a-z 0-9 . _ - and does not start with '.'.\n",
	.epilogue =
		"Exit status: 0; 1 when NAME exists or cannot be created; 2 on a usage\n"
		"error.\n",
	.options = setup_options,
	.see = "lkvm help setup",
	.operand = setup_operand,
	.finish = setup_finish,
};

/* --- help and version: no options; their help is lkvm's usage --- */

const struct cli_command cli_help_command = {
	.name = "help",
	.summary = "Show help for lkvm or for a command (lkvm help run)",
};

const struct cli_command cli_version_command = {
	.name = "version",
	.summary = "Print lkvm's version",
};

const struct cli_command *const cli_commands[] = {
	&cli_run_command,
	&cli_sandbox_command,
	&cli_setup_command,
	&cli_help_command,
	&cli_version_command,
	NULL,
};

/* --- --disk and --9p values --- */

int cli_parse_disk(const char *arg, struct disk_config *d, FILE *err)
{
	const char *comma = strchr(arg, ',');
	const char *p;

	memset(d, 0, sizeof(*d));
	if (!*arg || comma == arg)
		return cli_error(err, "--disk needs a path (--disk PATH[,ro][,direct][,aio=io_uring|libaio|sync][,serial=ID])");
	/* Options follow the first comma (paths with commas are not supported,
	 * as in kvmtool). */
	d->path = strndup(arg, comma ? (size_t)(comma - arg) : strlen(arg));
	if (!d->path)
		return cli_error(err, "out of memory");
	if (!comma)
		return 0;
	for (p = comma + 1;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

#define IS(word) (n == strlen(word) && !strncmp(p, word, n))
#define HAS(prefix) (n >= strlen(prefix) && !strncmp(p, prefix, strlen(prefix)))
		if (IS("ro")) {
			d->readonly = true;
		} else if (IS("direct")) {
			d->direct = true;
		} else if (IS("aio=io_uring")) {
			d->aio = DISK_AIO_IO_URING;
		} else if (IS("aio=libaio")) {
			d->aio = DISK_AIO_LIBAIO;
		} else if (IS("aio=sync")) {
			d->aio = DISK_AIO_SYNC;
		} else if (HAS("aio=")) {
			return cli_error(err, "unknown disk I/O backend '%.*s' in --disk %s (io_uring, libaio, sync)",
					 (int)(n - 4), p + 4, arg);
		} else if (HAS("serial=")) {
			size_t len = n - strlen("serial=");
			size_t i;

			if (!len || len > LKVM_DISK_SERIAL_MAX)
				return cli_error(err, "disk serial in --disk %s must be 1-%d characters",
						 arg, LKVM_DISK_SERIAL_MAX);
			for (i = 0; i < len; i++) {
				unsigned char c = (unsigned char)p[7 + i];
				if (!isprint(c) || c == ' ')
					return cli_error(err, "disk serial in --disk %s has a character that is not printable ASCII",
							 arg);
			}
			memcpy(d->serial, p + 7, len);
			d->serial[len] = '\0';
		} else {
			return cli_error(err, "unknown disk option '%.*s' in --disk %s (ro, direct, aio=, serial=)",
					 (int)n, p, arg);
		}
#undef IS
#undef HAS
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

#define P9_SYNTAX "--9p DIR[,TAG][,ro][,passthrough]"

/* One field after DIR: ro, passthrough, or (the first other one) the tag. */
static int parse_9p_field(const char *arg, const char *p, size_t n,
			  struct share_config *sh, bool *have_tag, FILE *err)
{
	size_t i;

	if (n == 2 && !strncmp(p, "ro", 2)) {
		sh->readonly = true;
		return 0;
	}
	if (n == 11 && !strncmp(p, "passthrough", 11)) {
		sh->passthrough = true;
		return 0;
	}
	if (*have_tag)
		return cli_error(err, "unknown 9p option '%.*s' in --9p %s (the tag is '%s'; options: ro, passthrough)",
				 (int)n, p, arg, sh->tag);
	if (!n)
		return cli_error(err, "empty 9p tag in --9p %s (" P9_SYNTAX ")",
				 arg);
	if (n > LKVM_9P_TAG_MAX)
		return cli_error(err, "9p tag in --9p %s is longer than %d bytes",
				 arg, LKVM_9P_TAG_MAX);
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)p[i]))
			return cli_error(err, "9p tag in --9p %s has a character that is not printable ASCII",
					 arg);
	memcpy(sh->tag, p, n);
	sh->tag[n] = '\0';
	*have_tag = true;
	return 0;
}

/*
 * --9p DIR[,TAG][,ro][,passthrough] (kvmtool: --9p DIR,TAG): after DIR, the
 * first field that is not a keyword is the tag, in any position.
 */
int cli_parse_9p(const char *arg, struct share_config *sh, FILE *err)
{
	const char *comma = strchr(arg, ',');
	const char *p;
	bool have_tag = false;
	int ret = 0;

	memset(sh, 0, sizeof(*sh));
	if (!*arg || comma == arg)
		return cli_error(err, "--9p needs a directory (" P9_SYNTAX ")");
	/* As for --disk, a path cannot contain a comma. */
	sh->path = strndup(arg, comma ? (size_t)(comma - arg) : strlen(arg));
	if (!sh->path)
		return cli_error(err, "out of memory");
	snprintf(sh->tag, sizeof(sh->tag), "%s", LKVM_9P_DEFAULT_TAG);
	for (p = comma; p && !ret; p = strchr(p, ',')) {
		const char *end = strchr(++p, ',');

		ret = parse_9p_field(arg, p, end ? (size_t)(end - p) : strlen(p),
				     sh, &have_tag, err);
	}
	if (ret) {
		free(sh->path);
		sh->path = NULL;
	}
	return ret;
}

void cli_free_config(struct vm_config *cfg)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_disks; i++)
		free((char *)cfg->disks[i].path);
	free(cfg->disks);
	cfg->disks = NULL;
	cfg->nr_disks = 0;
	for (i = 0; i < cfg->nr_shares; i++)
		free(cfg->shares[i].path);
	free(cfg->shares);
	cfg->shares = NULL;
	cfg->nr_shares = 0;
}
