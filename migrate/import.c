/* migrate/import.c - POST /v1/objects/import: the planner's objects CSV
 * (placement/objects_csv.h) streamed into the metadata tier with COPY.
 *
 *   id,owner,size,md5,copies,reads_per_hour,affinity,allowed_dcs
 *
 * md5 may be 32 hex digits (converted) or a base64 Content-MD5. Every row
 * is checked before anything is written; the whole import is one
 * transaction. An existing object is updated and its version bumped, so
 * running tasks see the change (metadata_changed).
 *
 * A body that is not this CSV (empty, binary, no header) is BL_EPARSE; a
 * bad row is BL_EINVAL naming its line. Every node a row's copies name
 * must be registered, as the offline planner requires, unless the caller
 * allows unknown nodes; then their names are reported back.
 */
#include "migrate/engine.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/buf.h"
#include "lib/json.h"
#include "lib/pg.h"
#include "lib/uuid.h"

#define NFIELDS 8
#define UNKNOWN_MAX 100		/* unknown node names reported back */

static const char *const header[NFIELDS] = {
	"id", "owner", "size", "md5", "copies", "reads_per_hour", "affinity",
	"allowed_dcs",
};

/* Splits one CSV line (quotes allowed) into fields, in place. Returns the
 * number of fields or -1. */
static int
split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line, *w;

	for (;;) {
		if (n == max)
			return -1;
		if (*p == '"') {
			f[n++] = w = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"' && p[1] == '"') {
					*w++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*w++ = *p++;
				}
			}
			*w = '\0';
			if (*p != ',' && *p != '\0')
				return -1;
		} else {
			f[n++] = p;
			while (*p != ',' && *p != '\0')
				p++;
		}
		if (*p == '\0')
			break;
		*p++ = '\0';
	}
	return n;
}

static int
name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 255)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' &&
		    *s != '_')
			return 0;
	return 1;
}

/* "a;b" -> "{a,b}" into out; 0, or -1 if a name is bad. */
static int
list_to_array(const char *in, char *out, size_t len, int allow_empty)
{
	char buf[4096], *tok, *save = NULL;
	size_t o = 0;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", in);
	out[o++] = '{';
	for (tok = strtok_r(buf, ";", &save); tok != NULL;
	    tok = strtok_r(NULL, ";", &save)) {
		if (!name_ok(tok) || o + strlen(tok) + 3 > len)
			return -1;
		if (n++ > 0)
			out[o++] = ',';
		memcpy(out + o, tok, strlen(tok));
		o += strlen(tok);
	}
	out[o++] = '}';
	out[o] = '\0';
	return n == 0 && !allow_empty ? -1 : 0;
}

static int
md5_norm(const char *in, char out[25])
{
	unsigned char raw[16];
	size_t l = strlen(in);

	if (l == 32) {
		for (int i = 0; i < 16; i++) {
			unsigned int b;

			if (!isxdigit((unsigned char)in[2 * i]) ||
			    !isxdigit((unsigned char)in[2 * i + 1]) ||
			    sscanf(in + 2 * i, "%2x", &b) != 1)
				return -1;
			raw[i] = (unsigned char)b;
		}
		EVP_EncodeBlock((unsigned char *)out, raw, 16);
		return 0;
	}
	if (l == 24 && in[22] == '=' && in[23] == '=') {
		for (size_t i = 0; i < 22; i++)
			if (!isalnum((unsigned char)in[i]) && in[i] != '+' &&
			    in[i] != '/')
				return -1;
		memcpy(out, in, 25);
		return 0;
	}
	return -1;
}

