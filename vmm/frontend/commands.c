// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm's commands and their options, one table each (include/lkvm/cli.h):
 * what `lkvm run`, `lkvm sandbox` and `lkvm setup` accept and what their
 * --help says.  The names are kvmtool's: -k/--kernel, -i/--initrd,
 * -p/--params, -m/--mem, -c/--cpus, -d/--disk, --name, --console, --9p,
 * --virtio-transport, --debug; device types add their own (--rng).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/net.h"
#include "lkvm/util.h"
#include "lkvm/vcpu.h"
#include "lkvm/virtio-devices.h"
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
		return cli_error(err, "unexpected argument '%s' (kernel already given as '%s'; to run a command in a guest: lkvm sandbox [OPTIONS] -- CMD)",
				 arg, cfg->kernel_path);
	cfg->kernel_path = arg;
	return 0;
}

/* Append @len bytes of @s, blanks at either end dropped, to @out after
 * one space (none at the start); nothing when they are all blank. */
static void append_word_run(char *out, const char *s, size_t len)
{
	size_t n = strlen(out);

	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	if (!len)
		return;
	if (n)
		out[n++] = ' ';
	memcpy(out + n, s, len);
	out[n + len] = '\0';
}

/*
 * Each -p adds to the parameters, space-separated (kvmtool keeps the last
 * one; joining loses nothing a script meant to add).  Kernel parameters
 * stay before init's: -p "init=/bin/sh -- arg" -p quiet gives
 * "init=/bin/sh quiet -- arg", not an argument "quiet" for init.
 */
static int apply_params(struct vm_config *cfg, const struct cli_use *use)
{
	const char *old = cfg->params, *new = use->arg;
	const char *old_init, *new_init;
	char *joined;

	if (!old || !*old) {
		cfg->params = new;
		return 0;
	}
	old_init = params_init_args(old);
	new_init = params_init_args(new);
	joined = calloc(1, strlen(old) + strlen(new) + 2);
	if (!joined)
		return cli_error(use->err, "out of memory");
	append_word_run(joined, old, old_init ? (size_t)(old_init - old)
					      : strlen(old));
	append_word_run(joined, new, new_init ? (size_t)(new_init - new)
					      : strlen(new));
	if (old_init)
		append_word_run(joined, old_init, strlen(old_init));
	if (new_init) /* its "--" only when there was none before */
		append_word_run(joined, new_init + (old_init ? 2 : 0),
				strlen(new_init + (old_init ? 2 : 0)));
	free(cfg->params_joined);
	cfg->params = cfg->params_joined = joined;
	return 0;
}

/* "0", "00M", "0G"...: a well-formed size of zero (parse_size() refuses
 * zero as it refuses a typo; for -m it is just too small). */
static bool is_zero_size(const char *s)
{
	size_t zeros = strspn(s, "0");
	char one[16];
	uint64_t v;

	if (!zeros || strlen(s + zeros) >= sizeof(one) - 1)
		return false;
	snprintf(one, sizeof(one), "1%s", s + zeros);
	return !parse_size(one, MiB, &v);
}

