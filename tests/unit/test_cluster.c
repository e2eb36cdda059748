/* tests/unit/test_cluster.c - the cluster map loader, link classes and
 * the objects CSV loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "placement/cluster.h"
#include "placement/objects_csv.h"

static const char *const good =
    "{\"failure_domain\":\"rack\",\"nodes\":["
    "{\"id\":\"b\",\"region\":\"eu\",\"datacenter\":\"par\",\"rack\":\"r1\","
    "\"host\":\"h1\",\"capacity_bytes\":1000,\"used_bytes\":500,"
    "\"state\":\"in\",\"latency_ms\":4},"
    "{\"id\":\"a\",\"region\":\"eu\",\"datacenter\":\"par\",\"rack\":\"r1\","
    "\"host\":\"h1\",\"capacity_bytes\":1000,\"used_bytes\":100,"
    "\"state\":\"draining\",\"weight\":2.5},"
    "{\"id\":\"c\",\"region\":\"eu\",\"datacenter\":\"ams\",\"rack\":\"r1\","
    "\"host\":\"h9\",\"capacity_bytes\":2000,\"used_bytes\":0,"
    "\"state\":\"out\"},"
    "{\"id\":\"d\",\"region\":\"us\",\"datacenter\":\"nyc\",\"rack\":\"r2\","
    "\"host\":\"h2\",\"capacity_bytes\":1000,\"used_bytes\":900,"
    "\"state\":\"in\"}]}";

static struct plc_cluster *
load(const char *json, struct bl_err *err)
{
	bl_err_clear(err);
	return plc_cluster_from_json(json, strlen(json), "c.json", err);
}

static void
test_cluster__loads_nodes_sorted_by_id_with_defaults(void **state)
{
	struct bl_err err;
	struct plc_cluster *cl = load(good, &err);

	assert_non_null(cl);
	assert_int_equal(cl->n, 4);
	assert_int_equal(cl->failure_domain, PLC_DOMAIN_RACK);
	assert_string_equal(cl->nodes[0].id, "a");
	assert_string_equal(cl->nodes[3].id, "d");
	assert_int_equal(plc_cluster_find(cl, "c"), 2);
	assert_int_equal(plc_cluster_find(cl, "zz"), -1);
	assert_int_equal(cl->nodes[0].state, PLC_NODE_DRAINING);
	assert_true(cl->nodes[0].weight == 2.5);
	assert_true(cl->nodes[1].latency_ms == 4);
	assert_true(cl->nodes[0].latency_ms < 0);	/* unknown */
	assert_int_equal(cl->nodes[2].state, PLC_NODE_OUT);
	plc_cluster_free(cl);
}

static void
test_cluster__link_classes_follow_the_hierarchy(void **state)
{
	struct bl_err err;
	struct plc_cluster *cl = load(good, &err);
	const char *dcs[4];

	assert_non_null(cl);
	assert_int_equal(plc_link_class(&cl->nodes[0], &cl->nodes[1]),
	    PLC_LINK_SAME_HOST);
	assert_int_equal(plc_link_class(&cl->nodes[0], &cl->nodes[2]),
	    PLC_LINK_CROSS_DATACENTER);
	assert_int_equal(plc_link_class(&cl->nodes[0], &cl->nodes[3]),
	    PLC_LINK_CROSS_REGION);
	assert_int_equal(plc_cluster_dcs(cl, dcs, 4), 3);
	assert_string_equal(dcs[0], "par");
	assert_string_equal(dcs[1], "ams");
	assert_string_equal(dcs[2], "nyc");
	plc_cluster_free(cl);
}

static void
test_cluster__fill_stats_count_in_nodes_only(void **state)
{
	struct bl_err err;
	struct plc_cluster *cl = load(good, &err);
	struct plc_fill_stats st;

	plc_cluster_fill_stats(cl, NULL, &st);
	/* in: b (0.5) and d (0.9). */
	assert_int_equal(st.n_in, 2);
	assert_true(st.min == 0.5 && st.max == 0.9);
	assert_true(st.mean == 0.7);
	assert_int_equal(st.min_bytes, 200);	/* d: 900 - 700 */
	plc_cluster_free(cl);
}

