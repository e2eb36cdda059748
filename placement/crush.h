/* placement/crush.h - CRUSH (Weil et al., SC'06) with Ceph's later work:
 * straw2 buckets, the rjenkins1 hash, firstn and indep choose and chooseleaf
 * steps, and the tunables. It maps inputs exactly as Ceph's libcrush does.
 *
 * Pure and deterministic: no I/O, no globals, no allocation in
 * plc_crush_do_rule(). The caller passes scratch space, so one map may be
 * used from several threads at once, each with its own scratch.
 *
 * Item ids follow Ceph: devices are >= 0, buckets are < 0 and bucket id b
 * lives at index -1-b. Weights are 16.16 fixed point (0x10000 = 1.0).
 *
 * Loading a map from JSON (the shape of `ceph osd crush dump`) lives in
 * crush_json.c; building one from a ballast cluster map in crush_cluster.c.
 */
#ifndef PLC_CRUSH_H
#define PLC_CRUSH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "placement/cluster.h"

/* A hole in an indep result: no item could be placed at that position. */
#define PLC_CRUSH_ITEM_NONE	0x7fffffff

#define PLC_CRUSH_MAX_DEPTH	32	/* levels of buckets below a root */
#define PLC_CRUSH_MAX_RESULT	64	/* replicas one rule may return */
#define PLC_CRUSH_MAX_BUCKETS	(1 << 20)
#define PLC_CRUSH_MAX_DEVICES	(1 << 24)

enum plc_crush_alg {
	PLC_CRUSH_UNIFORM = 1,
	PLC_CRUSH_LIST = 2,
	PLC_CRUSH_TREE = 3,
	PLC_CRUSH_STRAW = 4,
	PLC_CRUSH_STRAW2 = 5,
};

/* Rule step operations; the numbers are Ceph's. */
enum plc_crush_op {
	PLC_CRUSH_NOOP = 0,
	PLC_CRUSH_TAKE = 1,
	PLC_CRUSH_CHOOSE_FIRSTN = 2,
	PLC_CRUSH_CHOOSE_INDEP = 3,
	PLC_CRUSH_EMIT = 4,
	PLC_CRUSH_CHOOSELEAF_FIRSTN = 6,
	PLC_CRUSH_CHOOSELEAF_INDEP = 7,
	PLC_CRUSH_SET_CHOOSE_TRIES = 8,
	PLC_CRUSH_SET_CHOOSELEAF_TRIES = 9,
	PLC_CRUSH_SET_CHOOSE_LOCAL_TRIES = 10,
	PLC_CRUSH_SET_CHOOSE_LOCAL_FALLBACK_TRIES = 11,
	PLC_CRUSH_SET_CHOOSELEAF_VARY_R = 12,
	PLC_CRUSH_SET_CHOOSELEAF_STABLE = 13,
};

struct plc_crush_tunables {
	uint32_t	choose_local_tries;
	uint32_t	choose_local_fallback_tries;
	uint32_t	choose_total_tries;
	uint32_t	chooseleaf_descend_once;
	uint32_t	chooseleaf_vary_r;
	uint32_t	chooseleaf_stable;
	uint32_t	straw_calc_version;
};

struct plc_crush_step {
	int	op;	/* enum plc_crush_op */
	int	arg1;	/* take: item; choose: num; set_*: value */
	int	arg2;	/* choose: type id */
};

struct plc_crush;	/* opaque */

/* --- hash and straw2 (usable on their own, e.g. by the planner) --------- */

uint32_t	plc_crush_hash2(uint32_t a, uint32_t b);
uint32_t	plc_crush_hash3(uint32_t a, uint32_t b, uint32_t c);
uint32_t	plc_crush_hash4(uint32_t a, uint32_t b, uint32_t c, uint32_t d);
uint32_t	plc_crush_hash5(uint32_t a, uint32_t b, uint32_t c, uint32_t d,
		    uint32_t e);
/* 2^44 * log2(u + 1) in CRUSH's fixed point, for u in [0, 0xffff]. */
uint64_t	plc_crush_ln(uint32_t u);
/* The straw2 draw of item id for input x and replica r at weight w (16.16).
 * Larger wins. w == 0 draws INT64_MIN. */
int64_t		plc_crush_straw2_draw(uint32_t x, int32_t id, uint32_t r,
		    uint32_t w);
/* Index of the straw2 winner among n items (ids hashed, weights 16.16);
 * ties go to the lower index, as in libcrush. n must be > 0. */
size_t		plc_crush_straw2_choose(const int32_t *ids,
		    const uint32_t *weights, size_t n, uint32_t x, uint32_t r);

