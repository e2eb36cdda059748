/* migrate/schema.h - the PostgreSQL schema: versioned migrations applied
 * at start-up under an advisory lock, so that several ballastd processes
 * starting at once apply each migration exactly once. */
#ifndef MIG_SCHEMA_H
#define MIG_SCHEMA_H

#include <libpq-fe.h>

#include "lib/err.h"

/* The SQL expression of an object's reads_per_hour now, for the objects
 * row aliased o (a string literal): the stored rate decayed from its
 * reads_at to the last fold (migration 4). Read it only through this. */
#define MIG_READS_PER_HOUR(o)						\
	"objects_reads_decayed(" o ".reads_per_hour, " o ".reads_at, "	\
	"(SELECT access_folded_at FROM controller_state WHERE id = 1), "	\
	"(SELECT access_half_life_s FROM controller_state WHERE id = 1))"

/* The schema version this binary writes. */
int	mig_schema_latest(void);

/* Brings the database up to mig_schema_latest(). Refuses a database whose
 * version is newer than this binary knows. Blocks; call at start-up. */
int	mig_schema_apply(PGconn *c, struct bl_err *err);

/* The version the database is at (0: empty), or -1 with err set. */
int	mig_schema_version(PGconn *c, struct bl_err *err);

#endif