struct bad_case {
	const char	*json;
	const char	*msg;
};

static void
test_cluster__bad_maps_name_the_file_and_path(void **state)
{
	static const struct bad_case c[] = {
		{ "{\"nodes\":[{\"id\":\"a\"}]}",
		  "c.json: nodes[0].region: missing" },
		{ "{\"nodes\":{}}", "c.json: nodes: expected an array" },
		{ "{\"failure_domain\":\"zone\",\"nodes\":[]}",
		  "c.json: failure_domain: expected \"host\", \"rack\" or "
		  "\"datacenter\"" },
		{ "{\"nodes\":[{\"id\":\"a\",\"region\":\"r\",\"datacenter\":\"d\","
		  "\"rack\":\"k\",\"host\":\"h\",\"capacity_bytes\":-1,"
		  "\"used_bytes\":0,\"state\":\"in\"}]}",
		  "c.json: nodes[0].capacity_bytes: expected an integer >= 1" },
		{ "{\"nodes\":[{\"id\":\"a\",\"region\":\"r\",\"datacenter\":\"d\","
		  "\"rack\":\"k\",\"host\":\"h\",\"capacity_bytes\":10,"
		  "\"used_bytes\":0,\"state\":\"up\"}]}",
		  "c.json: nodes[0].state: expected \"in\", \"draining\" or "
		  "\"out\", got \"up\"" },
		{ "{\"nodes\":[{\"id\":\"a\",\"region\":\"r\",\"datacenter\":\"d\","
		  "\"rack\":\"k\",\"host\":\"h\",\"capacity_bytes\":10,"
		  "\"used_bytes\":0,\"state\":\"in\"},{\"id\":\"a\",\"region\":"
		  "\"r\",\"datacenter\":\"d\",\"rack\":\"k\",\"host\":\"h\","
		  "\"capacity_bytes\":10,\"used_bytes\":0,\"state\":\"in\"}]}",
		  "c.json: nodes: node id=a: duplicate id" },
	};
	struct bl_err err;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_null(load(c[i].json, &err));
		if (strcmp(err.msg, c[i].msg) != 0)
			fail_msg("expected: %s\ngot:      %s", c[i].msg,
			    err.msg);
	}
	assert_null(load("{\"nodes\":[\n", &err));
	assert_int_equal(err.code, BL_EPARSE);
	assert_non_null(strstr(err.msg, "c.json: line"));
}

struct rows {
	size_t			n;
	struct plc_csv_row	last;
	char			last_id[64];
	char			last_aff[64];
	uint64_t		total;
	double			reads[8];	/* of the first 8 rows */
};

static int
collect(const struct plc_csv_row *r, void *arg, struct bl_err *err)
{
	struct rows *x = arg;

	x->n++;
	x->last = *r;
	snprintf(x->last_id, sizeof(x->last_id), "%s", r->id);
	snprintf(x->last_aff, sizeof(x->last_aff), "%s", r->affinity);
	if (x->n <= 8)
		x->reads[x->n - 1] = r->reads_per_hour;
	x->total += r->size;
	return 0;
}

#define HDR "id,owner,size,md5,copies,reads_per_hour,affinity,allowed_dcs\n"

static int
csv(const char *text, struct rows *r, struct bl_err *err)
{
	struct plc_cluster *cl = load(good, err);
	int rc;

	assert_non_null(cl);
	memset(r, 0, sizeof(*r));
	bl_err_clear(err);
	rc = plc_objects_csv_parse(text, strlen(text), cl, "o.csv", collect,
	    r, err);
	plc_cluster_free(cl);
	return rc;
}

static void
test_cluster__csv_rows_parse_with_lists_and_quotes(void **state)
{
	struct rows r;
	struct bl_err err;

	assert_int_equal(csv(HDR
	    "o1,alice,100,d41d8cd98f00b204e9800998ecf8427e,b;d,12.5,g1,\n"
	    "\r\n"
	    "\"o,2\",bob,200,,d,,,par;nyc\r\n", &r, &err), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.total, 300);
	assert_string_equal(r.last_id, "o,2");
	assert_int_equal(r.last.line, 4);
	assert_int_equal(r.last.ncopies, 1);
	assert_int_equal(r.last.copies[0], 3);		/* "d" */
	assert_true(r.last.pinned);
	assert_true(r.last.allowed_dcs == ((1u << 0) | (1u << 2)));
	assert_int_equal(csv(HDR, &r, &err), 0);	/* no rows */
	assert_int_equal(r.n, 0);
}

