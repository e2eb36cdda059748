/* tests/helpers/th_pg.h - a private PostgreSQL for integration tests:
 * initdb and pg_ctl on a Unix socket in a temp dir (scripts/pg-private.sh).
 */
#ifndef TH_PG_H
#define TH_PG_H

struct th_pg {
	char	dir[256];	/* the instance's temp dir */
	char	conninfo[512];	/* libpq conninfo of database "ballast" */
};

/* Starts a fresh instance. 0 on success. */
int	th_pg_start(struct th_pg *pg);
/* Stops it for a while (fast shutdown) and starts it again. */
int	th_pg_stop(struct th_pg *pg);
int	th_pg_restart(struct th_pg *pg);
/* Stops it and removes its directory. */
void	th_pg_destroy(struct th_pg *pg);
/* Runs one SQL statement through psql; 0 on success. For test set-up. */
int	th_pg_sql(const struct th_pg *pg, const char *sql);

/* The repository's scripts directory (BALLAST_SCRIPTS or ./scripts). */
const char *th_scripts_dir(void);

#endif