/* 1 if line is the header: the first 5 to 8 field names, in order. */
static int
header_ok(const char *line)
{
	int i;

	for (i = 0; i < NFIELDS; i++) {
		size_t l = strlen(header[i]);

		if (strncmp(line, header[i], l) != 0)
			return 0;
		line += l;
		if (*line == '\0')
			return i >= 4;
		if (*line++ != ',')
			return 0;
	}
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The registered node ids, sorted, in *r (caller clears). */
static int
nodes_load(PGconn *c, PGresult **r, struct bl_err *err)
{
	*r = PQexec(c, "SELECT id FROM nodes ORDER BY id COLLATE \"C\"");
	if (PQresultStatus(*r) != PGRES_TUPLES_OK) {
		bl_err_set(err, BL_EDB, "import: nodes: %s",
		    PQresultErrorMessage(*r));
		PQclear(*r);
		*r = NULL;
		return -1;
	}
	return 0;
}

static int
node_known(PGresult *r, const char *name)
{
	int lo = 0, hi = PQntuples(r) - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int d = strcmp(PQgetvalue(r, mid, 0), name);

		if (d == 0)
			return 1;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Adds name to the sorted set of unknown names (at most UNKNOWN_MAX). */
static int
unknown_add(char **set, size_t *n, const char *name)
{
	if (*n == UNKNOWN_MAX || bsearch(&name, set, *n, sizeof(*set),
	    cmp_name) != NULL)
		return 0;
	if ((set[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	qsort(set, *n, sizeof(*set), cmp_name);
	return 0;
}

/* Checks the ';' list copies (names already checked by list_to_array)
 * against the registered nodes: the first unknown name into first ("" if
 * none), each unknown name into the set. -1 out of memory, else 0. */
static int
copies_check(PGresult *nodes, const char *copies, char first[256],
    char **set, size_t *n)
{
	const char *p = copies;
	char name[256];

	first[0] = '\0';
	while (*p) {
		size_t l = strcspn(p, ";");

		if (l > 0 && l < sizeof(name)) {
			memcpy(name, p, l);
			name[l] = '\0';
			if (!node_known(nodes, name)) {
				if (first[0] == '\0')
					memcpy(first, name, l + 1);
				if (unknown_add(set, n, name) == -1)
					return -1;
			}
		}
		p += l;
		if (*p == ';')
			p++;
	}
	return 0;
}

/* One import: the rows checked so far as COPY text, and the unknown node
 * names they name. */
struct import {
	PGresult	*nodes;			/* owns; sorted node ids */
	int		 allow_unknown;
	char		*unk[UNKNOWN_MAX];	/* owns each; sorted */
	size_t		 nunk;
	struct bl_buf	 out;			/* the COPY text */
	long long	*rows;			/* borrows; rows in out */
};

static int
out_append(struct import *im, const char *row, size_t rl, struct bl_err *err)
{
	if (bl_buf_add(&im->out, row, rl) == -1)
		return bl_err_set(err, BL_ENOMEM, "import: out of memory");
	return 0;
}

/* Checks data line lineno (not empty, '\r' stripped) and appends it to
 * the COPY text. */
static int
row_add(struct import *im, char *line, long lineno, struct bl_err *err)
{
	char *f[NFIELDS + 1], md5[25], copies[4096], dcs[4096];
	char bad[256];
	char row[12000];
	char *end;
	int n, rl;

	if (strpbrk(line, "\t\\") != NULL ||
	    (n = split(line, f, NFIELDS)) < 5)
		return bl_err_set(err, BL_EINVAL, "import:%ld: want 5 to 8 "
		    "fields, no tabs or backslashes", lineno);
	for (int i = n; i < NFIELDS; i++)
		f[i] = "";
	if (!bl_uuid_valid(f[0]) || !bl_uuid_valid(f[1]))
		return bl_err_set(err, BL_EINVAL, "import:%ld: id and owner "
		    "must be canonical uuids", lineno);
	if (strtoll(f[2], &end, 10) < 0 || *end != '\0' || end == f[2])
		return bl_err_set(err, BL_EINVAL, "import:%ld: field size: "
		    "want an integer >= 0", lineno);
	if (md5_norm(f[3], md5) == -1)
		return bl_err_set(err, BL_EINVAL, "import:%ld: field md5: want "
		    "32 hex digits or a base64 Content-MD5", lineno);
	if (list_to_array(f[4], copies, sizeof(copies), 0) == -1 ||
	    list_to_array(f[7], dcs, sizeof(dcs), 1) == -1)
		return bl_err_set(err, BL_EINVAL, "import:%ld: copies or "
		    "allowed_dcs: want names separated by ';'", lineno);
	if (copies_check(im->nodes, f[4], bad, im->unk, &im->nunk) == -1)
		return bl_err_set(err, BL_ENOMEM, "import: out of memory");
	if (bad[0] != '\0' && !im->allow_unknown)
		return bl_err_set(err, BL_EINVAL, "import:%ld: field copies: "
		    "node %s is not registered (register it with PUT "
		    "/v1/nodes/%s first, or import with "
		    "?allow_unknown_nodes=true)", lineno, bad, bad);
	if (f[5][0] != '\0') {
		double rph = strtod(f[5], &end);

		/* Not "nan" or "inf", which strtod and PostgreSQL take. */
		if (end == f[5] || *end != '\0' || !(rph >= 0 && rph <= 1e12))
			return bl_err_set(err, BL_EINVAL, "import:%ld: field "
			    "reads_per_hour: want a number from 0 to 1e12",
			    lineno);
		/* Stored rates are 0 or >= 0.001 (migrate/schema.c, v4). */
		if (rph < 0.001)
			f[5] = "0";
	}
	rl = snprintf(row, sizeof(row), "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
	    f[0], f[1], f[2], md5, copies, f[5][0] ? f[5] : "0",
	    f[6][0] ? f[6] : "\\N", strcmp(dcs, "{}") ? dcs : "\\N");
	if (rl < 0 || (size_t)rl >= sizeof(row))
		return bl_err_set(err, BL_EINVAL, "import:%ld: row too long",
		    lineno);
	if (out_append(im, row, (size_t)rl, err) == -1)
		return -1;
	(*im->rows)++;
	return 0;
}

/* Checks every line of buf (modified in place) into the COPY text. */
static int
rows_parse(struct import *im, char *buf, struct bl_err *err)
{
	char *line, *save = NULL;
	long lineno = 0;

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		size_t l = strlen(line);

		lineno++;
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (lineno == 1) {
			if (!header_ok(line))
				return bl_err_set(err, BL_EPARSE, "import:1: "
				    "not the objects CSV: want the header "
				    "id,owner,size,md5,copies[,reads_per_hour,"
				    "affinity,allowed_dcs] on the first line");
			continue;
		}
		if (l == 0)
			continue;
		if (row_add(im, line, lineno, err) == -1)
			return -1;
	}
	if (lineno == 0)
		return bl_err_set(err, BL_EPARSE, "import: the body holds no "
		    "lines; want CSV text whose first line is the header id,"
		    "owner,size,md5,copies[,reads_per_hour,affinity,"
		    "allowed_dcs]");
	return 0;
}

/* Inside the transaction: the COPY text into a temporary table. */
static int
rows_copy(PGconn *c, const struct import *im, struct bl_err *err)
{
	PGresult *r;

	if (bl_pg_run(c, "CREATE TEMP TABLE import_objects (id uuid, owner "
	    "uuid, size bigint, md5 text, copies text[], reads_per_hour "
	    "float8, affinity text, allowed_dcs text[]) ON COMMIT DROP", 0,
	    NULL, err) == -1)
		return -1;
	r = PQexec(c, "COPY import_objects FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		bl_err_set(err, BL_EDB, "import: copy: %s",
		    PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if ((im->out.len > 0 && PQputCopyData(c, im->out.p,
	    (int)im->out.len) != 1) ||
	    PQputCopyEnd(c, NULL) != 1)
		return bl_err_set(err, BL_EDB, "import: copy: %s",
		    PQerrorMessage(c));
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			bl_err_set(err, BL_EINVAL, "import: %s",
			    PQresultErrorMessage(r));
			PQclear(r);
			while ((r = PQgetResult(c)) != NULL)
				PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	return 0;
}

/* Inside the transaction: the copied rows into objects, and the audit
 * entry. */
static int
rows_merge(PGconn *c, const char *who, long long rows, struct bl_err *err)
{
	char n[32];
	const char *p[2] = { who, n };

	if (bl_pg_run(c, "INSERT INTO objects AS o (id, owner, size, md5, "
	    "copies, reads_per_hour, affinity, allowed_dcs) SELECT DISTINCT ON"
	    " (id) id, owner, size, md5, copies, reads_per_hour, affinity, "
	    "allowed_dcs FROM import_objects ON CONFLICT (id) DO UPDATE SET "
	    "owner = EXCLUDED.owner, size = EXCLUDED.size, md5 = EXCLUDED.md5,"
	    " copies = EXCLUDED.copies, reads_per_hour = "
	    "EXCLUDED.reads_per_hour, reads_at = now(), affinity = "
	    "EXCLUDED.affinity, "
	    "allowed_dcs = EXCLUDED.allowed_dcs, version = o.version + 1", 0,
	    NULL, err) == -1)
		return -1;
	snprintf(n, sizeof(n), "{\"rows\":%lld}", rows);
	return bl_pg_run(c, "INSERT INTO audit (who, action, detail) "
	    "VALUES ($1, 'objects_import', $2::jsonb)", 2, p, err);
}

int
mig_objects_import(PGconn *c, const char *csv, size_t len, const char *who,
    int allow_unknown, long long *rows, json_t **unknown, struct bl_err *err)
{
	struct import im;
	char *buf;
	int rc = -1;

	*rows = 0;
	*unknown = NULL;
	if (len == 0 || memchr(csv, '\0', len) != NULL)
		return bl_err_set(err, BL_EPARSE, "import: the body is %s; want "
		    "CSV text whose first line is the header id,owner,size,md5,"
		    "copies[,reads_per_hour,affinity,allowed_dcs]",
		    len == 0 ? "empty" : "binary (it holds a NUL byte)");
	memset(&im, 0, sizeof(im));
	im.allow_unknown = allow_unknown;
	im.rows = rows;
	if (nodes_load(c, &im.nodes, err) == -1)
		return -1;
	if ((buf = malloc(len + 1)) == NULL) {
		PQclear(im.nodes);
		return bl_err_set(err, BL_ENOMEM, "import: out of memory");
	}
	memcpy(buf, csv, len);
	buf[len] = '\0';
	if (rows_parse(&im, buf, err) == -1)
		goto out;
	if (bl_pg_run(c, "BEGIN", 0, NULL, err) == -1)
		goto out;
	if (rows_copy(c, &im, err) == -1 ||
	    rows_merge(c, who, *rows, err) == -1 ||
	    bl_pg_run(c, "COMMIT", 0, NULL, err) == -1) {
		bl_pg_run(c, "ROLLBACK", 0, NULL, NULL);
		goto out;
	}
	if (allow_unknown) {
		if ((*unknown = json_array()) == NULL) {
			bl_err_set(err, BL_ENOMEM, "import: out of memory");
			goto out;
		}
		for (size_t i = 0; i < im.nunk; i++)
			json_array_append_new(*unknown,
			    json_string(im.unk[i]));
	}
	rc = 0;
out:
	for (size_t i = 0; i < im.nunk; i++)
		free(im.unk[i]);
	PQclear(im.nodes);
	bl_buf_release(&im.out);
	free(buf);
	return rc;
}
