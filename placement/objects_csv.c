/* placement/objects_csv.c - parses the objects CSV. Pure. */
#include "placement/objects_csv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NFIELDS	8

static const char *const field_names[NFIELDS] = {
	"id", "owner", "size", "md5", "copies", "reads_per_hour", "affinity",
	"allowed_dcs",
};

enum { F_ID, F_OWNER, F_SIZE, F_MD5, F_COPIES, F_READS, F_AFFINITY, F_DCS };

struct parser {
	const char		*buf;
	size_t			 len;
	size_t			 pos;
	size_t			 line;
	const char		*name;
	char			*scratch;	/* owns: unquoted fields */
	size_t			 scap;
	const char		*dcs[64];	/* borrows from the cluster */
	size_t			 ndcs;
	/* node id -> index + 1, open addressing; ids borrowed from cl */
	const struct plc_cluster *cl;		/* borrows */
	uint32_t		*nodes;		/* owns */
	uint64_t		*node_keys;	/* owns: per slot */
	size_t			*node_lens;	/* owns: per slot, strlen(id) */
	size_t			 nodes_cap;	/* a power of two */
};

static size_t
node_slot(uint64_t key, size_t cap)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9ull;
	key ^= key >> 32;
	return (size_t)key & (cap - 1);
}

/* Interns the node ids once, so that a copy costs one hash and one
 * compare instead of a binary search of strcmp calls. */
static int
nodes_build(struct parser *p, const struct plc_cluster *cl,
    struct bl_err *err)
{
	size_t cap = 16;

	while (cap < 2 * cl->n)
		cap *= 2;
	p->cl = cl;
	p->nodes_cap = cap;
	p->nodes = calloc(cap, sizeof(*p->nodes));
	p->node_keys = calloc(cap, sizeof(*p->node_keys));
	p->node_lens = calloc(cap, sizeof(*p->node_lens));
	if (p->nodes == NULL || p->node_keys == NULL || p->node_lens == NULL)
		return bl_err_set(err, BL_ENOMEM, "out of memory");
	for (size_t n = 0; n < cl->n; n++) {
		const char *id = cl->nodes[n].id;
		size_t len = strlen(id);
		uint64_t key = plc_object_key(id, len);
		size_t i = node_slot(key, cap);

		while (p->nodes[i] != 0)
			i = (i + 1) & (cap - 1);
		p->nodes[i] = (uint32_t)n + 1;
		p->node_keys[i] = key;
		p->node_lens[i] = len;
	}
	return 0;
}

/* The index of node id s (len bytes, not NUL-terminated), or -1. */
static ssize_t
nodes_find(const struct parser *p, const char *s, size_t len)
{
	uint64_t key = plc_object_key(s, len);

	for (size_t i = node_slot(key, p->nodes_cap); p->nodes[i] != 0;
	    i = (i + 1) & (p->nodes_cap - 1)) {
		if (p->node_keys[i] == key && p->node_lens[i] == len &&
		    memcmp(p->cl->nodes[p->nodes[i] - 1].id, s, len) == 0)
			return (ssize_t)p->nodes[i] - 1;
	}
	return -1;
}

/* The bytes that end an unquoted field's run: the separator, the line
 * end, and CR (dropped before a line end). */
