/* tests/integration/test_cli_plan.c - bin/ballastctl plan on generated
 * files: the JSON it prints, its determinism, quiet hours and the exit
 * code 2 cases with their messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/helpers/agent_harness.h"

#define NNODES	12
#define NOBJ	3000

static char tmpdir[256];
static uint64_t sizes[NOBJ];
static int copies[NOBJ][3];

static int
run(const char *args)
{
	char cmd[4096];
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s/ballastctl' plan %s "
	    ">'%s/out' 2>'%s/err'", tmpdir, tha_bin_dir(), args, tmpdir,
	    tmpdir);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static char *
slurp(const char *name)
{
	char *s = tha_read_text(tmpdir, name);

	assert_non_null(s);
	return s;
}

static void
put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* 2 datacenters x 2 racks x 3 hosts; node n00..n02 get most data; node
 * n11 is draining and n10 out, both nearly empty. */
static void
generate(void)
{
	uint64_t used[NNODES] = { 0 }, s = 42, total = 0;
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/objects.csv", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("id,owner,size,md5,copies,reads_per_hour,affinity,"
	    "allowed_dcs\n", f);
	for (int o = 0; o < NOBJ; o++) {
		for (int k = 0; k < 3; k++) {
			int c, ok;

			do {
				s ^= s << 13; s ^= s >> 7; s ^= s << 17;
				c = (int)(s % 2 ? s / 2 % 3 : s / 2 % 10);
				ok = 1;
				for (int j = 0; j < k; j++)
					ok &= copies[o][j] != c;
			} while (!ok);
			copies[o][k] = c;
		}
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		sizes[o] = (uint64_t)(1 + s % 100) << 20;
		for (int k = 0; k < 3; k++)
			used[copies[o][k]] += sizes[o];
		total += 3 * sizes[o];
		fprintf(f, "obj-%05d,alice,%llu,,n%02d;n%02d;n%02d,%d,%s,%s\n",
		    o, (unsigned long long)sizes[o], copies[o][0],
		    copies[o][1], copies[o][2], o % 500,
		    o % 7 == 0 ? "grp" : "", o % 5 == 0 ? "dc0" : "");
	}
	assert_int_equal(fclose(f), 0);
	snprintf(path, sizeof(path), "%s/cluster.json", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("{\"failure_domain\":\"host\",\"nodes\":[\n", f);
	for (int i = 0; i < NNODES; i++)
		fprintf(f, "{\"id\":\"n%02d\",\"region\":\"eu\","
		    "\"datacenter\":\"dc%d\",\"rack\":\"r%d\",\"host\":\"h%02d\","
		    "\"capacity_bytes\":%llu,\"used_bytes\":%llu,"
		    "\"state\":\"%s\",\"latency_ms\":%d}%s\n", i, i / 6,
		    (i / 3) % 2, i, (unsigned long long)(total / NNODES * 2),
		    (unsigned long long)used[i], i == 11 ? "draining" :
		    i == 10 ? "out" : "in", i * 5, i == NNODES - 1 ? "" : ",");
	fputs("]}\n", f);
	assert_int_equal(fclose(f), 0);
	put("unbounded.json", "{\"max_moves_per_cycle\":null,"
	    "\"max_egress_bytes_per_cycle\":null,\"max_cost_per_cycle\":null}");
	put("budget.json", "{\"max_moves_per_cycle\":25,"
	    "\"max_egress_bytes_per_cycle\":1073741824,"
	    "\"max_cost_per_cycle\":0.01}");
	put("quiet.json", "{\"quiet_hours\":[{\"start\":\"22:00\","
	    "\"end\":\"06:00\",\"tz\":\"Europe/Paris\",\"days\":[\"fri\"]}]}");
	put("calm.json", "{\"imbalance_threshold\":1.0}");
	put("badkey.json", "{\n  \"max_fill\": 0.8,\n  \"max_fil\": 0.9\n}\n");
}

