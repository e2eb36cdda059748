/* cli/main.c - ballastctl: the operator's command line. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
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
	    "3 server unreachable, 4 auth refused\n", f);
}

int
main(int argc, char **argv)
{
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
