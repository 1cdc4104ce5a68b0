// SPDX-License-Identifier: GPL-2.0
/*
 * The command-line machinery (include/lkvm/cli.h): one parser and one usage
 * printer for every command, both reading the command's option table (and
 * the device types' options it includes).  The tables themselves are in
 * vmm/frontend/commands.c and the device files.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* "lkvm: error: MESSAGE\n" on @err, the message's control characters
 * escaped: it may hold a file name such as $'\e[31m'. */
static void print_error(FILE *err, const char *fmt, va_list ap)
{
	char fixed[1024], *msg, *shown = fixed;
	size_t cap;

	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("lkvm: error: out of memory\n", err);
		return;
	}
	cap = 4 * strlen(msg) + 1;
	if (cap > sizeof(fixed) && !(shown = malloc(cap))) {
		shown = fixed;
		cap = sizeof(fixed);
	}
	escape_controls(shown, cap, msg);
	fprintf(err, "lkvm: error: %s\n", shown);
	if (shown != fixed)
		free(shown);
	free(msg);
}

int cli_error(FILE *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_error(err, fmt, ap);
	va_end(ap);
	return LKVM_EXIT_USAGE;
}

void cli_print_error(FILE *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_error(err, fmt, ap);
	va_end(ap);
}

int cli_close_output(FILE *out, FILE *err)
{
	int e = 0;

	if (fflush(out))
		e = errno;
	else if (ferror(out))
		e = EIO; /* an earlier write failed; its errno is gone */
	/* EBADF: nothing was ever written to a closed stdout. */
	if (fclose(out) && !e && errno != EBADF)
		e = errno;
	if (!e)
		return 0;
	/* The reader went away (lkvm help run | head -1): nothing to tell
	 * it, and the shell's user asked for less; quiet, but not 0. */
	if (e == EPIPE)
		return LKVM_EXIT_FAILURE;
	cli_print_error(err, "cannot write to standard output: %s",
			strerror(e));
	return LKVM_EXIT_FAILURE;
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

/* --- other tools' names, near misses --- */

const struct cli_foreign *cli_find_foreign(const char *name, size_t len)
{
	const struct cli_foreign *f;

	for (f = cli_foreign; f->name; f++) {
		size_t n = strlen(f->name);
		bool prefix = n && f->name[n - 1] == '*';

		if (prefix ? len >= n - 1 && !strncmp(name, f->name, n - 1)
			   : len == n && !strncmp(name, f->name, n))
			return f;
	}
	return NULL;
}

/* "--sandbox (a kvmtool option) is not supported by lkvm; use ...", for
 * the @len bytes at @name that @f stands for. */
static int foreign_error(const struct cli_foreign *f, const char *name,
			 size_t len, FILE *err)
{
	bool option = name[0] == '-';

	return cli_error(err, "%s%.*s%s (a %s %s) is not supported by lkvm%s%s%s",
			 option ? "" : "'lkvm ", (int)len, name,
			 option ? "" : "'", f->tool,
			 option ? "option" : "command",
			 f->instead ? "; did you mean '" : f->hint ? "; " : "",
			 f->instead ? f->instead : f->hint ? f->hint : "",
			 f->instead ? "'?" : "");
}

static bool same_letter(char a, char b)
{
	return tolower((unsigned char)a) == tolower((unsigned char)b);
}

unsigned int cli_edit_distance(const char *a, size_t la, const char *b)
{
	enum { MAX_LEN = 63 };
	unsigned int rows[3][MAX_LEN + 1], *prev2 = rows[0], *prev = rows[1];
	unsigned int *cur = rows[2], *t;
	size_t lb = strlen(b), i, j;

	if (la > MAX_LEN || lb > MAX_LEN)
		return UINT_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			unsigned int d = MIN(prev[j], cur[j - 1]) + 1;

			/* Case does not count: "RUN" is "run" typed loudly. */
			d = MIN(d, prev[j - 1] + !same_letter(a[i - 1], b[j - 1]));
			if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) &&
			    same_letter(a[i - 2], b[j - 1]))
				d = MIN(d, prev2[j - 2] + 1);
			cur[j] = d;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/* Close enough to @len bytes typed to be a typo of them: two edits, one
 * for a word of up to three bytes ("--9x" is not "--rng"). */
