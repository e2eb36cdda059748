/* policy/policy.h - the rebalancing policy: presets, one table of fields
 * with defaults and bounds, JSON validation and quiet hours (DESIGN 6).
 *
 * Pure: no I/O, no clock. The current time and the time-zone conversion
 * come in as arguments (lib/tz.h has the real conversion).
 */
#ifndef POL_POLICY_H
#define POL_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/err.h"
#include "placement/cluster.h"
#include "placement/gravity.h"

enum pol_preset {
	POL_PRESET_DEFAULT = 0,
	POL_PRESET_AGGRESSIVE,
	POL_PRESET_CONSERVATIVE,
	POL_PRESET_N
};

#define POL_QUIET_MAX	32	/* quiet-hour windows */
#define POL_TZ_MAX	64	/* bytes of a time-zone name, with the NUL */
#define POL_UNLIMITED	(-1)	/* a budget given as JSON null */

/* One quiet-hours window. start/end are minutes after local midnight;
 * end < start crosses midnight. days: bit 0 = Sunday ... bit 6 = Saturday,
 * the days on which the window STARTS. */
struct pol_quiet {
	int		start_min;
	int		end_min;
	unsigned	days;
	char		tz[POL_TZ_MAX];		/* "UTC" by default */
};

struct pol_policy {
	int		preset;			/* enum pol_preset */
	int64_t		check_interval_s;
	double		imbalance_threshold;
	double		target_imbalance;	/* threshold * 0.5 unless set */
	int64_t		max_concurrent_migrations;
	int64_t		max_moves_per_cycle;	/* POL_UNLIMITED: none */
	/* POL_UNLIMITED: none */
	int64_t		max_egress_bytes_per_cycle;
	double		max_cost_per_cycle;	/* < 0: none */
	double		gravity_protection_threshold;
	/* plc_gravity_preset, -1: custom */
	int		gravity_preset;
	struct plc_gravity_weights gravity_weights;
	double		egress_prices_per_gib[PLC_LINK_N];
	int64_t		throttle_bytes_per_sec;
	int		validate_checksums;
	double		max_fill;
	int		failure_domain;		/* enum plc_domain */
	struct pol_quiet quiet_hours[POL_QUIET_MAX];
	size_t		n_quiet;
	int		quiet_hours_pause_inflight;
	/* Anti-thrash (docs/policy.md): an object the controller moved is
	 * not moved again by it for min_residency_s; a node that was the
	 * source or destination of at least large_batch_bytes in one
	 * controller job is left out of planning for node_cooldown_s after
	 * that job finished. Evacuations ignore both. */
	int64_t		min_residency_s;
	int64_t		node_cooldown_s;
	int64_t		large_batch_bytes;
	uint32_t	set;	/* bit per field given explicitly, POL_SET_* */
};

/* Bits of pol_policy.set for the fields whose absence means something. */
#define POL_SET_TARGET		(1u << 0)
#define POL_SET_FAILURE_DOMAIN	(1u << 1)

/* --- the table of fields ---------------------------------------------- */

enum pol_type {
	POL_T_INT = 0,		/* JSON integer, int64_t field */
	POL_T_NUM,		/* JSON number, double field */
	POL_T_BOOL,		/* JSON boolean, int field */
	POL_T_INT_OR_NULL,	/* integer, or null = POL_UNLIMITED */
	POL_T_NUM_OR_NULL,	/* number, or null = -1 (no limit) */
	POL_T_SPECIAL,		/* parsed by its own rule (see policy_json.c) */
};

/* One policy field. Scalars carry their per-preset defaults and bounds;
 * the default values pass through the same range check as a file's. */
struct pol_field {
	const char	*key;
	int		 type;			/* enum pol_type */
	size_t		 off;			/* in struct pol_policy */
	double		 min;
	double		 max;
	double		 def[POL_PRESET_N];
};

extern const struct pol_field	pol_fields[];
extern const size_t		pol_nfields;

/* The field named key, or NULL. */
const struct pol_field	*pol_field_find(const char *key);

/* Converts t to local time in time zone tz ("Area/City" or "UTC"). Returns
 * 0, or -1 if tz is unknown. */
typedef int (*pol_localtime_fn)(time_t t, const char *tz, struct tm *out,
    void *arg);

struct pol_tz {
	pol_localtime_fn	 localtime;
	void			*arg;		/* borrows */
};

/* Fills p with a preset's values. Returns -1 if preset is out of range. */
int		 pol_preset_apply(struct pol_policy *p, int preset);
/* Preset by name ("default", "aggressive", "conservative"); -1 if none. */
int		 pol_preset_parse(const char *name);
const char	*pol_preset_name(int preset);

/* Parses a policy from a JSON object given as text. The fields start from
 * preset (or the object's "preset" key when preset < 0, else "default"),
 * then the object's keys override them. Unknown keys, wrong types and
 * values out of range fail with the key's path (under prefix, e.g.
 * "policy") and the reason:
 *   policy.quiet_hours[1].start: expected "HH:MM", got "25:00"
 * tz (may be NULL) checks quiet-hours time zones. */
int		 pol_parse_json(const char *text, size_t len, const char *prefix,
		    int preset, const struct pol_tz *tz, struct pol_policy *p,
		    struct bl_err *err);

/* Whether t falls inside a quiet-hours window. -1 (with err) if a time
 * zone cannot be converted; *quiet is then 0. A window [start, end) is
 * evaluated in its own zone's wall-clock time; one that crosses midnight
 * belongs to the day it starts on. */
int		 pol_quiet_at(const struct pol_policy *p, time_t t,
		    const struct pol_tz *tz, int *quiet, struct bl_err *err);
/* The same, for one window and a local time already converted. */
int		 pol_quiet_window_contains(const struct pol_quiet *q,
		    const struct tm *local);

#endif
