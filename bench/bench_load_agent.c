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
 * Environment: BALLAST_BIN (dir with ballast-agent), BENCH_LOAD_CONNS
 * (default 500), BENCH_LOAD_SECONDS (default 10), BENCH_LOAD_OBJECTS (GET
 * targets, default 1000 x 4 KiB), BENCH_LOAD_XFERS (default 2000 x 64 KiB),
 * BENCH_DIR (default /tmp). Requests go to 127.0.0.1 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/sign.h"
#include "lib/uuid.h"

#define SECRET "bench-secret-0123456789abcdef"

struct agent {
	pid_t	pid;
	int	port;
	char	root[512];
	char	url[64];
};

struct obj {
	char	owner[37];
	char	id[37];
	char	md5[25];
	long	size;
};

/* What wrk's done() reports (see the Lua script below). */
struct load {
	long long	requests;
	long long	duration_us;
	long long	p50_us, p99_us, max_us;
	long long	non2xx;
	long long	connect, read, write, timeout;
};

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

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("free port");
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static size_t
sink(char *p, size_t s, size_t n, void *arg)
{
	struct { char *p; size_t len; } *b = arg;
	char *np = realloc(b->p, b->len + s * n + 1);

	if (np == NULL)
		return 0;
	memcpy(np + b->len, p, s * n);
	b->p = np;
	b->len += s * n;
	b->p[b->len] = '\0';
	return s * n;
}

/* A signed request; returns the status and the body (caller frees). */
static long
request(const char *base, const char *method, const char *target,
    const char *body, char **out)
{
	struct { char *p; size_t len; } b = { NULL, 0 };
	struct curl_slist *h = NULL;
	struct bl_sign_hdrs sh;
	char url[512], line[160];
	long status = 0;
	CURL *c = curl_easy_init();

	bl_sign_request(SECRET, strlen(SECRET), method, target, body,
	    body ? strlen(body) : 0, time(NULL), &sh);
	snprintf(line, sizeof(line), "%s: %s", BL_SIGN_HDR_DATE, sh.date);
	h = curl_slist_append(h, line);
	snprintf(line, sizeof(line), "%s: %s", BL_SIGN_HDR_SIG, sh.signature);
	h = curl_slist_append(h, line);
	h = curl_slist_append(h, "Expect:");
	snprintf(url, sizeof(url), "%s%s", base, target);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (tls_ca[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, tls_ca);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out != NULL)
		*out = b.p;
	else
		free(b.p);
	return status;
}

static void
agent_start(struct agent *a, const char *name)
{
	const char *bindir = getenv("BALLAST_BIN");
	char bin[512], listen[64], state[600], secret[600], log[600];
	char dir[400];

	snprintf(dir, sizeof(dir), "%s/%s", workdir, name);
	mkdir(dir, 0755);
	snprintf(a->root, sizeof(a->root), "%s/root", dir);
	mkdir(a->root, 0755);
	snprintf(state, sizeof(state), "%s/state.db", dir);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	snprintf(secret, sizeof(secret), "%s/secret", workdir);
	snprintf(bin, sizeof(bin), "%s/ballast-agent", bindir ? bindir : "bin");
	a->port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", a->port);
	snprintf(a->url, sizeof(a->url), "%s://127.0.0.1:%d",
	    tls_ca[0] ? "https" : "http", a->port);
	if ((a->pid = fork()) == -1)
		die("fork");
	if (a->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char c[700], k[700], ca[700];

		if (fd != -1) {
			dup2(fd, 2);
			close(fd);
		}
		if (tls_ca[0] != '\0') {
			snprintf(c, sizeof(c), "tls_cert_file=%s", tls_cert);
			snprintf(k, sizeof(k), "tls_key_file=%s", tls_key);
			snprintf(ca, sizeof(ca), "tls_ca_file=%s", tls_ca);
			execl(bin, bin, "--listen", listen, "--root", a->root,
			    "--state", state, "--secret-file", secret,
			    "--node-id", name, "--max-transfers", "8", "--set",
			    "max_tasks=100000", "--set", "max_body=67108864",
			    "--set", "log_level=warn", "--set",
			    "max_connections=4096", "--set", c, "--set", k,
			    "--set", ca, (char *)NULL);
		} else {
			execl(bin, bin, "--listen", listen, "--root", a->root,
			    "--state", state, "--secret-file", secret,
			    "--node-id", name, "--max-transfers", "8", "--set",
			    "max_tasks=100000", "--set", "max_body=67108864",
			    "--set", "log_level=warn", "--set",
			    "max_connections=4096", (char *)NULL);
		}
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (request(a->url, "GET", "/v1/status", NULL, NULL) == 200)
			return;
		usleep(50000);
	}
	fprintf(stderr, "bench_load_agent: agent %s did not start (see %s)\n",
	    name, log);
	exit(1);
}