/* Rates written as whole numbers or not read the same as strtod reads
 * them; a CR inside a field is data, one before the line end or at the end
 * of the file is not. */
static void
test_cluster__csv_rates_and_carriage_returns(void **state)
{
	struct rows r;
	struct bl_err err;

	(void)state;
	assert_int_equal(csv(HDR "o1,a,5,,b,16,,\n"
	    "o2,a,5,,b,0016,,\n"
	    "o3,a,5,,b,1234567890123456789,,\n"
	    "o4,a,5,,b,1e3,,\n"
	    "o5,a,5,,b,2.5,,\n"
	    "o6,a,5,,b,0,,\n"
	    "o7,a,5,,b,999999999999999,g\rx,\r", &r, &err), 0);
	assert_int_equal(r.n, 7);
	assert_true(r.reads[0] == 16.0);
	assert_true(r.reads[1] == 16.0);
	assert_true(r.reads[2] == strtod("1234567890123456789", NULL));
	assert_true(r.reads[3] == 1000.0);
	assert_true(r.reads[4] == 2.5);
	assert_true(r.reads[5] == 0.0);
	assert_true(r.reads[6] == 999999999999999.0);
	assert_string_equal(r.last_aff, "g\rx");
	assert_string_equal(r.last_id, "o7");
}

static void
test_cluster__csv_md5_is_base64_or_hex(void **state)
{
	struct rows r;
	struct bl_err err;

	(void)state;
	assert_int_equal(csv(HDR "o1,a,5,1B2M2Y8AsgTpgAmY7PhCfg==,b,0,,\n"
	    "o2,a,5,d41d8cd98f00b204e9800998ecf8427e,b,0,,\n", &r, &err), 0);
	assert_int_equal(r.n, 2);
}

static void
test_cluster__bad_csv_rows_name_file_line_and_field(void **state)
{
	static const struct bad_case c[] = {
		{ HDR "o1,a,-5,,b,0,,\n",
		  "o.csv:2: field size: negative size \"-5\"" },
		{ HDR "o1,a,5,,b,0,,\no2,a,x,,b,0,,\n",
		  "o.csv:3: field size: expected a non-negative integer, got "
		  "\"x\"" },
		{ HDR "o1,a,5,,b;zz,0,,\n",
		  "o.csv:2: field copies: unknown node \"zz\"" },
		{ HDR "o1,a,5,,b;b,0,,\n",
		  "o.csv:2: field copies: node given twice \"b\"" },
		{ HDR "o1,a,5,,,0,,\n", "o.csv:2: field copies: empty" },
		{ HDR "o1,a,5,,b,0,\n",
		  "o.csv:2: field allowed_dcs: expected 8 fields, got 7" },
		{ HDR "o1,a,5,,b,0,,,x\n",
		  "o.csv:2: field allowed_dcs: expected 8 fields, got more "
		  "than 8" },
		{ HDR "o1,a,5,xyz,b,0,,\n",
		  "o.csv:2: field md5: expected base64 Content-MD5 (24 "
		  "characters) or 32 hex digits, got \"xyz\"" },
		{ HDR "o1,a,5,1B2M2Y8AsgTpgAmY7PhCfh==,b,0,,\n",
		  "o.csv:2: field md5: expected base64 Content-MD5 (24 "
		  "characters) or 32 hex digits, got "
		  "\"1B2M2Y8AsgTpgAmY7PhCfh==\"" },
		{ HDR "o1,a,5,,b,lots,,\n",
		  "o.csv:2: field reads_per_hour: expected a number, got "
		  "\"lots\"" },
		{ HDR "o1,a,5,,b,-1,,\n",
		  "o.csv:2: field reads_per_hour: negative value \"-1\"" },
		{ HDR ",a,5,,b,0,,\n", "o.csv:2: field id: empty" },
		{ HDR "\"o1,a,5,,b,0,,\n",
		  "o.csv:2: field id: unterminated quote" },
		{ "id,size\n", "o.csv:1: header: expected \"id,owner,size,md5,"
		  "copies,reads_per_hour,affinity,allowed_dcs\"" },
	};
	struct rows r;
	struct bl_err err;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(csv(c[i].json, &r, &err), -1);
		if (strcmp(err.msg, c[i].msg) != 0)
			fail_msg("expected: %s\ngot:      %s", c[i].msg,
			    err.msg);
	}
}

