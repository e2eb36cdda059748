/* tests/helpers/th_cluster.c - see th_cluster.h. */
#include "tests/helpers/th_cluster.h"

int
th_cluster_start(const struct th_cluster *k)
{
	if (th_pg_start(k->pg) != 0)
		return -1;
	for (int i = 0; i < k->n; i++)
		if (tha_agent_startv(&k->ag[i], k->names[i], k->agent_args) !=
		    0)
			return -1;
	if (th_ctl_start_ex(k->ctl, k->pg->conninfo, k->engine_extra,
	    k->policy, k->top, "ctl") != 0)
		return -1;
	return th_ctl_register(k->ctl, k->ag, k->n);
}

int
th_cluster_stop(const struct th_cluster *k)
{
	int rc = th_ctl_stop(k->ctl) == 0 ? 0 : -1;

	for (int i = 0; i < k->n; i++) {
		tha_agent_stop(&k->ag[i]);
		tha_agent_free(&k->ag[i]);
	}
	th_pg_destroy(k->pg);
	tha_cleanup();
	return rc;
}

int
th_cluster_restart_agents(const struct th_cluster *k)
{
	for (int i = 0; i < k->n; i++)
		if (tha_agent_stop(&k->ag[i]) != 0 ||
		    tha_agent_restart(&k->ag[i], NULL) != 0)
			return -1;
	return 0;
}
