/* tests/helpers/th_samehost.h - the 20-host x 10-disk map on which the
 * planner's preference for free same-host moves is measured, shared by
 * tests/unit/test_planner.c and bench/bench_plan.c. */
#ifndef TH_SAMEHOST_H
#define TH_SAMEHOST_H

#include <stddef.h>

#include "placement/cluster.h"

/* 20 hosts x 10 disks, 3 copies on distinct hosts, the first disk of
 * every host over-full (caller frees with plc_cluster_free). */
struct plc_cluster *th_samehost_cluster(void);
/* Plans on that map with prefer_same_host off (0) or on (1): the share of
 * the moves that stay on their host; the moves in *nmoves, and in
 * *domains_ok whether no object ended with two copies on one host. */
double	th_samehost_share(int prefer, size_t *nmoves, int *domains_ok);

#endif
