/* migrate/export.c - the metadata tier as the objects CSV (GET
 * /v1/objects/export): the same columns ballastctl plan, simulate and
 * POST /v1/objects/import read, streamed from one COPY so that memory
 * stays flat however many objects there are. */
#include "migrate/engine.h"

#include <errno.h>
#include <string.h>

#include "lib/file.h"
#include "lib/pg.h"
#include "migrate/schema.h"

int
mig_objects_export(PGconn *c, int fd, long long *rows, struct bl_err *err)
{
	PGresult *r;
	char *buf;
	int n, rc = 0;

	*rows = 0;
	/* One snapshot; ids in order, so that two exports of the same
	 * metadata are byte-identical. */
	r = PQexec(c, "COPY (SELECT id, owner, size, md5, "
	    "array_to_string(copies, ';') AS copies, "
	    MIG_READS_PER_HOUR("objects") " AS reads_per_hour, affinity, "
	    "array_to_string(allowed_dcs, ';') AS allowed_dcs FROM objects "
	    "ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)");
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		bl_err_set(err, BL_EDB, "export: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	while ((n = PQgetCopyData(c, &buf, 0)) > 0) {
		if (rc == 0 && bl_write_all(fd, buf, (size_t)n) == -1)
			rc = bl_err_set(err, BL_EIO, "export: write: %s",
			    strerror(errno));
		(*rows)++;
		PQfreemem(buf);
	}
	if (n == -2)
		rc = bl_err_set(err, BL_EDB, "export: %s", PQerrorMessage(c));
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0)
			rc = bl_err_set(err, BL_EDB, "export: %s",
			    PQresultErrorMessage(r));
		PQclear(r);
	}
	if (*rows > 0)
		(*rows)--;	/* the header */
	return rc;
}
