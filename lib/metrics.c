/* lib/metrics.c - the Prometheus registry (lib/metrics.h). */
#include "lib/metrics.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

const double bl_metrics_fast_seconds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10,
};
const size_t bl_metrics_fast_seconds_len =
    sizeof(bl_metrics_fast_seconds) / sizeof(bl_metrics_fast_seconds[0]);
const double bl_metrics_slow_seconds[] = {
	0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
};
const size_t bl_metrics_slow_seconds_len =
    sizeof(bl_metrics_slow_seconds) / sizeof(bl_metrics_slow_seconds[0]);

struct series {
	struct series	*next;		/* owns */
	char		*values[BL_METRIC_MAX_LABELS];	/* owns */
	double		 v;		/* counter, gauge; histogram: sum */
	unsigned long long count;	/* histogram */
	unsigned long long buckets[BL_METRIC_MAX_BUCKETS];
};

struct bl_metric {
	struct bl_metric	*next;		/* owns */
	struct bl_metrics	*reg;		/* borrows */
	int			 type;		/* enum bl_metric_type */
	char			*name;		/* owns */
	char			*help;		/* owns */
	char			*labels[BL_METRIC_MAX_LABELS];	/* owns */
	size_t			 nlabels;
	double			 bounds[BL_METRIC_MAX_BUCKETS];
	size_t			 nbounds;
	struct series		*series, **tail;	/* owns */
};

struct bl_metrics {
	pthread_mutex_t		 mu;
	struct bl_metric	*families, **tail;	/* owns */
};

struct bl_metrics *
bl_metrics_new(void)
{
	struct bl_metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->mu, NULL);
	m->tail = &m->families;
	return m;
}

static void
series_free(struct series *s, size_t nlabels)
{
	for (size_t i = 0; i < nlabels; i++)
		free(s->values[i]);
	free(s);
}

static void
family_free(struct bl_metric *f)
{
	struct series *s, *n;

	for (s = f->series; s != NULL; s = n) {
		n = s->next;
		series_free(s, f->nlabels);
	}
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f);
}

