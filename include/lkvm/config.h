/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_CONFIG_H
#define LKVM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum console_kind {
	CONSOLE_SERIAL,
};

/* Everything `lkvm run` was asked to do; filled by cli_parse_run(). */
struct vm_config {
	const char *kernel_path;
	const char *initrd_path;
	const char *params; /* appended to lkvm's default command line */
	const char *name;
	uint64_t mem_bytes;
	unsigned int nr_cpus;
	bool mem_set, cpus_set;
	enum console_kind console;
	bool debug;
	bool help; /* --help: print usage and exit 0 */
};

/* Exit statuses, documented in Documentation/lkvm-run.txt. */
#define LKVM_EXIT_OK 0
#define LKVM_EXIT_FAILURE 1
#define LKVM_EXIT_USAGE 2

#define LKVM_DEFAULT_MEM_MIB 512ULL
#define LKVM_MIN_MEM_BYTES (4ULL << 20)
#define LKVM_MAX_MEM_BYTES (1ULL << 40) /* 1 TiB */
#define LKVM_MAX_NAME 64

/*
 * Parse `lkvm run` arguments (argv[0] is "run").  On a usage error prints
 * exactly one line to @err and returns LKVM_EXIT_USAGE; otherwise 0.
 * Defaults that depend on the host (CPU count) are left unset here and
 * resolved by vm_config_finalize().
 */
int cli_parse_run(int argc, char **argv, struct vm_config *cfg, FILE *err);


void cli_print_run_usage(FILE *out);
void cli_print_main_usage(FILE *out);

#endif
