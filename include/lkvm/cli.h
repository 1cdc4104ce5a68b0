/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CLI_H
#define LKVM_CLI_H

/*
 * The command line: one table per command (vmm/frontend/commands.c), one
 * parser and one usage printer (vmm/frontend/cli.c).
 *
 * Each option is written once, as a struct cli_option: its names, the
 * argument name and help text `--help` shows, and how it applies to the
 * struct vm_config being filled.  The parser and the usage printer read the
 * same tables, so they cannot disagree.  A command (struct cli_command) is
 * a table of options plus the texts around it; `lkvm run`, `lkvm sandbox`
 * and `lkvm setup` all go through cli_parse() and cli_print_usage().
 *
 * Device types bring their own options: a virtio_device_type's .options
 * (include/lkvm/virtio-devices.h) are spliced into a command's table where
 * it has a CLI_DEVICE_OPTIONS entry, in virtio_device_types[] order.  E.g.
 * virtio/rng.c:
 *
 *	static const struct cli_option vrng_options[] = {
 *		CLI_DEVICE_FLAG(0, "rng", &virtio_rng_type, "virtio-rng ..."),
 *		CLI_END,
 *	};
 *
 * which records a struct device_request that the type's count() and
 * create() read back (virtio_device_requests()): no vm_config field.
 *	const struct virtio_device_type virtio_rng_type = {
 *		...
 *		.options = vrng_options,
 *	};
 *
 * Syntax, kvmtool's: "--opt value", "--opt=value", "-m 512", "-m512"; a
 * bare argument is an operand (the kernel for run); after "--" every
 * argument is an operand, or (sandbox) the guest's command.  Rules that
 * keep other tools' habits from going wrong silently (lkvm-run(1), OPTION
 * SYNTAX):
 *  - a value taken from the next argument may not start with '-' (unless
 *    the option is .dash_value): "-k -i x" is "-k needs a value"; attached
 *    ("--kernel=-x", "-k-x") it may;
 *  - a single-dash word that spells a long option ("-kernel") or is in
 *    cli_foreign[] ("-smp") is refused, not read as "-k" + "ernel";
 *  - an option with a value that is not .repeatable may be given once;
 *    flags may be repeated;
 *  - an unknown option or command is looked up in cli_foreign[] (kvmtool's
 *    and QEMU's names), then near misses are suggested ("--dsik").
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lkvm/config.h"

struct cli_option;
struct virtio_device_type;

/* One use of an option on the command line, as apply() sees it. */
struct cli_use {
	const struct cli_option *opt;
	const char *name;  /* as given, for messages: "-m" or "--mem" */
	const char *arg;   /* the value ("" for a flag) */
	FILE *err;         /* where a usage error goes */
};

/* The names an option may take (cli_set_choice()); any other is the usage
 * error "WHAT 'ARG' for OPTION (LIST)". */
struct cli_choices {
	const char *what;  /* "unknown virtio transport" */
	const char *list;  /* "pci, pci-legacy, mmio, mmio-legacy" */
	struct cli_choice {
		const char *name;
		int value;
	} names[8];        /* ended by a NULL name */
};

struct cli_option {
	char short_name;        /* 'm' for -m; 0: long name only */
	const char *long_name;  /* "mem" for --mem (every option has one);
				 * NULL ends a table */
	const char *arg;        /* "SIZE" in --help; NULL: a flag (no value) */
	const char *help;       /* --help text; each '\n' starts a new line */
	/* 0, or LKVM_EXIT_USAGE after one line on use->err (cli_error()). */
	int (*apply)(struct vm_config *cfg, const struct cli_use *use);
	size_t field;           /* for cli_set_*(): offsetof(struct vm_config, F) */
	const struct cli_choices *choices; /* for cli_set_choice() */
	bool hidden;            /* accepted, but not in --help (e.g. another
				 * arch's option, which explains itself) */
	bool device_options;    /* stands for every device type's options
				 * (in a command's table only) */
	bool repeatable;        /* each use counts (-d, --9p, -p); an option
				 * with a value that is not may be given once */
	bool dash_value;        /* its value may start with '-' even as the
				 * next argument (-p "-- init args") */
	const struct virtio_device_type *device; /* cli_request_device() */
};

/* How many options that may be given once cli_parse() tracks: more than a
 * command has (test_cli checks run's). */
#define CLI_MAX_ONCE_OPTIONS 32

/* Table entries. */
#define CLI_END { .long_name = NULL }
#define CLI_DEVICE_OPTIONS { .device_options = true }
#define CLI_FIELD(f) offsetof(struct vm_config, f)
/* -h, --help: sets vm_config.help, which ends the parsing. */
#define CLI_HELP CLI_FLAG('h', "help", help, "show this help")
/* A device type's flag (--rng): one device of type @t, however often the
 * flag is given. */
