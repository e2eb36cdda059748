/* tests/unit/test_config.c - the one-table config loader (lib/config.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/config.h"

struct conf {
	char		*name;
	char		*token;
	long long	 workers;
	int		 verbose;
};

#define OFF(f) offsetof(struct conf, f)
static const struct bl_cfg_opt table[] = {
	{ "name", BL_CFG_STR, OFF(name), "alpha", 1, 10, 0, "a name" },
	{ "token", BL_CFG_STR, OFF(token), NULL, 1, 100, BL_CFG_SECRET, "x" },
	{ "workers", BL_CFG_INT, OFF(workers), "4", 1, 64, 0, "threads" },
	{ "verbose", BL_CFG_BOOL, OFF(verbose), "false", 0, 0, 0, "chatty" },
};
#define NT (sizeof(table) / sizeof(table[0]))

static char *
write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/ballast-cfg-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static char *
printed(const struct bl_cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	bl_cfg_print(c, f);
	fclose(f);
	return buf;
}

static void
test_config__defaults_pass_through_the_parser(void **state)
{
	struct conf cf;
	struct bl_cfg c;
	struct bl_err err;

	assert_int_equal(bl_cfg_init(&c, table, NT, &cf, &err), 0);
	assert_string_equal(cf.name, "alpha");
	assert_null(cf.token);
	assert_int_equal(cf.workers, 4);
	assert_int_equal(cf.verbose, 0);
	bl_cfg_release(&c);
}

static void
test_config__a_bad_default_is_refused(void **state)
{
	static const struct bl_cfg_opt broken[] = {
		{ "workers", BL_CFG_INT, OFF(workers), "100", 1, 64, 0, "" },
	};
	struct conf cf;
	struct bl_cfg c;
	struct bl_err err;

	assert_int_equal(bl_cfg_init(&c, broken, 1, &cf, &err), -1);
	assert_non_null(strstr(err.msg, "workers"));
	bl_cfg_release(&c);
}

static void
test_config__file_values_are_checked_and_unknown_keys_refused(void **state)
{
	struct conf cf;
	struct bl_cfg c;
	struct bl_err err;
	char *path;

	bl_cfg_init(&c, table, NT, &cf, &err);
	path = write_tmp("{\"name\":\"beta\",\"workers\":8,\"verbose\":true}");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), 0);
	assert_string_equal(cf.name, "beta");
	assert_int_equal(cf.workers, 8);
	assert_int_equal(cf.verbose, 1);
	unlink(path);

	path = write_tmp("{\"workerz\":8}");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "workerz: unknown key"));
	unlink(path);

	path = write_tmp("{\"workers\":65}");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, "workers: 65 out of range [1, 64]"));
	unlink(path);

	path = write_tmp("{\"workers\":\"8\"}");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, "workers: wrong type"));
	unlink(path);

	path = write_tmp("{\"name\":\"far too long a name\"}");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), -1);
	assert_non_null(strstr(err.msg, "name: length"));
	unlink(path);

	path = write_tmp("{\"name\": ");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), -1);
	assert_int_equal(err.code, BL_EPARSE);
	unlink(path);
	/* The failed loads left the good values in force. */
	assert_int_equal(cf.workers, 8);
	bl_cfg_release(&c);
}

static void
test_config__env_then_flags_override_and_sources_are_shown(void **state)
{
	struct conf cf;
	struct bl_cfg c;
	struct bl_err err;
	char *path, *out;

	bl_cfg_init(&c, table, NT, &cf, &err);
	path = write_tmp("{\"workers\":8,\"token\":\"hunter2-secret\"}");
	assert_int_equal(bl_cfg_load_file(&c, path, &err), 0);
	unlink(path);
	setenv("TESTCFG_WORKERS", "16", 1);
	setenv("TESTCFG_VERBOSE", "1", 1);
	assert_int_equal(bl_cfg_load_env(&c, "TESTCFG_", &err), 0);
	assert_int_equal(cf.workers, 16);
	assert_int_equal(bl_cfg_set(&c, "workers", "32", BL_CFG_SRC_FLAG,
	    &err), 0);
	assert_int_equal(cf.workers, 32);
	assert_int_equal(bl_cfg_set(&c, "workers", "x", BL_CFG_SRC_FLAG,
	    &err), -1);
	assert_int_equal(bl_cfg_set(&c, "verbose", "maybe", BL_CFG_SRC_FLAG,
	    &err), -1);
	assert_int_equal(bl_cfg_set(&c, "nope", "1", BL_CFG_SRC_FLAG, &err),
	    -1);
	out = printed(&c);
	assert_non_null(strstr(out, "name = \"alpha\"  # default"));
	assert_non_null(strstr(out, "workers = 32  # flag"));
	assert_non_null(strstr(out, "verbose = true  # env"));
	assert_non_null(strstr(out, "token = \"********\"  # file"));
	assert_null(strstr(out, "hunter2"));
	free(out);
	unsetenv("TESTCFG_WORKERS");
	unsetenv("TESTCFG_VERBOSE");
	bl_cfg_release(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__defaults_pass_through_the_parser),
		cmocka_unit_test(test_config__a_bad_default_is_refused),
		cmocka_unit_test(
		    test_config__file_values_are_checked_and_unknown_keys_refused),
		cmocka_unit_test(
		    test_config__env_then_flags_override_and_sources_are_shown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
