/* lib/config.c - the one-table config loader. */
#include "lib/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const source_names[] = {
	"default", "file", "env", "flag", "runtime",
};

const char *
bl_cfg_source_name(int source)
{
	if (source < 0 || source > BL_CFG_SRC_RUNTIME)
		return "unknown";
	return source_names[source];
}

const struct bl_cfg_opt *
bl_cfg_find(const struct bl_cfg *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->table[i].key, key) == 0)
			return &c->table[i];
	return NULL;
}

static int
parse_value(const struct bl_cfg_opt *o, const char *text, void *field,
    struct bl_err *err)
{
	long long v;
	char *end, *dup;
	size_t len;
	/* A secret's text never goes into a message: messages get logged. */
	const char *shown = o->flags & BL_CFG_SECRET ? "********" : text;

	switch (o->type) {
	case BL_CFG_INT:
		errno = 0;
		v = strtoll(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0' ||
		    isspace((unsigned char)text[0]))
			return bl_err_set(err, BL_EINVAL,
			    "%s: \"%s\" is not an integer", o->key, shown);
		if (v < o->min || v > o->max)
			return o->flags & BL_CFG_SECRET ?
			    bl_err_set(err, BL_EINVAL, "%s: out of range "
			    "[%lld, %lld]", o->key, o->min, o->max) :
			    bl_err_set(err, BL_EINVAL,
			    "%s: %lld out of range [%lld, %lld]", o->key, v,
			    o->min, o->max);
		*(long long *)field = v;
		return 0;
	case BL_CFG_BOOL:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
			*(int *)field = 1;
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
			*(int *)field = 0;
		else
			return bl_err_set(err, BL_EINVAL,
			    "%s: \"%s\" is not true or false", o->key, shown);
		return 0;
	case BL_CFG_STR:
		len = strlen(text);
		if ((long long)len < o->min || (long long)len > o->max)
			return bl_err_set(err, BL_EINVAL,
			    "%s: length %zu out of range [%lld, %lld]", o->key,
			    len, o->min, o->max);
		if ((dup = strdup(text)) == NULL)
			return bl_err_set(err, BL_ENOMEM, "%s: out of memory",
			    o->key);
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	}
	return bl_err_set(err, BL_EINVAL, "%s: unknown type %d", o->key,
	    o->type);
}

int
bl_cfg_init(struct bl_cfg *c, const struct bl_cfg_opt *table, size_t n,
    void *base, struct bl_err *err)
{
	memset(c, 0, sizeof(*c));
	c->table = table;
	c->n = n;
	c->base = base;
	if ((c->source = calloc(n ? n : 1, sizeof(int))) == NULL)
		return bl_err_set(err, BL_ENOMEM, "config: out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct bl_cfg_opt *o = &table[i];
		void *field = (char *)base + o->offset;

		if (o->type == BL_CFG_STR)
			*(char **)field = NULL;
		if (o->def == NULL) {
			if (o->type != BL_CFG_STR)
				return bl_err_set(err, BL_EINVAL,
				    "config table: %s has no default", o->key);
			continue;
		}
		if (parse_value(o, o->def, field, err) == -1)
			return bl_err_wrap(err, "config table default");
	}
	return 0;
}

void
bl_cfg_release(struct bl_cfg *c)
{
	if (c->table != NULL && c->base != NULL) {
		for (size_t i = 0; i < c->n; i++) {
			if (c->table[i].type == BL_CFG_STR) {
				char **f = (char **)((char *)c->base +
				    c->table[i].offset);

				free(*f);
				*f = NULL;
			}
		}
	}
	free(c->source);
	free(c->file);
	memset(c, 0, sizeof(*c));
}

int
bl_cfg_set(struct bl_cfg *c, const char *key, const char *text, int source,
    struct bl_err *err)
{
	const struct bl_cfg_opt *o = bl_cfg_find(c, key);

	if (o == NULL)
		return bl_err_set(err, BL_EINVAL, "%s: unknown key", key);
	if (parse_value(o, text, (char *)c->base + o->offset, err) == -1)
		return -1;
	c->source[o - c->table] = source;
	return 0;
}

/* Applies the members of root (any JSON value; name is for messages).
 * Takes root. */
static int
load_json_take(struct bl_cfg *c, json_t *root, const char *name,
    struct bl_err *err)
{
	const char *key;
	json_t *v;
	char num[32];
	int rc = -1;

