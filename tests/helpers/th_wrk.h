/* tests/helpers/th_wrk.h - HTTP load with wrk (Debian's) for the load
 * benches: a Lua script of ready-made GET requests that each connection
 * cycles through, one run of wrk, and its figures as BENCH lines.
 *
 * wrk cannot compute anything per request (signatures, tokens), so the
 * caller puts every request in the script, headers included; done()
 * prints one LOAD line that thw_run parses.
 */
#ifndef TH_WRK_H
#define TH_WRK_H

#include <stdio.h>

#include "lib/err.h"

/* What wrk's done() reports. Times in microseconds. */
struct thw_load {
	long long	requests;
	long long	duration_us;
	long long	p50_us, p99_us, max_us;
	long long	non2xx;
	long long	connect, read, write, timeout;
};

/* Starts a script at path; NULL (errno set) if it cannot be created. */
FILE	*thw_script_open(const char *path);
/* Adds GET target with headers: name, value, name, value, ..., NULL
 * (headers NULL: none). */
void	 thw_script_get(FILE *f, const char *target,
	    const char *const *headers);
/* Ends the script and closes f (also on failure). 0 or -1. */
int	 thw_script_close(FILE *f);

/* Runs wrk with 2 threads and conns connections against url for secs
 * seconds, and parses the script's LOAD line into l. BENCH_VERBOSE=1
 * copies wrk's other output to stderr. 0 or -1. */
int	 thw_run(const char *url, const char *script, int conns, int secs,
	    struct thw_load *l, struct bl_err *err);

/* Non-2xx answers plus socket errors and timeouts. */
long long thw_errors(const struct thw_load *l);
/* Prints BENCH <name>_requests_per_sec, _p50_ms, _p99_ms, _max_ms,
 * _non2xx and _socket_errors, and flushes stdout. */
void	 thw_print(const char *name, const struct thw_load *l);

#endif
