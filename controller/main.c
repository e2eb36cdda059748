/* controller/main.c - ballastd: the HTTP API and the job engine.
 *
 *   ballastd --config FILE [--check-config] [--print-config]
 *   ballastd --config-reference	(Markdown for docs/config.md)
 *
 * Start-up: load the config, read the cluster secret, apply the schema
 * migrations (under an advisory lock), start the control loop (which
 * takes the leader lock and, leading, runs the job engine) and the API.
 * SIGTERM/SIGINT stop it; SIGHUP and SIGUSR1 reload the file: the policy
 * and the tokens apply at once, other keys need a restart and are logged
 * when they differ. Several ballastd may share one database; one leads
 * (docs/controller.md).
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

struct reload {
	ev_signal	 hup;		/* data: this struct */
	ev_signal	 usr1;		/* data: this struct */
	struct ctl	*ctl;		/* borrows */
	struct bl_cfg	*cfgt;		/* borrows */
	const char	*file;		/* borrows */
};

static void
restart_key(const char *key, const char *old, const char *neu)
{
	if ((old == NULL) != (neu == NULL) || (old != NULL &&
	    strcmp(old, neu) != 0))
		log_warnx("reload: %s changed; it takes effect at the next "
		    "restart", key);
}

/* Reloads the file on the loop (reading one small file). A bad file
 * keeps everything in force. */
static void
on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct reload *r = w->data;
	struct ctl *c = r->ctl;
	struct ctl_config neu, *old = c->cfg;
	struct bl_cfg t;
	struct bl_err err;
	struct ctl_token *tk;
	size_t nt;
	char *pt;

	memset(&neu, 0, sizeof(neu));
	if (bl_cfg_init(&t, ctl_config_table, ctl_config_table_len, &neu,
	    &err) == -1 || ctl_config_load(&t, &neu, r->file, &err) == -1) {
		c->reloads_failed++;
		ctl_api_status_forget(c);
		ctl_metrics_config_reload(c->metrics, 0);
		log_warnx("reload: %s; keeping the running config (failed "
		    "reloads: %lu)", err.msg, (unsigned long)c->reloads_failed);
		ctl_config_release(&t, &neu);
		return;
	}
	restart_key("listen", old->listen, neu.listen);
	restart_key("database", old->database, neu.database);
	restart_key("secret_file", old->secret_file, neu.secret_file);
	restart_key("tls_cert_file", old->tls_cert_file, neu.tls_cert_file);
	restart_key("tls_key_file", old->tls_key_file, neu.tls_key_file);
	restart_key("agent_tls_ca_file", old->agent_tls_ca_file,
	    neu.agent_tls_ca_file);
	if (neu.api_workers != old->api_workers ||
	    neu.http_threads != old->http_threads ||
	    neu.max_tasks_per_assignment != old->max_tasks_per_assignment ||
	    neu.metadata_threads != old->metadata_threads ||
	    neu.poll_interval_ms != old->poll_interval_ms ||
	    neu.source_delete_grace_s != old->source_delete_grace_s)
		log_warnx("reload: engine, api_workers or http_threads keys "
		    "changed; they take effect at the next restart");
	if (strcmp(neu.log_level, old->log_level) != 0 &&
	    bl_log_set_level(neu.log_level) == 0) {
		free(old->log_level);
		old->log_level = neu.log_level;
		neu.log_level = NULL;
	}
	/* Swap the tokens (every front reads them) and the policy. */
	pthread_rwlock_wrlock(&c->tokens_lock);
	tk = old->tokens, nt = old->ntokens;
	old->tokens = neu.tokens, old->ntokens = neu.ntokens;
	neu.tokens = tk, neu.ntokens = nt;
	pthread_rwlock_unlock(&c->tokens_lock);
	pt = old->policy_text;
	old->policy_text = neu.policy_text;
	neu.policy_text = pt;
	old->policy = neu.policy;
	ctl_policy_file_set(c, &old->policy, old->policy_text);
	ctl_loop_interval(c, old->policy.check_interval_s);
	ctl_config_release(&t, &neu);
	c->reloads_ok++;
	ctl_api_status_forget(c);
	ctl_metrics_config_reload(c->metrics, 1);
	log_info("reload: %s: policy preset=%s and %zu tokens in force",
	    r->file, pol_preset_name(old->policy.preset), old->ntokens);
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

/* Loads file into cfg and reads the secret. 0, or the exit status (the
 * error printed, cfg released). */
