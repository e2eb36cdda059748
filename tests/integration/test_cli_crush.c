/* tests/integration/test_cli_crush.c - bin/ballastctl crush, run as an
 * operator would: golden files byte for byte, exit codes, messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/agent_harness.h"

static char tmpdir[256];

static const char *
golden(void)
{
	const char *d = getenv("BALLAST_GOLDEN");

	return d ? d : "tests/golden";
}

/* Runs "ballastctl ARGS" in dir with stdout and stderr to files; returns
 * the exit code. */
static int
run(const char *dir, const char *args)
{
	char cmd[4096];
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s/ballastctl' %s >'%s/out' "
	    "2>'%s/err'", dir, tha_bin_dir(), args, tmpdir, tmpdir);
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

static int
setup(void **state)
{
	char abs[512];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ballast-cli-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	/* Make BALLAST_BIN absolute: run() changes directory. */
	if (tha_bin_dir()[0] != '/' && realpath(tha_bin_dir(), abs))
		setenv("BALLAST_BIN", abs, 1);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_cli_crush__golden_files_match_byte_for_byte(void **state)
{
	static const char *const files[] = {
		"flat8.replicated_osd.r3.expect",
		"racks.replicated_host.r3.expect",
		"racks.replicated_rack.r3.expect",
		"uneven.dc_then_host.r3.expect",
		"uneven.replicated_host.r3.expect",
	};
	char dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crush", golden());
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char first[1024];
		char *want, *got, *body;

		assert_non_null(want = tha_read_text(dir, files[i]));
		/* "# ballastctl crush map ...", then the output */
		assert_non_null(body = strchr(want, '\n'));
		snprintf(first, sizeof(first), "%.*s", (int)(body - want), want);
		body++;
		assert_int_equal(strncmp(first, "# ballastctl ", 13), 0);
		assert_int_equal(run(dir, first + 13), 0);
		got = slurp("out");
		if (strcmp(got, body) != 0)
			fail_msg("%s: output differs", files[i]);
		free(want);
		free(got);
	}
}

static void
test_cli_crush__map_json_matches_the_plain_lines(void **state)
{
	char dir[512], *plain, *js;
	json_t *j, *maps;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crush", golden());
	assert_int_equal(run(dir, "crush map --crushmap uneven.map.json --rule "
	    "dc_then_host --replicas 3 --from 0 --to 99 --reweight 5:0"), 0);
	plain = slurp("out");
	assert_int_equal(run(dir, "crush map --crushmap uneven.map.json --rule "
	    "dc_then_host --replicas 3 --from 0 --to 99 --reweight 5:0 "
	    "--json"), 0);
	js = slurp("out");
	j = json_loads(js, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "rule")),
	    "dc_then_host");
	maps = json_object_get(j, "mappings");
	assert_int_equal(json_array_size(maps), 100);
	/* Line by line, the same items (null for "none"). */
	{
		char *line = plain, *nl;
		size_t i = 0;

		for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1, i++) {
			char want[256];
			json_t *m = json_array_get(maps, i), *it;
			size_t k;
			int len;

			*nl = '\0';
			len = snprintf(want, sizeof(want), "%lld",
			    (long long)json_integer_value(json_object_get(m,
			    "x")));
			json_array_foreach(json_object_get(m, "items"), k, it)
				len += snprintf(want + len, sizeof(want) -
				    (size_t)len, json_is_null(it) ? " none" :
				    " %lld", (long long)json_integer_value(it));
			assert_string_equal(want, line);
		}
		assert_int_equal(i, 100);
	}
	json_decref(j);
	free(plain);
	free(js);
}