struct starts {
	size_t	n;
	size_t	start[8];
	size_t	line[8];
};

static int
note_start(const struct plc_csv_row *r, void *arg, struct bl_err *err)
{
	struct starts *x = arg;

	(void)err;
	if (x->n < 8) {
		x->start[x->n] = r->start;
		x->line[x->n] = r->line;
	}
	x->n++;
	return 0;
}

/* A row's start gives back its id (quotes, "" and a quoted line end
 * undone, a CR before the line end dropped) and its line; and the records
 * after any row's start parse alone to the same rows. */
static void
test_cluster__csv_row_start_gives_back_id_and_line(void **state)
{
	static const char text[] = HDR
	    "o1,a,5,,b,0,,\n"
	    "\n"
	    "\"x\"\"y\nz\",a,5,,b,0,,\n"
	    "o\rp,a,5,,b,0,,\r\n"
	    "last,a,5,,d,0,,";
	static const char bad[] = HDR "o1,a,5,,b,0,,\n" "o2,a,x,,b,0,,\n";
	struct plc_cluster *cl;
	struct starts all, rest;
	struct bl_err err;
	char *id;

	(void)state;
	cl = load(good, &err);
	assert_non_null(cl);
	memset(&all, 0, sizeof(all));
	if (plc_objects_csv_parse(text, strlen(text), cl, "o.csv",
	    note_start, &all, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(all.n, 4);
	{
		static const char *const want[] = { "o1", "x\"y\nz", "o\rp",
		    "last" };

		for (size_t i = 0; i < 4; i++) {
			id = plc_objects_csv_id(text, strlen(text),
			    all.start[i]);
			assert_non_null(id);
			assert_string_equal(id, want[i]);
			free(id);
			assert_int_equal(plc_objects_csv_line(text, strlen(text),
			    all.start[i]), all.line[i]);
		}
	}
	assert_int_equal(all.line[1], 4);
	assert_int_equal(all.line[2], 6);
	/* the rest, from the second row, with its line given */
	memset(&rest, 0, sizeof(rest));
	assert_int_equal(plc_objects_csv_parse_from(text, strlen(text),
	    all.start[1], all.line[1], cl, "o.csv", note_start, &rest, &err), 0);
	assert_int_equal(rest.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rest.start[i], all.start[i + 1]);
		assert_int_equal(rest.line[i], all.line[i + 1]);
	}
	/* an error after the start counts lines from the one given */
	assert_int_equal(plc_objects_csv_parse_from(bad, strlen(bad),
	    strlen(HDR), 2, cl, "o.csv", note_start, &rest, &err), -1);
	assert_string_equal(err.msg, "o.csv:3: field size: expected a "
	    "non-negative integer, got \"x\"");
	plc_cluster_free(cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster__loads_nodes_sorted_by_id_with_defaults),
		cmocka_unit_test(test_cluster__link_classes_follow_the_hierarchy),
		cmocka_unit_test(test_cluster__fill_stats_count_in_nodes_only),
		cmocka_unit_test(test_cluster__bad_maps_name_the_file_and_path),
		cmocka_unit_test(test_cluster__csv_rows_parse_with_lists_and_quotes),
		cmocka_unit_test(test_cluster__csv_md5_is_base64_or_hex),
		cmocka_unit_test(test_cluster__csv_rates_and_carriage_returns),
		cmocka_unit_test(test_cluster__bad_csv_rows_name_file_line_and_field),
		cmocka_unit_test(test_cluster__csv_row_start_gives_back_id_and_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
