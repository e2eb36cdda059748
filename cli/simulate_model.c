/* cli/simulate_model.c - the model of ballastctl simulate: objects, jobs and
 * transfers on simulated time, and one control-loop cycle that calls the
 * decision ballastd calls (policy/decide.c) and the same planner.
 *
 * Transfers are a fluid model: between two events every active transfer
 * runs at min(source bytes/s / its transfers, destination bytes/s / its
 * transfers, the job's throttle / the job's active transfers); at most
 * max_transfers are active per destination (the engine's
 * max_inflight_per_node); jobs start tasks in creation order. Everything is
 * deterministic: no clock, no unseeded randomness.
 */
#include "cli/simulate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tz.h"
#include "policy/decide.h"

#define STRIDE	PLC_COPIES_MAX

static const struct pol_tz real_tz = { bl_tz_localtime, NULL };

/* --- deterministic randomness --------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A uniform number in [0, 1) from a seed and an index. */
static double
unit(uint64_t seed, uint64_t i)
{
	return (double)(mix64(seed * 0x100000001b3ull ^ mix64(i)) >> 11) /
	    9007199254740992.0;
}

/* --- set-up --------------------------------------------------------------- */

int
sim_policy_load(struct sim *s, struct bl_err *err)
{
	char *text = json_dumps(s->policy_doc, JSON_SORT_KEYS);
	int rc;

	if (text == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	rc = pol_parse_json(text, strlen(text), "policy", -1, &real_tz,
	    &s->pol, err);
	free(text);
	return rc;
}

int
sim_init(struct sim *s, struct plc_cluster *cl, json_t *policy_doc,
    struct bl_err *err)
{
	s->cl = cl;
	s->policy_doc = policy_doc;
	s->node_bps = calloc(cl->n ? cl->n : 1, sizeof(double));
	s->cool_until = calloc(cl->n ? cl->n : 1, sizeof(double));
	s->dst_act = calloc(cl->n ? cl->n : 1, sizeof(uint32_t));
	s->src_act = calloc(cl->n ? cl->n : 1, sizeof(uint32_t));
	s->egress = calloc(cl->n ? cl->n : 1, sizeof(double));
	if (s->node_bps == NULL || s->cool_until == NULL ||
	    s->dst_act == NULL || s->src_act == NULL || s->egress == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	for (size_t i = 0; i < cl->n; i++)
		s->node_bps[i] = s->o.node_bps;
	if (sim_policy_load(s, err) < 0)
		return -1;
	/* "Moved again" is counted within the residency by default. */
	if (s->o.thrash_window_s <= 0)
		s->o.thrash_window_s = s->pol.min_residency_s > 0 ?
		    (double)s->pol.min_residency_s : 3600;
	return 0;
}

void
sim_release(struct sim *s)
{
	struct sim_objs *o = &s->ob;

	free(o->key);
	free(o->size);
	free(o->reads);
	free(o->dcmask);
	free(o->pinned);
	free(o->ncopies);
	free(o->alive);
	free(o->busy);
	free(o->moved_at);
	free(o->mult);
	free(o->copies);
	for (size_t i = 0; i < s->nevents; i++)
		json_decref(s->events[i].ev);
	free(s->events);
	free(s->tasks);
	free(s->jobs);
	free(s->cycles);
	free(s->node_bps);
	free(s->cool_until);
	free(s->dst_act);
	free(s->src_act);
	free(s->egress);
	free(s->act);
	json_decref(s->policy_doc);
	plc_cluster_free(s->cl);
	memset(s, 0, sizeof(*s));
}

#define GROW(p, n)	do {						\
		void *np_ = realloc((p), (n) * sizeof(*(p)));		\
		if (np_ == NULL)					\
			return -1;					\
		(p) = np_;						\
	} while (0)

static int
objs_reserve(struct sim_objs *o, size_t need)
{
	size_t nc;

	if (need <= o->cap)
		return 0;
	nc = o->cap ? o->cap * 2 : 4096;
	while (nc < need)
		nc *= 2;
	GROW(o->key, nc);
	GROW(o->size, nc);
	GROW(o->reads, nc);
	GROW(o->dcmask, nc);
	GROW(o->pinned, nc);
	GROW(o->ncopies, nc);
	GROW(o->alive, nc);
	GROW(o->busy, nc);
	GROW(o->moved_at, nc);
	GROW(o->mult, nc);
	GROW(o->copies, nc * STRIDE);
	o->cap = nc;
	return 0;
}

int
sim_obj_add(struct sim *s, uint64_t key, uint64_t size, double reads,
    const uint32_t *copies, size_t ncopies, int pinned, uint64_t dcmask)
{
	struct sim_objs *o = &s->ob;
	size_t i = o->n;

	if (ncopies == 0 || ncopies > STRIDE || objs_reserve(o, i + 1) < 0)
		return -1;
	o->key[i] = key;
	o->size[i] = size;
	o->reads[i] = reads;
	o->dcmask[i] = dcmask;
	o->pinned[i] = (uint8_t)pinned;
	o->ncopies[i] = (uint8_t)ncopies;
	o->alive[i] = 1;
	o->busy[i] = 0;
	o->moved_at[i] = -1;
	o->mult[i] = 1;
	memcpy(o->copies + i * STRIDE, copies, ncopies * sizeof(*copies));
	o->n++;
	return 0;
}

static int
copy_index(const struct sim *s, size_t obj, uint32_t node)
{
	const uint32_t *c = s->ob.copies + obj * STRIDE;

	for (int k = 0; k < s->ob.ncopies[obj]; k++)
		if (c[k] == node)
			return k;
	return -1;
}

/* --- the engine's chooser -------------------------------------------------- */

/* Each node's bytes as the engine's chooser sees them: what is held plus
 * what is on its way (open tasks' destinations). */
static uint64_t *
chooser_used(const struct sim *s)
{
	uint64_t *used = calloc(s->cl->n ? s->cl->n : 1, sizeof(*used));

	if (used == NULL)
		return NULL;
	for (size_t i = 0; i < s->cl->n; i++)
		used[i] = s->cl->nodes[i].used_bytes;
	for (size_t j = 0; j < s->njobs; j++) {
		if (s->jobs[j].done)
			continue;
		for (size_t t = s->jobs[j].first; t < s->jobs[j].first +
		    s->jobs[j].n; t++) {
			const struct sim_task *k = &s->tasks[t];

			if (k->state == ST_WAIT || k->state == ST_ACTIVE)
				used[k->to] += s->ob.size[k->obj];
		}
	}
	return used;
}

static int
fail_domain(const struct sim *s)
{
	return (s->pol.set & POL_SET_FAILURE_DOMAIN) ? s->pol.failure_domain :
	    s->cl->failure_domain;
}

static uint32_t
crush_x(uint64_t key)
{
	return (uint32_t)(key & 0xffffffffu) ^ (uint32_t)(key >> 32);
}

/* Allowed datacenter names of a pinned object, from its mask. */
static size_t
allowed_names(const struct sim *s, size_t obj, const char **out)
{
	const char *dcs[64];
	size_t n = plc_cluster_dcs(s->cl, dcs, 64), k = 0;

	for (size_t i = 0; i < n && i < 64; i++)
		if (s->ob.dcmask[obj] & (1ull << i))
			out[k++] = dcs[i];
	return k;
}

/* Chooses where copy `replaced` of obj goes (-1: a new copy), by straw2
 * as the engine does. Returns the node index or -1. */
static int
choose_dest(const struct sim *s, uint64_t *used, size_t obj,
    int replaced, void *scratch)
{
	int copies[PLC_COPIES_MAX];
	const char *allowed[64];
	struct plc_choice in;

	memset(&in, 0, sizeof(in));
	for (int k = 0; k < s->ob.ncopies[obj]; k++)
		copies[k] = (int)s->ob.copies[obj * STRIDE + k];
	in.copies = copies;
	in.ncopies = s->ob.ncopies[obj];
	in.replaced = replaced;
	in.size = s->ob.size[obj];
	in.x = crush_x(s->ob.key[obj]);
	if (s->ob.pinned[obj]) {
		in.nallowed = allowed_names(s, obj, allowed);
		in.allowed_dcs = allowed;
	}
	in.max_fill = s->pol.max_fill;
	in.domain = fail_domain(s);
	return plc_choose_dest(s->cl->nodes, s->cl->n, used, &in, scratch,
	    NULL);
}

/* --- jobs and tasks ------------------------------------------------------- */

static int
job_new(struct sim *s, int evacuate, size_t *out)
{
	struct sim_job *j;

	if (s->njobs == s->jobs_cap) {
		size_t nc = s->jobs_cap ? s->jobs_cap * 2 : 64;

		GROW(s->jobs, nc);
		s->jobs_cap = nc;
	}
	j = &s->jobs[s->njobs];
	memset(j, 0, sizeof(*j));
	j->evacuate = evacuate;
	j->created = s->now;
	j->throttle = (double)s->pol.throttle_bytes_per_sec;
	j->first = s->ntasks;
	*out = s->njobs++;
	return 0;
}

static int
task_add(struct sim *s, size_t job, size_t obj, uint32_t from, uint32_t to)
{
	struct sim_task *k;

	if (s->ntasks == s->tasks_cap) {
		size_t nc = s->tasks_cap ? s->tasks_cap * 2 : 4096;

		GROW(s->tasks, nc);
		s->tasks_cap = nc;
	}
	k = &s->tasks[s->ntasks++];
	memset(k, 0, sizeof(*k));
	k->job = (uint32_t)job;
	k->obj = obj;
	k->from = from;
	k->to = to;
	k->left = (double)s->ob.size[obj];
	s->jobs[job].n++;
	s->jobs[job].open++;
	s->ob.busy[obj]++;
	return 0;
}

/* Per-node batch bytes of a finished controller job: a node that was the
 * source or the destination of at least large_batch_bytes cools down. */
static void
job_finish(struct sim *s, struct sim_job *j)
{
	double *b;

	j->done = 1;
	j->finished = s->now;
	if (j->evacuate || s->pol.node_cooldown_s <= 0)
		return;
	if ((b = calloc(s->cl->n ? s->cl->n : 1, sizeof(*b))) == NULL)
		return;
	for (size_t t = j->first; t < j->first + j->n; t++) {
		const struct sim_task *k = &s->tasks[t];

		if (k->state != ST_DONE)
			continue;
		b[k->from] += (double)s->ob.size[k->obj];
		b[k->to] += (double)s->ob.size[k->obj];
	}
	for (size_t i = 0; i < s->cl->n; i++)
		if (b[i] > 0 && b[i] >= (double)s->pol.large_batch_bytes)
			s->cool_until[i] = s->now +
			    (double)s->pol.node_cooldown_s;
	free(b);
}

static void
task_settle(struct sim *s, struct sim_task *k, int state)
{
	struct sim_job *j = &s->jobs[k->job];

	if (k->state == ST_ACTIVE)
		j->active--;
	k->state = (uint32_t)state;
	j->open--;
	s->ob.busy[k->obj]--;
	if (j->open == 0)
		job_finish(s, j);
}

/* The copy moves: the metadata and the nodes' usage change together (the
 * model has no source-deletion grace period). */
static void
task_complete(struct sim *s, struct sim_task *k)
{
	struct sim_job *j = &s->jobs[k->job];
	size_t o = k->obj;
	int ci = copy_index(s, o, k->from);
	uint64_t sz = s->ob.size[o];

	if (!s->ob.alive[o] || ci < 0 || copy_index(s, o, k->to) >= 0) {
		task_settle(s, k, ST_SKIP);	/* metadata_changed */
		return;
	}
	s->ob.copies[o * STRIDE + ci] = k->to;
	{
		struct plc_node *f = &s->cl->nodes[k->from];

		f->used_bytes = f->used_bytes > sz ? f->used_bytes - sz : 0;
	}
	s->cl->nodes[k->to].used_bytes += sz;
	s->moved_bytes += (long long)sz;
	s->cycle_moved += (long long)sz;
	if (j->evacuate) {
		s->moved_evacuate += (long long)sz;
	} else {
		s->moved_rebalance += (long long)sz;
		s->moves_done += s->ob.mult[o];
		if (s->ob.moved_at[o] >= 0 && s->now - s->ob.moved_at[o] <
		    s->o.thrash_window_s)
			s->repeat_moves += s->ob.mult[o];
		s->ob.moved_at[o] = s->now;
	}
	task_settle(s, k, ST_DONE);
}

/* The source an agent would pull from: another healthy copy first (an
 * "in" node before a draining one), as plc_choose_pull(), else the
 * replaced copy's node. */
static uint32_t
pull_node(const struct sim *s, const struct sim_task *k)
{
	int pull = -1;

	for (int c = 0; c < s->ob.ncopies[k->obj]; c++) {
		uint32_t cp = s->ob.copies[k->obj * STRIDE + c];
		const struct plc_node *n = &s->cl->nodes[cp];

		if (cp == k->from || n->state == PLC_NODE_OUT || !n->reachable)
			continue;
		if (pull < 0 || (n->state == PLC_NODE_IN &&
		    s->cl->nodes[pull].state != PLC_NODE_IN))
			pull = (int)cp;
	}
	return pull < 0 ? k->from : (uint32_t)pull;
}

static int
act_push(struct sim *s, size_t t)
{
	if (s->nact == s->act_cap) {
		size_t nc = s->act_cap ? s->act_cap * 2 : 1024;

		GROW(s->act, nc);
		s->act_cap = nc;
	}
	s->act[s->nact++] = t;
	return 0;
}

/* Starts what may start: per job in creation order, its waiting tasks in
 * order, while the destination has a free transfer slot. */
static int
start_tasks(struct sim *s)
{
	for (size_t jn = 0; jn < s->njobs; jn++) {
		struct sim_job *j = &s->jobs[jn];
		size_t end = j->first + j->n;
		int blocked = 0;

		if (j->done || j->paused)
			continue;
		for (size_t t = j->first + j->next; t < end; t++) {
			struct sim_task *k = &s->tasks[t];
			const struct plc_node *to = &s->cl->nodes[k->to];

			if (k->state != ST_WAIT) {
				if (!blocked)
					j->next = t + 1 - j->first;
				continue;
			}
			if (!s->ob.alive[k->obj] ||
			    copy_index(s, k->obj, k->from) < 0 ||
			    copy_index(s, k->obj, k->to) >= 0 ||
			    to->state != PLC_NODE_IN || !to->reachable) {
				task_settle(s, k, ST_SKIP);
				if (!blocked)
					j->next = t + 1 - j->first;
				continue;
			}
			if (s->dst_act[k->to] >= (uint32_t)s->o.max_transfers) {
				blocked = 1;
				continue;
			}
			if (act_push(s, t) < 0)
				return -1;
			k->pull = pull_node(s, k);
			k->state = ST_ACTIVE;
			j->active++;
			s->dst_act[k->to]++;
			s->src_act[k->pull]++;
			if (!blocked)
				j->next = t + 1 - j->first;
			if (j->done)
				break;
		}
	}
	return 0;
}

/* Advances the transfers to time `until`. */
static int
advance(struct sim *s, double until)
{
	while (s->now < until) {
		double dt = until - s->now;
		size_t w = 0;

		if (start_tasks(s) < 0)
			return -1;
		if (s->nact == 0) {
			s->now = until;
			break;
		}
		for (size_t a = 0; a < s->nact; a++) {
			struct sim_task *k = &s->tasks[s->act[a]];
			const struct sim_job *j = &s->jobs[k->job];
			double r = s->node_bps[k->pull] / s->src_act[k->pull];

			if (s->node_bps[k->to] / s->dst_act[k->to] < r)
				r = s->node_bps[k->to] / s->dst_act[k->to];
			if (j->throttle > 0 && j->throttle / (double)j->active <
			    r)
				r = j->throttle / (double)j->active;
			k->rate = r;
			s->egress[k->pull] += r;
			if (r > 0 && k->left / r < dt)
				dt = k->left / r;
		}
		for (size_t a = 0; a < s->nact; a++) {
			uint32_t i = s->tasks[s->act[a]].pull;

			if (s->egress[i] > s->peak_egress + 1e-9) {
				s->peak_egress = s->egress[i];
				snprintf(s->peak_node, sizeof(s->peak_node), "%s",
				    s->cl->nodes[i].id);
			}
		}
		for (size_t a = 0; a < s->nact; a++)
			s->egress[s->tasks[s->act[a]].pull] = 0;
		s->now += dt;
		for (size_t a = 0; a < s->nact; a++) {
			struct sim_task *k = &s->tasks[s->act[a]];

			k->left -= k->rate * dt;
			if (k->left > 0.5 && k->state == ST_ACTIVE) {
				s->act[w++] = s->act[a];
				continue;
			}
			s->dst_act[k->to]--;
			s->src_act[k->pull]--;
			if (k->state == ST_ACTIVE)
				task_complete(s, k);
		}
		s->nact = w;
	}
	return 0;
}

/* --- the events ------------------------------------------------------------ */

static json_t *
node_json(const struct plc_node *nd)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:f,s:b}",
	    "id", nd->id, "region", nd->region, "datacenter", nd->datacenter,
	    "rack", nd->rack, "host", nd->host, "capacity_bytes",
	    (json_int_t)nd->capacity_bytes, "used_bytes",
	    (json_int_t)nd->used_bytes, "state", plc_node_state_name(nd->state),
	    "weight", nd->weight, "reachable", nd->reachable);

	if (o != NULL && nd->latency_ms >= 0)
		json_object_set_new(o, "latency_ms", json_real(nd->latency_ms));
	return o;
}