static const unsigned char csv_stop[256] = {
	[','] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Splits the record at p->pos into NUL-terminated fields in scratch.
 * Returns the number of fields, or -1 (with err) on a bad quote. Leaves
 * pos after the record's line end; *lines counts the lines it spans. */
static int
split_record(struct parser *p, char **fields, int maxf, size_t *lines,
    struct bl_err *err)
{
	size_t need = 0, i = p->pos;
	char *out;
	int nf = 0;

	/* The record is at most the rest of the buffer, plus NULs. */
	need = (p->len - p->pos) + (size_t)maxf + 2;
	if (need > p->scap) {
		/* Quoted newlines may make a record longer than a line; size
		 * for the worst case of the remaining text once. */
		char *ns = realloc(p->scratch, need);

		if (ns == NULL)
			return bl_err_set(err, BL_ENOMEM, "out of memory");
		p->scratch = ns;
		p->scap = need;
	}
	out = p->scratch;
	*lines = 1;
	i = p->pos;
	for (;;) {
		if (nf == maxf)
			return maxf + 1;	/* too many: caller reports */
		fields[nf++] = out;
		if (i < p->len && p->buf[i] == '"') {
			i++;
			for (;;) {
				if (i >= p->len)
					return bl_err_set(err, BL_EPARSE,
					    "%s:%zu: field %s: unterminated "
					    "quote", p->name, p->line,
					    nf <= NFIELDS ?
					    field_names[nf - 1] : "?");
				if (p->buf[i] == '"') {
					if (i + 1 < p->len &&
					    p->buf[i + 1] == '"') {
						*out++ = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				if (p->buf[i] == '\n')
					(*lines)++;
				*out++ = p->buf[i++];
			}
			if (i < p->len && p->buf[i] == '\r' &&
			    (i + 1 >= p->len || p->buf[i + 1] == '\n'))
				i++;
			if (i < p->len && p->buf[i] != ',' &&
			    p->buf[i] != '\n')
				return bl_err_set(err, BL_EPARSE, "%s:%zu: field "
				    "%s: text after a closing quote", p->name,
				    p->line, nf <= NFIELDS ?
				    field_names[nf - 1] : "?");
		} else {
			for (;;) {
				size_t from = i;

				/* The field's bytes up to a stop, at once. */
				while (i < p->len &&
				    !csv_stop[(unsigned char)p->buf[i]])
					i++;
				memcpy(out, p->buf + from, i - from);
				out += i - from;
				if (i >= p->len || p->buf[i] != '\r')
					break;
				/* A CR ending the line is dropped; another is
				 * data. */
				if (i + 1 < p->len && p->buf[i + 1] != '\n')
					*out++ = '\r';
				i++;
			}
		}
		*out++ = '\0';
		if (i >= p->len || p->buf[i] == '\n') {
			if (i < p->len)
				i++;
			break;
		}
		i++;	/* the comma */
	}
	p->pos = i;
	return nf;
}

/* An MD5 as the metadata tier writes it: base64 of the 16 bytes, as in
 * Content-MD5 ("1B2M2Y8AsgTpgAmY7PhCfg=="), or 32 hex digits. */
static int
md5_shape_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 32) {
		for (size_t i = 0; i < n; i++)
			if (!isxdigit((unsigned char)s[i]))
				return 0;
		return 1;
	}
	if (n != 24 || s[22] != '=' || s[23] != '=')
		return 0;
	for (size_t i = 0; i < 22; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return 0;
	/* The last character carries 2 bits of data: A, Q, g or w. */
	return strchr("AQgw", s[21]) != NULL;
}

static int
bad(struct parser *p, int f, struct bl_err *err, const char *why,
    const char *val)
{
	return bl_err_set(err, BL_EINVAL, "%s:%zu: field %s: %s \"%s\"",
	    p->name, p->line, field_names[f], why, val);
}

static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* 1 if s is 1 to 15 decimal digits (below 2^53: a double holds it
 * exactly), with the value in *out. */
static int
small_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; s[n] >= '0' && s[n] <= '9'; n++)
		v = v * 10 + (uint64_t)(s[n] - '0');
	if (n == 0 || n > 15 || s[n] != '\0')
		return 0;
	*out = v;
	return 1;
}

static int
parse_row(struct parser *p, char **f, const struct plc_cluster *cl,
    struct plc_csv_row *row, struct bl_err *err)
{
	char *s, *item;
	uint64_t whole;
	int r;

