// SPDX-License-Identifier: GPL-2.0
/* lkvm: command dispatch. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/bench.h"
#include "lkvm/cli.h"
#include "lkvm/config.h"
#include "lkvm/sandbox.h"
#include "lkvm/trace.h"
#include "lkvm/util.h"
#include "lkvm/vm.h"

#ifndef LKVM_VERSION
#define LKVM_VERSION "0.1.0"
#endif

/*
 * `lkvm run` and `lkvm sandbox`: parse, find the kernel, set up the 9p root
 * when there is one, run the VM, and take the guest command's exit status.
 */
static int boot(const struct cli_command *cmd, int argc, char **argv)
{
	struct boot_trace *trace = NULL;
	struct vm_config cfg;
	struct sandbox sb;
	uint64_t t0;
	int ret;

	sandbox_init(&sb);
	ret = cli_parse(cmd, argc, argv, &cfg, stderr);
	if (!ret && cfg.help) {
		cli_print_usage(cmd, stdout);
		goto out;
	}
	if (!ret && cfg.boot_trace) {
		trace = trace_open(cfg.boot_trace, &ret);
		if (!trace) {
			ret = LKVM_EXIT_FAILURE;
			goto out;
		}
		trace_thread_name(trace, "main");
		trace_span_at(trace, "exec and dynamic loader", 0,
			      trace_main_us(trace));
		trace_span(trace, "parse options", trace_main_us(trace));
	}
	lkvm_quiet = cfg.quiet; /* before sandbox_prepare()'s lines */
	t0 = trace_now(trace);
	if (!ret)
		ret = sandbox_default_kernel(&cfg, &sb, stderr);
	if (!ret)
		ret = sandbox_prepare(&cfg, &sb);
	if (!ret && sb.active)
		trace_span(trace, "9p root and initramfs", t0);
	if (!ret)
		ret = sandbox_finish(&sb, vm_run(&cfg, trace));
out:
	sandbox_free(&sb);
	cli_free_config(&cfg);
	if (trace) {
		trace_instant(trace, TRACE_CAT_PHASE, "exit", NULL);
		if (trace_close(trace) && !ret)
			ret = LKVM_EXIT_FAILURE;
	}
	return ret;
}

static int cmd_run(int argc, char **argv)
{
	return boot(&cli_run_command, argc, argv);
}

/* lkvm sandbox [run options] -- CMD [ARGS...] */
static int cmd_sandbox(int argc, char **argv)
{
	return boot(&cli_sandbox_command, argc, argv);
}

static int cmd_setup(int argc, char **argv)
{
	return sandbox_cmd_setup(argc, argv, NULL, stdout, stderr);
}

/* lkvm bench boot [-n RUNS] [RUN OPTIONS] (vmm/frontend/bench.c) */
static int cmd_bench(int argc, char **argv)
{
	return bench_main(argc, argv, stdout, stderr);
}

/* lkvm help [COMMAND] */
static int cmd_help(int argc, char **argv)
{
	struct vm_config cfg;
	int ret;

	ret = cli_parse(&cli_help_command, argc, argv, &cfg, stderr);
	if (ret)
		return ret;
	if (cfg.name && !cfg.help)
		cli_print_usage(cli_find_command(cfg.name), stdout);
	else
		cli_print_main_usage(stdout);
	return LKVM_EXIT_OK;
}

static int cmd_version(int argc, char **argv)
{
	struct vm_config cfg;
	int ret;

	ret = cli_parse(&cli_version_command, argc, argv, &cfg, stderr);
	if (ret)
		return ret;
	if (cfg.help)
		cli_print_main_usage(stdout);
	else
		printf("lkvm version %s\n", LKVM_VERSION);
	return LKVM_EXIT_OK;
}

/* What each command of cli_commands[] runs. */
static const struct {
	const struct cli_command *cmd;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ &cli_run_command, cmd_run },
	{ &cli_sandbox_command, cmd_sandbox },
	{ &cli_setup_command, cmd_setup },
	{ &cli_bench_command, cmd_bench },
	{ &cli_help_command, cmd_help },
	{ &cli_version_command, cmd_version },
};

/* The command @name runs, or NULL. */
static int (*command_named(const char *name))(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].cmd->name))
			return commands[i].run;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int (*run)(int argc, char **argv);
	int ret;

	/*
	 * Started with 0, 1 or 2 closed (`lkvm run <&-`), lkvm's own files
	 * would take those numbers: the console reader would read the stop
	 * eventfd, guest output would go into whatever became fd 1.
	 */
	if (keep_std_fds_open() < 0)
		return LKVM_EXIT_FAILURE;
	/* A closed stdout must not kill the VM; write() reports EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Everything lkvm prints on stdout (help, version) in one buffer, so
	 * a failing write happens in cli_close_output()'s fflush(), whose
	 * errno names the reason; stdio forgets an earlier one's.  (The
	 * guest's console is written to fd 1 directly, not through stdio.)
	 */
	static char stdout_buf[64 * 1024];
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof(stdout_buf));

	if (!cmd) {
		cli_print_main_usage(stderr);
		return LKVM_EXIT_USAGE;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
		cmd = "help";
	else if (!strcmp(cmd, "--version"))
		cmd = "version";
	run = command_named(cmd);
	if (!run)
		return cli_unknown_command(cmd, stderr);
	ret = run(argc - 1, argv + 1);
	/* `lkvm help >/dev/full` fails, and says so. */
	if (cli_close_output(stdout, stderr) && !ret)
		ret = LKVM_EXIT_FAILURE;
	return ret;
}
