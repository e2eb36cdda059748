/* tests/helpers/agent_harness.c - real ballast-agent processes for tests. */
#include "tests/helpers/agent_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/buf.h"
#include "lib/sign.h"
#include "lib/uuid.h"

static char tmpdir[256];
static char tls_ca[600];
static char host[16] = "127.0.0.1";
static char netns[32];

void
tha_set_tls_ca(const char *ca_file)
{
	snprintf(tls_ca, sizeof(tls_ca), "%s", ca_file ? ca_file : "");
}

void
tha_set_host(const char *ip)
{
	snprintf(host, sizeof(host), "%s", ip ? ip : "127.0.0.1");
}

void
tha_set_netns(const char *name)
{
	snprintf(netns, sizeof(netns), "%s", name ? name : "");
}

void
tha_set_tmpdir(const char *dir)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s", dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *
tha_bin_dir(void)
{
	const char *b = getenv("BALLAST_BIN");

	return b ? b : "bin";
}

const char *
tha_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/ballast-test-XXXXXX");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		curl_global_init(CURL_GLOBAL_DEFAULT);
	}
	return tmpdir;
}

void
tha_cleanup(void)
{
	char cmd[300];

	if (tmpdir[0] == '\0' || getenv("THA_KEEP") != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	tmpdir[0] = '\0';
}

void
tha_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A port free on every address here (so also on the one the agent
 * listens on). An agent in another namespace may use any port there. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
spawn(struct tha_agent *a, const char *const *more)
{
	char bin[600], listen[64], secret[600], ns[64];
	const char *argv[80];
	int n = 0, fd;

	snprintf(bin, sizeof(bin), "%s/ballast-agent", tha_bin_dir());
	snprintf(listen, sizeof(listen), "%s:%d", a->host, a->port);
	snprintf(ns, sizeof(ns), "/var/run/netns/%s", a->netns);
	snprintf(secret, sizeof(secret), "%s/secret", tha_tmpdir());
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--root";
	argv[n++] = a->root;
	argv[n++] = "--state";
	argv[n++] = a->state;
	argv[n++] = "--secret-file";
	argv[n++] = secret;
	argv[n++] = "--node-id";
	argv[n++] = a->name;
	for (int i = 0; i < a->nargs; i++)
		argv[n++] = a->args[i];
	for (; more && *more && n < 78; more++)
		argv[n++] = *more;
	argv[n] = NULL;
	a->pid = fork();
	if (a->pid == -1)
		return -1;
	if (a->pid == 0) {
		fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		if (a->netns[0] != '\0' && ((fd = open(ns, O_RDONLY |
		    O_CLOEXEC)) == -1 || setns(fd, CLONE_NEWNET) == -1)) {
			dprintf(2, "tha: join network namespace %s: %s\n", ns,
			    strerror(errno));
			_exit(126);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct tha_resp r;
		int st;

		if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
			a->pid = 0;
			return -1;
		}
		if (tha_request(a->url, "GET", "/v1/status", NULL, 0,
		    THA_SIGNED, NULL, &r) == 0 && r.status == 200) {
			tha_resp_free(&r);
			return 0;
		}
		tha_resp_free(&r);
		tha_sleep_ms(50);
	}
	return -1;
}

int
tha_agent_start(struct tha_agent *a, const char *name, ...)
{
	const char *args[31];
	int n = 0;
	va_list ap;

	va_start(ap, name);
	while (n < 30 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	return tha_agent_startv(a, name, args);
}

int
tha_agent_startv(struct tha_agent *a, const char *name,
    const char *const *args)
{
	char secret[600];
	FILE *f;

	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->host, sizeof(a->host), "%s", host);
	snprintf(a->netns, sizeof(a->netns), "%s", netns);
	snprintf(a->dir, sizeof(a->dir), "%s/%s", tha_tmpdir(), name);
	snprintf(a->root, sizeof(a->root), "%s/root", a->dir);
	snprintf(a->state, sizeof(a->state), "%s/state.db", a->dir);
	snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
	mkdir(a->dir, 0755);
	mkdir(a->root, 0755);
	snprintf(secret, sizeof(secret), "%s/secret", tha_tmpdir());
	if ((f = fopen(secret, "w")) == NULL)
		return -1;
	fprintf(f, "%s\n", THA_SECRET);
	fclose(f);
	for (; args != NULL && *args != NULL && a->nargs < 30; args++)
		a->args[a->nargs++] = strdup(*args);
	for (int tries = 0; tries < 5; tries++) {
		a->port = free_port();
		snprintf(a->url, sizeof(a->url), "%s://%s:%d",
		    tls_ca[0] ? "https" : "http", a->host, a->port);
		if (spawn(a, NULL) == 0)
			return 0;
		if (a->pid > 0)
			tha_agent_kill9(a);
	}
	return -1;
}

int
tha_agent_restart(struct tha_agent *a, const char *const *more)
{
	/* A running agent is stopped first: otherwise it keeps the port
	 * and answers in place of the new one. */
	if (a->pid > 0)
		tha_agent_stop(a);
	for (int tries = 0; tries < 20; tries++) {
		if (spawn(a, more) == 0)
			return 0;
		if (a->pid > 0)
			tha_agent_kill9(a);
		tha_sleep_ms(100);	/* the port may linger briefly */
	}
	return -1;
}

int
tha_agent_stop(struct tha_agent *a)
{
	int st;

	if (a->pid <= 0)
		return -1;
	kill(a->pid, SIGTERM);
	if (waitpid(a->pid, &st, 0) != a->pid)
		return -1;
	a->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void
tha_agent_kill9(struct tha_agent *a)
{
	if (a->pid <= 0)
		return;
	kill(a->pid, SIGKILL);
	waitpid(a->pid, NULL, 0);
	a->pid = 0;
}

void
tha_agent_free(struct tha_agent *a)
{
	tha_agent_kill9(a);
	for (int i = 0; i < a->nargs; i++)
		free(a->args[i]);
	a->nargs = 0;
}

static size_t
sink_write(char *p, size_t size, size_t n, void *arg)
{
	return bl_buf_add(arg, p, size * n) == 0 ? size * n : 0;
}

int
tha_request(const char *base, const char *method, const char *target,
    const char *body, size_t body_len, int sign, const char *header,
    struct tha_resp *r)
{
	struct curl_slist *h = NULL;
	struct bl_sign_hdrs sh;
	struct bl_buf b = BL_BUF_INIT, hd = BL_BUF_INIT;
	char url[4096], line[256];
	time_t now = time(NULL);
	CURL *c;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	if ((c = curl_easy_init()) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", base, target);
	if (sign != THA_UNSIGNED) {
		bl_sign_request(THA_SECRET, strlen(THA_SECRET), method, target,
		    body, body ? body_len : 0, sign == THA_STALE ? now - 400 :
		    now, &sh);
		if (sign == THA_BAD_SIGNATURE)
			sh.signature[0] = sh.signature[0] == 'a' ? 'b' : 'a';
		snprintf(line, sizeof(line), "%s: %s", BL_SIGN_HDR_DATE,
		    sh.date);
		h = curl_slist_append(h, line);
		snprintf(line, sizeof(line), "%s: %s", BL_SIGN_HDR_SIG,
		    sh.signature);
		h = curl_slist_append(h, line);
	}
	if (header != NULL)
		h = curl_slist_append(h, header);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (tls_ca[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_CAINFO, tls_ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)body_len);
	}
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	r->body = bl_buf_detach(&b, &r->len);
	r->headers = bl_buf_detach(&hd, NULL);
	return cc == CURLE_OK ? 0 : -1;
}

void
tha_resp_free(struct tha_resp *r)
{
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

int
tha_resp_header(const struct tha_resp *r, const char *name, char *out,
    size_t len)
{
	size_t nl = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p != '\0') {
		const char *eol = strstr(p, "\r\n");

		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl;

			while (*v == ' ')
				v++;
			vl = eol ? (size_t)(eol - v) : strlen(v);
			if (vl >= len)
				vl = len - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		p = eol ? eol + 2 : NULL;
	}
	return -1;
}

json_t *
tha_json(const struct tha_resp *r)
{
	return json_loadb(r->body, r->len, 0, NULL);
}

void
tha_uuid(char out[37])
{
	bl_uuid_generate(out);
}

void
tha_md5_b64(const void *data, size_t len, char out[25])
{
	unsigned char raw[16];
	unsigned int n = 0;

	EVP_Digest(data, len, raw, &n, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, raw, 16);
	out[24] = '\0';
}

unsigned char *
tha_put_object(const char *root, const char *owner, const char *id,
    size_t size, char md5[25])
{
	unsigned char *data = malloc(size ? size : 1);
	char path[1024];
	FILE *f;

	RAND_bytes(data, (int)size);
	snprintf(path, sizeof(path), "%s/%s", root, owner);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, owner, id);
	f = fopen(path, "w");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		free(data);
		return NULL;
	}
	tha_md5_b64(data, size, md5);
	return data;
}

