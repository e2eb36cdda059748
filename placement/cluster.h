/* placement/cluster.h - the ballast cluster map: storage nodes with a
 * location (region > datacenter > rack > host), capacity, usage and state.
 *
 * Pure data; loading from JSON lives in cluster_json.c. The CRUSH view of a
 * cluster is built by plc_crush_from_cluster() (placement/crush.h).
 */
#ifndef PLC_CLUSTER_H
#define PLC_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum plc_node_state {
	PLC_NODE_IN = 0,	/* takes and holds data */
	PLC_NODE_DRAINING,	/* takes no new copies; being evacuated */
	PLC_NODE_OUT,		/* holds nothing we count on */
};

/* The level of the hierarchy that copies of one object must not share. */
enum plc_domain {
	PLC_DOMAIN_HOST = 0,
	PLC_DOMAIN_RACK,
	PLC_DOMAIN_DATACENTER,
};

struct plc_node {
	char		*id;		/* owns; e.g. "1.stor.dc1" */
	char		*region;	/* owns */
	char		*datacenter;	/* owns */
	char		*rack;		/* owns */
	char		*host;		/* owns */
	uint64_t	 capacity_bytes;
	uint64_t	 used_bytes;
	double		 weight;	/* > 0; default: capacity in TiB */
	double		 latency_ms;	/* < 0: unknown */
	int		 state;		/* enum plc_node_state */
	int		 reachable;	/* 0: left out of this cycle */
};

struct plc_cluster {
	struct plc_node	*nodes;		/* owns; sorted by id */
	size_t		 n;
	int		 failure_domain;	/* enum plc_domain */
};

#endif