	if (!json_is_object(root)) {
		bl_err_set(err, BL_EINVAL, "%s: not a JSON object", name);
		goto out;
	}
	json_object_foreach(root, key, v) {
		const struct bl_cfg_opt *o = bl_cfg_find(c, key);
		const char *text = NULL;

		if (o == NULL) {
			bl_err_set(err, BL_EINVAL, "%s: %s: unknown key", name,
			    key);
			goto out;
		}
		switch (o->type) {
		case BL_CFG_INT:
			if (json_is_integer(v)) {
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				    json_integer_value(v));
				text = num;
			}
			break;
		case BL_CFG_BOOL:
			if (json_is_boolean(v))
				text = json_is_true(v) ? "true" : "false";
			break;
		case BL_CFG_STR:
			if (json_is_string(v) && strlen(json_string_value(v)) ==
			    json_string_length(v))
				text = json_string_value(v);
			break;
		}
		if (text == NULL) {
			bl_err_set(err, BL_EINVAL, "%s: %s: wrong type, want %s",
			    name, key, o->type == BL_CFG_INT ? "integer" :
			    o->type == BL_CFG_BOOL ? "boolean" : "string");
			goto out;
		}
		if (bl_cfg_set(c, key, text, BL_CFG_SRC_FILE, err) == -1) {
			bl_err_wrap(err, "%s", name);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int
bl_cfg_load_file(struct bl_cfg *c, const char *path, struct bl_err *err)
{
	json_error_t je;
	json_t *root;
	char *dup;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return bl_err_set(err, BL_EPARSE,
		    "%s: line=%d column=%d: %s", path, je.line, je.column,
		    je.text);
	if (load_json_take(c, root, path, err) == -1)
		return -1;
	if ((dup = strdup(path)) == NULL)
		return bl_err_set(err, BL_ENOMEM, "%s: out of memory", path);
	free(c->file);
	c->file = dup;
	return 0;
}

int
bl_cfg_load_buffer(struct bl_cfg *c, const char *buf, size_t len,
    const char *name, struct bl_err *err)
{
	json_error_t je;
	json_t *root;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return bl_err_set(err, BL_EPARSE,
		    "%s: line=%d column=%d: %s", name, je.line, je.column,
		    je.text);
	return load_json_take(c, root, name, err);
}

int
bl_cfg_load_env(struct bl_cfg *c, const char *prefix, struct bl_err *err)
{
	char name[256];

	for (size_t i = 0; i < c->n; i++) {
		const char *key = c->table[i].key, *v;
		size_t p = strlen(prefix), k;

		if (p + strlen(key) + 1 > sizeof(name))
			continue;
		memcpy(name, prefix, p);
		for (k = 0; key[k] != '\0'; k++)
			name[p + k] = (char)toupper((unsigned char)key[k]);
		name[p + k] = '\0';
		if ((v = getenv(name)) == NULL)
			continue;
		if (bl_cfg_set(c, key, v, BL_CFG_SRC_ENV, err) == -1)
			return bl_err_wrap(err, "environment %s", name);
	}
	return 0;
}

void
bl_cfg_print(const struct bl_cfg *c, FILE *f)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct bl_cfg_opt *o = &c->table[i];
		const void *field = (const char *)c->base + o->offset;
		const char *src = bl_cfg_source_name(c->source[i]);

		if (o->flags & BL_CFG_SECRET) {
			int set = o->type != BL_CFG_STR ||
			    *(char *const *)field != NULL;

			fprintf(f, "%s = %s  # %s\n", o->key,
			    set ? "\"********\"" : "null", src);
			continue;
		}
		switch (o->type) {
		case BL_CFG_INT:
			fprintf(f, "%s = %lld  # %s\n", o->key,
			    *(const long long *)field, src);
			break;
		case BL_CFG_BOOL:
			fprintf(f, "%s = %s  # %s\n", o->key,
			    *(const int *)field ? "true" : "false", src);
			break;
		case BL_CFG_STR:
			if (*(char *const *)field == NULL)
				fprintf(f, "%s = null  # %s\n", o->key, src);
			else
				fprintf(f, "%s = \"%s\"  # %s\n", o->key,
				    *(char *const *)field, src);
			break;
		}
	}
}

void
bl_cfg_print_help(const struct bl_cfg_opt *table, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		const struct bl_cfg_opt *o = &table[i];

		fprintf(f, "  %-22s %-7s default %s", o->key,
		    o->type == BL_CFG_INT ? "integer" :
		    o->type == BL_CFG_BOOL ? "boolean" : "string",
		    o->def ? o->def : "(unset)");
		if (o->type == BL_CFG_INT)
			fprintf(f, ", range [%lld, %lld]", o->min, o->max);
		fprintf(f, "\n      %s\n", o->help ? o->help : "");
	}
}

/* Text for a Markdown table cell: '|' would end the cell. */
static void
md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s, f);
	}
}

void
bl_cfg_print_reference(const struct bl_cfg_opt *table, size_t n, FILE *f)
{
	int any_reload = 0;

	fprintf(f, "| key | type | default | bounds | reload | meaning |\n"
	    "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		const struct bl_cfg_opt *o = &table[i];

		fprintf(f, "| `%s` | %s | ", o->key,
		    o->type == BL_CFG_INT ? "integer" :
		    o->type == BL_CFG_BOOL ? "boolean" : "string");
		if (o->def != NULL)
			fprintf(f, "`%s`", o->def);
		else
			fprintf(f, "(unset)");
		fprintf(f, " | ");
		if (o->type == BL_CFG_INT)
			fprintf(f, "%lld to %lld", o->min, o->max);
		else if (o->type == BL_CFG_STR)
			fprintf(f, "%lld to %lld bytes", o->min, o->max);
		fprintf(f, " | %s | ", o->flags & BL_CFG_RELOAD ? "yes" :
		    "restart");
		md_cell(f, o->help ? o->help : "");
		if (o->flags & BL_CFG_SECRET)
			fprintf(f, " (masked in --print-config)");
		fprintf(f, " |\n");
		any_reload |= (o->flags & BL_CFG_RELOAD) != 0;
	}
	fprintf(f, "\n%s\n", any_reload ? "\"yes\": a reload (SIGHUP) applies "
	    "the new value; \"restart\": it takes effect at the next start." :
	    "No key here is applied by a reload yet: each takes effect at the "
	    "next start.");
}