/* Adds nodes: the map is rebuilt (nodes stay sorted by id) and every node
 * index the model holds is remapped. */
static int
ev_add_nodes(struct sim *s, json_t *arr, const char *path,
    struct bl_err *err)
{
	json_t *doc = json_object(), *nodes = json_array(), *v;
	struct plc_cluster *cl;
	uint32_t *map;
	double *bps, *cool;
	size_t i, n;
	char *text;

	if (!json_is_array(arr))
		return bl_err_set(err, BL_EINVAL, "%s: expected an array of "
		    "nodes", path);
	for (i = 0; i < s->cl->n; i++)
		json_array_append_new(nodes, node_json(&s->cl->nodes[i]));
	json_array_foreach(arr, i, v) {
		json_t *c = json_deep_copy(v);

		if (json_is_object(c) && json_object_get(c, "used_bytes") ==
		    NULL)
			json_object_set_new(c, "used_bytes", json_integer(0));
		json_array_append_new(nodes, c);
	}
	json_object_set_new(doc, "failure_domain", json_string(
	    plc_domain_name(s->cl->failure_domain)));
	json_object_set_new(doc, "nodes", nodes);
	text = json_dumps(doc, 0);
	json_decref(doc);
	if (text == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	cl = plc_cluster_from_json(text, strlen(text), path, err);
	free(text);
	if (cl == NULL)
		return -1;
	n = cl->n;
	map = calloc(s->cl->n ? s->cl->n : 1, sizeof(*map));
	bps = calloc(n, sizeof(*bps));
	cool = calloc(n, sizeof(*cool));
	if (map == NULL || bps == NULL || cool == NULL) {
		free(map);
		free(bps);
		free(cool);
		plc_cluster_free(cl);
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		bps[i] = s->o.node_bps;
	for (i = 0; i < s->cl->n; i++) {
		map[i] = (uint32_t)plc_cluster_find(cl, s->cl->nodes[i].id);
		bps[map[i]] = s->node_bps[i];
		cool[map[i]] = s->cool_until[i];
	}
	for (size_t o = 0; o < s->ob.n; o++)
		for (int k = 0; k < s->ob.ncopies[o]; k++)
			s->ob.copies[o * STRIDE + k] =
			    map[s->ob.copies[o * STRIDE + k]];
	for (size_t t = 0; t < s->ntasks; t++) {
		s->tasks[t].from = map[s->tasks[t].from];
		s->tasks[t].to = map[s->tasks[t].to];
		s->tasks[t].pull = map[s->tasks[t].pull];
	}
	/* Pinned masks follow the datacenters' positions. */
	{
		const char *od[64], *nd[64];
		size_t on = plc_cluster_dcs(s->cl, od, 64);
		size_t nn = plc_cluster_dcs(cl, nd, 64);
		int dmap[64];

		for (size_t a = 0; a < on && a < 64; a++) {
			dmap[a] = -1;
			for (size_t b = 0; b < nn && b < 64; b++)
				if (strcmp(od[a], nd[b]) == 0)
					dmap[a] = (int)b;
		}
		for (size_t o = 0; o < s->ob.n; o++) {
			uint64_t m = 0;

			if (!s->ob.pinned[o])
				continue;
			for (size_t a = 0; a < on && a < 64; a++)
				if ((s->ob.dcmask[o] & (1ull << a)) &&
				    dmap[a] >= 0)
					m |= 1ull << dmap[a];
			s->ob.dcmask[o] = m;
		}
	}
	free(map);
	free(s->node_bps);
	free(s->cool_until);
	s->node_bps = bps;
	s->cool_until = cool;
	free(s->dst_act);
	free(s->src_act);
	free(s->egress);
	s->dst_act = calloc(n ? n : 1, sizeof(uint32_t));
	s->src_act = calloc(n ? n : 1, sizeof(uint32_t));
	s->egress = calloc(n ? n : 1, sizeof(double));
	if (s->dst_act == NULL || s->src_act == NULL || s->egress == NULL) {
		plc_cluster_free(cl);
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	for (size_t a = 0; a < s->nact; a++) {
		s->dst_act[s->tasks[s->act[a]].to]++;
		s->src_act[s->tasks[s->act[a]].pull]++;
	}
	plc_cluster_free(s->cl);
	s->cl = cl;
	return 0;
}

static int
find_node(const struct sim *s, json_t *v, const char *path, size_t *out,
    struct bl_err *err)
{
	ssize_t i;

	if (!json_is_string(v))
		return bl_err_set(err, BL_EINVAL, "%s: expected a node id", path);
	if ((i = plc_cluster_find(s->cl, json_string_value(v))) < 0)
		return bl_err_set(err, BL_EINVAL, "%s: unknown node \"%s\"",
		    path, json_string_value(v));
	*out = (size_t)i;
	return 0;
}

/* An operator's drain: the node is "draining" and an evacuation job moves
 * every copy it holds, destinations chosen by straw2 at set-up. */
static int
ev_drain(struct sim *s, size_t node, struct bl_err *err)
{
	uint64_t *used;
	void *scratch;
	size_t job;

	s->cl->nodes[node].state = PLC_NODE_DRAINING;
	used = chooser_used(s);
	scratch = malloc(plc_choose_scratch_size(s->cl->n));
	if (used == NULL || scratch == NULL || job_new(s, 1, &job) < 0) {
		free(used);
		free(scratch);
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	plc_choose_scratch_init(s->cl->nodes, s->cl->n, scratch);
	for (size_t o = 0; o < s->ob.n; o++) {
		int ci, d;

		if (!s->ob.alive[o] || (ci = copy_index(s, o,
		    (uint32_t)node)) < 0)
			continue;
		if ((d = choose_dest(s, used, o, ci, scratch)) < 0)
			continue;	/* skipped: no destination */
		if (task_add(s, job, o, (uint32_t)node, (uint32_t)d) < 0) {
			free(used);
			free(scratch);
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		}
	}
	free(used);
	free(scratch);
	if (s->jobs[job].open == 0)
		job_finish(s, &s->jobs[job]);
	return 0;
}

static int
get_num(json_t *o, const char *key, double def, double min, double max,
    const char *path, double *out, struct bl_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return bl_err_set(err, BL_EINVAL, "%s.%s: expected a number",
		    path, key);
	*out = json_number_value(v);
	if (!(*out >= min && *out <= max))
		return bl_err_set(err, BL_EINVAL, "%s.%s: %.17g out of range "
		    "[%.17g, %.17g]", path, key, *out, min, max);
	return 0;
}

/* The size of grown object i: "size" is a number, or
 * {"min", "max"} (uniform), or {"median", "sigma"} (log-normal). */
static uint64_t
grow_size(json_t *size, uint64_t seed, uint64_t i)
{
	double u = unit(seed, 2 * i), v;

	if (json_is_number(size))
		return (uint64_t)json_number_value(size);
	if (json_object_get(size, "median") != NULL) {
		double med = json_number_value(json_object_get(size, "median"));
		double sg = json_number_value(json_object_get(size, "sigma"));
		double u2 = unit(seed, 2 * i + 1);

		/* Box-Muller, one of the pair. */
		v = sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * u2);
		return (uint64_t)(med * exp(sg * v)) + 1;
	}
	{
		double lo = json_number_value(json_object_get(size, "min"));
		double hi = json_number_value(json_object_get(size, "max"));

		return (uint64_t)(lo + (hi - lo) * u);
	}
}

/* The size of an entry of mult objects drawn from "size": their sum,
 * taken from the normal law of a sum of mult draws (mean mult * m,
 * standard deviation sqrt(mult) * sd of one draw), at least mult bytes. */
static uint64_t
bundle_size(json_t *size, uint64_t seed, uint64_t i, uint64_t mult)
{
	double m, sd, u = unit(seed, 2 * i), u2 = unit(seed, 2 * i + 1), z, v;

	if (json_is_number(size))
		return (uint64_t)json_number_value(size) * mult;
	if (json_object_get(size, "median") != NULL) {
		double med = json_number_value(json_object_get(size, "median"));
		double sg = json_number_value(json_object_get(size, "sigma"));

		m = med * exp(sg * sg / 2);
		sd = m * sqrt(exp(sg * sg) - 1);
	} else {
		double lo = json_number_value(json_object_get(size, "min"));
		double hi = json_number_value(json_object_get(size, "max"));

		m = (lo + hi) / 2;
		sd = (hi - lo) / sqrt(12.0);
	}
	z = sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * u2);
	v = (double)mult * m + sqrt((double)mult) * sd * z;
	return v < (double)mult ? mult : (uint64_t)v;
}

/* The scale model's placement of a new entry's copy: a weighted draw
 * over the eligible nodes (state "in", reachable), with the failure
 * domain and max_fill checked and up to 32 draws; weight-proportional
 * as straw2, without its cost per node. cum holds the eligible nodes'
 * cumulative weights, idx their indexes; seq is the draw counter. */
static int
draw_dest(const struct sim *s, const uint64_t *used, const double *cum,
    const uint32_t *idx, size_t ne, size_t obj, uint64_t *seq)
{
	const uint32_t *cp = s->ob.copies + obj * STRIDE;
	int dom = fail_domain(s);

	for (int attempt = 0; attempt < 32 && ne > 0; attempt++) {
		/* A low-discrepancy sequence (golden-ratio steps) rather
		 * than independent draws: every node gets its share within
		 * a few entries, as a cluster of many small objects does. */
		double f = (double)(*seq)++ * 0.6180339887498949;
		double u = (f - floor(f)) * cum[ne - 1];
		size_t lo = 0, hi = ne - 1;
		const struct plc_node *d;
		int ok = 1;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (cum[mid] > u)
				hi = mid;
			else
				lo = mid + 1;
		}
		d = &s->cl->nodes[idx[lo]];
		if ((double)(used[idx[lo]] + s->ob.size[obj]) >
		    s->pol.max_fill * (double)d->capacity_bytes)
			continue;
		for (int k = 0; k < s->ob.ncopies[obj] && ok; k++) {
			const struct plc_node *c = &s->cl->nodes[cp[k]];

			ok = strcmp(c->host, d->host) != 0 && (dom <
			    PLC_DOMAIN_RACK || strcmp(c->rack, d->rack) != 0 ||
			    strcmp(c->datacenter, d->datacenter) != 0) && (dom <
			    PLC_DOMAIN_DATACENTER ||
			    strcmp(c->datacenter, d->datacenter) != 0);
		}
		if (ok)
			return (int)idx[lo];
	}
	return -1;
}

/* Writes new objects, each copy placed by straw2 as the engine places an
 * evacuated copy (weight-proportional, failure domain, max_fill). */
static int
ev_grow(struct sim *s, json_t *g, const char *path, struct bl_err *err)
{
	double objects, bytes, percent, copies, seed, reads;
	json_t *size = json_object_get(g, "size");
	uint64_t *used;
	void *scratch;
	double *cum;
	uint32_t *idx;
	size_t ne = 0;
	uint64_t total = 0, written = 0, cnt = 0, limit;
	uint64_t bundle = s->o.bundle > 1 ? (uint64_t)s->o.bundle : 1;
	uint64_t seq = (uint64_t)seed * 7919;

	if (!json_is_object(g))
		return bl_err_set(err, BL_EINVAL, "%s: expected an object", path);
	if (get_num(g, "objects", 0, 0, 1e10, path, &objects, err) < 0 ||
	    get_num(g, "bytes", 0, 0, 1e20, path, &bytes, err) < 0 ||
	    get_num(g, "percent", 0, 0, 10000, path, &percent, err) < 0 ||
	    get_num(g, "copies", 2, 1, PLC_COPIES_MAX, path, &copies, err) <
	    0 || get_num(g, "seed", 1, 0, 1e15, path, &seed, err) < 0 ||
	    get_num(g, "reads_per_hour", 0, 0, 1e12, path, &reads, err) < 0)
		return -1;
	if (size == NULL || !(json_is_number(size) || (json_is_object(size) &&
	    ((json_is_number(json_object_get(size, "min")) &&
	    json_is_number(json_object_get(size, "max"))) ||
	    (json_is_number(json_object_get(size, "median")) &&
	    json_is_number(json_object_get(size, "sigma")))))))
		return bl_err_set(err, BL_EINVAL, "%s.size: expected bytes, "
		    "{\"min\", \"max\"} or {\"median\", \"sigma\"}", path);
	if (percent > 0) {
		for (size_t o = 0; o < s->ob.n; o++)
			if (s->ob.alive[o])
				total += s->ob.size[o];
		bytes = (double)total * percent / 100.0;
	}
	if (objects <= 0 && bytes <= 0)
		return bl_err_set(err, BL_EINVAL, "%s: give objects, bytes or "
		    "percent", path);
	limit = objects > 0 ? (uint64_t)objects : UINT64_MAX;
	used = chooser_used(s);
	scratch = malloc(plc_choose_scratch_size(s->cl->n));
	cum = calloc(s->cl->n ? s->cl->n : 1, sizeof(*cum));
	idx = calloc(s->cl->n ? s->cl->n : 1, sizeof(*idx));
	if (used == NULL || scratch == NULL || cum == NULL || idx == NULL) {
		free(used);
		free(scratch);
		free(cum);
		free(idx);
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	}
	plc_choose_scratch_init(s->cl->nodes, s->cl->n, scratch);
	for (size_t i = 0; i < s->cl->n; i++) {
		const struct plc_node *nd = &s->cl->nodes[i];

		if (plc_node_takes(nd)) {
			cum[ne] = (ne ? cum[ne - 1] : 0) + (nd->weight > 0 ?
			    nd->weight :
			    (double)nd->capacity_bytes / 1099511627776.0);
			idx[ne++] = (uint32_t)i;
		}
	}
	while (cnt < limit && (bytes <= 0 || (double)written < bytes)) {
		char id[64];
		/* The scale model writes `bundle` objects of one size per
		 * entry. */
		uint64_t mult = bundle < limit - cnt ? bundle : limit - cnt;
		uint64_t key, sz = mult > 1 ? bundle_size(size, (uint64_t)seed,
		    cnt, mult) : grow_size(size, (uint64_t)seed, cnt);
		uint32_t cp[PLC_COPIES_MAX];
		size_t o = s->ob.n, nc = 0;

		snprintf(id, sizeof(id), "grown-%llu-%llu",
		    (unsigned long long)seed, (unsigned long long)s->grown++);
		key = plc_object_key(id, strlen(id));
		cnt += mult;
		/* Placed one copy at a time: the chooser sees the copies
		 * placed so far. */
		if (sim_obj_add(s, key, sz, reads, (uint32_t[]){ 0 }, 1, 0, 0) <
		    0) {
			free(used);
			free(scratch);
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		}
		s->ob.ncopies[o] = 0;
		s->ob.mult[o] = (uint32_t)mult;
		for (int c = 0; c < (int)copies; c++) {
			int d = bundle > 1 ? draw_dest(s, used, cum, idx, ne, o,
			    &seq) : -1;

			if (d >= 0)
				used[d] += sz;  /* choose_dest adds its own */
			else
				d = choose_dest(s, used, o, -1, scratch);

			if (d < 0)
				break;
			cp[nc++] = (uint32_t)d;
			s->ob.copies[o * STRIDE + s->ob.ncopies[o]++] =
			    (uint32_t)d;
		}
		if (nc == 0) {
			s->ob.n--;	/* nowhere to write: cluster full */
			break;
		}
		for (size_t c = 0; c < nc; c++)
			s->cl->nodes[cp[c]].used_bytes += sz;
		written += sz;
	}
	free(used);
	free(scratch);
	free(cum);
	free(idx);
	return 0;
}

/* Whether object o is selected by {"fraction", "seed", "node"}. */
static int
selected(const struct sim *s, size_t o, double fraction, uint64_t seed,
    int node)
{
	if (!s->ob.alive[o])
		return 0;
	if (node >= 0 && copy_index(s, o, (uint32_t)node) < 0)
		return 0;
	return unit(seed, s->ob.key[o]) < fraction;
}

static int
ev_select(struct sim *s, json_t *d, const char *path, double *fraction,
    uint64_t *seed, int *node, struct bl_err *err)
{
	double sd;
	json_t *nv = json_object_get(d, "node");

	if (!json_is_object(d))
		return bl_err_set(err, BL_EINVAL, "%s: expected an object", path);
	if (get_num(d, "fraction", 1, 0, 1, path, fraction, err) < 0 ||
	    get_num(d, "seed", 1, 0, 1e15, path, &sd, err) < 0)
		return -1;
	*seed = (uint64_t)sd;
	*node = -1;
	if (nv != NULL) {
		size_t i;
		char sub[256];

		snprintf(sub, sizeof(sub), "%s.node", path);
		if (find_node(s, nv, sub, &i, err) < 0)
			return -1;
		*node = (int)i;
	}
	return 0;
}

static int
ev_set(struct sim *s, json_t *d, const char *path, struct bl_err *err)
{
	size_t i;
	json_t *v;
	char sub[256];
	struct plc_node *nd;

	snprintf(sub, sizeof(sub), "%s.node", path);
	if (!json_is_object(d))
		return bl_err_set(err, BL_EINVAL, "%s: expected an object", path);
	if (find_node(s, json_object_get(d, "node"), sub, &i, err) < 0)
		return -1;
	nd = &s->cl->nodes[i];
	if ((v = json_object_get(d, "weight")) != NULL) {
		if (!json_is_number(v) || json_number_value(v) <= 0)
			return bl_err_set(err, BL_EINVAL, "%s.weight: expected "
			    "a positive number", path);
		nd->weight = json_number_value(v);
	}
	if ((v = json_object_get(d, "capacity_bytes")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return bl_err_set(err, BL_EINVAL, "%s.capacity_bytes: "
			    "expected a positive integer", path);
		nd->capacity_bytes = (uint64_t)json_integer_value(v);
	}
	if ((v = json_object_get(d, "bytes_per_sec")) != NULL) {
		if (!json_is_number(v) || json_number_value(v) <= 0)
			return bl_err_set(err, BL_EINVAL, "%s.bytes_per_sec: "
			    "expected a positive number", path);
		s->node_bps[i] = json_number_value(v);
	}
	return 0;
}

static int
apply_event(struct sim *s, const struct sim_event *e, struct bl_err *err)
{
	const char *key;
	json_t *v;
	char path[128];

	json_object_foreach(e->ev, key, v) {
		size_t node;
		double fraction;
		uint64_t seed;
		int sel;

		snprintf(path, sizeof(path), "events[%zu].%s", e->index, key);
		if (strcmp(key, "at_s") == 0 || strcmp(key, "at") == 0 ||
		    strcmp(key, "every_s") == 0 || strcmp(key, "count") == 0 ||
		    strcmp(key, "note") == 0)
			continue;
		if (strcmp(key, "add_nodes") == 0) {
			if (ev_add_nodes(s, v, path, err) < 0)
				return -1;
		} else if (strcmp(key, "drain") == 0) {
			if (find_node(s, v, path, &node, err) < 0 ||
			    ev_drain(s, node, err) < 0)
				return -1;
		} else if (strcmp(key, "out") == 0) {
			if (find_node(s, v, path, &node, err) < 0)
				return -1;
			s->cl->nodes[node].state = PLC_NODE_OUT;
		} else if (strcmp(key, "set") == 0) {
			if (ev_set(s, v, path, err) < 0)
				return -1;
		} else if (strcmp(key, "grow") == 0) {
			if (ev_grow(s, v, path, err) < 0)
				return -1;
		} else if (strcmp(key, "delete") == 0) {
			if (ev_select(s, v, path, &fraction, &seed, &sel, err) <
			    0)
				return -1;
			for (size_t o = 0; o < s->ob.n; o++) {
				if (!selected(s, o, fraction, seed, sel))
					continue;
				s->ob.alive[o] = 0;
				for (int k = 0; k < s->ob.ncopies[o]; k++) {
					struct plc_node *nd = &s->cl->nodes[
					    s->ob.copies[o * STRIDE + k]];

					nd->used_bytes = nd->used_bytes >
					    s->ob.size[o] ? nd->used_bytes -
					    s->ob.size[o] : 0;
				}
			}
		} else if (strcmp(key, "heat") == 0) {
			double reads;

			if (ev_select(s, v, path, &fraction, &seed, &sel, err) <
			    0 || get_num(v, "reads_per_hour", 0, 0, 1e12, path,
			    &reads, err) < 0)
				return -1;
			for (size_t o = 0; o < s->ob.n; o++)
				if (selected(s, o, fraction, seed, sel))
					s->ob.reads[o] = reads;
		} else if (strcmp(key, "policy") == 0 ||
		    strcmp(key, "quiet_hours") == 0) {
			json_t *old = json_deep_copy(s->policy_doc);

			if (strcmp(key, "policy") == 0) {
				if (!json_is_object(v))
					return bl_err_set(err, BL_EINVAL, "%s: "
					    "expected an object", path);
				json_object_update(s->policy_doc, v);
			} else {
				json_object_set(s->policy_doc, "quiet_hours", v);
			}
			if (sim_policy_load(s, err) < 0) {
				json_decref(s->policy_doc);
				s->policy_doc = old;
				return bl_err_wrap(err, "%s", path);
			}
			json_decref(old);
		} else {
			return bl_err_set(err, BL_EINVAL, "%s: unknown event (expected"
			    " add_nodes, drain, out, set, grow, delete, heat, "
			    "policy or quiet_hours)", path);
		}
	}
	return 0;
}

/* --- one cycle -------------------------------------------------------------- */

static int
cycle_push(struct sim *s, const struct sim_cycle *c)
{
	if (s->ncycles == s->cycles_cap) {
		size_t nc = s->cycles_cap ? s->cycles_cap * 2 : 256;

		GROW(s->cycles, nc);
		s->cycles_cap = nc;
	}
	s->cycles[s->ncycles++] = *c;
	return 0;
}

/* The map with the open moves counted, as controller/cycle.c's
 * cluster_load(): a move's source loses the bytes, its destination gains
 * them. Writes into used[]. */
static void
projected_used(const struct sim *s, uint64_t *used)
{
	for (size_t i = 0; i < s->cl->n; i++)
		used[i] = s->cl->nodes[i].used_bytes;
	for (size_t j = 0; j < s->njobs; j++) {
		if (s->jobs[j].done)
			continue;
		for (size_t t = s->jobs[j].first; t < s->jobs[j].first +
		    s->jobs[j].n; t++) {
			const struct sim_task *k = &s->tasks[t];
			uint64_t b = s->ob.size[k->obj];

			if (k->state != ST_WAIT && k->state != ST_ACTIVE)
				continue;
			used[k->from] = used[k->from] > b ? used[k->from] - b :
			    0;
			used[k->to] += b;
		}
	}
}

/* The loop's inputs and decision for this cycle (pol_cycle_decide,
 * shared with ballastd), applied to the simulated jobs. */
static int
cycle_decide(struct sim *s, const uint64_t *used, struct pol_cycle_in *in,
    struct pol_cycle_out *d, struct sim_cycle *c, struct bl_err *err)
{
	struct plc_fill_stats st;

	if (pol_quiet_at(&s->pol, s->o.start + (time_t)s->now, &real_tz,
	    &in->quiet, err) < 0)
		return bl_err_wrap(err, "policy");
	in->balancing = s->balancing;
	for (size_t j = 0; j < s->njobs; j++) {
		if (s->jobs[j].done || s->jobs[j].evacuate)
			continue;
		in->open_jobs++;
		in->quiet_paused += s->jobs[j].paused;
	}
	plc_cluster_fill_stats(s->cl, used, &st);
	in->imbalance = st.imbalance;
	c->imbalance = st.imbalance;
	c->min_bytes = (long long)st.min_bytes;
	pol_cycle_decide(&s->pol, in, d);
	/* The minimum: what balancing needs when an episode starts (the
	 * bytes above the mean fill, open moves counted). */
	if (d->store_balancing && d->balancing && !s->balancing)
		s->min_bytes_sum += (long long)st.min_bytes;
	if (d->resume_inflight)
		for (size_t j = 0; j < s->njobs; j++)
			s->jobs[j].paused = 0;
	if (d->pause_inflight)
		for (size_t j = 0; j < s->njobs; j++)
			if (!s->jobs[j].done && !s->jobs[j].evacuate &&
			    s->jobs[j].active + s->jobs[j].open > 0)
				s->jobs[j].paused = 1;
	if (d->store_balancing)
		s->balancing = d->balancing;
	c->outcome = d->outcome;
	c->quiet = in->quiet;
	c->open_jobs = in->open_jobs;
	snprintf(c->reason, sizeof(c->reason), "%s", d->reason);
	return 0;
}

/* The planner's options; in the scale model a move carries an entry of
 * up to `bundle` objects, so the move budget counts entries and a node
 * keeps every entry it holds (caps: per node). */
static void
plan_opts(struct sim *s, const struct plc_cluster *view, int quiet,
    uint32_t *caps, struct plc_planner_opts *po)
{
	pol_planner_opts(&s->pol, view, quiet, 1, po);
	if (s->o.bundle <= 1)
		return;
	if (po->max_moves > 0) {
		po->max_moves = (po->max_moves + s->o.bundle / 2) /
		    s->o.bundle;
		if (po->max_moves < 1)
			po->max_moves = 1;
	}
	for (size_t o = 0; o < s->ob.n; o++)
		for (int k = 0; s->ob.alive[o] && k < s->ob.ncopies[o]; k++)
			caps[s->ob.copies[o * STRIDE + k]]++;
	po->cand_per_source = SIZE_MAX;
	po->cand_caps = caps;
}

/* Streams the candidates as ballastd's cursor does: objects on an
 * over-full node, not busy, not held by the minimum residency. */
static int
plan_stream(struct sim *s, struct plc_planner *pl, const uint8_t *over,
    struct sim_cycle *c, struct bl_err *err)
{
	for (size_t o = 0; o < s->ob.n; o++) {
		struct plc_object obj;
		int on_over = 0;

		if (!s->ob.alive[o] || s->ob.busy[o])
			continue;
		for (int k = 0; k < s->ob.ncopies[o]; k++)
			on_over |= over[s->ob.copies[o * STRIDE + k]];
		if (!on_over)
			continue;
		if (s->ob.moved_at[o] >= 0 && s->now - s->ob.moved_at[o] <
		    (double)s->pol.min_residency_s) {
			c->residency_held++;
			continue;
		}
		memset(&obj, 0, sizeof(obj));
		obj.handle = o;
		obj.key = s->ob.key[o];
		obj.size = s->ob.size[o];
		obj.copies = s->ob.copies + o * STRIDE;
		obj.ncopies = s->ob.ncopies[o];
		obj.reads_per_hour = s->ob.reads[o];
		obj.pinned = s->ob.pinned[o];
		obj.allowed_dcs = s->ob.dcmask[o];
		if (plc_planner_add(pl, &obj, err) < 0)
			return -1;
	}
	return 0;
}

/* Plans on view and turns the moves into a simulated job. */
static int
cycle_plan(struct sim *s, const struct plc_cluster *view, int quiet,
    struct pol_cycle_out *d, struct sim_cycle *c, struct bl_err *err)
{
	size_t n = s->cl->n ? s->cl->n : 1, dropped = 0, job;
	struct plc_planner_opts po;
	struct plc_planner *pl = NULL;
	struct plc_fill_stats vs;
	struct plc_plan plan;
	uint64_t *scratch = NULL;
	uint8_t *over = calloc(n, 1);
	uint32_t *caps = calloc(n, sizeof(*caps));
	int rc = -1;

	memset(&plan, 0, sizeof(plan));
	if (over == NULL || caps == NULL)
		goto nomem;
	/* The over-full nodes: "in", reachable, above the mean fill. */
	plc_cluster_fill_stats(view, NULL, &vs);
	for (size_t i = 0; i < s->cl->n; i++)
		over[i] = view->nodes[i].state == PLC_NODE_IN &&
		    view->nodes[i].reachable && view->nodes[i].capacity_bytes >
		    0 && (double)view->nodes[i].used_bytes /
		    (double)view->nodes[i].capacity_bytes > vs.mean;
	plan_opts(s, view, quiet, caps, &po);
	if ((pl = plc_planner_new(view, &po, err)) == NULL ||
	    plan_stream(s, pl, over, c, err) < 0 ||
	    plc_planner_run(pl, &plan, err) < 0)
		goto out;
	if (plan.n_moves > 0) {
		if ((scratch = calloc(2 * plan.n_moves, sizeof(*scratch))) ==
		    NULL)
			goto nomem;
		dropped = pol_plan_one_per_object(&plan, scratch);
	}
	pol_cycle_after_plan(&plan, dropped, 0, d);
	c->outcome = d->outcome;
	snprintf(c->reason, sizeof(c->reason), "%s", d->reason);
	c->projected = plan.after.imbalance;
	c->has_projected = 1;
	for (size_t i = 0; i < plan.n_moves; i++)
		c->moves += s->ob.mult[plan.moves[i].handle];
	c->bytes = (long long)plan.bytes;
	c->cost = plan.cost;
	if (d->outcome != POL_OUT_IDLE) {
		if (job_new(s, 0, &job) < 0)
			goto nomem;
		for (size_t i = 0; i < plan.n_moves; i++)
			if (task_add(s, job, plan.moves[i].handle,
			    plan.moves[i].from, plan.moves[i].to) < 0)
				goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	rc = bl_err_set(err, BL_ENOMEM, "out of memory");
out:
	plc_plan_release(&plan);
	plc_planner_free(pl);
	free(scratch);
	free(over);
	free(caps);
	return rc;
}

/* Converged: at or below the target with nothing open, after the last
 * event. */
static void
cycle_converged(struct sim *s, const struct pol_cycle_out *d,
    const struct sim_cycle *c)
{
	if (s->converged_cycle != 0 || s->now < s->last_event_t ||
	    d->outcome != POL_OUT_IDLE || s->balancing)
		return;
	for (size_t j = 0; j < s->njobs; j++)
		if (!s->jobs[j].done)
			return;
	s->converged_cycle = c->n;
	s->converged_t = s->now;
}

static int
cycle(struct sim *s, struct bl_err *err)
{
	struct pol_cycle_in in;
	struct pol_cycle_out d;
	struct sim_cycle c;
	struct plc_cluster view;
	uint64_t *used = NULL;
	struct plc_node *nodes = NULL;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	memset(&in, 0, sizeof(in));
	c.n = (int)s->ncycles + 1;
	c.t = s->now;
	c.moved_bytes = s->cycle_moved;
	s->cycle_moved = 0;
	if ((used = calloc(s->cl->n ? s->cl->n : 1, sizeof(*used))) == NULL ||
	    (nodes = calloc(s->cl->n ? s->cl->n : 1, sizeof(*nodes))) == NULL) {
		rc = bl_err_set(err, BL_ENOMEM, "out of memory");
		goto out;
	}
	projected_used(s, used);
	if (cycle_decide(s, used, &in, &d, &c, err) < 0)
		goto out;
	/* The planner's view: open moves counted; nodes in a cooldown are
	 * left out of this cycle like unreachable ones. */
	view = *s->cl;
	view.nodes = nodes;
	for (size_t i = 0; i < s->cl->n; i++) {
		nodes[i] = s->cl->nodes[i];
		nodes[i].used_bytes = used[i];
		if (s->cool_until[i] > s->now) {
			nodes[i].reachable = 0;
			c.cooling++;
		}
	}
	if (d.outcome == POL_OUT_PLAN && cycle_plan(s, &view, in.quiet, &d,
	    &c, err) < 0)
		goto out;
	cycle_converged(s, &d, &c);
	if (cycle_push(s, &c) < 0) {
		rc = bl_err_set(err, BL_ENOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	free(nodes);
	free(used);
	return rc;
}

int
sim_run(struct sim *s, struct bl_err *err)
{
	double next_cycle = 0;

	s->last_event_t = s->nevents ? s->events[s->nevents - 1].at : 0;
	for (;;) {
		double stop = next_cycle;

		if (s->next_event < s->nevents &&
		    s->events[s->next_event].at < stop)
			stop = s->events[s->next_event].at;
		if (stop > s->o.duration_s)
			break;
		if (advance(s, stop) < 0)
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		while (s->next_event < s->nevents &&
		    s->events[s->next_event].at <= s->now) {
			if (apply_event(s, &s->events[s->next_event++], err) < 0)
				return -1;
		}
		if (s->now < next_cycle)
			continue;
		if (cycle(s, err) < 0)
			return -1;
		if ((long)s->ncycles >= s->o.max_cycles)
			break;
		next_cycle = s->now + (double)s->pol.check_interval_s;
	}
	return 0;
}
