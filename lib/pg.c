/* lib/pg.c - small helpers over libpq. */
#include "lib/pg.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PGconn *
bl_pg_connect(const char *conninfo, int timeout_s, struct bl_err *err)
{
	const char *keys[] = { "dbname", "connect_timeout",
	    "application_name", NULL };
	char timeout[16];
	const char *vals[4];
	PGconn *c;

	snprintf(timeout, sizeof(timeout), "%d", timeout_s > 0 ? timeout_s : 5);
	vals[0] = conninfo;
	vals[1] = timeout;
	vals[2] = "ballast";
	vals[3] = NULL;
	/* expand_dbname=1: the dbname value is a whole conninfo string,
	 * whose own keys win over the ones given here. */
	c = PQconnectdbParams(keys, vals, 1);
	if (c == NULL) {
		bl_err_set(err, BL_ENOMEM, "database: out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[BL_ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(c);
		bl_err_set(err, BL_EUNAVAIL, "database: cannot connect: %s", msg);
		return NULL;
	}
	return c;
}

const char *
bl_pg_sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

PGresult *
bl_pg_exec(PGconn *c, const char *sql, int n, const char *const *params,
    struct bl_err *err)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	char msg[BL_ERR_MSG_MAX];

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	snprintf(msg, sizeof(msg), "%s", r ? PQresultErrorMessage(r) :
	    PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	if (PQstatus(c) != CONNECTION_OK)
		bl_err_set(err, BL_EUNAVAIL, "database: connection lost: %s",
		    msg);
	else if (strncmp(bl_pg_sqlstate(r), "22", 2) == 0 ||
	    strcmp(bl_pg_sqlstate(r), "23502") == 0 ||
	    strcmp(bl_pg_sqlstate(r), "23514") == 0)
		/* A value the schema cannot take: a data exception, a NULL
		 * or a CHECK it fails. */
		bl_err_set(err, BL_EINVAL, "database: %s", msg);
	else if (strncmp(bl_pg_sqlstate(r), "23", 2) == 0)
		/* A duplicate or a dangling reference. */
		bl_err_set(err, BL_ECONFLICT, "database: %s", msg);
	else
		bl_err_set(err, BL_EDB, "database: %s", msg);
	PQclear(r);
	return NULL;
}

int
bl_pg_run(PGconn *c, const char *sql, int n, const char *const *params,
    struct bl_err *err)
{
	PGresult *r = bl_pg_exec(c, sql, n, params, err);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
bl_pg_ok(PGconn *c)
{
	struct pollfd p;

	if (c == NULL || PQstatus(c) != CONNECTION_OK)
		return 0;
	/* An idle connection the server closed (a restart, an
	 * administrator's terminate) still says CONNECTION_OK until libpq
	 * reads: the first statement on it would fail. While the socket has
	 * something to read, let libpq read it: the server's farewell first,
	 * then the end of the stream, which turns the connection bad. A few
	 * rounds at most, so that a chatty connection cannot keep us here. */
	for (int i = 0; i < 4 && PQstatus(c) == CONNECTION_OK; i++) {
		p.fd = PQsocket(c);
		p.events = POLLIN;
		p.revents = 0;
		if (p.fd < 0 || poll(&p, 1, 0) != 1 ||
		    PQconsumeInput(c) == 0)
			break;
	}
	return PQstatus(c) == CONNECTION_OK;
}
