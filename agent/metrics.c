/* agent/metrics.c - counters, histograms, reasons and access counts. */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

static const char *const reason_names[AGT_R_COUNT] = {
	[AGT_R_NONE] = "none",
	[AGT_R_MD5_MISMATCH] = "md5_mismatch",
	[AGT_R_SIZE_MISMATCH] = "size_mismatch",
	[AGT_R_HTTP_STATUS] = "http_status",
	[AGT_R_NETWORK_ERROR] = "network_error",
	[AGT_R_TIMEOUT] = "timeout",
	[AGT_R_AGENT_FS_ERROR] = "agent_fs_error",
	[AGT_R_INSUFFICIENT_SPACE] = "insufficient_space",
	[AGT_R_SOURCE_OTHER_ERROR] = "source_other_error",
};

const char *
agt_reason_name(int reason)
{
	if (reason < 0 || reason >= AGT_R_COUNT)
		return "source_other_error";
	return reason_names[reason];
}

int
agt_reason_parse(const char *name)
{
	for (int i = 0; i < AGT_R_COUNT; i++)
		if (strcmp(reason_names[i], name) == 0)
			return i;
	return -1;
}

/* Seconds: 10 ms .. 1 h. */
static const double hist_bounds[AGT_HIST_BUCKETS] = {
	0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};

void
agt_hist_observe(struct agt_hist *h, double seconds)
{
	int i;

	if (seconds < 0)
		seconds = 0;
	for (i = 0; i < AGT_HIST_BUCKETS; i++)
		if (seconds <= hist_bounds[i])
			break;
	h->count[i]++;
	h->sum += seconds;
	h->n++;
}

static void
counter(struct bl_buf *b, const char *name, const char *help, uint64_t v)
{
	bl_buf_addf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
	    name, name, (unsigned long long)v);
}

static void
gauge(struct bl_buf *b, const char *name, const char *help, long long v)
{
	bl_buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help,
	    name, name, v);
}

static void
histogram(struct bl_buf *b, const char *name, const char *help,
    const struct agt_hist *h)
{
	uint64_t cum = 0;

	bl_buf_addf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < AGT_HIST_BUCKETS; i++) {
		cum += h->count[i];
		bl_buf_addf(b, "%s_bucket{le=\"%g\"} %llu\n", name, hist_bounds[i],
		    (unsigned long long)cum);
	}
	cum += h->count[AGT_HIST_BUCKETS];
	bl_buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)cum);
	bl_buf_addf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
	    (unsigned long long)h->n);
}