static void
test_cli_crush__usage_errors_exit_2_with_a_message(void **state)
{
	static const struct { const char *args; const char *msg; } cases[] = {
		{ "crush map --rule r --replicas 3", "--crushmap is required" },
		{ "crush map --crushmap x.json --replicas 3",
		    "--rule is required" },
		{ "crush map --crushmap x.json --rule r --replicas zero",
		    "--replicas" },
		{ "crush map --crushmap x.json --rule r --replicas 3 --from 9 "
		    "--to 2", "past --to" },
		{ "crush map --crushmap x.json --rule r --replicas 3 "
		    "--reweight 1", "--reweight" },
		{ "crush map --bogus", "unknown or incomplete option" },
		{ "crush spin", "unknown subcommand" },
		{ "nosuch", "unknown command" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err;

		assert_int_equal(run(tmpdir, cases[i].args), 2);
		err = slurp("err");
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("\"%s\": stderr lacks \"%s\": %s", cases[i].args,
			    cases[i].msg, err);
		free(err);
	}
}

static void
test_cli_crush__bad_map_exits_2_naming_the_path(void **state)
{
	char path[512], args[1024], *err;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"devices\":[{\"id\":0,\"name\":\"osd.0\",\"size\":1}]}", f);
	fclose(f);
	snprintf(args, sizeof(args), "crush map --crushmap '%s' --rule r "
	    "--replicas 1", path);
	assert_int_equal(run(tmpdir, args), 2);
	err = slurp("err");
	assert_non_null(strstr(err, "devices[0].size: unknown field"));
	assert_non_null(strstr(err, "bad.json"));
	free(err);

	snprintf(args, sizeof(args), "crush map --crushmap '%s/none.json' "
	    "--rule r --replicas 1", tmpdir);
	assert_int_equal(run(tmpdir, args), 2);
	err = slurp("err");
	assert_non_null(strstr(err, "cannot open"));
	free(err);
}

static void
test_cli_crush__unknown_rule_and_device_exit_2(void **state)
{
	char dir[512], *err;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crush", golden());
	assert_int_equal(run(dir, "crush map --crushmap flat8.map.json --rule "
	    "nope --replicas 3"), 2);
	err = slurp("err");
	assert_non_null(strstr(err, "no rule named \"nope\""));
	free(err);
	assert_int_equal(run(dir, "crush map --crushmap flat8.map.json --rule "
	    "replicated_osd --replicas 3 --reweight 99:0"), 2);
	err = slurp("err");
	assert_non_null(strstr(err, "no device 99"));
	free(err);
}

static void
test_cli_crush__compare_reports_the_cost_of_a_weight_change(void **state)
{
	char dir[512], after[512], args[2048], *out, *src, *src_rest, *p;
	FILE *f;
	double moved, ideal, ratio;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/crush", golden());
	/* After: osd.7 at weight 2.0 in the flat map. */
	assert_non_null(src = tha_read_text(dir, "flat8.map.json"));
	assert_true(src[0] != '\0');
	snprintf(after, sizeof(after), "%s/after.json", tmpdir);
	f = fopen(after, "w");
	assert_non_null(f);
	p = strstr(src, "\"weight\": 524288");
	assert_non_null(p);
	fwrite(src, 1, (size_t)(p - src), f);
	fputs("\"weight\": 589824", f);
	src_rest = p + strlen("\"weight\": 524288");
	p = strstr(src_rest, "{\"id\": 7, \"weight\": 65536");
	assert_non_null(p);
	fwrite(src_rest, 1, (size_t)(p - src_rest), f);
	fputs("{\"id\": 7, \"weight\": 131072", f);
	fputs(p + strlen("{\"id\": 7, \"weight\": 65536"), f);
	fclose(f);
	free(src);

	snprintf(args, sizeof(args), "crush compare --crushmap flat8.map.json "
	    "--crushmap-after '%s' --rule replicated_osd --replicas 3 --json",
	    after);
	assert_int_equal(run(dir, args), 0);
	out = slurp("out");
	p = strstr(out, "\"replicas_moved_fraction\":");
	assert_non_null(p);
	moved = atof(p + 26);
	p = strstr(out, "\"ideal_fraction\":");
	assert_non_null(p);
	ideal = atof(p + 17);
	p = strstr(out, "\"moved_over_ideal\":");
	assert_non_null(p);
	ratio = atof(p + 19);
	/* osd.7 goes from 1/8 to 2/9 of the weight: 0.0972 is ideal. */
	assert_true(ideal > 0.097 && ideal < 0.098);
	assert_true(moved > 0.05 && moved < 0.2);
	assert_true(ratio > 0.5 && ratio < 2.0);
	free(out);
}