#define CLI_DEVICE_FLAG(s, l, t, h) \
	{ .short_name = (s), .long_name = (l), .help = (h), \
	  .apply = cli_request_device, .device = (t) }
/* A device type's option with a value (-n ARG): one device per use. */
#define CLI_DEVICE_OPTION(s, l, a, t, h) \
	{ .short_name = (s), .long_name = (l), .arg = (a), .help = (h), \
	  .apply = cli_request_device, .device = (t), .repeatable = true }
/* A flag that sets the bool vm_config.F. */
#define CLI_FLAG(s, l, f, h) \
	{ .short_name = (s), .long_name = (l), .help = (h), \
	  .apply = cli_set_flag, .field = CLI_FIELD(f) }

/* Generic apply functions for a vm_config field named by opt->field. */
int cli_set_flag(struct vm_config *cfg, const struct cli_use *use);   /* bool */
int cli_set_string(struct vm_config *cfg, const struct cli_use *use); /* const char * */
/* A const char * that must not be empty: "%s needs a path". */
int cli_set_path(struct vm_config *cfg, const struct cli_use *use);
/* An int-sized enum: the value of the opt->choices name given. */
int cli_set_choice(struct vm_config *cfg, const struct cli_use *use);
/* A struct device_request for opt->device (a flag: only the first use). */
int cli_request_device(struct vm_config *cfg, const struct cli_use *use);

/* One usage-error line, "lkvm: error: ...\n", on @err; LKVM_EXIT_USAGE.
 * Control characters in the message are escaped (escape_controls()). */
