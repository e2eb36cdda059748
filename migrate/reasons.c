/* migrate/reasons.c - skip reasons and state names (pure). */
#include "migrate/engine.h"

#include <string.h>

const char *const mig_skip_reasons[] = {
	/* Manta's, in snake_case. */
	"agent_fs_error",
	"agent_assignment_no_ent",
	"agent_busy",
	"assignment_error",
	"assignment_mismatch",
	"assignment_rejected",
	"destination_insufficient_space",
	"destination_unreachable",
	"md5_mismatch",
	"network_error",
	"object_already_on_dest_node",
	"object_already_in_datacenter",
	"source_other_error",
	"source_is_evac_node",
	"http_status",
	/* ours */
	"metadata_changed",		/* CAS found the object changed/gone */
	"source_unavailable",		/* no copy can be read */
	"no_eligible_destination",	/* domain/pin rules leave no node */
	"size_mismatch",		/* agent: wrong length */
	"timeout",			/* agent: the pull timed out */
	"job_cancelled",		/* not started before a cancel */
	"object_missing",		/* the object does not exist */
	NULL
};

int
mig_reason_known(const char *name)
{
	if (name == NULL)
		return 0;
	for (int i = 0; mig_skip_reasons[i] != NULL; i++)
		if (strcmp(mig_skip_reasons[i], name) == 0)
			return 1;
	return 0;
}

const char *
mig_reason_from_agent(const char *r)
{
	static const struct {
		const char *agent, *ours;
	} map[] = {
		{ "md5_mismatch", "md5_mismatch" },
		{ "size_mismatch", "size_mismatch" },
		{ "http_status", "http_status" },
		{ "network_error", "network_error" },
		{ "timeout", "timeout" },
		{ "agent_fs_error", "agent_fs_error" },
		{ "insufficient_space", "destination_insufficient_space" },
		{ "source_other_error", "source_other_error" },
		{ "shutdown", "agent_busy" },
	};

	if (r != NULL)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(map[i].agent, r) == 0)
				return map[i].ours;
	return "assignment_error";
}

static int
in_list(const char *s, const char *const *list)
{
	if (s == NULL)
		return 0;
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

int
mig_job_state_valid(const char *s)
{
	static const char *const states[] = { "init", "setup", "running",
	    "paused", "complete", "failed", "cancelled", NULL };

	return in_list(s, states);
}

int
mig_task_state_valid(const char *s)
{
	static const char *const states[] = { "unprocessed", "assigned",
	    "copied", "committed", "complete", "skipped", "failed", NULL };

	return in_list(s, states);
}

int
mig_job_transition_ok(const char *from, const char *to)
{
	static const struct {
		const char *from, *to;
	} ok[] = {
		{ "init", "setup" }, { "setup", "running" },
		{ "running", "paused" }, { "paused", "running" },
		{ "running", "complete" }, { "init", "failed" },
		{ "setup", "failed" }, { "running", "failed" },
		{ "init", "cancelled" }, { "setup", "cancelled" },
		{ "running", "cancelled" }, { "paused", "cancelled" },
	};

	if (from == NULL || to == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(ok[i].from, from) == 0 && strcmp(ok[i].to, to) == 0)
			return 1;
	return 0;
}