	memset(row, 0, sizeof(*row));
	row->line = p->line;
	if (f[F_ID][0] == '\0')
		return bl_err_set(err, BL_EINVAL, "%s:%zu: field id: empty",
		    p->name, p->line);
	row->id = f[F_ID];
	row->id_len = strlen(f[F_ID]);
	row->owner = f[F_OWNER];
	row->affinity = f[F_AFFINITY];
	row->md5 = f[F_MD5];
	if (f[F_SIZE][0] == '-')
		return bad(p, F_SIZE, err, "negative size", f[F_SIZE]);
	if ((r = parse_u64(f[F_SIZE], &row->size)) < 0)
		return bad(p, F_SIZE, err, r == -2 ? "too large" :
		    "expected a non-negative integer, got", f[F_SIZE]);
	if (row->md5[0] != '\0' && !md5_shape_ok(row->md5))
		return bad(p, F_MD5, err, "expected base64 Content-MD5 (24 "
		    "characters) or 32 hex digits, got", row->md5);
	if (f[F_READS][0] == '\0')
		row->reads_per_hour = 0;
	else if (small_uint(f[F_READS], &whole))
		/* Exact, as strtod would give it: most rates are counts. */
		row->reads_per_hour = (double)whole;
	else {
		char *end;

		errno = 0;
		row->reads_per_hour = strtod(f[F_READS], &end);
		if (*end != '\0' || errno != 0 ||
		    !isfinite(row->reads_per_hour) || isspace(
		    (unsigned char)f[F_READS][0]))
			return bad(p, F_READS, err, "expected a number, got",
			    f[F_READS]);
		if (row->reads_per_hour < 0)
			return bad(p, F_READS, err, "negative value",
			    f[F_READS]);
	}
	if (f[F_COPIES][0] == '\0')
		return bl_err_set(err, BL_EINVAL, "%s:%zu: field copies: empty",
		    p->name, p->line);
	for (s = f[F_COPIES];;) {
		char *semi = strchr(s, ';');
		size_t ilen = semi ? (size_t)(semi - s) : strlen(s);
		ssize_t idx;

		item = s;
		if (ilen == 0)
			return bad(p, F_COPIES, err, "empty node id in",
			    f[F_COPIES]);
		idx = nodes_find(p, item, ilen);
		if (semi != NULL)
			*semi = '\0';	/* for the messages below */
		if (idx < 0)
			return bad(p, F_COPIES, err, "unknown node", item);
		for (size_t k = 0; k < row->ncopies; k++)
			if (row->copies[k] == (uint32_t)idx)
				return bad(p, F_COPIES, err, "node given twice",
				    item);
		if (row->ncopies == PLC_COPIES_MAX)
			return bl_err_set(err, BL_EINVAL, "%s:%zu: field copies: "
			    "more than %d copies", p->name, p->line,
			    PLC_COPIES_MAX);
		row->copies[row->ncopies++] = (uint32_t)idx;
		if (semi == NULL)
			break;
		s = semi + 1;
	}
	if (f[F_DCS][0] != '\0') {
		row->pinned = 1;
		for (s = f[F_DCS]; (item = strsep(&s, ";")) != NULL;) {
			if (item[0] == '\0')
				return bad(p, F_DCS, err, "empty datacenter in",
				    f[F_DCS]);
			for (size_t k = 0; k < p->ndcs; k++)
				if (strcmp(p->dcs[k], item) == 0)
					row->allowed_dcs |= 1ull << k;
		}
	}
	return 0;
}

/* Reads the records from p->pos to the end. */
static int
records(struct parser *p, plc_csv_row_fn fn, void *arg, struct bl_err *err)
{
	char *f[NFIELDS + 1];
	struct plc_csv_row row;
	size_t lines, start;
	int nf;

	while (p->pos < p->len) {
		/* Blank lines are skipped. */
		if (p->buf[p->pos] == '\n' || (p->buf[p->pos] == '\r' &&
		    p->pos + 1 < p->len && p->buf[p->pos + 1] == '\n')) {
			p->pos += p->buf[p->pos] == '\n' ? 1 : 2;
			p->line++;
			continue;
		}
		start = p->pos;
		nf = split_record(p, f, NFIELDS, &lines, err);
		if (nf < 0)
			return -1;
		if (nf != NFIELDS)
			return bl_err_set(err, BL_EPARSE, "%s:%zu: field %s: "
			    "expected %d fields, got %s%d", p->name, p->line,
			    nf > NFIELDS ? "allowed_dcs" : field_names[nf],
			    NFIELDS, nf > NFIELDS ? "more than " : "",
			    nf > NFIELDS ? NFIELDS : nf);
		if (parse_row(p, f, p->cl, &row, err) < 0)
			return -1;
		row.start = start;
		if (fn(&row, arg, err) < 0)
			return -1;
		p->line += lines;
	}
	return 0;
}

