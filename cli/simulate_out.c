/* cli/simulate_out.c - the results of ballastctl simulate: a table, JSON, a
 * CSV to plot and an SVG chart. Fixed formats, so the same run gives the
 * same bytes. */
#include "cli/simulate.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "policy/decide.h"

#define GIB	(1024.0 * 1024 * 1024)

static void
totals(const struct sim *s, double *ratio)
{
	*ratio = s->min_bytes_sum > 0 ? (double)s->moved_rebalance /
	    (double)s->min_bytes_sum : 0;
}

void
sim_print_table(const struct sim *s, FILE *f)
{
	double ratio;

	fprintf(f, "%5s %9s %-16s %9s %9s %6s %12s %9s %4s %12s\n", "CYCLE",
	    "HOURS", "OUTCOME", "IMBALANCE", "PROJECTED", "MOVES", "BYTES",
	    "COST", "OPEN", "MOVED");
	for (size_t i = 0; i < s->ncycles; i++) {
		const struct sim_cycle *c = &s->cycles[i];
		char proj[16] = "-";

		if (c->has_projected)
			snprintf(proj, sizeof(proj), "%.4f", c->projected);
		fprintf(f, "%5d %9.3f %-16s %9.4f %9s %6lld %12lld %9.4f %4d "
		    "%12lld\n", c->n, c->t / 3600.0, pol_outcome_name(
		    c->outcome), c->imbalance, proj, c->moves, c->bytes, c->cost,
		    c->open_jobs, c->moved_bytes);
	}
	totals(s, &ratio);
	if (s->o.bundle > 1)
		fprintf(f, "\nmodel             scale: entries of up to %ld "
		    "objects\n", s->o.bundle);
	fprintf(f, "%scycles            %zu over %.3f simulated hours\n",
	    s->o.bundle > 1 ? "" : "\n", s->ncycles, s->now / 3600.0);
	fprintf(f, "bytes moved       %lld (rebalance %lld, evacuation %lld)\n",
	    s->moved_bytes, s->moved_rebalance, s->moved_evacuate);
	fprintf(f, "minimum to balance %lld (rebalance / minimum %.3f)\n",
	    s->min_bytes_sum, ratio);
	fprintf(f, "controller moves  %lld, %lld again within %.0f s\n",
	    s->moves_done, s->repeat_moves, s->o.thrash_window_s);
	if (s->converged_cycle > 0)
		fprintf(f, "converged         cycle %d, %.3f hours\n",
		    s->converged_cycle, s->converged_t / 3600.0);
	else
		fprintf(f, "converged         no\n");
	fprintf(f, "peak node egress  %.0f bytes/s (%s)\n", s->peak_egress,
	    s->peak_node[0] ? s->peak_node : "-");
	fprintf(f, "final imbalance   %.4f\n", s->ncycles ?
	    s->cycles[s->ncycles - 1].imbalance : 0.0);
}

json_t *
sim_json(const struct sim *s)
{
	json_t *root = json_object(), *cyc = json_array(), *t;
	double ratio;

	for (size_t i = 0; i < s->ncycles; i++) {
		const struct sim_cycle *c = &s->cycles[i];
		json_t *o = json_pack("{s:i,s:f,s:s,s:s,s:f,s:o,s:I,s:I,s:f,s:I,"
		    "s:i,s:b,s:I,s:I,s:i}", "cycle", c->n, "t_s", c->t,
		    "outcome", pol_outcome_name(c->outcome), "reason", c->reason,
		    "imbalance", c->imbalance, "projected", c->has_projected ?
		    json_real(c->projected) : json_null(), "moves",
		    (json_int_t)c->moves, "bytes", (json_int_t)c->bytes, "cost",
		    c->cost, "min_bytes", (json_int_t)c->min_bytes, "open_jobs",
		    c->open_jobs, "quiet", c->quiet, "moved_bytes",
		    (json_int_t)c->moved_bytes, "residency_held",
		    (json_int_t)c->residency_held, "nodes_cooling", c->cooling);

		json_array_append_new(cyc, o);
	}
	totals(s, &ratio);
	t = json_pack("{s:I,s:f,s:I,s:I,s:I,s:I,s:f,s:I,s:I,s:f,s:o,s:o,s:f,"
	    "s:s}", "cycles", (json_int_t)s->ncycles, "simulated_s", s->now,
	    "bytes_moved", (json_int_t)s->moved_bytes, "bytes_rebalance",
	    (json_int_t)s->moved_rebalance, "bytes_evacuation",
	    (json_int_t)s->moved_evacuate, "min_bytes",
	    (json_int_t)s->min_bytes_sum, "rebalance_over_min", ratio,
	    "controller_moves", (json_int_t)s->moves_done, "moved_again_within",
	    (json_int_t)s->repeat_moves, "thrash_window_s",
	    s->o.thrash_window_s, "converged_cycle", s->converged_cycle ?
	    json_integer(s->converged_cycle) : json_null(), "converged_s",
	    s->converged_cycle ? json_real(s->converged_t) : json_null(),
	    "peak_node_egress_bytes_per_s", s->peak_egress, "peak_node",
	    s->peak_node);
	json_object_set_new(t, "bundle", json_integer(s->o.bundle > 1 ?
	    s->o.bundle : 1));
	json_object_set_new(root, "totals", t);
	json_object_set_new(root, "cycles", cyc);
	return root;
}

