/* placement/gravity.c - the gravity score. Pure. */
#include "placement/gravity.h"

#include <math.h>
#include <string.h>

static const struct plc_gravity_weights presets[PLC_GRAVITY_PRESET_N] = {
	[PLC_GRAVITY_DEFAULT] = { 0.30, 0.20, 0.15, 0.15, 0.20 },
	[PLC_GRAVITY_COST_OPTIMIZED] = { 0.20, 0.10, 0.35, 0.10, 0.25 },
	[PLC_GRAVITY_PERFORMANCE_OPTIMIZED] = { 0.35, 0.30, 0.05, 0.25, 0.05 },
	[PLC_GRAVITY_COMPLIANCE_FIRST] = { 0.10, 0.10, 0.10, 0.10, 0.60 },
};

static const char *const preset_names[PLC_GRAVITY_PRESET_N] = {
	"default", "cost-optimized", "performance-optimized",
	"compliance-first",
};

const struct plc_gravity_weights *
plc_gravity_preset(int preset)
{
	if (preset < 0 || preset >= PLC_GRAVITY_PRESET_N)
		return NULL;
	return &presets[preset];
}

int
plc_gravity_preset_parse(const char *name)
{
	for (int i = 0; i < PLC_GRAVITY_PRESET_N; i++)
		if (strcmp(name, preset_names[i]) == 0)
			return i;
	return -1;
}

const char *
plc_gravity_preset_name(int preset)
{
	if (preset < 0 || preset >= PLC_GRAVITY_PRESET_N)
		return "custom";
	return preset_names[preset];
}

int
plc_gravity_weights_valid(const struct plc_gravity_weights *w)
{
	double v[5] = { w->access, w->colocation, w->egress, w->latency,
	    w->compliance };
	double sum = 0;

	for (int i = 0; i < 5; i++) {
		if (!(v[i] >= 0 && v[i] <= 1))
			return 0;
		sum += v[i];
	}
	return fabs(sum - 1.0) <= 1e-6;
}

double
plc_gravity_access(double reads_per_hour)
{
	double a;

	if (!(reads_per_hour > 0))
		return 0;
	a = log10(1.0 + reads_per_hour) / 4.0;
	return a > 1 ? 1 : a;
}

double
plc_gravity_colocation(double n)
{
	if (!(n > 0))
		return 0;
	return n >= 10 ? 1 : n / 10.0;
}

double
plc_gravity_egress(double cheapest_price, double max_price)
{
	double e;

	if (!(max_price > 0) || !(cheapest_price > 0))
		return 0;
	e = cheapest_price / max_price;
	return e > 1 ? 1 : e;
}

double
plc_gravity_latency(double latency_ms)
{
	double l;

	if (latency_ms < 0 || isnan(latency_ms))
		return 0.5;
	l = 1.0 - latency_ms / 200.0;
	return l < 0 ? 0 : l;
}

double
plc_gravity_compliance(int pinned)
{
	return pinned ? 1.0 : 0.0;
}

double
plc_gravity_score(const struct plc_gravity_weights *w,
    const struct plc_gravity_input *in, struct plc_gravity_dims *dims)
{
	struct plc_gravity_dims d;
	double s;

	d.access = plc_gravity_access(in->reads_per_hour);
	d.colocation = plc_gravity_colocation(in->colocated);
	d.egress = plc_gravity_egress(in->cheapest_price, in->max_price);
	d.latency = plc_gravity_latency(in->latency_ms);
	d.compliance = plc_gravity_compliance(in->pinned);
	s = w->access * d.access + w->colocation * d.colocation +
	    w->egress * d.egress + w->latency * d.latency +
	    w->compliance * d.compliance;
	if (dims != NULL)
		*dims = d;
	if (s < 0)
		s = 0;
	if (s > 1)
		s = 1;
	return s;
}