/* --- building a map ------------------------------------------------------ */

/* An empty map with the modern tunables (Ceph's "optimal" profile). */
struct plc_crush	*plc_crush_new(void);
void			 plc_crush_free(struct plc_crush *c);   /* NULL: no-op */

void	plc_crush_set_tunables(struct plc_crush *c,
	    const struct plc_crush_tunables *t);

/* Declares device id (>= 0). Devices must be declared before use. */
int	plc_crush_add_device(struct plc_crush *c, int id, const char *name,
	    struct bl_err *err);
/* Declares type id with a name ("host", "rack", ...). */
int	plc_crush_add_type(struct plc_crush *c, int id, const char *name,
	    struct bl_err *err);
/* Adds bucket id (< 0) of type, alg and items with their 16.16 weights.
 * Copies the arrays. */
int	plc_crush_add_bucket(struct plc_crush *c, int id, const char *name,
	    int type, int alg, const int *items, const uint32_t *weights,
	    int n, struct bl_err *err);
/* Straw2 only: the ids hashed in place of the items (Ceph's choose_args
 * "ids"). Lets a bucket's items renumber without moving data. */
int	plc_crush_set_hash_ids(struct plc_crush *c, int bucket_id,
	    const int *ids, int n, struct bl_err *err);
/* Adds rule id with name and steps (copied). */
int	plc_crush_add_rule(struct plc_crush *c, int id, const char *name,
	    const struct plc_crush_step *steps, int n, struct bl_err *err);
/* Checks the whole map (dangling items, a bucket used twice, cycles,
 * depth, rules that take unknown items) and precomputes what the mapper
 * needs. Required before plc_crush_do_rule(). */
int	plc_crush_finalize(struct plc_crush *c, struct bl_err *err);

/* --- looking things up --------------------------------------------------- */

/* Rule id by name; -1 if none. */
int		 plc_crush_find_rule(const struct plc_crush *c, const char *name);
/* Type id by name; -1 if none. */
int		 plc_crush_find_type(const struct plc_crush *c, const char *name);
/* Name of item id; NULL if none. Borrowed for the life of c. */
const char	*plc_crush_item_name(const struct plc_crush *c, int id);
/* One more than the highest device id. */
int		 plc_crush_max_devices(const struct plc_crush *c);
/* Weight (16.16) of item id in the first bucket that holds it; 0 if
 * none does. */
uint32_t	 plc_crush_item_weight(const struct plc_crush *c, int id);

/* --- mapping ------------------------------------------------------------- */

/* Bytes of scratch that plc_crush_do_rule() needs for up to result_max
 * results. */
size_t	plc_crush_scratch_size(const struct plc_crush *c, int result_max);
/* Prepares scratch (of plc_crush_scratch_size() bytes) once; it may then
 * be reused for any number of calls with the same c and result_max. */
void	plc_crush_scratch_init(const struct plc_crush *c, int result_max,
	    void *scratch);

/* Maps x through rule and writes up to result_max items to out; returns
 * how many. indep rules write PLC_CRUSH_ITEM_NONE for holes. weight is the
 * per-device reweight vector (16.16, 0 = out) of weight_max entries;
 * weight NULL means every device fully in. Same semantics as libcrush's
 * crush_do_rule(). */
int	plc_crush_do_rule(const struct plc_crush *c, int rule, uint32_t x,
	    int *out, int result_max, const uint32_t *weight, int weight_max,
	    void *scratch);

/* --- loading ------------------------------------------------------------- */

/* The most map text a caller should read for plc_crush_from_json(); real
 * maps are a few MiB. */
#define PLC_CRUSH_JSON_MAX	(256u << 20)

/* Parses a map in the shape of `ceph osd crush dump`. Errors name the JSON
 * path, e.g. "buckets[3].items[1].id: dangling item -7"; a caller that read
 * the text from a file prefixes the file's path (placement reads no files). */
struct plc_crush	*plc_crush_from_json(const char *text, size_t len,
			    struct bl_err *err);

/* Builds the CRUSH hierarchy of a ballast cluster (documented in
 * docs/placement.md): root "default" > region > datacenter > rack > host >
 * device, all straw2, with one rule per failure domain named
 * "ballast_host", "ballast_rack" and "ballast_datacenter". Device i is
 * cluster->nodes[i]. Only nodes in state "in" carry weight. Items hash by a
 * stable id derived from their names, so adding or removing a node does not
 * change the draws of the others. */
struct plc_crush	*plc_crush_from_cluster(const struct plc_cluster *cl,
			    struct bl_err *err);

#endif