struct tha_obj *
tha_seed_objects(const char *root, int n, size_t size)
{
	struct tha_obj *objs = calloc(n > 0 ? (size_t)n : 1, sizeof(*objs));
	char owner[37];

	if (objs == NULL)
		return NULL;
	bl_uuid_generate(owner);
	for (int i = 0; i < n; i++) {
		struct tha_obj *o = &objs[i];
		unsigned char *data;

		memcpy(o->owner, owner, sizeof(owner));
		bl_uuid_generate(o->id);
		o->size = (long long)size;
		data = tha_put_object(root, owner, o->id, size, o->md5);
		if (data == NULL) {
			free(objs);
			return NULL;
		}
		free(data);
	}
	return objs;
}

int
tha_head_objects(const struct tha_agent *a, const struct tha_obj *objs,
    int n)
{
	for (int i = 0; i < n; i++) {
		struct tha_resp r;
		char target[128];
		long st;

		snprintf(target, sizeof(target), "/v1/objects/%s/%s",
		    objs[i].owner, objs[i].id);
		tha_request(a->url, "HEAD", target, NULL, 0, THA_SIGNED, NULL,
		    &r);
		st = r.status;
		tha_resp_free(&r);
		if (st != 200)
			return -1;
	}
	return 0;
}

unsigned char *
tha_read_file(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *p;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 ||
	    (p = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(p, 1, (size_t)st.st_size, f);
	p[*len] = '\0';
	fclose(f);
	return p;
}

char *
tha_read_text(const char *dir, const char *name)
{
	char path[2048];
	size_t len;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	return (char *)tha_read_file(path, &len);
}

int
tha_run(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tha_vrun(out, len, fmt, ap);
	va_end(ap);
	return rc;
}

int
tha_vrun(char *out, size_t len, const char *fmt, va_list ap)
{
	char cmd[8192];
	size_t n;
	FILE *p;
	int st;

	out[0] = '\0';
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
tha_count_tmp(const char *root, const char *owner)
{
	char path[1024];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", root, owner);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

int
tha_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

long
tha_throttle(const struct tha_agent *a, long long bps)
{
	char body[64];
	struct tha_resp r;
	long st = -1;

	snprintf(body, sizeof(body), "{\"bytes_per_sec\":%lld}", bps);
	if (tha_request(a->url, "PUT", "/v1/config/throttle", body,
	    strlen(body), THA_SIGNED, NULL, &r) == 0)
		st = r.status;
	tha_resp_free(&r);
	return st;
}

long
tha_post_assignment(const struct tha_agent *a, const char *body)
{
	struct tha_resp r;
	long st;

	tha_request(a->url, "POST", "/v1/assignments", body, strlen(body),
	    THA_SIGNED, "Content-Type: application/json", &r);
	st = r.status;
	tha_resp_free(&r);
	return st;
}

json_t *
tha_wait_complete(const struct tha_agent *a, const char *id)
{
	char target[128];

	snprintf(target, sizeof(target), "/v1/assignments/%s", id);
	for (int i = 0; i < 1200; i++) {
		struct tha_resp r;
		json_t *j;

		if (tha_request(a->url, "GET", target, NULL, 0, THA_SIGNED,
		    NULL, &r) == 0 && r.status == 200 &&
		    (j = tha_json(&r)) != NULL) {
			const char *st = json_string_value(json_object_get(j,
			    "state"));

			tha_resp_free(&r);
			if (st != NULL && strcmp(st, "complete") == 0)
				return j;
			json_decref(j);
		} else {
			tha_resp_free(&r);
		}
		tha_sleep_ms(50);
	}
	return NULL;
}

json_t *
tha_task(const char *owner, const char *id, const char *md5, long long size,
    const char *source_url)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:{s:s,s:s}}", "object_id", id,
	    "owner", owner, "md5", md5, "size", (json_int_t)size, "source",
	    "node", "src", "url", source_url);
}

