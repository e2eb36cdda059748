/* tests/integration/test_ops_files.c - what operators install next to the
 * daemons: the Prometheus rules (promtool check and unit tests), the
 * Grafana dashboards (valid PromQL over metrics that exist), the generated
 * docs/config.md, `make install`, the systemd units and the bash
 * completion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/helpers/agent_harness.h"
#include "tests/helpers/th_pg.h"

static char root[1024];		/* the repository */
static char bindir[1024];	/* the binaries under test */

static int
setup(void **state)
{
	char buf[1024];
	const char *b = getenv("BALLAST_BIN");

	(void)state;
	snprintf(buf, sizeof(buf), "%s", th_scripts_dir());
	if (realpath(dirname(buf), root) == NULL)
		return -1;
	if (b != NULL)
		snprintf(bindir, sizeof(bindir), "%s", b);
	else
		snprintf(bindir, sizeof(bindir), "%s/bin", root);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tha_cleanup();
	return 0;
}

/* Runs cmd in the repository through sh; returns its exit status and its
 * output (stdout and stderr) in out (caller frees; may be NULL). */
static int run(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
run(char **out, const char *fmt, ...)
{
	char cmd[4096], buf[4096];
	va_list ap;
	FILE *p;
	size_t n, len = 0;
	char *s = NULL;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(buf, sizeof(buf), "cd '%s' && ( %s ) 2>&1", root, cmd);
	assert_non_null(p = popen(buf, "r"));
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		assert_non_null(s = realloc(s, len + n + 1));
		memcpy(s + len, buf, n);
		len += n;
	}
	if (s == NULL)
		assert_non_null(s = calloc(1, 1));
	s[len] = '\0';
	rc = pclose(p);
	rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
	if (out != NULL)
		*out = s;
	else
		free(s);
	return rc;
}

static void
must_run(const char *what, const char *cmd)
{
	char *out;

	if (run(&out, "%s", cmd) != 0)
		fail_msg("%s failed:\n%s", what, out);
	free(out);
}

/* The file as a string. */
static char *
read_text(const char *path)
{
	char *s = tha_read_text(NULL, path);

	if (s == NULL)
		fail_msg("%s: cannot read", path);
	return s;
}

static char *
slurp(const char *path)
{
	char full[2048];

	snprintf(full, sizeof(full), "%s/%s", root, path);
	return read_text(full);
}

/* --- Prometheus ----------------------------------------------------------- */

static void
test_ops__alert_rules_pass_promtool_check_and_their_unit_tests(
    void **state)
{
	(void)state;
	must_run("promtool check rules",
	    "promtool check rules etc/prometheus/ballast.rules.yml");
	must_run("promtool test rules", "cd etc/prometheus && "
	    "promtool test rules ballast.rules.test.yml");
	must_run("promtool check config",
	    "promtool check config etc/prometheus/prometheus.yml");
}

/* Every alert names a runbook section that exists. */
static void
test_ops__every_alert_has_a_runbook_section(void **state)
{
	char *rules = slurp("etc/prometheus/ballast.rules.yml");
	char *runbook = slurp("docs/runbook.md");
	const char *p = rules;
	int n = 0;

	(void)state;
	while ((p = strstr(p, "runbook: docs/runbook.md#")) != NULL) {
		char anchor[128], heading[160];
		size_t l;

		p += strlen("runbook: docs/runbook.md#");
		l = strcspn(p, "\n ");
		snprintf(anchor, sizeof(anchor), "%.*s", (int)l, p);
		/* GitHub's anchor of "### BallastJobFailed" is its lower case */
		for (char *a = anchor; *a; a++)
			*a = (char)tolower((unsigned char)*a);
		snprintf(heading, sizeof(heading), "\n### ");
		{
			const char *h = runbook;
			int found = 0;

			while ((h = strstr(h, heading)) != NULL) {
				char t[128];
				size_t tl;

				h += strlen(heading);
				tl = strcspn(h, "\n");
				snprintf(t, sizeof(t), "%.*s", (int)tl, h);
				for (char *a = t; *a; a++)
					*a = (char)tolower((unsigned char)*a);
				if (strcmp(t, anchor) == 0)
					found = 1;
			}
			if (!found)
				fail_msg("docs/runbook.md: no \"### \" heading "
				    "for #%s", anchor);
		}
		n++;
	}
	assert_true(n >= 5);
	free(rules);
	free(runbook);
}

/* --- Grafana -------------------------------------------------------------- */

