/* agent/main.c - ballast-agent: start-up, the config table, shutdown. */
#include "agent/agent.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "lib/log.h"
#include "lib/sign.h"

#define OFF(f) offsetof(struct agt_config, f)
#define BIG 4611686018427387904LL	/* 2^62 */

const struct bl_cfg_opt agt_config_table[] = {
	{ "listen", BL_CFG_STR, OFF(listen), "0.0.0.0:8461", 3, 300, 0,
	  "address to serve on, HOST:PORT (port 0 picks one)" },
	{ "root", BL_CFG_STR, OFF(root), NULL, 1, 3000, 0,
	  "directory holding objects as <root>/<owner>/<object_id>" },
	{ "state", BL_CFG_STR, OFF(state), NULL, 1, 3000, 0,
	  "SQLite file recording assignments" },
	{ "node_id", BL_CFG_STR, OFF(node_id), NULL, 1, 255, 0,
	  "this node's id (default: the host name)" },
	{ "secret_file", BL_CFG_STR, OFF(secret_file), NULL, 1, 3000, 0,
	  "file holding the cluster's shared signing secret" },
	{ "log_level", BL_CFG_STR, OFF(log_level), "info", 4, 5, 0,
	  "debug, info, warn or error" },
	{ "capacity_bytes", BL_CFG_INT, OFF(capacity_bytes), "0", 0, BIG, 0,
	  "quota in bytes; 0 means the filesystem's size" },
	{ "max_transfers", BL_CFG_INT, OFF(max_transfers), "8", 1, 1024, 0,
	  "downloads running at once" },
	{ "throttle", BL_CFG_INT, OFF(throttle), "0", 0, BIG, 0,
	  "bytes per second across all downloads; 0 means no limit" },
	{ "max_body", BL_CFG_INT, OFF(max_body), "16777216", 1024,
	  1073741824, 0, "largest request body in bytes (413 beyond)" },
	{ "max_tasks", BL_CFG_INT, OFF(max_tasks), "10000", 1, 1000000, 0,
	  "most tasks in one assignment (422 beyond)" },
	{ "max_connections", BL_CFG_INT, OFF(max_connections), "1024", 1,
	  65536, 0, "concurrent HTTP connections" },
	{ "connection_timeout", BL_CFG_INT, OFF(connection_timeout), "30", 1,
	  3600, 0, "seconds an idle or stalled HTTP connection is kept" },
	{ "assignment_ttl", BL_CFG_INT, OFF(assignment_ttl), "604800", 0, BIG,
	  0, "seconds a complete assignment is kept before collection" },
	{ "gc_interval", BL_CFG_INT, OFF(gc_interval), "60", 1, 86400, 0,
	  "seconds between collections of old assignments and forwards" },
	{ "forward_ttl", BL_CFG_INT, OFF(forward_ttl), "86400", 0, BIG, 0,
	  "seconds reads of a deleted object are redirected (307)" },
	{ "retries", BL_CFG_INT, OFF(retries), "3", 0, 100, 0,
	  "retries of a transient error before a task fails" },
	{ "retry_base_ms", BL_CFG_INT, OFF(retry_base_ms), "500", 1, 600000,
	  0, "first retry delay; doubles each time, at most 30 s" },
	{ "connect_timeout_ms", BL_CFG_INT, OFF(connect_timeout_ms), "5000",
	  1, 600000, 0, "connect timeout to a source" },
	{ "stall_timeout", BL_CFG_INT, OFF(stall_timeout), "30", 1, 3600, 0,
	  "seconds without a byte from a source before a timeout" },
	{ "shutdown_timeout", BL_CFG_INT, OFF(shutdown_timeout), "30", 0,
	  3600, 0, "seconds SIGTERM waits for transfers in flight" },
	{ "access_max_entries", BL_CFG_INT, OFF(access_max_entries), "50000",
	  1, 10000000, 0, "distinct objects counted between /v1/access calls" },
	{ "scan_interval", BL_CFG_INT, OFF(scan_interval), "300", 1, 86400, 0,
	  "seconds between recounts of the bytes and objects under root" },
	{ "auth_status", BL_CFG_BOOL, OFF(auth_status), "false", 0, 0, 0,
	  "require a signature on GET /v1/status" },
	{ "auth_metrics", BL_CFG_BOOL, OFF(auth_metrics), "false", 0, 0, 0,
	  "require a signature on GET /metrics" },
	{ "tls_cert_file", BL_CFG_STR, OFF(tls_cert_file), NULL, 1, 3000, 0,
	  "PEM certificate chain; with tls_key_file the API speaks https" },
	{ "tls_key_file", BL_CFG_STR, OFF(tls_key_file), NULL, 1, 3000, 0,
	  "PEM private key for tls_cert_file (keep it mode 0600)" },
	{ "tls_ca_file", BL_CFG_STR, OFF(tls_ca_file), NULL, 1, 3000, 0,
	  "PEM CAs that https sources must chain to (default: the system's)" },
};
const size_t agt_config_table_len =
    sizeof(agt_config_table) / sizeof(agt_config_table[0]);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: ballast-agent [--config FILE] [flags]\n"
	    "\n"
	    "  --config FILE             JSON config file (keys below)\n"
	    "  --listen HOST:PORT        default 0.0.0.0:8461\n"
	    "  --root DIR                objects live at DIR/<owner>/<id>\n"
	    "  --state FILE              the SQLite database\n"
	    "  --node-id ID\n"
	    "  --secret-file FILE        the cluster's shared secret\n"
	    "  --capacity-bytes N        quota; default the filesystem size\n"
	    "  --max-transfers N\n"
	    "  --throttle BYTES_PER_SEC  0: no limit\n"
	    "  --set KEY=VALUE           any config key\n"
	    "  --print-config            print the config in effect and exit\n"
	    "  --config-reference        print the keys as Markdown and exit\n"
	    "  --help\n"
	    "\n"
	    "Load order: defaults, file, environment (BALLAST_AGENT_<KEY>),\n"
	    "flags. Config keys:\n");
	bl_cfg_print_help(agt_config_table, agt_config_table_len, f);
}

