/* tests/helpers/th_ctl.c - see th_ctl.h. */
#include "tests/helpers/th_ctl.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

int
th_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t l = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &l) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
spawn(struct th_ctl *c)
{
	char bin[600];

	snprintf(bin, sizeof(bin), "%s/ballastd", tha_bin_dir());
	c->pid = fork();
	if (c->pid == -1)
		return -1;
	if (c->pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "--config", c->conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		int st;

		if (th_ctl_req(c, "GET", "/v1/status", NULL, TH_VIEW_TOKEN,
		    NULL) == 200)
			return 0;
		if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
			c->pid = 0;
			return -1;
		}
		tha_sleep_ms(50);
	}
	return -1;
}

int
th_ctl_write_config(struct th_ctl *c, const char *extra, const char *policy,
    const char *top)
{
	char conf[8192];

	snprintf(conf, sizeof(conf), "{\"listen\":\"127.0.0.1:%d\","
	    "\"database\":\"%s\",\"secret_file\":\"%s\",\"log_level\":\"info\","
	    "\"max_body_bytes\":1048576,"
	    "\"tokens\":[{\"name\":\"ops\",\"token_file\":\"%s/op.token\","
	    "\"role\":\"operator\"},{\"name\":\"grafana\",\"token_file\":"
	    "\"%s/view.token\",\"role\":\"viewer\"}],"
	    "\"policy\":%s,%s%s"
	    "\"engine\":{\"poll_interval_ms\":100,\"max_assignment_age_s\":0,"
	    "\"agent_timeout_s\":5,\"source_delete_grace_s\":0%s%s}}",
	    c->port, c->conninfo, c->secret, c->dir, c->dir,
	    policy ? policy : "{\"max_fill\":0.95}", top ? top : "",
	    top ? "," : "", extra ? "," : "", extra ? extra : "");
	return write_file(c->conf, conf);
}

int
th_ctl_start(struct th_ctl *c, const char *conninfo, const char *extra)
{
	return th_ctl_start_ex(c, conninfo, extra, NULL, NULL, "ctl");
}

