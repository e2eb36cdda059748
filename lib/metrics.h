/* lib/metrics.h - a small Prometheus registry.
 *
 * A registry holds metric families: counters, gauges and histograms, each
 * with a fixed list of label names. A series (one set of label values) is
 * created the first time it is updated. Every update and the rendering take
 * the registry's mutex, so threads (the engine, its committers, the API
 * workers) may update while the loop renders.
 *
 * bl_metrics_render() writes the text exposition format 0.0.4: one HELP
 * and TYPE line per family, series in the order they were created,
 * histograms as cumulative _bucket{le} lines ending in le="+Inf", then
 * _sum and _count. A family with no series is left out entirely, so a
 * value nobody measured is never shown as 0.
 *
 * Names follow Prometheus conventions (the caller's job): snake_case, the
 * unit in the name (_seconds, _bytes, _ratio), counters end in _total.
 */
#ifndef BL_METRICS_H
#define BL_METRICS_H

#include <stddef.h>

enum bl_metric_type {
	BL_METRIC_COUNTER,
	BL_METRIC_GAUGE,
	BL_METRIC_HISTOGRAM,
};

#define BL_METRIC_MAX_LABELS	4
#define BL_METRIC_MAX_BUCKETS	24

struct bl_metrics;
struct bl_metric;

struct bl_metrics *bl_metrics_new(void);
void	bl_metrics_free(struct bl_metrics *m);		/* NULL: no-op */

/* Registers a family. labels is a NULL-terminated list of label names
 * (NULL: none), copied. name and help are copied. Registering a name
 * twice returns the first family when type and labels agree, else NULL.
 * NULL also on a bad name, too many labels or no memory. The family lives
 * as long as the registry. */
struct bl_metric *bl_metrics_counter(struct bl_metrics *m, const char *name,
	    const char *help, const char *const *labels);
struct bl_metric *bl_metrics_gauge(struct bl_metrics *m, const char *name,
	    const char *help, const char *const *labels);
/* bounds: nbounds upper bounds, ascending (le="+Inf" is implied). */
struct bl_metric *bl_metrics_histogram(struct bl_metrics *m,
	    const char *name, const char *help, const char *const *labels,
	    const double *bounds, size_t nbounds);

/* Updates the series with the given label values (as many as the family
 * has label names; NULL when it has none). f may be NULL: a no-op, so
 * that optional instrumentation needs no test at the call site. A counter
 * refuses a negative increment. Returns 0, or -1 (no memory, or a wrong
 * use: add to a histogram, observe a gauge). */
int	bl_metric_add(struct bl_metric *f, const char *const *values,
	    double v);
/* Sets a gauge, or a counter to an absolute value read elsewhere (e.g. a
 * count from the database that only grows). */
int	bl_metric_set(struct bl_metric *f, const char *const *values,
	    double v);
int	bl_metric_observe(struct bl_metric *f, const char *const *values,
	    double v);
/* Drops every series of the family: for values recomputed as a whole,
 * such as per-node gauges when a node may have gone. */
void	bl_metric_reset(struct bl_metric *f);
/* The value of a counter or gauge series, or the count of a histogram
 * series; 0 when the series does not exist. For tests and for rates. */
double	bl_metric_get(struct bl_metric *f, const char *const *values);

/* Renders every family. Returns a NUL-terminated string the caller frees
 * (its length in *len, may be NULL), or NULL with no memory. */
char	*bl_metrics_render(struct bl_metrics *m, size_t *len);

/* Common histogram bounds, in seconds: 1 ms .. 10 s and 10 ms .. 1 h. */
extern const double bl_metrics_fast_seconds[];
extern const size_t bl_metrics_fast_seconds_len;
extern const double bl_metrics_slow_seconds[];
extern const size_t bl_metrics_slow_seconds_len;

#endif
