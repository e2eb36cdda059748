/* cli/simulate.h - ballastctl simulate: the control loop on simulated time
 * (docs/simulate.md). Internal to cli/: simulate.c reads the inputs and
 * writes the outputs, simulate_model.c is the model (objects, jobs,
 * transfers, the cycle), simulate_out.c the table, JSON, CSV and SVG.
 *
 * The cycle's rules are not here: they are policy/decide.c's, the ones
 * ballastd runs, and the plan is placement/planner.c's.
 */
#ifndef CLI_SIMULATE_H
#define CLI_SIMULATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lib/err.h"
#include "placement/cluster.h"
#include "placement/planner.h"
#include "policy/policy.h"

/* The objects, one entry per index; copies are a fixed stride. */
struct sim_objs {
	size_t		 n, cap;
	uint64_t	*key;		/* owns: plc_object_key() */
	uint64_t	*size;		/* owns */
	double		*reads;		/* owns */
	uint64_t	*dcmask;	/* owns */
	uint8_t		*pinned;	/* owns */
	uint8_t		*ncopies;	/* owns */
	uint8_t		*alive;		/* owns: 0 once deleted */
	uint32_t	*busy;		/* owns: open tasks */
	double		*moved_at;	/* owns: last controller move; < 0 none */
	uint32_t	*mult;		/* owns: objects an entry stands for */
	uint32_t	*copies;	/* owns: PLC_COPIES_MAX per object */
};

enum sim_task_state { ST_WAIT = 0, ST_ACTIVE, ST_DONE, ST_SKIP };

struct sim_task {
	uint32_t	job;
	uint32_t	state;		/* enum sim_task_state */
	size_t		obj;
	uint32_t	from;		/* the copy replaced */
	uint32_t	to;
	uint32_t	pull;		/* the node read from, while active */
	double		left;		/* bytes still to copy */
	double		rate;		/* bytes/s, this epoch */
};

struct sim_job {
	int		 evacuate;	/* 0: controller rebalance */
	int		 paused;	/* by quiet hours */
	int		 done;
	double		 created, finished;
	double		 throttle;	/* bytes/s; <= 0 none */
	size_t		 first, n;	/* its tasks: tasks[first..first+n) */
	size_t		 next;		/* first task not yet started */
	size_t		 open;		/* waiting or active */
	size_t		 active;
};

/* One timed event of the scenario; the JSON is kept and applied when its
 * time comes. */
struct sim_event {
	double		 at;		/* seconds after the start */
	json_t		*ev;		/* owns */
	size_t		 index;		/* in the file, for messages */
};

struct sim_cycle {
	int		 n;		/* 1-based */
	double		 t;		/* seconds after the start */
	int		 outcome;	/* enum pol_outcome */
	char		 reason[256];
	double		 imbalance, projected;
	int		 has_projected;
	long long	 moves, bytes, min_bytes;
	double		 cost;
	int		 open_jobs, quiet;
	long long	 moved_bytes;	/* transfers completed since the last */
	long long	 residency_held;	/* candidates held by residency */
	int		 cooling;	/* nodes in cooldown */
};

struct sim_opts {
	double		 node_bps;	/* default per-node bytes/s */
	long		 max_transfers;	/* per node, as destination */
	double		 duration_s;
	long		 max_cycles;
	double		 thrash_window_s;
	time_t		 start;		/* epoch of t = 0 */
	/* The scale model (docs/simulate.md): an entry stands for up to
	 * `bundle` objects of one size class on one set of nodes; 1: exact,
	 * one entry per object. */
	long		 bundle;
};

struct sim {
	struct sim_opts	 o;
	struct plc_cluster *cl;		/* owns: used_bytes is what is held */
	double		*node_bps;	/* owns: per node */
	double		*cool_until;	/* owns: per node */
	struct sim_objs	 ob;
	struct sim_task	*tasks;		/* owns */
	size_t		 ntasks, tasks_cap;
	size_t		*act;		/* owns: active task indexes, in start
					   order */
	size_t		 nact, act_cap;
	uint32_t	*dst_act;	/* owns: per node, active as destination */
	uint32_t	*src_act;	/* owns: per node, active as source */
	double		*egress;	/* owns: per node, bytes/s this epoch */
	struct sim_job	*jobs;		/* owns */
	size_t		 njobs, jobs_cap;
	struct sim_event *events;	/* owns */
	size_t		 nevents, next_event;
	json_t		*policy_doc;	/* owns: the policy's keys so far */
	struct pol_policy pol;
	double		 now;
	int		 balancing;
	uint64_t	 grown;		/* objects written by grow events */
	/* results */
	struct sim_cycle *cycles;	/* owns */
	size_t		 ncycles, cycles_cap;
	long long	 moved_bytes, moved_rebalance, moved_evacuate;
	long long	 moves_done, repeat_moves, cycle_moved;
	long long	 min_bytes_sum;
	double		 peak_egress;	/* bytes/s of one node */
	char		 peak_node[64];
	int		 converged_cycle;	/* 0: not converged */
	double		 converged_t;
	double		 last_event_t;
};

/* simulate_model.c */
int	sim_init(struct sim *s, struct plc_cluster *cl, json_t *policy_doc,
	    struct bl_err *err);
void	sim_release(struct sim *s);
/* Appends one object; copies are node indexes. */
int	sim_obj_add(struct sim *s, uint64_t key, uint64_t size, double reads,
	    const uint32_t *copies, size_t ncopies, int pinned,
	    uint64_t dcmask);
/* Runs the whole scenario. */
int	sim_run(struct sim *s, struct bl_err *err);
/* (Re)reads s->policy_doc into s->pol. */
int	sim_policy_load(struct sim *s, struct bl_err *err);

/* simulate_out.c */
void	sim_print_table(const struct sim *s, FILE *f);
json_t	*sim_json(const struct sim *s);
int	sim_write_csv(const struct sim *s, FILE *f);
int	sim_write_svg(const struct sim *s, FILE *f);

#endif
