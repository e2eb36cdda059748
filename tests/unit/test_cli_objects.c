/* tests/unit/test_cli_objects.c - the objects CSV loaded for `ballastctl
 * plan`: read in two parts, it reads as in one pass, and every guess that
 * goes wrong falls back to one pass with the one-pass messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/objects.h"
#include "lib/buf.h"
#include "placement/cluster.h"

#define HDR "id,owner,size,md5,copies,reads_per_hour,affinity,allowed_dcs\n"

static const char *const cluster_json =
    "{\"failure_domain\":\"host\",\"nodes\":["
    "{\"id\":\"a\",\"region\":\"eu\",\"datacenter\":\"par\",\"rack\":\"r1\","
    "\"host\":\"h1\",\"capacity_bytes\":1000000,\"used_bytes\":500000,"
    "\"state\":\"in\"},"
    "{\"id\":\"b\",\"region\":\"eu\",\"datacenter\":\"par\",\"rack\":\"r1\","
    "\"host\":\"h2\",\"capacity_bytes\":1000000,\"used_bytes\":100000,"
    "\"state\":\"in\"},"
    "{\"id\":\"c\",\"region\":\"eu\",\"datacenter\":\"ams\",\"rack\":\"r2\","
    "\"host\":\"h3\",\"capacity_bytes\":1000000,\"used_bytes\":900000,"
    "\"state\":\"in\"},"
    "{\"id\":\"d\",\"region\":\"eu\",\"datacenter\":\"ams\",\"rack\":\"r2\","
    "\"host\":\"h4\",\"capacity_bytes\":1000000,\"used_bytes\":0,"
    "\"state\":\"in\"}]}";

/* The test's files: a fresh directory, which setup() makes (mkdtemp
 * replaces the Xs) and teardown() removes. */
static char dir[] = "/tmp/ballast-cli-objects-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct plc_cluster *
cluster(void)
{
	struct bl_err err;
	struct plc_cluster *cl = plc_cluster_from_json(cluster_json,
	    strlen(cluster_json), "c.json", &err);

	assert_non_null(cl);
	return cl;
}

