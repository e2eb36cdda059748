/* controller/config.c - ballastd's config: one JSON file.
 *
 * Scalars live in one table (lib/config.h) under dotted keys such as
 * "engine.metadata_threads", so defaults, bounds and --print-config come
 * from one place. "tokens" and "policy" have their own rules. Unknown keys
 * are refused with their path. Keys starting with "//" are comments.
 */
#include "controller/ctl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "lib/sign.h"

#define OFF(f) offsetof(struct ctl_config, f)
#define BIG 9223372036854775807LL

const struct bl_cfg_opt ctl_config_table[] = {
	{ "listen", BL_CFG_STR, OFF(listen), "127.0.0.1:8460", 3, 300, 0,
	    "HTTP API address, HOST:PORT" },
	{ "database", BL_CFG_STR, OFF(database), NULL, 1, 4096, BL_CFG_SECRET,
	    "libpq conninfo of the metadata database" },
	{ "secret_file", BL_CFG_STR, OFF(secret_file), NULL, 1, 4096, 0,
	    "the cluster secret, for signing agent calls" },
	{ "log_level", BL_CFG_STR, OFF(log_level), "info", 4, 5,
	    BL_CFG_RELOAD, "debug, info, warn or error" },
	{ "advertise_url", BL_CFG_STR, OFF(advertise_url), "", 0, 400, 0,
	    "the URL followers give for this instance (\"\": http://listen, "
	    "https with TLS)" },
	{ "instance", BL_CFG_STR, OFF(instance), "", 0, 120, 0,
	    "this process's name in cycles and leadership (\"\": host:pid)" },
	{ "tls_cert_file", BL_CFG_STR, OFF(tls_cert_file), NULL, 1, 4096, 0,
	    "PEM certificate chain; with tls_key_file the API speaks https" },
	{ "tls_key_file", BL_CFG_STR, OFF(tls_key_file), NULL, 1, 4096, 0,
	    "PEM private key for tls_cert_file (keep it mode 0600)" },
	{ "agent_tls_ca_file", BL_CFG_STR, OFF(agent_tls_ca_file), NULL, 1,
	    4096, 0, "PEM CAs that verify agents with https URLs "
	    "(unset: the system's)" },
	{ "controller.access_half_life_s", BL_CFG_INT,
	    OFF(access_half_life_s), "3600", 1, 31536000, 0,
	    "half-life of the decayed reads_per_hour" },
	{ "controller.max_candidates", BL_CFG_INT, OFF(max_candidates),
	    "1000000", 1000, 100000000, 0,
	    "objects streamed into the planner per cycle" },
	{ "controller.agent_timeout_ms", BL_CFG_INT, OFF(agent_poll_timeout_ms),
	    "3000", 100, 600000, 0,
	    "an agent silent this long is unreachable for the cycle" },
	{ "controller.leader_check_ms", BL_CFG_INT, OFF(leader_check_ms),
	    "1000", 100, 10000, 0,
	    "how often leadership is checked (and taken over)" },
	{ "max_body_bytes", BL_CFG_INT, OFF(max_body), "67108864", 1024,
	    1LL << 34, 0, "largest request body (plans, imports)" },
	{ "api_workers", BL_CFG_INT, OFF(api_workers), "4", 1, 64, 0,
	    "threads (and connections) serving API database work" },
	{ "http_threads", BL_CFG_INT, OFF(http_threads), "4", 1, 64, 0,
	    "threads serving HTTP connections (one address, SO_REUSEPORT)" },
	{ "metrics_auth", BL_CFG_BOOL, OFF(metrics_auth), "false", 0, 0, 0,
	    "require a bearer token (viewer or operator) on GET /metrics" },
	{ "engine.max_tasks_per_assignment", BL_CFG_INT,
	    OFF(max_tasks_per_assignment), "50", 1, 10000, 0,
	    "tasks per assignment posted to an agent" },
	{ "engine.max_assignment_age_s", BL_CFG_INT,
	    OFF(max_assignment_age_s), "5", 0, 86400, 0,
	    "a partial assignment is posted once its oldest task waited this" },
	{ "engine.metadata_threads", BL_CFG_INT, OFF(metadata_threads), "10",
	    1, 250, 0, "parallel metadata committers (run time: PUT jobs)" },
	{ "engine.max_inflight_per_node", BL_CFG_INT,
	    OFF(max_inflight_per_node), "500", 1, 1000000, 0,
	    "tasks assigned to one destination at once, over all jobs" },
	{ "engine.agent_timeout_s", BL_CFG_INT, OFF(agent_timeout_s), "60", 1,
	    86400, 0, "an agent silent this long fails its assignment" },
	{ "engine.poll_interval_ms", BL_CFG_INT, OFF(poll_interval_ms), "1000",
	    10, 600000, 0, "engine tick" },
	{ "engine.source_delete_grace_s", BL_CFG_INT,
	    OFF(source_delete_grace_s), "3600", 0, 31536000, 0,
	    "wait after a commit before deleting a moved source copy" },
	{ "engine.evacuate_deletes_source", BL_CFG_BOOL,
	    OFF(evacuate_deletes_source), "true", 0, 0, 0,
	    "delete an evacuated node's copies once moved (false: keep)" },
};
const size_t ctl_config_table_len =
    sizeof(ctl_config_table) / sizeof(ctl_config_table[0]);