int
sim_write_csv(const struct sim *s, FILE *f)
{
	fputs("cycle,t_s,t_hours,outcome,imbalance,projected,moves,bytes,cost,"
	    "min_bytes,open_jobs,quiet,moved_bytes,residency_held,"
	    "nodes_cooling\n", f);
	for (size_t i = 0; i < s->ncycles; i++) {
		const struct sim_cycle *c = &s->cycles[i];
		char proj[32] = "";

		if (c->has_projected)
			snprintf(proj, sizeof(proj), "%.6f", c->projected);
		fprintf(f, "%d,%.3f,%.6f,%s,%.6f,%s,%lld,%lld,%.6f,%lld,%d,%d,"
		    "%lld,%lld,%d\n", c->n, c->t, c->t / 3600.0,
		    pol_outcome_name(c->outcome), c->imbalance, proj, c->moves,
		    c->bytes, c->cost, c->min_bytes, c->open_jobs, c->quiet,
		    c->moved_bytes, c->residency_held, c->cooling);
	}
	return ferror(f) ? -1 : 0;
}

/* A line chart: imbalance (left axis, line) and bytes moved per cycle
 * (right axis, bars) over simulated hours; quiet cycles shaded. */
int
sim_write_svg(const struct sim *s, FILE *f)
{
	const double W = 800, H = 360, L = 70, R = 70, T = 40, B = 50;
	const double pw = W - L - R, ph = H - T - B;
	double tmax = s->now > 0 ? s->now : 1, imax = 0, bmax = 0;

	for (size_t i = 0; i < s->ncycles; i++) {
		if (s->cycles[i].imbalance > imax)
			imax = s->cycles[i].imbalance;
		if ((double)s->cycles[i].moved_bytes > bmax)
			bmax = (double)s->cycles[i].moved_bytes;
	}
	imax = imax > 0 ? imax * 1.1 : 1;
	bmax = bmax > 0 ? bmax * 1.1 : 1;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif"
	    "\" font-size=\"12\">\n", W, H, W, H);
	fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n",
	    W, H);
	fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"14\">ballastctl "
	    "simulate: imbalance and bytes moved per cycle</text>\n", L);
	/* quiet hours */
	for (size_t i = 0; i < s->ncycles; i++) {
		const struct sim_cycle *c = &s->cycles[i];
		double x0 = L + pw * c->t / tmax;
		double x1 = L + pw * (i + 1 < s->ncycles ? s->cycles[i + 1].t :
		    s->now) / tmax;

		if (c->quiet)
			fprintf(f, "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" "
			    "height=\"%.0f\" fill=\"#eeeeee\"/>\n", x0, T,
			    x1 - x0, ph);
	}
	/* bytes moved: bars at the cycle that saw them complete */
	for (size_t i = 0; i < s->ncycles; i++) {
		const struct sim_cycle *c = &s->cycles[i];
		double h = ph * (double)c->moved_bytes / bmax;
		double x = L + pw * c->t / tmax;

		if (c->moved_bytes > 0)
			fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"2\" "
			    "height=\"%.2f\" fill=\"#9ecae1\"/>\n", x - 1,
			    T + ph - h, h);
	}
	/* imbalance */
	fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" "
	    "points=\"", f);
	for (size_t i = 0; i < s->ncycles; i++)
		fprintf(f, "%s%.2f,%.2f", i ? " " : "", L + pw *
		    s->cycles[i].t / tmax, T + ph - ph *
		    s->cycles[i].imbalance / imax);
	fputs("\"/>\n", f);
	/* threshold and target */
	{
		double th = T + ph - ph * s->pol.imbalance_threshold / imax;
		double tg = T + ph - ph * s->pol.target_imbalance / imax;

		if (s->pol.imbalance_threshold <= imax)
			fprintf(f, "<line x1=\"%.0f\" y1=\"%.2f\" x2=\"%.0f\" "
			    "y2=\"%.2f\" stroke=\"#d62728\" stroke-dasharray="
			    "\"6,4\"/>\n", L, th, L + pw, th);
		if (s->pol.target_imbalance <= imax)
			fprintf(f, "<line x1=\"%.0f\" y1=\"%.2f\" x2=\"%.0f\" "
			    "y2=\"%.2f\" stroke=\"#2ca02c\" stroke-dasharray="
			    "\"2,3\"/>\n", L, tg, L + pw, tg);
	}
	/* axes and ticks */
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"none\" stroke=\"black\"/>\n", L, T, pw, ph);
	for (int k = 0; k <= 4; k++) {
		double y = T + ph - ph * k / 4.0, x = L + pw * k / 4.0;

		fprintf(f, "<text x=\"%.0f\" y=\"%.2f\" text-anchor=\"end\">"
		    "%.3f</text>\n", L - 6, y + 4, imax * k / 4.0);
		fprintf(f, "<text x=\"%.0f\" y=\"%.2f\">%.2f GiB</text>\n",
		    L + pw + 6, y + 4, bmax * k / 4.0 / GIB);
		fprintf(f, "<text x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\">"
		    "%.1f h</text>\n", x, T + ph + 18, tmax * k / 4.0 / 3600.0);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">imbalance "
	    "(dashed: threshold, dotted: target)</text>\n", L, H - 10);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#3182bd\">bytes moved "
	    "per cycle (grey: quiet hours)</text>\n", L + pw / 2 + 20, H - 10);
	fputs("</svg>\n", f);
	return ferror(f) ? -1 : 0;
}