static int apply_mem(struct vm_config *cfg, const struct cli_use *use)
{
	const char *val = use->arg, *name = use->name;
	bool zero = is_zero_size(val);

	if (!zero && parse_size(val, MiB, &cfg->mem_bytes))
		return cli_error(use->err, "invalid memory size '%s' for %s (examples: 512, 512M, 2G)",
				 val, name);
	/* The range first: -m 1K is too small, whatever its alignment. */
	if (zero || cfg->mem_bytes < LKVM_MIN_MEM_BYTES ||
	    cfg->mem_bytes > LKVM_MAX_MEM_BYTES)
		return cli_error(use->err, "memory size '%s' for %s is out of range: give %s to %s",
				 val, name, size_str(LKVM_MIN_MEM_BYTES).s,
				 size_str(LKVM_MAX_MEM_BYTES).s);
	if (cfg->mem_bytes % 4096)
		return cli_error(use->err, "memory size '%s' for %s is not a multiple of 4 KiB",
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

static int apply_until_marker(struct vm_config *cfg, const struct cli_use *use)
{
	if (parse_uint(use->arg, &cfg->until_marker) || cfg->until_marker > 255)
		return cli_error(use->err, "invalid marker '%s' for %s (0 to 255)",
				 use->arg, use->name);
	cfg->until_marker_set = true;
	return 0;
}

static int apply_no_pvh(struct vm_config *cfg, const struct cli_use *use)
{
	if (!LKVM_ARCH_HAS_PVH_UNPACK)
		return cli_error(use->err, "%s: %s kernels boot as they are; there is no bzImage to unpack",
				 use->name, LKVM_ARCH_NAME);
	return cli_set_flag(cfg, use);
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

	/* Far more than a transport takes (virtio_devices_check() says
	 * how many it does, once every option is known). */
	if (n >= max) {
		cli_error(err, "too many %s: more than %u given; lkvm's virtio transports take at most %u devices (pci) and %u (mmio) on %s",
			  what, max,
			  virtio_transport_max_devices(VIRTIO_TRANSPORT_PCI),
			  virtio_transport_max_devices(VIRTIO_TRANSPORT_MMIO),
			  LKVM_ARCH_NAME);
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

/* Once every option is known: what the devices ask of the transport,
 * the same disk twice (virtio_devices_check()). */
static int run_finish(struct vm_config *cfg, FILE *err)
{
	char why[512];

	if (virtio_devices_check(cfg, why, sizeof(why)))
		return cli_error(err, "%s", why);
	return 0;
}

/* sandbox: run's checks, and -i refused before the kernel is looked for
 * (sandbox_prepare() says the same for a caller that skips the parser). */
static int sandbox_finish(struct vm_config *cfg, FILE *err)
{
	if (cfg->initrd_path)
		return cli_error(err, "lkvm sandbox boots lkvm's own initramfs: -i/--initrd cannot be used with it");
	return run_finish(cfg, err);
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
		  "include root=/dev/vda rw); repeatable (joined by\n"
		  "spaces); STR may start with '-'",
	  .apply = apply_params, .repeatable = true, .dash_value = true },
	{ .short_name = 'm', .long_name = "mem", .arg = "SIZE",
	  .help = "guest RAM; a bare number is MiB, or use a K/M/G/T\n"
		  "suffix (default: " STR(LKVM_DEFAULT_MEM_MIB) " MiB)",
	  .apply = apply_mem },
	{ .long_name = "hugetlbfs", .arg = "PATH",
	  .help = "back guest RAM with huge pages from the hugetlbfs\n"
		  "mounted at PATH (e.g. /dev/hugepages); -m must be a\n"
		  "multiple of its page size and that many pages free\n"
		  "(/proc/sys/vm/nr_hugepages), else lkvm stops",
	  .apply = cli_set_path, .field = CLI_FIELD(hugetlbfs_path) },
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
		  "host block device; repeatable (a comma in PATH is\n"
		  "written ,,); the first is /dev/vda, the root\n"
		  "unless -p sets root=.  Options:\n"
		  "  ro         read-only\n"
		  "  direct     O_DIRECT (bypass the host page cache)\n"
		  "  aio=io_uring|libaio|sync  I/O backend (default:\n"
		  "             io_uring; without it, libaio for\n"
		  "             direct disks, else sync)\n"
		  "  serial=ID  disk serial (1-" STR(LKVM_DISK_SERIAL_MAX)
		  " printable ASCII\n"
		  "             characters, space included)\n"
		  "  format=raw use the image's bytes as they are, even\n"
		  "             when they look like qcow2, VMDK, VDI,\n"
		  "             VHD(X) or QED (refused otherwise)",
	  .apply = apply_disk, .repeatable = true },
	{ .long_name = "console", .arg = "TYPE",
	  .help = "guest console on the terminal: serial (ttyS0) or\n"
		  "virtio (hvc0; ttyS0 stays) (default: serial)",
	  .apply = cli_set_choice, .field = CLI_FIELD(console),
	  .choices = &consoles },
	CLI_DEVICE_OPTIONS, /* --rng */
	{ .long_name = "9p", .arg = "DIR[,TAG][,ro][,passthrough]",
	  .help = "share host directory DIR over virtio-9p; repeatable\n"
		  "(a comma in DIR or TAG is written ,,).\n"
		  "TAG is the guest's mount tag (default: "
		  LKVM_9P_DEFAULT_TAG "):\n"
		  "  mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt\n"
		  "  ro           refuse every change (EROFS)\n"
		  "  passthrough  honour the guest's owners, setuid bits\n"
		  "               and device nodes (needs root)",
	  .apply = apply_9p, .repeatable = true },
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
	/* x86's; elsewhere a usage error that says why. */
	{ .long_name = "no-pvh",
	  .help = "boot a bzImage through its own decompressor, not\n"
		  "its payload decompressed on the host via PVH",
	  .apply = apply_no_pvh, .field = CLI_FIELD(no_pvh),
	  .hidden = !LKVM_ARCH_HAS_PVH_UNPACK },
	{ .long_name = "dump-dtb", .arg = "FILE",
	  .help = "write the guest's device tree to FILE and exit",
	  .apply = apply_dump_dtb, .field = CLI_FIELD(dump_dtb),
	  .hidden = !LKVM_ARCH_HAS_FDT },
	{ .long_name = "boot-trace", .arg = "FILE",
	  .help = "record the boot: VMM phases, guest milestones,\n"
		  "markers and vCPU exits, written to FILE as a\n"
		  "Chrome trace (Perfetto) when lkvm exits; - prints\n"
		  "a summary table on stderr instead",
	  .apply = cli_set_path, .field = CLI_FIELD(boot_trace) },
	{ .long_name = "until-marker", .arg = "N",
	  .help = "stop the VM (exit status 0) when the guest writes\n"
		  "marker N (0-255) to lkvm's boot-marker register",
	  .apply = apply_until_marker },
	CLI_FLAG(0, "debug", debug, "log unhandled I/O and other diagnostics"),
	CLI_FLAG('q', "quiet", quiet,
		 "no start-up line at a terminal and no informational\n"
		 "lines (errors and warnings stay)"),
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
		"An option with a value is given once; -d, -n, --9p and -p may be repeated.\n"
		"A value that starts with '-' is written attached: --kernel=-x, -k-x.\n"
		"\n"
		"The console is the guest's ttyS0 (hvc0 with --console virtio) on lkvm's\n"
		"stdin/stdout. At a terminal, Ctrl-A x stops the VM and Ctrl-A ? lists\n"
		"the escape keys.\n"
		"\n"
		"Exit status: 0 when the guest powers off, reboots or is stopped by\n"
		"SIGINT/SIGTERM; 1 on a run-time failure; 2 on a usage error; 3 when the\n"
		"guest kernel panicked (reported through lkvm's pvpanic device; a guest\n"
		"without that driver reboots on panic=1, status 0). With a 9p root, the\n"
		"exit status of the guest's shell when it exits.\n",
	.see = "lkvm run --help",
	.foreign = true,
	.operand = run_operand,
	.finish = run_finish,
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
	.foreign = true,
	.operand = run_operand,
	.finish = sandbox_finish,
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

/* setup's, help's and version's. */
static const struct cli_option help_only_options[] = {
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
	.options = help_only_options,
	.see = "lkvm help setup",
	.operand = setup_operand,
	.finish = setup_finish,
};

/* --- help and version: their help is lkvm's usage --- */

/* lkvm help [COMMAND]: the COMMAND, in cfg->name. */
static int help_operand(struct vm_config *cfg, const char *arg, FILE *err)
{
	if (cfg->name)
		return cli_error(err, "unexpected argument '%s' (lkvm help [COMMAND])",
				 arg);
	if (!cli_find_command(arg))
		return cli_unknown_command(arg, err);
	cfg->name = arg;
	return 0;
}

static int version_operand(struct vm_config *cfg, const char *arg, FILE *err)
{
	(void)cfg;
	return cli_error(err, "unexpected argument '%s' (lkvm version takes none)",
			 arg);
}

const struct cli_command cli_help_command = {
	.name = "help",
	.summary = "Show help for lkvm or for a command (lkvm help run)",
	.options = help_only_options,
	.see = "lkvm help",
	.operand = help_operand,
};

const struct cli_command cli_version_command = {
	.name = "version",
	.summary = "Print lkvm's version",
	.options = help_only_options,
	.see = "lkvm help",
	.operand = version_operand,
};

const struct cli_command *const cli_commands[] = {
	&cli_run_command,
	&cli_sandbox_command,
	&cli_setup_command,
	&cli_bench_command,
	&cli_help_command,
	&cli_version_command,
	NULL,
};

/* --- what kvmtool's and QEMU's users type (include/lkvm/cli.h) --- */

#define KVMTOOL(name, instead, hint) { name, "kvmtool", instead, hint }
#define QEMU(name, instead, hint) { name, "QEMU", instead, hint }
#define NO_FRAMEBUFFER "lkvm's console is text, on its standard input and output"
#define USE_DEBUG "--debug logs unhandled port and MMIO accesses"

const struct cli_foreign cli_foreign[] = {
	/* kvmtool's commands */
	KVMTOOL("stop", NULL, "stop a VM with Ctrl-A x at its console or SIGTERM to its lkvm process"),
	KVMTOOL("list", NULL, "each VM is one lkvm process: pgrep -a lkvm"),
	KVMTOOL("pause", NULL, "SIGSTOP to a VM's lkvm process pauses it, SIGCONT resumes it"),
	KVMTOOL("resume", NULL, "SIGCONT to a VM's lkvm process resumes it after SIGSTOP"),
	KVMTOOL("debug", NULL, "'lkvm run --debug' logs diagnostics as the VM runs"),
	KVMTOOL("balloon", NULL, NULL),
	KVMTOOL("stat", NULL, NULL),
	/* kvmtool's `lkvm run` options (builtin-run.c, x86's and riscv's) */
	KVMTOOL("--sandbox", NULL, "use 'lkvm sandbox -- CMD' (the host's / is at /host in the guest)"),
	KVMTOOL("--firmware", NULL, "lkvm boots the kernel directly (-k)"),
	KVMTOOL("-f", NULL, "lkvm boots the kernel directly (-k)"),
	KVMTOOL("--flash", NULL, NULL),
	KVMTOOL("-F", NULL, NULL),
	KVMTOOL("--loglevel", NULL, "--debug shows debug messages"),
	KVMTOOL("--dev", NULL, "lkvm always opens /dev/kvm"),
	KVMTOOL("--tty", NULL, "the guest's console is lkvm's standard input and output (see --console)"),
	KVMTOOL("--vnc", NULL, NO_FRAMEBUFFER),
	KVMTOOL("--sdl", NULL, NO_FRAMEBUFFER),
	KVMTOOL("--gtk", NULL, NO_FRAMEBUFFER),
	KVMTOOL("--vidmode", NULL, NO_FRAMEBUFFER),
	KVMTOOL("--balloon", NULL, NULL),
	KVMTOOL("--vsock", NULL, NULL),
	KVMTOOL("--nodefaults", NULL, "lkvm's one default device is the user-mode network card: -n none leaves it out"),
	KVMTOOL("--no-dhcp", NULL, "lkvm's init gives a user-mode card its addresses without DHCP; a tap card it only brings up"),
	KVMTOOL("--vfio-pci", NULL, NULL),
	KVMTOOL("--virtio-legacy", "--virtio-transport pci-legacy", NULL),
	KVMTOOL("--debug-ioport", NULL, USE_DEBUG),
	KVMTOOL("--debug-mmio", NULL, USE_DEBUG),
	KVMTOOL("--debug-single-step", NULL, NULL),
	KVMTOOL("--debug-iodelay", NULL, NULL),
	KVMTOOL("--custom-mvendorid", NULL, NULL),
	KVMTOOL("--custom-marchid", NULL, NULL),
	KVMTOOL("--custom-mimpid", NULL, NULL),
	KVMTOOL("--disable-*", NULL, NULL),
	/* QEMU's (one dash; -kernel, -initrd, -name are lkvm's long options
	 * with one dash, which the parser recognises by itself) */
	QEMU("-append", "--params", NULL),
	QEMU("-smp", "--cpus", NULL),
	QEMU("-drive", "--disk", NULL),
	QEMU("-hda", "--disk", NULL),
	QEMU("-virtfs", "--9p", NULL),
	QEMU("-fsdev", "--9p", NULL),
	QEMU("-serial", "--console", NULL),
	QEMU("-nographic", NULL, "the guest's console is always lkvm's standard input and output"),
	QEMU("-display", NULL, NO_FRAMEBUFFER),
	QEMU("-enable-kvm", NULL, "lkvm always uses KVM"),
	QEMU("-accel", NULL, "lkvm always uses KVM"),
	QEMU("-machine", NULL, "lkvm has one machine type"),
	QEMU("-M", NULL, "lkvm has one machine type"),
	QEMU("-cpu", NULL, "the guest sees the host's CPU as KVM offers it"),
	QEMU("-bios", NULL, "lkvm boots the kernel directly (-k)"),
	QEMU("-no-reboot", NULL, "lkvm always exits when the guest reboots"),
	QEMU("-device", NULL, "lkvm's devices have options of their own: see 'lkvm run --help'"),
	QEMU("-netdev", NULL, "lkvm's is kvmtool's -n: -n mode=user,hostfwd=tcp::2222-:22 or -n mode=tap,tapif=NAME"),
	QEMU("-nic", NULL, "lkvm's is kvmtool's -n: -n mode=user,hostfwd=tcp::2222-:22 or -n mode=tap,tapif=NAME"),
	QEMU("-net", NULL, "lkvm's is kvmtool's -n: -n mode=user,hostfwd=tcp::2222-:22 or -n mode=tap,tapif=NAME"),
	QEMU("-cdrom", "--disk", NULL),
	QEMU("-hdb", "--disk", NULL),
	QEMU("-hdc", "--disk", NULL),
	QEMU("-hdd", "--disk", NULL),
	QEMU("-blockdev", "--disk", NULL),
	QEMU("-snapshot", NULL, "give the disk read-only (-d IMG,ro) or a copy"),
	QEMU("-boot", NULL, "lkvm boots the kernel directly (-k)"),
	QEMU("-pflash", NULL, "lkvm boots the kernel directly (-k)"),
	QEMU("-dtb", NULL, "lkvm writes the device tree itself (--dump-dtb shows it)"),
	QEMU("-monitor", NULL, NULL),
	QEMU("-qmp", NULL, NULL),
	QEMU("-mon", NULL, NULL),
	QEMU("-chardev", NULL, NULL),
	QEMU("-parallel", NULL, NULL),
	QEMU("-debugcon", NULL, NULL),
	QEMU("-pidfile", NULL, "each VM is one lkvm process: $! in the shell that started it"),
	QEMU("-daemonize", NULL, "run lkvm in the background from the shell (with -d images and no console use)"),
	QEMU("-uuid", NULL, NULL),
	QEMU("-mem-path", NULL, NULL),
	QEMU("-mem-prealloc", NULL, NULL),
	QEMU("-object", NULL, NULL),
	QEMU("-numa", NULL, NULL),
	QEMU("-global", NULL, NULL),
	QEMU("-nodefaults", NULL, "lkvm adds no device that was not asked for"),
	QEMU("-no-shutdown", NULL, "lkvm always exits when the guest powers off"),
	QEMU("-no-acpi", NULL, NULL),
	QEMU("-action", NULL, NULL),
	QEMU("-watchdog-action", NULL, NULL),
	QEMU("-full-screen", NULL, NO_FRAMEBUFFER),
	QEMU("-vga", NULL, NO_FRAMEBUFFER),
	QEMU("-vnc", NULL, NO_FRAMEBUFFER),
	QEMU("-sdl", NULL, NO_FRAMEBUFFER),
	QEMU("-spice", NULL, NO_FRAMEBUFFER),
	QEMU("-curses", NULL, NO_FRAMEBUFFER),
	QEMU("-usb", NULL, NULL),
	QEMU("-usbdevice", NULL, NULL),
	QEMU("-audiodev", NULL, NULL),
	QEMU("-rtc", NULL, "the guest's clock is the host's time"),
	QEMU("-icount", NULL, NULL),
	QEMU("-incoming", NULL, NULL),
	QEMU("-loadvm", NULL, NULL),
	QEMU("-gdb", NULL, NULL),
	QEMU("-s", NULL, NULL),
	QEMU("-S", NULL, NULL),
	QEMU("-trace", NULL, USE_DEBUG),
	QEMU("-D", NULL, USE_DEBUG),
	QEMU("-L", NULL, NULL),
	QEMU("-sandbox", NULL, "lkvm drops every capability and sets no_new_privs before the guest runs"),
	QEMU("-runas", NULL, NULL),
	QEMU("-chroot", NULL, NULL),
	QEMU("-readconfig", NULL, NULL),
	QEMU("-no-user-config", NULL, NULL),
	QEMU("-version", "--version", NULL),
	{ NULL, NULL, NULL, NULL },
};

/* --- --disk and --9p values --- */

char *cli_next_field(const char **pos, bool *more)
{
	const char *p = *pos;
	char *field = malloc(strlen(p) + 1), *q = field;

	*more = false;
	for (; *p; p++) {
		if (*p == ',' && p[1] == ',') {
			p++; /* ",," is one literal comma */
		} else if (*p == ',') {
			*more = true;
			p++;
			break;
		}
		if (q)
			*q++ = *p;
	}
	if (q)
		*q = '\0';
	*pos = p;
	return field;
}

#define DISK_SYNTAX "--disk PATH[,ro][,direct][,aio=io_uring|libaio|sync][,serial=ID][,format=raw]"

/* One field after the path (@f); @arg is the whole value, for messages. */
static int parse_disk_field(const char *arg, const char *f,
			    struct disk_config *d, FILE *err)
{
	if (!strcmp(f, "ro")) {
		d->readonly = true;
	} else if (!strcmp(f, "direct")) {
		d->direct = true;
	} else if (!strcmp(f, "aio=io_uring")) {
		d->aio = DISK_AIO_IO_URING;
	} else if (!strcmp(f, "aio=libaio")) {
		d->aio = DISK_AIO_LIBAIO;
	} else if (!strcmp(f, "aio=sync")) {
		d->aio = DISK_AIO_SYNC;
	} else if (!strncmp(f, "aio=", 4)) {
		return cli_error(err, "unknown disk I/O backend '%s' in --disk %s (io_uring, libaio, sync)",
				 f + 4, arg);
	} else if (!strcmp(f, "format=raw")) {
		d->format_raw = true;
	} else if (!strncmp(f, "format=", 7)) {
		return cli_error(err, "unsupported disk format '%s' in --disk %s: lkvm reads raw images only (format=raw); convert others with qemu-img convert -O raw",
				 f + 7, arg);
	} else if (!strncmp(f, "serial=", 7)) {
		const char *v = f + 7;
		size_t len = strlen(v), i;

		if (!len || len > LKVM_DISK_SERIAL_MAX)
			return cli_error(err, "disk serial in --disk %s must be 1-%d characters",
					 arg, LKVM_DISK_SERIAL_MAX);
		/* Anything the guest can show: printable ASCII, space
		 * included (a literal comma is written ",,"). */
		for (i = 0; i < len; i++)
			if (v[i] < 0x20 || v[i] > 0x7e)
				return cli_error(err, "disk serial in --disk %s has a character that is not printable ASCII (allowed: letters, digits, space and punctuation)",
						 arg);
		memcpy(d->serial, v, len + 1);
	} else {
		return cli_error(err, "unknown disk option '%s' in --disk %s (ro, direct, aio=, serial=, format=raw)",
				 f, arg);
	}
	return 0;
}

/*
 * Whether @f is a KEY=VALUE disk option whose KEY came before (@seen: one
 * bit per key).  As with options given twice, one value or an error: never
 * a silent last-wins.  Flags (ro, direct) twice are harmless.
 */
static bool disk_key_repeated(const char *f, unsigned int *seen)
{
	static const char *const keys[] = { "aio=", "serial=", "format=" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strncmp(f, keys[i], strlen(keys[i])))
			continue;
		if (*seen & 1u << i)
			return true;
		*seen |= 1u << i;
	}
	return false;
}

/*
 * --disk PATH[,OPT...]: the options follow the first lone comma; ",," is
 * a literal comma, in the path as in a value (cli_next_field()).
 */
int cli_parse_disk(const char *arg, struct disk_config *d, FILE *err)
{
	unsigned int keys_seen = 0;
	const char *pos = arg;
	bool more;
	char *path, *f;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	path = cli_next_field(&pos, &more);
	if (!path)
		return cli_error(err, "out of memory");
	if (!*path) {
		free(path);
		return cli_error(err, "--disk needs a path (" DISK_SYNTAX ")");
	}
	while (more && !ret) {
		f = cli_next_field(&pos, &more);
		if (!f)
			ret = cli_error(err, "out of memory");
		else if (disk_key_repeated(f, &keys_seen))
			ret = cli_error(err, "disk option '%.*s' given twice in --disk %s",
					(int)strcspn(f, "="), f, arg);
		else
			ret = parse_disk_field(arg, f, d, err);
		free(f);
	}
	if (ret) {
		free(path);
		return ret;
	}
	d->path = path;
	return 0;
}

#define P9_SYNTAX "--9p DIR[,TAG][,ro][,passthrough]"

/* One field after DIR: ro, passthrough, or (the first other one) the tag. */
static int parse_9p_field(const char *arg, const char *f,
			  struct share_config *sh, bool *have_tag, FILE *err)
{
	size_t n = strlen(f), i;

	if (!strcmp(f, "ro")) {
		sh->readonly = true;
		return 0;
	}
	if (!strcmp(f, "passthrough")) {
		sh->passthrough = true;
		return 0;
	}
	if (*have_tag)
		return cli_error(err, "unknown 9p option '%s' in --9p %s (the tag is '%s'; options: ro, passthrough)",
				 f, arg, sh->tag);
	if (!n)
		return cli_error(err, "empty 9p tag in --9p %s (" P9_SYNTAX ")",
				 arg);
	if (n > LKVM_9P_TAG_MAX)
		return cli_error(err, "9p tag in --9p %s is longer than %d bytes",
				 arg, LKVM_9P_TAG_MAX);
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)f[i]))
			return cli_error(err, "9p tag in --9p %s has a character that is not printable ASCII",
					 arg);
	memcpy(sh->tag, f, n + 1);
	*have_tag = true;
	return 0;
}

