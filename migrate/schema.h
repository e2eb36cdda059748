/* migrate/schema.h - the PostgreSQL schema: versioned migrations applied
 * at start-up under an advisory lock, so that several ballastd processes
 * starting at once apply each migration exactly once. */
#ifndef MIG_SCHEMA_H
#define MIG_SCHEMA_H

#include <libpq-fe.h>

#include "lib/err.h"

/* The schema version this binary writes. */
int	mig_schema_latest(void);

/* Brings the database up to mig_schema_latest(). Refuses a database whose
 * version is newer than this binary knows. Blocks; call at start-up. */
int	mig_schema_apply(PGconn *c, struct bl_err *err);

/* The version the database is at (0: empty), or -1 with err set. */
int	mig_schema_version(PGconn *c, struct bl_err *err);

#endif
