// SPDX-License-Identifier: GPL-2.0
/*
 * The command-line machinery (include/lkvm/cli.h): one parser and one usage
 * printer for every command, both reading the command's option table (and
 * the device types' options it includes).  The tables themselves are in
 * vmm/frontend/commands.c and the device files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/util.h"
#include "lkvm/virtio-devices.h"
#include "lkvm/vm.h"

/* Columns of --help: options' and device types' help text, commands'. */
#define HELP_COLUMN 23
#define COMMAND_COLUMN 12
/* A left column that ends at most this far past the help column keeps the
 * help on its line ("--irqchip plic|aia  interrupt controller..."). */
#define HELP_OVERHANG 3

int cli_error(FILE *err, const char *fmt, ...)
{
	va_list ap;

	fputs("lkvm: error: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	return LKVM_EXIT_USAGE;
}

/* --- generic apply functions --- */

/* The vm_config field the option names (opt->field). */
static void *target(struct vm_config *cfg, const struct cli_use *use)
{
	return (char *)cfg + use->opt->field;
}

int cli_set_flag(struct vm_config *cfg, const struct cli_use *use)
{
	*(bool *)target(cfg, use) = true;
	return 0;
}

int cli_request_device(struct vm_config *cfg, const struct cli_use *use)
{
	const struct cli_option *o = use->opt;
	unsigned int i;

	if (!o->arg)
		for (i = 0; i < cfg->nr_dev_reqs; i++)
			if (cfg->dev_reqs[i].type == o->device)
				return 0; /* a flag given twice: one device */
	if (cfg->nr_dev_reqs == LKVM_MAX_DEVICE_REQUESTS)
		return cli_error(use->err, "too many devices (at most %d)",
				 LKVM_MAX_DEVICE_REQUESTS);
	cfg->dev_reqs[cfg->nr_dev_reqs].type = o->device;
	cfg->dev_reqs[cfg->nr_dev_reqs].arg = o->arg ? use->arg : NULL;
	cfg->nr_dev_reqs++;
	return 0;
}

int cli_set_string(struct vm_config *cfg, const struct cli_use *use)
{
	*(const char **)target(cfg, use) = use->arg;
	return 0;
}

int cli_set_path(struct vm_config *cfg, const struct cli_use *use)
{
	if (!*use->arg)
		return cli_error(use->err, "%s needs a path", use->name);
	return cli_set_string(cfg, use);
}

int cli_set_choice(struct vm_config *cfg, const struct cli_use *use)
{
	const struct cli_choices *c = use->opt->choices;
	const struct cli_choice *n;

	for (n = c->names; n->name; n++) {
		if (!strcmp(use->arg, n->name)) {
			*(int *)target(cfg, use) = n->value;
			return 0;
		}
	}
	return cli_error(use->err, "%s '%s' for %s (%s)", c->what, use->arg,
			 use->name, c->list);
}

/* --- the options of a command --- */

/* The end of a command's table (CLI_END), or no table. */
static bool table_end(const struct cli_option *o)
{
	return !o || (!o->long_name && !o->device_options);
}

void cli_options_begin(struct cli_option_iter *it,
		       const struct cli_command *cmd)
{
	it->next = cmd->options;
	it->dev = NULL;
	it->type = NULL;
}

const struct cli_option *cli_options_next(struct cli_option_iter *it)
{
	for (;;) {
		if (it->dev && it->dev->long_name)
			return it->dev++;
		if (it->type && *it->type) {
			it->dev = (*it->type++)->options;
			continue;
		}
		it->type = NULL;
		if (table_end(it->next))
			return NULL;
		if (!it->next->device_options)
			return it->next++;
		/* CLI_DEVICE_OPTIONS: every device type's, in table order. */
		it->type = virtio_device_types;
		it->next++;
	}
}

/* @cmd's option called -@short_name, or --@long_name (@len bytes). */
static const struct cli_option *find_option(const struct cli_command *cmd,
					    char short_name,
					    const char *long_name, size_t len)
{
	struct cli_option_iter it;
	const struct cli_option *o;

	cli_options_begin(&it, cmd);
	while ((o = cli_options_next(&it))) {
		if (long_name ? strlen(o->long_name) == len &&
				!strncmp(o->long_name, long_name, len)
			      : o->short_name == short_name)
			return o;
	}
	return NULL;
}

const struct cli_command *cli_find_command(const char *name)
{
	const struct cli_command *const *c;

	for (c = cli_commands; *c; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

/* --- parsing --- */

/*
 * The option argv[*i] ("--name", "--name=VALUE", "-x", "-xVALUE"), with its
 * value from the next argument when it needs one, applied to @cfg.
 */
static int parse_option(const struct cli_command *cmd, int argc, char **argv,
			int *i, struct vm_config *cfg, FILE *err)
{
	const char *a = argv[*i], *val = NULL;
	const struct cli_option *o;
	struct cli_use use;
	char name[64];

	if (a[1] == '-') {
		size_t len = strcspn(a + 2, "=");

		o = find_option(cmd, 0, a + 2, len);
		if (!o)
			return cli_error(err, "unknown option '%.*s' (see '%s')",
					 (int)(len + 2), a, cmd->see);
		snprintf(name, sizeof(name), "--%s", o->long_name);
		if (a[2 + len])
			val = a + 3 + len;
	} else {
		o = find_option(cmd, a[1], NULL, 0);
		if (!o)
			return cli_error(err, "unknown option '-%c' (see '%s')",
					 a[1], cmd->see);
		snprintf(name, sizeof(name), "-%c", a[1]);
		if (a[2])
			val = a + 2;
	}
	if (val && !o->arg)
		return cli_error(err, "option '%s' takes no value", name);
	if (o->arg && !val) {
		if (*i + 1 >= argc)
			return cli_error(err, "option '%s' needs a value", name);
		val = argv[++*i];
	}
	use = (struct cli_use){ .opt = o, .name = name, .arg = val ? val : "",
				.err = err };
	return o->apply(cfg, &use);
}

/*
 * CLI_DASHDASH_COMMAND: "-- CMD [ARGS...]" becomes cfg->guest_argv and
 * *@argc ends before it.  Without a command only --help is of use; the
 * options are not looked at.
 */
static int split_command(const struct cli_command *cmd, int *argc,
			 char **argv, struct vm_config *cfg, FILE *err)
{
	int i;

	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++)
		;
	if (i + 1 < *argc) {
		cfg->guest_argv = argv + i + 1;
		*argc = i;
		return 0;
	}
	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cfg->help = true;
			return 0;
		}
	}
	return cli_error(err, "%s", cmd->needs);
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      struct vm_config *cfg, FILE *err)
{
	bool operands = false;
	int i, ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = LKVM_DEFAULT_MEM_MIB * MiB;
	cfg->console = CONSOLE_SERIAL;
	if (cmd->dashdash == CLI_DASHDASH_COMMAND)
		ret = split_command(cmd, &argc, argv, cfg, err);
	for (i = 1; i < argc && !ret && !cfg->help; i++) {
		const char *a = argv[i];

		if (!operands && !strcmp(a, "--"))
			operands = true;
		else if (!operands && a[0] == '-' && a[1])
			ret = parse_option(cmd, argc, argv, &i, cfg, err);
		else if (cmd->operand) /* "-" on its own is an operand too */
			ret = cmd->operand(cfg, a, err);
		else
			ret = cli_error(err, "unexpected argument '%s' (see '%s')",
					a, cmd->see);
	}
	if (!ret && !cfg->help && cmd->finish)
		ret = cmd->finish(cfg, err);
	/* No kernel: main.c falls back to /boot/vmlinuz-$(uname -r). */
	return ret;
}

