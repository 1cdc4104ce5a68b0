// SPDX-License-Identifier: GPL-2.0
/*
 * `lkvm run` option parsing, kvmtool-compatible: -k/--kernel, -i/--initrd,
 * -p/--params, -m/--mem, -c/--cpus, --name, --console, --debug, and a bare
 * trailing argument taken as the kernel.  Long options take "--opt value" or
 * "--opt=value"; short ones "-m 512" or "-m512".
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/config.h"
#include "lkvm/sandbox.h"
#include "lkvm/util.h"
#include "lkvm/vcpu.h"
#include "lkvm/vm.h"

enum opt_id {
	OPT_KERNEL, OPT_INITRD, OPT_PARAMS, OPT_MEM, OPT_CPUS, OPT_NAME,
	OPT_CONSOLE, OPT_DEBUG, OPT_HELP, OPT_DISK, OPT_TRANSPORT, OPT_RNG,
	OPT_9P, OPT_DUMP_DTB, OPT_IRQCHIP,
};

struct opt_desc {
	enum opt_id id;
	char short_name; /* 0: long only */
	const char *long_name;
	bool has_arg;
};

static const struct opt_desc run_opts[] = {
	{ OPT_KERNEL, 'k', "kernel", true },
	{ OPT_INITRD, 'i', "initrd", true },
	{ OPT_PARAMS, 'p', "params", true },
	{ OPT_MEM, 'm', "mem", true },
	{ OPT_CPUS, 'c', "cpus", true },
	{ OPT_NAME, 0, "name", true },
	{ OPT_CONSOLE, 0, "console", true },
	{ OPT_DISK, 'd', "disk", true },
	{ OPT_TRANSPORT, 0, "virtio-transport", true },
	{ OPT_RNG, 0, "rng", false },
	{ OPT_9P, 0, "9p", true },
	{ OPT_DUMP_DTB, 0, "dump-dtb", true },
	{ OPT_IRQCHIP, 0, "irqchip", true },
	{ OPT_DEBUG, 0, "debug", false },
	{ OPT_HELP, 'h', "help", false },
};

void cli_print_main_usage(FILE *out)
{
	fputs("usage: lkvm COMMAND [ARGS]\n"
	      "\n"
	      "Commands:\n"
	      "  run       Start a virtual machine\n"
	      "  sandbox   Run one command in a virtual machine whose root is a host\n"
	      "            directory (lkvm sandbox [OPTIONS] -- CMD [ARGS...])\n"
	      "  setup     Create a guest root directory in ~/.lkvm (lkvm setup NAME)\n"
	      "  help      Show help for lkvm or for a command (lkvm help run)\n"
	      "  version   Print lkvm's version\n"
	      "\n"
	      "See 'lkvm help COMMAND' for a command's options.\n",
	      out);
}

void cli_print_run_usage(FILE *out)
{
	fprintf(out,
		"usage: lkvm run [OPTIONS] [KERNEL]\n"
		"\n"
		"Start a virtual machine that boots KERNEL: %s.\n"
		"\n"
		"With no --disk and no --initrd, or with --disk DIR (a directory, or NAME\n"
		"for ~/.lkvm/NAME), the guest's root is that directory (default:\n"
		"~/.lkvm/default) shared over 9p, booted through an initramfs lkvm builds\n"
		"from the kernel's own modules; it runs a shell (see 'lkvm help sandbox').\n"
		"\n"
		"Options:\n"
		"  -k, --kernel PATH    kernel to boot (a bare argument is also the kernel;\n"
		"                       default: /boot/vmlinuz-$(uname -r))\n"
		"  -i, --initrd PATH    initial ramdisk\n"
		"  -p, --params STR     kernel parameters, appended to lkvm's defaults\n"
		"  -m, --mem SIZE       guest RAM; a bare number is MiB, or use a K/M/G/T\n"
		"                       suffix (default: %llu MiB)\n"
		"  -c, --cpus N         number of vCPUs (default: the host's online CPUs,\n"
		"                       capped at KVM's recommended maximum; at most %u)\n"
		"      --name NAME      guest name (default: guest-<pid>)\n"
		"  -d, --disk PATH[,OPT...]\n"
		"                       virtio-blk disk backed by a raw image file or a\n"
		"                       host block device; repeatable.  Options:\n"
		"                         ro         read-only\n"
		"                         direct     O_DIRECT (bypass the host page cache)\n"
		"                         aio=io_uring|libaio|sync  I/O backend (default:\n"
		"                                    io_uring; without it, libaio for\n"
		"                                    direct disks, else sync)\n"
		"                         serial=ID  disk serial (up to 20 characters)\n"
		"      --console TYPE   guest console on the terminal: serial (ttyS0) or\n"
		"                       virtio (hvc0; ttyS0 stays) (default: serial)\n"
		"      --rng            virtio-rng device fed by the host's getrandom()\n"
		"      --9p DIR[,TAG][,ro][,passthrough]\n"
		"                       share host directory DIR over virtio-9p; repeatable.\n"
		"                       TAG is the guest's mount tag (default: %s):\n"
		"                         mount -t 9p -o trans=virtio,version=9p2000.L TAG /mnt\n"
		"                         ro           refuse every change (EROFS)\n"
		"                         passthrough  honour the guest's owners, setuid bits\n"
		"                                      and device nodes (needs root)\n"
		"      --virtio-transport pci|pci-legacy|mmio|mmio-legacy\n"
		"                       how virtio devices attach (default: %s)\n"
		"%s"
		"      --debug          log unhandled I/O and other diagnostics\n"
		"  -h, --help           show this help\n"
		"\n"
		"The console is the guest's ttyS0 (hvc0 with --console virtio) on lkvm's\n"
		"stdin/stdout. At a terminal, Ctrl-A x stops the VM.\n"
		"\n"
		"Exit status: 0 when the guest powers off, reboots, panics or is stopped\n"
		"by SIGINT/SIGTERM; 1 on a run-time failure; 2 on a usage error. With a\n"
		"9p root, the exit status of the guest's shell when it exits.\n",
		LKVM_ARCH_KERNEL_DESC, LKVM_DEFAULT_MEM_MIB,
		(unsigned int)LKVM_MAX_CPUS, LKVM_9P_DEFAULT_TAG,
		LKVM_ARCH_DEFAULT_TRANSPORT, LKVM_ARCH_EXTRA_OPTIONS_HELP);
}

