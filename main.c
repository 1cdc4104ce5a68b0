// SPDX-License-Identifier: GPL-2.0
/* lkvm: command dispatch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/config.h"
#include "lkvm/vm.h"

#ifndef LKVM_VERSION
#define LKVM_VERSION "0.1.0"
#endif

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	int ret = cli_parse_run(argc, argv, &cfg, stderr);

	if (!ret && cfg.help)
		cli_print_run_usage(stdout);
	else if (!ret)
		ret = vm_run(&cfg);
	cli_free_config(&cfg);
	return ret;
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		cli_print_main_usage(stdout);
		return LKVM_EXIT_OK;
	}
	if (!strcmp(argv[1], "run")) {
		cli_print_run_usage(stdout);
		return LKVM_EXIT_OK;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "version")) {
		cli_print_main_usage(stdout);
		return LKVM_EXIT_OK;
	}
	fprintf(stderr, "lkvm: error: unknown command '%s' (see 'lkvm help')\n",
		argv[1]);
	return LKVM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	/* A closed stdout must not kill the VM; write() reports EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);

	if (!cmd) {
		cli_print_main_usage(stderr);
		return LKVM_EXIT_USAGE;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("lkvm version %s\n", LKVM_VERSION);
		return LKVM_EXIT_OK;
	}
	fprintf(stderr, "lkvm: error: unknown command '%s' (see 'lkvm help')\n", cmd);
	return LKVM_EXIT_USAGE;
}
