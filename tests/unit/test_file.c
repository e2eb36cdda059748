/* tests/unit/test_file.c - whole-file reads and full writes (lib/file.h),
 * on real files in a private directory. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/file.h"

static char dir[] = "/tmp/ballast-file-XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes n bytes of p to dir/name with bl_write_all; the path goes to out. */
static void
put(const char *name, const void *p, size_t n, char *out, size_t outsz)
{
	int fd;

	snprintf(out, outsz, "%s/%s", dir, name);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(bl_write_all(fd, p, n), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_file__a_missing_file_is_an_error_that_names_the_path(void **state)
{
	struct bl_err err = { 0 };
	char path[256];
	size_t len = 7;

	snprintf(path, sizeof(path), "%s/no-such.json", dir);
	assert_null(bl_read_file(path, 0, &len, &err));
	assert_int_equal(err.code, BL_EIO);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "cannot open"));
	assert_non_null(strstr(err.msg, "No such file"));
	assert_int_equal(len, 7);
	assert_null(bl_read_file(path, 0, NULL, NULL));	/* no err wanted */
}

static void
test_file__an_empty_file_reads_as_an_empty_string(void **state)
{
	struct bl_err err = { 0 };
	char path[256], *s;
	size_t len = 7;

	put("empty", "", 0, path, sizeof(path));
	s = bl_read_file(path, 0, &len, &err);
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
}

static void
test_file__binary_content_comes_back_byte_for_byte(void **state)
{
	struct bl_err err = { 0 };
	size_t n = 300000, len = 0;
	unsigned char *bin = malloc(n);
	char path[256], *s;

	assert_non_null(bin);
	for (size_t i = 0; i < n; i++)
		bin[i] = (unsigned char)(i * 131 + (i >> 8));
	bin[0] = '\0';
	bin[n - 1] = '\0';
	put("bin", bin, n, path, sizeof(path));
	s = bl_read_file(path, 0, &len, &err);
	assert_non_null(s);
	assert_int_equal(len, n);
	assert_memory_equal(s, bin, n);
	assert_int_equal(s[len], '\0');
	free(s);
	free(bin);
}

static void
test_file__a_pipe_is_read_to_its_end(void **state)
{
	static char blk[200000];
	struct bl_err err = { 0 };
	char path[64], *s;
	size_t len = 0;
	int fds[2], st;
	pid_t pid;

	/* A pipe has no size to read ahead of time: read until EOF. */
	memset(blk, 'z', sizeof(blk));
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		_exit(bl_write_all(fds[1], blk, sizeof(blk)) == 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	s = bl_read_file(path, 0, &len, &err);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (s == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(len, sizeof(blk));
	assert_memory_equal(s, blk, sizeof(blk));
	free(s);
}

static void
test_file__a_file_past_the_bound_is_too_big_and_named(void **state)
{
	struct bl_err err = { 0 };
	char path[256], *s;
	size_t len = 0;

	put("ten", "0123456789", 10, path, sizeof(path));
	assert_null(bl_read_file(path, 9, &len, &err));
	assert_int_equal(err.code, BL_ETOOBIG);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "larger than 9 bytes"));
	s = bl_read_file(path, 10, &len, &err);
	assert_non_null(s);
	assert_string_equal(s, "0123456789");
	free(s);
}

static void
test_file__write_all_to_a_full_device_fails_with_enospc(void **state)
{
	static const char blk[4096];
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		skip();
	errno = 0;
	assert_int_equal(bl_write_all(fd, blk, sizeof(blk)), -1);
	assert_int_equal(errno, ENOSPC);
	close(fd);
	assert_int_equal(bl_write_all(-1, blk, 1), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(bl_write_all(-1, blk, 0), 0);	/* nothing to do */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_file__a_missing_file_is_an_error_that_names_the_path),
		cmocka_unit_test(
		    test_file__an_empty_file_reads_as_an_empty_string),
		cmocka_unit_test(
		    test_file__binary_content_comes_back_byte_for_byte),
		cmocka_unit_test(test_file__a_pipe_is_read_to_its_end),
		cmocka_unit_test(
		    test_file__a_file_past_the_bound_is_too_big_and_named),
		cmocka_unit_test(
		    test_file__write_all_to_a_full_device_fails_with_enospc),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