void cli_print_sandbox_usage(FILE *out)
{
	fputs("usage: lkvm sandbox [RUN OPTIONS] [KERNEL] -- CMD [ARGS...]\n"
	      "\n"
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
	      "Options are those of 'lkvm run' (see 'lkvm help run'), except -i.\n"
	      "\n"
	      "Exit status: CMD's; 1 when the guest stopped before CMD finished or on a\n"
	      "run-time failure; 2 on a usage error.\n",
	      out);
}

void cli_print_setup_usage(FILE *out)
{
	fputs("usage: lkvm setup NAME\n"
	      "\n"
	      "Create ~/.lkvm/NAME, a guest root directory for 'lkvm run -d NAME' and\n"
	      "'lkvm sandbox -d NAME -- CMD': the guest sees the host's / read-only at\n"
	      "/host, and /bin, /lib, /lib64, /sbin and /usr are symlinks into it; the\n"
	      "rest (/etc, /root, /home, /var...) is the guest's own.  NAME is 1-64 of\n"
	      "A-Z a-z 0-9 . _ - and does not start with '.'.\n"
	      "\n"
	      "Exit status: 0; 1 when NAME exists or cannot be created; 2 on a usage\n"
	      "error.\n",
	      out);
}

static int usage_error(FILE *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fputs("lkvm: error: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	return LKVM_EXIT_USAGE;
}

static const struct opt_desc *find_long(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(run_opts); i++)
		if (strlen(run_opts[i].long_name) == len &&
		    !strncmp(run_opts[i].long_name, name, len))
			return &run_opts[i];
	return NULL;
}

static const struct opt_desc *find_short(char c)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(run_opts); i++)
		if (run_opts[i].short_name == c)
			return &run_opts[i];
	return NULL;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > LKVM_MAX_NAME)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

/* One --9p: parse it into a new cfg->shares entry; tags must be unique. */
static int add_share(struct vm_config *cfg, const char *val, FILE *err)
{
	struct share_config *sh;
	unsigned int i;
	int ret;

	if (cfg->nr_shares >= LKVM_MAX_SHARES)
		return usage_error(err, "too many --9p shares (at most %u)",
				   (unsigned int)LKVM_MAX_SHARES);
	sh = realloc(cfg->shares, (cfg->nr_shares + 1) * sizeof(*sh));
	if (!sh)
		return usage_error(err, "out of memory");
	cfg->shares = sh;
	sh = &cfg->shares[cfg->nr_shares];
	ret = cli_parse_9p(val, sh, err);
	if (ret)
		return ret;
	for (i = 0; i < cfg->nr_shares; i++) {
		if (!strcmp(cfg->shares[i].tag, sh->tag)) {
			free(sh->path);
			return usage_error(err, "9p tag '%s' is used twice; give each --9p its own tag: --9p DIR,TAG",
					   sh->tag);
		}
	}
	cfg->nr_shares++;
	return 0;
}