int cli_parse_run(int argc, char **argv, struct vm_config *cfg, FILE *err)
{
	return cli_parse(&cli_run_command, argc, argv, cfg, err);
}

/* --- usage --- */

/*
 * "  LEFT   TEXT": @left after @indent spaces, then @text's lines from
 * column @col (all on the lines after @left when it reaches too far).
 */
static void print_entry(FILE *out, unsigned int indent, const char *left,
			const char *text, unsigned int col)
{
	unsigned int w = indent + strlen(left);
	size_t n;

	fprintf(out, "%*s%s", (int)indent, "", left);
	if (w + 2 > col + HELP_OVERHANG) {
		fputc('\n', out);
		w = 0;
	}
	do {
		n = strcspn(text, "\n");
		fprintf(out, "%*s%.*s\n", (int)(w + 2 > col ? 2 : col - w), "",
			(int)n, text);
		text += n + (text[n] == '\n');
		w = 0;
	} while (*text);
}

void cli_format_option(const struct cli_option *opt, char *buf, size_t cap)
{
	char s[8] = "";

	if (opt->short_name)
		snprintf(s, sizeof(s), "-%c, ", opt->short_name);
	snprintf(buf, cap, "%s--%s%s%s", s, opt->long_name,
		 opt->arg ? " " : "", opt->arg ? opt->arg : "");
}

static void print_options(const struct cli_command *cmd, FILE *out)
{
	struct cli_option_iter it;
	const struct cli_option *o;
	char left[128];

	cli_options_begin(&it, cmd);
	while ((o = cli_options_next(&it))) {
		if (o->hidden)
			continue;
		cli_format_option(o, left, sizeof(left));
		/* Long names line up, after the short ones' "-x, ". */
		print_entry(out, o->short_name ? 2 : 6, left, o->help,
			    HELP_COLUMN);
	}
}

void cli_print_devices(FILE *out, unsigned int indent)
{
	const struct virtio_device_type *const *t;

	for (t = virtio_device_types; *t; t++)
		print_entry(out, indent, (*t)->name, (*t)->help,
			    indent + HELP_COLUMN - 2);
}

void cli_print_usage(const struct cli_command *cmd, FILE *out)
{
	if (!cmd->usage) {
		cli_print_main_usage(out);
		return;
	}
	fprintf(out, "%s\n", cmd->usage);
	if (cmd->description)
		fprintf(out, "\n%s", cmd->description);
	if (cmd->list_options) {
		fputs("\nOptions:\n", out);
		print_options(cmd, out);
	}
	if (cmd->list_devices) {
		fputs("\nDevices:\n", out);
		cli_print_devices(out, 2);
	}
	if (cmd->epilogue)
		fprintf(out, "\n%s", cmd->epilogue);
}

void cli_print_main_usage(FILE *out)
{
	const struct cli_command *const *c;

	fputs("usage: lkvm COMMAND [ARGS]\n\nCommands:\n", out);
	for (c = cli_commands; *c; c++)
		print_entry(out, 2, (*c)->name, (*c)->summary, COMMAND_COLUMN);
	fputs("\nSee 'lkvm help COMMAND' for a command's options.\n", out);
}
