/* placement/planner.h - plans the moves that rebalance a cluster
 * (DESIGN 5; docs/planner.md).
 *
 * Use: plc_planner_new() with the cluster and options, then
 * plc_planner_add() once per object as the objects stream in (from a file
 * or a database cursor; the planner keeps only a bounded set of the best
 * candidates per over-full node), then plc_planner_run().
 *
 * Pure and deterministic: no I/O, no clock, no logging. plc_planner_add()
 * does not allocate. The same cluster, options and objects (in any order)
 * give the same plan, unless two object ids share a 64-bit key
 * (plc_object_key()), when the caller's handle breaks the tie.
 */
#ifndef PLC_PLANNER_H
#define PLC_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "placement/cluster.h"
#include "placement/gravity.h"

#define PLC_COPIES_MAX		12	/* copies of one object */
#define PLC_CAND_PER_SOURCE	4096	/* default candidates kept per node */

struct plc_planner_opts {
	double		threshold;	/* act when imbalance >= this */
	double		target;		/* stop when imbalance <= this */
	double		max_fill;	/* no destination past this fill */
	int		failure_domain;	/* enum plc_domain */
	double		protection;	/* gravity >= this never moves */
	struct plc_gravity_weights weights;
	double		prices[PLC_LINK_N];	/* per GiB, by enum plc_link */
	int64_t		max_moves;	/* < 0: unlimited */
	int64_t		max_egress_bytes;	/* < 0: unlimited */
	double		max_cost;	/* < 0: unlimited */
	size_t		cand_per_source;	/* 0: PLC_CAND_PER_SOURCE */
	/* Per node index, the candidates to keep for that node instead of
	 * cand_per_source (e.g. the copies it holds, when the caller knows
	 * them); NULL: none. Borrowed for plc_planner_new() only. */
	const uint32_t	*cand_caps;
	int		quiet;		/* inside quiet hours: plan nothing */
	/* Plan at most one move per object (a job moves one copy of an
	 * object per cycle): a second copy of a moved object is deferred,
	 * counted in n_deferred, and uses none of the budgets. */
	int		one_move_per_object;
	/* When an eligible destination shares the source's host and
	 * same-host moves are free, choose among those only (straw2 over
	 * them, as over all eligible nodes otherwise). Default on. */
	int		prefer_same_host;
};

/* One object as the caller streams it. Everything is borrowed for the
 * duration of plc_planner_add(). */
struct plc_object {
	uint64_t	 handle;	/* the caller's, returned in moves */
	uint64_t	 key;		/* plc_object_key() of the id */
	uint64_t	 size;		/* bytes */
	const uint32_t	*copies;	/* node indexes into cluster->nodes */
	size_t		 ncopies;	/* 1..PLC_COPIES_MAX, distinct */
	const uint32_t	*colocated;	/* per copy: other objects of its
					   affinity group on that node; NULL: 0 */
	double		 reads_per_hour;
	int		 pinned;	/* allowed_dcs is not empty */
	uint64_t	 allowed_dcs;	/* bit i: plc_cluster_dcs() index i */
};

enum plc_reason {
	PLC_REASON_OVERFULL = 0,	/* from the fullest node to one below
					   the mean */
};

struct plc_move {
	uint64_t	handle;
	uint32_t	from;		/* node index */
	uint32_t	to;
	uint64_t	bytes;
	double		cost;
	double		gravity;
	int		reason;		/* enum plc_reason */
	int		link;		/* enum plc_link */
	double		from_fill;	/* used/capacity before the move */
	double		to_fill;
};

enum plc_stop {
	PLC_STOP_BELOW_THRESHOLD = 0,	/* nothing to do */
	PLC_STOP_TARGET,		/* projected imbalance <= target */
	PLC_STOP_QUIET,			/* inside quiet hours */
	PLC_STOP_BUDGET_MOVES,		/* the move budget is used up */
	PLC_STOP_NO_CANDIDATES,		/* every candidate was tried */
	PLC_STOP_NO_NODES,		/* no node is "in" */
	PLC_STOP_BUDGET_BYTES_COST,	/* candidates were left, but none fit
					   the egress-bytes or cost budget */
};

