/* bench/bench_agent.c - ballast-agent transfer throughput on loopback.
 *
 * Starts two agents (source and destination) on loopback ports, seeds the
 * source's root, and has the destination pull:
 *   1. 1 GiB as 1 MiB objects        BENCH agent_1mib_bytes_per_sec
 *   2. 20,000 x 4 KiB objects        BENCH agent_4k_objects_per_sec
 * and, in the same run, the baseline: the same 1 MiB objects fetched from
 * the source agent with curl and hashed with md5sum, with the same
 * parallelism (xargs -P). BENCH agent_vs_raw_ratio is agent / baseline.
 *
 * Environment: BALLAST_BIN (dir with ballast-agent), BENCH_PARALLEL
 * (default 8), BENCH_MIB (default 1024), BENCH_SMALL (default 20000),
 * BENCH_DIR (default /tmp).
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

static char workdir[256];
static int parallel = 8;

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
	fprintf(stderr, "bench_agent: %s: %s\n", msg, strerror(errno));
	exit(1);
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
	if (strcmp(method, "GET") != 0)
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
	char bin[512], listen[64], state[600], secret[600], log[600], mt[16];
	char dir[400];

	snprintf(dir, sizeof(dir), "%s/%s", workdir, name);
	mkdir(dir, 0755);
	snprintf(a->root, sizeof(a->root), "%s/root", dir);
	mkdir(a->root, 0755);
	snprintf(state, sizeof(state), "%s/state.db", dir);
	snprintf(log, sizeof(log), "%s/agent.log", dir);
	snprintf(secret, sizeof(secret), "%s/secret", workdir);
	snprintf(bin, sizeof(bin), "%s/ballast-agent", bindir ? bindir : "bin");
	snprintf(mt, sizeof(mt), "%d", parallel);
	a->port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", a->port);
	snprintf(a->url, sizeof(a->url), "http://127.0.0.1:%d", a->port);
	if ((a->pid = fork()) == -1)
		die("fork");
	if (a->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd != -1) {
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "--listen", listen, "--root", a->root,
		    "--state", state, "--secret-file", secret, "--node-id",
		    name, "--max-transfers", mt, "--set", "max_tasks=100000",
		    "--set", "max_body=67108864", "--set", "log_level=warn",
		    (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (request(a->url, "GET", "/v1/status", NULL, NULL) == 200)
			return;
		usleep(50000);
	}
	fprintf(stderr, "bench_agent: agent %s did not start (see %s)\n",
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

static void
md5_b64(const void *p, size_t n, char out[25])
{
	unsigned char raw[16];
	unsigned int len;

	EVP_Digest(p, n, raw, &len, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, raw, 16);
	out[24] = '\0';
}

/* Writes n objects of size bytes into root under one owner. */
static struct obj *
seed(const char *root, int n, long size)
{
	struct obj *objs = calloc((size_t)n, sizeof(*objs));
	unsigned char *buf = malloc((size_t)size);
	char owner[37], path[1024];

	if (objs == NULL || buf == NULL)
		die("malloc");
	bl_uuid_generate(owner);
	snprintf(path, sizeof(path), "%s/%s", root, owner);
	mkdir(path, 0755);
	RAND_bytes(buf, (int)size);
	for (int i = 0; i < n; i++) {
		struct obj *o = &objs[i];
		int fd;

		memcpy(buf, &i, sizeof(i));	/* each object differs */
		memcpy(o->owner, owner, sizeof(owner));
		bl_uuid_generate(o->id);
		o->size = size;
		md5_b64(buf, (size_t)size, o->md5);
		snprintf(path, sizeof(path), "%s/%s/%s", root, owner, o->id);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1 || write(fd, buf, (size_t)size) != size ||
		    close(fd) == -1)
			die("seed write");
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

/* HEADs every object once, so the source has recorded each MD5 (xattr)
 * before anything is timed; both the agent and the baseline then read
 * each object exactly once. */
static void
warm(const struct agent *src, const struct obj *objs, int n)
{
	CURL *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	for (int i = 0; i < n; i++) {
		struct curl_slist *h = NULL;
		struct bl_sign_hdrs sh;
		char target[128], url[256], line[160];
		long st = 0;

		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    objs[i].owner, objs[i].id);
		snprintf(url, sizeof(url), "%s%s", src->url, target);
		bl_sign_request(SECRET, strlen(SECRET), "HEAD", target, NULL,
		    0, time(NULL), &sh);
		snprintf(line, sizeof(line), "%s: %s", BL_SIGN_HDR_DATE,
		    sh.date);
		h = curl_slist_append(h, line);
		snprintf(line, sizeof(line), "%s: %s", BL_SIGN_HDR_SIG,
		    sh.signature);
		h = curl_slist_append(h, line);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		if (curl_easy_perform(c) != CURLE_OK ||
		    (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st), st) !=
		    200) {
			fprintf(stderr, "bench_agent: HEAD %s failed\n", target);
			exit(1);
		}
		curl_slist_free_all(h);
	}
	curl_easy_cleanup(c);
}

/* Posts the objects to dst in assignments of at most 10,000 tasks, waits
 * for all of them, and returns the seconds taken. */
