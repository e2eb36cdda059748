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
	    "jobs: list, get, evacuate, retry, pause, resume, cancel, "
	    "throttle, watch, submit" },
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
	{ "audit", cli_audit_main, "who changed what, when (GET /v1/audit)" },
	{ "agent", cli_agent_main,
	    "one agent, signed for you: throttle URL [BPS], status URL" },
	{ "demo-seed", cli_seed_main,
	    "write skewed random objects into agent roots (make demo)" },
};

/* The usage of the API commands, by command and subcommand (sub NULL: the
 * command's own). The offline tools (crush, plan, simulate, verify,
 * demo-seed) and agent answer --help themselves. */
struct usage {
	const char	*cmd, *sub, *text;
};

static const struct usage usages[] = {
	{ "job", NULL, "usage: ballastctl job SUBCOMMAND\n"
	    "  list [--state STATE]        jobs, newest first\n"
	    "  get ID                      one job and its counters\n"
	    "  evacuate NODE [--max-objects N]\n"
	    "                              move every copy off NODE\n"
	    "  retry ID                    a new job for the failed tasks of ID\n"
	    "  pause ID | resume ID | cancel ID\n"
	    "  throttle ID BYTES_PER_SEC   limit the job's copy rate (0: none)\n"
	    "  watch ID                    progress until the job ends\n"
	    "  submit PLAN.json            run a plan from ballastctl plan --json\n"
	    "ballastctl job SUBCOMMAND --help for one.\n" },
	{ "job", "list", "usage: ballastctl job list [--state STATE] [--json]\n"
	    "  Lists jobs (GET /v1/jobs), newest first; STATE is one of init,\n"
	    "  setup, running, paused, complete, failed, cancelled.\n" },
	{ "job", "get", "usage: ballastctl job get ID\n"
	    "  Prints the job (GET /v1/jobs/ID) as JSON.\n" },
	{ "job", "evacuate", "usage: ballastctl job evacuate NODE "
	    "[--max-objects N] [--json]\n"
	    "  Drains NODE and moves every copy it holds (at most N) to other\n"
	    "  nodes (POST /v1/jobs). Prints the new job's id.\n" },
	{ "job", "retry", "usage: ballastctl job retry ID\n"
	    "  Creates a job that retries the failed tasks of job ID.\n" },
	{ "job", "pause", "usage: ballastctl job pause ID\n"
	    "  Stops dispatching the job's tasks; running copies finish.\n" },
	{ "job", "resume", "usage: ballastctl job resume ID\n"
	    "  Resumes a paused job.\n" },
	{ "job", "cancel", "usage: ballastctl job cancel ID\n"
	    "  Cancels the job; committed moves stay, nothing else starts.\n" },
	{ "job", "throttle", "usage: ballastctl job throttle ID "
	    "BYTES_PER_SEC\n"
	    "  Sets the job's copy rate limit (PUT /v1/jobs/ID set_throttle);\n"
	    "  0 removes it.\n" },
	{ "job", "watch", "usage: ballastctl job watch ID\n"
	    "  Prints the job's progress until it ends; exit 0 if it completed.\n" },
	{ "job", "submit", "usage: ballastctl job submit PLAN.json\n"
	    "  Runs a plan (the output of ballastctl plan --json) as a "
	    "rebalance job.\n" },
	{ "node", NULL, "usage: ballastctl node SUBCOMMAND\n"
	    "  list                        nodes, state, reachability, usage\n"
	    "  drain ID                    stop placing on ID (state draining)\n"
	    "  set ID KEY=VALUE...         register or change a node\n"
	    "ballastctl node SUBCOMMAND --help for one.\n" },
	{ "node", "list", "usage: ballastctl node list [--json]\n"
	    "  Lists the registered nodes (GET /v1/nodes).\n" },
	{ "node", "drain", "usage: ballastctl node drain ID\n"
	    "  Sets ID draining: nothing new is placed there (POST "
	    "/v1/nodes/ID/drain).\n" },
	{ "node", "set", "usage: ballastctl node set ID KEY=VALUE...\n"
	    "  Registers or changes node ID (PUT /v1/nodes/ID). Keys: "
	    "agent_url region\n  datacenter rack host weight capacity_bytes "
	    "state.\n" },
	{ "objects", NULL, "usage: ballastctl objects import FILE.csv "
	    "[--chunk-bytes N]\n"
	    "  Loads the objects CSV (id,owner,size,md5,copies,...) into the\n"
	    "  metadata tier, in chunks of at most N bytes (default 8 MiB).\n" },
	{ "status", NULL, "usage: ballastctl status [--json]\n"
	    "  The controller: mode, leader, imbalance, last cycle, running "
	    "jobs.\n" },
	{ "pause", NULL, "usage: ballastctl pause\n"
	    "  Stops autonomous planning (jobs already created keep running).\n" },
	{ "resume", NULL, "usage: ballastctl resume\n"
	    "  Starts autonomous planning again.\n" },
	{ "run", NULL, "usage: ballastctl run\n"
	    "  Runs a control-loop cycle now and prints its outcome.\n" },
	{ "policy", NULL, "usage: ballastctl policy get | set [--preset P] "
	    "[--set key=value]... | reset\n"
	    "  get    the policy in force and where it comes from\n"
	    "  set    change the preset or single keys at run time "
	    "(docs/policy.md)\n"
	    "  reset  drop the run-time policy: the config file's applies\n" },
	{ "policy", "get", "usage: ballastctl policy get\n"
	    "  Prints the policy in force (GET /v1/policy).\n" },
	{ "policy", "set", "usage: ballastctl policy set [--preset P] "
	    "[--set key=value]...\n"
	    "  Changes the run-time policy (PUT /v1/policy); P is default,\n"
	    "  aggressive or conservative; keys as in docs/policy.md.\n" },
	{ "policy", "reset", "usage: ballastctl policy reset\n"
	    "  Drops the run-time policy (DELETE /v1/policy).\n" },
	{ "audit", NULL, "usage: ballastctl audit [--who NAME] [--action NAME] "
	    "[--limit N] [--offset N] [--json]\n"
	    "  The audit trail, newest first (GET /v1/audit): every change made\n"
	    "  through the API, by token name, with what was sent.\n" },
	{ "cycles", NULL, "usage: ballastctl cycles [--limit N] [--json]\n"
	    "  The control loop's history, newest first (GET /v1/cycles).\n" },
};

static int
is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* "ballastctl CMD [SUB] ... --help" of an API command: its usage on
 * stdout, and no request. 1 if answered. */
static int
api_help(int argc, char **argv)
{
	const struct usage *own = NULL, *sub = NULL;
	int asked = 0;

	for (int i = 2; i < argc; i++)
		asked |= is_help(argv[i]);
	if (!asked)
		return 0;
	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++) {
		const struct usage *u = &usages[i];

		if (strcmp(u->cmd, argv[1]) != 0)
			continue;
		if (u->sub == NULL)
			own = u;
		else if (argc > 2 && strcmp(u->sub, argv[2]) == 0)
			sub = u;
	}
	if (own == NULL && sub == NULL)
		return 0;
	fputs((sub ? sub : own)->text, stdout);
	return 1;
}

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
	    "3 server unreachable, 4 auth refused, 5 sent to a follower (the\n"
	    "leader's URL is printed; --follow-leader sends it there instead)\n"
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
		if (strcmp(argv[i], "--follow-leader") == 0) {
			setenv("BALLAST_FOLLOW_LEADER", "1", 1);
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
	if (api_help(argc, argv))
		return CLI_OK;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	usage(stderr);
	return cli_usage_error("unknown command \"%s\"", argv[1]);
}
