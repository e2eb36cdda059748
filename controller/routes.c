/* controller/routes.c - the API's one route table (docs/api.md).
 *
 * Every route is a method, a pattern and an operation, with flags: R_WRITE
 * (an operator token, on the leader) and R_MANTA (Manta's /jobs shape).
 * controller/api.c matches requests against it and runs the operation's
 * parse and run functions; the metrics label a request by its pattern and
 * a wrong method gets the table's methods for the path in Allow. Pure
 * data and string matching: no I/O.
 */
#include "controller/ctl.h"

#include <stdio.h>
#include <string.h>

/* In match order: a literal before "{id}" in the same place. */
static const struct ctl_route routes[] = {
	{ "GET", "/v1/status", CTL_OP_STATUS, 0 },
	{ "GET", "/v1/cluster", CTL_OP_CLUSTER, 0 },
	{ "GET", "/v1/plan", CTL_OP_PLAN, 0 },
	{ "GET", "/v1/policy", CTL_OP_POLICY_GET, 0 },
	{ "PUT", "/v1/policy", CTL_OP_POLICY_PUT, CTL_R_WRITE },
	{ "DELETE", "/v1/policy", CTL_OP_POLICY_DELETE, CTL_R_WRITE },
	{ "GET", "/v1/cycles", CTL_OP_CYCLES, 0 },
	{ "GET", "/v1/placement", CTL_OP_PLACEMENT, 0 },
	{ "POST", "/v1/controller/pause", CTL_OP_CTL_PAUSE, CTL_R_WRITE },
	{ "POST", "/v1/controller/resume", CTL_OP_CTL_RESUME, CTL_R_WRITE },
	{ "POST", "/v1/controller/run", CTL_OP_RUN, CTL_R_WRITE },
	{ "GET", "/v1/audit", CTL_OP_AUDIT, 0 },
	{ "GET", "/v1/jobs", CTL_OP_JOB_LIST, 0 },
	{ "POST", "/v1/jobs", CTL_OP_JOB_CREATE, CTL_R_WRITE },
	{ "GET", "/v1/jobs/{id}", CTL_OP_JOB_GET, 0 },
	{ "PUT", "/v1/jobs/{id}", CTL_OP_JOB_ACTION, CTL_R_WRITE },
	{ "GET", "/v1/jobs/{id}/tasks", CTL_OP_JOB_TASKS, 0 },
	{ "POST", "/v1/jobs/{id}/retry", CTL_OP_MANTA_RETRY, CTL_R_WRITE },
	{ "GET", "/v1/nodes", CTL_OP_NODE_LIST, 0 },
	{ "PUT", "/v1/nodes/{id}", CTL_OP_NODE_PUT, CTL_R_WRITE },
	{ "POST", "/v1/nodes/{id}/drain", CTL_OP_NODE_DRAIN, CTL_R_WRITE },
	{ "POST", "/v1/objects/import", CTL_OP_IMPORT, CTL_R_WRITE },
	{ "GET", "/v1/objects/export", CTL_OP_EXPORT, 0 },
	{ "GET", "/v1/objects/{id}", CTL_OP_OBJECT_GET, 0 },
	{ "GET", "/jobs", CTL_OP_MANTA_LIST, CTL_R_MANTA },
	{ "POST", "/jobs", CTL_OP_JOB_CREATE, CTL_R_WRITE | CTL_R_MANTA },
	{ "GET", "/jobs/{id}", CTL_OP_MANTA_GET, CTL_R_MANTA },
	{ "PUT", "/jobs/{id}", CTL_OP_JOB_ACTION, CTL_R_WRITE | CTL_R_MANTA },
	{ "POST", "/jobs/{id}/retry", CTL_OP_MANTA_RETRY,
	    CTL_R_WRITE | CTL_R_MANTA },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* 1 if path has pattern's shape; the "{id}" segment (non-empty, no '/')
 * goes to seg when seg is not NULL. */
static int
match(const char *pat, const char *path, char *seg, size_t seglen)
{
	while (*pat && *path) {
		if (strncmp(pat, "{id}", 4) == 0) {
			size_t l = strcspn(path, "/");

			if (l == 0)
				return 0;
			if (seg != NULL)
				snprintf(seg, seglen, "%.*s", (int)l, path);
			pat += 4;
			path += l;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return *pat == '\0' && *path == '\0';
}

const struct ctl_route *
ctl_route_find(const char *method, const char *path, char *seg,
    size_t seglen)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (strcmp(routes[i].method, method) == 0 &&
		    match(routes[i].pattern, path, seg, seglen))
			return &routes[i];
	return NULL;
}

size_t
ctl_route_allow(const char *path, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, path, NULL, 0) ||
		    strstr(buf, routes[i].method) != NULL)
			continue;
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
		    buf[0] ? ", " : "", routes[i].method);
		n++;
	}
	return n;
}

const char *
ctl_route_label(const char *path)
{
	if (strcmp(path, "/metrics") == 0)
		return "/metrics";
	if (strcmp(path, "/ui") == 0)
		return "/ui";
	/* The controller's three actions share one series. */
	if (strncmp(path, "/v1/controller/", 15) == 0 && path[15] != '\0' &&
	    strchr(path + 15, '/') == NULL)
		return "/v1/controller/{action}";
	for (size_t i = 0; i < NROUTES; i++)
		if (match(routes[i].pattern, path, NULL, 0))
			return routes[i].pattern;
	return "other";
}

const struct ctl_route *
ctl_routes(size_t *n)
{
	*n = NROUTES;
	return routes;
}