static void
agent_stop(struct agent *a)
{
	if (a->pid > 0) {
		kill(a->pid, SIGTERM);
		waitpid(a->pid, NULL, 0);
		a->pid = 0;
	}
}

/* Writes n objects of size bytes into root under one owner, and HEADs
 * each once so the source has recorded its MD5 before anything is
 * timed. */
static struct obj *
seed(const struct agent *a, int n, long size)
{
	struct obj *objs = calloc((size_t)n, sizeof(*objs));
	unsigned char *buf = malloc((size_t)size), raw[16];
	char owner[37], path[1024], target[128];
	unsigned int len;

	if (objs == NULL || buf == NULL)
		die("malloc");
	bl_uuid_generate(owner);
	snprintf(path, sizeof(path), "%s/%s", a->root, owner);
	mkdir(path, 0755);
	RAND_bytes(buf, (int)size);
	for (int i = 0; i < n; i++) {
		struct obj *o = &objs[i];
		int fd;

		memcpy(buf, &i, sizeof(i));	/* each object differs */
		memcpy(o->owner, owner, sizeof(owner));
		bl_uuid_generate(o->id);
		o->size = size;
		EVP_Digest(buf, (size_t)size, raw, &len, EVP_md5(), NULL);
		EVP_EncodeBlock((unsigned char *)o->md5, raw, 16);
		snprintf(path, sizeof(path), "%s/%s/%s", a->root, owner, o->id);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1 || write(fd, buf, (size_t)size) != size ||
		    close(fd) == -1)
			die("seed write");
		snprintf(target, sizeof(target), "/v1/objects/%s/%s", owner,
		    o->id);
		if (request(a->url, "HEAD", target, NULL, NULL) != 200) {
			fprintf(stderr, "bench_load_agent: HEAD %s failed\n",
			    target);
			exit(1);
		}
	}
	free(buf);
	return objs;
}

static double
metric(const struct agent *a, const char *name)
{
	char *body = NULL, *p;
	double v = -1;
	size_t nl = strlen(name);

	if (request(a->url, "GET", "/metrics", NULL, &body) == 200) {
		for (p = body; p != NULL && *p; ) {
			if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
				v = strtod(p + nl + 1, NULL);
				break;
			}
			p = strchr(p, '\n');
			p = p ? p + 1 : NULL;
		}
	}
	free(body);
	return v;
}

/* The wrk script: requests made (and signed) here, cycled by each wrk
 * thread from a different start; done() prints one LOAD line. With objs
 * NULL, every request is an unsigned GET /v1/status. */
static void
write_script(const char *path, const struct obj *objs, int n)
{
	struct bl_sign_hdrs sh;
	time_t now = time(NULL);
	char target[128];
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		die("wrk script");
	fprintf(f, "local reqs = {}\n");
	if (objs == NULL)
		fprintf(f, "reqs[1] = wrk.format(\"GET\", \"/v1/status\")\n");
	for (int i = 0; objs != NULL && i < n; i++) {
		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    objs[i].owner, objs[i].id);
		bl_sign_request(SECRET, strlen(SECRET), "GET", target, NULL, 0,
		    now, &sh);
		fprintf(f, "reqs[%d] = wrk.format(\"GET\", \"%s\", "
		    "{[\"%s\"] = \"%s\", [\"%s\"] = \"%s\"})\n", i + 1, target,
		    BL_SIGN_HDR_DATE, sh.date, BL_SIGN_HDR_SIG, sh.signature);
	}
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
	if (fclose(f) == EOF)
		die("wrk script");
}

/* Runs wrk for secs with conns connections against url; parses its LOAD
 * line. */
static void
run_wrk(const char *url, const char *script, int conns, int secs,
    struct load *l)
{
	char cmd[2048], line[512];
	int found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "wrk -t 2 -c %d -d %ds --timeout 10s "
	    "-s '%s' '%s' 2>&1", conns, secs, script, url);
	if ((p = popen(cmd, "r")) == NULL)
		die("wrk");
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
	if (pclose(p) != 0 || !found) {
		fprintf(stderr, "bench_load_agent: wrk failed: %s\n", cmd);
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
}