/* Whether name appears in s as a whole identifier. */
static int
has_ident(const char *s, const char *name)
{
	size_t l = strlen(name);

	for (const char *p = s; (p = strstr(p, name)) != NULL; p += l)
		if ((p == s || !(isalnum((unsigned char)p[-1]) || p[-1] ==
		    '_')) && !(isalnum((unsigned char)p[l]) || p[l] == '_'))
			return 1;
	return 0;
}

/* Whether the daemons' sources name the metric family (a histogram's
 * _bucket, _sum and _count are its family's). */
static int
metric_known(const char *sources, const char *name)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count",
	    NULL };
	char base[160];
	size_t l = strlen(name);

	if (has_ident(sources, name))
		return 1;
	for (size_t i = 0; suffixes[i] != NULL; i++) {
		size_t sl = strlen(suffixes[i]);

		if (l > sl && strcmp(name + l - sl, suffixes[i]) == 0) {
			snprintf(base, sizeof(base), "%.*s", (int)(l - sl),
			    name);
			if (has_ident(sources, base))
				return 1;
		}
	}
	return 0;
}

/* Grafana's variables become what Prometheus can parse. */
static void
expand_vars(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in && o + 8 < len) {
		if (strncmp(in, "$__rate_interval", 16) == 0) {
			memcpy(out + o, "5m", 2);
			o += 2;
			in += 16;
		} else if (*in == '$') {
			in++;
			while (isalnum((unsigned char)*in) || *in == '_')
				in++;
			memcpy(out + o, ".*", 2);
			o += 2;
		} else {
			out[o++] = *in++;
		}
	}
	out[o] = '\0';
}

static void
test_ops__dashboards_are_importable_with_a_datasource_variable_and_valid_promql(
    void **state)
{
	static const char *const boards[] = { "overview", "jobs", "agents",
	    NULL };
	char *sources, *a, *b, *c;
	char rules[1024];
	FILE *rf;
	int nexpr = 0;

	(void)state;
	a = slurp("controller/metrics.c");
	b = slurp("migrate/commit.c");
	c = slurp("agent/metrics.c");
	assert_non_null(sources = malloc(strlen(a) + strlen(b) + strlen(c) +
	    1));
	strcpy(sources, a);
	strcat(sources, b);
	strcat(sources, c);
	free(a);
	free(b);
	free(c);
	/* Every expression goes through promtool as a recording rule. */
	snprintf(rules, sizeof(rules), "%s/panels.rules.yml", tha_tmpdir());
	assert_non_null(rf = fopen(rules, "w"));
	fprintf(rf, "groups:\n");
	for (size_t i = 0; boards[i] != NULL; i++) {
		char path[256];
		json_error_t je;
		json_t *d, *p, *v, *t;
		size_t k, m;
		int has_ds = 0, npanels = 0;

		snprintf(path, sizeof(path), "%s/etc/grafana/%s.json", root,
		    boards[i]);
		if ((d = json_load_file(path, 0, &je)) == NULL)
			fail_msg("%s:%d: %s", path, je.line, je.text);
		assert_non_null(json_string_value(json_object_get(d, "uid")));
		assert_non_null(json_string_value(json_object_get(d, "title")));
		json_array_foreach(json_object_get(json_object_get(d,
		    "templating"), "list"), k, v)
			if (strcmp(json_string_value(json_object_get(v, "type")),
			    "datasource") == 0 && strcmp(json_string_value(
			    json_object_get(v, "query")), "prometheus") == 0 &&
			    strcmp(json_string_value(json_object_get(v, "name")),
			    "datasource") == 0)
				has_ds = 1;
		if (!has_ds)
			fail_msg("%s: no Prometheus datasource variable", path);
		fprintf(rf, "  - name: %s\n    rules:\n", boards[i]);
		json_array_foreach(json_object_get(d, "panels"), k, p) {
			const char *type = json_string_value(json_object_get(p,
			    "type"));
			const char *title = json_string_value(json_object_get(p,
			    "title"));

			if (strcmp(type, "row") == 0)
				continue;
			npanels++;
			if (json_array_size(json_object_get(p, "targets")) == 0)
				fail_msg("%s: panel \"%s\" has no query", path,
				    title);
			json_array_foreach(json_object_get(p, "targets"), m,
			    t) {
				const char *expr = json_string_value(
				    json_object_get(t, "expr"));
				const char *uid = json_string_value(
				    json_object_get(json_object_get(t,
				    "datasource"), "uid"));
				char ex[2048];

				if (uid == NULL || strcmp(uid, "${datasource}")
				    != 0)
					fail_msg("%s: panel \"%s\": datasource "
					    "is not ${datasource}", path, title);
				assert_non_null(expr);
				for (const char *s = expr; (s = strstr(s,
				    "ballast_")) != NULL; ) {
					char name[128];
					size_t l = 0;

					while ((isalnum((unsigned char)s[l]) ||
					    s[l] == '_') && l < sizeof(name) - 1)
						l++;
					snprintf(name, sizeof(name), "%.*s",
					    (int)l, s);
					if (!metric_known(sources, name))
						fail_msg("%s: panel \"%s\": no "
						    "daemon exposes %s", path,
						    title, name);
					s += l;
				}
				expand_vars(expr, ex, sizeof(ex));
				fprintf(rf, "      - record: panel:%s:%zu_%zu\n"
				    "        expr: '%s'\n", boards[i], k, m, ex);
				nexpr++;
			}
		}
		assert_true(npanels >= 8);
		json_decref(d);
	}
	assert_int_equal(fclose(rf), 0);
	assert_true(nexpr > 30);
	{
		char cmd[1200];

		snprintf(cmd, sizeof(cmd), "promtool check rules '%s'", rules);
		must_run("the panels' PromQL", cmd);
	}
	free(sources);
}