static int
set_scalar(struct bl_cfg *c, const char *key, json_t *v, const char *path,
    struct bl_err *err)
{
	char buf[64];
	const char *text;

	if (bl_cfg_find(c, key) == NULL)
		return bl_err_set(err, BL_EINVAL, "%s: %s: unknown key", path,
		    key);
	if (json_is_string(v))
		text = json_string_value(v);
	else if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(v));
		text = buf;
	} else if (json_is_boolean(v))
		text = json_is_true(v) ? "true" : "false";
	else
		return bl_err_set(err, BL_EINVAL, "%s: %s: expected a string, "
		    "an integer or a boolean", path, key);
	if (bl_cfg_set(c, key, text, BL_CFG_SRC_FILE, err) == -1)
		return bl_err_wrap(err, "%s", path);
	return 0;
}

static char *
read_token(const char *file, size_t *len, struct bl_err *err)
{
	FILE *f = fopen(file, "r");
	char buf[1024];
	size_t n;

	if (f == NULL) {
		bl_err_set(err, BL_EIO, "token_file %s: cannot open", file);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n < 16) {
		bl_err_set(err, BL_EINVAL, "token_file %s: a token needs at "
		    "least 16 characters", file);
		return NULL;
	}
	*len = n;
	return strdup(buf);
}

static int
load_tokens(struct ctl_config *cfg, json_t *arr, const char *path,
    struct bl_err *err)
{
	static const char *const keys[] = { "name", "token_file", "role",
	    NULL };
	json_t *t;
	size_t i;