static long long
errors(const struct load *l)
{
	return l->non2xx + l->connect + l->read + l->write + l->timeout;
}

static const char *sfx = "";	/* "_tls" with BENCH_LOAD_TLS */

static void
print_load(const char *name, const struct load *l)
{
	double secs = (double)l->duration_us / 1e6;

	printf("BENCH %s%s_requests_per_sec %.0f requests/s\n", name, sfx,
	    (double)l->requests / secs);
	printf("BENCH %s%s_p50_ms %.2f ms\n", name, sfx,
	    (double)l->p50_us / 1e3);
	printf("BENCH %s%s_p99_ms %.2f ms\n", name, sfx,
	    (double)l->p99_us / 1e3);
	printf("BENCH %s%s_max_ms %.2f ms\n", name, sfx,
	    (double)l->max_us / 1e3);
	printf("BENCH %s%s_non2xx %lld responses\n", name, sfx, l->non2xx);
	printf("BENCH %s%s_socket_errors %lld errors\n", name, sfx,
	    l->connect + l->read + l->write + l->timeout);
}

int
main(void)
{
	struct agent src = { 0 }, dst = { 0 };
	struct obj *reads, *xfers;
	struct load base = { 0 }, load = { 0 };
	int conns = env_int("BENCH_LOAD_CONNS", 500);
	int secs = env_int("BENCH_LOAD_SECONDS", 10);
	int nreads = env_int("BENCH_LOAD_OBJECTS", 1000);
	int nxfers = env_int("BENCH_LOAD_XFERS", 2000);
	double t0, t_xfer, done0, failed0, failed, unauth0, unauth;
	char path[600], script[600], cmd[700], aid[37], *body;
	json_t *tasks, *root;
	int bad = 0;
	FILE *f;

	if (secs > BL_SIGN_WINDOW / 2) {
		fprintf(stderr, "bench_load_agent: BENCH_LOAD_SECONDS must be "
		    "at most %d (signatures expire)\n", BL_SIGN_WINDOW / 2);
		return 2;
	}
	snprintf(workdir, sizeof(workdir), "%s/ballast-bench-XXXXXX",
	    getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp");
	if (mkdtemp(workdir) == NULL)
		die("mkdtemp");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(path, sizeof(path), "%s/secret", workdir);
	if ((f = fopen(path, "w")) == NULL)
		die("secret");
	fprintf(f, "%s\n", SECRET);
	fclose(f);
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
	tasks = json_array();
	for (int i = 0; i < nxfers; i++)
		json_array_append_new(tasks, json_pack(
		    "{s:s,s:s,s:s,s:I,s:{s:s,s:s}}", "object_id",
		    xfers[i].id, "owner", xfers[i].owner, "md5", xfers[i].md5,
		    "size", (json_int_t)xfers[i].size, "source", "node", "src",
		    "url", src.url));
	bl_uuid_generate(aid);
	root = json_pack("{s:s,s:o}", "id", aid, "tasks", tasks);
	body = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	done0 = metric(&dst, "ballast_agent_assignments_completed_total");
	failed0 = metric(&dst, "ballast_agent_tasks_total{status=\"failed\"}");
	unauth0 = metric(&src, "ballast_agent_http_unauthorized_total");
	t0 = now_s();
	if (request(dst.url, "POST", "/v1/assignments", body, NULL) != 202) {
		fprintf(stderr, "bench_load_agent: POST assignment failed\n");
		return 1;
	}
	free(body);
	run_wrk(src.url, script, conns, secs, &load);
	while (metric(&dst, "ballast_agent_assignments_completed_total") <
	    done0 + 1)
		usleep(20000);
	t_xfer = now_s() - t0;
	failed = metric(&dst, "ballast_agent_tasks_total{status=\"failed\"}") -
	    failed0;
	/* Every pre-signed GET passed verification. */
	unauth = metric(&src, "ballast_agent_http_unauthorized_total") -
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

	if (errors(&load) != 0 || errors(&base) != 0) {
		fprintf(stderr, "bench_load_agent: errors: object GETs %lld, "
		    "baseline %lld\n", errors(&load), errors(&base));
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
	agent_stop(&src);
	agent_stop(&dst);
	free(reads);
	free(xfers);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (getenv("BENCH_KEEP") == NULL && system(cmd) != 0)
		fprintf(stderr, "bench_load_agent: cleanup of %s failed\n",
		    workdir);
	curl_global_cleanup();
	return bad;
}
