/* cli/main.c - ballastctl: the operator's command line. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char	*name;
	int		(*main)(int, char **);
	const char	*help;
};

static const struct command commands[] = {
	{ "crush", cli_crush_main,
	    "offline CRUSH tools: map inputs, compare two maps" },
	{ "plan", cli_plan_main,
	    "dry-run the rebalancing planner on cluster and object files" },
	{ "simulate", cli_simulate_main,
	    "the control loop on simulated time: a scenario's moves, bytes, "
	    "hours" },
	{ "job", cli_job_main,
	    "jobs: list, get, evacuate, retry, pause, resume, cancel, watch, "
	    "submit" },
	{ "node", cli_node_main, "nodes: list, drain, set" },
	{ "objects", cli_objects_main,
	    "objects import FILE.csv: load the metadata tier" },
	{ "verify", cli_verify_main,
	    "check every listed copy on its agent, with its MD5" },
	{ "status", cli_status_main,
	    "the controller: mode, leader, imbalance, last cycle, jobs" },
	{ "pause", cli_pause_main, "stop autonomous planning" },
	{ "resume", cli_resume_main, "start autonomous planning again" },
	{ "run", cli_run_main, "run a control-loop cycle now" },
	{ "policy", cli_policy_main,
	    "policy get | set [--preset P] [--set key=value]... | reset" },
	{ "cycles", cli_cycles_main, "the control loop's history" },
	{ "demo-seed", cli_seed_main,
	    "write skewed random objects into agent roots (make demo)" },
};

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ballastctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_USAGE;
}

static void
usage(FILE *f)
{
	fputs("usage: ballastctl COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fputs("\nballastctl COMMAND --help shows a command's options.\n"
	    "exit codes: 0 ok, 1 failed result, 2 usage or bad input,\n"
	    "3 server unreachable, 4 auth refused\n"
	    "--json (anywhere on the line) prints the API's answer as JSON.\n"
	    "API commands take --server URL (default $BALLAST_SERVER or "
	    "http://127.0.0.1:8460),\n--token-file FILE (default "
	    "$BALLAST_TOKEN_FILE) and --cacert FILE (PEM CAs\nthat verify an "
	    "https server; default $BALLAST_CACERT, else the system's).\n",
	    f);
}

/* Takes --server URL and --token-file F from anywhere on the line (before
 * or after the command) into the environment the API commands read. */
static int
global_opts(int argc, char **argv)
{
	int o = 1;

	for (int i = 1; i < argc; i++) {
		const char *env = NULL;

		if (strcmp(argv[i], "--server") == 0)
			env = "BALLAST_SERVER";
		else if (strcmp(argv[i], "--token-file") == 0)
			env = "BALLAST_TOKEN_FILE";
		else if (strcmp(argv[i], "--cacert") == 0)
			env = "BALLAST_CACERT";
		if (env != NULL && i + 1 < argc) {
			setenv(env, argv[++i], 1);
			continue;
		}
		argv[o++] = argv[i];
	}
	argv[o] = NULL;
	return o;
}

int
main(int argc, char **argv)
{
	argc = global_opts(argc, argv);
	/* "ballastctl --json job list": --json belongs to the command. */
	if (argc > 2 && strcmp(argv[1], "--json") == 0) {
		argv[1] = argv[2];
		argv[2] = (char *)"--json";
	}
	if (argc < 2)
		return usage(stderr), CLI_USAGE;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	usage(stderr);
	return cli_usage_error("unknown command \"%s\"", argv[1]);
}
