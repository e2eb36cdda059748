/* tests/helpers/th_pg.c - a private PostgreSQL for integration tests. */
#include "tests/helpers/th_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

const char *
th_scripts_dir(void)
{
	const char *d = getenv("BALLAST_SCRIPTS");

	return d ? d : "scripts";
}

static int
pgctl(const struct th_pg *pg, const char *verb)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/pg-private.sh' %s '%s' >/dev/null",
	    th_scripts_dir(), verb, pg->dir);
	st = system(cmd);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
th_pg_start(struct th_pg *pg)
{
	char cmd[1024];
	FILE *p;

	memset(pg, 0, sizeof(*pg));
	snprintf(pg->dir, sizeof(pg->dir), "/tmp/ballast-pg-XXXXXX");
	if (mkdtemp(pg->dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s/pg-private.sh' start '%s'",
	    th_scripts_dir(), pg->dir);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(pg->conninfo, sizeof(pg->conninfo), p) == NULL)
		pg->conninfo[0] = '\0';
	if (pclose(p) != 0 || pg->conninfo[0] == '\0')
		return -1;
	pg->conninfo[strcspn(pg->conninfo, "\n")] = '\0';
	return 0;
}

int
th_pg_stop(struct th_pg *pg)
{
	return pgctl(pg, "stop");
}

int
th_pg_restart(struct th_pg *pg)
{
	return pgctl(pg, "restart");
}

void
th_pg_destroy(struct th_pg *pg)
{
	if (pg->dir[0])
		pgctl(pg, "destroy");
	pg->dir[0] = '\0';
}

int
th_pg_sql(const struct th_pg *pg, const char *sql)
{
	char cmd[8192];
	int st;

	snprintf(cmd, sizeof(cmd), "psql -q -v ON_ERROR_STOP=1 '%s' -c \"%s\" "
	    ">/dev/null", pg->conninfo, sql);
	st = system(cmd);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
