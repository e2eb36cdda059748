/* controller/main.c - ballastd: the HTTP API and the job engine.
 *
 *   ballastd --config FILE [--check-config] [--print-config]
 *   ballastd --config-reference	(Markdown for docs/config.md)
 *
 * Start-up: load the config, read the cluster secret, apply the schema
 * migrations (under an advisory lock), start the engine thread and the
 * API. SIGTERM/SIGINT stop it; SIGHUP/SIGUSR1 reload the file. Leader election (several ballastd on one
 * database) is not here yet: run one ballastd per database.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "controller/ctl.h"
#include "controller/metrics.h"
#include "lib/log.h"
#include "lib/pg.h"
#include "lib/sign.h"
#include "migrate/schema.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: ballastd --config FILE [--check-config] "
	    "[--print-config]\n       ballastd --config-reference\n\n"
	    "config keys:\n");
	bl_cfg_print_help(ctl_config_table, ctl_config_table_len, f);
	fprintf(f, "  tokens                   [{name, token_file, role: "
	    "viewer|operator}]\n  policy                   the planner's "
	    "policy keys (docs/planner.md)\n");
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

static void
engine_opts(const struct ctl_config *cfg, struct mig_engine_opts *eo)
{
	memset(eo, 0, sizeof(*eo));
	eo->conninfo = cfg->database;
	eo->max_tasks_per_assignment = (long)cfg->max_tasks_per_assignment;
	eo->max_assignment_age_s = (long)cfg->max_assignment_age_s;
	eo->metadata_threads = (long)cfg->metadata_threads;
	eo->max_inflight_per_node = (long)cfg->max_inflight_per_node;
	eo->agent_timeout_s = (long)cfg->agent_timeout_s;
	eo->poll_interval_ms = (long)cfg->poll_interval_ms;
	eo->source_delete_grace_s = (long)cfg->source_delete_grace_s;
	eo->evacuate_deletes_source = cfg->evacuate_deletes_source;
	eo->max_fill = cfg->policy.max_fill;
	eo->failure_domain = cfg->policy.failure_domain;
}

/* SIGHUP (and SIGUSR1, as Manta used): reloads the file. A bad file
 * leaves the running config in force and says why. Tokens, the log level,
 * the policy and the engine's keys change in place; listen, database,
 * secret_file and api_workers need a restart. */
static void
on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct ctl *c = w->data;
	struct ctl_config n, *cur = c->cfg;
	struct bl_cfg nt;
	struct bl_err err;
	struct mig_engine_opts eo;
	struct ctl_token *old;
	size_t nold;

	memset(&n, 0, sizeof(n));
	bl_err_clear(&err);
	if (bl_cfg_init(&nt, ctl_config_table, ctl_config_table_len, &n,
	    &err) == -1)
		return;
	if (ctl_config_load(&nt, &n, c->file, &err) == -1 ||
	    bl_log_set_level(n.log_level) == -1) {
		log_warnx("reload: %s; the running config stays",
		    err.code ? err.msg : "log_level: unknown");
		ctl_config_release(&nt, &n);
		return;
	}
	if (strcmp(n.listen, cur->listen) != 0 ||
	    strcmp(n.database, cur->database) != 0 ||
	    strcmp(n.secret_file, cur->secret_file) != 0 ||
	    n.api_workers != cur->api_workers || n.max_body != cur->max_body)
		log_warnx("reload: listen, database, secret_file, api_workers "
		    "and max_body_bytes change only with a restart");
	old = cur->tokens;
	nold = cur->ntokens;
	cur->tokens = n.tokens;
	cur->ntokens = n.ntokens;
	n.tokens = old;
	n.ntokens = nold;
	cur->policy = n.policy;
	cur->max_tasks_per_assignment = n.max_tasks_per_assignment;
	cur->max_assignment_age_s = n.max_assignment_age_s;
	cur->metadata_threads = n.metadata_threads;
	cur->max_inflight_per_node = n.max_inflight_per_node;
	cur->agent_timeout_s = n.agent_timeout_s;
	cur->poll_interval_ms = n.poll_interval_ms;
	cur->source_delete_grace_s = n.source_delete_grace_s;
	cur->evacuate_deletes_source = n.evacuate_deletes_source;
	engine_opts(cur, &eo);
	mig_engine_set_opts(c->engine, &eo);
	ctl_config_release(&nt, &n);
	log_info("reload: %s: in force (%zu tokens)", c->file, cur->ntokens);
}