int cli_error(FILE *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same line for any other error (the caller picks the status). */
void cli_print_error(FILE *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * What users of kvmtool or QEMU type that lkvm does not have: an option as
 * they spell it ("--sandbox", "-n", "-smp"; a trailing '*' matches any
 * rest: "--disable-*") or a command ("stop").  Consulted only for what
 * none of lkvm's tables knows, so an option lkvm gains simply takes over
 * (test_cli checks that no entry is shadowed).  One table, in commands.c.
 */
struct cli_foreign {
	const char *name;
	const char *tool;    /* "kvmtool" or "QEMU" */
	const char *instead; /* lkvm's spelling of the same thing, or NULL */
	const char *hint;    /* else what to do instead, or NULL */
};
extern const struct cli_foreign cli_foreign[]; /* ended by a NULL name */
/* The entry for the @len bytes at @name, or NULL. */
const struct cli_foreign *cli_find_foreign(const char *name, size_t len);

/*
 * The optimal-string-alignment (restricted Damerau-Levenshtein) distance
 * of the @la bytes at @a and the string @b: insertions, deletions,
 * substitutions and swaps of neighbours ("rnu" is 1 from "run").  Names
 * longer than 63 bytes are "far": UINT_MAX.
 */
unsigned int cli_edit_distance(const char *a, size_t la, const char *b);

/* What the parser does with "--" and what follows it. */
enum cli_dashdash {
	CLI_DASHDASH_OPERANDS, /* the rest are operands (run, setup) */
	CLI_DASHDASH_COMMAND,  /* the rest is cfg->guest_argv, at least one
				* word, and required (sandbox) */
};

struct cli_command {
	const char *name;       /* "run" */
	/* lkvm's usage: the command's line(s) under "Commands:". */
	const char *summary;
	/* --help: the usage line, a paragraph or more, the options (when
	 * list_options), the device types (when list_devices), then the
	 * epilogue.  NULL usage: `lkvm help NAME` shows lkvm's usage. */
	const char *usage;
	const char *description;
	const char *epilogue;
	const struct cli_option *options; /* NULL, or ended by CLI_END */
	bool list_options;
	bool list_devices;
	/* Where an unknown option's message points: "lkvm run --help". */
	const char *see;
	/* An unknown option is looked up in cli_foreign[] (run's options). */
	bool foreign;
	/* A bare argument; NULL: none is accepted. */
	int (*operand)(struct vm_config *cfg, const char *arg, FILE *err);
	/* After the last argument (not after --help): what is missing. */
	int (*finish)(struct vm_config *cfg, FILE *err);
	enum cli_dashdash dashdash;
	/* CLI_DASHDASH_COMMAND: the error when "-- CMD" is missing. */
	const char *needs;
};

extern const struct cli_command cli_run_command;
extern const struct cli_command cli_sandbox_command;
extern const struct cli_command cli_setup_command;
extern const struct cli_command cli_help_command;
extern const struct cli_command cli_version_command;
/* lkvm bench: its table is in vmm/frontend/bench.c. */
extern const struct cli_command cli_bench_command;
/* Every command, in `lkvm help`'s order; NULL-terminated. */
extern const struct cli_command *const cli_commands[];
/* The command called @name, or NULL. */
const struct cli_command *cli_find_command(const char *name);
/*
 * The usage error for `lkvm NAME ...` when no command is called @name:
 * kvmtool's commands and run's options ("lkvm -k K": did you mean 'lkvm
 * run -k ...'?) say what to do, a near miss is suggested ("rnu": 'run').
 */
int cli_unknown_command(const char *name, FILE *err);

/*
 * Parse @cmd's arguments (argv[0] is the command's name) into @cfg, which
 * is reset first.  On a usage error prints exactly one line to @err and
 * returns LKVM_EXIT_USAGE; otherwise 0.  --help sets cfg->help and stops.
 * Defaults that depend on the host (CPU count) are left unset here and
 * resolved by vm_config_finalize().
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      struct vm_config *cfg, FILE *err);
/* cli_parse(&cli_run_command, ...). */
int cli_parse_run(int argc, char **argv, struct vm_config *cfg, FILE *err);
/* Free what cli_parse() allocated (the disk and share arrays, the
 * joined -p values). */
void cli_free_config(struct vm_config *cfg);
/*
 * The next field of a PATH[,OPT...] value (--disk, --9p) at *@pos: up to
 * the next lone comma, ",," standing for a literal comma (as in QEMU and
 * kvmtool).  Returns it malloc'ed (NULL: out of memory), moves *@pos past
 * it and its comma, and sets *@more when a field follows.
 */
char *cli_next_field(const char **pos, bool *more);
/* Parse one --disk argument (exposed for tests); 0 or a usage error. */
int cli_parse_disk(const char *arg, struct disk_config *d, FILE *err);
/* Parse one --9p argument (exposed for tests); 0 (@sh->path allocated) or
 * a usage error (nothing allocated). */
int cli_parse_9p(const char *arg, struct share_config *sh, FILE *err);

/*
 * Parse one -n/--network argument (kvmtool's syntax, exposed for tests):
 *   none | mode=none
 *   [mode=tap][,tapif=NAME|/dev/tapN][,guest_mac=MAC][,script=PATH|none]
 *        [,vhost=on|off][,mq=N]                  (no mode=: tap, as kvmtool)
 *   mode=user[,hostfwd=[tcp|udp]:[HOSTIP]:HOSTPORT-[GUESTIP]:GUESTPORT]...
 *        [,guest_mac=MAC]
 * 0 (@n->tapif and @n->script allocated: cli_free_net()) or a usage error
 * (nothing allocated).  @n->mac_set says whether guest_mac= was given.
 */
struct net_config;
int cli_parse_net(const char *arg, struct net_config *n, FILE *err);
void cli_free_net(struct net_config *n);
/* Whether a -n argument that cli_parse_net() accepts asks for no NIC. */
bool cli_net_is_none(const char *arg);

/* A command's options, device types' included, in --help order. */
struct cli_option_iter {
	const struct cli_option *next;   /* in the command's table */
	const struct cli_option *dev;    /* in a device type's table, or NULL */
	const struct virtio_device_type *const *type; /* the next one, or NULL */
};
void cli_options_begin(struct cli_option_iter *it,
		       const struct cli_command *cmd);
/* The next option (hidden ones included), or NULL at the end. */
const struct cli_option *cli_options_next(struct cli_option_iter *it);

/* The left column of an option's --help line: "-m, --mem SIZE". */
void cli_format_option(const struct cli_option *opt, char *buf, size_t cap);

/*
 * At the end of lkvm: flush and close @out (standard output) and make sure
 * all it was given was written (`lkvm help >/dev/full`).  0, or
 * LKVM_EXIT_FAILURE after one error line on @err.
 */
int cli_close_output(FILE *out, FILE *err);

/* `lkvm COMMAND --help` (or lkvm's usage when @cmd has none). */
void cli_print_usage(const struct cli_command *cmd, FILE *out);
/* `lkvm help`: lkvm's usage, the list of commands. */
void cli_print_main_usage(FILE *out);
/*
 * The device types and their help lines, one a line, each indented by
 * @indent spaces with the help at column @indent + 21 (--help: 2; the
 * DEVICES list of Documentation/lkvm-run.txt: 7).
 */
void cli_print_devices(FILE *out, unsigned int indent);

#endif