static bool near_miss(unsigned int distance, size_t len)
{
	return distance <= (len <= 3 ? 1u : 2u);
}

/* Whether the @len bytes at @word and @name, one a prefix of the other
 * and the shorter at least three letters, name the same thing in other
 * words ("--memory" for "--mem", "--init" for "--initrd"). */
static bool prefix_match(const char *word, size_t len, const char *name)
{
	size_t n = strlen(name), m = MIN(len, n);

	return m >= 3 && !strncasecmp(word, name, m);
}

/* The long option of @cmd nearest to the @len bytes at @word, if that is
 * a near miss; NULL otherwise. */
static const struct cli_option *nearest_option(const struct cli_command *cmd,
					       const char *word, size_t len)
{
	const struct cli_option *o, *best = NULL;
	unsigned int d, best_d = UINT_MAX;
	struct cli_option_iter it;

	cli_options_begin(&it, cmd);
	while ((o = cli_options_next(&it))) {
		d = cli_edit_distance(word, len, o->long_name);
		if (!near_miss(d, len) && prefix_match(word, len, o->long_name))
			d = 1; /* as likely as a typo */
		if (d < best_d) {
			best = o;
			best_d = d;
		}
	}
	return best && near_miss(best_d, len) ? best : NULL;
}

/*
 * The option of @cmd that the argument @arg (which starts with '-')
 * names: "--name[=V]", "-x[V]", or a long name after one dash ("-kernel").
 */
static const struct cli_option *option_named(const struct cli_command *cmd,
					     const char *arg)
{
	size_t len = strcspn(arg, "=");
	const struct cli_option *o;

	if (arg[1] == '-')
		return find_option(cmd, 0, arg + 2, len - 2);
	o = len > 2 ? find_option(cmd, 0, arg + 1, len - 1) : NULL;
	return o ? o : find_option(cmd, arg[1], NULL, 0);
}

/* The usage error for the unknown option spelled by the @len bytes at
 * @word ("--bogus", "-z", "-kernel"). */
static int unknown_option(const struct cli_command *cmd, const char *word,
			  size_t len, FILE *err)
{
	const struct cli_foreign *f;
	const struct cli_option *o;

	f = cmd->foreign ? cli_find_foreign(word, len) : NULL;
	if (f)
		return foreign_error(f, word, len, err);
	if (word[1] != '-') {
		o = len > 2 ? find_option(cmd, 0, word + 1, len - 1) : NULL;
		if (o)
			return cli_error(err, "unknown option '%.*s' (did you mean '--%s'?)",
					 (int)len, word, o->long_name);
	} else {
		o = nearest_option(cmd, word + 2, len - 2);
		if (o)
			return cli_error(err, "unknown option '%.*s' (did you mean '--%s'? see '%s')",
					 (int)len, word, o->long_name, cmd->see);
	}
	return cli_error(err, "unknown option '%.*s' (see '%s')", (int)len,
			 word, cmd->see);
}

int cli_unknown_command(const char *name, FILE *err)
{
	const struct cli_command *const *c, *best = NULL;
	const struct cli_option *o;
	const struct cli_foreign *f;
	unsigned int d, best_d = UINT_MAX;
	size_t len = strcspn(name, "=");

	f = cli_find_foreign(name, len);
	if (f)
		return foreign_error(f, name, len, err);
	if (name[0] == '-' && name[1]) {
		/* "lkvm -k K": run's options without "run". */
		o = option_named(&cli_run_command, name);
		if (o && name[1] != '-' && len > 2 &&
		    find_option(&cli_run_command, 0, name + 1, len - 1))
			return cli_error(err, "unknown command '%s' (did you mean 'lkvm run --%s ...'?)",
					 name, o->long_name);
		if (o)
			return cli_error(err, "unknown command '%s' (did you mean 'lkvm run %s ...'?)",
					 name, name);
		/* lkvm's own: --help and --version (main()). */
		if (name[1] == '-') {
			static const char *const own[] = { "help", "version" };
			size_t i;

			for (i = 0; i < ARRAY_SIZE(own); i++)
				if (near_miss(cli_edit_distance(name + 2, len - 2,
								own[i]), len - 2))
					return cli_error(err, "unknown option '%s' (did you mean '--%s'? see 'lkvm help')",
							 name, own[i]);
		}
		return cli_error(err, "unknown option '%s' (see 'lkvm help')",
				 name);
	}
	for (c = cli_commands; *c; c++) {
		d = cli_edit_distance(name, strlen(name), (*c)->name);
		if (d < best_d) {
			best = *c;
			best_d = d;
		}
	}
	if (best && near_miss(best_d, strlen(name)))
		return cli_error(err, "unknown command '%s' (did you mean '%s'? see 'lkvm help')",
				 name, best->name);
	return cli_error(err, "unknown command '%s' (see 'lkvm help')", name);
}