static int apply_opt(const struct opt_desc *o, const char *spelled,
		     const char *val, struct vm_config *cfg, FILE *err)
{
	switch (o->id) {
	case OPT_KERNEL:
		if (cfg->kernel_path)
			return usage_error(err, "kernel given twice ('%s' and '%s')",
					   cfg->kernel_path, val);
		if (!*val)
			return usage_error(err, "%s needs a path", spelled);
		cfg->kernel_path = val;
		break;
	case OPT_INITRD:
		if (!*val)
			return usage_error(err, "%s needs a path", spelled);
		cfg->initrd_path = val;
		break;
	case OPT_PARAMS:
		cfg->params = val;
		break;
	case OPT_MEM:
		if (parse_size(val, MiB, &cfg->mem_bytes))
			return usage_error(err, "invalid memory size '%s' for %s (examples: 512, 512M, 2G)",
					   val, spelled);
		if (cfg->mem_bytes % 4096)
			return usage_error(err, "memory size '%s' for %s is not a multiple of 4 KiB",
					   val, spelled);
		if (cfg->mem_bytes < LKVM_MIN_MEM_BYTES ||
		    cfg->mem_bytes > LKVM_MAX_MEM_BYTES)
			return usage_error(err, "memory size '%s' for %s is out of range (4M to 1T)",
					   val, spelled);
		cfg->mem_set = true;
		break;
	case OPT_CPUS:
		if (parse_uint(val, &cfg->nr_cpus) || cfg->nr_cpus < 1 ||
		    cfg->nr_cpus > LKVM_MAX_CPUS)
			return usage_error(err, "invalid CPU count '%s' for %s (1 to %u)",
					   val, spelled, (unsigned int)LKVM_MAX_CPUS);
		cfg->cpus_set = true;
		break;
	case OPT_NAME:
		if (!valid_name(val))
			return usage_error(err, "invalid guest name '%s' (1-%d of A-Z a-z 0-9 - _ .)",
					   val, LKVM_MAX_NAME);
		cfg->name = val;
		break;
	case OPT_CONSOLE:
		if (!strcmp(val, "serial"))
			cfg->console = CONSOLE_SERIAL;
		else if (!strcmp(val, "virtio"))
			cfg->console = CONSOLE_VIRTIO;
		else
			return usage_error(err, "unsupported console '%s' for %s (supported: serial, virtio)",
					   val, spelled);
		break;
	case OPT_DISK: {
		struct disk_config *d;
		int ret;

		if (cfg->nr_disks >= LKVM_MAX_DISKS)
			return usage_error(err, "too many disks (at most %u)",
					   (unsigned int)LKVM_MAX_DISKS);
		d = realloc(cfg->disks, (cfg->nr_disks + 1) * sizeof(*d));
		if (!d)
			return usage_error(err, "out of memory");
		cfg->disks = d;
		ret = cli_parse_disk(val, &d[cfg->nr_disks], err);
		if (ret) {
			free((char *)d[cfg->nr_disks].path);
			return ret;
		}
		cfg->nr_disks++;
		break;
	}
	case OPT_TRANSPORT:
		if (!strcmp(val, "pci"))
			cfg->transport = VIRTIO_TRANSPORT_PCI;
		else if (!strcmp(val, "pci-legacy"))
			cfg->transport = VIRTIO_TRANSPORT_PCI_LEGACY;
		else if (!strcmp(val, "mmio"))
			cfg->transport = VIRTIO_TRANSPORT_MMIO;
		else if (!strcmp(val, "mmio-legacy"))
			cfg->transport = VIRTIO_TRANSPORT_MMIO_LEGACY;
		else
			return usage_error(err, "unknown virtio transport '%s' for %s (pci, pci-legacy, mmio, mmio-legacy)",
					   val, spelled);
		break;
	case OPT_RNG:
		cfg->rng = true;
		break;
	case OPT_9P:
		return add_share(cfg, val, err);
	case OPT_DUMP_DTB:
		if (!LKVM_ARCH_HAS_FDT)
			return usage_error(err, "%s: %s guests have no device tree",
					   spelled, LKVM_ARCH_NAME);
		if (!*val)
			return usage_error(err, "%s needs a path", spelled);
		cfg->dump_dtb = val;
		break;
	case OPT_IRQCHIP:
		if (!LKVM_ARCH_HAS_IRQCHIP_CHOICE)
			return usage_error(err, "%s: %s has one interrupt controller (KVM's); nothing to choose",
					   spelled, LKVM_ARCH_NAME);
		if (!strcmp(val, "plic"))
			cfg->irqchip = IRQCHIP_PLIC;
		else if (!strcmp(val, "aia"))
			cfg->irqchip = IRQCHIP_AIA;
		else
			return usage_error(err, "unknown interrupt controller '%s' for %s (plic, aia)",
					   val, spelled);
		break;
	case OPT_DEBUG:
		cfg->debug = true;
		break;
	case OPT_HELP:
		cfg->help = true;
		break;
	}
	return 0;
}