/* --- docs/config.md --------------------------------------------------------- */

static void
test_ops__config_reference_matches_the_config_tables(void **state)
{
	char *out;

	(void)state;
	if (run(&out, "scripts/gen-config-doc.sh '%s' | diff -u docs/config.md "
	    "-", bindir) != 0)
		fail_msg("docs/config.md is stale; run make docs:\n%s", out);
	free(out);
	/* Every key of both tables is there. */
	out = slurp("docs/config.md");
	assert_non_null(strstr(out, "| `engine.metadata_threads` | integer | "
	    "`10` | 1 to 250 |"));
	assert_non_null(strstr(out, "| `metrics_auth` | boolean | `false` |"));
	assert_non_null(strstr(out, "| `auth_metrics` | boolean | `false` |"));
	assert_non_null(strstr(out, "## ballast-agent"));
	free(out);
}

/* --- CRUSH golden vectors ---------------------------------------------------- */

/* The vectors live in the repository and Ceph's own mapper reproduces every
 * one of them from the map sources, so they can be regenerated and extended
 * (scripts/golden-crush.sh) without anything outside the clone. */
static void
test_ops__golden_crush_vectors_are_reproduced_by_crushtool(void **state)
{
	char *out;
	int cases = 0;

	(void)state;
	if (run(&out, "scripts/golden-crush.sh --check tests/golden/crush") != 0)
		fail_msg("golden vectors differ from crushtool:\n%s", out);
	assert_int_equal(sscanf(out, "golden-crush: %d cases match", &cases), 1);
	assert_true(cases >= 9);
	free(out);
	/* A hole is written "none", as the loaders of the vectors expect. */
	out = slurp("tests/golden/crush/mixed.ec_host.r8.expect");
	assert_non_null(strstr(out, " none"));
	free(out);
}

/* --- make install ----------------------------------------------------------- */

static int
file_mode(const char *dir, const char *rel)
{
	char path[2048];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	if (stat(path, &st) != 0)
		fail_msg("make install: %s is missing", rel);
	return (int)(st.st_mode & 07777);
}