char *
agt_metrics_render(struct agt *g, size_t *len)
{
	struct bl_buf b = BL_BUF_INIT;
	const struct agt_metrics *m = &g->m;

	counter(&b, "ballast_agent_bytes_transferred_total",
	    "Bytes of objects received from peers.", m->bytes_transferred);
	counter(&b, "ballast_agent_bytes_served_total",
	    "Bytes of objects sent to readers.", m->bytes_served);
	bl_buf_addf(&b, "# HELP ballast_agent_tasks_total Tasks finished, by "
	    "outcome.\n# TYPE ballast_agent_tasks_total counter\n");
	bl_buf_addf(&b, "ballast_agent_tasks_total{status=\"complete\"} %llu\n",
	    (unsigned long long)m->tasks_complete);
	bl_buf_addf(&b, "ballast_agent_tasks_total{status=\"skipped\"} %llu\n",
	    (unsigned long long)m->tasks_skipped);
	bl_buf_addf(&b, "ballast_agent_tasks_total{status=\"failed\"} %llu\n",
	    (unsigned long long)m->tasks_failed);
	bl_buf_addf(&b, "# HELP ballast_agent_errors_total Failed tasks, by "
	    "reason.\n# TYPE ballast_agent_errors_total counter\n");
	for (int i = 1; i < AGT_R_COUNT; i++)
		bl_buf_addf(&b, "ballast_agent_errors_total{reason=\"%s\"} %llu\n",
		    agt_reason_name(i), (unsigned long long)m->errors[i]);
	counter(&b, "ballast_agent_retries_total",
	    "Transfer attempts retried after a transient error.", m->retries);
	counter(&b, "ballast_agent_assignments_completed_total",
	    "Assignments whose tasks all finished.",
	    m->assignments_completed);
	counter(&b, "ballast_agent_cleanup_failures_total",
	    "Temporary files that could not be removed.", m->cleanup_failures);
	counter(&b, "ballast_agent_http_requests_total",
	    "HTTP requests received.", m->http_requests);
	counter(&b, "ballast_agent_http_unauthorized_total",
	    "HTTP requests refused for a missing or bad signature.",
	    m->http_unauthorized);
	histogram(&b, "ballast_agent_assignment_duration_seconds",
	    "Time from an assignment's arrival to its completion.",
	    &m->assignment_duration);
	histogram(&b, "ballast_agent_download_duration_seconds",
	    "Time to download, verify and place one object.",
	    &m->download_duration);
	gauge(&b, "ballast_agent_inflight_transfers",
	    "Transfers running now.", g->inflight);
	gauge(&b, "ballast_agent_used_bytes",
	    "Bytes of objects under the root.", g->used_bytes);
	gauge(&b, "ballast_agent_capacity_bytes",
	    "Capacity: the quota, or the filesystem size.", g->capacity);
	gauge(&b, "ballast_agent_objects", "Objects under the root.",
	    g->objects);
	gauge(&b, "ballast_agent_throttle_bytes_per_second",
	    "Transfer bandwidth limit; 0 means none.", g->throttle);
	return bl_buf_detach(&b, len);
}

/* --- access counts ------------------------------------------------------ */

struct access_ent {
	char		key[2 * BL_UUID_LEN + 1];	/* owner, object id */
	uint64_t	reads;
};

struct agt_access {
	struct access_ent *tab;		/* owns: cap slots */
	size_t		 cap;		/* power of two, 2x max */
	size_t		 used, max;
	uint64_t	 dropped;
	double		 since;
};

struct agt_access *
agt_access_new(size_t max_entries, double now)
{
	struct agt_access *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->since = now;
	a->max = max_entries ? max_entries : 1;
	a->cap = 16;
	while (a->cap < 2 * a->max)
		a->cap *= 2;
	if ((a->tab = calloc(a->cap, sizeof(*a->tab))) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

void
agt_access_free(struct agt_access *a)
{
	if (a == NULL)
		return;
	free(a->tab);
	free(a);
}

static uint64_t
hash_key(const char *k)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

void
agt_access_count(struct agt_access *a, const char *owner,
    const char *object_id)
{
	char key[2 * BL_UUID_LEN + 1];
	size_t i;

	memcpy(key, owner, BL_UUID_LEN);
	memcpy(key + BL_UUID_LEN, object_id, BL_UUID_LEN);
	key[2 * BL_UUID_LEN] = '\0';
	for (i = hash_key(key) & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
		struct access_ent *e = &a->tab[i];

		if (e->reads == 0) {
			if (a->used >= a->max) {
				a->dropped++;
				return;
			}
			memcpy(e->key, key, sizeof(key));
			e->reads = 1;
			a->used++;
			return;
		}
		if (memcmp(e->key, key, 2 * BL_UUID_LEN) == 0) {
			e->reads++;
			return;
		}
	}
}

json_t *
agt_access_take(struct agt_access *a, double now)
{
	json_t *arr = json_array(), *out;

	for (size_t i = 0; i < a->cap; i++) {
		struct access_ent *e = &a->tab[i];

		if (e->reads == 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s%,s:s%,s:I}",
		    "owner", e->key, (size_t)BL_UUID_LEN, "object_id",
		    e->key + BL_UUID_LEN, (size_t)BL_UUID_LEN, "reads",
		    (json_int_t)e->reads));
		e->reads = 0;
	}
	out = json_pack("{s:f,s:f,s:I,s:o}", "since", a->since, "until", now,
	    "dropped", (json_int_t)a->dropped, "objects", arr);
	a->used = 0;
	a->dropped = 0;
	a->since = now;
	return out;
}