static void
print_reference(FILE *f)
{
	fprintf(f,
	    "## ballast-agent\n\n"
	    "`ballast-agent [--config FILE] [--set KEY=VALUE]... [flags]`\n\n"
	    "A flat JSON file (`etc/ballast-agent.json` is an example). Load "
	    "order: these\ndefaults, the file, the environment "
	    "(`BALLAST_AGENT_<KEY>`, e.g.\n`BALLAST_AGENT_MAX_TRANSFERS=16`), "
	    "then flags (`--set KEY=VALUE` or the\nshort forms in `--help`). "
	    "Unknown keys and values out of range are refused.\n"
	    "`--print-config` shows each value and where it came from.\n\n");
	bl_cfg_print_reference(agt_config_table, agt_config_table_len, f);
	fprintf(f, "\n`throttle` also changes at run time with `PUT "
	    "/v1/config/throttle` (docs/agent.md).\n");
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt *g = (struct agt *)((char *)w - offsetof(struct agt,
	    deadline));

	log_warnx("shutdown: deadline passed, stopping transfers=%u",
	    g->inflight);
	agt_xfer_abort(g);
	ev_break(loop, EVBREAK_ONE);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agt *g = w->data;

	if (g->stopping)
		return;
	log_info("shutdown: signal=%d, waiting for transfers=%u", w->signum,
	    g->inflight);
	ev_timer_set(&g->deadline, (double)g->cfg.shutdown_timeout, 0.);
	ev_timer_start(loop, &g->deadline);
	agt_xfer_stop(g);
}

static void
on_gc(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt *g = (struct agt *)((char *)w - offsetof(struct agt, gc));
	struct bl_err err;
	double now = ev_now(loop);
	int n;

	n = agt_store_gc(g->store, now - (double)g->cfg.assignment_ttl, now,
	    &err);
	if (n == -1)
		log_warnx("gc: %s", err.msg);
	else if (n > 0)
		log_info("gc: collected assignments=%d", n);
}

static void
on_rescan(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agt *g = (struct agt *)((char *)w - offsetof(struct agt,
	    rescan));

	agt_scan_kick(g->scan);
}

static void
on_load(struct agt_assign *a, void *arg)
{
	struct agt *g = arg;

	log_info("assignment id=%s: resumed tasks=%d", a->id, a->ntasks);
	agt_xfer_add(g, a);
}

/* Secrets belong to the service user alone: say so when others can read
 * one. */