/* --- parsing --- */

/* The options with a value given so far that may be given only once, and
 * those values. */
struct once_options {
	const struct cli_option *opt[CLI_MAX_ONCE_OPTIONS];
	const char *arg[CLI_MAX_ONCE_OPTIONS];
	unsigned int n;
};

/* The error for "-k -i x": @val, the argument after @name, starts with
 * '-' and @o's value may not. */
static int value_looks_like_option(const struct cli_command *cmd,
				   const struct cli_option *o,
				   const char *name, const char *val, FILE *err)
{
	if (option_named(cmd, val) ||
	    (cmd->foreign && cli_find_foreign(val, strcspn(val, "="))))
		return cli_error(err, "option '%s' needs a value (got option '%s')",
				 name, val);
	/* -m -1, -c -2: no spelling makes a negative number valid (for a
	 * number; "-k -1" may be a file called "-1"). */
	if (isdigit((unsigned char)val[1]) &&
	    (!strcmp(o->arg, "SIZE") || !strcmp(o->arg, "N")))
		return cli_error(err, "option '%s' needs a value (got '%s'; a negative number is never valid)",
				 name, val);
	return cli_error(err, "option '%s' needs a value (got '%s'; write --%s=%s for a value that starts with '-')",
			 name, val, o->long_name, val);
}

/*
 * The option argv[*i] ("--name", "--name=VALUE", "-x", "-xVALUE"), with its
 * value from the next argument when it needs one, applied to @cfg.
 */
static int parse_option(const struct cli_command *cmd, int argc, char **argv,
			int *i, struct vm_config *cfg,
			struct once_options *once, FILE *err)
{
	const char *a = argv[*i], *val = NULL;
	const struct cli_option *o;
	struct cli_use use;
	unsigned int k;
	char name[64];
	size_t len;

	if (a[1] == '-') {
		len = strcspn(a + 2, "=");
		o = find_option(cmd, 0, a + 2, len);
		if (!o)
			return unknown_option(cmd, a, len + 2, err);
		snprintf(name, sizeof(name), "--%s", o->long_name);
		if (a[2 + len])
			val = a + 3 + len;
	} else {
		/* "-kernel" and "-smp" are not -k and -s with a value. */
		len = strcspn(a, "=");
		if (len > 2 && ((cmd->foreign && cli_find_foreign(a, len)) ||
				find_option(cmd, 0, a + 1, len - 1)))
			return unknown_option(cmd, a, len, err);
		o = find_option(cmd, a[1], NULL, 0);
		if (!o)
			return unknown_option(cmd, a, 2, err);
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
		if (val[0] == '-' && val[1] && !o->dash_value)
			return value_looks_like_option(cmd, o, name, val, err);
	}
	if (o->arg && !o->repeatable) {
		for (k = 0; k < once->n; k++)
			if (once->opt[k] == o)
				return cli_error(err, "--%s given twice ('%s' and '%s')",
						 o->long_name, once->arg[k], val);
		if (once->n < CLI_MAX_ONCE_OPTIONS) {
			once->opt[once->n] = o;
			once->arg[once->n++] = val;
		}
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
	struct once_options once = { .n = 0 };
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
			ret = parse_option(cmd, argc, argv, &i, cfg, &once,
					   err);
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
