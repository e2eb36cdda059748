/* tests/fuzz/fuzz_objects_csv.c - the objects CSV loader of `ballastctl
 * plan`, against a fixed four-node cluster; every row it accepts is fed to
 * the planner, which must then plan without crashing. */
#include "tests/fuzz/fuzz.h"

#include <string.h>

#include "placement/cluster.h"
#include "placement/objects_csv.h"
#include "placement/planner.h"

static const char cluster_json[] =
    "{\"failure_domain\":\"host\",\"nodes\":["
    "{\"id\":\"a\",\"region\":\"eu\",\"datacenter\":\"d1\",\"rack\":\"r1\","
    "\"host\":\"h1\",\"capacity_bytes\":1000,\"used_bytes\":900,"
    "\"state\":\"in\"},"
    "{\"id\":\"b\",\"region\":\"eu\",\"datacenter\":\"d1\",\"rack\":\"r2\","
    "\"host\":\"h2\",\"capacity_bytes\":1000,\"used_bytes\":100,"
    "\"state\":\"in\"},"
    "{\"id\":\"c\",\"region\":\"us\",\"datacenter\":\"d2\",\"rack\":\"r1\","
    "\"host\":\"h3\",\"capacity_bytes\":2000,\"used_bytes\":500,"
    "\"state\":\"in\",\"latency_ms\":20},"
    "{\"id\":\"d\",\"region\":\"us\",\"datacenter\":\"d2\",\"rack\":\"r2\","
    "\"host\":\"h4\",\"capacity_bytes\":1000,\"used_bytes\":0,"
    "\"state\":\"draining\"}]}";

static int
feed(const struct plc_csv_row *row, void *arg, struct bl_err *err)
{
	struct plc_planner *p = arg;
	struct plc_object obj;

	memset(&obj, 0, sizeof(obj));
	obj.handle = row->line;
	obj.key = plc_object_key(row->id, row->id_len);
	obj.size = row->size;
	obj.copies = row->copies;
	obj.ncopies = row->ncopies;
	obj.reads_per_hour = row->reads_per_hour;
	obj.pinned = row->pinned;
	obj.allowed_dcs = row->allowed_dcs;
	return plc_planner_add(p, &obj, err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plc_planner_opts o;
	struct plc_cluster *cl;
	struct plc_planner *p;
	struct plc_plan plan;
	struct bl_err err;

	cl = plc_cluster_from_json(cluster_json, sizeof(cluster_json) - 1,
	    NULL, &err);
	if (cl == NULL)
		return 0;
	plc_planner_opts_init(&o);
	o.cand_per_source = 64;
	p = plc_planner_new(cl, &o, &err);
	if (p != NULL) {
		if (plc_objects_csv_parse((const char *)data, size, cl, "fuzz",
		    feed, p, &err) == 0 &&
		    plc_planner_run(p, &plan, &err) == 0)
			plc_plan_release(&plan);
		plc_planner_free(p);
	}
	plc_cluster_free(cl);
	return 0;
}