static void
warn_if_open(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		log_warnx("file=%s: readable by group or others (mode %03o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
}

struct flag {
	const char	*key;
	const char	*value;
};

/* The command line: config flags in order, and what to do. */
struct args {
	struct flag	*flags;		/* owns */
	int		 nflags;
	int		 print;
	const char	*config_file;	/* borrows argv */
};

/* Parses argv into a. Returns -1 to go on, or the exit status (--help,
 * --config-reference, a bad flag). */
static int
args_parse(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "root", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 's' },
		{ "node-id", required_argument, NULL, 'n' },
		{ "secret-file", required_argument, NULL, 'k' },
		{ "capacity-bytes", required_argument, NULL, 'C' },
		{ "max-transfers", required_argument, NULL, 'm' },
		{ "throttle", required_argument, NULL, 't' },
		{ "set", required_argument, NULL, 'S' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "config-reference", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(a, 0, sizeof(*a));
	if ((a->flags = calloc((size_t)argc + 1, sizeof(*a->flags))) == NULL)
		fatalx("out of memory");
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *key = NULL;
		char *eq;

		switch (ch) {
		case 'c': a->config_file = optarg; continue;
		case 'l': key = "listen"; break;
		case 'r': key = "root"; break;
		case 's': key = "state"; break;
		case 'n': key = "node_id"; break;
		case 'k': key = "secret_file"; break;
		case 'C': key = "capacity_bytes"; break;
		case 'm': key = "max_transfers"; break;
		case 't': key = "throttle"; break;
		case 'S':
			if ((eq = strchr(optarg, '=')) == NULL)
				fatalx("--set %s: want KEY=VALUE", optarg);
			*eq = '\0';
			a->flags[a->nflags].key = optarg;
			a->flags[a->nflags++].value = eq + 1;
			continue;
		case 'P': a->print = 1; continue;
		case 'R': print_reference(stdout); free(a->flags); return 0;
		case 'h': usage(stdout); free(a->flags); return 0;
		default: usage(stderr); free(a->flags); return 2;
		}
		a->flags[a->nflags].key = key;
		a->flags[a->nflags++].value = optarg;
	}
	if (optind != argc)
		fatalx("unexpected argument \"%s\"", argv[optind]);
	return -1;
}

/* The config in effect: the table, the file, the environment, the flags
 * (a->flags is freed), then the host name as the default node_id. */
static void
config_load(struct agt *g, struct args *a)
{
	struct bl_err err;
	char host[256];

	if (bl_cfg_init(&g->cfgt, agt_config_table, agt_config_table_len,
	    &g->cfg, &err) == -1)
		fatalx("%s", err.msg);
	if (a->config_file != NULL &&
	    bl_cfg_load_file(&g->cfgt, a->config_file, &err) == -1)
		fatalx("config: %s", err.msg);
	if (bl_cfg_load_env(&g->cfgt, "BALLAST_AGENT_", &err) == -1)
		fatalx("config: %s", err.msg);
	for (int i = 0; i < a->nflags; i++)
		if (bl_cfg_set(&g->cfgt, a->flags[i].key, a->flags[i].value,
		    BL_CFG_SRC_FLAG, &err) == -1)
			fatalx("config: flag: %s", err.msg);
	free(a->flags);
	a->flags = NULL;
	if (g->cfg.node_id == NULL && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		bl_cfg_set(&g->cfgt, "node_id", host, BL_CFG_SRC_DEFAULT, NULL);
	}
}

/* Checks the config, reads the secret and takes stock of the root. */
static void
agent_prepare(struct agt *g)
{
	struct bl_err err;
	struct statvfs vfs;
	long long tmp_removed, tmp_failed;

	if (bl_log_set_level(g->cfg.log_level) == -1)
		fatalx("config: log_level: \"%s\" is not debug, info, warn or "
		    "error", g->cfg.log_level);
	if (g->cfg.root == NULL || g->cfg.state == NULL ||
	    g->cfg.secret_file == NULL)
		fatalx("config: root, state and secret_file are required");
	if ((g->cfg.tls_cert_file == NULL) != (g->cfg.tls_key_file == NULL))
		fatalx("config: tls_cert_file and tls_key_file go together");
	signal(SIGPIPE, SIG_IGN);
	if ((g->secret = bl_sign_read_secret(g->cfg.secret_file,
	    &g->secret_len, &err)) == NULL)
		fatalx("%s", err.msg);
	warn_if_open(g->cfg.secret_file);
	if (g->cfg.tls_key_file != NULL)
		warn_if_open(g->cfg.tls_key_file);
	if (mkdir(g->cfg.root, 0755) == -1 && errno != EEXIST)
		fatal("root dir=%s: mkdir", g->cfg.root);
	if (statvfs(g->cfg.root, &vfs) == -1)
		fatal("root dir=%s: statvfs", g->cfg.root);
	g->capacity = g->cfg.capacity_bytes > 0 ? g->cfg.capacity_bytes :
	    (long long)vfs.f_blocks * (long long)vfs.f_frsize;
	if (agt_obj_scan(g->cfg.root, 1, &g->used_bytes, &g->objects,
	    &tmp_removed, &tmp_failed, &err) == -1)
		fatalx("%s", err.msg);
	g->m.cleanup_failures += (uint64_t)tmp_failed;
	log_info("root=%s objects=%lld used_bytes=%lld capacity_bytes=%lld "
	    "stale_tmp_removed=%lld", g->cfg.root, g->objects, g->used_bytes,
	    g->capacity, tmp_removed);
}

