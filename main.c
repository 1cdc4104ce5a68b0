// SPDX-License-Identifier: GPL-2.0
/* lkvm: command dispatch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/config.h"
#include "lkvm/sandbox.h"
#include "lkvm/vm.h"

#ifndef LKVM_VERSION
#define LKVM_VERSION "0.1.0"
#endif

/*
 * `lkvm run` and `lkvm sandbox`: parse, find the kernel, set up the 9p root
 * when there is one, run the VM, and take the guest command's exit status.
 */
static int boot(int argc, char **argv, char **guest_argv,
		void (*usage)(FILE *))
{
	struct vm_config cfg;
	struct sandbox sb;
	int ret;

	sandbox_init(&sb);
	ret = cli_parse_run(argc, argv, &cfg, stderr);
	if (!ret && cfg.help) {
		usage(stdout);
		goto out;
	}
	if (!ret)
		ret = sandbox_default_kernel(&cfg, &sb, stderr);
	if (!ret) {
		cfg.guest_argv = guest_argv;
		ret = sandbox_prepare(&cfg, &sb);
	}
	if (!ret)
		ret = sandbox_finish(&sb, vm_run(&cfg));
out:
	sandbox_free(&sb);
	cli_free_config(&cfg);
	return ret;
}

static int cmd_run(int argc, char **argv)
{
	return boot(argc, argv, NULL, cli_print_run_usage);
}

/* lkvm sandbox [run options] -- CMD [ARGS...] */
static int cmd_sandbox(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			break;
	if (i + 1 >= argc) {
		for (i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
				cli_print_sandbox_usage(stdout);
				return LKVM_EXIT_OK;
			}
		}
		fprintf(stderr, "lkvm: error: lkvm sandbox needs a command: lkvm sandbox [OPTIONS] -- CMD [ARGS...] (see 'lkvm help sandbox')\n");
		return LKVM_EXIT_USAGE;
	}
	/* cli_parse_run() sees the options only; argv[argc] must be NULL. */
	argv[i] = NULL;
	return boot(i, argv, argv + i + 1, cli_print_sandbox_usage);
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
	if (!strcmp(argv[1], "sandbox")) {
		cli_print_sandbox_usage(stdout);
		return LKVM_EXIT_OK;
	}
	if (!strcmp(argv[1], "setup")) {
		cli_print_setup_usage(stdout);
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
	if (!strcmp(cmd, "sandbox"))
		return cmd_sandbox(argc - 1, argv + 1);
	if (!strcmp(cmd, "setup"))
		return sandbox_cmd_setup(argc - 1, argv + 1, NULL, stdout, stderr);
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("lkvm version %s\n", LKVM_VERSION);
		return LKVM_EXIT_OK;
	}
	fprintf(stderr, "lkvm: error: unknown command '%s' (see 'lkvm help')\n", cmd);
	return LKVM_EXIT_USAGE;
}