static void
test_ops__make_install_puts_everything_under_destdir_and_prefix(
    void **state)
{
	static const char *const files[] = {
		"/usr/share/ballast/examples/ballast.json",
		"/usr/share/ballast/examples/ballast-agent.json",
		"/usr/share/ballast/grafana/overview.json",
		"/usr/share/ballast/grafana/jobs.json",
		"/usr/share/ballast/grafana/agents.json",
		"/usr/share/ballast/prometheus/prometheus.yml",
		"/usr/share/ballast/prometheus/ballast.rules.yml",
		"/usr/share/bash-completion/completions/ballastctl",
		"/usr/share/doc/ballast/runbook.md",
		"/usr/share/doc/ballast/config.md",
		"/usr/share/doc/ballast/architecture.md",
		NULL
	};
	static const char *const bins[] = { "ballastd", "ballast-agent",
	    "ballastctl", NULL };
	char dest[1024], path[2048], *out, *unit;

	(void)state;
	snprintf(dest, sizeof(dest), "%s/destdir", tha_tmpdir());
	/* -o all: install what is built; do not build again. */
	if (run(&out, "make --no-print-directory -o all install "
	    "DESTDIR='%s' PREFIX=/usr BINDIR='%s'", dest, bindir) != 0)
		fail_msg("make install:\n%s", out);
	free(out);
	for (size_t i = 0; bins[i] != NULL; i++) {
		snprintf(path, sizeof(path), "/usr/bin/%s", bins[i]);
		assert_int_equal(file_mode(dest, path), 0755);
	}
	for (size_t i = 0; files[i] != NULL; i++)
		assert_int_equal(file_mode(dest, files[i]), 0644);
	/* The units run the installed binaries, sandboxed. */
	for (int u = 0; u < 2; u++) {
		static const char *const sandbox[] = { "User=ballast",
		    "NoNewPrivileges=yes", "ProtectSystem=strict",
		    "PrivateTmp=yes", "ProtectHome=yes",
		    "CapabilityBoundingSet=\n", NULL };

		snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/%s",
		    dest, u == 0 ? "ballastd.service" :
		    "ballast-agent.service");
		unit = read_text(path);
		assert_non_null(strstr(unit, u == 0 ?
		    "ExecStart=/usr/bin/ballastd --config" :
		    "ExecStart=/usr/bin/ballast-agent --config"));
		assert_null(strstr(unit, "/usr/local/"));
		for (size_t i = 0; sandbox[i] != NULL; i++)
			if (strstr(unit, sandbox[i]) == NULL)
				fail_msg("%s: no %s", path, sandbox[i]);
		if (u == 1)
			assert_non_null(strstr(unit,
			    "ReadWritePaths=/var/lib/ballast-agent"));
		free(unit);
	}
	/* systemd itself accepts the units: installed under a prefix where
	 * ExecStart exists, every directive must be known. */
	if (run(&out, "make --no-print-directory -o all install "
	    "PREFIX='%s/prefix' BINDIR='%s' >/dev/null && "
	    "systemd-analyze verify --man=no "
	    "'%s/prefix/lib/systemd/system/ballastd.service' "
	    "'%s/prefix/lib/systemd/system/ballast-agent.service'",
	    tha_tmpdir(), bindir, tha_tmpdir(), tha_tmpdir()) != 0 ||
	    out[0] != '\0')
		fail_msg("systemd-analyze verify:\n%s", out);
	free(out);
	/* The installed example configs are accepted by the binaries. */
	if (run(&out, "'%s/usr/bin/ballast-agent' --config "
	    "'%s/usr/share/ballast/examples/ballast-agent.json' "
	    "--print-config", dest, dest) != 0)
		fail_msg("ballast-agent rejects its example config:\n%s", out);
	free(out);
}

/* --- bash completion ---------------------------------------------------------- */

/* Completes the words of line (the last one is being typed) and returns
 * COMPREPLY as one space-separated string (caller frees). A stand-in for
 * bash-completion's _init_completion and _filedir is defined first. */
static char *
complete(const char *line)
{
	char *out;

	assert_int_equal(run(&out, "bash -c '"
	    "_init_completion() { words=(\"${COMP_WORDS[@]}\"); "
	    "cword=$COMP_CWORD; cur=${words[cword]}; prev=${words[cword-1]}; }; "
	    "_filedir() { COMPREPLY=(FILES); }; "
	    "compopt() { :; }; "
	    "source etc/bash_completion.d/ballastctl; "
	    "COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); "
	    "BALLAST_SERVER=http://127.0.0.1:1 _ballastctl; "
	    "echo \"${COMPREPLY[*]}\"'", line), 0);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void
test_ops__bash_completion_completes_commands_subcommands_and_options(
    void **state)
{
	char *s;

	(void)state;
	must_run("bash -n", "bash -n etc/bash_completion.d/ballastctl");
	s = complete("ballastctl jo");
	assert_string_equal(s, "job");
	free(s);
	s = complete("ballastctl job \"\"");
	assert_string_equal(s, "list get evacuate retry pause resume cancel "
	    "throttle watch submit");
	free(s);
	s = complete("ballastctl plan --p");
	assert_string_equal(s, "--policy --preset");
	free(s);
	s = complete("ballastctl plan --preset a");
	assert_string_equal(s, "aggressive");
	free(s);
	s = complete("ballastctl job list --state f");
	assert_string_equal(s, "failed");
	free(s);
	s = complete("ballastctl --server http://x job submit p");
	assert_string_equal(s, "FILES");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops__alert_rules_pass_promtool_check_and_their_unit_tests),
		cmocka_unit_test(test_ops__every_alert_has_a_runbook_section),
		cmocka_unit_test(test_ops__dashboards_are_importable_with_a_datasource_variable_and_valid_promql),
		cmocka_unit_test(test_ops__config_reference_matches_the_config_tables),
		cmocka_unit_test(test_ops__golden_crush_vectors_are_reproduced_by_crushtool),
		cmocka_unit_test(test_ops__make_install_puts_everything_under_destdir_and_prefix),
		cmocka_unit_test(test_ops__bash_completion_completes_commands_subcommands_and_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
