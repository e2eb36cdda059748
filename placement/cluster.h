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

#include <sys/types.h>

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

/* Link classes between two nodes, cheapest first; see plc_link_class(). */
enum plc_link {
	PLC_LINK_SAME_HOST = 0,
	PLC_LINK_SAME_RACK,
	PLC_LINK_SAME_DATACENTER,
	PLC_LINK_CROSS_DATACENTER,	/* same region */
	PLC_LINK_CROSS_REGION,
	PLC_LINK_N
};

/* Fill statistics over the nodes in state "in" (DESIGN section 5). */
struct plc_fill_stats {
	size_t		 n_in;		/* nodes counted */
	double		 mean;		/* sum used / sum capacity */
	double		 min;		/* min used/capacity; 0 if n_in == 0 */
	double		 max;
	double		 imbalance;	/* max - min */
	double		 stddev;	/* population stddev of used/capacity */
	/* sum of max(0, used - capacity * mean) */
	uint64_t	 min_bytes;
};

/* An empty cluster (no nodes, failure domain host). NULL: out of memory. */
struct plc_cluster	*plc_cluster_new(void);
/* NULL: no-op */
void			 plc_cluster_free(struct plc_cluster *cl);

/* Index of the node with that id, or -1 if none. Nodes must be sorted by
 * id (plc_cluster_sort()). */
ssize_t		 plc_cluster_find(const struct plc_cluster *cl, const char *id);
/* Sorts the nodes by id (strcmp order). Fails if two nodes share an id. */
int		 plc_cluster_sort(struct plc_cluster *cl, struct bl_err *err);
/* Fills st from the nodes in state "in"; used is the per-node usage to use
 * (NULL: the nodes' used_bytes). */
void		 plc_cluster_fill_stats(const struct plc_cluster *cl,
		    const uint64_t *used, struct plc_fill_stats *st);
/* The distinct datacenter names, in the order they first appear in
 * nodes[]; a datacenter's position is its index in datacenter masks.
 * Writes up to max borrowed names (valid while cl lives) and returns how
 * many there are. */
size_t		 plc_cluster_dcs(const struct plc_cluster *cl,
		    const char **names, size_t max);
/* The link class of a move from node a to node b. */
int		 plc_link_class(const struct plc_node *a,
		    const struct plc_node *b);

/* Names: "host"/"rack"/"datacenter", "in"/"draining"/"out", and
 * "same_host"/.../"cross_region". The parse functions return -1 if the
 * name is unknown. Returned strings are static. */
const char	*plc_domain_name(int domain);
int		 plc_domain_parse(const char *name);
const char	*plc_node_state_name(int state);
int		 plc_node_state_parse(const char *name);
const char	*plc_link_name(int link);

/* --- choose.c: the rules of every destination choice ----------------------
 * The planner (planner.c) and an evacuation (plc_choose_dest(), used by the
 * job engine and the simulator) choose destinations by these rules, so that
 * they never disagree on which nodes may take a copy, nor on what a node
 * weighs (DESIGN 5; docs/engine.md). */

/* Whether nd takes new copies at all: state "in", reachable, and with a
 * capacity. */
int		 plc_node_takes(const struct plc_node *nd);
/* The most bytes nd may hold under max_fill: floor(max_fill * capacity). */
uint64_t	 plc_node_fill_limit(const struct plc_node *nd, double max_fill);
/* What nd weighs in CRUSH (plc_crush_from_cluster()) and in an evacuation's
 * straw2, in 16.16 fixed point: its weight, or its capacity in TiB when the
 * weight is 0, rounded to the nearest; at least 1 and at most
 * 0x7fffffff / 1024 (just under 32.0), so that 1024 of them sum without
 * overflow. */
uint32_t	 plc_node_weight(const struct plc_node *nd);
/* Whether a and b share the failure domain (enum plc_domain): the same path
 * from the region down to that level, so rack "r1" of dc1 is not rack "r1"
 * of dc2, nor host "h1" of rack r1 host "h1" of rack r2. Names compare as
 * they are, the empty name included. */
int		 plc_same_domain(const struct plc_node *a,
		    const struct plc_node *b, int domain);

/* What a destination is chosen for: one new copy of one object. */
struct plc_choice {
	const int	*copies;	/* borrows; node indexes of its copies
					   (out of range ones are ignored) */
	size_t		 ncopies;
	int		 replaced;	/* the copy being replaced; -1: none */
	uint64_t	 size;		/* bytes */
	uint32_t	 x;		/* CRUSH input: plc_object_key() low
					   32 bits xor high 32 bits */
	const char *const *allowed_dcs;	/* borrows; datacenter names */
	size_t		 nallowed;	/* 0: any datacenter */
	double		 max_fill;	/* 0..1 */
	int		 domain;	/* enum plc_domain */
};

/* The nodes that may take the copy, in node order: state "in" and
 * reachable; not holding a copy; not sharing the failure domain of a copy
 * other than the replaced one; in an allowed datacenter; with a capacity
 * and within max_fill after the copy (used: each node's projected bytes,
 * NULL: used_bytes). Writes their indexes to which[] and their
 * plc_node_weight() to weights[] (NULL: not wanted), n entries at most, and
 * returns how many. *nfull (NULL: not wanted) counts the nodes refused only
 * for want of space. No allocation. */
size_t		 plc_choose_eligible(const struct plc_node *nodes, size_t n,
		    const uint64_t *used, const struct plc_choice *in,
		    uint32_t *which, uint32_t *weights, size_t *nfull);

/* Bytes of scratch plc_choose_dest() needs for n nodes. */
size_t		 plc_choose_scratch_size(size_t n);
/* Prepares scratch once for nodes[0..n) (their straw2 ids and weights); it
 * may then serve any number of plc_choose_dest() calls on the same nodes. */
void		 plc_choose_scratch_init(const struct plc_node *nodes,
		    size_t n, void *scratch);
/* Chooses where the copy goes: straw2 (items hashed by plc_node_hash_id(),
 * weighted by plc_node_weight(), input in->x) among plc_choose_eligible().
 * used[] is each node's projected bytes; the winner's grows by in->size, so
 * one batch of choices does not overfill a node. Returns the node index, or
 * -1 with *nfull (NULL: not wanted) the number of nodes refused only for
 * want of space. No allocation. */
int		 plc_choose_dest(const struct plc_node *nodes, size_t n,
		    uint64_t *used, const struct plc_choice *in,
		    void *scratch, size_t *nfull);
/* Chooses the node a new copy is read from: another copy on a reachable
 * node that is not "out" (an "in" node before a draining one), else the
 * replaced copy's node if it is reachable, else -1. */
int		 plc_choose_pull(const struct plc_node *nodes, size_t n,
		    const int *copies, size_t ncopies, int replaced);

/* --- cluster_json.c ------------------------------------------------------ */

/* Parses the cluster map:
 *   {"failure_domain":"host","nodes":[{"id","region","datacenter","rack",
 *    "host","capacity_bytes","used_bytes","state","weight"?,"latency_ms"?,
 *    "reachable"?}]}
 * Errors name the JSON path, e.g. "nodes[2].capacity_bytes: expected a
 * positive integer". name (borrowed, may be NULL) prefixes messages: pass
 * the file's path when the text came from one (placement reads no files;
 * the caller does, e.g. with bl_read_file()). */
struct plc_cluster	*plc_cluster_from_json(const char *text, size_t len,
			    const char *name, struct bl_err *err);

#endif
