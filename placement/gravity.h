/* placement/gravity.h - how much an object resists being moved (DESIGN 5).
 *
 * A score in [0,1]: the weighted sum of five dimensions, each in [0,1]:
 *   access      min(1, log10(1 + reads_per_hour) / 4)
 *   colocation  min(1, n / 10), n = other objects of the same affinity
 *               group on the node that holds this copy
 *   egress      price per GiB of the cheapest valid move / the highest price
 *               of any link class (0 when every price is 0)
 *   latency     1 - latency_ms / 200, floored at 0; unknown latency = 0.5
 *   compliance  1 if the object is pinned by allowed_dcs, else 0
 * Pure: no I/O, no allocation.
 */
#ifndef PLC_GRAVITY_H
#define PLC_GRAVITY_H

#include <stddef.h>

struct plc_gravity_weights {
	double	access;
	double	colocation;
	double	egress;
	double	latency;
	double	compliance;
};

enum plc_gravity_preset {
	PLC_GRAVITY_DEFAULT = 0,
	PLC_GRAVITY_COST_OPTIMIZED,
	PLC_GRAVITY_PERFORMANCE_OPTIMIZED,
	PLC_GRAVITY_COMPLIANCE_FIRST,
	PLC_GRAVITY_PRESET_N
};

/* The signals of one copy of one object. */
struct plc_gravity_input {
	double	reads_per_hour;		/* >= 0 */
	double	colocated;		/* n, see above */
	/* per GiB, of the cheapest valid move */
	double	cheapest_price;
	double	max_price;		/* per GiB, the highest link price */
	double	latency_ms;		/* < 0: unknown */
	int	pinned;			/* allowed_dcs is not empty */
};

/* The five dimensions, each in [0,1]. */
struct plc_gravity_dims {
	double	access;
	double	colocation;
	double	egress;
	double	latency;
	double	compliance;
};

/* Preset weights by enum value; NULL if out of range. Static storage. */
const struct plc_gravity_weights *plc_gravity_preset(int preset);
/* Preset by name ("default", "cost-optimized", "performance-optimized",
 * "compliance-first"); -1 if unknown. */
int		 plc_gravity_preset_parse(const char *name);
const char	*plc_gravity_preset_name(int preset);
/* Whether all weights are in [0,1] and they sum to 1 (within 1e-6). */
int		 plc_gravity_weights_valid(const struct plc_gravity_weights *w);

double		 plc_gravity_access(double reads_per_hour);
double		 plc_gravity_colocation(double n);
double		 plc_gravity_egress(double cheapest_price, double max_price);
double		 plc_gravity_latency(double latency_ms);
double		 plc_gravity_compliance(int pinned);

/* The score in [0,1]; fills dims if not NULL. */
double		 plc_gravity_score(const struct plc_gravity_weights *w,
		    const struct plc_gravity_input *in,
		    struct plc_gravity_dims *dims);

#endif