/* Writes tmpdir/name: root > 4 racks > 4 hosts > 4 devices, straw2, every
 * device at 1.0 but osd.0 at w0 (16.16), bucket weights the sums, rule
 * "by_host" = chooseleaf_firstn 0 type host. */
static void
write_hier_map(const char *name, uint32_t w0)
{
	char path[512];
	FILE *f;
	uint32_t rackw[4] = { 0 }, hostw[16] = { 0 };

	for (int d = 0; d < 64; d++) {
		hostw[d / 4] += d == 0 ? w0 : 0x10000;
		rackw[d / 16] += d == 0 ? w0 : 0x10000;
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"devices\": [", f);
	for (int d = 0; d < 64; d++)
		fprintf(f, "%s{\"id\": %d, \"name\": \"osd.%d\"}", d ? ", " : "",
		    d, d);
	fputs("], \"types\": [{\"type_id\": 0, \"name\": \"osd\"}, "
	    "{\"type_id\": 1, \"name\": \"host\"}, {\"type_id\": 3, \"name\": "
	    "\"rack\"}, {\"type_id\": 11, \"name\": \"root\"}], "
	    "\"buckets\": [", f);
	fprintf(f, "{\"id\": -1, \"name\": \"default\", \"type_id\": 11, "
	    "\"weight\": %u, \"alg\": \"straw2\", \"hash\": \"rjenkins1\", "
	    "\"items\": [", rackw[0] + rackw[1] + rackw[2] + rackw[3]);
	for (int r = 0; r < 4; r++)
		fprintf(f, "%s{\"id\": %d, \"weight\": %u}", r ? ", " : "",
		    -2 - r, rackw[r]);
	fputs("]}", f);
	for (int r = 0; r < 4; r++) {
		fprintf(f, ", {\"id\": %d, \"name\": \"rack%d\", \"type_id\": 3, "
		    "\"weight\": %u, \"alg\": \"straw2\", \"hash\": "
		    "\"rjenkins1\", \"items\": [", -2 - r, r, rackw[r]);
		for (int h = 0; h < 4; h++)
			fprintf(f, "%s{\"id\": %d, \"weight\": %u}", h ? ", " :
			    "", -6 - (r * 4 + h), hostw[r * 4 + h]);
		fputs("]}", f);
	}
	for (int h = 0; h < 16; h++) {
		fprintf(f, ", {\"id\": %d, \"name\": \"host%d\", \"type_id\": 1, "
		    "\"weight\": %u, \"alg\": \"straw2\", \"hash\": "
		    "\"rjenkins1\", \"items\": [", -6 - h, h, hostw[h]);
		for (int d = h * 4; d < h * 4 + 4; d++)
			fprintf(f, "%s{\"id\": %d, \"weight\": %u}", d % 4 ? ", " :
			    "", d, d == 0 ? w0 : 0x10000);
		fputs("]}", f);
	}
	fputs("], \"rules\": [{\"rule_id\": 0, \"rule_name\": \"by_host\", "
	    "\"type\": 1, \"steps\": [{\"op\": \"take\", \"item\": -1}, "
	    "{\"op\": \"chooseleaf_firstn\", \"num\": 0, \"type\": \"host\"}, "
	    "{\"op\": \"emit\"}]}], \"tunables\": {\"choose_local_tries\": 0, "
	    "\"choose_local_fallback_tries\": 0, \"choose_total_tries\": 50, "
	    "\"chooseleaf_descend_once\": 1, \"chooseleaf_vary_r\": 1, "
	    "\"chooseleaf_stable\": 1, \"straw_calc_version\": 1, "
	    "\"allowed_bucket_algs\": 54}}\n", f);
	assert_int_equal(fclose(f), 0);
}

/* Runs a compare with --json in tmpdir and returns field key. */
static double
compare_field(const char *args, const char *key)
{
	char cmd[1024];
	json_t *j;
	double v;
	char *out;

	snprintf(cmd, sizeof(cmd), "crush compare --rule by_host --replicas 3 "
	    "--to 99999 --json %s", args);
	assert_int_equal(run(tmpdir, cmd), 0);
	out = slurp("out");
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_number(json_object_get(j, key)));
	v = json_number_value(json_object_get(j, key));
	json_decref(j);
	free(out);
	return v;
}