/* Applies the migrations, waiting for the database for up to 60 s. */
static int
migrate_db(const char *conninfo, struct bl_err *err)
{
	for (int i = 0; i < 60; i++) {
		PGconn *c = bl_pg_connect(conninfo, 2, err);
		int rc;

		if (c == NULL) {
			if (i == 0)
				log_warnx("database: %s; waiting", err->msg);
			sleep(1);
			continue;
		}
		rc = mig_schema_apply(c, err);
		PQfinish(c);
		return rc;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "config-reference", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_config cfg;
	struct bl_cfg cfgt;
	struct bl_err err;
	struct ctl ctl;
	struct mig_engine_opts eo;
	struct bl_http_server_opts ho;
	struct ev_loop *loop;
	ev_signal sigterm, sigint, sighup, sigusr1;
	const char *file = NULL;
	int check = 0, print = 0, ch;
	char *secret;
	size_t secret_len;

	bl_log_set_ident("ballastd");
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'C': check = 1; break;
		case 'P': print = 1; break;
		case 'R': ctl_config_print_reference(stdout); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (file == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (bl_cfg_init(&cfgt, ctl_config_table, ctl_config_table_len, &cfg,
	    &err) == -1)
		fatalx("config: %s", err.msg);
	if (ctl_config_load(&cfgt, &cfg, file, &err) == -1) {
		fprintf(stderr, "ballastd: %s\n", err.msg);
		ctl_config_release(&cfgt, &cfg);
		return 2;
	}
	if (bl_log_set_level(cfg.log_level) == -1) {
		fprintf(stderr, "ballastd: %s: log_level: unknown \"%s\"\n",
		    file, cfg.log_level);
		ctl_config_release(&cfgt, &cfg);
		return 2;
	}
	if ((secret = bl_sign_read_secret(cfg.secret_file, &secret_len,
	    &err)) == NULL) {
		fprintf(stderr, "ballastd: %s: secret_file: %s\n", file,
		    err.msg);
		ctl_config_release(&cfgt, &cfg);
		return 2;
	}
	if (print)
		ctl_config_print(&cfgt, &cfg, stdout);
	if (check || print) {
		if (check)
			printf("%s: ok\n", file);
		free(secret);
		ctl_config_release(&cfgt, &cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (migrate_db(cfg.database, &err) == -1)
		fatalx("database: migrate: %s", err.msg);

	engine_opts(&cfg, &eo);
	eo.secret = secret;
	eo.secret_len = secret_len;

	loop = EV_DEFAULT;
	memset(&ctl, 0, sizeof(ctl));
	ctl.loop = loop;
	ctl.cfg = &cfg;
	if ((ctl.metrics = ctl_metrics_new()) == NULL)
		fatalx("metrics: out of memory");
	eo.metrics = ctl_metrics_registry(ctl.metrics);
	ctl.file = file;
	if ((ctl.engine = mig_engine_new(&eo, &err)) == NULL)
		fatalx("engine: %s", err.msg);
	memset(secret, 0, secret_len);
	free(secret);
	if (ctl_api_start(&ctl, &err) == -1)
		fatalx("api: %s", err.msg);
	memset(&ho, 0, sizeof(ho));
	ho.listen = cfg.listen;
	ho.max_body = (size_t)cfg.max_body;
	ho.conn_limit = 1024;
	ho.conn_timeout = 60;
	ho.handler = ctl_api_handle;
	ho.arg = &ctl;
	ho.observe = ctl_metrics_http_observe;
	ho.observe_arg = ctl.metrics;
	if ((ctl.http = bl_http_server_new(loop, &ho, &err)) == NULL)
		fatalx("http: %s", err.msg);
	if (mig_engine_start(ctl.engine, &err) == -1)
		fatalx("engine: %s", err.msg);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	ev_signal_init(&sighup, on_reload, SIGHUP);
	ev_signal_init(&sigusr1, on_reload, SIGUSR1);
	sighup.data = &ctl;
	sigusr1.data = &ctl;
	ev_signal_start(loop, &sighup);
	ev_signal_start(loop, &sigusr1);
	log_info("listening on %s port=%d", cfg.listen,
	    bl_http_server_port(ctl.http));
	ev_run(loop, 0);

	bl_http_server_quiesce(ctl.http);
	ctl_api_stop(&ctl);
	mig_engine_free(ctl.engine);
	bl_http_server_free(ctl.http);
	ctl_metrics_free(ctl.metrics);
	ctl_config_release(&cfgt, &cfg);
	log_info("stopped");
	return 0;
}