int
th_ctl_start_ex(struct th_ctl *c, const char *conninfo, const char *extra,
    const char *policy, const char *top, const char *name)
{
	char path[700];

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s/%s", tha_tmpdir(), name);
	mkdir(c->dir, 0755);
	snprintf(c->conf, sizeof(c->conf), "%s/ballast.json", c->dir);
	snprintf(c->log, sizeof(c->log), "%s/ballastd.log", c->dir);
	snprintf(c->secret, sizeof(c->secret), "%s/secret", tha_tmpdir());
	snprintf(c->conninfo, sizeof(c->conninfo), "%s", conninfo);
	if (write_file(c->secret, THA_SECRET "\n") == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/op.token", c->dir);
	write_file(path, TH_OP_TOKEN "\n");
	snprintf(path, sizeof(path), "%s/view.token", c->dir);
	write_file(path, TH_VIEW_TOKEN "\n");
	c->port = th_free_port();
	snprintf(c->url, sizeof(c->url), "%s://127.0.0.1:%d",
	    top != NULL && strstr(top, "\"tls_cert_file\"") != NULL ?
	    "https" : "http", c->port);
	if (th_ctl_write_config(c, extra, policy, top) == -1)
		return -1;
	return spawn(c);
}

int
th_ctl_restart(struct th_ctl *c)
{
	for (int i = 0; i < 20; i++) {
		if (spawn(c) == 0)
			return 0;
		if (c->pid > 0)
			th_ctl_kill9(c);
		tha_sleep_ms(100);
	}
	return -1;
}

void
th_ctl_kill9(struct th_ctl *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

int
th_ctl_stop(struct th_ctl *c)
{
	int st;

	if (c->pid <= 0)
		return -1;
	kill(c->pid, SIGTERM);
	if (waitpid(c->pid, &st, 0) != c->pid)
		return -1;
	c->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

long
th_ctl_req(const struct th_ctl *c, const char *method, const char *target,
    const char *body, const char *token, json_t **out)
{
	struct tha_resp r;
	char hdr[256];
	long st;

	if (out != NULL)
		*out = NULL;
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token ?
	    token : "");
	if (tha_request(c->url, method, target, body, body ? strlen(body) :
	    0, THA_UNSIGNED, token ? hdr : NULL, &r) == -1) {
		tha_resp_free(&r);
		return -1;
	}
	st = r.status;
	if (out != NULL && r.body != NULL)
		*out = json_loadb(r.body, r.len, JSON_DECODE_ANY, NULL);
	tha_resp_free(&r);
	return st;
}

json_t *
th_ctl_wait_job(const struct th_ctl *c, const char *id, int timeout_s)
{
	char target[128];

	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	for (int i = 0; i < timeout_s * 10; i++) {
		json_t *j = NULL;
		const char *st;

		if (th_ctl_req(c, "GET", target, NULL, TH_VIEW_TOKEN, &j) ==
		    200) {
			st = json_string_value(json_object_get(j, "state"));
			if (st != NULL && (strcmp(st, "complete") == 0 ||
			    strcmp(st, "failed") == 0 || (strcmp(st,
			    "cancelled") == 0 && !json_is_null(
			    json_object_get(j, "finished_at")))))
				return j;
		}
		json_decref(j);
		tha_sleep_ms(100);
	}
	return NULL;
}

long
th_ctl_post_job(const struct th_ctl *c, const char *body, char id[37])
{
	json_t *j = NULL;
	long st;

	st = th_ctl_req(c, "POST", "/v1/jobs", body, TH_OP_TOKEN, &j);
	id[0] = '\0';
	if (st == 201)
		snprintf(id, 37, "%s", json_string_value(json_object_get(j,
		    "id")));
	json_decref(j);
	return st;
}

long
th_ctl_evacuate(const struct th_ctl *c, const char *node,
    long long max_objects, char id[37])
{
	char body[256];

	if (max_objects > 0)
		snprintf(body, sizeof(body), "{\"action\":\"evacuate\","
		    "\"params\":{\"from_node\":\"%s\",\"max_objects\":%lld}}",
		    node, max_objects);
	else
		snprintf(body, sizeof(body), "{\"action\":\"evacuate\","
		    "\"params\":{\"from_node\":\"%s\"}}", node);
	return th_ctl_post_job(c, body, id);
}

long
th_ctl_retry(const struct th_ctl *c, const char *job, char id[37])
{
	char body[256];

	snprintf(body, sizeof(body), "{\"action\":\"retry\",\"params\":"
	    "{\"job\":\"%s\"}}", job);
	return th_ctl_post_job(c, body, id);
}

long long
th_job_counter(const json_t *job, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(job,
	    "counters"), name));
}

long long
th_job_reason(const json_t *job, const char *reason)
{
	return json_integer_value(json_object_get(json_object_get(job,
	    "reasons"), reason));
}

int
th_ctl_register(const struct th_ctl *c, struct tha_agent *a, int n)
{
	for (int i = 0; i < n; i++) {
		char target[128], body[512];

		snprintf(target, sizeof(target), "/v1/nodes/%s", a[i].name);
		snprintf(body, sizeof(body), "{\"agent_url\":\"%s\",\"region\":"
		    "\"r1\",\"datacenter\":\"dc1\",\"rack\":\"rack%d\","
		    "\"host\":\"%s\"}", a[i].url, i, a[i].name);
		if (th_ctl_req(c, "PUT", target, body, TH_OP_TOKEN, NULL) !=
		    201)
			return -1;
	}
	return 0;
}