/* "Mark osd.0 out" costs what Ceph says it costs: by reweight 0 only its
 * own share moves; by crush weight 0 its host's and rack's weights shrink
 * too, and data moves between their other devices as well. */
static void
test_cli_crush__compare_marking_out_by_reweight_vs_weight(void **state)
{
	double ideal, by_reweight, by_weight, unchanged;

	(void)state;
	write_hier_map("hier.json", 0x10000);
	write_hier_map("hier-osd0-zero.json", 0);

	ideal = compare_field("--crushmap hier.json --crushmap-after hier.json "
	    "--reweight-after 0:0", "ideal_fraction");
	assert_true(ideal > 1.0 / 64 - 1e-6 && ideal < 1.0 / 64 + 1e-6);
	by_reweight = compare_field("--crushmap hier.json --crushmap-after "
	    "hier.json --reweight-after 0:0", "moved_over_ideal");
	assert_true(by_reweight > 0.9 && by_reweight < 1.05);
	/* The fraction form is the same reweight. */
	assert_true(compare_field("--crushmap hier.json --crushmap-after "
	    "hier.json --reweight-after 0:0.0", "moved_over_ideal") ==
	    by_reweight);

	by_weight = compare_field("--crushmap hier.json --crushmap-after "
	    "hier-osd0-zero.json", "moved_over_ideal");
	assert_true(by_weight > 1.8);
	assert_true(by_weight > by_reweight * 1.5);

	/* --reweight applies to both maps: the same reweight before and
	 * after moves nothing. */
	unchanged = compare_field("--crushmap hier.json --crushmap-after "
	    "hier.json --reweight 0:0 --reweight 5:0.5", "replicas_moved");
	assert_true(unchanged == 0);
	/* Out by reweight before, zeroing its crush weight changes no
	 * device's intended share: the ideal is 0. */
	assert_true(compare_field("--crushmap hier.json --crushmap-after "
	    "hier-osd0-zero.json --reweight 0:0", "ideal_fraction") < 1e-9);
}

static void
test_cli_crush__compare_bad_reweights_exit_2(void **state)
{
	static const struct { const char *args; const char *msg; } cases[] = {
		{ "--reweight foo", "--reweight: \"foo\" is not ID:W" },
		{ "--reweight 0:", "--reweight: \"0:\" is not ID:W" },
		{ "--reweight 0:1.5", "--reweight: \"0:1.5\" is not ID:W" },
		{ "--reweight 0:70000", "is not ID:W" },
		{ "--reweight-after x:0", "--reweight-after: \"x:0\"" },
		{ "--reweight 99:0", "--reweight: no device 99 in hier.json" },
		{ "--reweight-after 64:0",
		    "--reweight-after: no device 64 in hier.json" },
	};

	(void)state;
	write_hier_map("hier.json", 0x10000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char args[512], *err, *out;

		snprintf(args, sizeof(args), "crush compare --crushmap hier.json "
		    "--crushmap-after hier.json --rule by_host --replicas 3 %s",
		    cases[i].args);
		assert_int_equal(run(tmpdir, args), 2);
		err = slurp("err");
		out = slurp("out");
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("\"%s\": stderr lacks \"%s\": %s", cases[i].args,
			    cases[i].msg, err);
		assert_string_equal(out, "");
		free(err);
		free(out);
	}
	/* --reweight-after belongs to compare only. */
	assert_int_equal(run(tmpdir, "crush map --crushmap hier.json --rule "
	    "by_host --replicas 3 --reweight-after 0:0"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_cli_crush__golden_files_match_byte_for_byte),
		cmocka_unit_test(test_cli_crush__map_json_matches_the_plain_lines),
		cmocka_unit_test(
		    test_cli_crush__usage_errors_exit_2_with_a_message),
		cmocka_unit_test(test_cli_crush__bad_map_exits_2_naming_the_path),
		cmocka_unit_test(test_cli_crush__unknown_rule_and_device_exit_2),
		cmocka_unit_test(
		    test_cli_crush__compare_reports_the_cost_of_a_weight_change),
		cmocka_unit_test(
		    test_cli_crush__compare_marking_out_by_reweight_vs_weight),
		cmocka_unit_test(test_cli_crush__compare_bad_reweights_exit_2),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
