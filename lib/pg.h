/* lib/pg.h - small helpers over libpq: connecting with a timeout, running
 * parameterised statements, turning failures into struct bl_err.
 *
 * Queries are always parameterised (PQexecParams); nothing here builds SQL
 * from strings. These calls block: use them on a worker thread with its own
 * connection, never on an event loop.
 */
#ifndef BL_PG_H
#define BL_PG_H

#include <libpq-fe.h>

#include "lib/err.h"

/* Connects with conninfo; fails after timeout_s seconds. The error says
 * BL_EUNAVAIL when the server cannot be reached. */
PGconn	*bl_pg_connect(const char *conninfo, int timeout_s,
	    struct bl_err *err);

/* Runs sql with n text parameters (NULL entries are SQL NULL). Returns the
 * result on PGRES_COMMAND_OK or PGRES_TUPLES_OK (the caller PQclears it),
 * NULL with err set otherwise. A lost connection is BL_EUNAVAIL; a value
 * the schema refuses (SQLSTATE class 22, NOT NULL, CHECK) BL_EINVAL; a
 * duplicate or dangling reference (the rest of class 23) BL_ECONFLICT;
 * anything else BL_EDB. err->msg carries the
 * server's message. */
PGresult *bl_pg_exec(PGconn *c, const char *sql, int n,
	    const char *const *params, struct bl_err *err);

/* The same, for statements whose result is not needed. */
int	bl_pg_run(PGconn *c, const char *sql, int n,
	    const char *const *params, struct bl_err *err);

/* Whether the connection is still usable: not known bad, and not closed
 * by the server while idle (reads what is waiting on its socket). */
int	bl_pg_ok(PGconn *c);

/* The SQLSTATE of a failed result ("40001", ...), or "" if none. */
const char *bl_pg_sqlstate(const PGresult *r);

#endif
