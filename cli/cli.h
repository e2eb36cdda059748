/* cli/cli.h - ballastctl subcommands. Each takes argv with argv[0] the
 * subcommand name and returns the process exit code:
 *   0 ok, 1 failed result, 2 usage or bad input, 3 server unreachable,
 *   4 auth refused. */
#ifndef CLI_CLI_H
#define CLI_CLI_H

enum {
	CLI_OK = 0,
	CLI_FAILED = 1,
	CLI_USAGE = 2,
	CLI_UNREACHABLE = 3,
	CLI_AUTH = 4,
	CLI_NOT_LEADER = 5,	/* a follower refused a change; see leader */
};

int	cli_crush_main(int argc, char **argv);
int	cli_plan_main(int argc, char **argv);
int	cli_job_main(int argc, char **argv);
int	cli_node_main(int argc, char **argv);
int	cli_objects_main(int argc, char **argv);
int	cli_verify_main(int argc, char **argv);
int	cli_status_main(int argc, char **argv);
int	cli_pause_main(int argc, char **argv);
int	cli_resume_main(int argc, char **argv);
int	cli_run_main(int argc, char **argv);
int	cli_policy_main(int argc, char **argv);
int	cli_cycles_main(int argc, char **argv);
int	cli_audit_main(int argc, char **argv);
int	cli_seed_main(int argc, char **argv);
int	cli_agent_main(int argc, char **argv);
int	cli_simulate_main(int argc, char **argv);

/* Prints "ballastctl: <msg>" to stderr and returns CLI_USAGE. */
int	cli_usage_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