char *
tha_assignment_json(const char *id, json_t *tasks)
{
	json_t *root = json_pack("{s:s,s:o}", "id", id, "tasks", tasks);
	char *body = json_dumps(root, JSON_COMPACT);

	json_decref(root);
	return body;
}

long
tha_post_tasks(const struct tha_agent *a, const char *id, json_t *tasks)
{
	char *body = tha_assignment_json(id, tasks);
	long st = body != NULL ? tha_post_assignment(a, body) : -1;

	free(body);
	return st;
}

char *
tha_assignment_body(char id[37], const struct tha_obj *objs, int n,
    const char *source_url)
{
	json_t *tasks = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(tasks, tha_task(objs[i].owner, objs[i].id,
		    objs[i].md5, objs[i].size, source_url));
	bl_uuid_generate(id);
	return tha_assignment_json(id, tasks);
}

double
tha_metric(const struct tha_agent *a, const char *sample)
{
	struct tha_resp r;
	size_t sl = strlen(sample);
	double v = -1;

	if (tha_request(a->url, "GET", "/metrics", NULL, 0, THA_UNSIGNED,
	    NULL, &r) == 0) {
		for (char *p = r.body; p && *p; ) {
			char *eol = strchr(p, '\n');

			if (strncmp(p, sample, sl) == 0 && p[sl] == ' ') {
				v = strtod(p + sl + 1, NULL);
				break;
			}
			p = eol ? eol + 1 : NULL;
		}
	}
	tha_resp_free(&r);
	return v;
}

void
tha_tree_usage(const char *root, long long *bytes, long long *count)
{
	struct dirent *de, *se;
	char path[1024], f[2048];
	DIR *d, *sd;

	*bytes = *count = 0;
	if ((d = opendir(root)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (!bl_uuid_valid(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if ((sd = opendir(path)) == NULL)
			continue;
		while ((se = readdir(sd)) != NULL) {
			struct stat st;

			if (!bl_uuid_valid(se->d_name))
				continue;
			snprintf(f, sizeof(f), "%s/%s", path, se->d_name);
			if (lstat(f, &st) == 0 && S_ISREG(st.st_mode)) {
				*bytes += st.st_size;
				(*count)++;
			}
		}
		closedir(sd);
	}
	closedir(d);
}