/*
 * --9p DIR[,TAG][,ro][,passthrough] (kvmtool: --9p DIR,TAG): after DIR, the
 * first field that is not a keyword is the tag, in any position; ",," is
 * a literal comma, as for --disk.
 */
int cli_parse_9p(const char *arg, struct share_config *sh, FILE *err)
{
	const char *pos = arg;
	bool have_tag = false, more;
	char *f;
	int ret = 0;

	memset(sh, 0, sizeof(*sh));
	sh->path = cli_next_field(&pos, &more);
	if (!sh->path)
		return cli_error(err, "out of memory");
	if (!*sh->path) {
		free(sh->path);
		sh->path = NULL;
		return cli_error(err, "--9p needs a directory (" P9_SYNTAX ")");
	}
	snprintf(sh->tag, sizeof(sh->tag), "%s", LKVM_9P_DEFAULT_TAG);
	while (more && !ret) {
		f = cli_next_field(&pos, &more);
		ret = f ? parse_9p_field(arg, f, sh, &have_tag, err)
			: cli_error(err, "out of memory");
		free(f);
	}
	if (ret) {
		free(sh->path);
		sh->path = NULL;
	}
	return ret;
}

/* --- -n/--network values --- */

#define NET_KEYS "mode, tapif, guest_mac, script, vhost, mq, hostfwd"
#define HOSTFWD_SYNTAX "hostfwd=[tcp|udp]:[HOSTIP]:HOSTPORT-[GUESTIP]:GUESTPORT"

