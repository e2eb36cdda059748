/* tests/helpers/th_wrk.c - HTTP load with wrk for the load benches. */
#include "tests/helpers/th_wrk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

FILE *
thw_script_open(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f != NULL)
		fprintf(f, "local reqs = {}\n");
	return f;
}

void
thw_script_get(FILE *f, const char *target, const char *const *headers)
{
	fprintf(f, "reqs[#reqs + 1] = wrk.format(\"GET\", \"%s\", {", target);
	for (; headers != NULL && headers[0] != NULL && headers[1] != NULL;
	    headers += 2)
		fprintf(f, "[\"%s\"] = \"%s\", ", headers[0], headers[1]);
	fprintf(f, "})\n");
}

/* Each wrk thread cycles through reqs from a different start. */
int
thw_script_close(FILE *f)
{
	int bad;

	fprintf(f,
	    "local i = math.random(#reqs)\n"
	    "request = function()\n"
	    "  i = i %% #reqs + 1\n"
	    "  return reqs[i]\n"
	    "end\n"
	    "done = function(s, lat, req)\n"
	    "  io.write(string.format(\"LOAD %%d %%d %%d %%d %%d %%d %%d %%d "
	    "%%d %%d\\n\", s.requests, s.duration, lat:percentile(50),\n"
	    "    lat:percentile(99), lat.max, s.errors.status, "
	    "s.errors.connect,\n"
	    "    s.errors.read, s.errors.write, s.errors.timeout))\n"
	    "end\n");
	bad = ferror(f);
	if (fclose(f) == EOF || bad)
		return -1;
	return 0;
}

int
thw_run(const char *url, const char *script, int conns, int secs,
    struct thw_load *l, struct bl_err *err)
{
	char cmd[2048], line[512];
	int found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "wrk -t 2 -c %d -d %ds --timeout 10s "
	    "-s '%s' '%s' 2>&1", conns, secs, script, url);
	if ((p = popen(cmd, "r")) == NULL)
		return bl_err_set(err, BL_EIO, "wrk: cannot run: %s",
		    strerror(errno));
	while (fgets(line, sizeof(line), p) != NULL) {
		if (strncmp(line, "LOAD ", 5) == 0 && sscanf(line + 5,
		    "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
		    &l->requests, &l->duration_us, &l->p50_us, &l->p99_us,
		    &l->max_us, &l->non2xx, &l->connect, &l->read, &l->write,
		    &l->timeout) == 10)
			found = 1;
		else if (getenv("BENCH_VERBOSE") != NULL)
			fputs(line, stderr);
	}
	if (pclose(p) != 0 || !found)
		return bl_err_set(err, BL_EIO, "wrk failed: %s", cmd);
	return 0;
}

long long
thw_errors(const struct thw_load *l)
{
	return l->non2xx + l->connect + l->read + l->write + l->timeout;
}

void
thw_print(const char *name, const struct thw_load *l)
{
	double secs = (double)l->duration_us / 1e6;

	printf("BENCH %s_requests_per_sec %.0f requests/s\n", name,
	    (double)l->requests / secs);
	printf("BENCH %s_p50_ms %.2f ms\n", name, (double)l->p50_us / 1e3);
	printf("BENCH %s_p99_ms %.2f ms\n", name, (double)l->p99_us / 1e3);
	printf("BENCH %s_max_ms %.2f ms\n", name, (double)l->max_us / 1e3);
	printf("BENCH %s_non2xx %lld responses\n", name, l->non2xx);
	printf("BENCH %s_socket_errors %lld errors\n", name,
	    l->connect + l->read + l->write + l->timeout);
	fflush(stdout);
}