static int
setup(void **state)
{
	char abs[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ballast-plan-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	if (tha_bin_dir()[0] != '/' && realpath(tha_bin_dir(), abs))
		setenv("BALLAST_BIN", abs, 1);
	generate();
	return 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static json_t *
run_json(const char *args)
{
	json_error_t jerr;
	json_t *root;
	char *out;

	assert_int_equal(run(args), 0);
	out = slurp("out");
	root = json_loads(out, 0, &jerr);
	if (root == NULL)
		fail_msg("not JSON: %s\n%s", jerr.text, out);
	free(out);
	return root;
}

static int
node_of(const char *id)
{
	return atoi(id + 1);
}

/* Checks each move against the generated world and the summary against
 * the moves. */
static void
check_plan(json_t *root)
{
	json_t *sum = json_object_get(root, "summary");
	json_t *moves = json_object_get(root, "moves");
	json_t *m;
	size_t i;
	json_int_t bytes = 0;
	double cost = 0;
	static const char *const keys[] = { "imbalance_before",
	    "imbalance_projected", "target_imbalance", "moves", "bytes",
	    "min_bytes", "cost", "quiet", "budget" };

	assert_non_null(sum);
	assert_true(json_is_array(moves));
	assert_int_equal(json_object_size(root), 2);
	assert_int_equal(json_object_size(sum), 9);
	for (i = 0; i < 9; i++)
		assert_non_null(json_object_get(sum, keys[i]));
	json_array_foreach(moves, i, m) {
		const char *obj = json_string_value(json_object_get(m,
		    "object"));
		int o = atoi(obj + 4);
		int from = node_of(json_string_value(json_object_get(m,
		    "from")));
		int to = node_of(json_string_value(json_object_get(m, "to")));

		assert_int_equal(json_object_size(m), 7);
		assert_non_null(json_string_value(json_object_get(m,
		    "reason")));
		assert_true(json_is_number(json_object_get(m, "gravity")));
		assert_true(from == copies[o][0] || from == copies[o][1] ||
		    from == copies[o][2]);
		assert_true(to != copies[o][0] && to != copies[o][1] &&
		    to != copies[o][2]);
		assert_true(to < 10);		/* never out or draining */
		if (o % 5 == 0)
			assert_true(to < 6);	/* pinned to dc0 */
		assert_int_equal(json_integer_value(json_object_get(m,
		    "bytes")), (json_int_t)sizes[o]);
		bytes += json_integer_value(json_object_get(m, "bytes"));
		cost += json_number_value(json_object_get(m, "cost"));
	}
	assert_int_equal(json_integer_value(json_object_get(sum, "moves")),
	    (json_int_t)json_array_size(moves));
	assert_int_equal(json_integer_value(json_object_get(sum, "bytes")),
	    bytes);
	assert_true(json_number_value(json_object_get(sum, "cost")) <=
	    cost + 1e-9);
}

static void
test_cli_plan__json_plan_respects_the_default_budgets(void **state)
{
	json_t *root = run_json("--cluster cluster.json --objects objects.csv "
	    "--json");
	json_t *sum = json_object_get(root, "summary");
	json_t *b = json_object_get(sum, "budget");

	check_plan(root);
	assert_true(json_integer_value(json_object_get(sum, "moves")) > 0);
	assert_true(json_is_false(json_object_get(sum, "quiet")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(b,
	    "moves"), "limit")), 1000);
	assert_true(json_integer_value(json_object_get(json_object_get(b,
	    "egress_bytes"), "used")) <= 10737418240ll);
	assert_true(json_number_value(json_object_get(sum,
	    "imbalance_projected")) < json_number_value(json_object_get(sum,
	    "imbalance_before")));
	json_decref(root);
}

static void
test_cli_plan__unbounded_plan_reaches_the_target_near_min_bytes(void **state)
{
	json_t *root = run_json("--cluster cluster.json --objects objects.csv "
	    "--policy unbounded.json --json");
	json_t *sum = json_object_get(root, "summary");
	json_t *b = json_object_get(sum, "budget");

	check_plan(root);
	assert_true(json_number_value(json_object_get(sum,
	    "imbalance_projected")) <= 0.05);
	assert_true(json_number_value(json_object_get(sum,
	    "target_imbalance")) == 0.05);
	assert_true((double)json_integer_value(json_object_get(sum, "bytes"))
	    <= 1.10 * (double)json_integer_value(json_object_get(sum,
	    "min_bytes")));
	assert_true(json_is_null(json_object_get(json_object_get(b, "moves"),
	    "limit")));
	json_decref(root);
}

static void
test_cli_plan__tight_budgets_are_never_exceeded(void **state)
{
	json_t *root = run_json("--cluster cluster.json --objects objects.csv "
	    "--policy budget.json --json");
	json_t *sum = json_object_get(root, "summary");

	check_plan(root);
	assert_true(json_integer_value(json_object_get(sum, "moves")) <= 25);
	assert_true(json_integer_value(json_object_get(sum, "bytes")) <=
	    1073741824);
	assert_true(json_number_value(json_object_get(sum, "cost")) <= 0.01);
	json_decref(root);
}

static void
test_cli_plan__the_output_is_byte_identical_across_runs(void **state)
{
	char *a, *b;

	assert_int_equal(run("--cluster cluster.json --objects objects.csv "
	    "--policy unbounded.json --json"), 0);
	a = slurp("out");
	assert_int_equal(run("--cluster cluster.json --objects objects.csv "
	    "--policy unbounded.json --json"), 0);
	b = slurp("out");
	assert_string_equal(a, b);
	free(b);
	/* The same objects in the reverse order give the same plan. */
	{
		char path[512], *csv = slurp("objects.csv"), *nl;
		FILE *f;
		size_t n = strlen(csv);

		snprintf(path, sizeof(path), "%s/reversed.csv", tmpdir);
		f = fopen(path, "wb");
		assert_non_null(f);
		nl = strchr(csv, '\n');
		fwrite(csv, 1, (size_t)(nl - csv) + 1, f);	/* header */
		csv[n - 1] = '\0';				/* last \n */
		while ((nl = strrchr(csv, '\n')) != NULL) {
			fprintf(f, "%s\n", nl + 1);
			*nl = '\0';
		}
		assert_int_equal(fclose(f), 0);
		free(csv);
	}
	assert_int_equal(run("--cluster cluster.json --objects reversed.csv "
	    "--policy unbounded.json --json"), 0);
	b = slurp("out");
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void
test_cli_plan__quiet_hours_give_no_moves(void **state)
{
	/* Friday 20 November 2026, 23:30 in Paris. */
	json_t *root = run_json("--cluster cluster.json --objects objects.csv "
	    "--policy quiet.json --now 2026-11-20T22:30:00Z --json");
	json_t *sum = json_object_get(root, "summary");

	assert_true(json_is_true(json_object_get(sum, "quiet")));
	assert_int_equal(json_array_size(json_object_get(root, "moves")), 0);
	assert_int_equal(json_integer_value(json_object_get(sum, "moves")), 0);
	json_decref(root);
	/* Saturday evening is outside the Friday window. */
	root = run_json("--cluster cluster.json --objects objects.csv "
	    "--policy quiet.json --now 2026-11-21T22:30:00Z --json");
	sum = json_object_get(root, "summary");
	assert_true(json_is_false(json_object_get(sum, "quiet")));
	assert_true(json_array_size(json_object_get(root, "moves")) > 0);
	json_decref(root);
}

static void
test_cli_plan__below_the_threshold_nothing_moves(void **state)
{
	json_t *root = run_json("--cluster cluster.json --objects objects.csv "
	    "--policy calm.json --json");

	assert_int_equal(json_array_size(json_object_get(root, "moves")), 0);
	json_decref(root);
}

static void
test_cli_plan__the_human_output_has_a_summary_and_a_table(void **state)
{
	char *out;

	assert_int_equal(run("--cluster cluster.json --objects objects.csv "
	    "--preset aggressive"), 0);
	out = slurp("out");
	assert_non_null(strstr(out, "imbalance"));
	assert_non_null(strstr(out, "OBJECT"));
	assert_non_null(strstr(out, "obj-"));
	free(out);
}

static void
expect_usage(const char *csv_row, const char *args, const char *needle)
{
	char *err;

	if (csv_row != NULL) {
		char text[1024];

		snprintf(text, sizeof(text), "id,owner,size,md5,copies,"
		    "reads_per_hour,affinity,allowed_dcs\n"
		    "ok-1,alice,10,,n00;n01,1,,\n%s\n", csv_row);
		put("bad.csv", text);
	}
	assert_int_equal(run(args), 2);
	err = slurp("err");
	if (strstr(err, needle) == NULL)
		fail_msg("stderr lacks \"%s\": %s", needle, err);
	free(err);
	err = slurp("out");
	assert_string_equal(err, "");
	free(err);
}

static void
test_cli_plan__bad_input_names_file_line_and_field(void **state)
{
	const char *bad = "--cluster cluster.json --objects bad.csv --json";

	expect_usage("x-1,alice,10,,n00", bad,
	    "bad.csv:3: field reads_per_hour: expected 8 fields, got 5");
	expect_usage("x-1,alice,10,,n00;n99,1,,", bad,
	    "bad.csv:3: field copies: unknown node \"n99\"");
	expect_usage("x-1,alice,-10,,n00,1,,", bad,
	    "bad.csv:3: field size: negative size \"-10\"");
	expect_usage("ok-1,alice,10,,n02,1,,", bad,
	    "bad.csv:3: field id: duplicate object id \"ok-1\" (first on "
	    "line 2)");
	expect_usage(NULL, "--cluster cluster.json --objects objects.csv "
	    "--policy badkey.json", "badkey.json:3: policy.max_fil: unknown "
	    "key");
	expect_usage(NULL, "--cluster nope.json --objects objects.csv",
	    "nope.json");
	put("badcluster.json", "{\"nodes\":[\n{\"id\":\"a\",\"region\":\"r\","
	    "\"datacenter\":\"d\",\"rack\":\"k\",\"host\":\"h\",\n"
	    "\"capacity_bytes\":10,\"used_bytes\":-3,\"state\":\"in\"}]}\n");
	expect_usage(NULL, "--cluster badcluster.json --objects objects.csv",
	    "badcluster.json:3: nodes[0].used_bytes: expected an integer >= 0");
	put("badquiet.json", "{\n\"quiet_hours\":[\n{\"start\":\"01:00\","
	    "\"end\":\"02:00\"},\n{\"start\":\"25:00\",\"end\":\"02:00\"}]}\n");
	expect_usage(NULL, "--cluster cluster.json --objects objects.csv "
	    "--policy badquiet.json", "badquiet.json:4: "
	    "policy.quiet_hours[1].start: expected \"HH:MM\", got \"25:00\"");
	expect_usage(NULL, "--cluster cluster.json --objects objects.csv "
	    "--preset turbo", "unknown preset \"turbo\"");
	expect_usage(NULL, "--cluster cluster.json --objects objects.csv "
	    "--now yesterday", "--now");
	expect_usage(NULL, "--objects objects.csv", "--cluster");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_plan__json_plan_respects_the_default_budgets),
		cmocka_unit_test(test_cli_plan__unbounded_plan_reaches_the_target_near_min_bytes),
		cmocka_unit_test(test_cli_plan__tight_budgets_are_never_exceeded),
		cmocka_unit_test(test_cli_plan__the_output_is_byte_identical_across_runs),
		cmocka_unit_test(test_cli_plan__quiet_hours_give_no_moves),
		cmocka_unit_test(test_cli_plan__below_the_threshold_nothing_moves),
		cmocka_unit_test(test_cli_plan__the_human_output_has_a_summary_and_a_table),
		cmocka_unit_test(test_cli_plan__bad_input_names_file_line_and_field),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