enum net_key {
	NET_KEY_MODE, NET_KEY_TAPIF, NET_KEY_GUEST_MAC, NET_KEY_SCRIPT,
	NET_KEY_VHOST, NET_KEY_MQ, NET_KEY_HOSTFWD, NET_NR_KEYS
};

static const char *const net_keys[NET_NR_KEYS] = {
	"mode", "tapif", "guest_mac", "script", "vhost", "mq", "hostfwd",
};

/* kvmtool's -n keys that lkvm does not have. */
static const char *const net_foreign_keys[] = {
	"guest_ip", "host_ip", "trans", "downscript", "host_mac", "fd",
};

bool cli_net_is_none(const char *arg)
{
	return !strcmp(arg, "none") || !strcmp(arg, "mode=none");
}

/* "02:15:15:15:15:15": six groups of one or two hex digits (kvmtool's
 * sscanf accepts one too), colon-separated; 0 or -1. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int i, v, digits;

	for (i = 0; i < 6; i++) {
		for (v = 0, digits = 0; isxdigit((unsigned char)*s) && digits < 2;
		     s++, digits++) {
			char c = (char)tolower((unsigned char)*s);

			v = v * 16 + (unsigned int)(isdigit((unsigned char)c) ?
						    c - '0' : c - 'a' + 10);
		}
		if (!digits || (i < 5 && *s++ != ':'))
			return -1;
		mac[i] = (uint8_t)v;
	}
	return *s ? -1 : 0;
}

/* "[IP]:PORT" (@s, @len bytes) into network-order @addr (0: none given)
 * and @port; 0 or -1. */