struct plc_plan {
	struct plc_move		*moves;		/* owns */
	size_t			 n_moves;
	struct plc_fill_stats	 before;
	struct plc_fill_stats	 after;		/* projected */
	double			 threshold;
	double			 target;
	uint64_t		 bytes;
	double			 cost;
	int64_t			 max_moves;	/* limits as given; < 0: none */
	int64_t			 max_egress_bytes;
	double			 max_cost;
	int			 quiet;
	int			 stop;		/* enum plc_stop */
	/* Why candidates did not move. */
	uint64_t		 n_objects;	/* plc_planner_add() calls */
	uint64_t		 n_candidates;	/* copies on over-full nodes */
	uint64_t		 n_protected;	/* gravity >= protection */
	uint64_t		 n_no_destination;	/* no eligible node */
	uint64_t		 n_over_budget;	/* would pass bytes or cost */
	/* too big for the source's excess */
	uint64_t		 n_overshoot;
	/* that copy had moved already */
	uint64_t		 n_already_moved;
	/* second moves of one object left for a later cycle
	   (one_move_per_object) */
	uint64_t		 n_deferred;
};

/* The stable 64-bit key of an object id: FNV-1a 64 over its bytes. Its low
 * 32 bits xor its high 32 bits are the CRUSH input x of the object. */
uint64_t	plc_object_key(const char *id, size_t len);
/* The 31-bit id a node is hashed by in straw2: FNV-1a 64 of its id string,
 * folded, top bit clear. Stable across adding and removing other nodes. */
int32_t		plc_node_hash_id(const char *id);

/* Default options from nothing: threshold 0.10, target 0.05, max_fill 0.9,
 * host domain, protection 0.9, default weights and prices, no budgets. */
void		plc_planner_opts_init(struct plc_planner_opts *o);

struct plc_planner;

/* cl is borrowed and must outlive the planner. NULL on error. */
struct plc_planner	*plc_planner_new(const struct plc_cluster *cl,
			    const struct plc_planner_opts *o,
			    struct bl_err *err);
void			 plc_planner_free(struct plc_planner *p); /* NULL ok */

/* Offers one object. Fails on a bad object (an unknown node, too many or
 * repeated copies); the planner is then unchanged. No allocation. */
int		plc_planner_add(struct plc_planner *p,
		    const struct plc_object *obj, struct bl_err *err);

/* What adding objects counted (the plan's n_objects, n_candidates and
 * n_protected). */
struct plc_planner_tally {
	uint64_t	n_objects;
	uint64_t	n_candidates;
	uint64_t	n_protected;
};

/* Adding on several threads at once: share k of n offers each object's
 * copies only to its own slice of the over-full nodes, and counts into its
 * own tally t (share 0 counts the objects). Give every share every object;
 * then pass each tally to plc_planner_add_tally(), and the planner is as
 * plc_planner_add() would have left it, whatever the shares' order. Calls
 * for different shares may run at the same time; no other call may. */
int		plc_planner_add_share(struct plc_planner *p,
		    const struct plc_object *obj, unsigned share,
		    unsigned nshares, struct plc_planner_tally *t,
		    struct bl_err *err);
void		plc_planner_add_tally(struct plc_planner *p,
		    const struct plc_planner_tally *t);
/* Plans; may be called once. Fills plan (release it with
 * plc_plan_release()). */
int		plc_planner_run(struct plc_planner *p, struct plc_plan *plan,
		    struct bl_err *err);
void		plc_plan_release(struct plc_plan *plan);

const char	*plc_stop_name(int stop);
/* A short human reason for move m, e.g. "over-full: source fill 0.912,
 * mean 0.620, destination fill 0.431". Writes into buf. */
const char	*plc_move_reason(const struct plc_move *m, double mean,
		    char *buf, size_t len);

/* --- plan_json.c ---------------------------------------------------------- */

#include <jansson.h>

/* The object id of a move's handle; borrowed until the next call. */
typedef const char *(*plc_plan_id_fn)(uint64_t handle, void *arg);

/* The plan as JSON: {"summary": {imbalance_before, imbalance_projected,
 * target_imbalance, moves, bytes, min_bytes, cost, quiet, budget},
 * "moves": [{object, from, to, bytes, cost, gravity, reason}]}. A new
 * reference. */
json_t		*plc_plan_json(const struct plc_cluster *cl,
		    const struct plc_plan *plan, plc_plan_id_fn id_fn,
		    void *arg);

#endif
