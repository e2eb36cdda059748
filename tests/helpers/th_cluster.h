/* tests/helpers/th_cluster.h - the cluster most integration tests run
 * against: a private PostgreSQL (th_pg.h), real agents (agent_harness.h)
 * and a real ballastd (th_ctl.h) with the agents registered as nodes.
 * The test keeps the parts in its own variables; a th_cluster names them
 * and says how to start them.
 */
#ifndef TH_CLUSTER_H
#define TH_CLUSTER_H

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_ctl.h"
#include "tests/helpers/th_pg.h"

struct th_cluster {
	struct th_pg		*pg;	/* borrows */
	struct tha_agent	*ag;	/* borrows: n of them */
	struct th_ctl		*ctl;	/* borrows */
	int			 n;
	const char *const	*names;	/* borrows: the agents' names */
	/* borrows: every agent's extra args, NULL end; NULL: none */
	const char *const	*agent_args;
	/* borrows: th_ctl_start_ex's; each may be NULL */
	const char		*engine_extra;
	const char		*policy;
	const char		*top;
};

/* Starts PostgreSQL, the agents and ballastd (directory "ctl"), and
 * registers the agents. 0 or -1; th_cluster_stop stops what started. */
int	th_cluster_start(const struct th_cluster *k);
/* Stops ballastd, the agents and PostgreSQL, and removes the test's temp
 * dir. 0 if ballastd exited with 0 (in ASan builds that also means no
 * sanitizer report), else -1 (also when it was not running). */
int	th_cluster_stop(const struct th_cluster *k);
/* Stops every agent and starts it again: an agent counts its root when it
 * starts. 0 or -1. */
int	th_cluster_restart_agents(const struct th_cluster *k);

#endif