static double
run_assignments(const struct agent *src, const struct agent *dst,
    const struct obj *objs, int n)
{
	double done0 = metric(dst, "ballast_agent_assignments_completed_total");
	double t0 = now_s(), failed0;
	int nassign = 0;

	failed0 = metric(dst, "ballast_agent_tasks_total{status=\"failed\"}");
	for (int first = 0; first < n; first += 10000) {
		json_t *tasks = json_array(), *root;
		char aid[37], *body;
		long st;

		for (int i = first; i < n && i < first + 10000; i++)
			json_array_append_new(tasks, json_pack(
			    "{s:s,s:s,s:s,s:I,s:{s:s,s:s}}", "object_id",
			    objs[i].id, "owner", objs[i].owner, "md5",
			    objs[i].md5, "size", (json_int_t)objs[i].size,
			    "source", "node", "src", "url", src->url));
		bl_uuid_generate(aid);
		root = json_pack("{s:s,s:o}", "id", aid, "tasks", tasks);
		body = json_dumps(root, JSON_COMPACT);
		json_decref(root);
		st = request(dst->url, "POST", "/v1/assignments", body, NULL);
		free(body);
		if (st != 202) {
			fprintf(stderr, "bench_agent: POST answered %ld\n", st);
			exit(1);
		}
		nassign++;
	}
	while (metric(dst, "ballast_agent_assignments_completed_total") <
	    done0 + nassign)
		usleep(20000);
	t0 = now_s() - t0;
	if (metric(dst, "ballast_agent_tasks_total{status=\"failed\"}") !=
	    failed0) {
		fprintf(stderr, "bench_agent: some tasks failed\n");
		exit(1);
	}
	return t0;
}

/* curl + md5sum for each object, xargs -P parallel. Seconds taken. */
static double
run_baseline(const struct agent *src, const struct obj *objs, int n)
{
	char list[600], out[600], cmd[2048];
	double t0;
	FILE *f;

	snprintf(list, sizeof(list), "%s/baseline.list", workdir);
	snprintf(out, sizeof(out), "%s/baseline", workdir);
	mkdir(out, 0755);
	if ((f = fopen(list, "w")) == NULL)
		die("baseline list");
	for (int i = 0; i < n; i++) {
		struct bl_sign_hdrs sh;
		char target[128];

		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    objs[i].owner, objs[i].id);
		bl_sign_request(SECRET, strlen(SECRET), "GET", target, NULL, 0,
		    time(NULL), &sh);
		fprintf(f, "%s%s %s %s %s/%s\n", src->url, target, sh.date,
		    sh.signature, out, objs[i].id);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "xargs -P %d -L 1 sh -c 'curl -sf -o \"$3\" "
	    "-H \"X-Ballast-Date: $1\" -H \"X-Ballast-Signature: $2\" \"$0\" "
	    "&& md5sum \"$3\" >/dev/null' < '%s'", parallel, list);
	t0 = now_s();
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_agent: baseline failed\n");
		exit(1);
	}
	return now_s() - t0;
}

int
main(void)
{
	struct agent src = { 0 }, dst = { 0 };
	struct obj *big, *small;
	int nbig = 1024, nsmall = 20000;
	double t_agent, t_raw, t_small;
	char path[600], cmd[700];
	const char *e;
	FILE *f;

	if ((e = getenv("BENCH_PARALLEL")) != NULL)
		parallel = atoi(e);
	if ((e = getenv("BENCH_MIB")) != NULL)
		nbig = atoi(e);
	if ((e = getenv("BENCH_SMALL")) != NULL)
		nsmall = atoi(e);
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

	agent_start(&src, "src");
	agent_start(&dst, "dst");
	fprintf(stderr, "bench_agent: seeding %d x 1 MiB and %d x 4 KiB, "
	    "parallel=%d\n", nbig, nsmall, parallel);
	big = seed(src.root, nbig, 1 << 20);
	small = seed(src.root, nsmall, 4096);

	warm(&src, big, nbig);
	warm(&src, small, nsmall);
	/* Each phase starts with no dirty pages left by the one before, so
	 * no phase pays for another's writeback. */
	sync();
	t_raw = run_baseline(&src, big, nbig);
	sync();
	t_agent = run_assignments(&src, &dst, big, nbig);
	sync();
	t_small = run_assignments(&src, &dst, small, nsmall);

	printf("BENCH agent_1mib_bytes_per_sec %.0f bytes/s\n",
	    (double)nbig * (1 << 20) / t_agent);
	printf("BENCH agent_4k_objects_per_sec %.0f objects/s\n",
	    (double)nsmall / t_small);
	printf("BENCH agent_raw_1mib_bytes_per_sec %.0f bytes/s\n",
	    (double)nbig * (1 << 20) / t_raw);
	printf("BENCH agent_vs_raw_ratio %.3f ratio\n", t_raw / t_agent);

	agent_stop(&src);
	agent_stop(&dst);
	free(big);
	free(small);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (getenv("BENCH_KEEP") == NULL && system(cmd) != 0)
		fprintf(stderr, "bench_agent: cleanup of %s failed\n", workdir);
	curl_global_cleanup();
	return 0;
}
