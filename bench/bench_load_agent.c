/* bench/bench_load_agent.c - one agent under 500 concurrent signed object
 * GETs while a second agent pulls an assignment from it.
 *
 * wrk (Debian's) makes the load. It cannot compute HMACs, so the bench
 * signs every GET beforehand (lib/sign.h) and hands wrk a Lua script that
 * cycles through the signed requests; a signature is valid for
 * BL_SIGN_WINDOW seconds, which bounds the run. Meanwhile the destination
 * agent pulls BENCH_LOAD_XFERS objects from the source. Same run baseline:
 * wrk against the source's GET /v1/status (no signature, no file) with the
 * same connections and duration, and no transfers.
 *
 * Prints BENCH lines and exits 1 if any GET answered non-2xx, wrk saw a
 * socket error or timeout, or a transfer failed.
 *
 * With BENCH_LOAD_TLS=1 both agents serve https with a certificate the
 * bench makes with the openssl command, the destination verifies the
 * source against that CA, and the BENCH names get "_tls".
 *
 * The agents come from tests/helpers/agent_harness.h and the wrk runs from
 * tests/helpers/th_wrk.h (shared with bench_load_ctl).
 *
 * Environment: BALLAST_BIN (dir with ballast-agent), BENCH_LOAD_CONNS
 * (default 500), BENCH_LOAD_SECONDS (default 10), BENCH_LOAD_OBJECTS (GET
 * targets, default 1000 x 4 KiB), BENCH_LOAD_XFERS (default 2000 x 64 KiB),
 * BENCH_DIR (default /tmp). Requests go to 127.0.0.1 only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/sign.h"
#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_wrk.h"

static char workdir[256];
static char tls_cert[600], tls_key[600], tls_ca[600];	/* empty: http */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *msg)
{
	fprintf(stderr, "bench_load_agent: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static int
env_int(const char *name, int def)
{
	const char *e = getenv(name);

	return e != NULL && atoi(e) > 0 ? atoi(e) : def;
}

static void
agent_start(struct tha_agent *a, const char *name)
{
	char c[700], k[700], ca[700];
	const char *args[] = { "--max-transfers", "8", "--set",
	    "max_tasks=100000", "--set", "max_body=67108864", "--set",
	    "log_level=warn", "--set", "max_connections=4096", "--set", c,
	    "--set", k, "--set", ca, NULL };

	snprintf(c, sizeof(c), "tls_cert_file=%s", tls_cert);
	snprintf(k, sizeof(k), "tls_key_file=%s", tls_key);
	snprintf(ca, sizeof(ca), "tls_ca_file=%s", tls_ca);
	if (tls_ca[0] == '\0')
		args[10] = NULL;	/* http: no tls_* settings */
	if (tha_agent_startv(a, name, args) != 0) {
		fprintf(stderr, "bench_load_agent: agent %s did not start "
		    "(see %s)\n", name, a->log);
		exit(1);
	}
}

/* Writes n objects of size bytes into a's root under one owner, and HEADs
 * each once so the source has recorded its MD5 before anything is
 * timed. */
static struct tha_obj *
seed(const struct tha_agent *a, int n, size_t size)
{
	struct tha_obj *objs = tha_seed_objects(a->root, n, size);

	if (objs == NULL)
		die("seed write");
	if (tha_head_objects(a, objs, n) != 0) {
		fprintf(stderr, "bench_load_agent: HEAD of a seeded object "
		    "failed\n");
		exit(1);
	}
	return objs;
}

/* The wrk script: requests made (and signed) here. With objs NULL, every
 * request is an unsigned GET /v1/status. */
static void
write_script(const char *path, const struct tha_obj *objs, int n)
{
	struct bl_sign_hdrs sh;
	const char *hdrs[] = { BL_SIGN_HDR_DATE, sh.date, BL_SIGN_HDR_SIG,
	    sh.signature, NULL };
	time_t now = time(NULL);
	char target[128];
	FILE *f;

	if ((f = thw_script_open(path)) == NULL)
		die("wrk script");
	if (objs == NULL)
		thw_script_get(f, "/v1/status", NULL);
	for (int i = 0; objs != NULL && i < n; i++) {
		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    objs[i].owner, objs[i].id);
		bl_sign_request(THA_SECRET, strlen(THA_SECRET), "GET", target,
		    NULL, 0, now, &sh);
		thw_script_get(f, target, hdrs);
	}
	if (thw_script_close(f) != 0)
		die("wrk script");
}

static void
run_wrk(const char *url, const char *script, int conns, int secs,
    struct thw_load *l)
{
	struct bl_err err;

	if (thw_run(url, script, conns, secs, l, &err) != 0) {
		fprintf(stderr, "bench_load_agent: %s\n", err.msg);
		exit(1);
	}
}

/* A CA and a certificate for 127.0.0.1, made with openssl in workdir. */
static void
make_pki(void)
{
	char cmd[2048];

	snprintf(tls_ca, sizeof(tls_ca), "%s/ca.pem", workdir);
	snprintf(tls_cert, sizeof(tls_cert), "%s/node.pem", workdir);
	snprintf(tls_key, sizeof(tls_key), "%s/node.key", workdir);
	snprintf(cmd, sizeof(cmd), "cd '%s' && umask 077 && "
	    "printf 'subjectAltName=IP:127.0.0.1\\n' >ext.cnf && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    " -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=bench CA' "
	    "2>/dev/null && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout node.key -out node.csr -subj '/CN=127.0.0.1' "
	    "2>/dev/null && "
	    "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out node.pem -days 2 -extfile ext.cnf "
	    "2>/dev/null", workdir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_load_agent: openssl failed\n");
		exit(1);
	}
	tha_set_tls_ca(tls_ca);
}

static const char *sfx = "";	/* "_tls" with BENCH_LOAD_TLS */

static void
print_load(const char *name, const struct thw_load *l)
{
	char full[128];

	snprintf(full, sizeof(full), "%s%s", name, sfx);
	thw_print(full, l);
}

int
main(void)
{
	struct tha_agent src, dst;
	struct tha_obj *reads, *xfers;
	struct thw_load base = { 0 }, load = { 0 };
	int conns = env_int("BENCH_LOAD_CONNS", 500);
	int secs = env_int("BENCH_LOAD_SECONDS", 10);
	int nreads = env_int("BENCH_LOAD_OBJECTS", 1000);
	int nxfers = env_int("BENCH_LOAD_XFERS", 2000);
	double t0, t_xfer, done0, failed0, failed, unauth0, unauth;
	char script[600], aid[37], *body;
	int bad = 0;

	if (secs > BL_SIGN_WINDOW / 2) {
		fprintf(stderr, "bench_load_agent: BENCH_LOAD_SECONDS must be "
		    "at most %d (signatures expire)\n", BL_SIGN_WINDOW / 2);
		return 2;
	}
	snprintf(workdir, sizeof(workdir), "%s/ballast-bench-XXXXXX",
	    getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp");
	if (mkdtemp(workdir) == NULL)
		die("mkdtemp");
	tha_set_tmpdir(workdir);
	if (getenv("BENCH_LOAD_TLS") != NULL &&
	    strcmp(getenv("BENCH_LOAD_TLS"), "1") == 0) {
		make_pki();
		sfx = "_tls";
	}

	agent_start(&src, "src");
	agent_start(&dst, "dst");
	fprintf(stderr, "bench_load_agent: seeding %d x 4 KiB to read and %d "
	    "x 64 KiB to transfer; %d connections for %d s\n", nreads, nxfers,
	    conns, secs);
	reads = seed(&src, nreads, 4096);
	xfers = seed(&src, nxfers, 65536);
	sync();

	/* Baseline, same run: the cheapest route, nothing else going on. */
	snprintf(script, sizeof(script), "%s/status.lua", workdir);
	write_script(script, NULL, 0);
	run_wrk(src.url, script, conns, secs, &base);

	/* The load: signed GETs while dst pulls from src. */
	snprintf(script, sizeof(script), "%s/objects.lua", workdir);
	write_script(script, reads, nreads);
	if ((body = tha_assignment_body(aid, xfers, nxfers, src.url)) == NULL)
		die("assignment body");
	done0 = tha_metric(&dst, "ballast_agent_assignments_completed_total");
	failed0 = tha_metric(&dst,
	    "ballast_agent_tasks_total{status=\"failed\"}");
	unauth0 = tha_metric(&src, "ballast_agent_http_unauthorized_total");
	t0 = now_s();
	if (tha_post_assignment(&dst, body) != 202) {
		fprintf(stderr, "bench_load_agent: POST assignment failed\n");
		return 1;
	}
	free(body);
	run_wrk(src.url, script, conns, secs, &load);
	while (tha_metric(&dst, "ballast_agent_assignments_completed_total") <
	    done0 + 1)
		usleep(20000);
	t_xfer = now_s() - t0;
	failed = tha_metric(&dst,
	    "ballast_agent_tasks_total{status=\"failed\"}") - failed0;
	/* Every pre-signed GET passed verification. */
	unauth = tha_metric(&src, "ballast_agent_http_unauthorized_total") -
	    unauth0;

	print_load("agent_load_object_get", &load);
	printf("BENCH agent_load%s_connections %d connections\n", sfx, conns);
	printf("BENCH agent_load%s_transfers %d objects\n", sfx, nxfers);
	printf("BENCH agent_load%s_transfers_per_sec %.0f objects/s\n", sfx,
	    (double)nxfers / t_xfer);
	printf("BENCH agent_load%s_transfers_failed %.0f tasks\n", sfx,
	    failed);
	printf("BENCH agent_load%s_unauthorized %.0f responses\n", sfx,
	    unauth);
	print_load("agent_load_baseline_status", &base);
	printf("BENCH agent_load%s_get_vs_status_ratio %.3f ratio\n", sfx,
	    ((double)load.requests / (double)load.duration_us) /
	    ((double)base.requests / (double)base.duration_us));

	if (thw_errors(&load) != 0 || thw_errors(&base) != 0) {
		fprintf(stderr, "bench_load_agent: errors: object GETs %lld, "
		    "baseline %lld\n", thw_errors(&load), thw_errors(&base));
		bad = 1;
	}
	if (unauth != 0) {
		fprintf(stderr, "bench_load_agent: %.0f requests refused 401\n",
		    unauth);
		bad = 1;
	}
	if (failed != 0) {
		fprintf(stderr, "bench_load_agent: %.0f transfers failed\n",
		    failed);
		bad = 1;
	}
	tha_agent_stop(&src);
	tha_agent_stop(&dst);
	tha_agent_free(&src);
	tha_agent_free(&dst);
	free(reads);
	free(xfers);
	if (getenv("BENCH_KEEP") == NULL)
		tha_cleanup();
	return bad;
}