	if (!json_is_array(arr))
		return bl_err_set(err, BL_EINVAL, "%s: tokens: expected an "
		    "array", path);
	cfg->tokens = calloc(json_array_size(arr) + 1, sizeof(*cfg->tokens));
	if (cfg->tokens == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	json_array_foreach(arr, i, t) {
		char tp[64];
		const char *name, *file, *role;
		struct ctl_token *tk = &cfg->tokens[i];

		snprintf(tp, sizeof(tp), "tokens[%zu]", i);
		if (bl_json_check_keys(t, keys, tp, err) == -1 ||
		    (name = bl_json_str(t, "name", tp, err)) == NULL ||
		    (file = bl_json_str(t, "token_file", tp, err)) == NULL ||
		    (role = bl_json_str(t, "role", tp, err)) == NULL)
			return bl_err_wrap(err, "%s", path);
		if (strcmp(role, "viewer") != 0 && strcmp(role, "operator")
		    != 0)
			return bl_err_set(err, BL_EINVAL, "%s: %s.role: "
			    "expected \"viewer\" or \"operator\"", path, tp);
		if ((tk->token = read_token(file, &tk->len, err)) == NULL)
			return bl_err_wrap(err, "%s: %s", path, tp);
		tk->name = strdup(name);
		tk->operator = strcmp(role, "operator") == 0;
		cfg->ntokens++;
	}
	return 0;
}

int
ctl_config_load(struct bl_cfg *c, struct ctl_config *cfg, const char *path,
    struct bl_err *err)
{
	json_t *root, *v;
	const char *k;
	int rc = -1;

	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)) ==
	    NULL) {
		json_error_t je;

		json_decref(json_load_file(path, JSON_REJECT_DUPLICATES, &je));
		return bl_err_set(err, BL_EPARSE, "%s:%d:%d: %s", path,
		    je.line, je.column, je.text);
	}
	if (!json_is_object(root)) {
		bl_err_set(err, BL_EINVAL, "%s: expected a JSON object", path);
		goto out;
	}
	pol_preset_apply(&cfg->policy, POL_PRESET_DEFAULT);
	json_object_foreach(root, k, v) {
		if (strncmp(k, "//", 2) == 0)
			continue;
		if (strcmp(k, "tokens") == 0) {
			if (load_tokens(cfg, v, path, err) == -1)
				goto out;
		} else if (strcmp(k, "policy") == 0) {
			char *text = json_dumps(v, JSON_COMPACT);

			if (text == NULL || pol_parse_json(text, strlen(text),
			    "policy", -1, NULL, &cfg->policy, err) == -1) {
				free(text);
				bl_err_wrap(err, "%s", path);
				goto out;
			}
			cfg->policy_text = text;
		} else if (strcmp(k, "engine") == 0 ||
		    strcmp(k, "controller") == 0) {
			const char *ek;
			json_t *ev;

			if (!json_is_object(v)) {
				bl_err_set(err, BL_EINVAL, "%s: %s: "
				    "expected an object", path, k);
				goto out;
			}
			json_object_foreach(v, ek, ev) {
				char key[128];

				if (strncmp(ek, "//", 2) == 0)
					continue;
				snprintf(key, sizeof(key), "%s.%s", k, ek);
				if (set_scalar(c, key, ev, path, err) == -1)
					goto out;
			}
		} else if (strchr(k, '.') != NULL) {
			bl_err_set(err, BL_EINVAL, "%s: %s: unknown key", path,
			    k);
			goto out;
		} else if (set_scalar(c, k, v, path, err) == -1) {
			goto out;
		}
	}
	if (cfg->database == NULL) {
		bl_err_set(err, BL_EINVAL, "%s: database: required", path);
		goto out;
	}
	if (cfg->secret_file == NULL) {
		bl_err_set(err, BL_EINVAL, "%s: secret_file: required", path);
		goto out;
	}
	if ((cfg->tls_cert_file == NULL) != (cfg->tls_key_file == NULL)) {
		bl_err_set(err, BL_EINVAL, "%s: tls_cert_file and tls_key_file "
		    "go together", path);
		goto out;
	}
	if (cfg->ntokens == 0) {
		bl_err_set(err, BL_EINVAL, "%s: tokens: at least one token is "
		    "required", path);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void
ctl_config_release(struct bl_cfg *c, struct ctl_config *cfg)
{
	for (size_t i = 0; i < cfg->ntokens; i++) {
		free(cfg->tokens[i].name);
		if (cfg->tokens[i].token != NULL)
			memset(cfg->tokens[i].token, 0, cfg->tokens[i].len);
		free(cfg->tokens[i].token);
	}
	free(cfg->tokens);
	free(cfg->policy_text);
	bl_cfg_release(c);
}

void
ctl_config_print(const struct bl_cfg *c, const struct ctl_config *cfg,
    FILE *f)
{
	bl_cfg_print(c, f);
	for (size_t i = 0; i < cfg->ntokens; i++)
		fprintf(f, "tokens[%zu] = name=%s role=%s token=********\n", i,
		    cfg->tokens[i].name, cfg->tokens[i].operator ? "operator" :
		    "viewer");
	fprintf(f, "policy = preset=%s max_fill=%.3f failure_domain=%d"
	    "  # %s\n", pol_preset_name(cfg->policy.preset),
	    cfg->policy.max_fill, cfg->policy.failure_domain,
	    cfg->policy_text ? "file" : "default");
}

void
ctl_config_print_reference(FILE *f)
{
	fprintf(f,
	    "## ballastd\n\n"
	    "`ballastd --config FILE [--check-config] [--print-config]`\n\n"
	    "One JSON file; `etc/ballast.json` is a commented example (keys "
	    "starting with\n`//` are comments). A dotted key is written nested:"
	    " `engine.metadata_threads`\nis `{\"engine\": "
	    "{\"metadata_threads\": 10}}`. Unknown keys, wrong types and\n"
	    "values out of range are refused with the key's path, and the exit "
	    "code is 2.\n`--check-config` loads everything (tokens, secret, "
	    "policy) and prints\n`FILE: ok`. `--print-config` prints every "
	    "value in effect and where it came\nfrom; secrets and tokens are "
	    "masked."
	    "\n\n");
	bl_cfg_print_reference(ctl_config_table, ctl_config_table_len, f);
	fprintf(f,
	    "\nTwo keys are not scalars:\n\n"
	    "- `tokens` (required): `[{\"name\": N, \"token_file\": PATH, "
	    "\"role\": \"viewer\"|\"operator\"}]`.\n"
	    "  A token file holds one token of at least 16 characters. A viewer"
	    " may read;\n  an operator may also change. A reload (SIGHUP or "
	    "SIGUSR1) reads the\n  list and the token files again, so tokens "
	    "rotate without a restart.\n"
	    "- `policy`: the planner's policy object (docs/policy.md). The "
	    "engine uses\n  `max_fill` and `failure_domain` for evacuation "
	    "destinations. A reload\n  applies it from the next cycle (a "
	    "policy set with PUT /v1/policy stays\n  in force until DELETE "
	    "/v1/policy).\n\n"
	    "`engine.metadata_threads` also changes at run time, for every job,"
	    " with\n`PUT /v1/jobs/{id}` `set_metadata_threads` (docs/api.md).\n"
	    "\n");
}