int cli_parse_disk(const char *arg, struct disk_config *d, FILE *err)
{
	const char *comma = strchr(arg, ',');
	const char *p;

	memset(d, 0, sizeof(*d));
	if (!*arg || comma == arg)
		return usage_error(err, "--disk needs a path (--disk PATH[,ro][,direct][,aio=io_uring|libaio|sync][,serial=ID])");
	/* Options follow the first comma (paths with commas are not supported,
	 * as in kvmtool). */
	d->path = strndup(arg, comma ? (size_t)(comma - arg) : strlen(arg));
	if (!d->path)
		return usage_error(err, "out of memory");
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
			return usage_error(err, "unknown disk I/O backend '%.*s' in --disk %s (io_uring, libaio, sync)",
					   (int)(n - 4), p + 4, arg);
		} else if (HAS("serial=")) {
			size_t len = n - strlen("serial=");
			size_t i;

			if (!len || len > LKVM_DISK_SERIAL_MAX)
				return usage_error(err, "disk serial in --disk %s must be 1-%d characters",
						   arg, LKVM_DISK_SERIAL_MAX);
			for (i = 0; i < len; i++) {
				unsigned char c = (unsigned char)p[7 + i];
				if (!isprint(c) || c == ' ')
					return usage_error(err, "disk serial in --disk %s has a character that is not printable ASCII",
							   arg);
			}
			memcpy(d->serial, p + 7, len);
			d->serial[len] = '\0';
		} else {
			return usage_error(err, "unknown disk option '%.*s' in --disk %s (ro, direct, aio=, serial=)",
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
		return usage_error(err, "unknown 9p option '%.*s' in --9p %s (the tag is '%s'; options: ro, passthrough)",
				   (int)n, p, arg, sh->tag);
	if (!n)
		return usage_error(err, "empty 9p tag in --9p %s (" P9_SYNTAX ")",
				   arg);
	if (n > LKVM_9P_TAG_MAX)
		return usage_error(err, "9p tag in --9p %s is longer than %d bytes",
				   arg, LKVM_9P_TAG_MAX);
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)p[i]))
			return usage_error(err, "9p tag in --9p %s has a character that is not printable ASCII",
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
		return usage_error(err, "--9p needs a directory (" P9_SYNTAX ")");
	/* As for --disk, a path cannot contain a comma. */
	sh->path = strndup(arg, comma ? (size_t)(comma - arg) : strlen(arg));
	if (!sh->path)
		return usage_error(err, "out of memory");
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

int cli_parse_run(int argc, char **argv, struct vm_config *cfg, FILE *err)
{
	int i, ret;
	bool only_args = false;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = LKVM_DEFAULT_MEM_MIB * MiB;
	cfg->console = CONSOLE_SERIAL;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct opt_desc *o;
		const char *val = NULL;
		char spelled[64];

		if (only_args || a[0] != '-' || !a[1]) {
			/* A bare argument is the kernel, as in kvmtool. */
			if (cfg->kernel_path)
				return usage_error(err, "unexpected argument '%s' (kernel already given as '%s')",
						   a, cfg->kernel_path);
			cfg->kernel_path = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			o = find_long(a + 2, len);
			if (!o)
				return usage_error(err, "unknown option '%.*s' (see 'lkvm run --help')",
						   (int)(len + 2), a);
			snprintf(spelled, sizeof(spelled), "--%s", o->long_name);
			if (eq) {
				if (!o->has_arg)
					return usage_error(err, "option '%s' takes no value", spelled);
				val = eq + 1;
			}
		} else {
			o = find_short(a[1]);
			if (!o)
				return usage_error(err, "unknown option '-%c' (see 'lkvm run --help')",
						   a[1]);
			snprintf(spelled, sizeof(spelled), "-%c", a[1]);
			if (a[2]) {
				if (!o->has_arg)
					return usage_error(err, "option '%s' takes no value", spelled);
				val = a + 2;
			}
		}
		if (o->has_arg && !val) {
			if (i + 1 >= argc)
				return usage_error(err, "option '%s' needs a value", spelled);
			val = argv[++i];
		}
		ret = apply_opt(o, spelled, val ? val : "", cfg, err);
		if (ret)
			return ret;
		if (cfg->help)
			return 0;
	}
	/* No kernel: main.c falls back to /boot/vmlinuz-$(uname -r). */
	return 0;
}