void
bl_metrics_free(struct bl_metrics *m)
{
	struct bl_metric *f, *n;

	if (m == NULL)
		return;
	for (f = m->families; f != NULL; f = n) {
		n = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics; labels have no ':' and may not
 * start with "__". */
static int
name_ok(const char *s, int label)
{
	if (s == NULL || *s == '\0' || isdigit((unsigned char)*s))
		return 0;
	if (label && strncmp(s, "__", 2) == 0)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' &&
		    (label || *s != ':'))
			return 0;
	return 1;
}

static int
same_shape(const struct bl_metric *f, int type, const char *const *labels,
    const double *bounds, size_t nbounds)
{
	size_t n = 0;

	if (f->type != type)
		return 0;
	for (; labels != NULL && labels[n] != NULL; n++)
		if (n >= f->nlabels || strcmp(labels[n], f->labels[n]) != 0)
			return 0;
	if (n != f->nlabels)
		return 0;
	if (type == BL_METRIC_HISTOGRAM && (nbounds != f->nbounds ||
	    memcmp(bounds, f->bounds, nbounds * sizeof(double)) != 0))
		return 0;
	return 1;
}

static struct bl_metric *
family_new(struct bl_metrics *m, int type, const char *name,
    const char *help, const char *const *labels, const double *bounds,
    size_t nbounds)
{
	struct bl_metric *f;
	size_t n = 0;

	if (m == NULL || !name_ok(name, 0) || nbounds > BL_METRIC_MAX_BUCKETS)
		return NULL;
	for (; labels != NULL && labels[n] != NULL; n++)
		if (n >= BL_METRIC_MAX_LABELS || !name_ok(labels[n], 1) ||
		    (type == BL_METRIC_HISTOGRAM && strcmp(labels[n], "le") ==
		    0))
			return NULL;
	for (size_t i = 1; i < nbounds; i++)
		if (!(bounds[i] > bounds[i - 1]))
			return NULL;
	pthread_mutex_lock(&m->mu);
	for (f = m->families; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0) {
			if (!same_shape(f, type, labels, bounds, nbounds))
				f = NULL;
			pthread_mutex_unlock(&m->mu);
			return f;
		}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto oom;
	f->reg = m;
	f->type = type;
	f->tail = &f->series;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (f->name == NULL || f->help == NULL)
		goto oom;
	for (f->nlabels = 0; f->nlabels < n; f->nlabels++)
		if ((f->labels[f->nlabels] = strdup(labels[f->nlabels])) ==
		    NULL)
			goto oom;
	if (nbounds > 0)
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
	f->nbounds = nbounds;
	*m->tail = f;
	m->tail = &f->next;
	pthread_mutex_unlock(&m->mu);
	return f;
oom:
	pthread_mutex_unlock(&m->mu);
	if (f != NULL)
		family_free(f);
	return NULL;
}

struct bl_metric *
bl_metrics_counter(struct bl_metrics *m, const char *name, const char *help,
    const char *const *labels)
{
	return family_new(m, BL_METRIC_COUNTER, name, help, labels, NULL, 0);
}

struct bl_metric *
bl_metrics_gauge(struct bl_metrics *m, const char *name, const char *help,
    const char *const *labels)
{
	return family_new(m, BL_METRIC_GAUGE, name, help, labels, NULL, 0);
}

struct bl_metric *
bl_metrics_histogram(struct bl_metrics *m, const char *name,
    const char *help, const char *const *labels, const double *bounds,
    size_t nbounds)
{
	return family_new(m, BL_METRIC_HISTOGRAM, name, help, labels, bounds,
	    nbounds);
}

/* Called with the lock held. create: make the series when missing. */
static struct series *
find(struct bl_metric *f, const char *const *values, int create)
{
	struct series *s;
	size_t i;

	for (s = f->series; s != NULL; s = s->next) {
		for (i = 0; i < f->nlabels; i++)
			if (strcmp(s->values[i], values[i] ? values[i] : "") !=
			    0)
				break;
		if (i == f->nlabels)
			return s;
	}
	if (!create || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	for (i = 0; i < f->nlabels; i++)
		if ((s->values[i] = strdup(values[i] ? values[i] : "")) ==
		    NULL) {
			series_free(s, i);
			return NULL;
		}
	*f->tail = s;
	f->tail = &s->next;
	return s;
}

enum { OP_ADD, OP_SET, OP_OBSERVE };

static int
update(struct bl_metric *f, const char *const *values, double v, int op)
{
	struct series *s;
	int rc = 0;

	if (f == NULL)
		return 0;
	if ((op == OP_OBSERVE) != (f->type == BL_METRIC_HISTOGRAM) ||
	    (op == OP_ADD && f->type == BL_METRIC_COUNTER && v < 0) ||
	    (f->nlabels > 0 && values == NULL))
		return -1;
	pthread_mutex_lock(&f->reg->mu);
	if ((s = find(f, values, 1)) == NULL) {
		rc = -1;
	} else if (op == OP_ADD) {
		s->v += v;
	} else if (op == OP_SET) {
		s->v = v;
	} else {
		size_t i;

		for (i = 0; i < f->nbounds; i++)
			if (v <= f->bounds[i])
				break;
		if (i < f->nbounds)
			s->buckets[i]++;
		s->count++;
		s->v += v;
	}
	pthread_mutex_unlock(&f->reg->mu);
	return rc;
}

int
bl_metric_add(struct bl_metric *f, const char *const *values, double v)
{
	return update(f, values, v, OP_ADD);
}

int
bl_metric_set(struct bl_metric *f, const char *const *values, double v)
{
	return update(f, values, v, OP_SET);
}

int
bl_metric_observe(struct bl_metric *f, const char *const *values, double v)
{
	return update(f, values, v, OP_OBSERVE);
}

void
bl_metric_reset(struct bl_metric *f)
{
	struct series *s, *n;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->reg->mu);
	for (s = f->series; s != NULL; s = n) {
		n = s->next;
		series_free(s, f->nlabels);
	}
	f->series = NULL;
	f->tail = &f->series;
	pthread_mutex_unlock(&f->reg->mu);
}

double
bl_metric_get(struct bl_metric *f, const char *const *values)
{
	struct series *s;
	double v = 0;

	if (f == NULL || (f->nlabels > 0 && values == NULL))
		return 0;
	pthread_mutex_lock(&f->reg->mu);
	if ((s = find(f, values, 0)) != NULL)
		v = f->type == BL_METRIC_HISTOGRAM ? (double)s->count : s->v;
	pthread_mutex_unlock(&f->reg->mu);
	return v;
}

/* --- rendering ------------------------------------------------------------ */

static void
fmtnum(char *out, size_t n, double v)
{
	if (isnan(v))
		snprintf(out, n, "NaN");
	else if (isinf(v))
		snprintf(out, n, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		snprintf(out, n, "%.0f", v);
	else {
		/* The shortest of 15 or 17 digits that reads back exactly. */
		snprintf(out, n, "%.15g", v);
		if (strtod(out, NULL) != v)
			snprintf(out, n, "%.17g", v);
	}
}

static void
bnum(struct bl_buf *b, double v)
{
	char s[64];

	fmtnum(s, sizeof(s), v);
	bl_buf_addf(b, "%s", s);
}

/* HELP text escapes \ and newline; label values also ". */
static void
bescape(struct bl_buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			bl_buf_addf(b, "\\\\");
		else if (*s == '\n')
			bl_buf_addf(b, "\\n");
		else if (quote && *s == '"')
			bl_buf_addf(b, "\\\"");
		else
			bl_buf_add(b, s, 1);
	}
}

/* {a="x",b="y"} plus an optional le; nothing when there is no label. */
static void
blabels(struct bl_buf *b, const struct bl_metric *f, const struct series *s,
    const char *le)
{
	if (f->nlabels == 0 && le == NULL)
		return;
	bl_buf_addf(b, "{");
	for (size_t i = 0; i < f->nlabels; i++) {
		bl_buf_addf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
		bescape(b, s->values[i], 1);
		bl_buf_addf(b, "\"");
	}
	if (le != NULL)
		bl_buf_addf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	bl_buf_addf(b, "}");
}

static void
render_family(struct bl_buf *b, const struct bl_metric *f)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	const struct series *s;

	if (f->series == NULL)
		return;
	bl_buf_addf(b, "# HELP %s ", f->name);
	bescape(b, f->help, 0);
	bl_buf_addf(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
	for (s = f->series; s != NULL; s = s->next) {
		unsigned long long cum = 0;
		char le[64];

		if (f->type != BL_METRIC_HISTOGRAM) {
			bl_buf_addf(b, "%s", f->name);
			blabels(b, f, s, NULL);
			bl_buf_addf(b, " ");
			bnum(b, s->v);
			bl_buf_addf(b, "\n");
			continue;
		}
		for (size_t i = 0; i < f->nbounds; i++) {
			cum += s->buckets[i];
			fmtnum(le, sizeof(le), f->bounds[i]);
			bl_buf_addf(b, "%s_bucket", f->name);
			blabels(b, f, s, le);
			bl_buf_addf(b, " %llu\n", cum);
		}
		bl_buf_addf(b, "%s_bucket", f->name);
		blabels(b, f, s, "+Inf");
		bl_buf_addf(b, " %llu\n%s_sum", s->count, f->name);
		blabels(b, f, s, NULL);
		bl_buf_addf(b, " ");
		bnum(b, s->v);
		bl_buf_addf(b, "\n%s_count", f->name);
		blabels(b, f, s, NULL);
		bl_buf_addf(b, " %llu\n", s->count);
	}
}

char *
bl_metrics_render(struct bl_metrics *m, size_t *len)
{
	struct bl_buf b = BL_BUF_INIT;
	const struct bl_metric *f;

	pthread_mutex_lock(&m->mu);
	for (f = m->families; f != NULL; f = f->next)
		render_family(&b, f);
	pthread_mutex_unlock(&m->mu);
	return bl_buf_detach(&b, len);
}