/* Opens the loop, the store, the transfers and the server, resumes the
 * active assignments and starts the timers and signal watchers. */
static void
agent_start(struct agt *g)
{
	struct bl_err err;
	struct bl_http_server_opts so;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	g->loop = ev_default_loop(EVFLAG_AUTO);
	g->started = ev_now(g->loop);
	if ((g->access = agt_access_new((size_t)g->cfg.access_max_entries,
	    ev_now(g->loop))) == NULL)
		fatalx("access counts: out of memory");
	if ((g->store = agt_store_open(g->cfg.state, &err)) == NULL)
		fatalx("%s", err.msg);
	if (agt_xfer_init(g, &err) == -1)
		fatalx("%s", err.msg);
	if ((g->dels = agt_dels_new(g)) == NULL)
		fatalx("deletes: out of memory");
	memset(&so, 0, sizeof(so));
	so.listen = g->cfg.listen;
	so.max_body = (size_t)g->cfg.max_body;
	so.conn_limit = (unsigned)g->cfg.max_connections;
	so.conn_timeout = (unsigned)g->cfg.connection_timeout;
	so.handler = agt_api_handle;
	so.arg = g;
	so.tls_cert_file = g->cfg.tls_cert_file;
	so.tls_key_file = g->cfg.tls_key_file;
	if ((g->srv = bl_http_server_new(g->loop, &so, &err)) == NULL)
		fatalx("%s", err.msg);
	log_info("listening listen=%s port=%d tls=%s node_id=%s version=%s",
	    g->cfg.listen, bl_http_server_port(g->srv),
	    bl_http_server_tls(g->srv) ? "on" : "off", g->cfg.node_id,
	    AGT_VERSION);
	if (agt_store_load_active(g->store, on_load, g, &err) == -1)
		fatalx("%s", err.msg);
	ev_timer_init(&g->gc, on_gc, 0., (double)g->cfg.gc_interval);
	ev_timer_start(g->loop, &g->gc);
	if ((g->scan = agt_scan_new(g)) == NULL)
		fatalx("scan: out of memory");
	ev_timer_init(&g->rescan, on_rescan, (double)g->cfg.scan_interval,
	    (double)g->cfg.scan_interval);
	ev_timer_start(g->loop, &g->rescan);
	ev_init(&g->deadline, on_deadline);
	ev_signal_init(&g->sigterm, on_signal, SIGTERM);
	ev_signal_init(&g->sigint, on_signal, SIGINT);
	g->sigterm.data = g->sigint.data = g;
	ev_signal_start(g->loop, &g->sigterm);
	ev_signal_start(g->loop, &g->sigint);
}

/* Stops what agent_start() started, the server first, and frees it. */
static void
agent_stop(struct agt *g)
{
	struct bl_err err;

	ev_timer_stop(g->loop, &g->gc);
	ev_timer_stop(g->loop, &g->rescan);
	agt_scan_free(g->scan);
	ev_timer_stop(g->loop, &g->deadline);
	ev_signal_stop(g->loop, &g->sigterm);
	ev_signal_stop(g->loop, &g->sigint);
	agt_dels_stop(g->dels);
	/* The server first: no handler may run once the executor is gone. */
	bl_http_server_free(g->srv);
	g->srv = NULL;
	agt_xfer_release(g);
	agt_dels_free(g->dels);
	g->dels = NULL;
	if (agt_store_flush(g->store, &err) == -1)
		log_warnx("%s", err.msg);
	agt_store_close(g->store);
	agt_access_free(g->access);
	OPENSSL_cleanse(g->secret, g->secret_len);
	free(g->secret);
	bl_cfg_release(&g->cfgt);
	curl_global_cleanup();
	ev_loop_destroy(g->loop);
}

int
main(int argc, char **argv)
{
	struct args a;
	struct agt g;
	int rc;

	bl_log_set_ident("ballast-agent");
	memset(&g, 0, sizeof(g));
	if ((rc = args_parse(argc, argv, &a)) >= 0)
		return rc;
	config_load(&g, &a);
	if (a.print) {
		if (a.config_file != NULL)
			printf("# config file: %s\n", a.config_file);
		bl_cfg_print(&g.cfgt, stdout);
		bl_cfg_release(&g.cfgt);
		return 0;
	}
	agent_prepare(&g);
	agent_start(&g);
	ev_run(g.loop, 0);
	agent_stop(&g);
	log_info("shutdown: done");
	return 0;
}