static int parse_fwd_end(const char *s, size_t len, uint32_t *addr,
			 uint16_t *port)
{
	const char *colon = memrchr(s, ':', len);
	char buf[INET_ADDRSTRLEN + 8];
	struct in_addr in;
	unsigned int p;

	if (!colon || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	buf[colon - s] = '\0';
	*addr = 0;
	if (buf[0]) {
		if (inet_pton(AF_INET, buf, &in) != 1)
			return -1;
		*addr = in.s_addr;
	}
	if (parse_uint(buf + (colon - s) + 1, &p) || p < 1 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* hostfwd=[tcp|udp]:[HOSTIP]:HOSTPORT-[GUESTIP]:GUESTPORT (QEMU's: an
 * empty protocol is tcp); 0 or -1. */
static int parse_hostfwd(const char *v, struct net_hostfwd *h)
{
	const char *colon = strchr(v, ':'), *dash;

	memset(h, 0, sizeof(*h));
	if (!colon)
		return -1;
	if (colon - v == 3 && !strncmp(v, "udp", 3))
		h->udp = true;
	else if (colon != v && (colon - v != 3 || strncmp(v, "tcp", 3)))
		return -1;
	v = colon + 1;
	dash = strchr(v, '-');
	if (!dash || strchr(dash + 1, '-'))
		return -1;
	return parse_fwd_end(v, (size_t)(dash - v), &h->host_addr,
			     &h->host_port) ||
	       parse_fwd_end(dash + 1, strlen(dash + 1), &h->guest_addr,
			     &h->guest_port) ? -1 : 0;
}

/* One KEY=VALUE of -n @arg: key @k, value @v. */
static int parse_net_field(const char *arg, const char *v, enum net_key k,
			   struct net_config *n, FILE *err)
{
	unsigned int u;

	switch (k) {
	case NET_KEY_MODE:
		if (!strcmp(v, "tap"))
			n->mode = NET_MODE_TAP;
		else if (!strcmp(v, "user"))
			n->mode = NET_MODE_USER;
		else if (!strcmp(v, "none"))
			n->mode = NET_MODE_NONE;
		else
			return cli_error(err, "unknown network mode '%s' in -n %s (tap, user, none)",
					 v, arg);
		return 0;
	case NET_KEY_TAPIF:
		if (!*v)
			return cli_error(err, "empty tapif= in -n %s (a tap's name or /dev/tapN)",
					 arg);
		if (strncmp(v, "/dev/", 5) && strlen(v) >= IFNAMSIZ)
			return cli_error(err, "tap name '%s' in -n %s is longer than %d bytes",
					 v, arg, IFNAMSIZ - 1);
		if (!(n->tapif = strdup(v)))
			return cli_error(err, "out of memory");
		return 0;
	case NET_KEY_GUEST_MAC:
		if (parse_mac(v, n->guest_mac))
			return cli_error(err, "invalid MAC address '%s' in -n %s (six hex bytes: 02:15:15:15:15:15)",
					 v, arg);
		if (n->guest_mac[0] & 1)
			return cli_error(err, "MAC address '%s' in -n %s is a multicast address (the first byte must be even: 02:...)",
					 v, arg);
		if (!memcmp(n->guest_mac, "\0\0\0\0\0\0", 6))
			return cli_error(err, "MAC address '%s' in -n %s is all zeros",
					 v, arg);
		n->mac_set = true;
		return 0;
	case NET_KEY_SCRIPT:
		if (!*v)
			return cli_error(err, "empty script= in -n %s (a program, or none)",
					 arg);
		if (!(n->script = strdup(v)))
			return cli_error(err, "out of memory");
		return 0;
	case NET_KEY_VHOST:
		if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes"))
			n->vhost = true;
		else if (strcmp(v, "off") && strcmp(v, "0") && strcmp(v, "no"))
			return cli_error(err, "invalid vhost= value '%s' in -n %s (on or off)",
					 v, arg);
		return 0;
	case NET_KEY_MQ:
		if (parse_uint(v, &u) || u < 1 || u > NET_MAX_QUEUE_PAIRS)
			return cli_error(err, "invalid queue pair count mq=%s in -n %s (1 to %d)",
					 v, arg, NET_MAX_QUEUE_PAIRS);
		n->mq = u;
		return 0;
	case NET_KEY_HOSTFWD:
		if (n->nr_hostfwd == ARRAY_SIZE(n->hostfwd))
			return cli_error(err, "too many hostfwd= in -n %s (at most %zu)",
					 arg, ARRAY_SIZE(n->hostfwd));
		if (parse_hostfwd(v, &n->hostfwd[n->nr_hostfwd]))
			return cli_error(err, "malformed hostfwd=%s in -n %s (" HOSTFWD_SYNTAX ", ports 1-65535, IPv4 addresses)",
					 v, arg);
		n->nr_hostfwd++;
		return 0;
	default:
		break;
	}
	return cli_error(err, "internal error parsing -n %s", arg);
}

/* The field @f of -n @arg: which key, its value at *@v; else a usage
 * error (an unknown key, or no '='). */
static int net_key_of(const char *arg, const char *f, const char **v,
		      enum net_key *k, FILE *err)
{
	size_t len = strcspn(f, "="), i;

	if (!*f)
		return cli_error(err, "empty option in -n %s (KEY=VALUE: " NET_KEYS ")",
				 arg);
	for (i = 0; i < NET_NR_KEYS; i++) {
		if (strlen(net_keys[i]) == len && !strncmp(f, net_keys[i], len)) {
			if (!f[len])
				return cli_error(err, "-n option '%s' needs a value in -n %s (%s=...)",
						 f, arg, f);
			*k = (enum net_key)i;
			*v = f + len + 1;
			return 0;
		}
	}
	for (i = 0; i < ARRAY_SIZE(net_foreign_keys); i++)
		if (strlen(net_foreign_keys[i]) == len &&
		    !strncmp(f, net_foreign_keys[i], len))
			return cli_error(err, "-n option '%.*s' (a kvmtool option) is not supported by lkvm (in -n %s)",
					 (int)len, f, arg);
	return cli_error(err, "unknown -n option '%.*s' in -n %s (" NET_KEYS ")",
			 (int)len, f, arg);
}

/* The keys only one mode takes. */
static int net_check_mode(const char *arg, const struct net_config *n,
			  unsigned int seen, FILE *err)
{
	static const enum net_key tap_only[] = {
		NET_KEY_TAPIF, NET_KEY_SCRIPT, NET_KEY_VHOST, NET_KEY_MQ,
	};
	unsigned int i;

	if (n->mode == NET_MODE_NONE && seen != 1u << NET_KEY_MODE)
		return cli_error(err, "-n none takes no other option (in -n %s)",
				 arg);
	if (n->mode == NET_MODE_USER) {
		for (i = 0; i < ARRAY_SIZE(tap_only); i++)
			if (seen & 1u << tap_only[i])
				return cli_error(err, "%s= is for mode=tap, not mode=user (in -n %s)",
						 net_keys[tap_only[i]], arg);
	}
	if (n->mode == NET_MODE_TAP && (seen & 1u << NET_KEY_HOSTFWD))
		return cli_error(err, "hostfwd= is for mode=user, not mode=tap (in -n %s)",
				 arg);
	return 0;
}

int cli_parse_net(const char *arg, struct net_config *n, FILE *err)
{
	unsigned int seen = 0;
	const char *pos = arg, *v = NULL;
	enum net_key k = NET_KEY_MODE;
	bool more = true;
	char *f;
	int ret = 0;

	memset(n, 0, sizeof(*n));
	n->mode = NET_MODE_TAP; /* kvmtool's default */
	if (!*arg)
		return cli_error(err, "-n needs a value (mode=tap|user|none[,KEY=VALUE...])");
	if (!strcmp(arg, "none")) {
		n->mode = NET_MODE_NONE;
		return 0;
	}
	while (more && !ret) {
		f = cli_next_field(&pos, &more);
		if (!f)
			return cli_error(err, "out of memory");
		ret = net_key_of(arg, f, &v, &k, err);
		if (!ret && k != NET_KEY_HOSTFWD && (seen & 1u << k))
			ret = cli_error(err, "-n option '%s' given twice in -n %s",
					net_keys[k], arg);
		if (!ret) {
			seen |= 1u << k;
			ret = parse_net_field(arg, v, k, n, err);
		}
		free(f);
	}
	if (!ret)
		ret = net_check_mode(arg, n, seen, err);
	if (ret)
		cli_free_net(n);
	return ret;
}

void cli_free_net(struct net_config *n)
{
	free((char *)n->tapif);
	free((char *)n->script);
	n->tapif = n->script = NULL;
}

void cli_free_config(struct vm_config *cfg)
{
	unsigned int i;

	if (cfg->params == cfg->params_joined)
		cfg->params = NULL;
	free(cfg->params_joined);
	cfg->params_joined = NULL;
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