int
th_seed(const char *conninfo, struct tha_agent *a, int na, int n,
    size_t size, const int *copies, int ncopies, char *ids,
    const char *owner)
{
	PGconn *db = PQconnectdb(conninfo);
	int rc = -1;

	if (PQstatus(db) != CONNECTION_OK)
		goto out;
	PQclear(PQexec(db, "BEGIN"));
	for (int i = 0; i < n; i++) {
		char id[37], md5[25], arr[512];
		const char *p[5];
		size_t al = 0;
		char sz[32];
		unsigned char *data = NULL;
		PGresult *r;

		tha_uuid(id);
		arr[al++] = '{';
		for (int k = 0; k < ncopies; k++) {
			int ai = copies[k] % na;

			free(data);
			data = tha_put_object(a[ai].root, owner, id, size, md5);
			if (data == NULL)
				goto out;
			/* the same bytes on every copy */
			if (k == 0) {
				for (int q = 1; q < ncopies; q++) {
					char path[1200];
					FILE *f;

					snprintf(path, sizeof(path), "%s/%s",
					    a[copies[q] % na].root, owner);
					mkdir(path, 0755);
					snprintf(path, sizeof(path), "%s/%s/%s",
					    a[copies[q] % na].root, owner, id);
					if ((f = fopen(path, "w")) == NULL)
						goto out;
					fwrite(data, 1, size, f);
					fclose(f);
				}
			}
			al += (size_t)snprintf(arr + al, sizeof(arr) - al,
			    "%s%s", k ? "," : "", a[ai].name);
			if (k == 0)
				break;
		}
		for (int k = 1; k < ncopies; k++)
			al += (size_t)snprintf(arr + al, sizeof(arr) - al,
			    ",%s", a[copies[k] % na].name);
		arr[al++] = '}';
		arr[al] = '\0';
		free(data);
		snprintf(sz, sizeof(sz), "%zu", size);
		p[0] = id;
		p[1] = owner;
		p[2] = sz;
		p[3] = md5;
		p[4] = arr;
		r = PQexecParams(db, "INSERT INTO objects (id, owner, size, md5,"
		    " copies) VALUES ($1, $2, $3, $4, $5)", 5, NULL, p, NULL,
		    NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "th_seed: %s", PQerrorMessage(db));
			PQclear(r);
			goto out;
		}
		PQclear(r);
		if (ids != NULL)
			memcpy(ids + (size_t)i * 37, id, 37);
	}
	PQclear(PQexec(db, "COMMIT"));
	rc = 0;
out:
	PQfinish(db);
	return rc;
}

int
th_verify(const struct th_ctl *c)
{
	char cmd[2048];
	int st;

	snprintf(cmd, sizeof(cmd), "'%s/ballastctl' verify --database '%s' "
	    "--secret-file '%s' >&2", tha_bin_dir(), c->conninfo, c->secret);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long long
th_sql_ll(const char *conninfo, const char *sql)
{
	PGconn *db = PQconnectdb(conninfo);
	long long v = -1;
	PGresult *r;

	if (PQstatus(db) == CONNECTION_OK) {
		r = PQexec(db, sql);
		if ((PQresultStatus(r) == PGRES_TUPLES_OK) && PQntuples(r) > 0
		    && !PQgetisnull(r, 0, 0))
			v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	PQfinish(db);
	return v;
}

int
th_sql_run(const char *conninfo, const char *sql)
{
	PGconn *db = PQconnectdb(conninfo);
	int rc = -1;
	PGresult *r;

	if (PQstatus(db) == CONNECTION_OK) {
		r = PQexec(db, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK ||
		    PQresultStatus(r) == PGRES_TUPLES_OK)
			rc = 0;
		PQclear(r);
	}
	PQfinish(db);
	return rc;
}

int
th_ctl_wait_leader(const struct th_ctl *c, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		json_t *j = NULL;
		int ok = th_ctl_req(c, "GET", "/v1/status", NULL, TH_VIEW_TOKEN,
		    &j) == 200 && json_is_true(json_object_get(
		    json_object_get(j, "leader"), "self"));

		json_decref(j);
		if (ok)
			return 0;
		tha_sleep_ms(100);
	}
	return -1;
}