/* Writes text to dir/name; returns the path (static). */
static const char *
write_csv(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Rows with quoted ids, blank lines, groups met in both halves, pinned
 * rows and copies on every node. */
static char *
mixed_rows(size_t n)
{
	static const char *const copies[] = { "a;b", "c", "d;a;b", "b;c" };
	struct bl_buf b;

	bl_buf_init(&b);
	bl_buf_addf(&b, HDR);
	for (size_t i = 0; i < n; i++) {
		if (i % 17 == 3)
			bl_buf_addf(&b, "\n");
		bl_buf_addf(&b, i % 5 == 0 ? "\"obj,%zu\"" : "obj-%zu", i);
		bl_buf_addf(&b, ",t,%zu,,%s,%zu,%s,%s\n", 1000 + i * 37,
		    copies[i % 4], i % 9, i % 3 == 0 ? "" : (i % 3 == 1 ? "g1" :
		    (i < n / 2 ? "early" : "late")), i % 7 == 0 ? "par" : "");
	}
	return bl_buf_detach(&b, NULL);
}

/* The two loads hold the same rows, in the same order, with the same
 * groups, colocation counts, per-node copies, ids and lines. */
static void
assert_same(struct cli_objs *x, struct cli_objs *y,
    const struct plc_cluster *cl)
{
	struct cli_objs_iter ix = { 0, 0, 0 }, iy = { 0, 0, 0 };
	struct cli_obj ox, oy;
	size_t h = 0;

	assert_int_equal(x->n, y->n);
	for (size_t i = 0; i < cl->n; i++)
		assert_int_equal(x->node_copies[i], y->node_copies[i]);
	while (cli_objs_next(x, &ix, &ox)) {
		const struct cli_row *rx = ox.row, *ry;
		char id[64];

		assert_true(cli_objs_next(y, &iy, &oy));
		ry = oy.row;
		assert_true(ox.key == oy.key);
		assert_true(rx->size == ry->size);
		assert_true(rx->reads == ry->reads);
		assert_true(rx->dcmask == ry->dcmask);
		assert_int_equal(rx->pinned, ry->pinned);
		assert_int_equal(rx->start, ry->start);
		assert_int_equal(ox.aff, oy.aff);
		assert_int_equal(rx->ncopies, ry->ncopies);
		for (size_t k = 0; k < rx->ncopies; k++) {
			assert_int_equal(ox.copies[k], oy.copies[k]);
			if (ox.aff != 0)
				assert_int_equal(cli_objs_colocated(x, ox.aff,
				    ox.copies[k]), cli_objs_colocated(y, oy.aff,
				    oy.copies[k]));
		}
		snprintf(id, sizeof(id), "%s", cli_objs_id(x, h));
		assert_string_equal(id, cli_objs_id(y, h));
		assert_int_equal(cli_objs_line(x, h), cli_objs_line(y, h));
		h++;
	}
	assert_false(cli_objs_next(y, &iy, &oy));
	assert_int_equal(h, x->n);
}

static void
test_cli_objects__two_parts_read_as_one(void **state)
{
	struct plc_cluster *cl = cluster();
	char *text = mixed_rows(400);
	const char *path = write_csv("mixed.csv", text);
	struct cli_objs one, two;
	struct bl_err err;

	(void)state;
	assert_int_equal(cli_objs_load(&one, path, cl, SIZE_MAX, &err), 0);
	assert_int_equal(one.nparts, 1);
	assert_int_equal(cli_objs_load(&two, path, cl, 1, &err), 0);
	assert_int_equal(two.nparts, 2);
	assert_true(two.part[0].n > 100 && two.part[1].n > 100);
	assert_int_equal(one.n, 400);
	assert_same(&one, &two, cl);
	/* a group first met in the second part, and one met in both */
	{
		struct cli_objs_iter it = { 0, 0, 0 };
		struct cli_obj x;
		size_t h = 0, seen = 0;

		while (cli_objs_next(&two, &it, &x)) {
			if (strcmp(cli_objs_id(&two, h), "obj-398") == 0 &&
			    ++seen)
				assert_int_equal(x.aff, 3);	/* "late" */
			if (strcmp(cli_objs_id(&two, h), "obj-1") == 0 &&
			    ++seen)
				assert_int_equal(x.aff, 1);	/* "g1" */
			h++;
		}
		assert_int_equal(seen, 2);
	}
	assert_string_equal(cli_objs_id(&two, 0), "obj,0");
	assert_int_equal(cli_objs_line(&two, 0), 2);
	cli_objs_release(&two);
	/* a pipe is read, not mapped, and splits the same way */
	{
		int fd[2];
		char fdpath[64];

		assert_int_equal(pipe(fd), 0);
		assert_true(strlen(text) < 65536);	/* the pipe holds it */
		assert_int_equal(write(fd[1], text, strlen(text)),
		    (ssize_t)strlen(text));
		close(fd[1]);
		snprintf(fdpath, sizeof(fdpath), "/dev/fd/%d", fd[0]);
		assert_int_equal(cli_objs_load(&two, fdpath, cl, 1, &err), 0);
		close(fd[0]);
		assert_null(two.map);
		assert_int_equal(two.nparts, 2);
		assert_same(&one, &two, cl);
		cli_objs_release(&two);
	}
	cli_objs_release(&one);
	free(text);
	plc_cluster_free(cl);
}

/* The first line end after the middle is inside a quoted id: the first
 * part's parse cannot end there, and the whole file is read in one
 * pass. */
static void
test_cli_objects__a_quoted_line_end_at_the_split_reads_in_one_pass(
    void **state)
{
	struct plc_cluster *cl = cluster();
	struct bl_buf b;
	struct cli_objs o;
	struct bl_err err;
	char *text, *want;
	const char *path;

	(void)state;
	bl_buf_init(&b);
	bl_buf_addf(&b, HDR "r1,t,5,,a,0,,\n\"");
	for (int i = 0; i < 300; i++)
		bl_buf_addf(&b, "x");
	bl_buf_addf(&b, "\nyz\",t,5,,b,0,,\nr3,t,5,,c,0,,\n");
	text = bl_buf_detach(&b, NULL);
	path = write_csv("quoted.csv", text);
	assert_int_equal(cli_objs_load(&o, path, cl, 1, &err), 0);
	assert_int_equal(o.nparts, 1);
	assert_int_equal(o.n, 3);
	want = strdup(strchr(text + strlen(HDR), '"') + 1);
	*strchr(want, '"') = '\0';
	assert_string_equal(cli_objs_id(&o, 1), want);
	assert_int_equal(cli_objs_line(&o, 2), 5);
	cli_objs_release(&o);
	free(want);
	free(text);
	plc_cluster_free(cl);
}

/* Loads 100 rows "o<i>,t,5,,a,0,,", with the rows in which[] (ended by
 * -1) written as special instead, in one pass and in two parts; both must
 * fail with a message that contains want. */
static void
assert_both_fail(const char *name, const int *which, const char *special,
    const char *want)
{
	struct plc_cluster *cl = cluster();
	struct cli_objs o;
	struct bl_err err;
	struct bl_buf b;
	const char *path;
	char *text;

	bl_buf_init(&b);
	bl_buf_addf(&b, HDR);
	for (int i = 0; i < 100; i++) {
		int sp = 0;

		for (const int *w = which; *w >= 0; w++)
			sp |= *w == i;
		if (sp)
			bl_buf_addf(&b, "%s\n", special);
		else
			bl_buf_addf(&b, "o%d,t,5,,a,0,,\n", i);
	}
	text = bl_buf_detach(&b, NULL);
	path = write_csv(name, text);
	for (int split = 0; split < 2; split++) {
		assert_int_equal(cli_objs_load(&o, path, cl, split ? 1 :
		    SIZE_MAX, &err), -1);
		assert_non_null(strstr(err.msg, want));
		cli_objs_release(&o);
	}
	free(text);
	plc_cluster_free(cl);
}

/* An error or a duplicate in the second part is reported as one pass
 * reports it: with the true line, and the first naming's line. */
static void
test_cli_objects__second_part_errors_name_the_true_line(void **state)
{
	static const int bad[] = { 80, -1 }, twice[] = { 3, 90, -1 };

	(void)state;
	assert_both_fail("bad.csv", bad, "o80,t,big,,a,0,,", "bad.csv:82: "
	    "field size: expected a non-negative integer, got \"big\"");
	assert_both_fail("dup.csv", twice, "\"twice\",t,5,,a,0,,",
	    "dup.csv:92: field id: duplicate object id \"twice\" (first on "
	    "line 5)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_objects__two_parts_read_as_one),
		cmocka_unit_test(
		    test_cli_objects__a_quoted_line_end_at_the_split_reads_in_one_pass),
		cmocka_unit_test(
		    test_cli_objects__second_part_errors_name_the_true_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