static int
config_read(const char *file, struct bl_cfg *cfgt, struct ctl_config *cfg,
    char **secret, size_t *secret_len)
{
	struct bl_err err;

	memset(cfg, 0, sizeof(*cfg));
	if (bl_cfg_init(cfgt, ctl_config_table, ctl_config_table_len, cfg,
	    &err) == -1)
		fatalx("config: %s", err.msg);
	if (ctl_config_load(cfgt, cfg, file, &err) == -1) {
		fprintf(stderr, "ballastd: %s\n", err.msg);
		ctl_config_release(cfgt, cfg);
		return 2;
	}
	if (bl_log_set_level(cfg->log_level) == -1) {
		fprintf(stderr, "ballastd: %s: log_level: unknown \"%s\"\n",
		    file, cfg->log_level);
		ctl_config_release(cfgt, cfg);
		return 2;
	}
	if ((*secret = bl_sign_read_secret(cfg->secret_file, secret_len,
	    &err)) == NULL) {
		fprintf(stderr, "ballastd: %s: secret_file: %s\n", file,
		    err.msg);
		ctl_config_release(cfgt, cfg);
		return 2;
	}
	return 0;
}

/* instance defaults to host:pid, advertise_url to the listen address. */
static void
config_defaults(struct ctl_config *cfg)
{
	char host[128], inst[300];

	if (cfg->instance == NULL || cfg->instance[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(inst, sizeof(inst), "%s:%ld", host, (long)getpid());
		free(cfg->instance);
		cfg->instance = strdup(inst);
	}
	if (cfg->advertise_url == NULL || cfg->advertise_url[0] == '\0') {
		snprintf(inst, sizeof(inst), "%s://%s",
		    cfg->tls_cert_file != NULL ? "https" : "http", cfg->listen);
		free(cfg->advertise_url);
		cfg->advertise_url = strdup(inst);
	}
}

/* The job engine's options from the config. */
static void
engine_opts(struct mig_engine_opts *eo, const struct ctl_config *cfg,
    const char *secret, size_t secret_len)
{
	memset(eo, 0, sizeof(*eo));
	eo->conninfo = cfg->database;
	eo->secret = secret;
	eo->secret_len = secret_len;
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
	eo->agent_tls_ca_file = cfg->agent_tls_ca_file;
}

/* Sets up ctl on loop and starts the API, then the control loop, then
 * serves. */
static void
start_services(struct ctl *ctl, struct ev_loop *loop, struct ctl_config *cfg,
    char *secret, size_t secret_len)
{
	struct bl_err err;
	struct mig_engine_opts eo;
	struct bl_http_server_opts ho;

	engine_opts(&eo, cfg, secret, secret_len);
	memset(ctl, 0, sizeof(*ctl));
	ctl->loop = loop;
	ctl->cfg = cfg;
	if ((ctl->metrics = ctl_metrics_new()) == NULL)
		fatalx("metrics: out of memory");
	eo.metrics = ctl_metrics_registry(ctl->metrics);
	/* Not the leader until the loop takes the lock. */
	ctl_metrics_set_leader(ctl->metrics, 0);
	ctl->instance = cfg->instance;
	ctl->max_candidates = cfg->max_candidates;
	ctl->eo = eo;
	ctl->secret = secret;
	ctl->secret_len = secret_len;
	memset(&ho, 0, sizeof(ho));
	ho.listen = cfg->listen;
	ho.max_body = (size_t)cfg->max_body;
	ho.conn_limit = 1024;
	ho.conn_timeout = 60;
	ho.tls_cert_file = cfg->tls_cert_file;
	ho.tls_key_file = cfg->tls_key_file;
	ho.observe = ctl_metrics_http_observe;
	ho.observe_arg = ctl->metrics;
	if (ctl_api_start(ctl, &ho, &err) == -1)
		fatalx("api: %s", err.msg);
	if (ctl_loop_start(ctl, &err) == -1)
		fatalx("loop: %s", err.msg);
	if (ctl_api_serve(ctl, &err) == -1)
		fatalx("api: %s", err.msg);
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
	struct ev_loop *loop;
	ev_signal sigterm, sigint;
	struct reload rl;
	const char *file = NULL;
	int check = 0, print = 0, ch, rc;
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
	if ((rc = config_read(file, &cfgt, &cfg, &secret, &secret_len)) != 0)
		return rc;
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
	config_defaults(&cfg);
	loop = EV_DEFAULT;
	start_services(&ctl, loop, &cfg, secret, secret_len);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sigint);
	memset(&rl, 0, sizeof(rl));
	rl.ctl = &ctl;
	rl.cfgt = &cfgt;
	rl.file = file;
	ev_signal_init(&rl.hup, on_reload, SIGHUP);
	ev_signal_init(&rl.usr1, on_reload, SIGUSR1);
	rl.hup.data = &rl;
	rl.usr1.data = &rl;
	ev_signal_start(loop, &rl.hup);
	ev_signal_start(loop, &rl.usr1);
	log_info("listening on %s port=%d tls=%s http_threads=%d", cfg.listen,
	    ctl_api_port(&ctl), ctl_api_tls(&ctl) ? "on" : "off",
	    ctl.nfronts);
	ev_run(loop, 0);

	ctl_api_stop(&ctl);
	ctl_loop_stop(&ctl);
	ctl_metrics_free(ctl.metrics);
	memset(secret, 0, secret_len);
	free(secret);
	ctl_config_release(&cfgt, &cfg);
	log_info("stopped");
	return 0;
}