static int
parser_init(struct parser *p, const char *buf, size_t len,
    const struct plc_cluster *cl, const char *name, struct bl_err *err)
{
	memset(p, 0, sizeof(*p));
	p->buf = buf;
	p->len = len;
	p->line = 1;
	p->name = name ? name : "objects";
	p->ndcs = plc_cluster_dcs(cl, p->dcs, 64);
	if (p->ndcs > 64)
		p->ndcs = 64;
	return nodes_build(p, cl, err);
}

static void
parser_release(struct parser *p)
{
	free(p->scratch);
	free(p->nodes);
	free(p->node_keys);
	free(p->node_lens);
}

int
plc_objects_csv_parse(const char *buf, size_t len,
    const struct plc_cluster *cl, const char *name, plc_csv_row_fn fn,
    void *arg, struct bl_err *err)
{
	struct parser p;
	char *f[NFIELDS + 1];
	size_t lines;
	int nf, rc = -1;

	if (parser_init(&p, buf, len, cl, name, err) < 0)
		goto out;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		p.pos = 3;	/* a UTF-8 byte-order mark */
	if (p.pos >= len) {
		bl_err_set(err, BL_EPARSE, "%s:1: missing header", p.name);
		goto out;
	}
	nf = split_record(&p, f, NFIELDS, &lines, err);
	if (nf < 0)
		goto out;
	for (int i = 0; i < NFIELDS; i++) {
		if (nf != NFIELDS || strcmp(f[i], field_names[i]) != 0) {
			bl_err_set(err, BL_EPARSE, "%s:1: header: expected "
			    "\"id,owner,size,md5,copies,reads_per_hour,affinity,"
			    "allowed_dcs\"", p.name);
			goto out;
		}
	}
	p.line += lines;
	rc = records(&p, fn, arg, err);
out:
	parser_release(&p);
	return rc;
}

int
plc_objects_csv_parse_from(const char *buf, size_t len, size_t from,
    size_t line, const struct plc_cluster *cl, const char *name,
    plc_csv_row_fn fn, void *arg, struct bl_err *err)
{
	struct parser p;
	int rc = -1;

	if (parser_init(&p, buf, len, cl, name, err) == 0) {
		p.pos = from < len ? from : len;
		p.line = line;
		rc = records(&p, fn, arg, err);
	}
	parser_release(&p);
	return rc;
}

/* Copies a field's bytes, as split_record() reads them, into out (NULL:
 * only counts them); returns the count. */
static size_t
field_copy(const char *buf, size_t len, size_t i, char *out)
{
	size_t n = 0;

	if (i < len && buf[i] == '"') {
		for (i++; i < len; i++) {
			if (buf[i] == '"') {
				if (i + 1 >= len || buf[i + 1] != '"')
					break;
				i++;
			}
			if (out != NULL)
				out[n] = buf[i];
			n++;
		}
		return n;
	}
	for (; i < len && buf[i] != ',' && buf[i] != '\n'; i++) {
		/* A CR ending the line is dropped; another is data. */
		if (buf[i] == '\r' && (i + 1 >= len || buf[i + 1] == '\n'))
			break;
		if (out != NULL)
			out[n] = buf[i];
		n++;
	}
	return n;
}

char *
plc_objects_csv_id(const char *buf, size_t len, size_t start)
{
	size_t n = field_copy(buf, len, start, NULL);
	char *id = malloc(n + 1);

	if (id == NULL)
		return NULL;
	field_copy(buf, len, start, id);
	id[n] = '\0';
	return id;
}

size_t
plc_objects_csv_line(const char *buf, size_t len, size_t off)
{
	const char *p = buf, *end = buf + (off < len ? off : len);
	size_t line = 1;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}
