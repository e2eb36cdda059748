/* tests/integration/test_schema.c - migrations on a real, private
 * PostgreSQL: applied once, idempotent, safe to race, indexed for "the
 * objects on node N". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg.h"
#include "migrate/schema.h"
#include "tests/helpers/th_pg.h"

static struct th_pg pg;

static int
setup(void **state)
{
	(void)state;
	return th_pg_start(&pg);
}

static int
teardown(void **state)
{
	(void)state;
	th_pg_destroy(&pg);
	return 0;
}

static void *
apply_thread(void *arg)
{
	struct bl_err err;
	PGconn *c = bl_pg_connect(pg.conninfo, 10, &err);
	long rc = -1;

	(void)arg;
	if (c != NULL) {
		rc = mig_schema_apply(c, &err);
		PQfinish(c);
	}
	return (void *)rc;
}

static void
test_schema__racing_starts_apply_each_migration_once(void **state)
{
	pthread_t t[4];
	struct bl_err err;
	PGconn *c;
	PGresult *r;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, apply_thread, NULL),
		    0);
	for (int i = 0; i < 4; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		assert_int_equal((long)rc, 0);
	}
	c = bl_pg_connect(pg.conninfo, 10, &err);
	assert_non_null(c);
	assert_int_equal(mig_schema_version(c, &err), mig_schema_latest());
	r = bl_pg_exec(c, "SELECT count(*) FROM schema_version", 0, NULL, &err);
	assert_non_null(r);
	assert_int_equal(atoi(PQgetvalue(r, 0, 0)), mig_schema_latest());
	PQclear(r);
	/* Applying again changes nothing. */
	assert_int_equal(mig_schema_apply(c, &err), 0);
	assert_int_equal(mig_schema_version(c, &err), mig_schema_latest());
	PQfinish(c);
}

static void
test_schema__newer_database_is_refused(void **state)
{
	struct bl_err err;
	PGconn *c = bl_pg_connect(pg.conninfo, 10, &err);

	(void)state;
	assert_non_null(c);
	assert_int_equal(mig_schema_apply(c, &err), 0);
	assert_int_equal(bl_pg_run(c, "INSERT INTO schema_version (version, "
	    "description) VALUES (9999, 'from the future')", 0, NULL, &err), 0);
	assert_int_equal(mig_schema_apply(c, &err), -1);
	assert_non_null(strstr(err.msg, "newer than this binary"));
	assert_int_equal(bl_pg_run(c, "DELETE FROM schema_version WHERE "
	    "version = 9999", 0, NULL, &err), 0);
	PQfinish(c);
}

static void
test_schema__objects_on_a_node_use_the_copies_index(void **state)
{
	struct bl_err err;
	PGconn *c = bl_pg_connect(pg.conninfo, 10, &err);
	const char *node[1] = { "n1" };
	PGresult *r;
	int found = 0;

	(void)state;
	assert_non_null(c);
	assert_int_equal(mig_schema_apply(c, &err), 0);
	assert_int_equal(bl_pg_run(c, "INSERT INTO objects (id, owner, size, "
	    "md5, copies) SELECT gen_random_uuid(), gen_random_uuid(), 1, 'x', "
	    "ARRAY['n' || (i % 500), 'n' || ((i + 1) % 500)] "
	    "FROM generate_series(1, 20000) AS i", 0, NULL, &err), 0);
	assert_int_equal(bl_pg_run(c, "ANALYZE objects", 0, NULL, &err), 0);
	/* A small table is cheaper to scan; what matters is that the query
	 * shape can use the index, as it will at 10M rows. */
	assert_int_equal(bl_pg_run(c, "SET enable_seqscan = off", 0, NULL, &err),
	    0);
	r = bl_pg_exec(c, "EXPLAIN SELECT id FROM objects WHERE copies @> "
	    "ARRAY[$1::text]", 1, node, &err);
	assert_non_null(r);
	for (int i = 0; i < PQntuples(r); i++)
		found |= strstr(PQgetvalue(r, i, 0), "objects_copies") != NULL;
	PQclear(r);
	assert_true(found);
	r = bl_pg_exec(c, "SELECT count(*) FROM objects WHERE copies @> "
	    "ARRAY[$1::text]", 1, node, &err);
	assert_non_null(r);
	assert_int_equal(atoi(PQgetvalue(r, 0, 0)), 80);
	PQclear(r);
	PQfinish(c);
}

/* What the server refuses is classified, so that the API can answer 422 or
 * 409 rather than 500 if a bad value ever gets past validation. */
static void
test_schema__refusals_are_classified(void **state)
{
	struct bl_err err;
	PGconn *c = bl_pg_connect(pg.conninfo, 10, &err);
	const char *id[1] = { "0b0b0b0b-1111-4222-8333-444455556666" };

	(void)state;
	assert_non_null(c);
	assert_int_equal(mig_schema_apply(c, &err), 0);
	assert_int_equal(bl_pg_run(c, "INSERT INTO objects (id, owner, size, "
	    "md5, copies) VALUES ($1, $1, 1, 'x', ARRAY['n1'])", 1, id, &err),
	    0);
	/* A duplicate id: a conflict. */
	assert_int_equal(bl_pg_run(c, "INSERT INTO objects (id, owner, size, "
	    "md5, copies) VALUES ($1, $1, 1, 'x', ARRAY['n1'])", 1, id, &err),
	    -1);
	assert_int_equal(err.code, BL_ECONFLICT);
	/* A CHECK it fails, and a value of the wrong type: invalid. */
	assert_int_equal(bl_pg_run(c, "UPDATE objects SET size = -1 WHERE "
	    "id = $1", 1, id, &err), -1);
	assert_int_equal(err.code, BL_EINVAL);
	assert_int_equal(bl_pg_run(c, "SELECT $1::uuid", 1,
	    (const char *[]){ "not-a-uuid" }, &err), -1);
	assert_int_equal(err.code, BL_EINVAL);
	/* Still a usable connection. */
	assert_int_equal(bl_pg_run(c, "DELETE FROM objects WHERE id = $1", 1,
	    id, &err), 0);
	PQfinish(c);
}

static void
test_schema__unreachable_database_is_unavailable_not_a_crash(void **state)
{
	struct bl_err err;
	PGconn *c;

	(void)state;
	c = bl_pg_connect("host=/nonexistent dbname=ballast", 2, &err);
	assert_null(c);
	assert_int_equal(err.code, BL_EUNAVAIL);
	assert_non_null(strstr(err.msg, "cannot connect"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_schema__racing_starts_apply_each_migration_once),
		cmocka_unit_test(test_schema__newer_database_is_refused),
		cmocka_unit_test(
		    test_schema__objects_on_a_node_use_the_copies_index),
		cmocka_unit_test(test_schema__refusals_are_classified),
		cmocka_unit_test(
		    test_schema__unreachable_database_is_unavailable_not_a_crash),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
