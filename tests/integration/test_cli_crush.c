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

static char tmpdir[256];

static const char *
bindir(void)
{
	const char *d = getenv("BALLAST_BIN");

	return d ? d : "bin";
}

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
	    "2>'%s/err'", dir, bindir(), args, tmpdir, tmpdir);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static char *
slurp(const char *name)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static int
setup(void **state)
{
	char abs[512];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ballast-cli-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	/* Make BALLAST_BIN absolute: run() changes directory. */
	if (bindir()[0] != '/' && realpath(bindir(), abs))
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
		char path[1024], first[1024];
		char *want, *got, *body;
		FILE *f;
		long n;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_non_null(fgets(first, sizeof(first), f));
		first[strcspn(first, "\n")] = '\0';
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		want = calloc(1, (size_t)n + 1);
		assert_int_equal(fread(want, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		/* "# ballastctl crush map ..." */
		assert_int_equal(strncmp(first, "# ballastctl ", 13), 0);
		assert_int_equal(run(dir, first + 13), 0);
		got = slurp("out");
		body = strchr(want, '\n') + 1;
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
	snprintf(args, sizeof(args), "%s/flat8.map.json", dir);
	f = fopen(args, "rb");
	assert_non_null(f);
	src = calloc(1, 1 << 16);
	assert_true(fread(src, 1, (1 << 16) - 1, f) > 0);
	fclose(f);
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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
